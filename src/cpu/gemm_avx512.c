/* gemm_avx512.c -- our AVX-512 SGEMM (row-major), Goto/BLIS-style.
 *
 * Used for every float GEMM of the library when the build targets AVX-512
 * (real.h): OpenBLAS is kept on its AVX2 (Haswell) kernels, and this is
 * faster on the conv shapes (experiments/sgemm_avx512/README.md has the
 * benchmark and its figures). Each element of C is summed in the
 * same order whatever the thread count (threads split N), so results do
 * not depend on it.
 *
 *   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C
 *
 * Loop nest (per thread):
 *   jc over N in NC   (B block KC x NC packed -> L2/L3)
 *    pc over K in KC  (beta applied on first pc only)
 *     pack B block into NR-column micro-panels   Bp[jr][k][NR]
 *     ic over M in MC
 *      pack A block into MR-row micro-panels     Ap[ir][k][MR]
 *      jr over NC in NR   (B micro-panel KC x NR stays in L1)
 *       ir over MC in MR  -> microkernel MR x NR (accumulators in zmm)
 *
 * Microkernel: MR rows x NR=32 columns (2 zmm per row), MR*2 accumulators,
 * A element broadcast (vbroadcastss / embedded broadcast), B loaded as vectors.
 * Edge tiles: packing zero-pads to full MR/NR; partial tiles are computed into
 * a local buffer and then merged into C, so no out-of-bounds access.
 *
 * Threading (optional, SGEMM_OMP): the N dimension is split into nthreads
 * contiguous ranges (multiple of NR), each thread has private pack buffers.
 */
#ifndef PCNN_F64 /* float only: the double tests use cblas_dgemm */
#ifdef __AVX512F__
#include "gemm_avx512.h"
#include "gemm_avx512_kern.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---------------------------------------------------------------- kernel */
static void kernel_full(int bf16, int kc, const float *restrict Ap,
                        const float *restrict Bp, float *restrict C, int ldc,
                        float alpha, float beta)
{
    __m512 acc[MR][2];
    kern_any(bf16, kc, Ap, Bp, acc);
    __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.0f) {
#pragma GCC unroll 32
        for (int r = 0; r < MR; r++) {
            _mm512_storeu_ps(C + (size_t)r * ldc, _mm512_mul_ps(va, acc[r][0]));
            _mm512_storeu_ps(C + (size_t)r * ldc + 16, _mm512_mul_ps(va, acc[r][1]));
        }
    } else if (beta == 1.0f) {
#pragma GCC unroll 32
        for (int r = 0; r < MR; r++) {
            float *c = C + (size_t)r * ldc;
            _mm512_storeu_ps(c, _mm512_fmadd_ps(va, acc[r][0], _mm512_loadu_ps(c)));
            _mm512_storeu_ps(c + 16, _mm512_fmadd_ps(va, acc[r][1], _mm512_loadu_ps(c + 16)));
        }
    } else {
        __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 32
        for (int r = 0; r < MR; r++) {
            float *c = C + (size_t)r * ldc;
            _mm512_storeu_ps(c, _mm512_fmadd_ps(va, acc[r][0], _mm512_mul_ps(vb, _mm512_loadu_ps(c))));
            _mm512_storeu_ps(c + 16, _mm512_fmadd_ps(va, acc[r][1], _mm512_mul_ps(vb, _mm512_loadu_ps(c + 16))));
        }
    }
}

/* partial tile: mr <= MR rows, nr <= NR cols valid; masked loads/stores */
static void kernel_edge(int bf16, int kc, const float *restrict Ap,
                        const float *restrict Bp, float *restrict C, int ldc,
                        int mr, int nr, float alpha, float beta)
{
    __m512 acc[MR][2];
    kern_any(bf16, kc, Ap, Bp, acc);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1u);
    for (int r = 0; r < mr; r++) {
        float *c = C + (size_t)r * ldc;
        __m512 v0 = _mm512_mul_ps(va, acc[r][0]), v1 = _mm512_mul_ps(va, acc[r][1]);
        if (beta != 0.0f) {
            v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), v0);
            v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), v1);
        }
        _mm512_mask_storeu_ps(c, m0, v0);
        _mm512_mask_storeu_ps(c + 16, m1, v1);
    }
}

/* ---------------------------------------------------------------- packing */
/* 16x16 in-register transpose: rows r[0..15] -> columns */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i]     = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i]      = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4]  = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8]  = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i]      = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8]  = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4]  = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

/* B block k [p0,p0+kc), cols [j0,j0+nc) -> Bp[jr/NR][k][NR], zero padded.
 * op(B)(k,j) = transB ? B[j*ldb+k] : B[k*ldb+j] */
static void pack_B(int transB, const float *B, int ldb, int p0, int kc, int j0, int nc, float *Bp)
{
    for (int jr = 0; jr < nc; jr += NR) {
        int nr = nc - jr < NR ? nc - jr : NR;
        float *dst = Bp + (size_t)jr * kc;
        if (!transB) {
            const float *src = B + (size_t)p0 * ldb + j0 + jr;
            if (nr == NR) {
                for (int k = 0; k < kc; k++) {
                    const float *s = src + (size_t)k * ldb;
                    _mm512_store_ps(dst + (size_t)k * NR, _mm512_loadu_ps(s));
                    _mm512_store_ps(dst + (size_t)k * NR + 16, _mm512_loadu_ps(s + 16));
                }
            } else {
                __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
                __mmask16 m1 = nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1u);
                for (int k = 0; k < kc; k++) {
                    const float *s = src + (size_t)k * ldb;
                    _mm512_store_ps(dst + (size_t)k * NR, _mm512_maskz_loadu_ps(m0, s));
                    _mm512_store_ps(dst + (size_t)k * NR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
                }
            }
        } else {
            /* src rows = output columns j, contiguous along k */
            const float *src = B + (size_t)(j0 + jr) * ldb + p0;
            int k = 0;
            for (; k + 16 <= kc; k += 16) {
                for (int h = 0; h < 2; h++) {
                    __m512 r[16];
                    for (int c = 0; c < 16; c++) {
                        int j = h * 16 + c;
                        r[c] = j < nr ? _mm512_loadu_ps(src + (size_t)j * ldb + k) : _mm512_setzero_ps();
                    }
                    transpose16(r); /* r[kk] = column kk: values over j */
                    for (int kk = 0; kk < 16; kk++)
                        _mm512_store_ps(dst + (size_t)(k + kk) * NR + h * 16, r[kk]);
                }
            }
            for (; k < kc; k++)
                for (int c = 0; c < NR; c++)
                    dst[(size_t)k * NR + c] = c < nr ? src[(size_t)c * ldb + k] : 0.0f;
        }
    }
}

/* ---------------------------------------------------------------- driver */
static void sgemm_range(int bf16, int transA, int transB, int M, int j_begin, int j_end, int K,
                        float alpha, const float *A, int lda, const float *B, int ldb,
                        float beta, float *C, int ldc, float *Ap, float *Bp)
{
    if (M <= SG_MFUSE) {
        /* small-M path: pack all of op(A) (M x kc, fits L2) once per kc block,
         * then pack each B micro-panel right before it is used by all M/MR
         * microkernels, so packed B never leaves L1/L2. */
        for (int pc = 0; pc < K; pc += SG_KC) {
            int kc = K - pc < SG_KC ? K - pc : SG_KC;
            float b = pc == 0 ? beta : 1.0f;
            pack_A(transA, A, lda, 0, M, pc, kc, Ap);
            if (bf16)
                bf16_panels(Ap, M, kc, MR);
            for (int jr = j_begin; jr < j_end; jr += NR) {
                int nr = j_end - jr < NR ? j_end - jr : NR;
                pack_B(transB, B, ldb, pc, kc, jr, nr, Bp);
                if (bf16)
                    bf16_panels(Bp, nr, kc, NR);
                for (int ir = 0; ir < M; ir += MR) {
                    int mr = M - ir < MR ? M - ir : MR;
                    const float *ap = Ap + (size_t)ir * kc;
                    float *c = C + (size_t)ir * ldc + jr;
                    if (mr == MR && nr == NR)
                        kernel_full(bf16, kc, ap, Bp, c, ldc, alpha, b);
                    else
                        kernel_edge(bf16, kc, ap, Bp, c, ldc, mr, nr, alpha, b);
                }
            }
        }
        return;
    }
    for (int jc = j_begin; jc < j_end; jc += SG_NC) {
        int nc = j_end - jc < SG_NC ? j_end - jc : SG_NC;
        for (int pc = 0; pc < K; pc += SG_KC) {
            int kc = K - pc < SG_KC ? K - pc : SG_KC;
            float b = pc == 0 ? beta : 1.0f;
            pack_B(transB, B, ldb, pc, kc, jc, nc, Bp);
            if (bf16)
                bf16_panels(Bp, nc, kc, NR);
            for (int ic = 0; ic < M; ic += SG_MC) {
                int mc = M - ic < SG_MC ? M - ic : SG_MC;
                pack_A(transA, A, lda, ic, mc, pc, kc, Ap);
                if (bf16)
                    bf16_panels(Ap, mc, kc, MR);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    const float *bp = Bp + (size_t)jr * kc;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        const float *ap = Ap + (size_t)ir * kc;
                        float *c = C + (size_t)(ic + ir) * ldc + jc + jr;
                        if (mr == MR && nr == NR)
                            kernel_full(bf16, kc, ap, bp, c, ldc, alpha, b);
                        else
                            kernel_edge(bf16, kc, ap, bp, c, ldc, mr, nr, alpha, b);
                    }
                }
            }
        }
    }
}

/* Pack buffers, grown on demand and kept (no page faults per call): four
 * per worker (0, 1: the SGEMM's A and B; 2, 3: those of conv_avx512.c or,
 * at other times, conv_winograd.c), owned by
 * the calling thread, so concurrent callers on other threads (each with
 * its own context) never share them. All are allocated before any C is
 * written, so a failed allocation changes nothing. */
static _Thread_local float *tl_buf[SG_MAX_THREADS][4];
static _Thread_local size_t tl_cap[SG_MAX_THREADS][4];

/* A thread that ends frees its buffers: a key whose destructor runs at
 * the exit of every thread that set it (a caller's own threads, such as
 * the ranks of tests/test_dist.c, would leak them otherwise). */
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void tl_free(void *unused)
{
    (void)unused;
    for (int t = 0; t < SG_MAX_THREADS; t++)
        for (int w = 0; w < 4; w++) {
            free(tl_buf[t][w]);
            tl_buf[t][w] = NULL, tl_cap[t][w] = 0;
        }
}

static void tl_key_create(void) { pthread_key_create(&tl_key, tl_free); }

float *pcnn_sgemm_buf(int t, int which, size_t nfloats)
{
    size_t bytes = (nfloats * sizeof(float) + 63) / 64 * 64;
    if (tl_cap[t][which] < bytes) {
        pthread_once(&tl_once, tl_key_create);
        pthread_setspecific(tl_key, tl_buf);
        free(tl_buf[t][which]);
        tl_buf[t][which] = aligned_alloc(64, bytes);
        tl_cap[t][which] = tl_buf[t][which] ? bytes : 0;
    }
    return tl_buf[t][which];
}

static void scale_C(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

int pcnn_sgemm_avx512(int transA, int transB, int M, int N, int K,
                      float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc, int nthreads)
{
    if (M <= 0 || N <= 0)
        return 0;
    if (K <= 0 || alpha == 0.0f) {
        if (beta != 1.0f)
            scale_C(M, N, beta, C, ldc);
        return 0;
    }
    size_t mc_pad =
        ((size_t)(M <= SG_MFUSE ? M : SG_MC < M ? SG_MC : M) + MR - 1) / MR *
        MR;
    size_t kc_max = (size_t)(SG_KC < K ? SG_KC : K);
    int nblk = (N + NR - 1) / NR;
    nthreads = sg_workers(nthreads, nblk);
    /* thread t computes columns [j0(t), j1(t)), whole NR blocks */
    int per = (nblk + nthreads - 1) / nthreads * NR;
    int ncl = per < SG_NC ? per : SG_NC;
    size_t nc_pad = ((size_t)ncl + NR - 1) / NR * NR;
    /* the caller's thread-local buffers, handed to the workers (whose own
     * thread-local copies are other, empty arrays) */
    const int bf16 = pcnn_gemm_bf16;
    float *bufA[SG_MAX_THREADS], *bufB[SG_MAX_THREADS];
    for (int t = 0; t < nthreads; t++) {
        bufA[t] = pcnn_sgemm_buf(t, 0, mc_pad * kc_max);
        bufB[t] = pcnn_sgemm_buf(t, 1, nc_pad * kc_max);
        if (!bufA[t] || !bufB[t])
            return -1;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
#endif
    {
#ifdef _OPENMP
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        int t = 0, nt = 1;
#endif
        /* range u of nthreads, whatever number of threads OpenMP gave */
        for (int u = t; u < nthreads; u += nt) {
            int b0 = (int)((long)nblk * u / nthreads);
            int b1 = (int)((long)nblk * (u + 1) / nthreads);
            int j0 = b0 * NR, j1 = b1 * NR < N ? b1 * NR : N;
            if (j0 < j1)
                sgemm_range(bf16, transA, transB, M, j0, j1, K, alpha, A, lda, B,
                            ldb, beta, C, ldc, bufA[u], bufB[u]);
        }
    }
    return 0;
}
#endif /* __AVX512F__ */
#endif /* PCNN_F64 */
