/*
 * test_jobs.c -- the library's one-call jobs on a chain: a stage's
 * configuration from its views, a stage checkpoint as a partial chain and
 * its figures against the stage evaluated on its own data set, per-image
 * bits, progress and cancellation (a cancelled training run saves and
 * resumes exactly), completion, the colorization scores against figures
 * computed by hand, and the error paths.
 */
#include "test.h"
#include "pixelcnn.h"
#include "train/trainer.h" /* pcnn_evaluate: a stage on its own data */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* n images c x s x s with smooth structure and a little noise. */
static uint8_t *images(int64_t n, int c, int s, uint64_t seed)
{
    uint8_t *x = xcalloc((size_t)(n * c * s * s), 1);
    for (int64_t i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int k = 0; k < s * s; k++)
                x[((i * c) + ch) * s * s + k] = (uint8_t)(
                    (50 * ch + 11 * (k / s) + 5 * (k % s) + 17 * i +
                     (int)(40 * pcnn_uniform(seed, (uint64_t)(i * 4096 +
                                                              ch * 1024 + k)))) %
                    256);
    return x;
}

/* A small architecture; the stage fields come from pcnn_stage_config. */
static pcnn_model_config small(void)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0;
    c.cond_nr_resnet = 1, c.cond_nr_filters = 0, c.cond_down = 0;
    return c;
}

/* Random weights, perturbed so the heads vary. */
static pcnn_status make_model(const pcnn_model_config *c, uint64_t seed,
                              pcnn_model **m)
{
    pcnn_status s = pcnn_model_create(m, c, seed);
    if (s != PCNN_OK)
        return s;
    size_t n;
    float *p = pcnn_model_params(*m, &n);
    for (size_t i = 0; i < n; i++)
        p[i] += (float)(0.3 * pcnn_uniform(seed + 100, i) - 0.15);
    return PCNN_OK;
}

TEST(jobs_stage_config_views)
{
    pcnn_model_config c = small();
    c.cond_nr_resnet = 2, c.cond_down = 1, c.cond_dilate = 1;
    const pcnn_view gray = {0, 1, 0}, half = {1, 0, 0}, half2 = {2, 0, 0};
    const pcnn_view id = {0, 0, 0};
    /* gray4(x): one channel, 16 levels, a categorical head; no condition,
     * so no conditioning network; the architecture kept */
    REQUIRE_OK(pcnn_stage_config(&c, &gray, NULL, 3, 32, 32));
    CHECK(c.channels == 1 && c.height == 32 && c.width == 32 &&
              c.head == PCNN_HEAD_CATEGORICAL && c.levels == 16 &&
              c.cond_channels == 0 && c.cond_nr_resnet == 0 &&
              c.cond_down == 0 && c.cond_dilate == 0 && c.nr_resnet == 1 &&
              c.nr_filters == 8 && c.view.gray4 == 1,
          "gray4: %dx%dx%d head %d levels %d cond %d/%d", c.channels,
          c.height, c.width, c.head, c.levels, c.cond_channels,
          c.cond_nr_resnet);
    /* half(x) given half(half(x)): the logistic mixture, 3 condition
     * channels at half the size (tiled), cond_nr_filters from nr_filters */
    c = small();
    REQUIRE_OK(pcnn_stage_config(&c, &half, &half2, 3, 32, 32));
    CHECK(c.channels == 3 && c.height == 16 && c.width == 16 &&
              c.head == PCNN_HEAD_DMOL && c.levels == 256 &&
              c.cond_channels == 3 && c.cond_nr_filters == 8 &&
              c.cond_nr_resnet == 1 && c.cond_view.halvings == 2,
          "pyramid: %dx%dx%d cond %d filters %d", c.channels, c.height,
          c.width, c.cond_channels, c.cond_nr_filters);
    /* x given gray4(x): 1 condition channel */
    c = small();
    REQUIRE_OK(pcnn_stage_config(&c, &id, &gray, 3, 8, 8));
    CHECK(c.channels == 3 && c.height == 8 && c.cond_channels == 1,
          "color given gray: %d channels, cond %d", c.channels,
          c.cond_channels);
    /* ab(half(x)) given L(x): 2 channels at 16x16; L at 32x32 read space
     * to depth, 4 channels */
    const pcnn_view ab = {1, 0, PCNN_LAB_AB}, L = {0, 0, PCNN_LAB_L};
    c = small();
    REQUIRE_OK(pcnn_stage_config(&c, &ab, &L, 3, 32, 32));
    CHECK(c.channels == 2 && c.height == 16 && c.width == 16 &&
              c.head == PCNN_HEAD_DMOL && c.cond_channels == 4 &&
              c.view.lab == PCNN_LAB_AB && c.cond_view.lab == PCNN_LAB_L,
          "colorizer: %dx%dx%d cond %d", c.channels, c.height, c.width,
          c.cond_channels);
    /* errors: NULL, a Lab view of gray images, sides that do not halve;
     * *cfg untouched on failure */
    const pcnn_model_config before = c;
    CHECK(pcnn_stage_config(NULL, &id, NULL, 3, 8, 8) == PCNN_ERR_ARG,
          "NULL cfg");
    CHECK(pcnn_stage_config(&c, NULL, NULL, 3, 8, 8) == PCNN_ERR_ARG,
          "NULL view");
    CHECK(pcnn_stage_config(&c, &ab, &L, 1, 32, 32) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "Lab"),
          "Lab of gray images: %s", pcnn_last_error());
    CHECK(pcnn_stage_config(&c, &half2, NULL, 3, 6, 8) == PCNN_ERR_ARG,
          "6 rows halved twice");
    CHECK(!memcmp(&c, &before, sizeof c), "cfg changed by a failure");
}

/* Saves model m (taken over) to a temporary checkpoint and loads it back
 * as a chain: the one loader. */
static pcnn_status reload(pcnn_model *m, char *path, pcnn_chain **ch)
{
    strcpy(path, "/tmp/pcnn_jobs_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return PCNN_ERR_IO;
    close(fd);
    pcnn_status s = pcnn_checkpoint_save(path, m, NULL);
    pcnn_model_free(m);
    return s == PCNN_OK ? pcnn_chain_load(path, 0, ch) : s;
}

/* A stage checkpoint (gray4(x) alone; x given half(x)) loads as a chain
 * of one that is not complete; evaluated on raw images X its term per dim
 * of the stage is the stage's bits/dim on its own data set, per dim of X
 * that times dims(stage)/dims(X), and the per-image bits average to the
 * total. */
TEST(jobs_partial_chain_eval_equals_stage_figures)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    const int64_t N = 7;
    uint8_t *px = images(N, 3, 8, 4);
    pcnn_dataset x;
    REQUIRE_OK(pcnn_dataset_from_memory(px, N, 3, 8, 8, NULL, 0, &x));
    free(px);
    const pcnn_view gray = {0, 1, 0}, half = {1, 0, 0}, id = {0, 0, 0};
    const pcnn_view *views[2] = {&gray, &id}, *conds[2] = {NULL, &half};
    for (int k = 0; k < 2; k++) {
        pcnn_model_config c = small();
        REQUIRE_OK(pcnn_stage_config(&c, views[k], conds[k], 3, 8, 8));
        pcnn_model *m;
        REQUIRE_OK(make_model(&c, 21 + (uint64_t)k, &m));
        pcnn_dataset sd;
        REQUIRE_OK(pcnn_stage_dataset(&x, views[k], conds[k], &sd));
        double mean, se;
        REQUIRE_OK(pcnn_evaluate(ctx, m, &sd, 3, 0, &mean, &se));
        char path[64];
        pcnn_chain *ch;
        REQUIRE_OK(reload(m, path, &ch));
        int64_t xc, xh, xw;
        pcnn_chain_image_shape(ch, &xc, &xh, &xw);
        /* gray4 alone does not fix X's channels; x | half(x) does */
        CHECK(pcnn_chain_stages(ch) == 1 && !pcnn_chain_is_complete(ch) &&
                  xh == 8 && xw == 8 && xc == (k ? 3 : 0),
              "stage %d: %lldx%lldx%lld, complete %d", k, (long long)xc,
              (long long)xh, (long long)xw, pcnn_chain_is_complete(ch));
        double bits[7];
        pcnn_eval_opts o = pcnn_eval_opts_default();
        o.batch = 3, o.image_bits = bits;
        pcnn_chain_eval r;
        REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &x, &o, &r));
        const double ratio = (double)r.dims[0] / (double)r.dims_x;
        CHECK(r.images == N && r.dims_x == 192 &&
                  r.dims[0] == (k ? 192 : 64),
              "stage %d: %lld images, dims %lld of %lld", k,
              (long long)r.images, (long long)r.dims[0],
              (long long)r.dims_x);
        CHECK(fabs(r.own[0] - mean) < 1e-9 * mean &&
                  fabs(r.stage[0] - mean * ratio) < 1e-9 * mean &&
                  fabs(r.total - r.stage[0]) < 1e-12 &&
                  fabs(r.total_se * (double)r.dims_x / (double)r.dims[0] -
                       se) < 1e-9,
              "stage %d: own %.9f stage %.9f, alone %.9f (x %.4f) se %g %g",
              k, r.own[0], r.stage[0], mean, ratio, r.total_se, se);
        double sum = 0;
        for (int i = 0; i < N; i++)
            sum += bits[i];
        CHECK(fabs(sum / N - r.total) < 1e-12 && bits[0] != bits[1],
              "stage %d: image bits mean %.12f, total %.12f", k, sum / N,
              r.total);
        /* x given half(x) is a pyramid stage: tightened, and lower */
        CHECK(r.tightened == k && pcnn_chain_stage_tightens(ch, 0) == k &&
                  (!k || r.tight_total < r.total),
              "stage %d: tightened %d, %g vs %g", k, r.tightened,
              r.tight_total, r.total);
        pcnn_chain_free(ch);
        pcnn_dataset_free(&sd);
        remove(path);
    }
    pcnn_dataset_free(&x);
    pcnn_ctx_free(ctx);
}

/* What a progress callback saw, and when it asks to stop. */
typedef struct {
    int calls, increasing, stop_at;
    int64_t last, total;
    double value;
    const char *job;
} seen;

static int watch(void *arg, const pcnn_progress_info *info)
{
    seen *w = arg;
    w->increasing &= info->done > w->last;
    w->last = info->done, w->total = info->total, w->value = info->value;
    w->job = info->job;
    w->calls++;
    return w->stop_at > 0 && info->done >= w->stop_at;
}

static int same_params(pcnn_model *a, pcnn_model *b)
{
    size_t na, nb;
    const float *pa = pcnn_model_params(a, &na);
    const float *pb = pcnn_model_params(b, &nb);
    return na == nb && !memcmp(pa, pb, na * sizeof *pa);
}

/* pcnn_trainer_run reports every step with increasing counts and the
 * step's bits/dim; a cancel at step 3 returns PCNN_ERR_CANCELLED after
 * that step, and the trainer saved there resumes to the same weights as
 * the run that went on. */
TEST(jobs_trainer_run_progress_cancel_resume)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    uint8_t *px = images(12, 1, 8, 9);
    pcnn_dataset d;
    REQUIRE_OK(pcnn_dataset_from_memory(px, 12, 1, 8, 8, NULL, 0, &d));
    free(px);
    pcnn_model_config c = small();
    c.dropout = 0.3f;
    const pcnn_view id = {0, 0, 0};
    REQUIRE_OK(pcnn_stage_config(&c, &id, NULL, 1, 8, 8));
    pcnn_model *m;
    pcnn_trainer *t;
    REQUIRE_OK(pcnn_model_create(&m, &c, 5));
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 4, o.lr = 5e-3f;
    REQUIRE_OK(pcnn_trainer_create(&t, m, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, t));
    seen w = {0, 1, 3, 0, 0, 0, NULL};
    pcnn_progress pg = {watch, &w};
    pcnn_step_stats last = {0, 0, 0};
    CHECK(pcnn_trainer_run(ctx, t, 8, 0, &pg, &last) == PCNN_ERR_CANCELLED &&
              strstr(pcnn_last_error(), "cancelled"),
          "cancel: %s", pcnn_last_error());
    CHECK(w.calls == 3 && w.increasing && w.last == 3 && w.total == 8 &&
              !strcmp(w.job, "train") && w.value == last.bpd &&
              isfinite(last.bpd) && last.lr > 0 &&
              pcnn_trainer_state(t).step == 3,
          "%d calls, increasing %d, done %lld of %lld, value %g vs %g, "
          "step %llu",
          w.calls, w.increasing, (long long)w.last, (long long)w.total,
          w.value, last.bpd,
          (unsigned long long)pcnn_trainer_state(t).step);
    char path[] = "/tmp/pcnn_jobs_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0, "mkstemp");
    close(fd);
    REQUIRE_OK(pcnn_checkpoint_save(path, m, t));
    /* the run goes on to step 6 (steps already reached: no step) */
    REQUIRE_OK(pcnn_trainer_run(ctx, t, 6, 0, NULL, NULL));
    REQUIRE_OK(pcnn_trainer_run(ctx, t, 6, 0, NULL, NULL));
    CHECK(pcnn_trainer_state(t).step == 6, "step %llu",
          (unsigned long long)pcnn_trainer_state(t).step);
    /* the saved one, resumed */
    pcnn_model *m2;
    pcnn_trainer *t2;
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &m2));
    REQUIRE_OK(pcnn_checkpoint_load_trainer(path, m2, &d, &t2));
    REQUIRE_OK(pcnn_trainer_run(ctx, t2, 6, 0, NULL, NULL));
    CHECK(same_params(m, m2), "resumed weights differ from the straight run");
    /* the test evaluation: EMA weights differ from the raw ones, and the
     * trainer's weights are back afterwards */
    pcnn_chain_eval ra, re, rb;
    REQUIRE_OK(pcnn_trainer_evaluate(ctx, t, 0, &d, NULL, &ra));
    REQUIRE_OK(pcnn_trainer_evaluate(ctx, t, 1, &d, NULL, &re));
    REQUIRE_OK(pcnn_trainer_evaluate(ctx, t, 0, &d, NULL, &rb));
    CHECK(ra.total != re.total && ra.total == rb.total && ra.images == 12,
          "raw %g, EMA %g, raw again %g", ra.total, re.total, rb.total);
    pcnn_trainer_free(t2), pcnn_model_free(m2);
    pcnn_trainer_free(t), pcnn_model_free(m);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
    remove(path);
}

/* Evaluation reports images with the mean so far and stops when asked;
 * sampling reports rows, over all stages of a chain, and stops too. */
TEST(jobs_eval_and_sample_progress_cancel)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 2};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    uint8_t *px = images(10, 1, 8, 2);
    pcnn_dataset d;
    REQUIRE_OK(pcnn_dataset_from_memory(px, 10, 1, 8, 8, NULL, 0, &d));
    free(px);
    /* gray4(half(x)), then half(x) given it: 4 + 4 rows */
    const pcnn_view g = {1, 1, 0}, h = {1, 0, 0};
    pcnn_model_config c0 = small(), c1 = small();
    c0.nr_resolutions = 1, c1.nr_resolutions = 1;
    REQUIRE_OK(pcnn_stage_config(&c0, &g, NULL, 1, 8, 8));
    REQUIRE_OK(pcnn_stage_config(&c1, &h, &g, 1, 8, 8));
    pcnn_model *st[2];
    REQUIRE_OK(make_model(&c0, 1, &st[0]));
    REQUIRE_OK(make_model(&c1, 2, &st[1]));
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, st, 2));
    seen w = {0, 1, 0, 0, 0, 0, NULL};
    pcnn_eval_opts o = pcnn_eval_opts_default();
    o.batch = 4, o.progress = (pcnn_progress){watch, &w};
    pcnn_chain_eval r;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &d, &o, &r));
    CHECK(w.calls == 3 && w.increasing && w.last == 10 && w.total == 10 &&
              !strcmp(w.job, "eval") && fabs(w.value - r.total) < 1e-12,
          "eval: %d calls, done %lld/%lld, value %g vs %g", w.calls,
          (long long)w.last, (long long)w.total, w.value, r.total);
    w = (seen){0, 1, 4, 0, 0, 0, NULL};
    CHECK(pcnn_chain_evaluate(ctx, ch, &d, &o, &r) == PCNN_ERR_CANCELLED &&
              w.calls == 1,
          "eval cancel after %d calls: %s", w.calls, pcnn_last_error());
    uint8_t *out[2] = {xcalloc(3 * 16, 1), xcalloc(3 * 16, 1)};
    pcnn_model_sample_opts so = pcnn_model_sample_opts_default();
    so.progress = (pcnn_progress){watch, &w};
    w = (seen){0, 1, 0, 0, 0, 0, NULL};
    REQUIRE_OK(pcnn_chain_sample(ctx, ch, 3, &so, out));
    CHECK(w.calls == 8 && w.increasing && w.last == 8 && w.total == 8 &&
              !strcmp(w.job, "sample") && isnan(w.value),
          "sample: %d calls, done %lld/%lld", w.calls, (long long)w.last,
          (long long)w.total);
    w = (seen){0, 1, 6, 0, 0, 0, NULL};
    CHECK(pcnn_chain_sample(ctx, ch, 3, &so, out) == PCNN_ERR_CANCELLED &&
              w.calls == 6 && strstr(pcnn_last_error(), "cancelled"),
          "sample cancel after %d rows: %s", w.calls, pcnn_last_error());
    so.naive = 1;
    w = (seen){0, 1, 2, 0, 0, 0, NULL};
    CHECK(pcnn_chain_sample(ctx, ch, 3, &so, out) == PCNN_ERR_CANCELLED &&
              w.calls == 2,
          "naive sample cancel after %d rows", w.calls);
    free(out[0]), free(out[1]);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
}

/* Completion keeps the known pixels, draws the others, and refuses a
 * chain it cannot complete. */
TEST(jobs_chain_complete)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    const pcnn_view id = {0, 0, 0}, half = {1, 0, 0};
    pcnn_model_config c = small();
    REQUIRE_OK(pcnn_stage_config(&c, &id, NULL, 1, 8, 8));
    pcnn_model *m;
    REQUIRE_OK(make_model(&c, 7, &m));
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, &m, 1));
    const int B = 3;
    uint8_t *orig = images(B, 1, 8, 6), x[3 * 64], known[3 * 64];
    memcpy(x, orig, sizeof x);
    for (int k = 0; k < B * 64; k++)
        known[k] = (k % 64) < 32; /* the top half */
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 4;
    REQUIRE_OK(pcnn_chain_complete(ctx, ch, pcnn_img(x, B, 1, 8, 8), known,
                                   &o));
    int kept = 1, changed = 0;
    for (int k = 0; k < B * 64; k++) {
        kept &= !known[k] || x[k] == orig[k];
        changed += !known[k] && x[k] != orig[k];
    }
    CHECK(kept && changed > 20, "kept %d, %d unknown pixels redrawn", kept,
          changed);
    CHECK(pcnn_chain_complete(ctx, ch, pcnn_img(x, B, 1, 8, 8), NULL, &o) ==
              PCNN_ERR_ARG,
          "NULL known");
    CHECK(pcnn_chain_complete(ctx, ch, pcnn_img(x, B, 3, 8, 8), known, &o) ==
              PCNN_ERR_SHAPE,
          "wrong channels: %s", pcnn_last_error());
    pcnn_chain_free(ch);
    /* x given half(x): not complete, refused with a message */
    c = small();
    REQUIRE_OK(pcnn_stage_config(&c, &id, &half, 1, 8, 8));
    REQUIRE_OK(make_model(&c, 8, &m));
    REQUIRE_OK(pcnn_chain_create(&ch, &m, 1));
    CHECK(pcnn_chain_complete(ctx, ch, pcnn_img(x, B, 1, 8, 8), known, &o) ==
              PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "pcnn_chain_complete") &&
              strstr(pcnn_last_error(), "condition"),
          "a conditioned stage: %s", pcnn_last_error());
    /* nor sampled: stage 0 needs a condition */
    uint8_t *out[1] = {x};
    CHECK(pcnn_chain_sample(ctx, ch, B, &o, out) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "condition map"),
          "sampling a conditioned stage 0: %s", pcnn_last_error());
    pcnn_chain_free(ch);
    free(orig);
    pcnn_ctx_free(ctx);
}

/* PSNR in dB by hand: 10 log10(255^2 / MSE). */
static double psnr_by_hand(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++)
        se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return 10 * log10(255.0 * 255.0 / (se / (double)n));
}

/* The scores of two colorizations against PSNRs computed here, the
 * baselines against their compositions, and the mean chroma of a data
 * set of one color against that color's Lab. */
TEST(jobs_colorize_score_and_mean_chroma)
{
    const int64_t h = 5, w = 6, img = 3 * h * w;
    uint8_t *truth = images(1, 3, 6, 3); /* 3 x 6 x 6; use 5 rows */
    uint8_t samples[2 * 3 * 5 * 6];
    for (int64_t k = 0; k < 2 * img; k++)
        samples[k] = (uint8_t)(truth[k % img] + (k < img ? 3 : 9) *
                                                    (k % 3 == 0 ? 1 : -1));
    const uint8_t meanab[2] = {140, 120};
    pcnn_image ti = pcnn_img(truth, 1, 3, h, w);
    pcnn_colorize_scores s;
    REQUIRE_OK(pcnn_colorize_score(ti, samples, 2, meanab, &s));
    const double p0 = psnr_by_hand(samples, truth, (size_t)img);
    const double p1 = psnr_by_hand(samples + img, truth, (size_t)img);
    CHECK(fabs(s.psnr_best - fmax(p0, p1)) < 1e-9 &&
              fabs(s.psnr_mean - (p0 + p1) / 2) < 1e-9 && p0 > p1 + 3,
          "best %.6f mean %.6f, by hand %.6f %.6f", s.psnr_best, s.psnr_mean,
          p0, p1);
    /* the baselines: truth's L with a constant chroma */
    uint8_t flat[8], base[3 * 5 * 6];
    memset(flat, 128, 4), memset(flat + 4, 128, 4);
    REQUIRE_OK(pcnn_colorize_compose(ti, flat, 2, 2,
                                     pcnn_img(base, 1, 3, h, w)));
    const double pg = psnr_by_hand(base, truth, (size_t)img);
    const double cg = pcnn_colorfulness(base, h, w);
    memset(flat, meanab[0], 4), memset(flat + 4, meanab[1], 4);
    REQUIRE_OK(pcnn_colorize_compose(ti, flat, 2, 2,
                                     pcnn_img(base, 1, 3, h, w)));
    const double pm = psnr_by_hand(base, truth, (size_t)img);
    CHECK(fabs(s.psnr_gray - pg) < 1e-9 && fabs(s.psnr_meanab - pm) < 1e-9 &&
              fabs(s.color_gray - cg) < 1e-9 && cg < 2 &&
              fabs(s.color_meanab - pcnn_colorfulness(base, h, w)) < 1e-9,
          "gray %.6f (%.6f), mean chroma %.6f (%.6f)", s.psnr_gray, pg,
          s.psnr_meanab, pm);
    const double c0 = pcnn_colorfulness(samples, h, w);
    const double c1 = pcnn_colorfulness(samples + img, h, w);
    CHECK(fabs(s.color_truth - pcnn_colorfulness(truth, h, w)) < 1e-12 &&
              fabs(s.color_samples - (c0 + c1) / 2) < 1e-9,
          "colorfulness %g %g", s.color_truth, s.color_samples);
    /* errors */
    CHECK(pcnn_colorize_score(ti, NULL, 2, meanab, &s) == PCNN_ERR_ARG,
          "NULL samples");
    CHECK(pcnn_colorize_score(ti, samples, 0, meanab, &s) == PCNN_ERR_ARG,
          "no samples");
    CHECK(pcnn_colorize_score(pcnn_img(truth, 1, 1, h, w), samples, 2,
                              meanab, &s) == PCNN_ERR_SHAPE,
          "a gray truth");
    /* the mean chroma of images of one color is that color's a8, b8 */
    uint8_t one[3 * 4 * 4];
    memset(one, 200, 16), memset(one + 16, 90, 16), memset(one + 32, 40, 16);
    pcnn_dataset d;
    REQUIRE_OK(pcnn_dataset_from_memory(one, 1, 3, 4, 4, NULL, 0, &d));
    uint8_t ab[2], lab[3];
    REQUIRE_OK(pcnn_mean_chroma(&d, ab));
    const uint8_t rgb[3] = {200, 90, 40};
    double L[3];
    pcnn_srgb_to_lab(rgb, L);
    lab[1] = (uint8_t)(floor(L[1] + 0.5) + 128);
    lab[2] = (uint8_t)(floor(L[2] + 0.5) + 128);
    CHECK(ab[0] == lab[1] && ab[1] == lab[2] && ab[0] > 140,
          "mean chroma %d %d, the color's %d %d", ab[0], ab[1], lab[1],
          lab[2]);
    pcnn_dataset_free(&d);
    REQUIRE_OK(pcnn_dataset_from_memory(one, 3, 1, 4, 4, NULL, 0, &d));
    CHECK(pcnn_mean_chroma(&d, ab) == PCNN_ERR_SHAPE, "gray data");
    CHECK(pcnn_mean_chroma(NULL, ab) == PCNN_ERR_ARG, "NULL data");
    pcnn_dataset_free(&d);
    free(truth);
}

/* NULLs, wrong shapes and bad options: an error with a message, never a
 * crash. */
TEST(jobs_error_paths)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    CHECK(!strcmp(pcnn_status_str(PCNN_ERR_CANCELLED), "cancelled"),
          "status name %s", pcnn_status_str(PCNN_ERR_CANCELLED));
    int64_t a = 9, b = 9, c = 9;
    pcnn_chain_image_shape(NULL, &a, &b, &c);
    CHECK(a == 0 && b == 0 && c == 0 && !pcnn_chain_is_complete(NULL),
          "NULL chain");
    const pcnn_view id = {0, 0, 0};
    pcnn_model_config cfg = small();
    REQUIRE_OK(pcnn_stage_config(&cfg, &id, NULL, 3, 8, 8));
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &cfg, 1));
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, &m, 1));
    CHECK(pcnn_chain_is_complete(ch), "a plain model is complete");
    uint8_t *px = images(4, 1, 8, 1);
    pcnn_dataset gray;
    REQUIRE_OK(pcnn_dataset_from_memory(px, 4, 1, 8, 8, NULL, 0, &gray));
    pcnn_chain_eval r;
    CHECK(pcnn_chain_evaluate(ctx, ch, &gray, NULL, &r) == PCNN_ERR_SHAPE &&
              strstr(pcnn_last_error(), "1x8x8"),
          "gray data for an RGB chain: %s", pcnn_last_error());
    CHECK(pcnn_chain_evaluate(ctx, NULL, &gray, NULL, &r) == PCNN_ERR_ARG,
          "NULL chain");
    CHECK(pcnn_chain_evaluate(ctx, ch, &gray, NULL, NULL) == PCNN_ERR_ARG,
          "NULL result");
    pcnn_eval_opts o = pcnn_eval_opts_default();
    o.batch = 0;
    CHECK(pcnn_chain_evaluate(ctx, ch, &gray, &o, &r) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "batch 0"),
          "batch 0: %s", pcnn_last_error());
    CHECK(pcnn_trainer_run(ctx, NULL, 1, 0, NULL, NULL) == PCNN_ERR_ARG,
          "NULL trainer");
    CHECK(pcnn_trainer_evaluate(ctx, NULL, 0, &gray, NULL, &r) ==
              PCNN_ERR_ARG,
          "NULL trainer");
    CHECK(pcnn_colorize(ctx, NULL, pcnn_img(px, 1, 3, 8, 8), 1,
                        &(pcnn_model_sample_opts){0}, px,
                        NULL) == PCNN_ERR_ARG,
          "colorize without a chain");
    pcnn_chain_free(ch);
    /* stages that do not fit: a second stage conditioned on nothing */
    pcnn_model *two[2];
    REQUIRE_OK(pcnn_model_create(&two[0], &cfg, 1));
    REQUIRE_OK(pcnn_model_create(&two[1], &cfg, 2));
    CHECK(pcnn_chain_create(&ch, two, 2) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "stage 1 is conditioned on nothing"),
          "two unconditioned stages: %s", pcnn_last_error());
    pcnn_chain_free(NULL);
    pcnn_dataset_free(&gray);
    free(px);
    pcnn_ctx_free(ctx);
}
