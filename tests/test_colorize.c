/*
 * test_colorize.c -- area resizing, composing chroma with an image's own
 * lightness, and colorizing with a chroma stage model.
 */
#include "test.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Integer shrinking is the block mean; a non-square resize conserves the
 * mean within rounding; the same size is the identity. */
TEST(colorize_resize_area)
{
    uint8_t src[6 * 8], dst[3 * 4], back[6 * 8];
    for (int k = 0; k < 48; k++)
        src[k] = (uint8_t)(pcnn_uniform(3, (uint64_t)k) * 256);
    REQUIRE_OK(pcnn_resize_area(src, 6, 8, dst, 3, 4));
    int bad = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            int s = src[2 * i * 8 + 2 * j] + src[2 * i * 8 + 2 * j + 1] +
                    src[(2 * i + 1) * 8 + 2 * j] +
                    src[(2 * i + 1) * 8 + 2 * j + 1];
            bad += dst[i * 4 + j] != (s + 2) / 4;
        }
    CHECK(bad == 0, "%d block means wrong", bad);
    REQUIRE_OK(pcnn_resize_area(src, 6, 8, back, 6, 8));
    CHECK(!memcmp(src, back, 48), "same size is not the identity");
    uint8_t odd[5 * 3];
    REQUIRE_OK(pcnn_resize_area(src, 6, 8, odd, 5, 3));
    double m0 = 0, m1 = 0;
    for (int k = 0; k < 48; k++)
        m0 += src[k] / 48.0;
    for (int k = 0; k < 15; k++)
        m1 += odd[k] / 15.0;
    CHECK(fabs(m0 - m1) < 0.5, "mean %g -> %g", m0, m1);
    CHECK(pcnn_resize_area(src, 6, 8, odd, 0, 3) == PCNN_ERR_ARG,
          "size 0 accepted");
}

/* Composing an image with its own chroma at full size gives its Lab8
 * round trip exactly; neutral chroma gives a gray image (R = G = B within
 * the Lab8 rounding); shapes are checked. */
TEST(colorize_compose)
{
    const int64_t h = 6, w = 10, plane = h * w;
    uint8_t x[3 * 60], lab[3 * 60], want[3 * 60], out[3 * 60];
    for (int k = 0; k < 3 * 60; k++)
        x[k] = (uint8_t)(pcnn_uniform(4, (uint64_t)k) * 256);
    pcnn_image xi = pcnn_img(x, 1, 3, h, w), oi = pcnn_img(out, 1, 3, h, w);
    REQUIRE_OK(pcnn_rgb_to_lab8(xi, lab));
    REQUIRE_OK(pcnn_lab8_to_rgb(lab, pcnn_img(want, 1, 3, h, w)));
    REQUIRE_OK(pcnn_colorize_compose(xi, lab + plane, h, w, oi));
    CHECK(!memcmp(out, want, sizeof out), "own chroma is not the round trip");
    uint8_t flat[2 * 4];
    memset(flat, 128, sizeof flat);
    REQUIRE_OK(pcnn_colorize_compose(xi, flat, 2, 2, oi));
    int spread = 0;
    for (int64_t k = 0; k < plane; k++) {
        int a = out[k] - out[plane + k], b = out[k] - out[2 * plane + k];
        spread = abs(a) > spread ? abs(a) : spread;
        spread = abs(b) > spread ? abs(b) : spread;
    }
    CHECK(spread <= 2, "neutral chroma: channels differ by %d", spread);
    CHECK(pcnn_colorize_compose(xi, flat, 7, 2, oi) == PCNN_ERR_SHAPE,
          "chroma taller than the image accepted");
}

/* A small chroma model colorizes an image of another size: n results of
 * the image's size, each the image's lightness joined with the chroma
 * drawn (returned), a seed reproduces them, and a model that is not a
 * colorizer is refused. */
TEST(colorize_with_a_model)
{
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 2, c.height = c.width = 4;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 1;
    c.dropout = 0;
    c.view = (pcnn_view){1, 0, PCNN_LAB_AB};
    c.cond_view = (pcnn_view){0, 0, PCNN_LAB_L};
    c.cond_channels = 4, c.cond_nr_resnet = 1, c.cond_nr_filters = 4;
    c.cond_dilate = 1;
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &c, 3));
    pcnn_chain *ch; /* the colorizer alone: a partial chain of one */
    REQUIRE_OK(pcnn_chain_create(&ch, &m, 1));
    const int64_t h = 11, w = 13, img = 3 * h * w;
    uint8_t *x = xcalloc((size_t)img, 1);
    for (int64_t k = 0; k < img; k++)
        x[k] = (uint8_t)(40 + 150 * pcnn_uniform(5, (uint64_t)(k % (h * w))));
    const int n = 3;
    uint8_t *out = xcalloc((size_t)(n * img), 1), *again = xcalloc((size_t)(n * img), 1);
    uint8_t *ab = xcalloc((size_t)(n * 2 * 16), 1);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 9;
    pcnn_image xi = pcnn_img(x, 1, 3, h, w);
    REQUIRE_OK(pcnn_colorize(ctx, ch, xi, n, &o, out, ab));
    REQUIRE_OK(pcnn_colorize(ctx, ch, xi, n, &o, again, NULL));
    CHECK(!memcmp(out, again, (size_t)(n * img)), "same seed, other colors");
    /* each result is the image's own L with its drawn chroma upsampled */
    uint8_t *one = xcalloc((size_t)img, 1);
    int differ = 0, mismatch = 0;
    for (int s = 0; s < n; s++) {
        REQUIRE_OK(pcnn_colorize_compose(xi, ab + s * 32, 4, 4,
                                         pcnn_img(one, 1, 3, h, w)));
        mismatch += memcmp(one, out + s * img, (size_t)img) != 0;
        differ += s > 0 && memcmp(out, out + s * img, (size_t)img);
    }
    CHECK(mismatch == 0, "%d results are not L + their chroma", mismatch);
    CHECK(differ == n - 1, "colorizations are not diverse");
    free(one);
    int chroma_set = 0;
    for (int k = 0; k < n * 32; k++)
        chroma_set += ab[k] != 0;
    CHECK(chroma_set > 0, "chroma not returned");
    pcnn_chain_free(ch);
    c.view = (pcnn_view){0, 0, 0};
    c.channels = 3, c.cond_view = (pcnn_view){1, 0, 0}, c.cond_channels = 3;
    c.cond_dilate = 0;
    REQUIRE_OK(pcnn_model_create(&m, &c, 3));
    REQUIRE_OK(pcnn_chain_create(&ch, &m, 1));
    CHECK(pcnn_colorize(ctx, ch, xi, n, &o, out, NULL) == PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "not a colorizer"),
          "a pyramid stage taken as a colorizer: %s", pcnn_last_error());
    pcnn_chain_free(ch);
    free(x), free(out), free(again), free(ab);
    pcnn_ctx_free(ctx);
}
