/*
 * test_param.c -- the layer parameterizations and inits of the config
 * (plain, init; docs/training.md): a plain model's data-dependent init
 * gives the weight-normalized model's outputs, g stays ||v|| through
 * training and checkpoints, the uniform init keeps PyTorch's bounds, a
 * plain run resumes exactly, and a new run's config is plain and uniform
 * (pcnn_train_config_default). (The gradient: test_model.c's spot
 * checks.)
 */
#include "test.h"
#include "data_util.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pcnn_model_config small(int plain, int init)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 3, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 6, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0, c.plain = plain, c.init = init;
    return c;
}

/* A new run's config (pixelcnn train, the Python train()) is the paper's
 * model with plain weights and the uniform init; the model default keeps
 * PixelCNN++'s recipe, as files without the keys read. */
TEST(param_train_default_is_plain_uniform)
{
    pcnn_model_config m = pcnn_model_config_default();
    const pcnn_model_config t = pcnn_train_config_default();
    CHECK(m.plain == 0 && m.init == 0, "model default: plain %d init %d",
          m.plain, m.init);
    CHECK(t.plain == 1 && t.init == 1, "train default: plain %d init %d",
          t.plain, t.init);
    m.plain = m.init = 1;
#define SAME_(type, name, lo, hi, old, flag, help)                            \
    CHECK(m.name == t.name, "train default: " #name " is not the model's");
    PCNN_MODEL_CONFIG_FIELDS(SAME_)
#undef SAME_
    CHECK(!memcmp(&m.view, &t.view, sizeof m.view) &&
              !memcmp(&m.cond_view, &t.cond_view, sizeof m.cond_view),
          "train default: the views are not the model's");
}

static pcnn_dataset images(int64_t n)
{
    pcnn_dataset d = {0};
    d.n = n, d.c = 3, d.h = 8, d.w = 8;
    d.images = xcalloc((size_t)(n * 192), 1);
    for (int64_t k = 0; k < n * 192; k++)
        d.images[k] = (uint8_t)(80 + 60 * sin(0.3 * (double)(k % 192)) +
                                40 * pcnn_uniform(3, (uint64_t)k));
    return d;
}

/* 1 for a layer's v (name.v; its g and b follow it in the table) */
static int is_direction(const char *name)
{
    const size_t len = strlen(name);
    return len >= 2 && !strcmp(name + len - 2, ".v");
}

/* The largest |g - ||v||| over every layer's output channels of the
 * model's parameters, relative to ||v||; *layers = the layers seen. */
static double norm_gap(const pcnn_model *m, int *layers)
{
    double worst = 0;
    *layers = 0;
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        const char *name = pcnn_model_param_name(m, i);
        if (!is_direction(name))
            continue;
        pcnn_tensor v = pcnn_model_param(m, i), g = pcnn_model_param(m, i + 1);
        /* a transposed conv's output channel is v's dim 1 (docs/model.md) */
        const int deconv = strstr(name, "_up.") != NULL;
        const int64_t A = deconv ? v.dim[0] : 1, O = g.dim[0];
        const int64_t R = pcnn_numel(v) / (A * O);
        for (int64_t o = 0; o < O; o++) {
            double sq = 0;
            for (int64_t a = 0; a < A; a++)
                for (int64_t r = 0; r < R; r++) {
                    const double e = v.data[(a * O + o) * R + r];
                    sq += e * e;
                }
            const double gap = fabs(g.data[o] - sqrt(sq)) / sqrt(sq);
            worst = gap > worst ? gap : worst;
        }
        (*layers)++;
    }
    return worst;
}

TEST(param_plain_data_init_gives_the_weightnorm_outputs)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_dataset d = images(4);
    pcnn_batch b = {pcnn_img(d.images, 4, 3, 8, 8), NULL, pcnn_none()};
    pcnn_model *wn, *pl;
    pcnn_model_config cw = small(0, 0), cp = small(1, 0);
    REQUIRE_OK(pcnn_model_create(&wn, &cw, 7));
    REQUIRE_OK(pcnn_model_create(&pl, &cp, 7));
    REQUIRE_OK(pcnn_model_data_init(ctx, wn, &b));
    REQUIRE_OK(pcnn_model_data_init(ctx, pl, &b));
    double lw, lp;
    REQUIRE_OK(pcnn_model_loss(ctx, wn, &b, 0, 0, &lw, NULL));
    REQUIRE_OK(pcnn_model_loss(ctx, pl, &b, 0, 0, &lp, NULL));
    CHECK(fabs(lw - lp) < 1e-4 * lw, "loss %.7f (weight norm) vs %.7f "
                                     "(plain)", lw, lp);
    int layers;
    const double gap = norm_gap(pl, &layers);
    CHECK(layers > 10 && gap < 1e-5, "plain: g off ||v|| by %.3g (%d "
                                     "layers)", gap, layers);
    /* the weight-normalized model's g are the data's scales, not ||v|| */
    CHECK(norm_gap(wn, &layers) > 0.1, "weight norm: g = ||v|| already");
    pcnn_model_free(wn), pcnn_model_free(pl);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
}

TEST(param_uniform_init_keeps_pytorch_bounds)
{
    pcnn_model *m;
    pcnn_model_config c = small(0, 1);
    REQUIRE_OK(pcnn_model_create(&m, &c, 3));
    int checked = 0, bad = 0;
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        const char *name = pcnn_model_param_name(m, i);
        if (!is_direction(name))
            continue;
        pcnn_tensor v = pcnn_model_param(m, i);
        pcnn_tensor bias = pcnn_model_param(m, i + 2);
        const double bound = 1.0 / sqrt((double)(pcnn_numel(v) / v.dim[0]));
        double vmax = 0, bmax = 0;
        for (int64_t k = 0; k < pcnn_numel(v); k++)
            vmax = fmax(vmax, fabs(v.data[k]));
        for (int64_t k = 0; k < pcnn_numel(bias); k++)
            bmax = fmax(bmax, fabs(bias.data[k]));
        /* within the bound, and filling it (not a narrower draw) */
        if (!(vmax <= bound && vmax > 0.8 * bound && bmax <= bound &&
              bmax > 0))
            if (bad++ < 3)
                test_fail(__FILE__, __LINE__, "%s: max |v| %.4f, |b| %.4f, "
                          "bound %.4f", name, vmax, bmax, bound);
        checked++;
    }
    CHECK(checked > 10 && bad == 0, "%d of %d layers off", bad, checked);
    int layers;
    CHECK(norm_gap(m, &layers) < 1e-6, "g != ||v|| after the uniform init");
    pcnn_model_free(m);
}

/* Trains a plain, uniform-init model 5 steps, saving after 2; a model
 * and trainer loaded from the file go on to the same weights, and g stays
 * ||v|| in the weights and the EMA. */
TEST(param_plain_checkpoint_resumes_exactly)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_dataset d = images(24);
    pcnn_model_config c = small(1, 1);
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 8, o.lr = 3e-3f;
    pcnn_model *a, *b;
    pcnn_trainer *ta, *tb;
    REQUIRE_OK(pcnn_model_create(&a, &c, 5));
    REQUIRE_OK(pcnn_trainer_create(&ta, a, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, ta));
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    const char *path = path_in(0, dir, "plain.safetensors");
    for (int i = 0; i < 5; i++) {
        if (i == 2)
            REQUIRE_OK(pcnn_checkpoint_save(path, a, ta));
        REQUIRE_OK(pcnn_trainer_step(ctx, ta, NULL));
    }
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &b));
    const pcnn_model_config *cb = pcnn_model_get_config(b);
    CHECK(cb->plain == 1 && cb->init == 1, "loaded plain %d init %d",
          cb->plain, cb->init);
    REQUIRE_OK(pcnn_checkpoint_load_trainer(path, b, &d, &tb));
    for (int i = 2; i < 5; i++)
        REQUIRE_OK(pcnn_trainer_step(ctx, tb, NULL));
    size_t n, nb;
    float *pa = pcnn_model_params(a, &n), *pb = pcnn_model_params(b, &nb);
    CHECK(n == nb && memcmp(pa, pb, n * sizeof(float)) == 0,
          "weights differ after resuming");
    int layers;
    CHECK(norm_gap(a, &layers) < 1e-6, "g != ||v|| after training");
    pcnn_trainer_swap_ema(ta);
    CHECK(norm_gap(a, &layers) < 1e-6, "EMA: g != ||v||");
    pcnn_trainer_free(ta), pcnn_trainer_free(tb);
    pcnn_model_free(a), pcnn_model_free(b);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
    unlink(path);
    rmdir(dir);
}
