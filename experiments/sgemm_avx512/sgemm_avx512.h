/* sgemm_avx512.h -- the experiment's names for the library's AVX-512 SGEMM
 * (src/cpu/gemm_avx512.c, where the fp32 kernel now lives) and for the
 * BF16 variant kept here (sgemm_bf16.c). */
#ifndef SGEMM_AVX512_H
#define SGEMM_AVX512_H
#include "../../src/cpu/gemm_avx512.h"

static inline void sg_sgemm(int transA, int transB, int M, int N, int K,
                            float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C,
                            int ldc, int nthreads)
{
    pcnn_sgemm_avx512(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C,
                      ldc, nthreads);
}
/* BF16 variant: inputs rounded to bf16 (RNE) while packing, fp32 accumulation. */
void sg_sgemm_bf16(int transA, int transB, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta,
                   float *C, int ldc, int nthreads);
#endif
