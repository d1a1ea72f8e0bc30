/* BF16 variant of sgemm_avx512.c: same blocking/loop nest, but A and B are
 * rounded to bf16 (round-to-nearest-even, vcvtne2ps2bf16) while packing and the
 * microkernel uses vdpbf16ps (AVX512_BF16): acc[j] += a[2k]*b[2k] + a[2k+1]*b[2k+1]
 * with fp32 accumulation.  Layout per k-pair p = k/2:
 *   Ap[p][r]   = uint32 {bf16 A(r,2p), bf16 A(r,2p+1)}      (MR x 32-bit)
 *   Bp[p][j]   = uint32 {bf16 B(2p,j), bf16 B(2p+1,j)}      (NR x 32-bit = 2 zmm)
 * Odd kc is padded with a zero k.  Requires -mavx512bf16 (Zen 4/5, SPR+). */
#include "sgemm_avx512.h"
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef SGB_MR
#define SGB_MR 8
#endif
#define NRB 32
#ifndef SGB_KC
#define SGB_KC 384 /* must be even */
#endif
#ifndef SGB_MC
#define SGB_MC 192
#endif
#ifndef SGB_NC
#define SGB_NC 4096
#endif
#ifndef SGB_MFUSE
#define SGB_MFUSE 384
#endif
#define MRB SGB_MR

static inline uint16_t f2bf(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* -------------------------------------------------------------- kernel */
static inline __attribute__((always_inline)) void
kernb_core(int kp, const uint32_t *restrict Ap, const uint32_t *restrict Bp, __m512 acc[MRB][2])
{
#pragma GCC unroll 32
    for (int r = 0; r < MRB; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
#pragma GCC unroll 2
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)Bp);
        __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(Bp + 16));
#pragma GCC unroll 32
        for (int r = 0; r < MRB; r++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
        }
        Ap += MRB;
        Bp += NRB;
    }
}

static void kernb(int kp, const uint32_t *Ap, const uint32_t *Bp, float *C, int ldc,
                  int mr, int nr, float alpha, float beta)
{
    __m512 acc[MRB][2];
    kernb_core(kp, Ap, Bp, acc);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1u);
    if (mr == MRB && nr == NRB) {
#pragma GCC unroll 32
        for (int r = 0; r < MRB; r++) {
            float *c = C + (size_t)r * ldc;
            __m512 v0 = _mm512_mul_ps(va, acc[r][0]), v1 = _mm512_mul_ps(va, acc[r][1]);
            if (beta != 0.0f) {
                v0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c), v0);
                v1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16), v1);
            }
            _mm512_storeu_ps(c, v0);
            _mm512_storeu_ps(c + 16, v1);
        }
        return;
    }
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

/* -------------------------------------------------------------- packing */
static inline uint32_t pairbf(float lo, float hi) { return (uint32_t)f2bf(lo) | ((uint32_t)f2bf(hi) << 16); }

/* A: scalar (A is small relative to the work: packed once per kc block) */
static void packb_A(int transA, const float *A, int lda, int i0, int mc, int p0, int kc, uint32_t *Ap)
{
    int kp = (kc + 1) / 2;
    for (int ir = 0; ir < mc; ir += MRB) {
        int mr = mc - ir < MRB ? mc - ir : MRB;
        uint32_t *dst = Ap + (size_t)ir * kp;
        for (int p = 0; p < kp; p++) {
            int k = p0 + 2 * p;
            int has2 = 2 * p + 1 < kc;
            for (int r = 0; r < MRB; r++) {
                float lo = 0.0f, hi = 0.0f;
                if (r < mr) {
                    int i = i0 + ir + r;
                    if (transA) { lo = A[(size_t)k * lda + i]; if (has2) hi = A[(size_t)(k + 1) * lda + i]; }
                    else { lo = A[(size_t)i * lda + k]; if (has2) hi = A[(size_t)i * lda + k + 1]; }
                }
                dst[(size_t)p * MRB + r] = pairbf(lo, hi);
            }
        }
    }
}

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

static void packb_B(int transB, const float *B, int ldb, int p0, int kc, int j0, int nc, uint32_t *Bp)
{
    int kp = (kc + 1) / 2;
    /* interleave index: out[2c] = x0[c], out[2c+1] = x1[c]; cvtne2ps gives [x0(0..15), x1(0..15)] */
    const __m512i ilv = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int jr = 0; jr < nc; jr += NRB) {
        int nr = nc - jr < NRB ? nc - jr : NRB;
        uint32_t *dst = Bp + (size_t)jr * kp;
        int j = j0 + jr;
        if (!transB && nr == NRB) {
            int p = 0;
            for (; 2 * p + 1 < kc; p++) {
                const float *s0 = B + (size_t)(p0 + 2 * p) * ldb + j, *s1 = s0 + ldb;
                for (int h = 0; h < 2; h++) {
                    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s1 + 16 * h), _mm512_loadu_ps(s0 + 16 * h));
                    _mm512_store_si512((void *)(dst + (size_t)p * NRB + 16 * h),
                                       _mm512_permutexvar_epi16(ilv, (__m512i)v));
                }
            }
            if (p < kp) { /* odd tail */
                const float *s0 = B + (size_t)(p0 + 2 * p) * ldb + j;
                for (int h = 0; h < 2; h++) {
                    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_setzero_ps(), _mm512_loadu_ps(s0 + 16 * h));
                    _mm512_store_si512((void *)(dst + (size_t)p * NRB + 16 * h),
                                       _mm512_permutexvar_epi16(ilv, (__m512i)v));
                }
            }
        } else if (transB && nr == NRB) {
            /* row j of B^T is contiguous in k: 32 floats -> 16 pairs (uint32) */
            int p = 0;
            for (; 2 * p + 32 <= kc; p += 16) {
                for (int h = 0; h < 2; h++) {
                    __m512 rows[16];
                    for (int c = 0; c < 16; c++) {
                        const float *s = B + (size_t)(j + 16 * h + c) * ldb + p0 + 2 * p;
                        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + 16), _mm512_loadu_ps(s));
                        rows[c] = _mm512_castsi512_ps((__m512i)v); /* pairs already adjacent */
                    }
                    transpose16(rows);
                    for (int q = 0; q < 16; q++)
                        _mm512_store_ps((float *)(dst + (size_t)(p + q) * NRB + 16 * h), rows[q]);
                }
            }
            for (; p < kp; p++) {
                int k = p0 + 2 * p, has2 = 2 * p + 1 < kc;
                for (int c = 0; c < NRB; c++) {
                    const float *s = B + (size_t)(j + c) * ldb + k;
                    dst[(size_t)p * NRB + c] = pairbf(s[0], has2 ? s[1] : 0.0f);
                }
            }
        } else {
            for (int p = 0; p < kp; p++) {
                int k = p0 + 2 * p, has2 = 2 * p + 1 < kc;
                for (int c = 0; c < NRB; c++) {
                    float lo = 0.0f, hi = 0.0f;
                    if (c < nr) {
                        if (transB) { lo = B[(size_t)(j + c) * ldb + k]; if (has2) hi = B[(size_t)(j + c) * ldb + k + 1]; }
                        else { lo = B[(size_t)k * ldb + j + c]; if (has2) hi = B[(size_t)(k + 1) * ldb + j + c]; }
                    }
                    dst[(size_t)p * NRB + c] = pairbf(lo, hi);
                }
            }
        }
    }
}

/* -------------------------------------------------------------- driver */
static void range_bf16(int transA, int transB, int M, int j_begin, int j_end, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc,
                       uint32_t *Ap, uint32_t *Bp)
{
    if (M <= SGB_MFUSE) {
        for (int pc = 0; pc < K; pc += SGB_KC) {
            int kc = K - pc < SGB_KC ? K - pc : SGB_KC, kp = (kc + 1) / 2;
            float b = pc == 0 ? beta : 1.0f;
            packb_A(transA, A, lda, 0, M, pc, kc, Ap);
            for (int jr = j_begin; jr < j_end; jr += NRB) {
                int nr = j_end - jr < NRB ? j_end - jr : NRB;
                packb_B(transB, B, ldb, pc, kc, jr, nr, Bp);
                for (int ir = 0; ir < M; ir += MRB) {
                    int mr = M - ir < MRB ? M - ir : MRB;
                    kernb(kp, Ap + (size_t)ir * kp, Bp, C + (size_t)ir * ldc + jr, ldc, mr, nr, alpha, b);
                }
            }
        }
        return;
    }
    for (int jc = j_begin; jc < j_end; jc += SGB_NC) {
        int nc = j_end - jc < SGB_NC ? j_end - jc : SGB_NC;
        for (int pc = 0; pc < K; pc += SGB_KC) {
            int kc = K - pc < SGB_KC ? K - pc : SGB_KC, kp = (kc + 1) / 2;
            float b = pc == 0 ? beta : 1.0f;
            packb_B(transB, B, ldb, pc, kc, jc, nc, Bp);
            for (int ic = 0; ic < M; ic += SGB_MC) {
                int mc = M - ic < SGB_MC ? M - ic : SGB_MC;
                packb_A(transA, A, lda, ic, mc, pc, kc, Ap);
                for (int jr = 0; jr < nc; jr += NRB) {
                    int nr = nc - jr < NRB ? nc - jr : NRB;
                    for (int ir = 0; ir < mc; ir += MRB) {
                        int mr = mc - ir < MRB ? mc - ir : MRB;
                        kernb(kp, Ap + (size_t)ir * kp, Bp + (size_t)jr * kp,
                              C + (size_t)(ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, b);
                    }
                }
            }
        }
    }
}

static _Thread_local uint32_t *tlb_buf[2];
static _Thread_local size_t tlb_cap[2];
static uint32_t *getb(int w, size_t n)
{
    size_t bytes = (n * 4 + 63) / 64 * 64;
    if (tlb_cap[w] < bytes) {
        free(tlb_buf[w]);
        tlb_buf[w] = aligned_alloc(64, bytes);
        tlb_cap[w] = tlb_buf[w] ? bytes : 0;
    }
    return tlb_buf[w];
}

void sg_sgemm_bf16(int transA, int transB, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta,
                   float *C, int ldc, int nthreads)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) { /* defer to fp32 path for trivial cases */
        sg_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 1);
        return;
    }
    size_t mc_pad = ((size_t)(M <= SGB_MFUSE ? M : SGB_MC < M ? SGB_MC : M) + MRB - 1) / MRB * MRB;
    size_t kp_max = ((size_t)(SGB_KC < K ? SGB_KC : K) + 1) / 2;
    int nblk = (N + NRB - 1) / NRB;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > nblk) nthreads = nblk;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
#endif
    {
#ifdef _OPENMP
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        int t = 0, nt = 1;
#endif
        int b0 = (int)((long)nblk * t / nt), b1 = (int)((long)nblk * (t + 1) / nt);
        int j0 = b0 * NRB, j1 = b1 * NRB < N ? b1 * NRB : N;
        if (j0 < j1) {
            int ncl = j1 - j0 < SGB_NC ? j1 - j0 : SGB_NC;
            size_t nc_pad = ((size_t)ncl + NRB - 1) / NRB * NRB;
            uint32_t *Ap = getb(0, mc_pad * kp_max), *Bp = getb(1, nc_pad * kp_max);
            range_bf16(transA, transB, M, j0, j1, K, alpha, A, lda, B, ldb, beta, C, ldc, Ap, Bp);
        }
    }
}
