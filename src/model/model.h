/*
 * model.h -- the PixelCNN++ model object, shared by the network builder
 * (pixelcnnpp.c) and the calls that run it (model.c).
 */
#ifndef PCNN_MODEL_MODEL_H
#define PCNN_MODEL_MODEL_H

#include "graph.h"

/* A laid-out graph for one batch size, and the buffers of a forward. */
typedef struct {
    pcnn_graph graph;
    int64_t batch;       /* 0: no graph */
    int in_x, in_cond, out;
    float *logp, *dlogp; /* (B, 1, H, W) */
    uint8_t *x;          /* (B, C, H, W): the images of the last forward */
    int32_t *labels;     /* (B) */
} pcnn_plan;

struct pcnn_model {
    pcnn_model_config cfg;
    pcnn_head head;
    pcnn_params params;
    pcnn_layer *layers;
    int nlayers, caplayers;
    float *w, *dw;       /* effective layer weights and their gradients */
    size_t wsize;
    /* the graphs of the last batch sizes: training (with gradients and
     * dropout) and evaluation (forward only, dropout left out, buffers
     * reused once their last reader has run) */
    pcnn_plan tr, ev;
    int backward_ready;  /* the last forward was a training forward */
    uint64_t seed;       /* its dropout seed */
};

/* Lays out the training (eval = 0) or evaluation graph for batch size
 * `batch` (no-op if it is the current one): values, nodes, arenas and the
 * per-batch buffers. */
pcnn_status pcnn_model_plan(pcnn_model *m, int64_t batch, int eval);
void pcnn_plan_free(pcnn_plan *p);
/* Lays out the network's values and nodes for batch size `batch` into g
 * (zeroed first; no arenas; eval: without dropout nodes): the input image value, the condition map
 * value (-1 without one) and the output value. Free with pcnn_graph_free. */
pcnn_status pcnn_model_build_graph(pcnn_model *m, int64_t batch, int eval,
                                   pcnn_graph *g, int *in_x, int *in_cond,
                                   int *out);
/* The batch fits the model: images (B, C, H, W), labels in range when it
 * has classes, a condition map when it has one. */
pcnn_status pcnn_model_check_batch(const char *fn, const pcnn_model *m,
                                   const pcnn_batch *b);
/* pcnn_model_create for a model read from a file that holds max_params
 * values in all: PCNN_ERR_FORMAT, before anything is allocated, when the
 * config needs more parameters than that (a hostile config must not cost
 * the memory of a model the file cannot hold). */
pcnn_status pcnn_model_create_within(pcnn_model **out,
                                     const pcnn_model_config *cfg,
                                     uint64_t seed, size_t max_params);
/* w = g v / ||v|| for every layer, into m->w. */
pcnn_status pcnn_model_refresh_weights(pcnn_ctx *ctx, pcnn_model *m);

#endif
