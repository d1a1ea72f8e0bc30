/*
 * codec.c -- lossless compression with a chain (pixelcnn.h,
 * docs/compression.md). Each group of images is coded stage by stage;
 * each stage runs the cached sampler with a hook (pcnn_model_run_pixels)
 * that, at every pixel, turns the head's parameters into integer
 * frequency tables (freq.c) for each channel in turn and codes the true
 * value (compress) or decodes it (decompress) with rANS (rans.c). Both
 * run the same computation on the same values, so the tables agree.
 */
#include "container.h"
#include "freq.h"
#include "lab.h"
#include "rans.h"
#include "../chain/chain.h"
#include "../model/model.h"
#include "../model/tighten.h"

#include <stdarg.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#ifdef __AVX512F__
#define KERNELS "avx512"
#else
#define KERNELS "portable"
#endif
#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "cc"
#endif

const char *pcnn_codec_build(void)
{
    static char s[64];
    if (!s[0]) {
        char t[160];
        snprintf(t, sizeof t, "pixelcnn %s, %s kernels, %s", PCNN_VERSION,
                 KERNELS, COMPILER);
        size_t n = strlen(t); /* at most 63, no trailing space */
        n = n < sizeof s - 1 ? n : sizeof s - 1;
        while (n > 0 && t[n - 1] == ' ')
            n--;
        memcpy(s, t, n);
        s[n] = 0;
    }
    return s;
}

uint32_t pcnn_codec_build_tag(void)
{
    uint32_t h = 0x811c9dc5u;
    for (const char *p = pcnn_codec_build(); *p; p++)
        h = (h ^ (uint8_t)*p) * 0x01000193u;
    return h;
}

void pcnn_free(void *p) { free(p); }

/* ------------------------------------------------------------- hash */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t pcnn_chain_hash(const pcnn_chain *c)
{
    if (!c)
        return 0;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < c->n; i++) {
        const pcnn_model_config *k = pcnn_model_get_config(c->m[i]);
        /* the fields one by one (the struct has padding) */
#define HASH_FIELD_(type, name, lo, hi, old, flag, help)                      \
    {                                                                         \
        const double v_ = (double)k->name;                                    \
        h = fnv(h, &v_, sizeof v_);                                           \
    }
        PCNN_MODEL_CONFIG_FIELDS(HASH_FIELD_)
#undef HASH_FIELD_
        const int views[6] = {k->view.halvings,      k->view.gray4,
                              k->view.lab,           k->cond_view.halvings,
                              k->cond_view.gray4,    k->cond_view.lab};
        h = fnv(h, views, sizeof views);
        size_t n;
        const float *w = pcnn_model_params(c->m[i], &n);
        h = fnv(h, w, n * sizeof *w);
    }
    return h;
}

/* ------------------------------------------------------------ stages */

/* The rule of a tightened stage (pcnn_chain_stage_tightens): the values
 * its subpixels may take given the stage before it. */
static int stage_rule(const pcnn_chain *c, int i)
{
    if (!pcnn_chain_stage_tightens(c, i))
        return PCNN_RULE_NONE;
    switch (pcnn_tighten_rule(pcnn_model_get_config(c->m[i]))) {
    case PCNN_TIGHTEN_HALF: return PCNN_RULE_HALF;
    case PCNN_TIGHTEN_GRAY4: return PCNN_RULE_GRAY4;
    default: return PCNN_RULE_NONE;
    }
}

/* 1 when stage K of chain c models the chroma ab (halved or not) given
 * L(X) and the stage before it models L(X): a color chain's colorizer. */
static int chroma_stage(const pcnn_chain *c, int K)
{
    if (K < 1 || K >= c->n)
        return 0;
    const pcnn_model_config *a = pcnn_model_get_config(c->m[K - 1]);
    const pcnn_model_config *z = pcnn_model_get_config(c->m[K]);
    const pcnn_view L = {0, 0, PCNN_LAB_L};
    return !memcmp(&a->view, &L, sizeof L) && z->cond_channels &&
           !memcmp(&z->cond_view, &L, sizeof L) &&
           z->view.lab == PCNN_LAB_AB && !z->view.gray4;
}

/* 1 when chain c codes X through the colors of its lightness: its last
 * stage is a colorizer (chroma_stage) and its first stage is
 * unconditioned. The coder then adds a stage of its own after the
 * chain's: X given L(X) and the chroma (lab.c, rule PCNN_RULE_LAB). */
static int color_chain(const pcnn_chain *c)
{
    return c->n >= 2 && c->n < PCNN_MAX_STAGES &&
           !pcnn_model_get_config(c->m[0])->cond_channels &&
           chroma_stage(c, c->n - 1);
}

/* The stages a stream of chain c codes: the chain's, and the colors of a
 * color chain. */
static int coded_stages(const pcnn_chain *c)
{
    return c->n + color_chain(c);
}

/* The header of a stream of chain c coding n images. */
static void header_of(const pcnn_chain *c, int64_t n, int batch,
                      pcnn_codec_header *h)
{
    memset(h, 0, sizeof *h);
    pcnn_codec_info *f = &h->info;
    f->version = PCNN_CODEC_VERSION;
    f->build = pcnn_codec_build_tag();
    f->weights = pcnn_chain_hash(c);
    f->n = n;
    pcnn_chain_image_shape(c, &f->c, &f->h, &f->w);
    f->batch = batch;
    f->stages = coded_stages(c);
    if (f->stages > c->n) {
        f->stage_c[c->n] = f->c;
        f->stage_h[c->n] = f->h, f->stage_w[c->n] = f->w;
        f->stage_levels[c->n] = 256;
        h->rule[c->n] = PCNN_RULE_LAB;
    }
    for (int i = 0; i < c->n; i++) {
        const pcnn_model_config *k = pcnn_model_get_config(c->m[i]);
        f->stage_c[i] = k->channels;
        f->stage_h[i] = k->height, f->stage_w[i] = k->width;
        f->stage_levels[i] = k->levels;
        h->rule[i] = stage_rule(c, i);
        f->num_classes = k->num_classes > f->num_classes ? k->num_classes
                                                         : f->num_classes;
    }
}

/* ------------------------------------------------------------ coder */

/* One stage of one group, coded or decoded pixel by pixel by the hook. */
typedef struct {
    const pcnn_model *m;
    int rule, decode;
    pcnn_image x;           /* the stage's values: true, or decoded so far */
    const uint8_t *parent;  /* the previous stage's (rule half) */
    pcnn_rans_enc enc;
    pcnn_rans_dec dec;
    double mass[256];
    uint32_t freq[256];
    pcnn_status err;
    char msg[200];
} coder;

static pcnn_status coder_fail(coder *cd, pcnn_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cd->msg, sizeof cd->msg, fmt, ap);
    va_end(ap);
    return cd->err = s;
}

/* Codes value v (encoding) or decodes it into *v, with the table
 * freq[0 .. n) of the values lo .. lo+n-1. */
static pcnn_status code_value(coder *cd, int lo, int n, int *v)
{
    if (!cd->decode && (*v < lo || *v >= lo + n))
        return coder_fail(cd, PCNN_ERR_VALUE,
                          "value %d outside the values %d..%d the stage "
                          "allows",
                          *v, lo, lo + n - 1);
    int k = *v - lo;
    if (pcnn_rans_table(cd->decode ? NULL : &cd->enc, &cd->dec, cd->freq, n,
                        &k))
        return coder_fail(cd, PCNN_ERR_NOMEM, "out of memory");
    *v = lo + k;
    return PCNN_OK;
}

/* The values channel c of image b's pixel k may take, its earlier
 * channels being xv[0 .. c). */
static pcnn_status interval(coder *cd, int64_t b, int c, int64_t k,
                           const int *xv, int *lo, int *hi)
{
    const pcnn_image x = cd->x;
    *lo = 0, *hi = cd->m->cfg.levels - 1;
    if (cd->rule == PCNN_RULE_NONE)
        return PCNN_OK;
    if (cd->rule == PCNN_RULE_GRAY4) {
        const int g = cd->parent[b * x.h * x.w + k];
        pcnn_gray4_channel_range(g, c, xv, (int)x.c, lo, hi);
        if (*lo > *hi)
            return coder_fail(cd, PCNN_ERR_FORMAT,
                              "pixel %lld of image %lld cannot match its "
                              "gray level",
                              (long long)k, (long long)b);
        return PCNN_OK;
    }
    const int64_t W = x.w, i = k / W, j = k % W, HW = x.h * W;
    const int child = (int)(i % 2 * 2 + j % 2);
    const int64_t at[3] = {(i - i % 2) * W + (j - j % 2),
                           (i - i % 2) * W + (j - j % 2) + 1,
                           (i - i % 2 + 1) * W + (j - j % 2)};
    const uint8_t *xb = x.data + (b * x.c + c) * HW;
    int before = 0;
    for (int t = 0; t < child; t++)
        before += xb[at[t]];
    const int p =
        cd->parent[((b * x.c + c) * (x.h / 2) + i / 2) * (W / 2) + j / 2];
    pcnn_half_child_range(p, before, child, lo, hi);
    if (*lo > *hi)
        return coder_fail(cd, PCNN_ERR_FORMAT,
                          "pixel %lld of image %lld cannot match its parent",
                          (long long)k, (long long)b);
    return PCNN_OK;
}

/* The sampler's hook: every channel of pixel k of every image. */
static pcnn_status code_pixel(void *arg, const float *l, int64_t k,
                              uint8_t *px)
{
    coder *cd = arg;
    const pcnn_model *m = cd->m;
    const pcnn_image x = cd->x;
    const int64_t HW = x.h * x.w;
    const int P = pcnn_head_params(&m->head), C = (int)x.c;
    for (int64_t b = 0; b < x.n; b++) {
        int xv[3];
        for (int c = 0; c < C; c++) {
            int lo, hi, v = x.data[(b * C + c) * HW + k];
            PCNN_TRY(interval(cd, b, c, k, xv, &lo, &hi));
            if (lo < hi) {
                if (m->head.kind == PCNN_HEAD_DMOL)
                    pcnn_dmol_masses(l + b * P, m->head.nr_mix, C, c, xv, lo,
                                     hi, cd->mass);
                else
                    pcnn_cat_masses(l + b * P, m->head.levels, c, lo, hi,
                                    cd->mass);
                pcnn_quantize(cd->mass, hi - lo + 1, PCNN_RANS_TOTAL,
                              cd->freq);
                PCNN_TRY(code_value(cd, lo, hi - lo + 1, &v));
            } else if (!cd->decode && v != lo) {
                return coder_fail(cd, PCNN_ERR_VALUE,
                                  "value %d where the stage allows only %d",
                                  v, lo);
            } else {
                v = lo;
            }
            xv[c] = v;
            px[b * C + c] = (uint8_t)v;
        }
    }
    return PCNN_OK;
}

/* Labels in 0..K-1, equally likely, before the first stage's pixels. */
static pcnn_status code_labels(coder *cd, int K, int32_t *labels, int64_t B)
{
    for (int v = 0; v < 256; v++)
        cd->mass[v] = 1;
    for (int64_t b = 0; b < B; b++) {
        int v = labels[b];
        /* a table of K values: K <= 65535, 256 at a time is enough for
         * any shipped model; more classes split into two digits */
        if (K > 256) {
            int hi = v / 256, lo = v % 256;
            pcnn_quantize(cd->mass, (K + 255) / 256, PCNN_RANS_TOTAL,
                          cd->freq);
            PCNN_TRY(code_value(cd, 0, (K + 255) / 256, &hi));
            pcnn_quantize(cd->mass, 256, PCNN_RANS_TOTAL, cd->freq);
            PCNN_TRY(code_value(cd, 0, 256, &lo));
            v = hi * 256 + lo;
        } else {
            pcnn_quantize(cd->mass, K, PCNN_RANS_TOTAL, cd->freq);
            PCNN_TRY(code_value(cd, 0, K, &v));
        }
        if (v >= K)
            return coder_fail(cd, PCNN_ERR_FORMAT, "label %d of %d classes",
                              v, K);
        labels[b] = v;
    }
    return PCNN_OK;
}

/* ------------------------------------------------------------- jobs */

/* The buffers of one group: each stage's values and condition map. */
typedef struct {
    uint8_t *img[PCNN_MAX_STAGES];
    float *map[PCNN_MAX_STAGES];
    int32_t *labels;
} group_bufs;

static void group_free(group_bufs *g)
{
    for (int i = 0; i < PCNN_MAX_STAGES; i++)
        free(g->img[i]), free(g->map[i]);
    free(g->labels);
    memset(g, 0, sizeof *g);
}

static pcnn_status group_alloc(const char *fn, const pcnn_chain *c, int64_t B,
                               group_bufs *g)
{
    memset(g, 0, sizeof *g);
    int ok = (g->labels = calloc((size_t)B, sizeof *g->labels)) != NULL;
    for (int i = 0; ok && i < c->n; i++) {
        const pcnn_model_config *k = pcnn_model_get_config(c->m[i]);
        const size_t hw = (size_t)k->height * (size_t)k->width;
        g->img[i] = calloc((size_t)B * (size_t)k->channels * hw, 1);
        if (i > 0)
            g->map[i] = malloc((size_t)B * (size_t)k->cond_channels * hw *
                               sizeof(float));
        ok = g->img[i] && (i == 0 || g->map[i]);
    }
    if (ok && color_chain(c)) {
        int64_t xc, xh, xw;
        pcnn_chain_image_shape(c, &xc, &xh, &xw);
        ok = (g->img[c->n] = calloc((size_t)(B * xc * xh * xw), 1)) != NULL;
    }
    if (!ok) {
        group_free(g);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    return PCNN_OK;
}

/* Stage i of a group of B: its condition map from stage i-1's values,
 * then the sampler with the coder's hook over them. */
static pcnn_status run_stage(const char *fn, pcnn_ctx *ctx, pcnn_chain *c,
                             int i, int64_t B, group_bufs *g, coder *cd,
                             pcnn_job_rows *rows)
{
    pcnn_model *m = c->m[i];
    const pcnn_model_config *k = pcnn_model_get_config(m);
    pcnn_tensor cond = pcnn_none();
    if (i > 0) {
        const pcnn_model_config *p = pcnn_model_get_config(c->m[i - 1]);
        cond = pcnn_t4(g->map[i], B, k->cond_channels, k->height, k->width);
        PCNN_TRY(pcnn_cond_map(cond, g->img[i - 1], p->height, p->width,
                               p->levels));
        cd->parent = g->img[i - 1];
    }
    cd->m = m;
    cd->x = pcnn_img(g->img[i], B, k->channels, k->height, k->width);
    const pcnn_progress pr = pcnn_job_rows_progress(rows);
    const pcnn_pixel_hook hook = {code_pixel, cd};
    pcnn_status s = pcnn_model_run_pixels(
        ctx, m, cd->x, k->num_classes ? g->labels : NULL, cond, &hook, pr);
    rows->before += k->height;
    if (s == PCNN_ERR_CANCELLED && !cd->err)
        return pcnn_fail(s, "%s: cancelled by the progress callback", fn);
    if (s != PCNN_OK && cd->err)
        return pcnn_fail(s, "%s: stage %d: %s", fn, i, cd->msg);
    return s;
}

pcnn_compress_opts pcnn_compress_opts_default(void)
{
    pcnn_compress_opts o;
    memset(&o, 0, sizeof o);
    o.batch = 32;
    return o;
}

/* The chain can code X: complete, of a shape the header holds. */
static pcnn_status check_chain(const char *fn, const pcnn_chain *c)
{
    if (!pcnn_chain_is_complete(c) && !color_chain(c)) {
        char v[96];
        const pcnn_model_config *k = pcnn_model_get_config(c->m[c->n - 1]);
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: the chain does not model the images themselves "
                         "(its last stage models %s%s): only a complete "
                         "chain, or a model of L(x) followed by a colorizer, "
                         "codes them losslessly (docs/compression.md)",
                         fn, pcnn_view_str(&k->view, v, sizeof v),
                         pcnn_model_get_config(c->m[0])->cond_channels
                             ? ", its first stage given a condition"
                             : "");
    }
    return PCNN_OK;
}

/* Ends stage i's encoding: its stream with the CRC of its vals values
 * appended to out. */
static pcnn_status finish_stream(const char *fn, pcnn_rans_enc *enc,
                                 const uint8_t *img, size_t vals,
                                 pcnn_bytes *out)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    pcnn_status s = PCNN_OK;
    if (pcnn_rans_finish(enc, &bytes, &n) ||
        pcnn_codec_write_stream(out, pcnn_crc32(img, vals), bytes, n))
        s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    free(bytes);
    return s;
}

/* The colors stage of a color chain's group (lab.c): X given the L8 and
 * chroma of the chain's last two stages; e NULL: decodes from d. */
static pcnn_status lab_stage(const char *fn, const pcnn_chain *c, int64_t B,
                             group_bufs *g, pcnn_rans_enc *e,
                             pcnn_rans_dec *d)
{
    const pcnn_model_config *z = pcnn_model_get_config(c->m[c->n - 1]);
    int64_t xc, xh, xw;
    pcnn_chain_image_shape(c, &xc, &xh, &xw);
    return pcnn_lab_code(fn, c->n, pcnn_img(g->img[c->n], B, xc, xh, xw),
                         g->img[c->n - 2], g->img[c->n - 1], z->height,
                         z->width, e, d);
}

/* Codes the group of B images xg into out. */
static pcnn_status compress_group(const char *fn, pcnn_ctx *ctx,
                                  pcnn_chain *c, pcnn_image xg,
                                  const int32_t *labels, group_bufs *g,
                                  pcnn_job_rows *rows, pcnn_bytes *out)
{
    const int64_t B = xg.n;
    for (int i = 0; i < c->n; i++)
        PCNN_TRY(pcnn_view_apply(&pcnn_model_get_config(c->m[i])->view, xg,
                                 g->img[i]));
    int K = 0;
    for (int i = 0; i < c->n; i++) {
        const int k = pcnn_model_get_config(c->m[i])->num_classes;
        K = k > K ? k : K;
    }
    if (K)
        memcpy(g->labels, labels, (size_t)B * sizeof *labels);
    pcnn_status s = PCNN_OK;
    for (int i = 0; s == PCNN_OK && i < c->n; i++) {
        coder cd;
        memset(&cd, 0, sizeof cd);
        cd.rule = stage_rule(c, i);
        if (i == 0 && K)
            s = code_labels(&cd, K, g->labels, B);
        if (s == PCNN_OK)
            s = run_stage(fn, ctx, c, i, B, g, &cd, rows);
        else
            s = pcnn_fail(s, "%s: labels: %s", fn, cd.msg);
        const pcnn_model_config *k = pcnn_model_get_config(c->m[i]);
        if (s == PCNN_OK)
            s = finish_stream(fn, &cd.enc, g->img[i],
                              (size_t)(B * k->channels * k->height *
                                       k->width),
                              out);
        pcnn_rans_enc_free(&cd.enc);
    }
    if (s == PCNN_OK && color_chain(c)) {
        pcnn_rans_enc enc = {0};
        const size_t vals = (size_t)(B * xg.c * xg.h * xg.w);
        memcpy(g->img[c->n], xg.data, vals);
        s = lab_stage(fn, c, B, g, &enc, NULL);
        if (s == PCNN_OK)
            s = finish_stream(fn, &enc, g->img[c->n], vals, out);
        pcnn_rans_enc_free(&enc);
    }
    return s;
}

/* The images fit the chain and the header: shape, count, labels. */
static pcnn_status check_images(const char *fn, const pcnn_chain *c,
                                pcnn_image x, const int32_t *labels,
                                const pcnn_compress_opts *o)
{
    int64_t xc, xh, xw;
    pcnn_chain_image_shape(c, &xc, &xh, &xw);
    if (!x.data || x.n < 1 || x.c != xc || x.h != xh || x.w != xw)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: %lld images of %lldx%lldx%lld; the chain codes "
                         "%lldx%lldx%lld",
                         fn, (long long)x.n, (long long)x.c, (long long)x.h,
                         (long long)x.w, (long long)xc, (long long)xh,
                         (long long)xw);
    if (x.n > 0xffffffffLL || xh > 0xffff || xw > 0xffff)
        return pcnn_fail(PCNN_ERR_ARG, "%s: at most 2^32-1 images of at "
                         "most 65535 x 65535", fn);
    if (o->batch < 1 || o->batch > PCNN_CODEC_MAX_BATCH)
        return pcnn_fail(PCNN_ERR_ARG, "%s: batch %d not in 1..%d", fn,
                         o->batch, PCNN_CODEC_MAX_BATCH);
    for (int i = 0; i < c->n; i++)
        if (pcnn_model_get_config(c->m[i])->num_classes > 0 && !labels)
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: stage %d is class-conditional: give the "
                             "labels",
                             fn, i);
    return PCNN_OK;
}

pcnn_status pcnn_compress(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image x,
                          const int32_t *labels, const pcnn_compress_opts *opts,
                          uint8_t **buf, size_t *len)
{
    static const char fn[] = "pcnn_compress";
    if (!ctx || !c || !buf || !len)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    *buf = NULL, *len = 0;
    const pcnn_compress_opts o = opts ? *opts : pcnn_compress_opts_default();
    PCNN_TRY(check_chain(fn, c));
    PCNN_TRY(check_images(fn, c, x, labels, &o));
    const int64_t batch = o.batch < x.n ? o.batch : x.n;
    pcnn_codec_header h;
    header_of(c, x.n, (int)batch, &h);
    pcnn_bytes out = {0};
    if (pcnn_codec_write_header(&out, &h))
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    pcnn_job_rows rows = {o.progress, "compress", 0, 0};
    for (int i = 0; i < c->n; i++)
        rows.total += pcnn_model_get_config(c->m[i])->height *
                      ((x.n + batch - 1) / batch);
    group_bufs g;
    pcnn_status s = group_alloc(fn, c, batch, &g);
    const int64_t item = x.c * x.h * x.w;
    for (int64_t at = 0; s == PCNN_OK && at < x.n; at += batch) {
        const int64_t B = x.n - at < batch ? x.n - at : batch;
        s = compress_group(fn, ctx, c,
                           pcnn_img(x.data + at * item, B, x.c, x.h, x.w),
                           labels ? labels + at : NULL, &g, &rows, &out);
    }
    group_free(&g);
    if (s != PCNN_OK) {
        free(out.p);
        return s;
    }
    *buf = out.p, *len = out.n;
    return PCNN_OK;
}

pcnn_status pcnn_codec_info_read(const uint8_t *buf, size_t len,
                                 pcnn_codec_info *info)
{
    if (!info)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_codec_info_read: info is NULL");
    pcnn_codec_header h;
    PCNN_TRY(pcnn_codec_read_header("pcnn_codec_info_read", buf, len, &h));
    *info = h.info;
    return PCNN_OK;
}

pcnn_decompress_opts pcnn_decompress_opts_default(void)
{
    pcnn_decompress_opts o;
    memset(&o, 0, sizeof o);
    o.stage = -1;
    return o;
}

/* The stream was coded by this chain with this build's arithmetic. */
static pcnn_status check_match(const char *fn, const pcnn_chain *c,
                               const pcnn_codec_header *h)
{
    const pcnn_codec_info *f = &h->info;
    if (f->build != pcnn_codec_build_tag())
        return pcnn_fail(PCNN_ERR_UNSUPPORTED,
                         "%s: coded by a build with other arithmetic (tag "
                         "%08x; this one, \"%s\", is %08x): decode it with "
                         "the build that coded it",
                         fn, (unsigned)f->build, pcnn_codec_build(),
                         (unsigned)pcnn_codec_build_tag());
    pcnn_codec_header mine;
    header_of(c, f->n, f->batch, &mine);
    int same = mine.info.stages == f->stages && mine.info.c == f->c &&
               mine.info.h == f->h && mine.info.w == f->w &&
               mine.info.num_classes == f->num_classes;
    for (int i = 0; same && i < f->stages; i++)
        same = mine.info.stage_c[i] == f->stage_c[i] &&
               mine.info.stage_h[i] == f->stage_h[i] &&
               mine.info.stage_w[i] == f->stage_w[i] &&
               mine.info.stage_levels[i] == f->stage_levels[i] &&
               mine.rule[i] == h->rule[i];
    if (!same || mine.info.weights != f->weights)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: coded with another model (weights hash "
                         "%016llx%s; this chain's is %016llx)",
                         fn, (unsigned long long)f->weights,
                         same ? "" : ", other stages",
                         (unsigned long long)mine.info.weights);
    return PCNN_OK;
}

/* Decodes stage i of one group of B from the stream s (n bytes) into g. */
static pcnn_status decode_stage(const char *fn, pcnn_ctx *ctx, pcnn_chain *c,
                                int i, const uint8_t *s, size_t n, int64_t B,
                                int classes, group_bufs *g,
                                pcnn_job_rows *rows)
{
    coder cd;
    memset(&cd, 0, sizeof cd);
    cd.decode = 1;
    if (pcnn_rans_dec_init(&cd.dec, s, n))
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: damaged: stage %d's stream is %zu bytes", fn, i,
                         n);
    if (i == c->n) { /* the colors of a color chain */
        PCNN_TRY(lab_stage(fn, c, B, g, NULL, &cd.dec));
    } else {
        cd.rule = stage_rule(c, i);
        const pcnn_model_config *k = pcnn_model_get_config(c->m[i]);
        memset(g->img[i], 0,
               (size_t)(B * k->channels * k->height * k->width));
        if (i == 0 && classes && code_labels(&cd, classes, g->labels, B))
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: damaged: %s", fn, cd.msg);
        PCNN_TRY(run_stage(fn, ctx, c, i, B, g, &cd, rows));
    }
    if (!pcnn_rans_dec_done(&cd.dec))
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: damaged: stage %d's values do not decode to "
                         "what was coded (the stream does not end where it "
                         "should)",
                         fn, i);
    return PCNN_OK;
}

/* Decodes stages 0..K of one group of B (its streams from *at on) into
 * g, checking each stage's end and CRC; skips the later stages. */
static pcnn_status decompress_group(const char *fn, pcnn_ctx *ctx,
                                    pcnn_chain *c, const pcnn_codec_info *f,
                                    const uint8_t *buf, size_t *at, int64_t B,
                                    int K, group_bufs *g, pcnn_job_rows *rows)
{
    for (int i = 0; i < f->stages; i++) {
        const uint8_t *s;
        size_t n;
        uint32_t crc;
        pcnn_codec_next_stream(buf, at, &s, &n, &crc);
        if (i > K)
            continue;
        PCNN_TRY(decode_stage(fn, ctx, c, i, s, n, B, f->num_classes, g,
                              rows));
        const size_t vals = (size_t)(B * f->stage_c[i] * f->stage_h[i] *
                                     f->stage_w[i]);
        if (pcnn_crc32(g->img[i], vals) != crc)
            return pcnn_fail(PCNN_ERR_FORMAT,
                             "%s: damaged: stage %d's values do not decode "
                             "to what was coded (CRC mismatch)",
                             fn, i);
    }
    return PCNN_OK;
}

/* The B decoded images of chroma stage K in g, each composed with its L
 * of stage K-1 into RGB at out (B, 3, H, W), H x W the size of L. */
static pcnn_status colorization(const pcnn_codec_info *f, int K,
                                const group_bufs *g, int64_t B, uint8_t *out)
{
    const int64_t h = f->stage_h[K], w = f->stage_w[K];
    const int64_t H = f->stage_h[K - 1], W = f->stage_w[K - 1];
    for (int64_t b = 0; b < B; b++)
        PCNN_TRY(pcnn_lab8_compose(g->img[K - 1] + b * H * W, H, W,
                                   g->img[K] + b * 2 * h * w, h, w,
                                   out + b * 3 * H * W));
    return PCNN_OK;
}

pcnn_status pcnn_decompress(pcnn_ctx *ctx, pcnn_chain *c, const uint8_t *buf,
                            size_t len, const pcnn_decompress_opts *opts,
                            uint8_t *out, int32_t *labels)
{
    static const char fn[] = "pcnn_decompress";
    if (!ctx || !c || !buf || !out)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    const pcnn_decompress_opts o =
        opts ? *opts : pcnn_decompress_opts_default();
    pcnn_codec_header h;
    PCNN_TRY(pcnn_codec_read_header(fn, buf, len, &h));
    const pcnn_codec_info *f = &h.info;
    const int K = o.stage < 0 ? f->stages - 1 : o.stage;
    if (K >= f->stages)
        return pcnn_fail(PCNN_ERR_ARG, "%s: stage %d of a stream of %d "
                         "stages (0..%d)", fn, o.stage, f->stages,
                         f->stages - 1);
    PCNN_TRY(check_chain(fn, c));
    PCNN_TRY(check_match(fn, c, &h));
    if (o.colorize && !chroma_stage(c, K))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: colorize: stage %d is not a color chain's "
                         "chroma (ab given L(X), after the stage of L(X))",
                         fn, K);
    pcnn_job_rows rows = {o.progress, "decompress", 0, 0};
    const int64_t groups = (f->n + f->batch - 1) / f->batch;
    for (int i = 0; i <= K && i < c->n; i++) /* the sampler's rows */
        rows.total += f->stage_h[i] * groups;
    group_bufs g; /* groups hold at most n images, whatever batch says */
    PCNN_TRY(group_alloc(fn, c, f->batch < f->n ? f->batch : f->n, &g));
    const int64_t item = o.colorize
                             ? 3 * f->stage_h[K - 1] * f->stage_w[K - 1]
                             : f->stage_c[K] * f->stage_h[K] * f->stage_w[K];
    size_t at = h.body;
    pcnn_status s = PCNN_OK;
    for (int64_t i = 0; s == PCNN_OK && i < f->n; i += f->batch) {
        const int64_t B = f->n - i < f->batch ? f->n - i : f->batch;
        s = decompress_group(fn, ctx, c, f, buf, &at, B, K, &g, &rows);
        if (s == PCNN_OK && o.colorize)
            s = colorization(f, K, &g, B, out + i * item);
        else if (s == PCNN_OK)
            memcpy(out + i * item, g.img[K], (size_t)(B * item));
        if (s == PCNN_OK && labels && f->num_classes)
            memcpy(labels + i, g.labels, (size_t)B * sizeof *labels);
    }
    group_free(&g);
    return s;
}
