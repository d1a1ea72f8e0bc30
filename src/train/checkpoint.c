/*
 * checkpoint.c -- models and trainers to and from safetensors files
 * (docs/checkpoint.md). The file is validated by the safetensors reader;
 * here every expected tensor must be present with its exact shape, every
 * value finite, and the metadata must parse.
 */
#include "trainer.h"
#include "../chain/chain.h"
#include "../io/safetensors.h"
#include "../model/model.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "pixelcnn-checkpoint-1"
#define CHAIN_FORMAT "pixelcnn-chain-1"
/* a parameter name (< 64 bytes, src/model/params.h) with its prefix */
#define PCNN_NAME_MAX 80

/* ------------------------------------------------------------- metadata */

static pcnn_status meta_put(pcnn_st_writer *w, const char *key,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static pcnn_status meta_put(pcnn_st_writer *w, const char *key,
                            const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return pcnn_st_writer_meta(w, key, buf);
}

static pcnn_status meta_get(const pcnn_st_file *f, const char *key,
                            const char **v)
{
    *v = pcnn_st_meta(f, key);
    if (!*v)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: metadata has no \"%s\"",
                         pcnn_st_what(f), key);
    return PCNN_OK;
}

static pcnn_status meta_int(const pcnn_st_file *f, const char *key, long lo,
                            long hi, int *out)
{
    const char *v;
    PCNN_TRY(meta_get(f, key, &v));
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: metadata \"%s\" = \"%s\" is not an integer in "
                         "%ld..%ld",
                         pcnn_st_what(f), key, v, lo, hi);
    *out = (int)x;
    return PCNN_OK;
}

static pcnn_status meta_u64(const pcnn_st_file *f, const char *key,
                            uint64_t *out)
{
    const char *v;
    PCNN_TRY(meta_get(f, key, &v));
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || *v == '-')
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: metadata \"%s\" = \"%s\" is not an unsigned "
                         "integer",
                         pcnn_st_what(f), key, v);
    *out = x;
    return PCNN_OK;
}

static pcnn_status meta_float(const pcnn_st_file *f, const char *key,
                              float *out)
{
    const char *v;
    PCNN_TRY(meta_get(f, key, &v));
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: metadata \"%s\" = \"%s\" is not a number",
                         pcnn_st_what(f), key, v);
    *out = (float)x;
    return PCNN_OK;
}

static pcnn_status check_format(const pcnn_st_file *f, const char *want)
{
    const char *v;
    PCNN_TRY(meta_get(f, "format", &v));
    if (strcmp(v, want))
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: format \"%s\" is not %s",
                         pcnn_st_what(f), v, want);
    return PCNN_OK;
}

/* prefix + key in buf (64 bytes) */
static const char *pk(char *buf, const char *pre, const char *key)
{
    snprintf(buf, 64, "%s%s", pre, key);
    return buf;
}

/* The model config under keys prefix + name ("" in a checkpoint, "s0."
 * ... in a chain file). */
static pcnn_status put_config(pcnn_st_writer *w, const pcnn_model_config *c,
                              const char *pre)
{
    char kb[64];
    PCNN_TRY(pcnn_st_writer_meta(w, pk(kb, pre, "model"), "pixelcnn++"));
    PCNN_TRY(meta_put(w, pk(kb, pre, "channels"), "%d", c->channels));
    PCNN_TRY(meta_put(w, pk(kb, pre, "height"), "%d", c->height));
    PCNN_TRY(meta_put(w, pk(kb, pre, "width"), "%d", c->width));
    PCNN_TRY(meta_put(w, pk(kb, pre, "nr_resnet"), "%d", c->nr_resnet));
    PCNN_TRY(meta_put(w, pk(kb, pre, "nr_filters"), "%d", c->nr_filters));
    PCNN_TRY(meta_put(w, pk(kb, pre, "nr_mix"), "%d", c->nr_mix));
    PCNN_TRY(
        meta_put(w, pk(kb, pre, "nr_resolutions"), "%d", c->nr_resolutions));
    PCNN_TRY(meta_put(w, pk(kb, pre, "dropout"), "%.9g", (double)c->dropout));
    PCNN_TRY(meta_put(w, pk(kb, pre, "num_classes"), "%d", c->num_classes));
    PCNN_TRY(meta_put(w, pk(kb, pre, "cond_channels"), "%d", c->cond_channels));
    PCNN_TRY(meta_put(w, pk(kb, pre, "head"), "%s",
                      c->head == PCNN_HEAD_DMOL ? "dmol" : "categorical"));
    PCNN_TRY(meta_put(w, pk(kb, pre, "levels"), "%d", c->levels));
    PCNN_TRY(
        meta_put(w, pk(kb, pre, "cond_nr_resnet"), "%d", c->cond_nr_resnet));
    PCNN_TRY(
        meta_put(w, pk(kb, pre, "cond_nr_filters"), "%d", c->cond_nr_filters));
    PCNN_TRY(meta_put(w, pk(kb, pre, "cond_down"), "%d", c->cond_down));
    PCNN_TRY(meta_put(w, pk(kb, pre, "cond_dilate"), "%d", c->cond_dilate));
    PCNN_TRY(meta_put(w, pk(kb, pre, "view_halvings"), "%d", c->view.halvings));
    PCNN_TRY(meta_put(w, pk(kb, pre, "view_gray4"), "%d", c->view.gray4));
    PCNN_TRY(meta_put(w, pk(kb, pre, "view_lab"), "%d", c->view.lab));
    PCNN_TRY(meta_put(w, pk(kb, pre, "cond_view_lab"), "%d",
                      c->cond_view.lab));
    PCNN_TRY(meta_put(w, pk(kb, pre, "cond_view_halvings"), "%d",
                      c->cond_view.halvings));
    return meta_put(w, pk(kb, pre, "cond_view_gray4"), "%d",
                    c->cond_view.gray4);
}

/* An integer key that files from before it existed lack: def then. */
static pcnn_status meta_int_opt(const pcnn_st_file *f, const char *key, long lo,
                                long hi, int def, int *out)
{
    if (!pcnn_st_meta(f, key)) {
        *out = def;
        return PCNN_OK;
    }
    return meta_int(f, key, lo, hi, out);
}

static pcnn_status get_config(const pcnn_st_file *f, pcnn_model_config *c,
                              const char *pre)
{
    char kb[64];
    memset(c, 0, sizeof *c);
    PCNN_TRY(meta_int(f, pk(kb, pre, "channels"), 1, 3, &c->channels));
    PCNN_TRY(meta_int(f, pk(kb, pre, "height"), 1, 4096, &c->height));
    PCNN_TRY(meta_int(f, pk(kb, pre, "width"), 1, 4096, &c->width));
    PCNN_TRY(meta_int(f, pk(kb, pre, "nr_resnet"), 1, 64, &c->nr_resnet));
    PCNN_TRY(meta_int(f, pk(kb, pre, "nr_filters"), 1, 4096, &c->nr_filters));
    PCNN_TRY(meta_int(f, pk(kb, pre, "nr_mix"), 1, 1024, &c->nr_mix));
    PCNN_TRY(
        meta_int(f, pk(kb, pre, "nr_resolutions"), 1, 8, &c->nr_resolutions));
    PCNN_TRY(meta_float(f, pk(kb, pre, "dropout"), &c->dropout));
    PCNN_TRY(
        meta_int(f, pk(kb, pre, "num_classes"), 0, 65536, &c->num_classes));
    PCNN_TRY(
        meta_int(f, pk(kb, pre, "cond_channels"), 0, 4096, &c->cond_channels));
    const char *head = pcnn_st_meta(f, pk(kb, pre, "head"));
    if (!head || !strcmp(head, "dmol"))
        c->head = PCNN_HEAD_DMOL;
    else if (!strcmp(head, "categorical"))
        c->head = PCNN_HEAD_CATEGORICAL;
    else
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: metadata \"head\" = \"%s\" is not dmol or "
                         "categorical",
                         pcnn_st_what(f), head);
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "levels"), 2, 256, 256, &c->levels));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "cond_nr_resnet"), 0, 64, 0, &c->cond_nr_resnet));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "cond_nr_filters"), 0, 4096, 0,
                          &c->cond_nr_filters));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "cond_down"), 0, 8, 0, &c->cond_down));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "cond_dilate"), 0, 1, 0,
                          &c->cond_dilate));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "view_halvings"), 0, 6, 0, &c->view.halvings));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "view_gray4"), 0, 1, 0, &c->view.gray4));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "view_lab"), 0, 2, 0, &c->view.lab));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "cond_view_lab"), 0, 2, 0,
                          &c->cond_view.lab));
    PCNN_TRY(meta_int_opt(f, pk(kb, pre, "cond_view_halvings"), 0, 6, 0,
                          &c->cond_view.halvings));
    return meta_int_opt(f, pk(kb, pre, "cond_view_gray4"), 0, 1, 0, &c->cond_view.gray4);
}

static pcnn_status put_trainer(pcnn_st_writer *w, const pcnn_trainer *t)
{
    const pcnn_train_opts *o = &t->opts;
    PCNN_TRY(meta_put(w, "lr", "%.9g", (double)o->lr));
    PCNN_TRY(meta_put(w, "lr_decay", "%.9g", (double)o->lr_decay));
    PCNN_TRY(meta_put(w, "beta1", "%.9g", (double)o->beta1));
    PCNN_TRY(meta_put(w, "beta2", "%.9g", (double)o->beta2));
    PCNN_TRY(meta_put(w, "ema", "%.9g", (double)o->ema));
    PCNN_TRY(meta_put(w, "batch", "%d", o->batch));
    PCNN_TRY(meta_put(w, "seed", "%" PRIu64, o->seed));
    PCNN_TRY(meta_put(w, "flip", "%d", o->flip));
    PCNN_TRY(meta_put(w, "step", "%" PRIu64, t->state.step));
    PCNN_TRY(meta_put(w, "epoch", "%" PRIu64, t->state.epoch));
    PCNN_TRY(meta_put(w, "pos", "%" PRId64, t->state.pos));
    return meta_put(w, "data_n", "%" PRId64, t->data->n);
}

static pcnn_status get_trainer(const pcnn_st_file *f, pcnn_train_opts *o,
                               pcnn_train_state *s, uint64_t *data_n)
{
    uint64_t pos;
    PCNN_TRY(meta_float(f, "lr", &o->lr));
    PCNN_TRY(meta_float(f, "lr_decay", &o->lr_decay));
    PCNN_TRY(meta_float(f, "beta1", &o->beta1));
    PCNN_TRY(meta_float(f, "beta2", &o->beta2));
    PCNN_TRY(meta_float(f, "ema", &o->ema));
    PCNN_TRY(meta_int(f, "batch", 1, 65536, &o->batch));
    PCNN_TRY(meta_u64(f, "seed", &o->seed));
    PCNN_TRY(meta_int_opt(f, "flip", 0, 1, 0, &o->flip));
    PCNN_TRY(meta_u64(f, "step", &s->step));
    PCNN_TRY(meta_u64(f, "epoch", &s->epoch));
    PCNN_TRY(meta_u64(f, "pos", &pos));
    PCNN_TRY(meta_u64(f, "data_n", data_n));
    if (pos > *data_n)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: position %" PRIu64
                                          " beyond the %" PRIu64 " images",
                         pcnn_st_what(f), pos, *data_n);
    s->pos = (int64_t)pos;
    pcnn_status st = pcnn_train_opts_check(o);
    if (st != PCNN_OK)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: %s", pcnn_st_what(f),
                         pcnn_last_error());
    return PCNN_OK;
}

/* -------------------------------------------------------------- tensors */

/* Adds the parameter block `block` under the names prefix + name. The
 * names are kept in `names` until the write. */
static pcnn_status put_block(pcnn_st_writer *w, const pcnn_model *m,
                             const char *prefix, const float *block,
                             char (*names)[PCNN_NAME_MAX])
{
    const float *base = pcnn_model_params((pcnn_model *)m, NULL);
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        pcnn_tensor t = pcnn_model_param(m, i);
        snprintf(names[i], PCNN_NAME_MAX, "%s%s", prefix,
                 pcnn_model_param_name(m, i));
        PCNN_TRY(pcnn_st_writer_add(w, names[i], PCNN_ST_F32, t.ndim, t.dim,
                                    block + (t.data - base)));
    }
    return PCNN_OK;
}

/* Fills block from the tensors prefix + name of f: each must exist, be
 * F32 of the parameter's exact shape, and hold finite values. */
static pcnn_status get_block(const pcnn_st_file *f, const pcnn_model *m,
                             const char *prefix, float *block)
{
    const float *base = pcnn_model_params((pcnn_model *)m, NULL);
    char name[PCNN_NAME_MAX];
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        pcnn_tensor t = pcnn_model_param(m, i);
        snprintf(name, sizeof name, "%s%s", prefix,
                 pcnn_model_param_name(m, i));
        const pcnn_st_tensor *s = pcnn_st_find(f, name);
        if (!s)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: no tensor \"%s\"",
                             pcnn_st_what(f), name);
        int same = s->dtype == PCNN_ST_F32 && s->ndim == t.ndim;
        for (int d = 0; same && d < t.ndim; d++)
            same = s->shape[d] == t.dim[d];
        if (!same)
            return pcnn_fail(PCNN_ERR_FORMAT,
                             "%s: tensor \"%s\" is not F32 of the model's "
                             "shape",
                             pcnn_st_what(f), name);
        float *dst = block + (t.data - base);
        size_t n = (size_t)pcnn_numel(t);
        PCNN_TRY(pcnn_st_copy_f32(f, s, dst, n));
        for (size_t k = 0; k < n; k++)
            if (!isfinite(dst[k]))
                return pcnn_fail(PCNN_ERR_FORMAT,
                                 "%s: tensor \"%s\" holds NaN or Inf",
                                 pcnn_st_what(f), name);
    }
    return PCNN_OK;
}

/* Every tensor of f is a parameter, possibly prefixed by ema., adam.m.
 * or adam.v.: a file of another model is rejected, not half-loaded. */
static pcnn_status check_names(const pcnn_st_file *f, const pcnn_model *m)
{
    static const char *prefixes[] = {"", "ema.", "adam.m.", "adam.v."};
    for (size_t i = 0; i < pcnn_st_count(f); i++) {
        const char *name = pcnn_st_at(f, i)->name;
        int known = 0;
        for (size_t k = 0; k < 4 && !known; k++) {
            size_t n = strlen(prefixes[k]);
            known = !strncmp(name, prefixes[k], n) &&
                    pcnn_model_find_param(m, name + n) >= 0;
        }
        if (!known)
            return pcnn_fail(PCNN_ERR_FORMAT,
                             "%s: tensor \"%s\" is not part of the model "
                             "its metadata describes",
                             pcnn_st_what(f), name);
    }
    return PCNN_OK;
}

pcnn_status pcnn_checkpoint_save(const char *path, const pcnn_model *m,
                                 const pcnn_trainer *t)
{
    if (!path || !m)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_checkpoint_save: NULL argument");
    if (t && t->m != m)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_checkpoint_save: the trainer trains another "
                         "model");
    int count = pcnn_model_param_count(m);
    char (*names)[PCNN_NAME_MAX] = calloc((size_t)count * 4, PCNN_NAME_MAX);
    pcnn_st_writer *w = NULL;
    pcnn_status s = names ? pcnn_st_writer_create(&w)
                          : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory",
                                      path);
    if (s == PCNN_OK)
        s = pcnn_st_writer_meta(w, "format", FORMAT);
    if (s == PCNN_OK)
        s = put_config(w, pcnn_model_get_config(m), "");
    if (s == PCNN_OK)
        s = put_block(w, m, "", pcnn_model_params((pcnn_model *)m, NULL),
                      names);
    if (s == PCNN_OK && t) {
        s = put_trainer(w, t);
        if (s == PCNN_OK)
            s = put_block(w, m, "ema.", t->ema, names + count);
        if (s == PCNN_OK)
            s = put_block(w, m, "adam.m.", t->mom1, names + 2 * count);
        if (s == PCNN_OK)
            s = put_block(w, m, "adam.v.", t->mom2, names + 3 * count);
    }
    if (s == PCNN_OK)
        s = pcnn_st_writer_save(w, path);
    pcnn_st_writer_free(w);
    free(names);
    return s;
}

/* The float values f holds in all: a bound on the parameters of any
 * model it can hold. */
static size_t file_floats(const pcnn_st_file *f)
{
    size_t bytes = 0;
    for (size_t i = 0; i < pcnn_st_count(f); i++)
        bytes += pcnn_st_at(f, i)->nbytes; /* they tile the file: no wrap */
    return bytes / sizeof(float);
}

static pcnn_status open_model(const char *path, pcnn_st_file **f,
                              pcnn_model **m)
{
    *f = NULL, *m = NULL;
    if (!path)
        return pcnn_fail(PCNN_ERR_ARG, "checkpoint: path is NULL");
    PCNN_TRY(pcnn_st_load(path, f));
    pcnn_model_config c;
    pcnn_status s = check_format(*f, FORMAT);
    if (s == PCNN_OK)
        s = get_config(*f, &c, "");
    if (s == PCNN_OK) {
        s = pcnn_model_create_within(m, &c, 0, file_floats(*f));
        if (s != PCNN_OK) {
            char why[256]; /* pcnn_fail must not format from its buffer */
            snprintf(why, sizeof why, "%s", pcnn_last_error());
            s = pcnn_fail(PCNN_ERR_FORMAT, "%s: %s", path, why);
        }
    }
    if (s == PCNN_OK)
        s = check_names(*f, *m);
    if (s != PCNN_OK) {
        pcnn_model_free(*m), *m = NULL;
        pcnn_st_free(*f), *f = NULL;
    }
    return s;
}

pcnn_status pcnn_checkpoint_load_model(const char *path, int ema,
                                       pcnn_model **out)
{
    pcnn_st_file *f;
    pcnn_model *m;
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "checkpoint: out is NULL");
    *out = NULL;
    PCNN_TRY(open_model(path, &f, &m));
    pcnn_status s = get_block(f, m, ema ? "ema." : "",
                              pcnn_model_params(m, NULL));
    pcnn_st_free(f);
    if (s != PCNN_OK) {
        pcnn_model_free(m);
        return s;
    }
    *out = m;
    return PCNN_OK;
}

pcnn_status pcnn_checkpoint_load_trainer(const char *path, pcnn_model *m,
                                         const pcnn_dataset *data,
                                         pcnn_trainer **out)
{
    if (!out || !m || !data)
        return pcnn_fail(PCNN_ERR_ARG, "checkpoint: NULL argument");
    *out = NULL;
    pcnn_st_file *f;
    PCNN_TRY(pcnn_st_load(path, &f));
    pcnn_train_opts o;
    pcnn_train_state st = {0, 0, 0};
    uint64_t data_n;
    pcnn_trainer *t = NULL;
    pcnn_status s = get_trainer(f, &o, &st, &data_n);
    if (s == PCNN_OK && data_n != (uint64_t)data->n)
        s = pcnn_fail(PCNN_ERR_ARG,
                      "%s: saved while training on %" PRIu64
                      " images, resumed on %lld: the data order would "
                      "differ",
                      path, data_n, (long long)data->n);
    if (s == PCNN_OK)
        s = pcnn_trainer_create(&t, m, data, &o);
    if (s == PCNN_OK)
        s = get_block(f, m, "ema.", t->ema);
    if (s == PCNN_OK)
        s = get_block(f, m, "adam.m.", t->mom1);
    if (s == PCNN_OK)
        s = get_block(f, m, "adam.v.", t->mom2);
    pcnn_st_free(f);
    if (s != PCNN_OK) {
        pcnn_trainer_free(t);
        return s;
    }
    t->state = st;
    *out = t;
    return PCNN_OK;
}

pcnn_status pcnn_checkpoint_read_state(const char *path,
                                       pcnn_model_config *cfg,
                                       pcnn_train_opts *opts,
                                       pcnn_train_state *state,
                                       int *has_trainer)
{
    pcnn_st_file *f;
    PCNN_TRY(pcnn_st_load(path, &f));
    pcnn_model_config c;
    pcnn_train_opts o = pcnn_train_opts_default();
    pcnn_train_state st = {0, 0, 0};
    uint64_t data_n;
    pcnn_status s = check_format(f, FORMAT);
    if (s == PCNN_OK)
        s = get_config(f, &c, "");
    int trainer = pcnn_st_meta(f, "step") != NULL;
    if (s == PCNN_OK && trainer)
        s = get_trainer(f, &o, &st, &data_n);
    pcnn_st_free(f);
    if (s != PCNN_OK)
        return s;
    if (cfg)
        *cfg = c;
    if (opts)
        *opts = o;
    if (state)
        *state = st;
    if (has_trainer)
        *has_trainer = trainer;
    return PCNN_OK;
}

/* --------------------------------------------------------------- chains */

pcnn_status pcnn_chain_save(const char *path, const pcnn_chain *c)
{
    if (!path || !c)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_chain_save: NULL argument");
    int total = 0;
    for (int i = 0; i < c->n; i++)
        total += pcnn_model_param_count(c->m[i]);
    char (*names)[PCNN_NAME_MAX] = calloc((size_t)total, PCNN_NAME_MAX);
    pcnn_st_writer *w = NULL;
    pcnn_status s = names ? pcnn_st_writer_create(&w)
                          : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory",
                                      path);
    if (s == PCNN_OK)
        s = pcnn_st_writer_meta(w, "format", CHAIN_FORMAT);
    if (s == PCNN_OK)
        s = meta_put(w, "stages", "%d", c->n);
    char pre[16];
    for (int i = 0, at = 0; s == PCNN_OK && i < c->n; i++) {
        snprintf(pre, sizeof pre, "s%d.", i);
        s = put_config(w, pcnn_model_get_config(c->m[i]), pre);
        if (s == PCNN_OK)
            s = put_block(w, c->m[i], pre, pcnn_model_params(c->m[i], NULL),
                          names + at);
        at += pcnn_model_param_count(c->m[i]);
    }
    if (s == PCNN_OK)
        s = pcnn_st_writer_save(w, path);
    pcnn_st_writer_free(w);
    free(names);
    return s;
}

/* Every tensor of a chain file belongs to one of its stages. */
static pcnn_status check_chain_names(const pcnn_st_file *f,
                                     pcnn_model *const *m, int n)
{
    for (size_t i = 0; i < pcnn_st_count(f); i++) {
        const char *name = pcnn_st_at(f, i)->name;
        int k = -1, len = 0;
        if (sscanf(name, "s%d.%n", &k, &len) < 1 || len == 0 || k < 0 ||
            k >= n || pcnn_model_find_param(m[k], name + len) < 0)
            return pcnn_fail(PCNN_ERR_FORMAT,
                             "%s: tensor \"%s\" is not part of the chain "
                             "its metadata describes",
                             pcnn_st_what(f), name);
    }
    return PCNN_OK;
}

pcnn_status pcnn_chain_load(const char *path, int ema, pcnn_chain **out)
{
    if (!out || !path)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_chain_load: NULL argument");
    *out = NULL;
    pcnn_st_file *f;
    PCNN_TRY(pcnn_st_load(path, &f));
    const char *fmt = pcnn_st_meta(f, "format");
    if (fmt && !strcmp(fmt, FORMAT)) { /* a model checkpoint */
        pcnn_st_free(f);
        pcnn_model *m;
        PCNN_TRY(pcnn_checkpoint_load_model(path, ema, &m));
        pcnn_status s = pcnn_chain_create(out, &m, 1);
        if (s != PCNN_OK)
            return pcnn_fail(s, "%s: %s", path, pcnn_last_error());
        return PCNN_OK;
    }
    pcnn_model *m[PCNN_MAX_STAGES] = {0};
    int n = 0;
    pcnn_status s = check_format(f, CHAIN_FORMAT);
    if (s == PCNN_OK)
        s = meta_int(f, "stages", 1, PCNN_MAX_STAGES, &n);
    char pre[16];
    for (int i = 0; s == PCNN_OK && i < n; i++) {
        pcnn_model_config c;
        snprintf(pre, sizeof pre, "s%d.", i);
        s = get_config(f, &c, pre);
        if (s == PCNN_OK) {
            s = pcnn_model_create_within(&m[i], &c, 0, file_floats(f));
            if (s != PCNN_OK) {
                char why[256];
                snprintf(why, sizeof why, "%s", pcnn_last_error());
                s = pcnn_fail(PCNN_ERR_FORMAT, "%s: stage %d: %s", path, i,
                              why);
            }
        }
    }
    if (s == PCNN_OK)
        s = check_chain_names(f, m, n);
    for (int i = 0; s == PCNN_OK && i < n; i++) {
        snprintf(pre, sizeof pre, "s%d.", i);
        s = get_block(f, m[i], pre, pcnn_model_params(m[i], NULL));
    }
    pcnn_st_free(f);
    if (s != PCNN_OK) {
        for (int i = 0; i < n; i++)
            pcnn_model_free(m[i]);
        return s;
    }
    s = pcnn_chain_create(out, m, n);
    if (s != PCNN_OK)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: %s", path, pcnn_last_error());
    return PCNN_OK;
}
