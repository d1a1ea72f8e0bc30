/*
 * conv.c -- convolution and transposed convolution on the CPU.
 *
 * Both are lowered to GEMM through im2col (Chellapilla et al. 2006), one
 * image at a time, with the BLAS using the context's threads. The two
 * data movements are each other's adjoint and serve both ops:
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

#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
#define PAR_MIN 32768

typedef struct {
    int64_t C, Hs, Ws; /* the image side: src of gather, dst of scatter */
    int64_t Hg, Wg;    /* the grid side */
    int kh, kw, s, pt, pl;
} movement;

/* The range of grid columns j with 0 <= j*s + q - pl < Ws. */
static void valid_cols(const movement *m, int q, int64_t *j0, int64_t *j1)
{
    int64_t lo = 0, hi = m->Wg;
    int64_t off = q - m->pl;
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
        REAL *out = col + r * G;
        const REAL *plane = src + c * m->Hs * m->Ws;
        for (int64_t i = 0; i < m->Hg; i++, out += m->Wg) {
            const int64_t y = i * m->s + p - m->pt;
            if (y < 0 || y >= m->Hs || j0 >= j1) {
                memset(out, 0, (size_t)m->Wg * sizeof *out);
                continue;
            }
            const REAL *row = plane + y * m->Ws + q - m->pl;
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
            const REAL *in = col + (c * taps + t) * G;
            for (int64_t i = 0; i < m->Hg; i++) {
                const int64_t y = i * m->s + p - m->pt;
                if (y < 0 || y >= m->Hs)
                    continue;
                REAL *row = plane + y * m->Ws + q - m->pl;
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

static int is_pointwise(const pcnn_conv_dims *d)
{
    return d->kh == 1 && d->kw == 1 && d->stride == 1 && d->pt == 0 &&
           d->pl == 0 && d->Ho == d->H && d->Wo == d->W;
}

static movement conv_gather(const pcnn_conv_dims *d)
{
    return (movement){d->Ci, d->H, d->W, d->Ho, d->Wo,
                      d->kh, d->kw, d->stride, d->pt, d->pl};
}

/* Sizes are type-independent: defined once, in the float build. */
#ifndef PCNN_F64
size_t pcnn_cpu_conv2d_work(const pcnn_conv_dims *d)
{
    if (is_pointwise(d))
        return 0;
    /* backward keeps col and dcol */
    return 2 * (size_t)(d->Ci * d->kh * d->kw) * (size_t)(d->Ho * d->Wo);
}

/* The adjoint of a transposed conv is a conv, so both use the same size. */
size_t pcnn_cpu_deconv2d_work(const pcnn_conv_dims *d)
{
    return (size_t)(d->Co * d->kh * d->kw) * (size_t)(d->H * d->W);
}
#endif

void KFN(conv2d_forward)(REAL *y, const REAL *x, const REAL *w,
                         const REAL *b, const pcnn_conv_dims *d, REAL *work)
{
    const int64_t K = d->Ci * d->kh * d->kw, N = d->Ho * d->Wo;
    const movement m = conv_gather(d);
    for (int64_t n = 0; n < d->B; n++) {
        const REAL *xb = x + n * d->Ci * d->H * d->W;
        REAL *yb = y + n * d->Co * N;
        const REAL *col = xb;
        if (!is_pointwise(d)) {
            gather(work, xb, &m);
            col = work;
        }
        fill_bias(yb, b, d->Co, N);
        real_gemm(0, 0, (int)d->Co, (int)N, (int)K, 1, w, (int)K, col,
                  (int)N, 1, yb, (int)N);
    }
}

void KFN(conv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy,
                          const REAL *x, const REAL *w,
                          const pcnn_conv_dims *d, REAL *work)
{
    const int64_t K = d->Ci * d->kh * d->kw, N = d->Ho * d->Wo;
    const int64_t XN = d->Ci * d->H * d->W;
    const movement m = conv_gather(d);
    const int pw = is_pointwise(d);
    if (db)
        bias_grad(db, dy, d->B, d->Co, N);
    for (int64_t n = 0; n < d->B; n++) {
        const REAL *dyb = dy + n * d->Co * N;
        if (dw) {
            const REAL *col = x + n * XN;
            if (!pw) {
                gather(work, x + n * XN, &m);
                col = work;
            }
            /* dw (Co,K) += dy_b (Co,N) col^T (N,K) */
            real_gemm(0, 1, (int)d->Co, (int)K, (int)N, 1, dyb, (int)N, col,
                      (int)N, 1, dw, (int)K);
        }
        if (dx) {
            if (pw) {
                /* dx_b (Ci,N) += w^T (Ci,Co) dy_b (Co,N) */
                real_gemm(1, 0, (int)K, (int)N, (int)d->Co, 1, w, (int)K,
                          dyb, (int)N, 1, dx + n * XN, (int)N);
            } else {
                REAL *dcol = work + K * N;
                real_gemm(1, 0, (int)K, (int)N, (int)d->Co, 1, w, (int)K,
                          dyb, (int)N, 0, dcol, (int)N);
                scatter(dx + n * XN, dcol, &m);
            }
        }
    }
}

/* A transposed conv scatters into y (Co, Ho, Wo) from a grid of H x W. */
static movement deconv_scatter(const pcnn_conv_dims *d)
{
    return (movement){d->Co, d->Ho, d->Wo, d->H, d->W,
                      d->kh, d->kw, d->stride, d->pt, d->pl};
}

void KFN(deconv2d_forward)(REAL *y, const REAL *x, const REAL *w,
                           const REAL *b, const pcnn_conv_dims *d,
                           REAL *work)
{
    const int64_t K = d->Co * d->kh * d->kw, N = d->H * d->W;
    const movement m = deconv_scatter(d);
    for (int64_t n = 0; n < d->B; n++) {
        REAL *yb = y + n * d->Co * d->Ho * d->Wo;
        fill_bias(yb, b, d->Co, d->Ho * d->Wo);
        /* col (K,N) = w^T (K,Ci) x_b (Ci,N) */
        real_gemm(1, 0, (int)K, (int)N, (int)d->Ci, 1, w, (int)K,
                  x + n * d->Ci * N, (int)N, 0, work, (int)N);
        scatter(yb, work, &m);
    }
}

void KFN(deconv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy,
                            const REAL *x, const REAL *w,
                            const pcnn_conv_dims *d, REAL *work)
{
    const int64_t K = d->Co * d->kh * d->kw, N = d->H * d->W;
    const int64_t YN = d->Co * d->Ho * d->Wo;
    const movement m = deconv_scatter(d);
    if (db)
        bias_grad(db, dy, d->B, d->Co, d->Ho * d->Wo);
    if (!dx && !dw)
        return;
    for (int64_t n = 0; n < d->B; n++) {
        gather(work, dy + n * YN, &m); /* dcol (K, N) */
        if (dx) /* dx_b (Ci,N) += w (Ci,K) dcol (K,N) */
            real_gemm(0, 0, (int)d->Ci, (int)N, (int)K, 1, w, (int)K, work,
                      (int)N, 1, dx + n * d->Ci * N, (int)N);
        if (dw) /* dw (Ci,K) += x_b (Ci,N) dcol^T (N,K) */
            real_gemm(0, 1, (int)d->Ci, (int)K, (int)N, 1,
                      x + n * d->Ci * N, (int)N, work, (int)N, 1, dw,
                      (int)K);
    }
}
