/*
 * shuffle.c -- the per-epoch permutation of a training set.
 *
 * Fisher-Yates in Durstenfeld's form (Knuth, TAOCP vol. 2, 3.4.2,
 * Algorithm P): perm starts as the identity; for i = n-1 down to 1, swap
 * perm[i] with perm[j], j uniform in [0, i]. The random words are
 * counter-based (core/rng.h): word k of an epoch is
 *   pcnn_hash64(pcnn_hash64(seed, epoch), k),   k = 0, 1, 2, ...
 * and j comes from the next words by rejection, as OpenBSD's
 * arc4random_uniform does: with r = i + 1 and t = 2^64 mod r, a word
 * x < t is discarded (so that the 2^64 - t words left split into r equal
 * classes) and j = x mod r. Rejection is rare (t / 2^64 < r / 2^64), and
 * the permutation is a pure function of (seed, epoch, n): any epoch can
 * be made again without replaying the earlier ones (resuming training).
 */
#include "dataset.h"
#include "../core/rng.h"

void pcnn_shuffle(uint64_t seed, uint64_t epoch, int64_t n, int64_t *perm)
{
    if (n <= 0 || !perm)
        return;
    const uint64_t key = pcnn_hash64(seed, epoch);
    uint64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        const uint64_t r = (uint64_t)i + 1;
        const uint64_t t = (0 - r) % r; /* 2^64 mod r */
        uint64_t x;
        do
            x = pcnn_hash64(key, k++);
        while (x < t);
        const int64_t j = (int64_t)(x % r);
        const int64_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}
