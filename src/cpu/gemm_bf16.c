/* gemm_bf16.c -- bf16 panels and the bf16 micro-kernel: see gemm_bf16.h.
 *
 * vdpbf16ps multiplies pairs of bf16 (exact in fp32) and adds both
 * products into fp32 lanes, so a tile takes kc/2 steps of 2 vector loads
 * of B, 8 broadcasts of A pairs and 16 dot products, against kc steps of
 * 16 FMAs in fp32: half the instructions and half the bytes of packed
 * panels. The sums stay fp32, in k order within each pair.
 *
 * The functions carry a target attribute, so that a build whose -march
 * lacks AVX512_BF16 (an AVX-512 CPU of before 2020) still compiles them;
 * they run only after pcnn_bf16_available said yes (the context refuses
 * bf16 otherwise). Without AVX-512 in the build (NATIVE=0) only the flag
 * and the check are here, and the check says no.
 */
#ifndef PCNN_F64 /* float only */
#include "gemm_bf16.h"

#include <stdint.h>

_Thread_local int pcnn_gemm_bf16;

#ifdef __AVX512F__
#define BF16_TARGET                                                           \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int pcnn_bf16_available(const char **why)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return 1;
    if (why)
        *why = "this CPU lacks AVX512_BF16";
    return 0;
}

/* rows k (a) and k+1 (b) of a 32-wide panel -> 32 lanes of pairs, in two
 * vectors (columns 0..15, 16..31) */
BF16_TARGET static inline void pairs32(__m512i *lo, __m512i *hi,
                                       __m512 a0, __m512 a1, __m512 b0,
                                       __m512 b1)
{
    /* word 2j = row k column j (index j), word 2j+1 = row k+1 (32 + j) */
    const __m512i ilo = _mm512_set_epi16(
        47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7,
        38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i ihi = _mm512_add_epi16(ilo, _mm512_set1_epi16(16));
    const __m512i ra = (__m512i)_mm512_cvtne2ps_pbh(a1, a0);
    const __m512i rb = (__m512i)_mm512_cvtne2ps_pbh(b1, b0);
    *lo = _mm512_permutex2var_epi16(ra, ilo, rb);
    *hi = _mm512_permutex2var_epi16(ra, ihi, rb);
}

BF16_TARGET void pcnn_bf16_panel(float *panel, int kc, int w)
{
    const int np = (kc + 1) / 2;
    if (w == 32) {
        for (int p = 0; p < np; p++) {
            const float *s = panel + (size_t)p * 64;
            const __m512 a0 = _mm512_loadu_ps(s), a1 = _mm512_loadu_ps(s + 16);
            const int odd = 2 * p + 1 < kc;
            const __m512 b0 = odd ? _mm512_loadu_ps(s + 32) : _mm512_setzero_ps();
            const __m512 b1 = odd ? _mm512_loadu_ps(s + 48) : _mm512_setzero_ps();
            __m512i lo, hi;
            pairs32(&lo, &hi, a0, a1, b0, b1);
            _mm512_storeu_si512(panel + (size_t)p * 32, lo);
            _mm512_storeu_si512(panel + (size_t)p * 32 + 16, hi);
        }
        return;
    }
    /* w == 8: rows k and k+1 are 16 consecutive floats */
    const __m512i idx = _mm512_set_epi16(
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 7, 14, 6, 13, 5,
        12, 4, 11, 3, 10, 2, 9, 1, 8, 0);
    for (int p = 0; p < np; p++) {
        const __mmask16 m = 2 * p + 1 < kc ? 0xffff : 0x00ff;
        const __m512 v = _mm512_maskz_loadu_ps(m, panel + (size_t)p * 16);
        const __m512i r =
            (__m512i)_mm512_cvtne2ps_pbh(_mm512_setzero_ps(), v);
        _mm256_storeu_si256((__m256i *)(panel + (size_t)p * 8),
                            _mm512_castsi512_si256(
                                _mm512_permutexvar_epi16(idx, r)));
    }
}

BF16_TARGET void pcnn_bf16_row(float *dst, const float *src, int n)
{
    int k = 0;
    for (; k + 32 <= n; k += 32) {
        const __m512 a = _mm512_loadu_ps(src + k);
        const __m512 b = _mm512_loadu_ps(src + k + 16);
        _mm512_storeu_si512(dst + k / 2, (__m512i)_mm512_cvtne2ps_pbh(b, a));
    }
    if (k < n) {
        const int r = n - k;
        const __mmask16 m0 = r >= 16 ? 0xffff : (__mmask16)((1u << r) - 1);
        const __mmask16 m1 = r <= 16 ? 0 : (__mmask16)((1u << (r - 16)) - 1);
        const __m512 a = _mm512_maskz_loadu_ps(m0, src + k);
        const __m512 b = _mm512_maskz_loadu_ps(m1, src + k + 16);
        const __mmask16 mo = (__mmask16)((1u << ((r + 1) / 2)) - 1);
        _mm512_mask_storeu_epi32(dst + k / 2, mo,
                                 (__m512i)_mm512_cvtne2ps_pbh(b, a));
    }
}

/* acc += A times Bb, pair p of A's row r at A[r * rs + p * ps] */
BF16_TARGET static inline __attribute__((always_inline)) void
kern_strided(int kc, const float *A, size_t rs, size_t ps, const float *Bb,
             __m512 acc[8][2])
{
    __m512 c[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++)
        c[r][0] = acc[r][0], c[r][1] = acc[r][1];
    const int np = (kc + 1) / 2;
#pragma GCC unroll 2
    for (int p = 0; p < np; p++, A += ps, Bb += 32) {
        const __m512bh b0 = (__m512bh)_mm512_load_ps(Bb);
        const __m512bh b1 = (__m512bh)_mm512_load_ps(Bb + 16);
        _mm_prefetch((const char *)(Bb + 8 * 32), _MM_HINT_T0);
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) {
            const __m512bh a = (__m512bh)_mm512_set1_ps(A[r * rs]);
            c[r][0] = _mm512_dpbf16_ps(c[r][0], a, b0);
            c[r][1] = _mm512_dpbf16_ps(c[r][1], a, b1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++)
        acc[r][0] = c[r][0], acc[r][1] = c[r][1];
}

BF16_TARGET void pcnn_bf16_kern_rows(int kc, const float *A2, int ld2,
                                     const float *Bb, __m512 acc[8][2])
{
    kern_strided(kc, A2, (size_t)ld2, 1, Bb, acc);
}

BF16_TARGET void pcnn_bf16_kern(int kc, const float *Ab, const float *Bb,
                                __m512 acc[8][2])
{
    kern_strided(kc, Ab, 1, 8, Bb, acc);
}
#else
int pcnn_bf16_available(const char **why)
{
    if (why)
        *why = "this build has no AVX-512 (built with NATIVE=0)";
    return 0;
}
#endif /* __AVX512F__ */
#endif /* PCNN_F64 */
