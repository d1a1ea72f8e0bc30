#ifndef SGEMM_AVX512_H
#define SGEMM_AVX512_H
/* Row-major C[M,N] = alpha*op(A)*op(B) + beta*C.  transA/transB: 0 or 1.
 * op(A) is MxK: A[i*lda+k] (transA=0) or A[k*lda+i] (transA=1).
 * op(B) is KxN: B[k*ldb+j] (transB=0) or B[j*ldb+k] (transB=1).
 * nthreads: >1 uses OpenMP over N (only if compiled with -fopenmp). */
void sg_sgemm(int transA, int transB, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc, int nthreads);
/* BF16 variant: inputs rounded to bf16 (RNE) while packing, fp32 accumulation. */
void sg_sgemm_bf16(int transA, int transB, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta,
                   float *C, int ldc, int nthreads);
#endif
