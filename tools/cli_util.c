/*
 * cli_util.c -- small helpers of the tool: a monotonic clock, medians,
 * the --weights flag.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cli_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int cli_weights_arg(const char *cmd, int argc, char **argv, int *i,
                    const char **out)
{
    const char *w = cli_str_arg(cmd, argc, argv, i);
    if (!w)
        return 2;
    if (strcmp(w, "ema") && strcmp(w, "raw")) {
        fprintf(stderr, "pixelcnn %s: --weights %s: ema or raw\n", cmd, w);
        return 2;
    }
    *out = w;
    return 0;
}
