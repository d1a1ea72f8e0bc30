/*
 * cli_util.h -- what the CLI tests (tests/test_cli*.c) share:
 * the tool's path, running a command with its output captured, and a tiny
 * MNIST-format data set to train on.
 */
#ifndef PCNN_TEST_CLI_UTIL_H
#define PCNN_TEST_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The pixelcnn binary: $PCNN_CLI, or build/pixelcnn. */
const char *cli(void);

/* 1 when the binary exists; else marks the test skipped and returns 0. */
int have_cli(void);

/* Runs a shell command, captures up to n-1 bytes of its output (stdout and
 * stderr) into out, returns its exit status (-1 if it did not exit). */
int run(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A tiny MNIST-format data set (64 train, 16 test images of 8x8, 4
 * classes) in dir; 0 on success. */
int write_idx(const char *dir);

/* A random-init 1x8x8 one-channel model, (1, 8, 2), drawn with seed,
 * saved at path without a trainer; 0 on success. */
int cli_tiny_model(const char *path, uint64_t seed);

/* The bytes of a file (at most n) into buf; the count, or -1. */
long cli_slurp(const char *path, unsigned char *buf, long n);

/* The newlines in s. */
int cli_lines(const char *s);

/* The size of the file at path, or -1. */
long file_size(const char *path);

/* A P6 PPM of w x h pixels with smooth colors (seed s); 0 on success. */
int cli_write_ppm(const char *path, int w, int h, int s);

/* Twelve 16x16 color images, dir/img/00.ppm .. 11.ppm; 0 on success. */
int cli_color_folder(const char *dir);

/* Flags of a tiny model and run for `pixelcnn train`. */
#define TINY "--nr-resnet 1 --nr-filters 8 --nr-mix 2 --nr-resolutions 2 " \
             "--batch 8 --dropout 0.2 --threads 1"

#endif
