/*
 * restore.c -- greedy decoding with a plain model (pixelcnn.h,
 * docs/restore.md): every subpixel in raster order is set to the value
 * that maximizes its conditional's log-probability plus a data term.
 * The pass runs the cached sampler (pcnn_model_run_pixels) with a hook
 * that decides each pixel from the head parameters the sampler computed
 * for it, so a pass costs about one forward pass; restoration (denoise,
 * deblur, inpaint) and PixelDefend purification differ only in the term.
 */
#include "restore.h"
#include "chain.h"
#include "../api/check.h"
#include "../codec/freq.h"
#include "../model/model.h"

#include <string.h>

/* ------------------------------------------------------------ decoder */

typedef struct {
    const pcnn_model *m;
    pcnn_image x; /* the estimate */
    const pcnn_greedy_term *t;
    double mass[256], data[256];
} decoder;

/* The mean of the values lo..hi weighted by mass * exp(data), rounded
 * half up (d->mass holds the masses); -1 when every mass is 0. */
static int mean_value(const decoder *d, int lo, int hi)
{
    double top = -HUGE_VAL, sw = 0, sv = 0;
    for (int u = lo; u <= hi; u++)
        if (d->mass[u - lo] > 0 && log(d->mass[u - lo]) + d->data[u - lo] > top)
            top = log(d->mass[u - lo]) + d->data[u - lo];
    for (int u = lo; u <= hi; u++)
        if (d->mass[u - lo] > 0) {
            const double w = exp(log(d->mass[u - lo]) + d->data[u - lo] - top);
            sw += w, sv += w * u;
        }
    return sw > 0 ? (int)floor(sv / sw + 0.5) : -1;
}

/* The value of [lo, hi] for channel c of one pixel with head parameters
 * l and earlier channels xv; cur: the estimate's value there. */
static int best_value(decoder *d, const float *l, int c, const int *xv,
                      int lo, int hi, int cur)
{
    const pcnn_model *m = d->m;
    if (lo == hi)
        return lo;
    if (m->head.kind == PCNN_HEAD_DMOL)
        pcnn_dmol_masses(l, m->head.nr_mix, (int)d->x.c, c, xv, lo, hi,
                         d->mass);
    else
        pcnn_cat_masses(l, m->head.levels, c, lo, hi, d->mass);
    int v = -1;
    double best = -HUGE_VAL;
    if (d->t->mean && (v = mean_value(d, lo, hi)) >= 0)
        return v;
    for (int u = lo; u <= hi; u++) {
        const double p = d->mass[u - lo];
        if (!(p > 0))
            continue;
        const double s = log(p) + d->data[u - lo];
        if (v < 0 || s > best)
            v = u, best = s;
    }
    if (v >= 0)
        return v;
    /* every probability underflowed: the data term alone */
    for (int u = lo; u <= hi; u++) {
        const double s = d->data[u - lo];
        if (v < 0 || s > best || (s == best && u == cur))
            v = u, best = s;
    }
    return v;
}

/* The sampler's hook: every channel of pixel k of every image. */
static pcnn_status decide_pixel(void *arg, const float *l, int64_t k,
                                uint8_t *px)
{
    decoder *d = arg;
    const pcnn_image x = d->x;
    const int C = (int)x.c, P = pcnn_head_params(&d->m->head);
    const int64_t HW = x.h * x.w;
    for (int64_t b = 0; b < x.n; b++) {
        int xv[3] = {0, 0, 0};
        for (int c = 0; c < C; c++) {
            int lo = 0, hi = d->m->cfg.levels - 1;
            const int cur = x.data[(b * C + c) * HW + k];
            d->t->score(d->t->arg, b, c, k, &lo, &hi, d->data);
            const int v = best_value(d, l + b * P, c, xv, lo, hi, cur);
            xv[c] = v;
            px[b * C + c] = (uint8_t)v;
            if (d->t->set)
                d->t->set(d->t->arg, b, c, k, v);
        }
    }
    return PCNN_OK;
}

/* The reference: the whole network once per pixel on the estimate (the
 * pixels after it are not read, by causality). */
static pcnn_status decode_naive(pcnn_ctx *ctx, pcnn_model *m, decoder *d,
                                pcnn_progress progress)
{
    const pcnn_image x = d->x;
    const int64_t B = x.n, C = x.c, HW = x.h * x.w;
    const int P = pcnn_head_params(&m->head);
    float *full = malloc((size_t)(B * P * HW) * sizeof *full);
    float *l = malloc((size_t)(B * P) * sizeof *l);
    uint8_t *px = malloc((size_t)(B * C));
    pcnn_status st = full && l && px
                         ? PCNN_OK
                         : pcnn_fail(PCNN_ERR_NOMEM, "restore: out of memory");
    const pcnn_batch batch = {x, NULL, pcnn_none()};
    for (int64_t s = 0; s < HW && st == PCNN_OK; s++) {
        st = pcnn_model_forward(ctx, m, &batch,
                                pcnn_t4(full, B, P, x.h, x.w));
        for (int64_t b = 0; b < B && st == PCNN_OK; b++)
            for (int p = 0; p < P; p++)
                l[b * P + p] = full[(b * P + p) * HW + s];
        if (st == PCNN_OK)
            st = decide_pixel(d, l, s, px);
        for (int64_t b = 0; b < B && st == PCNN_OK; b++)
            for (int64_t c = 0; c < C; c++)
                x.data[(b * C + c) * HW + s] = px[b * C + c];
        if (st == PCNN_OK && progress.fn && (s + 1) % x.w == 0) {
            const pcnn_progress_info info = {"sample", (s + 1) / x.w, x.h,
                                             NAN};
            if (progress.fn(progress.arg, &info))
                st = PCNN_ERR_CANCELLED;
        }
    }
    free(full), free(l), free(px);
    return st;
}

pcnn_status pcnn_greedy_decode(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                               const pcnn_greedy_term *t,
                               pcnn_progress progress, int naive)
{
    decoder d;
    memset(&d, 0, sizeof d);
    d.m = m, d.x = x, d.t = t;
    if (naive)
        return decode_naive(ctx, m, &d, progress);
    const pcnn_pixel_hook hook = {decide_pixel, &d};
    return pcnn_model_run_pixels(ctx, m, x, NULL, pcnn_none(), &hook,
                                 progress);
}

/* ----------------------------------------------------------- checks */

/* The chain is a plain model (one stage of x, no condition, no
 * classes): its model, or NULL after a message. */
static pcnn_model *plain_model(const char *fn, pcnn_chain *ch)
{
    if (!ch) {
        pcnn_fail(PCNN_ERR_ARG, "%s: chain is NULL", fn);
        return NULL;
    }
    const pcnn_model_config *c = pcnn_model_get_config(ch->m[0]);
    if (ch->n != 1 || !pcnn_chain_is_complete(ch) || c->num_classes > 0) {
        char v[96];
        pcnn_fail(PCNN_ERR_ARG,
                  "%s: needs a plain model (one stage that models x with "
                  "no condition and no classes); this chain has %d "
                  "stage%s, the first modelling %s%s%s",
                  fn, ch->n, ch->n > 1 ? "s" : "",
                  pcnn_view_str(&c->view, v, sizeof v),
                  c->cond_channels ? " given a condition" : "",
                  c->num_classes > 0 ? ", class-conditional" : "");
        return NULL;
    }
    return ch->m[0];
}

/* img has the model's shape and values below its levels. */
static pcnn_status check_image(const char *fn, const char *name,
                               const pcnn_model *m, pcnn_image img)
{
    const pcnn_model_config *c = &m->cfg;
    if (!img.data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: %s is NULL", fn, name);
    if (img.n < 1 || img.n > 1 << 20 || img.c != c->channels ||
        img.h != c->height || img.w != c->width)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: %s is (%lld,%lld,%lld,%lld), the model takes "
                         "(B,%d,%d,%d)",
                         fn, name, (long long)img.n, (long long)img.c,
                         (long long)img.h, (long long)img.w, c->channels,
                         c->height, c->width);
    const int64_t n = img.n * img.c * img.h * img.w;
    for (int64_t i = 0; i < n; i++)
        if (img.data[i] >= c->levels)
            return pcnn_fail(PCNN_ERR_VALUE,
                             "%s: %s has value %d at %lld, the model's "
                             "levels are 0..%d",
                             fn, name, img.data[i], (long long)i,
                             c->levels - 1);
    return PCNN_OK;
}

/* ------------------------------------------------------------- jobs */

/* The restoration's state: y, the estimate x and, deblurring, the
 * residual K * x - y (B, C, H, W) and the kernel. */
typedef struct {
    const pcnn_restore_opts *o;
    pcnn_image y, x;
    double *res;
    double scale; /* weight / (2 sigma^2) */
} restorer;

static void denoise_score(void *arg, int64_t b, int c, int64_t k, int *lo,
                          int *hi, double *data)
{
    const restorer *r = arg;
    const int64_t HW = r->y.h * r->y.w;
    const double y = r->y.data[(b * r->y.c + c) * HW + k];
    for (int v = *lo; v <= *hi; v++)
        data[v - *lo] = -r->scale * (y - v) * (y - v);
}

static void inpaint_score(void *arg, int64_t b, int c, int64_t k, int *lo,
                          int *hi, double *data)
{
    const restorer *r = arg;
    const int64_t HW = r->y.h * r->y.w;
    if (r->o->mask[b * HW + k])
        *lo = *hi = r->y.data[(b * r->y.c + c) * HW + k];
    for (int v = *lo; v <= *hi; v++)
        data[v - *lo] = 0;
}

/* Runs body for every output of the circular blur that pixel (i, j) of
 * an H x W plane feeds, with `at` the output's position and `kw` the
 * kernel weight joining them. */
#define FOR_TAPS(o, i, j, H, W, body)                                         \
    do {                                                                      \
        const int ks_ = (o)->ksize, r_ = ks_ / 2;                             \
        for (int p_ = 0; p_ < ks_; p_++)                                      \
            for (int q_ = 0; q_ < ks_; q_++) {                                \
                const int64_t oi_ = (((i) - p_ + r_) % (H) + (H)) % (H);      \
                const int64_t oj_ = (((j) - q_ + r_) % (W) + (W)) % (W);      \
                const int64_t at = oi_ * (W) + oj_;                           \
                const double kw = (o)->kernel[p_ * ks_ + q_];                 \
                body;                                                         \
            }                                                                 \
    } while (0)

static void deblur_score(void *arg, int64_t b, int c, int64_t k, int *lo,
                         int *hi, double *data)
{
    const restorer *r = arg;
    const int64_t H = r->y.h, W = r->y.w, i = k / W, j = k % W;
    const double *res = r->res + (b * r->y.c + c) * H * W;
    const double cur = r->x.data[(b * r->x.c + c) * H * W + k];
    double s1 = 0, s2 = 0;
    FOR_TAPS(r->o, i, j, H, W, (s1 += kw * res[at], s2 += kw * kw));
    for (int v = *lo; v <= *hi; v++) {
        const double dv = v - cur;
        data[v - *lo] = -r->scale * (2 * dv * s1 + dv * dv * s2);
    }
}

static void deblur_set(void *arg, int64_t b, int c, int64_t k, int v)
{
    const restorer *r = arg;
    const int64_t H = r->y.h, W = r->y.w, i = k / W, j = k % W;
    double *res = r->res + (b * r->y.c + c) * H * W;
    const double dv = v - (double)r->x.data[(b * r->x.c + c) * H * W + k];
    FOR_TAPS(r->o, i, j, H, W, res[at] += kw * dv);
}

/* res = K * x - y for every plane. */
static void residual(restorer *r)
{
    const int64_t H = r->y.h, W = r->y.w, planes = r->y.n * r->y.c;
    for (int64_t t = 0; t < planes; t++) {
        double *res = r->res + t * H * W;
        const uint8_t *x = r->x.data + t * H * W, *y = r->y.data + t * H * W;
        for (int64_t k = 0; k < H * W; k++)
            res[k] = -(double)y[k];
        for (int64_t k = 0; k < H * W; k++) {
            const double dv = x[k];
            FOR_TAPS(r->o, k / W, k % W, H, W, res[at] += kw * dv);
        }
    }
}

pcnn_restore_opts pcnn_restore_opts_default(void)
{
    pcnn_restore_opts o;
    memset(&o, 0, sizeof o);
    o.mode = PCNN_RESTORE_DENOISE;
    o.passes = 3;
    o.weight = 1;
    return o;
}

/* The options against the mode and the images. */
static pcnn_status check_opts(const char *fn, const pcnn_restore_opts *o,
                              pcnn_image y)
{
    if (o->mode != PCNN_RESTORE_DENOISE && o->mode != PCNN_RESTORE_DEBLUR &&
        o->mode != PCNN_RESTORE_INPAINT)
        return pcnn_fail(PCNN_ERR_ARG, "%s: unknown mode %d", fn,
                         (int)o->mode);
    if (o->mean != 0 && o->mean != 1)
        return pcnn_fail(PCNN_ERR_ARG, "%s: mean %d: want 0 or 1", fn,
                         o->mean);
    if (!(o->weight >= 0) || !isfinite(o->weight))
        return pcnn_fail(PCNN_ERR_VALUE,
                         "%s: weight %g: want a finite value >= 0", fn,
                         o->weight);
    if (o->mode != PCNN_RESTORE_INPAINT &&
        (!(o->sigma > 0) || !isfinite(o->sigma)))
        return pcnn_fail(PCNN_ERR_VALUE,
                         "%s: sigma %g: want the noise's standard deviation, "
                         "finite and > 0",
                         fn, o->sigma);
    if (o->mode == PCNN_RESTORE_INPAINT && !o->mask)
        return pcnn_fail(PCNN_ERR_ARG, "%s: inpainting needs a mask", fn);
    if (o->mode != PCNN_RESTORE_DEBLUR)
        return PCNN_OK;
    if (o->passes < 1 || o->passes > 100)
        return pcnn_fail(PCNN_ERR_ARG, "%s: passes %d: want 1..100", fn,
                         o->passes);
    if (!o->kernel || o->ksize < 1 || o->ksize % 2 == 0 ||
        o->ksize > PCNN_RESTORE_MAX_KERNEL || o->ksize > y.h ||
        o->ksize > y.w)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: deblurring needs a kernel of odd size 1..%d "
                         "and at most the image's (%lld x %lld); ksize %d%s",
                         fn, PCNN_RESTORE_MAX_KERNEL, (long long)y.h,
                         (long long)y.w, o->ksize,
                         o->kernel ? "" : ", kernel NULL");
    for (int t = 0; t < o->ksize * o->ksize; t++)
        if (!isfinite(o->kernel[t]))
            return pcnn_fail(PCNN_ERR_VALUE,
                             "%s: kernel weight %d is not finite", fn, t);
    return PCNN_OK;
}

/* The discrete Fourier transform of the planes (re, im) (h, w) in place,
 * rows then columns, sign -1 forward and +1 backward (unscaled); tmp:
 * 2 max(h, w) doubles. Direct sums: the planes are small. */
static void dft2(double *re, double *im, int64_t h, int64_t w, int sign,
                 double *tmp)
{
    for (int pass = 0; pass < 2; pass++) {
        const int64_t n = pass ? h : w, lines = pass ? w : h;
        const int64_t step = pass ? w : 1, stride = pass ? 1 : w;
        for (int64_t L = 0; L < lines; L++) {
            double *r = re + L * stride, *m = im + L * stride;
            for (int64_t u = 0; u < n; u++) {
                double sr = 0, si = 0;
                for (int64_t t = 0; t < n; t++) {
                    const double a = sign * 2 * PCNN_PI *
                                     (double)((u * t) % n) / (double)n;
                    const double c = cos(a), s = sin(a);
                    sr += r[t * step] * c - m[t * step] * s;
                    si += r[t * step] * s + m[t * step] * c;
                }
                tmp[2 * u] = sr, tmp[2 * u + 1] = si;
            }
            for (int64_t u = 0; u < n; u++)
                r[u * step] = tmp[2 * u], m[u * step] = tmp[2 * u + 1];
        }
    }
}

/* The deblurring's start: x = the Wiener estimate of y, conj(K) Y /
 * (|K|^2 + sigma^2 / v) per frequency, v the variance of y's plane (at
 * least sigma^2), about the level mid-range, rounded and clipped. */
static pcnn_status wiener(restorer *r, int levels)
{
    const pcnn_restore_opts *o = r->o;
    const int64_t H = r->y.h, W = r->y.w, HW = H * W;
    double *b = calloc((size_t)(6 * HW + 2 * (H > W ? H : W)), sizeof *b);
    if (!b)
        return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_chain_restore: out of memory");
    double *kr = b, *ki = b + HW, *yr = b + 2 * HW, *yi = b + 3 * HW,
           *tmp = b + 6 * HW;
    const double mid = (levels - 1) / 2.0;
    double ksum = 0;
    const int ks = o->ksize, rad = ks / 2;
    for (int p = 0; p < ks; p++) /* the blur as a convolution's taps */
        for (int q = 0; q < ks; q++) {
            const int64_t i = ((rad - p) % H + H) % H, j = ((rad - q) % W + W) % W;
            kr[i * W + j] += o->kernel[p * ks + q];
            ksum += o->kernel[p * ks + q];
        }
    dft2(kr, ki, H, W, -1, tmp);
    for (int64_t t = 0; t < r->y.n * r->y.c; t++) {
        const uint8_t *y = r->y.data + t * HW;
        double mean = 0, var = 0;
        for (int64_t k = 0; k < HW; k++)
            mean += y[k] / (double)HW;
        for (int64_t k = 0; k < HW; k++)
            var += (y[k] - mean) * (y[k] - mean) / (double)HW;
        const double sig2 = o->sigma * o->sigma;
        const double lam = sig2 / (var > sig2 ? var : sig2);
        for (int64_t k = 0; k < HW; k++)
            yr[k] = y[k] - mid * ksum, yi[k] = 0;
        dft2(yr, yi, H, W, -1, tmp);
        for (int64_t k = 0; k < HW; k++) {
            const double d = kr[k] * kr[k] + ki[k] * ki[k] + lam;
            const double a = (kr[k] * yr[k] + ki[k] * yi[k]) / d,
                         c = (kr[k] * yi[k] - ki[k] * yr[k]) / d;
            yr[k] = a, yi[k] = c;
        }
        dft2(yr, yi, H, W, 1, tmp);
        for (int64_t k = 0; k < HW; k++) {
            const double v = floor(yr[k] / (double)HW + mid + 0.5);
            r->x.data[t * HW + k] =
                (uint8_t)(v < 0 ? 0 : v > levels - 1 ? levels - 1 : v);
        }
    }
    free(b);
    return PCNN_OK;
}

/* The passes of the restoration r with model m. */
static pcnn_status restore_passes(pcnn_ctx *ctx, pcnn_model *m, restorer *r,
                                  int naive)
{
    const pcnn_restore_opts *o = r->o;
    const int passes = o->mode == PCNN_RESTORE_DEBLUR ? o->passes : 1;
    pcnn_job_rows rows = {o->progress, "restore", 0, passes * r->x.h};
    const pcnn_progress pr = pcnn_job_rows_progress(&rows);
    pcnn_greedy_term t = {denoise_score, NULL, r, o->mean};
    if (o->mode == PCNN_RESTORE_INPAINT)
        t.score = inpaint_score;
    if (o->mode == PCNN_RESTORE_DEBLUR)
        t.score = deblur_score, t.set = deblur_set;
    if (o->mode == PCNN_RESTORE_DEBLUR)
        PCNN_TRY(wiener(r, m->cfg.levels));
    for (int p = 0; p < passes; p++) {
        if (r->res)
            residual(r);
        PCNN_TRY(pcnn_greedy_decode(ctx, m, r->x, &t, pr, naive));
        rows.before += r->x.h;
    }
    return PCNN_OK;
}

pcnn_status pcnn_restore_run(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image y,
                             pcnn_image x, const pcnn_restore_opts *o,
                             int naive)
{
    static const char fn[] = "pcnn_chain_restore";
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    pcnn_model *m = plain_model(fn, c);
    if (!m)
        return PCNN_ERR_ARG;
    if (!o)
        return pcnn_fail(PCNN_ERR_ARG, "%s: opts is NULL", fn);
    PCNN_TRY(check_image(fn, "y", m, y));
    if (!x.data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: x is NULL", fn);
    if (x.n != y.n || x.c != y.c || x.h != y.h || x.w != y.w)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: x is (%lld,%lld,%lld,%lld), y (%lld,%lld,%lld,"
                         "%lld): want the same",
                         fn, (long long)x.n, (long long)x.c, (long long)x.h,
                         (long long)x.w, (long long)y.n, (long long)y.c,
                         (long long)y.h, (long long)y.w);
    PCNN_TRY(check_opts(fn, o, y));
    const size_t n = (size_t)(y.n * y.c * y.h * y.w);
    restorer r = {o, y, x, NULL, o->weight / (2 * o->sigma * o->sigma)};
    /* y kept apart from the estimate, which starts at y */
    uint8_t *yc = malloc(n);
    if (o->mode == PCNN_RESTORE_DEBLUR)
        r.res = malloc(n * sizeof *r.res);
    if (!yc || (o->mode == PCNN_RESTORE_DEBLUR && !r.res)) {
        free(yc), free(r.res);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    memcpy(yc, y.data, n);
    r.y.data = yc;
    memmove(x.data, y.data, n);
    pcnn_status s = restore_passes(ctx, m, &r, naive);
    free(yc), free(r.res);
    if (s == PCNN_ERR_CANCELLED)
        return pcnn_fail(s, "%s: cancelled by the progress callback", fn);
    return s;
}

pcnn_status pcnn_chain_restore(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image y,
                               pcnn_image x, const pcnn_restore_opts *o)
{
    return pcnn_restore_run(ctx, c, y, x, o, 0);
}

/* ----------------------------------------------------------- purify */

typedef struct {
    const uint8_t *x0; /* the original */
    int64_t C, HW;
    int eps, top;      /* top: the largest level */
} purifier;

static void purify_score(void *arg, int64_t b, int c, int64_t k, int *lo,
                         int *hi, double *data)
{
    const purifier *p = arg;
    const int v0 = p->x0[(b * p->C + c) * p->HW + k];
    *lo = v0 - p->eps > 0 ? v0 - p->eps : 0;
    *hi = v0 + p->eps < p->top ? v0 + p->eps : p->top;
    for (int v = *lo; v <= *hi; v++)
        data[v - *lo] = 0;
}

pcnn_status pcnn_purify_run(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image x,
                            const pcnn_purify_opts *o, int naive)
{
    static const char fn[] = "pcnn_chain_purify";
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    pcnn_model *m = plain_model(fn, c);
    if (!m)
        return PCNN_ERR_ARG;
    if (!o)
        return pcnn_fail(PCNN_ERR_ARG, "%s: opts is NULL", fn);
    if (o->eps < 0 || o->eps > 255)
        return pcnn_fail(PCNN_ERR_VALUE, "%s: eps %d: want 0..255", fn,
                         o->eps);
    PCNN_TRY(check_image(fn, "x", m, x));
    const size_t n = (size_t)(x.n * x.c * x.h * x.w);
    uint8_t *x0 = malloc(n);
    if (!x0)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    memcpy(x0, x.data, n);
    purifier p = {x0, x.c, x.h * x.w, o->eps, m->cfg.levels - 1};
    const pcnn_greedy_term t = {purify_score, NULL, &p, 0};
    pcnn_job_rows rows = {o->progress, "purify", 0, x.h};
    const pcnn_progress pr = pcnn_job_rows_progress(&rows);
    pcnn_status s = pcnn_greedy_decode(ctx, m, x, &t, pr, naive);
    free(x0);
    if (s == PCNN_ERR_CANCELLED)
        return pcnn_fail(s, "%s: cancelled by the progress callback", fn);
    return s;
}

pcnn_status pcnn_chain_purify(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image x,
                              const pcnn_purify_opts *o)
{
    return pcnn_purify_run(ctx, c, x, o, 0);
}
