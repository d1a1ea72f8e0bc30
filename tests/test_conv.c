/*
 * test_conv.c -- convolutions: finite-difference gradients of the double
 * kernels for every geometry the models use, and the float public API
 * against the double kernels.
 */
#include "gradcheck.h"
#include "kernels.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One conv or transposed-conv case, all buffers in double. */
typedef struct {
    int deconv;
    pcnn_conv_dims d;
    double *x, *w, *b, *y, *r, *work;
    size_t nx, nw, ny;
} conv_case;

static void case_forward(conv_case *c)
{
    if (c->deconv)
        pcnn_cpu_deconv2d_forward_f64(c->y, c->x, c->w, c->b, &c->d, c->work);
    else
        pcnn_cpu_conv2d_forward_f64(c->y, c->x, c->w, c->b, &c->d, c->work);
}

/* L = sum(y * r) */
static double case_loss(void *arg)
{
    conv_case *c = arg;
    case_forward(c);
    return dot64(c->y, c->r, c->ny);
}

static conv_case case_make(int deconv, int64_t B, int64_t Ci, int64_t H,
                           int64_t W, int64_t Co, const pcnn_conv_geom *g,
                           int64_t Ho, int64_t Wo)
{
    conv_case c = {0};
    c.deconv = deconv;
    c.d = (pcnn_conv_dims){B,        Ci,          H,
                           W,        Co,          Ho,
                           Wo,       g->kh,       g->kw,
                           g->stride, g->pad_top, g->pad_left,
                           g->dilation > 1 ? g->dilation : 1};
    c.nx = (size_t)(B * Ci * H * W);
    c.nw = (size_t)(Ci * Co * g->kh * g->kw);
    c.ny = (size_t)(B * Co * Ho * Wo);
    c.x = xcalloc(c.nx, sizeof(double));
    c.w = xcalloc(c.nw, sizeof(double));
    c.b = xcalloc((size_t)Co, sizeof(double));
    c.y = xcalloc(c.ny, sizeof(double));
    c.r = xcalloc(c.ny, sizeof(double));
    size_t work = deconv ? pcnn_cpu_deconv2d_work(&c.d)
                         : pcnn_cpu_conv2d_work(&c.d);
    c.work = xcalloc(work + 1, sizeof(double));
    fill_uniform_f64(c.x, c.nx, 11, -1, 1);
    fill_uniform_f64(c.w, c.nw, 12, -1, 1);
    fill_uniform_f64(c.b, (size_t)Co, 13, -1, 1);
    fill_uniform_f64(c.r, c.ny, 14, -1, 1);
    return c;
}

static void case_free(conv_case *c)
{
    free(c->x), free(c->w), free(c->b), free(c->y), free(c->r), free(c->work);
}

/* Checks dx, dw, db of one case against central differences. */
static void check_case_grads(const char *what, conv_case *c)
{
    double *dx = xcalloc(c->nx, sizeof *dx), *dw = xcalloc(c->nw, sizeof *dw);
    double *db = xcalloc((size_t)c->d.Co, sizeof *db);
    case_forward(c);
    if (c->deconv)
        pcnn_cpu_deconv2d_backward_f64(dx, dw, db, c->r, c->x, c->w, &c->d,
                                       c->work);
    else
        pcnn_cpu_conv2d_backward_f64(dx, dw, db, c->r, c->x, c->w, &c->d,
                                     c->work);
    char name[128];
    snprintf(name, sizeof name, "%s dx", what);
    GRADCHECK(name, c->x, c->nx, dx, case_loss, c);
    snprintf(name, sizeof name, "%s dw", what);
    GRADCHECK(name, c->w, c->nw, dw, case_loss, c);
    snprintf(name, sizeof name, "%s db", what);
    GRADCHECK(name, c->b, (size_t)c->d.Co, db, case_loss, c);
    free(dx), free(dw), free(db);
}

static void check_conv(pcnn_shift_kind kind, int kh, int kw, int s)
{
    pcnn_conv_geom g = pcnn_conv_geom_shifted(kind, kh, kw, s);
    int64_t H = 7, W = 6, ho, wo;
    pcnn_conv_out_size(&g, H, W, &ho, &wo);
    conv_case c = case_make(0, 2, 3, H, W, 4, &g, ho, wo);
    char what[64];
    snprintf(what, sizeof what, "conv %s %dx%d s%d",
             kind == PCNN_DOWN ? "down" : "down-right", kh, kw, s);
    check_case_grads(what, &c);
    case_free(&c);
}

TEST(conv_gradcheck_shifted)
{
    check_conv(PCNN_DOWN, 2, 3, 1);
    check_conv(PCNN_DOWN, 2, 3, 2);
    check_conv(PCNN_DOWN, 1, 3, 1);
    check_conv(PCNN_DOWN_RIGHT, 2, 2, 1);
    check_conv(PCNN_DOWN_RIGHT, 2, 2, 2);
    check_conv(PCNN_DOWN_RIGHT, 2, 1, 1);
}

TEST(conv_gradcheck_general_and_1x1)
{
    /* a centred 3x3 "same" conv: padding on all four sides */
    pcnn_conv_geom g = {3, 3, 1, 1, 1, 1, 1, 1};
    conv_case c = case_make(0, 2, 3, 5, 6, 4, &g, 5, 6);
    check_case_grads("conv 3x3 same", &c);
    case_free(&c);
    /* dilated 3x3 "same" (dilation 2, padding 2) and a dilation 3 one
     * with uneven padding, through the public size rule */
    pcnn_conv_geom d2 = {3, 3, 1, 2, 2, 2, 2, 2};
    int64_t ho, wo;
    pcnn_conv_out_size(&d2, 7, 6, &ho, &wo);
    CHECK(ho == 7 && wo == 6, "dilated same conv: %lldx%lld", (long long)ho,
          (long long)wo);
    conv_case dc = case_make(0, 2, 3, 7, 6, 4, &d2, ho, wo);
    check_case_grads("conv 3x3 dilation 2", &dc);
    case_free(&dc);
    pcnn_conv_geom d3 = {2, 3, 1, 3, 0, 1, 4, 3};
    pcnn_conv_out_size(&d3, 7, 8, &ho, &wo);
    CHECK(ho == 7 && wo == 7, "dilation 3: %lldx%lld", (long long)ho,
          (long long)wo);
    conv_case dd = case_make(0, 2, 2, 7, 8, 3, &d3, ho, wo);
    check_case_grads("conv 2x3 dilation 3", &dd);
    /* against the definition: y[o,i,j] = b + sum w xpad[i + 3p, j + 3q] */
    case_forward(&dd);
    double worst = 0;
    for (int64_t o = 0; o < 3; o++)
        for (int64_t i = 0; i < ho; i++)
            for (int64_t j = 0; j < wo; j++) {
                double acc = dd.b[o];
                for (int64_t ci = 0; ci < 2; ci++)
                    for (int p = 0; p < 2; p++)
                        for (int q = 0; q < 3; q++) {
                            int64_t y = i + 3 * p - 3, x = j + 3 * q - 1;
                            if (y >= 0 && y < 7 && x >= 0 && x < 8)
                                acc += dd.w[((o * 2 + ci) * 2 + p) * 3 + q] *
                                       dd.x[(ci * 7 + y) * 8 + x];
                        }
                double e = fabs(acc - dd.y[(o * ho + i) * wo + j]);
                worst = e > worst ? e : worst;
            }
    CHECK(worst < 1e-12, "dilated conv off the definition by %g", worst);
    case_free(&dd);
    /* the padding must stay inside the dilated kernel's span (5 rows) */
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    float xs[1 * 1 * 5 * 5] = {0}, ws[9] = {0}, ys[1 * 1 * 5 * 5];
    pcnn_tensor xt = pcnn_t4(xs, 1, 1, 5, 5), yt = pcnn_t4(ys, 1, 1, 5, 5);
    pcnn_tensor wt = pcnn_t4(ws, 1, 1, 3, 3);
    REQUIRE_OK(pcnn_conv2d_forward(ctx, yt, xt, wt, pcnn_none(), &d2));
    pcnn_conv_geom bad = {3, 3, 1, 5, 2, 2, 2, 2};
    CHECK(pcnn_conv2d_forward(ctx, yt, xt, wt, pcnn_none(), &bad) ==
                  PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "padding top 5"),
          "padding 5 for a dilated 3x3: %s", pcnn_last_error());
    bad = d2;
    bad.dilation = -1;
    CHECK(pcnn_conv2d_forward(ctx, yt, xt, wt, pcnn_none(), &bad) ==
              PCNN_ERR_ARG,
          "dilation -1 accepted");
    pcnn_ctx_free(ctx);
    /* 1x1 takes the no-im2col path */
    pcnn_conv_geom one = {1, 1, 1, 0, 0, 0, 0, 1};
    conv_case n = case_make(0, 3, 5, 4, 3, 2, &one, 4, 3);
    check_case_grads("conv 1x1", &n);
    case_free(&n);
}

static void check_deconv(pcnn_shift_kind kind, int kh, int kw, int s)
{
    pcnn_conv_geom g = pcnn_deconv_geom_shifted(kind, kh, kw, s);
    int64_t H = 4, W = 3;
    conv_case c = case_make(1, 2, 3, H, W, 4, &g, H * s, W * s);
    char what[64];
    snprintf(what, sizeof what, "deconv %s %dx%d s%d",
             kind == PCNN_DOWN ? "down" : "down-right", kh, kw, s);
    check_case_grads(what, &c);
    case_free(&c);
}

TEST(deconv_gradcheck_shifted)
{
    check_deconv(PCNN_DOWN, 2, 3, 2);
    check_deconv(PCNN_DOWN_RIGHT, 2, 2, 2);
    check_deconv(PCNN_DOWN, 2, 3, 1);
    check_deconv(PCNN_DOWN_RIGHT, 2, 2, 1);
}

/* The transposed conv is the adjoint of the conv with the same geometry:
 * <conv(x), z> == <x, deconv(z)> when the deconv's weight is the conv's
 * weight (Co,Ci,kh,kw) read as (Ci',Co') = (Co,Ci) and the crop is the
 * padding. A check of the deconv's index maths independent of the FD. */
TEST(deconv_is_adjoint_of_conv)
{
    pcnn_conv_geom g = pcnn_conv_geom_shifted(PCNN_DOWN, 2, 3, 2);
    int64_t B = 2, Ci = 3, Co = 4, H = 8, W = 6, Ho, Wo;
    pcnn_conv_out_size(&g, H, W, &Ho, &Wo);
    conv_case c = case_make(0, B, Ci, H, W, Co, &g, Ho, Wo);
    memset(c.b, 0, (size_t)Co * sizeof(double));
    case_forward(&c);
    double lhs = dot64(c.y, c.r, c.ny); /* <conv(x), r> */
    /* deconv from r (B,Co,Ho,Wo) to (B,Ci,H,W) with w as (Co,Ci,kh,kw) */
    pcnn_conv_dims dd = {B, Co, Ho, Wo, Ci, H, W, 2, 3, 2, g.pad_top,
                         g.pad_left, 1};
    double *z = xcalloc(c.nx, sizeof *z);
    double *work = xcalloc(pcnn_cpu_deconv2d_work(&dd), sizeof *work);
    pcnn_cpu_deconv2d_forward_f64(z, c.r, c.w, NULL, &dd, work);
    double rhs = dot64(c.x, z, c.nx); /* <x, deconv(r)> */
    CHECK(fabs(lhs - rhs) <= 1e-9 * (1 + fabs(lhs)),
          "adjoint identity: %.15g vs %.15g", lhs, rhs);
    free(z), free(work);
    case_free(&c);
}

/* The float library kernels (through the public API) against the double
 * kernels on the paper's shapes at a small batch. */
static void check_api_vs_f64(int deconv, pcnn_shift_kind kind, int kh, int kw,
                             int s, int64_t Ci, int64_t Co, int64_t H)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_conv_geom g = deconv ? pcnn_deconv_geom_shifted(kind, kh, kw, s)
                              : pcnn_conv_geom_shifted(kind, kh, kw, s);
    int64_t Ho, Wo;
    if (deconv)
        Ho = H * s, Wo = H * s;
    else
        pcnn_conv_out_size(&g, H, H, &Ho, &Wo);
    conv_case c = case_make(deconv, 2, Ci, H, H, Co, &g, Ho, Wo);
    case_forward(&c);
    double *dx = xcalloc(c.nx, sizeof *dx), *dw = xcalloc(c.nw, sizeof *dw);
    double *db = xcalloc((size_t)Co, sizeof *db);
    if (deconv)
        pcnn_cpu_deconv2d_backward_f64(dx, dw, db, c.r, c.x, c.w, &c.d,
                                       c.work);
    else
        pcnn_cpu_conv2d_backward_f64(dx, dw, db, c.r, c.x, c.w, &c.d, c.work);
    /* float copies */
    size_t n = 2 * (c.nx + c.nw + (size_t)Co + c.ny);
    float *f = xcalloc(n, sizeof *f);
    float *x = f, *w = x + c.nx, *b = w + c.nw, *y = b + Co, *r = y + c.ny;
    float *gx = r + c.ny, *gw = gx + c.nx, *gb = gw + c.nw;
    size_t nref = c.nx > c.nw ? c.nx : c.nw;
    float *ref = xcalloc(nref > c.ny ? nref : c.ny, sizeof *ref);
    for (size_t i = 0; i < c.nx; i++)
        x[i] = (float)c.x[i];
    for (size_t i = 0; i < c.nw; i++)
        w[i] = (float)c.w[i];
    for (int64_t i = 0; i < Co; i++)
        b[i] = (float)c.b[i];
    for (size_t i = 0; i < c.ny; i++)
        r[i] = (float)c.r[i];
    pcnn_tensor tx = pcnn_t4(x, 2, Ci, H, H), ty = pcnn_t4(y, 2, Co, Ho, Wo);
    pcnn_tensor tw = deconv ? pcnn_t4(w, Ci, Co, kh, kw)
                            : pcnn_t4(w, Co, Ci, kh, kw);
    pcnn_tensor tb = pcnn_t1(b, Co);
    pcnn_tensor tgx = tx, tgw = tw, tgb = tb, tr = ty;
    tgx.data = gx, tgw.data = gw, tgb.data = gb, tr.data = r;
    if (deconv) {
        REQUIRE_OK(pcnn_deconv2d_forward(ctx, ty, tx, tw, tb, &g));
        REQUIRE_OK(pcnn_deconv2d_backward(ctx, tgx, tgw, tgb, tr, tx, tw, &g));
    } else {
        REQUIRE_OK(pcnn_conv2d_forward(ctx, ty, tx, tw, tb, &g));
        REQUIRE_OK(pcnn_conv2d_backward(ctx, tgx, tgw, tgb, tr, tx, tw, &g));
    }
    /* float sums of up to K = 1920 terms of size ~1: atol 2e-4 */
    for (size_t i = 0; i < c.ny; i++)
        ref[i] = (float)c.y[i];
    CHECK_CLOSE("y", y, ref, c.ny, 2e-4, 1e-4);
    for (size_t i = 0; i < c.nx; i++)
        ref[i] = (float)dx[i];
    CHECK_CLOSE("dx", gx, ref, c.nx, 2e-4, 1e-4);
    for (size_t i = 0; i < c.nw; i++)
        ref[i] = (float)dw[i];
    CHECK_CLOSE("dw", gw, ref, c.nw, 5e-4, 1e-4);
    for (int64_t i = 0; i < Co; i++)
        ref[i] = (float)db[i];
    CHECK_CLOSE("db", gb, ref, (size_t)Co, 5e-4, 1e-4);
    free(f), free(ref), free(dx), free(dw), free(db);
    case_free(&c);
    pcnn_ctx_free(ctx);
}

TEST(conv_api_float_matches_double)
{
    check_api_vs_f64(0, PCNN_DOWN, 2, 3, 1, 320, 160, 8);
    check_api_vs_f64(0, PCNN_DOWN_RIGHT, 2, 2, 1, 320, 320, 8);
    check_api_vs_f64(0, PCNN_DOWN, 2, 3, 2, 64, 32, 8);
    check_api_vs_f64(1, PCNN_DOWN, 2, 3, 2, 64, 32, 4);
    check_api_vs_f64(1, PCNN_DOWN_RIGHT, 2, 2, 2, 64, 32, 4);
}

TEST(conv_api_rejects_bad_shapes)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    float buf[4096] = {0};
    pcnn_conv_geom g = pcnn_conv_geom_shifted(PCNN_DOWN, 2, 3, 1);
    pcnn_tensor x = pcnn_t4(buf, 1, 2, 4, 4), y = pcnn_t4(buf, 1, 3, 4, 4);
    pcnn_tensor w = pcnn_t4(buf, 3, 2, 2, 3);
    CHECK(pcnn_conv2d_forward(ctx, y, x, w, pcnn_none(), &g) == PCNN_OK,
          "valid call failed: %s", pcnn_last_error());
    /* wrong input channels in w */
    pcnn_tensor w_bad = pcnn_t4(buf, 3, 5, 2, 3);
    CHECK(pcnn_conv2d_forward(ctx, y, x, w_bad, pcnn_none(), &g) ==
              PCNN_ERR_SHAPE,
          "w with 5 input channels accepted");
    CHECK(strstr(pcnn_last_error(), "pcnn_conv2d_forward") != NULL,
          "message does not name the function: %s", pcnn_last_error());
    /* wrong output size */
    pcnn_tensor y_bad = pcnn_t4(buf, 1, 3, 5, 4);
    CHECK(pcnn_conv2d_forward(ctx, y_bad, x, w, pcnn_none(), &g) ==
              PCNN_ERR_SHAPE,
          "5x4 output of a 4x4 input accepted");
    /* bias of the wrong length */
    CHECK(pcnn_conv2d_forward(ctx, y, x, w, pcnn_t1(buf, 2), &g) ==
              PCNN_ERR_SHAPE,
          "bias of 2 for 3 outputs accepted");
    /* missing data, NULL context, bad geometry */
    CHECK(pcnn_conv2d_forward(ctx, y, pcnn_none(), w, pcnn_none(), &g) ==
              PCNN_ERR_ARG,
          "x without data accepted");
    CHECK(pcnn_conv2d_forward(NULL, y, x, w, pcnn_none(), &g) == PCNN_ERR_ARG,
          "NULL ctx accepted");
    pcnn_conv_geom bad = g;
    bad.stride = 0;
    CHECK(pcnn_conv2d_forward(ctx, y, x, w, pcnn_none(), &bad) ==
              PCNN_ERR_ARG,
          "stride 0 accepted");
    /* negative dims */
    pcnn_tensor x_neg = pcnn_t4(buf, 1, 2, -4, 4);
    CHECK(pcnn_conv2d_forward(ctx, y, x_neg, w, pcnn_none(), &g) ==
              PCNN_ERR_SHAPE,
          "negative height accepted");
    /* deconv output too large */
    pcnn_conv_geom dg = pcnn_deconv_geom_shifted(PCNN_DOWN, 2, 3, 2);
    pcnn_tensor dx = pcnn_t4(buf, 1, 3, 2, 2), dw = pcnn_t4(buf, 3, 2, 2, 3);
    CHECK(pcnn_deconv2d_forward(ctx, pcnn_t4(buf, 1, 2, 4, 4), dx, dw,
                                pcnn_none(), &dg) == PCNN_OK,
          "valid deconv failed: %s", pcnn_last_error());
    CHECK(pcnn_deconv2d_forward(ctx, pcnn_t4(buf, 1, 2, 9, 4), dx, dw,
                                pcnn_none(), &dg) == PCNN_ERR_SHAPE,
          "deconv output 9 rows from 2 accepted");
    pcnn_ctx_free(ctx);
}

/* Images go through the GEMMs in groups sized by the workspace cap: a
 * batch of 3 whose group is 2 (plus a remainder of 1) must give what
 * three single-image calls give. conv: Ci 300, Co 100, 32x32; deconv:
 * Ci 1700, Co 100, 32x32 -> 64x64: 2 images per group in both. */
static void check_grouping(int deconv)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    const int64_t B = 3, Ci = deconv ? 1700 : 300, Co = 100;
    const int64_t H = 32, Ho = deconv ? 64 : 32;
    pcnn_conv_geom g = deconv ? pcnn_deconv_geom_shifted(PCNN_DOWN, 2, 3, 2)
                              : pcnn_conv_geom_shifted(PCNN_DOWN, 2, 3, 1);
    size_t nx1 = (size_t)(Ci * H * H), ny1 = (size_t)(Co * Ho * Ho);
    size_t nw = (size_t)(Ci * Co * 6);
    float *x = xcalloc(B * nx1, 4), *w = xcalloc(nw, 4);
    float *dy = xcalloc(B * ny1, 4), *y = xcalloc(B * ny1, 4);
    float *y1 = xcalloc(B * ny1, 4), *dx = xcalloc(B * nx1, 4);
    float *dx1 = xcalloc(B * nx1, 4), *dw = xcalloc(nw, 4);
    float *dw1 = xcalloc(nw, 4);
    fill_uniform_f32(x, B * nx1, 51, -1, 1);
    fill_uniform_f32(w, nw, 52, -0.1f, 0.1f);
    fill_uniform_f32(dy, B * ny1, 53, -1, 1);
    pcnn_tensor tw = deconv ? pcnn_t4(w, Ci, Co, 2, 3)
                            : pcnn_t4(w, Co, Ci, 2, 3);
    pcnn_tensor tdw = tw;
    for (int64_t n = 0; n <= B; n++) {
        /* n < B: image n alone; n == B: the whole batch */
        int64_t b = n == B ? B : 1, off = n == B ? 0 : n;
        pcnn_tensor tx = pcnn_t4(x + off * nx1, b, Ci, H, H);
        pcnn_tensor tdy = pcnn_t4(dy + off * ny1, b, Co, Ho, Ho);
        pcnn_tensor ty = pcnn_t4((n == B ? y : y1) + off * ny1, b, Co, Ho, Ho);
        pcnn_tensor tdx = pcnn_t4((n == B ? dx : dx1) + off * nx1, b, Ci, H,
                                  H);
        tdw.data = n == B ? dw : dw1;
        if (deconv) {
            REQUIRE_OK(pcnn_deconv2d_forward(ctx, ty, tx, tw, pcnn_none(), &g));
            REQUIRE_OK(pcnn_deconv2d_backward(ctx, tdx, tdw, pcnn_none(), tdy,
                                              tx, tw, &g));
        } else {
            REQUIRE_OK(pcnn_conv2d_forward(ctx, ty, tx, tw, pcnn_none(), &g));
            REQUIRE_OK(pcnn_conv2d_backward(ctx, tdx, tdw, pcnn_none(), tdy,
                                            tx, tw, &g));
        }
    }
    CHECK_CLOSE("y", y, y1, B * ny1, 1e-5, 1e-5);
    CHECK_CLOSE("dx", dx, dx1, B * nx1, 1e-5, 1e-5);
    CHECK_CLOSE("dw", dw, dw1, nw, 1e-3, 1e-4);
    free(x), free(w), free(dy), free(y), free(y1), free(dx), free(dx1),
        free(dw), free(dw1);
    pcnn_ctx_free(ctx);
}

TEST(conv_grouped_batch_equals_single_images)
{
    check_grouping(0);
    check_grouping(1);
}
