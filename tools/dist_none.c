/*
 * dist_none.c -- `pixelcnn train` as one process: the tool built without
 * MPI (dist_mpi.c with MPI=1). Started by mpirun all the same, it stops
 * rather than let N copies train the same run.
 */
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_dist_built(void) { return ""; }

int cli_dist_start(cli_dist *d, double timeout_s)
{
    memset(d, 0, sizeof *d);
    d->rank = 0, d->size = 1, d->timeout_s = timeout_s;
    d->quiet_fd = d->saved_fd = -1;
    d->comm = (pcnn_comm){0, 1, NULL, NULL, NULL};
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    if (n && atoi(n) > 1) {
        fprintf(stderr, "pixelcnn train: started as one of %s ranks, but "
                        "this pixelcnn is built without MPI: build it with "
                        "make MPI=1 (docs/mpi.md)\n",
                n);
        return 1;
    }
    return 0;
}

int cli_dist_end(cli_dist *d, int rc)
{
    (void)d;
    return rc;
}

int cli_dist_split(cli_dist *d, int color)
{
    (void)d, (void)color;
    return 0;
}

void cli_dist_unsplit(cli_dist *d) { (void)d; }

int cli_dist_any(cli_dist *d, int flag)
{
    (void)d;
    return flag != 0;
}

void cli_dist_sum_f64(cli_dist *d, double *x, size_t n)
{
    (void)d, (void)x, (void)n;
}
