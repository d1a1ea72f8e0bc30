/*
 * attack.c -- FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018)
 * in L-infinity on the classifier alone, from its input gradient (the
 * first conv's backward gives dx): the attacker does not know about the
 * purifier (the PixelDefend paper's main setting). Adversarial images are
 * rounded to bytes, as an attacker that hands over an image must.
 * The adaptive variant (BPDA, Athalye et al. 2018) takes each PGD step's
 * gradient at the purified image, as if purification were the identity
 * in the backward pass.
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

/* The point the gradient is taken at: xf itself, or (BPDA) xf rounded
 * and purified, into pf; returns it. */
static const float *grad_point(pcnn_ctx *ctx, const pd_attack_opts *o,
                               const float *xf, int64_t B, uint8_t *buf,
                               float *pf)
{
    if (!o->through)
        return xf;
    for (int64_t i = 0; i < B * PD_PIXELS; i++)
        buf[i] = (uint8_t)lrintf(xf[i]);
    pd_purify(ctx, o->through, buf, B, o->defend_eps, 0);
    for (int64_t i = 0; i < B * PD_PIXELS; i++)
        pf[i] = buf[i];
    return pf;
}

/* One batch: FGSM is one step of size eps from x; PGD starts at a uniform
 * point of the eps-box and takes `steps` steps of 2.5 eps / steps, each
 * projected back onto the box and [0, 255]. */
static void attack_batch(pcnn_ctx *ctx, cnn *net, const uint8_t *x,
                         const int32_t *y, int64_t B,
                         const pd_attack_opts *o, uint64_t first,
                         uint8_t *adv)
{
    const int64_t n = B * PD_PIXELS;
    float *xf = malloc((size_t)n * sizeof *xf), *g = malloc((size_t)n * 4);
    float *pf = malloc((size_t)n * sizeof *pf);
    if (!xf || !g || !pf)
        pd_die("out of memory");
    const float e = (float)o->eps;
    const int steps = o->steps;
    float alpha = steps ? 2.5f * e / (float)steps : e;
    for (int64_t i = 0; i < n; i++) {
        double u = steps ? pcnn_uniform(o->seed, first * PD_PIXELS + i) : 0.5;
        xf[i] = clampf(x[i] + (float)((2 * u - 1) * e), 0, 255);
    }
    for (int t = 0; t < (steps ? steps : 1); t++) {
        input_grad(ctx, net, grad_point(ctx, o, xf, B, adv, pf), y, B, g);
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
    free(pf);
}

void pd_fgsm_pgd(pcnn_ctx *ctx, cnn *net, const uint8_t *x, const int32_t *y,
                 int64_t n, const pd_attack_opts *o, uint8_t *adv)
{
    for (int64_t s = 0; s < n; s += PD_EVAL_BATCH) {
        int64_t B = n - s < PD_EVAL_BATCH ? n - s : PD_EVAL_BATCH;
        attack_batch(ctx, net, x + s * PD_PIXELS, y + s, B, o, (uint64_t)s,
                     adv + s * PD_PIXELS);
    }
}

/* The input gradient against central differences of the cross-entropy at
 * a few pixels of the first test images (float inputs, step 0.5 pixel
 * levels); the largest relative error. */
double pd_gradcheck(pcnn_ctx *ctx, cnn *net, const uint8_t *x,
                    const int32_t *y)
{
    enum { B = 4 };
    float xf[B * PD_PIXELS], g[B * PD_PIXELS];
    float logits[B * CNN_CLASSES];
    for (int i = 0; i < B * PD_PIXELS; i++)
        xf[i] = x[i];
    input_grad(ctx, net, xf, y, B, g);
    double worst = 0;
    for (int t = 0; t < 16; t++) {
        int i = (int)(pcnn_uniform(7, (uint64_t)t) * B * PD_PIXELS);
        int b = i / PD_PIXELS;
        double f[2];
        for (int s = 0; s < 2; s++) {
            float keep = xf[i];
            xf[i] += s ? 0.5f : -0.5f;
            PD_TRY(cnn_forward(ctx, net, NULL, xf, B, logits));
            f[s] = cnn_xent(logits + b * CNN_CLASSES, y + b, 1, 1.0f, NULL);
            xf[i] = keep;
        }
        double num = f[1] - f[0], err = fabs(num - g[i]);
        double rel = err / fmax(1e-4, fabs(num) + fabs(g[i]));
        worst = rel > worst ? rel : worst;
    }
    return worst;
}
