/*
 * conv.c -- convolution and transposed convolution on the CPU.
 *
 * Both are lowered to GEMM through im2col (Chellapilla et al. 2006), with
 * the BLAS using the context's threads. Images go in groups of G, side by
 * side in the columns of one GEMM, so that the 16x16 and 8x8 layers still
 * make GEMMs wide enough to run near the machine's rate; G is the most
 * images whose workspace fits in WORK_CAP floats (it depends only on the
 * shapes). The two data movements are each other's adjoint and serve both
 * ops (ld: the row stride of col, G times the grid):
 *
 *   gather:  col[(c,p,q), i*Wg + j] = src[c, i*s + p - pt, j*s + q - pl]
 *   scatter: dst[c, i*s + p - pt, j*s + q - pl] += col[(c,p,q), i*Wg + j]
 *
 * over a grid of Hg x Wg positions (i, j); out-of-range taps read zero
 * and write nothing. A conv gathers its input (grid = output size), a
 * transposed conv scatters its output (grid = input size), and each
 * backward pass uses the other movement. Both split the channel c across
 * threads, so every thread writes its own rows: no atomics, and results
 * do not depend on the thread count.
 */
#include "kernels.h"
#include "real.h"
#include "../core/prof.h"

#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
#define PAR_MIN 32768
/* Workspace of one group of images, in floats (32 MB as float). */
#define WORK_CAP ((int64_t)1 << 23)

typedef struct {
    int64_t C, Hs, Ws; /* the image side: src of gather, dst of scatter */
    int64_t Hg, Wg;    /* the grid side */
    int kh, kw, s, pt, pl;
    int64_t ld;        /* row stride of col */
    int dil;           /* taps dil apart */
} movement;

/* The range of grid columns j with 0 <= j*s + q - pl < Ws. */
static void valid_cols(const movement *m, int q, int64_t *j0, int64_t *j1)
{
    int64_t lo = 0, hi = m->Wg;
    int64_t off = (int64_t)q * m->dil - m->pl;
    /* j*s + off >= 0  <=>  j >= ceil(-off / s) */
    if (off < 0)
        lo = (-off + m->s - 1) / m->s;
    /* j*s + off <= Ws-1  <=>  j <= floor((Ws-1-off) / s) */
    int64_t last = m->Ws - 1 - off;
    hi = last < 0 ? 0 : last / m->s + 1;
    if (hi > m->Wg)
        hi = m->Wg;
    if (lo > hi)
        lo = hi;
    *j0 = lo;
    *j1 = hi;
}

static void gather(REAL *col, const REAL *src, const movement *m)
{
    const int64_t ntaps = m->C * m->kh * m->kw;
    const int64_t G = m->Hg * m->Wg;
#pragma omp parallel for schedule(static) if (ntaps * G > PAR_MIN)
    for (int64_t r = 0; r < ntaps; r++) {
        const int64_t c = r / (m->kh * m->kw);
        const int p = (int)(r / m->kw % m->kh), q = (int)(r % m->kw);
        int64_t j0, j1;
        valid_cols(m, q, &j0, &j1);
        REAL *out = col + r * m->ld;
        const REAL *plane = src + c * m->Hs * m->Ws;
        for (int64_t i = 0; i < m->Hg; i++, out += m->Wg) {
            const int64_t y = i * m->s + (int64_t)p * m->dil - m->pt;
            if (y < 0 || y >= m->Hs || j0 >= j1) {
                memset(out, 0, (size_t)m->Wg * sizeof *out);
                continue;
            }
            const REAL *row = plane + y * m->Ws + (int64_t)q * m->dil - m->pl;
            for (int64_t j = 0; j < j0; j++)
                out[j] = 0;
            if (m->s == 1) {
                memcpy(out + j0, row + j0, (size_t)(j1 - j0) * sizeof *out);
            } else {
                for (int64_t j = j0; j < j1; j++)
                    out[j] = row[j * m->s];
            }
            for (int64_t j = j1; j < m->Wg; j++)
                out[j] = 0;
        }
    }
}

static void scatter(REAL *dst, const REAL *col, const movement *m)
{
    const int64_t G = m->Hg * m->Wg;
    const int taps = m->kh * m->kw;
#pragma omp parallel for schedule(static) if (m->C * taps * G > PAR_MIN)
    for (int64_t c = 0; c < m->C; c++) {
        REAL *plane = dst + c * m->Hs * m->Ws;
        for (int t = 0; t < taps; t++) {
            const int p = t / m->kw, q = t % m->kw;
            int64_t j0, j1;
            valid_cols(m, q, &j0, &j1);
            const REAL *in = col + (c * taps + t) * m->ld;
            for (int64_t i = 0; i < m->Hg; i++) {
                const int64_t y = i * m->s + (int64_t)p * m->dil - m->pt;
                if (y < 0 || y >= m->Hs)
                    continue;
                REAL *row = plane + y * m->Ws + (int64_t)q * m->dil - m->pl;
                const REAL *src = in + i * m->Wg;
                if (m->s == 1) {
                    for (int64_t j = j0; j < j1; j++)
                        row[j] += src[j];
                } else {
                    for (int64_t j = j0; j < j1; j++)
                        row[j * m->s] += src[j];
                }
            }
        }
    }
}

/* out (C, N) = bias[c] broadcast over N, or zero without a bias. */
static void fill_bias(REAL *out, const REAL *b, int64_t C, int64_t N)
{
#pragma omp parallel for schedule(static) if (C * N > PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        const REAL v = b ? b[c] : 0;
        for (int64_t k = 0; k < N; k++)
            out[c * N + k] = v;
    }
}

/* db (C) += sum over B images and N positions of dy (B, C, N). */
static void bias_grad(REAL *db, const REAL *dy, int64_t B, int64_t C,
                      int64_t N)
{
#pragma omp parallel for schedule(static) if (B * C * N > PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        double acc = 0;
        for (int64_t b = 0; b < B; b++) {
            const REAL *row = dy + (b * C + c) * N;
            for (int64_t k = 0; k < N; k++)
                acc += row[k];
        }
        db[c] += (REAL)acc;
    }
}

/* dst (C, G*N): the G images of src (G, C, N) side by side. */
static void to_group(REAL *dst, const REAL *src, int64_t G, int64_t C,
                     int64_t N)
{
#pragma omp parallel for schedule(static) if (G * C * N > PAR_MIN)
    for (int64_t c = 0; c < C; c++)
        for (int64_t g = 0; g < G; g++)
            memcpy(dst + (c * G + g) * N, src + (g * C + c) * N,
                   (size_t)N * sizeof *dst);
}

/* dst (G, C, N) = src (C, G*N) (+ bias[c]), or += src when add. */
static void from_group(REAL *dst, const REAL *src, const REAL *bias,
                       int64_t G, int64_t C, int64_t N, int add)
{
#pragma omp parallel for schedule(static) if (G * C * N > PAR_MIN)
    for (int64_t c = 0; c < C; c++)
        for (int64_t g = 0; g < G; g++) {
            REAL *o = dst + (g * C + c) * N;
            const REAL *in = src + (c * G + g) * N;
            if (add) {
                for (int64_t k = 0; k < N; k++)
                    o[k] += in[k];
            } else {
                const REAL v = bias ? bias[c] : 0;
                for (int64_t k = 0; k < N; k++)
                    o[k] = in[k] + v;
            }
        }
}

/* Images per group when each column of the grid needs `per_col` floats
 * of workspace: as many as fit in WORK_CAP, at least 1, at most B. */
static int64_t group_of(int64_t B, int64_t N, int64_t per_col)
{
    int64_t g = WORK_CAP / (N * per_col);
    return g < 1 ? 1 : g > B ? B : g;
}

static movement conv_gather(const pcnn_conv_dims *d, int64_t ld)
{
    return (movement){d->Ci, d->H, d->W, d->Ho, d->Wo,
                      d->kh, d->kw, d->stride, d->pt, d->pl, ld, d->dil};
}

/* A transposed conv scatters into y (Co, Ho, Wo) from a grid of H x W. */
static movement deconv_scatter(const pcnn_conv_dims *d, int64_t ld)
{
    return (movement){d->Co, d->Ho, d->Wo, d->H, d->W,
                      d->kh, d->kw, d->stride, d->pt, d->pl, ld, 1};
}

/* conv: col, its gradient and the output (or dy) of a group, per column */
static int64_t conv_per_col(const pcnn_conv_dims *d)
{
    return 2 * d->Ci * d->kh * d->kw + d->Co;
}

/* deconv: col, and the group's input and its gradient, per column */
static int64_t deconv_per_col(const pcnn_conv_dims *d)
{
    return d->Co * d->kh * d->kw + 2 * d->Ci;
}

/* Sizes are type-independent: defined once, in the float build. */
#ifndef PCNN_F64
size_t pcnn_cpu_conv2d_work(const pcnn_conv_dims *d)
{
    const int64_t N = d->Ho * d->Wo;
    return (size_t)(group_of(d->B, N, conv_per_col(d)) * N *
                    conv_per_col(d));
}

size_t pcnn_cpu_deconv2d_work(const pcnn_conv_dims *d)
{
    const int64_t N = d->H * d->W;
    return (size_t)(group_of(d->B, N, deconv_per_col(d)) * N *
                    deconv_per_col(d));
}
#endif

/* 2 x the direct sum's multiply-adds (one of forward, dx, dw). */
static double conv_flops(const pcnn_conv_dims *d)
{
    return 2.0 * (double)(d->B * d->Co * d->Ho * d->Wo) *
           (double)(d->Ci * d->kh * d->kw);
}

static int is_nin(const pcnn_conv_dims *d)
{
    return d->kh == 1 && d->kw == 1;
}

/* The forward pass; returns the profiler class of the path taken. */
static pcnn_prof_class conv_forward(REAL *y, const REAL *x, const REAL *w,
                                    const REAL *b, const pcnn_conv_dims *d,
                                    REAL *work)
{
#if !defined(PCNN_F64) && defined(__AVX512F__)
    if (pcnn_conv_winograd_forward(y, x, w, b, d, 0,
                                   omp_get_max_threads()) == 0)
        return PCNN_PROF_CONV_WINO;
    if (pcnn_conv_forward_avx512(y, x, w, b, d, 0, omp_get_max_threads()) == 0)
        return is_nin(d) ? PCNN_PROF_NIN : PCNN_PROF_CONV_IMPLICIT;
#endif
    const int64_t K = d->Ci * d->kh * d->kw, N = d->Ho * d->Wo;
    const int64_t XN = d->Ci * d->H * d->W;
    const int64_t G = group_of(d->B, N, conv_per_col(d));
    for (int64_t n0 = 0; n0 < d->B; n0 += G) {
        const int64_t g = d->B - n0 < G ? d->B - n0 : G;
        const movement m = conv_gather(d, g * N);
        REAL *col = work, *out = work + K * G * N;
        for (int64_t i = 0; i < g; i++)
            gather(col + i * N, x + (n0 + i) * XN, &m);
        /* out (Co, g*N) = w (Co, K) col (K, g*N) */
        real_gemm(0, 0, (int)d->Co, (int)(g * N), (int)K, 1, w, (int)K, col,
                  (int)(g * N), 0, out, (int)(g * N));
        from_group(y + n0 * d->Co * N, out, b, g, d->Co, N, 0);
    }
    return is_nin(d) ? PCNN_PROF_NIN : PCNN_PROF_CONV_IM2COL;
}

void KFN(conv2d_forward)(REAL *y, const REAL *x, const REAL *w,
                         const REAL *b, const pcnn_conv_dims *d, REAL *work)
{
    const double t = pcnn_prof_begin();
    const pcnn_prof_class c = conv_forward(y, x, w, b, d, work);
    pcnn_prof_end(c, t, conv_flops(d));
}

#if !defined(PCNN_F64) && defined(__AVX512F__)
/* dx += the gradient of a stride-1 conv, as a conv of dy: dx[ci, a, b] +=
 * sum w[co, ci, p, q] dy[co, a - p dil + pt, b - q dil + pl] is a conv of
 * dy (Co channels, Ho x Wo) with the flipped, transposed weights
 * w'[ci, co, kh-1-p, kw-1-q] and padding (kh-1) dil - pt, (kw-1) dil - pl
 * (the im2col path's col2im scatter, gone), by Winograd where it fits,
 * else on the implicit path. w' goes in the workspace,
 * whose im2col part is not used yet. 1 when done. */
static int implicit_dx(float *dx, const float *dy, const float *w,
                       const pcnn_conv_dims *d, float *work)
{
    const int nin = is_nin(d);
    const int64_t taps = d->kh * d->kw;
    if ((size_t)(d->Co * d->Ci * taps) > pcnn_cpu_conv2d_work(d))
        return 0;
    double tp = pcnn_prof_begin();
    for (int64_t co = 0; co < d->Co; co++)
        for (int64_t ci = 0; ci < d->Ci; ci++)
            for (int64_t t = 0; t < taps; t++)
                work[(ci * d->Co + co) * taps + taps - 1 - t] =
                    w[(co * d->Ci + ci) * taps + t];
    const pcnn_conv_dims td = {d->B, d->Co, d->Ho, d->Wo, d->Ci, d->H, d->W,
                               d->kh, d->kw, 1,
                               (d->kh - 1) * d->dil - d->pt,
                               (d->kw - 1) * d->dil - d->pl, d->dil};
    pcnn_prof_end(nin ? PCNN_PROF_NIN_BWD : PCNN_PROF_DX_FLIP, tp, 0.0);
    const int nt = omp_get_max_threads();
    tp = pcnn_prof_begin();
    if (pcnn_conv_winograd_forward(dx, dy, work, NULL, &td, 1, nt) == 0) {
        pcnn_prof_end(PCNN_PROF_DX_WINO, tp, conv_flops(d));
        return 1;
    }
    if (pcnn_conv_forward_avx512(dx, dy, work, NULL, &td, 1, nt) == 0) {
        pcnn_prof_end(nin ? PCNN_PROF_NIN_BWD : PCNN_PROF_DX_IMPLICIT, tp,
                      conv_flops(d));
        return 1;
    }
    pcnn_prof_end(nin ? PCNN_PROF_NIN_BWD : PCNN_PROF_DX_FLIP, tp, 0.0);
    return 0;
}
#endif

void KFN(conv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy,
                          const REAL *x, const REAL *w,
                          const pcnn_conv_dims *d, REAL *work)
{
    const int64_t K = d->Ci * d->kh * d->kw, N = d->Ho * d->Wo;
    const int64_t XN = d->Ci * d->H * d->W;
    const int64_t G = group_of(d->B, N, conv_per_col(d));
    /* a 1x1 conv's parts all go to one class */
    const int nin = is_nin(d);
    const pcnn_prof_class c_pack = nin ? PCNN_PROF_NIN_BWD
                                       : PCNN_PROF_CONV_PACK;
    const pcnn_prof_class c_dw = nin ? PCNN_PROF_NIN_BWD : PCNN_PROF_DW_GEMM;
    const pcnn_prof_class c_dx = nin ? PCNN_PROF_NIN_BWD
                                     : PCNN_PROF_DX_IM2COL;
    double t;
    if (db) {
        t = pcnn_prof_begin();
        bias_grad(db, dy, d->B, d->Co, N);
        pcnn_prof_end(nin ? PCNN_PROF_NIN_BWD : PCNN_PROF_BIAS_GRAD, t, 0.0);
    }
#if !defined(PCNN_F64) && defined(__AVX512F__)
    if (dx && d->stride == 1 && implicit_dx(dx, dy, w, d, work))
        dx = NULL;
#endif
    if (!dx && !dw)
        return;
    const double per_image = conv_flops(d) / (double)d->B;
    for (int64_t n0 = 0; n0 < d->B; n0 += G) {
        const int64_t g = d->B - n0 < G ? d->B - n0 : G, L = g * N;
        const movement m = conv_gather(d, L);
        REAL *col = work, *dyg = work + K * G * N;
        REAL *dcol = dyg + d->Co * G * N;
        t = pcnn_prof_begin();
        to_group(dyg, dy + n0 * d->Co * N, g, d->Co, N);
        pcnn_prof_end(c_pack, t, 0.0);
        if (dw) {
            t = pcnn_prof_begin();
            for (int64_t i = 0; i < g; i++)
                gather(col + i * N, x + (n0 + i) * XN, &m);
            pcnn_prof_end(c_pack, t, 0.0);
            t = pcnn_prof_begin();
            /* dw (Co,K) += dy (Co,L) col^T (L,K) */
            real_gemm(0, 1, (int)d->Co, (int)K, (int)L, 1, dyg, (int)L, col,
                      (int)L, 1, dw, (int)K);
            pcnn_prof_end(c_dw, t, per_image * (double)g);
        }
        if (dx) {
            t = pcnn_prof_begin();
            /* dcol (K,L) = w^T (K,Co) dy (Co,L) */
            real_gemm(1, 0, (int)K, (int)L, (int)d->Co, 1, w, (int)K, dyg,
                      (int)L, 0, dcol, (int)L);
            for (int64_t i = 0; i < g; i++)
                scatter(dx + (n0 + i) * XN, dcol + i * N, &m);
            pcnn_prof_end(c_dx, t, per_image * (double)g);
        }
    }
}

/* 2 x the multiply-adds of a transposed conv (forward, dx or dw). */
static double deconv_flops(const pcnn_conv_dims *d)
{
    return 2.0 * (double)(d->B * d->Ci * d->H * d->W) *
           (double)(d->Co * d->kh * d->kw);
}

static void deconv_forward(REAL *y, const REAL *x, const REAL *w,
                           const REAL *b, const pcnn_conv_dims *d, REAL *work)
{
    const int64_t K = d->Co * d->kh * d->kw, N = d->H * d->W;
    const int64_t YN = d->Co * d->Ho * d->Wo;
    const int64_t G = group_of(d->B, N, deconv_per_col(d));
    for (int64_t n0 = 0; n0 < d->B; n0 += G) {
        const int64_t g = d->B - n0 < G ? d->B - n0 : G, L = g * N;
        const movement m = deconv_scatter(d, L);
        REAL *xg = work, *col = work + d->Ci * G * N;
        to_group(xg, x + n0 * d->Ci * N, g, d->Ci, N);
        /* col (K,L) = w^T (K,Ci) x (Ci,L) */
        real_gemm(1, 0, (int)K, (int)L, (int)d->Ci, 1, w, (int)K, xg, (int)L,
                  0, col, (int)L);
        for (int64_t i = 0; i < g; i++) {
            REAL *yb = y + (n0 + i) * YN;
            fill_bias(yb, b, d->Co, d->Ho * d->Wo);
            scatter(yb, col + i * N, &m);
        }
    }
}

static void deconv_backward(REAL *dx, REAL *dw, REAL *db, const REAL *dy,
                            const REAL *x, const REAL *w,
                            const pcnn_conv_dims *d, REAL *work)
{
    const int64_t K = d->Co * d->kh * d->kw, N = d->H * d->W;
    const int64_t YN = d->Co * d->Ho * d->Wo;
    const int64_t G = group_of(d->B, N, deconv_per_col(d));
    if (db)
        bias_grad(db, dy, d->B, d->Co, d->Ho * d->Wo);
    if (!dx && !dw)
        return;
    for (int64_t n0 = 0; n0 < d->B; n0 += G) {
        const int64_t g = d->B - n0 < G ? d->B - n0 : G, L = g * N;
        const movement m = deconv_scatter(d, L);
        REAL *dcol = work, *xg = work + K * G * N, *dxg = xg + d->Ci * G * N;
        for (int64_t i = 0; i < g; i++)
            gather(dcol + i * N, dy + (n0 + i) * YN, &m);
        if (dx) {
            /* dx (Ci,L) = w (Ci,K) dcol (K,L) */
            real_gemm(0, 0, (int)d->Ci, (int)L, (int)K, 1, w, (int)K, dcol,
                      (int)L, 0, dxg, (int)L);
            from_group(dx + n0 * d->Ci * N, dxg, NULL, g, d->Ci, N, 1);
        }
        if (dw) {
            /* dw (Ci,K) += x (Ci,L) dcol^T (L,K) */
            to_group(xg, x + n0 * d->Ci * N, g, d->Ci, N);
            real_gemm(0, 1, (int)d->Ci, (int)K, (int)L, 1, xg, (int)L, dcol,
                      (int)L, 1, dw, (int)K);
        }
    }
}

void KFN(deconv2d_forward)(REAL *y, const REAL *x, const REAL *w,
                           const REAL *b, const pcnn_conv_dims *d,
                           REAL *work)
{
    const double t = pcnn_prof_begin();
    deconv_forward(y, x, w, b, d, work);
    pcnn_prof_end(PCNN_PROF_DECONV, t, deconv_flops(d));
}

void KFN(deconv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy,
                            const REAL *x, const REAL *w,
                            const pcnn_conv_dims *d, REAL *work)
{
    const double t = pcnn_prof_begin();
    deconv_backward(dx, dw, db, dy, x, w, d, work);
    pcnn_prof_end(PCNN_PROF_DECONV_BWD, t,
                  deconv_flops(d) * ((dx != NULL) + (dw != NULL)));
}
