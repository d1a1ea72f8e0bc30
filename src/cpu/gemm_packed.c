/* gemm_packed.c -- GEMM against pre-packed weights: see gemm_packed.h.
 *
 * A tile is 8 rows of A times one 32-column panel: 16 AVX-512
 * accumulators, started at the bias, then for each k two vector loads of
 * the panel and 8 broadcasts of A. Tiles run panel-major, so the 8-row
 * blocks that share a panel follow each other on a thread and find it in
 * L2. Each C element is one sum in k order: results do not depend on the
 * thread count. Without AVX-512 the same loops run in plain C.
 */
#ifndef PCNN_F64 /* float only */
#include "gemm_packed.h"
#include "gemm_bf16.h"

#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#define NR PCNN_PACK_NR
#define MR PCNN_PACK_MR

size_t pcnn_packed_floats(int K, int N)
{
    return (size_t)((N + NR - 1) / NR) * NR * (size_t)K;
}

void pcnn_pack_weights(float *wp, const float *wt, int ldw, int K, int N)
{
    const int np = (N + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        const int j0 = p * NR, nc = N - j0 < NR ? N - j0 : NR;
        float *dst = wp + (size_t)p * NR * K;
        for (int k = 0; k < K; k++, dst += NR) {
            memcpy(dst, wt + (size_t)k * ldw + j0, (size_t)nc * sizeof *dst);
            memset(dst + nc, 0, (size_t)(NR - nc) * sizeof *dst);
        }
    }
}

void pcnn_pack_weights_bf16(float *wp, int K, int N)
{
#ifdef __AVX512F__
    for (int p = 0; p < (N + NR - 1) / NR; p++)
        pcnn_bf16_panel(wp + (size_t)p * NR * K, K, NR);
#else
    (void)wp, (void)K, (void)N;
#endif
}

#ifdef __AVX512F__
/* k values of the 8 rows of A at a time, as bf16 rows on the stack */
#define KB 512

/* tile() in bf16: the 8 rows of A rounded to bf16 KB columns at a time,
 * the products summed in fp32 from zero, then the bias added. */
static void tile_bf16(float *C, int ldc, const float *A, int lda, int mr,
                      const float *panel, const float *bias, int K, int nc)
{
    const __mmask16 m0 = nc >= 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
    const __mmask16 m1 = nc >= 32   ? 0xffff
                         : nc <= 16 ? 0
                                    : (__mmask16)((1u << (nc - 16)) - 1);
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    float a2[MR][KB / 2];
    for (int k0 = 0; k0 < K; k0 += KB) {
        const int kb = K - k0 < KB ? K - k0 : KB;
        for (int r = 0; r < MR; r++)
            pcnn_bf16_row(a2[r], A + (size_t)r * lda + k0, kb);
        pcnn_bf16_kern_rows(kb, a2[0], KB / 2, panel + (size_t)k0 / 2 * NR,
                            acc);
    }
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    if (bias) {
        b0 = _mm512_maskz_loadu_ps(m0, bias);
        b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(C + (size_t)r * ldc, m0,
                              _mm512_add_ps(acc[r][0], b0));
        _mm512_mask_storeu_ps(C + (size_t)r * ldc + 16, m1,
                              _mm512_add_ps(acc[r][1], b1));
    }
}
#endif

/* One tile: rows [0, mr) of A (8 read), columns [0, nc) of a panel. */
static void tile(float *C, int ldc, const float *A, int lda, int mr,
                 const float *panel, const float *bias, int K, int nc,
                 int bf16)
{
#ifdef __AVX512F__
    if (bf16) {
        tile_bf16(C, ldc, A, lda, mr, panel, bias, K, nc);
        return;
    }
    const __mmask16 m0 = nc >= 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
    const __mmask16 m1 = nc >= 32   ? 0xffff
                         : nc <= 16 ? 0
                                    : (__mmask16)((1u << (nc - 16)) - 1);
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    if (bias) {
        b0 = _mm512_maskz_loadu_ps(m0, bias);
        b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    __m512 c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1;
    __m512 c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1;
    __m512 c60 = b0, c61 = b1, c70 = b0, c71 = b1;
    const float *a0 = A, *a1 = A + lda, *a2 = A + 2 * (size_t)lda;
    const float *a3 = A + 3 * (size_t)lda, *a4 = A + 4 * (size_t)lda;
    const float *a5 = A + 5 * (size_t)lda, *a6 = A + 6 * (size_t)lda;
    const float *a7 = A + 7 * (size_t)lda;
    for (int k = 0; k < K; k++) {
        const __m512 w0 = _mm512_load_ps(panel + (size_t)k * NR);
        const __m512 w1 = _mm512_load_ps(panel + (size_t)k * NR + 16);
        __m512 a;
#define ROW(r)                                                                \
    a = _mm512_set1_ps(a##r[k]);                                              \
    c##r##0 = _mm512_fmadd_ps(a, w0, c##r##0);                                \
    c##r##1 = _mm512_fmadd_ps(a, w1, c##r##1);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
    }
    const __m512 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                               {c30, c31}, {c40, c41}, {c50, c51},
                               {c60, c61}, {c70, c71}};
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(C + (size_t)r * ldc, m0, acc[r][0]);
        _mm512_mask_storeu_ps(C + (size_t)r * ldc + 16, m1, acc[r][1]);
    }
#else
    (void)bf16;
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nc; j++) {
            float s = bias ? bias[j] : 0.0f;
            for (int k = 0; k < K; k++)
                s += A[(size_t)r * lda + k] * panel[(size_t)k * NR + j];
            C[(size_t)r * ldc + j] = s;
        }
#endif
}

void pcnn_gemm_packed_tiles(float *C, int ldc, const float *A, int lda,
                            int M, const float *wp, const float *bias, int K,
                            int N, long t0, long t1, int bf16)
{
    const int nb = (M + MR - 1) / MR;
    for (long t = t0; t < t1; t++) {
        const int p = (int)(t / nb), rb = (int)(t % nb);
        const int j0 = p * NR, nc = N - j0 < NR ? N - j0 : NR;
        const int i0 = rb * MR, mr = M - i0 < MR ? M - i0 : MR;
        tile(C + (size_t)i0 * ldc + j0, ldc, A + (size_t)i0 * lda, lda, mr,
             wp + (size_t)p * NR * K, bias ? bias + j0 : NULL, K, nc, bf16);
    }
}

void pcnn_gemm_packed(float *C, int ldc, const float *A, int lda, int M,
                      const float *wp, const float *bias, int K, int N,
                      int threads, int bf16)
{
    const int np = (N + NR - 1) / NR, nb = (M + MR - 1) / MR;
    const long ntiles = (long)np * nb;
    const double work = (double)M * N * K;
    (void)threads;
#pragma omp parallel for schedule(static) num_threads(threads)               \
    if (threads > 1 && ntiles > 1 && work > 1e5)
    for (long t = 0; t < ntiles; t++) {
        const int p = (int)(t / nb), rb = (int)(t % nb);
        const int j0 = p * NR, nc = N - j0 < NR ? N - j0 : NR;
        const int i0 = rb * MR, mr = M - i0 < MR ? M - i0 : MR;
        tile(C + (size_t)i0 * ldc + j0, ldc, A + (size_t)i0 * lda, lda, mr,
             wp + (size_t)p * NR * K, bias ? bias + j0 : NULL, K, nc, bf16);
    }
}
#endif
