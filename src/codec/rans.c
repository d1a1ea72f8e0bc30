/*
 * rans.c -- the rANS coder of rans.h. The state x stays in [L, 2^32 L),
 * L = 2^31: before coding a symbol of frequency f the encoder writes out
 * the low 32 bits while x is too large for the step to stay below 2^32 L
 * (x >= 2^(32 - bits) L f), then x becomes (x / f) 2^bits + x mod f +
 * start; the decoder inverts it exactly and reads a word back whenever x
 * falls below L.
 */
#include "rans.h"

#include <stdlib.h>
#include <string.h>

#define RANS_L (1ull << 31)

int pcnn_rans_put(pcnn_rans_enc *e, uint32_t start, uint32_t freq)
{
    if (e->n == e->cap) {
        const size_t cap = e->cap ? 2 * e->cap : 4096;
        uint32_t *p = realloc(e->sym, cap * 2 * sizeof *p);
        if (!p)
            return -1;
        e->sym = p, e->cap = cap;
    }
    e->sym[2 * e->n] = start, e->sym[2 * e->n + 1] = freq;
    e->n++;
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int pcnn_rans_finish(pcnn_rans_enc *e, uint8_t **out, size_t *len)
{
    /* each symbol writes at most one word; the words come out last-read
     * first, so they fill the buffer from its end */
    const size_t cap = 8 + 4 * e->n;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -1;
    size_t at = cap;
    uint64_t x = RANS_L;
    for (size_t i = e->n; i-- > 0;) {
        const uint64_t start = e->sym[2 * i], f = e->sym[2 * i + 1];
        const uint64_t x_max = ((RANS_L >> PCNN_RANS_BITS) << 32) * f;
        if (x >= x_max) {
            at -= 4;
            put32(buf + at, (uint32_t)x);
            x >>= 32;
        }
        x = ((x / f) << PCNN_RANS_BITS) + x % f + start;
    }
    at -= 8;
    put32(buf + at, (uint32_t)x);
    put32(buf + at + 4, (uint32_t)(x >> 32));
    memmove(buf, buf + at, cap - at);
    *out = buf;
    *len = cap - at;
    e->n = 0;
    return 0;
}

void pcnn_rans_enc_free(pcnn_rans_enc *e)
{
    free(e->sym);
    memset(e, 0, sizeof *e);
}

int pcnn_rans_dec_init(pcnn_rans_dec *d, const uint8_t *buf, size_t len)
{
    memset(d, 0, sizeof *d);
    if (len < 8)
        return -1;
    d->x = (uint64_t)get32(buf) | (uint64_t)get32(buf + 4) << 32;
    d->p = buf + 8, d->end = buf + len;
    /* a state outside [L, 2^32 L) is no encoder's */
    d->bad = d->x < RANS_L;
    return 0;
}

void pcnn_rans_advance(pcnn_rans_dec *d, uint32_t start, uint32_t freq)
{
    const uint64_t m = d->x & (PCNN_RANS_TOTAL - 1);
    d->x = (uint64_t)freq * (d->x >> PCNN_RANS_BITS) + m - start;
    if (d->x < RANS_L) {
        if (d->end - d->p < 4) {
            d->bad = 1;
            d->x = RANS_L; /* keep decoding harmlessly to the end */
            return;
        }
        d->x = d->x << 32 | get32(d->p);
        d->p += 4;
    }
}

int pcnn_rans_dec_done(const pcnn_rans_dec *d)
{
    return !d->bad && d->x == RANS_L && d->p == d->end;
}

int pcnn_rans_table(pcnn_rans_enc *e, pcnn_rans_dec *d, const uint32_t *freq,
                    int n, int *k)
{
    uint32_t start = 0;
    if (!e) {
        const uint32_t t = pcnn_rans_peek(d);
        int j = 0;
        while (j < n - 1 && start + freq[j] <= t)
            start += freq[j++];
        pcnn_rans_advance(d, start, freq[j]);
        *k = j;
        return 0;
    }
    for (int j = 0; j < *k; j++)
        start += freq[j];
    return pcnn_rans_put(e, start, freq[*k]);
}
