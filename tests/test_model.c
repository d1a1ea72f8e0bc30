/*
 * test_model.c -- the PixelCNN++ network: parameter table, causality of the
 * whole model, finite-difference spot checks of the gradient, and batch
 * errors. (The PyTorch twin's fixtures check every value exactly:
 * test_model_twin.c.)
 */
#include "test.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static pcnn_model_config tiny(int channels)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = channels;
    c.height = c.width = 8;
    c.nr_resnet = 1;
    c.nr_filters = 6;
    c.nr_mix = 2;
    c.nr_resolutions = 3;
    c.dropout = 0;
    return c;
}

static uint8_t *random_images(int64_t n, uint64_t seed)
{
    uint8_t *x = xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint8_t)(pcnn_uniform(seed, (uint64_t)i) * 256);
    return x;
}

TEST(model_param_table_names_and_count)
{
    pcnn_model *m;
    pcnn_model_config c = tiny(3);
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    /* 3 init layers, S*R*2 up resnets (ul has a skip), S-1 down convs x2,
     * down resnets R + (S-1)(R+1) per stream, S-1 deconvs x2, out */
    const char *must[] = {"init.u.v", "init.ul_down.g", "init.ul_right.b",
                          "up.0.u.0.conv_in.v", "up.0.ul.0.skip.v",
                          "up.1.u_down.v", "down.2.u.0.skip.v",
                          "down.0.ul.1.skip.v", "down.1.u_up.v",
                          "down.1.ul_up.g", "out.b"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        CHECK(pcnn_model_find_param(m, must[i]) >= 0, "no parameter %s",
              must[i]);
    CHECK(pcnn_model_find_param(m, "down.2.u.1.skip.v") < 0,
          "the coarsest down stage has nr_resnet blocks, not nr_resnet+1");
    int i = pcnn_model_find_param(m, "down.0.ul.1.skip.v");
    pcnn_tensor v = pcnn_model_param(m, i);
    CHECK(v.ndim == 2 && v.dim[0] == 6 && v.dim[1] == 24,
          "down ul skip is (F, 4F)");
    i = pcnn_model_find_param(m, "down.1.u_up.v");
    v = pcnn_model_param(m, i);
    CHECK(v.ndim == 4 && v.dim[2] == 2 && v.dim[3] == 3, "deconv 2x3");
    i = pcnn_model_find_param(m, "out.v");
    v = pcnn_model_param(m, i);
    CHECK(v.dim[0] == 20 && v.dim[1] == 6, "out is (10 M, F) for RGB");
    size_t n, sum = 0;
    pcnn_model_params(m, &n);
    for (int k = 0; k < pcnn_model_param_count(m); k++)
        sum += (size_t)pcnn_numel(pcnn_model_param(m, k));
    CHECK(sum == n, "table sizes %zu != block %zu", sum, n);
    pcnn_model_free(m);
}

/* Changing pixel q (all channels) changes no output l at pixels <= q. */
TEST(model_is_causal)
{
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_model_config c = tiny(3);
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_model_create(&m, &c, 2));
    const int64_t HW = 64, P = 20, C = 3;
    uint8_t *x = random_images(C * HW, 3);
    pcnn_batch b = {pcnn_img(x, 1, 3, 8, 8), NULL, pcnn_none()};
    REQUIRE_OK(pcnn_model_data_init(ctx, m, &b));
    float *l0 = xcalloc((size_t)(P * HW), 4), *l1 = xcalloc((size_t)(P * HW), 4);
    REQUIRE_OK(pcnn_model_forward(ctx, m, &b, pcnn_t4(l0, 1, P, 8, 8)));
    int leaks = 0, blind = 0;
    for (int64_t q = 0; q < HW; q++) {
        uint8_t keep[3];
        for (int64_t ch = 0; ch < C; ch++)
            keep[ch] = x[ch * HW + q], x[ch * HW + q] ^= 0x5a;
        REQUIRE_OK(pcnn_model_forward(ctx, m, &b, pcnn_t4(l1, 1, P, 8, 8)));
        int later = 0;
        for (int64_t k = 0; k < P; k++)
            for (int64_t p = 0; p < HW; p++) {
                int d = l0[k * HW + p] != l1[k * HW + p];
                leaks += d && p <= q;
                later |= d && p > q;
            }
        blind += !later && q < HW - 1;
        for (int64_t ch = 0; ch < C; ch++)
            x[ch * HW + q] = keep[ch];
    }
    CHECK(leaks == 0, "%d outputs at or before a changed pixel changed",
          leaks);
    CHECK(blind == 0, "%d pixels influenced no later output", blind);
    free(x), free(l0), free(l1);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

/* Central differences of the float loss against the analytic gradient on
 * a spread of parameters. Float32 limits this to a few percent; the twin
 * fixtures check every gradient element to 1e-4. */
static void fd_spot_check(int channels, int classes, int cond, float dropout,
                          int levels, int cond_net, int plain)
{
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_model_config c = tiny(channels);
    c.plain = plain; /* w = v: the gradient is dw, g has none */
    c.num_classes = classes;
    c.cond_channels = cond;
    c.dropout = dropout;
    c.nr_resolutions = 2;
    if (levels < 256) {
        c.head = PCNN_HEAD_CATEGORICAL;
        c.levels = levels;
    }
    if (cond_net) {
        c.cond_nr_resnet = 1;
        c.cond_nr_filters = 4;
        c.cond_down = cond_net >= 2; /* 2: a down-up stack */
        c.cond_nr_resnet = cond_net == 3 ? 3 : 1; /* 3: dilated 1, 2, 4 */
        c.cond_dilate = cond_net == 3;
    }
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_model_create(&m, &c, 4));
    const int64_t B = 2, HW = 64;
    uint8_t *x = random_images(B * channels * HW, 5);
    for (int64_t k = 0; k < B * channels * HW; k++)
        x[k] = (uint8_t)(x[k] % levels);
    int32_t labels[2] = {1, classes > 2 ? 2 : 0};
    float *cm = xcalloc((size_t)(B * (cond ? cond : 1) * HW), 4);
    fill_uniform_f32(cm, (size_t)(B * (cond ? cond : 1) * HW), 6, -1, 1);
    pcnn_batch b = {pcnn_img(x, B, channels, 8, 8), labels,
                    cond ? pcnn_t4(cm, B, cond, 8, 8) : pcnn_none()};
    REQUIRE_OK(pcnn_model_data_init(ctx, m, &b));
    size_t n;
    float *p = pcnn_model_params(m, &n);
    float *g = pcnn_model_grads(m, &n);
    /* make class_w and every bias matter */
    for (size_t k = 0; k < n; k++)
        p[k] += 0.02f * ((float)pcnn_uniform(7, k) - 0.5f);
    double loss;
    REQUIRE_OK(pcnn_model_loss(ctx, m, &b, 1, 99, &loss, NULL));
    REQUIRE_OK(pcnn_model_backward(ctx, m));
    float *ana = xcalloc(n, 4);
    memcpy(ana, g, n * 4);
    int bad = 0, checked = 0;
    for (size_t k = 0; k < n; k += n / 97 + 1) {
        const float eps = 1e-2f * fmaxf(1.0f, fabsf(p[k]));
        float keep = p[k];
        double up, down;
        p[k] = keep + eps;
        REQUIRE_OK(pcnn_model_loss(ctx, m, &b, 1, 99, &up, NULL));
        p[k] = keep - eps;
        REQUIRE_OK(pcnn_model_loss(ctx, m, &b, 1, 99, &down, NULL));
        p[k] = keep;
        double num = (up - down) / (2.0 * (double)eps);
        if (fabs(num - ana[k]) > 2e-3 + 0.05 * fabs(num)) {
            /* a strongly curved direction: a smaller step decides */
            const float e4 = eps / 4;
            p[k] = keep + e4;
            REQUIRE_OK(pcnn_model_loss(ctx, m, &b, 1, 99, &up, NULL));
            p[k] = keep - e4;
            REQUIRE_OK(pcnn_model_loss(ctx, m, &b, 1, 99, &down, NULL));
            p[k] = keep;
            num = (up - down) / (2.0 * (double)e4);
        }
        checked++;
        if (fabs(num - ana[k]) > 2e-3 + 0.05 * fabs(num)) {
            if (bad++ < 5)
                test_fail(__FILE__, __LINE__,
                          "param element %zu: analytic %.6g numeric %.6g", k,
                          (double)ana[k], num);
        }
    }
    CHECK(bad == 0,
          "%d of %d spot checks off (C=%d classes=%d cond=%d levels=%d "
          "cond_net=%d)",
          bad, checked, channels, classes, cond, levels, cond_net);
    free(x), free(cm), free(ana);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

TEST(model_gradient_spot_checks)
{
    fd_spot_check(3, 0, 0, 0.0f, 256, 0, 0);
    fd_spot_check(1, 3, 2, 0.0f, 256, 0, 0);
    fd_spot_check(3, 0, 0, 0.5f, 256, 0, 0); /* the same mask every call */
    /* a chain's stages: a 16-level categorical head; a conditioning
     * network over the map */
    fd_spot_check(1, 0, 0, 0.0f, 16, 0, 0);
    fd_spot_check(3, 0, 1, 0.0f, 256, 1, 0);
    fd_spot_check(3, 0, 1, 0.0f, 256, 2, 0);
    fd_spot_check(3, 0, 1, 0.0f, 256, 3, 0);
    /* plain weights (--param plain) */
    fd_spot_check(3, 0, 0, 0.0f, 256, 0, 1);
    fd_spot_check(3, 0, 1, 0.0f, 256, 2, 1);
}

TEST(model_rejects_bad_batches_and_configs)
{
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_model_config c = tiny(3);
    c.num_classes = 4;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    uint8_t x[3 * 64] = {0};
    int32_t bad_label[1] = {4};
    double loss;
    pcnn_batch b = {pcnn_img(x, 1, 3, 8, 8), NULL, pcnn_none()};
    CHECK(pcnn_model_loss(ctx, m, &b, 0, 0, &loss, NULL) == PCNN_ERR_ARG,
          "missing labels accepted");
    b.labels = bad_label;
    CHECK(pcnn_model_loss(ctx, m, &b, 0, 0, &loss, NULL) == PCNN_ERR_VALUE,
          "label 4 of 4 classes accepted");
    pcnn_batch wrong = {pcnn_img(x, 1, 3, 8, 4), bad_label, pcnn_none()};
    CHECK(pcnn_model_loss(ctx, m, &wrong, 0, 0, &loss, NULL) ==
              PCNN_ERR_SHAPE,
          "8x4 images accepted by an 8x8 model");
    CHECK(pcnn_model_backward(ctx, m) == PCNN_ERR_ARG,
          "backward without a training forward accepted");
    pcnn_model_free(m);
    pcnn_model_config bad = tiny(3);
    bad.height = 10; /* not divisible by 4 */
    CHECK(pcnn_model_create(&m, &bad, 1) == PCNN_ERR_ARG,
          "10x8 image with 3 resolutions accepted");
    bad = tiny(4); /* 1 gray, 2 Lab chroma, 3 RGB */
    CHECK(pcnn_model_create(&m, &bad, 1) == PCNN_ERR_ARG,
          "4 channels accepted");
    pcnn_ctx_free(ctx);
}
