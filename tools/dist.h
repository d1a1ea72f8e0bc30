/*
 * dist.h -- the ranks of `pixelcnn train` (docs/mpi.md): MPI's processes
 * when the tool is built with MPI=1 and started by mpirun (dist_mpi.c),
 * else one process (dist_none.c). The trainer reaches the collectives
 * through d->comm; a collective that does not complete within the
 * timeout stops the whole job with a message. Ranks above 0 keep their
 * stderr to themselves unless they fail, so a job prints once.
 */
#ifndef PCNN_CLI_DIST_H
#define PCNN_CLI_DIST_H

#include "pixelcnn.h"

#include <stdint.h>

typedef struct {
    int rank, size;   /* 0 and 1 for one process */
    double timeout_s; /* a collective waits this long at most */
    pcnn_comm comm;   /* for pcnn_trainer_set_comm */
    /* all-reduces since the last cli_dist_take_stats: calls, bytes sent
     * in (each rank's buffer), seconds spent in them */
    uint64_t calls, bytes;
    double seconds;
    uint64_t total_calls; /* all-reduces of the run */
    int quiet_fd, saved_fd; /* ranks > 0: stderr's capture, the real one */
    int mpi;                /* MPI_Init was called (several ranks) */
} cli_dist;

/* Joins the job: MPI_Init when built with MPI and started by mpirun.
 * 0, or 1 with a message (started by mpirun without MPI built in). */
int cli_dist_start(cli_dist *d, double timeout_s);
/* Leaves the job after a run that ended with rc on this rank: rc 0
 * finalizes; any other rc on a rank of several stops every rank
 * (MPI_Abort with rc) after printing this rank's captured messages;
 * returns rc (one process). */
int cli_dist_end(cli_dist *d, int rc);
/* 1 when flag is nonzero on any rank (an all-reduce). */
int cli_dist_any(cli_dist *d, int flag);
/* x[0 .. n) = its sum over the ranks. */
void cli_dist_sum_f64(cli_dist *d, double *x, size_t n);
/* Every rank resumes, or none: a rank that finds no checkpoint in out
 * while another does would start a new run. 0, or 1 with a message. */
int cli_dist_same_start(cli_dist *d, int resuming, const char *out);
/* Splits the ranks into groups by color (each rank keeps its order):
 * from here d's rank, size, comm and collectives are the group's. 0, or
 * 1 with a message. */
int cli_dist_split(cli_dist *d, int color);
/* Back to all the ranks after cli_dist_split. */
void cli_dist_unsplit(cli_dist *d);
/* A metrics line's exchange fields into s (n bytes), per step over the
 * `steps` since the last line, and the counters restarted (nothing with
 * one rank; train_util.c). */
void cli_dist_fields(cli_dist *d, uint64_t steps, char *s, size_t n);
/* --all-stages: rank r of N trains stage r * nstages / N (contiguous
 * groups), d becomes its group (cli_dist_split), dir (n bytes) its
 * folder out/stageK (train_util.c). 0, or 1/2 with a message (fewer
 * ranks than stages). */
int cli_stage_group(cli_dist *d, int nstages, const char *chain,
                    const char *out, int *stage, char *dir, size_t n);
/* The test bits/dim of t's stage (EMA weights) on the first `limit`
 * images of test (all when <= 0), the ranks each evaluating a
 * contiguous slice and summing the per-image bits: *mean, its standard
 * error *se over images, *images (train_util.c). 0, or 1 with a
 * message. */
int cli_test_eval(cli_dist *d, pcnn_ctx *ctx, pcnn_trainer *t,
                  const pcnn_dataset *test, long limit, double *mean,
                  double *se, int64_t *images);
/* "MPI", or "" when built without it. */
const char *cli_dist_built(void);

#endif
