/*
 * pixeldefend.h -- the PixelDefend experiment's shared pieces: options,
 * data loading, errors, and the steps main() runs (train.c, attack.c,
 * purify.c, report.c).
 */
#ifndef PIXELDEFEND_H
#define PIXELDEFEND_H

#include "cnn.h"
#include "pixelcnn.h"

#include <stdint.h>

#define PD_PIXELS (CNN_SIDE * CNN_SIDE)
#define PD_EVAL_BATCH 100
#define PD_MAX_EPS 8

#define PD_TRY(x)                                                             \
    do {                                                                      \
        if ((x) != PCNN_OK)                                                   \
            pd_die(pcnn_last_error());                                        \
    } while (0)

typedef struct {
    const char *data;        /* the Fashion-MNIST folder (IDX files) */
    const char *classifier;  /* the classifier's weights */
    const char *density;     /* the PixelCNN++ checkpoint */
    const char *png;         /* examples figure, or NULL */
    double seconds;          /* train: time budget */
    uint64_t seed;
    int64_t n;               /* attack: the first n test images */
    int attack_eps[PD_MAX_EPS], n_attack;   /* pixel units */
    int defend_eps[PD_MAX_EPS], n_defend;
    int pgd_steps;
    int naive;               /* purify with the experiment's own loop */
    int bpda;                /* > 0: only PGD through purification at
                              * this radius (BPDA) */
} pd_args;

/* Prints "pixeldefend: msg" and exits with status 1. */
void pd_die(const char *msg);
/* split "train" or "t10k" of the IDX files in dir, with labels. */
void pd_load(const char *dir, const char *split, pcnn_dataset *out);
/* A classifier with the weights of path (pd_die when they do not load). */
void pd_load_classifier(cnn *net, const char *path);
/* The classifier's accuracy on n images x (n,28,28) with labels y. */
double pd_accuracy(pcnn_ctx *ctx, cnn *net, const uint8_t *x,
                   const int32_t *y, int64_t n);

int pd_train(pcnn_ctx *ctx, const pd_args *a);
int pd_attack(pcnn_ctx *ctx, const pd_args *a);
/* Checks the classifier's input gradient (attack.c's) against finite
 * differences and the library's purification against the naive loop on
 * a few test images; 0 when both agree. */
int pd_check(pcnn_ctx *ctx, const pd_args *a);
double pd_gradcheck(pcnn_ctx *ctx, cnn *net, const uint8_t *x,
                    const int32_t *y);

typedef struct {
    int eps;              /* L-infinity radius, pixel levels */
    int steps;            /* 0: FGSM; else PGD steps */
    uint64_t seed;        /* PGD's random start */
    pcnn_chain *through;  /* not NULL: BPDA through purification */
    int defend_eps;       /* ... at this radius */
} pd_attack_opts;

/* x (n,28,28) -> adv (bytes): the attack o against the labels y. */
void pd_fgsm_pgd(pcnn_ctx *ctx, cnn *net, const uint8_t *x, const int32_t *y,
                 int64_t n, const pd_attack_opts *o, uint8_t *adv);
/* PixelDefend purification in place of x (n,1,28,28) with radius eps. */
void pd_purify(pcnn_ctx *ctx, pcnn_chain *c, uint8_t *x, int64_t n, int eps,
               int naive);
/* The density model's mean bits/dim of the n images, *se its standard
 * error; each (n), when not NULL, gets every image's. */
double pd_bpd(pcnn_ctx *ctx, pcnn_chain *c, const uint8_t *x, int64_t n,
              double *se, double *each);

#endif
