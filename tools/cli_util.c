/*
 * cli_util.c -- small helpers of the tool: a monotonic clock, medians,
 * the --weights flag and the kind of a checkpoint file.
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

/* The value after argv[*i] if it is `one` or `other`, into *out; else a
 * one-line message naming the flag, and 2. */
static int choice_arg(const char *cmd, const char *flag, const char *one,
                      const char *other, int argc, char **argv, int *i,
                      const char **out)
{
    const char *v = cli_str_arg(cmd, argc, argv, i);
    if (!v)
        return 2;
    if (strcmp(v, one) && strcmp(v, other)) {
        fprintf(stderr, "pixelcnn %s: %s %s: %s or %s\n", cmd, flag, v, one,
                other);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_weights_arg(const char *cmd, int argc, char **argv, int *i,
                    const char **out)
{
    return choice_arg(cmd, "--weights", "ema", "raw", argc, argv, i, out);
}

int cli_split_arg(const char *cmd, int argc, char **argv, int *i,
                  const char **out)
{
    return choice_arg(cmd, "--split", "train", "test", argc, argv, i, out);
}

int cli_file_kind(const char *cmd, const char *path, const char *weights,
                  pcnn_file_kind *kind)
{
    if (pcnn_file_kind_read(path, kind) != PCNN_OK) {
        fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
        return 1;
    }
    if (*kind == PCNN_FILE_CHAIN && weights) {
        fprintf(stderr,
                "pixelcnn %s: --weights %s: %s is a chain file, which holds "
                "one set of weights (chosen by pixelcnn chain --weights)\n",
                cmd, weights, path);
        return 2;
    }
    return 0;
}

int cli_use_ema(const char *cmd, const char *weights, const char *path,
                int has_trainer)
{
    if (!weights)
        return has_trainer;
    if (!strcmp(weights, "raw"))
        return 0;
    if (!has_trainer) {
        fprintf(stderr,
                "pixelcnn %s: --weights ema: %s holds no EMA weights (it was "
                "saved without a training state); use --weights raw\n",
                cmd, path);
        return -1;
    }
    return 1;
}
