/*
 * test_restore.c -- pcnn_chain_restore and pcnn_chain_purify: the greedy
 * decoder on the cached sampler against its naive run (the whole network
 * per pixel) and against a reference written here from pcnn_model_forward
 * and pcnn_head_pmf; the same result on 1 and 2 threads; the eps ball;
 * what the decoder does on a model built to prefer two levels (purify
 * raises log p, denoising raises PSNR); errors.
 */
#include "test.h"
#include "pixelcnn.h"
#include "chain/restore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pcnn_model_config tiny(int channels, int size)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = channels;
    c.height = c.width = size;
    c.nr_resnet = 1;
    c.nr_filters = 8;
    c.nr_mix = 3;
    c.nr_resolutions = 2;
    c.dropout = 0;
    return c;
}

/* A random model whose conditionals depend visibly on the pixels before:
 * data init on random images, then the biases perturbed. */
static pcnn_model *random_model(pcnn_ctx *ctx, const pcnn_model_config *c,
                                uint64_t seed)
{
    pcnn_model *m;
    if (pcnn_model_create(&m, c, seed) != PCNN_OK)
        return NULL;
    const int64_t B = 4, n = B * c->channels * c->height * c->width;
    uint8_t *x = xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint8_t)(pcnn_uniform(seed + 7, (uint64_t)i) * 256);
    pcnn_batch b = {pcnn_img(x, B, c->channels, c->height, c->width), NULL,
                    pcnn_none()};
    pcnn_status s = pcnn_model_data_init(ctx, m, &b);
    free(x);
    if (s != PCNN_OK) {
        pcnn_model_free(m);
        return NULL;
    }
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        const char *name = pcnn_model_param_name(m, i);
        pcnn_tensor t = pcnn_model_param(m, i);
        if (name[strlen(name) - 1] != 'b')
            continue;
        for (int64_t k = 0; k < pcnn_numel(t); k++)
            t.data[k] += 0.3f * ((float)pcnn_uniform(seed + 11 + (uint64_t)i,
                                                     (uint64_t)k) -
                                 0.5f);
    }
    return m;
}

/* A gray model of size x size whose every pixel is, whatever the others,
 * a mixture of two sharp logistics at levels 63.75 and 191.25: the output
 * layer's gain 0 leaves its bias alone. */
static pcnn_model *two_level_model(int size)
{
    pcnn_model_config c = tiny(1, size);
    c.nr_mix = 2;
    pcnn_model *m;
    if (pcnn_model_create(&m, &c, 3) != PCNN_OK)
        return NULL;
    pcnn_tensor g = pcnn_model_param(m, pcnn_model_find_param(m, "out.g"));
    pcnn_tensor b = pcnn_model_param(m, pcnn_model_find_param(m, "out.b"));
    const float bias[6] = {0, 0, -0.5f, 0.5f, -4, -4}; /* logits, means,
                                                        * log-scales */
    for (int k = 0; k < 6; k++)
        g.data[k] = 0, b.data[k] = bias[k];
    return m;
}

static pcnn_chain *chain_of(pcnn_model *m)
{
    pcnn_chain *ch = NULL;
    if (m && pcnn_chain_create(&ch, &m, 1) != PCNN_OK)
        return NULL;
    return ch;
}

static pcnn_ctx *ctx_of(int threads)
{
    pcnn_ctx *ctx = NULL;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
    return pcnn_ctx_create(&ctx, &co) == PCNN_OK ? ctx : NULL;
}

static uint8_t *random_bytes(int64_t n, uint64_t seed)
{
    uint8_t *x = xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint8_t)(pcnn_uniform(seed, (uint64_t)i) * 256);
    return x;
}

static int64_t count_diff(const uint8_t *a, const uint8_t *b, int64_t n)
{
    int64_t d = 0;
    for (int64_t i = 0; i < n; i++)
        d += a[i] != b[i];
    return d;
}

/* Purification written from the public API: for each pixel the whole
 * network, then each channel's probabilities (pcnn_head_pmf) given the
 * channels before it, the most probable value in the eps ball. */
static void purify_reference(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                             int eps)
{
    const int64_t B = x.n, C = x.c, HW = x.h * x.w;
    pcnn_head h = pcnn_model_head(m);
    const int P = pcnn_head_params(&h);
    float *l = xcalloc((size_t)(B * P * HW), sizeof *l);
    float *pr = xcalloc((size_t)(B * 256 * HW), sizeof *pr);
    uint8_t *x0 = xcalloc((size_t)(B * C * HW), 1);
    memcpy(x0, x.data, (size_t)(B * C * HW));
    const pcnn_batch batch = {x, NULL, pcnn_none()};
    for (int64_t s = 0; s < HW; s++) {
        REQUIRE_OK(pcnn_model_forward(ctx, m, &batch,
                                      pcnn_t4(l, B, P, x.h, x.w)));
        for (int c = 0; c < C; c++) {
            REQUIRE_OK(pcnn_head_pmf(ctx, &h, pcnn_t4(pr, B, 256, x.h, x.w),
                                     pcnn_t4(l, B, P, x.h, x.w), x, c));
            for (int64_t b = 0; b < B; b++) {
                const int v0 = x0[(b * C + c) * HW + s];
                int best = -1;
                for (int v = v0 - eps; v <= v0 + eps; v++)
                    if (v >= 0 && v <= 255 &&
                        (best < 0 || pr[(b * 256 + v) * HW + s] >
                                         pr[(b * 256 + best) * HW + s]))
                        best = v;
                x.data[(b * C + c) * HW + s] = (uint8_t)best;
            }
        }
    }
    free(l), free(pr), free(x0);
}

TEST(restore_purify_equals_public_api_reference)
{
    pcnn_ctx *ctx = ctx_of(1);
    const pcnn_model_config c = tiny(3, 4);
    pcnn_model *m = random_model(ctx, &c, 5);
    pcnn_chain *ch = chain_of(m);
    REQUIRE(ch, "model");
    const int64_t B = 2, n = B * 3 * 16;
    uint8_t *x = random_bytes(n, 21), *ref = xcalloc((size_t)n, 1);
    memcpy(ref, x, (size_t)n);
    purify_reference(ctx, m, pcnn_img(ref, B, 3, 4, 4), 24);
    const pcnn_purify_opts o = {24, {NULL, NULL}};
    REQUIRE_OK(pcnn_chain_purify(ctx, ch, pcnn_img(x, B, 3, 4, 4), &o));
    const int64_t d = count_diff(x, ref, n);
    CHECK(d == 0, "%lld of %lld values differ from the reference",
          (long long)d, (long long)n);
    uint8_t *orig = random_bytes(n, 21);
    CHECK(count_diff(x, orig, n) > n / 4, "purify changed few values");
    free(x), free(ref), free(orig);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}

/* Every mode, cached and naive, and the cached on 1 and 2 threads. */
TEST(restore_cached_equals_naive_and_threads)
{
    pcnn_ctx *c1 = ctx_of(1), *c2 = ctx_of(2);
    const pcnn_model_config c = tiny(3, 8);
    pcnn_model *m = random_model(c1, &c, 9);
    pcnn_chain *ch = chain_of(m);
    REQUIRE(ch && c1 && c2, "model and contexts");
    const int64_t B = 3, n = B * 3 * 64;
    uint8_t *y = random_bytes(n, 33), *mask = random_bytes(B * 64, 34);
    uint8_t *a = xcalloc((size_t)n, 1), *b = xcalloc((size_t)n, 1),
            *t = xcalloc((size_t)n, 1);
    for (int64_t k = 0; k < B * 64; k++)
        mask[k] = mask[k] < 128;
    const float box[9] = {1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9,
                          1.f / 9, 1.f / 9, 1.f / 9, 1.f / 9};
    const pcnn_restore_mode modes[4] = {PCNN_RESTORE_DENOISE,
                                        PCNN_RESTORE_DEBLUR,
                                        PCNN_RESTORE_INPAINT,
                                        PCNN_RESTORE_DENOISE};
    for (int i = 0; i < 4; i++) {
        pcnn_restore_opts o = pcnn_restore_opts_default();
        o.mode = modes[i], o.sigma = 20, o.kernel = box, o.ksize = 3;
        o.mask = mask, o.passes = 2, o.mean = i == 3;
        const pcnn_image yi = pcnn_img(y, B, 3, 8, 8);
        REQUIRE_OK(pcnn_restore_run(c1, ch, yi, pcnn_img(a, B, 3, 8, 8), &o,
                                    1));
        REQUIRE_OK(pcnn_restore_run(c2, ch, yi, pcnn_img(b, B, 3, 8, 8), &o,
                                    0));
        REQUIRE_OK(pcnn_chain_restore(c1, ch, yi, pcnn_img(t, B, 3, 8, 8),
                                      &o));
        CHECK(count_diff(a, b, n) == 0, "mode %d: cached and naive differ "
              "at %lld values", i, (long long)count_diff(a, b, n));
        CHECK(count_diff(b, t, n) == 0, "mode %d: 1 and 2 threads differ "
              "at %lld values", i, (long long)count_diff(b, t, n));
        CHECK(count_diff(b, y, n) > n / 10, "mode %d: nearly y", i);
        for (int64_t k = 0; modes[i] == PCNN_RESTORE_INPAINT && k < n; k++)
            if (mask[k / 192 * 64 + k % 64] && b[k] != y[k]) {
                CHECK(0, "inpaint changed a known value at %lld",
                      (long long)k);
                break;
            }
    }
    /* purify the same way */
    const pcnn_purify_opts po = {40, {NULL, NULL}};
    memcpy(a, y, (size_t)n), memcpy(b, y, (size_t)n), memcpy(t, y, (size_t)n);
    REQUIRE_OK(pcnn_purify_run(c1, ch, pcnn_img(a, B, 3, 8, 8), &po, 1));
    REQUIRE_OK(pcnn_chain_purify(c2, ch, pcnn_img(b, B, 3, 8, 8), &po));
    REQUIRE_OK(pcnn_chain_purify(c1, ch, pcnn_img(t, B, 3, 8, 8), &po));
    CHECK(count_diff(a, b, n) == 0 && count_diff(b, t, n) == 0,
          "purify: naive, 2 threads and 1 thread disagree");
    free(y), free(mask), free(a), free(b), free(t);
    pcnn_chain_free(ch);
    pcnn_ctx_free(c1), pcnn_ctx_free(c2);
}

/* Bits/dim of each image under the chain's model. */
static void image_bpd(pcnn_ctx *ctx, pcnn_chain *ch, pcnn_image x,
                      double *bpd)
{
    double mean;
    const pcnn_batch b = {x, NULL, pcnn_none()};
    REQUIRE_OK(pcnn_model_loss(ctx, pcnn_chain_stage(ch, 0), &b, 0, 0, &mean,
                               bpd));
}

TEST(restore_purify_eps_ball_and_likelihood)
{
    pcnn_ctx *ctx = ctx_of(1);
    pcnn_chain *ch = chain_of(two_level_model(8));
    REQUIRE(ctx && ch, "model");
    const int64_t B = 4, n = B * 64;
    uint8_t *clean = random_bytes(n, 41), *x = xcalloc((size_t)n, 1),
            *x0 = xcalloc((size_t)n, 1);
    for (int64_t k = 0; k < n; k++) {
        clean[k] = clean[k] < 128 ? 64 : 191;
        const double u = pcnn_uniform(42, (uint64_t)k);
        x0[k] = (uint8_t)(clean[k] + (int)floor(u * 25) - 12);
    }
    const pcnn_image xi = pcnn_img(x, B, 1, 8, 8);
    /* eps 0: unchanged */
    memcpy(x, x0, (size_t)n);
    REQUIRE_OK(pcnn_chain_purify(ctx, ch, xi, &(pcnn_purify_opts){.eps = 0}));
    CHECK(count_diff(x, x0, n) == 0, "eps 0 changed the image");
    /* eps 4: within the ball, and more likely */
    double before[4], after[4];
    image_bpd(ctx, ch, pcnn_img(x0, B, 1, 8, 8), before);
    REQUIRE_OK(pcnn_chain_purify(ctx, ch, xi, &(pcnn_purify_opts){.eps = 4}));
    for (int64_t k = 0; k < n; k++)
        if (abs((int)x[k] - (int)x0[k]) > 4) {
            CHECK(0, "value %lld moved %d > eps 4", (long long)k,
                  (int)x[k] - (int)x0[k]);
            break;
        }
    image_bpd(ctx, ch, xi, after);
    for (int b = 0; b < B; b++)
        CHECK(after[b] < before[b] - 0.5, "image %d: %.3f -> %.3f bits/dim",
              b, before[b], after[b]);
    /* eps 16 covers the noise: every value at the mode nearest it */
    memcpy(x, x0, (size_t)n);
    REQUIRE_OK(pcnn_chain_purify(ctx, ch, xi, &(pcnn_purify_opts){.eps = 16}));
    int64_t off = 0;
    for (int64_t k = 0; k < n; k++)
        off += x[k] != (clean[k] == 64 ? 64 : 191);
    CHECK(off == 0, "%lld values not at their mode", (long long)off);
    free(clean), free(x), free(x0);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}

TEST(restore_denoise_raises_psnr)
{
    pcnn_ctx *ctx = ctx_of(1);
    pcnn_chain *ch = chain_of(two_level_model(8));
    REQUIRE(ctx && ch, "model");
    const int64_t B = 4, n = B * 64;
    uint8_t *clean = random_bytes(n, 51), *y = xcalloc((size_t)n, 1),
            *x = xcalloc((size_t)n, 1);
    for (int64_t k = 0; k < n; k++) {
        clean[k] = clean[k] < 128 ? 64 : 191;
        /* a Gaussian of sigma 25 by Box-Muller, rounded and clipped */
        const double u1 = pcnn_uniform(52, (uint64_t)k) + 1e-12,
                     u2 = pcnn_uniform(53, (uint64_t)k);
        const double v = clean[k] + 25 * sqrt(-2 * log(u1)) *
                                        cos(2 * 3.14159265358979 * u2);
        y[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : floor(v + 0.5));
    }
    pcnn_restore_opts o = pcnn_restore_opts_default();
    o.sigma = 25;
    REQUIRE_OK(pcnn_chain_restore(ctx, ch, pcnn_img(y, B, 1, 8, 8),
                                  pcnn_img(x, B, 1, 8, 8), &o));
    const double noisy = pcnn_psnr(clean, y, (size_t)n),
                 ours = pcnn_psnr(clean, x, (size_t)n);
    CHECK(ours > noisy + 10, "PSNR %.2f dB restored, %.2f dB noisy", ours,
          noisy);
    /* the posterior mean: at a value of 128 the two modes weigh the
     * same, so the mean sits between them; near a mode, at the mode */
    o.mean = 1;
    uint8_t amb[64], got[64];
    for (int k = 0; k < 64; k++)
        amb[k] = k < 32 ? 128 : 60;
    REQUIRE_OK(pcnn_chain_restore(ctx, ch, pcnn_img(amb, 1, 1, 8, 8),
                                  pcnn_img(got, 1, 1, 8, 8), &o));
    CHECK(got[0] > 120 && got[0] < 136 && abs(got[63] - 64) <= 1,
          "posterior means %d (of 128) and %d (of 60)", got[0], got[63]);
    o.mean = 0;
    /* a zero weight: the model alone, every value at a mode */
    o.weight = 0;
    REQUIRE_OK(pcnn_chain_restore(ctx, ch, pcnn_img(y, B, 1, 8, 8),
                                  pcnn_img(x, B, 1, 8, 8), &o));
    for (int64_t k = 0; k < n; k++)
        if (x[k] != 64 && x[k] != 191) {
            CHECK(0, "weight 0: value %d is not a mode", x[k]);
            break;
        }
    free(clean), free(y), free(x);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}

/* The circular blur of plane x (8 x 8) by the 3x3 box, rounded. */
static void box_blur(const uint8_t *x, uint8_t *y)
{
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) {
            int s = 0;
            for (int p = -1; p <= 1; p++)
                for (int q = -1; q <= 1; q++)
                    s += x[((i + p + 8) % 8) * 8 + (j + q + 8) % 8];
            y[i * 8 + j] = (uint8_t)((s + 4) / 9);
        }
}

/* The last report: its job, done and total. */
typedef struct {
    char job[16];
    int64_t done, total, calls;
} last_report;

static int record(void *arg, const pcnn_progress_info *info)
{
    last_report *r = arg;
    snprintf(r->job, sizeof r->job, "%s", info->job);
    r->done = info->done, r->total = info->total, r->calls++;
    return 0;
}

TEST(restore_deblur_raises_psnr)
{
    pcnn_ctx *ctx = ctx_of(1);
    pcnn_chain *ch = chain_of(two_level_model(8));
    REQUIRE(ctx && ch, "model");
    const int64_t B = 4, n = B * 64;
    uint8_t *clean = random_bytes(n, 71), *y = xcalloc((size_t)n, 1),
            *x = xcalloc((size_t)n, 1);
    for (int64_t k = 0; k < n; k++)
        clean[k] = clean[k] < 128 ? 64 : 191;
    for (int64_t b = 0; b < B; b++)
        box_blur(clean + b * 64, y + b * 64);
    float box[9];
    for (int k = 0; k < 9; k++)
        box[k] = 1.0f / 9;
    pcnn_restore_opts o = pcnn_restore_opts_default();
    o.mode = PCNN_RESTORE_DEBLUR, o.sigma = 2, o.kernel = box, o.ksize = 3;
    double psnr[3];
    for (int passes = 1; passes <= 3; passes++) {
        o.passes = passes;
        REQUIRE_OK(pcnn_chain_restore(ctx, ch, pcnn_img(y, B, 1, 8, 8),
                                      pcnn_img(x, B, 1, 8, 8), &o));
        psnr[passes - 1] = pcnn_psnr(clean, x, (size_t)n);
    }
    /* rows of every pass, under the job's name */
    last_report rep = {{0}, 0, 0, 0};
    o.progress = (pcnn_progress){record, &rep};
    REQUIRE_OK(pcnn_chain_restore(ctx, ch, pcnn_img(y, B, 1, 8, 8),
                                  pcnn_img(x, B, 1, 8, 8), &o));
    CHECK(!strcmp(rep.job, "restore") && rep.done == 24 && rep.total == 24 &&
              rep.calls == 24,
          "progress: %s %lld/%lld after %lld reports", rep.job,
          (long long)rep.done, (long long)rep.total, (long long)rep.calls);
    memset(&rep, 0, sizeof rep);
    REQUIRE_OK(pcnn_chain_purify(ctx, ch, pcnn_img(x, B, 1, 8, 8),
                                 &(pcnn_purify_opts){3, {record, &rep}}));
    CHECK(!strcmp(rep.job, "purify") && rep.done == 8 && rep.total == 8,
          "purify's progress: %s %lld/%lld", rep.job, (long long)rep.done,
          (long long)rep.total);
    const double blurred = pcnn_psnr(clean, y, (size_t)n);
    CHECK(psnr[0] > blurred + 5 && psnr[2] > psnr[0] + 2,
          "PSNR blurred %.2f dB, restored %.2f, %.2f, %.2f dB after 1, 2, "
          "3 passes",
          blurred, psnr[0], psnr[1], psnr[2]);
    free(clean), free(y), free(x);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}

static int stop_now(void *arg, const pcnn_progress_info *info)
{
    (void)info;
    return ++*(int *)arg >= 2;
}

static void check_fail(pcnn_status got, pcnn_status want, const char *word,
                       const char *what)
{
    CHECK(got == want && strstr(pcnn_last_error(), word),
          "%s: %s \"%s\", want %s naming %s", what, pcnn_status_str(got),
          pcnn_last_error(), pcnn_status_str(want), word);
}

/* A chain of two stages (half(x), then x given it) and the conditioned
 * stage alone. */
static void check_chain_errors(pcnn_ctx *ctx, pcnn_image y, pcnn_image x)
{
    pcnn_model_config c0 = tiny(1, 8), c1 = tiny(1, 8);
    const pcnn_view half = {1, 0, 0}, id = {0, 0, 0};
    REQUIRE_OK(pcnn_stage_config(&c0, &half, NULL, 1, 8, 8));
    REQUIRE_OK(pcnn_stage_config(&c1, &id, &half, 1, 8, 8));
    pcnn_model *m[2];
    REQUIRE_OK(pcnn_model_create(&m[0], &c0, 1));
    REQUIRE_OK(pcnn_model_create(&m[1], &c1, 2));
    pcnn_chain *two;
    REQUIRE_OK(pcnn_chain_create(&two, m, 2));
    const pcnn_restore_opts o = {.sigma = 10, .passes = 1, .weight = 1};
    check_fail(pcnn_chain_restore(ctx, two, y, x, &o), PCNN_ERR_ARG,
               "2 stages", "two stages");
    check_fail(pcnn_chain_purify(ctx, two, x, &(pcnn_purify_opts){.eps = 1}),
               PCNN_ERR_ARG, "plain model", "two stages, purify");
    pcnn_chain_free(two);
    pcnn_model *cond;
    REQUIRE_OK(pcnn_model_create(&cond, &c1, 2));
    pcnn_chain *one = chain_of(cond);
    check_fail(pcnn_chain_restore(ctx, one, y, x, &o), PCNN_ERR_ARG,
               "condition", "a conditioned stage");
    pcnn_chain_free(one);
}

TEST(restore_errors)
{
    pcnn_ctx *ctx = ctx_of(1);
    pcnn_chain *ch = chain_of(two_level_model(8));
    REQUIRE(ctx && ch, "model");
    uint8_t *y = random_bytes(2 * 64, 61), *x = xcalloc(2 * 64, 1);
    const pcnn_image yi = pcnn_img(y, 2, 1, 8, 8), xi = pcnn_img(x, 2, 1, 8, 8);
    pcnn_restore_opts o = pcnn_restore_opts_default();
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_VALUE,
               "sigma", "the default sigma 0");
    o.sigma = -1;
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_VALUE,
               "sigma", "sigma -1");
    o.sigma = NAN;
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_VALUE,
               "sigma", "sigma NaN");
    o.sigma = 10, o.weight = NAN;
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_VALUE,
               "weight", "weight NaN");
    o.weight = 1;
    check_fail(pcnn_chain_restore(ctx, ch, pcnn_img(y, 2, 1, 8, 4), xi, &o),
               PCNN_ERR_SHAPE, "y is", "y of the wrong shape");
    check_fail(pcnn_chain_restore(ctx, ch, yi, pcnn_img(x, 1, 1, 8, 8), &o),
               PCNN_ERR_SHAPE, "x is", "x of another batch");
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, NULL), PCNN_ERR_ARG,
               "opts", "NULL opts");
    o.mode = PCNN_RESTORE_DEBLUR;
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_ARG,
               "kernel", "deblur without a kernel");
    float k4[16] = {0}, k3[9] = {0};
    o.kernel = k4, o.ksize = 4;
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_ARG,
               "odd", "an even kernel");
    k3[4] = NAN;
    o.kernel = k3, o.ksize = 3;
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_VALUE,
               "kernel weight 4", "a NaN weight");
    o.mode = PCNN_RESTORE_INPAINT;
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_ARG,
               "mask", "inpaint without a mask");
    check_fail(pcnn_chain_purify(ctx, ch, xi, &(pcnn_purify_opts){.eps = -1}),
               PCNN_ERR_VALUE, "eps", "eps -1");
    check_fail(pcnn_chain_purify(ctx, ch, pcnn_img(x, 2, 3, 8, 8),
                                 &(pcnn_purify_opts){.eps = 2}),
               PCNN_ERR_SHAPE, "x is", "purify: 3 channels");
    int calls = 0;
    o = pcnn_restore_opts_default();
    o.sigma = 10, o.progress = (pcnn_progress){stop_now, &calls};
    check_fail(pcnn_chain_restore(ctx, ch, yi, xi, &o), PCNN_ERR_CANCELLED,
               "cancelled", "a cancelling callback");
    CHECK(calls == 2, "the callback ran %d times, want 2", calls);
    check_chain_errors(ctx, yi, xi);
    free(y), free(x);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}
