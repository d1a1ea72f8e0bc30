/*
 * chain.c -- chains of stages: checking that stages fit, bits/dim of the
 * whole chain and of each stage (per image and per position too:
 * pcnn_chain_score), and sampling stage by stage.
 */
#include "chain.h"
#include "../model/model.h"
#include "../model/tighten.h"
#include "../core/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int same_view(const pcnn_view *a, const pcnn_view *b)
{
    return a->halvings == b->halvings && a->gray4 == b->gray4 &&
           a->lab == b->lab;
}

static const pcnn_model_config *cfg_of(pcnn_model *const *m, int i)
{
    return pcnn_model_get_config(m[i]);
}

/* X's shape from the stages (pcnn_chain_image_shape). */
static void x_shape(pcnn_model *const *m, int n, int64_t *c, int64_t *h,
                    int64_t *w)
{
    const pcnn_model_config *last = cfg_of(m, n - 1);
    *h = (int64_t)last->height << last->view.halvings;
    *w = (int64_t)last->width << last->view.halvings;
    *c = 0;
    for (int i = 0; i < n && !*c; i++) {
        const pcnn_model_config *k = cfg_of(m, i);
        const int cond = k->cond_channels > 0;
        if (k->view.lab || (cond && k->cond_view.lab)) {
            *c = 3;
        } else if (!k->view.gray4) {
            *c = k->channels;
        } else if (cond && !k->cond_view.gray4) {
            const int64_t ch = *h >> k->cond_view.halvings;
            const int64_t f = ch > k->height ? ch / k->height : 1;
            *c = k->cond_channels / (f * f);
        }
    }
}

/* Whether condition images of cc x ch x cw fit the model of cfg: the
 * model's size tiled by them, or space to depth from f times larger. */
static int cond_fits(const pcnn_model_config *k, int64_t cc, int64_t ch,
                     int64_t cw)
{
    if (ch <= k->height)
        return cc == k->cond_channels && k->height % ch == 0 &&
               k->width % cw == 0;
    const int64_t f = ch / k->height;
    return ch % k->height == 0 && cw == f * k->width &&
           cc * f * f == k->cond_channels;
}

/* Stage i of the n stages m fits X (c x h x w) and the stage before it. */
static pcnn_status check_stage(const char *fn, pcnn_model *const *m, int i,
                               int64_t xc, int64_t h, int64_t w)
{
    const pcnn_model_config *c = cfg_of(m, i);
    char a[96], b[96];
    int64_t vc, vh, vw;
    int levels;
    PCNN_TRY(pcnn_view_shape(&c->view, xc, h, w, &vc, &vh, &vw, &levels));
    if (vc != c->channels || vh != c->height || vw != c->width ||
        levels != c->levels)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: stage %d models %s, which is %lldx%lldx%lld "
                         "with %d levels, but the model is %dx%dx%d with %d",
                         fn, i, pcnn_view_str(&c->view, a, sizeof a),
                         (long long)vc, (long long)vh, (long long)vw, levels,
                         c->channels, c->height, c->width, c->levels);
    if (i == 0 && c->cond_channels > 0) {
        PCNN_TRY(pcnn_view_shape(&c->cond_view, xc, h, w, &vc, &vh, &vw,
                                 &levels));
        if (!cond_fits(c, vc, vh, vw))
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: stage 0 reads a condition map of %d "
                             "channels; %s is %lldx%lldx%lld",
                             fn, c->cond_channels,
                             pcnn_view_str(&c->cond_view, a, sizeof a),
                             (long long)vc, (long long)vh, (long long)vw);
    }
    if (i == 0)
        return PCNN_OK;
    const pcnn_model_config *p = cfg_of(m, i - 1);
    const int f = p->height > c->height ? p->height / c->height : 1;
    if (c->cond_channels != p->channels * f * f ||
        !same_view(&c->cond_view, &p->view))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: stage %d is conditioned on %s (%d channels), "
                         "stage %d models %s (%d)",
                         fn, i,
                         c->cond_channels
                             ? pcnn_view_str(&c->cond_view, a, sizeof a)
                             : "nothing",
                         c->cond_channels, i - 1,
                         pcnn_view_str(&p->view, b, sizeof b), p->channels);
    return PCNN_OK;
}

pcnn_status pcnn_chain_create(pcnn_chain **out, pcnn_model **stages, int n)
{
    static const char fn[] = "pcnn_chain_create";
    pcnn_status s = PCNN_OK;
    if (out)
        *out = NULL;
    if (!out || !stages || n < 1 || n > PCNN_MAX_STAGES) {
        s = pcnn_fail(PCNN_ERR_ARG, "%s: %d stages (1..%d)", fn, n,
                      PCNN_MAX_STAGES);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        if (!stages[i]) {
            s = pcnn_fail(PCNN_ERR_ARG, "%s: stage %d is NULL", fn, i);
            goto fail;
        }
    int64_t xc, h, w;
    x_shape(stages, n, &xc, &h, &w);
    /* no view fixes X's channels: every view is gray4, one channel of
     * either kind of image */
    for (int i = 0; s == PCNN_OK && i < n; i++)
        s = check_stage(fn, stages, i, xc ? xc : 1, h, w);
    if (s != PCNN_OK)
        goto fail;
    pcnn_chain *ch = calloc(1, sizeof *ch);
    if (!ch) {
        s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    ch->n = n;
    memcpy(ch->m, stages, (size_t)n * sizeof *stages);
    *out = ch;
    return PCNN_OK;
fail:
    for (int i = 0; stages && i < n && i < PCNN_MAX_STAGES; i++)
        pcnn_model_free(stages[i]);
    return s;
}

void pcnn_chain_image_shape(const pcnn_chain *c, int64_t *ch, int64_t *h,
                            int64_t *w)
{
    int64_t a = 0, b = 0, d = 0;
    if (c)
        x_shape(c->m, c->n, &a, &b, &d);
    if (ch)
        *ch = a;
    if (h)
        *h = b;
    if (w)
        *w = d;
}

int pcnn_chain_is_complete(const pcnn_chain *c)
{
    if (!c)
        return 0;
    const pcnn_view id = {0, 0, 0};
    return same_view(&cfg_of(c->m, c->n - 1)->view, &id) &&
           cfg_of(c->m, 0)->cond_channels == 0;
}

void pcnn_chain_free(pcnn_chain *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        pcnn_model_free(c->m[i]);
    free(c);
}

int pcnn_chain_stages(const pcnn_chain *c) { return c ? c->n : 0; }

pcnn_model *pcnn_chain_stage(const pcnn_chain *c, int i)
{
    return c && i >= 0 && i < c->n ? c->m[i] : NULL;
}

/* Stage i's images of one batch and its condition map, from the images
 * of the stage before it (or, for a conditioned stage 0, from cond_view(X)
 * in `src` of the evaluator). */
typedef struct {
    uint8_t *img, *cond;
    float *map;
    /* tightened stages: head parameters, log p per pixel, log masses of
     * the allowed intervals and their ends */
    float *l, *logp, *lz;
    uint8_t *lo, *hi;
} stage_buf;

int pcnn_chain_stage_tightens(const pcnn_chain *ch, int i)
{
    if (!ch || i < 0 || i >= ch->n)
        return 0;
    const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
    return (i > 0 || c->cond_channels > 0) &&
           pcnn_tighten_rule(c) != PCNN_TIGHTEN_NONE;
}

/* Stage i on one batch bt: each image's -log2 p in bits (bits) and, for a
 * tightened stage, the same with each subpixel renormalized over the
 * values its parent (the condition images) allows (tight). */
static pcnn_status stage_bits(pcnn_ctx *ctx, pcnn_chain *ch, int i,
                              const pcnn_batch *bt, const uint8_t *parent,
                              stage_buf *sb, double *bits, double *tight)
{
    pcnn_model *m = ch->m[i];
    const pcnn_model_config *c = pcnn_model_get_config(m);
    const int64_t B = bt->x.n, HW = (int64_t)c->height * c->width;
    const double own = (double)(c->channels * HW);
    if (!pcnn_chain_stage_tightens(ch, i)) {
        PCNN_TRY(pcnn_model_loss(ctx, m, bt, 0, 0, NULL, bits));
        for (int64_t k = 0; k < B; k++)
            tight[k] = bits[k] *= own;
        return PCNN_OK;
    }
    const int64_t P = pcnn_head_params(&m->head);
    pcnn_tensor l = pcnn_t4(sb->l, B, P, c->height, c->width);
    PCNN_TRY(pcnn_model_forward(ctx, m, bt, l));
    PCNN_TRY(pcnn_head_log_prob(ctx, &m->head,
                                pcnn_t4(sb->logp, B, 1, c->height, c->width),
                                l, bt->x));
    if (pcnn_tighten_rule(c) == PCNN_TIGHTEN_GRAY4)
        PCNN_TRY(pcnn_gray4_bounds(bt->x, parent, sb->lo, sb->hi));
    else
        PCNN_TRY(pcnn_half_bounds(bt->x, parent, sb->lo, sb->hi));
    pcnn_image lo = pcnn_img(sb->lo, B, c->channels, c->height, c->width);
    pcnn_image hi = pcnn_img(sb->hi, B, c->channels, c->height, c->width);
    PCNN_TRY(pcnn_head_interval_log_mass(
        ctx, &m->head, pcnn_t4(sb->lz, B, c->channels, c->height, c->width),
        l, bt->x, lo, hi));
    for (int64_t k = 0; k < B; k++) {
        double lp = 0, lz = 0;
        for (int64_t q = 0; q < HW; q++)
            lp += sb->logp[k * HW + q];
        for (int64_t q = 0; q < c->channels * HW; q++)
            lz += sb->lz[k * c->channels * HW + q];
        bits[k] = -lp / PCNN_LN2;
        tight[k] = -(lp - lz) / PCNN_LN2;
        if (!isfinite(bits[k]) || !isfinite(tight[k]))
            return pcnn_fail(PCNN_ERR_VALUE,
                             "pcnn_chain_evaluate: stage %d: the loss of "
                             "image %lld is not finite",
                             i, (long long)k);
    }
    return PCNN_OK;
}

pcnn_eval_opts pcnn_eval_opts_default(void)
{
    pcnn_eval_opts o;
    memset(&o, 0, sizeof o);
    o.batch = 100;
    return o;
}

/* The evaluator's buffers for batches of B: per stage (sb), a
 * conditioned stage 0's condition images cond_view(X) (src, src_c x
 * src_h x src_w with src_levels values), per-image sums. */
typedef struct {
    stage_buf sb[PCNN_MAX_STAGES];
    uint8_t *src;
    int64_t src_c, src_h, src_w;
    int src_levels;
    double *bits, *tbits, *img_bits, *img_tight;
    int32_t *labels;
    /* pcnn_chain_score's outputs (NULL: none) and the index of the
     * batch's first image */
    const pcnn_chain_scores *out;
    int64_t start;
} eval_bufs;

static void eval_free(eval_bufs *e, int n)
{
    for (int i = 0; i < n; i++)
        free(e->sb[i].img), free(e->sb[i].map), free(e->sb[i].l),
            free(e->sb[i].logp), free(e->sb[i].lz), free(e->sb[i].lo),
            free(e->sb[i].hi);
    free(e->src), free(e->bits), free(e->tbits), free(e->img_bits);
    free(e->img_tight), free(e->labels);
}

static pcnn_status eval_alloc(pcnn_chain *ch, const pcnn_dataset *x,
                              size_t B, eval_bufs *e, int *tightened)
{
    memset(e, 0, sizeof *e);
    e->bits = malloc(B * sizeof(double));
    e->tbits = malloc(B * sizeof(double));
    e->img_bits = calloc(B, sizeof(double));
    e->img_tight = calloc(B, sizeof(double));
    e->labels = calloc(B, sizeof(int32_t));
    int ok = e->bits && e->tbits && e->img_bits && e->img_tight && e->labels;
    const pcnn_model_config *c0 = pcnn_model_get_config(ch->m[0]);
    if (c0->cond_channels > 0) {
        PCNN_TRY(pcnn_view_shape(&c0->cond_view, x->c, x->h, x->w,
                                 &e->src_c, &e->src_h, &e->src_w,
                                 &e->src_levels));
        e->src = malloc(B * (size_t)(e->src_c * e->src_h * e->src_w));
        ok = ok && e->src;
    }
    *tightened = 0;
    for (int i = 0; i < ch->n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
        const size_t hw = (size_t)c->height * (size_t)c->width;
        const size_t sub = B * (size_t)c->channels * hw;
        stage_buf *sb = &e->sb[i];
        sb->img = malloc(sub);
        sb->map = c->cond_channels ? malloc(B * (size_t)c->cond_channels *
                                            hw * sizeof(float))
                                   : NULL;
        ok = ok && sb->img && (!c->cond_channels || sb->map);
        if (pcnn_chain_stage_tightens(ch, i)) {
            ++*tightened;
            sb->l = malloc(B * hw * sizeof(float) *
                           (size_t)pcnn_head_params(&ch->m[i]->head));
            sb->logp = malloc(B * hw * sizeof(float));
            sb->lz = malloc(sub * sizeof(float));
            sb->lo = malloc(sub), sb->hi = malloc(sub);
            ok = ok && sb->l && sb->logp && sb->lz && sb->lo && sb->hi;
        }
    }
    return ok ? PCNN_OK
              : pcnn_fail(PCNN_ERR_NOMEM, "pcnn_chain_evaluate: out of "
                                          "memory");
}

/* Stage i's figures of the b images of the batch into e->out: each
 * image's term per dim of X (dims), and the bits at each position, from
 * the log-probabilities its term was summed from (a tightened stage's in
 * sb->logp and sb->lz, another's left in the model's evaluation plan by
 * pcnn_model_loss). */
static void stage_scores(pcnn_chain *ch, int i, const eval_bufs *e,
                         int64_t b, double dims)
{
    const pcnn_chain_scores *o = e->out;
    const int n = ch->n;
    for (int64_t k = 0; k < b; k++) {
        if (o->bits)
            o->bits[(e->start + k) * n + i] = e->bits[k] / dims;
        if (o->tight_bits)
            o->tight_bits[(e->start + k) * n + i] = e->tbits[k] / dims;
    }
    if (!o->map[i] && !o->tight_map[i])
        return;
    const pcnn_model *m = ch->m[i];
    const pcnn_model_config *c = pcnn_model_get_config(m);
    const int64_t HW = (int64_t)c->height * c->width, C = c->channels;
    const int tight = pcnn_chain_stage_tightens(ch, i);
    const float *logp = tight ? e->sb[i].logp : m->ev.logp;
    for (int64_t k = 0; k < b; k++)
        for (int64_t q = 0; q < HW; q++) {
            const double lp = logp[k * HW + q];
            double lz = 0;
            for (int64_t a = 0; tight && a < C; a++)
                lz += e->sb[i].lz[(k * C + a) * HW + q];
            const int64_t at = (e->start + k) * HW + q;
            if (o->map[i])
                o->map[i][at] = -lp / PCNN_LN2;
            if (o->tight_map[i])
                o->tight_map[i][at] = -(lp - lz) / PCNN_LN2;
        }
}

/* Every stage on the b images xb (with labels in e->labels): their bits
 * added to e->img_bits, e->img_tight and to r's per-stage sums, and to
 * e->out when scoring. */
static pcnn_status eval_batch(pcnn_ctx *ctx, pcnn_chain *ch, pcnn_image xb,
                              eval_bufs *e, pcnn_chain_eval *r)
{
    const int64_t b = xb.n;
    const double dims = (double)(xb.c * xb.h * xb.w);
    for (int64_t k = 0; k < b; k++)
        e->img_bits[k] = e->img_tight[k] = 0;
    if (e->src)
        PCNN_TRY(pcnn_view_apply(&pcnn_model_get_config(ch->m[0])->cond_view,
                                 xb, e->src));
    for (int i = 0; i < ch->n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
        PCNN_TRY(pcnn_view_apply(&c->view, xb, e->sb[i].img));
        pcnn_batch bt = {pcnn_img(e->sb[i].img, b, c->channels, c->height,
                                  c->width),
                         c->num_classes ? e->labels : NULL, pcnn_none()};
        /* the condition: the previous stage's images, or cond_view(X) */
        const uint8_t *cond = i > 0 ? e->sb[i - 1].img : e->src;
        if (cond) {
            const pcnn_model_config *p =
                i > 0 ? pcnn_model_get_config(ch->m[i - 1]) : NULL;
            bt.cond = pcnn_t4(e->sb[i].map, b, c->cond_channels, c->height,
                              c->width);
            PCNN_TRY(pcnn_cond_map(bt.cond, cond, p ? p->height : e->src_h,
                                   p ? p->width : e->src_w,
                                   p ? p->levels : e->src_levels));
        }
        PCNN_TRY(stage_bits(ctx, ch, i, &bt, cond, &e->sb[i], e->bits,
                            e->tbits));
        if (e->out)
            stage_scores(ch, i, e, b, dims);
        const double own = (double)(c->channels * c->height * c->width);
        for (int64_t k = 0; k < b; k++) {
            e->img_bits[k] += e->bits[k], e->img_tight[k] += e->tbits[k];
            r->stage[i] += e->bits[k] / dims;
            r->own[i] += e->bits[k] / own;
            r->tight_stage[i] += e->tbits[k] / dims;
            r->tight_own[i] += e->tbits[k] / own;
        }
    }
    return PCNN_OK;
}

/* The data fit the chain: X's shape, labels for class-conditional
 * stages. */
static pcnn_status eval_check(const char *fn, const pcnn_chain *ch,
                              const pcnn_dataset *x)
{
    int64_t c, h, w;
    x_shape(ch->m, ch->n, &c, &h, &w);
    if (x->h != h || x->w != w || (c ? x->c != c : x->c != 1 && x->c != 3))
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: the data are %lldx%lldx%lld images, the chain "
                         "models views of %s%lldx%lld",
                         fn, (long long)x->c, (long long)x->h,
                         (long long)x->w,
                         c == 3 ? "3x" : c == 1 ? "1x" : "1- or 3-channel ",
                         (long long)h, (long long)w);
    for (int i = 0; i < ch->n; i++)
        if (pcnn_model_get_config(ch->m[i])->num_classes > 0 && !x->labels)
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: stage %d is class-conditional; the data "
                             "have no labels",
                             fn, i);
    return PCNN_OK;
}

/* pcnn_chain_evaluate, and pcnn_chain_score when out is not NULL. */
static pcnn_status chain_run(const char *fn, pcnn_ctx *ctx, pcnn_chain *ch,
                             const pcnn_dataset *x,
                             const pcnn_eval_opts *opts, pcnn_chain_eval *r,
                             const pcnn_chain_scores *out)
{
    const pcnn_eval_opts o = opts ? *opts : pcnn_eval_opts_default();
    if (!ch || !x || !x->images || x->n < 1 || !r)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument or no images", fn);
    if (o.batch < 1 || o.batch > 65536)
        return pcnn_fail(PCNN_ERR_ARG, "%s: batch %d not in 1..65536", fn,
                         o.batch);
    PCNN_TRY(eval_check(fn, ch, x));
    memset(r, 0, sizeof *r);
    const int64_t n = o.limit > 0 && o.limit < x->n ? o.limit : x->n;
    const int64_t item = x->c * x->h * x->w;
    eval_bufs e;
    pcnn_status s = eval_alloc(ch, x, (size_t)o.batch, &e, &r->tightened);
    e.out = out;
    double sum = 0, sq = 0, tsum = 0, tsq = 0;
    for (int64_t start = 0; s == PCNN_OK && start < n; start += o.batch) {
        const int64_t b = n - start < o.batch ? n - start : o.batch;
        e.start = start;
        if (x->labels)
            memcpy(e.labels, x->labels + start, (size_t)b * sizeof *e.labels);
        s = eval_batch(ctx, ch,
                       pcnn_img(x->images + start * item, b, x->c, x->h,
                                x->w),
                       &e, r);
        for (int64_t k = 0; s == PCNN_OK && k < b; k++) {
            const double t = e.img_bits[k] / (double)item;
            const double u = e.img_tight[k] / (double)item;
            sum += t, sq += t * t, tsum += u, tsq += u * u;
            if (o.image_bits)
                o.image_bits[start + k] = t;
        }
        const pcnn_progress_info info = {"eval", start + b, n,
                                         sum / (double)(start + b)};
        if (s == PCNN_OK && o.progress.fn &&
            o.progress.fn(o.progress.arg, &info))
            s = pcnn_fail(PCNN_ERR_CANCELLED,
                          "%s: cancelled by the progress callback after %lld "
                          "images",
                          fn, (long long)(start + b));
    }
    eval_free(&e, ch->n);
    if (s != PCNN_OK)
        return s;
    for (int i = 0; i < ch->n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
        r->stage[i] /= (double)n, r->own[i] /= (double)n;
        r->tight_stage[i] /= (double)n, r->tight_own[i] /= (double)n;
        r->dims[i] = (int64_t)c->channels * c->height * c->width;
    }
    r->total = sum / (double)n;
    r->total_se = pcnn_std_error(sum, sq, n);
    r->tight_total = tsum / (double)n;
    r->tight_se = pcnn_std_error(tsum, tsq, n);
    r->images = n;
    r->dims_x = item;
    return PCNN_OK;
}

pcnn_status pcnn_chain_evaluate(pcnn_ctx *ctx, pcnn_chain *ch,
                                const pcnn_dataset *x,
                                const pcnn_eval_opts *opts,
                                pcnn_chain_eval *r)
{
    return chain_run("pcnn_chain_evaluate", ctx, ch, x, opts, r, NULL);
}

pcnn_status pcnn_chain_score(pcnn_ctx *ctx, pcnn_chain *ch,
                             const pcnn_dataset *x,
                             const pcnn_eval_opts *opts, pcnn_chain_eval *r,
                             const pcnn_chain_scores *out)
{
    static const char fn[] = "pcnn_chain_score";
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "%s: out is NULL", fn);
    if (!ch)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL chain", fn);
    for (int i = ch->n; i < PCNN_MAX_STAGES; i++)
        if (out->map[i] || out->tight_map[i])
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: a map for stage %d of a chain of %d", fn,
                             i, ch->n);
    pcnn_chain_eval own;
    return chain_run(fn, ctx, ch, x, opts, r ? r : &own, out);
}

pcnn_status pcnn_chain_sample(pcnn_ctx *ctx, pcnn_chain *ch, int64_t B,
                              const pcnn_model_sample_opts *opts,
                              uint8_t **out)
{
    return pcnn_chain_sample_from(ctx, ch, B, 0, opts, out);
}

/* One stage's row reports as rows of all the stages drawn. */
typedef struct {
    pcnn_progress outer;
    int64_t before, total;
} rows_of_all;

static int stage_rows(void *arg, const pcnn_progress_info *info)
{
    const rows_of_all *r = arg;
    const pcnn_progress_info all = {info->job, r->before + info->done,
                                    r->total, info->value};
    return r->outer.fn(r->outer.arg, &all);
}

pcnn_status pcnn_chain_sample_from(pcnn_ctx *ctx, pcnn_chain *ch, int64_t B,
                                   int first,
                                   const pcnn_model_sample_opts *opts,
                                   uint8_t **out)
{
    static const char fn[] = "pcnn_chain_sample";
    if (!ch || !opts || !out || B < 1)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument or batch %lld", fn,
                         (long long)B);
    if (first < 0 || first >= ch->n || (first > 0 && !out[first - 1]))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: first stage %d of %d, or no images of stage "
                         "%d given",
                         fn, first, ch->n, first - 1);
    if (first == 0 && pcnn_model_get_config(ch->m[0])->cond_channels > 0)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: stage 0 needs a condition map (%d channels), "
                         "which a chain cannot draw",
                         fn, pcnn_model_get_config(ch->m[0])->cond_channels);
    rows_of_all rows = {opts->progress, 0, 0};
    for (int i = first; i < ch->n; i++)
        rows.total += pcnn_model_get_config(ch->m[i])->height;
    pcnn_status s = PCNN_OK;
    float *map = NULL;
    for (int i = first; s == PCNN_OK && i < ch->n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
        pcnn_model_sample_opts o = *opts;
        o.seed = pcnn_hash64(opts->seed, (uint64_t)i);
        o.known = NULL;
        o.params = pcnn_none();
        o.cond = pcnn_none();
        o.parent = NULL;
        if (opts->progress.fn)
            o.progress = (pcnn_progress){stage_rows, &rows};
        /* consistent: a tightened stage draws from its tightened
         * distribution, its images' half (or gray4) view exactly the
         * previous stage's images */
        if (opts->consistent && pcnn_chain_stage_tightens(ch, i))
            o.parent = out[i - 1];
        if (i > 0) {
            const pcnn_model_config *p = pcnn_model_get_config(ch->m[i - 1]);
            free(map);
            map = malloc((size_t)(B * c->cond_channels * c->height *
                                  c->width) *
                         sizeof *map);
            if (!map) {
                s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
                break;
            }
            o.cond = pcnn_t4(map, B, c->cond_channels, c->height, c->width);
            s = pcnn_cond_map(o.cond, out[i - 1], p->height, p->width,
                              p->levels);
        }
        if (s == PCNN_OK)
            s = pcnn_model_sample(ctx, ch->m[i],
                                  pcnn_img(out[i], B, c->channels, c->height,
                                           c->width),
                                  &o);
        rows.before += c->height;
    }
    free(map);
    return s;
}

pcnn_status pcnn_chain_complete(pcnn_ctx *ctx, pcnn_chain *ch, pcnn_image x,
                                const uint8_t *known,
                                const pcnn_model_sample_opts *opts)
{
    static const char fn[] = "pcnn_chain_complete";
    if (!ch || !opts || !known)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL chain, known or opts", fn);
    if (ch->n != 1 || !pcnn_chain_is_complete(ch)) {
        char v[96];
        const pcnn_model_config *c = pcnn_model_get_config(ch->m[0]);
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: completion needs a chain of one stage that "
                         "models x unconditioned; this one has %d stage%s, "
                         "the first modelling %s%s",
                         fn, ch->n, ch->n > 1 ? "s" : "",
                         pcnn_view_str(&c->view, v, sizeof v),
                         c->cond_channels ? " given a condition" : "");
    }
    pcnn_model_sample_opts o = *opts;
    o.known = known;
    o.parent = NULL;
    return pcnn_model_sample(ctx, ch->m[0], x, &o);
}
