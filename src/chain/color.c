/*
 * color.c -- sRGB <-> CIE Lab and its 8-bit quantization, for the
 * colorization model p(color | gray) (Royer, Kolesnikov & Lampert, BMVC
 * 2017), and two color metrics: PSNR and Hasler & Suesstrunk's
 * colorfulness (pixelcnn.h, docs/color.md).
 */
#include "../core/internal.h"
#include "../codec/freq.h"

#include <math.h>

/* linear RGB -> XYZ, IEC 61966-2-1 (the standard's 4-digit matrix) */
static const double SRGB_TO_XYZ[3][3] = {
    {0.4124, 0.3576, 0.1805},
    {0.2126, 0.7152, 0.0722},
    {0.0193, 0.1192, 0.9505},
};

/* CIE 1976: the cube root's linear segment starts at (6/29)^3 */
#define LAB_DELTA (6.0 / 29.0)

/* The reference white: the matrix applied to (1, 1, 1), summed in the
 * same order as a row times (1, 1, 1) at run time, so that a gray (equal
 * linear R, G, B) has X/Xn = Y/Yn = Z/Zn up to rounding. */
static const double WHITE[3] = {
    0.4124 + 0.3576 + 0.1805, /* Xn = 0.9505 */
    0.2126 + 0.7152 + 0.0722, /* Yn = 1.0000 */
    0.0193 + 0.1192 + 0.9505, /* Zn = 1.0890 */
};

/* 8-bit sRGB value -> linear light in [0, 1] (IEC 61966-2-1). */
static double srgb_decode(uint8_t v)
{
    const double c = v / 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* Linear light -> 8-bit sRGB value: clamped to [0, 1], encoded, rounded
 * half up. */
static uint8_t srgb_encode(double lin)
{
    if (!(lin > 0)) /* also NaN */
        lin = 0;
    if (lin > 1)
        lin = 1;
    const double c = lin <= 0.0031308 ? 12.92 * lin
                                      : 1.055 * pow(lin, 1 / 2.4) - 0.055;
    const double v = floor(c * 255 + 0.5);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static double lab_f(double t)
{
    return t > LAB_DELTA * LAB_DELTA * LAB_DELTA
               ? cbrt(t)
               : t / (3 * LAB_DELTA * LAB_DELTA) + 4.0 / 29.0;
}

static double lab_f_inv(double f)
{
    return f > LAB_DELTA ? f * f * f
                         : 3 * LAB_DELTA * LAB_DELTA * (f - 4.0 / 29.0);
}

/* f(X/Xn), f(Y/Yn) or f(Z/Zn) (row i) of linear RGB. */
static double lab_f_row(int i, const double lin[3])
{
    const double t = SRGB_TO_XYZ[i][0] * lin[0] + SRGB_TO_XYZ[i][1] * lin[1] +
                     SRGB_TO_XYZ[i][2] * lin[2];
    return lab_f(t / WHITE[i]);
}

/* Linear RGB -> Lab. */
static void linear_to_lab(const double lin[3], double lab[3])
{
    double fxyz[3];
    for (int i = 0; i < 3; i++)
        fxyz[i] = lab_f_row(i, lin);
    lab[0] = 116 * fxyz[1] - 16;
    lab[1] = 500 * (fxyz[0] - fxyz[1]);
    lab[2] = 200 * (fxyz[1] - fxyz[2]);
}

/* The inverse of the matrix, computed once per call (Cramer's rule). */
static void xyz_to_srgb_matrix(double inv[3][3])
{
    const double(*m)[3] = SRGB_TO_XYZ;
    const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                       m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                       m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            /* cofactor of m[j][i] over det */
            const int r0 = (j + 1) % 3, r1 = (j + 2) % 3;
            const int c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
        }
}

/* Lab -> 8-bit sRGB with the inverse matrix `inv`. */
static void lab_to_srgb_with(const double inv[3][3], const double lab[3],
                             uint8_t rgb[3])
{
    double xyz[3];
    const double fy = (lab[0] + 16) / 116;
    const double f[3] = {fy + lab[1] / 500, fy, fy - lab[2] / 200};
    for (int i = 0; i < 3; i++)
        xyz[i] = WHITE[i] * lab_f_inv(f[i]);
    for (int i = 0; i < 3; i++)
        rgb[i] = srgb_encode(inv[i][0] * xyz[0] + inv[i][1] * xyz[1] +
                             inv[i][2] * xyz[2]);
}

void pcnn_lab8_to_srgb_det(const double lab8[3], double rgb[3])
{
    double inv[3][3], xyz[3];
    xyz_to_srgb_matrix(inv);
    const double fy = (lab8[0] * 100 / 255 + 16) / 116;
    const double f[3] = {fy + (lab8[1] - 128) / 500, fy,
                         fy - (lab8[2] - 128) / 200};
    for (int i = 0; i < 3; i++)
        xyz[i] = WHITE[i] * lab_f_inv(f[i]);
    for (int i = 0; i < 3; i++) {
        double lin = inv[i][0] * xyz[0] + inv[i][1] * xyz[1] +
                     inv[i][2] * xyz[2];
        lin = lin > 0 ? lin < 1 ? lin : 1 : 0;
        const double c =
            lin <= 0.0031308
                ? 12.92 * lin
                : 1.055 * pcnn_det_exp(pcnn_det_log(lin) / 2.4) - 0.055;
        rgb[i] = c * 255;
    }
}

void pcnn_srgb_to_lab(const uint8_t rgb[3], double lab[3])
{
    const double lin[3] = {srgb_decode(rgb[0]), srgb_decode(rgb[1]),
                           srgb_decode(rgb[2])};
    linear_to_lab(lin, lab);
}

void pcnn_lab_to_srgb(const double lab[3], uint8_t rgb[3])
{
    double inv[3][3];
    xyz_to_srgb_matrix(inv);
    lab_to_srgb_with(inv, lab, rgb);
}

/* round half up, then clamp to [lo, hi] */
static uint8_t quantize(double x, double lo, double hi)
{
    double v = floor(x + 0.5);
    if (!(v >= lo)) /* also NaN */
        v = lo;
    if (v > hi)
        v = hi;
    return (uint8_t)v;
}

/* Checks an RGB batch (n, 3, h, w) and the other array; *plane = h * w,
 * and n * 3 * h * w fits in size_t. */
static pcnn_status check_rgb_batch(const char *fn, pcnn_image rgb,
                                   const void *lab, size_t *plane)
{
    if (!rgb.data || !lab)
        return pcnn_fail(PCNN_ERR_ARG, "%s: %s is NULL", fn,
                         rgb.data ? "lab" : "rgb.data");
    if (rgb.n < 1 || rgb.h < 1 || rgb.w < 1)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: %lld images of %lldx%lld (need at least one "
                         "pixel)",
                         fn, (long long)rgb.n, (long long)rgb.h,
                         (long long)rgb.w);
    if (rgb.c != 3)
        return pcnn_fail(PCNN_ERR_SHAPE, "%s: %lld channels (need 3, RGB)",
                         fn, (long long)rgb.c);
    int over = 0;
    *plane = pcnn_mul_size((size_t)rgb.h, (size_t)rgb.w, &over);
    pcnn_mul_size(pcnn_mul_size(*plane, 3, &over), (size_t)rgb.n, &over);
    if (over)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: %lldx3x%lldx%lld is too large",
                         fn, (long long)rgb.n, (long long)rgb.h,
                         (long long)rgb.w);
    return PCNN_OK;
}

/* L in [0, 100] -> L8 */
static uint8_t quantize_l(double l) { return quantize(l * 255 / 100, 0, 255); }

void pcnn_srgb_linear_table(double lin[256])
{
    for (int v = 0; v < 256; v++)
        lin[v] = srgb_decode((uint8_t)v);
}

int pcnn_lab8_lightness(const double *lin, int r, int g, int b)
{
    /* pcnn_rgb_to_lab8's L8: the same operations in the same order */
    const double l[3] = {lin[r], lin[g], lin[b]};
    return quantize_l(116 * lab_f_row(1, l) - 16);
}

pcnn_status pcnn_rgb_to_lab8(pcnn_image rgb, uint8_t *lab)
{
    static const char fn[] = "pcnn_rgb_to_lab8";
    size_t plane;
    PCNN_TRY(check_rgb_batch(fn, rgb, lab, &plane));
    double lin[256]; /* the decode of every 8-bit value */
    pcnn_srgb_linear_table(lin);
    for (size_t n = 0; n < (size_t)rgb.n; n++) {
        const uint8_t *src = rgb.data + n * 3 * plane;
        uint8_t *dst = lab + n * 3 * plane;
        for (size_t k = 0; k < plane; k++) {
            const double l[3] = {lin[src[k]], lin[src[plane + k]],
                                 lin[src[2 * plane + k]]};
            double v[3];
            linear_to_lab(l, v);
            dst[k] = quantize_l(v[0]);
            dst[plane + k] = quantize(v[1] + 128, 0, 255);
            dst[2 * plane + k] = quantize(v[2] + 128, 0, 255);
        }
    }
    return PCNN_OK;
}

pcnn_status pcnn_lab8_to_rgb(const uint8_t *lab, pcnn_image rgb)
{
    static const char fn[] = "pcnn_lab8_to_rgb";
    size_t plane;
    PCNN_TRY(check_rgb_batch(fn, rgb, lab, &plane));
    double inv[3][3];
    xyz_to_srgb_matrix(inv);
    for (size_t n = 0; n < (size_t)rgb.n; n++) {
        const uint8_t *src = lab + n * 3 * plane;
        uint8_t *dst = rgb.data + n * 3 * plane;
        for (size_t k = 0; k < plane; k++) {
            const double v[3] = {src[k] * 100.0 / 255,
                                 src[plane + k] - 128.0,
                                 src[2 * plane + k] - 128.0};
            uint8_t c[3];
            lab_to_srgb_with(inv, v, c);
            dst[k] = c[0], dst[plane + k] = c[1], dst[2 * plane + k] = c[2];
        }
    }
    return PCNN_OK;
}

double pcnn_psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (!a || !b || n < 1) {
        pcnn_fail(PCNN_ERR_ARG, "pcnn_psnr: %s", n < 1 ? "n = 0" : "NULL");
        return NAN;
    }
    /* exact: each term is at most 255^2, so no overflow below 2.8e14 bytes */
    uint64_t sq = 0;
    for (size_t i = 0; i < n; i++) {
        const int d = (int)a[i] - (int)b[i];
        sq += (uint64_t)(d * d);
    }
    if (sq == 0)
        return INFINITY;
    const double mse = (double)sq / (double)n;
    return 10 * log10(255.0 * 255.0 / mse);
}

double pcnn_colorfulness(const uint8_t *rgb, int64_t h, int64_t w)
{
    static const char fn[] = "pcnn_colorfulness";
    if (!rgb || h < 1 || w < 1) {
        pcnn_fail(PCNN_ERR_ARG, "%s: %s", fn,
                  rgb ? "an empty image" : "rgb is NULL");
        return NAN;
    }
    int over = 0;
    const size_t m = pcnn_mul_size((size_t)h, (size_t)w, &over);
    pcnn_mul_size(m, 3, &over);
    if (over) {
        pcnn_fail(PCNN_ERR_NOMEM, "%s: 3x%lldx%lld is too large", fn,
                  (long long)h, (long long)w);
        return NAN;
    }
    const uint8_t *r = rgb, *g = rgb + m, *b = rgb + 2 * m;
    /* rg = R - G and 2 yb = R + G - 2 B are integers, so the sums for the
     * means are exact (below 2^44 pixels); a second pass then gives the
     * variances without cancellation. */
    double srg = 0, syb2 = 0;
    for (size_t k = 0; k < m; k++) {
        srg += (int)r[k] - (int)g[k];
        syb2 += (int)r[k] + (int)g[k] - 2 * (int)b[k];
    }
    const double mrg = srg / (double)m, myb = 0.5 * syb2 / (double)m;
    double vrg = 0, vyb = 0;
    for (size_t k = 0; k < m; k++) {
        const double drg = ((int)r[k] - (int)g[k]) - mrg;
        const double dyb =
            0.5 * ((int)r[k] + (int)g[k] - 2 * (int)b[k]) - myb;
        vrg += drg * drg, vyb += dyb * dyb;
    }
    vrg /= (double)m, vyb /= (double)m;
    return sqrt(vrg + vyb) + 0.3 * sqrt(mrg * mrg + myb * myb);
}
