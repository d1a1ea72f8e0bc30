/*
 * view.c -- the deterministic views of a chain's stages (pixelcnn.h,
 * docs/chains.md): half resolution and 4-bit grayscale, the data set of a
 * stage, and the condition map a stage's model reads.
 */
#include "chain.h"
#include "../api/check.h"
#include "../model/tighten.h"

#include <stdio.h>
#include <string.h>

#define MAX_HALVINGS 6

static pcnn_status check_view(const char *fn, const pcnn_view *v)
{
    if (!v)
        return pcnn_fail(PCNN_ERR_ARG, "%s: view is NULL", fn);
    if (v->halvings < 0 || v->halvings > MAX_HALVINGS ||
        (v->gray4 != 0 && v->gray4 != 1) || v->lab < 0 ||
        v->lab > PCNN_LAB_AB || (v->gray4 && v->lab))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: view (halvings %d, gray4 %d, lab %d) out of "
                         "range",
                         fn, v->halvings, v->gray4, v->lab);
    return PCNN_OK;
}

pcnn_status pcnn_view_shape(const pcnn_view *v, int64_t c, int64_t h,
                            int64_t w, int64_t *vc, int64_t *vh, int64_t *vw,
                            int *levels)
{
    static const char fn[] = "pcnn_view_shape";
    PCNN_TRY(check_view(fn, v));
    const int64_t u = (int64_t)1 << v->halvings;
    if (c < 1 || h < 1 || w < 1 || h % u || w % u)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: a %lldx%lldx%lld image cannot be halved %d "
                         "times",
                         fn, (long long)c, (long long)h, (long long)w,
                         v->halvings);
    if (v->lab && c != 3)
        return pcnn_fail(PCNN_ERR_ARG, "%s: a Lab view of %lld-channel "
                         "images (RGB only)", fn, (long long)c);
    *vc = v->gray4 || v->lab == PCNN_LAB_L ? 1 : v->lab ? 2 : c;
    *vh = h / u, *vw = w / u;
    *levels = v->gray4 ? 16 : 256;
    return PCNN_OK;
}

const char *pcnn_view_str(const pcnn_view *v, char *buf, size_t n)
{
    /* gray4( half( ... half( x ) ... ) ) or half( ... ab( x ) ... ): at
     * most 6 halvings, 49 bytes */
    char tmp[64];
    size_t k = 0;
    const int h = v && v->halvings > 0 && v->halvings <= MAX_HALVINGS
                      ? v->halvings
                      : 0;
    const int g = v && v->gray4;
    const int lab = v && (v->lab == PCNN_LAB_L || v->lab == PCNN_LAB_AB)
                        ? v->lab
                        : 0;
    if (g)
        memcpy(tmp + k, "gray4(", 6), k += 6;
    for (int i = 0; i < h; i++)
        memcpy(tmp + k, "half(", 5), k += 5;
    if (lab)
        memcpy(tmp + k, lab == PCNN_LAB_L ? "L(" : "ab(", 2 + (lab > 1)),
            k += 2 + (lab > 1);
    tmp[k++] = 'x';
    for (int i = 0; i < h + g + (lab > 0); i++)
        tmp[k++] = ')';
    tmp[k] = 0;
    if (n > 0) {
        size_t m = k < n - 1 ? k : n - 1;
        memcpy(buf, tmp, m);
        buf[m] = 0;
    }
    return buf;
}

/* One 2x2 block average of plane src (h, w) into dst (h/2, w/2). */
static void half_plane(uint8_t *dst, const uint8_t *src, int64_t h,
                       int64_t w)
{
    const int64_t ho = h / 2, wo = w / 2;
    for (int64_t i = 0; i < ho; i++)
        for (int64_t j = 0; j < wo; j++) {
            const uint8_t *p = src + 2 * i * w + 2 * j;
            dst[i * wo + j] = (uint8_t)((p[0] + p[1] + p[w] + p[w + 1] + 2) / 4);
        }
}

pcnn_status pcnn_view_apply(const pcnn_view *v, pcnn_image x, uint8_t *out)
{
    static const char fn[] = "pcnn_view_apply";
    int64_t vc, vh, vw;
    int levels;
    if (!x.data || !out || x.n < 1)
        return pcnn_fail(PCNN_ERR_ARG, "%s: no images", fn);
    PCNN_TRY(pcnn_view_shape(v, x.c, x.h, x.w, &vc, &vh, &vw, &levels));
    if (x.c != 1 && x.c != 3)
        return pcnn_fail(PCNN_ERR_SHAPE, "%s: %lld channels (1 or 3)", fn,
                         (long long)x.c);
    const int64_t plane = x.h * x.w;
    uint8_t *a = malloc((size_t)plane), *b = malloc((size_t)plane);
    uint8_t *img = malloc((size_t)(x.c * vh * vw));
    uint8_t *lab = v->lab ? malloc((size_t)(3 * plane)) : NULL;
    if (!a || !b || !img || (v->lab && !lab)) {
        free(a), free(b), free(img), free(lab);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    /* Lab views: the planes of Lab8(x) they keep, then the halvings */
    const int64_t c0 = v->lab == PCNN_LAB_AB ? 1 : 0;
    const int64_t nc = v->lab ? vc : x.c;
    for (int64_t n = 0; n < x.n; n++) {
        const uint8_t *src = x.data + n * x.c * plane;
        if (v->lab) {
            pcnn_status s = pcnn_rgb_to_lab8(
                pcnn_img((uint8_t *)src, 1, 3, x.h, x.w), lab);
            if (s != PCNN_OK) {
                free(a), free(b), free(img), free(lab);
                return s;
            }
            src = lab + c0 * plane;
        }
        for (int64_t c = 0; c < nc; c++) {
            memcpy(a, src + c * plane, (size_t)plane);
            int64_t h = x.h, w = x.w;
            for (int k = 0; k < v->halvings; k++, h /= 2, w /= 2) {
                half_plane(b, a, h, w);
                uint8_t *t = a;
                a = b, b = t;
            }
            memcpy(img + c * vh * vw, a, (size_t)(vh * vw));
        }
        uint8_t *dst = out + n * vc * vh * vw;
        const int64_t m = vh * vw;
        if (!v->gray4) { /* nc = vc */
            memcpy(dst, img, (size_t)(vc * m));
        } else if (x.c == 3) {
            for (int64_t k = 0; k < m; k++)
                dst[k] = (uint8_t)((299 * img[k] + 587 * img[m + k] +
                                    114 * img[2 * m + k]) /
                                   16000);
        } else {
            for (int64_t k = 0; k < m; k++)
                dst[k] = (uint8_t)(img[k] / 16);
        }
    }
    free(a), free(b), free(img), free(lab);
    return PCNN_OK;
}

pcnn_status pcnn_stage_dataset(const pcnn_dataset *x, const pcnn_view *view,
                               const pcnn_view *cond_view, pcnn_dataset *out)
{
    static const char fn[] = "pcnn_stage_dataset";
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!x || !x->images || x->n < 1)
        return pcnn_fail(PCNN_ERR_ARG, "%s: no data set", fn);
    int64_t c, h, w;
    int levels;
    PCNN_TRY(pcnn_view_shape(view, x->c, x->h, x->w, &c, &h, &w, &levels));
    pcnn_dataset d = {0};
    d.n = x->n, d.c = c, d.h = h, d.w = w;
    d.images = malloc((size_t)(x->n * c * h * w));
    if (x->labels) {
        d.labels = malloc((size_t)x->n * sizeof *d.labels);
        d.num_classes = x->num_classes;
        if (d.labels)
            memcpy(d.labels, x->labels, (size_t)x->n * sizeof *d.labels);
    }
    pcnn_status s = d.images && (!x->labels || d.labels)
                        ? PCNN_OK
                        : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    pcnn_image xi = pcnn_img(x->images, x->n, x->c, x->h, x->w);
    if (s == PCNN_OK)
        s = pcnn_view_apply(view, xi, d.images);
    if (s == PCNN_OK && cond_view) {
        s = pcnn_view_shape(cond_view, x->c, x->h, x->w, &d.cond_c,
                            &d.cond_h, &d.cond_w, &d.cond_levels);
        if (s == PCNN_OK) {
            d.cond = malloc((size_t)(x->n * d.cond_c * d.cond_h * d.cond_w));
            s = d.cond ? pcnn_view_apply(cond_view, xi, d.cond)
                       : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
        }
    }
    if (s != PCNN_OK) {
        pcnn_dataset_free(&d);
        return s;
    }
    *out = d;
    return PCNN_OK;
}

pcnn_status pcnn_cond_map(pcnn_tensor map, const uint8_t *cond, int64_t h,
                          int64_t w, int levels)
{
    static const char fn[] = "pcnn_cond_map";
    PCNN_TRY(pcnn_check_tensor(fn, "map", map, 4));
    const int64_t H = map.dim[2], W = map.dim[3];
    if (cond && h > H && w > W && h % H == 0 && w % W == 0 &&
        h / H == w / W && levels >= 2 && levels <= 256) {
        /* larger than the map: space to depth, f x f blocks into
         * channels (c f + dy) f + dx */
        const int64_t f = h / H, B = map.dim[0], Cm = map.dim[1];
        if (Cm % (f * f))
            return pcnn_fail(PCNN_ERR_SHAPE,
                             "%s: %lld map channels for %lldx%lld blocks",
                             fn, (long long)Cm, (long long)f, (long long)f);
        const int64_t Cc = Cm / (f * f);
        const float scale = 2.0f / (float)(levels - 1);
        for (int64_t b = 0; b < B; b++)
            for (int64_t c = 0; c < Cc; c++)
                for (int64_t dy = 0; dy < f; dy++)
                    for (int64_t dx = 0; dx < f; dx++) {
                        float *o =
                            map.data +
                            ((b * Cm + (c * f + dy) * f + dx) * H) * W;
                        const uint8_t *p = cond + (b * Cc + c) * h * w;
                        for (int64_t i = 0; i < H; i++)
                            for (int64_t j = 0; j < W; j++)
                                o[i * W + j] =
                                    (float)p[(i * f + dy) * w + j * f + dx] *
                                        scale -
                                    1.0f;
                    }
        return PCNN_OK;
    }
    if (!cond || h < 1 || w < 1 || H % h || W % w || levels < 2 ||
        levels > 256)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: condition images %lldx%lld (%d levels) do not "
                         "tile a %lldx%lld map",
                         fn, (long long)h, (long long)w, levels,
                         (long long)H, (long long)W);
    const int64_t fy = H / h, fx = W / w;
    const float scale = 2.0f / (float)(levels - 1);
    for (int64_t p = 0; p < map.dim[0] * map.dim[1]; p++)
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++)
                map.data[(p * H + i) * W + j] =
                    (float)cond[(p * h + i / fy) * w + j / fx] * scale - 1.0f;
    return PCNN_OK;
}

pcnn_status pcnn_half_bounds(pcnn_image x, const uint8_t *parent, uint8_t *lo,
                             uint8_t *hi)
{
    static const char fn[] = "pcnn_half_bounds";
    if (!x.data || !parent || !lo || !hi)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    if (x.h % 2 || x.w % 2)
        return pcnn_fail(PCNN_ERR_SHAPE, "%s: %lldx%lld images are not even",
                         fn, (long long)x.h, (long long)x.w);
    const int64_t W = x.w, h2 = x.h / 2, w2 = x.w / 2;
    for (int64_t q = 0; q < x.n * x.c; q++) {
        const uint8_t *px = x.data + q * x.h * W;
        const uint8_t *pp = parent + q * h2 * w2;
        uint8_t *pl = lo + q * x.h * W, *ph = hi + q * x.h * W;
        for (int64_t i = 0; i < h2; i++)
            for (int64_t j = 0; j < w2; j++) {
                /* the children in raster order */
                const int64_t at[4] = {2 * i * W + 2 * j, 2 * i * W + 2 * j + 1,
                                       (2 * i + 1) * W + 2 * j,
                                       (2 * i + 1) * W + 2 * j + 1};
                const int p = pp[i * w2 + j];
                int before = 0;
                for (int k = 0; k < 4; k++) {
                    int a, z;
                    pcnn_half_child_range(p, before, k, &a, &z);
                    const int v = px[at[k]];
                    if (v < a || v > z)
                        return pcnn_fail(PCNN_ERR_VALUE,
                                         "%s: image %lld is not consistent "
                                         "with its half view at block "
                                         "(%lld, %lld)",
                                         fn, (long long)(q / x.c),
                                         (long long)i, (long long)j);
                    pl[at[k]] = (uint8_t)a, ph[at[k]] = (uint8_t)z;
                    before += v;
                }
            }
    }
    return PCNN_OK;
}

pcnn_status pcnn_gray4_bounds(pcnn_image x, const uint8_t *gray, uint8_t *lo,
                              uint8_t *hi)
{
    static const char fn[] = "pcnn_gray4_bounds";
    if (!x.data || !gray || !lo || !hi)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    const int64_t HW = x.h * x.w, C = x.c;
    const int nch = (int)(C < 3 ? C : 3);
    if (C != 1 && C != 3)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: %lld-channel images (gray4 takes 1 or 3)", fn,
                         (long long)C);
    for (int64_t b = 0; b < x.n; b++)
        for (int64_t k = 0; k < HW; k++) {
            int v[3];
            for (int c = 0; c < nch; c++) {
                const int64_t at = (b * C + c) * HW + k;
                int a, z;
                pcnn_gray4_channel_range(gray[b * HW + k], c, v, nch, &a, &z);
                v[c] = x.data[at];
                if (v[c] < a || v[c] > z)
                    return pcnn_fail(PCNN_ERR_VALUE,
                                     "%s: image %lld is not consistent with "
                                     "its gray4 view at pixel (%lld, %lld)",
                                     fn, (long long)b, (long long)(k / x.w),
                                     (long long)(k % x.w));
                lo[at] = (uint8_t)a, hi[at] = (uint8_t)z;
            }
        }
    return PCNN_OK;
}

pcnn_status pcnn_stage_config(pcnn_model_config *cfg, const pcnn_view *view,
                              const pcnn_view *cond_view, int64_t c,
                              int64_t h, int64_t w)
{
    static const char fn[] = "pcnn_stage_config";
    if (!cfg || !view)
        return pcnn_fail(PCNN_ERR_ARG, "%s: cfg or view is NULL", fn);
    int64_t vc, vh, vw;
    int levels;
    PCNN_TRY(pcnn_view_shape(view, c, h, w, &vc, &vh, &vw, &levels));
    pcnn_model_config k = *cfg;
    k.channels = (int)vc, k.height = (int)vh, k.width = (int)vw;
    k.levels = levels;
    k.head = levels < 256 ? PCNN_HEAD_CATEGORICAL : PCNN_HEAD_DMOL;
    k.view = *view;
    k.cond_view = (pcnn_view){0, 0, 0};
    k.cond_channels = 0;
    if (!cond_view) {
        /* no condition, no conditioning network */
        k.cond_nr_resnet = k.cond_nr_filters = 0;
        k.cond_down = k.cond_dilate = 0;
        *cfg = k;
        return PCNN_OK;
    }
    int64_t cc, ch, cw;
    PCNN_TRY(pcnn_view_shape(cond_view, c, h, w, &cc, &ch, &cw, &levels));
    /* condition images that tile the stage, or f times larger ones read
     * space to depth */
    const int64_t f = ch > vh ? ch / vh : 1;
    const int fits = ch > vh ? ch % vh == 0 && cw == f * vw
                             : vh % ch == 0 && vw % cw == 0;
    if (!fits) {
        char a[96], b[96];
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: %s (%lldx%lld) does not tile %s (%lldx%lld), "
                         "nor is it a whole multiple of it",
                         fn, pcnn_view_str(cond_view, a, sizeof a),
                         (long long)cw, (long long)ch,
                         pcnn_view_str(view, b, sizeof b), (long long)vw,
                         (long long)vh);
    }
    k.cond_channels = (int)(cc * f * f);
    k.cond_view = *cond_view;
    if (!k.cond_nr_filters)
        k.cond_nr_filters = k.nr_filters;
    *cfg = k;
    return PCNN_OK;
}
