/*
 * safetensors.c -- fuzz target: the safetensors reader (src/io/) on a
 * buffer: header length, JSON, tensor table, metadata, float decoding;
 * then a round trip through the writer, which must give back the same
 * tensors and metadata (a difference aborts: a finding).
 */
#include "util.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

static void same(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pcnn_st_file *f;
    if (pcnn_st_parse(data, size, "fuzz.safetensors", &f) != PCNN_OK)
        return 0;
    pcnn_st_writer *w = NULL;
    int writable = pcnn_st_writer_create(&w) == PCNN_OK;
    for (size_t i = 0; i < pcnn_st_count(f); i++) {
        const pcnn_st_tensor *t = pcnn_st_at(f, i);
        same(pcnn_st_find(f, t->name) == t);
        same(t->nbytes == t->numel * pcnn_st_dtype_size(t->dtype));
        if (t->dtype == PCNN_ST_F32 || t->dtype == PCNN_ST_F64 ||
            t->dtype == PCNN_ST_F16 || t->dtype == PCNN_ST_BF16) {
            float *a = malloc((t->numel ? t->numel : 1) * sizeof *a);
            double *b = malloc((t->numel ? t->numel : 1) * sizeof *b);
            same(a && b);
            same(pcnn_st_copy_f32(f, t, a, t->numel) == PCNN_OK);
            same(pcnn_st_copy_f64(f, t, b, t->numel) == PCNN_OK);
            free(a), free(b);
        }
        writable = writable && pcnn_st_writer_add(w, t->name, t->dtype,
                                                  t->ndim, t->shape,
                                                  t->data) == PCNN_OK;
    }
    for (size_t i = 0; i < pcnn_st_meta_count(f); i++) {
        const char *k, *v;
        pcnn_st_meta_at(f, i, &k, &v);
        same(pcnn_st_meta(f, k) == v);
        writable = writable && pcnn_st_writer_meta(w, k, v) == PCNN_OK;
    }
    /* everything the reader accepts, the writer takes and writes back */
    same(writable);
    void *buf;
    size_t len;
    same(pcnn_st_writer_to_mem(w, &buf, &len) == PCNN_OK);
    pcnn_st_file *g;
    same(pcnn_st_parse(buf, len, "round trip", &g) == PCNN_OK);
    same(pcnn_st_count(g) == pcnn_st_count(f));
    same(pcnn_st_meta_count(g) == pcnn_st_meta_count(f));
    for (size_t i = 0; i < pcnn_st_count(f); i++) {
        const pcnn_st_tensor *a = pcnn_st_at(f, i), *b = pcnn_st_at(g, i);
        same(!strcmp(a->name, b->name) && a->dtype == b->dtype &&
             a->ndim == b->ndim && a->nbytes == b->nbytes &&
             !memcmp(a->shape, b->shape, sizeof a->shape) &&
             (!a->nbytes || !memcmp(a->data, b->data, a->nbytes)));
    }
    for (size_t i = 0; i < pcnn_st_meta_count(f); i++) {
        const char *k1, *v1, *k2, *v2;
        pcnn_st_meta_at(f, i, &k1, &v1);
        pcnn_st_meta_at(g, i, &k2, &v2);
        same(!strcmp(k1, k2) && !strcmp(v1, v2));
    }
    pcnn_st_free(g);
    free(buf);
    pcnn_st_writer_free(w);
    pcnn_st_free(f);
    return 0;
}
