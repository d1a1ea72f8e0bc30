/*
 * gemm_avx512.h -- the library's own AVX-512 SGEMM (gemm_avx512.c).
 *
 * Row-major C (M,N) = alpha op(A) op(B) + beta C; op(A) is (M,K): A[i*lda+k]
 * (transA 0) or A[k*lda+i] (transA 1); op(B) is (K,N): B[k*ldb+j] (transB
 * 0) or B[j*ldb+k] (transB 1). beta = 0: C is not read. nthreads > 1 splits
 * N over OpenMP threads. Returns 0, or -1 when its packing buffers cannot
 * be allocated (nothing was written to C then; use cblas instead).
 */
#ifndef PCNN_CPU_GEMM_AVX512_H
#define PCNN_CPU_GEMM_AVX512_H

#include <stddef.h>

int pcnn_sgemm_avx512(int transA, int transB, int M, int N, int K,
                      float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc, int nthreads);

/* Worker t's pack buffer `which` (0..3), at least nfloats, 64-byte
 * aligned, kept for the calling thread's next calls; NULL when out of
 * memory. */
float *pcnn_sgemm_buf(int t, int which, size_t nfloats);

#endif
