/*
 * container.h -- the compressed file's layout (docs/compression.md):
 * header, then per group of images and per stage a coded stream with the
 * CRC-32 of the values it codes. Reading checks the whole framing before
 * anything is decoded.
 */
#ifndef PCNN_CODEC_CONTAINER_H
#define PCNN_CODEC_CONTAINER_H

#include "../core/internal.h"

/* The most images a group holds: what one sampler run of the decoder
 * must hold in memory. */
#define PCNN_CODEC_MAX_BATCH 4096

/* How a stage narrows the values of a subpixel before coding it. */
enum {
    PCNN_RULE_NONE = 0, /* every value of the head */
    PCNN_RULE_HALF = 1, /* pyramid: what the parent and earlier siblings
                         * allow (pcnn_half_child_range) */
    PCNN_RULE_GRAY4 = 2, /* x given gray4(x): what the pixel's gray level
                          * and earlier channels allow
                          * (pcnn_gray4_channel_range) */
    PCNN_RULE_LAB = 3, /* X given L8(X) and chroma, not a model: the colors
                        * of the pixel's lightness (lab.c) */
    PCNN_RULE_COUNT
};

typedef struct {
    pcnn_codec_info info;
    int rule[PCNN_MAX_STAGES];
    size_t body; /* offset of the first group */
} pcnn_codec_header;

/* A growing byte buffer. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} pcnn_bytes;

/* Appends n bytes; 0, or -1 when out of memory. */
int pcnn_bytes_put(pcnn_bytes *b, const void *src, size_t n);
/* Appends the header; 0 or -1 (out of memory). */
int pcnn_codec_write_header(pcnn_bytes *b, const pcnn_codec_header *h);
/* Appends one stage's stream of a group: its length, the CRC, the bytes. */
int pcnn_codec_write_stream(pcnn_bytes *b, uint32_t crc, const uint8_t *s,
                            size_t n);

/* Parses and checks buf (fn names the caller in messages): the header,
 * its CRC, every stream's frame, nothing after the last. */
pcnn_status pcnn_codec_read_header(const char *fn, const uint8_t *buf,
                                   size_t len, pcnn_codec_header *h);
/* The stream at *at (advanced past it): its bytes and CRC. The framing
 * must have been checked by pcnn_codec_read_header. */
void pcnn_codec_next_stream(const uint8_t *buf, size_t *at,
                            const uint8_t **s, size_t *n, uint32_t *crc);

/* zlib's CRC-32 of n bytes. */
uint32_t pcnn_crc32(const uint8_t *p, size_t n);

#endif
