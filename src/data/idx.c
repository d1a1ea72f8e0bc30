/*
 * idx.c -- IDX files (LeCun et al., the MNIST database's web page; used
 * unchanged by Fashion-MNIST, Xiao et al. 2017), plain or gzip-compressed.
 *
 * An IDX file is: 2 zero bytes, a type byte (0x08 = unsigned byte), a
 * byte giving the number of dims, each dim as a 32-bit big-endian count,
 * then the data, row-major, and nothing else. Images are 3 dims (n, rows,
 * cols), labels 1 dim (n).
 *
 * The file is read whole; a gzip file (magic 1f 8b) is inflated as a
 * stream: the header first, then exactly the payload the header promises,
 * into its final place. So a hostile header costs no more memory than its
 * claimed size, which is bounded by the file size (plain) or by deflate's
 * largest ratio (gzip) before anything is allocated.
 */
#include "data_internal.h"
#include "../core/internal.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
/* Deflate cannot expand more than 1032:1 (zlib's FAQ, "maximum
 * compression ratio"); a little slack for the gzip framing. */
#define GZIP_MAX_RATIO 1032u
#define GZIP_SLACK 4096u

/* The bytes of a file, plain or inflated on the fly. */
typedef struct {
    const char *path;   /* for messages */
    const uint8_t *buf; /* the file */
    size_t len, pos;    /* pos: the next unread input byte */
    int gzip;
    int stream_ended;   /* gzip: the last member ended at the input's end */
    z_stream z;
} idx_src;

static pcnn_status src_open(idx_src *src, const char *path,
                            const uint8_t *buf, size_t len)
{
    memset(src, 0, sizeof *src);
    src->path = path;
    src->buf = buf;
    src->len = len;
    src->gzip = len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
    if (!src->gzip)
        return PCNN_OK;
    /* 15 + 16: a 32 KB window, gzip framing only (CRC-32 and size
     * checked by zlib at each member's end) */
    int zs = inflateInit2(&src->z, 15 + 16);
    if (zs != Z_OK) {
        src->gzip = 0;
        return pcnn_fail(zs == Z_MEM_ERROR ? PCNN_ERR_NOMEM : PCNN_ERR_IO,
                         "%s: cannot start zlib: %s", path,
                         src->z.msg ? src->z.msg : zError(zs));
    }
    return PCNN_OK;
}

static void src_close(idx_src *src)
{
    if (src->gzip)
        inflateEnd(&src->z);
}

/* Reads up to want bytes into dst; *got says how many came, fewer only at
 * the end of the data. PCNN_ERR_FORMAT for corrupt gzip data, a gzip
 * stream cut short, or bytes after the last gzip member that do not start
 * another one. */
static pcnn_status src_read(idx_src *src, uint8_t *dst, size_t want,
                            size_t *got)
{
    *got = 0;
    if (!src->gzip) {
        size_t k = src->len - src->pos < want ? src->len - src->pos : want;
        if (k)
            memcpy(dst, src->buf + src->pos, k);
        src->pos += k;
        *got = k;
        return PCNN_OK;
    }
    z_stream *z = &src->z;
    while (*got < want && !src->stream_ended) {
        /* avail_in/avail_out are 32-bit: feed in pieces */
        if (z->avail_in == 0 && src->pos < src->len) {
            size_t k = src->len - src->pos;
            z->avail_in = k > UINT_MAX ? UINT_MAX : (uInt)k;
            z->next_in = (Bytef *)(uintptr_t)(src->buf + src->pos);
            src->pos += z->avail_in;
        }
        size_t room = want - *got;
        z->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        z->next_out = dst + *got;
        const uInt out_before = z->avail_out;
        int zs = inflate(z, Z_NO_FLUSH);
        *got += out_before - z->avail_out;
        if (zs == Z_STREAM_END) {
            /* the unread input is contiguous in buf from next_in */
            const size_t at = src->pos - z->avail_in;
            const size_t left = src->len - at;
            if (left == 0) {
                src->stream_ended = 1;
            } else if (left < 2 || src->buf[at] != 0x1f ||
                       src->buf[at + 1] != 0x8b) {
                return pcnn_fail(PCNN_ERR_FORMAT,
                                 "%s: %zu bytes of trailing garbage after "
                                 "the gzip data",
                                 src->path, left);
            } else {
                /* gzip allows members one after another (RFC 1952 2.2) */
                inflateReset(z);
            }
        } else if (zs == Z_BUF_ERROR) {
            /* no progress possible: the input is used up (a refill comes
             * at the top of the loop if the file has more) */
            if (z->avail_in != 0)
                return pcnn_fail(PCNN_ERR_FORMAT, "%s: corrupt gzip data",
                                 src->path);
            if (src->pos == src->len)
                return pcnn_fail(PCNN_ERR_FORMAT,
                                 "%s: gzip data cut short (truncated file)",
                                 src->path);
        } else if (zs == Z_MEM_ERROR) {
            return pcnn_fail(PCNN_ERR_NOMEM, "%s: zlib out of memory",
                             src->path);
        } else if (zs != Z_OK) {
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: corrupt gzip data: %s",
                             src->path, z->msg ? z->msg : zError(zs));
        }
    }
    return PCNN_OK;
}

/* An upper bound on the bytes the source can still yield. */
static size_t src_max_left(const idx_src *src)
{
    if (!src->gzip)
        return src->len - src->pos;
    size_t in = src->len; /* generous: the whole file */
    return in > (SIZE_MAX - GZIP_SLACK) / GZIP_MAX_RATIO
               ? SIZE_MAX
               : in * GZIP_MAX_RATIO + GZIP_SLACK;
}

/* Reads exactly want bytes, or fails naming what was being read. */
static pcnn_status src_read_exact(idx_src *src, uint8_t *dst, size_t want,
                                  const char *what)
{
    size_t got;
    pcnn_status s = src_read(src, dst, want, &got);
    if (s != PCNN_OK)
        return s;
    if (got != want)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: truncated: the %s needs %zu bytes, only %zu "
                         "left",
                         src->path, what, want, got);
    return PCNN_OK;
}

/* Checks that nothing follows the payload. */
static pcnn_status src_expect_end(idx_src *src)
{
    uint8_t extra[64];
    size_t got, total = 0;
    do {
        pcnn_status s = src_read(src, extra, sizeof extra, &got);
        if (s != PCNN_OK)
            return s;
        total += got;
    } while (got == sizeof extra && total < (1u << 20));
    if (total)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: %s%zu bytes of trailing garbage after the IDX "
                         "data",
                         src->path, total >= (1u << 20) ? "at least " : "",
                         total);
    return PCNN_OK;
}

static const char *idx_type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    }
    return "unknown";
}

/* Reads an IDX header of unsigned bytes with `ndims` dims into dims[] and
 * returns the payload size in *bytes (checked: fits in size_t, within
 * what the source can still hold). */
static pcnn_status idx_header(idx_src *src, int ndims, uint32_t *dims,
                              size_t *bytes)
{
    uint8_t h[4 + 4 * 3];
    const size_t hlen = 4 + 4 * (size_t)ndims;
    *bytes = 0;
    pcnn_status s = src_read_exact(src, h, 4, "IDX magic number");
    if (s != PCNN_OK)
        return s;
    if (h[0] != 0 || h[1] != 0)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: not an IDX file (magic %02x %02x %02x %02x; "
                         "expected 00 00 08 %02x)",
                         src->path, h[0], h[1], h[2], h[3], ndims);
    if (h[2] != IDX_UBYTE)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: IDX data type 0x%02x (%s) is not supported: "
                         "only unsigned byte (0x08)",
                         src->path, h[2], idx_type_name(h[2]));
    if (h[3] != ndims)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: IDX file has %u dims; %s need %d "
                         "(magic 00 00 08 %02x)",
                         src->path, h[3], ndims == 3 ? "images" : "labels",
                         ndims, ndims);
    s = src_read_exact(src, h + 4, hlen - 4, "IDX header");
    if (s != PCNN_OK)
        return s;
    int of = 0;
    size_t total = 1;
    for (int k = 0; k < ndims; k++) {
        const uint8_t *p = h + 4 + 4 * k;
        dims[k] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                  (uint32_t)p[2] << 8 | p[3];
        if (dims[k] == 0)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: IDX dim %d is 0 (empty)",
                             src->path, k);
        total = pcnn_mul_size(total, dims[k], &of);
    }
    if (of || total > src_max_left(src))
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: truncated: the IDX header promises %s%zu "
                         "bytes of data, more than the file can hold",
                         src->path, of ? "more than " : "",
                         of ? SIZE_MAX : total);
    *bytes = total;
    return PCNN_OK;
}

/* The image part: fills out's images, n, c, h, w. */
static pcnn_status idx_load_images(idx_src *src, pcnn_dataset *out,
                                   int labeled)
{
    uint32_t dims[3] = {0, 0, 0};
    size_t bytes;
    pcnn_status s = idx_header(src, 3, dims, &bytes);
    if (s == PCNN_OK)
        s = pcnn_data_alloc(out, dims[0], 1, dims[1], dims[2], labeled);
    if (s == PCNN_OK)
        s = src_read_exact(src, out->images, bytes, "image data");
    if (s == PCNN_OK)
        s = src_expect_end(src);
    return s;
}

/* The label part: fills out's labels and num_classes; n must match. */
static pcnn_status idx_load_labels(idx_src *src, pcnn_dataset *out,
                                   const char *images_path)
{
    uint32_t n = 0;
    size_t bytes;
    pcnn_status s = idx_header(src, 1, &n, &bytes);
    if (s != PCNN_OK)
        return s;
    if ((int64_t)n != out->n)
        return pcnn_fail(PCNN_ERR_FORMAT,
                         "%s: %u labels for the %lld images of %s",
                         src->path, n, (long long)out->n, images_path);
    uint8_t *raw = malloc(bytes);
    if (!raw)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                         src->path, bytes);
    s = src_read_exact(src, raw, bytes, "label data");
    if (s == PCNN_OK)
        s = src_expect_end(src);
    int max = 0;
    for (size_t k = 0; s == PCNN_OK && k < bytes; k++) {
        out->labels[k] = raw[k];
        if (raw[k] > max)
            max = raw[k];
    }
    free(raw);
    /* unsigned bytes: max + 1 <= 256 always */
    out->num_classes = max + 1;
    return s;
}

/* Reads the file at path whole and loads from it: the images into out
 * (with room for labels when labeled) when images_path is NULL, else the
 * labels that go with the images of images_path. */
static pcnn_status idx_file(const char *path, pcnn_dataset *out,
                            const char *images_path, int labeled)
{
    uint8_t *buf;
    size_t len;
    pcnn_status s = pcnn_data_read_file(path, &buf, &len);
    if (s != PCNN_OK)
        return s;
    idx_src src;
    s = src_open(&src, path, buf, len);
    if (s == PCNN_OK)
        s = images_path ? idx_load_labels(&src, out, images_path)
                        : idx_load_images(&src, out, labeled);
    src_close(&src);
    free(buf);
    return s;
}

pcnn_status pcnn_dataset_load_idx(const char *images_path,
                                  const char *labels_path, pcnn_dataset *out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_dataset_load_idx: out is NULL");
    memset(out, 0, sizeof *out);
    if (!images_path)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_dataset_load_idx: images_path is NULL");
    pcnn_status s = idx_file(images_path, out, NULL, labels_path != NULL);
    if (s == PCNN_OK && labels_path)
        s = idx_file(labels_path, out, images_path, 1);
    if (s != PCNN_OK)
        pcnn_dataset_free(out);
    return s;
}
