/*
 * freq.c -- the frequency tables of freq.h, in double arithmetic that
 * rounds the same everywhere: no libm calls (their last bits differ
 * between libm versions and between a CPU's code paths), no fused
 * multiply-add (the pragma for compilers that would contract; GCC does
 * not contract in ISO C mode), no -ffast-math.
 */
#pragma STDC FP_CONTRACT OFF
#include "freq.h"

#include <math.h> /* HUGE_VAL, NAN: constants, no calls */
#include <string.h>

#define LOG_SCALE_MIN (-7.0)
#define LN2_HI 0.693147180369123816490 /* ln 2, exact in 32 bits */
#define LN2_LO 1.90821492927058770002e-10
#define LN2 0.69314718055994530942

/* 2^n for an integer n in [-1022, 1023], built in the exponent bits. */
static double pow2i(int n)
{
    const uint64_t bits = (uint64_t)(n + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* floor(v) for |v| < 2^52, by truncation through an integer. */
static double floor_d(double v)
{
    const double t = (double)(int64_t)v;
    return t > v ? t - 1 : t;
}

double pcnn_det_exp(double v)
{
    if (!(v > -745.0)) /* also NaN */
        return v != v ? v : 0.0;
    if (v > 709.0)
        return HUGE_VAL;
    /* v = n ln2 + r, |r| <= ln2 / 2; e^r by its Taylor series to r^13 */
    const double n = floor_d(v * 1.4426950408889634 + 0.5);
    const double r = (v - n * LN2_HI) - n * LN2_LO;
    double p = 1.0 / 6227020800.0;
    static const double inv_fact[] = {
        1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
        1.0 / 362880.0,    1.0 / 40320.0,    1.0 / 5040.0,
        1.0 / 720.0,       1.0 / 120.0,      1.0 / 24.0,
        1.0 / 6.0,         0.5,              1.0,
        1.0};
    for (int i = 0; i < 13; i++)
        p = p * r + inv_fact[i];
    /* 2^n in two factors, so n below -1022 reaches subnormals */
    const int ni = (int)n;
    if (ni < -1000)
        return p * pow2i(ni + 1000) * pow2i(-1000);
    return p * pow2i(ni);
}

double pcnn_det_log(double v)
{
    if (!(v > 0))
        return v == 0 ? -HUGE_VAL : NAN;
    if (v > 1.7976931348623157e308)
        return v; /* +inf */
    /* v = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s),
     * s = (m - 1)/(m + 1), |s| < 0.172: the odd series to s^27 */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff);
    if (e == 0) { /* subnormal: scale up by 2^64 first */
        const double u = v * 18446744073709551616.0;
        memcpy(&bits, &u, sizeof bits);
        e = (int)((bits >> 52) & 0x7ff) - 64;
    }
    e -= 1023;
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951)
        m *= 0.5, e += 1;
    const double s = (m - 1) / (m + 1), s2 = s * s;
    double t = 1.0 / 27;
    for (int k = 25; k >= 1; k -= 2)
        t = t * s2 + 1.0 / k;
    return 2 * s * t + e * LN2;
}

static double tanh_d(double v)
{
    const double a = v < 0 ? -v : v, t = pcnn_det_exp(-2 * a);
    const double r = (1 - t) / (1 + t);
    return v < 0 ? -r : r;
}

/* F(t) and 1 - F(t) of the standard logistic, each to full relative
 * precision, at the upper edge of value v under (mean, inv = e^-ls); the
 * edges below value 0 and above value 255 are -inf and +inf. */
static void edge(int v, double mean, double inv, double *f, double *tail)
{
    if (v < 0) {
        *f = 0, *tail = 1;
        return;
    }
    if (v >= 255) {
        *f = 1, *tail = 0;
        return;
    }
    const double t = inv * ((v + 0.5) / 127.5 - 1 - mean);
    const double e = pcnn_det_exp(t >= 0 ? -t : t);
    *f = t >= 0 ? 1 / (1 + e) : e / (1 + e);
    *tail = t >= 0 ? e / (1 + e) : 1 / (1 + e);
}

/* The mass of value v, the difference of the tails on the side of the
 * mean where they are small. */
static double bin_mass(int v, double mean, double inv)
{
    double f0, t0, f1, t1;
    edge(v - 1, mean, inv, &f0, &t0);
    edge(v, mean, inv, &f1, &t1);
    return t1 < f1 ? t0 - t1 : f1 - f0;
}

/* Channel c's mean and e^-ls in component k, given the scaled values of
 * the earlier channels. */
static void logistic(const float *l, int M, int C, int k, int c,
                     const double *xs, double *mean, double *inv)
{
    double m = l[(1 + c) * M + k];
    for (int j = 0; j < c; j++)
        m += tanh_d(l[(1 + 2 * C + c * (c - 1) / 2 + j) * M + k]) * xs[j];
    double ls = l[(1 + C + c) * M + k];
    ls = ls > LOG_SCALE_MIN ? ls : LOG_SCALE_MIN;
    *mean = m;
    *inv = pcnn_det_exp(-ls);
}

/* log of the mass of value v; where it underflows, the log of the
 * density at the bin's centre times its width. */
static double log_bin_mass(int v, double mean, double inv)
{
    const double p = bin_mass(v, mean, inv);
    if (p > 1e-300)
        return pcnn_det_log(p);
    double t = inv * (v / 127.5 - 1 - mean);
    t = t < 0 ? -t : t;
    return pcnn_det_log(inv / 127.5) - t -
           2 * pcnn_det_log(1 + pcnn_det_exp(-t));
}

void pcnn_dmol_masses(const float *l, int M, int C, int c, const int *xv,
                      int a, int z, double *mass)
{
    double xs[3], lw[1024], mean[1024], inv[1024];
    for (int j = 0; j < c; j++)
        xs[j] = xv[j] / 127.5 - 1;
    double top = -HUGE_VAL;
    for (int k = 0; k < M; k++) {
        lw[k] = l[k];
        for (int j = 0; j < c; j++) {
            double mj, ij;
            logistic(l, M, C, k, j, xs, &mj, &ij);
            lw[k] += log_bin_mass(xv[j], mj, ij);
        }
        top = lw[k] > top ? lw[k] : top;
        logistic(l, M, C, k, c, xs, &mean[k], &inv[k]);
    }
    for (int v = 0; v <= z - a; v++)
        mass[v] = 0;
    for (int k = 0; k < M; k++) {
        const double w = pcnn_det_exp(lw[k] - top);
        if (!(w > 1e-30)) /* below what any table resolves */
            continue;
        double f0, t0;
        edge(a - 1, mean[k], inv[k], &f0, &t0);
        for (int v = a; v <= z; v++) {
            double f1, t1;
            edge(v, mean[k], inv[k], &f1, &t1);
            mass[v - a] += w * (t1 < f1 ? t0 - t1 : f1 - f0);
            f0 = f1, t0 = t1;
        }
    }
}

void pcnn_cat_masses(const float *l, int levels, int c, int a, int z,
                     double *mass)
{
    const float *lc = l + (int64_t)c * levels;
    double top = lc[0];
    for (int v = 1; v < levels; v++)
        top = lc[v] > top ? lc[v] : top;
    for (int v = a; v <= z; v++)
        mass[v - a] = pcnn_det_exp(lc[v] - top);
}

void pcnn_quantize(const double *mass, int n, uint32_t total,
                   uint32_t *freq)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += mass[i] >= 0 && mass[i] <= 1e300 ? mass[i] : 0;
    const double spare = (double)(total - (uint32_t)n);
    uint64_t used = 0;
    int top = 0;
    for (int i = 0; i < n; i++) {
        const double m = mass[i] >= 0 && mass[i] <= 1e300 ? mass[i] : 0;
        double q = sum > 0 ? m / sum * spare : 0;
        q = q < spare ? q : spare;
        freq[i] = 1 + (uint32_t)q; /* truncation: floor of q >= 0 */
        used += freq[i];
        top = freq[i] > freq[top] ? i : top;
    }
    if (!(sum > 0)) { /* no information: equal shares */
        used = 0;
        for (int i = 0; i < n; i++)
            used += freq[i] = total / (uint32_t)n;
        top = 0;
    }
    /* the floors leave a few units over (never short: they sum to at
     * most spare); the first largest takes them, or gives back */
    if (used <= total)
        freq[top] += (uint32_t)(total - used);
    else
        freq[top] -= (uint32_t)(used - total);
}
