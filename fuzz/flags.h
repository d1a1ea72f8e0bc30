/*
 * flags.h -- the flag parsers of the tool's commands, whose tables are
 * private to a command file, reached by flags_train.c and flags_sample.c,
 * which include those files whole (so the tool itself stays as it is).
 */
#ifndef PCNN_FUZZ_FLAGS_H
#define PCNN_FUZZ_FLAGS_H

/* `pixelcnn train`'s parse() on argv (argv[0] "train"), from the
 * defaults cmd_train starts with: 0, -1 (--help) or 2. */
int fuzz_train_parse(int argc, char **argv);

/* `pixelcnn sample`'s and `pixelcnn upscale`'s flags on argv, from their
 * defaults: 0, -1 or 2. */
int fuzz_sample_parse(int argc, char **argv);
int fuzz_upscale_parse(int argc, char **argv);

/* `pixelcnn complete`'s flags on argv (argv[0] "complete"), then its
 * --known SPEC as the mask of an h x w model: 0, -1 or 2. */
int fuzz_complete_parse(int argc, char **argv, int h, int w);

#endif
