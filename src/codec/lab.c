/*
 * lab.c -- the last coded stage of a color chain (lab.h,
 * docs/compression.md): X given L8(X) and half-resolution chroma. The
 * colors of a pixel's lightness are its only candidates (channel by
 * channel, R, G, B: pcnn_lab_range); among them a discretized logistic
 * per channel centred on the color that the lightness and the bilinearly
 * upsampled chroma compose to (not rounded), moved by part of the errors
 * of the pixels to the left and above; its scale per channel and image
 * mixes a base scale with those neighbours' errors, both chosen by the
 * encoder and coded first. The tables come from freq.c's portable
 * arithmetic, so both sides agree.
 */
#include "lab.h"
#include "freq.h"

#include <string.h>

/* Scales: SCALE_MIN * 2^(k / SCALE_STEPS), k in 0 .. SCALES-1, mixed
 * with the neighbours' errors in the shares a / MIXES, a in 0 .. MIXES-1
 * (lab_params). */
#define SCALES 64
#define SCALE_STEPS 8
#define SCALE_MIN 0.25
#define MIXES 4
/* The encoder tries the scales this far around its first guess. */
#define SCALE_SEARCH 6

/* A channel's parameters in an image: its scale index and mix. */
typedef struct {
    int k, a;
} lab_params;

/* The L8 of the color v with channel ch set to x. */
static int l8_with(const double *lin, const int *v, int ch, int x)
{
    int u[3] = {v[0], v[1], v[2]};
    u[ch] = x;
    return pcnn_lab8_lightness(lin, u[0], u[1], u[2]);
}

void pcnn_lab_range(const double *lin, int l, int c, const int *v, int *lo,
                    int *hi)
{
    /* the channels after c at their darkest and brightest; L8 is
     * nondecreasing in every channel */
    int dark[3], bright[3];
    for (int i = 0; i < 3; i++) {
        dark[i] = i < c ? v[i] : 0;
        bright[i] = i < c ? v[i] : 255;
    }
    /* lo: the first x whose brightest completion reaches l */
    int a = 0, z = 256;
    while (a < z) {
        const int m = (a + z) / 2;
        if (l8_with(lin, bright, c, m) >= l)
            z = m;
        else
            a = m + 1;
    }
    *lo = a;
    /* hi: the last x whose darkest completion stays at most l */
    a = -1, z = 255;
    while (a < z) {
        const int m = (a + z + 1) / 2;
        if (l8_with(lin, dark, c, m) <= l)
            a = m;
        else
            z = m - 1;
    }
    *hi = a;
}

/* The scale of index k. */
static double scale_of(int k)
{
    return SCALE_MIN * pcnn_det_exp(k * (PCNN_LN2 / SCALE_STEPS));
}

/* The smaller tail of the logistic at z: sigmoid(-|z|). */
static double tail(double z)
{
    const double e = pcnn_det_exp(z < 0 ? z : -z);
    return e / (1 + e);
}

/* mass[0 .. hi-lo] of the values lo..hi under the logistic (mu, s). */
static void logistic_masses(double mu, double s, int lo, int hi,
                            double *mass)
{
    double ta = 0;
    int na = 0;
    for (int v = lo; v <= hi + 1; v++) {
        const double z = (v - 0.5 - mu) / s, tb = tail(z);
        const int nb = z < 0;
        if (v > lo)
            mass[v - 1 - lo] = na && nb    ? tb - ta
                               : !na && !nb ? ta - tb
                                            : (1 - tb) - ta;
        ta = tb, na = nb;
    }
}

typedef struct {
    double lin[256], mass[256];
    uint32_t freq[256];
    pcnn_rans_enc *e;
    pcnn_rans_dec *d;
    int64_t H, W;
    double *pred, *err; /* (3, H, W): the prediction, x - pred so far */
} lab_coder;

/* The prediction of the image of L8 plane l and chroma ab (2, h, w):
 * the sRGB of L8 with the chroma upsampled bilinearly, not rounded. */
static void predict(lab_coder *lc, const uint8_t *l, const uint8_t *ab,
                    int64_t h, int64_t w)
{
    const int64_t HW = lc->H * lc->W;
    double *up = lc->err; /* the upsampled chroma, before err is used */
    pcnn_bilinear(up, lc->H, lc->W, ab, h, w);
    pcnn_bilinear(up + HW, lc->H, lc->W, ab + h * w, h, w);
    for (int64_t i = 0; i < HW; i++) {
        const double lab[3] = {l[i], up[i], up[HW + i]};
        double rgb[3];
        pcnn_lab8_to_srgb_det(lab, rgb);
        for (int c = 0; c < 3; c++)
            lc->pred[c * HW + i] = rgb[c];
    }
}

/* The center of channel c at pixel i: the prediction moved by 3/8 of
 * each of the errors of the pixels to its left and above it. */
static double center(const lab_coder *lc, int c, int64_t i)
{
    const int64_t HW = lc->H * lc->W, y = i / lc->W, z = i % lc->W;
    const double *e = lc->err + c * HW;
    const double near = (z > 0 ? e[i - 1] : 0) + (y > 0 ? e[i - lc->W] : 0);
    return lc->pred[c * HW + i] + 0.375 * near;
}

/* The scale of channel c at pixel i: the image's scale S mixed in the
 * share a / MIXES with the one whose mean absolute deviation (2 ln 2 s)
 * is the mean error of the pixels to the left and above (the coded
 * ones' values against the prediction), at least SCALE_MIN. */
static double scale_at(const lab_coder *lc, int c, int64_t i, double S,
                       int a)
{
    const int64_t HW = lc->H * lc->W, y = i / lc->W, z = i % lc->W;
    const double *e = lc->err + c * HW;
    const double el = z > 0 ? e[i - 1] : 0, eu = y > 0 ? e[i - lc->W] : 0;
    const double loc = ((el < 0 ? -el : el) + (eu < 0 ? -eu : eu)) / 2 /
                       (2 * PCNN_LN2);
    const double s = (S * (MIXES - a) + loc * a) / MIXES;
    return s > SCALE_MIN ? s : SCALE_MIN;
}

/* -log of the logistic (mu, s)'s mass at the value v, not renormalized:
 * the encoder's estimate of a value's cost. */
static double value_cost(int v, double mu, double s)
{
    double m[1];
    logistic_masses(mu, s, v, v, m);
    return m[0] > 1e-300 ? -pcnn_det_log(m[0]) : 690;
}

/* The encoder's parameters per channel: the scale index and mix whose
 * logistics give the true x the least cost, the scales tried around the
 * one whose mean absolute deviation is the centers' errors'. */
static void choose_params(lab_coder *lc, const uint8_t *x, lab_params *p)
{
    const int64_t HW = lc->H * lc->W;
    for (int64_t i = 0; i < 3 * HW; i++)
        lc->err[i] = x[i] - lc->pred[i];
    for (int c = 0; c < 3; c++) {
        double sum = 0;
        for (int64_t i = 0; i < HW; i++) {
            const double d = x[c * HW + i] - center(lc, c, i);
            sum += d < 0 ? -d : d;
        }
        const double s = sum / (double)HW / (2 * PCNN_LN2);
        const double f = s > SCALE_MIN ? pcnn_det_log(s / SCALE_MIN) /
                                             PCNN_LN2 * SCALE_STEPS
                                       : 0;
        const int k0 = (int)(f + 0.5);
        double best = -1;
        for (int a = 0; a < MIXES; a++)
            for (int k = k0 - SCALE_SEARCH; k <= k0 + SCALE_SEARCH; k++) {
                if (k < 0 || k >= SCALES)
                    continue;
                const double S = scale_of(k);
                double cost = 0;
                for (int64_t i = 0; i < HW; i++)
                    cost += value_cost(x[c * HW + i], center(lc, c, i),
                                       scale_at(lc, c, i, S, a));
                if (best < 0 || cost < best)
                    best = cost, p[c].k = k, p[c].a = a;
            }
    }
}

/* Codes or decodes *k of n equally likely values. */
static int code_uniform(lab_coder *lc, int n, int *k)
{
    for (int i = 0; i < n; i++)
        lc->mass[i] = 1;
    pcnn_quantize(lc->mass, n, PCNN_RANS_TOTAL, lc->freq);
    return pcnn_rans_table(lc->e, lc->d, lc->freq, n, k);
}

/* Pixel i of lightness l: its channels x[c HW + i] coded or decoded with
 * scales s. 0, 1: out of memory, 2: no color of that lightness fits. */
static int code_pixel(lab_coder *lc, int l, uint8_t *x, int64_t i,
                      const lab_params *p)
{
    const int64_t HW = lc->H * lc->W;
    int v[3] = {0, 0, 0};
    for (int c = 0; c < 3; c++) {
        uint8_t *px = x + c * HW + i;
        int lo, hi;
        pcnn_lab_range(lc->lin, l, c, v, &lo, &hi);
        if (lo > hi || (lc->e && (*px < lo || *px > hi)))
            return 2;
        int k = lc->e ? *px - lo : 0;
        if (lo < hi) {
            logistic_masses(center(lc, c, i),
                            scale_at(lc, c, i, scale_of(p[c].k), p[c].a), lo,
                            hi, lc->mass);
            pcnn_quantize(lc->mass, hi - lo + 1, PCNN_RANS_TOTAL, lc->freq);
            if (pcnn_rans_table(lc->e, lc->d, lc->freq, hi - lo + 1, &k))
                return 1;
        }
        v[c] = lo + k;
        *px = (uint8_t)v[c];
    }
    for (int c = 0; c < 3; c++)
        lc->err[c * HW + i] = v[c] - lc->pred[c * HW + i];
    return 0;
}

/* One image: its scales, then its pixels in raster order. */
static pcnn_status code_image(const char *fn, int stage, lab_coder *lc,
                              uint8_t *x, const uint8_t *l, int64_t b)
{
    const int64_t HW = lc->H * lc->W;
    lab_params p[3];
    if (lc->e)
        choose_params(lc, x, p);
    for (int c = 0; c < 3; c++)
        if (code_uniform(lc, SCALES, &p[c].k) ||
            code_uniform(lc, MIXES, &p[c].a))
            return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    for (int64_t i = 0; i < HW; i++) {
        const int r = code_pixel(lc, l[i], x, i, p);
        if (r == 1)
            return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
        if (r == 2)
            return pcnn_fail(lc->e ? PCNN_ERR_VALUE : PCNN_ERR_FORMAT,
                             "%s: stage %d: %s: pixel %lld of image %lld "
                             "has no color of lightness %d",
                             fn, stage, lc->e ? "the values" : "damaged",
                             (long long)i, (long long)b, l[i]);
    }
    return PCNN_OK;
}

pcnn_status pcnn_lab_code(const char *fn, int stage, pcnn_image x,
                          const uint8_t *l, const uint8_t *ab, int64_t h,
                          int64_t w, pcnn_rans_enc *e, pcnn_rans_dec *d)
{
    const int64_t HW = x.h * x.w;
    lab_coder *lc = malloc(sizeof *lc);
    double *buf = malloc((size_t)(6 * HW) * sizeof *buf);
    if (!lc || !buf) {
        free(lc), free(buf);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    pcnn_srgb_linear_table(lc->lin);
    lc->e = e, lc->d = d;
    lc->H = x.h, lc->W = x.w;
    lc->pred = buf, lc->err = buf + 3 * HW;
    pcnn_status s = PCNN_OK;
    for (int64_t b = 0; s == PCNN_OK && b < x.n; b++) {
        predict(lc, l + b * HW, ab + b * 2 * h * w, h, w);
        memset(lc->err, 0, (size_t)(3 * HW) * sizeof *lc->err);
        s = code_image(fn, stage, lc, x.data + b * 3 * HW, l + b * HW, b);
    }
    free(lc), free(buf);
    return s;
}
