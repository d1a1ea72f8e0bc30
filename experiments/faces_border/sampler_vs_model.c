/*
 * sampler_vs_model.c -- the faces pyramid's top stage: does the cached
 * sampler draw from the model's distribution at the first columns, and
 * how much mass does the model put far from the truth there?
 *
 * 1. Samples 2 images of stage 3 given the half views of two faces (seed
 *    1), with the head parameters each pixel was drawn from; a full
 *    forward pass on the drawn images must give the same parameters at
 *    every position (the sampler's state equals the model's).
 * 2. On the 43 test faces: per column, the model's bits per pixel, the
 *    probability of a red value more than 100 away from the truth and
 *    from its parent (the 2x2 mean it is drawn given), and how often the
 *    true red value is that far from its parent.
 *
 * Build and run from the repository root, after make:
 *   cc -O2 -std=c11 -Iinclude -fopenmp \
 *     experiments/faces_border/sampler_vs_model.c build/libpixelcnn.a \
 *     -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lm -lz \
 *     -lstb -o /tmp/sampler_vs_model && /tmp/sampler_vs_model
 */
#include "pixelcnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TRY(x)                                                                \
    do {                                                                      \
        if ((x) != PCNN_OK) {                                                 \
            fprintf(stderr, "%s: %s\n", #x, pcnn_last_error());               \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

typedef struct {
    pcnn_model *m;
    const pcnn_model_config *c;
    pcnn_head h;
    int P;
    int64_t H, W, C;
} stage;

/* The stage's view of n faces x and their condition map. */
static pcnn_batch inputs(const stage *s, const uint8_t *x, int64_t n)
{
    int64_t cc, ch, cw;
    int lv;
    pcnn_image xi = pcnn_img((uint8_t *)x, n, 3, 64, 64);
    uint8_t *view = malloc((size_t)(n * s->C * s->H * s->W));
    uint8_t *cimg = malloc((size_t)(n * 3 * 64 * 64));
    float *map = malloc((size_t)(n * s->c->cond_channels * s->H * s->W) * 4);
    TRY(pcnn_view_apply(&s->c->view, xi, view));
    TRY(pcnn_view_apply(&s->c->cond_view, xi, cimg));
    TRY(pcnn_view_shape(&s->c->cond_view, 3, 64, 64, &cc, &ch, &cw, &lv));
    pcnn_tensor cond = pcnn_t4(map, n, s->c->cond_channels, s->H, s->W);
    TRY(pcnn_cond_map(cond, cimg, ch, cw, lv));
    free(cimg);
    return (pcnn_batch){pcnn_img(view, n, s->C, s->H, s->W), NULL, cond};
}

static void sampler_check(pcnn_ctx *ctx, const stage *s, const uint8_t *x)
{
    const int64_t B = 2, np = B * s->P * s->H * s->W;
    pcnn_batch in = inputs(s, x, B);
    float *ls = calloc((size_t)np, 4), *lf = calloc((size_t)np, 4);
    uint8_t *xs = calloc((size_t)(B * s->C * s->H * s->W), 1);
    pcnn_model_sample_opts so = pcnn_model_sample_opts_default();
    so.seed = 1, so.cond = in.cond;
    so.params = pcnn_t4(ls, B, s->P, s->H, s->W);
    TRY(pcnn_model_sample(ctx, s->m, pcnn_img(xs, B, s->C, s->H, s->W), &so));
    pcnn_batch bt = {pcnn_img(xs, B, s->C, s->H, s->W), NULL, in.cond};
    TRY(pcnn_model_forward(ctx, s->m, &bt, pcnn_t4(lf, B, s->P, s->H, s->W)));
    printf("cached sampler's head parameters vs a forward pass on its "
           "samples, max |diff| per column:\n");
    for (int64_t j = 0; j < s->W; j++) {
        double md = 0;
        for (int64_t k = 0; k < B * s->P * s->H; k++)
            md = fmax(md, fabs(ls[k * s->W + j] - lf[k * s->W + j]));
        if (j < 4 || j == s->W - 1)
            printf("  column %2lld: %.2g\n", (long long)j, md);
    }
    free(ls), free(lf), free(xs), free(in.x.data), free(in.cond.data);
}

static void model_check(pcnn_ctx *ctx, const stage *s, const uint8_t *x,
                        int64_t R)
{
    const int64_t HW = s->H * s->W;
    pcnn_batch in = inputs(s, x, R);
    float *l = malloc((size_t)(R * s->P * HW) * 4);
    float *lp = malloc((size_t)(R * HW) * 4);
    float *pm = malloc((size_t)(R * 256 * HW) * 4);
    pcnn_tensor lt = pcnn_t4(l, R, s->P, s->H, s->W);
    TRY(pcnn_model_forward(ctx, s->m, &in, lt));
    TRY(pcnn_head_log_prob(ctx, &s->h, pcnn_t4(lp, R, 1, s->H, s->W), lt,
                           in.x));
    TRY(pcnn_head_pmf(ctx, &s->h, pcnn_t4(pm, R, 256, s->H, s->W), lt, in.x,
                      0));
    printf("the model on %lld test faces, per column: bits per pixel; "
           "P(|red - truth| > 100), P(|red - parent| > 100); the share of "
           "true reds > 100 from their parent:\n",
           (long long)R);
    for (int64_t j = 0; j < s->W; j++) {
        double bits = 0, far = 0, farp = 0, data = 0;
        for (int64_t b = 0; b < R; b++)
            for (int64_t i = 0; i < s->H; i++) {
                const int64_t q = i * s->W + j;
                const uint8_t *r = in.x.data + b * s->C * HW;
                const int t = r[q], i0 = i & ~1, j0 = j & ~1;
                const int par = (r[i0 * s->W + j0] + r[i0 * s->W + j0 + 1] +
                                 r[(i0 + 1) * s->W + j0] +
                                 r[(i0 + 1) * s->W + j0 + 1] + 2) / 4;
                bits -= lp[b * HW + q] / log(2.0);
                data += abs(t - par) > 100;
                for (int v = 0; v < 256; v++) {
                    const float pv = pm[(b * 256 + v) * HW + q];
                    far += abs(v - t) > 100 ? pv : 0;
                    farp += abs(v - par) > 100 ? pv : 0;
                }
            }
        const double k = (double)(R * s->H);
        if (j < 4 || j == 32 || j == s->W - 1)
            printf("  column %2lld: %6.3f bits, %.4f, %.4f; %.4f\n",
                   (long long)j, bits / k, far / k, farp / k, data / k);
    }
    free(l), free(lp), free(pm), free(in.x.data), free(in.cond.data);
}

int main(void)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    TRY(pcnn_ctx_create(&ctx, &co));
    pcnn_chain *ch;
    TRY(pcnn_chain_load("results/faces-pyramid/chain.safetensors", 0, &ch));
    stage s;
    s.m = pcnn_chain_stage(ch, 3);
    s.c = pcnn_model_get_config(s.m);
    s.h = pcnn_model_head(s.m);
    s.P = pcnn_head_params(&s.h);
    s.H = s.c->height, s.W = s.c->width, s.C = s.c->channels;
    pcnn_dataset d = {0};
    TRY(pcnn_dataset_load_folder("../shared/data/faces/caltech101", 3, 64,
                                 &d));
    const int64_t R = d.n / 10, item = 3 * 64 * 64;
    const uint8_t *test = d.images + (d.n - R) * item;
    sampler_check(ctx, &s, test);
    model_check(ctx, &s, test, R);
    pcnn_dataset_free(&d);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    return 0;
}
