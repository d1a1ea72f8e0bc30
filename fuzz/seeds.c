/*
 * seeds.c -- writes the data-file seeds of the fuzz corpora (built and
 * run by scripts/fuzz_seeds.sh, which adds the checkpoint, chain and flag
 * seeds made with the tool itself):
 *   seeds OUT   writes OUT/{image,cifar,idx,idx_gzip}/... and OUT/mnist/,
 *               a tiny MNIST-format data set (8 train and 4 test images
 *               of 4x4 with labels) to train the seed models on.
 * Images are drawn here and encoded by stb_image_write (Debian's libstb);
 * gzip by zlib. Small on purpose: every seed stays under a few KB.
 */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

int stbi_write_png(char const *filename, int w, int h, int comp,
                   const void *data, int stride_in_bytes);
int stbi_write_bmp(char const *filename, int w, int h, int comp,
                   const void *data);
int stbi_write_tga(char const *filename, int w, int h, int comp,
                   const void *data);
int stbi_write_jpg(char const *filename, int w, int h, int comp,
                   const void *data, int quality);

static char out[400];

static const char *at(const char *name)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", out, name);
    return path;
}

static void put(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(at(name), "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
        perror(at(name));
        exit(1);
    }
}

/* data gzip-compressed, as `members` gzip members one after another */
static void put_gzip(const char *name, const uint8_t *data, size_t n,
                     int members)
{
    size_t cap = 2 * compressBound((uLong)n) + 64 * (size_t)members, len = 0;
    uint8_t *buf = malloc(cap);
    for (int k = 0; k < members; k++) {
        const size_t a = n * (size_t)k / (size_t)members;
        const size_t b = n * (size_t)(k + 1) / (size_t)members;
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)(uintptr_t)(data + a);
        z.avail_in = (uInt)(b - a);
        z.next_out = buf + len;
        z.avail_out = (uInt)(cap - len);
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            exit(1);
        len = cap - z.avail_out;
        deflateEnd(&z);
    }
    put(name, buf, len);
    free(buf);
}

/* An IDX file of unsigned bytes: dims d[0 .. nd) then the data. */
static size_t idx(uint8_t *dst, int nd, const uint32_t *d, const uint8_t *v)
{
    size_t n = 1, k = 0;
    dst[k++] = 0, dst[k++] = 0, dst[k++] = 8, dst[k++] = (uint8_t)nd;
    for (int i = 0; i < nd; i++) {
        for (int s = 24; s >= 0; s -= 8)
            dst[k++] = (uint8_t)(d[i] >> s);
        n *= d[i];
    }
    memcpy(dst + k, v, n);
    return k + n;
}

static uint8_t *cat(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                    size_t *n)
{
    const size_t ns = sizeof FUZZ_SEP - 1;
    uint8_t *r = malloc(na + ns + nb);
    memcpy(r, a, na);
    memcpy(r + na, FUZZ_SEP, ns);
    memcpy(r + na + ns, b, nb);
    *n = na + ns + nb;
    return r;
}

static void images(void)
{
    enum { W = 6, H = 4 };
    uint8_t rgb[H * W * 3], rgba[H * W * 4], gray[H * W];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            const int p = i * W + j;
            rgb[3 * p] = (uint8_t)(40 * j), rgb[3 * p + 1] = (uint8_t)(60 * i);
            rgb[3 * p + 2] = (uint8_t)(200 - 30 * j);
            memcpy(rgba + 4 * p, rgb + 3 * p, 3);
            rgba[4 * p + 3] = (uint8_t)(p * 10);
            gray[p] = (uint8_t)(10 * p);
        }
    mkdir(at("image"), 0777);
    stbi_write_png(at("image/rgb.png"), W, H, 3, rgb, W * 3);
    stbi_write_png(at("image/rgba.png"), W, H, 4, rgba, W * 4);
    stbi_write_png(at("image/gray.png"), W, H, 1, gray, W);
    stbi_write_jpg(at("image/rgb.jpg"), W, H, 3, rgb, 90);
    stbi_write_jpg(at("image/gray.jpg"), W, H, 1, gray, 50);
    stbi_write_bmp(at("image/rgb.bmp"), W, H, 3, rgb);
    stbi_write_tga(at("image/rgb.tga"), W, H, 3, rgb);
    char hdr[32];
    int k = snprintf(hdr, sizeof hdr, "P5\n%d %d\n255\n", W, H);
    uint8_t pnm[32 + sizeof rgb];
    memcpy(pnm, hdr, (size_t)k);
    memcpy(pnm + k, gray, sizeof gray);
    put("image/gray.pgm", pnm, (size_t)k + sizeof gray);
    k = snprintf(hdr, sizeof hdr, "P6 %d %d 255\n", W, H);
    memcpy(pnm, hdr, (size_t)k);
    memcpy(pnm + k, rgb, sizeof rgb);
    put("image/rgb.ppm", pnm, (size_t)k + sizeof rgb);
    put("image/rgb-truncated.ppm", pnm, (size_t)k + sizeof rgb / 2);
}

static void cifar(void)
{
    enum { R = 3073 };
    static uint8_t rec[3 * R];
    for (int r = 0; r < 3; r++) {
        rec[r * R] = (uint8_t)(r * 4);
        for (int k = 1; k < R; k++)
            rec[r * R + k] = (uint8_t)(k * (r + 3) + k / 1024 * 50);
    }
    mkdir(at("cifar"), 0777);
    put("cifar/one.bin", rec, R);
    put("cifar/three.bin", rec, 3 * R);
    put("cifar/truncated.bin", rec, R + 100);
    rec[R] = 10; /* a label out of range */
    put("cifar/bad-label.bin", rec, 2 * R);
}

static void idx_sets(void)
{
    uint8_t px[12 * 16], lab[12];
    for (int k = 0; k < 12 * 16; k++)
        px[k] = (uint8_t)(k * 37 % 256);
    for (int k = 0; k < 12; k++)
        lab[k] = (uint8_t)(k % 3);
    uint8_t im[16 + sizeof px], lb[8 + sizeof lab];
    size_t n, ni, nl;
    uint8_t *both;
    /* the training data of the seed models */
    mkdir(at("mnist"), 0777);
    ni = idx(im, 3, (uint32_t[]){8, 4, 4}, px);
    nl = idx(lb, 1, (uint32_t[]){8}, lab);
    put("mnist/train-images-idx3-ubyte", im, ni);
    put("mnist/train-labels-idx1-ubyte", lb, nl);
    ni = idx(im, 3, (uint32_t[]){4, 4, 4}, px + 8 * 16);
    nl = idx(lb, 1, (uint32_t[]){4}, lab + 8);
    put("mnist/t10k-images-idx3-ubyte", im, ni);
    put("mnist/t10k-labels-idx1-ubyte", lb, nl);
    /* idx seeds: images [FUZZ_SEP labels], plain and gzip */
    mkdir(at("idx"), 0777);
    mkdir(at("idx_gzip"), 0777);
    ni = idx(im, 3, (uint32_t[]){3, 4, 4}, px);
    nl = idx(lb, 1, (uint32_t[]){3}, lab);
    put("idx/images", im, ni);
    put("idx_gzip/images", im, ni);
    both = cat(im, ni, lb, nl, &n);
    put("idx/images-labels", both, n);
    put("idx_gzip/images-labels", both, n);
    free(both);
    ni = idx(im, 3, (uint32_t[]){2, 3, 5}, px);
    nl = idx(lb, 1, (uint32_t[]){3}, lab);
    both = cat(im, ni, lb, nl, &n); /* 2 images, 3 labels */
    put("idx/count-mismatch", both, n);
    put("idx_gzip/count-mismatch", both, n);
    free(both);
    put("idx/truncated", im, ni - 3);
    put("idx_gzip/truncated", im, ni - 3);
    ni = idx(im, 3, (uint32_t[]){3, 4, 4}, px);
    put_gzip("idx/images.gz", im, ni, 1);
    put_gzip("idx/images-2members.gz", im, ni, 2);
    /* gzip'd images, then gzip'd labels (the loader tells them apart by
     * their magic, each file on its own) */
    {
        uint8_t *gz;
        FILE *f;
        long a, b;
        put_gzip("idx/tmp-i", im, ni, 1);
        put_gzip("idx/tmp-l", lb, idx(lb, 1, (uint32_t[]){3}, lab), 1);
        f = fopen(at("idx/tmp-i"), "rb"), fseek(f, 0, SEEK_END);
        a = ftell(f), rewind(f);
        gz = malloc((size_t)a + 4096);
        if (fread(gz, 1, (size_t)a, f) != (size_t)a)
            exit(1);
        fclose(f);
        f = fopen(at("idx/tmp-l"), "rb"), fseek(f, 0, SEEK_END);
        b = ftell(f), rewind(f);
        uint8_t *gl = malloc((size_t)b);
        if (fread(gl, 1, (size_t)b, f) != (size_t)b)
            exit(1);
        fclose(f);
        both = cat(gz, (size_t)a, gl, (size_t)b, &n);
        put("idx/images-labels.gz", both, n);
        free(both), free(gz), free(gl);
        remove(at("idx/tmp-i")), remove(at("idx/tmp-l"));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds OUT\n");
        return 2;
    }
    snprintf(out, sizeof out, "%s", argv[1]);
    mkdir(out, 0777);
    images();
    cifar();
    idx_sets();
    return 0;
}
