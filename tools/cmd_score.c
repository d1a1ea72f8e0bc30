/*
 * cmd_score.c -- `pixelcnn score`: each image's bits/dim with every chain
 * term (CSV or JSON lines), a heat map of the bits per pixel, and with
 * --pseudo-counts the pseudo-counts of a stream of images.
 */
#include "sampling.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_MAX_FILES 4096

static const char score_usage[] =
    "usage: pixelcnn score --checkpoint FILE (--data KIND:PATH [--limit N]\n"
    "                      | IMAGE ...) [--format csv|jsonl] [-o FILE]\n"
    "                      [--heatmap OUT.png] [flags]\n"
    "       pixelcnn score --checkpoint MODEL --pseudo-counts\n"
    "                      (--data KIND:PATH --stream SPEC | IMAGE ...)\n"
    "\n"
    "Writes one line per image: its bits/dim (the chain's bound and the\n"
    "tightened one) and each stage's term, per dim of the image and per dim\n"
    "of the stage (docs/score.md). --heatmap draws, for the first images,\n"
    "the stage's view next to the bits of each of its pixels (channels\n"
    "summed), black (0) to yellow (the 99th percentile of the drawn maps\n"
    "and above). Image files are center-cropped and resized to the\n"
    "model's size.\n"
    "\n"
    "--pseudo-counts: for each image of the stream in order, -log2 p(x)\n"
    "before and after one training step on it (a copy of the model; the\n"
    "file is never written), and its pseudo-count N = p (1 - p') / (p' - p)\n"
    "(inf when the step did not raise p).\n";

typedef struct {
    const char *ckpt, *data, *split, *weights, *format, *out, *heatmap;
    const char *map, *stream, *optimizer;
    const char *files[SCORE_MAX_FILES];
    int64_t *order; /* --stream: each step's index in --data */
    int nfiles, limit, batch, size, threads, count, scale, stage, counts;
    double lr;
} score_args;

/* The checks of score's flags alone: 0, or 2 after a message. */
static int score_check(cli_cmd *p, const score_args *a)
{
    if (a->nfiles && a->data) {
        fprintf(stderr, "pixelcnn score: give image files or --data, not "
                        "both\n");
        return 2;
    }
    if (a->counts && a->data && !a->stream) {
        fprintf(stderr, "pixelcnn score: --pseudo-counts with --data needs "
                        "--stream SPEC (the images in order)\n");
        return 2;
    }
    return cli_check(p);
}

/* score's flags into a (the defaults before) and their checks: 0, -1
 * (--help) or 2 after a message. */
static int score_parse(int argc, char **argv, score_args *a)
{
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &a->ckpt, "FILE",
                     "a checkpoint (pixelcnn train) or a chain file",
                     .required = 1),
        CLI_ARGS_F("images", a->files, &a->nfiles, SCORE_MAX_FILES,
                   "IMAGE ...", "image files (PNG, JPEG, ...) to score"),
        CLI_STRING_F("--data", &a->data, "KIND:PATH",
                     "or a data set (see pixelcnn eval; default: "
                     "Fashion-MNIST)"),
        CLI_CHOICE_F("--split", &a->split, "train test", "S",
                     "train or test", .show_default = 1, .needs = "--data",
                     .why = "it picks a split of --data"),
        CLI_INT_F("--limit", &a->limit, 1, 2000000000, "N",
                  "the first N images of --data only", .needs = "--data",
                  .conflicts = "--stream",
                  .why = "it limits --data, and --stream picks its images"),
        CLI_INT_F("--size", &a->size, 4, 1024, "N",
                  "image side for folder data (default: the model's)",
                  .applies = cli_is_folder_data, .ctx = &a->data,
                  .why = "it sets the image side of folder data (--data "
                         "folder:DIR)"),
        CLI_CHOICE_F("--format", &a->format, "csv jsonl", "F",
                     "csv (a header line) or jsonl (one JSON object a line)",
                     .show_default = 1),
        CLI_STRING_F("-o", &a->out, "FILE", "write there (default: stdout)"),
        CLI_STRING_F("--heatmap", &a->heatmap, "OUT.png",
                     "a PNG of the first images' views and bits per pixel",
                     .conflicts = "--pseudo-counts",
                     .why = "the pseudo-counts are per image"),
        CLI_INT_F("--stage", &a->stage, 0, PCNN_MAX_STAGES - 1, "K",
                  "the stage whose map is drawn (default: the last)",
                  .needs = "--heatmap", .why = "it picks --heatmap's stage"),
        CLI_CHOICE_F("--map", &a->map, "tight plain", "M",
                     "a tightened stage's map: tight (renormalized over the "
                     "values its condition allows) or plain",
                     .show_default = 1, .needs = "--heatmap",
                     .why = "it picks --heatmap's map"),
        CLI_INT_F("--count", &a->count, 1, 256, "N",
                  "images in the heat map", .show_default = 1,
                  .needs = "--heatmap", .why = "it sizes --heatmap"),
        CLI_INT_F("--scale", &a->scale, 1, 32, "N",
                  "each pixel as N x N in the heat map (default: 128 "
                  "pixels a side or more)",
                  .needs = "--heatmap", .why = "it sizes --heatmap"),
        CLI_BOOL_F("--pseudo-counts", &a->counts,
                   "pseudo-counts of the images in order (a plain model)"),
        CLI_STRING_F("--stream", &a->stream, "SPEC",
                     "the images of --data in stream order: comma-separated "
                     "I, I-J (I to J) or I*K (K times I)",
                     .needs = "--pseudo-counts",
                     .why = "it orders the pseudo-counts' stream"),
        CLI_DOUBLE_F("--lr", &a->lr, 1e-12, 0.5, "LR",
                     "the learning rate of each step", .show_default = 1,
                     .needs = "--pseudo-counts",
                     .why = "it sets the pseudo-counts' training steps"),
        CLI_CHOICE_F("--optimizer", &a->optimizer, "sgd adam", "O",
                     "each step: sgd (w -= lr * gradient of the image's "
                     "bits/dim) or adam (the trainer's, moments from zero)",
                     .show_default = 1, .needs = "--pseudo-counts",
                     .why = "it sets the pseudo-counts' training steps"),
        CLI_CHOICE_F("--weights", &a->weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_INT_F("--batch", &a->batch, 1, 65536, "N", "batch size",
                  .show_default = 1),
        CLI_INT_F("--threads", &a->threads, 1, 4096, "N",
                  "threads (default: all cores)"),
    };
    cli_cmd p = CLI_CMD("score", score_usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    return rc ? rc : score_check(&p, a);
}

/* One item of a --stream spec at s: I, I-J or I*K, appended to idx
 * (room for max, *n so far); 0 or -1 when it is not one. */
static int stream_item(const char *s, char **end, int64_t n_data,
                       int64_t *idx, int64_t max, int64_t *n)
{
    long long i = strtoll(s, end, 10), j = i, k = 1;
    if (*end == s || i < 0)
        return -1;
    if (**end == '-' || **end == '*') {
        const char op = **end, *t = *end + 1;
        long long v = strtoll(t, end, 10);
        if (*end == t || v < (op == '-' ? i : 1))
            return -1;
        if (op == '-')
            j = v;
        else
            k = v;
    }
    if (j >= n_data || (j - i + 1) * k > max - *n)
        return -1;
    for (long long r = 0; r < k; r++)
        for (long long q = i; q <= j; q++)
            idx[(*n)++] = q;
    return 0;
}

/* d = the images of d named by the spec, in its order, their indices in
 * *order. 0, or 2 after a message. */
static int stream_of(const char *spec, pcnn_dataset *d, int64_t **order)
{
    enum { MAX = 1 << 20 };
    int64_t *idx = malloc(MAX * sizeof *idx), n = 0;
    const char *s = spec;
    char *end = NULL;
    int bad = !idx;
    while (!bad && *s) {
        bad = stream_item(s, &end, d->n, idx, MAX, &n) != 0 ||
              (*end && *end != ',');
        s = *end ? end + 1 : end;
    }
    const size_t item = (size_t)(d->c * d->h * d->w);
    uint8_t *img = bad || !n ? NULL : malloc((size_t)n * item);
    int32_t *lab = !img || !d->labels ? NULL : malloc((size_t)n * 4);
    pcnn_dataset out = {0};
    if (bad || !n || !img || (d->labels && !lab) ||
        pcnn_dataset_gather(d, idx, n, img, lab) != PCNN_OK ||
        pcnn_dataset_from_memory(img, n, d->c, d->h, d->w, lab,
                                 d->num_classes, &out) != PCNN_OK) {
        fprintf(stderr, "pixelcnn score: --stream %s: expected I, I-J or "
                        "I*K separated by commas, images 0..%lld, at most "
                        "%d in all\n",
                spec, (long long)d->n - 1, MAX);
        free(idx), free(img), free(lab);
        return 2;
    }
    free(img), free(lab);
    pcnn_dataset_free(d);
    *d = out;
    *order = idx;
    return 0;
}

/* The images to score: the files, or --data (and --stream). */
static int score_inputs(score_args *a, const pcnn_chain *ch,
                        pcnn_dataset *d)
{
    int64_t c, h;
    pcnn_chain_image_shape(ch, &c, &h, NULL);
    if (!a->nfiles) {
        int rc = cli_load_data("score", a->data, a->split,
                               a->size ? a->size : (int)h, d);
        return rc || !a->stream ? rc : stream_of(a->stream, d, &a->order);
    }
    const size_t item = (size_t)(c ? c : 3) * (size_t)(h * h);
    uint8_t *img = malloc(item * (size_t)a->nfiles);
    for (int i = 0; img && i < a->nfiles; i++) {
        pcnn_dataset one = {0};
        if (pcnn_dataset_load_image(a->files[i], c ? (int)c : 3, (int)h,
                                    &one) != PCNN_OK) {
            fprintf(stderr, "pixelcnn score: %s\n", pcnn_last_error());
            free(img);
            return 1;
        }
        memcpy(img + item * (size_t)i, one.images, item);
        pcnn_dataset_free(&one);
    }
    if (!img || pcnn_dataset_from_memory(img, a->nfiles, c ? c : 3, h, h,
                                         NULL, 0, d) != PCNN_OK) {
        fprintf(stderr, "pixelcnn score: %s\n",
                img ? pcnn_last_error() : "out of memory");
        free(img);
        return 1;
    }
    free(img);
    return 0;
}

/* Image k's name: its file, or its index in --data. */
static void source_of(const score_args *a, int64_t k, char *buf, size_t n)
{
    if (a->nfiles)
        snprintf(buf, n, "%s", a->files[k]);
    else
        snprintf(buf, n, "%s#%lld", a->data,
                 (long long)(a->order ? a->order[k] : k));
}

/* s as a CSV field (quoted when it holds a comma, a quote or a line
 * break) or a JSON string. */
static void put_text(FILE *f, const char *s, int json)
{
    const int quote = json || strpbrk(s, ",\"\n\r") != NULL;
    if (quote)
        fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputs(json ? "\\\"" : "\"\"", f);
        else if (json && *s == '\\')
            fputs("\\\\", f);
        else if (json && (unsigned char)*s < 32)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    if (quote)
        fputc('"', f);
}

/* What pcnn_chain_score gave, for the output. */
typedef struct {
    int64_t n;
    int stages;
    double dims_x, dims[PCNN_MAX_STAGES];
    double *img, *tight_img, *bits, *tight;
    double *map[PCNN_MAX_STAGES], *tight_map[PCNN_MAX_STAGES];
} scored;

static void scored_free(scored *s)
{
    free(s->img), free(s->tight_img), free(s->bits), free(s->tight);
    for (int i = 0; i < PCNN_MAX_STAGES; i++)
        free(s->map[i]), free(s->tight_map[i]);
}

static void write_header(FILE *f, const scored *s)
{
    fputs("image,source,bits_per_dim,tight_bits_per_dim", f);
    for (int i = 0; i < s->stages; i++)
        fprintf(f, ",stage%d,stage%d_own,stage%d_tight,stage%d_tight_own", i,
                i, i, i);
    fputc('\n', f);
}

/* Image k's line: CSV or a JSON object. */
static void write_line(FILE *f, const score_args *a, const scored *s,
                       int64_t k, int json)
{
    char src[4200];
    source_of(a, k, src, sizeof src);
    if (json) {
        fprintf(f, "{\"image\": %lld, \"source\": ", (long long)k);
        put_text(f, src, 1);
        fprintf(f, ", \"bits_per_dim\": %.17g, \"tight_bits_per_dim\": %.17g, "
                   "\"stages\": [",
                s->img[k], s->tight_img[k]);
    } else {
        fprintf(f, "%lld,", (long long)k);
        put_text(f, src, 0);
        fprintf(f, ",%.17g,%.17g", s->img[k], s->tight_img[k]);
    }
    for (int i = 0; i < s->stages; i++) {
        const double b = s->bits[k * s->stages + i];
        const double t = s->tight[k * s->stages + i];
        const double own = s->dims_x / s->dims[i];
        if (json)
            fprintf(f, "%s{\"bits\": %.17g, \"own\": %.17g, \"tight\": %.17g, "
                       "\"tight_own\": %.17g}",
                    i ? ", " : "", b, b * own, t, t * own);
        else
            fprintf(f, ",%.17g,%.17g,%.17g,%.17g", b, b * own, t, t * own);
    }
    fputs(json ? "]}\n" : "\n", f);
}

/* The stream for -o (stdout when none); 1 after a message. */
static int open_out(const char *path, FILE **f)
{
    if (!path) {
        *f = stdout;
        return 0;
    }
    if ((*f = fopen(path, "w")) == NULL) {
        fprintf(stderr, "pixelcnn score: -o %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    return 0;
}

static int close_out(const char *path, FILE *f)
{
    int bad = ferror(f) != 0;
    if (f != stdout)
        bad |= fclose(f) != 0;
    else
        bad |= fflush(f) != 0;
    if (bad)
        fprintf(stderr, "pixelcnn score: %s: write failed\n",
                path ? path : "stdout");
    return bad;
}

static int write_scores(const score_args *a, const scored *s)
{
    FILE *f;
    if (open_out(a->out, &f))
        return 1;
    const int json = !strcmp(a->format, "jsonl");
    if (!json)
        write_header(f, s);
    for (int64_t k = 0; k < s->n; k++)
        write_line(f, a, s, k, json);
    return close_out(a->out, f);
}

/* The arrays of s for n images, and the maps of the heat map's stage for
 * its nm images. */
static int scored_alloc(scored *s, const pcnn_chain *ch, int64_t n,
                        int map_stage, int64_t nm)
{
    memset(s, 0, sizeof *s);
    s->n = n, s->stages = pcnn_chain_stages(ch);
    const size_t cells = (size_t)n * (size_t)s->stages;
    s->img = malloc((size_t)n * sizeof(double));
    s->tight_img = malloc((size_t)n * sizeof(double));
    s->bits = malloc(cells * sizeof(double));
    s->tight = malloc(cells * sizeof(double));
    int ok = s->img && s->tight_img && s->bits && s->tight;
    for (int i = 0; i < s->stages; i++) {
        const pcnn_model_config *c =
            pcnn_model_get_config(pcnn_chain_stage(ch, i));
        s->dims[i] = (double)c->channels * c->height * c->width;
        if (i != map_stage)
            continue;
        const size_t hw = (size_t)c->height * (size_t)c->width;
        s->map[i] = malloc((size_t)nm * hw * sizeof(double));
        s->tight_map[i] = malloc((size_t)nm * hw * sizeof(double));
        ok = ok && s->map[i] && s->tight_map[i];
    }
    return ok ? 0 : 1;
}

/* The image bounds from the tightened terms (score gives the plain ones
 * in image_bits). */
static void tight_totals(scored *s)
{
    for (int64_t k = 0; k < s->n; k++) {
        s->tight_img[k] = 0;
        for (int i = 0; i < s->stages; i++)
            s->tight_img[k] += s->tight[k * s->stages + i];
    }
}

/* The heat map of the first nm images: their maps (a second, short
 * pass: the maps of every image would take 16 bytes a pixel), drawn. */
static int score_maps(const score_args *a, pcnn_ctx *ctx, pcnn_chain *ch,
                      const pcnn_dataset *d, scored *s, int stage,
                      int64_t nm)
{
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = a->batch, eo.limit = nm;
    eo.progress = cli_progress("score");
    pcnn_chain_scores out = {NULL, NULL, {NULL}, {NULL}};
    out.map[stage] = s->map[stage];
    out.tight_map[stage] = s->tight_map[stage];
    if (pcnn_chain_score(ctx, ch, d, &eo, NULL, &out) != PCNN_OK) {
        fprintf(stderr, "pixelcnn score: %s\n", pcnn_last_error());
        return 1;
    }
    return score_heatmap(a->heatmap, ch, stage, d,
                         !strcmp(a->map, "plain") ? s->map[stage]
                                                  : s->tight_map[stage],
                         nm, a->scale);
}

static int run_score(const score_args *a, pcnn_ctx *ctx, pcnn_chain *ch,
                     const pcnn_dataset *d)
{
    const int stages = pcnn_chain_stages(ch);
    const int stage = a->stage >= 0 ? a->stage : stages - 1;
    if (stage >= stages) {
        fprintf(stderr, "pixelcnn score: --stage %d: the chain has %d "
                        "stage%s\n",
                stage, stages, stages > 1 ? "s" : "");
        return 2;
    }
    const int64_t n = a->limit > 0 && a->limit < d->n ? a->limit : d->n;
    const int64_t nm = a->count < n ? a->count : n;
    scored s;
    int rc = scored_alloc(&s, ch, n, a->heatmap ? stage : -1, nm);
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = a->batch, eo.limit = n, eo.image_bits = s.img;
    eo.progress = cli_progress("score");
    const pcnn_chain_scores out = {s.bits, s.tight, {NULL}, {NULL}};
    if (rc)
        fprintf(stderr, "pixelcnn score: out of memory\n");
    else if (pcnn_chain_score(ctx, ch, d, &eo, NULL, &out) != PCNN_OK) {
        fprintf(stderr, "pixelcnn score: %s\n", pcnn_last_error());
        rc = 1;
    }
    if (!rc) {
        s.dims_x = (double)(d->c * d->h * d->w);
        tight_totals(&s);
        rc = write_scores(a, &s);
    }
    if (!rc && a->heatmap)
        rc = score_maps(a, ctx, ch, d, &s, stage, nm);
    scored_free(&s);
    return rc;
}

/* --pseudo-counts: one line per image of the stream. */
static int run_counts(const score_args *a, pcnn_ctx *ctx, pcnn_chain *ch,
                      const pcnn_dataset *d)
{
    const size_t n = (size_t)d->n;
    double *lp = malloc(n * sizeof *lp), *la = malloc(n * sizeof *la);
    double *N = malloc(n * sizeof *N);
    pcnn_counts_opts o = pcnn_counts_opts_default();
    o.lr = (float)a->lr;
    o.adam = !strcmp(a->optimizer, "adam");
    int rc = 0;
    FILE *f = NULL;
    if (!lp || !la || !N ||
        pcnn_pseudo_counts(ctx, ch, d, &o, lp, la, N) != PCNN_OK) {
        fprintf(stderr, "pixelcnn score: %s\n",
                lp && la && N ? pcnn_last_error() : "out of memory");
        rc = 1;
    }
    const int json = !strcmp(a->format, "jsonl");
    if (!rc && !(rc = open_out(a->out, &f))) {
        if (!json)
            fputs("step,source,bits_before,bits_after,count\n", f);
        for (size_t k = 0; k < n; k++) {
            char src[4200], cnt[64];
            source_of(a, (int64_t)k, src, sizeof src);
            snprintf(cnt, sizeof cnt, "%.17g", N[k]);
            fprintf(f, json ? "{\"step\": %zu, \"source\": " : "%zu,", k);
            put_text(f, src, json);
            fprintf(f,
                    json ? ", \"bits_before\": %.17g, \"bits_after\": %.17g, "
                           "\"count\": %s}\n"
                         : ",%.17g,%.17g,%s\n",
                    -lp[k] / log(2.0), -la[k] / log(2.0),
                    isinf(N[k]) ? (json ? "null" : "inf") : cnt);
        }
        rc = close_out(a->out, f);
    }
    free(lp), free(la), free(N);
    return rc;
}

int cmd_score(int argc, char **argv)
{
    score_args a = {.data = NULL, .split = "test", .format = "csv",
                    .map = "tight", .optimizer = "sgd", .batch = 16,
                    .count = 8, .stage = -1, .lr = 1e-5};
    int rc = score_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!a.nfiles && !a.data)
        a.data = cli_default_data();
    if ((a.out && (rc = cli_check_output("score", "-o", a.out))) ||
        (a.heatmap && (rc = cli_check_output("score", "--heatmap",
                                             a.heatmap))))
        return rc;
    pcnn_file_kind kind;
    const char *weights;
    pcnn_chain *ch = NULL;
    if ((rc = cli_open_chain("score", a.ckpt, a.weights, &kind, &weights,
                             &ch)))
        return rc;
    pcnn_dataset d = {0};
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, a.threads};
    pcnn_ctx *ctx = NULL;
    rc = score_inputs(&a, ch, &d);
    if (!rc && pcnn_ctx_create(&ctx, &co) != PCNN_OK) {
        fprintf(stderr, "pixelcnn score: %s\n", pcnn_last_error());
        rc = 1;
    }
    if (!rc)
        rc = a.counts ? run_counts(&a, ctx, ch, &d)
                      : run_score(&a, ctx, ch, &d);
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&d);
    free(a.order);
    return rc;
}
