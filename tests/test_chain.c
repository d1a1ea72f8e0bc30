/*
 * test_chain.c -- views (exact values), condition maps, stage data sets,
 * and chains: creation checks, save/load round trip, evaluation equal to
 * the stages' own, sampling stage by stage, the cached sampler on
 * categorical and conditioning-network stages.
 */
#include "test.h"
#include "pixelcnn.h"

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
    pcnn_view g = {0, 1};
    REQUIRE_OK(pcnn_view_apply(&g, pcnn_img(x, 1, 3, 2, 2), y));
    /* (299 R + 587 G + 114 B) / 16000: 255 -> 15, 16 -> 1, 15 -> 0,
     * B = 200 alone -> 22800 / 16000 = 1 */
    CHECK(y[0] == 15 && y[1] == 1 && y[2] == 0 && y[3] == 1,
          "gray4: %d %d %d %d", y[0], y[1], y[2], y[3]);
    /* half: (a + b + c + d + 2) / 4 */
    uint8_t p[16] = {1, 2, 0, 0, 3, 4, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0};
    uint8_t h[4];
    pcnn_view half = {1, 0};
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
    pcnn_view hg = {2, 1};
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
    const pcnn_view id = {0, 0}, gray = {0, 1};
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
    pcnn_chain *bad;
    CHECK(pcnn_chain_create(&bad, &m1b, 1) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "stage 0 reads a condition map"),
          "a conditioned first stage: %s", pcnn_last_error());
    pcnn_model *st[2] = {m0, m1};
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, st, 2));
    double sb[2], own[2], total, se;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &x, 5, 0, sb, own, &total, &se));
    CHECK(fabs(own[0] - e0) < 1e-9 && fabs(own[1] - e1) < 1e-9,
          "stage bits/dim %g %g, alone %g %g", own[0], own[1], e0, e1);
    CHECK(fabs(sb[0] - e0 / 3) < 1e-9 && fabs(sb[1] - e1) < 1e-9 &&
              fabs(total - sb[0] - sb[1]) < 1e-9 && se > 0,
          "per X dims: %g + %g = %g", sb[0], sb[1], total);
    /* save, load, same figures */
    REQUIRE_OK(pcnn_chain_save(path, ch));
    pcnn_chain *ch2;
    REQUIRE_OK(pcnn_chain_load(path, 0, &ch2));
    double sb2[2], total2;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch2, &x, 5, 0, sb2, NULL, &total2,
                                   NULL));
    CHECK(pcnn_chain_stages(ch2) == 2 && total2 == total && sb2[0] == sb[0],
          "after load: %g vs %g", total2, total);
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
    const pcnn_view id = {0, 0}, gray = {0, 1}, half = {1, 0};
    pcnn_model_config a = stage_config(1, &gray, NULL);
    pcnn_model_config b = stage_config(3, &id, &half);
    pcnn_model *m[2];
    REQUIRE_OK(pcnn_model_create(&m[0], &a, 1));
    REQUIRE_OK(pcnn_model_create(&m[1], &b, 1));
    pcnn_chain *ch;
    CHECK(pcnn_chain_create(&ch, m, 2) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "conditioned on half(x)"),
          "mismatched views: %s", pcnn_last_error());
    REQUIRE_OK(pcnn_model_create(&m[0], &a, 1));
    CHECK(pcnn_chain_create(&ch, m, 1) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "not x"),
          "last stage not x: %s", pcnn_last_error());
}
