/* pixelcnn.c -- the command-line tool: dispatch to subcommands. */
#include "cli.h"
#include "dist.h"
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
    {"score", cmd_score,
     "bits/dim of each image, per stage and per pixel; pseudo-counts"},
    {"info", cmd_info, "a checkpoint's config, size and training state"},
    {"sample", cmd_sample, "draw images from a checkpoint (PNG grid, .npy)"},
    {"complete", cmd_complete, "fill in the unknown part of images"},
    {"chain", cmd_chain, "join stage checkpoints into one chain file"},
    {"upscale", cmd_upscale,
     "sample a chain's later stages given an image (super-resolution)"},
    {"export", cmd_export, "a model's weights without its training state"},
    {"colorize", cmd_colorize,
     "colorize gray or color images with a chroma model"},
    {"demo", cmd_demo,
     "what the shipped models do, in a minute (pictures in a folder)"},
    {"compress", cmd_compress,
     "code images losslessly with a model (file size = bits/dim)"},
    {"decompress", cmd_decompress, "decode a file of pixelcnn compress"},
    {"restore", cmd_restore,
     "denoise, deblur or inpaint images with a model (greedy decoding)"},
    {"purify", cmd_purify,
     "PixelDefend: move each value to its most probable one within eps"},
    {"bench", cmd_bench, "conv throughput vs the machine's SGEMM rate"},
    {"profile", cmd_profile,
     "time per op class of a training step and of sampling"},
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
        /* the MPI build says so (train under mpirun, docs/mpi.md) */
        printf("pixelcnn %s%s%s\n", PCNN_VERSION,
               *cli_dist_built() ? " with " : "", cli_dist_built());
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "pixelcnn: unknown command '%s' (see pixelcnn --help)\n",
            cmd);
    return 2;
}
