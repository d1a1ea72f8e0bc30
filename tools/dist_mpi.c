/*
 * dist_mpi.c -- the ranks of `pixelcnn train` as MPI processes (built
 * with MPI=1 only; dist_none.c otherwise). Every collective is
 * non-blocking and polled against a deadline, so a rank that hangs
 * stops the job with a message instead of leaving the others waiting
 * forever; a rank that dies is mpirun's to handle (it stops the job).
 */
#include "dist.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *cli_dist_built(void) { return "MPI"; }

/* The ranks the collectives span: all of them, or a group
 * (cli_dist_split). */
static MPI_Comm comm_;

/* Polls r until done; past the deadline, stops every rank. The first
 * polls spin (an exchange takes microseconds to milliseconds), later
 * ones sleep 0.2 ms so a rank waiting on a slow one leaves its core to
 * the others. */
static void wait_done(cli_dist *d, MPI_Request *r, const char *what)
{
    const double t0 = MPI_Wtime();
    for (long k = 0;; k++) {
        int done = 0;
        MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        if (MPI_Wtime() - t0 > d->timeout_s) {
            dprintf(d->saved_fd >= 0 ? d->saved_fd : 2,
                    "pixelcnn train: rank %d of %d: the %s did not complete "
                    "within %g s (--mpi-timeout): a rank died or hangs; "
                    "stopping the job (the last checkpoint stays as it "
                    "was)\n",
                    d->rank, d->size, what, d->timeout_s);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (k > 20000) {
            const struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
}

/* Fault injection for the tests (tests/test_mpi.c): PCNN_MPI_FAULT="kill
 * R K", "hang R K" or "term R K": rank R kills itself (SIGKILL), stops
 * responding, or gets a SIGTERM of its own at its K-th all-reduce. */
static void inject_fault(const cli_dist *d)
{
    const char *f = getenv("PCNN_MPI_FAULT");
    char what[8];
    int rank;
    unsigned long long call;
    if (!f || sscanf(f, "%7s %d %llu", what, &rank, &call) != 3 ||
        rank != d->rank || call != d->total_calls)
        return;
    if (!strcmp(what, "kill"))
        raise(SIGKILL);
    if (!strcmp(what, "term"))
        raise(SIGTERM);
    if (!strcmp(what, "hang"))
        for (;;)
            pause();
}

static int allreduce_f32(void *arg, float *x, size_t n)
{
    cli_dist *d = arg;
    d->total_calls++;
    inject_fault(d);
    const double t0 = MPI_Wtime();
    /* in slices: MPI counts are ints */
    for (size_t off = 0; off < n; off += (size_t)1 << 30) {
        const size_t m = n - off < (size_t)1 << 30 ? n - off : (size_t)1 << 30;
        MPI_Request r;
        if (MPI_Iallreduce(MPI_IN_PLACE, x + off, (int)m, MPI_FLOAT, MPI_SUM,
                           comm_, &r) != MPI_SUCCESS)
            return 1;
        wait_done(d, &r, "all-reduce");
    }
    d->calls++, d->bytes += n * sizeof(float);
    d->seconds += MPI_Wtime() - t0;
    return 0;
}

static int bcast_bytes(void *arg, void *x, size_t bytes)
{
    cli_dist *d = arg;
    for (size_t off = 0; off < bytes; off += (size_t)1 << 30) {
        const size_t m =
            bytes - off < (size_t)1 << 30 ? bytes - off : (size_t)1 << 30;
        MPI_Request r;
        if (MPI_Ibcast((char *)x + off, (int)m, MPI_BYTE, 0, comm_, &r) !=
            MPI_SUCCESS)
            return 1;
        wait_done(d, &r, "broadcast");
    }
    return 0;
}

/* Started by a launcher: Open MPI's mpirun, or PMI/PMIx (MPICH, Slurm). */
static int launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") ||
           getenv("PMIX_RANK");
}

/* Ranks above 0: stderr into a temporary file, shown only if the rank
 * fails (cli_dist_end). */
static void capture_stderr(cli_dist *d)
{
    FILE *f = tmpfile();
    if (!f)
        return;
    fflush(stderr);
    d->saved_fd = dup(2);
    d->quiet_fd = dup(fileno(f));
    fclose(f);
    if (d->saved_fd < 0 || d->quiet_fd < 0 || dup2(d->quiet_fd, 2) < 0)
        d->saved_fd = d->quiet_fd = -1;
}

int cli_dist_start(cli_dist *d, double timeout_s)
{
    memset(d, 0, sizeof *d);
    d->rank = 0, d->size = 1, d->timeout_s = timeout_s;
    d->quiet_fd = d->saved_fd = -1;
    d->comm = (pcnn_comm){0, 1, NULL, NULL, NULL};
    if (!launched())
        return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "pixelcnn train: MPI_Init failed\n");
        return 1;
    }
    comm_ = MPI_COMM_WORLD;
    d->mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    if (d->size == 1) {
        MPI_Finalize();
        d->rank = 0, d->mpi = 0;
        return 0;
    }
    d->comm = (pcnn_comm){d->rank, d->size, d, allreduce_f32, bcast_bytes};
    if (d->rank > 0)
        capture_stderr(d);
    return 0;
}

/* This rank's captured messages, each line as "rank R: line", to the
 * real stderr. */
static void show_captured(cli_dist *d)
{
    if (d->quiet_fd < 0)
        return;
    fflush(stderr);
    FILE *f = fdopen(dup(d->quiet_fd), "r");
    if (!f)
        return;
    rewind(f);
    char line[1024];
    int start = 1;
    while (fgets(line, sizeof line, f)) {
        if (start)
            dprintf(d->saved_fd, "[rank %d] ", d->rank);
        dprintf(d->saved_fd, "%s", line);
        start = strchr(line, '\n') != NULL;
    }
    fclose(f);
}

int cli_dist_end(cli_dist *d, int rc)
{
    if (!d->mpi)
        return rc;
    /* a signal stops every rank after the same step (cli_dist_any):
     * they end together; any other failure may be this rank's alone */
    if (rc == 0 || rc >= 128) {
        MPI_Finalize();
        return rc;
    }
    show_captured(d);
    MPI_Abort(MPI_COMM_WORLD, rc);
    return rc;
}

/* d's rank, size and trainer comm from comm_ (the stderr capture stays
 * that of the world rank). */
static void take_comm(cli_dist *d)
{
    MPI_Comm_rank(comm_, &d->rank);
    MPI_Comm_size(comm_, &d->size);
    d->comm = (pcnn_comm){d->rank, d->size, d, allreduce_f32, bcast_bytes};
}

int cli_dist_split(cli_dist *d, int color)
{
    int world;
    MPI_Comm_rank(MPI_COMM_WORLD, &world);
    if (MPI_Comm_split(MPI_COMM_WORLD, color, world, &comm_) !=
        MPI_SUCCESS) {
        fprintf(stderr, "pixelcnn train: MPI_Comm_split failed\n");
        return 1;
    }
    take_comm(d);
    return 0;
}

void cli_dist_unsplit(cli_dist *d)
{
    if (comm_ != MPI_COMM_WORLD)
        MPI_Comm_free(&comm_);
    comm_ = MPI_COMM_WORLD;
    take_comm(d);
}

int cli_dist_any(cli_dist *d, int flag)
{
    if (d->size <= 1)
        return flag != 0;
    float v = flag != 0;
    if (allreduce_f32(d, &v, 1))
        MPI_Abort(MPI_COMM_WORLD, 1);
    return v > 0;
}

void cli_dist_sum_f64(cli_dist *d, double *x, size_t n)
{
    if (d->size <= 1 || n == 0)
        return;
    MPI_Request r;
    if (MPI_Iallreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM,
                       comm_, &r) != MPI_SUCCESS)
        MPI_Abort(MPI_COMM_WORLD, 1);
    wait_done(d, &r, "all-reduce");
}
