/*
 * colorize.c -- colorization with a chroma stage (docs/colorize.md): a
 * model of half^k(ab(X)) given L(X) samples chroma for the lightness of
 * an image of any size, and the image's own lightness carries the detail.
 */
#include "../core/internal.h"

#include <math.h>
#include <string.h>

/* Bilinear upsampling of plane src (h, w) to dst (H, W), pixel centers
 * aligned (x_src = (x + 0.5) h/H - 0.5, clamped at the edges), rounded. */
static void bilinear(uint8_t *dst, int64_t H, int64_t W, const uint8_t *src,
                     int64_t h, int64_t w)
{
    for (int64_t i = 0; i < H; i++) {
        double y = ((double)i + 0.5) * (double)h / (double)H - 0.5;
        y = y < 0 ? 0 : y > (double)(h - 1) ? (double)(h - 1) : y;
        const int64_t y0 = (int64_t)y, y1 = y0 + 1 < h ? y0 + 1 : y0;
        const double fy = y - (double)y0;
        for (int64_t j = 0; j < W; j++) {
            double x = ((double)j + 0.5) * (double)w / (double)W - 0.5;
            x = x < 0 ? 0 : x > (double)(w - 1) ? (double)(w - 1) : x;
            const int64_t x0 = (int64_t)x, x1 = x0 + 1 < w ? x0 + 1 : x0;
            const double fx = x - (double)x0;
            const double v =
                (1 - fy) * ((1 - fx) * src[y0 * w + x0] + fx * src[y0 * w + x1]) +
                fy * ((1 - fx) * src[y1 * w + x0] + fx * src[y1 * w + x1]);
            dst[i * W + j] = (uint8_t)floor(v + 0.5);
        }
    }
}

pcnn_status pcnn_colorize_compose(pcnn_image x, const uint8_t *ab, int64_t h,
                                  int64_t w, pcnn_image out)
{
    static const char fn[] = "pcnn_colorize_compose";
    if (!x.data || !ab || !out.data || x.n != 1 || x.c != 3 || out.n != 1 ||
        out.c != 3 || out.h != x.h || out.w != x.w || h < 1 || w < 1 ||
        h > x.h || w > x.w)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: one 3-channel image and its output of the "
                         "same size, chroma (2, %lld, %lld) no larger",
                         fn, (long long)h, (long long)w);
    const int64_t plane = x.h * x.w;
    uint8_t *lab = malloc((size_t)(3 * plane));
    if (!lab)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    pcnn_status s = pcnn_rgb_to_lab8(x, lab);
    for (int c = 0; s == PCNN_OK && c < 2; c++)
        bilinear(lab + (1 + c) * plane, x.h, x.w, ab + c * h * w, h, w);
    if (s == PCNN_OK)
        s = pcnn_lab8_to_rgb(lab, out);
    free(lab);
    return s;
}

pcnn_status pcnn_colorize(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x, int n,
                          const pcnn_model_sample_opts *opts, uint8_t *out,
                          uint8_t *chroma)
{
    static const char fn[] = "pcnn_colorize";
    if (!m || !opts || !out || !x.data || x.n != 1 || x.c != 3 || n < 1 ||
        n > 4096)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: a model, one 3-channel image and 1..4096 "
                         "samples",
                         fn);
    const pcnn_model_config *c = pcnn_model_get_config(m);
    if (c->view.lab != PCNN_LAB_AB || c->cond_view.lab != PCNN_LAB_L ||
        c->cond_view.halvings != 0 || c->channels != 2 ||
        c->head != PCNN_HEAD_DMOL)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: the model is not a colorizer (it must model "
                         "the ab view given L)",
                         fn);
    /* the image size the model was trained at, and its L there */
    const int64_t H = c->height, W = c->width;
    const int64_t S = H << c->view.halvings, SW = W << c->view.halvings;
    const int64_t f = S / H;
    uint8_t *small = malloc((size_t)(3 * S * SW));
    uint8_t *lab = malloc((size_t)(3 * S * SW));
    uint8_t *ls = malloc((size_t)(n * S * SW));
    float *map = malloc((size_t)(n * c->cond_channels * H * W) * sizeof *map);
    uint8_t *ab = chroma ? chroma : malloc((size_t)(n * 2 * H * W));
    pcnn_status s = small && lab && ls && map && ab
                        ? PCNN_OK
                        : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    for (int ch = 0; s == PCNN_OK && ch < 3; ch++)
        s = pcnn_resize_area(x.data + ch * x.h * x.w, x.h, x.w,
                             small + ch * S * SW, S, SW);
    if (s == PCNN_OK)
        s = pcnn_rgb_to_lab8(pcnn_img(small, 1, 3, S, SW), lab);
    for (int k = 0; s == PCNN_OK && k < n; k++)
        memcpy(ls + k * S * SW, lab, (size_t)(S * SW));
    if (s == PCNN_OK && c->cond_channels != (int)(f * f))
        s = pcnn_fail(PCNN_ERR_ARG,
                      "%s: the model reads %d condition channels, L at "
                      "%lldx%lld gives %lld",
                      fn, c->cond_channels, (long long)S, (long long)SW,
                      (long long)(f * f));
    pcnn_model_sample_opts o = *opts;
    if (s == PCNN_OK) {
        o.cond = pcnn_t4(map, n, c->cond_channels, H, W);
        s = pcnn_cond_map(o.cond, ls, S, SW, 256);
    }
    if (s == PCNN_OK)
        s = pcnn_model_sample(ctx, m, pcnn_img(ab, n, 2, H, W), &o);
    for (int k = 0; s == PCNN_OK && k < n; k++)
        s = pcnn_colorize_compose(x, ab + k * 2 * H * W, H, W,
                                  pcnn_img(out + k * 3 * x.h * x.w, 1, 3,
                                           x.h, x.w));
    free(small), free(lab), free(ls), free(map);
    if (!chroma)
        free(ab);
    return s;
}
