/*
 * test_sample.c -- pcnn_model_sample: the cached sampler against the naive
 * one (same head parameters at every pixel, same images), on plain,
 * class-conditional and map-conditional models at several batch sizes;
 * completion; seeds; errors.
 */
#include "test.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static pcnn_model_config small(int channels, int size, int res)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = channels;
    c.height = c.width = size;
    c.nr_resnet = 2;
    c.nr_filters = 8;
    c.nr_mix = 3;
    c.nr_resolutions = res;
    c.dropout = 0.5f; /* must be off when sampling */
    return c;
}

/* A model whose outputs depend visibly on its inputs: data init on random
 * images, then biases and gains perturbed. */
static pcnn_model *make_model(pcnn_ctx *ctx, const pcnn_model_config *c,
                              uint64_t seed)
{
    pcnn_model *m;
    if (pcnn_model_create(&m, c, seed) != PCNN_OK)
        return NULL;
    const int64_t B = 4, n = B * c->channels * c->height * c->width;
    uint8_t *x = xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint8_t)(pcnn_uniform(seed + 7, (uint64_t)i) * c->levels);
    int32_t lab[4] = {0, 1, 0, 1};
    float *cond = NULL;
    pcnn_batch b = {pcnn_img(x, B, c->channels, c->height, c->width),
                    c->num_classes ? lab : NULL, pcnn_none()};
    if (c->cond_channels) {
        int64_t cn = B * c->cond_channels * c->height * c->width;
        cond = xcalloc((size_t)cn, sizeof *cond);
        for (int64_t i = 0; i < cn; i++)
            cond[i] = (float)pcnn_uniform(seed + 9, (uint64_t)i) - 0.5f;
        b.cond = pcnn_t4(cond, B, c->cond_channels, c->height, c->width);
    }
    pcnn_status s = pcnn_model_data_init(ctx, m, &b);
    free(x), free(cond);
    if (s != PCNN_OK) {
        pcnn_model_free(m);
        return NULL;
    }
    size_t np;
    float *p = pcnn_model_params(m, &np);
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        const char *name = pcnn_model_param_name(m, i);
        pcnn_tensor t = pcnn_model_param(m, i);
        size_t len = strlen(name);
        int bias = name[len - 1] == 'b' || strstr(name, "class_w");
        if (!bias)
            continue;
        for (int64_t k = 0; k < pcnn_numel(t); k++)
            t.data[k] +=
                0.3f * ((float)pcnn_uniform(seed + 11, (uint64_t)(t.data - p) +
                                                           (uint64_t)k) -
                        0.5f);
    }
    return m;
}

/* Samples with both samplers; checks parameters within 1e-4 and equal
 * images. */
static void compare(pcnn_ctx *ctx, pcnn_model *m, int64_t B,
                    const int32_t *labels, pcnn_tensor cond,
                    const char *what)
{
    const pcnn_model_config *c = pcnn_model_get_config(m);
    pcnn_head h = pcnn_model_head(m);
    const int P = pcnn_head_params(&h);
    const int64_t n = B * c->channels * c->height * c->width;
    const int64_t pn = B * P * c->height * c->width;
    uint8_t *xa = xcalloc((size_t)n, 1), *xb = xcalloc((size_t)n, 1);
    float *la = xcalloc((size_t)pn, sizeof *la);
    float *lb = xcalloc((size_t)pn, sizeof *lb);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 42;
    o.labels = labels;
    o.cond = cond;
    o.params = pcnn_t4(la, B, P, c->height, c->width);
    o.naive = 1;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(xa, B, c->channels,
                                                  c->height, c->width),
                                 &o));
    o.params.data = lb;
    o.naive = 0;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(xb, B, c->channels,
                                                  c->height, c->width),
                                 &o));
    CHECK_CLOSE(what, lb, la, pn, 1e-4, 1e-4);
    int64_t diff = 0, distinct = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += xa[i] != xb[i];
        distinct += xa[i] != xa[0];
    }
    CHECK(diff == 0, "%s: %lld of %lld sampled values differ", what,
          (long long)diff, (long long)n);
    CHECK(distinct > n / 4, "%s: samples are nearly constant", what);
    free(xa), free(xb), free(la), free(lb);
}

TEST(sample_cached_equals_naive_rgb)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model_config c = small(3, 8, 3);
    pcnn_model *m = make_model(ctx, &c, 3);
    REQUIRE(m, "model: %s", pcnn_last_error());
    compare(ctx, m, 3, NULL, pcnn_none(), "rgb 8x8, 3 scales, batch 3");
    compare(ctx, m, 1, NULL, pcnn_none(), "rgb 8x8, 3 scales, batch 1");
    pcnn_model_free(m);
    /* not square, 2 scales, gray */
    c = small(1, 8, 2);
    c.width = 6;
    m = make_model(ctx, &c, 4);
    REQUIRE(m, "model: %s", pcnn_last_error());
    compare(ctx, m, 2, NULL, pcnn_none(), "gray 8x6, 2 scales");
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

TEST(sample_cached_equals_naive_conditional)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model_config c = small(3, 8, 3);
    c.num_classes = 3;
    c.cond_channels = 2;
    pcnn_model *m = make_model(ctx, &c, 5);
    REQUIRE(m, "model: %s", pcnn_last_error());
    int32_t lab[2] = {2, 0};
    float cond[2 * 2 * 64];
    for (int i = 0; i < 2 * 2 * 64; i++)
        cond[i] = (float)pcnn_uniform(77, (uint64_t)i) * 2 - 1;
    compare(ctx, m, 2, lab, pcnn_t4(cond, 2, 2, 8, 8),
            "class and map conditional");
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

TEST(sample_completion_keeps_known_pixels_and_uses_them)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model_config c = small(3, 8, 3);
    pcnn_model *m = make_model(ctx, &c, 6);
    REQUIRE(m, "model: %s", pcnn_last_error());
    const int64_t B = 2, HW = 64, n = B * 3 * HW;
    uint8_t *x = xcalloc((size_t)n, 1), *y = xcalloc((size_t)n, 1);
    uint8_t *z = xcalloc((size_t)n, 1), known[2 * 64];
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint8_t)(pcnn_uniform(8, (uint64_t)i) * 256);
    for (int64_t k = 0; k < B * HW; k++)
        known[k] = k % HW < 32; /* top half */
    memcpy(y, x, (size_t)n);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 5;
    o.known = known;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(y, B, 3, 8, 8), &o));
    int64_t kept = 0, changed = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t ch = 0; ch < 3; ch++)
            for (int64_t k = 0; k < HW; k++) {
                int64_t i = (b * 3 + ch) * HW + k;
                if (k < 32)
                    kept += y[i] == x[i];
                else
                    changed += y[i] != x[i];
            }
    CHECK(kept == B * 3 * 32, "known pixels kept: %lld of %lld",
          (long long)kept, (long long)(B * 3 * 32));
    CHECK(changed > B * 3 * 32 / 2, "unknown pixels drawn");
    /* the same completion with the naive sampler */
    memcpy(z, x, (size_t)n);
    o.naive = 1;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(z, B, 3, 8, 8), &o));
    CHECK(memcmp(y, z, (size_t)n) == 0, "cached and naive completions");
    /* other known pixels change the drawn bottom half */
    for (int64_t i = 0; i < n; i++)
        z[i] = (uint8_t)(255 - x[i]);
    o.naive = 0;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(z, B, 3, 8, 8), &o));
    int64_t differ = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t ch = 0; ch < 3; ch++)
            for (int64_t k = 32; k < HW; k++)
                differ += z[(b * 3 + ch) * HW + k] != y[(b * 3 + ch) * HW + k];
    CHECK(differ > 0, "the known half conditions the rest");
    free(x), free(y), free(z);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

TEST(sample_seeds_batches_and_errors)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model_config c = small(1, 8, 2);
    c.num_classes = 2;
    pcnn_model *m = make_model(ctx, &c, 7);
    REQUIRE(m, "model: %s", pcnn_last_error());
    uint8_t a[3 * 64], b[3 * 64], one[64];
    int32_t lab[3] = {0, 1, 1};
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.labels = lab;
    o.seed = 1;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(a, 3, 1, 8, 8), &o));
    o.seed = 2;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(b, 3, 1, 8, 8), &o));
    CHECK(memcmp(a, b, sizeof a) != 0, "other seed, other images");
    o.seed = 1;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(one, 1, 1, 8, 8), &o));
    CHECK(memcmp(a, one, sizeof one) == 0,
          "image 0 does not depend on the batch size");
    /* errors */
    CHECK(pcnn_model_sample(ctx, m, pcnn_img(a, 3, 3, 8, 8), &o) ==
              PCNN_ERR_SHAPE,
          "wrong channels");
    o.labels = NULL;
    CHECK(pcnn_model_sample(ctx, m, pcnn_img(a, 3, 1, 8, 8), &o) ==
              PCNN_ERR_ARG,
          "labels missing");
    lab[2] = 2;
    o.labels = lab;
    CHECK(pcnn_model_sample(ctx, m, pcnn_img(a, 3, 1, 8, 8), &o) ==
              PCNN_ERR_VALUE,
          "label out of range");
    CHECK(strstr(pcnn_last_error(), "label 2") != NULL, "message: %s",
          pcnn_last_error());
    lab[2] = 1;
    o.log_scale_offset = NAN;
    CHECK(pcnn_model_sample(ctx, m, pcnn_img(a, 3, 1, 8, 8), &o) ==
              PCNN_ERR_ARG,
          "NaN log-scale offset");
    o.log_scale_offset = 0;
    float l[3];
    o.params = pcnn_t4(l, 1, 3, 1, 1);
    CHECK(pcnn_model_sample(ctx, m, pcnn_img(a, 3, 1, 8, 8), &o) ==
              PCNN_ERR_SHAPE,
          "params of the wrong shape");
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

TEST(sample_cached_equals_naive_stage_models)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    /* a 16-level categorical head (the gray stage of a chain) */
    pcnn_model_config c = small(1, 8, 3);
    c.head = PCNN_HEAD_CATEGORICAL;
    c.levels = 16;
    pcnn_model *m = make_model(ctx, &c, 8);
    REQUIRE(m, "model: %s", pcnn_last_error());
    compare(ctx, m, 2, NULL, pcnn_none(), "categorical 16 levels");
    pcnn_model_free(m);
    /* a conditioning network over a one-channel map */
    c = small(3, 8, 3);
    c.cond_channels = 1;
    c.cond_nr_resnet = 2;
    c.cond_nr_filters = 5;
    m = make_model(ctx, &c, 9);
    REQUIRE(m, "model: %s", pcnn_last_error());
    float cond[2 * 64];
    for (int i = 0; i < 2 * 64; i++)
        cond[i] = (float)pcnn_uniform(78, (uint64_t)i) * 2 - 1;
    compare(ctx, m, 2, NULL, pcnn_t4(cond, 2, 1, 8, 8),
            "conditioning network");
    pcnn_model_free(m);
    /* the same with a down-up stack (8 -> 4 -> 2 -> 4 -> 8) */
    c.cond_down = 2;
    m = make_model(ctx, &c, 11);
    REQUIRE(m, "model: %s", pcnn_last_error());
    compare(ctx, m, 2, NULL, pcnn_t4(cond, 2, 1, 8, 8),
            "conditioning network, down-up");
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

TEST(sample_wavefront_schedule_equals_naive)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    /* one resolution, one resnet: a receptive field much narrower than
     * 24 columns, so several pixels are drawn per step */
    pcnn_model_config c = small(3, 8, 1);
    c.width = 24;
    c.nr_resnet = 1;
    pcnn_model *m = make_model(ctx, &c, 10);
    REQUIRE(m, "model: %s", pcnn_last_error());
    int64_t steps = 0;
    size_t bytes = 0;
    REQUIRE_OK(pcnn_model_sample_plan(m, 2, &steps, &bytes));
    CHECK(steps < 8 * 24 / 2, "%lld steps for 192 pixels", (long long)steps);
    /* values keep windows of rows: four times the rows, not four times
     * the memory */
    pcnn_model_config tall = c;
    tall.height = 32;
    pcnn_model *mt;
    REQUIRE_OK(pcnn_model_create(&mt, &tall, 1));
    size_t tall_bytes = 0;
    REQUIRE_OK(pcnn_model_sample_plan(mt, 2, NULL, &tall_bytes));
    CHECK(bytes > 0 && tall_bytes < 2 * bytes,
          "caches of 8 rows %zu bytes, of 32 rows %zu", bytes, tall_bytes);
    pcnn_model_free(mt);
    compare(ctx, m, 2, NULL, pcnn_none(), "wavefront, 1 resolution");
    compare(ctx, m, 1, NULL, pcnn_none(), "wavefront, batch 1");
    pcnn_model_free(m);
    /* the full PixelCNN++ sees the whole image above: raster order */
    c = small(3, 8, 3);
    m = make_model(ctx, &c, 11);
    REQUIRE(m, "model: %s", pcnn_last_error());
    REQUIRE_OK(pcnn_model_sample_plan(m, 1, &steps, &bytes));
    CHECK(steps == 64, "%lld steps for 64 pixels", (long long)steps);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

/* A colorizer's stage: 2 chroma channels at 8x8 given a 4-channel
 * space-to-depth map of 16x16 lightness, dilated conditioning network. */
TEST(sample_cached_equals_naive_chroma_stage)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model_config c = small(2, 8, 2);
    c.cond_channels = 4, c.cond_nr_resnet = 2, c.cond_nr_filters = 6;
    c.cond_dilate = 1, c.cond_down = 1;
    pcnn_model *m = make_model(ctx, &c, 13);
    REQUIRE(m, "model: %s", pcnn_last_error());
    float cond[2 * 4 * 64];
    for (int i = 0; i < 2 * 4 * 64; i++)
        cond[i] = (float)pcnn_uniform(80, (uint64_t)i) * 2 - 1;
    compare(ctx, m, 2, NULL, pcnn_t4(cond, 2, 4, 8, 8), "chroma stage");
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

/* One image on a team of threads (they split each step's positions) equals
 * the naive sampler, on a wavefront model with a dilated down-up
 * conditioning network, for teams of 1 and 2 threads. */
TEST(sample_team_of_threads_equals_naive)
{
    for (int threads = 1; threads <= 2; threads++) {
        pcnn_ctx *ctx;
        pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
        REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
        pcnn_model_config c = small(3, 8, 1);
        c.width = 24;
        c.nr_resnet = 1;
        c.cond_channels = 1, c.cond_nr_resnet = 3, c.cond_nr_filters = 5;
        c.cond_down = 1, c.cond_dilate = 1; /* dilations 1, 2, 4 */
        pcnn_model *m = make_model(ctx, &c, 12);
        REQUIRE(m, "model: %s", pcnn_last_error());
        float cond[8 * 24];
        for (int i = 0; i < 8 * 24; i++)
            cond[i] = (float)pcnn_uniform(79, (uint64_t)i) * 2 - 1;
        char what[64];
        snprintf(what, sizeof what, "one image, %d threads", threads);
        compare(ctx, m, 1, NULL, pcnn_t4(cond, 1, 1, 8, 24), what);
        pcnn_model_free(m);
        pcnn_ctx_free(ctx);
    }
}
