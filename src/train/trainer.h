/*
 * trainer.h -- the trainer object, shared by the optimizer (trainer.c) and
 * the checkpoint code (checkpoint.c).
 */
#ifndef PCNN_TRAIN_TRAINER_H
#define PCNN_TRAIN_TRAINER_H

#include "../core/internal.h"

struct pcnn_trainer {
    pcnn_model *m;             /* borrowed */
    const pcnn_dataset *data;  /* borrowed */
    uint64_t data_fp;          /* pcnn_dataset_fingerprint(data) */
    pcnn_train_opts opts;
    pcnn_train_state state;
    float *mom1, *mom2, *ema;  /* parallel to the model's parameter block */
    int64_t *perm;             /* (data->n): the order of perm_epoch */
    uint64_t perm_epoch;
    uint8_t *x;                /* (batch, C, H, W): the current batch */
    int32_t *labels;           /* (batch) */
    uint8_t *cond;             /* (batch, cond item): condition images */
    float *cond_map;           /* (batch, Cc, H, W): the model's map */
};

/* The data fit a model's condition input: condition images of
 * cond_channels channels that tile the model's size; and values below
 * the model's levels. */
pcnn_status pcnn_check_stage_data(const char *fn, const pcnn_model *m,
                                  const pcnn_dataset *d);

/* Mean bits/dim of m on the first `limit` images of data (all when
 * limit <= 0) as they are (a stage's own images and condition images), in
 * batches of `batch`, without dropout; *se (may be NULL) = the standard
 * error of that mean over images. Internal: the public evaluator is
 * pcnn_chain_evaluate, on raw images. */
pcnn_status pcnn_evaluate(pcnn_ctx *ctx, pcnn_model *m,
                          const pcnn_dataset *data, int batch, int64_t limit,
                          double *mean, double *se);

/* Options in range (lr, decay, betas, EMA, batch). */
pcnn_status pcnn_train_opts_check(const pcnn_train_opts *o);

#endif
