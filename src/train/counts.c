/*
 * counts.c -- pseudo-counts (Bellemare et al. 2016): the density of each
 * image of a stream before and after one training step on it.
 */
#include "trainer.h"
#include "../chain/chain.h"
#include "../model/model.h"

#include <math.h>
#include <string.h>

pcnn_counts_opts pcnn_counts_opts_default(void)
{
    pcnn_counts_opts o;
    memset(&o, 0, sizeof o);
    o.lr = 1e-5f;
    return o;
}

/* N = rho (1 - rho') / (rho' - rho) from a = log rho and b = log rho',
 * as -expm1(b) / expm1(b - a): no probability is formed, so images whose
 * p(x) underflows a double keep their counts. +INFINITY when b <= a. */
double pcnn_pseudo_count(double log_p, double log_p_after)
{
    const double gain = log_p_after - log_p;
    if (!(gain > 0))
        return INFINITY;
    return -expm1(log_p_after) / expm1(gain);
}

/* The chain is one unconditioned stage that models the stream's images;
 * the stream's values fit its levels. */
static pcnn_status counts_check(const char *fn, const pcnn_chain *ch,
                                const pcnn_dataset *x)
{
    if (ch->n != 1 || !pcnn_chain_is_complete(ch))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: pseudo-counts need a chain of one stage that "
                         "models x unconditioned; this one has %d stage%s",
                         fn, ch->n, ch->n > 1 ? "s" : "");
    const pcnn_model_config *c = pcnn_model_get_config(ch->m[0]);
    if (x->c != c->channels || x->h != c->height || x->w != c->width)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: the images are %lldx%lldx%lld, the model "
                         "takes %dx%dx%d",
                         fn, (long long)x->c, (long long)x->h,
                         (long long)x->w, c->channels, c->height, c->width);
    if (c->num_classes > 0 && !x->labels)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: the model is class-conditional; the images "
                         "have no labels",
                         fn);
    return pcnn_check_stage_data(fn, ch->m[0], x);
}

/* *out = a copy of m's weights in a model of its config without dropout. */
static pcnn_status copy_model(const pcnn_model *m, pcnn_model **out)
{
    pcnn_model_config c = *pcnn_model_get_config(m);
    c.dropout = 0;
    PCNN_TRY(pcnn_model_create(out, &c, 0));
    size_t n, k;
    float *dst = pcnn_model_params(*out, &n);
    const float *src = pcnn_model_params((pcnn_model *)m, &k);
    memcpy(dst, src, n * sizeof(float));
    return PCNN_OK;
}

/* log p(x) in nats of the one image of d under m. */
static pcnn_status log_p_of(pcnn_ctx *ctx, pcnn_model *m,
                            const pcnn_dataset *d, double *lp)
{
    const pcnn_batch b = {pcnn_img(d->images, 1, d->c, d->h, d->w),
                          d->labels, pcnn_none()};
    double bpd;
    PCNN_TRY(pcnn_model_loss(ctx, m, &b, 0, 0, NULL, &bpd));
    *lp = -bpd * (double)(d->c * d->h * d->w) * PCNN_LN2;
    return PCNN_OK;
}

/* One plain gradient step on the one image of d: w -= lr * d bpd / d w;
 * PCNN_ERR_VALUE, the weights unchanged, when the gradient or a new
 * weight is not finite or a weight would leave +-PCNN_PARAM_MAX. */
static pcnn_status sgd_step(pcnn_ctx *ctx, pcnn_model *m,
                            const pcnn_dataset *d, float lr)
{
    const pcnn_batch b = {pcnn_img(d->images, 1, d->c, d->h, d->w),
                          d->labels, pcnn_none()};
    double bpd;
    PCNN_TRY(pcnn_model_loss(ctx, m, &b, 1, 0, &bpd, NULL));
    PCNN_TRY(pcnn_model_backward(ctx, m));
    size_t n;
    float *p = pcnn_model_params(m, &n);
    const float *g = pcnn_model_grads(m, NULL);
    for (size_t i = 0; i < n; i++) {
        const float v = p[i] - lr * g[i];
        if (!(fabsf(v) <= PCNN_PARAM_MAX))
            return pcnn_fail(PCNN_ERR_VALUE,
                             "pcnn_pseudo_counts: the step would make a "
                             "weight %s",
                             isfinite(v) ? "too large" : "not finite");
    }
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * g[i];
    return PCNN_OK;
}

/* Image t of the stream x into the one-image data set one, then its
 * log-density before and after one step on it (Adam through the trainer
 * t, or plain gradient descent when t is NULL). */
static pcnn_status count_one(pcnn_ctx *ctx, pcnn_trainer *t, pcnn_model *m,
                             const pcnn_dataset *x, int64_t k, float lr,
                             pcnn_dataset *one, double *before,
                             double *after)
{
    const size_t item = (size_t)(x->c * x->h * x->w);
    memcpy(one->images, x->images + (size_t)k * item, item);
    if (x->labels)
        one->labels[0] = x->labels[k];
    PCNN_TRY(log_p_of(ctx, m, one, before));
    PCNN_TRY(t ? pcnn_trainer_step(ctx, t, NULL)
               : sgd_step(ctx, m, one, lr));
    return log_p_of(ctx, m, one, after);
}

pcnn_status pcnn_pseudo_counts(pcnn_ctx *ctx, const pcnn_chain *ch,
                               const pcnn_dataset *x,
                               const pcnn_counts_opts *opts, double *log_p,
                               double *log_p_after, double *counts)
{
    static const char fn[] = "pcnn_pseudo_counts";
    const pcnn_counts_opts o = opts ? *opts : pcnn_counts_opts_default();
    if (!ch || !x || !x->images || x->n < 1)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument or no images", fn);
    if (!(o.lr > 0 && o.lr < 1))
        return pcnn_fail(PCNN_ERR_ARG, "%s: lr %g not in (0, 1)", fn,
                         (double)o.lr);
    PCNN_TRY(counts_check(fn, ch, x));
    const int64_t n = o.limit > 0 && o.limit < x->n ? o.limit : x->n;
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    pcnn_dataset one = {0};
    pcnn_status s = copy_model(ch->m[0], &m);
    if (s == PCNN_OK)
        s = pcnn_dataset_from_memory(x->images, 1, x->c, x->h, x->w,
                                     x->labels, x->num_classes, &one);
    pcnn_train_opts to = pcnn_train_opts_default();
    to.lr = o.lr, to.lr_decay = 1, to.batch = 1, to.flip = 0;
    if (s == PCNN_OK && o.adam)
        s = pcnn_trainer_create(&t, m, &one, &to);
    for (int64_t k = 0; s == PCNN_OK && k < n; k++) {
        double a, b;
        s = count_one(ctx, t, m, x, k, o.lr, &one, &a, &b);
        if (s != PCNN_OK)
            break;
        const double N = pcnn_pseudo_count(a, b);
        if (log_p)
            log_p[k] = a;
        if (log_p_after)
            log_p_after[k] = b;
        if (counts)
            counts[k] = N;
        const pcnn_progress_info info = {"counts", k + 1, n, N};
        if (o.progress.fn && o.progress.fn(o.progress.arg, &info))
            s = pcnn_fail(PCNN_ERR_CANCELLED,
                          "%s: cancelled by the progress callback after %lld "
                          "images",
                          fn, (long long)(k + 1));
    }
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_dataset_free(&one);
    return s;
}
