/*
 * test_ops.c -- shifts, activations, gate, add, dropout and weight norm:
 * finite-difference gradients of the double kernels, exact properties of
 * the float API, and argument errors.
 */
#include "gradcheck.h"
#include "core/internal.h" /* pcnn_dropout_forward_at */
#include "kernels.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A unary op y = f(x) with x (B,C,H,W) and y (B,C*ymul,H,W), in double. */
typedef enum { OP_DOWN, OP_RIGHT, OP_ELU, OP_CELU, OP_GATE, OP_DROP } unary_op;

typedef struct {
    unary_op op;
    int64_t B, C, H, W; /* of x */
    double *x, *y, *r;
    size_t nx, ny;
} unary_case;

static void unary_forward(unary_case *u)
{
    int64_t HW = u->H * u->W;
    switch (u->op) {
    case OP_DOWN:
        pcnn_cpu_down_shift_forward_f64(u->y, u->x, u->B, u->C, u->H, u->W);
        break;
    case OP_RIGHT:
        pcnn_cpu_right_shift_forward_f64(u->y, u->x, u->B, u->C, u->H, u->W);
        break;
    case OP_ELU:
        pcnn_cpu_elu_forward_f64(u->y, u->x, (int64_t)u->nx);
        break;
    case OP_CELU:
        pcnn_cpu_concat_elu_forward_f64(u->y, u->x, u->B, u->C, HW);
        break;
    case OP_GATE: /* x has 2C' channels, y C' */
        pcnn_cpu_gate_forward_f64(u->y, u->x, u->B, u->C / 2, HW);
        break;
    case OP_DROP:
        pcnn_cpu_dropout_forward_f64(u->y, u->x, (int64_t)u->nx, 0.3, 77, 0);
        break;
    }
}

static void unary_backward(unary_case *u, double *dx)
{
    int64_t HW = u->H * u->W;
    switch (u->op) {
    case OP_DOWN:
        pcnn_cpu_down_shift_backward_f64(dx, u->r, u->B, u->C, u->H, u->W);
        break;
    case OP_RIGHT:
        pcnn_cpu_right_shift_backward_f64(dx, u->r, u->B, u->C, u->H, u->W);
        break;
    case OP_ELU:
        pcnn_cpu_elu_backward_f64(dx, u->r, u->x, (int64_t)u->nx);
        break;
    case OP_CELU:
        pcnn_cpu_concat_elu_backward_f64(dx, u->r, u->x, u->B, u->C, HW);
        break;
    case OP_GATE:
        pcnn_cpu_gate_backward_f64(dx, u->r, u->x, u->B, u->C / 2, HW);
        break;
    case OP_DROP:
        pcnn_cpu_dropout_backward_f64(dx, u->r, (int64_t)u->nx, 0.3, 77, 0);
        break;
    }
}

static double unary_loss(void *arg)
{
    unary_case *u = arg;
    unary_forward(u);
    return dot64(u->y, u->r, u->ny);
}

static void check_unary(const char *name, unary_op op, double ymul)
{
    unary_case u = {op, 2, 4, 3, 5, NULL, NULL, NULL, 0, 0};
    u.nx = (size_t)(u.B * u.C * u.H * u.W);
    u.ny = (size_t)((double)u.nx * ymul);
    u.x = xcalloc(u.nx, sizeof(double));
    u.y = xcalloc(u.ny, sizeof(double));
    u.r = xcalloc(u.ny, sizeof(double));
    fill_uniform_f64(u.x, u.nx, 21, -2, 2);
    /* keep inputs away from elu's kink at 0, where FD is meaningless */
    for (size_t i = 0; i < u.nx; i++)
        if (fabs(u.x[i]) < 0.05)
            u.x[i] = 0.3;
    fill_uniform_f64(u.r, u.ny, 22, -1, 1);
    double *dx = xcalloc(u.nx, sizeof *dx);
    /* the gradient accumulates: start from a known value */
    for (size_t i = 0; i < u.nx; i++)
        dx[i] = 0.25;
    unary_backward(&u, dx);
    for (size_t i = 0; i < u.nx; i++)
        dx[i] -= 0.25;
    GRADCHECK(name, u.x, u.nx, dx, unary_loss, &u);
    free(u.x), free(u.y), free(u.r), free(dx);
}

TEST(ops_gradcheck_pointwise)
{
    check_unary("down_shift", OP_DOWN, 1);
    check_unary("right_shift", OP_RIGHT, 1);
    check_unary("elu", OP_ELU, 1);
    check_unary("concat_elu", OP_CELU, 2);
    check_unary("gate", OP_GATE, 0.5);
    check_unary("dropout", OP_DROP, 1);
}

TEST(ops_shift_values)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    float x[2 * 3 * 4], y[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i + 1);
    pcnn_tensor tx = pcnn_t4(x, 1, 2, 3, 4), ty = pcnn_t4(y, 1, 2, 3, 4);
    REQUIRE_OK(pcnn_down_shift_forward(ctx, ty, tx));
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                float want = i == 0 ? 0 : x[c * 12 + (i - 1) * 4 + j];
                CHECK(y[c * 12 + i * 4 + j] == want, "down_shift [%d,%d,%d]",
                      c, i, j);
            }
    REQUIRE_OK(pcnn_right_shift_forward(ctx, ty, tx));
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                float want = j == 0 ? 0 : x[c * 12 + i * 4 + j - 1];
                CHECK(y[c * 12 + i * 4 + j] == want,
                      "right_shift [%d,%d,%d]", c, i, j);
            }
    pcnn_ctx_free(ctx);
}

/* y = x + y in place, and the add's gradient reaches both inputs. */
TEST(ops_add_aliasing_and_backward)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    float a[8], b[8], da[8] = {0}, db[8], dy[8];
    for (int i = 0; i < 8; i++)
        a[i] = (float)i, b[i] = 10.0f * (float)i, dy[i] = (float)(i - 3),
        db[i] = 1;
    pcnn_tensor ta = pcnn_t4(a, 1, 2, 2, 2), tb = pcnn_t4(b, 1, 2, 2, 2);
    REQUIRE_OK(pcnn_add_forward(ctx, ta, ta, tb));
    for (int i = 0; i < 8; i++)
        CHECK(a[i] == 11.0f * (float)i, "add in place [%d] = %g", i,
              (double)a[i]);
    pcnn_tensor tda = pcnn_t4(da, 1, 2, 2, 2), tdb = pcnn_t4(db, 1, 2, 2, 2);
    REQUIRE_OK(pcnn_add_backward(ctx, tda, tdb, pcnn_t4(dy, 1, 2, 2, 2)));
    for (int i = 0; i < 8; i++)
        CHECK(da[i] == dy[i] && db[i] == 1 + dy[i], "add backward [%d]", i);
    pcnn_ctx_free(ctx);
}

/* Dropout keeps about 1-p of the elements, scales them by 1/(1-p), is a
 * function of the seed only, and its backward applies the same mask. */
TEST(ops_dropout_mask)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    enum { N = 4 * 8 * 32 * 32 };
    float *x = xcalloc(N, sizeof *x), *y = xcalloc(N, sizeof *y);
    float *y2 = xcalloc(N, sizeof *y2), *dx = xcalloc(N, sizeof *dx);
    for (int i = 0; i < N; i++)
        x[i] = 1.0f;
    pcnn_tensor tx = pcnn_t4(x, 4, 8, 32, 32), ty = pcnn_t4(y, 4, 8, 32, 32);
    pcnn_tensor ty2 = pcnn_t4(y2, 4, 8, 32, 32);
    REQUIRE_OK(pcnn_dropout_forward(ctx, ty, tx, 0.5f, 1234));
    REQUIRE_OK(pcnn_dropout_forward(ctx, ty2, tx, 0.5f, 1234));
    CHECK(memcmp(y, y2, N * sizeof *y) == 0, "same seed, different mask");
    int kept = 0, scaled = 1;
    for (int i = 0; i < N; i++) {
        kept += y[i] != 0;
        if (y[i] != 0 && y[i] != 2.0f)
            scaled = 0;
    }
    /* binomial(32768, 0.5): sd 90.5, allow 5 sd */
    CHECK(abs(kept - N / 2) < 453, "kept %d of %d at p=0.5", kept, N);
    CHECK(scaled, "kept elements not scaled by 1/(1-p)");
    REQUIRE_OK(pcnn_dropout_forward(ctx, ty2, tx, 0.5f, 1235));
    CHECK(memcmp(y, y2, N * sizeof *y) != 0, "seeds 1234 and 1235 agree");
    REQUIRE_OK(pcnn_dropout_backward(ctx, pcnn_t4(dx, 4, 8, 32, 32), tx, 0.5f,
                                     1234));
    CHECK(memcmp(y, dx, N * sizeof *y) == 0,
          "backward mask differs from forward");
    /* images 2..3 alone, at their offset: the masks of the whole batch */
    const int64_t img = 8 * 32 * 32;
    REQUIRE_OK(pcnn_dropout_forward_at(ctx, pcnn_t4(y2, 2, 8, 32, 32),
                                       pcnn_t4(x, 2, 8, 32, 32), 0.5f, 1234,
                                       2 * img));
    CHECK(memcmp(y + 2 * img, y2, 2 * img * sizeof *y) == 0,
          "a shard at its offset does not get the batch's masks");
    memset(dx, 0, N * sizeof *dx);
    REQUIRE_OK(pcnn_dropout_backward_at(ctx, pcnn_t4(dx, 2, 8, 32, 32),
                                        pcnn_t4(x, 2, 8, 32, 32), 0.5f, 1234,
                                        2 * img));
    CHECK(memcmp(y + 2 * img, dx, 2 * img * sizeof *y) == 0,
          "a shard's backward masks differ from the batch's");
    CHECK(pcnn_dropout_forward(ctx, ty, tx, 1.0f, 1) == PCNN_ERR_ARG,
          "p = 1 accepted");
    CHECK(pcnn_dropout_forward(ctx, ty, tx, NAN, 1) == PCNN_ERR_ARG,
          "p = NaN accepted");
    free(x), free(y), free(y2), free(dx);
    pcnn_ctx_free(ctx);
}

/* Runs a conv forward and backward on a context of `threads` threads into
 * out[0] = y, out[1] = dx, out[2] = dw. */
static void conv_run(int threads, float *out[3], const float *x,
                     const float *w, const float *dy)
{
    const int64_t B = 4, Ci = 64, Co = 32, H = 16;
    pcnn_conv_geom g = pcnn_conv_geom_shifted(PCNN_DOWN, 2, 3, 1);
    pcnn_tensor tx = pcnn_t4((float *)x, B, Ci, H, H);
    pcnn_tensor tw = pcnn_t4((float *)w, Co, Ci, 2, 3);
    pcnn_ctx *ctx;
    pcnn_ctx_opts o = {PCNN_BACKEND_CPU, threads};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &o));
    memset(out[1], 0, (size_t)(B * Ci * H * H) * 4);
    memset(out[2], 0, (size_t)(Co * Ci * 6) * 4);
    REQUIRE_OK(pcnn_conv2d_forward(ctx, pcnn_t4(out[0], B, Co, H, H), tx, tw,
                                   pcnn_none(), &g));
    REQUIRE_OK(pcnn_conv2d_backward(
        ctx, pcnn_t4(out[1], B, Ci, H, H), pcnn_t4(out[2], Co, Ci, 2, 3),
        pcnn_none(), pcnn_t4((float *)dy, B, Co, H, H), tx, tw, &g));
    pcnn_ctx_free(ctx);
}

/* Bit-identical when repeated on the same thread count; across thread
 * counts only float rounding differs (OpenBLAS splits its GEMMs by the
 * thread count, so bitwise equality there is not on offer). */
TEST(ops_results_reproducible)
{
    const int64_t B = 4, Ci = 64, Co = 32, H = 16;
    size_t n[3] = {(size_t)(B * Co * H * H), (size_t)(B * Ci * H * H),
                   (size_t)(Co * Ci * 6)};
    float *x = xcalloc(n[1], 4), *w = xcalloc(n[2], 4), *dy = xcalloc(n[0], 4);
    float *out[3][3];
    fill_uniform_f32(x, n[1], 1, -1, 1);
    fill_uniform_f32(w, n[2], 2, -1, 1);
    fill_uniform_f32(dy, n[0], 3, -1, 1);
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++)
            out[k][j] = xcalloc(n[j], 4);
    conv_run(2, out[0], x, w, dy);
    conv_run(2, out[1], x, w, dy);
    conv_run(1, out[2], x, w, dy);
    static const char *names[3] = {"y", "dx", "dw"};
    for (int j = 0; j < 3; j++) {
        CHECK(memcmp(out[0][j], out[1][j], n[j] * 4) == 0,
              "conv %s differs between two runs on 2 threads", names[j]);
        CHECK_CLOSE(names[j], out[2][j], out[0][j], n[j], 1e-4, 1e-5);
    }
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++)
            free(out[k][j]);
    free(x), free(w), free(dy);
}

/* ---------------------------------------------------------- weight norm */

typedef struct {
    int64_t A, O, R;
    double *v, *g, *w, *r;
    size_t n;
} wn_case;

static double wn_loss(void *arg)
{
    wn_case *c = arg;
    pcnn_cpu_weightnorm_forward_f64(c->w, c->v, c->g, c->A, c->O, c->R);
    return dot64(c->w, c->r, c->n);
}

static void check_wn(const char *name, int64_t A, int64_t O, int64_t R)
{
    wn_case c = {A, O, R, NULL, NULL, NULL, NULL, (size_t)(A * O * R)};
    c.v = xcalloc(c.n, sizeof(double)), c.w = xcalloc(c.n, sizeof(double));
    c.r = xcalloc(c.n, sizeof(double)), c.g = xcalloc((size_t)O, 8);
    fill_uniform_f64(c.v, c.n, 31, -1, 1);
    fill_uniform_f64(c.g, (size_t)O, 32, 0.5, 2);
    fill_uniform_f64(c.r, c.n, 33, -1, 1);
    double *dv = xcalloc(c.n, sizeof *dv), *dg = xcalloc((size_t)O, 8);
    wn_loss(&c);
    pcnn_cpu_weightnorm_backward_f64(dv, dg, c.r, c.v, c.g, A, O, R);
    char what[64];
    snprintf(what, sizeof what, "%s dv", name);
    GRADCHECK(what, c.v, c.n, dv, wn_loss, &c);
    snprintf(what, sizeof what, "%s dg", name);
    GRADCHECK(what, c.g, (size_t)O, dg, wn_loss, &c);
    wn_loss(&c); /* w of the unperturbed v, g */
    /* each output channel of w has norm g[o] */
    for (int64_t o = 0; o < O; o++) {
        double s = 0;
        for (int64_t a = 0; a < A; a++)
            for (int64_t k = 0; k < R; k++)
                s += c.w[(a * O + o) * R + k] * c.w[(a * O + o) * R + k];
        CHECK(fabs(sqrt(s) - c.g[o]) < 1e-12, "%s: ||w[%lld]|| = %g != g %g",
              name, (long long)o, sqrt(s), c.g[o]);
    }
    free(c.v), free(c.w), free(c.r), free(c.g), free(dv), free(dg);
}

TEST(ops_gradcheck_weightnorm)
{
    check_wn("conv (Co,Ci,kh,kw)", 1, 5, 3 * 2 * 3);
    check_wn("deconv (Ci,Co,kh,kw)", 3, 5, 2 * 3);
    check_wn("nin (Co,Ci)", 1, 4, 7);
}

/* After data init the layer's outputs have mean 0 and standard deviation
 * `scale` per channel, and g, b reproduce them through the layer. */
TEST(ops_weightnorm_data_init)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    const int64_t B = 4, Ci = 6, Co = 5, H = 8;
    size_t nx = (size_t)(B * Ci * H * H), nw = (size_t)(Co * Ci * 6);
    size_t ny = (size_t)(B * Co * H * H);
    float *x = xcalloc(nx, 4), *v = xcalloc(nw, 4), *w = xcalloc(nw, 4);
    float *y = xcalloc(ny, 4), *y2 = xcalloc(ny, 4);
    float g[5], b[5] = {0};
    fill_uniform_f32(x, nx, 41, -1, 2);
    fill_uniform_f32(v, nw, 42, -0.1f, 0.1f);
    for (int o = 0; o < Co; o++)
        g[o] = 1;
    pcnn_conv_geom geo = pcnn_conv_geom_shifted(PCNN_DOWN, 2, 3, 1);
    pcnn_tensor tv = pcnn_t4(v, Co, Ci, 2, 3), tw = pcnn_t4(w, Co, Ci, 2, 3);
    pcnn_tensor tx = pcnn_t4(x, B, Ci, H, H), ty = pcnn_t4(y, B, Co, H, H);
    REQUIRE_OK(pcnn_weightnorm_forward(ctx, tw, tv, pcnn_t1(g, Co),
                                       PCNN_WN_DIM0));
    REQUIRE_OK(pcnn_conv2d_forward(ctx, ty, tx, tw, pcnn_none(), &geo));
    REQUIRE_OK(pcnn_weightnorm_data_init(ctx, pcnn_t1(g, Co), pcnn_t1(b, Co),
                                         ty, 0.1f));
    for (int64_t o = 0; o < Co; o++) {
        double s = 0, s2 = 0, n = (double)(B * H * H);
        for (int64_t k = 0; k < B; k++)
            for (int64_t i = 0; i < H * H; i++) {
                double val = y[(k * Co + o) * H * H + i];
                s += val, s2 += val * val;
            }
        double mean = s / n, sd = sqrt(s2 / n - mean * mean);
        CHECK(fabs(mean) < 1e-5 && fabs(sd - 0.1) < 1e-4,
              "channel %lld: mean %g sd %g after init", (long long)o, mean,
              sd);
    }
    /* the initialized layer computes the rewritten y */
    REQUIRE_OK(pcnn_weightnorm_forward(ctx, tw, tv, pcnn_t1(g, Co),
                                       PCNN_WN_DIM0));
    REQUIRE_OK(pcnn_conv2d_forward(ctx, pcnn_t4(y2, B, Co, H, H), tx, tw,
                                   pcnn_t1(b, Co), &geo));
    CHECK_CLOSE("layer after init", y2, y, ny, 1e-5, 1e-4);
    CHECK(pcnn_weightnorm_data_init(ctx, pcnn_t1(g, Co), pcnn_t1(b, Co), ty,
                                    0.0f) == PCNN_ERR_ARG,
          "scale 0 accepted");
    CHECK(pcnn_weightnorm_forward(ctx, tw, tv, pcnn_t1(g, Co - 1),
                                  PCNN_WN_DIM0) == PCNN_ERR_SHAPE,
          "g of the wrong length accepted");
    free(x), free(v), free(w), free(y), free(y2);
    pcnn_ctx_free(ctx);
}

TEST(ops_api_rejects_bad_shapes)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    float buf[256] = {0};
    pcnn_tensor x = pcnn_t4(buf, 1, 2, 4, 4);
    CHECK(pcnn_concat_elu_forward(ctx, pcnn_t4(buf, 1, 2, 4, 4), x) ==
              PCNN_ERR_SHAPE,
          "concat_elu output with C channels accepted");
    CHECK(pcnn_gate_forward(ctx, pcnn_t4(buf, 1, 2, 4, 4), x) ==
              PCNN_ERR_SHAPE,
          "gate output with 2C channels accepted");
    CHECK(pcnn_elu_forward(ctx, pcnn_t4(buf, 1, 2, 4, 3), x) ==
              PCNN_ERR_SHAPE,
          "elu output of another shape accepted");
    CHECK(pcnn_down_shift_forward(ctx, pcnn_t2(buf, 2, 16), x) ==
              PCNN_ERR_SHAPE,
          "2-d tensor accepted");
    CHECK(strstr(pcnn_last_error(), "pcnn_down_shift_forward") != NULL,
          "message does not name the function: %s", pcnn_last_error());
    CHECK(pcnn_nin_forward(ctx, x, x, pcnn_t2(buf, 3, 2), pcnn_none()) ==
              PCNN_ERR_SHAPE,
          "nin weight (3,2) for 2 output channels accepted");
    pcnn_ctx_free(ctx);
}

/* The float elu kernels (16 at a time where the CPU has AVX-512, with a
 * scalar tail) against the double ones, over values from -100 to 10 with
 * many near 0: rows of 37 = 2 vectors + a tail of 5. */
TEST(ops_elu_float_matches_double)
{
    const int64_t B = 2, C = 3, HW = 37, n = B * C * HW;
    float *x = xcalloc((size_t)n, 4), *y = xcalloc((size_t)(2 * n), 4);
    float *dy = xcalloc((size_t)(2 * n), 4), *dx = xcalloc((size_t)n, 4);
    double *xd = xcalloc((size_t)n, 8), *yd = xcalloc((size_t)(2 * n), 8);
    double *dyd = xcalloc((size_t)(2 * n), 8), *dxd = xcalloc((size_t)n, 8);
    for (int64_t i = 0; i < n; i++) {
        double u = pcnn_uniform(61, (uint64_t)i);
        x[i] = (float)(i % 3 == 0 ? 0.2 * (u - 0.5) : 110 * u - 100);
        xd[i] = x[i];
    }
    for (int64_t i = 0; i < 2 * n; i++)
        dyd[i] = dy[i] = (float)(pcnn_uniform(62, (uint64_t)i) - 0.5);
    pcnn_cpu_concat_elu_forward_f32(y, x, B, C, HW);
    pcnn_cpu_concat_elu_forward_f64(yd, xd, B, C, HW);
    pcnn_cpu_concat_elu_backward_f32(dx, dy, x, B, C, HW);
    pcnn_cpu_concat_elu_backward_f64(dxd, dyd, xd, B, C, HW);
    float *ref = xcalloc((size_t)(2 * n), 4);
    for (int64_t i = 0; i < 2 * n; i++)
        ref[i] = (float)yd[i];
    CHECK_CLOSE("concat_elu y", y, ref, (size_t)(2 * n), 3e-7, 1e-6);
    for (int64_t i = 0; i < n; i++)
        ref[i] = (float)dxd[i];
    CHECK_CLOSE("concat_elu dx", dx, ref, (size_t)n, 3e-7, 1e-6);
    pcnn_cpu_elu_forward_f32(y, x, n);
    pcnn_cpu_elu_forward_f64(yd, xd, n);
    for (int64_t i = 0; i < n; i++)
        ref[i] = (float)yd[i];
    CHECK_CLOSE("elu y", y, ref, (size_t)n, 3e-7, 1e-6);
    free(x), free(y), free(dy), free(dx), free(xd), free(yd), free(dyd),
        free(dxd), free(ref);
}
