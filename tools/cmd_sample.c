/*
 * cmd_sample.c -- `pixelcnn sample` (images from a checkpoint or a chain)
 * and `pixelcnn complete` (the unknown part of given images), both
 * through the chain's sampler: the cached one unless --naive.
 */
#include "sampling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sample_usage[] =
    "usage: pixelcnn sample --checkpoint FILE [-n N] [-o OUT.png] [flags]\n"
    "\n"
    "Draws N images from the model with the cached sampler (every layer\n"
    "value computed once; docs/sampling.md) and writes them as a PNG grid.\n"
    "From a chain file (pixelcnn chain), each image is drawn stage by\n"
    "stage and the grid shows every stage's image side by side.\n";

static const char complete_usage[] =
    "usage: pixelcnn complete --checkpoint FILE (--image F | --data D)\n"
    "                         [--known SPEC] [-n N] [-o OUT.png] [flags]\n"
    "\n"
    "Keeps the known pixels of each image and samples the rest, N times.\n"
    "The grid has one row per image: the input with its unknown pixels\n"
    "grayed, N completions, then the original.\n";

static const char complete_epilog[] =
    "The model reads pixels in raster order: a pixel is drawn given the\n"
    "pixels above it and to its left. Known pixels that come after an\n"
    "unknown one (bottom, right, outside:...) are kept in the output but do\n"
    "not influence the drawn pixels; the command says how many there are.\n";

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
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    if ((rc = cli_ctx(cmd, c->threads, c->compute, ctx)))
        return rc;
    const int S = pcnn_chain_stages(*ch);
    const pcnn_model_config *cfg[PCNN_MAX_STAGES];
    int tightens = 0;
    for (int i = 0; i < S; i++) {
        cfg[i] = pcnn_model_get_config(pcnn_chain_stage(*ch, i));
        tightens |= pcnn_chain_stage_tightens(*ch, i);
    }
    if (c->consistent && model_file)
        return cli_not_applicable(cmd, "--consistent",
                                  "it applies to chains (pixelcnn chain), "
                                  "not to one model");
    if (c->consistent && !tightens)
        return cli_not_applicable(cmd, "--consistent",
                                  "no stage of the chain is tightened (a "
                                  "pyramid or gray stage)");
    if ((rc = sampling_check_flags(cmd, c, cfg, S)))
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
    if (cli_ends_with(c->out, ".npy")) {
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
                sampling_display(grid + (k * S + i) * C * H * W, C, H, W,
                                 out[i] + k * item, q->channels, q->height,
                                 q->width, q->levels);
            }
        rc = cli_write_grid(c->out, grid, n * S, C, H, W, cols,
                            sampling_scale(c, last));
        free(grid);
    }
    if (!rc && c->npy)
        rc = cli_write_npy(c->npy, out[S - 1], n, C, H, W);
    return rc;
}

/* `pixelcnn sample`'s flags into c (sampling_init's defaults before), and
 * the checks of the flags alone: 0, -1 (--help) or 2 after a message. */
static int sample_parse(int argc, char **argv, common *c)
{
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &c->ckpt, "FILE",
                     "a checkpoint written by pixelcnn train, or a chain "
                     "file (pixelcnn chain)",
                     .required = 1),
        CLI_INT_F("-n", &c->n, 1, 4096, "N", "images", .show_default = 1),
        CLI_STRING_F("-o", &c->out, "FILE",
                     "output: a PNG grid, or a .npy array of uint8 (N, C, "
                     "H, W) when FILE ends in .npy",
                     .show_default = 1),
        CLI_STRING_F("--npy", &c->npy, "FILE",
                     "also write the images as a .npy array"),
        CLI_INT_F("--cols", &c->cols, 1, 1024, "N",
                  "grid columns (default: about sqrt(N))",
                  .applies = cli_not_npy, .ctx = &c->out,
                  .why = "-o FILE.npy writes no grid"),
        SAMPLING_FLAGS(c),
        CLI_CHOICE_F("--weights", &c->weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_BOOL_F("--consistent", &c->consistent,
                   "chains: draw each tightened stage from its tightened "
                   "distribution, so its images halve exactly to (or have "
                   "the gray4 view of) the stage below (docs/chains.md)"),
    };
    cli_cmd p = CLI_CMD("sample", sample_usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc)
        rc = cli_check(&p);
    sampling_given(c, &p);
    return rc;
}

int cmd_sample(int argc, char **argv)
{
    const char *cmd = "sample";
    common c;
    sampling_init(&c, "samples.png", 16);
    int rc = sample_parse(argc, argv, &c);
    if (rc)
        return rc < 0 ? 0 : rc;
    rc = sampling_check_outputs(cmd, &c);
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
    if (!rc && !cli_ends_with(c.out, ".npy"))
        rc = cli_check_grid(cmd, c.out, n * S, last->height, last->width,
                            cols, sampling_scale(&c, last));
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
    pcnn_model_sample_opts o =
        sampling_opts(&c, c.cls >= 0 ? labels : NULL, cmd);
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
    if (cli_ends_with(spec, ".png") || cli_ends_with(spec, ".PNG") ||
        cli_ends_with(spec, ".pgm") || cli_ends_with(spec, ".bmp")) {
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

/* `pixelcnn complete`'s flags into c, in and *spec (the defaults before),
 * and the checks of the flags alone: 0, -1 (--help) or 2 after a
 * message. */
static int complete_parse(int argc, char **argv, common *c, inputs *in,
                          const char **spec)
{
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &c->ckpt, "FILE",
                     "a checkpoint written by pixelcnn train"),
        INPUT_FLAGS(in),
        CLI_STRING_F("--known", spec, "SPEC",
                     "which pixels are known (default top):\n"
                     "  top, left      the top or left half\n"
                     "  bottom, right  the bottom or right half\n"
                     "  box:X0,Y0,X1,Y1     inside the box [X0,X1)x[Y0,Y1)\n"
                     "  outside:X0,Y0,X1,Y1 all but that box\n"
                     "  FILE.png       a mask image of the model's size\n"
                     "                 (after crop and resize): values >= "
                     "128 are known"),
        CLI_INT_F("-n", &c->n, 1, 4096, "N", "completions per image",
                  .show_default = 1),
        CLI_STRING_F("-o", &c->out, "FILE",
                     "a PNG grid, or a .npy of the completions (K*N, C, H, "
                     "W)",
                     .show_default = 1),
        CLI_STRING_F("--npy", &c->npy, "FILE",
                     "also write the completions as a .npy array"),
        SAMPLING_FLAGS(c),
        CLI_CHOICE_F("--weights", &c->weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_INT_F("--cols", &c->cols, 1, 1024, "N", NULL,
                  .applies = cli_never,
                  .why = "the grid has a row per image: the input, -n "
                         "completions, the original"),
        CLI_BOOL_F("--consistent", &c->consistent,
                   "as in pixelcnn sample (chains with a tightened "
                   "stage only)"),
    };
    cli_cmd p = CLI_CMD("complete", complete_usage, complete_epilog, flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc && (!c->ckpt || (!in->image) == (!in->data))) {
        fprintf(stderr, "pixelcnn complete: --checkpoint FILE and one of "
                        "--image FILE or --data KIND:PATH are required\n");
        rc = 2;
    }
    if (!rc)
        rc = cli_check(&p);
    sampling_given(c, &p);
    return rc;
}

/* The images to complete: K inputs from in->index on, each N times, with
 * their known-pixel masks and labels (the first mask is --known's). */
typedef struct {
    pcnn_dataset d;
    int64_t K, N, img, HW; /* img: bytes of an image, HW: its pixels */
    uint8_t *x, *known;
    int32_t *labels;
} completion;

/* The known pixels that come after the first unknown one in raster order
 * into *late: 0, or 2 with a message when every pixel is known. */
static int late_known(const char *spec, const uint8_t *known, int64_t HW,
                      int64_t *late)
{
    int64_t first_unknown = -1;
    *late = 0;
    for (int64_t k = 0; k < HW; k++) {
        if (!known[k] && first_unknown < 0)
            first_unknown = k;
        if (known[k] && first_unknown >= 0)
            (*late)++;
    }
    if (first_unknown >= 0)
        return 0;
    fprintf(stderr, "pixelcnn complete: --known %s: every pixel is known\n",
            spec);
    return 2;
}

/* The buffers of b for its K x N images, and the mask of --known. 0, or
 * 1/2 with a message. */
static int completion_alloc(completion *b, const char *spec)
{
    const pcnn_dataset *d = &b->d;
    const int64_t KN = b->K * b->N;
    b->img = d->c * d->h * d->w, b->HW = d->h * d->w;
    b->x = malloc((size_t)(KN * b->img));
    b->known = malloc((size_t)(KN * b->HW));
    b->labels = calloc((size_t)KN, sizeof *b->labels);
    if (!b->x || !b->known || !b->labels) {
        fprintf(stderr, "pixelcnn complete: out of memory\n");
        return 1;
    }
    return parse_known(spec, (int)d->h, (int)d->w, b->known);
}

/* Each input N times, with the first mask and its label (--class K, else
 * the data set's when the model has that class, else 0). */
static void completion_fill(completion *b, int index, int cls,
                            int num_classes)
{
    const pcnn_dataset *d = &b->d;
    for (int64_t k = 0; k < b->K; k++)
        for (int64_t j = 0; j < b->N; j++) {
            const int64_t i = k * b->N + j;
            memcpy(b->x + i * b->img, d->images + (index + k) * b->img,
                   (size_t)b->img);
            if (i > 0)
                memcpy(b->known + i * b->HW, b->known, (size_t)b->HW);
            b->labels[i] = cls >= 0 ? cls
                           : d->labels && d->labels[index + k] < num_classes
                               ? d->labels[index + k]
                               : 0;
        }
}

/* The completions as -o (.npy, or a grid with a row per image: the input
 * with its unknown pixels gray, the completions, the original) and
 * --npy. 0, or 1 with a message. */
static int completion_write(const common *c, const completion *b, int index,
                            int scale)
{
    const pcnn_dataset *d = &b->d;
    const int64_t K = b->K, N = b->N, img = b->img, HW = b->HW;
    int rc = 0;
    if (cli_ends_with(c->out, ".npy")) {
        rc = cli_write_npy(c->out, b->x, K * N, (int)d->c, (int)d->h,
                           (int)d->w);
    } else {
        uint8_t *grid = malloc((size_t)(K * (N + 2) * img));
        if (!grid) {
            fprintf(stderr, "pixelcnn complete: out of memory\n");
            return 1;
        }
        for (int64_t k = 0; k < K; k++) {
            uint8_t *row = grid + k * (N + 2) * img;
            const uint8_t *orig = d->images + (index + k) * img;
            for (int64_t q = 0; q < d->c; q++)
                for (int64_t p = 0; p < HW; p++)
                    row[q * HW + p] = b->known[p] ? orig[q * HW + p] : 128;
            memcpy(row + img, b->x + k * N * img, (size_t)(N * img));
            memcpy(row + (N + 1) * img, orig, (size_t)img);
        }
        rc = cli_write_grid(c->out, grid, K * (N + 2), (int)d->c, (int)d->h,
                            (int)d->w, (int)N + 2, scale);
        free(grid);
    }
    if (!rc && c->npy)
        rc = cli_write_npy(c->npy, b->x, K * N, (int)d->c, (int)d->h,
                           (int)d->w);
    return rc;
}

int cmd_complete(int argc, char **argv)
{
    const char *cmd = "complete", *spec = "top";
    inputs in = {NULL, NULL, "test", 0, 4};
    common c;
    sampling_init(&c, "completions.png", 6);
    int rc = complete_parse(argc, argv, &c, &in, &spec);
    if (!rc)
        rc = sampling_check_outputs(cmd, &c);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_ctx *ctx = NULL;
    pcnn_chain *ch = NULL;
    pcnn_file_kind kind;
    completion b = {.N = c.n};
    int64_t late = 0;
    rc = open_chain(cmd, &c, &ctx, &ch, &kind);
    /* the images of the chain's last stage (pcnn_chain_complete refuses
     * a chain it cannot complete) */
    const pcnn_model_config *cfg =
        rc ? NULL
           : pcnn_model_get_config(
                 pcnn_chain_stage(ch, pcnn_chain_stages(ch) - 1));
    if (!rc)
        rc = sampling_load_inputs(cmd, &in, cfg->channels, cfg->height,
                                  cfg->width, &b.d, &b.K);
    if (!rc)
        rc = completion_alloc(&b, spec);
    if (!rc && !cli_ends_with(c.out, ".npy"))
        rc = cli_check_grid(cmd, c.out, b.K * (b.N + 2), (int)b.d.h,
                            (int)b.d.w, (int)b.N + 2,
                            sampling_scale(&c, cfg));
    if (!rc)
        rc = late_known(spec, b.known, b.HW, &late);
    if (!rc) {
        completion_fill(&b, in.index, c.cls, cfg->num_classes);
        if (late)
            printf("note: %lld known pixels come after the first unknown "
                   "one in raster order: they are kept, but the drawn "
                   "pixels do not depend on them\n",
                   (long long)late);
        pcnn_model_sample_opts o =
            sampling_opts(&c, cfg->num_classes ? b.labels : NULL, cmd);
        double t0 = cli_now();
        if (pcnn_chain_complete(ctx, ch,
                                pcnn_img(b.x, b.K * b.N, cfg->channels,
                                         cfg->height, cfg->width),
                                b.known, &o) != PCNN_OK) {
            fprintf(stderr, "pixelcnn complete: %s\n", pcnn_last_error());
            rc = 1;
        } else {
            printf("completed %lld images x %lld in %.2f s (%s sampler)\n",
                   (long long)b.K, (long long)b.N, cli_now() - t0,
                   c.naive ? "naive" : "cached");
        }
    }
    if (!rc)
        rc = completion_write(&c, &b, in.index, sampling_scale(&c, cfg));
    if (!rc)
        printf("wrote %s\n", c.out);
    free(b.x), free(b.known), free(b.labels);
    pcnn_dataset_free(&b.d);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    return rc;
}

