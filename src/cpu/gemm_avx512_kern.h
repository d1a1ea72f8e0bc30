/*
 * gemm_avx512_kern.h -- the micro-kernel, the A packing and the row
 * windows shared by our AVX-512 SGEMM (gemm_avx512.c) and the convs
 * (conv_avx512.c, conv_winograd.c). Private to those files.
 *
 * Packed A: Ap[ir/MR][k][MR] (MR-row micro-panels, zero padded).
 * Packed B: Bp[k][NR] per NR-column micro-panel.
 */
#ifndef PCNN_CPU_GEMM_AVX512_KERN_H
#define PCNN_CPU_GEMM_AVX512_KERN_H

#include "gemm_bf16.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#ifndef SG_MR
#define SG_MR 8
#endif
#define SG_NR 32
#ifndef SG_KC
#define SG_KC 192
#endif
#ifndef SG_MC
#define SG_MC 192
#endif
#ifndef SG_NC
#define SG_NC 4096
#endif

#define SG_PRAGMA_(x) _Pragma(#x)
#define SG_PRAGMA(x) SG_PRAGMA_(x)
#ifndef SG_KUNROLL
#define SG_KUNROLL 4
#endif
#ifndef SG_MFUSE
#define SG_MFUSE 384
#endif
/* workers of one call, at most */
#define SG_MAX_THREADS 64

/* The workers a call splits `units` (panels, column blocks) over: the
 * requested count, at most SG_MAX_THREADS and `units`, at least 1; 1
 * without OpenMP. */
static inline int sg_workers(int nthreads, int64_t units)
{
#ifdef _OPENMP
    if (nthreads > SG_MAX_THREADS)
        nthreads = SG_MAX_THREADS;
    if (nthreads > units)
        nthreads = (int)units;
#else
    (void)units;
    nthreads = 1;
#endif
    return nthreads < 1 ? 1 : nthreads;
}

#define MR SG_MR
#define NR SG_NR

/* acc (MR x NR) = Ap (kc x MR, packed) times Bp (kc x NR, packed). */
static inline __attribute__((always_inline)) void
kern_core(int kc, const float *restrict Ap, const float *restrict Bp,
          __m512 acc[MR][2])
{
#pragma GCC unroll 32
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    SG_PRAGMA(GCC unroll SG_KUNROLL)
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(Bp);
        __m512 b1 = _mm512_load_ps(Bp + 16);
        _mm_prefetch((const char *)(Bp + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 32
        for (int r = 0; r < MR; r++) {
            __m512 a = _mm512_set1_ps(Ap[r]);
            acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
        }
        Ap += MR;
        Bp += NR;
    }
}

/* kern_core, or with bf16 (pcnn_gemm_bf16 of the caller) the bf16
 * kernel on panels that went through bf16_panels. The bf16 kernel is an
 * out-of-line call that takes its accumulators by address, so it gets a
 * copy: were acc itself passed, it would be address-taken in the caller
 * and GCC would keep it in memory in the fp32 loop too (a store per FMA). */
static inline __attribute__((always_inline)) void
kern_any(int bf16, int kc, const float *restrict Ap, const float *restrict Bp,
         __m512 acc[MR][2])
{
    if (!bf16) {
        kern_core(kc, Ap, Bp, acc);
        return;
    }
    __m512 t[MR][2];
    for (int r = 0; r < MR; r++)
        t[r][0] = t[r][1] = _mm512_setzero_ps();
    pcnn_bf16_kern(kc, Ap, Bp, t);
#pragma GCC unroll 32
    for (int r = 0; r < MR; r++) {
        acc[r][0] = t[r][0];
        acc[r][1] = t[r][1];
    }
}

/* The packed panels of w (MR or NR) rows or columns each that cover n of
 * them, kc long (Xp + i * kc, i = 0, w, ...), rounded to bf16 in place. */
static inline void bf16_panels(float *Xp, int n, int kc, int w)
{
    for (int i = 0; i < n; i += w)
        pcnn_bf16_panel(Xp + (size_t)i * kc, kc, w);
}

/* A block rows [i0,i0+mc), k [p0,p0+kc) -> Ap[(ir/MR)][k][MR], zero padded.
 * op(A)(i,k) = transA ? A[k*lda+i] : A[i*lda+k] */
static inline void pack_A(int transA, const float *A, int lda, int i0, int mc, int p0, int kc, float *Ap)
{
    for (int ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        float *dst = Ap + (size_t)ir * kc;
        if (transA) {
            const float *src = A + (size_t)p0 * lda + i0 + ir;
            if (mr == MR) {
                for (int k = 0; k < kc; k++) {
                    memcpy(dst + (size_t)k * MR, src + (size_t)k * lda, MR * sizeof(float));
                }
            } else {
                for (int k = 0; k < kc; k++) {
                    int r = 0;
                    for (; r < mr; r++) dst[(size_t)k * MR + r] = src[(size_t)k * lda + r];
                    for (; r < MR; r++) dst[(size_t)k * MR + r] = 0.0f;
                }
            }
        } else {
            const float *src = A + (size_t)(i0 + ir) * lda + p0;
            /* transpose mr x kc -> kc x MR; do 16 k at a time with vector loads */
            int k = 0;
            for (; k + 16 <= kc; k += 16) {
                float tmp[MR][16];
                int r = 0;
                for (; r < mr; r++) _mm512_storeu_ps(tmp[r], _mm512_loadu_ps(src + (size_t)r * lda + k));
                for (; r < MR; r++) _mm512_storeu_ps(tmp[r], _mm512_setzero_ps());
                for (int kk = 0; kk < 16; kk++)
#pragma GCC unroll 16
                    for (int rr = 0; rr < MR; rr++) dst[(size_t)(k + kk) * MR + rr] = tmp[rr][kk];
            }
            for (; k < kc; k++) {
                int r = 0;
                for (; r < mr; r++) dst[(size_t)k * MR + r] = src[(size_t)r * lda + k];
                for (; r < MR; r++) dst[(size_t)k * MR + r] = 0.0f;
            }
        }
    }
}

/* Lanes l of 16 (8) = row[s0 + l] where 0 <= s0 + l < W, else 0; W >= 16
 * (8). Only whole loads inside the row, then a lane permute: a masked load
 * that crosses the row's end is slow (on Zen 5), a plain one is not. */
static inline __m512 window16(const float *row, int64_t W, int64_t s0)
{
    if (s0 >= 0 && s0 + 16 <= W)
        return _mm512_loadu_ps(row + s0);
    const int64_t lo = s0 < 0 ? -s0 : 0, hi = W - s0 < 16 ? W - s0 : 16;
    if (lo >= hi)
        return _mm512_setzero_ps();
    const int64_t base = s0 < 0 ? 0 : W - 16;
    const __m512i idx = _mm512_add_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi32((int)(s0 - base)));
    const __mmask16 m = (__mmask16)(((1u << (hi - lo)) - 1u) << lo);
    return _mm512_maskz_permutexvar_ps(m, idx, _mm512_loadu_ps(row + base));
}

static inline __m256 window8(const float *row, int64_t W, int64_t s0)
{
    if (s0 >= 0 && s0 + 8 <= W)
        return _mm256_loadu_ps(row + s0);
    const int64_t lo = s0 < 0 ? -s0 : 0, hi = W - s0 < 8 ? W - s0 : 8;
    if (lo >= hi)
        return _mm256_setzero_ps();
    const int64_t base = s0 < 0 ? 0 : W - 8;
    const __m256i idx =
        _mm256_add_epi32(_mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0),
                         _mm256_set1_epi32((int)(s0 - base)));
    const __mmask8 m = (__mmask8)(((1u << (hi - lo)) - 1u) << lo);
    return _mm256_maskz_permutexvar_ps(m, idx, _mm256_loadu_ps(row + base));
}

#endif
