/*
 * attack.c -- FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018)
 * in L-infinity on the classifier alone, from its input gradient (the
 * first conv's backward gives dx): the attacker does not know about the
 * purifier (the PixelDefend paper's main setting). Adversarial images are
 * rounded to bytes, as an attacker that hands over an image must.
 */
#include "pixeldefend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* g (B,28,28) = d cross-entropy / d pixel at the float images xf. */
static void input_grad(pcnn_ctx *ctx, cnn *net, const float *xf,
                       const int32_t *y, int64_t B, float *g)
{
    float logits[PD_EVAL_BATCH * CNN_CLASSES], dl[PD_EVAL_BATCH * CNN_CLASSES];
    PD_TRY(cnn_forward(ctx, net, NULL, xf, B, logits));
    cnn_xent(logits, y, B, 1.0f, dl);
    PD_TRY(cnn_backward(ctx, net, B, dl, 0, g));
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static float sgn(float v)
{
    return v > 0 ? 1.0f : v < 0 ? -1.0f : 0.0f;
}

/* One batch: FGSM is one step of size eps from x; PGD starts at a uniform
 * point of the eps-box and takes `steps` steps of 2.5 eps / steps, each
 * projected back onto the box and [0, 255]. */
static void attack_batch(pcnn_ctx *ctx, cnn *net, const uint8_t *x,
                         const int32_t *y, int64_t B, int eps, int steps,
                         uint64_t seed, uint64_t first, uint8_t *adv)
{
    const int64_t n = B * PD_PIXELS;
    float *xf = malloc((size_t)n * sizeof *xf), *g = malloc((size_t)n * 4);
    if (!xf || !g)
        pd_die("out of memory");
    const float e = (float)eps;
    float alpha = steps ? 2.5f * e / (float)steps : e;
    for (int64_t i = 0; i < n; i++) {
        double u = steps ? pcnn_uniform(seed, first * PD_PIXELS + i) : 0.5;
        xf[i] = clampf(x[i] + (float)((2 * u - 1) * e), 0, 255);
    }
    for (int t = 0; t < (steps ? steps : 1); t++) {
        input_grad(ctx, net, xf, y, B, g);
        for (int64_t i = 0; i < n; i++) {
            float v = xf[i] + alpha * sgn(g[i]);
            xf[i] = clampf(clampf(v, x[i] - e, x[i] + e), 0, 255);
        }
    }
    /* the box's corners are integers, so rounding stays inside it */
    for (int64_t i = 0; i < n; i++)
        adv[i] = (uint8_t)lrintf(xf[i]);
    free(xf);
    free(g);
}

void pd_fgsm_pgd(pcnn_ctx *ctx, cnn *net, const uint8_t *x, const int32_t *y,
                 int64_t n, int eps, int steps, uint64_t seed, uint8_t *adv)
{
    for (int64_t s = 0; s < n; s += PD_EVAL_BATCH) {
        int64_t B = n - s < PD_EVAL_BATCH ? n - s : PD_EVAL_BATCH;
        attack_batch(ctx, net, x + s * PD_PIXELS, y + s, B, eps, steps, seed,
                     (uint64_t)s, adv + s * PD_PIXELS);
    }
}
