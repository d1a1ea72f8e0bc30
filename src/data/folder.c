/*
 * folder.c -- a folder of image files as an unlabeled data set, decoded
 * by stb_image (compiled in, image_decode.c), checked first for what
 * stb 2.27 mishandles, then converted, cropped and resized here with
 * exact integer arithmetic so results do not depend on the machine:
 *
 *   gray = (299 R + 587 G + 114 B + 500) / 1000   (ITU-R BT.601 luma,
 *          rounded half up); gray to RGB repeats it; alpha is dropped.
 *   crop = the centered side x side square, side = min(h, w), starting at
 *          row (h - side) / 2 and column (w - side) / 2 (rounded down).
 *   resize by area averaging: output pixel i covers [i*side/size,
 *          (i+1)*side/size) of the source along each axis; its value is
 *          the mean of the source pixels weighted by their overlap with
 *          that square, rounded half up. Shrinking by an integer factor
 *          is the plain block mean; enlarging repeats pixels and blends
 *          those straddling a boundary.
 */
#include "data_internal.h"
#include "../core/internal.h"
#include "../core/rng.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>


#define FOLDER_MAX_SIZE 65536

static const char *const image_exts[] = {".png", ".jpg", ".jpeg",
                                         ".pgm", ".ppm", ".bmp"};

static int is_image_name(const char *name)
{
    if (name[0] == '.')
        return 0;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t k = 0; k < sizeof image_exts / sizeof image_exts[0]; k++)
        if (strcasecmp(dot, image_exts[k]) == 0)
            return 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    char **paths; /* full paths, sorted by file name */
    size_t n, cap;
} path_list;

static void paths_free(path_list *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->paths[k]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

/* The image files directly in dir, sorted by name. */
static pcnn_status list_images(const char *dir, path_list *l)
{
    memset(l, 0, sizeof *l);
    DIR *d = opendir(dir);
    if (!d)
        return pcnn_fail(PCNN_ERR_IO, "%s: cannot open folder: %s", dir,
                         strerror(errno));
    pcnn_status s = PCNN_OK;
    struct dirent *e;
    errno = 0;
    while (s == PCNN_OK && (e = readdir(d)) != NULL) {
        if (!is_image_name(e->d_name))
            continue;
        char *path = pcnn_data_join(dir, e->d_name);
        struct stat st;
        if (!path) {
            s = pcnn_fail(PCNN_ERR_NOMEM, "out of memory");
            break;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path); /* a folder or a broken link named like an image */
        } else {
            if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 64;
                char **p = realloc(l->paths, cap * sizeof *p);
                if (!p) {
                    free(path);
                    s = pcnn_fail(PCNN_ERR_NOMEM, "out of memory");
                    break;
                }
                l->paths = p;
                l->cap = cap;
            }
            l->paths[l->n++] = path;
        }
        errno = 0;
    }
    if (s == PCNN_OK && errno != 0)
        s = pcnn_fail(PCNN_ERR_IO, "%s: cannot read folder: %s", dir,
                      strerror(errno));
    closedir(d);
    if (s == PCNN_OK && l->n == 0)
        s = pcnn_fail(PCNN_ERR_IO,
                      "%s: no image files (*.png, *.jpg, *.jpeg, *.pgm, "
                      "*.ppm, *.bmp) in this folder",
                      dir);
    if (s != PCNN_OK) {
        paths_free(l);
        return s;
    }
    /* names share the dir prefix, so sorting paths sorts names */
    qsort(l->paths, l->n, sizeof *l->paths, by_name);
    return PCNN_OK;
}

/* dst (channels, rh, rw) = the rectangle at (y0, x0) of the decoded
 * image img (h, w, comp) interleaved, converted to `channels`. */
static void convert_rect(uint8_t *dst, int channels, const uint8_t *img,
                         int64_t w, int comp, int64_t y0, int64_t x0,
                         int64_t rh, int64_t rw)
{
    const size_t plane = (size_t)rh * (size_t)rw;
    for (int64_t y = 0; y < rh; y++)
        for (int64_t x = 0; x < rw; x++) {
            const uint8_t *p =
                img + ((size_t)(y0 + y) * (size_t)w + (size_t)(x0 + x)) *
                          (size_t)comp;
            const size_t at = (size_t)y * (size_t)rw + (size_t)x;
            if (comp >= 3 && channels == 1) {
                dst[at] = (uint8_t)((299u * p[0] + 587u * p[1] +
                                     114u * p[2] + 500u) / 1000u);
            } else if (comp >= 3) {
                dst[at] = p[0];
                dst[plane + at] = p[1];
                dst[2 * plane + at] = p[2];
            } else {
                for (int ch = 0; ch < channels; ch++)
                    dst[(size_t)ch * plane + at] = p[0];
            }
        }
}

/* The formats the loaders document, told by their first bytes: PNG,
 * JPEG (SOI), BMP and binary PGM/PPM, the only ones image_decode.c
 * decodes. */
static const char *image_format(const uint8_t *p, size_t n)
{
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "PNG";
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xD8)
        return "JPEG";
    if (n >= 2 && p[0] == 'B' && p[1] == 'M')
        return "BMP";
    if (n >= 2 && p[0] == 'P' && (p[1] == '5' || p[1] == '6'))
        return "PNM";
    return NULL;
}

static unsigned byte_at(const uint8_t *p, size_t n, size_t i)
{
    return i < n ? p[i] : 0; /* stb_image reads zeros past the end */
}

/* 1 if no Huffman table of the JPEG p[0 .. n) has more than 256 codes
 * (ITU T.81 B.2.4.2: a table has at most 256 symbols). stb_image 2.27
 * (Debian 12's libstb) does not check, and writes past its tables on
 * such a DHT segment. Every segment stb could read as a DHT follows the
 * bytes FF C4, so each place they occur is checked (a superset). */
static int jpeg_tables_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != 0xFF || p[i + 1] != 0xC4)
            continue;
        size_t at = i + 2;
        long left = (long)(byte_at(p, n, at) << 8 | byte_at(p, n, at + 1));
        left -= 2, at += 2;
        while (left > 0 && at < n) {
            unsigned codes = 0;
            at++; /* table class and id */
            for (int k = 0; k < 16; k++)
                codes += byte_at(p, n, at++);
            if (codes > 256)
                return 0;
            left -= 17 + (long)codes;
            at += codes;
        }
    }
    return 1;
}

/* stb_image's reading of a buffer: bytes past the end read as 0; "at
 * the end" once every byte has been read. */
typedef struct {
    const uint8_t *p;
    size_t n, pos;
} cursor;

static int cursor_get(cursor *c) { return c->pos < c->n ? c->p[c->pos++] : 0; }
static int cursor_end(const cursor *c) { return c->pos >= c->n; }

/* The largest side stb_image takes (STBI_MAX_DIMENSIONS). */
#define STB_MAX_SIDE (1 << 24)

/* NULL if the PGM/PPM header of p[0 .. n) is sound, read as stb_image
 * 2.27 reads it (stbi__pnm_info); else what is wrong. stb accumulates
 * the header's numbers in an int without a check (a signed overflow) and
 * ignores a short read of the pixels (left uninitialized by libstb). */
static const char *pnm_problem(const uint8_t *p, size_t n)
{
    cursor c = {p, n, 2};
    int ch = cursor_get(&c);
    int64_t v[3]; /* width, height, largest value */
    for (int k = 0; k < 3; k++) {
        for (;;) { /* white space and # comments */
            while (!cursor_end(&c) && (ch == ' ' || (ch >= '\t' && ch <= '\r')))
                ch = cursor_get(&c);
            if (cursor_end(&c) || ch != '#')
                break;
            while (!cursor_end(&c) && ch != '\n' && ch != '\r')
                ch = cursor_get(&c);
        }
        v[k] = 0;
        while (!cursor_end(&c) && ch >= '0' && ch <= '9') {
            if (v[k] <= STB_MAX_SIDE)
                v[k] = 10 * v[k] + (ch - '0');
            ch = cursor_get(&c);
        }
        if (v[k] > STB_MAX_SIDE)
            return "a PGM/PPM header number out of range";
    }
    /* the pixels start after the one white-space byte that ended maxval */
    const int64_t bytes = v[0] * v[1] * (p[1] == '6' ? 3 : 1) *
                          (v[2] > 255 ? 2 : 1);
    if (bytes > (int64_t)(n - c.pos))
        return "PGM/PPM pixels cut short (truncated file)";
    return NULL;
}

/* NULL if every chunk of the PNG p[0 .. n) lies within the file. stb
 * allocates an IDAT chunk's declared length before it reads it. */
static const char *png_problem(const uint8_t *p, size_t n)
{
    for (size_t at = 8; at + 8 <= n;) {
        const size_t len = (size_t)p[at] << 24 | (size_t)p[at + 1] << 16 |
                           (size_t)p[at + 2] << 8 | p[at + 3];
        if (len > n - at - 8)
            return "a PNG chunk longer than the file (truncated?)";
        if (!memcmp(p + at + 4, "IEND", 4))
            break;
        at += 12 + len;
    }
    return NULL;
}

/* NULL if the file p[0 .. n) may go to stb_image, else why not. */
static const char *image_problem(const uint8_t *p, size_t n)
{
    const char *format = image_format(p, n);
    if (!format)
        return "not a PNG, JPEG, BMP, PGM or PPM file";
    if (!strcmp(format, "JPEG") && !jpeg_tables_ok(p, n))
        return "corrupt JPEG (a Huffman table of over 256 codes)";
    if (!strcmp(format, "PNM"))
        return pnm_problem(p, n);
    if (!strcmp(format, "PNG"))
        return png_problem(p, n);
    return NULL;
}

/* The most pixels an image may have: 64 M in all, and 1 M plus 4096 per
 * byte of its file. A real image compresses far less than 4096 pixels a
 * byte (deflate's limit is 1032 bytes a byte); a small file that claims
 * to be huge is a decompression bomb, or stb would fill it with zeros
 * (a JPEG or BMP cut short decodes as if the rest were zeros). */
#define IMAGE_MAX_PIXELS ((int64_t)1 << 26)
#define IMAGE_PIXELS_PER_BYTE 4096

static int pixels_fit(int w, int h, size_t len)
{
    const int64_t px = (int64_t)w * h;
    return px <= IMAGE_MAX_PIXELS &&
           px <= ((int64_t)1 << 20) + IMAGE_PIXELS_PER_BYTE * (int64_t)len;
}

/* Decodes the file at path: *img (h, w, comp) interleaved, for
 * pcnn_image_free. */
static pcnn_status decode(const char *path, uint8_t **out, int *pw, int *ph,
                          int *pcomp)
{
    uint8_t *file;
    size_t len;
    pcnn_status s = pcnn_data_read_file(path, &file, &len);
    if (s != PCNN_OK)
        return s;
    if (len == 0 || len > INT_MAX) {
        free(file);
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: cannot decode image: %s",
                         path, len ? "file over 2 GB" : "empty file");
    }
    const char *bad = image_problem(file, len);
    if (bad) {
        free(file);
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: cannot decode image: %s",
                         path, bad);
    }
    int w = 0, h = 0, comp = 0;
    if (pcnn_image_info(file, len, &w, &h) && !pixels_fit(w, h, len)) {
        free(file);
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: cannot decode image: %d x %d "
                         "pixels from %zu bytes (at most 64 M, and 4096 a "
                         "byte)", path, w, h, len);
    }
    const char *why;
    uint8_t *img = pcnn_image_decode(file, len, &w, &h, &comp, &why);
    free(file);
    if (!img)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: cannot decode image: %s",
                         path, why);
    if (w < 1 || h < 1 || comp < 1 || comp > 4) {
        pcnn_image_free(img);
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: decoded to %d x %d x %d",
                         path, w, h, comp);
    }
    *out = img, *pw = w, *ph = h, *pcomp = comp;
    return PCNN_OK;
}

/* Decodes the file at path into dst (channels, size, size). */
static pcnn_status load_one(const char *path, int channels, int64_t size,
                            uint8_t *dst)
{
    uint8_t *img;
    int w, h, comp;
    PCNN_TRY(decode(path, &img, &w, &h, &comp));
    const int64_t side = w < h ? w : h;
    int of = 0;
    const size_t plane = pcnn_mul_size((size_t)side, (size_t)side, &of);
    const size_t sq_bytes = pcnn_mul_size(plane, (size_t)channels, &of);
    uint8_t *square = of ? NULL : malloc(sq_bytes);
    if (!square) {
        pcnn_image_free(img);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: cannot allocate for a %d x "
                         "%d image", path, w, h);
    }
    convert_rect(square, channels, img, w, comp, (h - side) / 2,
                 (w - side) / 2, side, side);
    pcnn_image_free(img);
    pcnn_status s = PCNN_OK;
    for (int ch = 0; s == PCNN_OK && ch < channels; ch++)
        s = pcnn_resize_area(square + (size_t)ch * plane, side, side,
                             dst + (size_t)ch * (size_t)size * (size_t)size,
                             size, size);
    free(square);
    return s;
}

pcnn_status pcnn_dataset_load_folder(const char *dir, int channels, int size,
                                     pcnn_dataset *out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_dataset_load_folder: out is "
                         "NULL");
    memset(out, 0, sizeof *out);
    if (!dir)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_dataset_load_folder: dir is "
                         "NULL");
    if (channels != 1 && channels != 3)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_dataset_load_folder: channels is %d (1 or 3)",
                         channels);
    if (size < 1 || size > FOLDER_MAX_SIZE)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_dataset_load_folder: size is %d (1 .. %d)",
                         size, FOLDER_MAX_SIZE);
    path_list l;
    pcnn_status s = list_images(dir, &l);
    if (s != PCNN_OK)
        return s;
    if (l.n > INT64_MAX)
        s = pcnn_fail(PCNN_ERR_NOMEM, "%s: too many files", dir);
    if (s == PCNN_OK)
        s = pcnn_data_alloc(out, (int64_t)l.n, channels, size, size, 0);
    const size_t item = (size_t)channels * (size_t)size * (size_t)size;
    for (size_t k = 0; s == PCNN_OK && k < l.n; k++)
        s = load_one(l.paths[k], channels, size, out->images + k * item);
    paths_free(&l);
    if (s != PCNN_OK)
        pcnn_dataset_free(out);
    return s;
}

pcnn_status pcnn_dataset_load_image(const char *path, int channels, int size,
                                    pcnn_dataset *out)
{
    static const char fn[] = "pcnn_dataset_load_image";
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!path)
        return pcnn_fail(PCNN_ERR_ARG, "%s: path is NULL", fn);
    if (channels != 1 && channels != 3)
        return pcnn_fail(PCNN_ERR_ARG, "%s: channels is %d (1 or 3)", fn,
                         channels);
    if (size < 1 || size > FOLDER_MAX_SIZE)
        return pcnn_fail(PCNN_ERR_ARG, "%s: size is %d (1 .. %d)", fn, size,
                         FOLDER_MAX_SIZE);
    pcnn_status s = pcnn_data_alloc(out, 1, channels, size, size, 0);
    if (s == PCNN_OK)
        s = load_one(path, channels, size, out->images);
    if (s != PCNN_OK)
        pcnn_dataset_free(out);
    return s;
}

pcnn_status pcnn_dataset_crops(const pcnn_dataset *d, int size, int k,
                               double min_frac, uint64_t seed,
                               pcnn_dataset *out)
{
    static const char fn[] = "pcnn_dataset_crops";
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "%s: out is NULL", fn);
    size_t item, total;
    pcnn_status s = pcnn_data_check(d, fn, &item, &total);
    if (s == PCNN_OK && d->h != d->w)
        s = pcnn_fail(PCNN_ERR_ARG, "%s: images are %lld x %lld, not square",
                      fn, (long long)d->h, (long long)d->w);
    if (s == PCNN_OK && (size < 1 || size > FOLDER_MAX_SIZE || k < 1 ||
                         k > 1024 || !(min_frac > 0 && min_frac <= 1)))
        s = pcnn_fail(PCNN_ERR_ARG,
                      "%s: size %d, %d crops or fraction %g out of range",
                      fn, size, k, min_frac);
    if (s == PCNN_OK && d->cond)
        s = pcnn_fail(PCNN_ERR_ARG, "%s: crop images before taking views",
                      fn);
    int of = 0;
    int64_t n = 0;
    if (s == PCNN_OK) {
        n = d->n * k;
        pcnn_mul_size((size_t)d->n, (size_t)k, &of);
        if (of)
            s = pcnn_fail(PCNN_ERR_NOMEM, "%s: too many crops", fn);
    }
    pcnn_dataset r;
    memset(&r, 0, sizeof r);
    if (s == PCNN_OK)
        s = pcnn_data_alloc(&r, n, d->c, size, size, d->labels != NULL);
    const int64_t S = d->h;
    uint8_t *sq = s == PCNN_OK ? malloc((size_t)(S * S)) : NULL;
    if (s == PCNN_OK && !sq)
        s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    const size_t plane = (size_t)size * (size_t)size;
    for (int64_t i = 0; s == PCNN_OK && i < d->n; i++)
        for (int j = 0; j < k; j++) {
            /* crop 0: the whole image; others: a random square of side
             * in [min_frac * S, S] at a random position */
            const uint64_t q = (uint64_t)(i * k + j) * 3;
            int64_t side = S, y0 = 0, x0 = 0;
            if (j > 0) {
                const int64_t lo = (int64_t)ceil(min_frac * (double)S);
                side = lo + (int64_t)(pcnn_u01(seed, q) *
                                      (double)(S - lo + 1));
                side = side > S ? S : side < 1 ? 1 : side;
                y0 = (int64_t)(pcnn_u01(seed, q + 1) *
                               (double)(S - side + 1));
                x0 = (int64_t)(pcnn_u01(seed, q + 2) *
                               (double)(S - side + 1));
            }
            const int64_t o = i * k + j;
            for (int64_t ch = 0; s == PCNN_OK && ch < d->c; ch++) {
                const uint8_t *src = d->images + (size_t)i * item +
                                     (size_t)(ch * S * S);
                for (int64_t y = 0; y < side; y++)
                    memcpy(sq + y * side, src + (y0 + y) * S + x0,
                           (size_t)side);
                s = pcnn_resize_area(sq, side, side,
                                     r.images + (size_t)o * (size_t)d->c *
                                                    plane +
                                         (size_t)ch * plane,
                                     size, size);
            }
            if (d->labels)
                r.labels[o] = d->labels[i];
        }
    free(sq);
    if (s != PCNN_OK) {
        pcnn_dataset_free(&r);
        if (out != d)
            memset(out, 0, sizeof *out);
        return s;
    }
    r.num_classes = d->num_classes;
    if (out == d)
        pcnn_dataset_free(out);
    *out = r;
    return PCNN_OK;
}

pcnn_status pcnn_image_load(const char *path, int channels, pcnn_dataset *out)
{
    static const char fn[] = "pcnn_image_load";
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!path || (channels != 1 && channels != 3))
        return pcnn_fail(PCNN_ERR_ARG, "%s: no path or channels %d (1 or 3)",
                         fn, channels);
    uint8_t *img;
    int w, h, comp;
    PCNN_TRY(decode(path, &img, &w, &h, &comp));
    pcnn_status s = pcnn_data_alloc(out, 1, channels, h, w, 0);
    if (s == PCNN_OK)
        convert_rect(out->images, channels, img, w, comp, 0, 0, h, w);
    pcnn_image_free(img);
    return s;
}

/* One axis of an area resize: output k of n covers [k*m, (k+1)*m) in
 * units of 1/(m*n) of the axis, source t of m covers [t*n, (t+1)*n). */
static uint64_t cover(int64_t k, int64_t t, int64_t m, int64_t n)
{
    const int64_t lo = k * m > t * n ? k * m : t * n;
    const int64_t hi = (k + 1) * m < (t + 1) * n ? (k + 1) * m : (t + 1) * n;
    return hi > lo ? (uint64_t)(hi - lo) : 0;
}

pcnn_status pcnn_resize_area(const uint8_t *src, int64_t h, int64_t w,
                             uint8_t *dst, int64_t H, int64_t W)
{
    static const char fn[] = "pcnn_resize_area";
    if (!src || !dst || h < 1 || w < 1 || H < 1 || W < 1 ||
        h > FOLDER_MAX_SIZE || w > FOLDER_MAX_SIZE || H > FOLDER_MAX_SIZE ||
        W > FOLDER_MAX_SIZE)
        return pcnn_fail(PCNN_ERR_ARG, "%s: %lldx%lld -> %lldx%lld", fn,
                         (long long)h, (long long)w, (long long)H,
                         (long long)W);
    uint64_t *tmp = malloc((size_t)(h * W) * sizeof *tmp);
    if (!tmp)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    /* rows: tmp[y][j] = sum_x cover(j, x) src[y][x], weight w per output */
    for (int64_t j = 0; j < W; j++) {
        const int64_t x0 = j * w / W, x1 = ((j + 1) * w - 1) / W;
        for (int64_t y = 0; y < h; y++) {
            uint64_t acc = 0;
            for (int64_t x = x0; x <= x1 && x < w; x++)
                acc += cover(j, x, w, W) * src[y * w + x];
            tmp[y * W + j] = acc;
        }
    }
    const uint64_t total = (uint64_t)h * (uint64_t)w;
    for (int64_t i = 0; i < H; i++) {
        const int64_t y0 = i * h / H, y1 = ((i + 1) * h - 1) / H;
        for (int64_t j = 0; j < W; j++) {
            uint64_t acc = 0;
            for (int64_t y = y0; y <= y1 && y < h; y++)
                acc += cover(i, y, h, H) * tmp[y * W + j];
            dst[i * W + j] = (uint8_t)((acc + total / 2) / total);
        }
    }
    free(tmp);
    return PCNN_OK;
}
