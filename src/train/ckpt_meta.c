/*
 * ckpt_meta.c -- the metadata of checkpoint and chain files: the model
 * config (the fields of PCNN_MODEL_CONFIG_FIELDS, then the views) and the
 * trainer's options and state, as strings parsed with range checks
 * (docs/checkpoint.md).
 */
#include "ckpt_meta.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pcnn_status ckpt_meta_put(pcnn_st_writer *w, const char *key,
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

pcnn_status ckpt_meta_int(const pcnn_st_file *f, const char *key, long lo,
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

pcnn_status ckpt_check_format(const pcnn_st_file *f, const char *want)
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

/* One scalar field of the config under key prefix + name: "%d", "%.9g"
 * for a float, the head by its name. */
static pcnn_status put_field(pcnn_st_writer *w, const char *pre,
                             const char *name, int is_float, double v)
{
    char kb[64];
    pk(kb, pre, name);
    if (!strcmp(name, "head"))
        return pcnn_st_writer_meta(w, kb, (int)v == PCNN_HEAD_DMOL
                                              ? "dmol"
                                              : "categorical");
    return is_float ? ckpt_meta_put(w, kb, "%.9g", v)
                    : ckpt_meta_put(w, kb, "%d", (int)v);
}

#define IS_FLOAT_(x) _Generic((x), float: 1, default: 0)

/* The keys of the two views after the scalar fields, in the file's
 * order, with the values each may take (0 in files without them). */
static const struct {
    const char *key;
    int cond; /* of cond_view, else of view */
    size_t offset;
    int hi;
} view_keys[] = {
    {"view_halvings", 0, offsetof(pcnn_view, halvings), 6},
    {"view_gray4", 0, offsetof(pcnn_view, gray4), 1},
    {"view_lab", 0, offsetof(pcnn_view, lab), 2},
    {"cond_view_lab", 1, offsetof(pcnn_view, lab), 2},
    {"cond_view_halvings", 1, offsetof(pcnn_view, halvings), 6},
    {"cond_view_gray4", 1, offsetof(pcnn_view, gray4), 1},
};

/* The int of view key k in config c, to read into. */
static int *view_field(pcnn_model_config *c, size_t k)
{
    pcnn_view *v = view_keys[k].cond ? &c->cond_view : &c->view;
    return (int *)((char *)v + view_keys[k].offset);
}

/* The model config under keys prefix + name ("" in a checkpoint, "s0."
 * ... in a chain file): the fields of PCNN_MODEL_CONFIG_FIELDS in their
 * order, then the views. */
pcnn_status ckpt_put_config(pcnn_st_writer *w, const pcnn_model_config *c,
                            const char *pre)
{
    char kb[64];
    PCNN_TRY(pcnn_st_writer_meta(w, pk(kb, pre, "model"), "pixelcnn++"));
#define PUT_FIELD_(type, name, lo, hi, old, flag, help)                       \
    PCNN_TRY(put_field(w, pre, #name, IS_FLOAT_(c->name), (double)c->name));
    PCNN_MODEL_CONFIG_FIELDS(PUT_FIELD_)
#undef PUT_FIELD_
    for (size_t k = 0; k < sizeof view_keys / sizeof *view_keys; k++) {
        const pcnn_view *v = view_keys[k].cond ? &c->cond_view : &c->view;
        PCNN_TRY(ckpt_meta_put(w, pk(kb, pre, view_keys[k].key), "%d",
                          *(const int *)((const char *)v +
                                         view_keys[k].offset)));
    }
    return PCNN_OK;
}

/* An integer key that files from before it existed lack: def then. */
static pcnn_status meta_int_opt(const pcnn_st_file *f, const char *key,
                                long lo, long hi, int def, int *out)
{
    if (!pcnn_st_meta(f, key)) {
        *out = def;
        return PCNN_OK;
    }
    return ckpt_meta_int(f, key, lo, hi, out);
}

/* One scalar field of the config from key prefix + name into *v: in
 * lo..hi, `old` when the key is missing (an error when it is
 * PCNN_CONFIG_REQUIRED). */
static pcnn_status get_field(const pcnn_st_file *f, const char *pre,
                             const char *name, int is_float, double lo,
                             double hi, double old, double *v)
{
    char kb[64];
    const char *s = pcnn_st_meta(f, pk(kb, pre, name));
    if (!s && old != PCNN_CONFIG_REQUIRED) {
        *v = old;
        return PCNN_OK;
    }
    if (!strcmp(name, "head")) {
        /* by its name (a file's head key is optional) */
        if (strcmp(s, "dmol") && strcmp(s, "categorical"))
            return pcnn_fail(PCNN_ERR_FORMAT,
                             "%s: metadata \"head\" = \"%s\" is not dmol or "
                             "categorical",
                             pcnn_st_what(f), s);
        *v = strcmp(s, "dmol") ? PCNN_HEAD_CATEGORICAL : PCNN_HEAD_DMOL;
        return PCNN_OK;
    }
    if (!is_float) {
        int x;
        PCNN_TRY(ckpt_meta_int(f, kb, (long)lo, (long)hi, &x));
        *v = x;
        return PCNN_OK;
    }
    float x;
    PCNN_TRY(meta_float(f, kb, &x));
    if (!(x >= (float)lo && x <= (float)hi))
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: metadata \"%s\" = \"%s\" is not a number in "
                         "%g..%g",
                         pcnn_st_what(f), kb, s, lo, hi);
    *v = x;
    return PCNN_OK;
}

pcnn_status ckpt_get_config(const pcnn_st_file *f, pcnn_model_config *c,
                            const char *pre)
{
    char kb[64];
    double v;
    memset(c, 0, sizeof *c);
#define GET_FIELD_(type, name, lo, hi, old, flag, help)                       \
    PCNN_TRY(get_field(f, pre, #name, IS_FLOAT_(c->name), lo, hi, old, &v));  \
    c->name = (type)v;
    PCNN_MODEL_CONFIG_FIELDS(GET_FIELD_)
#undef GET_FIELD_
    for (size_t k = 0; k < sizeof view_keys / sizeof *view_keys; k++)
        PCNN_TRY(meta_int_opt(f, pk(kb, pre, view_keys[k].key), 0,
                              view_keys[k].hi, 0, view_field(c, k)));
    return PCNN_OK;
}

pcnn_status ckpt_put_trainer(pcnn_st_writer *w, const pcnn_trainer *t)
{
    const pcnn_train_opts *o = &t->opts;
    PCNN_TRY(ckpt_meta_put(w, "lr", "%.9g", (double)o->lr));
    PCNN_TRY(ckpt_meta_put(w, "lr_decay", "%.9g", (double)o->lr_decay));
    PCNN_TRY(ckpt_meta_put(w, "beta1", "%.9g", (double)o->beta1));
    PCNN_TRY(ckpt_meta_put(w, "beta2", "%.9g", (double)o->beta2));
    PCNN_TRY(ckpt_meta_put(w, "ema", "%.9g", (double)o->ema));
    PCNN_TRY(ckpt_meta_put(w, "batch", "%d", o->batch));
    PCNN_TRY(ckpt_meta_put(w, "seed", "%" PRIu64, o->seed));
    PCNN_TRY(ckpt_meta_put(w, "flip", "%d", o->flip));
    PCNN_TRY(ckpt_meta_put(w, "step", "%" PRIu64, t->state.step));
    PCNN_TRY(ckpt_meta_put(w, "epoch", "%" PRIu64, t->state.epoch));
    PCNN_TRY(ckpt_meta_put(w, "pos", "%" PRId64, t->state.pos));
    PCNN_TRY(
        ckpt_meta_put(w, "data_fingerprint", "%016" PRIx64, t->data_fp));
    return ckpt_meta_put(w, "data_n", "%" PRId64, t->data->n);
}

pcnn_status ckpt_get_trainer(const pcnn_st_file *f, pcnn_train_opts *o,
                             pcnn_train_state *s, uint64_t *data_n)
{
    uint64_t pos;
    PCNN_TRY(meta_float(f, "lr", &o->lr));
    PCNN_TRY(meta_float(f, "lr_decay", &o->lr_decay));
    PCNN_TRY(meta_float(f, "beta1", &o->beta1));
    PCNN_TRY(meta_float(f, "beta2", &o->beta2));
    PCNN_TRY(meta_float(f, "ema", &o->ema));
    PCNN_TRY(ckpt_meta_int(f, "batch", 1, 65536, &o->batch));
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
