/*
 * test_codec_color.c -- lossless compression with a color chain
 * (docs/compression.md): a model of L(X) and a colorizer of half(ab(X))
 * given L(X), then X among the colors of each pixel's lightness. The
 * candidate colors against every one of the 2^24 colors; compress ->
 * decompress identity with 1 thread coding and 2 decoding; each stage's
 * preview; damaged and foreign streams refused.
 */
#include "test.h"
#include "pixelcnn.h"
#include "codec/lab.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The L8 of every color agrees with pcnn_rgb_to_lab8, and the candidates
 * of each channel are exactly the values that some color of the lightness
 * has: the reds of each lightness, the greens given each red, and (for
 * every fifth red and the last) the blues given each red and green. */
TEST(codec_lab_candidates_are_the_colors_of_each_lightness)
{
    double lin[256];
    pcnn_srgb_linear_table(lin);
    uint8_t *rgb = malloc(3 * 65536), *lab = malloc(3 * 65536);
    REQUIRE(rgb && lab, "memory");
    static uint64_t red_has[256][4]; /* the lightnesses each red reaches */
    memset(red_has, 0, sizeof red_has);
    int bad_lab = 0, bad_b = 0, bad_g = 0, bad_r = 0;
    for (int r = 0; r < 256; r++) {
        for (int i = 0; i < 65536; i++)
            rgb[i] = (uint8_t)r, rgb[65536 + i] = (uint8_t)(i / 256),
            rgb[131072 + i] = (uint8_t)(i % 256);
        REQUIRE_OK(pcnn_rgb_to_lab8(pcnn_img(rgb, 1, 3, 256, 256), lab));
        uint64_t green_has[256][4] = {{0}};
        for (int g = 0; g < 256; g++) {
            const uint8_t *row = lab + g * 256; /* L8 over blue */
            int first[256], last[256], count[256] = {0};
            for (int b = 0; b < 256; b++) {
                const int l = row[b];
                bad_lab += pcnn_lab8_lightness(lin, r, g, b) != l;
                green_has[g][l / 64] |= 1ull << (l % 64);
                first[l] = count[l]++ ? first[l] : b;
                last[l] = b;
            }
            for (int l = 0; (r % 5 == 0 || r == 255) && l < 256; l++) {
                int lo, hi, v[3] = {r, g, 0};
                pcnn_lab_range(lin, l, 2, v, &lo, &hi);
                bad_b += count[l] ? lo != first[l] || hi != last[l] ||
                                        count[l] != hi - lo + 1
                                  : lo <= hi;
            }
        }
        for (int l = 0; l < 256; l++) {
            int lo, hi, v[3] = {r, 0, 0}, any = 0;
            pcnn_lab_range(lin, l, 1, v, &lo, &hi);
            for (int g = 0; g < 256; g++) {
                const int has = (int)(green_has[g][l / 64] >> (l % 64) & 1);
                bad_g += has != (g >= lo && g <= hi);
                any |= has;
            }
            red_has[r][l / 64] |= (uint64_t)any << (l % 64);
        }
    }
    for (int l = 0; l < 256; l++) {
        int lo, hi, v[3] = {0, 0, 0};
        pcnn_lab_range(lin, l, 0, v, &lo, &hi);
        for (int r = 0; r < 256; r++)
            bad_r += (int)(red_has[r][l / 64] >> (l % 64) & 1) !=
                     (r >= lo && r <= hi);
    }
    CHECK(bad_lab == 0, "%d colors whose L8 differs from pcnn_rgb_to_lab8",
          bad_lab);
    CHECK(bad_r + bad_g + bad_b == 0,
          "candidates that are not the colors of the lightness: %d reds, "
          "%d greens, %d blues",
          bad_r, bad_g, bad_b);
    free(rgb), free(lab);
}

/* ------------------------------------------------------------ chains */

/* A tiny stage of 8x8 images: view given cond (NULL: none). */
static pcnn_model *stage(const pcnn_view *view, const pcnn_view *cond,
                         uint64_t seed)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 3;
    c.nr_resolutions = 2;
    c.dropout = 0;
    c.cond_nr_resnet = 1, c.cond_nr_filters = 6, c.cond_down = 0;
    pcnn_model *m = NULL;
    if (pcnn_stage_config(&c, view, cond, 3, 8, 8) != PCNN_OK ||
        pcnn_model_create(&m, &c, seed) != PCNN_OK)
        return NULL;
    return m;
}

/* L(x), then half(ab(x)) given L(x); with only_colorizer the colorizer
 * alone. */
static pcnn_chain *color_chain(uint64_t seed, int only_colorizer)
{
    const pcnn_view L = {0, 0, PCNN_LAB_L}, ab = {1, 0, PCNN_LAB_AB};
    pcnn_model *m[2] = {stage(&L, NULL, seed), stage(&ab, &L, seed + 1)};
    pcnn_chain *ch = NULL;
    if (!m[0] || !m[1]) {
        pcnn_model_free(m[0]), pcnn_model_free(m[1]);
        return NULL;
    }
    if (only_colorizer)
        pcnn_model_free(m[0]);
    if (pcnn_chain_create(&ch, only_colorizer ? m + 1 : m,
                          only_colorizer ? 1 : 2) != PCNN_OK)
        return NULL;
    return ch;
}

/* n 3x8x8 images: smooth colors with some noise (JPEG-like), and with
 * noisy the last one uniform noise. */
static uint8_t *images(int64_t n, uint64_t seed, int noisy)
{
    uint8_t *x = malloc((size_t)(n * 192));
    for (int64_t i = 0; x && i < n * 192; i++) {
        const int64_t k = i % 64, c = i / 64 % 3, b = i / 192;
        const double u = pcnn_uniform(seed, (uint64_t)i);
        x[i] = noisy && b == n - 1
                   ? (uint8_t)(256 * u)
                   : (uint8_t)((50 + 60 * c + 9 * (k / 8) + 4 * (k % 8) +
                                23 * b + (int)(6 * u)) %
                               256);
    }
    return x;
}

/* Codes 5 images (the last noise) with 1 thread in groups of 2, decodes
 * with 2: the same images, the same bytes from 2 threads; stage 0 is
 * L(x), stage 1 half(ab(x)); the models' stages cost what the chain
 * evaluates, and the colors of the smooth images less than uniform
 * among the colors of their lightness. */
TEST(codec_color_chain_round_trip)
{
    pcnn_ctx *c1, *c2;
    REQUIRE_OK(pcnn_ctx_create(&c1, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}));
    REQUIRE_OK(pcnn_ctx_create(&c2, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 2}));
    pcnn_chain *ch = color_chain(7, 0);
    REQUIRE(ch, "chain: %s", pcnn_last_error());
    const int64_t n = 5;
    uint8_t *x = images(n, 1, 1), *y = calloc(n * 192, 1);
    uint8_t *buf, *buf2;
    size_t len, len2;
    pcnn_compress_opts o = pcnn_compress_opts_default();
    o.batch = 2;
    REQUIRE_OK(pcnn_compress(c1, ch, pcnn_img(x, n, 3, 8, 8), NULL, &o, &buf,
                             &len));
    REQUIRE_OK(pcnn_compress(c2, ch, pcnn_img(x, n, 3, 8, 8), NULL, &o,
                             &buf2, &len2));
    CHECK(len == len2 && !memcmp(buf, buf2, len),
          "1 and 2 threads code different bytes");
    REQUIRE_OK(pcnn_decompress(c2, ch, buf, len, NULL, y, NULL));
    CHECK(!memcmp(x, y, (size_t)(n * 192)), "decoded images differ");
    pcnn_codec_info info;
    REQUIRE_OK(pcnn_codec_info_read(buf, len, &info));
    CHECK(info.stages == 3 && info.stage_c[0] == 1 && info.stage_c[1] == 2 &&
              info.stage_h[1] == 4 && info.stage_c[2] == 3 &&
              info.stage_h[2] == 8,
          "stages %d", info.stages);
    /* the previews: L(x) and half(ab(x)) */
    const pcnn_view L = {0, 0, PCNN_LAB_L}, ab = {1, 0, PCNN_LAB_AB};
    uint8_t want[5 * 64], got[5 * 64];
    pcnn_decompress_opts d = pcnn_decompress_opts_default();
    for (int k = 0; k < 2; k++) {
        REQUIRE_OK(pcnn_view_apply(k ? &ab : &L, pcnn_img(x, n, 3, 8, 8),
                                   want));
        d.stage = k;
        REQUIRE_OK(pcnn_decompress(c1, ch, buf, len, &d, got, NULL));
        CHECK(!memcmp(got, want, (size_t)(n * 64 / (k ? 2 : 1))),
              "stage %d is not its view", k);
    }
    /* stage 1 as a colorization: each image's L with its half(ab)
     * composed as pcnn_colorize does; stage 0 is no chroma */
    uint8_t rgb[5 * 192], one[192];
    d.colorize = 1;
    REQUIRE_OK(pcnn_decompress(c1, ch, buf, len, &d, rgb, NULL));
    for (int64_t b = 0; b < n; b++) {
        REQUIRE_OK(pcnn_colorize_compose(pcnn_img(x + b * 192, 1, 3, 8, 8),
                                         want + b * 32, 4, 4,
                                         pcnn_img(one, 1, 3, 8, 8)));
        CHECK(!memcmp(rgb + b * 192, one, 192),
              "image %lld: the colorization of stage 1 differs",
              (long long)b);
    }
    d.stage = 0;
    CHECK(pcnn_decompress(c1, ch, buf, len, &d, rgb, NULL) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "not a color chain's chroma"),
          "colorize of stage 0: %s", pcnn_last_error());
    /* the model stages cost the chain's -log2 p (within 1%, the framing) */
    pcnn_dataset ds = {0};
    REQUIRE_OK(pcnn_dataset_from_memory(x, n, 3, 8, 8, NULL, 0, &ds));
    pcnn_chain_eval r;
    REQUIRE_OK(pcnn_chain_evaluate(c1, ch, &ds, NULL, &r));
    const double model = r.total * n * 192, frame = 3.0 * 2 * 13 * 8;
    const double coded = 8.0 * (double)(info.stage_bytes[0] +
                                        info.stage_bytes[1]);
    CHECK(coded < model * 1.01 + frame && coded > model * 0.99,
          "stages 0, 1: coded %.0f bits, the model %.0f", coded, model);
    /* the colors of the 4 smooth images against uniform among the colors
     * of each pixel's lightness (the noise image: at most 24 bits a
     * pixel) */
    double lin[256], uniform = 64 * 24;
    pcnn_srgb_linear_table(lin);
    static unsigned count[256];
    memset(count, 0, sizeof count);
    for (int c = 0; c < 1 << 24; c++)
        count[pcnn_lab8_lightness(lin, c >> 16, c >> 8 & 255, c & 255)]++;
    for (int64_t i = 0; i < 4 * 64; i++) {
        const uint8_t *p = x + i / 64 * 192 + i % 64;
        uniform += log2(count[pcnn_lab8_lightness(lin, p[0], p[64], p[128])]);
    }
    CHECK(8.0 * (double)info.stage_bytes[2] < uniform,
          "colors: %zu bytes, uniform %.0f bits", info.stage_bytes[2],
          uniform);
    pcnn_free(buf), pcnn_free(buf2);
    pcnn_dataset_free(&ds);
    free(x), free(y);
    pcnn_chain_free(ch);
    pcnn_ctx_free(c1), pcnn_ctx_free(c2);
}

/* Damaged bytes anywhere, truncations, another colorizer: errors, never
 * other images; the colorizer alone is refused. */
TEST(codec_color_chain_refuses_damage_and_foreign_models)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}));
    pcnn_chain *ch = color_chain(3, 0), *other = color_chain(4, 0);
    pcnn_chain *alone = color_chain(3, 1);
    REQUIRE(ch && other && alone, "chains: %s", pcnn_last_error());
    uint8_t *x = images(1, 2, 0), y[192], *buf;
    size_t len;
    CHECK(pcnn_compress(ctx, alone, pcnn_img(x, 1, 3, 8, 8), NULL, NULL,
                        &buf, &len) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "followed by a colorizer"),
          "the colorizer alone: %s", pcnn_last_error());
    REQUIRE_OK(pcnn_compress(ctx, ch, pcnn_img(x, 1, 3, 8, 8), NULL, NULL,
                             &buf, &len));
    CHECK(pcnn_decompress(ctx, other, buf, len, NULL, y, NULL) ==
                  PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "another model"),
          "another model: %s", pcnn_last_error());
    int wrong = 0, ok = 0;
    for (size_t k = 0; k < len; k++) {
        buf[k] ^= 0x10;
        const pcnn_status s = pcnn_decompress(ctx, ch, buf, len, NULL, y, NULL);
        wrong += s == PCNN_OK && memcmp(x, y, sizeof y) != 0;
        wrong += s != PCNN_OK && s != PCNN_ERR_FORMAT && s != PCNN_ERR_ARG &&
                 s != PCNN_ERR_UNSUPPORTED;
        buf[k] ^= 0x10;
    }
    CHECK(wrong == 0, "%d damaged streams decoded wrong or oddly", wrong);
    for (size_t k = 0; k < len; k += 3)
        ok += pcnn_decompress(ctx, ch, buf, k, NULL, y, NULL) !=
              PCNN_ERR_FORMAT;
    CHECK(ok == 0, "%d truncations not refused", ok);
    REQUIRE_OK(pcnn_decompress(ctx, ch, buf, len, NULL, y, NULL));
    CHECK(!memcmp(x, y, sizeof y), "the intact stream");
    pcnn_free(buf), free(x);
    pcnn_chain_free(ch), pcnn_chain_free(other), pcnn_chain_free(alone);
    pcnn_ctx_free(ctx);
}
