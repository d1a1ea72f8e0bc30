/*
 * test_model_twin.c -- the whole PixelCNN++ network against the PyTorch
 * twin (python/pixelcnn/torch_net.py, fixtures from
 * twin/make_model_fixtures.py): the head parameters l, the bits/dim, the
 * gradient of every parameter, and data-dependent initialization.
 * References are float64 autograd from the same float32 parameters.
 */
#include "test.h"
#include "pixelcnn.h"
#include "../src/io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static pcnn_st_file *open_fixture(const char *name)
{
    const char *dir = getenv("PCNN_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors",
             dir ? dir : "tests/fixtures", name);
    pcnn_st_file *f = NULL;
    if (pcnn_st_load(path, &f) != PCNN_OK)
        test_fail(__FILE__, __LINE__, "%s (regenerate: /usr/bin/python3 "
                                      "twin/make_model_fixtures.py)",
                  pcnn_last_error());
    return f;
}

static int meta_int(const pcnn_st_file *f, const char *key)
{
    const char *v = pcnn_st_meta(f, key);
    return v ? atoi(v) : -1;
}

/* A model with the fixture's config and parameters. */
static pcnn_model *model_from(const pcnn_st_file *f)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = meta_int(f, "channels");
    c.height = meta_int(f, "height"), c.width = meta_int(f, "width");
    c.nr_resnet = meta_int(f, "nr_resnet");
    c.nr_filters = meta_int(f, "nr_filters");
    c.nr_mix = meta_int(f, "nr_mix");
    c.nr_resolutions = meta_int(f, "nr_resolutions");
    c.dropout = 0;
    c.num_classes = meta_int(f, "num_classes");
    c.cond_channels = meta_int(f, "cond_channels");
    pcnn_model *m;
    if (pcnn_model_create(&m, &c, 0) != PCNN_OK) {
        test_fail(__FILE__, __LINE__, "model: %s", pcnn_last_error());
        return NULL;
    }
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        const char *name = pcnn_model_param_name(m, i);
        const pcnn_st_tensor *t = pcnn_st_find(f, name);
        pcnn_tensor p = pcnn_model_param(m, i);
        if (!t || pcnn_st_copy_f32(f, t, p.data, (size_t)pcnn_numel(p))) {
            test_fail(__FILE__, __LINE__, "parameter %s missing or of "
                                          "another size in the fixture",
                      name);
            pcnn_model_free(m);
            return NULL;
        }
    }
    return m;
}

static float *tensor_f32(const pcnn_st_file *f, const char *name, size_t n)
{
    const pcnn_st_tensor *t = pcnn_st_find(f, name);
    float *out = xcalloc(n ? n : 1, sizeof(float));
    if (!t || pcnn_st_copy_f32(f, t, out, n) != PCNN_OK)
        test_fail(__FILE__, __LINE__, "fixture tensor %s: %s", name,
                  t ? pcnn_last_error() : "missing");
    return out;
}

static void check_model_fixture(const char *fixture)
{
    pcnn_st_file *f = open_fixture(fixture);
    if (!f)
        return;
    pcnn_model *m = model_from(f);
    pcnn_ctx *ctx;
    if (!m || pcnn_ctx_create(&ctx, NULL) != PCNN_OK) {
        pcnn_model_free(m);
        pcnn_st_free(f);
        return;
    }
    const pcnn_model_config *c = pcnn_model_get_config(m);
    const pcnn_st_tensor *tx = pcnn_st_find(f, "x");
    const pcnn_st_tensor *tl = pcnn_st_find(f, "labels");
    REQUIRE(tx && tx->dtype == PCNN_ST_U8, "fixture x");
    int64_t B = tx->shape[0], HW = c->height * c->width;
    int P = pcnn_head_params(&(pcnn_head){PCNN_HEAD_DMOL, c->channels,
                                          c->nr_mix, 256});
    float *cond = c->cond_channels
                      ? tensor_f32(f, "cond",
                                   (size_t)(B * c->cond_channels * HW))
                      : NULL;
    pcnn_batch b = {pcnn_img((uint8_t *)tx->data, B, c->channels, c->height,
                             c->width),
                    tl ? (const int32_t *)tl->data : NULL,
                    cond ? pcnn_t4(cond, B, c->cond_channels, c->height,
                                   c->width)
                         : pcnn_none()};
    size_t nl = (size_t)(B * P * HW);
    float *l = xcalloc(nl, sizeof(float)), *lref = tensor_f32(f, "l", nl);
    REQUIRE_OK(pcnn_model_forward(ctx, m, &b, pcnn_t4(l, B, P, c->height,
                                                      c->width)));
    /* float32 through ~40 layers: the twin's own float32 estimate of the
     * error of l is ~1e-6 */
    CHECK_CLOSE("l", l, lref, nl, 2e-5, 1e-4);
    double bpd;
    float bref;
    REQUIRE_OK(pcnn_st_copy_f32(f, pcnn_st_find(f, "bpd"), &bref, 1));
    REQUIRE_OK(pcnn_model_loss(ctx, m, &b, 1, 0, &bpd, NULL));
    CHECK(fabs(bpd - bref) < 1e-4, "bits/dim %.7f, twin %.7f", bpd,
          (double)bref);
    REQUIRE_OK(pcnn_model_backward(ctx, m));
    int bad = 0;
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        char name[128];
        snprintf(name, sizeof name, "grad.%s", pcnn_model_param_name(m, i));
        pcnn_tensor g = pcnn_model_grad(m, i);
        size_t n = (size_t)pcnn_numel(g);
        float *ref = tensor_f32(f, name, n);
        /* the twin estimates float32 errors of a few 1e-4 on its largest
         * gradients (values ~10-100): rtol 1e-3 */
        if (!CHECK_CLOSE(name, g.data, ref, n, 2e-4, 1e-3))
            bad++;
        free(ref);
    }
    CHECK(bad == 0, "%d of %d parameter gradients differ", bad,
          pcnn_model_param_count(m));
    free(l), free(lref), free(cond);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_st_free(f);
}

TEST(model_twin_rgb)
{
    check_model_fixture("model_tiny");
}

TEST(model_twin_gray_class_and_condition_map)
{
    check_model_fixture("model_tiny_cond");
}

TEST(model_twin_data_init)
{
    pcnn_st_file *f = open_fixture("model_tiny_init");
    if (!f)
        return;
    pcnn_model *m = model_from(f); /* v from the fixture; g, b reset */
    pcnn_ctx *ctx;
    REQUIRE(m, "model");
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    const pcnn_model_config *c = pcnn_model_get_config(m);
    const pcnn_st_tensor *tx = pcnn_st_find(f, "x");
    REQUIRE(tx, "fixture x");
    pcnn_batch b = {pcnn_img((uint8_t *)tx->data, tx->shape[0], c->channels,
                             c->height, c->width),
                    NULL, pcnn_none()};
    REQUIRE_OK(pcnn_model_data_init(ctx, m, &b));
    int bad = 0, checked = 0;
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        const char *name = pcnn_model_param_name(m, i);
        size_t len = strlen(name);
        if (strcmp(name + len - 2, ".g") && strcmp(name + len - 2, ".b"))
            continue;
        pcnn_tensor p = pcnn_model_param(m, i);
        size_t n = (size_t)pcnn_numel(p);
        float *ref = tensor_f32(f, name, n);
        if (!CHECK_CLOSE(name, p.data, ref, n, 1e-5, 1e-4))
            bad++;
        checked++;
        free(ref);
    }
    CHECK(checked > 0 && bad == 0, "%d of %d g/b tensors differ", bad,
          checked);
    /* a forward pass after init gives the init pass's output */
    int P = 10 * c->nr_mix;
    size_t nl = (size_t)(tx->shape[0] * P * c->height * c->width);
    float *l = xcalloc(nl, sizeof(float)), *lref = tensor_f32(f, "l", nl);
    REQUIRE_OK(pcnn_model_forward(ctx, m, &b,
                                  pcnn_t4(l, tx->shape[0], P, c->height,
                                          c->width)));
    CHECK_CLOSE("l after init", l, lref, nl, 2e-5, 1e-4);
    free(l), free(lref);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_st_free(f);
}
