/*
 * gemm_bf16.h -- bf16 products with fp32 sums for our AVX-512 GEMMs
 * (gemm_bf16.c): the packed panels of gemm_avx512_kern.h turned into bf16
 * pairs, and a micro-kernel on them (vdpbf16ps). Weights and all other
 * values stay fp32; only the GEMMs' inputs are rounded, when packed.
 *
 * A bf16 panel of width w (SG_MR = 8 rows of A, or SG_NR = 32 columns of
 * B) over kc values of k holds, for each pair k = 2p, 2p+1, w 32-bit
 * lanes (bf16 of k in the low half, of k+1 in the high half; k+1 = kc
 * reads zero). It is written in place over the fp32 panel Xp[k][w] it
 * comes from, in its first w * ceil(kc / 2) floats.
 */
#ifndef PCNN_CPU_GEMM_BF16_H
#define PCNN_CPU_GEMM_BF16_H

/* The calling thread's GEMM arithmetic, set from the context of each op
 * (pcnn_ctx_use_threads): 0 fp32, 1 bf16 products with fp32 sums. Read
 * by the GEMM entry points before they start their threads. Between ops
 * it keeps the last op's setting (pcnn_ctx_free resets it): code that
 * calls the kernels directly (the tests) sets it itself. */
extern _Thread_local int pcnn_gemm_bf16;

/* 1 when this build and this CPU run the bf16 kernels (AVX-512 F, BW, VL
 * and AVX512_BF16); else 0 with *why (may be NULL) saying what lacks. */
int pcnn_bf16_available(const char **why);

#ifdef __AVX512F__
#include <immintrin.h>

/* Rounds an fp32 panel Xp[k][w] (w = 8 or 32, kc >= 1) to bf16 pairs in
 * place, to nearest even. */
void pcnn_bf16_panel(float *panel, int kc, int w);

/* n floats of a row -> n bf16 at dst (ceil(n / 2) floats, the last high
 * half zero when n is odd), to nearest even: the pairs k, k+1 of a row of
 * A in the form pcnn_bf16_kern_rows reads. dst may be src. */
void pcnn_bf16_row(float *dst, const float *src, int n);

/* acc (8 x 32) += Ab (a bf16 panel of 8 rows) times Bb (a bf16 panel of
 * 32 columns), both over kc values of k. */
void pcnn_bf16_kern(int kc, const float *Ab, const float *Bb,
                    __m512 acc[8][2]);

/* The same with A as 8 rows made by pcnn_bf16_row, row r at A2 + r * ld2
 * (ld2 in floats, that is pairs). */
void pcnn_bf16_kern_rows(int kc, const float *A2, int ld2, const float *Bb,
                         __m512 acc[8][2]);
#endif

#endif
