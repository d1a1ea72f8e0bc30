/*
 * test_color.c -- sRGB <-> CIE Lab (src/chain/color.c, docs/color.md):
 * reference values from twin/lab_reference.py, neutral grays, the exact
 * double-precision round trip and the 8-bit Lab round-trip bound over all
 * 2^24 sRGB colors (with the gamut's a, b ranges), the batch layout, PSNR,
 * colorfulness, and the error paths.
 */
#include "test.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The figures docs/color.md quotes, measured by the enumerations below
 * (the Lab8 ones over all 2^24 sRGB colors; the gamut over the double
 * round trip's sample, which holds the extremes, all cube corners, as a
 * one-off run over the whole cube found); a test that fails prints the
 * new figure. */
#define GAMUT_A_MIN -86.188434 /* green (0, 255, 0) */
#define GAMUT_A_MAX 98.249724  /* magenta (255, 0, 255) */
#define GAMUT_B_MIN -107.853734 /* blue (0, 0, 255) */
#define GAMUT_B_MAX 94.487720   /* yellow (255, 255, 0) */
/* worst |sRGB -> Lab8 -> sRGB - sRGB| per channel R, G, B */
static const int LAB8_MAX_ERR[3] = {26, 10, 9};
#define LAB8_MAX_ERR_ANY 26
/* ... its PSNR over the whole cube, and how many colors come back with
 * every channel within 0, 1, 2, 3 levels */
#define LAB8_CUBE_PSNR 45.6177
static const long LAB8_WITHIN[4] = {2138039, 12584180, 14683971, 15533474};

/* Produced by /usr/bin/python3 twin/lab_reference.py (plain-Python floats,
 * the formulas of docs/color.md written out independently). */
static const struct {
    uint8_t rgb[3];
    double lab[3];
} LAB_REF[] = {
    {{255, 255, 255}, {100.0000000000, 0.0000000000, 0.0000000000}},
    {{0, 0, 0}, {0.0000000000, 0.0000000000, 0.0000000000}},
    {{255, 0, 0}, {53.2328817858, 80.1053270902, 67.2227819454}},
    {{0, 255, 0}, {87.7370334735, -86.1884340941, 83.1861435450}},
    {{0, 0, 255}, {32.3025866672, 79.1936381124, -107.8537342523}},
    {{128, 64, 200}, {41.8855012392, 53.5312738450, -60.3598228553}},
    {{10, 20, 5}, {5.2011701143, -5.9221275003, 5.6282678663}},
};

TEST(color_lab_reference_values)
{
    const size_t n = sizeof LAB_REF / sizeof LAB_REF[0];
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = LAB_REF[i].rgb;
        double lab[3];
        pcnn_srgb_to_lab(c, lab);
        /* the reference is printed with 10 decimals; 1e-6 is far below
         * the 1e-3 that matters and far above double rounding */
        for (int k = 0; k < 3; k++)
            CHECK(fabs(lab[k] - LAB_REF[i].lab[k]) <= 1e-6,
                  "(%d,%d,%d) channel %d: %.10f, reference %.10f", c[0],
                  c[1], c[2], k, lab[k], LAB_REF[i].lab[k]);
        uint8_t back[3];
        pcnn_lab_to_srgb(LAB_REF[i].lab, back);
        CHECK(!memcmp(back, c, 3), "(%d,%d,%d) back as (%d,%d,%d)", c[0],
              c[1], c[2], back[0], back[1], back[2]);
    }
    /* white and black exactly */
    double lab[3];
    pcnn_srgb_to_lab((const uint8_t[3]){255, 255, 255}, lab);
    CHECK(lab[0] == 100 && lab[1] == 0 && lab[2] == 0,
          "white: %.17g %.17g %.17g", lab[0], lab[1], lab[2]);
    pcnn_srgb_to_lab((const uint8_t[3]){0, 0, 0}, lab);
    CHECK(fabs(lab[0]) < 1e-12 && lab[1] == 0 && lab[2] == 0,
          "black: %.17g %.17g %.17g", lab[0], lab[1], lab[2]);
    /* out-of-gamut Lab clamps: L = 100 with a large a is no valid color */
    uint8_t rgb[3];
    pcnn_lab_to_srgb((const double[3]){100, 127, 0}, rgb);
    CHECK(rgb[0] == 255, "clamped red channel %d", rgb[0]);
    pcnn_lab_to_srgb((const double[3]){-5, 0, 0}, rgb);
    CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0, "below black: %d %d %d",
          rgb[0], rgb[1], rgb[2]);
}

TEST(color_grays_are_neutral)
{
    uint8_t rgb[3 * 256], lab8[3 * 256];
    double prev_l = -1;
    for (int v = 0; v < 256; v++) {
        rgb[v] = rgb[256 + v] = rgb[512 + v] = (uint8_t)v;
        double lab[3];
        pcnn_srgb_to_lab((const uint8_t[3]){(uint8_t)v, (uint8_t)v,
                                            (uint8_t)v},
                         lab);
        CHECK(fabs(lab[1]) < 1e-12 && fabs(lab[2]) < 1e-12,
              "gray %d: a %.3g b %.3g", v, lab[1], lab[2]);
        CHECK(lab[0] > prev_l, "L not increasing at gray %d", v);
        prev_l = lab[0];
    }
    /* one image (1, 3, 16, 16) holding the 256 grays */
    REQUIRE_OK(pcnn_rgb_to_lab8(pcnn_img(rgb, 1, 3, 16, 16), lab8));
    int bad = 0;
    for (int v = 0; v < 256; v++)
        bad += lab8[256 + v] != 128 || lab8[512 + v] != 128;
    CHECK(bad == 0, "%d grays with a8 or b8 != 128", bad);
    CHECK(lab8[0] == 0 && lab8[255] == 255, "L8 of black %d, of white %d",
          lab8[0], lab8[255]);
    /* and back: every gray is itself again */
    uint8_t back[3 * 256];
    REQUIRE_OK(pcnn_lab8_to_rgb(lab8, pcnn_img(back, 1, 3, 16, 16)));
    int err = 0;
    for (int k = 0; k < 3 * 256; k++)
        err = abs(back[k] - rgb[k]) > err ? abs(back[k] - rgb[k]) : err;
    CHECK(err == 1, "grays: round-trip error %d (docs/color.md: 1)", err);
}

/* The colors of the double round trip: a dense sample, every color with
 * (r + g + b) % 3 == 0 (each (r, g) pair with 85 or 86 blues) and every
 * color on the faces of the RGB cube (a channel 0 or 255), 5,852,506
 * of the 2^24. The whole cube (2.7 s of CPU here, too slow for the suite)
 * was run once and also came back exact (docs/color.md). */
static int in_sample(int r, int g, int b)
{
    return (r + g + b) % 3 == 0 || r % 255 == 0 || g % 255 == 0 ||
           b % 255 == 0;
}

TEST(color_double_round_trip_exact)
{
    double lo[3] = {INFINITY, INFINITY, INFINITY};
    double hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    long bad = 0, count = 0;
    uint8_t first[3] = {0, 0, 0}, got[3] = {0, 0, 0};
    for (int r = 0; r < 256; r++)
        for (int g = 0; g < 256; g++)
            for (int b = 0; b < 256; b++) {
                if (!in_sample(r, g, b))
                    continue;
                const uint8_t c[3] = {(uint8_t)r, (uint8_t)g, (uint8_t)b};
                double lab[3];
                uint8_t back[3];
                pcnn_srgb_to_lab(c, lab);
                pcnn_lab_to_srgb(lab, back);
                for (int k = 0; k < 3; k++) {
                    lo[k] = lab[k] < lo[k] ? lab[k] : lo[k];
                    hi[k] = lab[k] > hi[k] ? lab[k] : hi[k];
                }
                count++;
                if (memcmp(c, back, 3) && bad++ == 0)
                    memcpy(first, c, 3), memcpy(got, back, 3);
            }
    CHECK(count == 5852506, "%ld colors in the sample", count);
    CHECK(bad == 0, "%ld colors change, first (%d,%d,%d) -> (%d,%d,%d)", bad,
          first[0], first[1], first[2], got[0], got[1], got[2]);
    /* the gamut: the extremes are cube corners, all in the sample */
    CHECK(fabs(lo[0]) < 1e-12 && fabs(hi[0] - 100) < 1e-12, "L in [%g, %g]",
          lo[0], hi[0]);
    CHECK(fabs(lo[1] - GAMUT_A_MIN) < 1e-6 && fabs(hi[1] - GAMUT_A_MAX) < 1e-6,
          "a in [%.6f, %.6f], documented [%.6f, %.6f]", lo[1], hi[1],
          GAMUT_A_MIN, GAMUT_A_MAX);
    CHECK(fabs(lo[2] - GAMUT_B_MIN) < 1e-6 && fabs(hi[2] - GAMUT_B_MAX) < 1e-6,
          "b in [%.6f, %.6f], documented [%.6f, %.6f]", lo[2], hi[2],
          GAMUT_B_MIN, GAMUT_B_MAX);
}

/* All 2^24 colors through pcnn_rgb_to_lab8 and pcnn_lab8_to_rgb, one
 * (1, 3, 256, 256) image per red value: the worst error per channel is
 * the documented one (attained, so the figure stays current), no Lab8
 * code is clamped, and the PSNR of the whole cube. */
TEST(color_lab8_round_trip_all_colors)
{
    enum { M = 65536 };
    uint8_t *rgb = xcalloc(3 * M, 1), *lab = xcalloc(3 * M, 1);
    uint8_t *back = xcalloc(3 * M, 1);
    int worst[3] = {0, 0, 0}, code_lo[3] = {255, 255, 255}, code_hi[3] = {0};
    long within[4] = {0}; /* colors whose largest error is <= 0, 1, 2, 3 */
    uint64_t sq = 0;
    for (int r = 0; r < 256 && !test_failed(); r++) {
        for (int k = 0; k < M; k++) {
            rgb[k] = (uint8_t)r;
            rgb[M + k] = (uint8_t)(k >> 8);
            rgb[2 * M + k] = (uint8_t)(k & 255);
        }
        CHECK(pcnn_rgb_to_lab8(pcnn_img(rgb, 1, 3, 256, 256), lab) == PCNN_OK,
              "%s", pcnn_last_error());
        CHECK(pcnn_lab8_to_rgb(lab, pcnn_img(back, 1, 3, 256, 256)) ==
                  PCNN_OK,
              "%s", pcnn_last_error());
        for (int k = 0; k < M; k++) {
            int e = 0;
            for (int ch = 0; ch < 3; ch++) {
                const int d = abs(back[ch * M + k] - rgb[ch * M + k]);
                const int q = lab[ch * M + k];
                worst[ch] = d > worst[ch] ? d : worst[ch];
                e = d > e ? d : e;
                sq += (uint64_t)(d * d);
                code_lo[ch] = q < code_lo[ch] ? q : code_lo[ch];
                code_hi[ch] = q > code_hi[ch] ? q : code_hi[ch];
            }
            for (int t = e; t < 4; t++)
                within[t]++;
        }
    }
    for (int ch = 0; ch < 3; ch++)
        CHECK(worst[ch] == LAB8_MAX_ERR[ch],
              "channel %d: worst error %d, documented %d (docs/color.md)", ch,
              worst[ch], LAB8_MAX_ERR[ch]);
    CHECK(code_lo[0] == 0 && code_hi[0] == 255, "L8 in [%d, %d]", code_lo[0],
          code_hi[0]);
    /* round(a) + 128 over a in [-86.19, 98.25], b in [-107.85, 94.49] */
    CHECK(code_lo[1] == 42 && code_hi[1] == 226 && code_lo[2] == 20 &&
              code_hi[2] == 222,
          "a8 in [%d, %d], b8 in [%d, %d]", code_lo[1], code_hi[1],
          code_lo[2], code_hi[2]);
    /* the same PSNR as pcnn_psnr would give over the whole cube */
    const double psnr = 10 * log10(65025 / ((double)sq / (3.0 * 16777216)));
    CHECK(fabs(psnr - LAB8_CUBE_PSNR) < 1e-4, "PSNR %.6f dB, documented %.4f",
          psnr, LAB8_CUBE_PSNR);
    CHECK(within[0] == LAB8_WITHIN[0] && within[1] == LAB8_WITHIN[1] &&
              within[2] == LAB8_WITHIN[2] && within[3] == LAB8_WITHIN[3],
          "colors within 0, 1, 2, 3 levels: %ld %ld %ld %ld", within[0],
          within[1], within[2], within[3]);
    free(rgb), free(lab), free(back);
}

/* A batch of two (3, 1, 2) images: planes L8, a8, b8 per image, each
 * pixel the quantized pcnn_srgb_to_lab of its own color. */
TEST(color_lab8_batch_layout)
{
    const uint8_t px[4][3] = {
        {255, 0, 0}, {0, 0, 255}, {128, 64, 200}, {12, 200, 90}};
    uint8_t rgb[12], lab[12], back[12];
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 2; k++)
            for (int ch = 0; ch < 3; ch++)
                rgb[n * 6 + ch * 2 + k] = px[2 * n + k][ch];
    REQUIRE_OK(pcnn_rgb_to_lab8(pcnn_img(rgb, 2, 3, 1, 2), lab));
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 2; k++) {
            double v[3];
            pcnn_srgb_to_lab(px[2 * n + k], v);
            const int want[3] = {(int)floor(v[0] * 255 / 100 + 0.5),
                                 (int)floor(v[1] + 0.5) + 128,
                                 (int)floor(v[2] + 0.5) + 128};
            for (int ch = 0; ch < 3; ch++)
                CHECK(lab[n * 6 + ch * 2 + k] == want[ch],
                      "image %d pixel %d plane %d: %d, want %d", n, k, ch,
                      lab[n * 6 + ch * 2 + k], want[ch]);
        }
    /* red (53.23, 80.11, 67.22) -> L8 136 (135.74), a8 208, b8 195 */
    CHECK(lab[0] == 136 && lab[2] == 208 && lab[4] == 195,
          "red in Lab8: %d %d %d", lab[0], lab[2], lab[4]);
    REQUIRE_OK(pcnn_lab8_to_rgb(lab, pcnn_img(back, 2, 3, 1, 2)));
    for (int i = 0; i < 12; i++)
        CHECK(abs(back[i] - rgb[i]) <= LAB8_MAX_ERR_ANY, "byte %d: %d vs %d",
              i, back[i], rgb[i]);
    /* and each pixel of the batch as pcnn_lab_to_srgb of the dequantized
     * codes: L8 * 100/255, a8 - 128, b8 - 128 */
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 2; k++) {
            const double v[3] = {lab[n * 6 + k] * 100.0 / 255,
                                 lab[n * 6 + 2 + k] - 128.0,
                                 lab[n * 6 + 4 + k] - 128.0};
            uint8_t c[3];
            pcnn_lab_to_srgb(v, c);
            for (int ch = 0; ch < 3; ch++)
                CHECK(back[n * 6 + ch * 2 + k] == c[ch],
                      "image %d pixel %d channel %d: %d, want %d", n, k, ch,
                      back[n * 6 + ch * 2 + k], c[ch]);
        }
}

TEST(color_psnr_known_values)
{
    enum { N = 1000 };
    uint8_t a[N], b[N];
    for (int i = 0; i < N; i++) {
        a[i] = (uint8_t)(i % 255);
        b[i] = (uint8_t)(a[i] + 1); /* every byte off by one: MSE 1 */
    }
    /* 10 log10(255^2) = 48.1308 dB */
    double p = pcnn_psnr(a, b, N);
    CHECK(fabs(p - 48.130803608679104) < 1e-9, "off by one: %.12f dB", p);
    CHECK(fabs(pcnn_psnr(b, a, N) - p) == 0, "not symmetric");
    CHECK(isinf(pcnn_psnr(a, a, N)) && pcnn_psnr(a, a, N) > 0,
          "equal arrays: %g", pcnn_psnr(a, a, N));
    /* one byte off by 10 in 4: MSE 25, 10 log10(65025 / 25) = 34.1514 */
    const uint8_t c[4] = {0, 0, 0, 0}, d[4] = {0, 0, 0, 10};
    CHECK(fabs(pcnn_psnr(c, d, 4) - 34.151403521958725) < 1e-9, "%.12f",
          pcnn_psnr(c, d, 4));
    /* the largest error: 0 vs 255 everywhere is 0 dB */
    const uint8_t z[2] = {0, 255}, f[2] = {255, 0};
    CHECK(pcnn_psnr(z, f, 2) == 0, "0 vs 255: %g", pcnn_psnr(z, f, 2));
    CHECK(isnan(pcnn_psnr(NULL, b, N)) &&
              strstr(pcnn_last_error(), "pcnn_psnr"),
          "NULL a: %s", pcnn_last_error());
    CHECK(isnan(pcnn_psnr(a, b, 0)) && strstr(pcnn_last_error(), "n = 0"),
          "n = 0: %s", pcnn_last_error());
}

TEST(color_colorfulness_known_values)
{
    /* a gray 4x4 image (R = G = B, varying): rg = yb = 0, M = 0 exactly */
    uint8_t g[48];
    for (int k = 0; k < 16; k++)
        g[k] = g[16 + k] = g[32 + k] = (uint8_t)(k * 17);
    CHECK(pcnn_colorfulness(g, 4, 4) == 0, "gray: %g",
          pcnn_colorfulness(g, 4, 4));
    /* two pixels, red (255, 0, 0) and blue (0, 0, 255), planes R, G, B:
     * rg = 255, 0: mean 127.5, sd 127.5;
     * yb = 127.5, -255: mean -63.75, sd 191.25;
     * M = sqrt(127.5^2 + 191.25^2) + 0.3 sqrt(127.5^2 + 63.75^2)
     *   = 127.5 sqrt(3.25) + 0.3 * 63.75 sqrt(5) = 229.8540 + 42.7648
     *   = 272.6187 */
    const uint8_t rb[6] = {255, 0, 0, 0, 0, 255};
    const double want = 127.5 * sqrt(3.25) + 0.3 * 63.75 * sqrt(5);
    const double m = pcnn_colorfulness(rb, 1, 2);
    CHECK(fabs(m - want) < 1e-9 && fabs(m - 272.6187) < 1e-4,
          "red and blue: %.9f, want %.9f", m, want);
    /* one flat color: no spread, M = 0.3 sqrt(mean_rg^2 + mean_yb^2);
     * (200, 100, 50): rg 100, yb 100 */
    const uint8_t flat[6] = {200, 200, 100, 100, 50, 50};
    CHECK(fabs(pcnn_colorfulness(flat, 2, 1) - 0.3 * sqrt(20000)) < 1e-9,
          "flat: %.9f", pcnn_colorfulness(flat, 2, 1));
    CHECK(isnan(pcnn_colorfulness(NULL, 2, 2)) &&
              strstr(pcnn_last_error(), "pcnn_colorfulness"),
          "NULL: %s", pcnn_last_error());
    CHECK(isnan(pcnn_colorfulness(rb, 0, 2)) &&
              strstr(pcnn_last_error(), "pcnn_colorfulness"),
          "h = 0: %s", pcnn_last_error());
}

/* status and a message naming the function */
#define EXPECT(call, want, fn)                                                \
    CHECK((call) == (want) && strstr(pcnn_last_error(), fn), "%s: %s",       \
          #call, pcnn_last_error())

TEST(color_error_paths)
{
    uint8_t rgb[12] = {0}, lab[12] = {0};
    const char *to = "pcnn_rgb_to_lab8", *from = "pcnn_lab8_to_rgb";
    EXPECT(pcnn_rgb_to_lab8(pcnn_img(NULL, 1, 3, 2, 2), lab), PCNN_ERR_ARG,
           to);
    EXPECT(pcnn_rgb_to_lab8(pcnn_img(rgb, 1, 3, 2, 2), NULL), PCNN_ERR_ARG,
           to);
    EXPECT(pcnn_rgb_to_lab8(pcnn_img(rgb, 0, 3, 2, 2), lab), PCNN_ERR_ARG,
           to);
    EXPECT(pcnn_rgb_to_lab8(pcnn_img(rgb, 1, 3, 0, 2), lab), PCNN_ERR_ARG,
           to);
    EXPECT(pcnn_rgb_to_lab8(pcnn_img(rgb, 4, 1, 1, 3), lab), PCNN_ERR_SHAPE,
           to);
    EXPECT(pcnn_rgb_to_lab8(pcnn_img(rgb, 1, 4, 1, 3), lab), PCNN_ERR_SHAPE,
           to);
    EXPECT(pcnn_rgb_to_lab8(pcnn_img(rgb, INT64_MAX / 2, 3, 2, 2), lab),
           PCNN_ERR_NOMEM, to);
    EXPECT(pcnn_lab8_to_rgb(NULL, pcnn_img(rgb, 1, 3, 2, 2)), PCNN_ERR_ARG,
           from);
    EXPECT(pcnn_lab8_to_rgb(lab, pcnn_img(NULL, 1, 3, 2, 2)), PCNN_ERR_ARG,
           from);
    EXPECT(pcnn_lab8_to_rgb(lab, pcnn_img(rgb, -1, 3, 2, 2)), PCNN_ERR_ARG,
           from);
    EXPECT(pcnn_lab8_to_rgb(lab, pcnn_img(rgb, 1, 1, 2, 6)), PCNN_ERR_SHAPE,
           from);
    /* nothing was written by a failed call */
    int touched = 0;
    for (int i = 0; i < 12; i++)
        touched |= rgb[i] | lab[i];
    CHECK(!touched, "a failed call wrote its output");
}
