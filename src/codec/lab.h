/*
 * lab.h -- the last coded stage of a color chain (docs/compression.md):
 * the images X given their L8 planes and their half-resolution chroma,
 * both coded by the chain's models before it. Each pixel's color is
 * coded among the colors of its lightness only.
 */
#ifndef PCNN_CODEC_LAB_H
#define PCNN_CODEC_LAB_H

#include "rans.h"
#include "../core/internal.h"

/* The values channel c (R, G, B) of a pixel of lightness l can take given
 * its channels before c (v[0 .. c)), lin from pcnn_srgb_linear_table:
 * those for which some values of the channels after it give the color the
 * L8 l. [*lo, *hi]; empty (lo > hi) when there are none. An interval
 * because L8 is nondecreasing in every channel, and exactly those values
 * because a step of one blue level moves L8 by well under one level and a
 * step of green by less than blue's whole range does (checked over every
 * color in tests/test_codec_color.c). */
void pcnn_lab_range(const double *lin, int l, int c, const int *v, int *lo,
                    int *hi);

/* Codes (e not NULL) or decodes (e NULL, from d) the B images x (B, 3, H,
 * W) given their L8 planes l (B, 1, H, W) and chroma ab (B, 2, h, w). A
 * failure names fn and the stage. */
pcnn_status pcnn_lab_code(const char *fn, int stage, pcnn_image x,
                          const uint8_t *l, const uint8_t *ab, int64_t h,
                          int64_t w, pcnn_rans_enc *e, pcnn_rans_dec *d);

#endif
