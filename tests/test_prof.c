/*
 * test_prof.c -- the op-class profiler (src/core/prof.h): a known op
 * sequence is counted per class with the conv flops it did, the classes'
 * seconds add up to the time spent in the ops, nested sections report
 * self time, nothing is recorded while it is off, and turning it on
 * changes no bit of a training step or of sampling.
 */
#include "test.h"
#include "core/prof.h"
#include "pixelcnn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void spin(double seconds)
{
    const double t0 = wall_now();
    while (wall_now() - t0 < seconds) {
    }
}

typedef struct {
    float *x, *w, *b, *y, *e, *g;
    pcnn_tensor tx, tw, tb, ty, te, tg;
} op_bufs;

/* x (8,64,32,32), a 2x3 conv 64->64, elu of y, gate of y -> (8,32,..):
 * large enough that the ops, not the calls between them, take the time */
static void op_bufs_make(op_bufs *o)
{
    const int64_t B = 8, C = 64, H = 32, W = 32, n = B * C * H * W;
    o->x = xcalloc((size_t)n, sizeof(float));
    o->y = xcalloc((size_t)n, sizeof(float));
    o->e = xcalloc((size_t)n, sizeof(float));
    o->g = xcalloc((size_t)n / 2, sizeof(float));
    o->w = xcalloc((size_t)(C * C * 6), sizeof(float));
    o->b = xcalloc((size_t)C, sizeof(float));
    fill_uniform_f32(o->x, (size_t)n, 1, -1, 1);
    fill_uniform_f32(o->w, (size_t)(C * C * 6), 2, -0.1f, 0.1f);
    o->tx = pcnn_t4(o->x, B, C, H, W);
    o->ty = pcnn_t4(o->y, B, C, H, W);
    o->te = pcnn_t4(o->e, B, C, H, W);
    o->tg = pcnn_t4(o->g, B, C / 2, H, W);
    o->tw = pcnn_t4(o->w, C, C, 2, 3);
    o->tb = pcnn_t1(o->b, C);
}

static void op_bufs_free(op_bufs *o)
{
    free(o->x), free(o->w), free(o->b), free(o->y), free(o->e), free(o->g);
}

static const pcnn_prof_class conv_fwd[] = {
    PCNN_PROF_CONV_WINO, PCNN_PROF_CONV_IMPLICIT, PCNN_PROF_CONV_IM2COL};

TEST(prof_counts_known_ops)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    op_bufs o;
    op_bufs_make(&o);
    pcnn_conv_geom geom = pcnn_conv_geom_shifted(PCNN_DOWN, 2, 3, 1);
    /* the workspace and the kernels' buffers, outside the timed run */
    REQUIRE_OK(pcnn_conv2d_forward(ctx, o.ty, o.tx, o.tw, o.tb, &geom));
    pcnn_prof_reset();
    pcnn_prof_enable(1);
    const double t0 = wall_now();
    for (int k = 0; k < 3; k++)
        REQUIRE_OK(pcnn_conv2d_forward(ctx, o.ty, o.tx, o.tw, o.tb, &geom));
    for (int k = 0; k < 2; k++)
        REQUIRE_OK(pcnn_elu_forward(ctx, o.te, o.ty));
    REQUIRE_OK(pcnn_gate_forward(ctx, o.tg, o.ty));
    const double wall = wall_now() - t0;
    pcnn_prof_enable(0);
    pcnn_prof_entry e[PCNN_PROF_NCLASS];
    pcnn_prof_read(e);
    int64_t conv_calls = 0;
    double conv_flops = 0, sum = 0;
    for (size_t k = 0; k < sizeof conv_fwd / sizeof conv_fwd[0]; k++)
        conv_calls += e[conv_fwd[k]].calls,
            conv_flops += e[conv_fwd[k]].flops;
    CHECK(conv_calls == 3, "conv forward calls %lld, expected 3",
          (long long)conv_calls);
    const double direct = 3 * 2.0 * 8 * 64 * 32 * 32 * 64 * 6;
    CHECK(conv_flops == direct, "conv flops %.0f, expected %.0f",
          conv_flops, direct);
    CHECK(e[PCNN_PROF_ELU].calls == 2, "elu calls %lld",
          (long long)e[PCNN_PROF_ELU].calls);
    CHECK(e[PCNN_PROF_GATE].calls == 1, "gate calls %lld",
          (long long)e[PCNN_PROF_GATE].calls);
    int64_t total_calls = 0;
    for (int c = 0; c < PCNN_PROF_NCLASS; c++) {
        total_calls += e[c].calls;
        sum += e[c].seconds;
        CHECK(e[c].seconds >= 0, "%s: %g s", pcnn_prof_name(c),
              e[c].seconds);
    }
    /* the Winograd path adds its weight transform as a nested class */
    CHECK(total_calls == 6 + e[PCNN_PROF_WINO_WEIGHTS].calls,
          "%lld calls in all", (long long)total_calls);
    /* the ops are nearly all of the run: only argument checks between */
    CHECK(sum <= wall && sum >= 0.8 * wall,
          "classes sum to %.6f s of a %.6f s run", sum, wall);
    op_bufs_free(&o);
    pcnn_ctx_free(ctx);
}

TEST(prof_nested_self_time)
{
    pcnn_prof_reset();
    pcnn_prof_enable(1);
    const double t0 = wall_now();
    const double outer = pcnn_prof_begin();
    spin(0.004);
    const double inner = pcnn_prof_begin();
    spin(0.006);
    pcnn_prof_end(PCNN_PROF_GATE, inner, 5.0);
    pcnn_prof_end(PCNN_PROF_ELU, outer, 0.0);
    const double wall = wall_now() - t0;
    pcnn_prof_enable(0);
    pcnn_prof_entry e[PCNN_PROF_NCLASS];
    pcnn_prof_read(e);
    REQUIRE(e[PCNN_PROF_GATE].calls == 1 && e[PCNN_PROF_ELU].calls == 1,
            "calls %lld %lld", (long long)e[PCNN_PROF_GATE].calls,
            (long long)e[PCNN_PROF_ELU].calls);
    const double si = e[PCNN_PROF_GATE].seconds, so = e[PCNN_PROF_ELU].seconds;
    CHECK(si >= 0.006 && so >= 0.004, "inner %.6f s, outer self %.6f s", si,
          so);
    CHECK(si + so <= wall && si + so >= wall - 1e-3,
          "inner + outer self = %.6f s, the run %.6f s", si + so, wall);
    CHECK(e[PCNN_PROF_GATE].flops == 5.0 && e[PCNN_PROF_GATE].threads == 1,
          "flops %g threads %d", e[PCNN_PROF_GATE].flops,
          e[PCNN_PROF_GATE].threads);
}

TEST(prof_off_records_nothing)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    op_bufs o;
    op_bufs_make(&o);
    pcnn_prof_reset();
    pcnn_prof_enable(0);
    REQUIRE_OK(pcnn_elu_forward(ctx, o.te, o.tx));
    const double t = pcnn_prof_begin();
    pcnn_prof_end(PCNN_PROF_GATE, t, 1.0);
    pcnn_prof_entry e[PCNN_PROF_NCLASS];
    pcnn_prof_read(e);
    for (int c = 0; c < PCNN_PROF_NCLASS; c++)
        CHECK(e[c].calls == 0 && e[c].seconds == 0, "%s recorded %lld",
              pcnn_prof_name(c), (long long)e[c].calls);
    op_bufs_free(&o);
    pcnn_ctx_free(ctx);
}

/* Two training steps and a sample of a small model, profiled or not;
 * the weights after the steps into params, the sample into x. */
static int train_and_sample(int profiled, float **params, size_t *n,
                            uint8_t *x)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.height = c.width = 8;
    pcnn_dataset d = {0};
    d.n = 8, d.c = 3, d.h = d.w = 8;
    d.images = xcalloc(8 * 3 * 64, 1);
    for (int64_t i = 0; i < 8 * 3 * 64; i++)
        d.images[i] = (uint8_t)(pcnn_uniform(5, (uint64_t)i) * 256);
    pcnn_ctx *ctx = NULL;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 2};
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 4;
    int rc = 1;
    pcnn_prof_reset();
    pcnn_prof_enable(profiled);
    if (pcnn_ctx_create(&ctx, &co) == PCNN_OK &&
        pcnn_model_create(&m, &c, 1) == PCNN_OK &&
        pcnn_trainer_create(&t, m, &d, &o) == PCNN_OK &&
        pcnn_trainer_init(ctx, t) == PCNN_OK &&
        pcnn_trainer_step(ctx, t, NULL) == PCNN_OK &&
        pcnn_trainer_step(ctx, t, NULL) == PCNN_OK) {
        pcnn_model_sample_opts so = pcnn_model_sample_opts_default();
        so.seed = 3;
        if (pcnn_model_sample(ctx, m, pcnn_img(x, 4, 3, 8, 8), &so) ==
            PCNN_OK) {
            const float *p = pcnn_model_params(m, n);
            *params = xcalloc(*n, sizeof(float));
            memcpy(*params, p, *n * sizeof(float));
            rc = 0;
        }
    }
    pcnn_prof_enable(0);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    free(d.images);
    return rc;
}

TEST(prof_changes_no_bits)
{
    float *p0 = NULL, *p1 = NULL;
    size_t n0 = 0, n1 = 0;
    uint8_t x0[4 * 3 * 64], x1[4 * 3 * 64];
    memset(x0, 0, sizeof x0), memset(x1, 0, sizeof x1);
    REQUIRE(train_and_sample(0, &p0, &n0, x0) == 0, "%s",
            pcnn_last_error());
    REQUIRE(train_and_sample(1, &p1, &n1, x1) == 0, "%s",
            pcnn_last_error());
    pcnn_prof_entry e[PCNN_PROF_NCLASS];
    pcnn_prof_read(e);
    CHECK(e[PCNN_PROF_OPTIMIZER].calls == 2 &&
              e[PCNN_PROF_SAMPLE_GEMM].calls > 0,
          "the profiled run recorded %lld optimizer steps, %lld sampler "
          "GEMMs",
          (long long)e[PCNN_PROF_OPTIMIZER].calls,
          (long long)e[PCNN_PROF_SAMPLE_GEMM].calls);
    CHECK(n0 == n1 && n0 > 0 && memcmp(p0, p1, n0 * sizeof(float)) == 0,
          "the weights after two steps differ with the profiler on");
    CHECK(memcmp(x0, x1, sizeof x0) == 0,
          "the samples differ with the profiler on");
    free(p0), free(p1);
}
