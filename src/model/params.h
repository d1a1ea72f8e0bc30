/*
 * params.h -- a table of named parameter tensors in one flat block.
 *
 * Tensors are registered once (name, shape), then the table allocates one
 * contiguous block for the values and one for the gradients. Everything
 * that walks the parameters -- the optimizer, the EMA, the gradient norm,
 * the checkpoint -- is one flat loop or one loop over this table, so names,
 * shapes and offsets cannot drift apart.
 */
#ifndef PCNN_MODEL_PARAMS_H
#define PCNN_MODEL_PARAMS_H

#include "../core/internal.h"

#define PCNN_PARAM_NAME 64

typedef struct {
    char name[PCNN_PARAM_NAME];
    int ndim;
    int64_t shape[PCNN_MAX_DIMS];
    size_t off, n; /* offset into the block, element count */
} pcnn_param;

typedef struct {
    pcnn_param *p;
    int count, cap;
    size_t total; /* elements in all */
    float *data;  /* (total), owned */
    float *grad;  /* (total), owned */
} pcnn_params;

/* Registers a tensor before pcnn_params_alloc; returns its index, or -1
 * (status set) on a bad shape, a name too long, or no memory. */
int pcnn_params_add(pcnn_params *t, const char *name, int ndim,
                    const int64_t *shape);
/* Allocates the zeroed value and gradient blocks. */
pcnn_status pcnn_params_alloc(pcnn_params *t);
void pcnn_params_free(pcnn_params *t);
/* The index of the tensor called name, or -1. */
int pcnn_params_find(const pcnn_params *t, const char *name);
/* The tensor i as a pcnn_tensor view of the value or gradient block. */
pcnn_tensor pcnn_params_value(const pcnn_params *t, int i);
pcnn_tensor pcnn_params_gradient(const pcnn_params *t, int i);

#endif
