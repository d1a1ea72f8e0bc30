/*
 * model.c -- running a model: forward to the head's parameters, the loss
 * in bits/dim, its gradient, data-dependent initialization, and access to
 * the parameter table.
 */
#include "model.h"
#include "../api/check.h"

#include <math.h>
#include <string.h>

const pcnn_model_config *pcnn_model_get_config(const pcnn_model *m)
{
    return &m->cfg;
}

pcnn_head pcnn_model_head(const pcnn_model *m) { return m->head; }

int pcnn_model_param_count(const pcnn_model *m) { return m->params.count; }

const char *pcnn_model_param_name(const pcnn_model *m, int i)
{
    return i >= 0 && i < m->params.count ? m->params.p[i].name : NULL;
}

pcnn_tensor pcnn_model_param(const pcnn_model *m, int i)
{
    return i >= 0 && i < m->params.count ? pcnn_params_value(&m->params, i)
                                         : pcnn_none();
}

pcnn_tensor pcnn_model_grad(const pcnn_model *m, int i)
{
    return i >= 0 && i < m->params.count
               ? pcnn_params_gradient(&m->params, i)
               : pcnn_none();
}

int pcnn_model_find_param(const pcnn_model *m, const char *name)
{
    return pcnn_params_find(&m->params, name);
}

float *pcnn_model_params(pcnn_model *m, size_t *n)
{
    if (n)
        *n = m->params.total;
    return m->params.data;
}

float *pcnn_model_grads(pcnn_model *m, size_t *n)
{
    if (n)
        *n = m->params.total;
    return m->params.grad;
}

/* The batch fits the model: images (B, C, H, W), labels in range when the
 * model has classes, a condition map (B, cond_channels, H, W) when it has
 * one. */
pcnn_status pcnn_model_check_batch(const char *fn, const pcnn_model *m,
                                   const pcnn_batch *b)
{
    const pcnn_model_config *c = &m->cfg;
    if (!b || !b->x.data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: no images", fn);
    if (b->x.n < 1 || b->x.n > 1 << 20 || b->x.c != c->channels ||
        b->x.h != c->height || b->x.w != c->width)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: images are (%lld,%lld,%lld,%lld), the model "
                         "takes (B,%d,%d,%d)",
                         fn, (long long)b->x.n, (long long)b->x.c,
                         (long long)b->x.h, (long long)b->x.w, c->channels,
                         c->height, c->width);
    if (c->num_classes > 0) {
        if (!b->labels)
            return pcnn_fail(PCNN_ERR_ARG,
                             "%s: the model is class-conditional: labels "
                             "needed",
                             fn);
        for (int64_t i = 0; i < b->x.n; i++)
            if (b->labels[i] < 0 || b->labels[i] >= c->num_classes)
                return pcnn_fail(PCNN_ERR_VALUE,
                                 "%s: label %d of image %lld not in 0..%d",
                                 fn, (int)b->labels[i], (long long)i,
                                 c->num_classes - 1);
    }
    if (c->cond_channels > 0) {
        int64_t d[4] = {b->x.n, c->cond_channels, c->height, c->width};
        PCNN_TRY(pcnn_check_dims(fn, "cond", b->cond, 4, d));
    }
    return PCNN_OK;
}

static pcnn_genv env_of(pcnn_model *m, const pcnn_plan *p, int train,
                        uint64_t seed, int init)
{
    return (pcnn_genv){&m->params, m->layers, m->w,    m->dw,  p->labels,
                       train,      seed,      m->img0, init};
}

void pcnn_layer_axes(const pcnn_model *m, const pcnn_layer *L, int64_t *A,
                     int64_t *O, int64_t *R)
{
    const pcnn_param *v = &m->params.p[L->v];
    *A = L->kind == GN_DECONV ? v->shape[0] : 1;
    *O = L->kind == GN_DECONV ? v->shape[1] : v->shape[0];
    *R = (int64_t)v->n / (*A * *O);
}

double pcnn_channel_norm(const float *v, int64_t o, int64_t A, int64_t O,
                         int64_t R)
{
    double sq = 0;
    for (int64_t a = 0; a < A; a++)
        for (int64_t r = 0; r < R; r++) {
            const double e = v[(a * O + o) * R + r];
            sq += e * e;
        }
    return sqrt(sq);
}

void pcnn_model_sync_norms(const pcnn_model *m, float *block)
{
    for (int i = 0; i < m->nlayers; i++) {
        const pcnn_layer *L = &m->layers[i];
        int64_t A, O, R;
        pcnn_layer_axes(m, L, &A, &O, &R);
        const float *x = block + m->params.p[L->v].off;
        float *g = block + m->params.p[L->g].off;
        for (int64_t o = 0; o < O; o++)
            g[o] = (float)pcnn_channel_norm(x, o, A, O, R);
    }
}

/* w = g v / ||v|| for every layer; a plain model's w = v */
pcnn_status pcnn_model_refresh_weights(pcnn_ctx *ctx, pcnn_model *m)
{
    if (m->cfg.plain) {
        pcnn_model_sync_norms(m, m->params.data);
        for (int i = 0; i < m->nlayers; i++) {
            const pcnn_layer *L = &m->layers[i];
            pcnn_tensor v = pcnn_params_value(&m->params, L->v);
            memcpy(m->w + L->woff, v.data,
                   (size_t)pcnn_numel(v) * sizeof(float));
        }
        return PCNN_OK;
    }
    for (int i = 0; i < m->nlayers; i++) {
        const pcnn_layer *L = &m->layers[i];
        pcnn_tensor v = pcnn_params_value(&m->params, L->v), w = v;
        w.data = m->w + L->woff;
        PCNN_TRY(pcnn_weightnorm_forward(
            ctx, w, v, pcnn_params_value(&m->params, L->g),
            L->kind == GN_DECONV ? PCNN_WN_DIM1 : PCNN_WN_DIM0));
    }
    return PCNN_OK;
}

/* Runs the training graph (train or init) or the evaluation graph on the
 * batch; *used is the plan that ran. */
static pcnn_status run_forward(pcnn_ctx *ctx, pcnn_model *m,
                               const pcnn_batch *b, int train, uint64_t seed,
                               int init, const char *fn, pcnn_plan **used)
{
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    PCNN_TRY(pcnn_model_check_batch(fn, m, b));
    const int eval = !train && !init;
    PCNN_TRY(pcnn_model_plan(m, b->x.n, eval));
    pcnn_plan *p = eval ? &m->ev : &m->tr;
    const pcnn_model_config *c = &m->cfg;
    const int64_t B = b->x.n, C = c->channels, HW = c->height * c->width;
    /* x * 2/(levels-1) - 1 and a channel of ones */
    float *in = pcnn_graph_data(&p->graph, p->in_x);
    const float scale = 2.0f / (float)(c->levels - 1);
    for (int64_t n = 0; n < B; n++) {
        for (int64_t k = 0; k < C * HW; k++)
            in[n * (C + 1) * HW + k] =
                (float)b->x.data[n * C * HW + k] * scale - 1.0f;
        for (int64_t k = 0; k < HW; k++)
            in[(n * (C + 1) + C) * HW + k] = 1.0f;
    }
    memcpy(p->x, b->x.data, (size_t)(B * C * HW));
    if (c->num_classes > 0)
        memcpy(p->labels, b->labels, (size_t)B * sizeof(int32_t));
    if (c->cond_channels > 0)
        memcpy(pcnn_graph_data(&p->graph, p->in_cond), b->cond.data,
               (size_t)pcnn_numel(b->cond) * sizeof(float));
    if (!eval)
        m->backward_ready = 0;
    PCNN_TRY(pcnn_model_refresh_weights(ctx, m));
    pcnn_genv env = env_of(m, p, train, seed, init);
    PCNN_TRY(pcnn_graph_forward(ctx, &p->graph, &env));
    if (!eval) {
        m->backward_ready = train;
        m->seed = seed;
    }
    *used = p;
    return PCNN_OK;
}

pcnn_status pcnn_model_forward(pcnn_ctx *ctx, pcnn_model *m,
                               const pcnn_batch *b, pcnn_tensor l)
{
    static const char fn[] = "pcnn_model_forward";
    if (!m)
        return pcnn_fail(PCNN_ERR_ARG, "%s: model is NULL", fn);
    pcnn_plan *p;
    PCNN_TRY(run_forward(ctx, m, b, 0, 0, 0, fn, &p));
    pcnn_tensor out = pcnn_graph_tensor(&p->graph, p->out);
    PCNN_TRY(pcnn_check_like(fn, "l", l, "the model output", out));
    memcpy(l.data, out.data, (size_t)pcnn_numel(out) * sizeof(float));
    return PCNN_OK;
}

pcnn_status pcnn_model_loss(pcnn_ctx *ctx, pcnn_model *m, const pcnn_batch *b,
                            int train, uint64_t seed, double *mean_bpd,
                            double *image_bpd)
{
    return pcnn_model_loss_at(ctx, m, b, train, seed, 0, mean_bpd,
                              image_bpd);
}

pcnn_status pcnn_model_loss_at(pcnn_ctx *ctx, pcnn_model *m,
                               const pcnn_batch *b, int train, uint64_t seed,
                               int64_t img0, double *mean_bpd,
                               double *image_bpd)
{
    static const char fn[] = "pcnn_model_loss";
    if (!m)
        return pcnn_fail(PCNN_ERR_ARG, "%s: model is NULL", fn);
    if (img0 < 0)
        return pcnn_fail(PCNN_ERR_ARG, "%s: first image %lld < 0", fn,
                         (long long)img0);
    m->img0 = img0;
    pcnn_plan *p;
    PCNN_TRY(run_forward(ctx, m, b, train, seed, 0, fn, &p));
    const pcnn_model_config *c = &m->cfg;
    const int64_t B = b->x.n, HW = c->height * c->width;
    pcnn_tensor l = pcnn_graph_tensor(&p->graph, p->out);
    pcnn_image x = pcnn_img(p->x, B, c->channels, c->height, c->width);
    PCNN_TRY(pcnn_head_log_prob(ctx, &m->head,
                                pcnn_t4(p->logp, B, 1, c->height, c->width),
                                l, x));
    /* bits/dim of each image: -sum log p / (C H W ln 2) */
    const double per_dim = 1.0 / ((double)(c->channels * HW) * PCNN_LN2);
    double total = 0;
    for (int64_t n = 0; n < B; n++) {
        double s = 0;
        for (int64_t k = 0; k < HW; k++)
            s += p->logp[n * HW + k];
        double bpd = -s * per_dim;
        if (!isfinite(bpd))
            return pcnn_fail(PCNN_ERR_VALUE,
                             "%s: the loss of image %lld is not finite", fn,
                             (long long)n);
        if (image_bpd)
            image_bpd[n] = bpd;
        total += bpd;
    }
    if (mean_bpd)
        *mean_bpd = total / (double)B;
    return PCNN_OK;
}

pcnn_status pcnn_model_backward(pcnn_ctx *ctx, pcnn_model *m)
{
    static const char fn[] = "pcnn_model_backward";
    if (!m)
        return pcnn_fail(PCNN_ERR_ARG, "%s: model is NULL", fn);
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    if (!m->backward_ready)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: call pcnn_model_loss with train = 1 first", fn);
    const pcnn_model_config *c = &m->cfg;
    pcnn_plan *p = &m->tr;
    const int64_t B = p->batch, HW = c->height * c->width;
    memset(m->params.grad, 0, m->params.total * sizeof(float));
    memset(m->dw, 0, m->wsize * sizeof(float));
    pcnn_graph_grad_begin(&p->graph);
    /* d(mean bits/dim) / d logp = -1 / (B C H W ln 2) at every pixel */
    const float d = (float)(-1.0 / ((double)(B * c->channels * HW) * PCNN_LN2));
    for (int64_t k = 0; k < B * HW; k++)
        p->dlogp[k] = d;
    pcnn_tensor l = pcnn_graph_tensor(&p->graph, p->out);
    pcnn_tensor dl = pcnn_graph_grad(&p->graph, p->out);
    pcnn_image x = pcnn_img(p->x, B, c->channels, c->height, c->width);
    PCNN_TRY(pcnn_head_backward(ctx, &m->head, dl,
                                pcnn_t4(p->dlogp, B, 1, c->height, c->width),
                                l, x));
    pcnn_genv env = env_of(m, p, 1, m->seed, 0);
    PCNN_TRY(pcnn_graph_backward(ctx, &p->graph, &env));
    for (int i = 0; i < m->nlayers; i++) {
        const pcnn_layer *L = &m->layers[i];
        pcnn_tensor dw = pcnn_params_value(&m->params, L->v);
        dw.data = m->dw + L->woff;
        if (m->cfg.plain) { /* w = v: dv = dw, g has no gradient */
            memcpy(pcnn_params_gradient(&m->params, L->v).data, dw.data,
                   (size_t)pcnn_numel(dw) * sizeof(float));
            continue;
        }
        PCNN_TRY(pcnn_weightnorm_backward(
            ctx, pcnn_params_gradient(&m->params, L->v),
            pcnn_params_gradient(&m->params, L->g), dw,
            pcnn_params_value(&m->params, L->v),
            pcnn_params_value(&m->params, L->g),
            L->kind == GN_DECONV ? PCNN_WN_DIM1 : PCNN_WN_DIM0));
    }
    return PCNN_OK;
}

/* After a plain model's data-dependent init, which ran with w = v and
 * set each g: v = g v (the layer's new weight), then g = ||v||. */
static void fold_scales(pcnn_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        const pcnn_layer *L = &m->layers[i];
        if (!(L->init_scale > 0)) /* not data-initialized: w = v as it is */
            continue;
        int64_t A, O, R;
        pcnn_layer_axes(m, L, &A, &O, &R);
        float *x = m->params.data + m->params.p[L->v].off;
        const float *gs = m->params.data + m->params.p[L->g].off;
        for (int64_t a = 0; a < A; a++)
            for (int64_t o = 0; o < O; o++)
                for (int64_t r = 0; r < R; r++)
                    x[(a * O + o) * R + r] *= gs[o];
    }
    pcnn_model_sync_norms(m, m->params.data);
}

pcnn_status pcnn_model_data_init(pcnn_ctx *ctx, pcnn_model *m,
                                 const pcnn_batch *b)
{
    static const char fn[] = "pcnn_model_data_init";
    if (!m)
        return pcnn_fail(PCNN_ERR_ARG, "%s: model is NULL", fn);
    /* every layer must start from g = 1, b = 0 for its statistics */
    for (int i = 0; i < m->nlayers; i++) {
        pcnn_tensor g = pcnn_params_value(&m->params, m->layers[i].g);
        pcnn_tensor bias = pcnn_params_value(&m->params, m->layers[i].b);
        for (int64_t k = 0; k < g.dim[0]; k++)
            g.data[k] = 1.0f, bias.data[k] = 0.0f;
    }
    pcnn_plan *p;
    pcnn_status s = run_forward(ctx, m, b, 0, 0, 1, fn, &p);
    m->backward_ready = 0;
    if (s == PCNN_OK && m->cfg.plain)
        fold_scales(m);
    return s;
}
