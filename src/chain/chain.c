/*
 * chain.c -- chains of stages: checking that stages fit, bits/dim of the
 * whole chain and of each stage, and sampling stage by stage.
 */
#include "chain.h"
#include "../core/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int same_view(const pcnn_view *a, const pcnn_view *b)
{
    return a->halvings == b->halvings && a->gray4 == b->gray4;
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
    const pcnn_view id = {0, 0};
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
            if (c->cond_channels != p->channels ||
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
} stage_buf;

pcnn_status pcnn_chain_evaluate(pcnn_ctx *ctx, pcnn_chain *ch,
                                const pcnn_dataset *x, int batch,
                                int64_t limit, double *stage_bpd,
                                double *own_bpd, double *total,
                                double *total_se)
{
    static const char fn[] = "pcnn_chain_evaluate";
    if (!ch || !x || !x->images || !stage_bpd || !total || batch < 1 ||
        batch > 65536)
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
    const int64_t n = limit > 0 && limit < x->n ? limit : x->n;
    const int64_t item = x->c * x->h * x->w;
    const double dims = (double)item;
    stage_buf sb[PCNN_MAX_STAGES];
    memset(sb, 0, sizeof sb);
    double *bpd = malloc((size_t)batch * sizeof *bpd);
    double *img_bits = malloc((size_t)batch * sizeof *img_bits);
    int32_t *labels = calloc((size_t)batch, sizeof *labels);
    pcnn_status s = bpd && img_bits && labels
                        ? PCNN_OK
                        : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    for (int i = 0; s == PCNN_OK && i < ch->n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(ch->m[i]);
        sb[i].img = malloc((size_t)(batch * c->channels * c->height *
                                    c->width));
        sb[i].map = c->cond_channels
                        ? malloc((size_t)(batch * c->cond_channels *
                                          c->height * c->width) *
                                 sizeof(float))
                        : NULL;
        if (!sb[i].img || (c->cond_channels && !sb[i].map))
            s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
        stage_bpd[i] = 0;
        if (own_bpd)
            own_bpd[i] = 0;
    }
    double sum = 0, sq = 0;
    for (int64_t start = 0; s == PCNN_OK && start < n; start += batch) {
        const int64_t b = n - start < batch ? n - start : batch;
        pcnn_image xb = pcnn_img(x->images + start * item, b, x->c, x->h,
                                 x->w);
        if (x->labels)
            memcpy(labels, x->labels + start, (size_t)b * sizeof *labels);
        for (int64_t k = 0; k < b; k++)
            img_bits[k] = 0;
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
                s = pcnn_model_loss(ctx, ch->m[i], &bt, 0, 0, NULL, bpd);
            const double own = (double)(c->channels * c->height * c->width);
            for (int64_t k = 0; s == PCNN_OK && k < b; k++) {
                img_bits[k] += bpd[k] * own;
                stage_bpd[i] += bpd[k] * own / dims;
                if (own_bpd)
                    own_bpd[i] += bpd[k];
            }
        }
        for (int64_t k = 0; s == PCNN_OK && k < b; k++) {
            const double t = img_bits[k] / dims;
            sum += t, sq += t * t;
        }
    }
    for (int i = 0; i < ch->n; i++)
        free(sb[i].img), free(sb[i].map);
    free(bpd), free(img_bits), free(labels);
    if (s != PCNN_OK)
        return s;
    for (int i = 0; i < ch->n; i++) {
        stage_bpd[i] /= (double)n;
        if (own_bpd)
            own_bpd[i] /= (double)n;
    }
    *total = sum / (double)n;
    if (total_se)
        *total_se = pcnn_std_error(sum, sq, n);
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
