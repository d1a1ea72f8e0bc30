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
    "the N colorizations. Images of one run must share a size.\n";

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

typedef struct {
    const char *ckpt, *out, *data, *split;
    const char *files[256];
    int nfiles, n, index, count, scale, threads, stride, want_metrics;
    double seed, offset;
} colorize_args;

/* colorize's flags into a (the defaults before), and their checks: 0, -1
 * (--help) or 2 after a message. */
static int colorize_parse(int argc, char **argv, colorize_args *a)
{
    static const char *const why_data =
        "it picks images of --data, and image files are given";
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &a->ckpt, "F",
                     "the chroma model (EMA weights when it has them)"),
        CLI_ARGS_F("images", a->files, &a->nfiles, 256, "IMAGE ...",
                   "PNG/JPEG/PGM/... files"),
        CLI_STRING_F("--data", &a->data, "KIND:PATH",
                     "or images of a data set (cifar10:DIR, folder:DIR)"),
        CLI_CHOICE_F("--split", &a->split, "train test", "S", "train or test",
                     .show_default = 1, .needs = "--data", .why = why_data),
        CLI_INT_F("--index", &a->index, 0, 2000000000, "I", "first item",
                  .show_default = 1, .needs = "--data", .why = why_data),
        CLI_INT_F("--count", &a->count, 1, 100000, "K", "items",
                  .show_default = 1, .needs = "--data", .why = why_data),
        CLI_INT_F("--stride", &a->stride, 1, 1000000, "S",
                  "every S-th item from --index on (the CIFAR-10 test file "
                  "is sorted by class)",
                  .show_default = 1, .needs = "--data", .why = why_data),
        CLI_INT_F("-n", &a->n, 1, 256, "N", "colorizations per image",
                  .show_default = 1),
        CLI_STRING_F("-o", &a->out, "FILE", "the grid", .show_default = 1),
        CLI_INT_F("--scale", &a->scale, 1, 32, "K",
                  "grid pixels per image pixel", .show_default = 1),
        CLI_DOUBLE_F("--seed", &a->seed, 0, 9007199254740992.0, "S",
                     "random seed", .show_default = 1),
        CLI_DOUBLE_F("--log-scale-offset", &a->offset, -19.99, 19.99, "X",
                     "sharper (< 0) or flatter (> 0) draws",
                     .show_default = 1),
        CLI_BOOL_F("--metrics", &a->want_metrics,
                   "print PSNR (best of N, mean of N) and colorfulness "
                   "against the true colors, with the baselines gray (a = b "
                   "= 0) and mean chroma (the training split's mean a and "
                   "b; --data only)"),
        CLI_INT_F("--threads", &a->threads, 1, 4096, "N",
                  "threads (default: all cores)"),
    };
    cli_cmd cl = CLI_CMD("colorize", usage, NULL, flags);
    int rc = cli_parse(&cl, argc, argv);
    if (rc)
        return rc;
    if (!a->ckpt || (!a->nfiles && !a->data) || (a->nfiles && a->data)) {
        fprintf(stderr, "pixelcnn colorize: give --checkpoint and either "
                        "image files or --data (see --help)\n");
        return 2;
    }
    if (a->want_metrics && !a->data) {
        fprintf(stderr, "pixelcnn colorize: --metrics needs --data (the "
                        "true colors and the training split)\n");
        return 2;
    }
    return cli_check(&cl);
}

/* What a run holds: the colorizer, the images (K of them, h x w, img
 * bytes each, used from --index every --stride), the grid of K rows of
 * cols images, one image's draws, its gray version, the mean chroma and
 * the scores' means. */
typedef struct {
    pcnn_ctx *ctx;
    pcnn_chain *ch;
    const pcnn_model_config *c; /* the chroma stage */
    pcnn_dataset d;
    int64_t K, h, w, img;
    int colored, cols;
    uint8_t *grid, *res, *gray;
    uint8_t meanab[2];
    pcnn_colorize_scores sum;
} colorize_run;

/* The colorizer of --checkpoint and a context into r: a model checkpoint
 * with its EMA weights when it has them, or a chain file whose last stage
 * is the colorizer. 0, or 1 with a message. */
static int open_colorizer(const colorize_args *a, colorize_run *r)
{
    int has_trainer = 0, rc;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, a->threads};
    pcnn_file_kind kind;
    if ((rc = cli_file_kind("colorize", a->ckpt, NULL, &kind)))
        return rc;
    if ((kind == PCNN_FILE_CHECKPOINT &&
         pcnn_checkpoint_read_state(a->ckpt, NULL, NULL, NULL,
                                    &has_trainer)) ||
        pcnn_chain_load(a->ckpt, has_trainer, &r->ch) ||
        pcnn_ctx_create(&r->ctx, &co)) {
        fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
        return 1;
    }
    const pcnn_model_config *c = pcnn_model_get_config(
        pcnn_chain_stage(r->ch, pcnn_chain_stages(r->ch) - 1));
    r->c = c;
    if (c->view.lab != PCNN_LAB_AB || c->cond_view.lab != PCNN_LAB_L) {
        char v1[96], v2[96];
        fprintf(stderr,
                "pixelcnn colorize: %s models %s given %s, not the chroma "
                "ab given L (train it with --view ab,half --cond-view L)\n",
                a->ckpt, pcnn_view_str(&c->view, v1, sizeof v1),
                c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                                 : "nothing");
        return 1;
    }
    return 0;
}

/* The image files into d, one data set of equal sizes, each at least
 * minh x minw. 0, or 1/2 with a message. */
static int load_files(const colorize_args *a, int64_t minh, int64_t minw,
                      pcnn_dataset *d)
{
    for (int k = 0; k < a->nfiles; k++) {
        pcnn_dataset one;
        const char *f = a->files[k];
        if (pcnn_image_load(f, 3, &one) != PCNN_OK) {
            fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
            return 1;
        }
        int rc = 0;
        if (one.h < minh || one.w < minw) {
            fprintf(stderr,
                    "pixelcnn colorize: %s is %lldx%lld: the model draws "
                    "the chroma at %lldx%lld, so images must be at least "
                    "that large\n",
                    f, (long long)one.w, (long long)one.h, (long long)minw,
                    (long long)minh);
            rc = 2;
        } else if (k == 0) {
            *d = one;
            d->images = realloc(one.images,
                                (size_t)(a->nfiles * 3 * one.h * one.w));
            if (!d->images) {
                fprintf(stderr, "pixelcnn colorize: out of memory\n");
                *d = one;
                return 1;
            }
            one.images = NULL;
        } else if (one.h != d->h || one.w != d->w) {
            fprintf(stderr,
                    "pixelcnn colorize: %s is %lldx%lld, %s is %lldx%lld: "
                    "colorize images of one size per run\n",
                    f, (long long)one.w, (long long)one.h, a->files[0],
                    (long long)d->w, (long long)d->h);
            rc = 2;
        } else {
            memcpy(d->images + k * 3 * d->h * d->w, one.images,
                   (size_t)(3 * d->h * d->w));
        }
        if (k > 0 || rc)
            pcnn_dataset_free(&one);
        if (rc)
            return rc;
        d->n = k + 1;
    }
    return 0;
}

/* The images to colorize into r->d and r->K: items of --data, or the
 * files. 0, or 1/2 with a message. */
static int load_inputs(const colorize_args *a, colorize_run *r)
{
    /* the chroma is drawn at the model's size, then upsampled: an image
     * must be at least that large */
    const int64_t minh = r->c->height, minw = r->c->width;
    pcnn_dataset *d = &r->d;
    if (!a->data) {
        r->K = a->nfiles;
        return load_files(a, minh, minw, d);
    }
    const int S = r->c->height << r->c->view.halvings;
    int rc = cli_load_data("colorize", a->data, a->split, S, d);
    if (rc)
        return rc;
    if (d->c != 3 || a->index >= d->n) {
        fprintf(stderr, "pixelcnn colorize: %s: %s images, item %d of "
                        "%lld\n",
                a->data, d->c == 3 ? "color" : "not color", a->index,
                (long long)d->n);
        return 1;
    }
    if (d->h < minh || d->w < minw) {
        fprintf(stderr,
                "pixelcnn colorize: --data %s: its images are %lldx%lld, "
                "smaller than the model's chroma (%lldx%lld)\n",
                a->data, (long long)d->w, (long long)d->h, (long long)minw,
                (long long)minh);
        return 2;
    }
    r->K = (d->n - a->index + a->stride - 1) / a->stride;
    r->K = r->K < a->count ? r->K : a->count;
    return 0;
}

/* The grid's shape (a column for the originals when one has colors), its
 * check, the buffers and, with --metrics, the mean chroma. 0, or 1/2
 * with a message. */
static int prepare(const colorize_args *a, colorize_run *r)
{
    const int64_t h = r->d.h, w = r->d.w, img = 3 * h * w;
    r->h = h, r->w = w, r->img = img;
    /* a gray input has R = G = B: no true colors to show or measure */
    for (int64_t k = 0; k < r->K && !r->colored; k++) {
        const uint8_t *p = r->d.images + (a->index + k * a->stride) * img;
        for (int64_t q = 0; q < h * w && !r->colored; q++)
            r->colored = p[q] != p[h * w + q] || p[q] != p[2 * h * w + q];
    }
    r->cols = a->n + 1 + r->colored;
    int rc = cli_check_grid("colorize", a->out, r->K * r->cols, (int)h,
                            (int)w, r->cols, a->scale);
    if (rc)
        return rc;
    r->grid = malloc((size_t)(r->K * r->cols * img));
    r->res = malloc((size_t)(a->n * img));
    r->gray = malloc((size_t)img);
    if (!r->grid || !r->res || !r->gray) {
        fprintf(stderr, "pixelcnn colorize: out of memory\n");
        return 1;
    }
    if (a->want_metrics)
        return mean_chroma(a->data, r->c->height << r->c->view.halvings,
                           r->meanab);
    return 0;
}

/* sum += one / K, score by score */
static void add_scores(pcnn_colorize_scores *sum,
                       const pcnn_colorize_scores *one, double K)
{
    sum->psnr_best += one->psnr_best / K;
    sum->psnr_mean += one->psnr_mean / K;
    sum->color_samples += one->color_samples / K;
    sum->psnr_gray += one->psnr_gray / K;
    sum->psnr_meanab += one->psnr_meanab / K;
    sum->color_truth += one->color_truth / K;
    sum->color_gray += one->color_gray / K;
    sum->color_meanab += one->color_meanab / K;
}

/* Row k of the grid: image k's gray version, the original (if the
 * images have colors), its -n colorizations; with --metrics its scores
 * added to the means. 0, or 1 with a message. */
static int colorize_row(const colorize_args *a, colorize_run *r, int64_t k,
                        pcnn_model_sample_opts *o)
{
    const int64_t img = r->img, h = r->h, w = r->w;
    const uint8_t *x = r->d.images + (a->index + k * a->stride) * img;
    pcnn_image xi = pcnn_img((uint8_t *)x, 1, 3, h, w);
    o->seed = (uint64_t)a->seed * 1000003u + (uint64_t)k;
    uint8_t *row = r->grid + k * r->cols * img;
    /* the gray version: L with a = b = 0 */
    uint8_t flat[2 * 4];
    memset(flat, 128, sizeof flat);
    if (pcnn_colorize_compose(xi, flat, 2, 2, pcnn_img(r->gray, 1, 3, h, w)) ||
        pcnn_colorize(r->ctx, r->ch, xi, a->n, o, r->res, NULL)) {
        fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
        return 1;
    }
    memcpy(row, r->gray, (size_t)img);
    if (r->colored)
        memcpy(row + img, x, (size_t)img);
    memcpy(row + (1 + r->colored) * img, r->res, (size_t)(a->n * img));
    if (!a->want_metrics)
        return 0;
    pcnn_colorize_scores one;
    if (pcnn_colorize_score(xi, r->res, a->n, r->meanab, &one)) {
        fprintf(stderr, "pixelcnn colorize: %s\n", pcnn_last_error());
        return 1;
    }
    add_scores(&r->sum, &one, (double)r->K);
    return 0;
}

/* The means of the scores over the images, with the baselines. */
static void print_metrics(const colorize_args *a, const colorize_run *r)
{
    const pcnn_colorize_scores *sum = &r->sum;
    const int n = a->n;
    printf("%lld images of %s (%s split, items %d + %d k), %d "
           "colorizations each, seed %.0f\n",
           (long long)r->K, a->data, a->split, a->index, a->stride, n,
           a->seed);
    printf("  PSNR (dB, RGB, mean over images):\n");
    printf("    samples, best of %d     %.2f\n", n, sum->psnr_best);
    printf("    samples, mean of %d     %.2f\n", n, sum->psnr_mean);
    printf("    gray (a = b = 0)        %.2f\n", sum->psnr_gray);
    printf("    mean chroma (%d, %d)  %.2f\n", r->meanab[0] - 128,
           r->meanab[1] - 128, sum->psnr_meanab);
    printf("  colorfulness (Hasler & Suesstrunk 2003, mean):\n");
    printf("    true colors             %.2f\n", sum->color_truth);
    printf("    samples                 %.2f\n", sum->color_samples);
    printf("    gray                    %.2f\n", sum->color_gray);
    printf("    mean chroma             %.2f\n", sum->color_meanab);
}

int cmd_colorize(int argc, char **argv)
{
    colorize_args a = {.out = "colorize.png", .split = "test", .n = 8,
                       .count = 8, .scale = 2, .stride = 1, .seed = 1};
    int rc = colorize_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = cli_check_output("colorize", "-o", a.out)))
        return rc;
    colorize_run r;
    memset(&r, 0, sizeof r);
    r.meanab[0] = r.meanab[1] = 128;
    rc = open_colorizer(&a, &r);
    if (!rc)
        rc = load_inputs(&a, &r);
    if (!rc)
        rc = prepare(&a, &r);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.log_scale_offset = (float)a.offset;
    for (int64_t k = 0; !rc && k < r.K; k++)
        rc = colorize_row(&a, &r, k, &o);
    if (!rc && a.want_metrics)
        print_metrics(&a, &r);
    if (!rc && cli_write_grid(a.out, r.grid, r.K * r.cols, 3, (int)r.h,
                              (int)r.w, r.cols, a.scale))
        rc = 1;
    if (!rc)
        printf("wrote %s: %lld image%s x (gray%s + %d colorizations), "
               "%lldx%lld\n",
               a.out, (long long)r.K, r.K > 1 ? "s" : "",
               r.colored ? ", original" : "", a.n, (long long)r.w,
               (long long)r.h);
    free(r.grid), free(r.res), free(r.gray);
    pcnn_dataset_free(&r.d);
    pcnn_chain_free(r.ch);
    pcnn_ctx_free(r.ctx);
    return rc;
}
