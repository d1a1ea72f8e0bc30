/*
 * container.c -- the layout of container.h. Fixed-size integers are
 * little-endian; "v" is an unsigned LEB128 varint (7 bits a byte, low
 * first, at most 8 bytes):
 *
 *   magic     4 bytes  89 'P' 'C' 'Z'
 *   version   v        PCNN_CODEC_VERSION
 *   build     u32      FNV-1a of pcnn_codec_build(): the arithmetic
 *   weights   u64      pcnn_chain_hash of the coding chain
 *   n         v        images
 *   c, h, w   v v v    X's shape
 *   batch     v        images per group
 *   classes   v        labels coded (0: none)
 *   stages    v        then per stage: c, h, w, levels, rule (v each)
 *   crc       u32      CRC-32 of the header's bytes before it
 *   then for each group of `batch` images (the last may be smaller) and
 *   each stage: its length (v), the CRC-32 (u32) of the stage's values of
 *   the group's images (B, c, h, w), the coded bytes.
 */
#include "container.h"

#include <string.h>
#include <zlib.h>

#define MAGIC_LEN 4
static const uint8_t magic[MAGIC_LEN] = {0x89, 'P', 'C', 'Z'};

uint32_t pcnn_crc32(const uint8_t *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        const uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
        crc = crc32(crc, p, k);
        p += k, n -= k;
    }
    return (uint32_t)crc;
}

int pcnn_bytes_put(pcnn_bytes *b, const void *src, size_t n)
{
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->n < n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p, b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
    return 0;
}

static int put_uint(pcnn_bytes *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    return pcnn_bytes_put(b, t, (size_t)bytes);
}

static int put_varint(pcnn_bytes *b, uint64_t v)
{
    uint8_t t[10];
    int k = 0;
    do {
        t[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return pcnn_bytes_put(b, t, (size_t)k);
}

int pcnn_codec_write_header(pcnn_bytes *b, const pcnn_codec_header *h)
{
    const pcnn_codec_info *f = &h->info;
    const size_t start = b->n;
    /* || runs left to right and stops at the first failure */
    int r = pcnn_bytes_put(b, magic, MAGIC_LEN) ||
            put_varint(b, PCNN_CODEC_VERSION) || put_uint(b, f->build, 4) ||
            put_uint(b, f->weights, 8) || put_varint(b, (uint64_t)f->n) ||
            put_varint(b, (uint64_t)f->c) || put_varint(b, (uint64_t)f->h) ||
            put_varint(b, (uint64_t)f->w) ||
            put_varint(b, (uint64_t)f->batch) ||
            put_varint(b, (uint64_t)f->num_classes) ||
            put_varint(b, (uint64_t)f->stages);
    for (int i = 0; !r && i < f->stages; i++)
        r = put_varint(b, (uint64_t)f->stage_c[i]) ||
            put_varint(b, (uint64_t)f->stage_h[i]) ||
            put_varint(b, (uint64_t)f->stage_w[i]) ||
            put_varint(b, (uint64_t)f->stage_levels[i]) ||
            put_varint(b, (uint64_t)h->rule[i]);
    if (r)
        return -1;
    return put_uint(b, pcnn_crc32(b->p + start, b->n - start), 4);
}

int pcnn_codec_write_stream(pcnn_bytes *b, uint32_t crc, const uint8_t *s,
                            size_t n)
{
    return put_varint(b, n) || put_uint(b, crc, 4) || pcnn_bytes_put(b, s, n)
               ? -1
               : 0;
}

/* ----------------------------------------------------------- reading */

typedef struct {
    const uint8_t *p;
    size_t len, at;
    int short_; /* read past the end */
} reader;

static uint64_t get_uint(reader *r, int bytes)
{
    if (r->len - r->at < (size_t)bytes) {
        r->short_ = 1;
        r->at = r->len;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->at + (size_t)i] << (8 * i);
    r->at += (size_t)bytes;
    return v;
}

/* A varint of at most 8 bytes (56 bits); *bad set when longer. */
static uint64_t get_varint(reader *r, int *bad)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        const uint64_t b = get_uint(r, 1);
        if (r->short_)
            return 0;
        v |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            return v;
    }
    *bad = 1;
    return 0;
}

static uint64_t get_varint_max(reader *r, int *bad, uint64_t max)
{
    const uint64_t v = get_varint(r, bad);
    return v <= max ? v : (*bad = 1, 0);
}

static pcnn_status read_fields(const char *fn, reader *r, pcnn_codec_header *h)
{
    pcnn_codec_info *f = &h->info;
    int bad = 0;
    /* values too large for their fields read as 0 (then refused) */
#define V(max) (get_varint_max(r, &bad, max))
    f->build = (uint32_t)get_uint(r, 4);
    f->weights = get_uint(r, 8);
    f->n = (int64_t)V(0xffffffffu);
    f->c = (int64_t)V(3), f->h = (int64_t)V(65535), f->w = (int64_t)V(65535);
    f->batch = (int)V(PCNN_CODEC_MAX_BATCH);
    f->num_classes = (int)V(65536);
    f->stages = (int)V(PCNN_MAX_STAGES);
    for (int i = 0; i < f->stages; i++) {
        f->stage_c[i] = (int64_t)V(3);
        f->stage_h[i] = (int64_t)V(65535);
        f->stage_w[i] = (int64_t)V(65535);
        f->stage_levels[i] = (int)V(256);
        h->rule[i] = (int)V(PCNN_RULE_COUNT - 1);
    }
#undef V
    if (bad)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: damaged header", fn);
    return PCNN_OK;
}

/* The header's values are possible ones (its CRC matched). */
static pcnn_status check_fields(const char *fn, const pcnn_codec_header *h)
{
    const pcnn_codec_info *f = &h->info;
    int ok = f->n >= 1 && f->c >= 1 && f->c <= 3 && f->h >= 1 && f->w >= 1 &&
             f->batch >= 1 && f->stages >= 1;
    for (int i = 0; ok && i < f->stages; i++)
        ok = f->stage_c[i] >= 1 && f->stage_c[i] <= 3 &&
             f->stage_h[i] >= 1 && f->stage_h[i] <= f->h &&
             f->stage_w[i] >= 1 && f->stage_w[i] <= f->w &&
             f->stage_levels[i] >= 2 && f->stage_levels[i] <= 256 &&
             h->rule[i] >= 0 && h->rule[i] < PCNN_RULE_COUNT;
    return ok ? PCNN_OK
              : pcnn_fail(PCNN_ERR_FORMAT,
                          "%s: the header describes no possible image set",
                          fn);
}

pcnn_status pcnn_codec_read_header(const char *fn, const uint8_t *buf,
                                   size_t len, pcnn_codec_header *h)
{
    memset(h, 0, sizeof *h);
    if (!buf || len < MAGIC_LEN || memcmp(buf, magic, MAGIC_LEN))
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: not a pixelcnn compressed file (no magic)", fn);
    reader r = {buf, len, MAGIC_LEN, 0};
    int bad = 0;
    h->info.version = (int)get_varint_max(&r, &bad, 0xffff);
    if (!r.short_ && !bad && h->info.version != PCNN_CODEC_VERSION)
        return pcnn_fail(PCNN_ERR_UNSUPPORTED,
                         "%s: stream version %d; this library reads %d", fn,
                         h->info.version, PCNN_CODEC_VERSION);
    PCNN_TRY(read_fields(fn, &r, h));
    const uint32_t want = pcnn_crc32(buf, r.at);
    const uint32_t crc = (uint32_t)get_uint(&r, 4);
    if (r.short_)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: truncated header", fn);
    if (crc != want)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: damaged header (CRC mismatch)",
                         fn);
    PCNN_TRY(check_fields(fn, h));
    pcnn_codec_info *f = &h->info;
    f->header_bytes = h->body = r.at;
    /* the frames of every group's streams, up to the exact end */
    const int64_t groups = (f->n + f->batch - 1) / f->batch;
    for (int64_t g = 0; g < groups; g++)
        for (int i = 0; i < f->stages; i++) {
            const size_t at = r.at, n = (size_t)get_varint(&r, &bad);
            get_uint(&r, 4);
            if (bad || r.short_ || r.len - r.at < n)
                return pcnn_fail(PCNN_ERR_FORMAT,
                                 "%s: truncated or damaged: the stream of "
                                 "stage %d of group %lld ends past the "
                                 "end of the data",
                                 fn, i, (long long)g);
            r.at += n;
            f->stage_bytes[i] += r.at - at;
        }
    if (r.at != len)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: %zu bytes after the last stream", fn,
                         len - r.at);
    return PCNN_OK;
}

void pcnn_codec_next_stream(const uint8_t *buf, size_t *at, const uint8_t **s,
                            size_t *n, uint32_t *crc)
{
    reader r = {buf, (size_t)-1, *at, 0};
    int bad = 0;
    *n = (size_t)get_varint(&r, &bad);
    *crc = (uint32_t)get_uint(&r, 4);
    *s = buf + r.at;
    *at = r.at + *n;
}
