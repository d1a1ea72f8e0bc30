/*
 * train_flags.h -- `pixelcnn train`'s flags: the values they set, their
 * parser and the checks of a resumed run's flags against its checkpoint
 * (tools/train_flags.c); the run itself is tools/cmd_train.c.
 */
#ifndef PCNN_TRAIN_FLAGS_H
#define PCNN_TRAIN_FLAGS_H

#include "cli.h"

#define TRAIN_MAX_SEEN CLI_MAX_FLAGS

typedef struct {
    const char *data, *out;
    int size, batch, save_every, log_every, threads, resume, no_test;
    int class_cond, reset_ema, has_cond, stage, halvings, crops;
    int resuming; /* --resume and DIR/checkpoint.safetensors exists */
    double crop_min;
    const char *chain, *compute;
    const char *param, *init; /* --param, --init: cfg.plain, cfg.init */
    long limit, test_limit, steps;
    double minutes, mpi_timeout;
    int ranks; /* processes of the run (mpirun -np N) */
    int all_stages, nstages; /* --all-stages; --chain's stage count */
    pcnn_model_config cfg;
    pcnn_train_opts opts;
    const char *seen[TRAIN_MAX_SEEN]; /* the flags given */
    int nseen;
} train_args;

/* The flags' defaults (also the flags fuzz target's starting point). */
train_args train_defaults(void);

/* The flags into *a (which holds the defaults), then the checks of the
 * flags alone (a flag that does nothing in this run is an error, not
 * silently ignored): 0, -1 (--help) or 2 after a message. */
int train_parse(int argc, char **argv, train_args *a);

/* 1 when flag was given on the command line. */
int train_given(const train_args *a, const char *flag);

/* --chain C --stage K: the views of stage K into a->cfg. 0, or 2 with a
 * message. */
int train_chain_stage(train_args *a);

/* With --resume: 0 when every model and training flag given agrees with
 * the checkpoint ckpt's config sc and options so, else 2 with a message
 * (a flag given with another value would silently lose to the saved one). */
int train_check_resume_flags(const train_args *a, const char *ckpt,
                             const pcnn_model_config *sc,
                             const pcnn_train_opts *so);

#endif
