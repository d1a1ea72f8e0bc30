/*
 * colorize.c -- colorization with a chroma stage (docs/colorize.md): a
 * model of half^k(ab(X)) given L(X) samples chroma for the lightness of
 * an image of any size, and the image's own lightness carries the detail.
 */
#include "../core/internal.h"

#include <math.h>
#include <string.h>

void pcnn_bilinear(double *dst, int64_t H, int64_t W, const uint8_t *src,
                   int64_t h, int64_t w)
{
    /* x_src = (x + 0.5) h/H - 0.5, clamped at the edges */
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
            dst[i * W + j] =
                (1 - fy) * ((1 - fx) * src[y0 * w + x0] + fx * src[y0 * w + x1]) +
                fy * ((1 - fx) * src[y1 * w + x0] + fx * src[y1 * w + x1]);
        }
    }
}

/* pcnn_bilinear rounded into dst; 0, or -1 when out of memory. */
static int bilinear(uint8_t *dst, int64_t H, int64_t W, const uint8_t *src,
                    int64_t h, int64_t w)
{
    double *t = malloc((size_t)(H * W) * sizeof *t);
    if (!t)
        return -1;
    pcnn_bilinear(t, H, W, src, h, w);
    for (int64_t i = 0; i < H * W; i++)
        dst[i] = (uint8_t)floor(t[i] + 0.5);
    free(t);
    return 0;
}

pcnn_status pcnn_lab8_compose(const uint8_t *l, int64_t H, int64_t W,
                              const uint8_t *ab, int64_t h, int64_t w,
                              uint8_t *rgb)
{
    const int64_t plane = H * W;
    uint8_t *lab = malloc((size_t)(3 * plane));
    if (!lab)
        return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_lab8_compose: out of memory");
    memcpy(lab, l, (size_t)plane);
    int bad = 0;
    for (int c = 0; c < 2; c++)
        bad |= bilinear(lab + (1 + c) * plane, H, W, ab + c * h * w, h, w);
    const pcnn_status s =
        bad ? pcnn_fail(PCNN_ERR_NOMEM, "pcnn_lab8_compose: out of memory")
            : pcnn_lab8_to_rgb(lab, pcnn_img(rgb, 1, 3, H, W));
    free(lab);
    return s;
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
    if (s == PCNN_OK)
        s = pcnn_lab8_compose(lab, x.h, x.w, ab, h, w, out.data);
    free(lab);
    return s;
}

/* The sampler's row reports as job "colorize". */
static int colorize_rows(void *arg, const pcnn_progress_info *info)
{
    const pcnn_progress *outer = arg;
    const pcnn_progress_info mine = {"colorize", info->done, info->total,
                                     info->value};
    return outer->fn(outer->arg, &mine);
}

pcnn_status pcnn_colorize(pcnn_ctx *ctx, pcnn_chain *chain, pcnn_image x,
                          int n, const pcnn_model_sample_opts *opts,
                          uint8_t *out, uint8_t *chroma)
{
    static const char fn[] = "pcnn_colorize";
    pcnn_model *m = pcnn_chain_stage(chain, pcnn_chain_stages(chain) - 1);
    if (!m || !opts || !out || !x.data || x.n != 1 || x.c != 3 || n < 1 ||
        n > 4096)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: a chain, one 3-channel image and 1..4096 "
                         "samples",
                         fn);
    const pcnn_model_config *c = pcnn_model_get_config(m);
    if (c->view.lab != PCNN_LAB_AB || c->cond_view.lab != PCNN_LAB_L ||
        c->cond_view.halvings != 0 || c->channels != 2 ||
        c->head != PCNN_HEAD_DMOL)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: the chain's last stage is not a colorizer (it "
                         "must model the ab view given L)",
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
    if (opts->progress.fn)
        o.progress = (pcnn_progress){colorize_rows, (void *)&opts->progress};
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

pcnn_status pcnn_colorize_score(pcnn_image truth, const uint8_t *samples,
                                int n, const uint8_t meanab[2],
                                pcnn_colorize_scores *out)
{
    static const char fn[] = "pcnn_colorize_score";
    if (!truth.data || !samples || !meanab || !out || n < 1)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: NULL argument or %d samples (at least 1)", fn,
                         n);
    if (truth.n != 1 || truth.c != 3 || truth.h < 1 || truth.w < 1)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: truth is %lldx%lldx%lldx%lld, not one RGB "
                         "image",
                         fn, (long long)truth.n, (long long)truth.c,
                         (long long)truth.h, (long long)truth.w);
    const int64_t h = truth.h, w = truth.w;
    const size_t img = (size_t)(3 * h * w);
    uint8_t *base = malloc(2 * img);
    if (!base)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    /* the baselines: truth's L with a constant chroma, gray (128, 128)
     * and the mean */
    uint8_t flat[2][8];
    for (int q = 0; q < 4; q++) {
        flat[0][q] = flat[0][4 + q] = 128;
        flat[1][q] = meanab[0], flat[1][4 + q] = meanab[1];
    }
    pcnn_status s = PCNN_OK;
    for (int k = 0; s == PCNN_OK && k < 2; k++)
        s = pcnn_colorize_compose(truth, flat[k], 2, 2,
                                  pcnn_img(base + k * img, 1, 3, h, w));
    if (s != PCNN_OK) {
        free(base);
        return s;
    }
    pcnn_colorize_scores r;
    memset(&r, 0, sizeof r);
    for (int k = 0; k < n; k++) {
        const double p = pcnn_psnr(samples + k * img, truth.data, img);
        r.psnr_best = k == 0 || p > r.psnr_best ? p : r.psnr_best;
        r.psnr_mean += p / n;
        r.color_samples += pcnn_colorfulness(samples + k * img, h, w) / n;
    }
    r.psnr_gray = pcnn_psnr(base, truth.data, img);
    r.psnr_meanab = pcnn_psnr(base + img, truth.data, img);
    r.color_truth = pcnn_colorfulness(truth.data, h, w);
    r.color_gray = pcnn_colorfulness(base, h, w);
    r.color_meanab = pcnn_colorfulness(base + img, h, w);
    free(base);
    *out = r;
    return PCNN_OK;
}

pcnn_status pcnn_mean_chroma(const pcnn_dataset *x, uint8_t meanab[2])
{
    static const char fn[] = "pcnn_mean_chroma";
    if (!x || !x->images || x->n < 1 || !meanab)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument or no images", fn);
    if (x->c != 3)
        return pcnn_fail(PCNN_ERR_SHAPE, "%s: %lld-channel images (RGB only)",
                         fn, (long long)x->c);
    const int64_t plane = x->h * x->w;
    uint8_t *lab = malloc((size_t)(3 * plane));
    if (!lab)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    double sum[2] = {0, 0};
    for (int64_t i = 0; i < x->n; i++) {
        pcnn_status s = pcnn_rgb_to_lab8(
            pcnn_img(x->images + i * 3 * plane, 1, 3, x->h, x->w), lab);
        if (s != PCNN_OK) {
            free(lab);
            return s;
        }
        for (int64_t k = 0; k < plane; k++)
            sum[0] += lab[plane + k], sum[1] += lab[2 * plane + k];
    }
    free(lab);
    for (int c = 0; c < 2; c++)
        meanab[c] = (uint8_t)floor(sum[c] / (double)(x->n * plane) + 0.5);
    return PCNN_OK;
}
