/*
 * heatmap.c -- the picture of `pixelcnn score --heatmap`: for each image,
 * a stage's view next to the bits of each of its pixels as colors.
 */
#include "sampling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0 .. n) (a sorted copy); 0 when out of memory. */
static double quantile(const double *v, size_t n, double q)
{
    double *s = malloc(n * sizeof *s);
    if (!s)
        return 0;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    const double r = s[(size_t)(q * (double)(n - 1))];
    free(s);
    return r;
}

/* t in [0, 1] to black, purple, orange, yellow (piecewise linear). */
static void heat_color(double t, uint8_t rgb[3])
{
    static const double stops[4][3] = {
        {0, 0, 0}, {120, 28, 109}, {237, 105, 37}, {252, 255, 164}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const double x = t * 3;
    const int i = x >= 3 ? 2 : (int)x;
    const double f = x - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]) +
                           0.5);
}

int score_heatmap(const char *path, const pcnn_chain *ch, int stage,
                  const pcnn_dataset *x, const double *map, int64_t n,
                  int scale)
{
    const pcnn_model_config *c =
        pcnn_model_get_config(pcnn_chain_stage(ch, stage));
    const int C = c->channels, H = c->height, W = c->width;
    const size_t hw = (size_t)H * (size_t)W;
    uint8_t *view = malloc((size_t)n * (size_t)C * hw);
    uint8_t *cells = malloc((size_t)(2 * n) * 3 * hw);
    if (!view || !cells ||
        pcnn_view_apply(&c->view, pcnn_img(x->images, n, x->c, x->h, x->w),
                        view) != PCNN_OK) {
        fprintf(stderr, "pixelcnn score: --heatmap: %s\n",
                view && cells ? pcnn_last_error() : "out of memory");
        free(view), free(cells);
        return 1;
    }
    double top = quantile(map, (size_t)n * hw, 0.99);
    if (!(top > 0))
        top = 1;
    for (int64_t k = 0; k < n; k++) {
        uint8_t *img = cells + (size_t)(2 * k) * 3 * hw, *heat = img + 3 * hw;
        sampling_display(img, 3, H, W, view + (size_t)k * C * hw, C, H, W,
                         c->levels);
        for (size_t q = 0; q < hw; q++) {
            uint8_t rgb[3];
            heat_color(map[(size_t)k * hw + q] / top, rgb);
            for (int e = 0; e < 3; e++)
                heat[e * hw + q] = rgb[e];
        }
    }
    if (!scale)
        scale = W >= 128 ? 1 : (128 + W - 1) / W > 32 ? 32 : (128 + W - 1) / W;
    const int cols = 2 * (int)(n < 4 ? n : 4);
    int rc = cli_check_grid("score", path, 2 * n, H, W, cols, scale);
    if (!rc)
        rc = cli_write_grid(path, cells, 2 * n, 3, H, W, cols, scale);
    if (!rc)
        fprintf(stderr,
                "pixelcnn score: %s: stage %d's view and its bits per pixel, "
                "black (0) to yellow (%.3g bits and above)\n",
                path, stage, top);
    free(view), free(cells);
    return rc;
}
