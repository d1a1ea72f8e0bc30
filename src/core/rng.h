/*
 * rng.h -- the counter-based random numbers of the library.
 *
 * A draw is a pure function of (seed, index): no state, so any thread can
 * draw any element and results do not depend on the thread count, and a
 * backward pass can recompute the draws of its forward pass (dropout).
 * The mixer is SplitMix64's finalizer (Steele, Lea & Flood 2014), applied
 * to the index and again to the seed xor that hash.
 */
#ifndef PCNN_CORE_RNG_H
#define PCNN_CORE_RNG_H

#include <stdint.h>

static inline uint64_t pcnn_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t pcnn_hash64(uint64_t seed, uint64_t index)
{
    return pcnn_mix64(seed ^ pcnn_mix64(index + 0x9e3779b97f4a7c15ULL));
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double pcnn_u01(uint64_t seed, uint64_t index)
{
    return (double)(pcnn_hash64(seed, index) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1): never 0 or 1, safe for log(u) and logit(u). */
static inline double pcnn_u01_open(uint64_t seed, uint64_t index)
{
    return ((double)(pcnn_hash64(seed, index) >> 11) + 0.5) * 0x1.0p-53;
}

#endif
