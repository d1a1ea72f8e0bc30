/*
 * ckpt_edit.h -- crafting bad checkpoints for the tests: copy a
 * safetensors file with one change to its metadata or tensors, written
 * by the library's own writer (so only the change is "bad").
 */
#ifndef PCNN_TEST_CKPT_EDIT_H
#define PCNN_TEST_CKPT_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "pixelcnn.h"

typedef struct {
    const char *key, *value; /* set metadata key (value NULL: remove it) */
    const char *key2, *value2; /* and a second one */
    const char *tensor;      /* the tensor the next fields change */
    int drop;                /* remove it */
    /* change its float32 values: fn(x, n, shape, ndim, arg) */
    void (*fn)(float *x, size_t n, const int64_t *shape, int ndim,
               void *arg);
    void *arg;
    int ndim;                /* > 0: give it this shape, zero-filled */
    int64_t shape[4];
    const char *add;         /* add a 1-element F32 tensor of this name */
} ckpt_edit;

/* Writes src with the changes of e as dst; 1 on success, 0 with a
 * message on stderr. */
int ckpt_rewrite(const char *src, const char *dst, const ckpt_edit *e);

/* 48 gray 8x8 images (free with pcnn_dataset_free). */
pcnn_dataset ckpt_toy_data(void);
/* 1x8x8 images, two resolutions (so transposed convs), 8 filters, no
 * dropout. */
pcnn_model_config ckpt_toy_config(void);
/* In dir: full.safetensors (a model of ckpt_toy_config with its trainer,
 * 3 steps in on ckpt_toy_data), weights.safetensors (the same weights
 * only) and chain.safetensors (a chain of that one model); 1 on success,
 * 0 with a message on stderr. */
int ckpt_make_files(const char *dir);

#endif
