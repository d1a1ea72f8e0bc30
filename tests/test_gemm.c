/*
 * test_gemm.c -- the library's AVX-512 SGEMM (src/cpu/gemm_avx512.c)
 * against cblas_sgemm: odd shapes with edge tiles, all transposes, beta 0,
 * 1 and 0.5, leading dimensions wider than the matrices; and bitwise the
 * same results on 1, 2 and 3 threads.
 */
#include "test.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __AVX512F__
#include "gemm_avx512.h"

static void check_shape(int ta, int tb, int M, int N, int K, float beta)
{
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
    size_t na = (size_t)lda * (ta ? K : M), nb = (size_t)ldb * (tb ? N : K);
    size_t nc = (size_t)ldc * M;
    float *a = xcalloc(na, 4), *b = xcalloc(nb, 4), *c0 = xcalloc(nc, 4);
    float *ref = xcalloc(nc, 4), *c[3];
    fill_uniform_f32(a, na, 71, -1, 1);
    fill_uniform_f32(b, nb, 72, -1, 1);
    fill_uniform_f32(c0, nc, 73, -1, 1);
    memcpy(ref, c0, nc * 4);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, M, N, K, 1.5f, a, lda, b, ldb,
                beta, ref, ldc);
    for (int t = 0; t < 3; t++) {
        c[t] = xcalloc(nc, 4);
        memcpy(c[t], c0, nc * 4);
        REQUIRE(pcnn_sgemm_avx512(ta, tb, M, N, K, 1.5f, a, lda, b, ldb, beta,
                                  c[t], ldc, t + 1) == 0,
                "no buffers");
    }
    char what[96];
    snprintf(what, sizeof what, "C (ta %d tb %d, %dx%dx%d, beta %g)", ta, tb,
             M, N, K, (double)beta);
    /* sums of K products of size ~1: float rounding ~ sqrt(K) 6e-8 */
    CHECK_CLOSE(what, c[0], ref, nc, 1e-5 * sqrt((double)K), 1e-5);
    CHECK(memcmp(c[0], c[1], nc * 4) == 0 && memcmp(c[0], c[2], nc * 4) == 0,
          "%s: 1, 2 and 3 threads differ", what);
    free(a), free(b), free(c0), free(ref);
    for (int t = 0; t < 3; t++)
        free(c[t]);
}

TEST(gemm_avx512_matches_cblas)
{
    static const int shapes[][3] = {{1, 1, 1},    {7, 33, 5},
                                    {157, 1013, 301}, {64, 4096, 384},
                                    {320, 100, 1920}, {9, 17, 500}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int *d = shapes[s];
                check_shape(ta, tb, d[0], d[1], d[2], s % 3 == 0   ? 0.0f
                                                      : s % 3 == 1 ? 1.0f
                                                                   : 0.5f);
            }
}
#else
TEST(gemm_avx512_matches_cblas)
{
    printf("    skipped: built without AVX-512 (cblas_sgemm is used)\n");
}
#endif
