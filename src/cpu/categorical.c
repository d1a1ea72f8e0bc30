/*
 * categorical.c -- the categorical likelihood head: a softmax over K levels
 * per channel, the C channels independent given l ("Pixels as discrete
 * variables", van den Oord, Kalchbrenner & Kavukcuoglu, Pixel Recurrent
 * Neural Networks, ICML 2016, section 2.2; any dependence between the
 * channels is the network's business).
 *
 * l (B, C*K, HW): channel c uses the logits l[b, c*K + v, i], v in [0, K).
 * x (B, C, HW) uint8 with values < K (checked by the API).
 * Threads split the pixels p = b*HW + i and write only their own pixel.
 */
#include "kernels.h"
#include "real.h"
#include "../core/rng.h"

/* Below this many logits a parallel region costs more than it saves. */
#define PAR_MIN 16384

/* max_v z[v*HW] and sum_v exp(z[v*HW] - max), z the K logits of one
 * channel at one pixel (stride HW). */
static inline void softmax_stats(const REAL *z, int64_t HW, int K, REAL *max,
                                 REAL *sum)
{
    REAL m = z[0], s = 0;
    for (int v = 1; v < K; v++)
        m = z[(int64_t)v * HW] > m ? z[(int64_t)v * HW] : m;
    for (int v = 0; v < K; v++)
        s += exp(z[(int64_t)v * HW] - m);
    *max = m;
    *sum = s;
}

/* logp (B, HW) = sum_c log_softmax(l[b, cK:(c+1)K, i])[x_c]. */
void KFN(cat_log_prob)(REAL *logp, const REAL *l, const uint8_t *x,
                       const pcnn_head_dims *d)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, K = d->K;
#pragma omp parallel for schedule(static) if (n * C * K > PAR_MIN)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        REAL sum = 0;
        for (int c = 0; c < C; c++) {
            const REAL *z = l + (b * C + c) * K * HW + i;
            const int xc = x[(b * C + c) * HW + i];
            REAL m, s;
            softmax_stats(z, HW, K, &m, &s);
            sum += z[(int64_t)xc * HW] - m - log(s);
        }
        logp[p] = sum;
    }
}

/* dl (B, C*K, HW) += dlogp[p] (onehot(x_c) - softmax(logits_c)). */
void KFN(cat_backward)(REAL *dl, const REAL *dlogp, const REAL *l,
                       const uint8_t *x, const pcnn_head_dims *d)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, K = d->K;
#pragma omp parallel for schedule(static) if (n * C * K > PAR_MIN)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        const REAL g = dlogp[p];
        for (int c = 0; c < C; c++) {
            const REAL *z = l + (b * C + c) * K * HW + i;
            REAL *dz = dl + (b * C + c) * K * HW + i;
            const int xc = x[(b * C + c) * HW + i];
            REAL m, s;
            softmax_stats(z, HW, K, &m, &s);
            for (int v = 0; v < K; v++) {
                const REAL pv = exp(z[(int64_t)v * HW] - m) / s;
                dz[(int64_t)v * HW] += g * ((v == xc ? 1 : 0) - pv);
            }
        }
    }
}

/* x (B, C, HW): channel c drawn from softmax(logits_c / T) by inversion
 * with u = u(seed, p(C+1) + 1 + c) -- the first value v whose cumulative
 * mass exceeds u; when rounding leaves u past the total, the last value of
 * positive mass. In double whatever REAL is. (Index p(C+1) is left
 * unused so that the draws line up with the DMOL head's.) */
void KFN(cat_sample)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                     uint64_t seed, REAL temperature)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, K = d->K;
    const double inv_t = 1 / (double)temperature;
#pragma omp parallel for schedule(static) if (n * C * K > PAR_MIN)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        const uint64_t base = (uint64_t)p * (uint64_t)(C + 1);
        for (int c = 0; c < C; c++) {
            const REAL *z = l + (b * C + c) * K * HW + i;
            double m = -INFINITY, total = 0, cum = 0;
            for (int v = 0; v < K; v++) {
                const double zv = (double)z[(int64_t)v * HW] * inv_t;
                m = zv > m ? zv : m;
            }
            for (int v = 0; v < K; v++)
                total += exp((double)z[(int64_t)v * HW] * inv_t - m);
            const double target =
                pcnn_u01_open(seed, base + 1 + (uint64_t)c) * total;
            int pick = -1, last = 0;
            for (int v = 0; v < K && pick < 0; v++) {
                const double e = exp((double)z[(int64_t)v * HW] * inv_t - m);
                cum += e;
                if (e > 0)
                    last = v;
                if (target < cum)
                    pick = v;
            }
            x[(b * C + c) * HW + i] = (uint8_t)(pick >= 0 ? pick : last);
        }
    }
}

/* probs (B, K, HW) = softmax(logits_c) at every pixel (temperature 1),
 * normalized in double. */
void KFN(cat_pmf)(REAL *probs, const REAL *l, const pcnn_head_dims *d, int c)
{
    const int64_t HW = d->HW, n = d->B * HW;
    const int C = d->C, K = d->K;
#pragma omp parallel for schedule(static) if (n * K > PAR_MIN)
    for (int64_t p = 0; p < n; p++) {
        const int64_t b = p / HW, i = p % HW;
        const REAL *z = l + (b * C + c) * K * HW + i;
        REAL *out = probs + b * K * HW + i;
        double m = -INFINITY, total = 0;
        for (int v = 0; v < K; v++) {
            const double zv = (double)z[(int64_t)v * HW];
            m = zv > m ? zv : m;
        }
        for (int v = 0; v < K; v++)
            total += exp((double)z[(int64_t)v * HW] - m);
        for (int v = 0; v < K; v++)
            out[(int64_t)v * HW] =
                (REAL)(exp((double)z[(int64_t)v * HW] - m) / total);
    }
}
