/*
 * internal.h -- what the library's files share and users do not see:
 * error reporting, the context and its workspace, the backend table.
 */
#ifndef PCNN_CORE_INTERNAL_H
#define PCNN_CORE_INTERNAL_H

#include "pixelcnn.h"
#include "backend.h"

#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>

/* Constants that strict C11 <math.h> does not promise. */
#define PCNN_LN2 0.69314718055994530942
#define PCNN_PI 3.14159265358979323846

/* Records a one-line message for pcnn_last_error() and returns s. */
pcnn_status pcnn_fail(pcnn_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns from the enclosing function when a check fails. */
#define PCNN_TRY(expr)                                                        \
    do {                                                                      \
        pcnn_status try_s_ = (expr);                                          \
        if (try_s_ != PCNN_OK)                                                \
            return try_s_;                                                    \
    } while (0)

/* An internal invariant: prints file:line and aborts if it does not hold.
 * Never used for anything a caller can cause. */
#define PCNN_ASSERT(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: internal error: %s\n", __FILE__,          \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)

struct pcnn_ctx {
    const pcnn_backend *be;
    int threads;
    pcnn_compute compute;
    void *work;        /* backend memory, grows, never shrinks */
    size_t work_bytes;
    char desc[256];
};

/* A workspace of at least `bytes`, owned by ctx; NULL (status set) when
 * the allocation fails. Valid until the next call on ctx. */
void *pcnn_ctx_work(pcnn_ctx *ctx, size_t bytes);

/* Sets the calling thread's OpenMP/BLAS thread count to ctx's, if it is
 * not already, and its GEMM arithmetic to ctx's compute: each context
 * keeps its own. */
void pcnn_ctx_use_threads(const pcnn_ctx *ctx);

/* Opens path for reading (binary) when it is a regular file; *size (may
 * be NULL) = its size in bytes. PCNN_ERR_IO "PATH: cannot open: why" or
 * "PATH: not a regular file" for a directory, a FIFO (never waited on: it
 * is opened non-blocking), a device; PCNN_ERR_NOMEM when the size does
 * not fit in size_t. Every file the library reads is opened here. */
pcnn_status pcnn_open_regular(const char *path, FILE **out, size_t *size);

/* pcnn_dropout_forward/backward with element i's mask u(seed, first + i):
 * a shard of a batch at element offset `first` gets the masks it has in
 * the whole batch (data-parallel training). */
pcnn_status pcnn_dropout_forward_at(pcnn_ctx *ctx, pcnn_tensor y,
                                    pcnn_tensor x, float p, uint64_t seed,
                                    int64_t first);
pcnn_status pcnn_dropout_backward_at(pcnn_ctx *ctx, pcnn_tensor dx,
                                     pcnn_tensor dy, float p, uint64_t seed,
                                     int64_t first);

/* a * b, or 0 with *overflow set when it does not fit in size_t. */
size_t pcnn_mul_size(size_t a, size_t b, int *overflow);

/* The standard error of the mean of n values with sum `sum` and sum of
 * squares `sq` (sample variance; 0 for n < 2). */
static inline double pcnn_std_error(double sum, double sq, int64_t n)
{
    double var = n > 1 ? (sq - sum * sum / (double)n) / (double)(n - 1) : 0;
    return sqrt(var > 0 ? var : 0) / sqrt((double)n);
}

/* Colors and lightness (src/chain/color.c, colorize.c). lin[v]: the 8-bit
 * sRGB value v decoded to linear light, as pcnn_rgb_to_lab8 decodes it. */
void pcnn_srgb_linear_table(double lin[256]);
/* The L8 of the color (r, g, b), exactly pcnn_rgb_to_lab8's first plane;
 * lin from pcnn_srgb_linear_table. Nondecreasing in each of r, g, b. */
int pcnn_lab8_lightness(const double *lin, int r, int g, int b);
/* Lab8 (L8, a8, b8, not rounded) -> sRGB in [0, 255], not rounded, in
 * portable arithmetic: the codec's exp and log (src/codec/freq.h) in
 * place of libm's pow, so every machine computes the same bits. */
void pcnn_lab8_to_srgb_det(const double lab8[3], double rgb[3]);
/* Bilinear upsampling of the plane src (h, w) to dst (H, W), pixel
 * centers aligned, not rounded (what pcnn_colorize_compose rounds). */
void pcnn_bilinear(double *dst, int64_t H, int64_t W, const uint8_t *src,
                   int64_t h, int64_t w);
/* The sRGB image (3, H, W) of the L8 plane l (H, W) with the chroma ab
 * (2, h, w; h <= H, w <= W) upsampled bilinearly to H x W, as
 * pcnn_colorize_compose composes. */
pcnn_status pcnn_lab8_compose(const uint8_t *l, int64_t H, int64_t W,
                              const uint8_t *ab, int64_t h, int64_t w,
                              uint8_t *rgb);

#endif
