/*
 * dmol.c -- the discretized logistic mixture likelihood of PixelCNN++
 * (Salimans, Karpathy, Chen & Kingma, ICLR 2017, section 2.1, eq. 2, and
 * section 2.2 for the channels' linear dependence): log-probability, its
 * gradient, exact ancestral sampling and exact per-value probabilities.
 *
 * l (B, P, HW) with P = M (1 + 2C + C(C-1)/2), in channel blocks of M:
 *   block 0            mixture logits
 *   block 1 + c        means of channel c
 *   block 1 + C + c    log-scales of channel c (clamped below at -7)
 *   block 1 + 2C + q   coefficients, q = 0, 1, 2 for (1|0), (2|0), (2|1)
 * x (B, C, HW) uint8 with C <= 3; value v is xs = v/127.5 - 1 in [-1, 1],
 * its bin [xs - 1/255, xs + 1/255], the first and last bins extended to
 * -inf and +inf. Channel c of component k is logistic with
 *   mean = mean_c,k + sum_{j<c} tanh(coef_{c|j},k) xs_j,  s = exp(ls).
 *
 * Threads split the pixels p = b*HW + i; each writes only its own pixel,
 * so results do not depend on the thread count. No heap memory: the
 * mixture is reduced with a streaming log-sum-exp, and backward makes a
 * second pass over the components instead of storing them.
 */
#include "kernels.h"
#include "real.h"
#include "../core/rng.h"

#define LOG_SCALE_MIN (-7)
#define LEVELS 256
/* Below this many pixel-components a parallel region costs more. */
#define PAR_MIN 2048

/* ------------------------------------------------------------ helpers */

/* The parameter (block, k) of a pixel, l0 = &l[b, 0, i]. */
static inline REAL par(const REAL *l0, int64_t HW, int M, int block, int k)
{
    return l0[((int64_t)block * M + k) * HW];
}

/* The block of the coefficient of channel j in channel c's mean, j < c. */
static inline int coef_block(int C, int c, int j)
{
    return 1 + 2 * C + c * (c - 1) / 2 + j;
}

/* sigmoid(v) and sigmoid(-v), each to full relative precision, from one
 * exponential e = exp(-|v|); softplus(v) = max(v, 0) + log1p(e). */
typedef struct {
    REAL pos, neg, e;
} sigmoid_pair;

static inline sigmoid_pair sigmoids(REAL v)
{
    const REAL e = exp(-fabs(v)), big = 1 / (1 + e), small = e * big;
    return v >= 0 ? (sigmoid_pair){big, small, e}
                  : (sigmoid_pair){small, big, e};
}

/* A log-sum-exp over a stream: log(s) + m once every value is added. */
typedef struct {
    REAL m, s;
} lse_acc;

static inline void lse_add(lse_acc *a, REAL v)
{
    if (v > a->m) {
        a->s = a->s * exp(a->m - v) + 1;
        a->m = v;
    } else {
        a->s += exp(v - a->m);
    }
}

/* Reads channels [0, C) of x at pixel (b, i): values and scaled values. */
static inline void load_pixel(const uint8_t *x, int64_t b, int64_t i,
                              int64_t HW, int C, int *xv, REAL *xs)
{
    for (int c = 0; c < C; c++) {
        xv[c] = x[(b * C + c) * HW + i];
        xs[c] = (REAL)xv[c] / (REAL)127.5 - 1;
    }
}

/* ------------------------------------------------------ log-probability */

/* log P(x | mean, ls) of one channel under one logistic: PixelCNN++ eq. 2
 * with its edge bins and the "safe" branch of its reference code for bins
 * whose mass is below 1e-5 (log of the density at the bin centre times the
 * bin width). ls is already clamped. When g is not NULL it receives
 * g[0] = d/d mean and g[1] = d/d ls of the branch taken. */
static inline REAL channel_log_prob(int x, REAL xs, REAL mean, REAL ls,
                                    REAL *g)
{
    const REAL inv = exp(-ls), centered = xs - mean;
    const REAL half_bin = (REAL)1 / (REAL)255;
    const REAL plus_in = inv * (centered + half_bin);
    const REAL min_in = inv * (centered - half_bin);
    const REAL mid_in = inv * centered;
    /* d lp / d(plus_in, min_in, mid_in), and d lp / d ls held directly */
    REAL lp, dplus = 0, dmin = 0, dmid = 0, dls = 0;
    if (x == 0) { /* log sigmoid(plus_in) = -softplus(-plus_in) */
        const sigmoid_pair sp = sigmoids(plus_in);
        lp = -((plus_in < 0 ? -plus_in : 0) + log1p(sp.e));
        dplus = sp.neg;
    } else if (x == LEVELS - 1) { /* log(1 - sigmoid(min_in)) */
        const sigmoid_pair sm = sigmoids(min_in);
        lp = -((min_in > 0 ? min_in : 0) + log1p(sm.e));
        dmin = -sm.pos;
    } else {
        /* difference of the two CDF values on the side of the mean where
         * they are small, so it does not cancel */
        const sigmoid_pair sp = sigmoids(plus_in), sm = sigmoids(min_in);
        const REAL delta = centered > 0 ? sm.neg - sp.neg : sp.pos - sm.pos;
        if (delta > (REAL)1e-5) {
            lp = log(delta);
            dplus = sp.pos * sp.neg / delta; /* sigmoid' = s(v) s(-v) */
            dmin = -sm.pos * sm.neg / delta;
        } else {
            const sigmoid_pair sd = sigmoids(mid_in);
            const REAL softplus_mid = (mid_in > 0 ? mid_in : 0) + log1p(sd.e);
            lp = mid_in - ls - 2 * softplus_mid - log((REAL)127.5);
            dmid = 1 - 2 * sd.pos;
            dls = -1;
        }
    }
    if (g) {
        /* each input is inv * (centered + const): d/d mean = -inv,
         * d/d ls = -input */
        g[0] = -inv * (dplus + dmin + dmid);
        g[1] = dls - (dplus * plus_in + dmin * min_in + dmid * mid_in);
    }
    return lp;
}

/* sum_c log P(x_c | component k) at one pixel, l0 = &l[b, 0, i]. When gm
 * is not NULL, gm, gls and th receive per channel d/d mean_c, d/d ls_c
 * before the clamp's mask, and per coefficient block q its tanh. */
static inline REAL component_log_prob(const REAL *l0, int64_t HW, int M,
                                      int C, int k, const int *xv,
                                      const REAL *xs, REAL *gm, REAL *gls,
                                      REAL *th)
{
    REAL sum = 0;
    for (int c = 0; c < C; c++) {
        REAL mean = par(l0, HW, M, 1 + c, k);
        for (int j = 0; j < c; j++) {
            const int q = coef_block(C, c, j);
            const REAL t = tanh(par(l0, HW, M, q, k));
            mean += t * xs[j];
            if (gm)
                th[q - coef_block(C, 1, 0)] = t;
        }
        REAL ls = par(l0, HW, M, 1 + C + c, k);
        ls = ls > LOG_SCALE_MIN ? ls : LOG_SCALE_MIN;
        REAL g[2];
        sum += channel_log_prob(xv[c], xs[c], mean, ls, gm ? g : NULL);
        if (gm) {
            gm[c] = g[0];
            gls[c] = g[1];
        }
    }
    return sum;
}

/* log p(x) at one pixel = lse_k(logit_k + S_k) - lse_k(logit_k) where
 * S_k = component_log_prob; *joint and *norm receive the two terms. */
static inline REAL pixel_log_prob(const REAL *l0, int64_t HW, int M, int C,
                                  const int *xv, const REAL *xs, REAL *joint,
                                  REAL *norm)
{
    lse_acc j = {-INFINITY, 0}, z = {-INFINITY, 0};
    for (int k = 0; k < M; k++) {
        const REAL logit = par(l0, HW, M, 0, k);
        lse_add(&z, logit);
        lse_add(&j, logit + component_log_prob(l0, HW, M, C, k, xv, xs, NULL,
                                               NULL, NULL));
    }
    *joint = j.m + log(j.s);
    *norm = z.m + log(z.s);
    return *joint - *norm;
}

/* logp (B, HW) = log p(x[b, :, i] | l[b, :, i]). */
void KFN(dmol_log_prob)(REAL *logp, const REAL *l, const uint8_t *x,
                        const pcnn_head_dims *d)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, M = d->M, P = M * (1 + 2 * C + C * (C - 1) / 2);
#pragma omp parallel for schedule(static) if (n * M > PAR_MIN)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        int xv[3];
        REAL xs[3], joint, norm;
        load_pixel(x, b, i, HW, C, xv, xs);
        logp[p] = pixel_log_prob(l + b * P * HW + i, HW, M, C, xv, xs, &joint,
                                 &norm);
    }
}

/* dl (B, P, HW) += dlogp[p] * d logp[p] / d l, dlogp (B, HW).
 * With responsibilities w_k = exp(logit_k + S_k - joint) and mixture
 * weights pi_k = softmax(logits)_k:
 *   d logp / d logit_k = w_k - pi_k,
 *   d logp / d theta_k = w_k d S_k / d theta_k for the component's
 * means, log-scales (zero where the clamp at -7 is active, l < -7) and
 * coefficients (through tanh, times the earlier channel's xs_j). */
void KFN(dmol_backward)(REAL *dl, const REAL *dlogp, const REAL *l,
                        const uint8_t *x, const pcnn_head_dims *d)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, M = d->M, P = M * (1 + 2 * C + C * (C - 1) / 2);
#pragma omp parallel for schedule(static) if (n * M > PAR_MIN)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        const REAL *l0 = l + b * P * HW + i;
        REAL *dl0 = dl + b * P * HW + i;
        int xv[3];
        REAL xs[3], joint, norm, gm[3], gls[3], th[3];
        load_pixel(x, b, i, HW, C, xv, xs);
        pixel_log_prob(l0, HW, M, C, xv, xs, &joint, &norm);
        const REAL g = dlogp[p];
        for (int k = 0; k < M; k++) {
            const REAL logit = par(l0, HW, M, 0, k);
            const REAL s =
                component_log_prob(l0, HW, M, C, k, xv, xs, gm, gls, th);
            const REAL w = exp(logit + s - joint), pi = exp(logit - norm);
            const REAL gw = g * w;
            dl0[(int64_t)k * HW] += g * (w - pi);
            for (int c = 0; c < C; c++) {
                dl0[((int64_t)(1 + c) * M + k) * HW] += gw * gm[c];
                if (par(l0, HW, M, 1 + C + c, k) >= LOG_SCALE_MIN)
                    dl0[((int64_t)(1 + C + c) * M + k) * HW] += gw * gls[c];
                for (int j = 0; j < c; j++) {
                    const int q = coef_block(C, c, j);
                    const REAL t = th[q - coef_block(C, 1, 0)];
                    dl0[((int64_t)q * M + k) * HW] +=
                        gw * gm[c] * xs[j] * (1 - t * t);
                }
            }
        }
    }
}

/* ------------------------------------------- sampling and probabilities
 * In double whatever REAL is: these are not on the training path, and
 * the edge bins and inverse CDFs want the headroom. */

/* Channel c's mean and log-scale (clamped at -7, then plus ls_offset) in
 * component k, given the scaled values xs[0..c) of the earlier channels. */
static inline void channel_logistic(const REAL *l0, int64_t HW, int M, int C,
                                    int k, int c, const double *xs,
                                    double ls_offset, double *mean,
                                    double *ls)
{
    double m = (double)par(l0, HW, M, 1 + c, k);
    for (int j = 0; j < c; j++)
        m += tanh((double)par(l0, HW, M, coef_block(C, c, j), k)) * xs[j];
    double s = (double)par(l0, HW, M, 1 + C + c, k);
    *mean = m;
    *ls = (s > LOG_SCALE_MIN ? s : LOG_SCALE_MIN) + ls_offset;
}

/* The component k with sum_{k' < k} pi_k' <= u < sum_{k' <= k} pi_k'
 * (inverse CDF of softmax(logits)); when rounding leaves u past the total,
 * the last component of positive weight. */
static int pick_component(const REAL *l0, int64_t HW, int M, double u)
{
    double m = -INFINITY, total = 0, cum = 0;
    for (int k = 0; k < M; k++) {
        const double v = (double)par(l0, HW, M, 0, k);
        m = v > m ? v : m;
    }
    for (int k = 0; k < M; k++)
        total += exp((double)par(l0, HW, M, 0, k) - m);
    const double target = u * total;
    int last = 0;
    for (int k = 0; k < M; k++) {
        const double e = exp((double)par(l0, HW, M, 0, k) - m);
        cum += e;
        if (e > 0)
            last = k;
        if (target < cum)
            return k;
    }
    return last;
}

/* x (B, C, HW) drawn exactly: a component from softmax(logits) with
 * u_0 = u(seed, p(C+1)), then each channel c in order from the logistic
 * with the already drawn channels in its mean and log-scale
 * max(ls, -7) + log_scale_offset, by inversion with u_{1+c}:
 *   cont = mean + s log(u / (1 - u)),  x_c = clamp(floor(127.5 (cont+1)
 *   + 0.5), 0, 255).
 * Rounding the continuous draw gives exactly the discretized logistic,
 * edge bins included, as bin v covers cont in [xs_v - 1/255, xs_v + 1/255).
 */
/* Pixel p of dmol_sample. */
static void sample_one(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                       uint64_t seed, REAL log_scale_offset, int64_t p)
{
    const int64_t HW = d->HW;
    const int C = d->C, M = d->M, P = M * (1 + 2 * C + C * (C - 1) / 2);
    const int64_t b = p / HW, i = p % HW;
    const REAL *l0 = l + b * P * HW + i;
    const uint64_t base = (uint64_t)p * (uint64_t)(C + 1);
    const int k = pick_component(l0, HW, M, pcnn_u01_open(seed, base));
    double xs[3];
    for (int c = 0; c < C; c++) {
        const double u = pcnn_u01_open(seed, base + 1 + (uint64_t)c);
        double mean, ls;
        channel_logistic(l0, HW, M, C, k, c, xs, (double)log_scale_offset,
                         &mean, &ls);
        const double cont = mean + exp(ls) * (log(u) - log1p(-u));
        const double v = floor((cont + 1) * 127.5 + 0.5);
        /* !(v > 0) also catches a NaN from non-finite parameters */
        const int xv = !(v > 0)         ? 0
                       : v > LEVELS - 1 ? LEVELS - 1
                                        : (int)v;
        x[(b * C + c) * HW + i] = (uint8_t)xv;
        xs[c] = xv / 127.5 - 1;
    }
}

/* Few pixels (the sampler: one per image) run on this thread without
 * entering a parallel region at all. */
void KFN(dmol_sample)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                      uint64_t seed, REAL log_scale_offset)
{
    const int64_t n = d->B * d->HW;
    if (n * d->M > PAR_MIN) {
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < n; p++)
            sample_one(x, l, d, seed, log_scale_offset, p);
    } else {
        for (int64_t p = 0; p < n; p++)
            sample_one(x, l, d, seed, log_scale_offset, p);
    }
}

static inline double softplus_d(double v)
{
    return (v > 0 ? v : 0) + log1p(exp(-fabs(v)));
}

/* log(1 - e^-a) for a >= 0 (Maechler 2012: expm1 near 0, log1p beyond). */
static inline double log1mexp(double a)
{
    return a <= 0.6931471805599453 ? log(-expm1(-a)) : log1p(-exp(-a));
}

/* The bin edges of value v, lower (v - 0.5)/127.5 - 1, upper
 * (v + 0.5)/127.5 - 1; the edge bins are open. */
static inline double lower_edge(int v) { return (v - 0.5) / 127.5 - 1; }
static inline double upper_edge(int v) { return (v + 0.5) / 127.5 - 1; }

/* log of the mass of bin v under logistic(mean, e^ls), in the log domain on
 * the side of the mean where the CDF values are small, so it neither
 * underflows nor cancels: with F = sigmoid, log F(t) = -softplus(-t) and
 * log(F(a) - F(b)) = log F(a) + log(1 - F(b)/F(a)). */
static double log_bin_mass(int v, double mean, double ls)
{
    const double inv = exp(-ls);
    const double tl = inv * (lower_edge(v) - mean);
    const double tu = inv * (upper_edge(v) - mean);
    if (v == 0)
        return -softplus_d(-tu);
    if (v == LEVELS - 1)
        return -softplus_d(tl);
    if (tl >= 0) { /* 1 - F(tl) - (1 - F(tu)), 1 - F(t) = F(-t) */
        const double a = softplus_d(tl), b = softplus_d(tu);
        return -a + log1mexp(b - a);
    }
    const double a = softplus_d(-tu), b = softplus_d(-tl);
    return -a + log1mexp(b - a);
}

/* logit_k + sum_{j<c} log P_k(x_j): the log weight of component k after
 * seeing channels 0..c-1 (values xv, scaled xs), up to a constant over k. */
static double component_log_weight(const REAL *l0, int64_t HW, int M, int C,
                                   int k, int c, const int *xv,
                                   const double *xs, double ls_offset)
{
    double lw = (double)par(l0, HW, M, 0, k);
    for (int j = 0; j < c; j++) {
        double mean, ls;
        channel_logistic(l0, HW, M, C, k, j, xs, ls_offset, &mean, &ls);
        lw += log_bin_mass(xv[j], mean, ls);
    }
    return lw;
}

/* acc[v] += w * P(v) for v in [0, 256) under logistic(mean, e^ls). One
 * sigmoid per edge; a bin whose lower edge is above the mean is the
 * difference of the upper tails 1 - F, the others of F, so nothing
 * cancels, and the sum over v telescopes to 1. */
static void add_bin_masses(double *acc, double w, double mean, double ls)
{
    const double inv = exp(-ls);
    double prev_f = 0, prev_tail = 1; /* F and 1 - F at the lower edge */
    int prev_above = 0;               /* lower edge above the mean */
    for (int v = 0; v < LEVELS; v++) {
        double f = 1, tail = 0;
        const int last = v == LEVELS - 1;
        double t = 0;
        if (!last) {
            t = inv * (upper_edge(v) - mean);
            const double e = exp(-fabs(t));
            f = t >= 0 ? 1 / (1 + e) : e / (1 + e);
            tail = t >= 0 ? e / (1 + e) : 1 / (1 + e);
        }
        acc[v] += w * (prev_above ? prev_tail - tail : f - prev_f);
        prev_f = f;
        prev_tail = tail;
        prev_above = t >= 0;
    }
}

/* probs (B, 256, HW): P(x_c = v | x_0..x_{c-1}) for every v, the mixture
 * with weights pi_k prod_{j<c} P_k(x_j), normalized. Reads channels
 * [0, c) of x only. */
void KFN(dmol_pmf)(REAL *probs, const REAL *l, const uint8_t *x,
                   const pcnn_head_dims *d, int c)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, M = d->M, P = M * (1 + 2 * C + C * (C - 1) / 2);
    /* each pixel-component costs 257 sigmoids here: go parallel sooner */
#pragma omp parallel for schedule(static) if (n * M > PAR_MIN / 16)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        const REAL *l0 = l + b * P * HW + i;
        int xv[3];
        double xs[3], acc[LEVELS] = {0};
        for (int j = 0; j < c; j++) {
            xv[j] = x[(b * C + j) * HW + i];
            xs[j] = xv[j] / 127.5 - 1;
        }
        double m = -INFINITY, s = 0; /* log-sum-exp of the log weights */
        for (int k = 0; k < M; k++) {
            const double lw =
                component_log_weight(l0, HW, M, C, k, c, xv, xs, 0);
            if (lw > m) {
                s = s * exp(m - lw) + 1;
                m = lw;
            } else {
                s += exp(lw - m);
            }
        }
        const double lse = m + log(s);
        for (int k = 0; k < M; k++) {
            const double w =
                exp(component_log_weight(l0, HW, M, C, k, c, xv, xs, 0) - lse);
            double mean, ls;
            channel_logistic(l0, HW, M, C, k, c, xs, 0, &mean, &ls);
            if (w > 0)
                add_bin_masses(acc, w, mean, ls);
        }
        REAL *out = probs + b * LEVELS * HW + i;
        for (int v = 0; v < LEVELS; v++)
            out[(int64_t)v * HW] = (REAL)acc[v];
    }
}

/* F(t) and 1 - F(t) of the standard logistic, each to full relative
 * precision, at the upper edge of value v under (mean, ls); the last
 * value's edge is +inf. */
static inline void edge_cdf(int v, double mean, double inv, double *f,
                            double *tail)
{
    if (v >= LEVELS - 1) {
        *f = 1, *tail = 0;
        return;
    }
    if (v < 0) {
        *f = 0, *tail = 1;
        return;
    }
    const double t = inv * (upper_edge(v) - mean), e = exp(-fabs(t));
    *f = t >= 0 ? 1 / (1 + e) : e / (1 + e);
    *tail = t >= 0 ? e / (1 + e) : 1 / (1 + e);
}

/* The mass of the values [lo, hi] under logistic(mean, e^ls), the edge
 * bins open: a difference of upper tails when the interval's upper edge
 * is above the mean, else of lower ones, so nothing small cancels. */
static double interval_mass(int lo, int hi, double mean, double ls)
{
    const double inv = exp(-ls);
    double f0, t0, f1, t1;
    edge_cdf(lo - 1, mean, inv, &f0, &t0);
    edge_cdf(hi, mean, inv, &f1, &t1);
    return t1 < f1 ? t0 - t1 : f1 - f0;
}

void KFN(dmol_interval_log_mass)(REAL *out, const REAL *l, const uint8_t *x,
                                 const uint8_t *lo, const uint8_t *hi,
                                 const pcnn_head_dims *d)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, M = d->M, P = M * (1 + 2 * C + C * (C - 1) / 2);
#pragma omp parallel for schedule(static) if (n * M > PAR_MIN)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        const REAL *l0 = l + b * P * HW + i;
        int xv[3];
        double xs[3];
        for (int c = 0; c < C; c++) {
            xv[c] = x[(b * C + c) * HW + i];
            xs[c] = xv[c] / 127.5 - 1;
        }
        for (int c = 0; c < C; c++) {
            const int64_t at = (b * C + c) * HW + i;
            const int a = lo[at], z = hi[at];
            /* the mixture weights after channels 0..c-1, normalized */
            double m = -INFINITY, s = 0, mass = 0;
            for (int k = 0; k < M; k++) {
                const double lw =
                    component_log_weight(l0, HW, M, C, k, c, xv, xs, 0);
                m = lw > m ? lw : m;
            }
            for (int k = 0; k < M; k++) {
                const double w = exp(
                    component_log_weight(l0, HW, M, C, k, c, xv, xs, 0) - m);
                double mean, ls;
                channel_logistic(l0, HW, M, C, k, c, xs, 0, &mean, &ls);
                s += w;
                mass += w * interval_mass(a, z, mean, ls);
            }
            const double r = log(mass / s);
            out[at] = (REAL)(r < 0 ? r : 0);
        }
    }
}

/* Channel c at one pixel (see dmol_draw_range). */
static int draw_range_one(const REAL *l0, int64_t HW, int M, int C, int c,
                          const int *xv, const double *xs, int a, int z,
                          double ls_offset, uint64_t seed, uint64_t base)
{
    double w[1024], mean[1024], ls[1024]; /* M <= 1024 */
    double m = -INFINITY, total = 0;
    for (int k = 0; k < M; k++) {
        w[k] = component_log_weight(l0, HW, M, C, k, c, xv, xs, ls_offset);
        m = w[k] > m ? w[k] : m;
        channel_logistic(l0, HW, M, C, k, c, xs, ls_offset, &mean[k],
                         &ls[k]);
    }
    for (int k = 0; k < M; k++)
        total += w[k] = exp(w[k] - m);
    for (int t = 0; z - a >= 16 && t < 16; t++) {
        const double target =
            pcnn_u01_open(seed, base + 2 * (uint64_t)t) * total;
        double cum = 0;
        int k = M - 1;
        for (int q = 0; q < M; q++) {
            cum += w[q];
            if (target < cum) {
                k = q;
                break;
            }
        }
        const double u = pcnn_u01_open(seed, base + 2 * (uint64_t)t + 1);
        const double cont = mean[k] + exp(ls[k]) * (log(u) - log1p(-u));
        const double r = floor((cont + 1) * 127.5 + 0.5);
        const int y = !(r > 0) ? 0 : r > LEVELS - 1 ? LEVELS - 1 : (int)r;
        if (y >= a && y <= z)
            return y;
    }
    /* bin masses of [a, z] from the CDF at its edges, each bin the
     * difference of lower tails below the mean and of upper tails above */
    double mass[LEVELS], sum = 0;
    for (int y = a; y <= z; y++)
        mass[y] = 0;
    for (int k = 0; k < M; k++) {
        if (!(w[k] > 0))
            continue;
        const double inv = exp(-ls[k]);
        double f0, t0;
        edge_cdf(a - 1, mean[k], inv, &f0, &t0);
        for (int y = a; y <= z; y++) {
            double f1, t1;
            edge_cdf(y, mean[k], inv, &f1, &t1);
            mass[y] += w[k] * (t1 < f1 ? t0 - t1 : f1 - f0);
            f0 = f1, t0 = t1;
        }
    }
    for (int y = a; y <= z; y++)
        sum += mass[y];
    const double u = pcnn_u01(seed, base + 31);
    if (!(sum > 0)) { /* underflow: uniform */
        const int v = a + (int)(u * (z - a + 1));
        return v > z ? z : v;
    }
    double cum = 0, target = u * sum;
    int v = a;
    for (; v < z; v++) {
        cum += mass[v];
        if (target < cum)
            break;
    }
    return v;
}

/* Channel c of x (B, C, HW) drawn from its conditional given channels
 * 0..c-1 of x (the mixture with weights pi_k prod_{j<c} P_k(x_j)) and
 * restricted to [lo, hi] (B, HW), renormalized. A wide interval is drawn
 * by rejection: a component from the weights, a logistic draw by
 * inversion, kept when inside (up to 16 tries, random numbers u(seed,
 * 32 p + 2 t), u(seed, 32 p + 2 t + 1)); a narrow one, or when every try
 * fell outside, by the inverse CDF over the interval's exact bin masses
 * (u(seed, 32 p + 31)), uniformly if they underflow. ls_offset is added
 * to every log-scale, in the weights' likelihoods of the earlier channels
 * too: the conditional of the sharpened (or widened) mixture. Few pixels (the
 * sampler: one per image) run on this thread, without a parallel
 * region. */
void KFN(dmol_draw_range)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                          int c, const uint8_t *lo, const uint8_t *hi,
                          double ls_offset, uint64_t seed)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, M = d->M, P = M * (1 + 2 * C + C * (C - 1) / 2);
#define DRAW_ONE(p)                                                           \
    do {                                                                      \
        const int64_t b_ = (p) / HW, i_ = (p) % HW;                           \
        int xv_[3];                                                           \
        double xs_[3];                                                        \
        for (int j_ = 0; j_ < c; j_++) {                                      \
            xv_[j_] = x[(b_ * C + j_) * HW + i_];                             \
            xs_[j_] = xv_[j_] / 127.5 - 1;                                    \
        }                                                                     \
        x[(b_ * C + c) * HW + i_] = (uint8_t)draw_range_one(                  \
            l + b_ * P * HW + i_, HW, M, C, c, xv_, xs_, lo[p], hi[p],        \
            ls_offset, seed, (uint64_t)(p) * 32);                             \
    } while (0)
    if (n * M > PAR_MIN) {
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < n; p++)
            DRAW_ONE(p);
    } else {
        for (int64_t p = 0; p < n; p++)
            DRAW_ONE(p);
    }
#undef DRAW_ONE
}
