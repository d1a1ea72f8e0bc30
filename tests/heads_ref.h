/*
 * heads_ref.h -- what the likelihood-head tests share (test_heads.c,
 * test_heads_sample.c): per-test buffers, one public-API context, DMOL
 * parameter fillers, and a reference DMOL written straight from the spec
 * in pixelcnn.h (no code shared with src/cpu/dmol.c).
 *
 * DMOL parameters l are laid out (B, P, HW) in blocks of M channels:
 * logits, C means, C log-scales, C(C-1)/2 coefficients (1|0), (2|0),
 * (2|1); dmol_P() gives P. Values x are (B, C, HW) bytes.
 */
#ifndef PCNN_TEST_HEADS_REF_H
#define PCNN_TEST_HEADS_REF_H

#include "kernels.h"
#include "pixelcnn.h"

#include <stddef.h>
#include <stdint.h>

/* P, the DMOL parameter channels per pixel for C channels, M components. */
int dmol_P(int C, int M);

/* Test buffers: n zeroed elements of size bytes, aborting past 64 live
 * ones. tmp_free() releases them all at the end of a test (one that stops
 * early leaves them, still reachable, to the next). */
void *tmp(size_t n, size_t size);
void tmp_free(void);

/* One context with the default thread count for the tests that use the
 * public API, made on first use and freed at exit; aborts if it fails. */
pcnn_ctx *ctx(void);

/* A tmp() copy of a[n] rounded to float. */
float *to_f32(const double *a, size_t n);

/* Uniform ranges of DMOL parameters by block: logits in [-logit, logit],
 * means [mean_lo, mean_hi], log-scales [ls_lo, ls_hi], coefs [-coef,coef]. */
typedef struct {
    double logit, mean_lo, mean_hi, ls_lo, ls_hi, coef;
} dmol_range;

/* l (B, P, HW) with independent random parameters at every pixel, drawn
 * from (seed, element index). */
void fill_dmol(double *l, int64_t B, int64_t HW, int C, int M, dmol_range r,
               uint64_t seed);

/* dst (B, P, n): the P values of src[b] (B, P) at every one of n pixels. */
void replicate_f32(float *dst, const double *src, int64_t B, int P,
                   int64_t n);

/* Branches of the discretized logistic that ref_dmol_logp() counts. */
enum { BR_ZERO, BR_TOP, BR_MID, BR_SAFE, BR_CLAMP, NBR };
extern const char *const br_name[NBR]; /* their names, for messages */

/* log(1 + e^v) without overflow. */
double ref_softplus(double v);

/* 1 / (1 + e^-v) without overflow. */
double ref_sigmoid(double v);

/* Channel c's mean in component k: lp the pixel's P parameters, xs[c]
 * the earlier channels' values scaled to [-1, 1]. */
double ref_mean(const double *lp, int C, int M, int k, int c,
                const double *xs);

/* log p(x) at one pixel: lp its P parameters, x[C] its values; adds the
 * branches taken to br[NBR]. */
double ref_dmol_logp(const double *lp, int C, int M, const int *x, int *br);

/* ref_dmol_logp at every pixel: logp (B, HW), l (B, P, HW), x (B, C, HW);
 * adds the branches taken to br[NBR]. */
void ref_dmol_all(double *logp, const double *l, const uint8_t *x,
                  const pcnn_head_dims *d, int *br);

#endif
