/*
 * half.c -- float32 <-> F16 and BF16 by bit manipulation, with rounding
 * to nearest, ties to even (half.h). No hardware conversion instructions:
 * the results are the same on every CPU and build.
 */
#include "half.h"

#include <math.h>
#include <string.h>

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* m >> shift rounded to nearest, ties to even (1 <= shift <= 31) */
static uint32_t shift_rne(uint32_t m, int shift)
{
    const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1),
                   half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1)));
}

uint16_t pcnn_f16_from_f32(float x)
{
    const uint32_t u = bits_of(x), a = u & 0x7FFFFFFFu;
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    if (a > 0x7F800000u) /* NaN: keep it quiet */
        return sign | 0x7E00u;
    if (a >= 0x477FF000u) /* 65520 and beyond round to Inf */
        return sign | 0x7C00u;
    if (a >= 0x38800000u) /* normal in F16: rebias the exponent by 112 */
        return sign | (uint16_t)shift_rne(a - 0x38000000u, 13);
    if (a < 0x33000000u) /* below 2^-25: rounds to zero */
        return sign;
    /* F16 subnormal: k * 2^-24 with k = m * 2^(e - 126), m with its
     * implicit bit; k = 0x400 is the smallest normal, encoded alike */
    const int e = (int)(a >> 23);
    const uint32_t m = (a & 0x7FFFFFu) | 0x800000u;
    return sign | (uint16_t)shift_rne(m, 126 - e);
}

float pcnn_f16_to_f32(uint16_t h)
{
    const int e = (h >> 10) & 0x1F, m = h & 0x3FF;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

uint16_t pcnn_bf16_from_f32(float x)
{
    const uint32_t u = bits_of(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) /* NaN: keep it quiet */
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float pcnn_bf16_to_f32(uint16_t h)
{
    return float_of((uint32_t)h << 16);
}
