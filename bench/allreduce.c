/*
 * allreduce.c -- the time of one MPI_Allreduce (sum of floats, in place)
 * of each given size, after a barrier so that no rank waits for another
 * to arrive: the exchange alone, as the trainer's gradient exchange
 * would see it with perfectly balanced ranks (docs/mpi.md).
 *   mpicc -O2 -o allreduce bench/allreduce.c
 *   mpirun -np 2 ./allreduce FLOATS... (median of 21 runs each)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int a = 1; a < argc; a++) {
        const long n = atol(argv[a]);
        float *x = calloc((size_t)n, sizeof *x);
        double t[21];
        for (int k = 0; k < 21; k++) {
            MPI_Barrier(MPI_COMM_WORLD);
            const double t0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM,
                          MPI_COMM_WORLD);
            t[k] = MPI_Wtime() - t0;
        }
        qsort(t, 21, sizeof *t, cmp);
        if (rank == 0)
            printf("%d ranks, %ld floats (%.3f MB): %.3f ms (%.2f GB/s "
                   "algorithm bandwidth)\n",
                   size, n, 4e-6 * (double)n, t[10] * 1e3,
                   4e-9 * (double)n / t[10]);
        free(x);
    }
    MPI_Finalize();
    return 0;
}
