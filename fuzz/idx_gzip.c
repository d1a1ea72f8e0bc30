/*
 * idx_gzip.c -- fuzz target: the IDX loader's gzip path (src/data/idx.c).
 * The input is as for the idx target (images [FUZZ_SEP labels]), but each
 * part is gzip-compressed here before it is written, so the mutations
 * reach the IDX header and payload checks through the streaming inflater
 * instead of dying at the gzip CRC. A part whose length is a multiple of
 * 3 is written as two gzip members (RFC 1952 allows several).
 */
#include "util.h"
#include "pixelcnn.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Appends the gzip member of src[0 .. n) to out at *len. */
static void gzip_member(const uint8_t *src, size_t n, uint8_t *out,
                        size_t cap, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        abort();
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = out + *len;
    z.avail_out = (uInt)(cap - *len);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    *len = cap - z.avail_out;
    deflateEnd(&z);
}

static const char *write_gzip(const char *name, const uint8_t *src, size_t n)
{
    const size_t cap = 2 * compressBound((uLong)n) + 64;
    uint8_t *out = malloc(cap);
    size_t len = 0;
    if (!out)
        abort();
    if (n >= 3 && n % 3 == 0) {
        gzip_member(src, n / 3, out, cap, &len);
        gzip_member(src + n / 3, n - n / 3, out, cap, &len);
    } else {
        gzip_member(src, n, out, cap, &len);
    }
    const char *path = fuzz_write(name, out, len);
    free(out);
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *img, *lab;
    size_t ni, nl;
    fuzz_split(data, size, &img, &ni, &lab, &nl);
    char images[512];
    snprintf(images, sizeof images, "%s",
             write_gzip("images-idx3-ubyte.gz", img, ni));
    const char *labels = lab ? write_gzip("labels-idx1-ubyte.gz", lab, nl)
                             : NULL;
    pcnn_dataset d;
    if (pcnn_dataset_load_idx(images, labels, &d) == PCNN_OK) {
        if (d.c != 1 || d.n < 1 || (labels && !d.labels))
            abort();
        pcnn_dataset_free(&d);
    }
    return 0;
}
