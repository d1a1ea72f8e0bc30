/*
 * cmd_demo.c -- `pixelcnn demo`: every capability of the shipped models in
 * about a minute: sample grids of the plain model and of every chain, a
 * completion, an upscale and a colorization of a bundled photograph. Each
 * step is the tool's own command (sample, complete, upscale, colorize) run
 * with fixed flags, so the demo shows exactly what a user gets from them.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char usage[] =
    "usage: pixelcnn demo [--out DIR] [--models DIR] [--image FILE] [flags]\n"
    "\n"
    "Shows what the shipped models do, in about a minute on 2 cores: a\n"
    "sample grid of the plain PixelCNN++ and of each chain (gray, pyramid,\n"
    "faces pyramid), completions of the bottom half of a photograph, its\n"
    "super-resolution from 8x8 by the pyramid chain, its colorization, a\n"
    "square of its 32x32 version inpainted (pixelcnn restore), that version\n"
    "compressed losslessly (sizes against its PNG) and\n"
    "decoded progressively (the pyramid file's 8x8 stage alone).\n"
    "Writes the pictures into DIR and prints a summary with their paths.\n"
    "A model missing from --models is skipped (and said so); run it from\n"
    "the repository's root, where results/ holds the models.\n";

static const char epilog[] =
    "The photograph, examples/chelsea.png, is a 128x128 crop of scikit-image's\n"
    "chelsea.png (CC0, by Stefan van der Walt; Debian's python3-skimage);\n"
    "examples/chelsea32.png is it resized to 32x32.\n"
    "\n"
    "exit status: 0 when every step ran or was skipped, 1 when one failed\n"
    "or none ran, 2 bad usage\n";

typedef struct {
    const char *what;  /* for the summary */
    const char *model; /* under --models */
    const char *out;   /* under --out */
    const char *cmd;   /* the command */
    const char *args;  /* its flags besides checkpoint, output, seed, threads
                        * ("%I" the image, "%S" its 32x32 version, "%O"
                        * --out's folder + "/"); space-separated */
    int (*run)(int argc, char **argv);
    int seeded; /* the command takes --seed */
} demo_step;

static const demo_step steps[] = {
    {"plain PixelCNN++, CIFAR-10 (JPEG-q75 copy): samples",
     "cifar10-jpeg-q75/model.safetensors", "samples-cifar10.png",
     "sample", "-n %N --cols 8", cmd_sample, 1},
    {"gray chain (gray4, then colors): samples, each stage side by side",
     "cifar10-gray-chain/chain.safetensors", "samples-gray-chain.png",
     "sample", "-n %N --cols 4", cmd_sample, 1},
    {"pyramid chain 8 -> 16 -> 32: samples, each stage side by side",
     "cifar10-pyramid/chain.safetensors", "samples-pyramid.png", "sample",
     "-n %N --cols 4", cmd_sample, 1},
    {"faces pyramid 8 -> 64: samples, each stage side by side",
     "faces-pyramid/chain.safetensors", "samples-faces-pyramid.png",
     "sample", "-n %N --cols 4", cmd_sample, 1},
    {"completions of the photograph's bottom half (plain model)",
     "cifar10-jpeg-q75/model.safetensors", "completions.png",
     "complete", "--image %I --known top -n 6", cmd_complete, 1},
    {"super-resolution of the photograph from 8x8 (pyramid chain)",
     "cifar10-pyramid/chain.safetensors", "upscale.png", "upscale",
     "--image %I --from 1 -n 6", cmd_upscale, 1},
    {"colorizations of the photograph's lightness",
     "colorize/colorizer.safetensors", "colorize.png", "colorize",
     "%I -n 6 --scale 1", cmd_colorize, 1},
    {"restoration: a 12x12 square of the 32x32 photograph inpainted "
     "(plain model, posterior mean)",
     "cifar10-jpeg-q75/model.safetensors", "inpaint.png", "restore",
     "--mode inpaint --mask-rect 10,10,22,22 --mean %S", cmd_restore, 0},
    {"lossless compression of the 32x32 photograph (plain model)",
     "cifar10-jpeg-q75/model.safetensors", "chelsea32-plain.pcnn",
     "compress", "%S", cmd_compress, 0},
    {"lossless compression of the 32x32 photograph (pyramid chain)",
     "cifar10-pyramid/chain.safetensors", "chelsea32-pyramid.pcnn",
     "compress", "%S", cmd_compress, 0},
    {"progressive decoding: the 8x8 stage of the pyramid file alone",
     "cifar10-pyramid/chain.safetensors", "chelsea32-pyramid-8x8.png",
     "decompress", "%Ochelsea32-pyramid.pcnn --stage 0", cmd_decompress, 0},
};
#define NSTEPS (int)(sizeof steps / sizeof steps[0])

typedef struct {
    const char *out, *models, *image, *small;
    int n, threads;
    uint64_t seed;
} demo_opts;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs step s: builds its argv (the words of args with %I and %N put in,
 * then --checkpoint, -o, --seed, --threads) and calls its command. The
 * exit status, or -1 when the model is missing. */
static int run_step(const demo_step *s, const demo_opts *o, char *outpath,
                    size_t outlen)
{
    char model[4200], words[512], nbuf[16], seed[32], threads[16],
        odir[4200];
    snprintf(model, sizeof model, "%s/%s", o->models, s->model);
    snprintf(outpath, outlen, "%s/%s", o->out, s->out);
    struct stat st;
    if (stat(model, &st) != 0)
        return -1;
    snprintf(nbuf, sizeof nbuf, "%d", o->n);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    snprintf(threads, sizeof threads, "%d", o->threads);
    snprintf(words, sizeof words, "%s", s->args);
    char *argv[32], owords[4][4300];
    int argc = 0, nw = 0;
    argv[argc++] = (char *)s->cmd;
    for (char *w = strtok(words, " "); w && argc < 20; w = strtok(NULL, " "))
        if (!strncmp(w, "%O", 2) && nw < 4) {
            snprintf(odir, sizeof odir, "%s/", o->out);
            snprintf(owords[nw], sizeof owords[nw], "%s%s", odir, w + 2);
            argv[argc++] = owords[nw++];
        } else {
            argv[argc++] = !strcmp(w, "%I")   ? (char *)o->image
                           : !strcmp(w, "%S") ? (char *)o->small
                           : !strcmp(w, "%N") ? nbuf
                                              : w;
        }
    argv[argc++] = "--checkpoint", argv[argc++] = model;
    argv[argc++] = "-o", argv[argc++] = outpath;
    if (s->seeded)
        argv[argc++] = "--seed", argv[argc++] = seed;
    if (o->threads > 0)
        argv[argc++] = "--threads", argv[argc++] = threads;
    argv[argc] = NULL;
    fflush(stdout);
    return s->run(argc, argv);
}

/* The checks before any step: the photograph reads, DIR can be made. */
static int prepare(const demo_opts *o)
{
    const char *files[2] = {o->image, o->small}, *names[2] = {"--image",
                                                             "--image32"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "rb");
        if (!f) {
            fprintf(stderr,
                    "pixelcnn demo: %s %s: %s (run from the repository's "
                    "root, or give %s)\n",
                    names[i], files[i], strerror(errno), names[i]);
            return 1;
        }
        fclose(f);
    }
    struct stat st;
    if (stat(o->models, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "pixelcnn demo: --models %s: not a folder (run from the "
                "repository's root, where results/ holds the models)\n",
                o->models);
        return 1;
    }
    return cli_mkdirs("demo", "--out", o->out);
}

static long size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The compressed files' sizes against the 32x32 image's PNG, in bytes and
 * bits per dim (3x32x32 dims), when the compression steps ran. */
static void print_compression(const demo_opts *o)
{
    static const char *const files[] = {"chelsea32-plain.pcnn",
                                        "chelsea32-pyramid.pcnn"};
    char path[4200];
    const long png = size_of(o->small);
    printf("\nlossless, %s (3x32x32): PNG as stored %ld bytes (%.3f "
           "bits/dim)\n",
           o->small, png, png * 8.0 / 3072);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", o->out, files[i]);
        const long n = size_of(path);
        if (n > 0)
            printf("  %-38s %ld bytes (%.3f bits/dim)\n", path, n,
                   n * 8.0 / 3072);
    }
}

static int parse(int argc, char **argv, demo_opts *o)
{
    cli_flag flags[] = {
        CLI_STRING_F("--out", &o->out, "DIR",
                     "the folder for the pictures (made if missing)",
                     .show_default = 1),
        CLI_STRING_F("--models", &o->models, "DIR",
                     "the shipped models' folder", .show_default = 1),
        CLI_STRING_F("--image", &o->image, "FILE",
                     "the photograph to complete, upscale and colorize",
                     .show_default = 1),
        CLI_STRING_F("--image32", &o->small, "FILE",
                     "a 32x32 RGB image to compress losslessly",
                     .show_default = 1),
        CLI_INT_F("-n", &o->n, 1, 64, "N", "samples per grid",
                  .show_default = 1),
        CLI_U64_F("--seed", &o->seed, 0, 1.8e19, "S", "random seed",
                  .show_default = 1),
        CLI_INT_F("--threads", &o->threads, 1, 4096, "N",
                  "threads (default: all cores)"),
    };
    cli_cmd p = CLI_CMD("demo", usage, epilog, flags);
    return cli_parse(&p, argc, argv);
}

int cmd_demo(int argc, char **argv)
{
    demo_opts o = {.out = "demo", .models = "results",
                   .image = "examples/chelsea.png",
                   .small = "examples/chelsea32.png", .n = 8, .seed = 1};
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = prepare(&o)))
        return rc;
    char paths[NSTEPS][4200];
    int status[NSTEPS];
    double secs[NSTEPS], t0 = now();
    for (int i = 0; i < NSTEPS; i++) {
        printf("== %s\n", steps[i].what);
        const double t = now();
        status[i] = run_step(&steps[i], &o, paths[i], sizeof paths[i]);
        secs[i] = now() - t;
        if (status[i] < 0)
            printf("skipped: no %s/%s\n", o.models, steps[i].model);
    }
    int failed = 0, ran = 0;
    printf("\ndemo: %.1f s in all\n", now() - t0);
    for (int i = 0; i < NSTEPS; i++) {
        failed += status[i] > 0, ran += status[i] >= 0;
        printf("  %-38s %5.1f s  %s\n",
               status[i] == 0 ? paths[i]
               : status[i] < 0 ? "(skipped: model missing)"
                               : "(failed)",
               secs[i], steps[i].what);
    }
    print_compression(&o);
    if (!ran)
        fprintf(stderr, "pixelcnn demo: nothing ran: no shipped model in "
                        "--models %s\n", o.models);
    return failed || !ran ? 1 : 0;
}
