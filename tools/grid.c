/*
 * grid.c -- writing images: a PNG grid (stb_image_write) or a NumPy .npy
 * array of uint8 (N, C, H, W).
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX 32768 /* pixels a side */
#define GRID_GAP 2      /* pixels between and around the cells */

int stbi_write_png(char const *filename, int w, int h, int comp,
                   const void *data, int stride_in_bytes);

/* The grid's width and height in pixels. */
static void grid_size(int64_t n, int h, int w, int cols, int scale,
                      int64_t *W, int64_t *H)
{
    const int64_t rows = (n + cols - 1) / cols;
    *W = cols * (int64_t)w * scale + (cols + 1) * GRID_GAP;
    *H = rows * (int64_t)h * scale + (rows + 1) * GRID_GAP;
}

int cli_check_grid(const char *cmd, const char *path, int64_t n, int h,
                   int w, int cols, int scale)
{
    int64_t W, H;
    grid_size(n, h, w, cols, scale, &W, &H);
    if (W <= GRID_MAX && H <= GRID_MAX)
        return 0;
    fprintf(stderr,
            "pixelcnn %s: -o %s: the grid would be %lld x %lld pixels, at "
            "most %d a side: fewer images, fewer --cols or a smaller "
            "--scale, or -o FILE.npy\n",
            cmd, path, (long long)W, (long long)H, GRID_MAX);
    return 2;
}

int cli_write_grid(const char *path, const uint8_t *x, int64_t n, int c,
                   int h, int w, int cols, int scale)
{
    if (n < 1 || cols < 1 || scale < 1)
        return 1;
    int64_t W, H;
    grid_size(n, h, w, cols, scale, &W, &H);
    const int64_t cw = w * scale, ch = h * scale;
    if (W > GRID_MAX || H > GRID_MAX) {
        fprintf(stderr, "%s: a %lld x %lld grid is too large\n", path,
                (long long)W, (long long)H);
        return 1;
    }
    uint8_t *px = malloc((size_t)(W * H * 3));
    if (!px) {
        fprintf(stderr, "%s: out of memory\n", path);
        return 1;
    }
    memset(px, 255, (size_t)(W * H * 3));
    for (int64_t k = 0; k < n; k++) {
        const int64_t r = k / cols, q = k % cols;
        const int64_t y0 = GRID_GAP + r * (ch + GRID_GAP);
        const int64_t x0 = GRID_GAP + q * (cw + GRID_GAP);
        const uint8_t *img = x + k * c * h * w;
        for (int64_t y = 0; y < ch; y++)
            for (int64_t xx = 0; xx < cw; xx++) {
                const int64_t s = (y / scale) * w + xx / scale;
                uint8_t *d = px + ((y0 + y) * W + x0 + xx) * 3;
                for (int e = 0; e < 3; e++)
                    d[e] = img[(c == 3 ? e : 0) * h * w + s];
            }
    }
    errno = 0;
    int ok = stbi_write_png(path, (int)W, (int)H, 3, px, (int)W * 3);
    const int e = errno;
    free(px);
    if (!ok) {
        fprintf(stderr, "%s: cannot write the PNG: %s\n", path,
                e ? strerror(e) : "write failed");
        return 1;
    }
    return 0;
}

int cli_write_png(const char *path, const uint8_t *x, int c, int h, int w,
                  int levels)
{
    uint8_t *px = malloc((size_t)(c * h * w));
    if (!px) {
        fprintf(stderr, "%s: out of memory\n", path);
        return 1;
    }
    for (int k = 0; k < h * w; k++)
        for (int e = 0; e < c; e++)
            px[k * c + e] = (uint8_t)(x[e * h * w + k] * 255 / (levels - 1));
    errno = 0;
    const int ok = stbi_write_png(path, w, h, c, px, w * c);
    const int err = errno;
    free(px);
    if (!ok)
        fprintf(stderr, "%s: cannot write the PNG: %s\n", path,
                err ? strerror(err) : "write failed");
    return !ok;
}

int cli_write_npy(const char *path, const uint8_t *x, int64_t n, int c,
                  int h, int w)
{
    char hdr[128];
    int len = snprintf(hdr, sizeof hdr,
                       "{'descr': '|u1', 'fortran_order': False, 'shape': "
                       "(%lld, %d, %d, %d), }",
                       (long long)n, c, h, w);
    /* magic (6) + version (2) + length (2) + header, padded with spaces
     * to a multiple of 64 and ended by a newline */
    int total = (10 + len + 1 + 63) / 64 * 64;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    const int hl = total - 10;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 255, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 10 + len; i < total - 1; i++)
        fputc(' ', f);
    fputc('\n', f);
    size_t bytes = (size_t)(n * c * h * w);
    int bad = fwrite(x, 1, bytes, f) != bytes;
    bad |= fclose(f) != 0;
    if (bad) {
        fprintf(stderr, "%s: write failed: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}
