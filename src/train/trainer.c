/*
 * trainer.c -- Adam with PixelCNN++'s settings, learning-rate decay, the
 * EMA of the weights, and the data order.
 *
 * Optimizer and EMA state are flat arrays parallel to the model's
 * parameter block, so each update is one loop over all parameters.
 */
#include "trainer.h"
#include "../core/prof.h"
#include "../core/rng.h"
#include "../model/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

pcnn_train_opts pcnn_train_opts_default(void)
{
    return (pcnn_train_opts){1e-3f, 0.999995f, 0.95f, 0.9995f, 0.9995f, 16,
                             1, 0};
}

pcnn_model_config pcnn_train_config_default(void)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.plain = 1, c.init = 1;
    return c;
}

pcnn_status pcnn_train_opts_check(const pcnn_train_opts *o)
{
    if (!(o->lr > 0 && o->lr < 1))
        return pcnn_fail(PCNN_ERR_ARG, "training: lr %g not in (0, 1)",
                         (double)o->lr);
    if (!(o->lr_decay > 0 && o->lr_decay <= 1))
        return pcnn_fail(PCNN_ERR_ARG, "training: lr decay %g not in (0, 1]",
                         (double)o->lr_decay);
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 > 0 && o->beta2 < 1))
        return pcnn_fail(PCNN_ERR_ARG,
                         "training: Adam betas %g, %g not in [0, 1)",
                         (double)o->beta1, (double)o->beta2);
    if (!(o->ema >= 0 && o->ema < 1))
        return pcnn_fail(PCNN_ERR_ARG, "training: EMA %g not in [0, 1)",
                         (double)o->ema);
    if (o->batch < 1 || o->batch > 65536)
        return pcnn_fail(PCNN_ERR_ARG, "training: batch %d not in 1..65536",
                         o->batch);
    if (o->flip != 0 && o->flip != 1)
        return pcnn_fail(PCNN_ERR_ARG, "training: flip %d is not 0 or 1",
                         o->flip);
    return PCNN_OK;
}

pcnn_status pcnn_trainer_create(pcnn_trainer **out, pcnn_model *m,
                                const pcnn_dataset *data,
                                const pcnn_train_opts *o)
{
    if (!out || !m || !data || !o)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_trainer_create: NULL argument");
    *out = NULL;
    PCNN_TRY(pcnn_train_opts_check(o));
    const pcnn_model_config *c = pcnn_model_get_config(m);
    if (data->c != c->channels || data->h != c->height ||
        data->w != c->width)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "training: the data are %lldx%lldx%lld images, the "
                         "model takes %dx%dx%d",
                         (long long)data->c, (long long)data->h,
                         (long long)data->w, c->channels, c->height,
                         c->width);
    if (data->n < o->batch)
        return pcnn_fail(PCNN_ERR_ARG,
                         "training: %lld images, fewer than a batch of %d",
                         (long long)data->n, o->batch);
    if (c->num_classes > 0 &&
        (!data->labels || data->num_classes > c->num_classes))
        return pcnn_fail(PCNN_ERR_ARG,
                         "training: the model has %d classes, the data %d",
                         c->num_classes, data->num_classes);
    PCNN_TRY(pcnn_check_stage_data("training", m, data));
    pcnn_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return pcnn_fail(PCNN_ERR_NOMEM, "training: out of memory");
    t->m = m;
    t->data = data;
    t->data_fp = pcnn_dataset_fingerprint(data);
    t->opts = *o;
    t->comm = (pcnn_comm){0, 1, NULL, NULL, NULL};
    t->lo = 0, t->nb = o->batch;
    size_t n;
    pcnn_model_params(m, &n);
    size_t img = (size_t)(c->channels * c->height * c->width);
    t->mom1 = calloc(n, sizeof(float));
    t->mom2 = calloc(n, sizeof(float));
    t->ema = calloc(n, sizeof(float));
    t->perm = malloc((size_t)data->n * sizeof(int64_t));
    t->x = malloc((size_t)o->batch * img);
    t->labels = calloc((size_t)o->batch, sizeof(int32_t));
    if (c->cond_channels > 0) {
        t->cond = malloc((size_t)(o->batch * data->cond_c * data->cond_h *
                                  data->cond_w));
        t->cond_map = malloc((size_t)o->batch * (size_t)c->cond_channels *
                             img / (size_t)c->channels * sizeof(float));
    }
    if (!t->mom1 || !t->mom2 || !t->ema || !t->perm || !t->x ||
        !t->labels || (c->cond_channels > 0 && (!t->cond || !t->cond_map))) {
        pcnn_trainer_free(t);
        return pcnn_fail(PCNN_ERR_NOMEM, "training: out of memory");
    }
    memcpy(t->ema, pcnn_model_params(m, NULL), n * sizeof(float));
    pcnn_shuffle(o->seed, 0, data->n, t->perm);
    t->perm_epoch = 0;
    *out = t;
    return PCNN_OK;
}

void pcnn_trainer_free(pcnn_trainer *t)
{
    if (!t)
        return;
    free(t->mom1), free(t->mom2), free(t->ema), free(t->perm), free(t->x),
        free(t->labels), free(t->cond), free(t->cond_map);
    free(t);
}

pcnn_train_state pcnn_trainer_state(const pcnn_trainer *t)
{
    return t->state;
}

pcnn_train_opts pcnn_trainer_opts(const pcnn_trainer *t) { return t->opts; }

/* Mirrors image k of x (n, c, h, w) left-right. */
static void mirror(uint8_t *x, int64_t k, int64_t c, int64_t h, int64_t w)
{
    uint8_t *p = x + (size_t)(k * c * h * w);
    for (int64_t r = 0; r < c * h; r++, p += w)
        for (int64_t j = 0; j < w / 2; j++) {
            uint8_t v = p[j];
            p[j] = p[w - 1 - j], p[w - 1 - j] = v;
        }
}

/* Images [lo, lo + nb) of the global batch at the cursor; an epoch's
 * remainder smaller than a batch is skipped. Does not move the cursor:
 * pcnn_trainer_step does on success. */
static pcnn_status next_batch(pcnn_trainer *t, int64_t lo, int64_t nb,
                              pcnn_batch *b, pcnn_train_state *at)
{
    *at = t->state;
    if (at->pos + t->opts.batch > t->data->n)
        at->epoch++, at->pos = 0;
    if (t->perm_epoch != at->epoch) {
        pcnn_shuffle(t->opts.seed, at->epoch, t->data->n, t->perm);
        t->perm_epoch = at->epoch;
    }
    const pcnn_model_config *c = pcnn_model_get_config(t->m);
    const int64_t *ids = t->perm + at->pos + lo;
    PCNN_TRY(pcnn_dataset_gather(t->data, ids, nb, t->x,
                                 c->num_classes ? t->labels : NULL));
    *b = (pcnn_batch){pcnn_img(t->x, nb, c->channels, c->height, c->width),
                      c->num_classes ? t->labels : NULL, pcnn_none()};
    const pcnn_dataset *d = t->data;
    if (c->cond_channels > 0)
        PCNN_TRY(pcnn_dataset_gather_cond(d, ids, nb, t->cond));
    for (int64_t k = 0; t->opts.flip && k < nb; k++) {
        /* mirroring commutes with the views: gray4 is per pixel and the
         * halvings average aligned 2x2 blocks of an even width */
        if (pcnn_hash64(t->opts.seed ^ 0x666c6970ULL,
                        at->epoch * (uint64_t)d->n +
                            (uint64_t)(at->pos + lo + k)) &
            1)
            continue;
        mirror(t->x, k, c->channels, c->height, c->width);
        if (c->cond_channels > 0)
            mirror(t->cond, k, d->cond_c, d->cond_h, d->cond_w);
    }
    if (c->cond_channels > 0) {
        b->cond = pcnn_t4(t->cond_map, nb, c->cond_channels, c->height,
                          c->width);
        PCNN_TRY(pcnn_cond_map(b->cond, t->cond, d->cond_h, d->cond_w,
                               d->cond_levels));
    }
    return PCNN_OK;
}

pcnn_status pcnn_trainer_init(pcnn_ctx *ctx, pcnn_trainer *t)
{
    /* on the whole global batch, by rank 0 alone, which shares the
     * weights: every rank starts from the same ones, those of one
     * process */
    pcnn_status s = PCNN_OK;
    if (t->comm.rank == 0 && pcnn_model_get_config(t->m)->init == 0) {
        pcnn_batch b;
        pcnn_train_state at;
        s = next_batch(t, 0, t->opts.batch, &b, &at);
        if (s == PCNN_OK)
            s = pcnn_model_data_init(ctx, t->m, &b);
    }
    PCNN_TRY(pcnn_trainer_share_init(t, s));
    size_t n;
    const float *p = pcnn_model_params(t->m, &n);
    memcpy(t->ema, p, n * sizeof(float));
    return PCNN_OK;
}

/* A seed for the dropout masks of step `step`, apart from the data's. */
static uint64_t dropout_seed(const pcnn_trainer *t, uint64_t step)
{
    return pcnn_hash64(t->opts.seed ^ 0x64726f706f7574ULL, step);
}

/* The loss of the global batch at the cursor (*bpd) and its gradient in
 * the model's gradient block: this rank's shard's, weighted by its share
 * of the batch and summed over the ranks. */
static pcnn_status batch_gradient(pcnn_ctx *ctx, pcnn_trainer *t,
                                  pcnn_train_state *at, double *bpd)
{
    pcnn_batch b;
    PCNN_TRY(next_batch(t, t->lo, t->nb, &b, at));
    pcnn_status s = pcnn_model_loss_at(ctx, t->m, &b, 1,
                                       dropout_seed(t, at->step), t->lo, bpd,
                                       NULL);
    if (s != PCNN_OK && s != PCNN_ERR_VALUE)
        return s;
    const double share = (double)t->nb / (double)t->opts.batch;
    if (t->comm.size > 1) {
        /* every rank learns whether any loss was not finite */
        float v[2] = {s == PCNN_OK ? (float)(*bpd * share) : 0,
                      s != PCNN_OK};
        PCNN_TRY(pcnn_trainer_reduce(t, v, 2, "all-reduce of the loss"));
        *bpd = v[0];
        s = v[1] > 0 ? PCNN_ERR_VALUE : PCNN_OK;
    }
    if (s == PCNN_ERR_VALUE)
        return pcnn_fail(s, "step %llu: the loss is not finite (NaN or "
                            "Inf); the model keeps its last good weights",
                         (unsigned long long)at->step);
    PCNN_TRY(pcnn_model_backward(ctx, t->m));
    if (t->comm.size <= 1)
        return PCNN_OK;
    size_t n;
    float *g = pcnn_model_grads(t->m, &n);
    const float w = (float)share;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        g[i] *= w;
    return pcnn_trainer_reduce(t, g, n, "all-reduce of the gradient");
}

pcnn_status pcnn_trainer_step(pcnn_ctx *ctx, pcnn_trainer *t,
                              pcnn_step_stats *st)
{
    pcnn_train_state at;
    double bpd;
    PCNN_TRY(batch_gradient(ctx, t, &at, &bpd));
    size_t n;
    float *p = pcnn_model_params(t->m, &n);
    const float *g = pcnn_model_grads(t->m, NULL);
    const double t_opt = pcnn_prof_begin();
    double sq = 0;
    for (size_t i = 0; i < n; i++)
        sq += (double)g[i] * g[i];
    if (!isfinite(sq))
        return pcnn_fail(PCNN_ERR_VALUE,
                         "step %llu: the gradient is not finite; the model "
                         "keeps its last good weights",
                         (unsigned long long)at.step);
    /* Adam as in PixelCNN++: bias-corrected moments, eps inside the root */
    const pcnn_train_opts *o = &t->opts;
    const double tt = (double)(at.step + 1);
    const double lr = o->lr * pow(o->lr_decay, (double)at.step);
    /* the EMA's decay warms up as in TensorFlow's ExponentialMovingAverage
     * with num_updates: min(ema, (1+t)/(10+t)), so a short run's average is
     * not dominated by the initial weights (0.9995 from step 17991 on) */
    const double warm = (1.0 + (double)at.step) / (10.0 + (double)at.step);
    const float b1 = o->beta1, b2 = o->beta2;
    const float e = (float)(o->ema < warm ? o->ema : warm);
    const float c1 = (float)(1.0 / (1.0 - pow(b1, tt)));
    const float c2 = (float)(1.0 / (1.0 - pow(b2, tt)));
    const float flr = (float)lr;
    /* Two passes: the first only checks that the step keeps every weight,
     * EMA value and moment finite (a finite gradient's square can still
     * overflow a float) and every weight and EMA value within
     * +-PCNN_PARAM_MAX, the bounds a checkpoint must meet; the second
     * commits it. A step that fails changes nothing, so what was saved
     * last stays the last good state. */
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        const float m1 = b1 * t->mom1[i] + (1 - b1) * g[i];
        const float m2 = b2 * t->mom2[i] + (1 - b2) * g[i] * g[i];
        const float pi = p[i] - flr * (m1 * c1) / sqrtf(m2 * c2 + 1e-8f);
        const float ei = e * t->ema[i] + (1 - e) * pi;
        bad |= !(isfinite(m1) && isfinite(m2) && fabsf(pi) <= PCNN_PARAM_MAX &&
                 fabsf(ei) <= PCNN_PARAM_MAX);
    }
    if (bad)
        return pcnn_fail(PCNN_ERR_VALUE,
                         "step %llu: the update would take a weight beyond "
                         "+-%g or make the optimizer state not finite; the "
                         "model keeps its last good weights",
                         (unsigned long long)at.step,
                         (double)PCNN_PARAM_MAX);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float m1 = b1 * t->mom1[i] + (1 - b1) * g[i];
        float m2 = b2 * t->mom2[i] + (1 - b2) * g[i] * g[i];
        t->mom1[i] = m1, t->mom2[i] = m2;
        p[i] -= flr * (m1 * c1) / sqrtf(m2 * c2 + 1e-8f);
        t->ema[i] = e * t->ema[i] + (1 - e) * p[i];
    }
    if (pcnn_model_get_config(t->m)->plain) {
        /* keep g = ||v|| in what a checkpoint saves: w = v there too */
        pcnn_model_sync_norms(t->m, p);
        pcnn_model_sync_norms(t->m, t->ema);
    }
    pcnn_prof_end(PCNN_PROF_OPTIMIZER, t_opt, 0.0);
    at.step++;
    at.pos += o->batch;
    t->state = at;
    if (st)
        *st = (pcnn_step_stats){bpd, sqrt(sq), lr};
    if (t->comm.size > 1 && at.step % PCNN_REPLICA_CHECK_EVERY == 0) {
        char when[64];
        snprintf(when, sizeof when, "after step %llu",
                 (unsigned long long)at.step);
        PCNN_TRY(pcnn_trainer_check_replicas(t, when));
    }
    return PCNN_OK;
}

void pcnn_trainer_swap_ema(pcnn_trainer *t)
{
    size_t n;
    float *p = pcnn_model_params(t->m, &n);
    for (size_t i = 0; i < n; i++) {
        float v = p[i];
        p[i] = t->ema[i];
        t->ema[i] = v;
    }
}

void pcnn_trainer_reset_ema(pcnn_trainer *t)
{
    size_t n;
    const float *p = pcnn_model_params(t->m, &n);
    memcpy(t->ema, p, n * sizeof(float));
}

pcnn_status pcnn_check_stage_data(const char *fn, const pcnn_model *m,
                                  const pcnn_dataset *d)
{
    const pcnn_model_config *c = pcnn_model_get_config(m);
    /* condition images at most the model's size, or f times larger
     * (space to depth: f^2 map channels per image channel) */
    int fits = 0;
    if (d->cond && d->cond_h >= 1 && d->cond_w >= 1 &&
        d->cond_levels >= 2 && d->cond_levels <= 256) {
        if (d->cond_h <= c->height)
            fits = d->cond_c == c->cond_channels &&
                   c->height % d->cond_h == 0 && c->width % d->cond_w == 0;
        else
            fits = d->cond_h % c->height == 0 &&
                   d->cond_w == d->cond_h / c->height * c->width &&
                   d->cond_c * (d->cond_h / c->height) *
                           (d->cond_h / c->height) ==
                       c->cond_channels;
    }
    if (c->cond_channels > 0 && !fits)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: the model reads a condition map of %d "
                         "channels at %dx%d; the data have %s",
                         fn, c->cond_channels, c->height, c->width,
                         d->cond ? "condition images that do not fit"
                                 : "no condition images");
    if (c->levels < 256) {
        const size_t n = (size_t)(d->n * d->c * d->h * d->w);
        for (size_t k = 0; k < n; k++)
            if (d->images[k] >= c->levels)
                return pcnn_fail(PCNN_ERR_VALUE,
                                 "%s: a value %d in the data; the model has "
                                 "%d levels",
                                 fn, d->images[k], c->levels);
    }
    return PCNN_OK;
}
