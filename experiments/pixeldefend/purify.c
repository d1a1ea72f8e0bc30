/*
 * purify.c -- PixelDefend (Song et al., ICLR 2018): each subpixel, in
 * raster order, is set to the most probable value of the density model's
 * conditional, given the subpixels already purified, among the values
 * within eps of its value in the input. And the model's bits/dim.
 *
 * The library's pcnn_chain_purify does it on the cached sampler (about
 * one forward pass of work per batch); the naive loop here runs the whole
 * network once per pixel (H*W forward passes per batch) from public calls
 * only: the reference `pixeldefend check` compares it with.
 */
#include "pixeldefend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEVELS 256

/* The value in [x0-eps, x0+eps] of largest probability (the smallest
 * such value on ties). */
static uint8_t best_in_window(const float *p, int x0, int eps)
{
    int lo = x0 - eps < 0 ? 0 : x0 - eps;
    int hi = x0 + eps > LEVELS - 1 ? LEVELS - 1 : x0 + eps;
    int best = lo;
    for (int v = lo + 1; v <= hi; v++)
        if (p[v] > p[best])
            best = v;
    return (uint8_t)best;
}

/* Purifies pixel (i, j) of the B images x (B,C,H,W) from the head
 * parameters l (B,P,H,W) of a forward pass on x. */
static void purify_pixel(pcnn_ctx *ctx, const pcnn_head *h, const float *l,
                         uint8_t *x, const uint8_t *orig, int64_t B, int P,
                         int64_t C, int64_t HW, int64_t k, int eps)
{
    float *lk = malloc((size_t)(B * P) * sizeof *lk);
    float *pmf = malloc((size_t)(B * LEVELS) * sizeof *pmf);
    uint8_t *xk = malloc((size_t)(B * C));
    if (!lk || !pmf || !xk)
        pd_die("out of memory");
    for (int64_t b = 0; b < B; b++)
        for (int p = 0; p < P; p++)
            lk[b * P + p] = l[(b * P + p) * HW + k];
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            xk[b * C + c] = x[(b * C + c) * HW + k];
    for (int c = 0; c < (int)C; c++) {
        PD_TRY(pcnn_head_pmf(ctx, h, pcnn_t4(pmf, B, LEVELS, 1, 1),
                             pcnn_t4(lk, B, P, 1, 1),
                             pcnn_img(xk, B, C, 1, 1), c));
        for (int64_t b = 0; b < B; b++) {
            int64_t at = (b * C + c) * HW + k;
            xk[b * C + c] = x[at] =
                best_in_window(pmf + b * LEVELS, orig[at], eps);
        }
    }
    free(lk);
    free(pmf);
    free(xk);
}

static void naive_batch(pcnn_ctx *ctx, pcnn_model *m, uint8_t *x, int64_t B,
                        int eps)
{
    const pcnn_model_config *cfg = pcnn_model_get_config(m);
    pcnn_head h = pcnn_model_head(m);
    int P = pcnn_head_params(&h);
    int64_t C = cfg->channels, H = cfg->height, W = cfg->width;
    size_t n = (size_t)(B * C * H * W);
    float *l = malloc((size_t)(B * P * H * W) * sizeof *l);
    uint8_t *orig = malloc(n);
    if (!l || !orig)
        pd_die("out of memory");
    memcpy(orig, x, n);
    pcnn_batch bt = {pcnn_img(x, B, C, H, W), NULL, pcnn_none()};
    for (int64_t k = 0; k < H * W; k++) {
        PD_TRY(pcnn_model_forward(ctx, m, &bt, pcnn_t4(l, B, P, H, W)));
        purify_pixel(ctx, &h, l, x, orig, B, P, C, H * W, k, eps);
    }
    free(l);
    free(orig);
}

void pd_purify(pcnn_ctx *ctx, pcnn_chain *c, uint8_t *x, int64_t n, int eps,
               int naive)
{
    if (!naive) {
        pcnn_purify_opts o = {0};
        o.eps = eps;
        PD_TRY(pcnn_chain_purify(ctx, c, pcnn_img(x, n, 1, CNN_SIDE, CNN_SIDE), &o));
        return;
    }
    if (pcnn_chain_stages(c) != 1)
        pd_die("--density: purification needs a plain model");
    for (int64_t s = 0; s < n; s += PD_EVAL_BATCH) {
        int64_t B = n - s < PD_EVAL_BATCH ? n - s : PD_EVAL_BATCH;
        naive_batch(ctx, pcnn_chain_stage(c, 0), x + s * PD_PIXELS, B, eps);
    }
}

double pd_bpd(pcnn_ctx *ctx, pcnn_chain *c, const uint8_t *x, int64_t n,
              double *se, double *each)
{
    pcnn_dataset d = {0};
    PD_TRY(pcnn_dataset_from_memory(x, n, 1, CNN_SIDE, CNN_SIDE, NULL, 0, &d));
    pcnn_eval_opts o = pcnn_eval_opts_default();
    o.batch = PD_EVAL_BATCH;
    o.image_bits = each;
    pcnn_chain_eval r;
    PD_TRY(pcnn_chain_evaluate(ctx, c, &d, &o, &r));
    pcnn_dataset_free(&d);
    *se = r.total_se;
    return r.total;
}

int pd_check(pcnn_ctx *ctx, const pd_args *a)
{
    enum { N = 2, EPS = 16 };
    pcnn_dataset te = {0};
    pd_load(a->data, "t10k", &te);
    cnn net;
    pd_load_classifier(&net, a->classifier);
    double rel = pd_gradcheck(ctx, &net, te.images, te.labels);
    printf("input gradient vs central differences at 16 pixels: largest "
           "relative error %.2e\n", rel);
    int bad = !(rel < 1e-2);
    pcnn_chain *c = NULL;
    PD_TRY(pcnn_chain_load(a->density, 0, &c));
    uint8_t lib[N * PD_PIXELS], own[N * PD_PIXELS];
    memcpy(lib, te.images, sizeof lib);
    memcpy(own, te.images, sizeof own);
    pd_purify(ctx, c, lib, N, EPS, 0);
    pd_purify(ctx, c, own, N, EPS, 1);
    int differ = 0, moved = 0;
    for (int i = 0; i < N * PD_PIXELS; i++)
        differ += lib[i] != own[i], moved += lib[i] != te.images[i];
    printf("pcnn_chain_purify vs the naive loop, %d images at eps %d: %d of "
           "%d subpixels differ (%d moved)\n", N, EPS, differ, N * PD_PIXELS,
           moved);
    bad |= differ != 0 || moved == 0;
    pcnn_chain_free(c);
    cnn_free(&net);
    pcnn_dataset_free(&te);
    return bad;
}
