/*
 * real.h -- the scalar type of a CPU kernel file.
 *
 * Every kernel file under src/cpu/ is written once with REAL and compiled
 * twice: as float (the library, names ending _f32) and, with -DPCNN_F64,
 * as double (names ending _f64, linked only into the tests so that the
 * finite-difference gradient checks run in double precision).
 * <tgmath.h> makes exp(), log(), tanh() ... pick the float or double
 * version from their argument.
 */
#ifndef PCNN_CPU_REAL_H
#define PCNN_CPU_REAL_H

#include <tgmath.h>
#include <cblas.h>
#include <omp.h>
#include "gemm_avx512.h"

#ifdef PCNN_F64
#define REAL double
#define KFN(name) pcnn_cpu_##name##_f64
#define REAL_GEMM cblas_dgemm
#else
#define REAL float
#define KFN(name) pcnn_cpu_##name##_f32
#define REAL_GEMM cblas_sgemm
#endif

/* C (M,N) = alpha * op(A) op(B) + beta * C, all row-major.
 * op(A) is (M,K): A is (M,K) with lda, or (K,M) when ta. Same for B. */
static inline void real_gemm(int ta, int tb, int m, int n, int k, REAL alpha,
                             const REAL *a, int lda, const REAL *b, int ldb,
                             REAL beta, REAL *c, int ldc)
{
#if !defined(PCNN_F64) && defined(__AVX512F__)
    /* our AVX-512 kernel (gemm_avx512.c); cblas only if it cannot get
     * its buffers */
    if (pcnn_sgemm_avx512(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                          ldc, omp_get_max_threads()) == 0)
        return;
#endif
    REAL_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

#endif
