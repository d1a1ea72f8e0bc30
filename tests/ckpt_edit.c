/* ckpt_edit.c -- crafting bad checkpoints: see ckpt_edit.h. */
#include "ckpt_edit.h"
#include "test.h"
#include "../src/io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ckpt_rewrite(const char *src, const char *dst, const ckpt_edit *e)
{
    pcnn_st_file *f = NULL;
    pcnn_st_writer *w = NULL;
    float **bufs = NULL;
    int ok = pcnn_st_load(src, &f) == PCNN_OK &&
             pcnn_st_writer_create(&w) == PCNN_OK;
    const size_t count = ok ? pcnn_st_count(f) : 0;
    bufs = calloc(count + 1, sizeof *bufs);
    ok = ok && bufs;
    for (size_t i = 0; ok && i < pcnn_st_meta_count(f); i++) {
        const char *k, *v;
        pcnn_st_meta_at(f, i, &k, &v);
        if ((e->key && !strcmp(k, e->key)) ||
            (e->key2 && !strcmp(k, e->key2)))
            continue;
        ok = pcnn_st_writer_meta(w, k, v) == PCNN_OK;
    }
    if (ok && e->key && e->value)
        ok = pcnn_st_writer_meta(w, e->key, e->value) == PCNN_OK;
    if (ok && e->key2 && e->value2)
        ok = pcnn_st_writer_meta(w, e->key2, e->value2) == PCNN_OK;
    for (size_t i = 0; ok && i < count; i++) {
        const pcnn_st_tensor *t = pcnn_st_at(f, i);
        const int mine = e->tensor && !strcmp(t->name, e->tensor);
        if (mine && e->drop)
            continue;
        const void *data = t->data;
        int ndim = t->ndim;
        const int64_t *shape = t->shape;
        if (mine && e->ndim > 0) {
            size_t n = 1;
            for (int d = 0; d < e->ndim; d++)
                n *= (size_t)e->shape[d];
            data = bufs[i] = calloc(n ? n : 1, sizeof(float));
            ndim = e->ndim, shape = e->shape;
        } else if (mine && e->fn) {
            bufs[i] = malloc(t->numel * sizeof(float) + 1);
            ok = bufs[i] &&
                 pcnn_st_copy_f32(f, t, bufs[i], t->numel) == PCNN_OK;
            if (ok)
                e->fn(bufs[i], t->numel, t->shape, t->ndim, e->arg);
            data = bufs[i];
        }
        ok = ok && data && pcnn_st_writer_add(w, t->name, t->dtype, ndim,
                                               shape, data) == PCNN_OK;
    }
    static const float one = 1.0f;
    const int64_t shape1[1] = {1};
    if (ok && e->add)
        ok = pcnn_st_writer_add(w, e->add, PCNN_ST_F32, 1, shape1, &one) ==
             PCNN_OK;
    if (ok)
        ok = pcnn_st_writer_save(w, dst) == PCNN_OK;
    if (!ok)
        fprintf(stderr, "ckpt_rewrite %s -> %s: %s\n", src, dst,
                pcnn_last_error());
    for (size_t i = 0; bufs && i < count; i++)
        free(bufs[i]);
    free(bufs);
    pcnn_st_writer_free(w);
    pcnn_st_free(f);
    return ok;
}

/* dir/name in a static buffer (valid until the next call) */
static const char *join(const char *dir, const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

/* 48 gray 8x8 images. */
pcnn_dataset ckpt_toy_data(void)
{
    pcnn_dataset d = {0};
    d.n = 48, d.c = 1, d.h = 8, d.w = 8;
    d.images = xcalloc((size_t)(d.n * 64), 1);
    for (int64_t i = 0; i < d.n * 64; i++)
        d.images[i] = (uint8_t)(4 * (i % 64) + (i / 64) % 7);
    return d;
}

/* 1x8x8 images, two resolutions (so a deconv layer), 8 filters. */
pcnn_model_config ckpt_toy_config(void)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0;
    return c;
}

/* In dir: full.safetensors (with a trainer, 3 steps in), weights.safetensors
 * (the same weights only) and chain.safetensors (a chain of that model). */
int ckpt_make_files(const char *dir)
{
    pcnn_ctx *ctx = NULL;
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    pcnn_chain *ch = NULL;
    pcnn_dataset d = ckpt_toy_data();
    pcnn_model_config c = ckpt_toy_config();
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 8;
    int ok = pcnn_ctx_create(&ctx, NULL) == PCNN_OK &&
             pcnn_model_create(&m, &c, 1) == PCNN_OK &&
             pcnn_trainer_create(&t, m, &d, &o) == PCNN_OK &&
             pcnn_trainer_init(ctx, t) == PCNN_OK;
    for (int i = 0; ok && i < 3; i++)
        ok = pcnn_trainer_step(ctx, t, NULL) == PCNN_OK;
    ok = ok &&
         pcnn_checkpoint_save(join(dir, "full.safetensors"), m, t) ==
             PCNN_OK &&
         pcnn_checkpoint_save(join(dir, "weights.safetensors"), m,
                              NULL) == PCNN_OK;
    pcnn_trainer_free(t);
    if (ok && pcnn_chain_create(&ch, &m, 1) == PCNN_OK) {
        ok = pcnn_chain_save(join(dir, "chain.safetensors"), ch) ==
             PCNN_OK;
        pcnn_chain_free(ch);
    } else {
        pcnn_model_free(m);
        ok = 0;
    }
    if (!ok)
        fprintf(stderr, "make_files: %s\n", pcnn_last_error());
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    return ok;
}

