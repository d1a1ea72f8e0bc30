/*
 * image_decode.c -- stb_image's decoders compiled into the library from
 * Debian's libstb-dev header (stb_image 2.27) instead of taken from
 * libstb.so, built the way the loaders need:
 *   - only the formats the loaders document (PNG, JPEG, BMP, PGM/PPM): no
 *     GIF, PSD, HDR, PIC or TGA decoder is there to be reached;
 *   - every allocation zeroed: stb 2.27 decodes a JPEG scan with a
 *     Huffman table that no DHT segment defined from uninitialized memory
 *     (an out-of-bounds read or an assertion, depending on the heap's
 *     contents, found by the image fuzz target), and keeps the pixels of
 *     a short read uninitialized;
 *   - a PNG's empty IDAT chunks dropped before stb sees them: stb 2.27
 *     adds the offset 0 to its still-NULL data buffer for an empty first
 *     IDAT (undefined behaviour, found by the image fuzz target); an
 *     empty chunk carries no data, so the image is the same;
 *   - static: no stbi_ symbol leaves this file or libpixelcnn.
 * folder.c checks what else stb 2.27 mishandles before it decodes
 * (docs/fuzzing.md). The header is a system header: its own code raises
 * no warnings here.
 */
#include "data_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STBI_MALLOC(n) calloc(1, n)
#define STBI_REALLOC(p, n) realloc(p, n)
#define STBI_FREE(p) free(p)
/* GCC warns, at the end of the file and even for a system header, of
 * the static declarations of what STBI_ONLY_* leaves out, and at -O3 of
 * stb's code inlined into the functions below */
#pragma GCC diagnostic ignored "-Wunused-function"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <stb/stb_image.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* A copy of the PNG in buf without its empty IDAT chunks (malloc'd, its
 * length in *n), or NULL when buf is no PNG, has none, or its chunks run
 * past its end (then stb reports the damage itself). */
static uint8_t *png_without_empty_idat(const uint8_t *buf, size_t len,
                                       size_t *n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A,
                                   0x0A};
    if (len < 8 || memcmp(buf, sig, 8))
        return NULL;
    int empty = 0;
    for (size_t at = 8; at + 12 <= len;) {
        const uint64_t size = 12 + (uint64_t)be32(buf + at);
        if (size > len - at)
            return NULL;
        empty |= size == 12 && !memcmp(buf + at + 4, "IDAT", 4);
        at += (size_t)size;
    }
    uint8_t *out = empty ? malloc(len) : NULL;
    if (!out)
        return NULL;
    memcpy(out, buf, 8);
    *n = 8;
    for (size_t at = 8; at + 12 <= len;) {
        const size_t size = 12 + (size_t)be32(buf + at);
        if (size != 12 || memcmp(buf + at + 4, "IDAT", 4))
            memcpy(out + *n, buf + at, size), *n += size;
        at += size;
    }
    return out;
}

uint8_t *pcnn_image_decode(const uint8_t *buf, size_t len, int *w, int *h,
                           int *comp, const char **why)
{
    size_t n = 0;
    uint8_t *copy = png_without_empty_idat(buf, len, &n);
    if (copy)
        buf = copy, len = n;
    uint8_t *img = len <= INT_MAX ? stbi_load_from_memory(buf, (int)len, w,
                                                          h, comp, 0)
                                  : NULL;
    free(copy);
    *why = img ? NULL : len > INT_MAX ? "file over 2 GB"
                                      : stbi_failure_reason();
    return img;
}

int pcnn_image_info(const uint8_t *buf, size_t len, int *w, int *h)
{
    int comp;
    return len <= INT_MAX &&
           stbi_info_from_memory(buf, (int)len, w, h, &comp);
}

void pcnn_image_free(uint8_t *img) { stbi_image_free(img); }
