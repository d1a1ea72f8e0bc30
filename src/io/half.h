/*
 * half.h -- float32 to and from the two 16-bit storage formats of
 * weights-only files (docs/checkpoint.md, "Storage"): IEEE binary16 (F16:
 * 11 significant bits, finite range +-65504, subnormals below 2^-14) and
 * bfloat16 (BF16: float32's top 16 bits, 8 significant bits, float32's
 * range). Both round to nearest, ties to even, as numpy and PyTorch do,
 * so a file converted here and one converted there hold the same bits.
 */
#ifndef PCNN_IO_HALF_H
#define PCNN_IO_HALF_H

#include <stdint.h>

/* F16 nearest to x; values at or beyond 65520 in magnitude become Inf
 * (the caller refuses them first: F16_MAX below). NaN stays NaN. */
uint16_t pcnn_f16_from_f32(float x);
/* The F16 value h as a float32: exact. */
float pcnn_f16_to_f32(uint16_t h);
/* BF16 nearest to x; NaN stays NaN. */
uint16_t pcnn_bf16_from_f32(float x);
/* The BF16 value h as a float32: exact. */
float pcnn_bf16_to_f32(uint16_t h);

/* The largest finite F16. */
#define PCNN_F16_MAX 65504.0f

#endif
