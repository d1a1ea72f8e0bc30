/*
 * test_math_pins.c -- the trainer's update, the tightened pyramid
 * likelihood, the gray4 view and pcnn_evaluate's figures, each recomputed
 * independently in double precision from its documented definition
 * (pixelcnn.h, docs/chains.md), and the accumulation of every weighted
 * backward:
 * a one-line slip in the formula (a bias correction dropped, the lr decay
 * a step off, an interval bound off by one, a gray coefficient changed)
 * fails these tests.
 */
#include "test.h"
#include "pixelcnn.h"
#include "io/safetensors.h"
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------ Adam and the EMA */

/* 16 gray 8x8 images: smooth ramps with noise. */
static pcnn_dataset ramp_data(void)
{
    pcnn_dataset d = {0};
    d.n = 16, d.c = 1, d.h = 8, d.w = 8;
    d.images = xcalloc((size_t)(d.n * 64), 1);
    for (int64_t i = 0; i < d.n; i++)
        for (int k = 0; k < 64; k++) {
            double v = 25.0 * (double)(k / 8 + (i % 4) * (k % 8) / 2) +
                       40.0 * pcnn_uniform(17, (uint64_t)(i * 64 + k));
            d.images[i * 64 + k] = (uint8_t)(v > 255 ? 255 : v);
        }
    return d;
}

/* Worst |got - ref| / (atol + rtol |scale|) over n values, scale = ref
 * when NULL; > 1 fails. */
static double worst_ratio(const float *got, const double *ref,
                          const double *scale, size_t n, double atol,
                          double rtol, size_t *at)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        const double sc = fabs(scale ? scale[i] : ref[i]);
        double r = fabs((double)got[i] - ref[i]) / (atol + rtol * sc);
        if (!(r <= w)) /* NaN counts as the worst */
            w = r, *at = i;
    }
    return w;
}

/* Compares a float array with its double reference, relative to ref or
 * to scale when not NULL; names the worst element. */
static void check_vs(const char *what, int step, const float *got,
                     const double *ref, const double *scale, size_t n,
                     double atol, double rtol)
{
    size_t at = 0;
    double w = worst_ratio(got, ref, scale, n, atol, rtol, &at);
    CHECK(w <= 1, "step %d: %s[%zu] = %.9g, by hand %.9g (%.3g x the "
                  "tolerance)",
          step, what, at, n ? (double)got[at] : 0.0, n ? ref[at] : 0.0, w);
}

/* Adam with bias corrections, eps inside the root, lr decayed per step,
 * and the EMA with its warm-up (pixelcnn.h, src/train/trainer.c), over 5
 * steps, recomputed in double from the gradients the library took at
 * each step: parameters, both moments, the EMA and the reported lr. The
 * options are far from the defaults so that each term shows: betas 0.8
 * and 0.9 (bias corrections 5 and 10 at the first step), lr decay 0.6
 * per step, an EMA of 0.2 (its warm-up (1+t)/(10+t) is below 0.2 at steps
 * 0 and 1, above from step 2). At the end the checkpoint's ema.*, adam.m.*
 * and adam.v.* tensors hold the same values. */
TEST(pin_adam_ema_by_hand)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    pcnn_dataset d = ramp_data();
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.lr = 0.01f, o.lr_decay = 0.6f, o.beta1 = 0.8f, o.beta2 = 0.9f;
    o.ema = 0.2f, o.batch = 4, o.seed = 3;
    pcnn_model *m;
    pcnn_trainer *t;
    REQUIRE_OK(pcnn_model_create(&m, &c, 11));
    REQUIRE_OK(pcnn_trainer_create(&t, m, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, t));
    size_t n;
    float *p = pcnn_model_params(m, &n);
    const float *g = pcnn_model_grads(m, NULL);
    double *P = xcalloc(n, sizeof *P), *M = xcalloc(n, sizeof *M);
    double *V = xcalloc(n, sizeof *V), *E = xcalloc(n, sizeof *E);
    /* the first moment's float rounding is relative to its terms, which
     * can cancel: A is the same average of |g| */
    double *A = xcalloc(n, sizeof *A);
    for (size_t i = 0; i < n; i++)
        P[i] = E[i] = p[i]; /* the EMA starts at the initialized weights */
    const double b1 = o.beta1, b2 = o.beta2, lr0 = o.lr, decay = o.lr_decay;
    const double ema = o.ema;
    size_t small = 0; /* gradients small enough that eps matters */
    for (int s = 0; s < 5; s++) {
        pcnn_step_stats st;
        REQUIRE_OK(pcnn_trainer_step(ctx, t, &st));
        const double lr = lr0 * pow(decay, s);
        const double c1 = 1 - pow(b1, s + 1), c2 = 1 - pow(b2, s + 1);
        const double warm = (1.0 + s) / (10.0 + s);
        const double e = ema < warm ? ema : warm;
        for (size_t i = 0; i < n; i++) {
            const double gi = g[i];
            M[i] = b1 * M[i] + (1 - b1) * gi;
            A[i] = b1 * A[i] + (1 - b1) * fabs(gi);
            V[i] = b2 * V[i] + (1 - b2) * gi * gi;
            P[i] -= lr * (M[i] / c1) / sqrt(V[i] / c2 + 1e-8);
            E[i] = e * E[i] + (1 - e) * P[i];
            small += s == 0 && fabs(gi) < 3e-4 && fabs(gi) > 0;
        }
        CHECK(fabs(st.lr - lr) <= 1e-9 * lr, "step %d: lr %.9g, by hand %.9g",
              s, st.lr, lr);
        /* float state against double: a few roundings of |p| per step,
         * the moments to float precision */
        check_vs("param", s, p, P, NULL, n, 2e-7, 2e-6);
        check_vs("adam.m", s, t->mom1, M, A, n, 1e-12, 1e-5);
        check_vs("adam.v", s, t->mom2, V, NULL, n, 1e-14, 1e-5);
        check_vs("ema", s, t->ema, E, NULL, n, 2e-7, 2e-6);
    }
    CHECK(small > 20, "only %zu gradients below 3e-4: eps would not show",
          small);
    /* the checkpoint stores the same state under the documented names */
    char path[128];
    snprintf(path, sizeof path, "/tmp/pcnn_pin_%d.safetensors", (int)getpid());
    REQUIRE_OK(pcnn_checkpoint_save(path, m, t));
    pcnn_st_file *f;
    REQUIRE_OK(pcnn_st_load(path, &f));
    static const char *pre[3] = {"ema.", "adam.m.", "adam.v."};
    const double *ref[3] = {E, M, V}, *scale[3] = {NULL, A, NULL};
    const double atol[3] = {2e-7, 1e-12, 1e-14};
    float *buf = xcalloc(n, sizeof *buf);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < pcnn_model_param_count(m); i++) {
            pcnn_tensor pt = pcnn_model_param(m, i);
            char name[256];
            snprintf(name, sizeof name, "%s%s", pre[k],
                     pcnn_model_param_name(m, i));
            const pcnn_st_tensor *te = pcnn_st_find(f, name);
            const size_t len = (size_t)pcnn_numel(pt);
            const size_t off = (size_t)(pt.data - p);
            CHECK(te && te->numel == len, "%s missing or of another size",
                  name);
            if (!te || te->numel != len)
                continue;
            REQUIRE_OK(pcnn_st_copy_f32(f, te, buf, len));
            check_vs(name, 5, buf, ref[k] + off,
                     scale[k] ? scale[k] + off : NULL, len, atol[k],
                     k ? 1e-5 : 2e-6);
        }
    }
    pcnn_st_free(f);
    unlink(path);
    free(buf), free(P), free(M), free(V), free(E), free(A);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
}

/* ------------------------------------------ the tightened pyramid bound */

/* half(x) from its definition: each 2x2 block's (a + b + c + d + 2) / 4. */
static void half_by_hand(const uint8_t *x, int64_t planes, int64_t h,
                         int64_t w, uint8_t *out)
{
    for (int64_t q = 0; q < planes; q++)
        for (int64_t i = 0; i < h / 2; i++)
            for (int64_t j = 0; j < w / 2; j++) {
                const uint8_t *b = x + q * h * w + 2 * i * w + 2 * j;
                out[(q * (h / 2) + i) * (w / 2) + j] =
                    (uint8_t)((b[0] + b[1] + b[w] + b[w + 1] + 2) / 4);
            }
}

/* The values v child k of a block can take, given its parent p and the
 * sum S of the children before it: the half view of the block is
 * floor((S + v + T + 2) / 4), T the sum of the 3 - k later children, any
 * whole number in [0, 255 (3 - k)]; it equals p iff S + v + T + 2 lies in
 * [4p, 4p + 3]. Each v is tried: v is allowed when that range of sums
 * meets [4p, 4p + 3]. */
static void allowed_by_enumeration(int p, int S, int k, int *lo, int *hi)
{
    *lo = 256, *hi = -1;
    for (int v = 0; v < 256; v++) {
        const int least = S + v + 2, most = S + v + 255 * (3 - k) + 2;
        if (least <= 4 * p + 3 && most >= 4 * p) {
            *lo = v < *lo ? v : *lo;
            *hi = v;
        }
    }
}

/* -log p(x) in nats of each image under model m (x (B, C, H, W), map the
 * condition map or NULL) from the head's exact pmf, and when parent is
 * given the tightened figure: each subpixel's probability divided by the
 * pmf's mass over the values its parent and earlier siblings allow.
 * nll, tight (B); bad counts pcnn_half_bounds disagreeing with the
 * enumeration. */
static pcnn_status nll_by_hand(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                               float *map, const uint8_t *parent, double *nll,
                               double *tight, int *bad)
{
    const pcnn_model_config *c = pcnn_model_get_config(m);
    const pcnn_head h = pcnn_model_head(m);
    const int64_t B = x.n, C = x.c, H = x.h, W = x.w, HW = H * W;
    const int P = pcnn_head_params(&h);
    float *l = xcalloc((size_t)(B * P * HW), sizeof *l);
    float *pmf = xcalloc((size_t)(B * 256 * HW), sizeof *pmf);
    uint8_t *lo = xcalloc((size_t)(B * C * HW), 1);
    uint8_t *hi = xcalloc((size_t)(B * C * HW), 1);
    pcnn_batch bt = {x, NULL,
                     map ? pcnn_t4(map, B, c->cond_channels, H, W)
                         : pcnn_none()};
    pcnn_status s = pcnn_model_forward(ctx, m, &bt, pcnn_t4(l, B, P, H, W));
    if (s == PCNN_OK && parent)
        s = pcnn_half_bounds(x, parent, lo, hi);
    for (int64_t b = 0; b < B; b++)
        nll[b] = tight[b] = 0;
    for (int ch = 0; s == PCNN_OK && ch < C; ch++) {
        s = pcnn_head_pmf(ctx, &h, pcnn_t4(pmf, B, 256, H, W),
                          pcnn_t4(l, B, P, H, W), x, ch);
        for (int64_t b = 0; s == PCNN_OK && b < B; b++)
            for (int64_t i = 0; i < H; i++)
                for (int64_t j = 0; j < W; j++) {
                    const uint8_t *xp = x.data + (b * C + ch) * HW;
                    const float *pr = pmf + b * 256 * HW + i * W + j;
                    const double lp = log((double)pr[xp[i * W + j] * HW]);
                    nll[b] -= lp;
                    if (!parent) {
                        tight[b] -= lp;
                        continue;
                    }
                    /* the block, the child's rank in it, the earlier sum */
                    const int k = (int)(i % 2) * 2 + (int)(j % 2);
                    const int64_t i0 = i - i % 2, j0 = j - j % 2;
                    const int at[4] = {(int)(i0 * W + j0), (int)(i0 * W + j0 + 1),
                                       (int)((i0 + 1) * W + j0),
                                       (int)((i0 + 1) * W + j0 + 1)};
                    int S = 0;
                    for (int r = 0; r < k; r++)
                        S += xp[at[r]];
                    const int pv =
                        parent[((b * C + ch) * (H / 2) + i / 2) * (W / 2) +
                               j / 2];
                    int a, z;
                    allowed_by_enumeration(pv, S, k, &a, &z);
                    const int64_t q = (b * C + ch) * HW + i * W + j;
                    *bad += lo[q] != a || hi[q] != z;
                    double mass = 0;
                    for (int v = a; v <= z; v++)
                        mass += pr[v * HW];
                    tight[b] -= lp - log(mass);
                }
    }
    free(l), free(pmf), free(lo), free(hi);
    return s;
}

/* A two-stage pyramid with random weights (4x4 given nothing, then 8x8
 * given its half view) on 5 color images, evaluated in batches of 2:
 * every figure of pcnn_chain_evaluate (each stage's term per dim of the
 * image and of the stage, untightened and tightened, the totals and their
 * standard errors) equals its recomputation from the definition: the
 * head's exact pmf (pcnn_head_pmf) at each subpixel, and for the 8x8
 * stage each subpixel's mass renormalized over the values allowed by its
 * parent and earlier siblings, found by enumerating completions of the
 * block (the half view's (a+b+c+d+2)/4 rounding), summed in double. */
TEST(pin_chain_tightened_from_definition)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    const int64_t N = 5, C = 3, S = 8;
    pcnn_dataset x = {0};
    x.n = N, x.c = C, x.h = x.w = S;
    x.images = xcalloc((size_t)(N * C * S * S), 1);
    for (int64_t k = 0; k < N * C * S * S; k++) {
        const double u = pcnn_uniform(5, (uint64_t)k);
        /* smooth values, some blocks near the extremes 0 and 255 */
        int v = (int)(60 + 2 * (k % 64) + 60 * u);
        if ((k / 16) % 7 == 3)
            v = (int)(4 * u);
        if ((k / 16) % 7 == 5)
            v = 255 - (int)(4 * u);
        x.images[k] = (uint8_t)v;
    }
    const pcnn_view half = {1, 0, 0}, id = {0, 0, 0};
    pcnn_model_config c0 = pcnn_model_config_default();
    c0.channels = 3, c0.height = c0.width = 4;
    c0.nr_resnet = 1, c0.nr_filters = 8, c0.nr_mix = 3, c0.nr_resolutions = 2;
    c0.dropout = 0, c0.view = half;
    pcnn_model_config c1 = c0;
    c1.height = c1.width = 8, c1.view = id, c1.cond_view = half;
    c1.cond_channels = 3, c1.cond_nr_resnet = 1, c1.cond_nr_filters = 4;
    pcnn_model *st[2];
    REQUIRE_OK(pcnn_model_create(&st[0], &c0, 21));
    REQUIRE_OK(pcnn_model_create(&st[1], &c1, 22));
    /* random weights all over (not only v), so the heads vary by pixel */
    for (int s = 0; s < 2; s++) {
        size_t n;
        float *p = pcnn_model_params(st[s], &n);
        for (size_t i = 0; i < n; i++)
            p[i] += (float)(0.4 * pcnn_uniform(30 + (uint64_t)s, i) - 0.2);
    }
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, st, 2));
    REQUIRE(pcnn_chain_stage_tightens(ch, 1) &&
                !pcnn_chain_stage_tightens(ch, 0),
            "the 8x8 stage should be tightened, the 4x4 one not");
    pcnn_chain_eval r;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &x, &(pcnn_eval_opts){.batch = 2}, &r));

    /* by hand: stage 0 on half(x), stage 1 on x given half(x) */
    uint8_t *hx = xcalloc((size_t)(N * C * 16), 1);
    half_by_hand(x.images, N * C, S, S, hx);
    float *map = xcalloc((size_t)(N * C * S * S), sizeof *map);
    REQUIRE_OK(pcnn_cond_map(pcnn_t4(map, N, C, S, S), hx, 4, 4, 256));
    double n0[5], t0[5], n1[5], t1[5];
    int bad = 0;
    REQUIRE_OK(nll_by_hand(ctx, st[0], pcnn_img(hx, N, C, 4, 4), NULL, NULL,
                           n0, t0, &bad));
    REQUIRE_OK(nll_by_hand(ctx, st[1], pcnn_img(x.images, N, C, S, S), map,
                           hx, n1, t1, &bad));
    CHECK(bad == 0, "%d intervals of pcnn_half_bounds differ from the "
                    "enumeration", bad);
    const double dims = (double)(C * S * S), ln2 = log(2.0);
    double want[10] = {0}, sum = 0, sq = 0, tsum = 0, tsq = 0;
    int narrowed = 0;
    for (int64_t b = 0; b < N; b++) {
        want[0] += n0[b] / ln2 / dims / N;           /* stage[0] */
        want[1] += n1[b] / ln2 / dims / N;           /* stage[1] */
        want[2] += n0[b] / ln2 / (C * 16.0) / N;     /* own[0] */
        want[3] += n1[b] / ln2 / dims / N;           /* own[1] */
        want[4] += t1[b] / ln2 / dims / N;           /* tight_stage[1] */
        const double u = (n0[b] + n1[b]) / ln2 / dims;
        const double v = (n0[b] + t1[b]) / ln2 / dims;
        sum += u, sq += u * u, tsum += v, tsq += v * v;
        narrowed += t1[b] < n1[b] - 1;
    }
    want[5] = sum / N, want[6] = tsum / N;
    want[7] = sqrt((sq - sum * sum / N) / (N - 1) / N);
    want[8] = sqrt((tsq - tsum * tsum / N) / (N - 1) / N);
    want[9] = want[4]; /* tight_own[1]: the stage is the image */
    const double got[10] = {r.stage[0], r.stage[1], r.own[0],
                            r.own[1],   r.tight_stage[1], r.total,
                            r.tight_total, r.total_se, r.tight_se,
                            r.tight_own[1]};
    static const char *names[10] = {
        "stage[0]", "stage[1]", "own[0]", "own[1]", "tight_stage[1]",
        "total", "tight_total", "total_se", "tight_se", "tight_own[1]"};
    for (int k = 0; k < 10; k++)
        CHECK(fabs(got[k] - want[k]) <= 2e-6 + 1e-6 * fabs(want[k]),
              "%s = %.8f, by hand %.8f", names[k], got[k], want[k]);
    CHECK(r.tight_stage[0] == r.stage[0] && r.tight_own[0] == r.own[0] &&
              r.tightened == 1,
          "the 4x4 stage is not tightened: %g vs %g, %d stages",
          r.tight_stage[0], r.stage[0], r.tightened);
    CHECK(narrowed == N && want[4] < want[1] - 0.05,
          "the bound should gain: %d of %d images, %g -> %g", narrowed,
          (int)N, want[1], want[4]);
    free(hx), free(map);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&x);
    pcnn_ctx_free(ctx);
}

/* -------------------------------------------------------- the gray4 view */

/* gray4 = floor(Y / 16), Y = 0.299 R + 0.587 G + 0.114 B
 * (docs/chains.md): in double, (299 R + 587 G + 114 B) is an exact
 * integer and its quotient by 16000 rounds to a double that floors
 * correctly (the gap to the next integer is at least 1/16000). */
static int gray4_by_hand(int r, int g, int b)
{
    return (int)floor((299.0 * r + 587.0 * g + 114.0 * b) / 16000.0);
}

/* The gray4 view of colored pixels (R, G, B all different): 4096 random
 * ones and, for every level boundary Y = 16k, colors just on it and just
 * below it; then gray4(half(x)) against gray4 of the half view by hand;
 * and a one-channel image, taken as Y itself: floor(v / 16). */
TEST(pin_gray4_view_colored_pixels)
{
    enum { S = 128 }; /* a 3 x 128 x 128 image: 16384 pixels */
    const int64_t HW = S * S;
    uint8_t *x = xcalloc(3 * HW, 1), *y = xcalloc(HW, 1);
    int64_t k = 0;
    /* colors whose sum 299 R + 587 G + 114 B lands on 16000 L + d for
     * d in {-1, 0, +1}: B solved from R and G, kept when it is a whole
     * 0..255 and all three differ */
    for (int r = 0; r < 256 && k < HW / 2; r += 3)
        for (int g = 0; g < 256 && k < HW / 2; g += 5)
            for (int L = 1; L <= 15; L++)
                for (int d = -1; d <= 1; d++) {
                    int rest = 16000 * L + d - 299 * r - 587 * g;
                    if (rest < 0 || rest % 114 || rest / 114 > 255)
                        continue;
                    int b = rest / 114;
                    if (r == g || g == b || r == b || k >= HW / 2)
                        continue;
                    x[k] = (uint8_t)r, x[HW + k] = (uint8_t)g;
                    x[2 * HW + k] = (uint8_t)b, k++;
                }
    const int64_t edges = k;
    for (; k < HW; k++) {
        int c[3];
        uint64_t draw = (uint64_t)k * 16;
        do {
            for (int j = 0; j < 3; j++)
                c[j] = (int)(256 * pcnn_uniform(61 + (uint64_t)j, draw));
            draw++;
        } while (c[0] == c[1] || c[1] == c[2] || c[0] == c[2]);
        x[k] = (uint8_t)c[0], x[HW + k] = (uint8_t)c[1];
        x[2 * HW + k] = (uint8_t)c[2];
    }
    CHECK(edges > 200, "only %lld colors on level edges", (long long)edges);
    const pcnn_view g4 = {0, 1, 0}, hg4 = {1, 1, 0};
    REQUIRE_OK(pcnn_view_apply(&g4, pcnn_img(x, 1, 3, S, S), y));
    int bad = 0, levels[16] = {0};
    int64_t first = -1;
    for (int64_t i = 0; i < HW; i++) {
        const int want = gray4_by_hand(x[i], x[HW + i], x[2 * HW + i]);
        levels[want & 15]++;
        if (y[i] != want && first < 0)
            first = i;
        bad += y[i] != want;
    }
    CHECK(bad == 0,
          "%d of %lld gray4 values wrong; first (%d, %d, %d): %d, by hand %d",
          bad, (long long)HW, first < 0 ? 0 : x[first],
          first < 0 ? 0 : x[HW + first], first < 0 ? 0 : x[2 * HW + first],
          first < 0 ? 0 : y[first],
          first < 0 ? 0 : gray4_by_hand(x[first], x[HW + first],
                                        x[2 * HW + first]));
    for (int l = 0; l < 16; l++)
        CHECK(levels[l] > 0, "level %d never drawn", l);
    /* gray4(half(x)): the half view by hand, then the formula */
    uint8_t *hx = xcalloc(3 * HW / 4, 1), *hy = xcalloc(HW / 4, 1);
    half_by_hand(x, 3, S, S, hx);
    REQUIRE_OK(pcnn_view_apply(&hg4, pcnn_img(x, 1, 3, S, S), hy));
    bad = 0;
    for (int64_t i = 0; i < HW / 4; i++)
        bad += hy[i] != gray4_by_hand(hx[i], hx[HW / 4 + i], hx[HW / 2 + i]);
    CHECK(bad == 0, "%d gray4(half(x)) values wrong", bad);
    /* one channel: Y is the value itself */
    uint8_t v[256], gv[256];
    for (int i = 0; i < 256; i++)
        v[i] = (uint8_t)i;
    REQUIRE_OK(pcnn_view_apply(&g4, pcnn_img(v, 1, 1, 16, 16), gv));
    bad = 0;
    for (int i = 0; i < 256; i++)
        bad += gv[i] != (int)floor(i / 16.0);
    CHECK(bad == 0, "%d one-channel gray4 values wrong", bad);
    free(x), free(y), free(hx), free(hy);
}

/* --------------------------------------------- evaluation and gradients */

/* pcnn_evaluate's mean bits/dim and standard error over 7 images, in
 * batches of 3 (a short last batch) and with a limit of 5, against each
 * image's -log2 p from the network's head parameters (pcnn_model_forward,
 * one image at a time) and pcnn_head_log_prob, divided by its 64 dims;
 * the mean and sqrt(var / n) with the n - 1 variance, in double. */
TEST(pin_evaluate_mean_and_se_by_hand)
{
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    pcnn_dataset all = ramp_data(), d;
    REQUIRE_OK(pcnn_dataset_subset(&all, 2, 7, &d));
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 3, c.nr_resolutions = 2;
    c.dropout = 0.5f; /* evaluation runs without it */
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &c, 13));
    size_t n;
    float *p = pcnn_model_params(m, &n);
    for (size_t i = 0; i < n; i++) /* weights that vary the heads */
        p[i] += (float)(0.4 * pcnn_uniform(33, i) - 0.2);
    const pcnn_head h = pcnn_model_head(m);
    const int P = pcnn_head_params(&h);
    float l[64 * 64], lp[64];
    double bits[7];
    for (int64_t k = 0; k < d.n; k++) {
        pcnn_image x = pcnn_img(d.images + k * 64, 1, 1, 8, 8);
        pcnn_batch b = {x, NULL, pcnn_none()};
        REQUIRE(P <= 64, "P %d", P);
        REQUIRE_OK(pcnn_model_forward(ctx, m, &b, pcnn_t4(l, 1, P, 8, 8)));
        REQUIRE_OK(pcnn_head_log_prob(ctx, &h, pcnn_t4(lp, 1, 1, 8, 8),
                                      pcnn_t4(l, 1, P, 8, 8), x));
        double s = 0;
        for (int q = 0; q < 64; q++)
            s += lp[q];
        bits[k] = -s / log(2.0) / 64;
    }
    static const int limits[2] = {0, 5};
    for (int t = 0; t < 2; t++) {
        const int cnt = limits[t] ? limits[t] : (int)d.n;
        double sum = 0, sq = 0;
        for (int k = 0; k < cnt; k++)
            sum += bits[k];
        const double mean = sum / cnt;
        for (int k = 0; k < cnt; k++)
            sq += (bits[k] - mean) * (bits[k] - mean);
        const double se = sqrt(sq / (cnt - 1) / cnt);
        double gm, gse;
        REQUIRE_OK(pcnn_evaluate(ctx, m, &d, 3, limits[t], &gm, &gse));
        CHECK(fabs(gm - mean) <= 1e-5 * mean && fabs(gse - se) <= 1e-4 * se &&
                  se > 0.01,
              "limit %d: mean %.8f se %.8f, by hand %.8f %.8f", limits[t], gm,
              gse, mean, se);
    }
    pcnn_model_free(m);
    pcnn_dataset_free(&all), pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
}

/* After backward into zeroed gradients gives G, backward into gradients
 * that start at R0 must give R0 + G: got = R - R0 against G. */
static void check_accumulated(const char *what, const float *r,
                              const float *r0, const float *g, size_t n)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs(((double)r[i] - r0[i]) - g[i]) /
                         (1e-6 + 1e-5 * (fabs(r0[i]) + fabs(g[i])));
        if (!(e <= worst))
            worst = e, at = i;
    }
    CHECK(worst <= 1, "%s does not accumulate: [%zu] %.7g from %.7g, alone "
                      "%.7g",
          what, at, (double)r[at], (double)r0[at], (double)g[at]);
}

/* Every backward of the public API with weights accumulates into each of
 * its gradients (pixelcnn.h: d* += ...), as the graph's shared values and
 * a caller summing over batches rely on: conv (stride 1 and 2, shifted),
 * transposed conv, nin and weight norm, each run once into zeros and once
 * into random gradients. */
TEST(pin_backward_accumulates)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    enum { B = 2, CI = 3, CO = 5, S = 6, BIG = 4096 };
    float *x = xcalloc(BIG, 4), *w = xcalloc(BIG, 4), *dy = xcalloc(BIG, 4);
    float *g[3], *r[3], *r0[3];
    for (int k = 0; k < 3; k++) {
        g[k] = xcalloc(BIG, 4), r[k] = xcalloc(BIG, 4);
        r0[k] = xcalloc(BIG, 4);
        fill_uniform_f32(r0[k], BIG, 70 + (uint64_t)k, -1, 1);
    }
    fill_uniform_f32(x, BIG, 81, -1, 1);
    fill_uniform_f32(w, BIG, 82, -1, 1);
    fill_uniform_f32(dy, BIG, 83, -1, 1);
    static const char *names[4] = {"conv down 2x3 s1", "conv down-right 2x2 s2",
                                   "deconv down 2x3 s2", "nin"};
    for (int op = 0; op < 4; op++) {
        pcnn_conv_geom geo =
            op == 0   ? pcnn_conv_geom_shifted(PCNN_DOWN, 2, 3, 1)
            : op == 1 ? pcnn_conv_geom_shifted(PCNN_DOWN_RIGHT, 2, 2, 2)
                      : pcnn_deconv_geom_shifted(PCNN_DOWN, 2, 3, 2);
        int64_t ho = S, wo = S;
        if (op < 2)
            pcnn_conv_out_size(&geo, S, S, &ho, &wo);
        else if (op == 2)
            pcnn_deconv_out_size(&geo, S, S, &ho, &wo);
        const pcnn_tensor tx = pcnn_t4(x, B, CI, S, S);
        const pcnn_tensor ty = pcnn_t4(dy, B, CO, ho, wo);
        pcnn_tensor tw = op == 3   ? pcnn_t2(w, CO, CI)
                         : op == 2 ? pcnn_t4(w, CI, CO, geo.kh, geo.kw)
                                   : pcnn_t4(w, CO, CI, geo.kh, geo.kw);
        const size_t nn[3] = {(size_t)pcnn_numel(tx), (size_t)pcnn_numel(tw),
                              CO};
        for (int pass = 0; pass < 2; pass++) {
            float **d = pass ? r : g;
            for (int k = 0; k < 3; k++) {
                if (pass)
                    memcpy(r[k], r0[k], nn[k] * 4);
                else
                    memset(g[k], 0, nn[k] * 4);
            }
            pcnn_tensor dx = pcnn_t4(d[0], B, CI, S, S), dw = tw,
                        db = pcnn_t1(d[2], CO);
            dw.data = d[1];
            if (op < 2)
                REQUIRE_OK(pcnn_conv2d_backward(ctx, dx, dw, db, ty, tx, tw,
                                                &geo));
            else if (op == 2)
                REQUIRE_OK(pcnn_deconv2d_backward(ctx, dx, dw, db, ty, tx, tw,
                                                  &geo));
            else
                REQUIRE_OK(pcnn_nin_backward(ctx, dx, dw, db, ty, tx, tw));
        }
        static const char *which[3] = {"dx", "dw", "db"};
        for (int k = 0; k < 3; k++) {
            char what[64];
            snprintf(what, sizeof what, "%s %s", names[op], which[k]);
            check_accumulated(what, r[k], r0[k], g[k], nn[k]);
        }
    }
    /* weight norm: v (CO, CI, 2, 3) and (CI, CO, 2, 3); dv and dg */
    for (int axis = 0; axis < 2; axis++) {
        pcnn_tensor v = axis ? pcnn_t4(x, CI, CO, 2, 3) : pcnn_t4(x, CO, CI, 2, 3);
        pcnn_tensor dw = v, gg = pcnn_t1(w, CO);
        dw.data = dy;
        const size_t nv = (size_t)pcnn_numel(v);
        for (int pass = 0; pass < 2; pass++) {
            float **d = pass ? r : g;
            if (pass)
                memcpy(r[0], r0[0], nv * 4), memcpy(r[1], r0[1], CO * 4);
            else
                memset(g[0], 0, nv * 4), memset(g[1], 0, CO * 4);
            pcnn_tensor dv = v;
            dv.data = d[0];
            REQUIRE_OK(pcnn_weightnorm_backward(ctx, dv, pcnn_t1(d[1], CO),
                                                dw, v, gg,
                                                axis ? PCNN_WN_DIM1
                                                     : PCNN_WN_DIM0));
        }
        check_accumulated(axis ? "weightnorm dim1 dv" : "weightnorm dim0 dv",
                          r[0], r0[0], g[0], nv);
        check_accumulated(axis ? "weightnorm dim1 dg" : "weightnorm dim0 dg",
                          r[1], r0[1], g[1], CO);
    }
    for (int k = 0; k < 3; k++)
        free(g[k]), free(r[k]), free(r0[k]);
    free(x), free(w), free(dy);
    pcnn_ctx_free(ctx);
}
