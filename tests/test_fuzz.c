/*
 * test_fuzz.c -- the findings of the fuzz targets (fuzz/, docs/fuzzing.md)
 * as regression tests: each builds the kind of input that broke a loader
 * and expects a clean failure, a status with a message naming the file.
 * The minimized inputs themselves are kept in fuzz/corpus/.
 */
#include "data_util.h"
#include "pixelcnn.h"
#include "../src/data/data_internal.h"
#include "../src/io/safetensors.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

/* Rewrites the safetensors file src as dst with metadata key = value. */
static int with_meta(const char *src, const char *dst, const char *key,
                     const char *value)
{
    pcnn_st_file *f;
    pcnn_st_writer *w;
    if (pcnn_st_load(src, &f) != PCNN_OK)
        return 0;
    int ok = pcnn_st_writer_create(&w) == PCNN_OK;
    for (size_t i = 0; ok && i < pcnn_st_count(f); i++) {
        const pcnn_st_tensor *t = pcnn_st_at(f, i);
        ok = pcnn_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape,
                                t->data) == PCNN_OK;
    }
    for (size_t i = 0; ok && i < pcnn_st_meta_count(f); i++) {
        const char *k, *v;
        pcnn_st_meta_at(f, i, &k, &v);
        ok = pcnn_st_writer_meta(w, k, strcmp(k, key) ? v : value) ==
             PCNN_OK;
    }
    ok = ok && pcnn_st_writer_save(w, dst) == PCNN_OK;
    pcnn_st_writer_free(w);
    pcnn_st_free(f);
    return ok;
}

/* A checkpoint whose config asks for a model far larger than the file
 * (nr_filters 4096, nr_resnet 64: 2 billion parameters) failed only after
 * allocating them (32 GB with gradients and weights), an out-of-memory
 * abort under the fuzzer. Now the config's parameter table (names and
 * shapes, nothing allocated) is checked first: past the parameter cap it
 * is an error, and a file's tensors must match it; chains too. */
TEST(fuzz_checkpoint_config_larger_than_file)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 4;
    c.nr_resnet = 1, c.nr_filters = 1, c.nr_mix = 1, c.nr_resolutions = 1;
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    const char *good = path_in(0, dir, "model.safetensors");
    const char *big = path_in(1, dir, "big.safetensors");
    REQUIRE_OK(pcnn_checkpoint_save(good, m, NULL));
    pcnn_chain *ch;
    REQUIRE_OK(pcnn_chain_create(&ch, &m, 1));
    const char *chain = path_in(2, dir, "chain.safetensors");
    const char *bigchain = path_in(3, dir, "bigchain.safetensors");
    REQUIRE_OK(pcnn_chain_save(chain, ch));
    pcnn_chain_free(ch);

    REQUIRE(with_meta(good, big, "nr_filters", "4096") &&
                with_meta(big, big, "nr_resnet", "64"),
            "cannot write %s", big);
    pcnn_model *out = NULL;
    EXPECT_FAIL(pcnn_checkpoint_load_model(big, 0, &out), PCNN_ERR_FORMAT,
                big);
    CHECK((strstr(pcnn_last_error(), "too large") ||
           strstr(pcnn_last_error(), "parameters")) && !out,
          "%s", pcnn_last_error());
    pcnn_chain *cout = NULL;
    EXPECT_FAIL(pcnn_chain_load(big, 0, &cout), PCNN_ERR_FORMAT, big);
    REQUIRE(with_meta(chain, bigchain, "s0.nr_filters", "4096"),
            "cannot write %s", bigchain);
    EXPECT_FAIL(pcnn_chain_load(bigchain, 0, &cout), PCNN_ERR_FORMAT,
                bigchain);
    CHECK(strstr(pcnn_last_error(), "stage 0") && !cout, "%s",
          pcnn_last_error());
    /* the files it came from still load */
    REQUIRE_OK(pcnn_checkpoint_load_model(good, 0, &out));
    pcnn_model_free(out);
    REQUIRE_OK(pcnn_chain_load(chain, 0, &cout));
    pcnn_chain_free(cout);
    tmp_dir_remove(dir);
}

/* A JPEG whose Huffman table (DHT segment) declares more than 256 codes
 * made stb_image 2.27 (Debian 12's libstb) write past its tables, a heap
 * overflow (found as an out-of-bounds index in stbi__build_huffman). The
 * loaders now refuse such a file before stb sees it. */
TEST(fuzz_jpeg_huffman_table_over_256_codes)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    uint8_t px[8 * 8 * 3];
    for (int i = 0; i < 8 * 8 * 3; i++)
        px[i] = (uint8_t)(i * 5);
    const char *path = path_in(0, dir, "bad.jpg");
    REQUIRE(stbi_write_jpg(path, 8, 8, 3, px, 90), "write");
    size_t len;
    uint8_t *jpg = read_bytes(path, &len);
    REQUIRE(len > 2, "empty JPEG");
    /* SOI, then a DHT of 16 x 17 = 272 codes, then the rest */
    enum { CODES = 16 * 17, SEG = 2 + 17 + CODES };
    uint8_t *bad = xcalloc(len + 2 + SEG, 1);
    size_t k = 0;
    bad[k++] = 0xFF, bad[k++] = 0xD8, bad[k++] = 0xFF, bad[k++] = 0xC4;
    bad[k++] = SEG >> 8, bad[k++] = SEG & 0xFF;
    bad[k++] = 0x00; /* a DC table, id 0 */
    for (int i = 0; i < 16; i++)
        bad[k++] = 17;
    for (int i = 0; i < CODES; i++)
        bad[k++] = (uint8_t)i;
    memcpy(bad + k, jpg + 2, len - 2);
    REQUIRE(write_bytes(path, bad, k + len - 2), "write");
    pcnn_dataset d;
    EXPECT_FAIL(pcnn_dataset_load_image(path, 3, 8, &d), PCNN_ERR_FORMAT,
                "bad.jpg");
    CHECK(strstr(pcnn_last_error(), "Huffman"), "%s", pcnn_last_error());
    CHECK(is_zeroed(&d), "out not zeroed");
    EXPECT_FAIL(pcnn_image_load(path, 1, &d), PCNN_ERR_FORMAT, "bad.jpg");
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 1, 4, &d), PCNN_ERR_FORMAT,
                "bad.jpg");
    /* the JPEG it was made from still loads */
    REQUIRE(write_bytes(path, jpg, len), "write");
    REQUIRE_OK(pcnn_dataset_load_image(path, 3, 8, &d));
    pcnn_dataset_free(&d);
    free(jpg);
    free(bad);
    tmp_dir_remove(dir);
}

/* With that fix, only the documented formats reach stb_image, told by
 * their first bytes: a TGA (which stb would take whatever its name) or a
 * GIF is refused with a message naming the file. */
TEST(fuzz_image_only_documented_formats)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    uint8_t px[4 * 4 * 3] = {0};
    const char *path = path_in(0, dir, "x.png");
    REQUIRE(stbi_write_tga(path, 4, 4, 3, px), "write");
    pcnn_dataset d;
    EXPECT_FAIL(pcnn_image_load(path, 3, &d), PCNN_ERR_FORMAT, "x.png");
    CHECK(strstr(pcnn_last_error(), "not a PNG, JPEG"), "%s",
          pcnn_last_error());
    REQUIRE(write_bytes(path, "GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14),
            "write");
    EXPECT_FAIL(pcnn_image_load(path, 3, &d), PCNN_ERR_FORMAT, "x.png");
    tmp_dir_remove(dir);
}

/* A PPM header with a number of 10 or more digits made stb_image 2.27
 * overflow an int while reading it (undefined behaviour), and a PGM/PPM
 * cut short decoded "successfully" with the missing pixels left
 * uninitialized (stb ignores the short read). Both are refused now,
 * naming the file; a whole PGM with a comment in its header still loads. */
TEST(fuzz_pnm_header_overflow_and_short_pixels)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    const char *path = path_in(0, dir, "x.ppm");
    pcnn_dataset d;
    const char huge[] = "P657  25555555555555555555jjjj";
    REQUIRE(write_bytes(path, huge, sizeof huge - 1), "write");
    EXPECT_FAIL(pcnn_image_load(path, 3, &d), PCNN_ERR_FORMAT, "x.ppm");
    CHECK(strstr(pcnn_last_error(), "out of range"), "%s",
          pcnn_last_error());
    const char cut[] = "P6 2 2 255\n0123456789"; /* 12 bytes needed */
    REQUIRE(write_bytes(path, cut, sizeof cut - 1), "write");
    EXPECT_FAIL(pcnn_image_load(path, 3, &d), PCNN_ERR_FORMAT, "x.ppm");
    CHECK(strstr(pcnn_last_error(), "cut short"), "%s", pcnn_last_error());
    EXPECT_FAIL(pcnn_dataset_load_image(path, 1, 2, &d), PCNN_ERR_FORMAT,
                "x.ppm");
    const char wide[] = "P5 # 16-bit\n2 1 65535\n\x01\x02\x03\x04";
    REQUIRE(write_bytes(path, wide, sizeof wide - 1), "write");
    REQUIRE_OK(pcnn_image_load(path, 1, &d));
    CHECK(d.n == 1 && d.h == 1 && d.w == 2, "16-bit PGM: %lldx%lld",
          (long long)d.h, (long long)d.w);
    pcnn_dataset_free(&d);
    tmp_dir_remove(dir);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A 55-byte PNG whose IDAT chunk claims 1.8 GB made stb_image allocate
 * that much before reading it (an out-of-memory abort under the fuzzer);
 * a small PNG or BMP whose header claims 16000 x 16000 pixels made it
 * allocate 768 MB (and fill it, for a BMP). Both are refused before
 * decoding. */
TEST(fuzz_png_chunk_and_pixel_bounds)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    uint8_t px[6 * 4 * 3];
    for (int i = 0; i < 6 * 4 * 3; i++)
        px[i] = (uint8_t)(i * 3);
    const char *path = path_in(0, dir, "x.png");
    REQUIRE(stbi_write_png(path, 6, 4, 3, px, 6 * 3), "write");
    size_t len;
    uint8_t *png = read_bytes(path, &len);
    /* signature, IHDR (8 + 13 + 4 bytes), then the IDAT chunk */
    REQUIRE(len > 45 && !memcmp(png + 37, "IDAT", 4), "unexpected PNG");
    pcnn_dataset d;
    put_be32(png + 33, 0x6f110013u);
    REQUIRE(write_bytes(path, png, len), "write");
    EXPECT_FAIL(pcnn_image_load(path, 3, &d), PCNN_ERR_FORMAT, "x.png");
    CHECK(strstr(pcnn_last_error(), "chunk longer"), "%s",
          pcnn_last_error());
    free(png);
    REQUIRE(stbi_write_png(path, 6, 4, 3, px, 6 * 3), "write");
    png = read_bytes(path, &len);
    put_be32(png + 16, 16000), put_be32(png + 20, 16000); /* IHDR w, h */
    REQUIRE(write_bytes(path, png, len), "write");
    EXPECT_FAIL(pcnn_dataset_load_image(path, 3, 8, &d), PCNN_ERR_FORMAT,
                "x.png");
    CHECK(strstr(pcnn_last_error(), "16000 x 16000"), "%s",
          pcnn_last_error());
    free(png);
    const char *bmp = path_in(1, dir, "x.bmp");
    REQUIRE(stbi_write_bmp(bmp, 6, 4, 3, px), "write");
    uint8_t *b = read_bytes(bmp, &len);
    REQUIRE(len > 26, "BMP");
    b[18] = 0x80, b[19] = 0x3E, b[22] = 0x80, b[23] = 0x3E; /* 16000 */
    REQUIRE(write_bytes(bmp, b, len), "write");
    unlink(path);
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 1, 4, &d), PCNN_ERR_FORMAT,
                "x.bmp");
    free(b);
    /* the same files at their real sizes load */
    REQUIRE(stbi_write_png(path, 6, 4, 3, px, 6 * 3) &&
                stbi_write_bmp(bmp, 6, 4, 3, px),
            "write");
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 3, 4, &d));
    CHECK(d.n == 2, "n %lld", (long long)d.n);
    pcnn_dataset_free(&d);
    tmp_dir_remove(dir);
}

/* Fills and frees blocks of 16 to 24 KB of heap with v: a JPEG
 * decoder's state allocated next likely reuses them, as garbage. */
static void scribble_heap(int v)
{
    for (size_t n = 16384; n <= 24576; n += 64) {
        volatile uint8_t *p = malloc(n);
        if (p) {
            memset((void *)p, v, n);
            free((void *)p);
        }
    }
}

/* tests/fixtures/fuzz_jpeg_undefined_table.jpg, the image target's
 * input, scans with an AC Huffman table that no DHT segment defines (its
 * id byte became 0x11). stb_image 2.27 from libstb.so decodes it with
 * that table's uninitialized memory: "bad huffman code", a "successful"
 * decode of garbage, an assertion (abort) or an out-of-bounds read,
 * depending on what the heap held before; the fuzzer's crash did not
 * even reproduce on its own. stb is now compiled in with zeroed
 * allocations: the outcome is the same whatever the heap held. */
TEST(fuzz_jpeg_undefined_huffman_table)
{
    const char *dir = getenv("PCNN_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz_jpeg_undefined_table.jpg",
             dir && *dir ? dir : "tests/fixtures");
    pcnn_status s[2];
    pcnn_dataset d[2];
    for (int k = 0; k < 2; k++) {
        scribble_heap(k ? 0xFF : 0x00);
        s[k] = pcnn_image_load(path, 3, &d[k]);
        CHECK(s[k] == PCNN_OK ||
                  (s[k] == PCNN_ERR_FORMAT &&
                   strstr(pcnn_last_error(), "undefined_table")),
              "%s", pcnn_last_error());
    }
    REQUIRE(s[0] != PCNN_ERR_IO, "fixture %s missing (run from the "
            "repository root or set PCNN_FIXTURES)", path);
    CHECK(s[0] == s[1], "the outcome depends on the heap: %s, then %s",
          pcnn_status_str(s[0]), pcnn_status_str(s[1]));
    if (s[0] == PCNN_OK && s[1] == PCNN_OK)
        CHECK(d[0].h == d[1].h && d[0].w == d[1].w &&
                  !memcmp(d[0].images, d[1].images,
                          (size_t)(3 * d[0].h * d[0].w)),
              "the pixels depend on the heap");
    pcnn_dataset_free(&d[0]);
    pcnn_dataset_free(&d[1]);
}

/* tests/fixtures/fuzz_jpeg_marker_mid_code.jpg: entropy data that meets
 * a marker in the middle of a code. stb_image 2.27 then counts its bits
 * below zero and shifts a zero by 32 (undefined behaviour, harmless;
 * fixed upstream in 2.28): image_decode.c is built without UBSan's
 * shift check (Makefile, NOSAN_). The load itself must end cleanly. */
TEST(fuzz_jpeg_marker_mid_code)
{
    const char *dir = getenv("PCNN_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz_jpeg_marker_mid_code.jpg",
             dir && *dir ? dir : "tests/fixtures");
    pcnn_dataset d;
    pcnn_status s = pcnn_dataset_load_image(path, 3, 8, &d);
    CHECK(s == PCNN_OK || (s == PCNN_ERR_FORMAT &&
                           strstr(pcnn_last_error(), "mid_code")),
          "%s", pcnn_last_error());
    CHECK(s == PCNN_OK ? d.n == 1 && d.h == 8 : is_zeroed(&d), "out");
    pcnn_dataset_free(&d);
}

typedef struct {
    uint8_t buf[512];
    int n;
} mem_png;

static void to_mem(void *ctx, void *data, int size)
{
    mem_png *m = ctx;
    if (m->n + size <= (int)sizeof m->buf)
        memcpy(m->buf + m->n, data, (size_t)size);
    m->n += size;
}

/* stb 2.27 adds 0 to its NULL data buffer for a PNG whose first IDAT
 * chunk is empty (undefined behaviour that UBSan stops at; found by the
 * image fuzz target, fuzz/corpus/image/crash-png-empty-first-idat): the
 * decoder drops empty IDAT chunks first. That input has no other data,
 * so it fails cleanly; a valid PNG with an empty IDAT added still
 * decodes to the same pixels. */
TEST(fuzz_png_empty_idat_dropped)
{
    size_t len;
    uint8_t *buf = read_bytes("fuzz/corpus/image/crash-png-empty-first-idat",
                              &len);
    REQUIRE(len > 8, "corpus file missing");
    int w, h, c;
    const char *why = NULL;
    uint8_t *img = pcnn_image_decode(buf, len, &w, &h, &c, &why);
    CHECK(!img && why, "decoded a PNG without image data");
    pcnn_image_free(img);
    free(buf);
    /* a 2x2 gray PNG, then the same with an empty IDAT before its data */
    uint8_t px[4] = {0, 80, 160, 240};
    static mem_png m;
    m.n = 0;
    REQUIRE(stbi_write_png_to_func(to_mem, &m, 2, 2, 1, px, 2) &&
                m.n > 33 && m.n <= (int)sizeof m.buf,
            "stb write");
    const uint8_t *png = m.buf;
    const int n = m.n;
    uint8_t *two = malloc((size_t)n + 12);
    static const uint8_t empty[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T',
                                      0x35, 0xAF, 0x06, 0x1E};
    memcpy(two, png, 33); /* signature and IHDR */
    memcpy(two + 33, empty, 12);
    memcpy(two + 45, png + 33, (size_t)n - 33);
    uint8_t *a = pcnn_image_decode(png, (size_t)n, &w, &h, &c, &why);
    uint8_t *b = pcnn_image_decode(two, (size_t)n + 12, &w, &h, &c, &why);
    CHECK(a && b && w == 2 && h == 2 && !memcmp(a, b, 4) &&
              !memcmp(a, px, 4),
          "an empty IDAT changed the image: %s", why ? why : "");
    pcnn_image_free(a), pcnn_image_free(b);
    free(two);
}
