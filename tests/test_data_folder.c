/*
 * test_data_folder.c -- image folders: crop, area resize and gray
 * conversion against values worked out by hand, every accepted format
 * (PNG gray+alpha and RGBA, JPEG, BMP, PGM, PPM), name order and what is
 * skipped, and files that do not decode, cut at many lengths.
 */
#include "data_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

/* -------------------------------------------------------------- folders */

/* A PNM file (P5 gray or P6 RGB) of w x h interleaved pixels. */
static int write_pnm(const char *path, int w, int h, int comp,
                     const uint8_t *px)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fprintf(f, "P%d\n%d %d\n255\n", comp == 1 ? 5 : 6, w, h);
    int ok = fwrite(px, 1, (size_t)(w * h * comp), f) ==
             (size_t)(w * h * comp);
    return fclose(f) == 0 && ok;
}

static long gray_ref(int r, int g, int b)
{
    return lround(0.299 * r + 0.587 * g + 0.114 * b);
}

TEST(data_folder_crop_resize_convert)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    pcnn_dataset d;
    /* 8 x 4 RGB: the center 4 x 4 (columns 2..5) in 2 x 2 blocks, each
     * channel of block (by, bx) holding 4 known values; the columns
     * outside the crop hold 255 so a wrong crop shows */
    uint8_t px[4 * 8 * 3];
    memset(px, 255, sizeof px);
    static const uint8_t blk[4][4] = {
        {10, 11, 11, 11}, {0, 0, 1, 1}, {200, 100, 50, 30}, {7, 7, 7, 7}};
    for (int y = 0; y < 4; y++)
        for (int x = 2; x < 6; x++)
            for (int ch = 0; ch < 3; ch++) {
                int bi = (y / 2) * 2 + (x - 2) / 2;
                int v = blk[bi][(y % 2) * 2 + (x - 2) % 2] + 20 * ch;
                px[(y * 8 + x) * 3 + ch] = (uint8_t)(v > 255 ? 255 : v);
            }
    REQUIRE(stbi_write_png(path_in(0, dir, "a.png"), 8, 4, 3, px, 8 * 3),
            "stbi_write_png failed");
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 3, 2, &d));
    CHECK(d.n == 1 && d.c == 3 && d.h == 2 && d.w == 2 && !d.labels &&
              d.num_classes == 0,
          "shape");
    for (int ch = 0; ch < 3 && d.n == 1; ch++)
        for (int bi = 0; bi < 4; bi++) {
            int sum = 0;
            for (int q = 0; q < 4; q++) {
                int v = blk[bi][q] + 20 * ch;
                sum += v > 255 ? 255 : v;
            }
            /* lround: halves away from zero, here up (block 1 is a tie) */
            long want = lround(sum / 4.0);
            CHECK(d.images[ch * 4 + bi] == want,
                  "channel %d block %d: got %d want %ld", ch, bi,
                  d.images[ch * 4 + bi], want);
        }
    pcnn_dataset_free(&d);
    unlink(path_in(0, dir, "a.png"));

    /* gray from RGB, and no resize when size == side (2 x 2) */
    static const uint8_t rgb[4][3] = {
        {200, 100, 50}, {0, 255, 0}, {255, 0, 0}, {0, 0, 255}};
    REQUIRE(stbi_write_png(path_in(0, dir, "g.png"), 2, 2, 3, rgb, 6),
            "stbi_write_png failed");
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 1, 2, &d));
    for (int i = 0; i < 4 && d.n == 1 && d.c == 1; i++)
        CHECK(d.images[i] == gray_ref(rgb[i][0], rgb[i][1], rgb[i][2]),
              "gray %d: got %d want %ld", i, d.images[i],
              gray_ref(rgb[i][0], rgb[i][1], rgb[i][2]));
    pcnn_dataset_free(&d);
    unlink(path_in(0, dir, "g.png"));

    /* 3 x 3 gray to 2 x 2: output (0,0) = (4 v00 + 2 v01 + 2 v10 + v11)/9
     * (area weights for a 1.5-pixel footprint); odd 9ths never tie */
    const uint8_t g3[9] = {90, 10, 200, 33, 47, 250, 0, 128, 77};
    REQUIRE(write_pnm(path_in(0, dir, "s.pgm"), 3, 3, 1, g3), "write");
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 1, 2, &d));
    {
        for (int i = 0; i < 2 && d.n == 1; i++)
            for (int j = 0; j < 2; j++) {
                double acc = 0;
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 3; x++) {
                        int wy = y == 1 ? 1 : (y == 2 * i ? 2 : 0);
                        int wx = x == 1 ? 1 : (x == 2 * j ? 2 : 0);
                        acc += wy * wx * g3[y * 3 + x];
                    }
                long want = lround(acc / 9.0);
                CHECK(d.images[i * 2 + j] == want,
                      "3->2 (%d,%d): got %d want %ld", i, j,
                      d.images[i * 2 + j], want);
            }
    }
    pcnn_dataset_free(&d);
    /* enlarging 2 x 2 to 3 x 3: edges repeat, the middle row and column
     * blend their two neighbours equally */
    unlink(path_in(0, dir, "s.pgm"));
    const uint8_t g2[4] = {0, 100, 200, 51};
    REQUIRE(write_pnm(path_in(0, dir, "e.pgm"), 2, 2, 1, g2), "write");
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 3, 3, &d));
    {
        /* e.g. the center (0 + 100 + 200 + 51) / 4 = 87.75 -> 88, the
         * right edge's middle (100 + 51) / 2 = 75.5 -> 76 */
        const uint8_t want[9] = {0, 50, 100, 100, 88, 76, 200, 126, 51};
        int bad = 0;
        for (int ch = 0; ch < 3 && d.n == 1; ch++)
            for (int i = 0; i < 9; i++)
                bad += d.images[ch * 9 + i] != want[i];
        CHECK(bad == 0, "enlarge: %d values differ (%d %d %d / %d %d %d / "
              "%d %d %d)", bad, d.images[0], d.images[1], d.images[2],
              d.images[3], d.images[4], d.images[5], d.images[6],
              d.images[7], d.images[8]);
    }
    pcnn_dataset_free(&d);
    unlink(path_in(0, dir, "e.pgm"));
    /* a tall 2 x 5 RGB image: rows 1..2 are the crop ((5-2)/2 = 1) */
    uint8_t tall[5 * 2 * 3];
    for (int i = 0; i < 30; i++)
        tall[i] = (uint8_t)(i * 8);
    REQUIRE(write_pnm(path_in(0, dir, "t.ppm"), 2, 5, 3, tall), "write");
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 3, 2, &d));
    for (int ch = 0; ch < 3 && d.n == 1; ch++)
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++)
                CHECK(d.images[ch * 4 + y * 2 + x] ==
                          tall[((y + 1) * 2 + x) * 3 + ch],
                      "tall crop: channel %d (%d,%d)", ch, y, x);
    pcnn_dataset_free(&d);
    tmp_dir_remove(dir);
}

TEST(data_folder_formats_and_order)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    /* four formats, named out of order; gray+alpha and RGBA too */
    uint8_t solid[16 * 16 * 4];
    for (int i = 0; i < 16 * 16; i++) {
        solid[4 * i] = 40;
        solid[4 * i + 1] = 120;
        solid[4 * i + 2] = 220;
        solid[4 * i + 3] = 9; /* alpha, dropped */
    }
    uint8_t rgb[16 * 16 * 3], ga[16 * 16 * 2];
    for (int i = 0; i < 16 * 16; i++) {
        memcpy(rgb + 3 * i, solid + 4 * i, 3);
        ga[2 * i] = 77;
        ga[2 * i + 1] = 0;
    }
    int ok = stbi_write_jpg(path_in(0, dir, "c.JPG"), 16, 16, 3, rgb, 100) &&
             stbi_write_bmp(path_in(0, dir, "d.bmp"), 16, 16, 3, rgb) &&
             stbi_write_png(path_in(0, dir, "b.png"), 16, 16, 4, solid,
                            16 * 4) &&
             stbi_write_png(path_in(0, dir, "a.png"), 16, 16, 2, ga,
                            16 * 2) &&
             write_pnm(path_in(0, dir, "e.ppm"), 16, 16, 3, rgb) &&
             write_bytes(path_in(0, dir, "notes.txt"), "hi", 2) &&
             write_bytes(path_in(0, dir, ".hidden.png"), "junk", 4) &&
             write_bytes(path_in(0, dir, "png"), "junk", 4) &&
             mkdir(path_in(0, dir, "sub.png"), 0700) == 0;
    REQUIRE(ok, "cannot write the test files");
    pcnn_dataset d;
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 3, 4, &d));
    CHECK(d.n == 5 && d.c == 3 && d.h == 4 && d.w == 4, "n %lld",
          (long long)d.n);
    /* a: gray 77 replicated; b, c, d, e: (40, 120, 220) (JPEG within 2) */
    for (int64_t k = 0; k < d.n && d.n == 5; k++)
        for (int ch = 0; ch < 3; ch++)
            for (int i = 0; i < 16; i++) {
                int v = d.images[(k * 3 + ch) * 16 + i];
                int want = k == 0 ? 77 : solid[ch];
                int tol = k == 2 ? 2 : 0;
                if (abs(v - want) > tol) {
                    CHECK(0, "image %lld channel %d: %d, want %d",
                          (long long)k, ch, v, want);
                    ch = 3;
                    break;
                }
            }
    pcnn_dataset_free(&d);
    REQUIRE_OK(pcnn_dataset_load_folder(dir, 1, 1, &d));
    CHECK(d.n == 5 && d.c == 1 && d.images[0] == 77 &&
              d.images[1] == gray_ref(40, 120, 220),
          "gray: %d %d", d.n ? d.images[0] : -1, d.n ? d.images[1] : -1);
    pcnn_dataset_free(&d);
    tmp_dir_remove(dir);
}

TEST(data_folder_errors)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    pcnn_dataset d;
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 1, 8, &d), PCNN_ERR_IO, dir);
    write_bytes(path_in(0, dir, "readme.txt"), "x", 1);
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 1, 8, &d), PCNN_ERR_IO,
                "no image files");
    EXPECT_FAIL(pcnn_dataset_load_folder(path_in(1, dir, "none"), 1, 8, &d),
                PCNN_ERR_IO, "none");
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 2, 8, &d), PCNN_ERR_ARG,
                "channels");
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 3, 0, &d), PCNN_ERR_ARG,
                "size");
    /* a good file and a bad one: the bad one is named, nothing skipped */
    uint8_t px[8 * 8];
    for (int i = 0; i < 64; i++)
        px[i] = (uint8_t)(i * 4);
    REQUIRE(stbi_write_png(path_in(0, dir, "a.png"), 8, 8, 1, px, 8),
            "write");
    write_bytes(path_in(0, dir, "b.jpg"), "not a jpeg at all", 17);
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 1, 8, &d), PCNN_ERR_FORMAT,
                "b.jpg");
    CHECK(is_zeroed(&d), "out not zeroed");
    write_bytes(path_in(0, dir, "b.jpg"), "", 0);
    EXPECT_FAIL(pcnn_dataset_load_folder(dir, 1, 8, &d), PCNN_ERR_FORMAT,
                "b.jpg");
    unlink(path_in(0, dir, "b.jpg"));
    /* truncated PNGs and JPEGs at many lengths: no crash; a failure is
     * a format error naming the file */
    size_t plen;
    uint8_t *png = read_bytes(path_in(0, dir, "a.png"), &plen);
    REQUIRE(stbi_write_jpg(path_in(1, dir, "j.jpg"), 8, 8, 1, px, 90),
            "write");
    size_t jlen;
    uint8_t *jpg = read_bytes(path_in(1, dir, "j.jpg"), &jlen);
    unlink(path_in(1, dir, "j.jpg"));
    int wrong = 0;
    for (int which = 0; which < 2; which++) {
        const uint8_t *f = which ? jpg : png;
        const size_t flen = which ? jlen : plen;
        const char *name = which ? "a.jpg" : "a.png";
        unlink(path_in(0, dir, "a.png"));
        for (size_t len = 0; len < flen; len += 1 + len / 16) {
            write_bytes(path_in(0, dir, name), f, len);
            pcnn_status s = pcnn_dataset_load_folder(dir, 1, 8, &d);
            if (s != PCNN_OK)
                wrong += s != PCNN_ERR_FORMAT ||
                         !strstr(pcnn_last_error(), name);
            pcnn_dataset_free(&d);
        }
        unlink(path_in(0, dir, name));
    }
    CHECK(wrong == 0, "%d truncated images handled wrongly", wrong);
    free(png);
    free(jpg);
    tmp_dir_remove(dir);
}

/* The area resize of the square (y0, x0, side) of an s x s image to n x n,
 * straight from the definition (docs/data.md), for side a multiple of n
 * or n a multiple of side... any: weights by overlap in 1/(side*n) units. */
static void ref_crop(uint8_t *dst, const uint8_t *img, int s, int y0, int x0,
                     int side, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            uint64_t acc = 0;
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++) {
                    long oy = (long)((i + 1) * side < (y + 1) * n
                                         ? (i + 1) * side
                                         : (y + 1) * n) -
                              (i * side > y * n ? i * side : y * n);
                    long ox = (long)((j + 1) * side < (x + 1) * n
                                         ? (j + 1) * side
                                         : (x + 1) * n) -
                              (j * side > x * n ? j * side : x * n);
                    if (oy > 0 && ox > 0)
                        acc += (uint64_t)(oy * ox) *
                               img[(y0 + y) * s + x0 + x];
                }
            const uint64_t total = (uint64_t)side * side;
            dst[i * n + j] = (uint8_t)((acc + total / 2) / total);
        }
}

/* Crops: item 0 of each image is the whole image resized; the others are
 * resized squares of side >= min_frac * S somewhere in it; the same seed
 * gives the same crops; bad arguments are refused. */
TEST(data_crops)
{
    pcnn_dataset d = {0}, r, r2;
    d.n = 2, d.c = 1, d.h = d.w = 12;
    d.images = xcalloc(2 * 144, 1);
    for (int k = 0; k < 2 * 144; k++)
        d.images[k] = (uint8_t)(pcnn_uniform(5, (uint64_t)k) * 256);
    const int K = 6, n = 4;
    REQUIRE_OK(pcnn_dataset_crops(&d, n, K, 0.5, 9, &r));
    CHECK(r.n == 2 * K && r.c == 1 && r.h == n && r.w == n,
          "crops: %lld x %lld x %lld", (long long)r.n, (long long)r.h,
          (long long)r.w);
    int distinct = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < K; j++) {
            const uint8_t *got = r.images + (i * K + j) * n * n;
            int found = 0;
            for (int side = 6; side <= 12 && !found; side++)
                for (int y0 = 0; y0 + side <= 12 && !found; y0++)
                    for (int x0 = 0; x0 + side <= 12 && !found; x0++) {
                        if (j == 0 && side != 12)
                            continue;
                        uint8_t want[16];
                        ref_crop(want, d.images + i * 144, 12, y0, x0, side,
                                 n);
                        found = !memcmp(want, got, 16);
                    }
            CHECK(found, "crop %d of image %d is no resized square of side "
                         ">= 6%s", j, i, j ? "" : " (the whole image)");
            distinct += j > 0 && memcmp(got, r.images + i * K * n * n, 16);
        }
    CHECK(distinct >= 6, "only %d of 10 random crops differ from the whole",
          distinct);
    REQUIRE_OK(pcnn_dataset_crops(&d, n, K, 0.5, 9, &r2));
    CHECK(!memcmp(r.images, r2.images, (size_t)(2 * K * n * n)),
          "the same seed gives other crops");
    pcnn_dataset_free(&r2);
    CHECK(pcnn_dataset_crops(&d, n, 0, 0.5, 9, &r2) == PCNN_ERR_ARG,
          "0 crops accepted");
    CHECK(pcnn_dataset_crops(&d, n, 2, 0, 9, &r2) == PCNN_ERR_ARG,
          "fraction 0 accepted");
    d.w = 6, d.n = 4;
    CHECK(pcnn_dataset_crops(&d, n, 2, 0.5, 9, &r2) == PCNN_ERR_ARG,
          "non-square images accepted");
    CHECK(r2.images == NULL, "failure leaves out set");
    pcnn_dataset_free(&d), pcnn_dataset_free(&r);
}
