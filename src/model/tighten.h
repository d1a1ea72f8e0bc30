/*
 * tighten.h -- the rules of the tightened stages (docs/chains.md): which
 * values a subpixel may take given its parent, the half-resolution view
 * (pyramid stages) or the gray4 view (gray stages). The sampler
 * (sample.c) draws within them and the chain code (src/chain/view.c)
 * measures with them; they live with the model so that the chain code
 * depends on the model, never the reverse.
 */
#ifndef PCNN_MODEL_TIGHTEN_H
#define PCNN_MODEL_TIGHTEN_H

#include "pixelcnn.h"

/* Which rule a model's subpixels follow given its condition images (the
 * parent), from its config's views: the half rule when it models
 * half^h(X) given half^(h+1)(X), the gray4 rule when it models half^h(X)
 * given gray4(half^h(X)); none otherwise, or when its head is not the
 * logistic mixture (the only head with interval masses). */
enum { PCNN_TIGHTEN_NONE, PCNN_TIGHTEN_HALF, PCNN_TIGHTEN_GRAY4 };

static inline int pcnn_tighten_rule(const pcnn_model_config *c)
{
    const pcnn_view *v = &c->view, *p = &c->cond_view;
    if (c->head != PCNN_HEAD_DMOL || v->gray4 || v->lab || p->lab)
        return PCNN_TIGHTEN_NONE;
    if (!p->gray4 && p->halvings == v->halvings + 1)
        return PCNN_TIGHTEN_HALF;
    if (p->gray4 && p->halvings == v->halvings)
        return PCNN_TIGHTEN_GRAY4;
    return PCNN_TIGHTEN_NONE;
}

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

/* Floor and ceiling of a / b for b > 0 and any sign of a (C division
 * truncates toward zero). */
static inline int pcnn_floor_div(int a, int b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static inline int pcnn_ceil_div(int a, int b) { return -pcnn_floor_div(-a, b); }

/* The values channel c of a pixel with nch channels can take when its
 * gray4 value is g and its channels before c are earlier[0..c-1]: those
 * for which some values 0..255 of the channels after it give gray4 = g.
 * With three channels gray4 = floor((299 R + 587 G + 114 B) / 16000), so
 * 16000 g <= Y <= 16000 g + 15999 with Y = E + w_c v + T, E the weighted
 * earlier channels and T the weighted later ones. T takes values in
 * [0, M] (M = 255 times the later weights) with gaps of at most 114,
 * narrower than the 16000-wide window, so a completion exists exactly
 * when the window meets [0, M]:
 *     16000 g - E - M <= w_c v <= 16000 g + 15999 - E.
 * Any other channel count takes gray4 from channel 0 alone (v / 16), so
 * channel 0 lies in [16 g, 16 g + 15] and the others are free. [*lo, *hi]
 * within 0..255; empty (lo > hi) only when the earlier channels already
 * broke the rule. */
static inline void pcnn_gray4_channel_range(int g, int c, const int *earlier,
                                            int nch, int *lo, int *hi)
{
    if (nch != 3) {
        *lo = c == 0 ? 16 * g : 0;
        *hi = c == 0 ? 16 * g + 15 : 255;
    } else {
        static const int w[3] = {299, 587, 114};
        int e = 0, m = 0;
        for (int i = 0; i < c; i++)
            e += w[i] * earlier[i];
        for (int i = c + 1; i < 3; i++)
            m += 255 * w[i];
        *lo = pcnn_ceil_div(16000 * g - e - m, w[c]);
        *hi = pcnn_floor_div(16000 * g + 15999 - e, w[c]);
    }
    if (*lo < 0)
        *lo = 0;
    if (*hi > 255)
        *hi = 255;
}

#endif
