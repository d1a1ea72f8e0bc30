/*
 * train.c -- `pixeldefend train`: the classifier of cnn.h on the 60,000
 * Fashion-MNIST training images, Adam, batch 64, for a time budget; then
 * its accuracy on the 10,000 test images, and the weights saved.
 */
#include "pixeldefend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double pd_accuracy(pcnn_ctx *ctx, cnn *net, const uint8_t *x,
                   const int32_t *y, int64_t n)
{
    float logits[PD_EVAL_BATCH * CNN_CLASSES];
    int32_t pred[PD_EVAL_BATCH];
    int64_t right = 0;
    for (int64_t s = 0; s < n; s += PD_EVAL_BATCH) {
        int64_t B = n - s < PD_EVAL_BATCH ? n - s : PD_EVAL_BATCH;
        PD_TRY(cnn_forward(ctx, net, x + s * PD_PIXELS, NULL, B, logits));
        cnn_predict(logits, B, pred);
        for (int64_t b = 0; b < B; b++)
            right += pred[b] == y[s + b];
    }
    return (double)right / (double)n;
}

/* One Adam step on the images perm[at .. at+BATCH) of d; the batch's
 * mean cross-entropy. */
static double step(pcnn_ctx *ctx, cnn *net, const pcnn_dataset *d,
                   const int64_t *perm, float lr)
{
    static uint8_t px[BATCH * PD_PIXELS];
    static int32_t y[BATCH];
    float logits[BATCH * CNN_CLASSES], dl[BATCH * CNN_CLASSES];
    PD_TRY(pcnn_dataset_gather(d, perm, BATCH, px, y));
    PD_TRY(cnn_forward(ctx, net, px, NULL, BATCH, logits));
    double loss = cnn_xent(logits, y, BATCH, 1.0f / BATCH, dl);
    PD_TRY(cnn_backward(ctx, net, BATCH, dl, 1, NULL));
    cnn_adam(net, lr);
    return loss;
}

/* The learning rate: 1e-3, decayed linearly to 1e-4 over the budget. */
static float rate(double frac)
{
    return (float)(1e-3 * (1.0 - 0.9 * (frac > 1 ? 1 : frac)));
}

int pd_train(pcnn_ctx *ctx, const pd_args *a)
{
    pcnn_dataset tr = {0}, te = {0};
    pd_load(a->data, "train", &tr);
    pd_load(a->data, "t10k", &te);
    cnn net;
    if (cnn_create(&net, PD_EVAL_BATCH, a->seed) != 0)
        pd_die("out of memory");
    int64_t *perm = malloc((size_t)tr.n * sizeof *perm);
    if (!perm)
        pd_die("out of memory");
    double t0 = now(), avg = 0, el = 0;
    int64_t steps = 0, per_epoch = tr.n / BATCH;
    while ((el = now() - t0) < a->seconds) {
        if (steps % per_epoch == 0)
            pcnn_shuffle(a->seed, (uint64_t)(steps / per_epoch), tr.n, perm);
        double loss = step(ctx, &net, &tr, perm + (steps % per_epoch) * BATCH,
                           rate(el / a->seconds));
        avg = steps ? 0.98 * avg + 0.02 * loss : loss;
        if (++steps % 200 == 0)
            fprintf(stderr, "step %lld (epoch %.2f) %.0f s: loss %.4f\n",
                    (long long)steps, (double)steps / (double)per_epoch, el,
                    avg);
    }
    double acc = pd_accuracy(ctx, &net, te.images, te.labels, te.n);
    printf("trained %lld steps of batch %d (%.2f epochs) in %.0f s; test "
           "accuracy %.4f on %lld images\n",
           (long long)steps, BATCH, (double)steps / (double)per_epoch, el, acc,
           (long long)te.n);
    if (cnn_save(&net, a->classifier) != 0) {
        fprintf(stderr, "pixeldefend train: --classifier %s: cannot write "
                        "it\n", a->classifier);
        return 1;
    }
    free(perm);
    cnn_free(&net);
    pcnn_dataset_free(&tr);
    pcnn_dataset_free(&te);
    return 0;
}
