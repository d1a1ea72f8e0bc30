/* conv_avx512.c -- conv forward as one GEMM with the im2col done inside
 * the packing of B ("implicit im2col"), on our AVX-512 micro-kernel.
 *
 *   y (B, Co, N) = bias + w (Co, K) x col (K, B*N),   K = Ci*kh*kw,
 *   col[(c,p,q), (b,i,j)] = x[b, c, i*s + p*dil - pt, j*s + q*dil - pl]
 *
 * conv.c's im2col path writes col (K x G*N floats) and the GEMM then
 * copies it again into NR-column panels, and writes its output in
 * (Co, G*N) order for a last reshuffle into (G, Co, N): three passes over
 * memory that this path does not make. Here each NR-column panel of col is
 * built straight from x, KC rows at a time, right before the micro-kernels
 * use it, and the tiles are written straight into y with the bias. Every
 * element of y is the same sum, in the same order and with the same
 * roundings, as on the im2col path (same KC blocks, same kernel; the bias
 * added last), so the two agree bit for bit and results do not depend on
 * the thread count.
 *
 * Loop nest per thread (threads split the B*N columns in NR panels):
 *   chunk of CH panels (their C tiles stay in L2 across the K blocks)
 *    pc over K in KC      (A packed once per call: Ap[pc block][ir][k][MR])
 *     panel in chunk: pack KC x NR of col from x
 *      ir over Co in MR:  micro-kernel, tile epilogue into y
 */
#ifndef PCNN_F64 /* float only */
#ifdef __AVX512F__
#include "kernels.h"
#include "gemm_avx512.h"
#include "gemm_avx512_kern.h"

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* A run of a panel's columns that lie in one output row of one image. */
typedef struct {
    int off, len;     /* panel columns [off, off+len) */
    int64_t img, i, j; /* image, output row, first output column */
} run;

/* The runs of panel columns [j0, j0+nc) of col; returns their number. */
static int panel_runs(run *r, int64_t j0, int nc, int64_t N, int64_t Wo)
{
    int n = 0;
    for (int off = 0; off < nc;) {
        const int64_t col = j0 + off, img = col / N, pos = col % N;
        const int64_t i = pos / Wo, j = pos % Wo;
        const int len = (int)(nc - off < Wo - j ? nc - off : Wo - j);
        r[n++] = (run){off, len, img, i, j};
        off += len;
    }
    return n;
}

/* Row k of col, as offsets into x: the channel plane, and the tap's
 * offsets from the output position scaled by the stride. */
typedef struct {
    int64_t plane; /* c * H * W */
    int dy, dx;    /* p*dil - pt, q*dil - pl */
} tap;

static void taps_of(tap *t, const pcnn_conv_dims *d, int p0, int kc)
{
    const int taps = d->kh * d->kw;
    for (int k = 0; k < kc; k++) {
        const int kk = p0 + k, tp = kk % taps;
        t[k] = (tap){(int64_t)(kk / taps) * d->H * d->W,
                     tp / d->kw * d->dil - d->pt, tp % d->kw * d->dil - d->pl};
    }
}

/* Bp (kc x NR) = the rows of col in tab (kc of them) at the panel's
 * columns (runs r[0..nr)), zero beyond the image and the panel's columns.
 * Stride 1 moves 16 or 8 columns at a time (window16/8); strided convs
 * and rows narrower than 8 go element by element. */
static void pack_panel(float *restrict Bp, const float *restrict x,
                       const pcnn_conv_dims *d, const run *r, int nr,
                       const tap *tab, int kc)
{
    const int64_t W = d->W, H = d->H, S = d->stride;
    const __m512 zero = _mm512_setzero_ps();
    if (S == 1 && nr == 1 && r[0].len == NR) {
        /* one output row of W >= 32 columns: the common case */
        const float *base = x + r[0].img * d->Ci * H * W;
        const int64_t i = r[0].i, j = r[0].j;
        /* the next panel of the image (the same row's next 32 columns,
         * or the next row), whose new rows are fetched into L2 while
         * this one is packed, so that the loads of x do not wait on
         * memory */
        const int64_t ni = j + 2 * NR <= d->Wo ? i : i + 1;
        const int64_t nj = j + 2 * NR <= d->Wo ? j + NR : 0;
        const int prefetch = ni < d->Ho;
        for (int k = 0; k < kc; k++, Bp += NR) {
            const int64_t y = i + tab[k].dy, x0 = j + tab[k].dx;
            __m512 v0 = zero, v1 = zero;
            if (y >= 0 && y < H) {
                const float *row = base + tab[k].plane + y * W;
                v0 = window16(row, W, x0);
                v1 = window16(row, W, x0 + 16);
            }
            const int64_t py = ni + tab[k].dy, px = nj + tab[k].dx;
            if (prefetch && py >= 0 && py < H && px >= 0 && px + NR <= W) {
                const float *p = base + tab[k].plane + py * W + px;
                _mm_prefetch((const char *)p, _MM_HINT_T1);
                _mm_prefetch((const char *)(p + 16), _MM_HINT_T1);
            }
            _mm512_store_ps(Bp, v0);
            _mm512_store_ps(Bp + 16, v1);
        }
        return;
    }
    /* how this panel's runs move: 16 lanes, 8 lanes, or one by one */
    int mode = S == 1 && W >= 16 ? 16 : S == 1 && W >= 8 ? 8 : 1;
    for (int u = 0; mode == 8 && u < nr; u++)
        if (r[u].len != 8 || r[u].off % 8)
            mode = 1;
    float tmp[NR];
    for (int k = 0; k < kc; k++, Bp += NR) {
        __m512 v[2] = {zero, zero};
        if (mode == 1)
            memset(tmp, 0, sizeof tmp);
        for (int u = 0; u < nr; u++) {
            const int64_t y = r[u].i * S + tab[k].dy;
            if (y < 0 || y >= H)
                continue;
            const float *row = x + r[u].img * d->Ci * H * W + tab[k].plane +
                               y * W;
            const int64_t x0 = r[u].j * S + tab[k].dx;
            const int off = r[u].off, len = r[u].len;
            if (mode == 16) {
                /* panel lanes [a, b) of each half: the run's columns
                 * t = 16h + l - off, read at x0 + t */
                for (int h = 0; h < 2; h++) {
                    const int a = off > 16 * h ? off : 16 * h;
                    const int b = off + len < 16 * h + 16 ? off + len
                                                          : 16 * h + 16;
                    if (a >= b)
                        continue;
                    const __mmask16 m =
                        (__mmask16)(((1u << (b - a)) - 1u) << (a - 16 * h));
                    v[h] = _mm512_mask_mov_ps(
                        v[h], m, window16(row, W, x0 - off + 16 * h));
                }
            } else if (mode == 8) {
                const __m256 w8 = window8(row, W, x0);
                v[off / 16] = off % 16 ? _mm512_insertf32x8(v[off / 16], w8, 1)
                                       : _mm512_insertf32x8(v[off / 16], w8, 0);
            } else {
                for (int t = 0; t < len; t++) {
                    const int64_t xi = x0 + t * S;
                    if (xi >= 0 && xi < W)
                        tmp[off + t] = row[xi];
                }
            }
        }
        if (mode == 1) {
            v[0] = _mm512_loadu_ps(tmp);
            v[1] = _mm512_loadu_ps(tmp + 16);
        }
        _mm512_store_ps(Bp, v[0]);
        _mm512_store_ps(Bp + 16, v[1]);
    }
}

/* How a K block's tile meets y: the first block stores, later ones add;
 * the last also adds the bias (after the sum, as the im2col path does). */
enum { T_STORE = 1, T_BIAS = 2 };

/* Writes tile acc (rows [0, mr) of Co from row0, the panel's nc columns)
 * into y. Fast path: the panel lies in one image (then its columns are
 * contiguous in y); else element by element through the runs. */
static void tile_out(float *restrict y, const __m512 acc[MR][2],
                     const float *bias, int64_t row0, int mr, const run *r,
                     int nr, int nc, int64_t Co, int64_t N, int64_t Wo,
                     int mode)
{
    const int one_image =
        r[0].img == r[nr - 1].img && nc == NR;
    if (one_image) {
        float *c = y + (r[0].img * Co + row0) * N + r[0].i * Wo + r[0].j;
        for (int m = 0; m < mr; m++, c += N) {
            __m512 v0 = acc[m][0], v1 = acc[m][1];
            if (!(mode & T_STORE)) {
                v0 = _mm512_add_ps(_mm512_loadu_ps(c), v0);
                v1 = _mm512_add_ps(_mm512_loadu_ps(c + 16), v1);
            }
            if (mode & T_BIAS) {
                const __m512 b = _mm512_set1_ps(bias ? bias[row0 + m] : 0);
                v0 = _mm512_add_ps(v0, b);
                v1 = _mm512_add_ps(v1, b);
            }
            _mm512_storeu_ps(c, v0);
            _mm512_storeu_ps(c + 16, v1);
        }
        return;
    }
    float t[MR][NR];
    for (int m = 0; m < mr; m++) {
        _mm512_storeu_ps(t[m], acc[m][0]);
        _mm512_storeu_ps(t[m] + 16, acc[m][1]);
    }
    for (int u = 0; u < nr; u++)
        for (int m = 0; m < mr; m++) {
            float *c = y + (r[u].img * Co + row0 + m) * N + r[u].i * Wo +
                       r[u].j;
            const float b = bias ? bias[row0 + m] : 0;
            for (int k = 0; k < r[u].len; k++) {
                float v = t[m][r[u].off + k];
                if (!(mode & T_STORE))
                    v = c[k] + v;
                c[k] = mode & T_BIAS ? v + b : v;
            }
        }
}

int pcnn_conv_forward_avx512(float *y, const float *x, const float *w,
                             const float *b, const pcnn_conv_dims *d,
                             int accumulate, int nthreads)
{
    const int64_t N = d->Ho * d->Wo, L = d->B * N;
    const int64_t K64 = d->Ci * d->kh * d->kw;
    if (d->Co > SG_MFUSE || K64 > (1 << 20) || L > ((int64_t)1 << 40))
        return -1;
    const int M = (int)d->Co, K = (int)K64;
    const int64_t npanel = (L + NR - 1) / NR;
    const size_t mpad = ((size_t)M + MR - 1) / MR * MR;
    nthreads = sg_workers(nthreads, npanel);
    const int bf16 = pcnn_gemm_bf16;
    float *bufA[SG_MAX_THREADS], *bufB[SG_MAX_THREADS];
    for (int t = 0; t < nthreads; t++) {
        bufA[t] = pcnn_sgemm_buf(t, 2, mpad * (size_t)K);
        bufB[t] = pcnn_sgemm_buf(t, 3, (size_t)SG_KC * NR);
        if (!bufA[t] || !bufB[t])
            return -1;
    }
    /* panels per chunk: its C tiles (M x NR each) in about 256 KB */
    const int64_t chunk = M * NR > 65536 ? 1 : 65536 / (M * NR);
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
#endif
    {
#ifdef _OPENMP
        const int t0 = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int t0 = 0, nt = 1;
#endif
        for (int u = t0; u < nthreads; u += nt) {
            float *Ap = bufA[u], *Bp = bufB[u];
            for (int pc = 0; pc < K; pc += SG_KC) {
                const int kc = K - pc < SG_KC ? K - pc : SG_KC;
                pack_A(0, w, K, 0, M, pc, kc, Ap + mpad * (size_t)pc);
                if (bf16)
                    bf16_panels(Ap + mpad * (size_t)pc, M, kc, MR);
            }
            const int64_t p_begin = npanel * u / nthreads;
            const int64_t p_end = npanel * (u + 1) / nthreads;
            for (int64_t c0 = p_begin; c0 < p_end; c0 += chunk) {
                const int64_t c1 = c0 + chunk < p_end ? c0 + chunk : p_end;
                for (int pc = 0; pc < K; pc += SG_KC) {
                    const int kc = K - pc < SG_KC ? K - pc : SG_KC;
                    const int mode =
                        accumulate ? 0
                                   : (pc == 0 ? T_STORE : 0) |
                                         (pc + kc == K ? T_BIAS : 0);
                    tap tab[SG_KC];
                    taps_of(tab, d, pc, kc);
                    for (int64_t pn = c0; pn < c1; pn++) {
                        const int64_t j0 = pn * NR;
                        const int nc = (int)(L - j0 < NR ? L - j0 : NR);
                        run r[NR];
                        const int nr = panel_runs(r, j0, nc, N, d->Wo);
                        pack_panel(Bp, x, d, r, nr, tab, kc);
                        if (bf16)
                            pcnn_bf16_panel(Bp, kc, NR);
                        for (int ir = 0; ir < M; ir += MR) {
                            __m512 acc[MR][2];
                            kern_any(bf16, kc, Ap + mpad * (size_t)pc +
                                              (size_t)ir * kc,
                                      Bp, acc);
                            tile_out(y, acc, b, ir, M - ir < MR ? M - ir : MR,
                                     r, nr, nc, M, N, d->Wo, mode);
                        }
                    }
                }
            }
        }
    }
    return 0;
}
#endif /* __AVX512F__ */
#endif /* PCNN_F64 */
