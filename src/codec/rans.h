/*
 * rans.h -- a range coder of the rANS family (Duda 2013) with a 64-bit
 * state and 32-bit output words, for symbols given as integer frequency
 * intervals [start, start + freq) of a total of 2^PCNN_RANS_BITS
 * (docs/compression.md).
 *
 * rANS decodes in the reverse order of encoding: the encoder collects the
 * symbols in the decoder's order (pcnn_rans_put) and codes them backwards
 * at the end (pcnn_rans_finish). The stream is the final state (8 bytes,
 * little-endian) then the words the decoder reads, in its order. The
 * decoder's state starts there and, after the last symbol, must be back at
 * the encoder's initial state with every byte read: any other ending is a
 * damaged stream.
 */
#ifndef PCNN_CODEC_RANS_H
#define PCNN_CODEC_RANS_H

#include <stddef.h>
#include <stdint.h>

#define PCNN_RANS_BITS 24
#define PCNN_RANS_TOTAL (1u << PCNN_RANS_BITS)

typedef struct {
    uint32_t *sym; /* (start, freq) pairs */
    size_t n, cap;
} pcnn_rans_enc;

/* Appends a symbol, freq >= 1, start + freq <= total; 0, or -1 when out
 * of memory. */
int pcnn_rans_put(pcnn_rans_enc *e, uint32_t start, uint32_t freq);
/* Codes the symbols put so far into a new buffer (*out, *len; free()),
 * and empties e; 0, or -1 when out of memory. */
int pcnn_rans_finish(pcnn_rans_enc *e, uint8_t **out, size_t *len);
void pcnn_rans_enc_free(pcnn_rans_enc *e);

typedef struct {
    uint64_t x;
    const uint8_t *p, *end;
    int bad; /* the stream ran out */
} pcnn_rans_dec;

/* Starts on a stream of len bytes; -1 when it cannot hold a state. */
int pcnn_rans_dec_init(pcnn_rans_dec *d, const uint8_t *buf, size_t len);
/* The value in [0, total) that the next symbol's interval holds. */
static inline uint32_t pcnn_rans_peek(const pcnn_rans_dec *d)
{
    return (uint32_t)(d->x & (PCNN_RANS_TOTAL - 1));
}
/* Consumes the symbol [start, start + freq) that holds pcnn_rans_peek. */
void pcnn_rans_advance(pcnn_rans_dec *d, uint32_t start, uint32_t freq);
/* 1 when the stream ended exactly: the initial state, every byte read. */
int pcnn_rans_dec_done(const pcnn_rans_dec *d);

/* Codes symbol *k of the table freq[0 .. n) (all >= 1, summing to the
 * total) with e, or, e being NULL, decodes it from d into *k. 0, or -1
 * when out of memory. */
int pcnn_rans_table(pcnn_rans_enc *e, pcnn_rans_dec *d, const uint32_t *freq,
                    int n, int *k);

#endif
