/*
 * tighten.h -- the rule of the tightened pyramid stages (docs/chains.md):
 * which values a half-resolution stage's subpixel may take given its
 * parent. The sampler (sample.c) draws within it and the chain code
 * (src/chain/view.c: pcnn_half_bounds) measures with it; it lives with
 * the model so that the chain code depends on the model, never the
 * reverse.
 */
#ifndef PCNN_MODEL_TIGHTEN_H
#define PCNN_MODEL_TIGHTEN_H

/* The values child k (0..3, raster order in its 2x2 block) of parent p
 * can take when the children before it sum to `before`: their sum S has
 * (S + 2) / 4 = p, i.e. 4p - 2 <= S <= 4p + 1, and each of the 3 - k
 * children after it adds 0..255. [*lo, *hi]; empty (lo > hi) only when the
 * earlier children already broke the rule. */
static inline void pcnn_half_child_range(int p, int before, int k, int *lo,
                                         int *hi)
{
    const int a = 4 * p - 2 - before - 255 * (3 - k), z = 4 * p + 1 - before;
    *lo = a < 0 ? 0 : a;
    *hi = z > 255 ? 255 : z;
}

#endif
