/*
 * model.h -- the PixelCNN++ model object, shared by the network builder
 * (pixelcnnpp.c) and the calls that run it (model.c).
 */
#ifndef PCNN_MODEL_MODEL_H
#define PCNN_MODEL_MODEL_H

#include "graph.h"

/* What a parameter set may hold (docs/checkpoint.md): every value, raw or
 * EMA, within +-PCNN_PARAM_MAX (trained values stay below 100; a data-
 * dependent init gives at most 1e5, for a layer whose output is constant),
 * and every weight-norm direction v of norm >= PCNN_DIRECTION_MIN for each
 * output channel, so g / ||v|| stays finite in float (|g| <= 1e6). The
 * trainer never steps past the first; files are checked for both. */
#define PCNN_PARAM_MAX 1e6f
#define PCNN_DIRECTION_MIN 1e-20

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
    int64_t img0;        /* its first image's index in the global batch */
};

/* pcnn_model_loss on a shard of a global batch whose first image is image
 * img0 of it: the dropout masks are those the images have in the whole
 * batch (pcnn_model_loss: img0 = 0). */
pcnn_status pcnn_model_loss_at(pcnn_ctx *ctx, pcnn_model *m,
                               const pcnn_batch *b, int train, uint64_t seed,
                               int64_t img0, double *mean_bpd,
                               double *image_bpd);

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
/* The parameter table (names, shapes; no values) of a model of config
 * cfg, without creating it: a file's tensors are checked against it
 * before anything large is allocated. *act_floats (may be NULL) = the
 * floats of all the values of one image's evaluation graph, none reused
 * (an upper bound on its activations; SIZE_MAX on overflow). Free *out
 * with pcnn_params_free. */
pcnn_status pcnn_model_param_table(const pcnn_model_config *cfg,
                                   pcnn_params *out, size_t *act_floats);
/* The first weight-normalized layer whose direction v in `block` (laid
 * out like m's parameters) has, for some output channel, a norm below
 * min_norm (or NaN): the parameter index of v, with the channel in
 * *channel; -1 when every norm is at least min_norm. The norm is the one
 * w = g v / ||v|| divides by (over all but the output axis). */
int pcnn_model_check_directions(const pcnn_model *m, const float *block,
                                double min_norm, int64_t *channel);
/* A layer's v viewed as (A, O, R) with O its output channels, as
 * weightnorm.c views it: (1, Co, Ci kh kw) for a conv or nin,
 * (Ci, Co, kh kw) for a transposed conv. */
void pcnn_layer_axes(const pcnn_model *m, const pcnn_layer *L, int64_t *A,
                     int64_t *O, int64_t *R);
/* ||v|| of output channel o of v viewed as (A, O, R), summed in double. */
double pcnn_channel_norm(const float *v, int64_t o, int64_t A, int64_t O,
                         int64_t R);
/* In the parameter block `block` (the model's or one laid out like it,
 * as the trainer's EMA), sets every layer's g to ||v|| per output channel:
 * a plain model's invariant (w = g v / ||v|| = v). */
void pcnn_model_sync_norms(const pcnn_model *m, float *block);
/* w = g v / ||v|| for every layer, into m->w (a plain model: w = v, and
 * g = ||v|| first). */
pcnn_status pcnn_model_refresh_weights(pcnn_ctx *ctx, pcnn_model *m);

/* The coder's hook into the cached sampler: called for pixel k (raster
 * index) of every image in place of the draw, on one thread at a time and
 * in the same order for any thread count, with the head parameters
 * l (B, P) the sampler computed for it; it writes the pixel's values into
 * px (B, C), which the sampler then feeds back as a drawn pixel. A
 * failure it returns stops the run; it may run on a worker thread, so it
 * keeps its message for its caller rather than in pcnn_last_error. */
typedef struct {
    pcnn_status (*fn)(void *arg, const float *l, int64_t k, uint8_t *px);
    void *arg;
} pcnn_pixel_hook;
/* Several runs of the sampler reported as one job: each run's rows
 * (job "sample") become rows `before + done` of `total` under `job`, to
 * the caller's progress `outer`; the caller moves `before` on after each
 * run. */
typedef struct {
    pcnn_progress outer;
    const char *job;
    int64_t before, total;
} pcnn_job_rows;
/* The progress to hand a run: r's reports (NULL fn when outer has none). */
pcnn_progress pcnn_job_rows_progress(pcnn_job_rows *r);
/* Runs the cached sampler over x (B, C, H, W) with the hook giving every
 * pixel (labels, cond: as pcnn_model_sample's; progress: job "sample",
 * rows). PCNN_ERR_CANCELLED without a message when progress stops it. */
pcnn_status pcnn_model_run_pixels(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                                  const int32_t *labels, pcnn_tensor cond,
                                  const pcnn_pixel_hook *hook,
                                  pcnn_progress progress);

#endif
