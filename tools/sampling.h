/*
 * sampling.h -- what pixelcnn sample, complete and upscale share
 * (sampling.c): their common flags, the images they start from, the
 * checks of the flags against the models, the sampler's options and the
 * drawing of a stage's images.
 */
#ifndef PCNN_CLI_SAMPLING_H
#define PCNN_CLI_SAMPLING_H

#include "cli.h"

typedef struct {
    const char *ckpt, *out, *npy, *weights, *compute;
    int n, cols, scale, cls, threads, naive, consistent;
    int has_offset, has_temperature; /* given on the command line */
    double seed, offset, temperature;
} common;

/* The flags that mean the same in sample, complete and upscale, into
 * the common c. */
#define SAMPLING_FLAGS(c)                                                     \
    CLI_DOUBLE_F("--seed", &(c)->seed, 0, 9007199254740992.0, "S",          \
                 "random seed; same seed, same images", .show_default = 1),  \
    CLI_DOUBLE_F("--log-scale-offset", &(c)->offset, -19.99, 19.99, "X",    \
                 "added to every logistic log-scale: < 0 gives sharper, "    \
                 "less varied images",                                       \
                 .show_default = 1),                                         \
    CLI_DOUBLE_F("--temperature", &(c)->temperature, 0.0011, 999, "T",      \
                 "categorical heads: logits / T", .show_default = 1),        \
    CLI_INT_F("--class", &(c)->cls, 0, 65535, "K",                          \
              "class-conditional models: the class to draw"),               \
    CLI_BOOL_F("--naive", &(c)->naive,                                      \
               "the reference sampler: one full forward pass per pixel "    \
               "(slow; for checking)"),                                     \
    CLI_INT_F("--scale", &(c)->scale, 1, 32, "N",                           \
              "each pixel as N x N in the grid (default: 2 for images "     \
              "under 64 pixels, else 1)",                                   \
              .applies = cli_not_npy, .ctx = &(c)->out,                     \
              .why = "-o FILE.npy writes no grid"),                         \
    CLI_INT_F("--threads", &(c)->threads, 1, 4096, "N",                     \
              "threads (default: all cores)"),                              \
    CLI_COMPUTE_F(&(c)->compute)

/* The images a command starts from: one file or part of a data set. */
typedef struct {
    const char *image, *data, *split;
    int index, count;
} inputs;

/* --image, --data and the flags that pick images of --data, into the
 * inputs in */
#define INPUT_FLAGS(in)                                                       \
    CLI_STRING_F("--image", &(in)->image, "FILE",                           \
                 "a PNG/JPEG, center-cropped and resized to the model's "   \
                 "size (a chain's: its last stage's)"),                     \
    CLI_STRING_F("--data", &(in)->data, "KIND:PATH",                        \
                 "or images of a data set (see pixelcnn eval)"),            \
    CLI_CHOICE_F("--split", &(in)->split, "train test", "S",               \
                 "train or test", .show_default = 1,                        \
                 .conflicts = "--image", .why = WHY_INPUT),                 \
    CLI_INT_F("--index", &(in)->index, 0, 2000000000, "I",                  \
              "first image of the data set", .show_default = 1,             \
              .conflicts = "--image", .why = WHY_INPUT),                    \
    CLI_INT_F("--count", &(in)->count, 1, 1024, "K",                        \
              "images from --index on", .show_default = 1,                  \
              .conflicts = "--image", .why = WHY_INPUT)
#define WHY_INPUT "it picks images of --data; --image gives one image"

/* c with the defaults of a command writing `out` and drawing n images. */
void sampling_init(common *c, const char *out, int n);
/* After cli_parse: what the flags alone say (has_offset, ...). */
void sampling_given(common *c, const cli_cmd *p);
/* Before any work: the output files can be written. 0, or 1/2 with a
 * message. */
int sampling_check_outputs(const char *cmd, const common *c);
/* Flags that only some models use, against the configs of the n models
 * (a chain's stages) that will be sampled. 0, or 2 with a message. */
int sampling_check_flags(const char *cmd, const common *c,
                         const pcnn_model_config *const *cfg, int n);
/* Loads the inputs as C x H x W images into d (a file: one image, center-
 * cropped and resized); *K = the images from in->index on (at most
 * in->count). 0, or 1/2 with a message. */
int sampling_load_inputs(const char *cmd, inputs *in, int C, int H, int W,
                         pcnn_dataset *d, int64_t *K);
/* The sampler's options of c, for labels (or NULL); a progress line on a
 * terminal. */
pcnn_model_sample_opts sampling_opts(const common *c, const int32_t *labels,
                                     const char *cmd);
/* --scale, or 2 for images under 64 pixels, else 1. */
int sampling_scale(const common *c, const pcnn_model_config *cfg);
/* Stage image img (c, h, w; `levels` values) drawn into dst (C, H, W):
 * values stretched to 0..255, gray repeated, pixels repeated. */
void sampling_display(uint8_t *dst, int C, int H, int W, const uint8_t *img,
                      int c, int h, int w, int levels);

#endif
