/*
 * gemm_packed.h -- a GEMM against weights packed once, for many small
 * products with the same weights (the cached sampler: a few rows per step,
 * thousands of steps).
 *
 *   C[i, j] = bias[j] + sum_k A[i*lda + k] * W[k, j],  i < M, j < N
 *
 * W (K, N) is packed by pcnn_pack_weights into panels of 32 columns,
 * zero-padded; pcnn_packed_floats gives its size. A is read in blocks of 8
 * rows: rows M .. roundup(M, 8)-1 must be readable (their values do not
 * matter and are never written anywhere).
 */
#ifndef PCNN_CPU_GEMM_PACKED_H
#define PCNN_CPU_GEMM_PACKED_H

#include <stddef.h>

#define PCNN_PACK_NR 32
#define PCNN_PACK_MR 8

size_t pcnn_packed_floats(int K, int N);
/* wt: W row-major (K, N), row stride ldw; wp: 64-byte aligned. */
void pcnn_pack_weights(float *wp, const float *wt, int ldw, int K, int N);
/* Rounds packed weights to bf16 in place (gemm_bf16.h), for the bf16
 * form of the product (bf16 = 1 below, where only that form may be
 * passed): A is rounded to bf16 too, the sums stay fp32. Only when
 * pcnn_bf16_available. */
void pcnn_pack_weights_bf16(float *wp, int K, int N);
/* bias may be NULL; threads > 1 splits the tiles over OpenMP threads. */
void pcnn_gemm_packed(float *C, int ldc, const float *A, int lda, int M,
                      const float *wp, const float *bias, int K, int N,
                      int threads, int bf16);

/* Only the tiles t0 <= t < t1 of the product, on this thread. Tile t
 * covers rows MR * (t % nb) .. +MR and columns NR * (t / nb) .. +NR
 * (clipped to M and N), nb = ceil(M / MR); there are nb * ceil(N / NR). */
void pcnn_gemm_packed_tiles(float *C, int ldc, const float *A, int lda,
                            int M, const float *wp, const float *bias, int K,
                            int N, long t0, long t1, int bf16);

#endif
