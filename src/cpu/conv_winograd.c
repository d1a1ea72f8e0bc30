/* conv_winograd.c -- stride-1 conv forward by Winograd's minimal filtering
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
 * CVPR 2016), F(2x2, kh x kw) for kh, kw in {2, 3}, on our AVX-512
 * micro-kernel.
 *
 * Along each axis F(2, r) computes 2 outputs of an r-tap filter from
 * a = r + 1 inputs with a products instead of 2r (Toom-Cook at the points
 * 0, 1, -1, infinity; the matrices are in the transforms below). In 2-d an
 * output tile of 2x2 takes ah*aw products per channel pair instead of
 * 4*kh*kw: 12 for PixelCNN++'s 2x3 convs (2x fewer), 9 for its 2x2 (1.8x),
 * 16 for a 3x3 (2.25x). The channel sums become ah*aw GEMMs, one per
 * transform point xi:
 *
 *   U[xi] (Co, Ci) = (G_h g G_w^T)[xi]         weights, once per call
 *   V[xi] (Ci, T)  = (B_h^T d B_w)[xi]         each tile's input patch d
 *   M[xi] (Co, T)  = U[xi] V[xi]               the micro-kernel
 *   y tile         = A_h^T M A_w + bias
 *
 * fused per panel of 32 tiles: the panel's V for all points (ah*aw*Ci*32
 * floats) is built from x, then for each 8 output channels the kernel
 * runs once per point into a 12 KB tile buffer that the output transform
 * turns into y. Tiles of 8 along a row are 8 lanes: the patches' columns
 * are even/odd lanes of two or three loads (no gathers), the outputs
 * interleaved stores of 16 floats.
 *
 * Taken when Wo is a multiple of 16, Ho even and the tiles fill whole
 * panels of 32 (CIFAR's 32x32 and 16x16 layers, and larger; the rest use
 * conv_avx512.c), for conv forward passes and, accumulating, for the
 * input gradient of stride-1 convs (conv.c: a conv of dy). An output
 * depends only on the inputs in its own receptive field, also in rounding:
 * each row of A^T selects transform points whose B^T rows only touch those
 * inputs, so causality holds exactly (conv_winograd_exact_receptive_field).
 * Results differ from the direct sum by float rounding (the tests bound
 * it); they do not depend on the thread count.
 */
#ifndef PCNN_F64 /* float only */
#ifdef __AVX512F__
#include "kernels.h"
#include "gemm_avx512.h"
#include "gemm_avx512_kern.h"
#include "../core/prof.h"

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* transform points per axis for r taps (r = 2 or 3): r + 1 */
#define PTS(r) ((r) + 1)
#define MAXP 16 /* ah * aw at most (3x3) */

/* d (r+1 values) -> B^T d.
 * r = 2: [d0 - d1, d1, d2 - d1]
 * r = 3: [d0 - d2, d1 + d2, d2 - d1, d1 - d3] */
static inline void in_1d(__m512 *o, const __m512 *d, int r)
{
    if (r == 2) {
        o[0] = _mm512_sub_ps(d[0], d[1]);
        o[1] = d[1];
        o[2] = _mm512_sub_ps(d[2], d[1]);
    } else {
        o[0] = _mm512_sub_ps(d[0], d[2]);
        o[1] = _mm512_add_ps(d[1], d[2]);
        o[2] = _mm512_sub_ps(d[2], d[1]);
        o[3] = _mm512_sub_ps(d[1], d[3]);
    }
}

/* m (r+1 values) -> A^T m, the 2 outputs.
 * r = 2: [m0 + m1, m1 + m2];  r = 3: [m0 + m1 + m2, m1 - m2 - m3] */
static inline void out_1d(__m512 *o, const __m512 *m, int r)
{
    if (r == 2) {
        o[0] = _mm512_add_ps(m[0], m[1]);
        o[1] = _mm512_add_ps(m[1], m[2]);
    } else {
        o[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
        o[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
    }
}

/* g (r taps, stride s) -> G g (r+1 values), in double.
 * r = 2: [g0, g0 + g1, g1];  r = 3: [g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2] */
static void w_1d(double *o, const double *g, int s, int r)
{
    if (r == 2) {
        o[0] = g[0], o[1] = g[0] + g[s], o[2] = g[s];
    } else {
        o[0] = g[0];
        o[1] = (g[0] + g[s] + g[2 * s]) / 2;
        o[2] = (g[0] - g[s] + g[2 * s]) / 2;
        o[3] = g[2 * s];
    }
}

int pcnn_conv_winograd_fits(const pcnn_conv_dims *d)
{
    return d->stride == 1 && d->dil == 1 && (d->kh == 2 || d->kh == 3) &&
           (d->kw == 2 || d->kw == 3) && d->Wo % 16 == 0 && d->Ho % 2 == 0 &&
           d->W >= 16 && d->B * d->Ho * d->Wo % (4 * NR) == 0 &&
           d->Co <= SG_MFUSE && d->Ci <= 1024;
}

/* The tile of lane group q's half h (8 lanes): image, tile row, column. */
typedef struct {
    int64_t n, ti, tj;
} tile_at;

/* Lanes 0..15 (or 0..7 when half) of columns x0 + 2l + b, b < 4, of input
 * row y (zero outside the image): from the 36 floats at x0 as even/odd
 * lanes of three loads. */
static inline void patch_row(__m512 *d4, const float *img, int64_t H,
                             int64_t W, int64_t y, int64_t x0, int half)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14,
                                          12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    if (y < 0 || y >= H) {
        for (int b = 0; b < 4; b++)
            d4[b] = _mm512_setzero_ps();
        return;
    }
    const float *row = img + y * W;
    const __m512 w0 = window16(row, W, x0), w1 = window16(row, W, x0 + 16);
    d4[0] = _mm512_permutex2var_ps(w0, even, w1);
    d4[1] = _mm512_permutex2var_ps(w0, odd, w1);
    if (half) { /* lanes < 8 read at most x0 + 17 */
        const __m512i two = _mm512_set1_epi32(2);
        d4[2] = _mm512_permutex2var_ps(w0, _mm512_add_epi32(even, two), w1);
        d4[3] = _mm512_permutex2var_ps(w0, _mm512_add_epi32(odd, two), w1);
        return;
    }
    const __m512 w2 = window16(row, W, x0 + 32);
    const __m512 s0 = _mm512_castsi512_ps(_mm512_alignr_epi32(
        _mm512_castps_si512(w1), _mm512_castps_si512(w0), 2));
    const __m512 s1 = _mm512_castsi512_ps(_mm512_alignr_epi32(
        _mm512_castps_si512(w2), _mm512_castps_si512(w1), 2));
    d4[2] = _mm512_permutex2var_ps(s0, even, s1);
    d4[3] = _mm512_permutex2var_ps(s0, odd, s1);
}

/* Vp[xi][c][lane] for all channels c of the panel's 32 tiles: lane group
 * q (16 lanes) is tiles[2q] (lanes 0..7) and tiles[2q+1] (8..15), which
 * are the next 8 tiles of the same row when the row has 16 or more. */
static void input_panel(float *restrict Vp, const float *restrict x,
                        const pcnn_conv_dims *d, const tile_at *tiles)
{
    const int ah = PTS(d->kh), aw = PTS(d->kw);
    const int64_t H = d->H, W = d->W, HW = H * W;
    for (int q = 0; q < 2; q++) {
        const tile_at *t0 = &tiles[2 * q], *t1 = &tiles[2 * q + 1];
        const int split = t1->n != t0->n || t1->ti != t0->ti;
        const float *img0 = x + t0->n * d->Ci * HW;
        const float *img1 = x + t1->n * d->Ci * HW;
        for (int64_t c = 0; c < d->Ci; c++) {
            __m512 t[4][4], u[4][4];
            for (int a = 0; a < ah; a++) {
                __m512 d4[4];
                patch_row(d4, img0 + c * HW, H, W, 2 * t0->ti - d->pt + a,
                          2 * t0->tj - d->pl, split);
                if (split) { /* lanes 8..15 from the other tile row */
                    __m512 e4[4];
                    patch_row(e4, img1 + c * HW, H, W,
                              2 * t1->ti - d->pt + a, 2 * t1->tj - d->pl, 1);
                    for (int b = 0; b < 4; b++)
                        d4[b] = _mm512_insertf32x8(
                            d4[b], _mm512_castps512_ps256(e4[b]), 1);
                }
                in_1d(t[a], d4, d->kw);
            }
            /* columns of t through B_h^T */
            for (int b = 0; b < aw; b++) {
                __m512 col[4], o[4];
                for (int a = 0; a < ah; a++)
                    col[a] = t[a][b];
                in_1d(o, col, d->kh);
                for (int a = 0; a < ah; a++)
                    u[a][b] = o[a];
            }
            for (int a = 0; a < ah; a++)
                for (int b = 0; b < aw; b++)
                    _mm512_store_ps(Vp + ((size_t)(a * aw + b) * d->Ci + c) *
                                             NR + 16 * q,
                                    u[a][b]);
        }
    }
}

/* y tiles of output channels co0 .. co0+mr from Mt[xi][m][lane], + bias:
 * lanes 8h..8h+7 of group q are tiles[2q+h], whose 2x8 outputs go out as
 * 16 interleaved floats per output row. */
static void output_panel(float *restrict y, const float *restrict Mt,
                         const float *bias, const pcnn_conv_dims *d,
                         int64_t co0, int mr, const tile_at *tiles,
                         int accumulate)
{
    const int ah = PTS(d->kh), aw = PTS(d->kw);
    const int64_t N = d->Ho * d->Wo;
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18,
                                        2, 17, 1, 16, 0);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
    for (int m = 0; m < mr; m++) {
        const __m512 b = _mm512_set1_ps(bias ? bias[co0 + m] : 0);
        for (int q = 0; q < 2; q++) {
            __m512 t[4][2], o2[2];
            for (int a = 0; a < ah; a++) {
                __m512 row[4];
                for (int bb = 0; bb < aw; bb++)
                    row[bb] = _mm512_load_ps(
                        Mt + ((size_t)(a * aw + bb) * MR + m) * NR + 16 * q);
                out_1d(t[a], row, d->kw);
            }
            for (int j = 0; j < 2; j++) {
                __m512 col[4];
                for (int a = 0; a < ah; a++)
                    col[a] = t[a][j];
                out_1d(o2, col, d->kh);
                t[0][j] = o2[0], t[1][j] = o2[1];
            }
            /* t[i][j] lane l: output row 2ti + i, column 2tj + 2l + j */
            for (int h = 0; h < 2; h++) {
                const tile_at *ta = &tiles[2 * q + h];
                float *out = y + (ta->n * d->Co + co0 + m) * N +
                             2 * ta->ti * d->Wo + 2 * ta->tj;
                for (int i = 0; i < 2; i++, out += d->Wo) {
                    const __m512 e = _mm512_add_ps(t[i][0], b);
                    const __m512 f = _mm512_add_ps(t[i][1], b);
                    __m512 v = _mm512_permutex2var_ps(e, h ? hi : lo, f);
                    if (accumulate)
                        v = _mm512_add_ps(_mm512_loadu_ps(out), v);
                    _mm512_storeu_ps(out, v);
                }
            }
        }
    }
}

int pcnn_conv_winograd_forward(float *y, const float *x, const float *w,
                               const float *b, const pcnn_conv_dims *d,
                               int accumulate, int nthreads)
{
    if (!pcnn_conv_winograd_fits(d))
        return -1;
    const int ah = PTS(d->kh), aw = PTS(d->kw), P = ah * aw;
    const int M = (int)d->Co, K = (int)d->Ci, taps = d->kh * d->kw;
    const int64_t th = d->Ho / 2, tw = d->Wo / 2;
    const int64_t npanel = d->B * th * tw / NR;
    const size_t mpad = ((size_t)M + MR - 1) / MR * MR;
    nthreads = sg_workers(nthreads, npanel);
    const int bf16 = pcnn_gemm_bf16;
    /* U: P x (Co x Ci) in row-major, then packed per point */
    float *U = pcnn_sgemm_buf(0, 2, (size_t)P * mpad * K * 2);
    float *buf[SG_MAX_THREADS];
    const size_t vfl = (size_t)P * K * NR, mfl = (size_t)P * MR * NR;
    for (int t = 0; t < nthreads; t++) {
        buf[t] = pcnn_sgemm_buf(t, 3, vfl + mfl);
        if (!U || !buf[t])
            return -1;
    }
    float *Up = U + (size_t)P * mpad * K;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
#endif
    {
#ifdef _OPENMP
        const int t0 = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int t0 = 0, nt = 1;
#endif
        /* U = G g G^T per channel pair (in double), then packed per point:
         * threads split the rows, then the points (thread 0 times both:
         * the loops end in barriers) */
        const double tw0 = t0 == 0 ? pcnn_prof_begin() : 0.0;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t co = 0; co < M; co++)
            for (int64_t ci = 0; ci < K; ci++) {
                const float *g = w + (co * K + ci) * taps;
                double gd[9], rows[3][4], uu[4][4];
                for (int k = 0; k < taps; k++)
                    gd[k] = g[k];
                for (int a = 0; a < d->kh; a++)
                    w_1d(rows[a], gd + a * d->kw, 1, d->kw);
                for (int bb = 0; bb < aw; bb++) {
                    double col[3], o[4];
                    for (int a = 0; a < d->kh; a++)
                        col[a] = rows[a][bb];
                    w_1d(o, col, 1, d->kh);
                    for (int a = 0; a < ah; a++)
                        uu[a][bb] = o[a];
                }
                for (int a = 0; a < ah; a++)
                    for (int bb = 0; bb < aw; bb++)
                        U[((size_t)(a * aw + bb) * M + co) * K + ci] =
                            (float)uu[a][bb];
            }
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int p = 0; p < P; p++) {
            pack_A(0, U + (size_t)p * M * K, K, 0, M, 0, K,
                   Up + (size_t)p * mpad * K);
            if (bf16)
                bf16_panels(Up + (size_t)p * mpad * K, M, K, MR);
        }
        pcnn_prof_end(PCNN_PROF_WINO_WEIGHTS, tw0, 0.0);
        for (int u = t0; u < nthreads; u += nt) {
            float *Vp = buf[u], *Mt = buf[u] + vfl;
            const int64_t p0 = npanel * u / nthreads;
            const int64_t p1 = npanel * (u + 1) / nthreads;
            for (int64_t pn = p0; pn < p1; pn++) {
                tile_at tiles[4];
                for (int h = 0; h < 4; h++) {
                    const int64_t tile = pn * NR + 8 * h;
                    tiles[h] = (tile_at){tile / (th * tw),
                                         tile % (th * tw) / tw, tile % tw};
                }
                input_panel(Vp, x, d, tiles);
                for (int p = 0; bf16 && p < P; p++)
                    pcnn_bf16_panel(Vp + (size_t)p * K * NR, K, NR);
                for (int ir = 0; ir < M; ir += MR) {
                    for (int p = 0; p < P; p++) {
                        __m512 acc[MR][2];
                        kern_any(bf16, K, Up + (size_t)p * mpad * K +
                                         (size_t)ir * K,
                                  Vp + (size_t)p * K * NR, acc);
                        for (int m = 0; m < MR; m++) {
                            float *o = Mt + ((size_t)p * MR + m) * NR;
                            _mm512_store_ps(o, acc[m][0]);
                            _mm512_store_ps(o + 16, acc[m][1]);
                        }
                    }
                    output_panel(y, Mt, accumulate ? NULL : b, d, ir,
                                 M - ir < MR ? M - ir : MR, tiles, accumulate);
                }
            }
        }
    }
    return 0;
}
#endif /* __AVX512F__ */
#endif /* PCNN_F64 */
