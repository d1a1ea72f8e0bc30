/*
 * codec.c -- fuzz target: the compressed-file reader and decoder
 * (src/codec/, pcnn_codec_info_read and pcnn_decompress), as pixelcnn
 * decompress runs them.
 *
 * A stream decodes only with the model that coded it and the build that
 * coded it, so random bytes stop at the header checks. To reach the
 * decoder itself the target codes three streams at start-up with three
 * tiny random-init chains (a plain model, a two-stage pyramid whose
 * second stage is tightened, and a color chain: L(x), half(ab(x)) given
 * it, then the colors of each pixel's lightness) and this build, and reads the input as
 * edits of one of them: byte 0 picks the stream, then each 3 bytes
 * (offset low, offset high, x) xor x into the byte at that offset (mod
 * the length), and a last lone byte truncates the stream to that many
 * bytes from its end. The invariant: a stream that decodes gives exactly
 * the images that were coded. The input is also tried as a stream as it
 * is.
 */
#include "util.h"
#include "pixelcnn.h"

#include <stdlib.h>
#include <string.h>

#define N 3 /* images per stream */

static pcnn_ctx *ctx;
#define K 3 /* streams */

static pcnn_chain *chain[K];
static uint8_t *stream[K], images[K][N * 3 * 4 * 4];
static size_t len[K];

static pcnn_model *tiny(int c, int size, int halvings, int cond, uint64_t s)
{
    pcnn_model_config k = pcnn_model_config_default();
    k.channels = c, k.height = k.width = size;
    k.nr_resnet = 1, k.nr_filters = 2, k.nr_mix = 2, k.nr_resolutions = 1;
    k.dropout = 0;
    k.view.halvings = halvings;
    if (cond) {
        k.cond_view.halvings = halvings + 1;
        k.cond_channels = c;
    }
    pcnn_model *m = NULL;
    if (pcnn_model_create(&m, &k, s) != PCNN_OK)
        abort();
    return m;
}

/* L(x), then half(ab(x)) given L(x), of 3x4x4 images. */
static pcnn_chain *color_chain(void)
{
    const pcnn_view L = {0, 0, PCNN_LAB_L}, ab = {1, 0, PCNN_LAB_AB};
    pcnn_model *m[2];
    for (int i = 0; i < 2; i++) {
        pcnn_model_config k = pcnn_model_config_default();
        k.nr_resnet = 1, k.nr_filters = 2, k.nr_mix = 2;
        k.nr_resolutions = 1, k.dropout = 0;
        k.cond_nr_resnet = 1, k.cond_nr_filters = 2;
        if (pcnn_stage_config(&k, i ? &ab : &L, i ? &L : NULL, 3, 4, 4) ||
            pcnn_model_create(&m[i], &k, 4 + (uint64_t)i))
            abort();
    }
    pcnn_chain *c = NULL;
    if (pcnn_chain_create(&c, m, 2))
        abort();
    return c;
}

static void setup(void)
{
    if (pcnn_ctx_create(&ctx, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}))
        abort();
    pcnn_model *m0 = tiny(1, 4, 0, 0, 1);
    pcnn_model *m1[2] = {tiny(3, 2, 1, 0, 2), tiny(3, 4, 0, 1, 3)};
    if (pcnn_chain_create(&chain[0], &m0, 1) ||
        pcnn_chain_create(&chain[1], m1, 2))
        abort();
    chain[2] = color_chain();
    for (int k = 0; k < K; k++) {
        const int c = k ? 3 : 1;
        for (int i = 0; i < N * c * 16; i++)
            images[k][i] = (uint8_t)(37 * i + 11 * (i / 16) + (i % 5) * 40);
        pcnn_compress_opts o = pcnn_compress_opts_default();
        o.batch = 2;
        if (pcnn_compress(ctx, chain[k], pcnn_img(images[k], N, c, 4, 4),
                          NULL, &o, &stream[k], &len[k]))
            abort();
    }
}

/* Decodes s with chain k (when its header fits a small output). */
static int decode(int k, const uint8_t *s, size_t n, uint8_t *out)
{
    pcnn_codec_info f;
    if (pcnn_codec_info_read(s, n, &f) != PCNN_OK)
        return 0;
    if (f.n * f.c * f.h * f.w > N * 3 * 16)
        return 0;
    return pcnn_decompress(ctx, chain[k], s, n, NULL, out, NULL) == PCNN_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[N * 3 * 16], buf[1 << 16];
    if (!ctx)
        setup();
    for (int k = 0; k < K; k++)
        decode(k, data, size, out);
    if (size < 1)
        return 0;
    const int k = data[0] % K;
    size_t n = len[k];
    memcpy(buf, stream[k], n);
    size_t at = 1;
    for (; at + 3 <= size; at += 3)
        buf[(data[at] | (size_t)data[at + 1] << 8) % n] ^= data[at + 2];
    if (at < size)
        n -= data[at] % n;
    if (decode(k, buf, n, out) &&
        memcmp(out, images[k], (size_t)(N * (k ? 3 : 1) * 16)))
        abort(); /* a stream that decodes to other images */
    return 0;
}
