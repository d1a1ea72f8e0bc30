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
    pcnn_comm comm;            /* {0, 1}: a single process */
    int64_t lo, nb;            /* this rank's shard of every global batch:
                                * images [lo, lo + nb) */
};

/* Every 100 steps the ranks of a data-parallel run compare a hash of
 * their replicas. */
#define PCNN_REPLICA_CHECK_EVERY 100

/* With t->comm.size > 1: 0 when every rank's weights, EMA, moments,
 * state and options equal rank 0's, else PCNN_ERR_VALUE (or PCNN_ERR_IO
 * for a failed collective). Collective. */
pcnn_status pcnn_trainer_check_replicas(pcnn_trainer *t, const char *when);

/* After rank 0's data-dependent init, which returned s: its outcome and
 * weights to every rank. s without a comm. Collective. */
pcnn_status pcnn_trainer_share_init(pcnn_trainer *t, pcnn_status s);

/* x[0 .. n) = its sum over the ranks (no-op for one); PCNN_ERR_IO naming
 * `what` when the collective fails. Collective. */
pcnn_status pcnn_trainer_reduce(pcnn_trainer *t, float *x, size_t n,
                                const char *what);

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
