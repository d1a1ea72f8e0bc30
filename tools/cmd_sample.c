/*
 * cmd_sample.c -- `pixelcnn sample` (images from a checkpoint) and
 * `pixelcnn complete` (the unknown part of given images), both through
 * pcnn_model_sample: the cached sampler unless --naive.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char sample_usage[] =
    "usage: pixelcnn sample --checkpoint FILE [-n N] [-o OUT.png] [flags]\n"
    "\n"
    "Draws N images from the model with the cached sampler (every layer\n"
    "value computed once; docs/sampling.md) and writes them as a PNG grid.\n"
    "From a chain file (pixelcnn chain), each image is drawn stage by\n"
    "stage and the grid shows every stage's image side by side.\n"
    "\n"
    "  --checkpoint FILE     a checkpoint written by pixelcnn train\n"
    "  -n N                  images (default 16)\n"
    "  -o FILE               output: a PNG grid, or a .npy array of uint8\n"
    "                        (N, C, H, W) when FILE ends in .npy\n"
    "                        (default samples.png)\n"
    "  --npy FILE            also write the images as a .npy array\n"
    "  --cols N              grid columns (default: about sqrt(N))\n"
    "  --scale N             each pixel as N x N in the grid (default: 2\n"
    "                        for images under 64 pixels, else 1)\n"
    "  --seed S              random seed (default 1); same seed, same images\n"
    "  --log-scale-offset X  added to every logistic log-scale: < 0 gives\n"
    "                        sharper, less varied images (default 0)\n"
    "  --temperature T       categorical heads: logits / T (default 1)\n"
    "  --class K             class-conditional models: the class to draw\n"
    "  --weights W           ema (default, when the file has them) or raw\n"
    "  --naive               the reference sampler: one full forward pass\n"
    "                        per pixel (slow; for checking)\n"
    "  --consistent          chains: draw each pyramid stage from its\n"
    "                        tightened distribution, so its images halve\n"
    "                        exactly to the stage below (docs/chains.md)\n"
    "  --threads N           threads (default: all cores)\n";

static const char complete_usage[] =
    "usage: pixelcnn complete --checkpoint FILE (--image F | --data D)\n"
    "                         [--known SPEC] [-n N] [-o OUT.png] [flags]\n"
    "\n"
    "Keeps the known pixels of each image and samples the rest, N times.\n"
    "The grid has one row per image: the input with its unknown pixels\n"
    "grayed, N completions, then the original.\n"
    "\n"
    "  --checkpoint FILE  a checkpoint written by pixelcnn train\n"
    "  --image FILE       a PNG/JPEG, center-cropped and resized to the\n"
    "                     model's size\n"
    "  --data KIND:PATH   or images of a data set (see pixelcnn eval)\n"
    "  --split S          train or test (default test)\n"
    "  --index I          first image of the data set (default 0)\n"
    "  --count K          images from --index on (default 4)\n"
    "  --known SPEC       which pixels are known (default top):\n"
    "                       top, left      the top or left half\n"
    "                       bottom, right  the bottom or right half\n"
    "                       box:X0,Y0,X1,Y1     inside the box [X0,X1)x[Y0,Y1)\n"
    "                       outside:X0,Y0,X1,Y1 all but that box\n"
    "                       FILE.png       a mask image of the model's size\n"
    "                                      (after crop and resize): values\n"
    "                                      >= 128 are known\n"
    "  -n N               completions per image (default 6)\n"
    "  -o FILE            PNG grid (default completions.png), or .npy of\n"
    "                     the completions (K*N, C, H, W)\n"
    "  --seed S, --log-scale-offset X, --temperature T, --class K,\n"
    "  --weights W, --naive, --scale N, --threads N: as in pixelcnn sample\n"
    "\n"
    "The model reads pixels in raster order: a pixel is drawn given the\n"
    "pixels above it and to its left. Known pixels that come after an\n"
    "unknown one (bottom, right, outside:...) are kept in the output but do\n"
    "not influence the drawn pixels; the command says how many there are.\n";

typedef struct {
    const char *ckpt, *out, *npy, *weights;
    int n, cols, scale, cls, threads, naive, consistent;
    int has_offset, has_temperature; /* given on the command line */
    double seed, offset, temperature;
} common;

/* Parses a flag shared by both commands: 1 if taken, 0 if not ours,
 * -1 on a bad value (message printed). */
static int common_flag(const char *cmd, common *c, int argc, char **argv,
                       int *i)
{
    const char *f = argv[*i];
    if (!strcmp(f, "--checkpoint"))
        return (c->ckpt = cli_str_arg(cmd, argc, argv, i)) ? 1 : -1;
    if (!strcmp(f, "-o"))
        return (c->out = cli_str_arg(cmd, argc, argv, i)) ? 1 : -1;
    if (!strcmp(f, "--npy"))
        return (c->npy = cli_str_arg(cmd, argc, argv, i)) ? 1 : -1;
    if (!strcmp(f, "-n"))
        return cli_int_arg(cmd, argc, argv, i, 1, 4096, &c->n) ? -1 : 1;
    if (!strcmp(f, "--cols"))
        return cli_int_arg(cmd, argc, argv, i, 1, 1024, &c->cols) ? -1 : 1;
    if (!strcmp(f, "--scale"))
        return cli_int_arg(cmd, argc, argv, i, 1, 32, &c->scale) ? -1 : 1;
    if (!strcmp(f, "--class"))
        return cli_int_arg(cmd, argc, argv, i, 0, 65535, &c->cls) ? -1 : 1;
    if (!strcmp(f, "--threads"))
        return cli_int_arg(cmd, argc, argv, i, 1, 4096, &c->threads) ? -1
                                                                       : 1;
    if (!strcmp(f, "--seed"))
        return cli_double_arg(cmd, argc, argv, i, 0, 9007199254740992.0,
                              &c->seed)
                   ? -1
                   : 1;
    if (!strcmp(f, "--log-scale-offset")) {
        c->has_offset = 1;
        return cli_double_arg(cmd, argc, argv, i, -19.99, 19.99, &c->offset)
                   ? -1
                   : 1;
    }
    if (!strcmp(f, "--temperature")) {
        c->has_temperature = 1;
        return cli_double_arg(cmd, argc, argv, i, 0.0011, 999,
                              &c->temperature)
                   ? -1
                   : 1;
    }
    if (!strcmp(f, "--naive")) {
        c->naive = 1;
        return 1;
    }
    if (!strcmp(f, "--consistent")) {
        c->consistent = 1;
        return 1;
    }
    if (!strcmp(f, "--weights"))
        return cli_weights_arg(cmd, argc, argv, i, &c->weights) ? -1 : 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Before any work: the output files can be written, and the grid flags
 * are not given for a .npy output. 0, or 1/2 with a message. */
static int check_outputs(const char *cmd, const common *c)
{
    int rc = cli_check_output(cmd, "-o", c->out);
    if (!rc && c->npy)
        rc = cli_check_output(cmd, "--npy", c->npy);
    if (!rc && ends_with(c->out, ".npy") && c->cols)
        rc = cli_not_applicable(cmd, "--cols", "-o FILE.npy writes no grid");
    if (!rc && ends_with(c->out, ".npy") && c->scale)
        rc = cli_not_applicable(cmd, "--scale", "-o FILE.npy writes no grid");
    return rc;
}

/* Flags that only some models use, against the configs of the n models
 * (a chain's stages) that will be sampled. 0, or 2 with a message. */
static int check_model_flags(const char *cmd, const common *c,
                             const pcnn_model_config *const *cfg, int n)
{
    int classes = 0, categorical = 0, dmol = 0;
    for (int i = 0; i < n; i++) {
        classes |= cfg[i]->num_classes > 0;
        categorical |= cfg[i]->head == PCNN_HEAD_CATEGORICAL;
        dmol |= cfg[i]->head == PCNN_HEAD_DMOL;
    }
    if (c->cls >= 0 && !classes)
        return cli_not_applicable(cmd, "--class",
                                  "the model is not class-conditional");
    if (c->has_temperature && !categorical)
        return cli_not_applicable(cmd, "--temperature",
                                  "it scales categorical heads; the model "
                                  "has logistic-mixture heads only");
    if (c->has_offset && !dmol)
        return cli_not_applicable(cmd, "--log-scale-offset",
                                  "it shifts logistic-mixture heads; the "
                                  "model has categorical heads only");
    return 0;
}

/* The images a command starts from: one file or part of a data set. */
typedef struct {
    const char *image, *data, *split;
    int index, count;
    const char *data_flag; /* the last of --index, --count, --split given */
} inputs;

/* --image, --data, --split, --index, --count: 1 if taken, 0 if not one
 * of these, -1 on a bad value (message printed). */
static int input_flag(const char *cmd, inputs *in, int argc, char **argv,
                      int *i)
{
    const char *f = argv[*i];
    if (!strcmp(f, "--image"))
        return (in->image = cli_str_arg(cmd, argc, argv, i)) ? 1 : -1;
    if (!strcmp(f, "--data"))
        return (in->data = cli_str_arg(cmd, argc, argv, i)) ? 1 : -1;
    if (!strcmp(f, "--index") || !strcmp(f, "--count") ||
        !strcmp(f, "--split"))
        in->data_flag = f;
    if (!strcmp(f, "--index"))
        return cli_int_arg(cmd, argc, argv, i, 0, 2000000000, &in->index)
                   ? -1
                   : 1;
    if (!strcmp(f, "--count"))
        return cli_int_arg(cmd, argc, argv, i, 1, 1024, &in->count) ? -1 : 1;
    if (!strcmp(f, "--split")) {
        if (cli_split_arg(cmd, argc, argv, i, &in->split))
            return -1;
        return 1;
    }
    return 0;
}

/* --index, --count and --split pick images of --data: an error with
 * --image. 0, or 2 with a message. */
static int check_inputs(const char *cmd, const inputs *in)
{
    if (in->image && in->data_flag)
        return cli_not_applicable(cmd, in->data_flag,
                                  "it picks images of --data; --image gives "
                                  "one image");
    return 0;
}

/* Loads the inputs as C x H x W images into d (a file: one image, center-
 * cropped and resized); *K = the images from in->index on (at most
 * in->count). 0, or 1/2 with a message. */
static int load_inputs(const char *cmd, inputs *in, int C, int H, int W,
                       pcnn_dataset *d, int64_t *K)
{
    int rc = 0;
    if (in->image) {
        if (pcnn_dataset_load_image(in->image, C, H, d) != PCNN_OK) {
            fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
            return 1;
        }
        in->index = 0, in->count = 1;
    } else if ((rc = cli_load_data(cmd, in->data, in->split, H, d))) {
        return rc;
    }
    if (d->c != C || d->h != H || d->w != W) {
        fprintf(stderr, "pixelcnn %s: images are %lldx%lldx%lld, the model "
                        "makes %dx%dx%d\n",
                cmd, (long long)d->c, (long long)d->h, (long long)d->w, C, H,
                W);
        return 1;
    }
    if (in->index >= d->n) {
        fprintf(stderr, "pixelcnn %s: --index %d: the data set has %lld "
                        "images\n",
                cmd, in->index, (long long)d->n);
        return 2;
    }
    *K = in->index + in->count <= d->n ? in->count : d->n - in->index;
    return 0;
}

/* The sampler's progress on a terminal: rows drawn of all rows. */
static int progress(void *arg, const pcnn_progress_info *info)
{
    const char *cmd = arg;
    fprintf(stderr, "\rpixelcnn %s: row %lld/%lld", cmd, (long long)info->done,
            (long long)info->total);
    if (info->done == info->total)
        fputc('\n', stderr);
    return 0;
}

/* The classes flags against the stages: a class-conditional stage needs
 * --class K within its classes. A model checkpoint and a chain file say
 * it in their own words. 0, or 1/2 with a message. */
static int check_class(const char *cmd, const common *c, const pcnn_chain *ch,
                       int model_file)
{
    for (int i = 0; i < pcnn_chain_stages(ch); i++) {
        const int k = pcnn_model_get_config(pcnn_chain_stage(ch, i))
                          ->num_classes;
        if (k <= 0 || (c->cls >= 0 && c->cls < k))
            continue;
        if (!model_file)
            fprintf(stderr, "pixelcnn %s: stage %d is class-conditional: "
                            "give --class K (0..%d)\n",
                    cmd, i, k - 1);
        else if (c->cls < 0)
            fprintf(stderr, "pixelcnn %s: %s is class-conditional: give "
                            "--class K (0..%d)\n",
                    cmd, c->ckpt, k - 1);
        else
            fprintf(stderr, "pixelcnn %s: --class %d: the model has classes "
                            "0..%d\n",
                    cmd, c->cls, k - 1);
        return model_file ? 1 : 2;
    }
    return 0;
}

/* Loads the file as a chain (a model checkpoint: a chain of one, with its
 * EMA or raw weights) and a context, and checks the flags against it;
 * *kind says which file it was. 0, or 1/2 with a message. */
static int open_chain(const char *cmd, const common *c, pcnn_ctx **ctx,
                      pcnn_chain **ch, pcnn_file_kind *kind)
{
    int rc = cli_file_kind(cmd, c->ckpt, c->weights, kind);
    if (rc)
        return rc;
    const int model_file = *kind == PCNN_FILE_CHECKPOINT;
    int has_trainer = 0, ema = 0;
    pcnn_status s = PCNN_OK;
    if (model_file) {
        s = pcnn_checkpoint_read_state(c->ckpt, NULL, NULL, NULL,
                                       &has_trainer);
        if (s == PCNN_OK &&
            (ema = cli_use_ema(cmd, c->weights, c->ckpt, has_trainer)) < 0)
            return 2;
    }
    if (s == PCNN_OK)
        s = pcnn_chain_load(c->ckpt, ema, ch);
    if (s == PCNN_OK) {
        pcnn_ctx_opts co = {PCNN_BACKEND_CPU, c->threads};
        s = pcnn_ctx_create(ctx, &co);
    }
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    const int S = pcnn_chain_stages(*ch);
    const pcnn_model_config *cfg[PCNN_MAX_STAGES];
    int tightens = 0;
    for (int i = 0; i < S; i++) {
        cfg[i] = pcnn_model_get_config(pcnn_chain_stage(*ch, i));
        tightens |= pcnn_chain_stage_tightens(*ch, i);
    }
    if (c->consistent && model_file)
        return cli_not_applicable(cmd, "--consistent",
                                  "it applies to pyramid chains (pixelcnn "
                                  "chain), not to one model");
    if (c->consistent && !tightens)
        return cli_not_applicable(cmd, "--consistent",
                                  "no stage of the chain is a pyramid stage "
                                  "that halves to the one below");
    if ((rc = check_model_flags(cmd, c, cfg, S)))
        return rc;
    if (cfg[0]->cond_channels > 0) {
        fprintf(stderr,
                "pixelcnn %s: %s: the model needs a condition map (%d "
                "channels), which this command cannot supply\n",
                cmd, c->ckpt, cfg[0]->cond_channels);
        return 1;
    }
    return check_class(cmd, c, *ch, model_file);
}

static void init_common(common *c, const char *out, int n)
{
    memset(c, 0, sizeof *c);
    c->out = out;
    c->n = n;
    c->cls = -1;
    c->seed = 1;
    c->temperature = 1;
}

static pcnn_model_sample_opts opts_of(const common *c, const int32_t *labels,
                                      const char *cmd)
{
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = (uint64_t)c->seed;
    o.log_scale_offset = (float)c->offset;
    o.temperature = (float)c->temperature;
    o.labels = labels;
    o.naive = c->naive;
    o.consistent = c->consistent;
    if (isatty(2))
        o.progress = (pcnn_progress){progress, (void *)cmd};
    return o;
}

static int default_scale(const common *c, const pcnn_model_config *cfg)
{
    return c->scale ? c->scale : cfg->height < 64 ? 2 : 1;
}

/* Stage image img (c, h, w; `levels` values) drawn into dst (C, H, W):
 * values stretched to 0..255, gray repeated, pixels repeated. */
static void display(uint8_t *dst, int C, int H, int W, const uint8_t *img,
                    int c, int h, int w, int levels)
{
    for (int ch = 0; ch < C; ch++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                int v = img[((c == 1 ? 0 : ch) * h + i * h / H) * w +
                            j * w / W];
                dst[(ch * H + i) * W + j] = (uint8_t)(v * 255 / (levels - 1));
            }
}

/* Writes the samples: out[S-1] (n images of C x H x W) as .npy, or the
 * grid of every stage's images side by side (one stage: the images). */
static int write_samples(const common *c, const pcnn_chain *ch, uint8_t **out,
                         int64_t n, int cols)
{
    const int S = pcnn_chain_stages(ch);
    const pcnn_model_config *last =
        pcnn_model_get_config(pcnn_chain_stage(ch, S - 1));
    const int C = last->channels, H = last->height, W = last->width;
    int rc = 0;
    if (ends_with(c->out, ".npy")) {
        rc = cli_write_npy(c->out, out[S - 1], n, C, H, W);
    } else {
        uint8_t *grid = malloc((size_t)(n * S * C * H * W));
        if (!grid) {
            fprintf(stderr, "pixelcnn sample: out of memory\n");
            return 1;
        }
        for (int64_t k = 0; k < n; k++)
            for (int i = 0; i < S; i++) {
                const pcnn_model_config *q =
                    pcnn_model_get_config(pcnn_chain_stage(ch, i));
                const int64_t item = q->channels * q->height * q->width;
                display(grid + (k * S + i) * C * H * W, C, H, W,
                        out[i] + k * item, q->channels, q->height, q->width,
                        q->levels);
            }
        rc = cli_write_grid(c->out, grid, n * S, C, H, W, cols,
                            default_scale(c, last));
        free(grid);
    }
    if (!rc && c->npy)
        rc = cli_write_npy(c->npy, out[S - 1], n, C, H, W);
    return rc;
}

int cmd_sample(int argc, char **argv)
{
    const char *cmd = "sample";
    common c;
    init_common(&c, "samples.png", 16);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(sample_usage, stdout);
            return 0;
        }
        int r = common_flag(cmd, &c, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r == 0)
            return cli_bad_flag(cmd, argv[i]);
    }
    if (!c.ckpt) {
        fprintf(stderr, "pixelcnn sample: --checkpoint FILE is required\n");
        return 2;
    }
    int rc = check_outputs(cmd, &c);
    if (rc)
        return rc;
    pcnn_ctx *ctx = NULL;
    pcnn_chain *ch = NULL;
    pcnn_file_kind kind;
    rc = open_chain(cmd, &c, &ctx, &ch, &kind);
    const int S = rc ? 0 : pcnn_chain_stages(ch);
    const pcnn_model_config *last =
        rc ? NULL : pcnn_model_get_config(pcnn_chain_stage(ch, S - 1));
    const int64_t n = c.n;
    int per_row = 0;
    while ((int64_t)per_row * per_row < n)
        per_row++;
    const int cols = c.cols ? c.cols : S * per_row;
    if (!rc && !ends_with(c.out, ".npy"))
        rc = cli_check_grid(cmd, c.out, n * S, last->height, last->width,
                            cols, default_scale(&c, last));
    uint8_t *out[PCNN_MAX_STAGES] = {0};
    int32_t *labels = rc ? NULL : calloc((size_t)n, sizeof *labels);
    rc = rc ? rc : !labels;
    for (int i = 0; !rc && i < S; i++) {
        const pcnn_model_config *k =
            pcnn_model_get_config(pcnn_chain_stage(ch, i));
        out[i] = malloc((size_t)(n * k->channels * k->height * k->width));
        rc = !out[i];
    }
    for (int64_t k = 0; !rc && k < n; k++)
        labels[k] = c.cls;
    pcnn_model_sample_opts o = opts_of(&c, c.cls >= 0 ? labels : NULL, cmd);
    double t0 = cli_now();
    if (!rc && pcnn_chain_sample(ctx, ch, n, &o, out) != PCNN_OK) {
        fprintf(stderr, "pixelcnn sample: %s\n", pcnn_last_error());
        rc = 1;
    }
    /* a model checkpoint: its images; a chain file: through its stages */
    if (!rc && kind == PCNN_FILE_CHECKPOINT)
        printf("sampled %lld images of %dx%dx%d in %.2f s (%s sampler, "
               "%d threads)\n",
               (long long)n, last->channels, last->height, last->width,
               cli_now() - t0, c.naive ? "naive" : "cached",
               pcnn_ctx_threads(ctx));
    else if (!rc)
        printf("sampled %lld images of %dx%dx%d through %d stages in %.2f s "
               "(%s sampler, %d threads)\n",
               (long long)n, last->channels, last->height, last->width, S,
               cli_now() - t0, c.naive ? "naive" : "cached",
               pcnn_ctx_threads(ctx));
    if (!rc)
        rc = write_samples(&c, ch, out, n, cols);
    if (!rc && kind == PCNN_FILE_CHECKPOINT)
        printf("wrote %s%s%s\n", c.out, c.npy ? " and " : "",
               c.npy ? c.npy : "");
    else if (!rc)
        printf("wrote %s (each image: its stages, left to right)\n", c.out);
    for (int i = 0; i < S; i++)
        free(out[i]);
    free(labels);
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    return rc;
}

/* The known-pixel mask (h*w) of SPEC; 0, or 2 with a message. */
static int parse_known(const char *spec, int h, int w, uint8_t *known)
{
    int x0, y0, x1, y1;
    char tail;
    memset(known, 0, (size_t)h * (size_t)w);
    if (!strcmp(spec, "top") || !strcmp(spec, "bottom") ||
        !strcmp(spec, "left") || !strcmp(spec, "right")) {
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                known[i * w + j] = spec[0] == 't'   ? i < h / 2
                                   : spec[0] == 'b' ? i >= h / 2
                                   : spec[0] == 'l' ? j < w / 2
                                                    : j >= w / 2;
        return 0;
    }
    int box = !strncmp(spec, "box:", 4), outside = !strncmp(spec, "outside:",
                                                            8);
    if (box || outside) {
        const char *nums = spec + (box ? 4 : 8);
        if (sscanf(nums, "%d,%d,%d,%d%c", &x0, &y0, &x1, &y1, &tail) != 4 ||
            x0 < 0 || y0 < 0 || x1 > w || y1 > h || x0 >= x1 || y0 >= y1) {
            fprintf(stderr,
                    "pixelcnn complete: --known %s: want X0,Y0,X1,Y1 with "
                    "0 <= X0 < X1 <= %d and 0 <= Y0 < Y1 <= %d\n",
                    spec, w, h);
            return 2;
        }
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                int in = i >= y0 && i < y1 && j >= x0 && j < x1;
                known[i * w + j] = (uint8_t)(box ? in : !in);
            }
        return 0;
    }
    if (ends_with(spec, ".png") || ends_with(spec, ".PNG") ||
        ends_with(spec, ".pgm") || ends_with(spec, ".bmp")) {
        pcnn_dataset mask = {0};
        if (pcnn_dataset_load_image(spec, 1, h, &mask) != PCNN_OK) {
            fprintf(stderr, "pixelcnn complete: --known: %s\n",
                    pcnn_last_error());
            return 2;
        }
        if (h != w) {
            pcnn_dataset_free(&mask);
            fprintf(stderr, "pixelcnn complete: --known %s: a mask image "
                            "needs a square model\n",
                    spec);
            return 2;
        }
        for (int k = 0; k < h * w; k++)
            known[k] = mask.images[k] >= 128;
        pcnn_dataset_free(&mask);
        return 0;
    }
    fprintf(stderr,
            "pixelcnn complete: --known %s: top, bottom, left, right, "
            "box:X0,Y0,X1,Y1, outside:X0,Y0,X1,Y1 or a .png mask\n",
            spec);
    return 2;
}

int cmd_complete(int argc, char **argv)
{
    const char *cmd = "complete", *spec = "top";
    inputs in = {NULL, NULL, "test", 0, 4, NULL};
    common c;
    init_common(&c, "completions.png", 6);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(complete_usage, stdout);
            return 0;
        }
        int r = common_flag(cmd, &c, argc, argv, &i);
        if (r == 0)
            r = input_flag(cmd, &in, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r == 1)
            continue;
        if (!strcmp(f, "--known")) {
            if (!(spec = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else {
            return cli_bad_flag(cmd, f);
        }
    }
    if (!c.ckpt || (!in.image) == (!in.data)) {
        fprintf(stderr, "pixelcnn complete: --checkpoint FILE and one of "
                        "--image FILE or --data KIND:PATH are required\n");
        return 2;
    }
    if (c.cols)
        return cli_not_applicable(cmd, "--cols",
                                  "the grid has a row per image: the input, "
                                  "-n completions, the original");
    int early = check_inputs(cmd, &in);
    if (!early)
        early = check_outputs(cmd, &c);
    if (early)
        return early;
    pcnn_ctx *ctx = NULL;
    pcnn_chain *ch = NULL;
    pcnn_file_kind kind;
    pcnn_dataset d = {0};
    uint8_t *x = NULL, *known = NULL, *grid = NULL;
    int32_t *labels = NULL;
    int rc = open_chain(cmd, &c, &ctx, &ch, &kind);
    /* the images of the chain's last stage (pcnn_chain_complete refuses
     * a chain it cannot complete) */
    const pcnn_model_config *cfg =
        rc ? NULL
           : pcnn_model_get_config(
                 pcnn_chain_stage(ch, pcnn_chain_stages(ch) - 1));
    int64_t K = 0, N = c.n, img = 0, HW = 0, lateknown = 0;
    if (!rc)
        rc = load_inputs(cmd, &in, cfg->channels, cfg->height, cfg->width,
                         &d, &K);
    const int index = in.index;
    if (!rc) {
        img = d.c * d.h * d.w;
        HW = d.h * d.w;
        x = malloc((size_t)(K * N * img));
        known = malloc((size_t)(K * N * HW));
        labels = calloc((size_t)(K * N), sizeof *labels);
        grid = malloc((size_t)(K * (N + 2) * img));
        if (!x || !known || !labels || !grid) {
            fprintf(stderr, "pixelcnn complete: out of memory\n");
            rc = 1;
        }
    }
    if (!rc)
        rc = parse_known(spec, (int)d.h, (int)d.w, known);
    if (!rc && !ends_with(c.out, ".npy"))
        rc = cli_check_grid(cmd, c.out, K * (N + 2), (int)d.h, (int)d.w,
                            (int)N + 2, default_scale(&c, cfg));
    if (!rc) {
        int64_t first_unknown = -1;
        for (int64_t k = 0; k < HW; k++) {
            if (!known[k] && first_unknown < 0)
                first_unknown = k;
            if (known[k] && first_unknown >= 0)
                lateknown++;
        }
        if (first_unknown < 0) {
            fprintf(stderr, "pixelcnn complete: --known %s: every pixel is "
                            "known\n",
                    spec);
            rc = 2;
        }
    }
    if (!rc) {
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < N; j++) {
                memcpy(x + (k * N + j) * img, d.images + (index + k) * img,
                       (size_t)img);
                if (k * N + j > 0)
                    memcpy(known + (k * N + j) * HW, known, (size_t)HW);
                labels[k * N + j] =
                    c.cls >= 0 ? c.cls
                    : d.labels && d.labels[index + k] < cfg->num_classes
                        ? d.labels[index + k]
                        : 0;
            }
        if (lateknown)
            printf("note: %lld known pixels come after the first unknown "
                   "one in raster order: they are kept, but the drawn "
                   "pixels do not depend on them\n",
                   (long long)lateknown);
        pcnn_model_sample_opts o =
            opts_of(&c, cfg->num_classes ? labels : NULL, cmd);
        double t0 = cli_now();
        if (pcnn_chain_complete(ctx, ch,
                                pcnn_img(x, K * N, cfg->channels, cfg->height,
                                         cfg->width),
                                known, &o) != PCNN_OK) {
            fprintf(stderr, "pixelcnn complete: %s\n", pcnn_last_error());
            rc = 1;
        } else {
            printf("completed %lld images x %lld in %.2f s (%s sampler)\n",
                   (long long)K, (long long)N, cli_now() - t0,
                   c.naive ? "naive" : "cached");
        }
    }
    if (!rc && ends_with(c.out, ".npy")) {
        rc = cli_write_npy(c.out, x, K * N, (int)d.c, (int)d.h, (int)d.w);
    } else if (!rc) {
        /* rows: masked input, N completions, original */
        for (int64_t k = 0; k < K; k++) {
            uint8_t *row = grid + k * (N + 2) * img;
            const uint8_t *orig = d.images + (index + k) * img;
            for (int64_t q = 0; q < d.c; q++)
                for (int64_t p = 0; p < HW; p++)
                    row[q * HW + p] = known[p] ? orig[q * HW + p] : 128;
            memcpy(row + img, x + k * N * img, (size_t)(N * img));
            memcpy(row + (N + 1) * img, orig, (size_t)img);
        }
        rc = cli_write_grid(c.out, grid, K * (N + 2), (int)d.c, (int)d.h,
                            (int)d.w, (int)N + 2, default_scale(&c, cfg));
    }
    if (!rc && c.npy)
        rc = cli_write_npy(c.npy, x, K * N, (int)d.c, (int)d.h, (int)d.w);
    if (!rc)
        printf("wrote %s\n", c.out);
    free(x), free(known), free(labels), free(grid);
    pcnn_dataset_free(&d);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    return rc;
}

static const char upscale_usage[] =
    "usage: pixelcnn upscale --checkpoint CHAIN (--image F | --data D)\n"
    "                        [--from K] [-n N] [-o OUT.png] [flags]\n"
    "\n"
    "Samples the stages K.. of a chain given each input image's view at\n"
    "stage K-1: super-resolution with a pyramid chain (the view is the\n"
    "small image), colors with the gray chain (the view is its 4-bit\n"
    "gray). The grid has one row per image: the given view, N samples,\n"
    "then the original.\n"
    "\n"
    "  --checkpoint CHAIN  a chain file (pixelcnn chain)\n"
    "  --from K            the first stage to sample (default: the last)\n"
    "  --image FILE        a PNG/JPEG, center-cropped and resized to the\n"
    "                      chain's final size; its view is taken from that\n"
    "  --data KIND:PATH    or images of a data set; --split, --index I,\n"
    "                      --count K (default 4) as in pixelcnn complete\n"
    "  -n N                samples per image (default 6)\n"
    "  -o FILE             PNG grid (default upscaled.png), or .npy of the\n"
    "                      final images\n"
    "  --npy FILE          also write the final images as a .npy array\n"
    "  --seed S, --log-scale-offset X, --temperature T, --class K,\n"
    "  --naive, --consistent, --scale N, --threads N: as in pixelcnn\n"
    "  sample (--consistent: the samples halve exactly to the input)\n";

int cmd_upscale(int argc, char **argv)
{
    const char *cmd = "upscale";
    inputs in = {NULL, NULL, "test", 0, 4, NULL};
    int from = -1;
    common c;
    init_common(&c, "upscaled.png", 6);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(upscale_usage, stdout);
            return 0;
        }
        int r = common_flag(cmd, &c, argc, argv, &i);
        if (r == 0)
            r = input_flag(cmd, &in, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r == 1)
            continue;
        if (!strcmp(f, "--from")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, PCNN_MAX_STAGES - 1,
                            &from))
                return 2;
        } else {
            return cli_bad_flag(cmd, f);
        }
    }
    if (!c.ckpt || (!in.image) == (!in.data)) {
        fprintf(stderr, "pixelcnn upscale: --checkpoint CHAIN and one of "
                        "--image FILE or --data KIND:PATH are required\n");
        return 2;
    }
    if (c.cols)
        return cli_not_applicable(cmd, "--cols",
                                  "the grid has a row per image: the given "
                                  "view, -n samples, the original");
    if (c.weights)
        return cli_not_applicable(cmd, "--weights",
                                  "a chain file holds one set of weights "
                                  "(chosen by pixelcnn chain --weights)");
    int early = check_inputs(cmd, &in);
    if (!early)
        early = check_outputs(cmd, &c);
    if (early)
        return early;
    pcnn_file_kind kind;
    int krc = cli_file_kind(cmd, c.ckpt, c.weights, &kind);
    if (krc)
        return krc;
    pcnn_chain *ch = NULL;
    if (pcnn_chain_load(c.ckpt, 0, &ch) != PCNN_OK) {
        fprintf(stderr, "pixelcnn upscale: %s\n", pcnn_last_error());
        return 1;
    }
    const int S = pcnn_chain_stages(ch);
    if (from < 0)
        from = S - 1;
    if (from < 1 || from >= S) {
        fprintf(stderr,
                "pixelcnn upscale: --from %d: %s has stages 0..%d and the "
                "first has nothing to start from\n",
                from, c.ckpt, S - 1);
        pcnn_chain_free(ch);
        return S < 2 ? 1 : 2;
    }
    const pcnn_model_config *last =
        pcnn_model_get_config(pcnn_chain_stage(ch, S - 1));
    const pcnn_model_config *given =
        pcnn_model_get_config(pcnn_chain_stage(ch, from - 1));
    const int C = last->channels, H = last->height, W = last->width;
    const pcnn_model_config *cfg[PCNN_MAX_STAGES];
    int tightens = 0;
    for (int i = from; i < S; i++) {
        cfg[i - from] = pcnn_model_get_config(pcnn_chain_stage(ch, i));
        tightens |= pcnn_chain_stage_tightens(ch, i);
    }
    int rc = check_model_flags(cmd, &c, cfg, S - from);
    if (!rc && c.consistent && !tightens)
        rc = cli_not_applicable(cmd, "--consistent",
                                "no stage it samples is a pyramid stage "
                                "that halves to the one below");
    if (rc) {
        pcnn_chain_free(ch);
        return rc;
    }
    pcnn_dataset d = {0};
    int64_t K = 0;
    rc = load_inputs(cmd, &in, C, H, W, &d, &K);
    const int index = in.index;
    const int64_t N = c.n, item = (int64_t)C * H * W;
    const int64_t gitem =
        (int64_t)given->channels * given->height * given->width;
    uint8_t *out[PCNN_MAX_STAGES] = {0};
    uint8_t *grid = NULL, *view1 = NULL;
    int32_t *labels = NULL;
    const int scale = c.scale ? c.scale : H < 64 ? 2 : 1;
    if (!rc && !ends_with(c.out, ".npy"))
        rc = cli_check_grid(cmd, c.out, K * (N + 2), H, W, (int)N + 2, scale);
    for (int i = from - 1; !rc && i < S; i++) {
        const pcnn_model_config *q =
            pcnn_model_get_config(pcnn_chain_stage(ch, i));
        out[i] = malloc((size_t)(K * N * q->channels * q->height * q->width));
        rc = !out[i];
    }
    if (!rc) {
        grid = malloc((size_t)(K * (N + 2) * item));
        view1 = malloc((size_t)(K * gitem));
        labels = calloc((size_t)(K * N), sizeof *labels);
        rc = !grid || !view1 || !labels;
        if (rc)
            fprintf(stderr, "pixelcnn upscale: out of memory\n");
    }
    if (!rc && pcnn_view_apply(&given->view,
                               pcnn_img(d.images + index * item, K, C, H, W),
                               view1) != PCNN_OK) {
        fprintf(stderr, "pixelcnn upscale: %s\n", pcnn_last_error());
        rc = 1;
    }
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, c.threads};
    pcnn_ctx *ctx = NULL;
    if (!rc) {
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < N; j++) {
                memcpy(out[from - 1] + (k * N + j) * gitem, view1 + k * gitem,
                       (size_t)gitem);
                labels[k * N + j] = c.cls >= 0 ? c.cls : 0;
            }
        pcnn_model_sample_opts o =
            opts_of(&c, c.cls >= 0 ? labels : NULL, cmd);
        double t0 = cli_now();
        if (pcnn_ctx_create(&ctx, &co) != PCNN_OK ||
            pcnn_chain_sample_from(ctx, ch, K * N, from, &o, out) !=
                PCNN_OK) {
            fprintf(stderr, "pixelcnn upscale: %s\n", pcnn_last_error());
            rc = 1;
        } else {
            printf("sampled stages %d..%d for %lld images x %lld in %.2f s "
                   "(%s sampler)\n",
                   from, S - 1, (long long)K, (long long)N, cli_now() - t0,
                   c.naive ? "naive" : "cached");
        }
    }
    if (!rc && ends_with(c.out, ".npy")) {
        rc = cli_write_npy(c.out, out[S - 1], K * N, C, H, W);
    } else if (!rc) {
        for (int64_t k = 0; k < K; k++) {
            uint8_t *row = grid + k * (N + 2) * item;
            display(row, C, H, W, view1 + k * gitem, given->channels,
                    given->height, given->width, given->levels);
            memcpy(row + item, out[S - 1] + k * N * item, (size_t)(N * item));
            memcpy(row + (N + 1) * item, d.images + (index + k) * item,
                   (size_t)item);
        }
        rc = cli_write_grid(c.out, grid, K * (N + 2), C, H, W, (int)N + 2,
                            scale);
    }
    if (!rc && c.npy)
        rc = cli_write_npy(c.npy, out[S - 1], K * N, C, H, W);
    if (!rc)
        printf("wrote %s\n", c.out);
    for (int i = 0; i < S; i++)
        free(out[i]);
    free(grid), free(view1), free(labels);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    return rc;
}
