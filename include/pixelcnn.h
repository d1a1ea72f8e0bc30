/*
 * pixelcnn.h -- the public interface of libpixelcnn.
 *
 * libpixelcnn trains, evaluates and samples autoregressive image density
 * models: PixelCNN++ (Salimans et al. 2017) and the auxiliary-variable
 * chains of Kolesnikov & Lampert (ICML 2017), with their colorization
 * application (Royer, Kolesnikov & Lampert, BMVC 2017). This header is
 * the whole API: the shared library exports exactly the functions it
 * declares (PCNN_API). What it offers:
 *
 * - Status, progress and context: every call that can fail returns a
 *   pcnn_status; long jobs report progress through one callback
 *   (pcnn_progress) that can cancel them; a pcnn_ctx holds the backend,
 *   its thread count and a workspace.
 * - Tensors and ops: pcnn_tensor and pcnn_image describe caller memory.
 *   PixelCNN++'s layers as *_forward / *_backward pairs: causal (shifted)
 *   convolutions, strided, dilated and transposed, 1x1 convs, shifts,
 *   elu and concat_elu, the gate, add, dropout, weight normalization and
 *   its data-dependent init.
 * - Heads (pcnn_head): the discretized logistic mixture and the
 *   categorical softmax: log-probability, gradient, exact sampling, exact
 *   per-value probabilities, draws and log-masses over value intervals.
 * - Models (pcnn_model): the PixelCNN++ network of a pcnn_model_config,
 *   class- or map-conditional, with a table of named parameters; loss in
 *   bits/dim, backward, data-dependent init.
 * - Sampling: pcnn_model_sample draws images pixel by pixel (a cached
 *   incremental sampler, or the naive reference), or completes partly
 *   known ones.
 * - Views and chains: a pcnn_view is a function of an image (4-bit gray,
 *   half resolution, Lab lightness or chroma); a stage is a model of one
 *   view given a coarser one (pcnn_stage_config derives its config), and
 *   a pcnn_chain of stages bounds -log2 p(X) by the sum of their bits/dim
 *   and samples stage by stage (super-resolution, colors from gray). The
 *   chain is the one model handle: pcnn_chain_load reads a chain file or
 *   a model checkpoint (a plain model, or one stage) as a chain of one,
 *   and pcnn_chain_evaluate, pcnn_chain_sample, pcnn_chain_complete and
 *   pcnn_colorize each do one job on it. pcnn_chain_score gives each
 *   image's stage terms and the bits at every pixel; pcnn_pseudo_counts
 *   the pseudo-counts of a stream of images (count-based exploration).
 *   pcnn_chain_restore (denoise, deblur, inpaint) and pcnn_chain_purify
 *   (PixelDefend) decode images greedily under the model's conditionals.
 * - Color: sRGB <-> CIE Lab, PSNR, colorfulness; pcnn_colorize draws
 *   colorizations of an image of any size from a chroma stage, and
 *   pcnn_colorize_score measures them against the truth and baselines.
 * - Data sets (pcnn_dataset): from memory, CIFAR-10, IDX (MNIST,
 *   Fashion-MNIST) or a folder of images; subsets, crops, a stage's views,
 *   shuffles and batches.
 * - Training (pcnn_trainer): Adam, learning-rate decay, an EMA of the
 *   weights, and a data order that lets a resumed run continue exactly;
 *   pcnn_trainer_run trains with a step or time budget and progress,
 *   pcnn_trainer_evaluate gives the test bits/dim.
 * - Checkpoints: models with their trainer, and chains, in safetensors
 *   files, saved atomically and checked whole on load.
 * docs/ has a page for each (ops.md, model.md, sampling.md, chains.md,
 * score.md, restore.md, color.md, colorize.md, data.md, checkpoint.md).
 *
 * Example, from examples/train_sample.c, whose main() makes 64 small
 * images and calls it (`make test` builds it against the shared library
 * and runs it):
 *
 *     #define TRY(x) do { if ((s = (x)) != PCNN_OK) goto done; } while (0)
 *
 *     // Trains a small PixelCNN++ for 100 steps on n gray 8x8 images x
 *     // (n, 1, 8, 8), saves it to path, loads its averaged (EMA) weights
 *     // back as a chain of one stage, puts their bits/dim on x in *bpd and
 *     // draws 4 images into out (4, 1, 8, 8). 0 on success, else 1 with a
 *     // message on stderr.
 *     static int train_sample(const uint8_t *x, int64_t n, const char *path,
 *                             double *bpd, uint8_t *out)
 *     {
 *         pcnn_status s = PCNN_OK;
 *         pcnn_ctx *ctx = NULL;
 *         pcnn_dataset data = {0};
 *         pcnn_model *m = NULL;
 *         pcnn_trainer *t = NULL;
 *         pcnn_chain *loaded = NULL;
 *         TRY(pcnn_ctx_create(&ctx, NULL));        // CPU, all cores
 *         TRY(pcnn_dataset_from_memory(x, n, 1, 8, 8, NULL, 0, &data));
 *
 *         pcnn_model_config cfg = pcnn_train_config_default();
 *         cfg.channels = 1, cfg.height = cfg.width = 8;
 *         cfg.nr_resnet = 1, cfg.nr_filters = 16, cfg.nr_mix = 2;
 *         cfg.nr_resolutions = 2, cfg.dropout = 0;
 *         TRY(pcnn_model_create(&m, &cfg, 1));     // random weights, seed 1
 *         pcnn_train_opts opts = pcnn_train_opts_default();
 *         opts.batch = 8;
 *         TRY(pcnn_trainer_create(&t, m, &data, &opts));
 *         TRY(pcnn_trainer_init(ctx, t));          // init 0: data init
 *         pcnn_step_stats st;                      // the last step's
 *         TRY(pcnn_trainer_run(ctx, t, 100, 0, NULL, &st));
 *         printf("step 100: %.3f bits/dim on the batch\n", st.bpd);
 *
 *         // weights, EMA, optimizer and data position, written atomically
 *         TRY(pcnn_checkpoint_save(path, m, t));
 *         TRY(pcnn_chain_load(path, 1, &loaded));  // the one loader
 *         pcnn_eval_opts eo = pcnn_eval_opts_default();
 *         eo.batch = 16;
 *         pcnn_chain_eval r;
 *         TRY(pcnn_chain_evaluate(ctx, loaded, &data, &eo, &r));
 *         *bpd = r.total;
 *         printf("loaded: %.3f +- %.3f bits/dim\n", r.total, r.total_se);
 *
 *         pcnn_model_sample_opts so = pcnn_model_sample_opts_default();
 *         so.seed = 7;                             // same seed, same images
 *         TRY(pcnn_chain_sample(ctx, loaded, 4, &so, &out));
 *     done:
 *         if (s != PCNN_OK)
 *             fprintf(stderr, "error: %s\n", pcnn_last_error());
 *         pcnn_chain_free(loaded);
 *         pcnn_trainer_free(t);
 *         pcnn_model_free(m);
 *         pcnn_dataset_free(&data);
 *         pcnn_ctx_free(ctx);
 *         return s == PCNN_OK ? 0 : 1;
 *     }
 *
 * Conventions
 * - Names: functions and types start with pcnn_, macros and enum values
 *   with PCNN_.
 * - Tensors are float32, dense, row-major, NCHW with the batch first.
 *   Convolution weights use PyTorch's layouts: conv (Co, Ci, kh, kw),
 *   transposed conv (Ci, Co, kh, kw). Images are uint8 (B, C, H, W). A
 *   comment gives each pointer's shape once, e.g. x (B, C, H, W).
 * - Ownership: a pcnn_tensor or pcnn_image only describes memory; the
 *   caller owns the buffer. An object made by a *_create or *_load is
 *   released by the matching *_free, which accepts NULL; a pcnn_dataset
 *   filled by the library owns its arrays until pcnn_dataset_free. An
 *   object that borrows another (a trainer its model and data) says so,
 *   and the borrowed one must outlive it.
 * - Backward functions ACCUMULATE into gradients (d* += ...). Zero them
 *   yourself. A gradient tensor whose data is NULL is skipped.
 *   Gradients are of a scalar loss L: dX means dL/dX.
 * - Losses are in bits per dimension (pcnn_head_log_prob: nats).
 * - Every function that can fail returns a pcnn_status; on failure
 *   pcnn_last_error() gives a one-line message (per thread). Arguments
 *   are checked at this boundary (shapes, values, files). The library
 *   never prints and never exits.
 * - Threading: a context runs its kernels on its own thread count (OpenMP
 *   and the BLAS). Use one context per calling thread, and a model,
 *   trainer or chain from one thread at a time.
 * - Random numbers are counter-based, a function of (seed, index):
 *   results are deterministic for a given machine, thread count and seed.
 */
#ifndef PIXELCNN_H
#define PIXELCNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PCNN_VERSION "0.1.0"

/* Marks the library's API: the shared library is built with
 * -fvisibility=hidden, so these declarations are all it exports. */
#ifndef PCNN_API
#if defined(__GNUC__) || defined(__clang__)
#define PCNN_API __attribute__((visibility("default")))
#else
#define PCNN_API
#endif
#endif

/* ---------------------------------------------------------------- status */

typedef enum {
    PCNN_OK = 0,
    PCNN_ERR_ARG,         /* a bad argument: NULL pointer, bad option */
    PCNN_ERR_SHAPE,       /* tensor shapes do not fit together */
    PCNN_ERR_VALUE,       /* a value out of range: pixel > levels, NaN, ... */
    PCNN_ERR_NOMEM,       /* an allocation failed or a size overflowed */
    PCNN_ERR_IO,          /* a file could not be read or written */
    PCNN_ERR_FORMAT,      /* a file is malformed or truncated */
    PCNN_ERR_UNSUPPORTED, /* valid, but not implemented by this backend */
    PCNN_ERR_CANCELLED    /* a progress callback asked a job to stop */
} pcnn_status;

/* The fixed name of a status, e.g. "shape mismatch". */
PCNN_API const char *pcnn_status_str(pcnn_status s);

/* The message of the last failure on this thread ("" if none). */
PCNN_API const char *pcnn_last_error(void);

/* ------------------------------------------------------------- progress
 *
 * Long jobs (training, evaluation, sampling, colorizing) report progress
 * through one callback, so a command-line bar and a notebook's bar are the
 * same hook. The callback runs on the calling thread or, while sampling,
 * on one of the context's threads (never two at once); a nonzero return
 * stops the job: it finishes the unit in flight (a training step, a
 * batch, a row), cleans up and returns PCNN_ERR_CANCELLED.
 */
typedef struct {
    const char *job;     /* "train", "eval", "sample", "colorize" */
    int64_t done, total; /* units done of total (steps, images, rows);
                          * total 0 when open-ended */
    double value;        /* the job's running figure: the last training
                          * step's bits/dim, eval's mean bits/dim so far;
                          * NAN when none */
} pcnn_progress_info;
/* Return nonzero to stop the job. */
typedef int (*pcnn_progress_fn)(void *arg, const pcnn_progress_info *info);
typedef struct {
    pcnn_progress_fn fn; /* NULL: no reports */
    void *arg;
} pcnn_progress;

/* --------------------------------------------------------------- context */

typedef enum { PCNN_BACKEND_CPU = 0 } pcnn_backend_kind;

/* The arithmetic of the GEMMs under the convolutions (training forward
 * and backward, evaluation, sampling). PCNN_COMPUTE_BF16 rounds their
 * inputs to bf16 (nearest even) as they are packed and sums the products
 * in fp32 (AVX512_BF16's vdpbf16ps); weights, gradients, the optimizer
 * and every other op stay fp32. It needs an AVX-512 build (not NATIVE=0)
 * on a CPU with AVX512_BF16: pcnn_ctx_set_compute fails with
 * PCNN_ERR_UNSUPPORTED otherwise, it never falls back. docs/speed.md. */
typedef enum {
    PCNN_COMPUTE_F32 = 0, /* the default */
    PCNN_COMPUTE_BF16 = 1
} pcnn_compute;

typedef struct {
    pcnn_backend_kind backend; /* only PCNN_BACKEND_CPU for now */
    int threads;               /* <= 0: OMP_NUM_THREADS or all cores */
} pcnn_ctx_opts;

typedef struct pcnn_ctx pcnn_ctx;

/* Makes a context; opts may be NULL for the defaults. Free with
 * pcnn_ctx_free. The context owns a workspace that grows to the largest
 * size any op has needed, so steady-state calls do not allocate. */
PCNN_API pcnn_status pcnn_ctx_create(pcnn_ctx **out,
                                     const pcnn_ctx_opts *opts);
PCNN_API void pcnn_ctx_free(pcnn_ctx *ctx);
PCNN_API int pcnn_ctx_threads(const pcnn_ctx *ctx);
/* Sets the compute of the ops run on ctx from now on (a new context has
 * PCNN_COMPUTE_F32). PCNN_ERR_UNSUPPORTED, ctx unchanged, when this build
 * or CPU cannot run it. */
PCNN_API pcnn_status pcnn_ctx_set_compute(pcnn_ctx *ctx, pcnn_compute c);
/* The context's compute (PCNN_COMPUTE_F32 for NULL). */
PCNN_API pcnn_compute pcnn_ctx_compute(const pcnn_ctx *ctx);
/* A one-line description: backend, threads, BLAS and its kernel set. */
PCNN_API const char *pcnn_ctx_describe(const pcnn_ctx *ctx);

/* --------------------------------------------------------------- tensors */

#define PCNN_MAX_DIMS 4

typedef struct {
    float *data;
    int ndim;
    int64_t dim[PCNN_MAX_DIMS];
} pcnn_tensor;

typedef struct {
    uint8_t *data;
    int64_t n, c, h, w;
} pcnn_image;

PCNN_API pcnn_tensor pcnn_t1(float *data, int64_t d0);
PCNN_API pcnn_tensor pcnn_t2(float *data, int64_t d0, int64_t d1);
PCNN_API pcnn_tensor pcnn_t4(float *data, int64_t n, int64_t c, int64_t h,
                             int64_t w);
PCNN_API pcnn_image pcnn_img(uint8_t *data, int64_t n, int64_t c, int64_t h,
                             int64_t w);
/* The absent tensor: pass it for "no bias" or "skip this gradient". */
PCNN_API pcnn_tensor pcnn_none(void);
PCNN_API int64_t pcnn_numel(pcnn_tensor t);

/* ------------------------------------------------------- convolutions
 *
 * y[b,o,i,j] = bias[o] + sum_{c,p,q} w[o,c,p,q] * xpad[b,c, i*s+p, j*s+q]
 * where xpad is x padded with zeros: pad_top rows above, pad_bottom below,
 * pad_left columns on the left and pad_right on the right. The output is
 *   Ho = (H + pad_top + pad_bottom - kh) / s + 1   (same for Wo),
 * and y must have exactly that size (with a dilation d, kh and kw count as
 * (kh-1)*d + 1 and (kw-1)*d + 1). PixelCNN++'s causal convs are
 * padding choices (pcnn_conv_geom_shifted):
 *   PCNN_DOWN:       pad kh-1 on top, (kw-1)/2 left and (kw-1)/2 right;
 *   PCNN_DOWN_RIGHT: pad kh-1 on top, kw-1 on the left.
 * With stride s they give ceil(H/s) x ceil(W/s) outputs.
 */
typedef enum { PCNN_DOWN = 0, PCNN_DOWN_RIGHT = 1 } pcnn_shift_kind;

typedef struct {
    int kh, kw, stride;
    /* conv: zero padding; transposed conv: rows/columns cropped */
    int pad_top, pad_bottom, pad_left, pad_right;
    /* convs only: taps `dilation` apart, xpad[b,c, i*s + p*dilation,
     * j*s + q*dilation], the kernel spanning (kh-1)*dilation + 1 rows;
     * 0 or 1: none (Yu & Koltun 2016). Transposed convs take 0 or 1. */
    int dilation;
} pcnn_conv_geom;

PCNN_API pcnn_conv_geom pcnn_conv_geom_shifted(pcnn_shift_kind kind, int kh,
                                               int kw, int stride);
/* The output size of a conv with geometry g on an H x W input. */
PCNN_API void pcnn_conv_out_size(const pcnn_conv_geom *g, int64_t h, int64_t w,
                                 int64_t *ho, int64_t *wo);

/* y (B,Co,Ho,Wo) = conv(x (B,Ci,H,W), w (Co,Ci,kh,kw)) + b (Co) [optional] */
PCNN_API pcnn_status pcnn_conv2d_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                         pcnn_tensor x, pcnn_tensor w,
                                         pcnn_tensor b,
                                         const pcnn_conv_geom *g);
/* dx (B,Ci,H,W), dw (Co,Ci,kh,kw), db (Co) += from dy (B,Co,Ho,Wo). */
PCNN_API pcnn_status pcnn_conv2d_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                          pcnn_tensor dw, pcnn_tensor db,
                                          pcnn_tensor dy, pcnn_tensor x,
                                          pcnn_tensor w,
                                          const pcnn_conv_geom *g);

/* Transposed convolution, cropped:
 * y[b,o,i,j] = bias[o] + sum over c,m,n,p,q with m*s+p = i+crop_top and
 *              n*s+q = j+crop_left of x[b,c,m,n] * w[c,o,p,q],
 * the pad_* fields of the geometry being the crops. The output is
 *   Ho = (H - 1) * s + kh - crop_top - crop_bottom   (same for Wo);
 * a crop_bottom/right down to -(s-1) extends the output like PyTorch's
 * output_padding. The shifted versions (PixelCNN++'s
 * down_shifted_deconv2d / down_right_shifted_deconv2d: ConvTranspose2d
 * with output_padding s-1, then cropped) give (s*H, s*W) outputs:
 *   PCNN_DOWN:       crop top 0, bottom kh-s, left (kw-1)/2,
 *                    right kw-s-(kw-1)/2;
 *   PCNN_DOWN_RIGHT: crop top 0, bottom kh-s, left 0, right kw-s.
 * For the paper's 2x3 and 2x2 kernels at stride 2 the only nonzero crop
 * is the left 1 of the 2x3 kernel.
 * x (B,Ci,H,W), w (Ci,Co,kh,kw), b (Co) [optional], y (B,Co,Ho,Wo). */
PCNN_API pcnn_conv_geom pcnn_deconv_geom_shifted(pcnn_shift_kind kind, int kh,
                                                 int kw, int stride);
PCNN_API void pcnn_deconv_out_size(const pcnn_conv_geom *g, int64_t h,
                                   int64_t w, int64_t *ho, int64_t *wo);
PCNN_API pcnn_status pcnn_deconv2d_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                           pcnn_tensor x, pcnn_tensor w,
                                           pcnn_tensor b,
                                           const pcnn_conv_geom *g);
PCNN_API pcnn_status pcnn_deconv2d_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                            pcnn_tensor dw, pcnn_tensor db,
                                            pcnn_tensor dy, pcnn_tensor x,
                                            pcnn_tensor w,
                                            const pcnn_conv_geom *g);

/* Network-in-network (1x1 conv): y[b,o,p] = bias[o] + sum_c w[o,c] x[b,c,p].
 * x (B,Ci,H,W), w (Co,Ci), b (Co) [optional], y (B,Co,H,W). */
PCNN_API pcnn_status pcnn_nin_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                      pcnn_tensor x, pcnn_tensor w,
                                      pcnn_tensor b);
PCNN_API pcnn_status pcnn_nin_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                       pcnn_tensor dw, pcnn_tensor db,
                                       pcnn_tensor dy, pcnn_tensor x,
                                       pcnn_tensor w);

/* -------------------------------------------------- pointwise and shifts
 * All take 4-d tensors (B,C,H,W); y and x have the same shape unless said.
 */
/* y[:,:,0,:] = 0, y[:,:,i,:] = x[:,:,i-1,:] */
PCNN_API pcnn_status pcnn_down_shift_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                             pcnn_tensor x);
PCNN_API pcnn_status pcnn_down_shift_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                              pcnn_tensor dy);
/* y[...,0] = 0, y[...,j] = x[...,j-1] */
PCNN_API pcnn_status pcnn_right_shift_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                              pcnn_tensor x);
PCNN_API pcnn_status pcnn_right_shift_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                               pcnn_tensor dy);
/* elu(x) = x if x > 0 else exp(x) - 1. Backward uses x. */
PCNN_API pcnn_status pcnn_elu_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                      pcnn_tensor x);
PCNN_API pcnn_status pcnn_elu_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                       pcnn_tensor dy, pcnn_tensor x);
/* y (B,2C,H,W) = elu(concat(x, -x) along channels), x (B,C,H,W). */
PCNN_API pcnn_status pcnn_concat_elu_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                             pcnn_tensor x);
PCNN_API pcnn_status pcnn_concat_elu_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                              pcnn_tensor dy, pcnn_tensor x);
/* y (B,C,H,W) = a * sigmoid(b) where x (B,2C,H,W) = concat(a, b). */
PCNN_API pcnn_status pcnn_gate_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                       pcnn_tensor x);
PCNN_API pcnn_status pcnn_gate_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                        pcnn_tensor dy, pcnn_tensor x);
/* y = a + b (y may alias a or b); backward: da += dy, db += dy. */
PCNN_API pcnn_status pcnn_add_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                      pcnn_tensor a, pcnn_tensor b);
PCNN_API pcnn_status pcnn_add_backward(pcnn_ctx *ctx, pcnn_tensor da,
                                       pcnn_tensor db, pcnn_tensor dy);
/* Inverted dropout: y = x * keep / (1-p), keep = u(seed, index) >= p,
 * where u is the counter-based uniform of pcnn_uniform(). The mask is a
 * function of (seed, element index) only, so backward recomputes it and
 * results do not depend on the thread count. 0 <= p < 1. */
PCNN_API pcnn_status pcnn_dropout_forward(pcnn_ctx *ctx, pcnn_tensor y,
                                          pcnn_tensor x, float p,
                                          uint64_t seed);
PCNN_API pcnn_status pcnn_dropout_backward(pcnn_ctx *ctx, pcnn_tensor dx,
                                           pcnn_tensor dy, float p,
                                           uint64_t seed);

/* Counter-based uniform in [0,1): a pure function of (seed, index). */
PCNN_API double pcnn_uniform(uint64_t seed, uint64_t index);

/* ------------------------------------------------- weight normalization
 * w = g * v / ||v||, one norm and one g per output channel o
 * (Salimans & Kingma 2016). axis says where o sits in v:
 *   PCNN_WN_DIM0: v (Co, ...)       conv (Co,Ci,kh,kw), nin (Co,Ci)
 *   PCNN_WN_DIM1: v (Ci, Co, ...)   transposed conv (Ci,Co,kh,kw)
 * g (Co), w has v's shape.
 */
typedef enum { PCNN_WN_DIM0 = 0, PCNN_WN_DIM1 = 1 } pcnn_wn_axis;

PCNN_API pcnn_status pcnn_weightnorm_forward(pcnn_ctx *ctx, pcnn_tensor w,
                                             pcnn_tensor v, pcnn_tensor g,
                                             pcnn_wn_axis axis);
/* dv, dg += from dw. */
PCNN_API pcnn_status pcnn_weightnorm_backward(pcnn_ctx *ctx, pcnn_tensor dv,
                                              pcnn_tensor dg, pcnn_tensor dw,
                                              pcnn_tensor v, pcnn_tensor g,
                                              pcnn_wn_axis axis);
/* Data-dependent initialization: y (B,Co,H,W) is a layer's output computed
 * with g = 1 and b = 0. Sets g[o] = scale / sqrt(var_o + 1e-10) and
 * b[o] = -mean_o * g[o] (mean, var over B,H,W), and rewrites y to the
 * output the initialized layer gives: y = (y - mean_o) * g[o]. */
PCNN_API pcnn_status pcnn_weightnorm_data_init(pcnn_ctx *ctx, pcnn_tensor g,
                                               pcnn_tensor b, pcnn_tensor y,
                                               float scale);

/* ------------------------------------------------------ likelihood heads
 *
 * A head turns the network's output l (B, P, H, W) into a distribution over
 * the pixel values x (B, C, H, W), independently at each pixel.
 *
 * PCNN_HEAD_DMOL: discretized logistic mixture (PixelCNN++), 256 levels,
 *   C = 1, 2 or 3 channels, M = nr_mix components,
 *   P = M * (1 + 2C + C(C-1)/2). Channel blocks of M each, in order:
 *     logits; means of channels 0..C-1; log-scales of channels 0..C-1;
 *     coefficients for channel pairs (1|0), (2|0), (2|1).
 *   Channel c's mean in component k is  mean_c,k + sum_{j<c}
 *   tanh(coef_{c|j},k) * x_j  with x_j scaled to [-1,1] (x/127.5 - 1).
 *   Log-scales are clamped below at -7. Bins 0 and 255 extend to -inf/+inf.
 * PCNN_HEAD_CATEGORICAL: a softmax over `levels` values per channel;
 *   P = C * levels, channel c uses logits [c*levels, (c+1)*levels);
 *   channels are independent given l.
 */
typedef enum { PCNN_HEAD_DMOL = 0, PCNN_HEAD_CATEGORICAL = 1 } pcnn_head_kind;

typedef struct {
    pcnn_head_kind kind;
    int channels; /* C */
    int nr_mix;   /* DMOL: mixture components */
    int levels;   /* value count: 256 for DMOL, K for CATEGORICAL */
} pcnn_head;

PCNN_API pcnn_head pcnn_head_dmol(int channels, int nr_mix);
PCNN_API pcnn_head pcnn_head_categorical(int channels, int levels);
/* P, the number of channels of l; -1 if the head is invalid. */
PCNN_API int pcnn_head_params(const pcnn_head *h);

/* logp (B,1,H,W) = log p(x[b,:,i,j] | l[b,:,i,j]) in nats. */
PCNN_API pcnn_status pcnn_head_log_prob(pcnn_ctx *ctx, const pcnn_head *h,
                                        pcnn_tensor logp, pcnn_tensor l,
                                        pcnn_image x);
/* dl (B,P,H,W) += dlogp[b,0,i,j] * d logp[b,0,i,j] / d l[b,:,i,j]. */
PCNN_API pcnn_status pcnn_head_backward(pcnn_ctx *ctx, const pcnn_head *h,
                                        pcnn_tensor dl, pcnn_tensor dlogp,
                                        pcnn_tensor l, pcnn_image x);

typedef struct {
    uint64_t seed;
    float log_scale_offset; /* DMOL: added to every log-scale; < 0 sharper */
    float temperature;      /* CATEGORICAL: logits / T; 1 = the model */
} pcnn_sample_opts;

/* Draws x (B,C,H,W) exactly from the head's discrete distribution at every
 * pixel (channels in order, each conditioned on the earlier ones). Draws
 * depend only on (seed, position), not on the thread count. */
PCNN_API pcnn_status pcnn_head_sample(pcnn_ctx *ctx, const pcnn_head *h,
                                      pcnn_image x, pcnn_tensor l,
                                      const pcnn_sample_opts *opts);

/* The exact probability of every value of channel c at every pixel,
 * given the values of channels 0..c-1 in x (channel c and later are not
 * read): probs (B, levels, H, W), summing to 1 over the values.
 * For DMOL it is the mixture's CDF difference at the bin edges, the
 * mixture weights updated by the earlier channels' likelihoods. */
PCNN_API pcnn_status pcnn_head_pmf(pcnn_ctx *ctx, const pcnn_head *h,
                                   pcnn_tensor probs, pcnn_tensor l,
                                   pcnn_image x, int c);

/* Draws channel c of x (B, C, H, W) at every pixel from its conditional
 * given channels 0..c-1 of x (as pcnn_head_pmf) restricted to the values
 * [lo, hi] (each (B, H, W), lo <= hi) and renormalized; exact (rejection
 * from the mixture for wide intervals, the inverse CDF of the interval's
 * bin masses for narrow ones). opts: the seed, and log_scale_offset added
 * to every log-scale (the earlier channels' likelihoods included: the
 * sharpened mixture's conditional); temperature is not used. Logistic
 * mixture head only. */
PCNN_API pcnn_status pcnn_head_sample_range(pcnn_ctx *ctx, const pcnn_head *h,
                                            pcnn_image x, pcnn_tensor l, int c,
                                            const uint8_t *lo,
                                            const uint8_t *hi,
                                            const pcnn_sample_opts *opts);
/* out (B, C, H, W): log P(lo <= x_c <= hi | x_0..x_{c-1}) at every pixel
 * and channel, the conditional of pcnn_head_pmf summed over [lo, hi]
 * (each lo <= x <= hi, else PCNN_ERR_VALUE). Logistic mixture head only.
 * Renormalizing each channel's conditional over an interval known to hold
 * it gives a proper distribution of higher likelihood: the chains'
 * tightened bound (docs/chains.md). */
PCNN_API pcnn_status pcnn_head_interval_log_mass(pcnn_ctx *ctx,
                                                 const pcnn_head *h,
                                                 pcnn_tensor out,
                                                 pcnn_tensor l, pcnn_image x,
                                                 pcnn_image lo, pcnn_image hi);

/* ---------------------------------------------------------------- views
 *
 * A view is a deterministic function of an 8-bit image (docs/chains.md):
 *   view(X) = gray4(half^halvings(X))  when gray4, else half^halvings(X);
 *   with lab (RGB images): half^halvings(the L8 plane, or the a8 and b8
 *   planes, of Lab8(X)) (Lab8: the color section below).
 * half: each 2x2 block's mean per channel, rounded half up:
 *   (a + b + c + d + 2) / 4 in integers (H and W must be even).
 * gray4: Y = 0.299 R + 0.587 G + 0.114 B, then floor(Y / 16), 16 levels:
 *   exactly (299 R + 587 G + 114 B) / 16000 in integers (truncating); a
 *   one-channel image is taken as Y itself: Y / 16.
 * The identity view {0, 0} is the image itself.
 */
typedef struct {
    int halvings; /* 0..6 */
    int gray4;    /* 1: the 4-bit grayscale of the result */
    int lab;      /* 0; PCNN_LAB_L: lightness (1 channel); PCNN_LAB_AB:
                   * chroma (2 channels); not with gray4 */
} pcnn_view;

#define PCNN_LAB_L 1
#define PCNN_LAB_AB 2

/* ---------------------------------------------------------------- models
 *
 * A PixelCNN++ network (docs/model.md): the causal ops above arranged as
 * the u and ul streams over nr_resolutions scales, with a DMOL head of
 * `channels` channels. Parameters are a table of named tensors in one flat
 * block (the checkpoint names of docs/model.md).
 *
 * Its config, pcnn_model_config, is a list of scalar fields declared once
 * in PCNN_MODEL_CONFIG_FIELDS, then the two views of a stage. Each entry
 *   X(type, name, lo, hi, old, flag, help)
 * is one field: its C type (int or float); its name, which is also its
 * checkpoint metadata key (docs/checkpoint.md); the values it may take,
 * lo..hi inclusive, which pcnn_model_create and the checkpoint reader
 * check; the value a file written before the key existed reads as, or
 * PCNN_CONFIG_REQUIRED for a key every file has; the `pixelcnn train`
 * flag that sets it ("" for none; a 0..1 field's flag takes no value);
 * and one line of help. The list is in the order of the struct and of
 * the file's keys.
 *
 * Two fields set how the layers are parameterized and initialized
 * (docs/training.md). plain 0 (PixelCNN++'s recipe): each layer's weight
 * is weight-normalized, w = g v / ||v|| per output channel, and the
 * optimizer steps v and g. plain 1: the optimizer steps w itself (held in
 * v, with g kept equal to ||v||, so w = g v / ||v|| = v and the file is
 * read the same way by every reader). init 0: v ~ N(0, 0.05^2), g = 1,
 * b = 0, then pcnn_model_data_init on the first batch (pcnn_trainer_init
 * runs it). init 1: PyTorch's default for its conv layers, v and b
 * uniform in +-1/sqrt(fan_in) (fan_in: the inputs of one output channel),
 * g = ||v||, and no data-dependent init. Files written before the keys
 * existed read as plain 0, init 0.
 *
 * Besides its range, a config must satisfy:
 * - height and width divisible by 2^(nr_resolutions-1) and by
 *   2^cond_down;
 * - head PCNN_HEAD_DMOL (nr_mix logistics) has levels 256;
 *   PCNN_HEAD_CATEGORICAL (a softmax over `levels` values per channel)
 *   any levels. Inputs are scaled to [-1, 1] as x * 2/(levels-1) - 1;
 * - a conditioning network (cond_nr_resnet > 0 or cond_down > 0) needs
 *   cond_nr_filters >= 1, and any conditioning network needs a condition
 *   map (cond_channels >= 1).
 * The conditioning network runs over the condition map before it enters
 * the gated resnets: a 3x3 conv to cond_nr_filters channels, then
 * cond_nr_resnet non-causal gated resnets (3x3 convs; docs/model.md). With
 * cond_down > 0 it is a small down-up stack: after its full-resolution
 * resnets, cond_down halvings (3x3 stride-2 convs), each followed by
 * cond_nr_resnet resnets, then as many 2x2 stride-2 transposed convs back
 * up, each added to the features saved at its resolution and followed by
 * cond_nr_resnet resnets. cond_dilate 1 dilates the full-resolution
 * resnets' 3x3 convs 1, 2, 4, ... (2^i for resnet i, at most 64) for a
 * wide context at full resolution. Without a conditioning network
 * (cond_nr_resnet = cond_nr_filters = 0) the map enters the gated resnets
 * as it is.
 */
#define PCNN_CONFIG_REQUIRED (-1)
#define PCNN_MODEL_CONFIG_FIELDS(X)                                           \
    X(int, channels, 1, 3, PCNN_CONFIG_REQUIRED, "",                          \
      "image channels: 1 (gray), 2 (Lab chroma) or 3")                        \
    X(int, height, 1, 4096, PCNN_CONFIG_REQUIRED, "", "image height")        \
    X(int, width, 1, 4096, PCNN_CONFIG_REQUIRED, "", "image width")          \
    X(int, nr_resnet, 1, 64, PCNN_CONFIG_REQUIRED, "--nr-resnet",             \
      "gated resnets per resolution")                                         \
    X(int, nr_filters, 1, 4096, PCNN_CONFIG_REQUIRED, "--nr-filters",         \
      "filters: the channels of the streams")                                 \
    X(int, nr_mix, 1, 1024, PCNN_CONFIG_REQUIRED, "--nr-mix",                 \
      "logistic components of the DMOL head")                                 \
    X(int, nr_resolutions, 1, 8, PCNN_CONFIG_REQUIRED, "--nr-resolutions",    \
      "scales of the U-net")                                                  \
    X(float, dropout, 0, 0.99, PCNN_CONFIG_REQUIRED, "--dropout",             \
      "dropout rate in every gated resnet (training only)")                   \
    X(int, num_classes, 0, 65536, PCNN_CONFIG_REQUIRED, "",                   \
      "> 0: class-conditional (labels in batches)")                           \
    X(int, cond_channels, 0, 4096, PCNN_CONFIG_REQUIRED, "",                  \
      "> 0: channels of a spatial condition map in batches")                  \
    X(int, head, 0, 1, PCNN_HEAD_DMOL, "",                                    \
      "the likelihood head: PCNN_HEAD_DMOL or PCNN_HEAD_CATEGORICAL")         \
    X(int, levels, 2, 256, 256, "", "values per channel")                     \
    X(int, cond_nr_resnet, 0, 64, 0, "--cond-nr-resnet",                      \
      "gated resnets of the conditioning network")                            \
    X(int, cond_nr_filters, 0, 4096, 0, "--cond-nr-filters",                  \
      "filters of the conditioning network")                                  \
    X(int, cond_down, 0, 8, 0, "--cond-down",                                 \
      "halvings of the conditioning network's down-up stack (0: flat)")       \
    X(int, cond_dilate, 0, 1, 0, "--cond-dilate",                             \
      "dilate the conditioning network's full-resolution resnets")           \
    X(int, plain, 0, 1, 0, "",                                                \
      "1: train the layer weights w = v directly (g kept at ||v||)")          \
    X(int, init, 0, 1, 0, "",                                                 \
      "0: data-dependent init; 1: PyTorch's default uniform init")

#define PCNN_CONFIG_STRUCT_FIELD_(type, name, lo, hi, old, flag, help)        \
    type name;
typedef struct {
    PCNN_MODEL_CONFIG_FIELDS(PCNN_CONFIG_STRUCT_FIELD_)
    /* as a stage of a chain: the view of the image the model models, and
     * the view it is conditioned on (when cond_channels > 0); a plain
     * model models the identity view. Their keys: view_halvings,
     * view_gray4, view_lab, cond_view_lab, cond_view_halvings,
     * cond_view_gray4. */
    pcnn_view view;
    pcnn_view cond_view;
} pcnn_model_config;

/* The paper's CIFAR-10 model: 3x32x32, (5, 160, 10), 3 scales, 0.5. */
PCNN_API pcnn_model_config pcnn_model_config_default(void);

typedef struct pcnn_model pcnn_model;

/* Makes a model with v ~ N(0, 0.05^2), g = 1, b = 0 (seeded; init 1:
 * the uniform init above); with init 0 run pcnn_model_data_init on a batch
 * before training. Free with pcnn_model_free. */
PCNN_API pcnn_status pcnn_model_create(pcnn_model **out,
                                       const pcnn_model_config *cfg,
                                       uint64_t seed);
PCNN_API void pcnn_model_free(pcnn_model *m);
PCNN_API const pcnn_model_config *pcnn_model_get_config(const pcnn_model *m);
PCNN_API pcnn_head pcnn_model_head(const pcnn_model *m);

/* The parameter table: count, names, tensors (views into the flat block,
 * owned by the model), their gradients, lookup by name (-1 if absent). */
PCNN_API int pcnn_model_param_count(const pcnn_model *m);
PCNN_API const char *pcnn_model_param_name(const pcnn_model *m, int i);
PCNN_API pcnn_tensor pcnn_model_param(const pcnn_model *m, int i);
PCNN_API pcnn_tensor pcnn_model_grad(const pcnn_model *m, int i);
PCNN_API int pcnn_model_find_param(const pcnn_model *m, const char *name);
/* The flat blocks of all parameters and gradients; *n = their length. */
PCNN_API float *pcnn_model_params(pcnn_model *m, size_t *n);
PCNN_API float *pcnn_model_grads(pcnn_model *m, size_t *n);

/* A batch: images (B, C, H, W); labels (B) when num_classes > 0; a
 * condition map cond (B, cond_channels, H, W) when cond_channels > 0. */
typedef struct {
    pcnn_image x;
    const int32_t *labels;
    pcnn_tensor cond;
} pcnn_batch;

/* The head's parameters l (B, P, H, W) for a batch (no dropout). */
PCNN_API pcnn_status pcnn_model_forward(pcnn_ctx *ctx, pcnn_model *m,
                                        const pcnn_batch *b, pcnn_tensor l);
/* Bits/dim of the batch: the mean in *mean_bpd, each image's in
 * image_bpd (B) when not NULL. train = 1: dropout on (seeded by `seed`),
 * and pcnn_model_backward may follow. PCNN_ERR_VALUE if a loss is not
 * finite. The first call at a new batch size plans the graph (allocates);
 * later calls at that size do not allocate. */
PCNN_API pcnn_status pcnn_model_loss(pcnn_ctx *ctx, pcnn_model *m,
                                     const pcnn_batch *b, int train,
                                     uint64_t seed, double *mean_bpd,
                                     double *image_bpd);
/* The gradient of the last training loss (mean bits/dim) with respect to
 * every parameter, written (not accumulated) into the gradient block. */
PCNN_API pcnn_status pcnn_model_backward(pcnn_ctx *ctx, pcnn_model *m);
/* Data-dependent initialization (Salimans & Kingma 2016) on one batch:
 * resets g = 1, b = 0, then sets each layer's g and b in forward order so
 * its outputs have mean 0 and standard deviation 1 (0.1 for conv_out).
 * With plain 1 the scales are folded into v (v = g v / ||v||, then
 * g = ||v||): the same layer outputs. */
PCNN_API pcnn_status pcnn_model_data_init(pcnn_ctx *ctx, pcnn_model *m,
                                          const pcnn_batch *b);

/* -------------------------------------------------------------- sampling
 *
 * pcnn_model_sample draws images pixel by pixel in raster order, each
 * pixel's channels from the head (pcnn_head_sample) given the pixels
 * before it. The default sampler is cached and incremental: every value of
 * every layer is computed once, at the first step where all the pixels it
 * depends on are known, and kept (docs/sampling.md), so drawing a batch
 * costs about one forward pass. naive = 1 runs the whole network once per
 * pixel instead: the reference the cached one is tested against. Both use
 * the same random numbers (pixel k of the batch draws with seed
 * hash(seed, k)): the same seed gives the same images.
 */
typedef struct {
    uint64_t seed;
    float log_scale_offset;  /* DMOL: added to every log-scale; < 0 sharper */
    float temperature;       /* categorical heads: logits / T */
    const int32_t *labels;   /* (B) for a class-conditional model */
    pcnn_tensor cond;        /* (B, cond_channels, H, W): a map-conditional
                              * model's condition map */
    /* (B, H, W) or NULL: nonzero keeps x's pixel there (completion). Known
     * pixels condition only the pixels after them in raster order. */
    const uint8_t *known;
    int naive;               /* 1: the reference sampler */
    /* optional out (B, P, H, W): the head parameters each pixel was drawn
     * from */
    pcnn_tensor params;
    /* optional: called after each row, job "sample", done/total in rows
     * (of all stages for a chain); nonzero stops with
     * PCNN_ERR_CANCELLED, the images partly drawn */
    pcnn_progress progress;
    /* optional (B, C, H/2, W/2): the half view the images must have. Each
     * subpixel is drawn from its conditional renormalized over the values
     * that its parent and the children of its 2x2 block drawn before it
     * allow (pcnn_half_bounds), so half(x) = parent exactly: a pyramid
     * stage's tightened distribution. For a model whose config says it
     * models half^h(X) given gray4(half^h(X)), the gray4 view instead
     * (B, 1, H, W): each subpixel within what its pixel's gray level and
     * earlier channels allow (pcnn_gray4_bounds), so gray4(x) = parent.
     * Not with log_scale_offset or a temperature other than 1. */
    const uint8_t *parent;
    /* chains (pcnn_chain_sample): 1 draws each tightened stage
     * consistent with the stage below (parent above); 0: freely */
    int consistent;
} pcnn_model_sample_opts;

/* Defaults: seed 0, offset 0, temperature 1, nothing else. */
PCNN_API pcnn_model_sample_opts pcnn_model_sample_opts_default(void);

/* Fills x (B, C, H, W) with samples; with opts->known, the known pixels
 * of x are kept and the others drawn. The random numbers of image b do
 * not depend on the batch size. */
PCNN_API pcnn_status pcnn_model_sample(pcnn_ctx *ctx, pcnn_model *m,
                                       pcnn_image x,
                                       const pcnn_model_sample_opts *opts);
/* The cached sampler's plan for m at batch size `batch` (either out may
 * be NULL): its steps, H*W when every output sees the whole image above
 * it, fewer when the receptive field is small enough that the pixels
 * (i, j) with equal a*i + j, a < W, can be drawn together; and the bytes
 * of its layer caches, each value keeping a window of the rows still to
 * be read (docs/sampling.md). */
PCNN_API pcnn_status pcnn_model_sample_plan(pcnn_model *m, int64_t batch,
                                            int64_t *steps,
                                            size_t *cache_bytes);

/* --------------------------------------------------------- color (Lab)
 *
 * CIE Lab for colorization (docs/color.md). sRGB is IEC 61966-2-1 (D65):
 * 8-bit values decoded to linear light, the standard's 4-digit matrix to
 * XYZ, CIE 1976 L*a*b* relative to the white the matrix gives (1, 1, 1):
 * Xn, Yn, Zn = 0.9505, 1.0000, 1.0890, so every gray R = G = B has
 * a = b = 0 up to rounding (|a|, |b| < 1e-12). Maths in double.
 * Lab8, the 8-bit form: L8 = round(L * 255/100), a8 = round(a) + 128,
 * b8 = round(b) + 128 (round half up, clamped to 0..255), planes L8, a8,
 * b8 like R, G, B; back: L = L8 * 100/255, a = a8 - 128, b = b8 - 128.
 * The clamp never acts on an sRGB color's a8 or b8; sRGB -> Lab8 -> sRGB
 * loses a few levels, most in a dark channel next to bright ones
 * (docs/color.md gives the gamut and the round-trip errors over all 2^24
 * colors, which tests/test_color.c asserts).
 */
/* One 8-bit sRGB color -> Lab (L in [0, 100]); exact inverse of the next
 * within double rounding: lab_to_srgb(srgb_to_lab(c)) == c for all 2^24. */
PCNN_API void pcnn_srgb_to_lab(const uint8_t rgb[3], double lab[3]);
/* Lab -> 8-bit sRGB: linear values clamped to [0, 1] (out-of-gamut Lab
 * comes back clipped), encoded, rounded half up. */
PCNN_API void pcnn_lab_to_srgb(const double lab[3], uint8_t rgb[3]);
/* rgb (B, 3, H, W) -> lab (B, 3, H, W) in Lab8 (planes L8, a8, b8).
 * PCNN_ERR_ARG for NULL or an empty batch, PCNN_ERR_SHAPE unless C = 3. */
PCNN_API pcnn_status pcnn_rgb_to_lab8(pcnn_image rgb, uint8_t *lab);
/* lab (B, 3, H, W) in Lab8 -> rgb, the output, whose shape (B, 3, H, W)
 * it takes; errors as pcnn_rgb_to_lab8. */
PCNN_API pcnn_status pcnn_lab8_to_rgb(const uint8_t *lab, pcnn_image rgb);
/* PSNR in dB between a and b (n bytes each, peak 255):
 * 10 log10(255^2 / MSE); +INFINITY when equal; NaN (and a message in
 * pcnn_last_error()) when a or b is NULL or n = 0. */
PCNN_API double pcnn_psnr(const uint8_t *a, const uint8_t *b, size_t n);
/* Colorfulness of one RGB image rgb (3, H, W), Hasler & Suesstrunk
 * (2003): rg = R - G, yb = (R + G)/2 - B over the pixels,
 * M = sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2) with
 * population standard deviations; 0 for a gray image. NaN (and a
 * message) when rgb is NULL or h, w < 1. */
PCNN_API double pcnn_colorfulness(const uint8_t *rgb, int64_t h, int64_t w);

/* ------------------------------------------------------------ data sets
 *
 * Image data sets in memory: CIFAR-10 (binary version), IDX (MNIST,
 * Fashion-MNIST; plain or gzip) and folders of image files (docs/data.md).
 * Images are uint8 (n, c, h, w) like pcnn_image; a loaded set owns its
 * arrays (pcnn_dataset_free). Loaders trust nothing in a file: a failure
 * is PCNN_ERR_IO or PCNN_ERR_FORMAT with a message naming the file, and
 * leaves *out zeroed. pcnn_dataset_load_folder must not run on two threads
 * at once (stb_image keeps its failure reason in a global).
 */
typedef struct {
    uint8_t *images;  /* (n, c, h, w), owned */
    int32_t *labels;  /* (n) in [0, num_classes), owned; NULL if unlabeled */
    int64_t n, c, h, w;
    int num_classes;  /* 0 when labels is NULL */
    /* stages of a chain: each item's condition image (the previous
     * stage's view), (n, cond_c, cond_h, cond_w), values in
     * 0..cond_levels-1; owned; NULL when there is none */
    uint8_t *cond;
    int64_t cond_c, cond_h, cond_w;
    int cond_levels;
} pcnn_dataset;

/* A data set of copies of images (n, c, h, w), values 0..255, and, when
 * labels is not NULL, of labels (n), each in [0, num_classes) (else
 * PCNN_ERR_VALUE); num_classes is 0 without labels. Every dim >= 1. The
 * caller keeps its arrays; free out with pcnn_dataset_free. */
PCNN_API pcnn_status pcnn_dataset_from_memory(const uint8_t *images,
                                              int64_t n, int64_t c,
                                              int64_t h, int64_t w,
                                              const int32_t *labels,
                                              int num_classes,
                                              pcnn_dataset *out);

/* CIFAR-10, binary version: records of 3073 bytes, 1 label byte (0-9) then
 * 1024 R, 1024 G, 1024 B bytes, each plane row-major 32x32.
 * path is a directory or a single .bin file. For a directory, split
 * "train" loads each of data_batch_1.bin .. data_batch_5.bin that exists,
 * in that order (at least one must), and "test" loads test_batch.bin; for
 * a file, split is ignored (may be NULL).
 * out: images (n, 3, 32, 32), labels (n), num_classes 10. */
PCNN_API pcnn_status pcnn_dataset_load_cifar10(const char *path,
                                               const char *split,
                                               pcnn_dataset *out);

/* IDX files (MNIST, Fashion-MNIST), each plain or gzip-compressed (told
 * apart by the gzip magic 1f 8b). images_path: unsigned-byte data with 3
 * dims (n, rows, cols), magic 00 00 08 03. labels_path: NULL, or
 * unsigned-byte data with 1 dim (n), magic 00 00 08 01, with the same n.
 * out: images (n, 1, rows, cols); labels (n) or NULL; num_classes = the
 * largest label + 1 (at most 256), or 0 without labels. */
PCNN_API pcnn_status pcnn_dataset_load_idx(const char *images_path,
                                           const char *labels_path,
                                           pcnn_dataset *out);

/* Every *.png, *.jpg, *.jpeg, *.pgm, *.ppm and *.bmp (case-insensitive)
 * regular file directly in dir (not in subfolders; names starting with '.'
 * skipped, as a shell glob does), in strcmp order of their names, decoded
 * by stb_image. Each image is converted to `channels` (1: gray =
 * round(0.299 R + 0.587 G + 0.114 B); 3: RGB, gray replicated; alpha is
 * dropped), center-cropped to a square of side min(h, w) and resized to
 * size x size by area averaging (docs/data.md). A file that does not
 * decode is an error naming it; so is a folder with no such file.
 * out: images (n, channels, size, size), labels NULL, num_classes 0. */
PCNN_API pcnn_status pcnn_dataset_load_folder(const char *dir, int channels,
                                              int size, pcnn_dataset *out);

/* One image file, decoded, converted, cropped and resized as
 * pcnn_dataset_load_folder does: out holds 1 image. */
PCNN_API pcnn_status pcnn_dataset_load_image(const char *path, int channels,
                                             int size, pcnn_dataset *out);

/* Augmentation by crops: out = k images of side `size` per image of d
 * (square images, no condition images yet), item i*k+j from image i.
 * Crop j = 0 is the whole image; each other one is a square of side
 * s in [ceil(min_frac * S), S] at a random position, s and the position
 * drawn from seed, i and j. Each is resized to size x size by area
 * averaging as pcnn_dataset_load_folder does; labels are kept. Load the
 * images larger than size (e.g. twice) so crops keep their detail. */
PCNN_API pcnn_status pcnn_dataset_crops(const pcnn_dataset *d, int size, int k,
                                        double min_frac, uint64_t seed,
                                        pcnn_dataset *out);

/* One image file at its own size, converted to `channels` as
 * pcnn_dataset_load_folder does but not cropped or resized: out holds 1
 * image (1, channels, h, w). */
PCNN_API pcnn_status pcnn_image_load(const char *path, int channels,
                                     pcnn_dataset *out);
/* dst (H, W) = the plane src (h, w) resized by area averaging (each output
 * pixel the overlap-weighted mean of the source pixels under it, rounded
 * half up; docs/data.md), any sizes up to 65536. */
PCNN_API pcnn_status pcnn_resize_area(const uint8_t *src, int64_t h, int64_t w,
                                      uint8_t *dst, int64_t H, int64_t W);

/* Releases d's arrays and zeroes it. Safe on a zeroed struct and on NULL. */
PCNN_API void pcnn_dataset_free(pcnn_dataset *d);

/* out = a copy of the items [start, start + count) of d, labels included;
 * 0 <= start, 1 <= count, start + count <= d->n. out may be d itself (d is
 * then replaced, and freed, only on success). Free out with
 * pcnn_dataset_free. */
PCNN_API pcnn_status pcnn_dataset_subset(const pcnn_dataset *d, int64_t start,
                                         int64_t count, pcnn_dataset *out);

/* A 64-bit fingerprint of d's contents: its shape, images, labels and
 * condition images (one pass over the bytes). Equal data sets have equal
 * fingerprints; different ones differ but for a 2^-64 chance. Never 0. A
 * checkpoint records the fingerprint of the data it was trained on
 * (docs/checkpoint.md). */
PCNN_API uint64_t pcnn_dataset_fingerprint(const pcnn_dataset *d);

/* perm (n) = a uniformly random permutation of 0 .. n-1 that is a pure
 * function of (seed, epoch, n): Fisher-Yates (Durstenfeld) from the last
 * position down, position i swapped with j uniform in [0, i], the j drawn
 * from pcnn_hash64(pcnn_hash64(seed, epoch), k), k = 0, 1, 2, ... by
 * unbiased rejection (docs/data.md). Writes nothing when n <= 0. */
PCNN_API void pcnn_shuffle(uint64_t seed, uint64_t epoch, int64_t n,
                           int64_t *perm);

/* Copies the items idx[0 .. count) of d into a batch:
 * images (count, c, h, w); labels (count) or NULL to skip them (d must
 * have labels when labels is not NULL). Every index is checked to lie in
 * [0, d->n) before anything is written (PCNN_ERR_VALUE otherwise). */
PCNN_API pcnn_status pcnn_dataset_gather(const pcnn_dataset *d,
                                         const int64_t *idx, int64_t count,
                                         uint8_t *images, int32_t *labels);

/* The condition images of the items idx[0 .. count) into cond
 * (count, cond_c, cond_h, cond_w); d must have them. */
PCNN_API pcnn_status pcnn_dataset_gather_cond(const pcnn_dataset *d,
                                              const int64_t *idx,
                                              int64_t count, uint8_t *cond);


/* The shape and value count of view(X) for X of c x h x w; PCNN_ERR_ARG
 * if h or w is not divisible by 2^halvings. */
PCNN_API pcnn_status pcnn_view_shape(const pcnn_view *v, int64_t c, int64_t h,
                                     int64_t w, int64_t *vc, int64_t *vh,
                                     int64_t *vw, int *levels);
/* out (n, vc, vh, vw) = view(x) for every image of x. */
PCNN_API pcnn_status pcnn_view_apply(const pcnn_view *v, pcnn_image x,
                                     uint8_t *out);
/* "x", "gray4(x)", "half(half(x))", ... into buf. */
PCNN_API const char *pcnn_view_str(const pcnn_view *v, char *buf, size_t n);
/* A stage's data set from images X: images view(X), labels copied, and
 * when cond is not NULL the condition images cond_view(X). */
PCNN_API pcnn_status pcnn_stage_dataset(const pcnn_dataset *x,
                                        const pcnn_view *view,
                                        const pcnn_view *cond_view,
                                        pcnn_dataset *out);
/* The condition map of a model from condition images cond (B, Cc, h, w)
 * with `levels` values: scaled to [-1, 1] as v * 2/(levels-1) - 1 and
 * repeated (nearest neighbour) up to map's (B, Cc, H, W) when H/h and W/w
 * are whole; or, for images f = h/H = w/W times larger than the map,
 * space to depth: map (B, Cc f^2, H, W), channel (c f + dy) f + dx at
 * (i, j) holding cond[c, i f + dy, j f + dx] (a colorizer's full-
 * resolution lightness at its half-resolution chroma). */
PCNN_API pcnn_status pcnn_cond_map(pcnn_tensor map, const uint8_t *cond,
                                   int64_t h, int64_t w, int levels);

/* A stage's config from its views: fills the fields of *cfg that follow
 * from the view it models and cond_view, the view it is conditioned on
 * (NULL: none), on images X of c x h x w: channels, height and width
 * (pcnn_view_shape), head and levels (a categorical head of 16 levels for
 * a gray4 view, else the logistic mixture of 256), cond_channels (the
 * condition view's channels, times f^2 when its images are f times the
 * stage's size: space to depth, e.g. a full-resolution lightness under a
 * half-resolution chroma), view and cond_view. Without a condition the
 * conditioning network's fields are zeroed; with one, cond_nr_filters 0
 * becomes nr_filters. The architecture (nr_resnet, nr_filters, nr_mix,
 * nr_resolutions, dropout, num_classes, cond_nr_resnet, cond_down,
 * cond_dilate) stays as the caller set it. PCNN_ERR_ARG for views that do
 * not fit X or each other. */
PCNN_API pcnn_status pcnn_stage_config(pcnn_model_config *cfg,
                                       const pcnn_view *view,
                                       const pcnn_view *cond_view, int64_t c,
                                       int64_t h, int64_t w);

/* --------------------------------------------------------------- chains
 *
 * A chain of stages (docs/chains.md): stage i models view_i(X) given
 * view_{i-1}(X) (its condition map), and when stage 0 is unconditioned
 * and the last stage models X itself,
 *     log p(X) >= sum_i log p(view_i(X) | view_{i-1}(X)):
 * the model's p(X) sums p(X^) p(X | X^) over every X^, and the chain's
 * terms are the one X^ = f(X). The summed bits/dim are an upper bound on
 * -log2 p(X) (docs/chains.md). The chain is the one model handle: a plain
 * PixelCNN++ is a chain of one stage, and so is a stage's checkpoint.
 * A chain may be partial: its last view need not be the identity (it
 * then models view_last(X)) and stage 0 may be conditioned (on
 * cond_view_0(X), read from X). It evaluates the same way (the terms it
 * has, per dim of X and of each stage); it samples only from an
 * unconditioned stage 0.
 */
#define PCNN_MAX_STAGES 8

/* How a weights-only file (pcnn_model_save, pcnn_chain_save_as) stores
 * the parameters: float32, or in half the bytes as IEEE binary16 (11
 * significant bits, |x| <= 65504) or bfloat16 (8 significant bits, float32's
 * range), rounded to nearest even. Loading converts back to float32; a
 * training checkpoint is always float32 (docs/checkpoint.md, "Storage"). */
typedef enum {
    PCNN_STORAGE_F32 = 0,
    PCNN_STORAGE_F16 = 1,
    PCNN_STORAGE_BF16 = 2
} pcnn_storage;

typedef struct pcnn_chain pcnn_chain;

/* A chain of the models stages[0 .. n), which it takes over (freed with
 * the chain, also on failure). Checks that the stages fit: stage i > 0 is
 * conditioned on stage i-1's view; stage 0's condition, if any, fits its
 * view of X; every stage's size is its view of X, whose size the last
 * stage gives (pcnn_chain_image_shape). */
PCNN_API pcnn_status pcnn_chain_create(pcnn_chain **out, pcnn_model **stages,
                                       int n);
PCNN_API void pcnn_chain_free(pcnn_chain *c);
PCNN_API int pcnn_chain_stages(const pcnn_chain *c);
PCNN_API pcnn_model *pcnn_chain_stage(const pcnn_chain *c, int i);
/* The shape of the images X the chain's views are taken of: the last
 * stage's size times 2^halvings; channels from the views (a view without
 * gray4 or Lab keeps them, a Lab view needs 3), or 0 when no view fixes
 * them (a gray4 view alone reads 1- or 3-channel images). Zeros for a
 * NULL chain. */
PCNN_API void pcnn_chain_image_shape(const pcnn_chain *c, int64_t *ch,
                                     int64_t *h, int64_t *w);
/* 1 when the chain models X itself: the last view is the identity and
 * stage 0 is unconditioned; else 0 (also for NULL). */
PCNN_API int pcnn_chain_is_complete(const pcnn_chain *c);
/* Writes the chain's configs and weights into one safetensors file,
 * atomically (docs/checkpoint.md), the weights as float32. */
PCNN_API pcnn_status pcnn_chain_save(const char *path, const pcnn_chain *c);
/* pcnn_chain_save with the weights stored as st (pcnn_storage). */
PCNN_API pcnn_status pcnn_chain_save_as(const char *path, const pcnn_chain *c,
                                        pcnn_storage st);
/* The one loader: a chain file, or a model checkpoint (a plain model or
 * one stage) as a chain of one stage (ema: its EMA weights), told apart by
 * the file's metadata. A chain file holds one set of weights: ema = 1 is
 * an error for it. */
PCNN_API pcnn_status pcnn_chain_load(const char *path, int ema,
                                     pcnn_chain **out);

/* What pcnn_chain_evaluate measures, averaged over images, in bits per
 * dim of X unless said otherwise. */
typedef struct {
    double stage[PCNN_MAX_STAGES]; /* -log2 p(view_i(X) | view_{i-1}(X)) */
    double own[PCNN_MAX_STAGES];   /* the same per dim of the stage */
    double total, total_se;        /* their sum; its standard error over
                                    * images */
    /* The tightened chain: a stage that models half^h(X) given
     * half^(h+1)(X) renormalizes each subpixel's conditional over the
     * values its parent and its earlier siblings allow (the four children
     * average to the parent, docs/chains.md), one that models half^h(X)
     * given gray4(half^h(X)) over the values its pixel's gray level and
     * earlier channels allow; other stages as above. */
    double tight_stage[PCNN_MAX_STAGES], tight_own[PCNN_MAX_STAGES];
    double tight_total, tight_se;
    int tightened;                 /* how many stages were tightened */
    int64_t images;                /* images evaluated */
    int64_t dims_x;                /* dims of one image X */
    int64_t dims[PCNN_MAX_STAGES]; /* dims of stage i's view */
} pcnn_chain_eval;

typedef struct {
    int batch;          /* images per forward pass, 1..65536; default 100 */
    int64_t limit;      /* the first `limit` images; <= 0 (default): all */
    double *image_bits; /* optional (images evaluated): each image's
                         * bound, the sum of its stage terms, in bits per
                         * dim of X; their mean is total */
    pcnn_progress progress; /* job "eval", done/total in images, value the
                             * mean bits/dim of X so far; after each batch */
} pcnn_eval_opts;

PCNN_API pcnn_eval_opts pcnn_eval_opts_default(void);

/* Evaluates the chain on raw images x: X of pcnn_chain_image_shape, with
 * labels when a stage is class-conditional (x's condition images, if
 * any, are not read). Each stage's images and condition map are taken
 * from X inside, batch by batch, and its bits scaled per dim of X and of
 * the stage. o may be NULL for the defaults. */
PCNN_API pcnn_status pcnn_chain_evaluate(pcnn_ctx *ctx, pcnn_chain *c,
                                         const pcnn_dataset *x,
                                         const pcnn_eval_opts *o,
                                         pcnn_chain_eval *r);
/* Scores (docs/score.md): what pcnn_chain_score writes besides the
 * evaluation, each array optional (NULL: not written), for the n images
 * evaluated (o->limit as pcnn_chain_evaluate), stages in chain order. */
typedef struct {
    /* (n, stages): stage i's term of image k, -log2 p(view_i | view_i-1),
     * in bits per dim of X; an image's terms sum to its image_bits */
    double *bits;
    /* (n, stages): the same, tightened (pcnn_chain_stage_tightens); a
     * stage that is not tightened gives its plain term */
    double *tight_bits;
    /* (n, h_i, w_i) for stage i < stages (h_i x w_i: its view's size):
     * the bits at each position of the view, -log2 of the probability of
     * the pixel's channels given the pixels before it, summed over the
     * channels; image k's map sums to its term times the dims of X. Maps
     * of stages the chain does not have must be NULL (PCNN_ERR_ARG) */
    double *map[PCNN_MAX_STAGES];
    /* (n, h_i, w_i): the same with a tightened stage's conditionals
     * renormalized over the values its condition allows (the plain map
     * for a stage that is not tightened) */
    double *tight_map[PCNN_MAX_STAGES];
} pcnn_chain_scores;

/* pcnn_chain_evaluate (r may be NULL) that also writes each image's
 * terms and per-position bits into out, from the very log-probabilities
 * the evaluation sums: the same figures, image by image and pixel by
 * pixel (where the model spends its bits). */
PCNN_API pcnn_status pcnn_chain_score(pcnn_ctx *ctx, pcnn_chain *c,
                                      const pcnn_dataset *x,
                                      const pcnn_eval_opts *o,
                                      pcnn_chain_eval *r,
                                      const pcnn_chain_scores *out);
/* Whether stage i of a chain gets tightened: it models half^h(X) (no
 * gray4) given half^(h+1)(X) or given gray4(half^h(X)), with the logistic
 * mixture head (stage i > 0, or a conditioned stage 0 of a partial
 * chain). */
PCNN_API int pcnn_chain_stage_tightens(const pcnn_chain *c, int i);
/* For x (B,C,H,W) and its half view parent (B,C,H/2,W/2): the interval
 * [lo, hi] each subpixel can take given its parent and the children of
 * its 2x2 block before it in raster order (B,C,H,W each).
 * PCNN_ERR_VALUE if parent is not half(x). */
PCNN_API pcnn_status pcnn_half_bounds(pcnn_image x, const uint8_t *parent,
                                      uint8_t *lo, uint8_t *hi);
/* For x (B,C,H,W), C 1 or 3, and its gray4 view gray (B,1,H,W): the
 * interval [lo, hi] each subpixel can take given its pixel's gray level
 * and the channels before it (R, then G given R, then B given R and G;
 * docs/chains.md), B,C,H,W each. PCNN_ERR_VALUE if gray is not
 * gray4(x). */
PCNN_API pcnn_status pcnn_gray4_bounds(pcnn_image x, const uint8_t *gray,
                                       uint8_t *lo, uint8_t *hi);
/* Samples B images stage by stage, each with the cached sampler (opts:
 * seed, sharpness, labels, naive, progress; stage i uses seed
 * hash(seed, i)). out[i] receives stage i's images (B, c_i, h_i, w_i).
 * Stage 0 must be unconditioned (PCNN_ERR_ARG). With opts->consistent a
 * stage that is tightened (pcnn_chain_stage_tightens) draws from its
 * tightened distribution (opts parent): its images' half (or gray4) view
 * is exactly the previous stage's images (not with a log-scale offset or
 * temperature). */
PCNN_API pcnn_status pcnn_chain_sample(pcnn_ctx *ctx, pcnn_chain *c, int64_t B,
                                       const pcnn_model_sample_opts *opts,
                                       uint8_t **out);
/* The same from stage `first` on, given stage first-1's images in
 * out[first-1] (super-resolution from a small image, colors from a gray
 * one); out[i] for i >= first receive the samples. */
PCNN_API pcnn_status pcnn_chain_sample_from(pcnn_ctx *ctx, pcnn_chain *c,
                                            int64_t B, int first,
                                            const pcnn_model_sample_opts *opts,
                                            uint8_t **out);
/* Completion: x (B, C, H, W) holds images of a complete chain of one stage
 * (a plain model); where known (B, H, W) is nonzero the pixel is kept,
 * the rest are drawn (opts as pcnn_model_sample, its known ignored).
 * Known pixels condition only the pixels after them in raster order.
 * PCNN_ERR_ARG with a message for a chain it cannot complete (several
 * stages, a view other than X, a condition) or a NULL known. */
PCNN_API pcnn_status pcnn_chain_complete(pcnn_ctx *ctx, pcnn_chain *c,
                                         pcnn_image x, const uint8_t *known,
                                         const pcnn_model_sample_opts *opts);

/* ----------------------------------------------------------- restoration
 *
 * Greedy decoding with the density (docs/restore.md), for a plain model:
 * a chain of one stage that models x itself, with no condition and no
 * classes (else PCNN_ERR_ARG). Every subpixel, in raster order and each
 * pixel's channels in order, is set to the value v that maximizes
 *     log p(v | the subpixels set before it) + data(v),
 * the model's exact conditional (the probabilities of pcnn_head_pmf)
 * given the values already set. The pass runs the cached sampler's
 * incremental network, so it costs about one forward pass. Only each
 * subpixel's own conditional enters, not what v does to the later
 * pixels' conditionals: a greedy approximation of the MAP estimate.
 * Ties go to the smaller value. The result is a function of the inputs
 * alone: the same for any thread count.
 */
typedef enum {
    /* Gaussian noise: data(v) = -weight (y - v)^2 / (2 sigma^2) */
    PCNN_RESTORE_DENOISE = 0,
    /* y = K * x + Gaussian noise, K a known blur: data(v) = -weight
     * ||K * x - y||^2 / (2 sigma^2), x the current estimate with this
     * subpixel at v. Several passes, the first from the Wiener estimate
     * conj(K) Y / (|K|^2 + sigma^2 / var(y)) per frequency (each plane's
     * variance, centered on the middle level) */
    PCNN_RESTORE_DEBLUR = 1,
    /* known pixels (mask) keep y's values, the others are decided by
     * the model alone (data 0) given the pixels before them */
    PCNN_RESTORE_INPAINT = 2
} pcnn_restore_mode;

#define PCNN_RESTORE_MAX_KERNEL 31

typedef struct {
    pcnn_restore_mode mode; /* default PCNN_RESTORE_DENOISE */
    /* denoise, deblur: the noise's standard deviation in levels (> 0,
     * finite); default 0, which these modes refuse: say it */
    double sigma;
    /* deblur: the blur, ksize x ksize weights (ksize odd, 1 ..
     * PCNN_RESTORE_MAX_KERNEL, finite), centered, applied to each channel,
     * wrapping around the image's edges (circular), as (K * x)[i, j] =
     * sum_{p,q} kernel[p, q] x[(i + p - r) mod H, (j + q - r) mod W],
     * r = ksize / 2 */
    const float *kernel;
    int ksize;
    /* inpaint: (B, H, W), nonzero where y's pixel is known */
    const uint8_t *mask;
    /* deblur: passes, each from the previous estimate; default 3, 1..100.
     * The other modes' data terms do not read the estimate: they run one
     * pass whatever this says */
    int passes;
    /* the data term's weight (>= 0, finite); default 1. Above 1 it
     * tempers the model's conditionals, which the greedy decoder trusts
     * too much once the pixels before are themselves estimates
     * (docs/restore.md) */
    double weight;
    /* 0 (default): each subpixel gets the value maximizing the score;
     * 1: the mean of its posterior, the values weighted by
     * p(v | earlier) exp(data(v)), rounded half up */
    int mean;
    /* job "restore", done/total in rows of all passes; nonzero stops with
     * PCNN_ERR_CANCELLED, x then partly restored */
    pcnn_progress progress;
} pcnn_restore_opts;

PCNN_API pcnn_restore_opts pcnn_restore_opts_default(void);

/* Restores the observation y (B, C, H, W) of the chain's images into x
 * (the same shape; may be y itself) as o says. PCNN_ERR_ARG for a chain
 * that is not a plain model or a missing kernel or mask; PCNN_ERR_SHAPE
 * for y or x of another shape; PCNN_ERR_VALUE for a sigma, weight or
 * kernel weight out of range or not finite, or values of y beyond the
 * model's levels. */
PCNN_API pcnn_status pcnn_chain_restore(pcnn_ctx *ctx, pcnn_chain *c,
                                        pcnn_image y, pcnn_image x,
                                        const pcnn_restore_opts *o);

/* PixelDefend purification (Song et al. 2018): each subpixel of x, in
 * the raster order above, becomes the most probable value of its
 * conditional given the subpixels purified before it, among the values
 * within eps of its original value, clipped to the levels (0 .. 255):
 * the greedy decoder with data(v) = 0 inside that interval. eps 0 leaves
 * x as it is. */
typedef struct {
    int eps;                /* 0 .. 255 */
    pcnn_progress progress; /* job "purify", rows */
} pcnn_purify_opts;

/* Purifies x (B, C, H, W), in place, with a plain model (as
 * pcnn_chain_restore). */
PCNN_API pcnn_status pcnn_chain_purify(pcnn_ctx *ctx, pcnn_chain *c,
                                       pcnn_image x,
                                       const pcnn_purify_opts *o);

/* ---------------------------------------------------------- colorizing
 *
 * A colorizer is a stage model of the chroma view half^k(ab(X)) given the
 * lightness L(X) (docs/colorize.md): its condition map is L at the image
 * size S = 2^k H, space to depth.
 */
/* n colorizations of one image x (1, 3, h, w) of any size (a gray image
 * given as R = G = B) with the last stage of chain c, which must model
 * the chroma ab(X) (or a halved view of it) given the lightness L(X): x
 * is resized to the stage's image size S x S by area averaging, its L
 * read there, n chroma images drawn (opts as pcnn_model_sample; opts->cond
 * is set here; progress reports job "colorize", rows of the chroma), and
 * each composed with x's own L by pcnn_colorize_compose into
 * out (n, 3, h, w). chroma, when not NULL, receives the drawn chroma
 * (n, 2, H, W). A colorizer's checkpoint loads as a chain of one
 * (pcnn_chain_load). */
PCNN_API pcnn_status pcnn_colorize(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image x,
                                   int n, const pcnn_model_sample_opts *opts,
                                   uint8_t *out, uint8_t *chroma);

/* The figures of `pixelcnn colorize --metrics` for one image: PSNR
 * (pcnn_psnr over the RGB bytes) and colorfulness (pcnn_colorfulness). */
typedef struct {
    double psnr_best, psnr_mean;   /* the samples: best and mean of n */
    double psnr_gray, psnr_meanab; /* the baselines: x's L with a = b = 0,
                                    * and with the mean chroma meanab */
    double color_truth, color_samples, color_gray, color_meanab;
    /* colorfulness of the true image, the samples' mean, the baselines */
} pcnn_colorize_scores;
/* Scores n colorizations samples (n, 3, h, w) of the true image truth
 * (1, 3, h, w) against it, next to the gray baseline and the mean-chroma
 * baseline meanab (a8, b8; pcnn_mean_chroma), both composed with truth's
 * own L (pcnn_colorize_compose). */
PCNN_API pcnn_status pcnn_colorize_score(pcnn_image truth,
                                         const uint8_t *samples, int n,
                                         const uint8_t meanab[2],
                                         pcnn_colorize_scores *out);
/* meanab = the mean a8 and b8 (Lab8) over every pixel of the RGB images
 * of x (n, 3, h, w), rounded half up: the mean-chroma baseline, from a
 * training split at the colorizer's image size. */
PCNN_API pcnn_status pcnn_mean_chroma(const pcnn_dataset *x,
                                      uint8_t meanab[2]);
/* out (1, 3, h, w) = Lab8 -> sRGB of x's L8 (x: (1, 3, h, w)) with the
 * chroma planes ab (2, ch, cw), ch <= h and cw <= w, upsampled bilinearly
 * (pixel centers aligned, edges clamped, rounded) to h x w. */
PCNN_API pcnn_status pcnn_colorize_compose(pcnn_image x, const uint8_t *ab,
                                           int64_t ch, int64_t cw,
                                           pcnn_image out);

/* ----------------------------------------------------------- compression
 *
 * Lossless coding with a chain (docs/compression.md): each value's exact
 * conditional probability under the model, turned into an integer
 * frequency table (every value >= 1, so any image codes), drives a rANS
 * coder; the file's size is then the model's bits/dim plus a small
 * overhead. A chain codes stage by stage, each stage's values given the
 * earlier stages as pcnn_chain_sample_from conditions them, and a pyramid
 * stage spends bits only on the values its parent still allows (the
 * tightened distribution), so a file decodes progressively: stage K is
 * the image at that stage's resolution. The decoder runs the model
 * incrementally, as the cached sampler does; the encoder runs the same
 * computation on the true values, so both build the same tables for any
 * thread count. A stream decodes with the same weights on a build of the
 * same library version, kernel family and compiler (pcnn_codec_build),
 * on any CPU that runs it; another build refuses it (its floats may
 * differ in the last bit), and a CRC-32 of each stage's values catches
 * what gets past that: a damaged stream fails, it never decodes wrong.
 */
#define PCNN_CODEC_VERSION 1

typedef struct {
    int batch; /* images coded together (one sampler run and one stream
                * per stage for each group), 1..4096; default 32. The
                * decoder decodes the same groups, with any thread count */
    pcnn_progress progress; /* job "compress", done/total in rows of all
                             * stages and groups */
} pcnn_compress_opts;

PCNN_API pcnn_compress_opts pcnn_compress_opts_default(void);

/* Codes the images x (n, C, H, W), X of a complete chain c
 * (pcnn_chain_is_complete), with labels (n) when a stage is class-
 * conditional (they are coded too), into a new buffer *buf of *len bytes
 * (release it with pcnn_free). o may be NULL for the defaults. */
PCNN_API pcnn_status pcnn_compress(pcnn_ctx *ctx, pcnn_chain *c, pcnn_image x,
                                   const int32_t *labels,
                                   const pcnn_compress_opts *o, uint8_t **buf,
                                   size_t *len);

/* What a compressed stream holds, read without the model. */
typedef struct {
    int version;          /* PCNN_CODEC_VERSION of the writer */
    uint32_t build;       /* pcnn_codec_build_tag of the writer */
    uint64_t weights;     /* pcnn_chain_hash of the chain that coded it */
    int64_t n, c, h, w;   /* the images X */
    int batch;            /* images per group */
    int num_classes;      /* > 0: labels are coded, in 0..num_classes-1 */
    int stages;
    int64_t stage_c[PCNN_MAX_STAGES], stage_h[PCNN_MAX_STAGES],
        stage_w[PCNN_MAX_STAGES];    /* each stage's view */
    int stage_levels[PCNN_MAX_STAGES];
    size_t header_bytes;             /* the fixed header */
    size_t stage_bytes[PCNN_MAX_STAGES]; /* each stage's streams, framing
                                          * included, over all groups */
} pcnn_codec_info;

/* Reads and checks a stream's header and framing (not its values):
 * PCNN_ERR_FORMAT for a truncated or damaged one, PCNN_ERR_UNSUPPORTED
 * for another stream version. */
PCNN_API pcnn_status pcnn_codec_info_read(const uint8_t *buf, size_t len,
                                          pcnn_codec_info *info);

typedef struct {
    int stage; /* -1 (default): every stage, out gets X; K: stops after
                * stage K, out gets stage K's view (progressive decoding) */
    pcnn_progress progress; /* job "decompress", rows as compress */
    int colorize; /* 1: stage K must be a color chain's chroma (its chain
                   * stage models ab, halved or not, given L(X), after
                   * the stage of L(X)): out then gets the colorization,
                   * RGB (n, 3, stage_h[K-1], stage_w[K-1]): the decoded
                   * L with the chroma upsampled bilinearly, as
                   * pcnn_colorize composes it. 0 (default): the view */
} pcnn_decompress_opts;

PCNN_API pcnn_decompress_opts pcnn_decompress_opts_default(void);

/* Decodes buf into out (n, stage_c[K], stage_h[K], stage_w[K]) of
 * pcnn_codec_info, K = o->stage (the last stage by default), and labels
 * (n) when not NULL and the stream has them. The chain must be the one
 * that coded it (weights hash and stage layout) and this library's build
 * the writer's: else PCNN_ERR_ARG or PCNN_ERR_UNSUPPORTED with a message.
 * A stream that does not end exactly, or whose values fail their CRC,
 * is PCNN_ERR_FORMAT (out then holds no image to use). */
PCNN_API pcnn_status pcnn_decompress(pcnn_ctx *ctx, pcnn_chain *c,
                                     const uint8_t *buf, size_t len,
                                     const pcnn_decompress_opts *o,
                                     uint8_t *out, int32_t *labels);

/* A 64-bit hash (FNV-1a) of the chain's stage configs and weights: what a
 * stream records of the model that coded it. 0 for NULL. */
PCNN_API uint64_t pcnn_chain_hash(const pcnn_chain *c);
/* This build's arithmetic: "pixelcnn VERSION, KERNELS kernels, COMPILER"
 * (KERNELS avx512 or portable); a stream records its 32-bit FNV-1a hash,
 * pcnn_codec_build_tag(). */
PCNN_API const char *pcnn_codec_build(void);
PCNN_API uint32_t pcnn_codec_build_tag(void);
/* Releases a buffer the library allocated for the caller (pcnn_compress). */
PCNN_API void pcnn_free(void *p);

/* -------------------------------------------------------------- training
 *
 * Adam on the mean bits/dim (Kingma & Ba 2015, with PixelCNN++'s moments
 * and its epsilon inside the square root), a per-step exponential learning
 * rate decay, Polyak averaging (EMA) of the weights for evaluation, and a
 * data order that is a pure function of (seed, epoch). The trainer owns
 * that order, so a run resumed from a checkpoint continues exactly: the
 * same batches, dropout masks and updates, bit for bit on the same machine
 * and thread count.
 */
typedef struct {
    float lr;       /* 1e-3 */
    float lr_decay; /* lr at step t = lr * lr_decay^t: 0.999995 */
    float beta1;    /* 0.95 */
    float beta2;    /* 0.9995 */
    float ema;      /* weight of the old average: 0.9995, warmed up as
                     * min(ema, (1+t)/(10+t)) at step t */
    int batch;      /* 16 */
    uint64_t seed;  /* data order and dropout */
    int flip;       /* 1: mirror each training image left-right with
                     * probability 1/2 (a function of seed, epoch and
                     * position in the epoch), its condition image with
                     * it; 0 (default): never */
} pcnn_train_opts;

PCNN_API pcnn_train_opts pcnn_train_opts_default(void);

/* The model config a new training run starts from (`pixelcnn train` and
 * the Python package's train() start from it): the architecture of
 * pcnn_model_config_default with plain weights (plain 1) and PyTorch's
 * uniform init (init 1), the layer recipe that reached the lowest test
 * bits/dim at a fixed training time (docs/training.md).
 * pcnn_model_config_default keeps PixelCNN++'s weight norm and
 * data-dependent init (plain 0, init 0). */
PCNN_API pcnn_model_config pcnn_train_config_default(void);

typedef struct {
    uint64_t step;  /* optimizer steps done */
    uint64_t epoch; /* current pass over the data */
    int64_t pos;    /* next item of this epoch's order */
} pcnn_train_state;

/* What one step did. */
typedef struct {
    double bpd;       /* training loss of the batch, bits/dim */
    double grad_norm; /* L2 norm of the gradient */
    double lr;        /* learning rate used */
} pcnn_step_stats;

typedef struct pcnn_trainer pcnn_trainer;

/* A trainer of model m on the images of `data` (images (n, C, H, W) and,
 * for a class-conditional model, labels). m and data are borrowed and
 * must outlive the trainer. */
PCNN_API pcnn_status pcnn_trainer_create(pcnn_trainer **out, pcnn_model *m,
                                         const pcnn_dataset *data,
                                         const pcnn_train_opts *o);
PCNN_API void pcnn_trainer_free(pcnn_trainer *t);
/* Data-dependent initialization on the run's first batch (none for a
 * model of config init 1); the EMA starts from the initialized weights.
 * Call once, before the first step. */
PCNN_API pcnn_status pcnn_trainer_init(pcnn_ctx *ctx, pcnn_trainer *t);
/* One optimizer step on the next batch of the data order. On a loss or
 * gradient that is not finite it returns PCNN_ERR_VALUE and changes
 * nothing: the model and optimizer keep their last good state. */
PCNN_API pcnn_status pcnn_trainer_step(pcnn_ctx *ctx, pcnn_trainer *t,
                                       pcnn_step_stats *st);
PCNN_API pcnn_train_state pcnn_trainer_state(const pcnn_trainer *t);
PCNN_API pcnn_train_opts pcnn_trainer_opts(const pcnn_trainer *t);
/* Swaps the model's weights with the EMA weights (call again to swap
 * back): evaluate and sample with the EMA weights in between. */
PCNN_API void pcnn_trainer_swap_ema(pcnn_trainer *t);
/* Restarts the EMA from the model's current weights (e.g. when resuming a
 * run whose average still holds its initial weights). */
PCNN_API void pcnn_trainer_reset_ema(pcnn_trainer *t);

/* Runs optimizer steps until the trainer's step count reaches `steps`
 * (0: no step limit), `seconds` of wall time have passed (<= 0: no
 * limit), or progress (may be NULL) returns nonzero: then
 * PCNN_ERR_CANCELLED, after the step in flight finished cleanly, so the
 * trainer is consistent and can be saved and resumed exactly. Progress:
 * job "train", done = the step count, total = steps, value = that step's
 * bits/dim, after every step. *last (may be NULL) holds the last step's
 * stats, updated after every step before progress is called (a callback
 * given last may read it). A failing step (pcnn_trainer_step) ends the
 * run with its status. */
PCNN_API pcnn_status pcnn_trainer_run(pcnn_ctx *ctx, pcnn_trainer *t,
                                      uint64_t steps, double seconds,
                                      const pcnn_progress *progress,
                                      pcnn_step_stats *last);
/* Evaluates the trainer's model (its EMA weights when ema = 1, swapped in
 * and back) as a chain of one stage on raw images X, as
 * pcnn_chain_evaluate: the periodic test evaluation of a training run. */
PCNN_API pcnn_status pcnn_trainer_evaluate(pcnn_ctx *ctx, pcnn_trainer *t,
                                           int ema, const pcnn_dataset *x,
                                           const pcnn_eval_opts *o,
                                           pcnn_chain_eval *r);

/* ------------------------------------------------------- pseudo-counts
 *
 * Count-based exploration with a density model (Bellemare et al. 2016,
 * Ostrovski et al. 2017; docs/score.md): for each image x_t of a stream,
 * rho = p(x_t) under the model, then one training step on x_t alone, then
 * rho' = p(x_t) again; the pseudo-count is
 *     N = rho (1 - rho') / (rho' - rho),
 * large for images the model has in effect seen often (the step barely
 * moves p), small for novel ones. The model learns online: the step on
 * x_t stays for x_t+1 and on.
 */
typedef struct {
    /* each step's learning rate; default 1e-5 */
    float lr;
    /* 0 (default): plain gradient descent on the image's bits/dim,
     * w -= lr * d bpd / d w; 1: Adam with the trainer's betas
     * (pcnn_train_opts_default), no decay, moments starting at zero and
     * kept over the stream (its first steps move every weight by about
     * lr, whatever its gradient: docs/score.md) */
    int adam;
    int64_t limit; /* the first `limit` images; <= 0 (default): all */
    /* job "counts", done/total in images, value the last count */
    pcnn_progress progress;
} pcnn_counts_opts;

PCNN_API pcnn_counts_opts pcnn_counts_opts_default(void);
/* N from log rho and log rho' (nats), computed without forming the
 * probabilities: -expm1(log rho') / expm1(log rho' - log rho). +INFINITY
 * when rho' <= rho (the step did not raise p(x): no finite count fits). */
PCNN_API double pcnn_pseudo_count(double log_p, double log_p_after);
/* The pseudo-counts of the images of x in order (labels for a
 * class-conditional model), for a chain of one unconditioned stage (a
 * plain model): each image's log p in nats before its step (log_p) and
 * after (log_p_after), and N (counts); each (n) and optional. The steps
 * train a copy of the model's weights, without dropout, one image a step:
 * the chain is not changed. */
PCNN_API pcnn_status pcnn_pseudo_counts(pcnn_ctx *ctx, const pcnn_chain *c,
                                        const pcnn_dataset *x,
                                        const pcnn_counts_opts *o,
                                        double *log_p, double *log_p_after,
                                        double *counts);

/* Data-parallel training (docs/mpi.md): `size` processes (ranks), each
 * with a trainer of the same model, data and options, train one model.
 * Every global batch of opts.batch images (the one a single process would
 * take) is split into contiguous shards, rank r taking images
 * [batch*r/size, batch*(r+1)/size); each rank computes its shard's
 * gradient and the ranks sum their shares with allreduce_sum, so every
 * rank applies the same update to the same weights. Dropout masks and
 * flips are drawn by an image's place in the global batch, so a run
 * gives the same model for any size up to float rounding, and a
 * checkpoint resumes with any size. The library holds no transport: the
 * caller supplies the collectives (the CLI's are MPI's, tools/dist_mpi.c).
 * Each function is collective: every rank calls it, in the same order;
 * it returns 0 on success. */
typedef struct {
    int rank;  /* this process, 0 .. size-1 */
    int size;  /* ranks in all; 1: no communication */
    void *arg; /* passed to the functions */
    /* x[0 .. n) = its sum over the ranks, in place, the same on every
     * rank */
    int (*allreduce_sum)(void *arg, float *x, size_t n);
    /* rank 0's bytes x[0 .. bytes) into x on every rank */
    int (*broadcast)(void *arg, void *x, size_t bytes);
} pcnn_comm;

/* Makes t one rank of comm (copied): call on every rank after
 * pcnn_trainer_create or pcnn_checkpoint_load_trainer, before
 * pcnn_trainer_init and the steps. Collective: it checks that every
 * rank holds the same weights, optimizer state, step and options
 * (PCNN_ERR_VALUE naming the first rank that differs). PCNN_ERR_ARG for
 * a rank outside 0 .. size-1, a missing function, or a batch smaller
 * than size. With a comm, pcnn_trainer_init initializes on rank 0 and
 * broadcasts the weights; pcnn_trainer_step exchanges the gradient and
 * checks every 100 steps that the replicas still agree; pcnn_trainer_run
 * stops every rank after the same step (a progress callback must return
 * the same on every rank). A collective that fails (returns nonzero)
 * fails the call with PCNN_ERR_IO. */
PCNN_API pcnn_status pcnn_trainer_set_comm(pcnn_trainer *t,
                                           const pcnn_comm *comm);

/* ----------------------------------------------------------- checkpoints
 *
 * safetensors files (docs/checkpoint.md): the parameters under their
 * names, "ema.<name>" and "adam.m.<name>", "adam.v.<name>" when a trainer
 * is saved, and the model config and training state as metadata. Saving
 * is atomic (temp file, fsync, rename, fsync of the folder): a crash at
 * any moment leaves the old checkpoint or the new one, never a damaged or
 * missing one. Loading validates everything and rejects a malformed file
 * with a message naming it.
 */
PCNN_API pcnn_status pcnn_checkpoint_save(const char *path,
                                          const pcnn_model *m,
                                          const pcnn_trainer *t);
/* A weights-only checkpoint of m (no trainer), its parameters stored as
 * st: what `pixelcnn export --storage` writes. */
PCNN_API pcnn_status pcnn_model_save(const char *path, const pcnn_model *m,
                                     pcnn_storage st);
/* A model from a checkpoint; ema = 1 loads the EMA weights (an error if
 * the file has none). The whole file is checked first (docs/checkpoint.md):
 * its metadata, every tensor's name and shape against the model the
 * metadata describes (before the model is built), and every value, also of
 * the blocks not loaded: finite, parameters within +-1e6 and weight-norm
 * directions of nonzero norm, Adam's second moments >= 0. */
PCNN_API pcnn_status pcnn_checkpoint_load_model(const char *path, int ema,
                                                pcnn_model **out);
/* A trainer for m (loaded from the same file) on data, with the saved
 * optimizer, EMA and state: the run continues exactly. */
PCNN_API pcnn_status pcnn_checkpoint_load_trainer(const char *path,
                                                  pcnn_model *m,
                                                  const pcnn_dataset *data,
                                                  pcnn_trainer **out);
/* The saved config, options and state (the file checked as by a load,
 * but no model built); has_trainer = 0 for a file saved without one. */
PCNN_API pcnn_status pcnn_checkpoint_read_state(const char *path,
                                                pcnn_model_config *cfg,
                                                pcnn_train_opts *opts,
                                                pcnn_train_state *state,
                                                int *has_trainer);
/* *fp = pcnn_dataset_fingerprint of the data the checkpoint's trainer was
 * trained on, or 0 when the file has none (saved without a trainer, or
 * by a version that did not record one). pcnn_checkpoint_load_trainer
 * refuses other data when the file has one. */
PCNN_API pcnn_status pcnn_checkpoint_data_fingerprint(const char *path,
                                                      uint64_t *fp);

/* What a pixelcnn file holds, from its metadata's "format" key. */
typedef enum {
    PCNN_FILE_UNKNOWN = 0,
    PCNN_FILE_CHECKPOINT, /* a model checkpoint (pixelcnn-checkpoint-1) */
    PCNN_FILE_CHAIN       /* a chain file (pixelcnn-chain-1) */
} pcnn_file_kind;
/* The kind of the file at path, read from its metadata alone, so a
 * command picks its loader before loading (nothing else is checked).
 * PCNN_ERR_FORMAT with *kind = PCNN_FILE_UNKNOWN and a message naming the
 * file for a safetensors file of another kind; the reader's status for a
 * file that cannot be read or is not safetensors. */
PCNN_API pcnn_status pcnn_file_kind_read(const char *path,
                                         pcnn_file_kind *kind);

#ifdef __cplusplus
}
#endif
#endif /* PIXELCNN_H */
