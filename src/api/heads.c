/*
 * heads.c -- the public likelihood-head calls: check the head, the shapes
 * and the pixel values, then call the backend's kernel for the kind.
 */
#include "check.h"
#include <math.h>
#include "../core/prof.h"

pcnn_head pcnn_head_dmol(int channels, int nr_mix)
{
    return (pcnn_head){PCNN_HEAD_DMOL, channels, nr_mix, 256};
}

pcnn_head pcnn_head_categorical(int channels, int levels)
{
    return (pcnn_head){PCNN_HEAD_CATEGORICAL, channels, 0, levels};
}

int pcnn_head_params(const pcnn_head *h)
{
    if (!h)
        return -1;
    int C = h->channels;
    switch (h->kind) {
    case PCNN_HEAD_DMOL:
        if (C < 1 || C > 3 || h->nr_mix < 1 || h->nr_mix > 1024 ||
            h->levels != 256)
            return -1;
        return h->nr_mix * (1 + 2 * C + C * (C - 1) / 2);
    case PCNN_HEAD_CATEGORICAL:
        if (C < 1 || C > 16 || h->levels < 2 || h->levels > 256)
            return -1;
        return C * h->levels;
    }
    return -1;
}

static pcnn_status check_head(const char *fn, const pcnn_ctx *ctx,
                              const pcnn_head *h)
{
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    if (!h)
        return pcnn_fail(PCNN_ERR_ARG, "%s: head is NULL", fn);
    if (pcnn_head_params(h) < 0)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: invalid head (kind %d, %d channels, %d "
                         "components, %d levels)",
                         fn, (int)h->kind, h->channels, h->nr_mix, h->levels);
    return PCNN_OK;
}

/* l is (B, P, H, W) for the head; fills d. */
static pcnn_status check_params(const char *fn, const pcnn_head *h,
                                pcnn_tensor l, pcnn_head_dims *d)
{
    PCNN_TRY(pcnn_check_tensor(fn, "l", l, 4));
    int P = pcnn_head_params(h);
    if (l.dim[1] != P)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: l has %lld channels, the head needs %d", fn,
                         (long long)l.dim[1], P);
    d->B = l.dim[0];
    d->HW = l.dim[2] * l.dim[3];
    d->C = h->channels;
    d->M = h->nr_mix;
    d->K = h->levels;
    return PCNN_OK;
}

/* x is (B, C, H, W) like l, and (when check_values) every value of
 * channels [0, upto) is below levels. */
static pcnn_status check_image(const char *fn, const pcnn_head *h,
                               pcnn_image x, pcnn_tensor l, int upto,
                               int check_values)
{
    if (!x.data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: x has no data", fn);
    if (x.n != l.dim[0] || x.c != h->channels || x.h != l.dim[2] ||
        x.w != l.dim[3])
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: x is (%lld,%lld,%lld,%lld), expected "
                         "(%lld,%d,%lld,%lld)",
                         fn, (long long)x.n, (long long)x.c, (long long)x.h,
                         (long long)x.w, (long long)l.dim[0], h->channels,
                         (long long)l.dim[2], (long long)l.dim[3]);
    if (!check_values || h->levels == 256)
        return PCNN_OK;
    const int64_t HW = x.h * x.w;
    for (int64_t b = 0; b < x.n; b++)
        for (int c = 0; c < upto; c++) {
            const uint8_t *p = x.data + (b * x.c + c) * HW;
            for (int64_t i = 0; i < HW; i++)
                if (p[i] >= h->levels)
                    return pcnn_fail(PCNN_ERR_VALUE,
                                     "%s: x[%lld,%d] has value %d, the head "
                                     "has %d levels",
                                     fn, (long long)b, c, p[i], h->levels);
        }
    return PCNN_OK;
}

pcnn_status pcnn_head_log_prob(pcnn_ctx *ctx, const pcnn_head *h,
                               pcnn_tensor logp, pcnn_tensor l, pcnn_image x)
{
    static const char fn[] = "pcnn_head_log_prob";
    pcnn_head_dims d;
    PCNN_TRY(check_head(fn, ctx, h));
    PCNN_TRY(check_params(fn, h, l, &d));
    PCNN_TRY(check_image(fn, h, x, l, h->channels, 1));
    int64_t ld[4] = {l.dim[0], 1, l.dim[2], l.dim[3]};
    PCNN_TRY(pcnn_check_dims(fn, "logp", logp, 4, ld));
    if (h->kind == PCNN_HEAD_DMOL)
        PCNN_TIMED(PCNN_PROF_HEAD,
                   ctx->be->dmol_log_prob(logp.data, l.data, x.data, &d));
    else
        PCNN_TIMED(PCNN_PROF_HEAD,
                   ctx->be->cat_log_prob(logp.data, l.data, x.data, &d));
    return PCNN_OK;
}

pcnn_status pcnn_head_backward(pcnn_ctx *ctx, const pcnn_head *h,
                               pcnn_tensor dl, pcnn_tensor dlogp,
                               pcnn_tensor l, pcnn_image x)
{
    static const char fn[] = "pcnn_head_backward";
    pcnn_head_dims d;
    PCNN_TRY(check_head(fn, ctx, h));
    PCNN_TRY(check_params(fn, h, l, &d));
    PCNN_TRY(check_image(fn, h, x, l, h->channels, 1));
    PCNN_TRY(pcnn_check_like(fn, "dl", dl, "l", l));
    int64_t ld[4] = {l.dim[0], 1, l.dim[2], l.dim[3]};
    PCNN_TRY(pcnn_check_dims(fn, "dlogp", dlogp, 4, ld));
    if (h->kind == PCNN_HEAD_DMOL)
        PCNN_TIMED(PCNN_PROF_HEAD, ctx->be->dmol_backward(dl.data, dlogp.data,
                                                          l.data, x.data, &d));
    else
        PCNN_TIMED(PCNN_PROF_HEAD, ctx->be->cat_backward(dl.data, dlogp.data,
                                                         l.data, x.data, &d));
    return PCNN_OK;
}

pcnn_status pcnn_head_sample(pcnn_ctx *ctx, const pcnn_head *h, pcnn_image x,
                             pcnn_tensor l, const pcnn_sample_opts *opts)
{
    static const char fn[] = "pcnn_head_sample";
    pcnn_head_dims d;
    PCNN_TRY(check_head(fn, ctx, h));
    PCNN_TRY(check_params(fn, h, l, &d));
    PCNN_TRY(check_image(fn, h, x, l, 0, 0));
    if (!opts)
        return pcnn_fail(PCNN_ERR_ARG, "%s: opts is NULL", fn);
    if (h->kind == PCNN_HEAD_DMOL) {
        if (!(opts->log_scale_offset > -20.0f &&
              opts->log_scale_offset < 20.0f))
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: log-scale offset %g not in (-20, 20)", fn,
                             (double)opts->log_scale_offset);
        PCNN_TIMED(PCNN_PROF_HEAD,
                   ctx->be->dmol_sample(x.data, l.data, &d, opts->seed,
                                        opts->log_scale_offset));
    } else {
        if (!(opts->temperature > 1e-3f && opts->temperature < 1e3f))
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: temperature %g not in (0.001, 1000)", fn,
                             (double)opts->temperature);
        PCNN_TIMED(PCNN_PROF_HEAD,
                   ctx->be->cat_sample(x.data, l.data, &d, opts->seed,
                                       opts->temperature));
    }
    return PCNN_OK;
}

pcnn_status pcnn_head_pmf(pcnn_ctx *ctx, const pcnn_head *h,
                          pcnn_tensor probs, pcnn_tensor l, pcnn_image x,
                          int c)
{
    static const char fn[] = "pcnn_head_pmf";
    pcnn_head_dims d;
    PCNN_TRY(check_head(fn, ctx, h));
    PCNN_TRY(check_params(fn, h, l, &d));
    if (c < 0 || c >= h->channels)
        return pcnn_fail(PCNN_ERR_ARG, "%s: channel %d not in [0, %d)", fn, c,
                         h->channels);
    int64_t pd[4] = {l.dim[0], h->levels, l.dim[2], l.dim[3]};
    PCNN_TRY(pcnn_check_dims(fn, "probs", probs, 4, pd));
    if (h->kind == PCNN_HEAD_DMOL) {
        PCNN_TRY(check_image(fn, h, x, l, c, 1));
        PCNN_TIMED(PCNN_PROF_HEAD,
                   ctx->be->dmol_pmf(probs.data, l.data, x.data, &d, c));
    } else {
        PCNN_TIMED(PCNN_PROF_HEAD, ctx->be->cat_pmf(probs.data, l.data, &d, c));
    }
    return PCNN_OK;
}

/* The checks of the interval functions: a logistic mixture head and
 * its parameters l; fills d. */
static pcnn_status check_dmol_params(const char *fn, const pcnn_ctx *ctx,
                                     const pcnn_head *h, pcnn_tensor l,
                                     pcnn_head_dims *d)
{
    PCNN_TRY(check_head(fn, ctx, h));
    if (h->kind != PCNN_HEAD_DMOL)
        return pcnn_fail(PCNN_ERR_ARG, "%s: only for the logistic mixture "
                         "head", fn);
    return check_params(fn, h, l, d);
}

pcnn_status pcnn_head_interval_log_mass(pcnn_ctx *ctx, const pcnn_head *h,
                                        pcnn_tensor out, pcnn_tensor l,
                                        pcnn_image x, pcnn_image lo,
                                        pcnn_image hi)
{
    static const char fn[] = "pcnn_head_interval_log_mass";
    pcnn_head_dims d;
    PCNN_TRY(check_dmol_params(fn, ctx, h, l, &d));
    PCNN_TRY(check_image(fn, h, x, l, h->channels, 1));
    PCNN_TRY(check_image(fn, h, lo, l, h->channels, 1));
    PCNN_TRY(check_image(fn, h, hi, l, h->channels, 1));
    int64_t od[4] = {l.dim[0], h->channels, l.dim[2], l.dim[3]};
    PCNN_TRY(pcnn_check_dims(fn, "out", out, 4, od));
    const int64_t n = x.n * x.c * x.h * x.w;
    for (int64_t k = 0; k < n; k++)
        if (!(lo.data[k] <= x.data[k] && x.data[k] <= hi.data[k]))
            return pcnn_fail(PCNN_ERR_VALUE,
                             "%s: element %lld: %d is not in [%d, %d]", fn,
                             (long long)k, x.data[k], lo.data[k],
                             hi.data[k]);
    PCNN_TIMED(PCNN_PROF_HEAD,
               ctx->be->dmol_interval_log_mass(out.data, l.data, x.data,
                                               lo.data, hi.data, &d));
    return PCNN_OK;
}

pcnn_status pcnn_head_sample_range(pcnn_ctx *ctx, const pcnn_head *h,
                                   pcnn_image x, pcnn_tensor l, int c,
                                   const uint8_t *lo, const uint8_t *hi,
                                   const pcnn_sample_opts *opts)
{
    static const char fn[] = "pcnn_head_sample_range";
    pcnn_head_dims d;
    PCNN_TRY(check_dmol_params(fn, ctx, h, l, &d));
    PCNN_TRY(check_image(fn, h, x, l, c, 1));
    if (c < 0 || c >= h->channels || !lo || !hi || !opts)
        return pcnn_fail(PCNN_ERR_ARG, "%s: channel %d not in [0, %d), or "
                         "no interval or opts", fn, c, h->channels);
    if (!isfinite(opts->log_scale_offset))
        return pcnn_fail(PCNN_ERR_ARG, "%s: log_scale_offset %g is not "
                         "finite", fn, (double)opts->log_scale_offset);
    for (int64_t p = 0; p < d.B * d.HW; p++)
        if (lo[p] > hi[p])
            return pcnn_fail(PCNN_ERR_VALUE, "%s: empty interval [%d, %d] "
                             "at %lld", fn, lo[p], hi[p], (long long)p);
    PCNN_TIMED(PCNN_PROF_HEAD,
               ctx->be->dmol_draw_range(x.data, l.data, &d, c, lo, hi,
                                        (double)opts->log_scale_offset,
                                        opts->seed));
    return PCNN_OK;
}
