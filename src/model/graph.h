/*
 * graph.h -- a network as a static list of ops over planned buffers.
 *
 * A builder (pixelcnnpp.c) adds values (4-d activations) and nodes (one op
 * each) in forward order, once per batch size. pcnn_graph_alloc then sizes
 * one activation arena and one gradient arena; nothing is allocated while
 * the graph runs. Forward runs the nodes in order through the public ops;
 * backward runs them in reverse, zeroing each value's gradient just before
 * the first node that adds to it. Weight-normalized layers (conv, deconv,
 * nin) live in the model: the graph refers to them by index.
 */
#ifndef PCNN_MODEL_GRAPH_H
#define PCNN_MODEL_GRAPH_H

#include "params.h"

typedef enum {
    GN_CONV,        /* layer: weight-normalized conv */
    GN_DECONV,      /* layer: weight-normalized transposed conv */
    GN_NIN,         /* layer: weight-normalized 1x1 conv */
    GN_DOWN_SHIFT,
    GN_RIGHT_SHIFT,
    GN_ELU,
    GN_CONCAT_ELU,
    GN_GATE,
    GN_ADD,         /* in0 + in1 */
    GN_DROPOUT,     /* rate p, seed from the step seed and the node index */
    GN_CONCAT,      /* channels of in0 then in1 */
    GN_CLASS_BIAS,  /* in0[b] + class_w[:, label_b]; param = class_w */
    GN_POOL         /* 2x2 average pooling (of condition features) */
} pcnn_gkind;

/* A weight-normalized layer: w = g v / ||v|| (docs/model.md). */
typedef struct {
    pcnn_gkind kind; /* GN_CONV, GN_DECONV or GN_NIN */
    pcnn_conv_geom geom;
    int v, g, b;      /* parameter indices */
    float init_scale; /* data-dependent init scale; 0: no data init */
    size_t woff;      /* offset of w (and dw) in the layer weight blocks */
} pcnn_layer;

typedef struct {
    int64_t dim[4];
    size_t off; /* into the arenas, floats */
    int grad;   /* has a gradient */
} pcnn_gvalue;

typedef struct {
    pcnn_gkind kind;
    int in0, in1, out; /* value indices, -1 when unused */
    int layer;         /* layer index, or class_w parameter index */
    float p;           /* dropout rate */
} pcnn_gnode;

/* What the nodes read besides their values. */
typedef struct {
    pcnn_params *params;
    const pcnn_layer *layers;
    float *w, *dw;          /* effective weights of the layers, their grads */
    const int32_t *labels;  /* (B) for GN_CLASS_BIAS */
    int train;              /* dropout on */
    uint64_t seed;          /* dropout seed of this step */
    int64_t img0;           /* index of the batch's first image in the
                             * global batch (dropout masks by global
                             * position: a data-parallel shard) */
    int data_init;          /* forward sets each layer's g, b from its output */
} pcnn_genv;

typedef struct {
    pcnn_gvalue *val;
    int nval, capval;
    pcnn_gnode *node;
    int nnode, capnode;
    float *act, *gact;      /* arenas (floats), owned */
    size_t arena;           /* floats in each arena */
    unsigned char *ready;   /* (nval): gradient zeroed in this backward */
    int failed;             /* a builder call failed: status is set */
} pcnn_graph;

/* Adds a value of shape (n, c, h, w); returns its index (-1 on failure,
 * recorded in g->failed). grad: it gets a gradient. */
int pcnn_graph_value(pcnn_graph *g, int64_t n, int64_t c, int64_t h,
                     int64_t w, int grad);
/* Adds a node computing a new value from in0 (and in1); returns the
 * output value's index. The output's shape follows from the op. */
int pcnn_graph_op(pcnn_graph *g, const pcnn_layer *layers,
                  const pcnn_params *params, pcnn_gkind kind, int in0,
                  int in1, int layer, float p);
/* Sizes and allocates the arenas after the last node. */
pcnn_status pcnn_graph_alloc(pcnn_graph *g);
/* For forward passes only: one activation arena (no gradients) in which a
 * value's block is reused by a later value of the same size once its last
 * reader has run; the values keep[0 .. nkeep) (inputs, output; -1 is
 * skipped) are never reused. */
pcnn_status pcnn_graph_alloc_forward(pcnn_graph *g, const int *keep,
                                     int nkeep);
void pcnn_graph_free(pcnn_graph *g);

float *pcnn_graph_data(const pcnn_graph *g, int v);
pcnn_tensor pcnn_graph_tensor(const pcnn_graph *g, int v);

pcnn_status pcnn_graph_forward(pcnn_ctx *ctx, pcnn_graph *g,
                               const pcnn_genv *env);
/* Starts a backward pass: no value has a gradient yet. */
void pcnn_graph_grad_begin(pcnn_graph *g);
/* The gradient of value v, zeroed on first use in this pass. */
pcnn_tensor pcnn_graph_grad(pcnn_graph *g, int v);
/* Runs the nodes in reverse: layer gradients go to env->dw (for w) and
 * to the params' gradient block (b, class_w); they accumulate. */
pcnn_status pcnn_graph_backward(pcnn_ctx *ctx, pcnn_graph *g,
                                const pcnn_genv *env);

#endif
