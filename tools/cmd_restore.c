/*
 * cmd_restore.c -- `pixelcnn restore` (denoise, deblur, inpaint) and
 * `pixelcnn purify` (PixelDefend): images through the greedy decoder of
 * pcnn_chain_restore and pcnn_chain_purify (docs/restore.md), from files
 * or a data set, out as a PNG, a grid, a .npy array or a folder.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char restore_usage[] =
    "usage: pixelcnn restore --checkpoint M --mode denoise|deblur|inpaint\n"
    "                        [--sigma S] [--blur box:K|gauss:S]\n"
    "                        [--mask FILE | --mask-rect X0,Y0,X1,Y1]\n"
    "                        (IN.png ... | --data KIND:PATH) -o OUT [flags]\n"
    "\n"
    "Restores images with a plain model (one stage of x, no condition):\n"
    "each subpixel in raster order becomes the value maximizing the model's\n"
    "log-probability given the pixels already restored plus a data term\n"
    "(docs/restore.md). denoise: Gaussian noise of --sigma levels. deblur:\n"
    "the --blur kernel (wrapping around the edges) plus noise of --sigma,\n"
    "from the Wiener estimate, --passes times. inpaint: the --mask pixels\n"
    "are kept, the others get the model's most probable value.\n";

static const char purify_usage[] =
    "usage: pixelcnn purify --checkpoint M --eps E (IN.png ... | --data\n"
    "                       KIND:PATH) -o OUT [flags]\n"
    "\n"
    "PixelDefend (Song et al. 2018): each subpixel in raster order becomes\n"
    "the most probable value of its conditional given the pixels already\n"
    "purified, among the values within E of its own (docs/restore.md).\n";

static const char out_epilog[] =
    "OUT: FILE.png (one image: the result; several: a grid, a row per\n"
    "image: the input, then the result), FILE.npy (the results, uint8\n"
    "(N, C, H, W)), or a folder that receives 00000.png, 00001.png, ...\n";

/* What both commands read and write. */
typedef struct {
    const char *cmd, *ckpt, *out, *npy, *weights, *data, *split;
    const char *files[256];
    int nfiles, index, count, threads, scale;
} io_args;

#define WHY_DATA "it picks images of --data"
#define IO_FLAGS(a)                                                           \
    CLI_STRING_F("--checkpoint", &(a)->ckpt, "M",                           \
                 "a plain model: a checkpoint of pixelcnn train or export", \
                 .required = 1),                                            \
    CLI_ARGS_F("images", (a)->files, &(a)->nfiles, 256, "IN.png ...",       \
               "image files, center-cropped and resized to the model's "    \
               "size"),                                                     \
    CLI_STRING_F("--data", &(a)->data, "KIND:PATH",                         \
                 "or images of a data set (see pixelcnn eval)"),            \
    CLI_CHOICE_F("--split", &(a)->split, "train test", "S", "train or test",\
                 .show_default = 1, .needs = "--data", .why = WHY_DATA),    \
    CLI_INT_F("--index", &(a)->index, 0, 2000000000, "I",                   \
              "first image of --data", .show_default = 1,                   \
              .needs = "--data", .why = WHY_DATA),                          \
    CLI_INT_F("--count", &(a)->count, 1, 1000000, "K",                      \
              "images from --index on", .show_default = 1,                  \
              .needs = "--data", .why = WHY_DATA),                          \
    CLI_STRING_F("-o", &(a)->out, "OUT", "the results (see below)",         \
                 .required = 1),                                            \
    CLI_STRING_F("--npy", &(a)->npy, "FILE",                                \
                 "also write the results as a .npy array"),                 \
    CLI_INT_F("--scale", &(a)->scale, 1, 32, "N",                           \
              "grid pixels per image pixel (default: 2 under 64 pixels)"),  \
    CLI_CHOICE_F("--weights", &(a)->weights, "ema raw", "W",                \
                 "ema (default, when the file has them) or raw"),           \
    CLI_INT_F("--threads", &(a)->threads, 1, 4096, "N",                     \
              "threads (default: all cores); the result is the same for "   \
              "any")

static void io_init(io_args *a, const char *cmd)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->split = "test";
    a->count = 16;
}

/* The progress on a terminal: rows of all passes. */
static int show_rows(void *arg, const pcnn_progress_info *info)
{
    fprintf(stderr, "\rpixelcnn %s: row %lld/%lld", (const char *)arg,
            (long long)info->done, (long long)info->total);
    if (info->done == info->total)
        fputc('\n', stderr);
    return 0;
}

static pcnn_progress progress_of(const char *cmd)
{
    return (pcnn_progress){isatty(2) ? show_rows : NULL, (void *)cmd};
}

/* The model of --checkpoint, its config and a context. 0, or 1/2 after a
 * message. */
static int open_model(const char *cmd, const io_args *a, pcnn_ctx **ctx,
                      pcnn_chain **ch, const pcnn_model_config **cfg)
{
    pcnn_file_kind kind;
    const char *which;
    int rc = cli_open_chain(cmd, a->ckpt, a->weights, &kind, &which, ch);
    if (rc)
        return rc;
    const pcnn_ctx_opts co = {PCNN_BACKEND_CPU, a->threads};
    if (pcnn_ctx_create(ctx, &co) != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    *cfg = pcnn_model_get_config(pcnn_chain_stage(*ch, 0));
    return 0;
}

/* The files, each cropped and resized to the model's size, into d. */
static int load_files(const char *cmd, const io_args *a,
                      const pcnn_model_config *c, pcnn_dataset *d)
{
    if (c->height != c->width) {
        fprintf(stderr, "pixelcnn %s: image files need a square model (this "
                        "one is %dx%d): use --data\n",
                cmd, c->width, c->height);
        return 2;
    }
    const int64_t img = (int64_t)c->channels * c->height * c->width;
    uint8_t *x = malloc((size_t)(a->nfiles * img));
    if (!x) {
        fprintf(stderr, "pixelcnn %s: out of memory\n", cmd);
        return 1;
    }
    for (int k = 0; k < a->nfiles; k++) {
        pcnn_dataset one = {0};
        if (pcnn_dataset_load_image(a->files[k], c->channels, c->height,
                                    &one) != PCNN_OK) {
            fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
            free(x);
            return 1;
        }
        memcpy(x + k * img, one.images, (size_t)img);
        pcnn_dataset_free(&one);
    }
    pcnn_status s = pcnn_dataset_from_memory(x, a->nfiles, c->channels,
                                              c->height, c->width, NULL, 0, d);
    free(x);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    return 0;
}

/* -o and --npy can be written, before any work: 0, or 1/2 after a
 * message (a folder -o is made when written). */
static int check_outputs(const io_args *a)
{
    int rc = 0;
    if (cli_ends_with(a->out, ".npy") || cli_ends_with(a->out, ".png") ||
        cli_ends_with(a->out, ".PNG"))
        rc = cli_check_output(a->cmd, "-o", a->out);
    if (!rc && a->npy)
        rc = cli_check_output(a->cmd, "--npy", a->npy);
    return rc;
}

/* The inputs: image files or --data, one of them. 0, or 2 after a
 * message. */
static int check_inputs(const io_args *a)
{
    if (!a->nfiles == !a->data) {
        fprintf(stderr, "pixelcnn %s: give image files or --data KIND:PATH "
                        "(one of them)\n",
                a->cmd);
        return 2;
    }
    return 0;
}

/* The input images into d: the files, or --count images of --data from
 * --index on. 0, or 1/2 after a message. */
static int load_inputs(const char *cmd, const io_args *a,
                       const pcnn_model_config *c, pcnn_dataset *d)
{
    if (!a->data)
        return load_files(cmd, a, c, d);
    int rc = cli_load_data(cmd, a->data, a->split, c->height, d);
    if (rc)
        return rc;
    if (d->c != c->channels || d->h != c->height || d->w != c->width) {
        fprintf(stderr, "pixelcnn %s: --data images are %lldx%lldx%lld, the "
                        "model takes %dx%dx%d\n",
                cmd, (long long)d->c, (long long)d->h, (long long)d->w,
                c->channels, c->height, c->width);
        return 1;
    }
    if (a->index >= d->n) {
        fprintf(stderr, "pixelcnn %s: --index %d: the data set has %lld "
                        "images\n",
                cmd, a->index, (long long)d->n);
        return 2;
    }
    const int64_t K = a->index + a->count <= d->n ? a->count
                                                  : d->n - a->index;
    if (pcnn_dataset_subset(d, a->index, K, d) != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    return 0;
}

/* A grid of a row per image: shown[k] (the input as displayed) then
 * out[k]. */
static int write_pairs(const io_args *a, const uint8_t *shown,
                       const uint8_t *out, const pcnn_model_config *c,
                       int64_t n)
{
    const int64_t img = (int64_t)c->channels * c->height * c->width;
    uint8_t *grid = malloc((size_t)(2 * n * img));
    if (!grid) {
        fprintf(stderr, "%s: out of memory\n", a->out);
        return 1;
    }
    for (int64_t k = 0; k < n; k++) {
        memcpy(grid + 2 * k * img, shown + k * img, (size_t)img);
        memcpy(grid + (2 * k + 1) * img, out + k * img, (size_t)img);
    }
    const int scale = a->scale ? a->scale : c->height < 64 ? 2 : 1;
    int rc = cli_check_grid(a->cmd, a->out, 2 * n, c->height, c->width,
                            2, scale);
    if (!rc)
        rc = cli_write_grid(a->out, grid, 2 * n, c->channels, c->height,
                            c->width, 2, scale);
    free(grid);
    return rc;
}

/* The results out (n images) as -o and --npy say; shown: the inputs as
 * the grid shows them. 0, or 1 after a message. */
static int write_outputs(const io_args *a, const uint8_t *shown,
                         const uint8_t *out, const pcnn_model_config *c,
                         int64_t n)
{
    const int C = c->channels, H = c->height, W = c->width;
    int rc = 0;
    if (cli_ends_with(a->out, ".npy")) {
        rc = cli_write_npy(a->out, out, n, C, H, W);
    } else if (cli_ends_with(a->out, ".png") || cli_ends_with(a->out, ".PNG")) {
        rc = n == 1 ? cli_write_png(a->out, out, C, H, W, c->levels)
                    : write_pairs(a, shown, out, c, n);
    } else if (!(rc = cli_mkdirs(a->cmd, "-o", a->out))) {
        for (int64_t i = 0; !rc && i < n; i++) {
            char name[4200];
            snprintf(name, sizeof name, "%s/%05lld.png", a->out, (long long)i);
            rc = cli_write_png(name, out + i * C * H * W, C, H, W, c->levels);
        }
    }
    if (!rc && a->npy)
        rc = cli_write_npy(a->npy, out, n, C, H, W);
    if (!rc)
        printf("wrote %s%s%s\n", a->out, a->npy ? " and " : "",
               a->npy ? a->npy : "");
    return rc;
}

/* ------------------------------------------------------------ restore */

typedef struct {
    io_args io;
    const char *mode, *blur, *mask, *rect;
    double sigma, weight;
    int passes, mean;
    float kernel[PCNN_RESTORE_MAX_KERNEL * PCNN_RESTORE_MAX_KERNEL];
    int ksize;
} restore_args;

/* --blur box:K (K x K, K odd) or gauss:S (a Gaussian of standard
 * deviation S pixels, 2 ceil(3 S) + 1 taps a side), normalized. 0, or 2
 * after a message. */
static int parse_blur(const char *spec, float *k, int *ksize)
{
    char tail;
    int K;
    double s;
    if (sscanf(spec, "box:%d%c", &K, &tail) == 1 && K >= 1 && K % 2 &&
        K <= PCNN_RESTORE_MAX_KERNEL) {
        for (int t = 0; t < K * K; t++)
            k[t] = 1.0f / (float)(K * K);
        *ksize = K;
        return 0;
    }
    if (sscanf(spec, "gauss:%lf%c", &s, &tail) == 1 && s >= 0.1 && s <= 5) {
        const int r = (int)ceil(3 * s);
        double sum = 0;
        *ksize = 2 * r + 1;
        for (int p = -r; p <= r; p++)
            for (int q = -r; q <= r; q++)
                sum += exp(-(p * p + q * q) / (2 * s * s));
        for (int p = -r; p <= r; p++)
            for (int q = -r; q <= r; q++)
                k[(p + r) * *ksize + q + r] =
                    (float)(exp(-(p * p + q * q) / (2 * s * s)) / sum);
        return 0;
    }
    fprintf(stderr, "pixelcnn restore: --blur %s: want box:K (K odd, 1..%d) "
                    "or gauss:S (S in 0.1..5 pixels)\n",
            spec, PCNN_RESTORE_MAX_KERNEL);
    return 2;
}

/* The known-pixel mask (h*w) of --mask FILE (>= 128: known) or
 * --mask-rect (the unknown box). 0, or 1/2 after a message. */
static int parse_mask(const restore_args *a, int h, int w, uint8_t *known)
{
    if (a->rect) {
        int x0, y0, x1, y1;
        char tail;
        if (sscanf(a->rect, "%d,%d,%d,%d%c", &x0, &y0, &x1, &y1, &tail) != 4 ||
            x0 < 0 || y0 < 0 || x1 > w || y1 > h || x0 >= x1 || y0 >= y1) {
            fprintf(stderr, "pixelcnn restore: --mask-rect %s: want "
                            "X0,Y0,X1,Y1 with 0 <= X0 < X1 <= %d and 0 <= "
                            "Y0 < Y1 <= %d\n",
                    a->rect, w, h);
            return 2;
        }
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                known[i * w + j] = !(i >= y0 && i < y1 && j >= x0 && j < x1);
        return 0;
    }
    pcnn_dataset m = {0};
    if (h != w || pcnn_dataset_load_image(a->mask, 1, h, &m) != PCNN_OK) {
        fprintf(stderr, "pixelcnn restore: --mask %s: %s\n", a->mask,
                h != w ? "a mask image needs a square model"
                       : pcnn_last_error());
        return h != w ? 2 : 1;
    }
    for (int k = 0; k < h * w; k++)
        known[k] = m.images[k] >= 128;
    pcnn_dataset_free(&m);
    return 0;
}

/* The flags against --mode. 0, or 2 after a message. */
static int check_mode(const cli_cmd *p, restore_args *a)
{
    const int denoise = !strcmp(a->mode, "denoise"),
              deblur = !strcmp(a->mode, "deblur"), inpaint = !denoise && !deblur;
    const char *why = inpaint ? "it is for denoise and deblur"
                              : "it is for --mode inpaint";
    if (inpaint && cli_given(p, "--sigma"))
        return cli_not_applicable("restore", "--sigma", why);
    if (!inpaint && (a->mask || a->rect))
        return cli_not_applicable("restore", a->mask ? "--mask" : "--mask-rect",
                                  why);
    if (!deblur && (a->blur || cli_given(p, "--passes")))
        return cli_not_applicable("restore", a->blur ? "--blur" : "--passes",
                                  "it is for --mode deblur");
    const char *missing = !inpaint && !cli_given(p, "--sigma") ? "--sigma S"
                          : deblur && !a->blur                ? "--blur SPEC"
                          : inpaint && !a->mask && !a->rect
                              ? "--mask FILE or --mask-rect X0,Y0,X1,Y1"
                              : NULL;
    if (missing) {
        fprintf(stderr, "pixelcnn restore: --mode %s needs %s\n", a->mode,
                missing);
        return 2;
    }
    if (a->mask && a->rect)
        return cli_not_applicable("restore", "--mask-rect",
                                  "--mask gives the mask");
    return deblur ? parse_blur(a->blur, a->kernel, &a->ksize) : 0;
}

static int restore_parse(int argc, char **argv, restore_args *a)
{
    cli_flag flags[] = {
        CLI_CHOICE_F("--mode", &a->mode, "denoise deblur inpaint", "MODE",
                     "what corrupted the images", .required = 1),
        CLI_DOUBLE_F("--sigma", &a->sigma, 0.01, 1000, "S",
                     "denoise, deblur: the noise's standard deviation in "
                     "levels (0..255)"),
        CLI_STRING_F("--blur", &a->blur, "SPEC",
                     "deblur: box:K (K x K, K odd) or gauss:S (standard "
                     "deviation S pixels)"),
        CLI_STRING_F("--mask", &a->mask, "FILE",
                     "inpaint: a mask image of the model's size, >= 128 "
                     "where the pixel is known"),
        CLI_STRING_F("--mask-rect", &a->rect, "X0,Y0,X1,Y1",
                     "inpaint: the unknown box [X0,X1) x [Y0,Y1)"),
        CLI_INT_F("--passes", &a->passes, 1, 100, "N", "deblur: passes",
                  .show_default = 1),
        CLI_DOUBLE_F("--weight", &a->weight, 0, 1000, "W",
                     "the data term's weight: above 1 tempers the model",
                     .show_default = 1),
        CLI_BOOL_F("--mean", &a->mean,
                   "each subpixel's posterior mean (given the pixels before "
                   "it) instead of its most probable value"),
        IO_FLAGS(&a->io),
    };
    cli_cmd p = CLI_CMD("restore", restore_usage, out_epilog, flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc)
        rc = check_inputs(&a->io);
    if (!rc)
        rc = cli_check(&p);
    return rc ? rc : check_mode(&p, a);
}

/* The library's options for the run's n images; known: their masks. */
static pcnn_restore_opts restore_opts(const restore_args *a,
                                      const uint8_t *known)
{
    pcnn_restore_opts o = pcnn_restore_opts_default();
    o.mode = !strcmp(a->mode, "denoise")  ? PCNN_RESTORE_DENOISE
             : !strcmp(a->mode, "deblur") ? PCNN_RESTORE_DEBLUR
                                          : PCNN_RESTORE_INPAINT;
    o.sigma = a->sigma, o.weight = a->weight, o.passes = a->passes;
    o.mean = a->mean;
    o.kernel = a->kernel, o.ksize = a->ksize, o.mask = known;
    o.progress = progress_of("restore");
    return o;
}

/* The masks of the n images (--mask or --mask-rect, for each), and the
 * inputs as the grid shows them: unknown pixels gray. */
static int inpaint_masks(const restore_args *a, const pcnn_dataset *d,
                         uint8_t *known, uint8_t *shown)
{
    const int64_t HW = d->h * d->w, C = d->c;
    int rc = parse_mask(a, (int)d->h, (int)d->w, known);
    for (int64_t b = 1; !rc && b < d->n; b++)
        memcpy(known + b * HW, known, (size_t)HW);
    for (int64_t t = 0; !rc && t < d->n * C * HW; t++)
        if (!known[t / (C * HW) * HW + t % HW])
            shown[t] = 128;
    return rc;
}

int cmd_restore(int argc, char **argv)
{
    restore_args a;
    memset(&a, 0, sizeof a);
    io_init(&a.io, "restore");
    a.passes = 3, a.weight = 1;
    int rc = restore_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_ctx *ctx = NULL;
    pcnn_chain *ch = NULL;
    const pcnn_model_config *c = NULL;
    pcnn_dataset d = {0};
    uint8_t *out = NULL, *known = NULL, *shown = NULL;
    rc = check_outputs(&a.io);
    if (!rc)
        rc = open_model("restore", &a.io, &ctx, &ch, &c);
    if (!rc)
        rc = load_inputs("restore", &a.io, c, &d);
    const size_t n = rc ? 0 : (size_t)(d.n * d.c * d.h * d.w);
    if (!rc && (!(out = malloc(n)) || !(shown = malloc(n)) ||
                !(known = calloc((size_t)(d.n * d.h * d.w), 1)))) {
        fprintf(stderr, "pixelcnn restore: out of memory\n");
        rc = 1;
    }
    if (!rc)
        memcpy(shown, d.images, n);
    if (!rc && !strcmp(a.mode, "inpaint"))
        rc = inpaint_masks(&a, &d, known, shown);
    const pcnn_restore_opts o = restore_opts(&a, known);
    const double t0 = cli_now();
    if (!rc && pcnn_chain_restore(ctx, ch, pcnn_img(d.images, d.n, d.c, d.h,
                                                    d.w),
                                  pcnn_img(out, d.n, d.c, d.h, d.w),
                                  &o) != PCNN_OK) {
        fprintf(stderr, "pixelcnn restore: %s\n", pcnn_last_error());
        rc = 1;
    }
    if (!rc)
        printf("restored %lld images (%s) in %.2f s\n", (long long)d.n,
               a.mode, cli_now() - t0);
    if (!rc)
        rc = write_outputs(&a.io, shown, out, c, d.n);
    free(out), free(known), free(shown);
    pcnn_dataset_free(&d);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    return rc;
}

/* ------------------------------------------------------------- purify */

static int purify_parse(int argc, char **argv, io_args *a, int *eps)
{
    cli_flag flags[] = {
        CLI_INT_F("--eps", eps, 0, 255, "E",
                  "the largest change of a value, in levels (0: none)",
                  .required = 1),
        IO_FLAGS(a),
    };
    cli_cmd p = CLI_CMD("purify", purify_usage, out_epilog, flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc)
        rc = check_inputs(a);
    return rc ? rc : cli_check(&p);
}

int cmd_purify(int argc, char **argv)
{
    io_args a;
    io_init(&a, "purify");
    int eps = -1;
    int rc = purify_parse(argc, argv, &a, &eps);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_ctx *ctx = NULL;
    pcnn_chain *ch = NULL;
    const pcnn_model_config *c = NULL;
    pcnn_dataset d = {0};
    uint8_t *out = NULL;
    rc = check_outputs(&a);
    if (!rc)
        rc = open_model("purify", &a, &ctx, &ch, &c);
    if (!rc)
        rc = load_inputs("purify", &a, c, &d);
    const size_t n = rc ? 0 : (size_t)(d.n * d.c * d.h * d.w);
    if (!rc && !(out = malloc(n))) {
        fprintf(stderr, "pixelcnn purify: out of memory\n");
        rc = 1;
    }
    const pcnn_purify_opts o = {eps, progress_of("purify")};
    const double t0 = cli_now();
    if (!rc)
        memcpy(out, d.images, n);
    if (!rc && pcnn_chain_purify(ctx, ch, pcnn_img(out, d.n, d.c, d.h, d.w),
                                 &o) != PCNN_OK) {
        fprintf(stderr, "pixelcnn purify: %s\n", pcnn_last_error());
        rc = 1;
    }
    if (!rc)
        printf("purified %lld images (eps %d) in %.2f s\n", (long long)d.n,
               eps, cli_now() - t0);
    if (!rc)
        rc = write_outputs(&a, d.images, out, c, d.n);
    free(out);
    pcnn_dataset_free(&d);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    return rc;
}
