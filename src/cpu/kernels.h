/*
 * kernels.h -- the CPU kernels, in float (_f32) and double (_f64).
 *
 * Kernels trust their arguments: shapes were checked by the public API
 * (src/api/). They never fail, allocate or print. Conventions as in
 * pixelcnn.h: NCHW, backward accumulates (+=), a NULL gradient is skipped.
 */
#ifndef PCNN_CPU_KERNELS_H
#define PCNN_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Geometry of a conv or transposed conv (see pixelcnn.h for the maths).
 * conv:   x (B,Ci,H,W) -> y (B,Co,Ho,Wo), w (Co,Ci,kh,kw), pt/pl = padding.
 * deconv: x (B,Ci,H,W) -> y (B,Co,Ho,Wo), w (Ci,Co,kh,kw), pt/pl = crop. */
typedef struct {
    int64_t B, Ci, H, W, Co, Ho, Wo;
    int kh, kw, stride, pt, pl;
    int dil; /* >= 1; transposed convs: 1 */
} pcnn_conv_dims;

/* conv2d_forward in float on AVX-512 without the im2col workspace
 * (conv_avx512.c): y (B,Co,Ho,Wo) = b + w * x, or with accumulate
 * y += w * x (b unused). 0, or -1 when it cannot (Co too large for its
 * kernel, or no memory for its packing buffers: nothing written then). */
int pcnn_conv_forward_avx512(float *y, const float *x, const float *w,
                             const float *b, const pcnn_conv_dims *d,
                             int accumulate, int nthreads);

/* conv2d_forward by Winograd F(2x2, kh x kw) (conv_winograd.c): stride 1,
 * dilation 1, kh and kw in {2, 3}, Wo a multiple of 16, Ho even, B Ho Wo
 * a multiple of 128 (what _fits says). y = b + w * x, or with accumulate
 * y += w * x (b unused), up to float rounding; 0, or -1 when it does not
 * fit or has no memory (nothing written then). */
int pcnn_conv_winograd_fits(const pcnn_conv_dims *d);
int pcnn_conv_winograd_forward(float *y, const float *x, const float *w,
                               const float *b, const pcnn_conv_dims *d,
                               int accumulate, int nthreads);

/* Workspace, in elements, that conv2d / deconv2d kernels need. */
size_t pcnn_cpu_conv2d_work(const pcnn_conv_dims *d);
size_t pcnn_cpu_deconv2d_work(const pcnn_conv_dims *d);

/* Shape of a likelihood head call: B images of HW pixels, C channels,
 * M mixture components (DMOL) or K levels (categorical). */
typedef struct {
    int64_t B, HW;
    int C, M, K;
} pcnn_head_dims;

#define REAL float
#define KFN(name) pcnn_cpu_##name##_f32
#include "kernels_decl.h"
#undef REAL
#undef KFN
#define REAL double
#define KFN(name) pcnn_cpu_##name##_f64
#include "kernels_decl.h"
#undef REAL
#undef KFN

#endif
