/*
 * cnn.h -- a small Fashion-MNIST classifier built from libpixelcnn's ops:
 * three 3x3 convs (the last two of stride 2) with ELUs, then a 7x7 conv
 * that covers the whole 7x7 map, i.e. a dense layer to the 10 logits.
 * Softmax cross-entropy and Adam live here: the library has neither.
 *
 *   x (B,1,28,28) = pixel / 127.5 - 1
 *   c1 1->C1 3x3 pad 1       -> (B,C1,28,28), elu
 *   c2 C1->C2 3x3 s2 pad 1   -> (B,C2,14,14), elu
 *   c3 C2->C3 3x3 s2 pad 1   -> (B,C3,7,7),   elu
 *   fc C3->10 7x7            -> (B,10,1,1)    logits
 */
#ifndef PIXELDEFEND_CNN_H
#define PIXELDEFEND_CNN_H

#include "pixelcnn.h"

#include <stdint.h>

#define CNN_CLASSES 10
#define CNN_SIDE 28
#define CNN_LAYERS 4

typedef struct {
    int ci, co, k, stride, pad; /* pad: top and left; bottom, right below */
    int pad_end;
    int64_t hi, ho;             /* input and output side */
} cnn_layer_shape;

typedef struct {
    cnn_layer_shape shape[CNN_LAYERS];
    float *params, *grads;      /* all w then b of every layer, flat */
    float *w[CNN_LAYERS], *b[CNN_LAYERS], *dw[CNN_LAYERS], *db[CNN_LAYERS];
    size_t nparams;
    /* activations of the last forward, for batch `cap` at most:
     * act[0] the input, pre[l] layer l's output before the elu,
     * act[l+1] after it (act[4] = pre[3], the logits) */
    int64_t cap;
    float *act[CNN_LAYERS + 1], *pre[CNN_LAYERS];
    float *dact[CNN_LAYERS + 1], *dpre[CNN_LAYERS];
    /* Adam state */
    float *m1, *m2;
    int64_t step;
} cnn;

/* A classifier with random weights (seed), buffers for batches up to cap. */
int cnn_create(cnn *net, int64_t cap, uint64_t seed);
void cnn_free(cnn *net);
/* Saves / loads the flat parameters: magic "PDCNN001", the count as a
 * little-endian uint64, then the float32 values. 0 on success. */
int cnn_save(const cnn *net, const char *path);
int cnn_load(cnn *net, const char *path);

/* logits (B,10) of the B images px (B,28,28); B <= cap. */
pcnn_status cnn_forward(pcnn_ctx *ctx, cnn *net, const uint8_t *px,
                        const float *pxf, int64_t B, float *logits);
/* Mean cross-entropy of the last forward's logits against labels (nats);
 * when d is not NULL, d (B,10) = its gradient with respect to the logits
 * times `scale`. */
double cnn_xent(const float *logits, const int32_t *labels, int64_t B,
                float scale, float *d);
/* Backward of the last forward from dlogits (B,10). params: 1 fills the
 * parameter gradients (zeroed first); dpix (B,28,28), when not NULL, gets
 * dL/dpixel (pixel units 0..255). */
pcnn_status cnn_backward(pcnn_ctx *ctx, cnn *net, int64_t B,
                         const float *dlogits, int params, float *dpix);
/* One Adam step (beta1 0.9, beta2 0.999) on the parameter gradients. */
void cnn_adam(cnn *net, float lr);
/* The argmax class of each of B rows of logits. */
void cnn_predict(const float *logits, int64_t B, int32_t *pred);

#endif
