/*
 * chain.c -- chains of stages: checking that stages fit, bits/dim of the
 * whole chain and of each stage, and sampling stage by stage.
 */
#include "chain.h"
#include "../model/model.h"
#include "../core/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int same_view(const pcnn_view *a, const pcnn_view *b)
{
    return a->halvings == b->halvings && a->gray4 == b->gray4 &&
           a->lab == b->lab;
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
    const pcnn_model_config *last = pcnn_model_get_config(stages[n - 1]);
    const pcnn_view id = {0, 0, 0};
    char a[96], b[96];
    if (!same_view(&last->view, &id)) {
        s = pcnn_fail(PCNN_ERR_ARG, "%s: the last stage models %s, not x",
                      fn, pcnn_view_str(&last->view, a, sizeof a));
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(stages[i]);
        int64_t vc, vh, vw;
        int levels;
        s = pcnn_view_shape(&c->view, last->channels, last->height,
                            last->width, &vc, &vh, &vw, &levels);
        if (s == PCNN_OK && (vc != c->channels || vh != c->height ||
                             vw != c->width || levels != c->levels))
            s = pcnn_fail(PCNN_ERR_ARG,
                          "%s: stage %d models %s, which is %lldx%lldx%lld "
                          "with %d levels, but the model is %dx%dx%d with "
                          "%d",
                          fn, i, pcnn_view_str(&c->view, a, sizeof a),
                          (long long)vc, (long long)vh, (long long)vw,
                          levels, c->channels, c->height, c->width,
                          c->levels);
        if (s == PCNN_OK && i == 0 && c->cond_channels > 0)
            s = pcnn_fail(PCNN_ERR_ARG,
                          "%s: stage 0 reads a condition map; nothing "
                          "comes before it",
                          fn);
        if (s == PCNN_OK && i > 0) {
            const pcnn_model_config *p = pcnn_model_get_config(stages[i - 1]);
            const int f = p->height > c->height ? p->height / c->height : 1;
            if (c->cond_channels != p->channels * f * f ||
                !same_view(&c->cond_view, &p->view))
                s = pcnn_fail(PCNN_ERR_ARG,
                              "%s: stage %d is conditioned on %s (%d "
                              "channels), stage %d models %s (%d)",
                              fn, i,
                              c->cond_channels
                                  ? pcnn_view_str(&c->cond_view, a, sizeof a)
                                  : "nothing",
                              c->cond_channels, i - 1,
                              pcnn_view_str(&p->view, b, sizeof b),
                              p->channels);
        }
        if (s != PCNN_OK)
            goto fail;
    }
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

/* Stage i's images (b, c, h, w) of the images x, and its condition map
 * from stage i-1's view. */
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
    if (!ch || i < 1 || i >= ch->n)
        return 0;
    const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
    return c->head == PCNN_HEAD_DMOL && !c->view.gray4 &&
           !c->cond_view.gray4 && !c->view.lab && !c->cond_view.lab &&
           c->cond_view.halvings == c->view.halvings + 1;
}

/* Stage i on one batch bt: each image's -log2 p in bits (bits) and, for a
 * tightened stage, the same with each subpixel renormalized over the
 * values its parent (cond, the previous stage's images) allows (tight). */
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

pcnn_status pcnn_chain_evaluate(pcnn_ctx *ctx, pcnn_chain *ch,
                                const pcnn_dataset *x, int batch,
                                int64_t limit, pcnn_chain_eval *r)
{
    static const char fn[] = "pcnn_chain_evaluate";
    if (!ch || !x || !x->images || !r || batch < 1 || batch > 65536)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument or batch %d", fn,
                         batch);
    const pcnn_model_config *last = pcnn_model_get_config(ch->m[ch->n - 1]);
    if (x->c != last->channels || x->h != last->height ||
        x->w != last->width)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: the data are %lldx%lldx%lld images, the chain "
                         "models %dx%dx%d",
                         fn, (long long)x->c, (long long)x->h,
                         (long long)x->w, last->channels, last->height,
                         last->width);
    for (int i = 0; i < ch->n; i++)
        if (pcnn_model_get_config(ch->m[i])->num_classes > 0 && !x->labels)
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: stage %d is class-conditional; the data "
                             "have no labels",
                             fn, i);
    memset(r, 0, sizeof *r);
    const int64_t n = limit > 0 && limit < x->n ? limit : x->n;
    const int64_t item = x->c * x->h * x->w;
    const double dims = (double)item;
    stage_buf sb[PCNN_MAX_STAGES];
    memset(sb, 0, sizeof sb);
    const size_t B = (size_t)batch;
    double *bits = malloc(B * sizeof *bits), *tbits = malloc(B * sizeof *bits);
    double *img_bits = calloc(B, sizeof *img_bits);
    double *img_tight = calloc(B, sizeof *img_tight);
    int32_t *labels = calloc(B, sizeof *labels);
    pcnn_status s = bits && tbits && img_bits && img_tight && labels
                        ? PCNN_OK
                        : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    for (int i = 0; s == PCNN_OK && i < ch->n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
        const size_t hw = (size_t)c->height * (size_t)c->width;
        const size_t sub = B * (size_t)c->channels * hw;
        sb[i].img = malloc(sub);
        sb[i].map = c->cond_channels
                        ? malloc(B * (size_t)c->cond_channels * hw *
                                 sizeof(float))
                        : NULL;
        if (pcnn_chain_stage_tightens(ch, i)) {
            r->tightened++;
            sb[i].l = malloc(B * hw * sizeof(float) *
                             (size_t)pcnn_head_params(&ch->m[i]->head));
            sb[i].logp = malloc(B * hw * sizeof(float));
            sb[i].lz = malloc(sub * sizeof(float));
            sb[i].lo = malloc(sub), sb[i].hi = malloc(sub);
            if (!sb[i].l || !sb[i].logp || !sb[i].lz || !sb[i].lo ||
                !sb[i].hi)
                s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
        }
        if (!sb[i].img || (c->cond_channels && !sb[i].map))
            s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    double sum = 0, sq = 0, tsum = 0, tsq = 0;
    for (int64_t start = 0; s == PCNN_OK && start < n; start += batch) {
        const int64_t b = n - start < batch ? n - start : batch;
        pcnn_image xb = pcnn_img(x->images + start * item, b, x->c, x->h,
                                 x->w);
        if (x->labels)
            memcpy(labels, x->labels + start, (size_t)b * sizeof *labels);
        for (int64_t k = 0; k < b; k++)
            img_bits[k] = img_tight[k] = 0;
        for (int i = 0; s == PCNN_OK && i < ch->n; i++) {
            const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
            s = pcnn_view_apply(&c->view, xb, sb[i].img);
            pcnn_batch bt = {pcnn_img(sb[i].img, b, c->channels, c->height,
                                      c->width),
                             c->num_classes ? labels : NULL, pcnn_none()};
            if (s == PCNN_OK && i > 0) {
                const pcnn_model_config *p =
                    pcnn_model_get_config(ch->m[i - 1]);
                bt.cond = pcnn_t4(sb[i].map, b, c->cond_channels, c->height,
                                  c->width);
                s = pcnn_cond_map(bt.cond, sb[i - 1].img, p->height,
                                  p->width, p->levels);
            }
            if (s == PCNN_OK)
                s = stage_bits(ctx, ch, i, &bt, i > 0 ? sb[i - 1].img : NULL,
                               &sb[i], bits, tbits);
            const double own = (double)(c->channels * c->height * c->width);
            for (int64_t k = 0; s == PCNN_OK && k < b; k++) {
                img_bits[k] += bits[k], img_tight[k] += tbits[k];
                r->stage[i] += bits[k] / dims;
                r->own[i] += bits[k] / own;
                r->tight_stage[i] += tbits[k] / dims;
                r->tight_own[i] += tbits[k] / own;
            }
        }
        for (int64_t k = 0; s == PCNN_OK && k < b; k++) {
            const double t = img_bits[k] / dims, u = img_tight[k] / dims;
            sum += t, sq += t * t, tsum += u, tsq += u * u;
        }
    }
    for (int i = 0; i < ch->n; i++)
        free(sb[i].img), free(sb[i].map), free(sb[i].l), free(sb[i].logp),
            free(sb[i].lz), free(sb[i].lo), free(sb[i].hi);
    free(bits), free(tbits), free(img_bits), free(img_tight), free(labels);
    if (s != PCNN_OK)
        return s;
    for (int i = 0; i < ch->n; i++) {
        r->stage[i] /= (double)n, r->own[i] /= (double)n;
        r->tight_stage[i] /= (double)n, r->tight_own[i] /= (double)n;
    }
    r->total = sum / (double)n;
    r->total_se = pcnn_std_error(sum, sq, n);
    r->tight_total = tsum / (double)n;
    r->tight_se = pcnn_std_error(tsum, tsq, n);
    return PCNN_OK;
}

pcnn_status pcnn_chain_sample(pcnn_ctx *ctx, pcnn_chain *ch, int64_t B,
                              const pcnn_model_sample_opts *opts,
                              uint8_t **out)
{
    return pcnn_chain_sample_from(ctx, ch, B, 0, opts, out);
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
        /* consistent: a pyramid stage draws from its tightened
         * distribution, its images halving exactly to the previous
         * stage's */
        if (opts->consistent && pcnn_chain_stage_tightens(ch, i) &&
            o.log_scale_offset == 0.0f && o.temperature == 1.0f)
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
    }
    free(map);
    return s;
}
