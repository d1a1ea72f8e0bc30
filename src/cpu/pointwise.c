/*
 * pointwise.c -- shifts, activations, the gate, the residual add and
 * dropout. Memory-bound loops; threads split the elements they write.
 */
#include "kernels.h"
#include "real.h"
#include "../core/rng.h"

#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
#define PAR_MIN 32768

void KFN(down_shift_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                             int64_t H, int64_t W)
{
    const int64_t planes = B * C, plane = H * W;
#pragma omp parallel for schedule(static) if (planes * plane > PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        REAL *yp = y + p * plane;
        memset(yp, 0, (size_t)W * sizeof *yp);
        memcpy(yp + W, x + p * plane, (size_t)(plane - W) * sizeof *yp);
    }
}

void KFN(down_shift_backward)(REAL *dx, const REAL *dy, int64_t B, int64_t C,
                              int64_t H, int64_t W)
{
    const int64_t planes = B * C, plane = H * W;
#pragma omp parallel for schedule(static) if (planes * plane > PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        REAL *dxp = dx + p * plane;
        const REAL *dyp = dy + p * plane + W;
        for (int64_t i = 0; i < plane - W; i++)
            dxp[i] += dyp[i];
    }
}

void KFN(right_shift_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                              int64_t H, int64_t W)
{
    const int64_t rows = B * C * H;
#pragma omp parallel for schedule(static) if (rows * W > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        REAL *yr = y + r * W;
        yr[0] = 0;
        memcpy(yr + 1, x + r * W, (size_t)(W - 1) * sizeof *yr);
    }
}

void KFN(right_shift_backward)(REAL *dx, const REAL *dy, int64_t B,
                               int64_t C, int64_t H, int64_t W)
{
    const int64_t rows = B * C * H;
#pragma omp parallel for schedule(static) if (rows * W > PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < W - 1; j++)
            dx[r * W + j] += dy[r * W + j + 1];
}

#ifdef PCNN_F64
static inline double exp_neg(double v) { return exp(v); }
static inline double expm1_neg(double v) { return expm1(v); }
#else
/* e^v for v <= 0, inline rather than a libm call per element (the
 * AVX-512 version below does 16 at a time): v = n ln2
 * + r with |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative
 * error < 3e-7), times 2^n built in the exponent bits. Below -87 the
 * result is 0 (e^-87 ~ 1.6e-38, the smallest normal float). */
static inline float exp_neg(float v)
{
    v = v < -87.0f ? -87.0f : v;
    const float n = floorf(v * 1.44269504f + 0.5f);
    const float r = v - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union {
        int32_t i;
        float f;
    } scale = {((int32_t)n + 127) << 23};
    return p * scale.f;
}

/* e^v - 1 for v <= 0: near 0 by its series (e^v - 1 would lose every
 * digit there), else e^v - 1. Absolute error < 2e-7. */
static inline float expm1_neg(float v)
{
    const float series = v * (1.0f + v * (0.5f + v * (1.0f / 6 + v / 24)));
    return v > -0.0625f ? series : exp_neg(v) - 1.0f;
}
#endif

static inline REAL elu(REAL v) { return v > 0 ? v : expm1_neg(v); }
/* d elu / dv */
static inline REAL elu_grad(REAL v) { return v > 0 ? 1 : exp_neg(v); }

#if defined(__AVX512F__) && !defined(PCNN_F64)
#include <immintrin.h>
/* The same maths, 16 floats at a time (gcc 12 does not vectorize the
 * scalar form: "control flow in loop"). */
static inline __m512 exp_neg16(__m512 v)
{
    v = _mm512_max_ps(v, _mm512_set1_ps(-87.0f));
    const __m512 n = _mm512_roundscale_ps(
        _mm512_mul_ps(v, _mm512_set1_ps(1.44269504f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), v);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i e = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* elu(v) and elu'(v) of 16 floats */
/* e^m - 1 for m <= 0: the series near 0, else exp_neg16(m) - 1 */
static inline __m512 expm1_neg16(__m512 m)
{
    __m512 series = _mm512_fmadd_ps(m, _mm512_set1_ps(1.0f / 24),
                                    _mm512_set1_ps(1.0f / 6));
    series = _mm512_fmadd_ps(series, m, _mm512_set1_ps(0.5f));
    series = _mm512_fmadd_ps(series, m, _mm512_set1_ps(1.0f));
    series = _mm512_mul_ps(series, m);
    const __m512 e = _mm512_sub_ps(exp_neg16(m), _mm512_set1_ps(1.0f));
    const __mmask16 small =
        _mm512_cmp_ps_mask(m, _mm512_set1_ps(-0.0625f), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(small, e, series);
}

static inline __m512 elu16(__m512 v)
{
    const __m512 neg = expm1_neg16(_mm512_min_ps(v, _mm512_setzero_ps()));
    const __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(),
                                             _CMP_GT_OQ);
    return _mm512_mask_blend_ps(pos, neg, v);
}

/* elu(v) and elu(-v) with one exponential: one of v, -v is <= 0, and both
 * negative branches are e^-|v| - 1 (the same bits as two elu16 calls). */
static inline void elu_pair16(__m512 v, __m512 *y, __m512 *yneg)
{
    const __m512 nv = _mm512_sub_ps(_mm512_setzero_ps(), v);
    const __m512 em1 = expm1_neg16(_mm512_min_ps(_mm512_min_ps(v, nv),
                                                 _mm512_setzero_ps()));
    *y = _mm512_mask_blend_ps(
        _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), em1, v);
    *yneg = _mm512_mask_blend_ps(
        _mm512_cmp_ps_mask(nv, _mm512_setzero_ps(), _CMP_GT_OQ), em1, nv);
}

static inline __m512 elu_grad16(__m512 v)
{
    const __m512 e = exp_neg16(_mm512_min_ps(v, _mm512_setzero_ps()));
    const __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(),
                                             _CMP_GT_OQ);
    return _mm512_mask_blend_ps(pos, e, _mm512_set1_ps(1.0f));
}
#define PCNN_ELU16 1
#endif

/* y[0..n) = elu(x), and with neg: neg[0..n) = elu(-x) */
static void elu_run(REAL *y, REAL *neg, const REAL *x, int64_t n)
{
    int64_t i = 0;
#ifdef PCNN_ELU16
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        if (neg) {
            __m512 a, b;
            elu_pair16(v, &a, &b);
            _mm512_storeu_ps(y + i, a);
            _mm512_storeu_ps(neg + i, b);
        } else {
            _mm512_storeu_ps(y + i, elu16(v));
        }
    }
#endif
    for (; i < n; i++) {
        y[i] = elu(x[i]);
        if (neg)
            neg[i] = elu(-x[i]);
    }
}

/* dx[0..n) += dy elu'(x), and with dneg: -= dneg elu'(-x) */
static void elu_grad_run(REAL *dx, const REAL *dy, const REAL *dneg,
                         const REAL *x, int64_t n)
{
    int64_t i = 0;
#ifdef PCNN_ELU16
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        __m512 acc = _mm512_fmadd_ps(_mm512_loadu_ps(dy + i), elu_grad16(v),
                                     _mm512_loadu_ps(dx + i));
        if (dneg)
            acc = _mm512_fnmadd_ps(
                _mm512_loadu_ps(dneg + i),
                elu_grad16(_mm512_sub_ps(_mm512_setzero_ps(), v)), acc);
        _mm512_storeu_ps(dx + i, acc);
    }
#endif
    for (; i < n; i++) {
        dx[i] += dy[i] * elu_grad(x[i]);
        if (dneg)
            dx[i] -= dneg[i] * elu_grad(-x[i]);
    }
}

void KFN(elu_serial)(REAL *y, REAL *neg, const REAL *x, int64_t n)
{
    elu_run(y, neg, x, n);
}

void KFN(elu_forward)(REAL *y, const REAL *x, int64_t n)
{
    const int64_t chunk = 4096;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i += chunk)
        elu_run(y + i, NULL, x + i, n - i < chunk ? n - i : chunk);
}

void KFN(elu_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t n)
{
    const int64_t chunk = 4096;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i += chunk)
        elu_grad_run(dx + i, dy + i, NULL, x + i,
                     n - i < chunk ? n - i : chunk);
}

void KFN(concat_elu_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                             int64_t HW)
{
    const int64_t rows = B * C;
#pragma omp parallel for schedule(static) if (rows * HW > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / C, c = r % C;
        REAL *pos = y + (b * 2 * C + c) * HW;
        elu_run(pos, pos + C * HW, x + r * HW, HW);
    }
}

void KFN(concat_elu_backward)(REAL *dx, const REAL *dy, const REAL *x,
                              int64_t B, int64_t C, int64_t HW)
{
    const int64_t rows = B * C;
#pragma omp parallel for schedule(static) if (rows * HW > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / C, c = r % C;
        const REAL *dpos = dy + (b * 2 * C + c) * HW;
        elu_grad_run(dx + r * HW, dpos, dpos + C * HW, x + r * HW, HW);
    }
}

static inline REAL sigmoid(REAL v) { return 1 / (1 + exp(-v)); }

#ifdef PCNN_ELU16
/* sigmoid of 16 floats from e = exp(-|v|) in (0, 1] (exp_neg16: relative
 * error < 3e-7, so no overflow for any v): 1/(1+e) for v >= 0, e/(1+e)
 * below, rather than libm's expf one element at a time. */
static inline __m512 sigmoid16(__m512 v)
{
    const __m512 e = exp_neg16(_mm512_min_ps(v, _mm512_sub_ps(
                                                    _mm512_setzero_ps(), v)));
    const __m512 r = _mm512_div_ps(_mm512_set1_ps(1.0f),
                                   _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(),
                                             _CMP_LT_OQ);
    return _mm512_mask_mul_ps(r, neg, r, e);
}
#endif

/* y[0..n) = a sigmoid(g) */
static void gate_run(REAL *y, const REAL *a, const REAL *g, int64_t n)
{
    int64_t i = 0;
#ifdef PCNN_ELU16
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(a + i),
                                              sigmoid16(_mm512_loadu_ps(g + i))));
#endif
    for (; i < n; i++)
        y[i] = a[i] * sigmoid(g[i]);
}

/* da += dy s, dg += dy a s (1 - s), s = sigmoid(g), over [0, n) */
static void gate_grad_run(REAL *da, REAL *dg, const REAL *dy, const REAL *a,
                          const REAL *g, int64_t n)
{
    int64_t i = 0;
#ifdef PCNN_ELU16
    for (; i + 16 <= n; i += 16) {
        const __m512 s = sigmoid16(_mm512_loadu_ps(g + i));
        const __m512 d = _mm512_loadu_ps(dy + i);
        _mm512_storeu_ps(da + i,
                         _mm512_fmadd_ps(d, s, _mm512_loadu_ps(da + i)));
        const __m512 ds = _mm512_mul_ps(
            _mm512_mul_ps(d, _mm512_loadu_ps(a + i)),
            _mm512_mul_ps(s, _mm512_sub_ps(_mm512_set1_ps(1.0f), s)));
        _mm512_storeu_ps(dg + i, _mm512_add_ps(_mm512_loadu_ps(dg + i), ds));
    }
#endif
    for (; i < n; i++) {
        const REAL s = sigmoid(g[i]);
        da[i] += dy[i] * s;
        dg[i] += dy[i] * a[i] * s * (1 - s);
    }
}

void KFN(gate_serial)(REAL *y, const REAL *a, const REAL *g, int64_t n)
{
    gate_run(y, a, g, n);
}

void KFN(gate_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                       int64_t HW)
{
    const int64_t rows = B * C;
#pragma omp parallel for schedule(static) if (rows * HW > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / C, c = r % C;
        const REAL *a = x + (b * 2 * C + c) * HW;
        gate_run(y + r * HW, a, a + C * HW, HW);
    }
}

void KFN(gate_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t B,
                        int64_t C, int64_t HW)
{
    const int64_t rows = B * C;
#pragma omp parallel for schedule(static) if (rows * HW > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t b = r / C, c = r % C;
        const REAL *a = x + (b * 2 * C + c) * HW;
        REAL *da = dx + (b * 2 * C + c) * HW;
        gate_grad_run(da, da + C * HW, dy + r * HW, a, a + C * HW, HW);
    }
}

void KFN(add_forward)(REAL *y, const REAL *a, const REAL *b, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void KFN(add_backward)(REAL *da, REAL *db, const REAL *dy, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        if (da)
            da[i] += dy[i];
        if (db)
            db[i] += dy[i];
    }
}

/* keep element i when u(seed, i) >= p; kept values are scaled by 1/(1-p) */
static inline REAL dropout_factor(uint64_t seed, int64_t i, REAL p)
{
    return pcnn_u01(seed, (uint64_t)i) >= (double)p ? 1 / (1 - p) : 0;
}

void KFN(dropout_forward)(REAL *y, const REAL *x, int64_t n, REAL p,
                          uint64_t seed, int64_t first)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * dropout_factor(seed, first + i, p);
}

void KFN(dropout_backward)(REAL *dx, const REAL *dy, int64_t n, REAL p,
                           uint64_t seed, int64_t first)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i] * dropout_factor(seed, first + i, p);
}
