/*
 * ops.c -- the public ops: check shapes, size the workspace, call the
 * backend. No arithmetic happens here.
 */
#include "check.h"
#include "../core/prof.h"
#include "../core/rng.h"

/* ------------------------------------------------------------ geometry */

pcnn_conv_geom pcnn_conv_geom_shifted(pcnn_shift_kind kind, int kh, int kw,
                                      int stride)
{
    pcnn_conv_geom g = {kh, kw, stride, kh - 1, 0, 0, 0, 1};
    g.pad_left = kind == PCNN_DOWN ? (kw - 1) / 2 : kw - 1;
    g.pad_right = kind == PCNN_DOWN ? (kw - 1) / 2 : 0;
    return g;
}

pcnn_conv_geom pcnn_deconv_geom_shifted(pcnn_shift_kind kind, int kh, int kw,
                                        int stride)
{
    pcnn_conv_geom g = {kh, kw, stride, 0, kh - stride, 0, 0, 1};
    g.pad_left = kind == PCNN_DOWN ? (kw - 1) / 2 : 0;
    g.pad_right = kw - stride - g.pad_left;
    return g;
}

void pcnn_conv_out_size(const pcnn_conv_geom *g, int64_t h, int64_t w,
                        int64_t *ho, int64_t *wo)
{
    const int d = g->dilation > 1 ? g->dilation : 1;
    int64_t eh = h + g->pad_top + g->pad_bottom - ((g->kh - 1) * d + 1);
    int64_t ew = w + g->pad_left + g->pad_right - ((g->kw - 1) * d + 1);
    /* floor division; a negative extent has no output */
    *ho = eh < 0 ? 0 : eh / g->stride + 1;
    *wo = ew < 0 ? 0 : ew / g->stride + 1;
}

void pcnn_deconv_out_size(const pcnn_conv_geom *g, int64_t h, int64_t w,
                          int64_t *ho, int64_t *wo)
{
    *ho = (h - 1) * g->stride + g->kh - g->pad_top - g->pad_bottom;
    *wo = (w - 1) * g->stride + g->kw - g->pad_left - g->pad_right;
}

static pcnn_status check_geom(const char *fn, int deconv,
                              const pcnn_conv_geom *g)
{
    if (!g)
        return pcnn_fail(PCNN_ERR_ARG, "%s: geometry is NULL", fn);
    if (g->kh < 1 || g->kw < 1 || g->kh > 64 || g->kw > 64)
        return pcnn_fail(PCNN_ERR_ARG, "%s: kernel %dx%d out of range 1..64",
                         fn, g->kh, g->kw);
    if (g->stride < 1 || g->stride > 16)
        return pcnn_fail(PCNN_ERR_ARG, "%s: stride %d out of range 1..16", fn,
                         g->stride);
    if (g->dilation < 0 || g->dilation > 64 || (deconv && g->dilation > 1))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: dilation %d out of range (%s)", fn,
                         g->dilation, deconv ? "0 or 1" : "0..64");
    /* conv: padding in [0, span) with span the dilated kernel; deconv:
     * crops in [-(s-1), k) with the top/left ones >= 0 (they are offsets
     * into the full output) */
    const int d = g->dilation > 1 ? g->dilation : 1;
    const int sh = (g->kh - 1) * d + 1, sw = (g->kw - 1) * d + 1;
    int lo = deconv ? 1 - g->stride : 0;
    if (g->pad_top < 0 || g->pad_left < 0 || g->pad_top >= sh ||
        g->pad_left >= sw || g->pad_bottom < lo || g->pad_right < lo ||
        g->pad_bottom >= sh || g->pad_right >= sw)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: %s top %d bottom %d left %d right %d out of "
                         "range for a %dx%d kernel",
                         fn, deconv ? "crop" : "padding", g->pad_top,
                         g->pad_bottom, g->pad_left, g->pad_right, g->kh,
                         g->kw);
    return PCNN_OK;
}

/* Checks the tensors of a conv (deconv = 0) or transposed conv (deconv = 1)
 * and fills d. The gradient tensors of backward are checked by the caller
 * against x, w, y. */
static pcnn_status conv_dims(const char *fn, int deconv, pcnn_tensor y,
                             pcnn_tensor x, pcnn_tensor w, pcnn_tensor b,
                             const pcnn_conv_geom *g, pcnn_conv_dims *d)
{
    PCNN_TRY(check_geom(fn, deconv, g));
    PCNN_TRY(pcnn_check_tensor(fn, "x", x, 4));
    PCNN_TRY(pcnn_check_tensor(fn, "w", w, 4));
    PCNN_TRY(pcnn_check_tensor(fn, "y", y, 4));
    d->B = x.dim[0], d->Ci = x.dim[1], d->H = x.dim[2], d->W = x.dim[3];
    d->Co = deconv ? w.dim[1] : w.dim[0];
    d->Ho = y.dim[2], d->Wo = y.dim[3];
    d->kh = g->kh, d->kw = g->kw, d->stride = g->stride;
    d->pt = g->pad_top, d->pl = g->pad_left;
    d->dil = g->dilation > 1 ? g->dilation : 1;
    int64_t wd[4] = {deconv ? d->Ci : d->Co, deconv ? d->Co : d->Ci, g->kh,
                     g->kw};
    PCNN_TRY(pcnn_check_dims(fn, "w", w, 4, wd));
    int64_t yd[4] = {d->B, d->Co, d->Ho, d->Wo};
    PCNN_TRY(pcnn_check_dims(fn, "y", y, 4, yd));
    int64_t bd[1] = {d->Co};
    if (b.data)
        PCNN_TRY(pcnn_check_dims(fn, "b", b, 1, bd));
    int64_t ho, wo;
    if (deconv)
        pcnn_deconv_out_size(g, d->H, d->W, &ho, &wo);
    else
        pcnn_conv_out_size(g, d->H, d->W, &ho, &wo);
    if (ho != d->Ho || wo != d->Wo)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: y is %lldx%lld, the geometry gives %lldx%lld "
                         "for a %lldx%lld input",
                         fn, (long long)d->Ho, (long long)d->Wo,
                         (long long)ho, (long long)wo, (long long)d->H,
                         (long long)d->W);
    return PCNN_OK;
}

static pcnn_status check_grads(const char *fn, pcnn_tensor dx,
                               pcnn_tensor x, pcnn_tensor dw, pcnn_tensor w,
                               pcnn_tensor db, int64_t co)
{
    if (dx.data)
        PCNN_TRY(pcnn_check_like(fn, "dx", dx, "x", x));
    if (dw.data)
        PCNN_TRY(pcnn_check_like(fn, "dw", dw, "w", w));
    int64_t bd[1] = {co};
    if (db.data)
        PCNN_TRY(pcnn_check_dims(fn, "db", db, 1, bd));
    return PCNN_OK;
}

static float *work_for(pcnn_ctx *ctx, size_t elems)
{
    int of = 0;
    size_t bytes = pcnn_mul_size(elems, sizeof(float), &of);
    if (of) {
        pcnn_fail(PCNN_ERR_NOMEM, "workspace size overflows");
        return NULL;
    }
    return pcnn_ctx_work(ctx, bytes ? bytes : 1);
}

pcnn_status pcnn_conv2d_forward(pcnn_ctx *ctx, pcnn_tensor y, pcnn_tensor x,
                                pcnn_tensor w, pcnn_tensor b,
                                const pcnn_conv_geom *g)
{
    static const char fn[] = "pcnn_conv2d_forward";
    pcnn_conv_dims d;
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(conv_dims(fn, 0, y, x, w, b, g, &d));
    float *work = work_for(ctx, pcnn_cpu_conv2d_work(&d));
    if (!work)
        return PCNN_ERR_NOMEM;
    ctx->be->conv2d_forward(y.data, x.data, w.data, b.data, &d, work);
    return PCNN_OK;
}

pcnn_status pcnn_conv2d_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                 pcnn_tensor dw, pcnn_tensor db,
                                 pcnn_tensor dy, pcnn_tensor x, pcnn_tensor w,
                                 const pcnn_conv_geom *g)
{
    static const char fn[] = "pcnn_conv2d_backward";
    pcnn_conv_dims d;
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(conv_dims(fn, 0, dy, x, w, pcnn_none(), g, &d));
    PCNN_TRY(check_grads(fn, dx, x, dw, w, db, d.Co));
    float *work = work_for(ctx, pcnn_cpu_conv2d_work(&d));
    if (!work)
        return PCNN_ERR_NOMEM;
    ctx->be->conv2d_backward(dx.data, dw.data, db.data, dy.data, x.data,
                             w.data, &d, work);
    return PCNN_OK;
}

pcnn_status pcnn_deconv2d_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                  pcnn_tensor x, pcnn_tensor w, pcnn_tensor b,
                                  const pcnn_conv_geom *g)
{
    static const char fn[] = "pcnn_deconv2d_forward";
    pcnn_conv_dims d;
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(conv_dims(fn, 1, y, x, w, b, g, &d));
    float *work = work_for(ctx, pcnn_cpu_deconv2d_work(&d));
    if (!work)
        return PCNN_ERR_NOMEM;
    ctx->be->deconv2d_forward(y.data, x.data, w.data, b.data, &d, work);
    return PCNN_OK;
}

pcnn_status pcnn_deconv2d_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                   pcnn_tensor dw, pcnn_tensor db,
                                   pcnn_tensor dy, pcnn_tensor x,
                                   pcnn_tensor w, const pcnn_conv_geom *g)
{
    static const char fn[] = "pcnn_deconv2d_backward";
    pcnn_conv_dims d;
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(conv_dims(fn, 1, dy, x, w, pcnn_none(), g, &d));
    PCNN_TRY(check_grads(fn, dx, x, dw, w, db, d.Co));
    float *work = work_for(ctx, pcnn_cpu_deconv2d_work(&d));
    if (!work)
        return PCNN_ERR_NOMEM;
    ctx->be->deconv2d_backward(dx.data, dw.data, db.data, dy.data, x.data,
                               w.data, &d, work);
    return PCNN_OK;
}

/* A 1x1 conv is a conv whose weight (Co,Ci) is seen as (Co,Ci,1,1). */
static pcnn_tensor as_1x1(pcnn_tensor w)
{
    return pcnn_t4(w.data, w.dim[0], w.dim[1], 1, 1);
}

static pcnn_status check_nin_weight(const char *fn, pcnn_tensor w)
{
    return pcnn_check_tensor(fn, "w", w, 2);
}

static const pcnn_conv_geom nin_geom = {1, 1, 1, 0, 0, 0, 0, 1};

pcnn_status pcnn_nin_forward(pcnn_ctx *ctx, pcnn_tensor y, pcnn_tensor x,
                             pcnn_tensor w, pcnn_tensor b)
{
    PCNN_TRY(check_nin_weight("pcnn_nin_forward", w));
    return pcnn_conv2d_forward(ctx, y, x, as_1x1(w), b, &nin_geom);
}

pcnn_status pcnn_nin_backward(pcnn_ctx *ctx, pcnn_tensor dx, pcnn_tensor dw,
                              pcnn_tensor db, pcnn_tensor dy, pcnn_tensor x,
                              pcnn_tensor w)
{
    static const char fn[] = "pcnn_nin_backward";
    PCNN_TRY(check_nin_weight(fn, w));
    if (dw.data)
        PCNN_TRY(pcnn_check_like(fn, "dw", dw, "w", w));
    pcnn_tensor dw4 = dw.data ? as_1x1(dw) : pcnn_none();
    return pcnn_conv2d_backward(ctx, dx, dw4, db, dy, x, as_1x1(w),
                                &nin_geom);
}

/* ------------------------------------------------------------ pointwise */

/* y present, 4-d, and shaped like x (when same) */
static pcnn_status check_pair(const char *fn, const pcnn_ctx *ctx,
                              const char *yn, pcnn_tensor y, const char *xn,
                              pcnn_tensor x)
{
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(pcnn_check_tensor(fn, xn, x, 4));
    return pcnn_check_like(fn, yn, y, xn, x);
}

#define T4(t) (t).dim[0], (t).dim[1], (t).dim[2], (t).dim[3]

pcnn_status pcnn_down_shift_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                    pcnn_tensor x)
{
    PCNN_TRY(check_pair("pcnn_down_shift_forward", ctx, "y", y, "x", x));
    PCNN_TIMED(PCNN_PROF_ADD_SHIFT,
               ctx->be->down_shift_forward(y.data, x.data, T4(x)));
    return PCNN_OK;
}

pcnn_status pcnn_down_shift_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                     pcnn_tensor dy)
{
    PCNN_TRY(check_pair("pcnn_down_shift_backward", ctx, "dx", dx, "dy", dy));
    PCNN_TIMED(PCNN_PROF_ADD_SHIFT,
               ctx->be->down_shift_backward(dx.data, dy.data, T4(dy)));
    return PCNN_OK;
}

pcnn_status pcnn_right_shift_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                     pcnn_tensor x)
{
    PCNN_TRY(check_pair("pcnn_right_shift_forward", ctx, "y", y, "x", x));
    PCNN_TIMED(PCNN_PROF_ADD_SHIFT,
               ctx->be->right_shift_forward(y.data, x.data, T4(x)));
    return PCNN_OK;
}

pcnn_status pcnn_right_shift_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                      pcnn_tensor dy)
{
    PCNN_TRY(check_pair("pcnn_right_shift_backward", ctx, "dx", dx, "dy",
                        dy));
    PCNN_TIMED(PCNN_PROF_ADD_SHIFT,
               ctx->be->right_shift_backward(dx.data, dy.data, T4(dy)));
    return PCNN_OK;
}

pcnn_status pcnn_elu_forward(pcnn_ctx *ctx, pcnn_tensor y, pcnn_tensor x)
{
    PCNN_TRY(check_pair("pcnn_elu_forward", ctx, "y", y, "x", x));
    PCNN_TIMED(PCNN_PROF_ELU,
               ctx->be->elu_forward(y.data, x.data, pcnn_numel(x)));
    return PCNN_OK;
}

pcnn_status pcnn_elu_backward(pcnn_ctx *ctx, pcnn_tensor dx, pcnn_tensor dy,
                              pcnn_tensor x)
{
    static const char fn[] = "pcnn_elu_backward";
    PCNN_TRY(check_pair(fn, ctx, "dx", dx, "x", x));
    PCNN_TRY(pcnn_check_like(fn, "dy", dy, "x", x));
    PCNN_TIMED(PCNN_PROF_ELU,
               ctx->be->elu_backward(dx.data, dy.data, x.data, pcnn_numel(x)));
    return PCNN_OK;
}

/* x (B,C,H,W) and y (B,2C,H,W): the shapes of concat_elu and gate */
static pcnn_status check_doubled(const char *fn, const pcnn_ctx *ctx,
                                 const char *n2, pcnn_tensor t2,
                                 const char *n1, pcnn_tensor t1)
{
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(pcnn_check_tensor(fn, n1, t1, 4));
    int64_t d[4] = {t1.dim[0], 2 * t1.dim[1], t1.dim[2], t1.dim[3]};
    return pcnn_check_dims(fn, n2, t2, 4, d);
}

pcnn_status pcnn_concat_elu_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                    pcnn_tensor x)
{
    PCNN_TRY(check_doubled("pcnn_concat_elu_forward", ctx, "y", y, "x", x));
    PCNN_TIMED(PCNN_PROF_ELU,
               ctx->be->concat_elu_forward(y.data, x.data, x.dim[0], x.dim[1],
                                           x.dim[2] * x.dim[3]));
    return PCNN_OK;
}

pcnn_status pcnn_concat_elu_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                     pcnn_tensor dy, pcnn_tensor x)
{
    static const char fn[] = "pcnn_concat_elu_backward";
    PCNN_TRY(check_doubled(fn, ctx, "dy", dy, "x", x));
    PCNN_TRY(pcnn_check_like(fn, "dx", dx, "x", x));
    PCNN_TIMED(PCNN_PROF_ELU,
               ctx->be->concat_elu_backward(dx.data, dy.data, x.data, x.dim[0],
                                            x.dim[1], x.dim[2] * x.dim[3]));
    return PCNN_OK;
}

pcnn_status pcnn_gate_forward(pcnn_ctx *ctx, pcnn_tensor y, pcnn_tensor x)
{
    PCNN_TRY(check_doubled("pcnn_gate_forward", ctx, "x", x, "y", y));
    PCNN_TIMED(PCNN_PROF_GATE,
               ctx->be->gate_forward(y.data, x.data, y.dim[0], y.dim[1],
                                     y.dim[2] * y.dim[3]));
    return PCNN_OK;
}

pcnn_status pcnn_gate_backward(pcnn_ctx *ctx, pcnn_tensor dx, pcnn_tensor dy,
                               pcnn_tensor x)
{
    static const char fn[] = "pcnn_gate_backward";
    PCNN_TRY(check_doubled(fn, ctx, "x", x, "dy", dy));
    PCNN_TRY(pcnn_check_like(fn, "dx", dx, "x", x));
    PCNN_TIMED(PCNN_PROF_GATE,
               ctx->be->gate_backward(dx.data, dy.data, x.data, dy.dim[0],
                                      dy.dim[1], dy.dim[2] * dy.dim[3]));
    return PCNN_OK;
}

pcnn_status pcnn_add_forward(pcnn_ctx *ctx, pcnn_tensor y, pcnn_tensor a,
                             pcnn_tensor b)
{
    static const char fn[] = "pcnn_add_forward";
    PCNN_TRY(check_pair(fn, ctx, "y", y, "a", a));
    PCNN_TRY(pcnn_check_like(fn, "b", b, "a", a));
    PCNN_TIMED(PCNN_PROF_ADD_SHIFT,
               ctx->be->add_forward(y.data, a.data, b.data, pcnn_numel(a)));
    return PCNN_OK;
}

pcnn_status pcnn_add_backward(pcnn_ctx *ctx, pcnn_tensor da, pcnn_tensor db,
                              pcnn_tensor dy)
{
    static const char fn[] = "pcnn_add_backward";
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(pcnn_check_tensor(fn, "dy", dy, 4));
    if (da.data)
        PCNN_TRY(pcnn_check_like(fn, "da", da, "dy", dy));
    if (db.data)
        PCNN_TRY(pcnn_check_like(fn, "db", db, "dy", dy));
    PCNN_TIMED(
        PCNN_PROF_ADD_SHIFT,
        ctx->be->add_backward(da.data, db.data, dy.data, pcnn_numel(dy)));
    return PCNN_OK;
}

static pcnn_status check_p(const char *fn, float p)
{
    if (!(p >= 0.0f && p < 1.0f))
        return pcnn_fail(PCNN_ERR_ARG, "%s: dropout rate %g not in [0, 1)",
                         fn, (double)p);
    return PCNN_OK;
}

pcnn_status pcnn_dropout_forward_at(pcnn_ctx *ctx, pcnn_tensor y,
                                    pcnn_tensor x, float p, uint64_t seed,
                                    int64_t first)
{
    static const char fn[] = "pcnn_dropout_forward";
    PCNN_TRY(check_pair(fn, ctx, "y", y, "x", x));
    PCNN_TRY(check_p(fn, p));
    PCNN_TIMED(PCNN_PROF_DROPOUT,
               ctx->be->dropout_forward(y.data, x.data, pcnn_numel(x), p, seed,
                                        first));
    return PCNN_OK;
}

pcnn_status pcnn_dropout_backward_at(pcnn_ctx *ctx, pcnn_tensor dx,
                                     pcnn_tensor dy, float p, uint64_t seed,
                                     int64_t first)
{
    static const char fn[] = "pcnn_dropout_backward";
    PCNN_TRY(check_pair(fn, ctx, "dx", dx, "dy", dy));
    PCNN_TRY(check_p(fn, p));
    PCNN_TIMED(PCNN_PROF_DROPOUT,
               ctx->be->dropout_backward(dx.data, dy.data, pcnn_numel(dy), p,
                                         seed, first));
    return PCNN_OK;
}

pcnn_status pcnn_dropout_forward(pcnn_ctx *ctx, pcnn_tensor y, pcnn_tensor x,
                                 float p, uint64_t seed)
{
    return pcnn_dropout_forward_at(ctx, y, x, p, seed, 0);
}

pcnn_status pcnn_dropout_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                  pcnn_tensor dy, float p, uint64_t seed)
{
    return pcnn_dropout_backward_at(ctx, dx, dy, p, seed, 0);
}

double pcnn_uniform(uint64_t seed, uint64_t index)
{
    return pcnn_u01(seed, index);
}

/* ------------------------------------------------------- weight norm */

/* v viewed as (A, O, R) for the axis; g must be (O). */
static pcnn_status wn_dims(const char *fn, pcnn_tensor v, pcnn_tensor g,
                           pcnn_wn_axis axis, int64_t *A, int64_t *O,
                           int64_t *R)
{
    if (!v.data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: v has no data", fn);
    if (v.ndim != 2 && v.ndim != 4)
        return pcnn_fail(PCNN_ERR_SHAPE, "%s: v must have 2 or 4 dims", fn);
    PCNN_TRY(pcnn_check_tensor(fn, "v", v, v.ndim));
    if (axis != PCNN_WN_DIM0 && axis != PCNN_WN_DIM1)
        return pcnn_fail(PCNN_ERR_ARG, "%s: bad axis %d", fn, (int)axis);
    int64_t rest = 1;
    for (int i = axis + 1; i < v.ndim; i++)
        rest *= v.dim[i];
    *A = axis == PCNN_WN_DIM0 ? 1 : v.dim[0];
    *O = v.dim[axis];
    *R = rest;
    int64_t gd[1] = {*O};
    return pcnn_check_dims(fn, "g", g, 1, gd);
}

pcnn_status pcnn_weightnorm_forward(pcnn_ctx *ctx, pcnn_tensor w,
                                    pcnn_tensor v, pcnn_tensor g,
                                    pcnn_wn_axis axis)
{
    static const char fn[] = "pcnn_weightnorm_forward";
    int64_t A = 0, O = 0, R = 0;
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(wn_dims(fn, v, g, axis, &A, &O, &R));
    PCNN_TRY(pcnn_check_like(fn, "w", w, "v", v));
    PCNN_TIMED(PCNN_PROF_WEIGHTNORM,
               ctx->be->weightnorm_forward(w.data, v.data, g.data, A, O, R));
    return PCNN_OK;
}

pcnn_status pcnn_weightnorm_backward(pcnn_ctx *ctx, pcnn_tensor dv,
                                     pcnn_tensor dg, pcnn_tensor dw,
                                     pcnn_tensor v, pcnn_tensor g,
                                     pcnn_wn_axis axis)
{
    static const char fn[] = "pcnn_weightnorm_backward";
    int64_t A = 0, O = 0, R = 0;
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(wn_dims(fn, v, g, axis, &A, &O, &R));
    PCNN_TRY(pcnn_check_like(fn, "dw", dw, "v", v));
    if (dv.data)
        PCNN_TRY(pcnn_check_like(fn, "dv", dv, "v", v));
    if (dg.data)
        PCNN_TRY(pcnn_check_like(fn, "dg", dg, "g", g));
    PCNN_TIMED(PCNN_PROF_WEIGHTNORM,
               ctx->be->weightnorm_backward(dv.data, dg.data, dw.data, v.data,
                                            g.data, A, O, R));
    return PCNN_OK;
}

pcnn_status pcnn_weightnorm_data_init(pcnn_ctx *ctx, pcnn_tensor g,
                                      pcnn_tensor b, pcnn_tensor y,
                                      float scale)
{
    static const char fn[] = "pcnn_weightnorm_data_init";
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(pcnn_check_tensor(fn, "y", y, 4));
    int64_t od[1] = {y.dim[1]};
    PCNN_TRY(pcnn_check_dims(fn, "g", g, 1, od));
    PCNN_TRY(pcnn_check_dims(fn, "b", b, 1, od));
    if (!(scale > 0.0f) || scale > 1e6f)
        return pcnn_fail(PCNN_ERR_ARG, "%s: scale %g must be in (0, 1e6]",
                         fn, (double)scale);
    PCNN_TIMED(PCNN_PROF_WEIGHTNORM, ctx->be->weightnorm_data_init(
                                         g.data, b.data, y.data, y.dim[0],
                                         y.dim[1], y.dim[2] * y.dim[3], scale));
    return PCNN_OK;
}
