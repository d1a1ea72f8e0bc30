/*
 * test_codec.c -- lossless compression (docs/compression.md): the rANS
 * coder on random and extreme tables, the integer tables, the
 * deterministic exp and log; compress -> decompress identity for plain
 * models, a pyramid, a gray and a gray-pyramid chain (tightened), a class-
 * conditional model, with 1 thread coding and 2 decoding; the coded size
 * against the model's bits; progressive decoding; damaged, truncated and
 * foreign streams refused.
 */
#include "test.h"
#include "pixelcnn.h"
#include "codec/freq.h"
#include "codec/rans.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Random tables of n symbols: the first skewed as far as 24 bits allow
 * (one symbol holds all but n-1 units), the rest random. */
static void random_table(uint32_t *freq, int n, uint64_t seed, int extreme)
{
    double mass[256];
    for (int i = 0; i < n; i++)
        mass[i] = extreme ? (i == 0 ? 1.0 : 0.0)
                          : pow(pcnn_uniform(seed, (uint64_t)i), 8);
    pcnn_quantize(mass, n, PCNN_RANS_TOTAL, freq);
}

TEST(rans_round_trips_random_and_extreme_tables)
{
    enum { N = 20000 };
    uint32_t *tab = xcalloc(8 * 256, sizeof *tab);
    int *sym = xcalloc(N, sizeof *sym), *which = xcalloc(N, sizeof *which);
    const int sizes[8] = {2, 256, 17, 256, 3, 200, 2, 256};
    for (int t = 0; t < 8; t++)
        random_table(tab + 256 * t, sizes[t], (uint64_t)t, t >= 6);
    pcnn_rans_enc e = {0};
    double bits = 0;
    for (int i = 0; i < N; i++) {
        const int t = which[i] = (int)(pcnn_uniform(99, (uint64_t)i) * 8);
        const uint32_t *f = tab + 256 * t;
        /* symbols drawn from the table itself, and in the extreme
         * tables the improbable ones too */
        int s = (int)(pcnn_uniform(98, (uint64_t)i) * sizes[t]);
        if (t < 6) {
            const double u = pcnn_uniform(97, (uint64_t)i) * PCNN_RANS_TOTAL;
            double cum = 0;
            for (s = 0; s < sizes[t] - 1 && cum + f[s] <= u; s++)
                cum += f[s];
        }
        sym[i] = s;
        uint32_t start = 0;
        for (int k = 0; k < s; k++)
            start += f[k];
        REQUIRE(pcnn_rans_put(&e, start, f[s]) == 0, "put");
        bits -= log2((double)f[s] / PCNN_RANS_TOTAL);
    }
    uint8_t *buf;
    size_t len;
    REQUIRE(pcnn_rans_finish(&e, &buf, &len) == 0, "finish");
    CHECK((double)len * 8 < bits * 1.001 + 64 + 32,
          "%zu bytes for %.0f bits of information", len, bits);
    pcnn_rans_dec d;
    REQUIRE(pcnn_rans_dec_init(&d, buf, len) == 0, "init");
    int bad = 0;
    for (int i = 0; i < N; i++) {
        const uint32_t *f = tab + 256 * which[i];
        const uint32_t v = pcnn_rans_peek(&d);
        uint32_t start = 0;
        int s = 0;
        while (s < sizes[which[i]] - 1 && start + f[s] <= v)
            start += f[s++];
        pcnn_rans_advance(&d, start, f[s]);
        bad += s != sym[i];
    }
    CHECK(bad == 0 && pcnn_rans_dec_done(&d), "%d symbols wrong, done %d",
          bad, pcnn_rans_dec_done(&d));
    /* one byte changed: the end check or the symbols see it */
    buf[len / 2] ^= 0x10;
    REQUIRE(pcnn_rans_dec_init(&d, buf, len) == 0, "init");
    bad = 0;
    for (int i = 0; i < N; i++) {
        const uint32_t *f = tab + 256 * which[i];
        const uint32_t v = pcnn_rans_peek(&d);
        uint32_t start = 0;
        int s = 0;
        while (s < sizes[which[i]] - 1 && start + f[s] <= v)
            start += f[s++];
        pcnn_rans_advance(&d, start, f[s]);
        bad += s != sym[i];
    }
    CHECK(bad > 0 || !pcnn_rans_dec_done(&d), "a damaged stream passed");
    free(buf), free(tab), free(sym), free(which);
    pcnn_rans_enc_free(&e);
}

TEST(codec_tables_sum_to_total_every_value_possible)
{
    uint32_t f[256];
    double m[256];
    /* peaked, flat, zero, NaN, infinite and tiny masses */
    for (int t = 0; t < 6; t++) {
        for (int i = 0; i < 256; i++)
            m[i] = t == 0   ? (i == 77 ? 1 : 1e-300)
                   : t == 1 ? 1
                   : t == 2 ? 0
                   : t == 3 ? (i % 2 ? NAN : 0.5)
                   : t == 4 ? (i == 3 ? INFINITY : 1)
                            : 1e-310;
        pcnn_quantize(m, 256, PCNN_RANS_TOTAL, f);
        uint64_t sum = 0;
        int min = 1 << 30;
        for (int i = 0; i < 256; i++)
            sum += f[i], min = (int)f[i] < min ? (int)f[i] : min;
        CHECK(sum == PCNN_RANS_TOTAL && min >= 1, "case %d: sum %llu min %d",
              t, (unsigned long long)sum, min);
    }
    m[0] = 1, m[1] = 3;
    pcnn_quantize(m, 2, 8, f);
    CHECK(f[0] == 2 && f[1] == 6, "2 values of 8: %u %u", f[0], f[1]);
}

TEST(codec_exp_and_log_match_libm)
{
    double worst_e = 0, worst_l = 0;
    for (int i = 0; i < 20000; i++) {
        const double v = -740 + 1445 * pcnn_uniform(5, (uint64_t)i);
        const double e = pcnn_det_exp(v), r = exp(v);
        if (r > 1e-300)
            worst_e = fmax(worst_e, fabs(e - r) / r);
        const double u = exp(-700 + 1400 * pcnn_uniform(6, (uint64_t)i));
        worst_l = fmax(worst_l, fabs(pcnn_det_log(u) - log(u)) /
                                    fmax(1, fabs(log(u))));
    }
    CHECK(worst_e < 1e-14 && worst_l < 1e-14, "exp %g, log %g", worst_e,
          worst_l);
    CHECK(pcnn_det_exp(-800) == 0 && isinf(pcnn_det_exp(800)) &&
              pcnn_det_log(1) == 0 && isinf(pcnn_det_log(0)) &&
              fabs(pcnn_det_log(4.9e-324) - log(4.9e-324)) < 1e-12,
          "edges");
}

/* ------------------------------------------------------------ chains */

static pcnn_model_config tiny(int channels, int size, const pcnn_view *view,
                              const pcnn_view *cond)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = channels;
    c.height = c.width = size;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 3;
    c.nr_resolutions = 2;
    c.dropout = 0;
    if (view)
        c.view = *view;
    if (view && view->gray4)
        c.head = PCNN_HEAD_CATEGORICAL, c.levels = 16;
    if (cond) {
        c.cond_view = *cond;
        c.cond_channels = cond->gray4 ? 1 : channels;
        c.cond_nr_resnet = 1, c.cond_nr_filters = 6;
    }
    return c;
}

/* n smooth images c x s x s with some noise: structure for the models */
static uint8_t *images(int64_t n, int c, int s, uint64_t seed)
{
    uint8_t *x = xcalloc((size_t)(n * c * s * s), 1);
    for (int64_t i = 0; i < n * c * s * s; i++) {
        const int64_t k = i % (s * s), ch = i / (s * s) % c;
        x[i] = (uint8_t)((60 * ch + 11 * (k / s) + 5 * (k % s) + 17 * (i / (c * s * s)) +
                          (int)(40 * pcnn_uniform(seed, (uint64_t)i))) % 256);
    }
    return x;
}

typedef enum { PLAIN, PYRAMID, GRAY, CLASSES, GRAY_PYRAMID } kind;

static pcnn_chain *make_chain(kind k, uint64_t seed)
{
    const pcnn_view id = {0, 0, 0}, half = {1, 0, 0}, gray = {0, 1, 0};
    pcnn_model *m[3] = {NULL, NULL, NULL};
    pcnn_model_config c0, c1, c2;
    int n = 1;
    if (k == GRAY_PYRAMID) { /* gray4(half(x)), half(x) | it, x | half(x) */
        const pcnn_view g1 = {1, 1, 0};
        c0 = tiny(1, 4, &g1, NULL);
        c1 = tiny(3, 4, &half, &g1);
        c2 = tiny(3, 8, &id, &half);
        if (pcnn_model_create(&m[2], &c2, seed + 2) != PCNN_OK)
            return NULL;
        n = 3;
    } else if (k == PLAIN || k == CLASSES) {
        c0 = tiny(3, 8, NULL, NULL);
        c0.num_classes = k == CLASSES ? 3 : 0;
    } else if (k == PYRAMID) {
        c0 = tiny(3, 4, &half, NULL);
        c1 = tiny(3, 8, &id, &half);
        n = 2;
    } else {
        c0 = tiny(1, 8, &gray, NULL);
        c1 = tiny(3, 8, &id, &gray);
        n = 2;
    }
    if (pcnn_model_create(&m[0], &c0, seed) != PCNN_OK ||
        (n >= 2 && pcnn_model_create(&m[1], &c1, seed + 1) != PCNN_OK))
        return NULL;
    pcnn_chain *ch;
    return pcnn_chain_create(&ch, m, n) == PCNN_OK ? ch : NULL;
}

/* Codes n images with 1 thread in groups of 2, decodes with 2 threads:
 * the same images and labels; 2 threads code the same bytes; the coded
 * bits within 1% (plus the framing) of the model's -log2 p. */
static void round_trip(kind k)
{
    pcnn_ctx *c1, *c2;
    REQUIRE_OK(pcnn_ctx_create(&c1, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}));
    REQUIRE_OK(pcnn_ctx_create(&c2, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 2}));
    pcnn_chain *ch = make_chain(k, 3);
    REQUIRE(ch, "chain: %s", pcnn_last_error());
    const int64_t n = 5, item = 3 * 8 * 8;
    uint8_t *x = images(n, 3, 8, 1), *y = xcalloc((size_t)(n * item), 1);
    int32_t lab[5] = {2, 0, 1, 1, 2}, got[5] = {0};
    pcnn_compress_opts o = pcnn_compress_opts_default();
    o.batch = 2;
    uint8_t *buf, *buf2;
    size_t len, len2;
    REQUIRE_OK(pcnn_compress(c1, ch, pcnn_img(x, n, 3, 8, 8), lab, &o, &buf,
                             &len));
    REQUIRE_OK(pcnn_compress(c2, ch, pcnn_img(x, n, 3, 8, 8), lab, &o, &buf2,
                             &len2));
    CHECK(len == len2 && !memcmp(buf, buf2, len),
          "1 and 2 threads code different bytes");
    REQUIRE_OK(pcnn_decompress(c2, ch, buf, len, NULL, y, got));
    CHECK(!memcmp(x, y, (size_t)(n * item)), "decoded images differ");
    CHECK(k != CLASSES || !memcmp(lab, got, sizeof lab), "labels differ");
    pcnn_codec_info info;
    REQUIRE_OK(pcnn_codec_info_read(buf, len, &info));
    CHECK(info.n == n && info.c == 3 && info.h == 8 && info.batch == 2 &&
              info.stages == pcnn_chain_stages(ch) &&
              info.weights == pcnn_chain_hash(ch),
          "info");
    pcnn_dataset d = {0};
    REQUIRE_OK(pcnn_dataset_from_memory(x, n, 3, 8, 8, lab, 3, &d));
    pcnn_chain_eval r;
    REQUIRE_OK(pcnn_chain_evaluate(c1, ch, &d, NULL, &r));
    const double model = (r.tightened ? r.tight_total : r.total) * n * item;
    /* framing: per group and stage a length, a CRC and the final state */
    const double frame = 3.0 * info.stages * (1 + 4 + 8) * 8;
    const double coded = (double)(len - info.header_bytes) * 8;
    CHECK(coded < model * 1.01 + frame && coded > model * 0.99,
          "coded %.0f bits, the model %.0f (+ %.0f framing)", coded, model,
          frame);
    /* the chains' second stages are coded tightened: below the plain bound */
    CHECK(k == PLAIN || k == CLASSES ||
              (r.tightened == (k == GRAY_PYRAMID ? 2 : 1) &&
               coded + frame < r.total * n * item),
          "tightened %d: coded %.0f bits, untightened bound %.0f",
          r.tightened, coded, r.total * n * item);
    pcnn_free(buf), pcnn_free(buf2);
    pcnn_dataset_free(&d);
    free(x), free(y);
    pcnn_chain_free(ch);
    pcnn_ctx_free(c1), pcnn_ctx_free(c2);
}

TEST(codec_plain_round_trip_threads) { round_trip(PLAIN); }
TEST(codec_pyramid_round_trip_threads) { round_trip(PYRAMID); }
TEST(codec_gray_chain_round_trip_threads) { round_trip(GRAY); }
TEST(codec_class_conditional_round_trip) { round_trip(CLASSES); }
TEST(codec_gray_pyramid_round_trip_threads) { round_trip(GRAY_PYRAMID); }

/* Decoding stops after stage K: the pyramid's stage 0 is half(X). */
TEST(codec_progressive_stage_is_the_view)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}));
    pcnn_chain *ch = make_chain(PYRAMID, 4);
    REQUIRE(ch, "chain: %s", pcnn_last_error());
    const int64_t n = 3;
    uint8_t *x = images(n, 3, 8, 2), half[3 * 3 * 16], got[3 * 3 * 16];
    const pcnn_view hv = {1, 0, 0};
    REQUIRE_OK(pcnn_view_apply(&hv, pcnn_img(x, n, 3, 8, 8), half));
    uint8_t *buf;
    size_t len;
    REQUIRE_OK(pcnn_compress(ctx, ch, pcnn_img(x, n, 3, 8, 8), NULL, NULL,
                             &buf, &len));
    pcnn_decompress_opts o = pcnn_decompress_opts_default();
    o.stage = 0;
    memset(got, 0, sizeof got);
    REQUIRE_OK(pcnn_decompress(ctx, ch, buf, len, &o, got, NULL));
    CHECK(!memcmp(got, half, sizeof half), "stage 0 is not half(x)");
    /* damage in stage 1 does not touch stage 0, and stage 1 sees it */
    pcnn_codec_info info;
    REQUIRE_OK(pcnn_codec_info_read(buf, len, &info));
    buf[len - 3] ^= 0x40;
    REQUIRE_OK(pcnn_decompress(ctx, ch, buf, len, &o, got, NULL));
    uint8_t *y = xcalloc((size_t)(n * 3 * 64), 1);
    CHECK(pcnn_decompress(ctx, ch, buf, len, NULL, y, NULL) ==
              PCNN_ERR_FORMAT,
          "damaged stage 1 decoded: %s", pcnn_last_error());
    o.stage = 2;
    CHECK(pcnn_decompress(ctx, ch, buf, len, &o, y, NULL) == PCNN_ERR_ARG,
          "stage 2 of 2");
    pcnn_free(buf), free(x), free(y);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}

/* Every byte of a small stream changed in turn, every truncation, another
 * model, another layout: an error each time, never an image. */
TEST(codec_damaged_truncated_or_foreign_streams_fail)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}));
    pcnn_chain *ch = make_chain(PLAIN, 5), *other = make_chain(PLAIN, 6);
    pcnn_chain *pyr = make_chain(PYRAMID, 5);
    REQUIRE(ch && other && pyr, "chains: %s", pcnn_last_error());
    uint8_t *x = images(1, 3, 8, 3), y[192];
    uint8_t *buf;
    size_t len;
    REQUIRE_OK(pcnn_compress(ctx, ch, pcnn_img(x, 1, 3, 8, 8), NULL, NULL,
                             &buf, &len));
    CHECK(pcnn_decompress(ctx, other, buf, len, NULL, y, NULL) ==
                  PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "another model"),
          "another model: %s", pcnn_last_error());
    CHECK(pcnn_decompress(ctx, pyr, buf, len, NULL, y, NULL) == PCNN_ERR_ARG,
          "another layout: %s", pcnn_last_error());
    int passed = 0;
    for (size_t k = 0; k < len; k += 1 + k / 64) {
        buf[k] ^= 0x01;
        const pcnn_status s = pcnn_decompress(ctx, ch, buf, len, NULL, y, NULL);
        passed += s == PCNN_OK && memcmp(x, y, sizeof y) != 0;
        passed += s != PCNN_OK && (s != PCNN_ERR_FORMAT && s != PCNN_ERR_ARG &&
                                   s != PCNN_ERR_UNSUPPORTED);
        buf[k] ^= 0x01;
    }
    CHECK(passed == 0, "%d damaged streams decoded wrong or oddly", passed);
    int ok = 0;
    for (size_t k = 0; k < len; k += 1 + k / 32)
        ok += pcnn_decompress(ctx, ch, buf, k, NULL, y, NULL) != PCNN_ERR_FORMAT;
    CHECK(ok == 0, "%d truncations not refused", ok);
    REQUIRE_OK(pcnn_decompress(ctx, ch, buf, len, NULL, y, NULL));
    CHECK(!memcmp(x, y, sizeof y), "the intact stream");
    pcnn_free(buf), free(x);
    pcnn_chain_free(ch), pcnn_chain_free(other), pcnn_chain_free(pyr);
    pcnn_ctx_free(ctx);
}

/* What the coder refuses: a partial chain, images of another shape. */
TEST(codec_refuses_partial_chains_and_other_shapes)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}));
    const pcnn_view id = {0, 0, 0}, half = {1, 0, 0};
    pcnn_model_config c = tiny(3, 8, &id, &half);
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    pcnn_chain *part, *ch = make_chain(PLAIN, 1);
    REQUIRE_OK(pcnn_chain_create(&part, &m, 1));
    uint8_t *x = images(2, 3, 8, 4), *buf;
    size_t len;
    CHECK(pcnn_compress(ctx, part, pcnn_img(x, 2, 3, 8, 8), NULL, NULL, &buf,
                        &len) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "complete chain"),
          "partial: %s", pcnn_last_error());
    CHECK(pcnn_compress(ctx, ch, pcnn_img(x, 1, 3, 4, 16), NULL, NULL, &buf,
                        &len) == PCNN_ERR_SHAPE,
          "shape: %s", pcnn_last_error());
    pcnn_compress_opts o = pcnn_compress_opts_default();
    o.batch = 0;
    CHECK(pcnn_compress(ctx, ch, pcnn_img(x, 2, 3, 8, 8), NULL, &o, &buf,
                        &len) == PCNN_ERR_ARG,
          "batch 0");
    free(x);
    pcnn_chain_free(part), pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
}
