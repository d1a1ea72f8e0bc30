/*
 * test_chain.c -- views (exact values), condition maps, stage data sets,
 * and chains: creation checks, save/load round trip, evaluation equal to
 * the stages' own, sampling stage by stage, the cached sampler on
 * categorical and conditioning-network stages, the tightened pyramid and
 * gray stages (bounds, normalization, consistent samples).
 */
#include "test.h"
#include "pixelcnn.h"
#include "train/trainer.h" /* pcnn_evaluate: a stage on its own data */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(view_gray4_and_half_exact)
{
    /* one 3x2x2 image: (R, G, B) per pixel */
    uint8_t x[12] = {255, 16, 15, 0, /* R */
                     255, 16, 15, 0, /* G */
                     255, 16, 15, 200 /* B */};
    uint8_t y[4];
    pcnn_view g = {0, 1, 0};
    REQUIRE_OK(pcnn_view_apply(&g, pcnn_img(x, 1, 3, 2, 2), y));
    /* (299 R + 587 G + 114 B) / 16000: 255 -> 15, 16 -> 1, 15 -> 0,
     * B = 200 alone -> 22800 / 16000 = 1 */
    CHECK(y[0] == 15 && y[1] == 1 && y[2] == 0 && y[3] == 1,
          "gray4: %d %d %d %d", y[0], y[1], y[2], y[3]);
    /* half: (a + b + c + d + 2) / 4 */
    uint8_t p[16] = {1, 2, 0, 0, 3, 4, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0};
    uint8_t h[4];
    pcnn_view half = {1, 0, 0};
    REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(p, 1, 1, 4, 4), h));
    /* blocks: {1,2,3,4}=12/4 -> 3; {0,0,0,1}=3/4 -> 0 (0.25 down);
     * {1,0,1,1}=5/4 -> 1; {0,1,1,0}=4/4 -> 1 (0.5 up) */
    CHECK(h[0] == 3 && h[1] == 0 && h[2] == 1 && h[3] == 1,
          "half: %d %d %d %d", h[0], h[1], h[2], h[3]);
    /* gray of a one-channel image: v / 16 */
    uint8_t q[2] = {255, 31}, r[2];
    REQUIRE_OK(pcnn_view_apply(&g, pcnn_img(q, 1, 1, 1, 2), r));
    CHECK(r[0] == 15 && r[1] == 1, "gray4 of gray: %d %d", r[0], r[1]);
    int64_t c, hh, w;
    int levels;
    pcnn_view hg = {2, 1, 0};
    REQUIRE_OK(pcnn_view_shape(&hg, 3, 32, 32, &c, &hh, &w, &levels));
    CHECK(c == 1 && hh == 8 && w == 8 && levels == 16, "shape");
    CHECK(pcnn_view_shape(&hg, 3, 6, 8, &c, &hh, &w, &levels) ==
              PCNN_ERR_ARG,
          "6 rows cannot be halved twice");
    char buf[96];
    CHECK(!strcmp(pcnn_view_str(&hg, buf, sizeof buf),
                  "gray4(half(half(x)))"),
          "name %s", buf);
}

TEST(cond_map_scales_and_repeats)
{
    uint8_t cond[2] = {0, 15}; /* (1, 1, 1, 2), 16 levels */
    float map[8];
    REQUIRE_OK(pcnn_cond_map(pcnn_t4(map, 1, 1, 2, 4), cond, 1, 2, 16));
    const float want[8] = {-1, -1, 1, 1, -1, -1, 1, 1};
    CHECK_CLOSE("map", map, want, 8, 0, 1e-6);
    CHECK(pcnn_cond_map(pcnn_t4(map, 1, 1, 2, 4), cond, 1, 3, 16) ==
              PCNN_ERR_ARG,
          "3 columns do not tile 4");
}

static uint8_t *smooth_images(int64_t n, int c, int s)
{
    uint8_t *x = xcalloc((size_t)(n * c * s * s), 1);
    for (int64_t i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int k = 0; k < s * s; k++)
                x[((i * c) + ch) * s * s + k] = (uint8_t)(
                    (40 * ch + 9 * (k / s) + 7 * (k % s) + 13 * i +
                     (int)(30 * pcnn_uniform(3, (uint64_t)(i * 1000 + k)))) %
                    256);
    return x;
}

static pcnn_model_config stage_config(int channels, const pcnn_view *view,
                                      const pcnn_view *cond)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = channels;
    c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2;
    c.nr_resolutions = 2;
    c.dropout = 0;
    c.view = *view;
    if (view->gray4) {
        c.head = PCNN_HEAD_CATEGORICAL;
        c.levels = 16;
    }
    if (cond) {
        c.cond_view = *cond;
        c.cond_channels = cond->gray4 ? 1 : 3;
        c.cond_nr_resnet = 1;
        c.cond_nr_filters = 6;
    }
    return c;
}

/* Trains a stage a few steps on its data set from x. */
static pcnn_model *train_stage(pcnn_ctx *ctx, const pcnn_dataset *x,
                               const pcnn_model_config *c,
                               pcnn_dataset *sd)
{
    pcnn_model *m;
    pcnn_trainer *t;
    if (pcnn_stage_dataset(x, &c->view,
                           c->cond_channels ? &c->cond_view : NULL,
                           sd) != PCNN_OK ||
        pcnn_model_create(&m, c, 1) != PCNN_OK)
        return NULL;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 4;
    o.lr = 3e-3f;
    if (pcnn_trainer_create(&t, m, sd, &o) || pcnn_trainer_init(ctx, t)) {
        pcnn_model_free(m);
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        if (pcnn_trainer_step(ctx, t, NULL) != PCNN_OK) {
            pcnn_trainer_free(t);
            pcnn_model_free(m);
            return NULL;
        }
    pcnn_trainer_free(t);
    return m;
}

TEST(chain_gray_then_color)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_dataset x = {0};
    x.n = 12, x.c = 3, x.h = x.w = 8;
    x.images = smooth_images(x.n, 3, 8);
    const pcnn_view id = {0, 0, 0}, gray = {0, 1, 0};
    pcnn_model_config c0 = stage_config(1, &gray, NULL);
    pcnn_model_config c1 = stage_config(3, &id, &gray);
    pcnn_dataset d0, d1;
    pcnn_model *m0 = train_stage(ctx, &x, &c0, &d0);
    REQUIRE(m0, "stage 0: %s", pcnn_last_error());
    pcnn_model *m1 = train_stage(ctx, &x, &c1, &d1);
    REQUIRE(m1, "stage 1: %s", pcnn_last_error());
    CHECK(d1.cond && d1.cond_c == 1 && d1.cond_levels == 16 &&
              !memcmp(d1.cond, d0.images, (size_t)(12 * 64)),
          "stage 1's condition images are stage 0's images");
    /* each stage alone */
    double e0, e1;
    REQUIRE_OK(pcnn_evaluate(ctx, m0, &d0, 5, 0, &e0, NULL));
    REQUIRE_OK(pcnn_evaluate(ctx, m1, &d1, 5, 0, &e1, NULL));
    /* the wrong order is refused (and frees the models: copies here) */
    char path[] = "/tmp/pcnn_chain_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0, "mkstemp");
    close(fd);
    REQUIRE_OK(pcnn_checkpoint_save(path, m1, NULL));
    pcnn_model *m1b;
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &m1b));
    /* a conditioned stage alone is a partial chain: not complete */
    pcnn_chain *part;
    REQUIRE_OK(pcnn_chain_create(&part, &m1b, 1));
    CHECK(!pcnn_chain_is_complete(part), "a conditioned stage is complete");
    pcnn_chain_free(part);
    pcnn_model *st[2] = {m0, m1};
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, st, 2));
    pcnn_chain_eval r;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &x, &(pcnn_eval_opts){.batch = 5}, &r));
    const double *sb = r.stage, *own = r.own, total = r.total,
                 se = r.total_se;
    /* stage 1 is tightened over the colors of each pixel's gray level */
    CHECK(r.tightened == 1 && !pcnn_chain_stage_tightens(ch, 0) &&
              pcnn_chain_stage_tightens(ch, 1) &&
              r.tight_stage[0] == r.stage[0] &&
              r.tight_stage[1] < r.stage[1] - 0.01 &&
              fabs(r.tight_total - r.tight_stage[0] - r.tight_stage[1]) <
                  1e-9,
          "gray chain tightened %d: stage 1 %g -> %g", r.tightened,
          r.stage[1], r.tight_stage[1]);
    CHECK(fabs(own[0] - e0) < 1e-9 && fabs(own[1] - e1) < 1e-9,
          "stage bits/dim %g %g, alone %g %g", own[0], own[1], e0, e1);
    CHECK(fabs(sb[0] - e0 / 3) < 1e-9 && fabs(sb[1] - e1) < 1e-9 &&
              fabs(total - sb[0] - sb[1]) < 1e-9 && se > 0,
          "per X dims: %g + %g = %g", sb[0], sb[1], total);
    /* save, load, same figures */
    REQUIRE_OK(pcnn_chain_save(path, ch));
    pcnn_chain *ch2;
    REQUIRE_OK(pcnn_chain_load(path, 0, &ch2));
    pcnn_chain_eval r2;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch2, &x, &(pcnn_eval_opts){.batch = 5}, &r2));
    CHECK(pcnn_chain_stages(ch2) == 2 && r2.total == total &&
              r2.stage[0] == sb[0],
          "after load: %g vs %g", r2.total, total);
    /* sampling: stage 0 gray values, stage 1 RGB */
    uint8_t *out[2] = {xcalloc(3 * 64, 1), xcalloc(3 * 3 * 64, 1)};
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 3;
    REQUIRE_OK(pcnn_chain_sample(ctx, ch2, 3, &o, out));
    int max0 = 0, distinct = 0;
    for (int k = 0; k < 3 * 64; k++)
        max0 = out[0][k] > max0 ? out[0][k] : max0;
    for (int k = 0; k < 3 * 3 * 64; k++)
        distinct += out[1][k] != out[1][0];
    CHECK(max0 <= 15 && max0 > 0, "gray stage values in 0..15: max %d",
          max0);
    CHECK(distinct > 100, "color stage drawn");
    /* a file that is not a chain */
    FILE *f = fopen(path, "wb");
    fputs("garbage", f);
    fclose(f);
    pcnn_chain *bad;
    CHECK(pcnn_chain_load(path, 0, &bad) != PCNN_OK &&
              strstr(pcnn_last_error(), path),
          "garbage: %s", pcnn_last_error());
    remove(path);
    free(out[0]), free(out[1]);
    pcnn_chain_free(ch);
    pcnn_chain_free(ch2);
    pcnn_dataset_free(&d0), pcnn_dataset_free(&d1), pcnn_dataset_free(&x);
    pcnn_ctx_free(ctx);
}

TEST(chain_create_checks_the_stages)
{
    const pcnn_view id = {0, 0, 0}, gray = {0, 1, 0}, half = {1, 0, 0};
    pcnn_model_config a = stage_config(1, &gray, NULL);
    pcnn_model_config b = stage_config(3, &id, &half);
    pcnn_model *m[2];
    REQUIRE_OK(pcnn_model_create(&m[0], &a, 1));
    REQUIRE_OK(pcnn_model_create(&m[1], &b, 1));
    pcnn_chain *ch;
    CHECK(pcnn_chain_create(&ch, m, 2) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "conditioned on half(x)"),
          "mismatched views: %s", pcnn_last_error());
    /* a stage that models gray4(x) alone is a partial chain: it models
     * gray4(X), not X */
    REQUIRE_OK(pcnn_model_create(&m[0], &a, 1));
    REQUIRE_OK(pcnn_chain_create(&ch, m, 1));
    CHECK(!pcnn_chain_is_complete(ch), "gray4(x) alone is complete");
    pcnn_chain_free(ch);
    /* a second stage whose size is not its view of X */
    pcnn_model_config c = stage_config(3, &id, &gray);
    c.height = c.width = 16;
    REQUIRE_OK(pcnn_model_create(&m[0], &a, 1));
    REQUIRE_OK(pcnn_model_create(&m[1], &c, 1));
    CHECK(pcnn_chain_create(&ch, m, 2) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "stage 0 models gray4(x), which is "
                                        "1x16x16"),
          "stage 0 not the view of X: %s", pcnn_last_error());
}

/* pcnn_half_bounds: x lies in its bounds; for the last two children of a
 * block the bounds are exactly the values some completion allows
 * (enumerated); a parent that is not half(x) is refused. */
TEST(half_bounds_exact)
{
    const int64_t B = 2, C = 3, S = 8;
    uint8_t *x = smooth_images(B, (int)C, (int)S);
    for (int64_t k = 0; k < B * C * S * S; k += 7) /* some extremes */
        x[k] = k % 2 ? 255 : 0;
    uint8_t *par = xcalloc((size_t)(B * C * 16), 1);
    uint8_t *lo = xcalloc((size_t)(B * C * S * S), 1);
    uint8_t *hi = xcalloc((size_t)(B * C * S * S), 1);
    const pcnn_view half = {1, 0, 0};
    pcnn_image xi = pcnn_img(x, B, C, S, S);
    REQUIRE_OK(pcnn_view_apply(&half, xi, par));
    REQUIRE_OK(pcnn_half_bounds(xi, par, lo, hi));
    int bad = 0, narrowed = 0;
    for (int64_t q = 0; q < B * C; q++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                const uint8_t *px = x + q * 64;
                const int p = par[q * 16 + i * 4 + j];
                const int at[4] = {2 * i * 8 + 2 * j, 2 * i * 8 + 2 * j + 1,
                                   (2 * i + 1) * 8 + 2 * j,
                                   (2 * i + 1) * 8 + 2 * j + 1};
                for (int k = 0; k < 4; k++) {
                    const int a = lo[q * 64 + at[k]], z = hi[q * 64 + at[k]];
                    bad += px[at[k]] < a || px[at[k]] > z;
                    narrowed += z - a < 255;
                    if (k < 2)
                        continue;
                    int before = 0;
                    for (int t = 0; t < k; t++)
                        before += px[at[t]];
                    for (int v = 0; v < 256; v++) {
                        int ok = 0;
                        for (int w = 0; w < (k == 2 ? 256 : 1) && !ok; w++)
                            ok = (before + v + w + 2) / 4 == p;
                        bad += ok != (v >= a && v <= z);
                    }
                }
            }
    CHECK(bad == 0, "%d bounds wrong", bad);
    CHECK(narrowed > B * C * 16, "only %d of %lld intervals narrowed",
          narrowed, (long long)(B * C * 64));
    par[5]++;
    CHECK(pcnn_half_bounds(xi, par, lo, hi) == PCNN_ERR_VALUE &&
              strstr(pcnn_last_error(), "not consistent"),
          "a wrong parent accepted: %s", pcnn_last_error());
    free(x), free(par), free(lo), free(hi);
}

/* The interval mass equals the head's pmf summed over the interval, for
 * each channel given the earlier ones; [0, 255] has mass 1. */
TEST(head_interval_log_mass_matches_pmf)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    const int C = 3, M = 4, HW = 24;
    pcnn_head h = pcnn_head_dmol(C, M);
    const int P = pcnn_head_params(&h);
    float *l = xcalloc((size_t)(P * HW), 4);
    for (int k = 0; k < P * HW; k++)
        l[k] = (float)(pcnn_uniform(41, (uint64_t)k) * 2 - 1);
    uint8_t *x = xcalloc((size_t)(C * HW), 1), *lo = xcalloc((size_t)(C * HW), 1),
            *hi = xcalloc((size_t)(C * HW), 1);
    for (int k = 0; k < C * HW; k++) {
        x[k] = (uint8_t)(pcnn_uniform(42, (uint64_t)k) * 256);
        int a = x[k] - (int)(pcnn_uniform(43, (uint64_t)k) * 40);
        int z = x[k] + (int)(pcnn_uniform(44, (uint64_t)k) * 40);
        if (k % 5 == 0)
            a = 0, z = 255;
        if (k % 7 == 0)
            a = z = x[k];
        lo[k] = (uint8_t)(a < 0 ? 0 : a), hi[k] = (uint8_t)(z > 255 ? 255 : z);
    }
    float *out = xcalloc((size_t)(C * HW), 4), *pmf = xcalloc((size_t)(256 * HW), 4);
    pcnn_tensor lt = pcnn_t4(l, 1, P, 1, HW);
    pcnn_image xi = pcnn_img(x, 1, C, 1, HW);
    REQUIRE_OK(pcnn_head_interval_log_mass(
        ctx, &h, pcnn_t4(out, 1, C, 1, HW), lt, xi, pcnn_img(lo, 1, C, 1, HW),
        pcnn_img(hi, 1, C, 1, HW)));
    double worst = 0;
    for (int c = 0; c < C; c++) {
        REQUIRE_OK(pcnn_head_pmf(ctx, &h, pcnn_t4(pmf, 1, 256, 1, HW), lt, xi,
                                 c));
        for (int i = 0; i < HW; i++) {
            double m = 0;
            for (int v = lo[c * HW + i]; v <= hi[c * HW + i]; v++)
                m += pmf[v * HW + i];
            double e = fabs(out[c * HW + i] - log(m));
            worst = e > worst ? e : worst;
        }
    }
    CHECK(worst < 1e-4, "log mass off by %g", worst);
    lo[3] = x[3] + 1 > 255 ? 255 : x[3] + 1;
    if (lo[3] > x[3])
        CHECK(pcnn_head_interval_log_mass(
                  ctx, &h, pcnn_t4(out, 1, C, 1, HW), lt, xi,
                  pcnn_img(lo, 1, C, 1, HW),
                  pcnn_img(hi, 1, C, 1, HW)) == PCNN_ERR_VALUE,
              "x outside its interval accepted");
    free(l), free(x), free(lo), free(hi), free(out), free(pmf);
    pcnn_ctx_free(ctx);
}

/* A two-stage pyramid trained a few steps on 8 smooth 8x8 images x:
 * 4x4 (stage 0), then 8x8 given it with a down-up conditioning network
 * (stage 1); st receives the stages, s0 and s1 their data sets. */
static pcnn_chain *pyramid_chain(pcnn_ctx *ctx, pcnn_dataset *x,
                                 pcnn_dataset *s0, pcnn_dataset *s1,
                                 pcnn_model **st)
{
    x->n = 8, x->c = 3, x->h = x->w = 8;
    x->images = smooth_images(x->n, 3, 8);
    const pcnn_view half = {1, 0, 0}, id = {0, 0, 0};
    pcnn_model_config c0 = stage_config(3, &half, NULL);
    c0.height = c0.width = 4;
    pcnn_model_config c1 = stage_config(3, &id, &half);
    c1.cond_down = 1;
    st[0] = train_stage(ctx, x, &c0, s0);
    st[1] = train_stage(ctx, x, &c1, s1);
    pcnn_chain *ch;
    if (!st[0] || !st[1] || pcnn_chain_create(&ch, st, 2) != PCNN_OK)
        return NULL;
    return ch;
}

/* A two-stage pyramid (4x4, then 8x8 given it, down-up conditioning):
 * stage 1 is tightened and gains, stage 0 is not, the totals add up. */
TEST(chain_pyramid_tightened)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_dataset x = {0}, s0 = {0}, s1 = {0};
    pcnn_model *st[2];
    pcnn_chain *ch = pyramid_chain(ctx, &x, &s0, &s1, st);
    REQUIRE(ch, "pyramid chain: %s", pcnn_last_error());
    CHECK(!pcnn_chain_stage_tightens(ch, 0) &&
              pcnn_chain_stage_tightens(ch, 1),
          "which stages tighten");
    pcnn_chain_eval r;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &x, &(pcnn_eval_opts){.batch = 3}, &r));
    CHECK(r.tightened == 1 && r.tight_stage[0] == r.stage[0] &&
              r.tight_stage[1] < r.stage[1] - 0.01 && r.tight_se > 0 &&
              fabs(r.tight_total - r.tight_stage[0] - r.tight_stage[1]) <
                  1e-9 &&
              fabs(r.tight_own[1] - r.tight_stage[1]) < 1e-9,
          "tightened %d: stage 1 %g -> %g, total %g -> %g", r.tightened,
          r.stage[1], r.tight_stage[1], r.total, r.tight_total);
    /* the untightened figures are the stages' own losses */
    double e1;
    REQUIRE_OK(pcnn_evaluate(ctx, st[1], &s1, 3, 0, &e1, NULL));
    CHECK(fabs(r.stage[1] - e1) < 1e-6, "stage 1 %g, alone %g", r.stage[1],
          e1);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&x), pcnn_dataset_free(&s0), pcnn_dataset_free(&s1);
    pcnn_ctx_free(ctx);
}

/* Lab views: L is Lab8's first plane; ab,half the halved a8 and b8
 * planes; their shapes and names. The space-to-depth condition map of
 * full-resolution L at a half-resolution model. */
TEST(view_lab_and_space_to_depth)
{
    const int64_t B = 2, S = 8;
    uint8_t *x = smooth_images(B, 3, (int)S);
    uint8_t *lab = xcalloc((size_t)(B * 3 * S * S), 1);
    REQUIRE_OK(pcnn_rgb_to_lab8(pcnn_img(x, B, 3, S, S), lab));
    const pcnn_view vl = {0, 0, PCNN_LAB_L}, vab = {1, 0, PCNN_LAB_AB};
    int64_t c, h, w;
    int levels;
    REQUIRE_OK(pcnn_view_shape(&vab, 3, S, S, &c, &h, &w, &levels));
    CHECK(c == 2 && h == 4 && w == 4 && levels == 256, "ab,half shape");
    char name[64];
    CHECK(!strcmp(pcnn_view_str(&vab, name, sizeof name), "half(ab(x))") &&
              !strcmp(pcnn_view_str(&vl, name, sizeof name), "L(x)"),
          "names: %s", name);
    uint8_t *l = xcalloc((size_t)(B * S * S), 1);
    uint8_t *ab = xcalloc((size_t)(B * 2 * 16), 1);
    REQUIRE_OK(pcnn_view_apply(&vl, pcnn_img(x, B, 3, S, S), l));
    REQUIRE_OK(pcnn_view_apply(&vab, pcnn_img(x, B, 3, S, S), ab));
    int bad = 0;
    for (int64_t n = 0; n < B; n++) {
        bad += memcmp(l + n * 64, lab + n * 3 * 64, 64) != 0;
        for (int ch = 0; ch < 2; ch++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    const uint8_t *p = lab + (n * 3 + 1 + ch) * 64;
                    int want = (p[2 * i * 8 + 2 * j] + p[2 * i * 8 + 2 * j + 1] +
                                p[(2 * i + 1) * 8 + 2 * j] +
                                p[(2 * i + 1) * 8 + 2 * j + 1] + 2) /
                               4;
                    bad += ab[(n * 2 + ch) * 16 + i * 4 + j] != want;
                }
    }
    CHECK(bad == 0, "%d Lab view values wrong", bad);
    const pcnn_view gl = {0, 1, PCNN_LAB_L};
    CHECK(pcnn_view_shape(&gl, 3, S, S, &c, &h, &w, &levels) == PCNN_ERR_ARG,
          "gray4 with lab accepted");
    CHECK(pcnn_view_shape(&vl, 1, S, S, &c, &h, &w, &levels) == PCNN_ERR_ARG,
          "Lab view of a gray image accepted");
    /* L (B, 1, 8, 8) into a (B, 4, 4, 4) map: channel dy*2 + dx */
    float *map = xcalloc((size_t)(B * 4 * 16), sizeof *map);
    REQUIRE_OK(pcnn_cond_map(pcnn_t4(map, B, 4, 4, 4), l, S, S, 256));
    bad = 0;
    for (int64_t n = 0; n < B; n++)
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    float want = (float)l[n * 64 + (2 * i + k / 2) * 8 +
                                          2 * j + k % 2] *
                                     (2.0f / 255) -
                                 1.0f;
                    bad += map[((n * 4 + k) * 4 + i) * 4 + j] != want;
                }
    CHECK(bad == 0, "%d space-to-depth values wrong", bad);
    CHECK(pcnn_cond_map(pcnn_t4(map, B, 3, 4, 4), l, S, S, 256) ==
              PCNN_ERR_SHAPE,
          "3 map channels for 2x2 blocks accepted");
    free(x), free(lab), free(l), free(ab), free(map);
}

/* Sampling a pyramid chain consistently: the top stage's images halve
 * exactly to the base stage's (drawn from the tightened distribution),
 * and freely they do not; the cached and
 * naive samplers agree with a parent; super-resolution from given small
 * images keeps them; bad combinations are refused. */
TEST(chain_pyramid_samples_are_consistent)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_dataset x = {0}, s0 = {0}, s1 = {0};
    pcnn_model *st[2];
    pcnn_chain *ch = pyramid_chain(ctx, &x, &s0, &s1, st);
    REQUIRE(ch, "pyramid chain: %s", pcnn_last_error());
    const pcnn_view half = {1, 0, 0};
    const int64_t B = 3;
    uint8_t *out[2] = {xcalloc((size_t)(B * 3 * 16), 1),
                       xcalloc((size_t)(B * 3 * 64), 1)};
    uint8_t *h = xcalloc((size_t)(B * 3 * 16), 1);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 5;
    o.consistent = 1;
    REQUIRE_OK(pcnn_chain_sample(ctx, ch, B, &o, out));
    REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(out[1], B, 3, 8, 8), h));
    CHECK(!memcmp(h, out[0], (size_t)(B * 3 * 16)),
          "the 8x8 samples do not halve to the 4x4 ones");
    o.consistent = 0;
    REQUIRE_OK(pcnn_chain_sample(ctx, ch, B, &o, out));
    REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(out[1], B, 3, 8, 8), h));
    CHECK(memcmp(h, out[0], (size_t)(B * 3 * 16)),
          "free draws halve exactly too");
    o.consistent = 1;
    /* super-resolution of the data's own half views */
    REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(x.images, B, 3, 8, 8),
                               out[0]));
    REQUIRE_OK(pcnn_chain_sample_from(ctx, ch, B, 1, &o, out));
    REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(out[1], B, 3, 8, 8), h));
    CHECK(!memcmp(h, out[0], (size_t)(B * 3 * 16)),
          "upscaled images do not halve to their inputs");
    int differ = 0;
    for (int64_t k = 0; k < B * 3 * 64; k++)
        differ += out[1][k] != x.images[k];
    CHECK(differ > 0, "upscaling returned the originals");
    /* stage 1 alone, cached and naive, with the parent */
    float *map = xcalloc((size_t)(B * 3 * 64), sizeof *map);
    uint8_t *a = xcalloc((size_t)(B * 3 * 64), 1), *b = xcalloc((size_t)(B * 3 * 64), 1);
    o.cond = pcnn_t4(map, B, 3, 8, 8);
    REQUIRE_OK(pcnn_cond_map(o.cond, out[0], 4, 4, 256));
    o.parent = out[0];
    REQUIRE_OK(pcnn_model_sample(ctx, st[1], pcnn_img(a, B, 3, 8, 8), &o));
    o.naive = 1;
    REQUIRE_OK(pcnn_model_sample(ctx, st[1], pcnn_img(b, B, 3, 8, 8), &o));
    /* both consistent; mostly the same values (head parameters agree to
     * about 1e-6, which can move a draw that sits on a bin edge or on
     * the edge of a rejection, and the block's later children with it;
     * the optimized build draws them identically, the -O1 one not) */
    int same = 0;
    for (int64_t k = 0; k < B * 3 * 64; k++)
        same += a[k] == b[k];
    CHECK(same > B * 3 * 64 * 3 / 4, "cached and naive agree on %d of %lld",
          same, (long long)(B * 3 * 64));
    for (int t = 0; t < 2; t++) {
        REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(t ? b : a, B, 3, 8, 8), h));
        CHECK(!memcmp(h, out[0], (size_t)(B * 3 * 16)),
              "%s draws with a parent do not halve to it",
              t ? "naive" : "cached");
    }
    /* a log-scale offset sharpens the draws and keeps them consistent, for
     * the stage alone and through the chain (which once dropped the
     * parent silently when given an offset) */
    o.naive = 0;
    o.log_scale_offset = -1.0f;
    REQUIRE_OK(pcnn_model_sample(ctx, st[1], pcnn_img(b, B, 3, 8, 8), &o));
    REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(b, B, 3, 8, 8), h));
    CHECK(!memcmp(h, out[0], (size_t)(B * 3 * 16)),
          "sharpened draws with a parent do not halve to it");
    CHECK(memcmp(a, b, (size_t)(B * 3 * 64)),
          "the offset changed no draw");
    o.parent = NULL;
    o.cond = pcnn_none();
    REQUIRE_OK(pcnn_chain_sample_from(ctx, ch, B, 1, &o, out));
    REQUIRE_OK(pcnn_view_apply(&half, pcnn_img(out[1], B, 3, 8, 8), h));
    CHECK(!memcmp(h, out[0], (size_t)(B * 3 * 16)),
          "sharpened upscales do not halve to their inputs");
    pcnn_chain_free(ch);
    free(out[0]), free(out[1]), free(h), free(map), free(a), free(b);
    pcnn_dataset_free(&x), pcnn_dataset_free(&s0), pcnn_dataset_free(&s1);
    pcnn_ctx_free(ctx);
}

/* pcnn_gray4_bounds: x lies in its bounds, each is what the rule gives for
 * the pixel's level and earlier channels, the last channel is pinned to
 * a narrow range; a gray image that is not gray4(x) is refused. */
TEST(gray4_bounds_exact)
{
    const int64_t B = 2, S = 8, HW = S * S;
    uint8_t *x = smooth_images(B, 3, (int)S);
    for (int64_t k = 0; k < B * 3 * HW; k += 5) /* some extremes */
        x[k] = k % 2 ? 255 : 0;
    uint8_t *g = xcalloc((size_t)(B * HW), 1);
    uint8_t *lo = xcalloc((size_t)(B * 3 * HW), 1);
    uint8_t *hi = xcalloc((size_t)(B * 3 * HW), 1);
    const pcnn_view gray = {0, 1, 0};
    pcnn_image xi = pcnn_img(x, B, 3, S, S);
    REQUIRE_OK(pcnn_view_apply(&gray, xi, g));
    REQUIRE_OK(pcnn_gray4_bounds(xi, g, lo, hi));
    int bad = 0, wide_b = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < HW; k++) {
            int v[3];
            for (int c = 0; c < 3; c++) {
                const int64_t at = (b * 3 + c) * HW + k;
                v[c] = x[at];
                int n = 0; /* values some completion allows, enumerated */
                for (int u = 0; u < 256; u++) {
                    int ok = 0;
                    for (int s = 0; s < (c < 2 ? 256 : 1) && !ok; s++)
                        for (int t = 0; t < (c < 1 ? 256 : 1) && !ok; t++) {
                            int w[3] = {v[0], v[1], v[2]};
                            w[c] = u;
                            if (c < 2)
                                w[2] = s;
                            if (c < 1)
                                w[1] = t;
                            ok = (299 * w[0] + 587 * w[1] + 114 * w[2]) /
                                     16000 ==
                                 g[b * HW + k];
                        }
                    n += ok;
                    bad += ok != (u >= lo[at] && u <= hi[at]);
                }
                bad += v[c] < lo[at] || v[c] > hi[at] || n == 0;
                wide_b += c == 2 && hi[at] - lo[at] > 140;
            }
        }
    CHECK(bad == 0 && wide_b == 0, "%d bounds wrong, %d blue ranges wide",
          bad, wide_b);
    g[7] = (uint8_t)(g[7] == 15 ? 14 : g[7] + 1);
    CHECK(pcnn_gray4_bounds(xi, g, lo, hi) == PCNN_ERR_VALUE &&
              strstr(pcnn_last_error(), "not consistent"),
          "a wrong gray image accepted: %s", pcnn_last_error());
    free(x), free(g), free(lo), free(hi);
}

/* The tightened gray distribution of one pixel sums to 1 over all the
 * colors of its gray level (enumerated, the darkest and brightest levels:
 * some 30000 colors each); every interval's log mass is <= 0, so each
 * factor of the likelihood can only grow. */
TEST(gray4_tightened_pixel_sums_to_one)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_head h = pcnn_head_dmol(3, 3);
    const int P = pcnn_head_params(&h);
    float l0[64];
    REQUIRE(P <= 64, "%d head parameters", P);
    for (int k = 0; k < P; k++) /* wide enough to spread over the colors */
        l0[k] = (float)(pcnn_uniform(61, (uint64_t)k) * 2 - 1);
    for (int level = 0; level < 16; level += 15) {
        int64_t n = 0;
        for (int r = 0; r < 256; r++)
            for (int gg = 0; gg < 256; gg++)
                for (int b = 0; b < 256; b++)
                    n += (299 * r + 587 * gg + 114 * b) / 16000 == level;
        uint8_t *x = xcalloc((size_t)(3 * n), 1), *lo = xcalloc((size_t)(3 * n), 1),
                *hi = xcalloc((size_t)(3 * n), 1), *gi = xcalloc((size_t)n, 1);
        float *l = xcalloc((size_t)(P * n), 4), *lp = xcalloc((size_t)n, 4),
              *lz = xcalloc((size_t)(3 * n), 4);
        int64_t q = 0;
        for (int r = 0; r < 256; r++)
            for (int gg = 0; gg < 256; gg++)
                for (int b = 0; b < 256; b++)
                    if ((299 * r + 587 * gg + 114 * b) / 16000 == level) {
                        x[q] = (uint8_t)r, x[n + q] = (uint8_t)gg;
                        x[2 * n + q] = (uint8_t)b, gi[q++] = (uint8_t)level;
                    }
        for (int k = 0; k < P; k++)
            for (int64_t i = 0; i < n; i++)
                l[k * n + i] = l0[k];
        /* n pixels of one image: one per color */
        pcnn_image xi = pcnn_img(x, 1, 3, 1, n);
        pcnn_tensor lt = pcnn_t4(l, 1, P, 1, n);
        REQUIRE_OK(pcnn_gray4_bounds(xi, gi, lo, hi));
        REQUIRE_OK(pcnn_head_log_prob(ctx, &h, pcnn_t4(lp, 1, 1, 1, n), lt,
                                      xi));
        REQUIRE_OK(pcnn_head_interval_log_mass(
            ctx, &h, pcnn_t4(lz, 1, 3, 1, n), lt, xi,
            pcnn_img(lo, 1, 3, 1, n), pcnn_img(hi, 1, 3, 1, n)));
        double plain = 0, tight = 0, worst = -1e9;
        for (int64_t i = 0; i < n; i++) {
            const double z = (double)lz[i] + lz[n + i] + lz[2 * n + i];
            plain += exp(lp[i]), tight += exp(lp[i] - z);
            for (int c = 0; c < 3; c++)
                worst = lz[c * n + i] > worst ? lz[c * n + i] : worst;
        }
        CHECK(fabs(tight - 1) < 1e-4 && plain < 0.9 && worst < 1e-6,
              "level %d (%lld colors): tightened mass %.6f, plain %.6f, "
              "largest log mass %g",
              level, (long long)n, tight, plain, worst);
        free(x), free(lo), free(hi), free(gi), free(l), free(lp), free(lz);
    }
    pcnn_ctx_free(ctx);
}

/* Sampling a gray chain consistently: the color images' gray4 view is
 * exactly the gray stage's images (and freely it is not); colorizing the
 * data's own gray images keeps them; cached and naive samplers with a
 * gray parent are both consistent. */
TEST(chain_gray_samples_are_consistent)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_dataset x = {0}, d0, d1;
    x.n = 8, x.c = 3, x.h = x.w = 8;
    x.images = smooth_images(x.n, 3, 8);
    const pcnn_view id = {0, 0, 0}, gray = {0, 1, 0};
    pcnn_model_config c0 = stage_config(1, &gray, NULL);
    pcnn_model_config c1 = stage_config(3, &id, &gray);
    pcnn_model *st[2] = {train_stage(ctx, &x, &c0, &d0),
                         train_stage(ctx, &x, &c1, &d1)};
    REQUIRE(st[0] && st[1], "stages: %s", pcnn_last_error());
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, st, 2));
    const int64_t B = 3, N = B * 64;
    uint8_t *out[2] = {xcalloc((size_t)N, 1), xcalloc((size_t)(3 * N), 1)};
    uint8_t *g = xcalloc((size_t)N, 1), *a = xcalloc((size_t)(3 * N), 1);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 7;
    o.consistent = 1;
    REQUIRE_OK(pcnn_chain_sample(ctx, ch, B, &o, out));
    REQUIRE_OK(pcnn_view_apply(&gray, pcnn_img(out[1], B, 3, 8, 8), g));
    CHECK(!memcmp(g, out[0], (size_t)N),
          "consistent colors are not of their gray images");
    o.consistent = 0;
    REQUIRE_OK(pcnn_chain_sample(ctx, ch, B, &o, out));
    REQUIRE_OK(pcnn_view_apply(&gray, pcnn_img(out[1], B, 3, 8, 8), g));
    CHECK(memcmp(g, out[0], (size_t)N), "free draws match the gray too");
    o.consistent = 1;
    REQUIRE_OK(pcnn_view_apply(&gray, pcnn_img(x.images, B, 3, 8, 8),
                               out[0]));
    REQUIRE_OK(pcnn_chain_sample_from(ctx, ch, B, 1, &o, out));
    REQUIRE_OK(pcnn_view_apply(&gray, pcnn_img(out[1], B, 3, 8, 8), g));
    CHECK(!memcmp(g, out[0], (size_t)N),
          "colorized images are not of their gray inputs");
    /* stage 1 alone with the gray parent, cached and naive */
    float *map = xcalloc((size_t)N, sizeof *map);
    o.cond = pcnn_t4(map, B, 1, 8, 8);
    REQUIRE_OK(pcnn_cond_map(o.cond, out[0], 8, 8, 16));
    o.parent = out[0];
    for (int naive = 0; naive < 2; naive++) {
        o.naive = naive;
        REQUIRE_OK(pcnn_model_sample(ctx, st[1], pcnn_img(a, B, 3, 8, 8), &o));
        REQUIRE_OK(pcnn_view_apply(&gray, pcnn_img(a, B, 3, 8, 8), g));
        CHECK(!memcmp(g, out[0], (size_t)N),
              "%s draws with a gray parent are not of it",
              naive ? "naive" : "cached");
    }
    pcnn_chain_free(ch);
    free(out[0]), free(out[1]), free(g), free(a), free(map);
    pcnn_dataset_free(&x), pcnn_dataset_free(&d0), pcnn_dataset_free(&d1);
    pcnn_ctx_free(ctx);
}
