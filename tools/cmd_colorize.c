/*
 * cmd_colorize.c -- `pixelcnn colorize`: diverse colorizations of gray or
 * color images of any size from a chroma model (docs/colorize.md), as a
 * PNG grid; with --metrics, PSNR against the true colors (best of N and
 * mean) and colorfulness, next to the gray and mean-chroma baselines.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn colorize --checkpoint F [IMAGE ...] [-n N] [-o grid.png]\n"
    "       pixelcnn colorize --checkpoint F --data KIND:PATH [--index I]\n"
    "                         [--count K] [-n N] [-o grid.png] [--metrics]\n"
    "\n"
    "Colorizes images with a chroma model (trained with --view ab,half\n"
    "--cond-view L). Each image, gray or color (a color image is taken to\n"
    "its lightness first), at any size: its lightness is read at the\n"
    "model's size (the image resized by area averaging), N chroma images\n"
    "are drawn there, upsampled bilinearly to the image's own size and\n"
    "joined with its own full-resolution lightness. The grid has one row\n"
    "per image: its gray version, the original (when it had colors), then\n"
    "the N colorizations. Images of one run must share a size.\n"
    "\n"
    "  --checkpoint F     the chroma model (EMA weights when it has them)\n"
    "  IMAGE ...          PNG/JPEG/PGM/... files\n"
    "  --data KIND:PATH   or images of a data set (cifar10:DIR, folder:DIR)\n"
    "  --split S          test (default) or train\n"
    "  --index I          first item (default 0)\n"
    "  --count K          items (default 8)\n"
    "  --stride S         every S-th item from --index on (default 1; the\n"
    "                     CIFAR-10 test file is sorted by class)\n"
    "  -n N               colorizations per image (default 8)\n"
    "  -o FILE            the grid (default colorize.png)\n"
    "  --scale K          grid pixels per image pixel (default 2)\n"
    "  --seed S           random seed (default 1)\n"
    "  --log-scale-offset X  sharper (< 0) or flatter (> 0) draws (default 0)\n"
    "  --metrics          print PSNR (best of N, mean of N) and colorfulness\n"
    "                     against the true colors, with the baselines gray\n"
    "                     (a = b = 0) and mean chroma (the training split's\n"
    "                     mean a and b; --data only)\n"
    "  --threads N        threads (default: all cores)\n";

/* The mean chroma of the training split of spec at side `size`; 0, or
 * 1/2 with a message. */
static int mean_chroma(const char *spec, int size, uint8_t ab[2])
{
    pcnn_dataset d = {0};
    int rc = cli_load_data("colorize", spec, "train", size, &d);
    if (!rc && pcnn_mean_chroma(&d, ab) != PCNN_OK) {
        fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
        rc = 1;
    }
    pcnn_dataset_free(&d);
    return rc;
}

int cmd_colorize(int argc, char **argv)
{
    const char *cmd = "colorize", *ckpt = NULL, *out = "colorize.png";
    const char *data = NULL, *split = "test";
    const char *files[256];
    int nfiles = 0, n = 8, index = 0, count = 8, scale = 2, threads = 0;
    int stride = 1;
    int want_metrics = 0;
    double seed = 1, offset = 0;
    const char *data_flag = NULL; /* the last of --index ... given */
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--index") || !strcmp(f, "--count") ||
            !strcmp(f, "--stride") || !strcmp(f, "--split"))
            data_flag = f;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(f, "--checkpoint")) {
            if (!(ckpt = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (!strcmp(f, "-o")) {
            if (!(out = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (!strcmp(f, "--data")) {
            if (!(data = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (!strcmp(f, "--split")) {
            if (cli_split_arg(cmd, argc, argv, &i, &split))
                return 2;
        } else if (!strcmp(f, "-n")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 256, &n))
                return 2;
        } else if (!strcmp(f, "--index")) {
            if (cli_int_arg(cmd, argc, argv, &i, 0, 2000000000, &index))
                return 2;
        } else if (!strcmp(f, "--count")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 100000, &count))
                return 2;
        } else if (!strcmp(f, "--stride")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 1000000, &stride))
                return 2;
        } else if (!strcmp(f, "--scale")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 32, &scale))
                return 2;
        } else if (!strcmp(f, "--threads")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 4096, &threads))
                return 2;
        } else if (!strcmp(f, "--seed")) {
            if (cli_double_arg(cmd, argc, argv, &i, 0, 9007199254740992.0,
                               &seed))
                return 2;
        } else if (!strcmp(f, "--log-scale-offset")) {
            if (cli_double_arg(cmd, argc, argv, &i, -19.99, 19.99, &offset))
                return 2;
        } else if (!strcmp(f, "--metrics")) {
            want_metrics = 1;
        } else if (f[0] == '-' && f[1]) {
            return cli_bad_flag(cmd, f);
        } else if (nfiles < 256) {
            files[nfiles++] = f;
        } else {
            fprintf(stderr, "pixelcnn colorize: at most 256 images\n");
            return 2;
        }
    }
    if (!ckpt || (!nfiles && !data) || (nfiles && data)) {
        fprintf(stderr, "pixelcnn colorize: give --checkpoint and either "
                        "image files or --data (see --help)\n");
        return 2;
    }
    if (want_metrics && !data) {
        fprintf(stderr, "pixelcnn colorize: --metrics needs --data (the "
                        "true colors and the training split)\n");
        return 2;
    }
    if (data_flag && !data)
        return cli_not_applicable(cmd, data_flag,
                                  "it picks images of --data, and image "
                                  "files are given");
    int early = cli_check_output(cmd, "-o", out);
    if (early)
        return early;
    int has_trainer = 0;
    pcnn_chain *ch = NULL;
    pcnn_ctx *ctx = NULL;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
    pcnn_dataset d = {0};
    uint8_t *grid = NULL, *res = NULL, *gray = NULL;
    int rc = 0;
    /* a model checkpoint with its EMA weights when it has them, or a
     * chain file whose last stage is the colorizer */
    pcnn_file_kind kind;
    if ((rc = cli_file_kind(cmd, ckpt, NULL, &kind)))
        goto done;
    if ((kind == PCNN_FILE_CHECKPOINT &&
         pcnn_checkpoint_read_state(ckpt, NULL, NULL, NULL, &has_trainer)) ||
        pcnn_chain_load(ckpt, has_trainer, &ch) ||
        pcnn_ctx_create(&ctx, &co)) {
        fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
        rc = 1;
        goto done;
    }
    const pcnn_model_config *c = pcnn_model_get_config(
        pcnn_chain_stage(ch, pcnn_chain_stages(ch) - 1));
    if (c->view.lab != PCNN_LAB_AB || c->cond_view.lab != PCNN_LAB_L) {
        char v1[96], v2[96];
        fprintf(stderr,
                "pixelcnn colorize: %s models %s given %s, not the chroma "
                "ab given L (train it with --view ab,half --cond-view L)\n",
                ckpt, pcnn_view_str(&c->view, v1, sizeof v1),
                c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                                 : "nothing");
        rc = 1;
        goto done;
    }
    const int S = c->height << c->view.halvings;
    /* the chroma is drawn at the model's size, then upsampled: an image
     * must be at least that large */
    const int64_t minh = c->height, minw = c->width;
    /* the inputs, as one data set of equal sizes */
    int64_t K = 0;
    if (data) {
        if ((rc = cli_load_data(cmd, data, split, S, &d)))
            goto done;
        if (d.c != 3 || index >= d.n) {
            fprintf(stderr, "pixelcnn colorize: %s: %s images, item %d of "
                            "%lld\n",
                    data, d.c == 3 ? "color" : "not color", index,
                    (long long)d.n);
            rc = 1;
            goto done;
        }
        if (d.h < minh || d.w < minw) {
            fprintf(stderr,
                    "pixelcnn colorize: --data %s: its images are "
                    "%lldx%lld, smaller than the model's chroma (%lldx%lld)"
                    "\n",
                    data, (long long)d.w, (long long)d.h, (long long)minw,
                    (long long)minh);
            rc = 2;
            goto done;
        }
        K = (d.n - index + stride - 1) / stride;
        K = K < count ? K : count;
    } else {
        for (int k = 0; k < nfiles; k++) {
            pcnn_dataset one;
            if (pcnn_image_load(files[k], 3, &one) != PCNN_OK) {
                fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
                rc = 1;
                goto done;
            }
            if (one.h < minh || one.w < minw) {
                fprintf(stderr,
                        "pixelcnn colorize: %s is %lldx%lld: the model draws "
                        "the chroma at %lldx%lld, so images must be at least "
                        "that large\n",
                        files[k], (long long)one.w, (long long)one.h,
                        (long long)minw, (long long)minh);
                pcnn_dataset_free(&one);
                rc = 2;
                goto done;
            }
            if (k == 0) {
                d = one;
                d.images = realloc(one.images,
                                   (size_t)(nfiles * 3 * one.h * one.w));
                if (!d.images) {
                    fprintf(stderr, "pixelcnn colorize: out of memory\n");
                    pcnn_dataset_free(&one);
                    rc = 1;
                    goto done;
                }
            } else {
                if (one.h != d.h || one.w != d.w) {
                    fprintf(stderr,
                            "pixelcnn colorize: %s is %lldx%lld, %s is "
                            "%lldx%lld: colorize images of one size per "
                            "run\n",
                            files[k], (long long)one.w, (long long)one.h,
                            files[0], (long long)d.w, (long long)d.h);
                    pcnn_dataset_free(&one);
                    rc = 2;
                    goto done;
                }
                memcpy(d.images + k * 3 * d.h * d.w, one.images,
                       (size_t)(3 * d.h * d.w));
                pcnn_dataset_free(&one);
            }
            d.n = k + 1;
        }
        K = nfiles;
    }
    const int64_t h = d.h, w = d.w, img = 3 * h * w;
    /* a gray input has R = G = B: no true colors to show or measure */
    int colored = 0;
    for (int64_t k = 0; k < K && !colored; k++) {
        const uint8_t *p = d.images + (index + k * stride) * img;
        for (int64_t q = 0; q < h * w && !colored; q++)
            colored = p[q] != p[h * w + q] || p[q] != p[2 * h * w + q];
    }
    const int cols = n + 1 + colored;
    if ((rc = cli_check_grid(cmd, out, K * cols, (int)h, (int)w, cols,
                             scale)))
        goto done;
    grid = malloc((size_t)(K * cols * img));
    res = malloc((size_t)(n * img));
    gray = malloc((size_t)img);
    uint8_t meanab[2] = {128, 128};
    if (!grid || !res || !gray) {
        fprintf(stderr, "pixelcnn colorize: out of memory\n");
        rc = 1;
        goto done;
    }
    if (want_metrics && (rc = mean_chroma(data, S, meanab)))
        goto done;
    pcnn_colorize_scores sum;
    memset(&sum, 0, sizeof sum);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.log_scale_offset = (float)offset;
    for (int64_t k = 0; k < K; k++) {
        const uint8_t *x = d.images + (index + k * stride) * img;
        pcnn_image xi = pcnn_img((uint8_t *)x, 1, 3, h, w);
        o.seed = (uint64_t)seed * 1000003u + (uint64_t)k;
        uint8_t *row = grid + k * cols * img;
        /* the gray version: L with a = b = 0 */
        uint8_t flat[2 * 4];
        memset(flat, 128, sizeof flat);
        if (pcnn_colorize_compose(xi, flat, 2, 2, pcnn_img(gray, 1, 3, h, w)) ||
            pcnn_colorize(ctx, ch, xi, n, &o, res, NULL)) {
            fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
            rc = 1;
            goto done;
        }
        memcpy(row, gray, (size_t)img);
        if (colored)
            memcpy(row + img, x, (size_t)img);
        memcpy(row + (1 + colored) * img, res, (size_t)(n * img));
        if (!want_metrics)
            continue;
        pcnn_colorize_scores one;
        if (pcnn_colorize_score(xi, res, n, meanab, &one)) {
            fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
            rc = 1;
            goto done;
        }
        sum.psnr_best += one.psnr_best / (double)K;
        sum.psnr_mean += one.psnr_mean / (double)K;
        sum.color_samples += one.color_samples / (double)K;
        sum.psnr_gray += one.psnr_gray / (double)K;
        sum.psnr_meanab += one.psnr_meanab / (double)K;
        sum.color_truth += one.color_truth / (double)K;
        sum.color_gray += one.color_gray / (double)K;
        sum.color_meanab += one.color_meanab / (double)K;
    }
    if (want_metrics) {
        printf("%lld images of %s (%s split, items %d + %d k), %d "
               "colorizations each, seed %.0f\n",
               (long long)K, data, split, index, stride, n, seed);
        printf("  PSNR (dB, RGB, mean over images):\n");
        printf("    samples, best of %d     %.2f\n", n, sum.psnr_best);
        printf("    samples, mean of %d     %.2f\n", n, sum.psnr_mean);
        printf("    gray (a = b = 0)        %.2f\n", sum.psnr_gray);
        printf("    mean chroma (%d, %d)  %.2f\n", meanab[0] - 128,
               meanab[1] - 128, sum.psnr_meanab);
        printf("  colorfulness (Hasler & Suesstrunk 2003, mean):\n");
        printf("    true colors             %.2f\n", sum.color_truth);
        printf("    samples                 %.2f\n", sum.color_samples);
        printf("    gray                    %.2f\n", sum.color_gray);
        printf("    mean chroma             %.2f\n", sum.color_meanab);
    }
    if (cli_write_grid(out, grid, K * cols, 3, (int)h, (int)w, cols,
                       scale)) {
        rc = 1;
        goto done;
    }
    printf("wrote %s: %lld image%s x (gray%s + %d colorizations), %lldx%lld\n",
           out, (long long)K, K > 1 ? "s" : "", colored ? ", original" : "",
           n, (long long)w, (long long)h);
done:
    free(grid), free(res), free(gray);
    pcnn_dataset_free(&d);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    return rc;
}
