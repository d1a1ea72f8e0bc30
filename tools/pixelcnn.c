/* pixelcnn.c -- the command-line tool: dispatch to subcommands. */
#include "cli.h"
#include "pixelcnn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train a PixelCNN++ model, checkpointing as it goes"},
    {"eval", cmd_eval, "bits/dim of a checkpoint on a data set"},
    {"info", cmd_info, "a checkpoint's config, size and training state"},
    {"sample", cmd_sample, "draw images from a checkpoint (PNG grid, .npy)"},
    {"complete", cmd_complete, "fill in the unknown part of images"},
    {"chain", cmd_chain, "join stage checkpoints into one chain file"},
    {"upscale", cmd_upscale,
     "sample a chain's later stages given an image (super-resolution)"},
    {"export", cmd_export, "a model's weights without its training state"},
    {"colorize", cmd_colorize,
     "colorize gray or color images with a chroma model"},
    {"bench", cmd_bench, "conv throughput vs the machine's SGEMM rate"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: pixelcnn COMMAND [flags]   (pixelcnn COMMAND --help)\n"
               "\n"
               "PixelCNN++ and auxiliary-variable PixelCNN density models.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-10s %s\n", "version", "print the version");
}

int cli_int_arg(const char *cmd, int argc, char **argv, int *i, int lo,
                int hi, int *out)
{
    const char *flag = argv[*i];
    if (*i + 1 >= argc) {
        fprintf(stderr, "pixelcnn %s: %s needs a value\n", cmd, flag);
        return 1;
    }
    const char *s = argv[++*i];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "pixelcnn %s: %s %s: expected an integer in %d..%d\n",
                cmd, flag, s, lo, hi);
        return 1;
    }
    *out = (int)v;
    return 0;
}

int cli_double_arg(const char *cmd, int argc, char **argv, int *i, double lo,
                   double hi, double *out)
{
    const char *flag = argv[*i];
    if (*i + 1 >= argc) {
        fprintf(stderr, "pixelcnn %s: %s needs a value\n", cmd, flag);
        return 1;
    }
    const char *s = argv[++*i];
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "pixelcnn %s: %s %s: expected a number in %g..%g\n",
                cmd, flag, s, lo, hi);
        return 1;
    }
    *out = v;
    return 0;
}

const char *cli_str_arg(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "pixelcnn %s: %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_bad_flag(const char *cmd, const char *flag)
{
    fprintf(stderr, "pixelcnn %s: unknown flag %s (see pixelcnn %s --help)\n",
            cmd, flag, cmd);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("pixelcnn %s\n", PCNN_VERSION);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "pixelcnn: unknown command '%s' (see pixelcnn --help)\n",
            cmd);
    return 2;
}
