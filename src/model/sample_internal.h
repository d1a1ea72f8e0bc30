/*
 * sample_internal.h -- the cached sampler's plan, shared by its planning
 * (sample_plan.c: ready steps, the schedule, windows, packed weights) and
 * its run (sample.c: the steps, the draws). docs/sampling.md.
 */
#ifndef PCNN_MODEL_SAMPLE_INTERNAL_H
#define PCNN_MODEL_SAMPLE_INTERNAL_H

#include "model.h"

#include <stdlib.h>

/* What every thread shares: the graph, the ready steps, the order in which
 * positions are computed, the packed weights. */
typedef struct {
    int64_t C, H, W;
    int32_t *ready;  /* (H*W) */
    int64_t rows;    /* rows kept: a window of the last `rows` rows */
} sval;

typedef struct {
    pcnn_conv_geom geom;
    int K;           /* gathered columns: taps * input channels */
    float *wp;       /* packed weights (K, Co) */
    const float *bias;
    int32_t *order;  /* positions, by ready step */
    int64_t npos;    /* positions ever needed (ready before the last step) */
} snode;

typedef struct {
    pcnn_graph g;
    int in_x, in_cond, out;
    int64_t B, H, W, HW;
    sval *v;
    snode *n;
    int64_t maxK, maxC;
    /* the schedule: pixel (i, j) is drawn at step a*i + j, of T steps */
    int64_t a, T;
    const pcnn_backend *be;
    const pcnn_params *params;
    int bf16;        /* the context's compute: weights packed in bf16 */
} sampler;

/* The input position of output (i, j) for conv tap (p, q), or -1. */
static inline int64_t conv_tap(const pcnn_conv_geom *g, int64_t H, int64_t W,
                        int64_t i, int64_t j, int p, int q)
{
    const int d = g->dilation > 1 ? g->dilation : 1;
    const int64_t y = i * g->stride + (int64_t)p * d - g->pad_top;
    const int64_t x = j * g->stride + (int64_t)q * d - g->pad_left;
    return y < 0 || y >= H || x < 0 || x >= W ? -1 : y * W + x;
}

/* The input position feeding transposed-conv output (y, x) through tap
 * (p, q), or -1: y = i*s + p - crop_top. */
static inline int64_t deconv_tap(const pcnn_conv_geom *g, int64_t H, int64_t W,
                          int64_t y, int64_t x, int p, int q)
{
    const int64_t ty = y + g->pad_top - p, tx = x + g->pad_left - q;
    const int s = g->stride;
    if (ty < 0 || tx < 0 || ty % s || tx % s)
        return -1;
    const int64_t i = ty / s, j = tx / s;
    return i >= H || j >= W ? -1 : i * W + j;
}

static inline int is_conv(pcnn_gkind k)
{
    return k == GN_CONV || k == GN_NIN || k == GN_DECONV;
}

/* n floats, 64-byte aligned (free with free()). */
static inline void *falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* Plans sampling a batch of B from m: the evaluation graph, each value's
 * steps and window of rows, the schedule, the packed weights. */
pcnn_status pcnn_sampler_plan(sampler *S, pcnn_model *m, int64_t B);
void pcnn_sampler_free(sampler *S);

#endif
