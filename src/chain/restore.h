/*
 * restore.h -- the greedy decoder behind pcnn_chain_restore and
 * pcnn_chain_purify (restore.c, docs/restore.md), with the naive switch
 * the tests check the incremental run against.
 */
#ifndef PCNN_CHAIN_RESTORE_H
#define PCNN_CHAIN_RESTORE_H

#include "../core/internal.h"

/* The data term of the decoder: for channel c of pixel k (raster index)
 * of image b, the values [*lo, *hi] it may take (set to 0 .. levels-1
 * before the call) and data[v - *lo] for each; then, once it is decided,
 * set (may be NULL) hears its value v. Called on one thread at a time, in
 * raster order, channels in order, images in order within a pixel. */
typedef struct {
    void (*score)(void *arg, int64_t b, int c, int64_t k, int *lo, int *hi,
                  double *data);
    void (*set)(void *arg, int64_t b, int c, int64_t k, int v);
    void *arg;
    /* 1: each subpixel gets the mean of its posterior instead, the values
     * weighted by p(v | earlier) exp(data(v)), rounded */
    int mean;
} pcnn_greedy_term;

/* One greedy pass over x (B, C, H, W) of the plain model m: every
 * subpixel in raster order becomes the value of [lo, hi] maximizing
 * log p(v | earlier) + data(v) (ties: the smaller; when every
 * probability in [lo, hi] underflows to 0, the data term alone, ties to
 * x's current value). x holds the current estimate, which the term may
 * read at pixels not yet decided. naive = 1 runs the whole network once
 * per pixel instead of the cached sampler: the reference. Progress:
 * rows, as pcnn_model_sample's (PCNN_ERR_CANCELLED without a message). */
pcnn_status pcnn_greedy_decode(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                               const pcnn_greedy_term *t,
                               pcnn_progress progress, int naive);

/* pcnn_chain_restore and pcnn_chain_purify with the naive switch. */
pcnn_status pcnn_restore_run(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image y,
                             pcnn_image x, const pcnn_restore_opts *o,
                             int naive);
pcnn_status pcnn_purify_run(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image x,
                            const pcnn_purify_opts *o, int naive);

#endif
