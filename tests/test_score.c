/*
 * test_score.c -- pcnn_chain_score: each image's stage terms and the bits
 * at each position, against pcnn_chain_evaluate on the same images (the
 * per-image sums of the maps equal the evaluator's figures), on a pyramid
 * and a gray chain whose second stage is tightened; pcnn_pseudo_counts on
 * a stream with a repeated image.
 */
#include "test.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n 3x8x8 images, smooth with noise. */
static uint8_t *score_images(int64_t n)
{
    uint8_t *x = xcalloc((size_t)(n * 192), 1);
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < 192; k++)
            x[i * 192 + k] = (uint8_t)((50 * (k / 64) + 9 * (k % 64 / 8) +
                                        7 * (k % 8) + 13 * i +
                                        (int)(40 * pcnn_uniform(
                                                       5, (uint64_t)(i * 192 +
                                                                     k)))) %
                                       256);
    return x;
}

static pcnn_model_config score_config(int size)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 3;
    c.height = c.width = size;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0;
    return c;
}

/* A pyramid of random weights: 4x4 half(X), then X given it (tightened). */
static pcnn_chain *score_pyramid(void)
{
    const pcnn_view half = {1, 0, 0}, id = {0, 0, 0};
    pcnn_model_config c0 = score_config(8), c1 = score_config(8);
    pcnn_model *st[2] = {NULL, NULL};
    pcnn_chain *ch = NULL;
    if (pcnn_stage_config(&c0, &half, NULL, 3, 8, 8) != PCNN_OK ||
        pcnn_stage_config(&c1, &id, &half, 3, 8, 8) != PCNN_OK)
        return NULL;
    c1.cond_nr_resnet = 1;
    if (pcnn_model_create(&st[0], &c0, 1) != PCNN_OK ||
        pcnn_model_create(&st[1], &c1, 2) != PCNN_OK ||
        pcnn_chain_create(&ch, st, 2) != PCNN_OK) {
        pcnn_model_free(st[0]);
        pcnn_model_free(st[1]);
        return NULL;
    }
    return ch;
}

/* A chain of gray4(X) (categorical), then X given it (tightened by the
 * gray rule), random weights. */
static pcnn_chain *score_gray(void)
{
    const pcnn_view g = {0, 1, 0}, id = {0, 0, 0};
    pcnn_model_config c0 = score_config(8), c1 = score_config(8);
    pcnn_model *st[2] = {NULL, NULL};
    pcnn_chain *ch = NULL;
    if (pcnn_stage_config(&c0, &g, NULL, 3, 8, 8) != PCNN_OK ||
        pcnn_stage_config(&c1, &id, &g, 3, 8, 8) != PCNN_OK)
        return NULL;
    if (pcnn_model_create(&st[0], &c0, 4) != PCNN_OK ||
        pcnn_model_create(&st[1], &c1, 5) != PCNN_OK ||
        pcnn_chain_create(&ch, st, 2) != PCNN_OK) {
        pcnn_model_free(st[0]);
        pcnn_model_free(st[1]);
        return NULL;
    }
    return ch;
}

enum { SN = 7, SLIMIT = 6 };

/* Each image's map of stage i (hw positions) sums to its term, plain and
 * tightened; the tightened map is nowhere above the plain one. */
static void check_maps(const double *map, const double *tmap, int64_t hw,
                       const double *bits, const double *tight, int i)
{
    for (int k = 0; k < SLIMIT; k++) {
        double a = 0, t = 0;
        for (int64_t q = 0; q < hw; q++) {
            a += map[k * hw + q], t += tmap[k * hw + q];
            CHECK(map[k * hw + q] > 0 && tmap[k * hw + q] >= 0 &&
                      tmap[k * hw + q] <= map[k * hw + q] + 1e-9,
                  "stage %d image %d position %lld: %g bits, %g tightened", i,
                  k, (long long)q, map[k * hw + q], tmap[k * hw + q]);
        }
        CHECK(fabs(a / 192 - bits[2 * k + i]) < 1e-9 &&
                  fabs(t / 192 - tight[2 * k + i]) < 1e-9,
              "stage %d image %d: maps sum to %g (%g tightened), terms %g "
              "(%g)",
              i, k, a / 192, t / 192, bits[2 * k + i], tight[2 * k + i]);
    }
}

/* pcnn_chain_score on a two-stage chain of 3x8x8 images whose stage 1
 * alone is tightened, against pcnn_chain_evaluate at another batch size;
 * hw0: stage 0's positions. */
static void check_scores(pcnn_ctx *ctx, pcnn_chain *ch, int64_t hw0)
{
    REQUIRE(!pcnn_chain_stage_tightens(ch, 0) &&
                pcnn_chain_stage_tightens(ch, 1),
            "stage 1 alone tightens");
    uint8_t *x = score_images(SN);
    pcnn_dataset d = {0};
    REQUIRE_OK(pcnn_dataset_from_memory(x, SN, 3, 8, 8, NULL, 0, &d));
    /* the evaluator's per-image bits, batches of 4 */
    double ev_bits[SLIMIT];
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = 4, eo.limit = SLIMIT, eo.image_bits = ev_bits;
    pcnn_chain_eval r;
    REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &d, &eo, &r));
    /* scores in batches of 3 */
    double bits[SLIMIT * 2], tight[SLIMIT * 2], img[SLIMIT];
    double *m[4];
    for (int i = 0; i < 4; i++)
        m[i] = xcalloc(SLIMIT * 64, sizeof(double));
    pcnn_chain_scores out = {bits, tight, {m[0], m[1]}, {m[2], m[3]}};
    pcnn_eval_opts so = eo;
    so.batch = 3, so.image_bits = img;
    pcnn_chain_eval rs;
    REQUIRE_OK(pcnn_chain_score(ctx, ch, &d, &so, &rs, &out));
    CHECK(rs.images == SLIMIT && fabs(rs.total - r.total) < 1e-6 * r.total &&
              fabs(rs.tight_total - r.tight_total) < 1e-6 * r.tight_total,
          "score's evaluation %g (%g tightened), the evaluator's %g (%g)",
          rs.total, rs.tight_total, r.total, r.tight_total);
    double tsum = 0;
    for (int k = 0; k < SLIMIT; k++) {
        /* other batch sizes: equal to float rounding (a BLAS may block
         * its GEMMs by the batch); the terms sum to the image's bound */
        CHECK(fabs(img[k] - ev_bits[k]) < 1e-6 * ev_bits[k] &&
                  fabs(bits[2 * k] + bits[2 * k + 1] - img[k]) <
                      1e-12 * img[k],
              "image %d: score %.15g, terms %.15g + %.15g, evaluator %.15g",
              k, img[k], bits[2 * k], bits[2 * k + 1], ev_bits[k]);
        CHECK(tight[2 * k] == bits[2 * k] &&
                  tight[2 * k + 1] < bits[2 * k + 1],
              "image %d: tightened terms %g %g, plain %g %g", k, tight[2 * k],
              tight[2 * k + 1], bits[2 * k], bits[2 * k + 1]);
        tsum += tight[2 * k] + tight[2 * k + 1];
    }
    check_maps(m[0], m[2], hw0, bits, tight, 0);
    check_maps(m[1], m[3], 64, bits, tight, 1);
    CHECK(fabs(tsum / SLIMIT - rs.tight_total) < 1e-9 &&
              fabs(tsum / SLIMIT - r.tight_total) < 1e-6 * r.tight_total,
          "tightened terms average %g, evaluator %g", tsum / SLIMIT,
          r.tight_total);
    /* a map for a stage the chain does not have */
    out.map[2] = m[0];
    CHECK(pcnn_chain_score(ctx, ch, &d, &so, NULL, &out) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "stage 2"),
          "a third map: %s", pcnn_last_error());
    CHECK(pcnn_chain_score(ctx, ch, &d, &so, NULL, NULL) == PCNN_ERR_ARG,
          "NULL out");
    for (int i = 0; i < 4; i++)
        free(m[i]);
    free(x);
    pcnn_dataset_free(&d);
}

TEST(score_maps_sum_to_the_evaluators_figures)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_chain *ch = score_pyramid();
    REQUIRE(ch, "pyramid: %s", pcnn_last_error());
    check_scores(ctx, ch, 16);
    pcnn_chain_free(ch);
    ch = score_gray();
    REQUIRE(ch, "gray chain: %s", pcnn_last_error());
    check_scores(ctx, ch, 64);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}

TEST(pseudo_count_formula)
{
    /* rho = e^-1000, rho' = e^-999: N = rho (1 - rho') / (rho' - rho),
     * 1 / (e - 1) to double precision since rho' is negligible */
    const double want = 1 / (exp(1.0) - 1);
    CHECK(fabs(pcnn_pseudo_count(-1000, -999) - want) < 1e-15,
          "N %.17g, want %.17g", pcnn_pseudo_count(-1000, -999), want);
    /* large probabilities: rho = 0.5, rho' = 0.6: 0.5 * 0.4 / 0.1 = 2 */
    CHECK(fabs(pcnn_pseudo_count(log(0.5), log(0.6)) - 2) < 1e-12,
          "N %.17g, want 2", pcnn_pseudo_count(log(0.5), log(0.6)));
    CHECK(isinf(pcnn_pseudo_count(-5, -5)) &&
              isinf(pcnn_pseudo_count(-5, -6)),
          "no gain: no finite count");
}

/* A stream of 12 images in which image 0 comes back every other time:
 * its log p and count grow with each repeat; the chain is not changed. */
TEST(pseudo_counts_grow_for_a_repeated_image)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model_config c = score_config(8);
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &c, 3));
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, &m, 1));
    enum { N = 12 };
    uint8_t *x = score_images(N), *s = xcalloc(N * 192, 1);
    for (int k = 0; k < N; k++)
        memcpy(s + k * 192, x + (k % 2 ? k : 0) * 192, 192);
    pcnn_dataset d = {0};
    REQUIRE_OK(pcnn_dataset_from_memory(s, N, 3, 8, 8, NULL, 0, &d));
    size_t np;
    const float *p = pcnn_model_params(m, &np);
    float *before = xcalloc(np, sizeof(float));
    memcpy(before, p, np * sizeof(float));
    double a[N], b[N], n[N];
    pcnn_counts_opts o = pcnn_counts_opts_default();
    o.lr = 1e-4f;
    REQUIRE_OK(pcnn_pseudo_counts(ctx, ch, &d, &o, a, b, n));
    CHECK(memcmp(before, p, np * sizeof(float)) == 0,
          "the chain's weights changed");
    for (int k = 2; k < N; k += 2)
        CHECK(n[k] > n[k - 2] && a[k] > a[k - 2],
              "repeat %d: count %g after %g, log p %g after %g", k / 2, n[k],
              n[k - 2], a[k], a[k - 2]);
    CHECK(n[N - 2] > 1.2 * n[0], "the repeated image's count %g, first %g",
          n[N - 2], n[0]);
    for (int k = 1; k < N; k += 2)
        CHECK(b[k] > a[k] && isfinite(n[k]),
              "novel image %d: log p %g -> %g, count %g", k, a[k], b[k],
              n[k]);
    for (int k = 0; k < N; k++)
        CHECK(n[k] == pcnn_pseudo_count(a[k], b[k]), "image %d", k);
    /* Adam (the trainer's optimizer) runs too, and differs */
    double n2[N];
    o.adam = 1;
    REQUIRE_OK(pcnn_pseudo_counts(ctx, ch, &d, &o, NULL, NULL, n2));
    CHECK(n2[0] != n[0] && memcmp(before, p, np * sizeof(float)) == 0,
          "Adam: count %g, gradient descent %g", n2[0], n[0]);
    o.adam = 0;
    /* a two-stage chain is refused */
    pcnn_chain *py = score_pyramid();
    REQUIRE(py, "pyramid: %s", pcnn_last_error());
    CHECK(pcnn_pseudo_counts(ctx, py, &d, &o, NULL, NULL, n) ==
              PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "2 stages"),
          "two stages: %s", pcnn_last_error());
    o.lr = 0;
    CHECK(pcnn_pseudo_counts(ctx, ch, &d, &o, NULL, NULL, n) == PCNN_ERR_ARG,
          "lr 0");
    pcnn_chain_free(py);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&d);
    free(x), free(s), free(before);
    pcnn_ctx_free(ctx);
}
