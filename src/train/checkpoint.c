/*
 * checkpoint.c -- models and trainers to and from safetensors files
 * (docs/checkpoint.md). The file is validated by the safetensors reader;
 * here every expected tensor must be present with its exact shape, every
 * value finite, and the metadata must parse (ckpt_meta.c).
 */
#include "ckpt_meta.h"
#include "trainer.h"
#include "../chain/chain.h"
#include "../io/half.h"
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

/* -------------------------------------------------------------- tensors */

/* The blocks of a checkpoint: the parameters and, with a trainer, their
 * EMA and Adam's moments, under these name prefixes. */
enum { BLK_PARAMS, BLK_EMA, BLK_MOM1, BLK_MOM2, BLK_COUNT };
static const char *const block_prefix[BLK_COUNT] = {"", "ema.", "adam.m.",
                                                    "adam.v."};

/* One image's activations in evaluation (every value of its graph at
 * batch 1, none reused), in floats: 2^32 = 16 GiB, 64 times those of the
 * PixelCNN++ paper's CIFAR-10 model. A file declaring a bigger model (a
 * 4096x4096 image, say) is refused before anything is built. */
#define FILE_MAX_ACT_FLOATS ((uint64_t)1 << 32)

/* "(2,3,4)" into buf */
static const char *shape_str(char *buf, size_t n, const int64_t *shape,
                             int ndim)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "",
                              (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, ")");
    return buf;
}

/* A tensor of f that is none of the expected ones (names prefix +
 * block_prefix[b] + parameter, b < nblocks), as an error. Called only when
 * f has more tensors than expected: as every expected one is present and
 * names are unique, the scan stops within expected + 1 tensors. */
static pcnn_status find_unknown(const pcnn_st_file *f,
                                const pcnn_params *table, int nblocks)
{
    for (size_t i = 0; i < pcnn_st_count(f); i++) {
        const char *name = pcnn_st_at(f, i)->name;
        int known = 0;
        for (int k = 0; k < nblocks && !known; k++) {
            size_t n = strlen(block_prefix[k]);
            known = !strncmp(name, block_prefix[k], n) &&
                    pcnn_params_find(table, name + n) >= 0;
        }
        if (!known)
            return pcnn_fail(PCNN_ERR_FORMAT,
                             "%s: tensor \"%s\" is not part of the model "
                             "its metadata describes",
                             pcnn_st_what(f), name);
    }
    return pcnn_fail(PCNN_ERR_FORMAT, "%s: more tensors than its model has",
                     pcnn_st_what(f));
}

/* The tensors pre + block_prefix[b] + name, b < nblocks, of f are the
 * parameters of a model of config c, each F32 of its exact shape (their
 * byte sizes were checked by the reader). Runs before the model is
 * created: what a file makes us allocate is then bounded by its size for
 * the parameters and by FILE_MAX_ACT_FLOATS for one image. *expected +=
 * the number of tensors checked. */
static pcnn_status check_tensors(const pcnn_st_file *f,
                                 const pcnn_model_config *c, const char *pre,
                                 int nblocks, int whole, size_t *expected)
{
    const char *what = pcnn_st_what(f);
    char stage[32] = "";
    int k;
    if (sscanf(pre, "s%d.", &k) == 1)
        snprintf(stage, sizeof stage, "stage %d: ", k);
    pcnn_params table;
    size_t act;
    pcnn_status s = pcnn_model_param_table(c, &table, &act);
    if (s != PCNN_OK)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: %s%s", what, stage,
                         pcnn_last_error());
    if ((uint64_t)act > FILE_MAX_ACT_FLOATS)
        s = pcnn_fail(PCNN_ERR_FORMAT,
                      "%s: %sthe metadata declares a %dx%d model of %d "
                      "filters whose activations for one image take %.1f "
                      "GB, above the limit of %.1f GB for a file",
                      what, stage, c->height, c->width, c->nr_filters,
                      (double)act * 4e-9,
                      (double)FILE_MAX_ACT_FLOATS * 4e-9);
    char name[PCNN_NAME_MAX], s1[64], s2[64];
    for (int b = 0; s == PCNN_OK && b < nblocks; b++)
        for (int i = 0; s == PCNN_OK && i < table.count; i++) {
            const pcnn_param *p = &table.p[i];
            snprintf(name, sizeof name, "%s%s%s", pre, block_prefix[b],
                     p->name);
            const pcnn_st_tensor *t = pcnn_st_find(f, name);
            /* F16 and BF16 only in weights-only files (nblocks 1) */
            int same = t && t->ndim == p->ndim &&
                       (t->dtype == PCNN_ST_F32 ||
                        (nblocks == 1 && (t->dtype == PCNN_ST_F16 ||
                                          t->dtype == PCNN_ST_BF16)));
            for (int d = 0; same && d < p->ndim; d++)
                same = t->shape[d] == p->shape[d];
            if (!t)
                s = pcnn_fail(PCNN_ERR_FORMAT, "%s: no tensor \"%s\"%s",
                              what, name,
                              b ? " (its metadata holds a training state)"
                                : "");
            else if (!same)
                s = pcnn_fail(PCNN_ERR_FORMAT,
                              "%s: tensor \"%s\" is %s %s, the model's "
                              "metadata makes it %s %s",
                              what, name, pcnn_st_dtype_name(t->dtype),
                              shape_str(s1, sizeof s1, t->shape, t->ndim),
                              nblocks == 1 ? "F32, F16 or BF16" : "F32",
                              shape_str(s2, sizeof s2, p->shape, p->ndim));
        }
    *expected += (size_t)nblocks * (size_t)table.count;
    if (s == PCNN_OK && whole && pcnn_st_count(f) != *expected)
        s = find_unknown(f, &table, nblocks);
    pcnn_params_free(&table);
    return s;
}

/* Checks the values of block b of m's layout (st: the status to fail
 * with): all finite; the parameters and their EMA within +-PCNN_PARAM_MAX
 * and every weight-norm direction of norm >= PCNN_DIRECTION_MIN; Adam's
 * second moments >= 0 (a mean of squares). `what` starts the message (the
 * file), pre prefixes the names ("s1." in a chain). */
static pcnn_status check_block(const char *what, const pcnn_model *m,
                               const char *pre, int b, const float *block,
                               pcnn_status st)
{
    const float *base = pcnn_model_params((pcnn_model *)m, NULL);
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        pcnn_tensor t = pcnn_model_param(m, i);
        const float *x = block + (t.data - base);
        const size_t n = (size_t)pcnn_numel(t);
        const char *nm = pcnn_model_param_name(m, i);
        for (size_t k = 0; k < n; k++) {
            if (!isfinite(x[k]))
                return pcnn_fail(st, "%s: tensor \"%s%s%s\" holds NaN or Inf",
                                 what, pre, block_prefix[b], nm);
            if (b == BLK_MOM2 && x[k] < 0)
                return pcnn_fail(st,
                                 "%s: tensor \"%s%s%s\" holds %g: Adam's "
                                 "second moment is a mean of squares, "
                                 "never negative",
                                 what, pre, block_prefix[b], nm,
                                 (double)x[k]);
            if (b <= BLK_EMA && fabsf(x[k]) > PCNN_PARAM_MAX)
                return pcnn_fail(st,
                                 "%s: tensor \"%s%s%s\" holds %g, beyond "
                                 "the bound +-%g on parameters",
                                 what, pre, block_prefix[b], nm,
                                 (double)x[k], (double)PCNN_PARAM_MAX);
        }
    }
    int64_t ch = 0;
    const int v = b <= BLK_EMA ? pcnn_model_check_directions(
                                     m, block, PCNN_DIRECTION_MIN, &ch)
                               : -1;
    if (v >= 0)
        return pcnn_fail(st,
                         "%s: tensor \"%s%s%s\": the weight-norm direction "
                         "of output channel %lld has a norm below %g (all "
                         "zeros?), and w = g v / ||v|| divides by it",
                         what, pre, block_prefix[b],
                         pcnn_model_param_name(m, v), (long long)ch,
                         PCNN_DIRECTION_MIN);
    return PCNN_OK;
}

/* The parameter block `block` of m converted for storage as st into
 * `half` (one uint16 per parameter; unused for F32), and checked as the
 * reader will see it: the values read back must pass check_block, and
 * F16 must hold every value (|x| <= 65504). */
static pcnn_status store_block(const char *what, const pcnn_model *m,
                               const char *pre, const float *block,
                               pcnn_storage st, uint16_t *half)
{
    size_t n;
    pcnn_model_params((pcnn_model *)m, &n);
    if (st == PCNN_STORAGE_F32)
        return check_block(what, m, pre, BLK_PARAMS, block, PCNN_ERR_VALUE);
    float *back = malloc((n ? n : 1) * sizeof *back);
    if (!back)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", what);
    const float *base = pcnn_model_params((pcnn_model *)m, NULL);
    pcnn_status s = PCNN_OK;
    for (int i = 0; i < pcnn_model_param_count(m) && s == PCNN_OK; i++) {
        pcnn_tensor t = pcnn_model_param(m, i);
        const size_t at = (size_t)(t.data - base), end = at + pcnn_numel(t);
        for (size_t k = at; k < end; k++) {
            if (st == PCNN_STORAGE_F16 && fabsf(block[k]) > PCNN_F16_MAX) {
                s = pcnn_fail(PCNN_ERR_VALUE,
                              "%s: tensor \"%s%s\" holds %g, beyond F16's "
                              "range +-65504: store it as BF16 or F32",
                              what, pre, pcnn_model_param_name(m, i),
                              (double)block[k]);
                break;
            }
            half[k] = st == PCNN_STORAGE_F16 ? pcnn_f16_from_f32(block[k])
                                              : pcnn_bf16_from_f32(block[k]);
            back[k] = st == PCNN_STORAGE_F16 ? pcnn_f16_to_f32(half[k])
                                              : pcnn_bf16_to_f32(half[k]);
        }
    }
    if (s == PCNN_OK)
        s = check_block(what, m, pre, BLK_PARAMS, back, PCNN_ERR_VALUE);
    free(back);
    return s;
}

/* Adds the parameter block `block` under the names prefix + name: as F32,
 * or (half != NULL) the block's F16 or BF16 form that store_block wrote
 * into half. The names and half are kept until the write. */
static pcnn_status put_block(pcnn_st_writer *w, const pcnn_model *m,
                             const char *prefix, const float *block,
                             char (*names)[PCNN_NAME_MAX], pcnn_storage st,
                             const uint16_t *half)
{
    const float *base = pcnn_model_params((pcnn_model *)m, NULL);
    const pcnn_st_dtype dt = st == PCNN_STORAGE_F16    ? PCNN_ST_F16
                             : st == PCNN_STORAGE_BF16 ? PCNN_ST_BF16
                                                       : PCNN_ST_F32;
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        pcnn_tensor t = pcnn_model_param(m, i);
        snprintf(names[i], PCNN_NAME_MAX, "%s%s", prefix,
                 pcnn_model_param_name(m, i));
        const ptrdiff_t at = t.data - base;
        PCNN_TRY(pcnn_st_writer_add(w, names[i], dt, t.ndim, t.dim,
                                    dt == PCNN_ST_F32 ? (const void *)(block + at)
                                                      : (const void *)(half + at)));
    }
    return PCNN_OK;
}

/* Fills block from the tensors pre + block_prefix[b] + name of f, whose
 * names and shapes check_tensors has checked, and checks the values
 * (check_block). */
static pcnn_status get_block(const pcnn_st_file *f, const pcnn_model *m,
                             const char *pre, int b, float *block)
{
    const float *base = pcnn_model_params((pcnn_model *)m, NULL);
    char name[PCNN_NAME_MAX];
    for (int i = 0; i < pcnn_model_param_count(m); i++) {
        pcnn_tensor t = pcnn_model_param(m, i);
        snprintf(name, sizeof name, "%s%s%s", pre, block_prefix[b],
                 pcnn_model_param_name(m, i));
        const pcnn_st_tensor *s = pcnn_st_find(f, name);
        if (!s)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: no tensor \"%s\"",
                             pcnn_st_what(f), name);
        PCNN_TRY(pcnn_st_copy_f32(f, s, block + (t.data - base),
                                  (size_t)pcnn_numel(t)));
    }
    return check_block(pcnn_st_what(f), m, pre, b, block, PCNN_ERR_FORMAT);
}

/* Any training key present: the file holds a trainer, and then every
 * key must parse (get_trainer) and every block be present. */
static int has_train_keys(const pcnn_st_file *f)
{
    static const char *const keys[] = {"lr",   "lr_decay", "beta1", "beta2",
                                       "ema",  "batch",    "seed",  "flip",
                                       "step", "epoch",    "pos",   "data_n"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (pcnn_st_meta(f, keys[k]))
            return 1;
    return 0;
}

/* A model checkpoint read and checked from its metadata to its tensors'
 * names and shapes (values are checked as they are copied): *f (free it),
 * its config, whether it holds a trainer and, if so, its options, state
 * and data size. */
typedef struct {
    pcnn_st_file *f;
    pcnn_model_config cfg;
    int trainer;
    pcnn_train_opts opts;
    pcnn_train_state state;
    uint64_t data_n;
} opened;

static pcnn_status open_checked(const char *path, opened *o)
{
    memset(o, 0, sizeof *o);
    o->opts = pcnn_train_opts_default();
    if (!path)
        return pcnn_fail(PCNN_ERR_ARG, "checkpoint: path is NULL");
    PCNN_TRY(pcnn_st_load(path, &o->f));
    size_t expected = 0;
    o->trainer = has_train_keys(o->f);
    pcnn_status s = ckpt_check_format(o->f, FORMAT);
    if (s == PCNN_OK)
        s = ckpt_get_config(o->f, &o->cfg, "");
    if (s == PCNN_OK && o->trainer)
        s = ckpt_get_trainer(o->f, &o->opts, &o->state, &o->data_n);
    if (s == PCNN_OK)
        s = check_tensors(o->f, &o->cfg, "", o->trainer ? BLK_COUNT : 1, 1,
                          &expected);
    if (s != PCNN_OK)
        pcnn_st_free(o->f), o->f = NULL;
    return s;
}

/* A model (and its trainer, t != NULL: F32 only) into a checkpoint. */
static pcnn_status save_model(const char *path, const pcnn_model *m,
                              const pcnn_trainer *t, pcnn_storage st)
{
    /* never replace a good file with state the reader would refuse */
    const float *blocks[BLK_COUNT] = {
        pcnn_model_params((pcnn_model *)m, NULL), t ? t->ema : NULL,
        t ? t->mom1 : NULL, t ? t->mom2 : NULL};
    size_t n;
    pcnn_model_params((pcnn_model *)m, &n);
    uint16_t *half =
        st == PCNN_STORAGE_F32 ? NULL : malloc((n ? n : 1) * sizeof *half);
    if (st != PCNN_STORAGE_F32 && !half)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", path);
    pcnn_status s = store_block(path, m, "", blocks[0], st, half);
    for (int b = 1; s == PCNN_OK && b < (t ? BLK_COUNT : 1); b++)
        s = check_block(path, m, "", b, blocks[b], PCNN_ERR_VALUE);
    if (s != PCNN_OK) {
        free(half);
        return pcnn_fail(PCNN_ERR_VALUE,
                         "%s; not saved: the file keeps its previous "
                         "contents",
                         pcnn_last_error());
    }
    int count = pcnn_model_param_count(m);
    char (*names)[PCNN_NAME_MAX] = calloc((size_t)count * 4, PCNN_NAME_MAX);
    pcnn_st_writer *w = NULL;
    s = names ? pcnn_st_writer_create(&w)
              : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", path);
    if (s == PCNN_OK)
        s = pcnn_st_writer_meta(w, "format", FORMAT);
    if (s == PCNN_OK)
        s = ckpt_put_config(w, pcnn_model_get_config(m), "");
    if (s == PCNN_OK && t)
        s = ckpt_put_trainer(w, t);
    for (int b = 0; s == PCNN_OK && b < (t ? BLK_COUNT : 1); b++)
        s = put_block(w, m, block_prefix[b], blocks[b], names + b * count,
                      b ? PCNN_STORAGE_F32 : st, half);
    if (s == PCNN_OK)
        s = pcnn_st_writer_save(w, path);
    pcnn_st_writer_free(w);
    free(names);
    free(half);
    return s;
}

static int storage_ok(pcnn_storage st)
{
    return st == PCNN_STORAGE_F32 || st == PCNN_STORAGE_F16 ||
           st == PCNN_STORAGE_BF16;
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
    return save_model(path, m, t, PCNN_STORAGE_F32);
}

pcnn_status pcnn_model_save(const char *path, const pcnn_model *m,
                            pcnn_storage st)
{
    if (!path || !m)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_model_save: NULL argument");
    if (!storage_ok(st))
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_model_save: storage %d is not "
                                       "F32, F16 or BF16", (int)st);
    return save_model(path, m, NULL, st);
}

pcnn_status pcnn_checkpoint_load_model(const char *path, int ema,
                                       pcnn_model **out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "checkpoint: out is NULL");
    *out = NULL;
    opened o;
    PCNN_TRY(open_checked(path, &o));
    pcnn_model *m = NULL;
    pcnn_status s = PCNN_OK;
    if (ema && !o.trainer)
        s = pcnn_fail(PCNN_ERR_FORMAT,
                      "%s: holds no EMA weights (it was saved without a "
                      "training state)",
                      path);
    if (s == PCNN_OK && (s = pcnn_model_create(&m, &o.cfg, 0)) != PCNN_OK)
        s = pcnn_fail(s == PCNN_ERR_NOMEM ? s : PCNN_ERR_FORMAT, "%s: %s",
                      path, pcnn_last_error());
    if (s == PCNN_OK)
        s = get_block(o.f, m, "", ema ? BLK_EMA : BLK_PARAMS,
                      pcnn_model_params(m, NULL));
    /* the blocks not loaded are checked all the same: a file loads
     * whole or not at all */
    size_t n = 0;
    if (m)
        pcnn_model_params(m, &n);
    float *scratch = s == PCNN_OK && o.trainer ? malloc(n * sizeof(float))
                                               : NULL;
    if (s == PCNN_OK && o.trainer && !scratch)
        s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", path);
    for (int b = 0; s == PCNN_OK && o.trainer && b < BLK_COUNT; b++)
        if (b != (ema ? BLK_EMA : BLK_PARAMS))
            s = get_block(o.f, m, "", b, scratch);
    free(scratch);
    pcnn_st_free(o.f);
    if (s != PCNN_OK) {
        pcnn_model_free(m);
        return s;
    }
    *out = m;
    return PCNN_OK;
}

/* The "data_fingerprint" key (16 hex digits), or 0 when absent (files
 * from before it existed, or without a trainer). */
static pcnn_status get_data_fingerprint(const pcnn_st_file *f, uint64_t *fp)
{
    const char *v = pcnn_st_meta(f, "data_fingerprint");
    *fp = 0;
    if (!v)
        return PCNN_OK;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 16);
    if (errno || strlen(v) != 16 || *end || *v == '-' || *v == '+' || !x)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: metadata \"data_fingerprint\" = \"%s\" is not "
                         "16 hex digits",
                         pcnn_st_what(f), v);
    *fp = x;
    return PCNN_OK;
}

pcnn_status pcnn_checkpoint_data_fingerprint(const char *path, uint64_t *fp)
{
    if (!path || !fp)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_checkpoint_data_fingerprint: NULL argument");
    *fp = 0;
    pcnn_st_file *f;
    PCNN_TRY(pcnn_st_load(path, &f));
    pcnn_status s = ckpt_check_format(f, FORMAT);
    if (s == PCNN_OK)
        s = get_data_fingerprint(f, fp);
    pcnn_st_free(f);
    return s;
}

pcnn_status pcnn_checkpoint_load_trainer(const char *path, pcnn_model *m,
                                         const pcnn_dataset *data,
                                         pcnn_trainer **out)
{
    if (!out || !m || !data)
        return pcnn_fail(PCNN_ERR_ARG, "checkpoint: NULL argument");
    *out = NULL;
    opened o;
    PCNN_TRY(open_checked(path, &o));
    pcnn_trainer *t = NULL;
    pcnn_status s = PCNN_OK;
    if (!o.trainer)
        s = pcnn_fail(PCNN_ERR_FORMAT,
                      "%s: holds no training state (a weights-only file)",
                      path);
    /* m must be the file's model: its parameters, the same shapes */
    pcnn_params table;
    if (s == PCNN_OK &&
        pcnn_model_param_table(&o.cfg, &table, NULL) == PCNN_OK) {
        int same = table.count == pcnn_model_param_count(m);
        for (int i = 0; same && i < table.count; i++) {
            pcnn_tensor p = pcnn_model_param(m, i);
            same = !strcmp(table.p[i].name, pcnn_model_param_name(m, i)) &&
                   p.ndim == table.p[i].ndim;
            for (int d = 0; same && d < p.ndim; d++)
                same = p.dim[d] == table.p[i].shape[d];
        }
        pcnn_params_free(&table);
        if (!same)
            s = pcnn_fail(PCNN_ERR_ARG,
                          "%s: the model given is not the file's model",
                          path);
    }
    if (s == PCNN_OK && o.data_n != (uint64_t)data->n)
        s = pcnn_fail(PCNN_ERR_ARG,
                      "%s: saved while training on %" PRIu64
                      " images, resumed on %lld: the data order would "
                      "differ",
                      path, o.data_n, (long long)data->n);
    if (s == PCNN_OK)
        s = pcnn_trainer_create(&t, m, data, &o.opts);
    uint64_t fp = 0;
    if (s == PCNN_OK)
        s = get_data_fingerprint(o.f, &fp);
    if (s == PCNN_OK && fp && fp != t->data_fp)
        s = pcnn_fail(PCNN_ERR_ARG,
                      "%s: saved while training on other data (fingerprint "
                      "%016" PRIx64 ", these data %016" PRIx64 "): the run "
                      "would not continue",
                      path, fp, t->data_fp);
    /* the file's weights are checked too (m holds them, loaded apart):
     * Adam's first moment serves as scratch, then is read for real */
    if (s == PCNN_OK)
        s = get_block(o.f, m, "", BLK_PARAMS, t->mom1);
    if (s == PCNN_OK)
        s = get_block(o.f, m, "", BLK_EMA, t->ema);
    if (s == PCNN_OK)
        s = get_block(o.f, m, "", BLK_MOM1, t->mom1);
    if (s == PCNN_OK)
        s = get_block(o.f, m, "", BLK_MOM2, t->mom2);
    pcnn_st_free(o.f);
    if (s != PCNN_OK) {
        pcnn_trainer_free(t);
        return s;
    }
    t->state = o.state;
    *out = t;
    return PCNN_OK;
}

pcnn_status pcnn_checkpoint_read_state(const char *path,
                                       pcnn_model_config *cfg,
                                       pcnn_train_opts *opts,
                                       pcnn_train_state *state,
                                       int *has_trainer)
{
    opened o;
    PCNN_TRY(open_checked(path, &o));
    pcnn_st_free(o.f);
    if (cfg)
        *cfg = o.cfg;
    if (opts)
        *opts = o.opts;
    if (state)
        *state = o.state;
    if (has_trainer)
        *has_trainer = o.trainer;
    return PCNN_OK;
}

pcnn_status pcnn_file_kind_read(const char *path, pcnn_file_kind *kind)
{
    if (!kind || !path)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_file_kind_read: NULL argument");
    *kind = PCNN_FILE_UNKNOWN;
    pcnn_st_file *f;
    PCNN_TRY(pcnn_st_load(path, &f));
    const char *v = pcnn_st_meta(f, "format");
    pcnn_status s = PCNN_OK;
    if (v && !strcmp(v, FORMAT))
        *kind = PCNN_FILE_CHECKPOINT;
    else if (v && !strcmp(v, CHAIN_FORMAT))
        *kind = PCNN_FILE_CHAIN;
    else if (v)
        s = pcnn_fail(PCNN_ERR_FORMAT,
                      "%s: format \"%.60s\" is neither a pixelcnn "
                      "checkpoint (" FORMAT ") nor a chain (" CHAIN_FORMAT
                      ")",
                      path, v);
    else
        s = pcnn_fail(PCNN_ERR_FORMAT,
                      "%s: a safetensors file without a \"format\" "
                      "metadata key: not a pixelcnn checkpoint or chain",
                      path);
    pcnn_st_free(f);
    return s;
}

/* --------------------------------------------------------------- chains */

pcnn_status pcnn_chain_save(const char *path, const pcnn_chain *c)
{
    return pcnn_chain_save_as(path, c, PCNN_STORAGE_F32);
}

pcnn_status pcnn_chain_save_as(const char *path, const pcnn_chain *c,
                               pcnn_storage st)
{
    if (!path || !c)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_chain_save: NULL argument");
    if (!storage_ok(st))
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_chain_save_as: storage %d is "
                                       "not F32, F16 or BF16", (int)st);
    size_t total = 0, n;
    int count = 0;
    for (int i = 0; i < c->n; i++) {
        count += pcnn_model_param_count(c->m[i]);
        pcnn_model_params(c->m[i], &n);
        total += n;
    }
    char (*names)[PCNN_NAME_MAX] = calloc((size_t)count, PCNN_NAME_MAX);
    uint16_t *half = st == PCNN_STORAGE_F32
                         ? NULL
                         : malloc((total ? total : 1) * sizeof *half);
    pcnn_status s = names && (half || st == PCNN_STORAGE_F32)
                        ? PCNN_OK
                        : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", path);
    char pre[16];
    /* never replace a good file with weights the reader would refuse */
    size_t at = 0;
    for (int i = 0; s == PCNN_OK && i < c->n; i++) {
        snprintf(pre, sizeof pre, "s%d.", i);
        s = store_block(path, c->m[i], pre, pcnn_model_params(c->m[i], &n),
                        st, half ? half + at : NULL);
        at += n;
        if (s != PCNN_OK)
            s = pcnn_fail(PCNN_ERR_VALUE,
                          "%s; not saved: the file keeps its previous "
                          "contents",
                          pcnn_last_error());
    }
    pcnn_st_writer *w = NULL;
    if (s == PCNN_OK)
        s = pcnn_st_writer_create(&w);
    if (s == PCNN_OK)
        s = pcnn_st_writer_meta(w, "format", CHAIN_FORMAT);
    if (s == PCNN_OK)
        s = ckpt_meta_put(w, "stages", "%d", c->n);
    at = 0;
    size_t off = 0;
    for (int i = 0; s == PCNN_OK && i < c->n; i++) {
        snprintf(pre, sizeof pre, "s%d.", i);
        s = ckpt_put_config(w, pcnn_model_get_config(c->m[i]), pre);
        if (s == PCNN_OK)
            s = put_block(w, c->m[i], pre, pcnn_model_params(c->m[i], &n),
                          names + at, st, half ? half + off : NULL);
        at += (size_t)pcnn_model_param_count(c->m[i]);
        off += n;
    }
    if (s == PCNN_OK)
        s = pcnn_st_writer_save(w, path);
    pcnn_st_writer_free(w);
    free(names);
    free(half);
    return s;
}

/* A tensor of a chain file that belongs to none of its stages, as an
 * error (called only when the file has more tensors than expected). */
static pcnn_status find_unknown_chain(const pcnn_st_file *f,
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
    return pcnn_fail(PCNN_ERR_FORMAT, "%s: more tensors than its stages have",
                     pcnn_st_what(f));
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
    pcnn_model_config c[PCNN_MAX_STAGES];
    int n = 0;
    size_t expected = 0;
    pcnn_status s = ckpt_check_format(f, CHAIN_FORMAT);
    if (s == PCNN_OK && ema)
        s = pcnn_fail(PCNN_ERR_ARG,
                      "%s: a chain file holds one set of weights, no EMA "
                      "copy",
                      path);
    if (s == PCNN_OK)
        s = ckpt_meta_int(f, "stages", 1, PCNN_MAX_STAGES, &n);
    char pre[16];
    /* every stage's config and tensors before any model is built */
    for (int i = 0; s == PCNN_OK && i < n; i++) {
        snprintf(pre, sizeof pre, "s%d.", i);
        s = ckpt_get_config(f, &c[i], pre);
        if (s == PCNN_OK)
            s = check_tensors(f, &c[i], pre, 1, 0, &expected);
    }
    for (int i = 0; s == PCNN_OK && i < n; i++) {
        s = pcnn_model_create(&m[i], &c[i], 0);
        if (s != PCNN_OK)
            s = pcnn_fail(s == PCNN_ERR_NOMEM ? s : PCNN_ERR_FORMAT,
                          "%s: stage %d: %s", path, i, pcnn_last_error());
    }
    if (s == PCNN_OK && pcnn_st_count(f) != expected)
        s = find_unknown_chain(f, m, n);
    for (int i = 0; s == PCNN_OK && i < n; i++) {
        snprintf(pre, sizeof pre, "s%d.", i);
        s = get_block(f, m[i], pre, BLK_PARAMS, pcnn_model_params(m[i], NULL));
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
