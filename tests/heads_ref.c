/*
 * heads_ref.c -- helpers of the likelihood-head tests: see heads_ref.h.
 */
#include "heads_ref.h"
#include "test.h"
#include "../src/core/rng.h"

#include <math.h>
#include <stdlib.h>

int dmol_P(int C, int M) { return M * (1 + 2 * C + C * (C - 1) / 2); }

/* Test buffers, zeroed; tmp_free() releases them all at the end of a test
 * (one that stops early leaves them, still reachable, to the next). */
static void *tmp_list[64];
static int tmp_n;

void *tmp(size_t n, size_t size)
{
    if (tmp_n == 64) {
        fprintf(stderr, "heads_ref: more than 64 buffers\n");
        abort();
    }
    return tmp_list[tmp_n++] = xcalloc(n, size);
}

void tmp_free(void)
{
    while (tmp_n > 0)
        free(tmp_list[--tmp_n]);
}

/* One context with the default thread count for the tests that use the
 * public API, made on first use and freed at exit. */
static pcnn_ctx *shared_ctx;

pcnn_ctx *ctx(void)
{
    if (!shared_ctx && pcnn_ctx_create(&shared_ctx, NULL) != PCNN_OK) {
        fprintf(stderr, "heads_ref: %s\n", pcnn_last_error());
        abort();
    }
    return shared_ctx;
}

__attribute__((destructor)) static void ctx_release(void)
{
    pcnn_ctx_free(shared_ctx);
}

float *to_f32(const double *a, size_t n)
{
    float *f = tmp(n, sizeof *f);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)a[i];
    return f;
}

/* l (B, P, HW) with independent random parameters at every pixel. */
void fill_dmol(double *l, int64_t B, int64_t HW, int C, int M, dmol_range r,
               uint64_t seed)
{
    const int P = dmol_P(C, M);
    for (int64_t b = 0; b < B; b++)
        for (int ch = 0; ch < P; ch++)
            for (int64_t i = 0; i < HW; i++) {
                const int64_t idx = (b * P + ch) * HW + i;
                const int blk = ch / M;
                const int kind = blk == 0       ? 0
                                 : blk <= C     ? 1
                                 : blk <= 2 * C ? 2
                                                : 3;
                const double lo[4] = {-r.logit, r.mean_lo, r.ls_lo, -r.coef};
                const double hi[4] = {r.logit, r.mean_hi, r.ls_hi, r.coef};
                l[idx] = lo[kind] + (hi[kind] - lo[kind]) *
                                        pcnn_u01(seed, (uint64_t)idx);
            }
}

/* dst (B, P, n): the P values of src[b] at every one of n pixels. */
void replicate_f32(float *dst, const double *src, int64_t B, int P,
                   int64_t n)
{
    for (int64_t bc = 0; bc < B * P; bc++)
        for (int64_t i = 0; i < n; i++)
            dst[bc * n + i] = (float)src[bc];
}

/* ------------------------------------------------------ reference DMOL */

const char *const br_name[NBR] = {"x=0", "x=255", "log(cdf_delta)", "safe",
                                  "clamp"};

double ref_softplus(double v)
{
    return fmax(v, 0) + log1p(exp(-fabs(v)));
}

double ref_sigmoid(double v)
{
    return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v));
}

/* Channel c's mean in component k from the scaled earlier values xs,
 * naming the coefficient blocks (1|0), (2|0), (2|1) one by one. */
double ref_mean(const double *lp, int C, int M, int k, int c,
                const double *xs)
{
    double mean = lp[(1 + c) * M + k];
    if (c == 1)
        mean += tanh(lp[(1 + 2 * C) * M + k]) * xs[0];
    if (c == 2)
        mean += tanh(lp[(2 + 2 * C) * M + k]) * xs[0] +
                tanh(lp[(3 + 2 * C) * M + k]) * xs[1];
    return mean;
}

/* log p(x) at one pixel, straight from the spec in pixelcnn.h and
 * PixelCNN++'s reference code; lp holds the pixel's P parameters in
 * block order, br[] counts the branches taken. Arrays over k and a plain
 * log-softmax, so it shares no structure with dmol.c. */
double ref_dmol_logp(const double *lp, int C, int M, const int *x, int *br)
{
    double xs[3], comp[16], mx = -INFINITY, z = 0;
    for (int c = 0; c < C; c++)
        xs[c] = x[c] / 127.5 - 1;
    for (int k = 0; k < M; k++)
        mx = fmax(mx, lp[k]);
    for (int k = 0; k < M; k++)
        z += exp(lp[k] - mx);
    for (int k = 0; k < M; k++) {
        comp[k] = lp[k] - mx - log(z);
        for (int c = 0; c < C; c++) {
            const double raw = lp[(1 + C + c) * M + k];
            const double ls = raw < -7 ? -7 : raw;
            br[BR_CLAMP] += raw < -7;
            const double inv = exp(-ls);
            const double cen = xs[c] - ref_mean(lp, C, M, k, c, xs);
            const double plus = inv * (cen + 1 / 255.0);
            const double mn = inv * (cen - 1 / 255.0);
            const double cdf = cen > 0 ? ref_sigmoid(-mn) - ref_sigmoid(-plus)
                                       : ref_sigmoid(plus) - ref_sigmoid(mn);
            if (x[c] == 0) {
                comp[k] += plus - ref_softplus(plus);
                br[BR_ZERO]++;
            } else if (x[c] == 255) {
                comp[k] += -ref_softplus(mn);
                br[BR_TOP]++;
            } else if (cdf > 1e-5) {
                comp[k] += log(cdf);
                br[BR_MID]++;
            } else {
                const double mid = inv * cen;
                comp[k] += mid - ls - 2 * ref_softplus(mid) - log(127.5);
                br[BR_SAFE]++;
            }
        }
    }
    mx = -INFINITY;
    z = 0;
    for (int k = 0; k < M; k++)
        mx = fmax(mx, comp[k]);
    for (int k = 0; k < M; k++)
        z += exp(comp[k] - mx);
    return mx + log(z);
}

/* ref_dmol_logp at every pixel of l (B, P, HW), x (B, C, HW). */
void ref_dmol_all(double *logp, const double *l, const uint8_t *x,
                  const pcnn_head_dims *d, int *br)
{
    const int P = dmol_P(d->C, d->M);
    double lp[160];
    for (int64_t b = 0; b < d->B; b++)
        for (int64_t i = 0; i < d->HW; i++) {
            int xv[3];
            for (int ch = 0; ch < P; ch++)
                lp[ch] = l[(b * P + ch) * d->HW + i];
            for (int c = 0; c < d->C; c++)
                xv[c] = x[(b * d->C + c) * d->HW + i];
            logp[b * d->HW + i] = ref_dmol_logp(lp, d->C, d->M, xv, br);
        }
}
