/*
 * freq.h -- integer frequency tables from a head's parameters
 * (docs/compression.md). The encoder and the decoder compute them from
 * the same floats, so they must compute the same integers: everything
 * here is double arithmetic made of +, -, *, / and comparisons only (its
 * own exp and log, no libm, no fused multiply-add), which IEEE 754 rounds
 * the same way on every machine.
 */
#ifndef PCNN_CODEC_FREQ_H
#define PCNN_CODEC_FREQ_H

#include <stdint.h>

/* e^v and log(v) (v > 0; -inf for v <= 0) to about 1e-15 relative. */
double pcnn_det_exp(double v);
double pcnn_det_log(double v);

/* mass[0 .. z-a] = the (unnormalized) probabilities of the values a..z
 * of channel c of one pixel under the logistic mixture l (P = M (1 + 2C +
 * C(C-1)/2) parameters of this pixel, contiguous: pcnn_head's layout with
 * H = W = 1), given the values xv[0 .. c) of its earlier channels. */
void pcnn_dmol_masses(const float *l, int M, int C, int c, const int *xv,
                      int a, int z, double *mass);
/* The same for a categorical head: channel c's softmax over `levels`
 * logits l[c*levels ..], values a..z. */
void pcnn_cat_masses(const float *l, int levels, int c, int a, int z,
                     double *mass);

/* freq[0 .. n) from mass[0 .. n), n >= 1: each >= 1, summing to total
 * (>= n); proportional to the masses but for the ones every value gets,
 * the remainder to the first largest. Masses that are not finite and
 * >= 0 count as 0; all zero: as equal. */
void pcnn_quantize(const double *mass, int n, uint32_t total,
                   uint32_t *freq);

#endif
