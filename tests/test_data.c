/*
 * test_data.c -- the CIFAR-10 and IDX loaders: round trips through small
 * files written to a fresh temporary folder, every kind of malformed file
 * (right status, message naming the file), truncation at many lengths and
 * every single-byte corruption of a gzip file.
 */
#include "data_util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

/* A gzip file of buf[0..len) (one member). */
static int write_gz(const char *path, const void *buf, size_t len)
{
    gzFile g = gzopen(path, "wb");
    if (!g)
        return 0;
    int ok = gzwrite(g, buf, (unsigned)len) == (int)len;
    return gzclose(g) == Z_OK && ok;
}

/* --------------------------------------------------------------- CIFAR */

#define REC 3073

/* records [first, first+n) of a synthetic CIFAR stream: label byte
 * (r * 7) % 10, pixels byte_at(seed 11, r * 3072 + p). */
static uint8_t *cifar_records(int first, int n)
{
    uint8_t *b = xcalloc((size_t)n * REC, 1);
    for (int r = 0; r < n; r++) {
        b[(size_t)r * REC] = (uint8_t)(((first + r) * 7) % 10);
        for (int p = 0; p < 3072; p++)
            b[(size_t)r * REC + 1 + p] =
                byte_at(11, (uint64_t)(first + r) * 3072 + p);
    }
    return b;
}

/* d holds records [first, first + n) of the synthetic stream. */
static void check_cifar(const pcnn_dataset *d, int first, int n)
{
    CHECK(d->n == n && d->c == 3 && d->h == 32 && d->w == 32 &&
              d->num_classes == 10 && d->labels,
          "shape (%lld, %lld, %lld, %lld) classes %d", (long long)d->n,
          (long long)d->c, (long long)d->h, (long long)d->w,
          d->num_classes);
    if (d->n != n)
        return;
    size_t bad = 0;
    for (int r = 0; r < n; r++) {
        bad += d->labels[r] != ((first + r) * 7) % 10;
        for (int p = 0; p < 3072; p++)
            bad += d->images[(size_t)r * 3072 + p] !=
                   byte_at(11, (uint64_t)(first + r) * 3072 + p);
    }
    CHECK(bad == 0, "%zu labels or pixels differ", bad);
}

TEST(data_cifar_round_trip)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    /* batches 1 and 3 only (2, 4, 5 absent), in K order: 1 then 3 */
    uint8_t *b1 = cifar_records(0, 2), *b3 = cifar_records(2, 3),
            *bt = cifar_records(5, 1);
    int ok = write_bytes(path_in(0, dir, "data_batch_3.bin"), b3, 3 * REC) &&
             write_bytes(path_in(0, dir, "data_batch_1.bin"), b1, 2 * REC) &&
             write_bytes(path_in(0, dir, "test_batch.bin"), bt, REC);
    free(b1);
    free(b3);
    free(bt);
    pcnn_dataset d = {0};
    if (ok) {
        REQUIRE_OK(pcnn_dataset_load_cifar10(dir, "train", &d));
        check_cifar(&d, 0, 5);
        pcnn_dataset_free(&d);
        CHECK(is_zeroed(&d), "free does not zero");
        REQUIRE_OK(pcnn_dataset_load_cifar10(dir, "test", &d));
        check_cifar(&d, 5, 1);
        pcnn_dataset_free(&d);
        /* a single file: split ignored */
        REQUIRE_OK(pcnn_dataset_load_cifar10(
            path_in(0, dir, "data_batch_3.bin"), NULL, &d));
        check_cifar(&d, 2, 3);
        pcnn_dataset_free(&d);
        REQUIRE_OK(pcnn_dataset_load_cifar10(
            path_in(0, dir, "data_batch_3.bin"), "whatever", &d));
        check_cifar(&d, 2, 3);
        pcnn_dataset_free(&d);
    }
    tmp_dir_remove(dir);
    CHECK(ok, "cannot write the test files");
}

TEST(data_cifar_errors)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    pcnn_dataset d;
    /* nothing there yet */
    EXPECT_FAIL(pcnn_dataset_load_cifar10(dir, "train", &d), PCNN_ERR_IO,
                dir);
    CHECK(is_zeroed(&d), "out not zeroed on failure");
    EXPECT_FAIL(pcnn_dataset_load_cifar10(dir, "test", &d), PCNN_ERR_IO,
                "test_batch.bin");
    EXPECT_FAIL(pcnn_dataset_load_cifar10(dir, "valid", &d), PCNN_ERR_ARG,
                "valid");
    EXPECT_FAIL(pcnn_dataset_load_cifar10(dir, NULL, &d), PCNN_ERR_ARG,
                dir);
    EXPECT_FAIL(pcnn_dataset_load_cifar10(path_in(0, dir, "nope.bin"), NULL,
                                          &d),
                PCNN_ERR_IO, "nope.bin");
    uint8_t *r = cifar_records(0, 2);
    /* empty; not a multiple of 3073; label 10 */
    write_bytes(path_in(0, dir, "empty.bin"), r, 0);
    EXPECT_FAIL(pcnn_dataset_load_cifar10(path_in(0, dir, "empty.bin"), NULL,
                                          &d),
                PCNN_ERR_FORMAT, "empty.bin");
    write_bytes(path_in(0, dir, "short.bin"), r, 2 * REC - 1);
    EXPECT_FAIL(pcnn_dataset_load_cifar10(path_in(0, dir, "short.bin"), NULL,
                                          &d),
                PCNN_ERR_FORMAT, "short.bin");
    r[REC] = 10;
    write_bytes(path_in(0, dir, "label.bin"), r, 2 * REC);
    EXPECT_FAIL(pcnn_dataset_load_cifar10(path_in(0, dir, "label.bin"), NULL,
                                          &d),
                PCNN_ERR_FORMAT, "label.bin");
    CHECK(strstr(pcnn_last_error(), "label 10"), "%s", pcnn_last_error());
    /* a good batch 1 and a bad batch 2: the whole split fails */
    r[REC] = 3;
    write_bytes(path_in(0, dir, "data_batch_1.bin"), r, 2 * REC);
    write_bytes(path_in(0, dir, "data_batch_2.bin"), r, REC + 5);
    EXPECT_FAIL(pcnn_dataset_load_cifar10(dir, "train", &d),
                PCNN_ERR_FORMAT, "data_batch_2.bin");
    CHECK(is_zeroed(&d), "out not zeroed on failure");
    /* a folder named like a file */
    mkdir(path_in(0, dir, "test_batch.bin"), 0700);
    EXPECT_FAIL(pcnn_dataset_load_cifar10(dir, "test", &d), PCNN_ERR_IO,
                "test_batch.bin");
    EXPECT_FAIL(pcnn_dataset_load_cifar10(NULL, "test", &d), PCNN_ERR_ARG,
                "NULL");
    free(r);
    tmp_dir_remove(dir);
}

TEST(data_cifar_truncation)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    uint8_t *r = cifar_records(0, 2);
    const char *path = path_in(0, dir, "cut.bin");
    int wrong = 0;
    for (size_t len = 0; len <= 2 * REC; len += len < 64 ? 1 : 61) {
        for (size_t l = len; l <= len + 2 && l <= 2 * REC; l++) {
            pcnn_dataset d;
            write_bytes(path, r, l);
            pcnn_status s = pcnn_dataset_load_cifar10(path, NULL, &d);
            const int whole = l > 0 && l % REC == 0;
            if (whole ? s != PCNN_OK || d.n != (int64_t)(l / REC)
                      : s != PCNN_ERR_FORMAT)
                wrong++;
            pcnn_dataset_free(&d);
        }
    }
    CHECK(wrong == 0, "%d truncated lengths handled wrongly", wrong);
    free(r);
    tmp_dir_remove(dir);
}

/* ----------------------------------------------------------------- IDX */

/* An IDX file: magic 00 00 type ndims, dims big-endian, data. */
static uint8_t *idx_file(uint8_t type, int ndims, const uint32_t *dims,
                         const uint8_t *data, size_t dlen, size_t *len)
{
    *len = 4 + 4 * (size_t)ndims + dlen;
    uint8_t *b = xcalloc(*len, 1);
    b[2] = type;
    b[3] = (uint8_t)ndims;
    for (int k = 0; k < ndims; k++)
        for (int q = 0; q < 4; q++)
            b[4 + 4 * k + q] = (uint8_t)(dims[k] >> (24 - 8 * q));
    if (dlen)
        memcpy(b + 4 + 4 * ndims, data, dlen);
    return b;
}

enum { IDX_N = 3, IDX_H = 4, IDX_W = 5 };
static const uint8_t idx_labels[IDX_N] = {2, 0, 7};

/* The test pair: images (3, 4, 5) of byte_at(21, i), labels 2, 0, 7. */
static void idx_pair(uint8_t **img, size_t *ilen, uint8_t **lab,
                     size_t *llen)
{
    uint8_t px[IDX_N * IDX_H * IDX_W];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = byte_at(21, i);
    const uint32_t idims[3] = {IDX_N, IDX_H, IDX_W}, ldims[1] = {IDX_N};
    *img = idx_file(0x08, 3, idims, px, sizeof px, ilen);
    *lab = idx_file(0x08, 1, ldims, idx_labels, IDX_N, llen);
}

static void check_idx(const pcnn_dataset *d, int labeled)
{
    CHECK(d->n == IDX_N && d->c == 1 && d->h == IDX_H && d->w == IDX_W,
          "shape (%lld, %lld, %lld, %lld)", (long long)d->n,
          (long long)d->c, (long long)d->h, (long long)d->w);
    CHECK(labeled ? d->labels && d->num_classes == 8
                  : !d->labels && d->num_classes == 0,
          "labels %p num_classes %d", (void *)d->labels, d->num_classes);
    if (d->n != IDX_N || d->h != IDX_H || d->w != IDX_W)
        return;
    int bad = 0;
    for (size_t i = 0; i < IDX_N * IDX_H * IDX_W; i++)
        bad += d->images[i] != byte_at(21, i);
    for (int k = 0; labeled && d->labels && k < IDX_N; k++)
        bad += d->labels[k] != idx_labels[k];
    CHECK(bad == 0, "%d values differ", bad);
}

TEST(data_idx_round_trip)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    uint8_t *img, *lab;
    size_t ilen, llen;
    idx_pair(&img, &ilen, &lab, &llen);
    const char *ip = path_in(0, dir, "img"), *lp = path_in(1, dir, "lab");
    const char *igz = path_in(2, dir, "img.gz"),
               *lgz = path_in(3, dir, "lab.gz");
    int ok = write_bytes(ip, img, ilen) && write_bytes(lp, lab, llen) &&
             write_gz(igz, img, ilen) && write_gz(lgz, lab, llen);
    pcnn_dataset d;
    if (ok) {
        REQUIRE_OK(pcnn_dataset_load_idx(ip, lp, &d));
        check_idx(&d, 1);
        pcnn_dataset_free(&d);
        REQUIRE_OK(pcnn_dataset_load_idx(igz, lgz, &d));
        check_idx(&d, 1);
        pcnn_dataset_free(&d);
        REQUIRE_OK(pcnn_dataset_load_idx(igz, lp, &d));
        check_idx(&d, 1);
        pcnn_dataset_free(&d);
        REQUIRE_OK(pcnn_dataset_load_idx(ip, NULL, &d));
        check_idx(&d, 0);
        pcnn_dataset_free(&d);
        /* two gzip members one after the other (RFC 1952 allows it) */
        gzFile g = gzopen(igz, "wb");
        gzwrite(g, img, 10);
        gzclose(g);
        g = gzopen(igz, "ab");
        gzwrite(g, img + 10, (unsigned)(ilen - 10));
        gzclose(g);
        REQUIRE_OK(pcnn_dataset_load_idx(igz, lgz, &d));
        check_idx(&d, 1);
        pcnn_dataset_free(&d);
    }
    free(img);
    free(lab);
    tmp_dir_remove(dir);
    CHECK(ok, "cannot write the test files");
}

TEST(data_idx_errors)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    uint8_t *img, *lab;
    size_t ilen, llen;
    idx_pair(&img, &ilen, &lab, &llen);
    uint8_t *b = xcalloc(ilen + 16, 1);
    pcnn_dataset d;
    const char *lp = path_in(1, dir, "labels.idx");
    write_bytes(lp, lab, llen);
    const char *good = path_in(2, dir, "good.idx");
    write_bytes(good, img, ilen);

#define BAD_IMAGES(name, len, want_status, want_text)                         \
    do {                                                                      \
        const char *p_ = path_in(0, dir, name);                               \
        write_bytes(p_, b, len);                                              \
        EXPECT_FAIL(pcnn_dataset_load_idx(p_, NULL, &d), want_status, name);  \
        CHECK(strstr(pcnn_last_error(), want_text), "%s: want \"%s\" in %s",  \
              name, want_text, pcnn_last_error());                            \
        CHECK(is_zeroed(&d), "%s: out not zeroed", name);                     \
    } while (0)

    memcpy(b, img, ilen);
    b[0] = 1;
    BAD_IMAGES("magic.idx", ilen, PCNN_ERR_FORMAT, "not an IDX file");
    memcpy(b, img, ilen);
    b[2] = 0x0D;
    BAD_IMAGES("float.idx", ilen, PCNN_ERR_FORMAT, "float");
    memcpy(b, lab, llen);
    BAD_IMAGES("labels_as_images.idx", llen, PCNN_ERR_FORMAT, "1 dims");
    memcpy(b, img, ilen);
    b[7] = 0; /* n = 0 */
    BAD_IMAGES("zero.idx", ilen, PCNN_ERR_FORMAT, "is 0");
    memcpy(b, img, ilen);
    memset(b + 4, 0xff, 12); /* (2^32-1)^3 bytes: overflows or is huge */
    BAD_IMAGES("huge.idx", ilen, PCNN_ERR_FORMAT, "more than");
    memcpy(b, img, ilen);
    b[7] = IDX_N + 1; /* one image more than the file holds */
    BAD_IMAGES("more.idx", ilen, PCNN_ERR_FORMAT, "truncated");
    memcpy(b, img, ilen);
    b[ilen] = 0;
    BAD_IMAGES("trailing.idx", ilen + 1, PCNN_ERR_FORMAT, "trailing");
    BAD_IMAGES("tiny.idx", 3, PCNN_ERR_FORMAT, "truncated");
    BAD_IMAGES("empty.idx", 0, PCNN_ERR_FORMAT, "truncated");
    EXPECT_FAIL(pcnn_dataset_load_idx(path_in(0, dir, "absent.idx"), NULL,
                                      &d),
                PCNN_ERR_IO, "absent.idx");

    /* labels: wrong magic, wrong count, trailing bytes */
    EXPECT_FAIL(pcnn_dataset_load_idx(good, good, &d), PCNN_ERR_FORMAT,
                "good.idx");
    CHECK(is_zeroed(&d), "out not zeroed");
    {
        const uint32_t two[1] = {2};
        size_t l2;
        uint8_t *lb = idx_file(0x08, 1, two, idx_labels, 2, &l2);
        write_bytes(path_in(0, dir, "count.idx"), lb, l2);
        EXPECT_FAIL(pcnn_dataset_load_idx(good, path_in(0, dir, "count.idx"),
                                          &d),
                    PCNN_ERR_FORMAT, "count.idx");
        free(lb);
        memcpy(b, lab, llen);
        b[llen] = 1;
        write_bytes(path_in(0, dir, "ltrail.idx"), b, llen + 1);
        EXPECT_FAIL(pcnn_dataset_load_idx(good, path_in(0, dir, "ltrail.idx"),
                                          &d),
                    PCNN_ERR_FORMAT, "ltrail.idx");
        EXPECT_FAIL(pcnn_dataset_load_idx(good, path_in(0, dir, "nolab"),
                                          &d),
                    PCNN_ERR_IO, "nolab");
    }

    /* gzip: trailing garbage after the stream, extra data inside it,
     * a corrupt stream, a missing CRC trailer */
    {
        const char *gz = path_in(0, dir, "g.gz");
        write_gz(gz, img, ilen);
        size_t glen;
        uint8_t *g = read_bytes(gz, &glen);
        uint8_t *g2 = xcalloc(glen + 8, 1);
        memcpy(g2, g, glen);
        memcpy(g2 + glen, "junk", 4);
        write_bytes(path_in(0, dir, "gtrail.gz"), g2, glen + 4);
        EXPECT_FAIL(pcnn_dataset_load_idx(path_in(0, dir, "gtrail.gz"), NULL,
                                          &d),
                    PCNN_ERR_FORMAT, "gtrail.gz");
        CHECK(strstr(pcnn_last_error(), "trailing"), "%s",
              pcnn_last_error());
        memcpy(b, img, ilen);
        b[ilen] = 9;
        write_gz(path_in(0, dir, "ginner.gz"), b, ilen + 1);
        EXPECT_FAIL(pcnn_dataset_load_idx(path_in(0, dir, "ginner.gz"), NULL,
                                          &d),
                    PCNN_ERR_FORMAT, "ginner.gz");
        CHECK(strstr(pcnn_last_error(), "trailing"), "%s",
              pcnn_last_error());
        memcpy(g2, g, glen);
        g2[glen - 6] ^= 0x55; /* in the CRC-32 */
        write_bytes(path_in(0, dir, "gcrc.gz"), g2, glen);
        EXPECT_FAIL(pcnn_dataset_load_idx(path_in(0, dir, "gcrc.gz"), NULL,
                                          &d),
                    PCNN_ERR_FORMAT, "gcrc.gz");
        write_bytes(path_in(0, dir, "gcut.gz"), g, glen - 8);
        EXPECT_FAIL(pcnn_dataset_load_idx(path_in(0, dir, "gcut.gz"), NULL,
                                          &d),
                    PCNN_ERR_FORMAT, "gcut.gz");
        write_gz(path_in(0, dir, "gfloat.gz"), img, 2); /* 00 00 only */
        EXPECT_FAIL(pcnn_dataset_load_idx(path_in(0, dir, "gfloat.gz"), NULL,
                                          &d),
                    PCNN_ERR_FORMAT, "gfloat.gz");
        free(g);
        free(g2);
    }
#undef BAD_IMAGES
    free(b);
    free(img);
    free(lab);
    tmp_dir_remove(dir);
}

/* Truncation at every length, and every single-byte corruption of the
 * gzip file: never a crash (ASan) or a wrong result accepted. */
TEST(data_idx_truncation_and_corruption)
{
    char buf[64];
    const char *dir = tmp_dir_make(buf);
    REQUIRE(dir, "mkdtemp failed");
    uint8_t *img, *lab;
    size_t ilen, llen;
    idx_pair(&img, &ilen, &lab, &llen);
    const char *p = path_in(0, dir, "t.idx");
    int wrong = 0, accepted = 0;
    for (size_t len = 0; len < ilen; len++) {
        pcnn_dataset d;
        write_bytes(p, img, len);
        wrong += pcnn_dataset_load_idx(p, NULL, &d) != PCNN_ERR_FORMAT;
        pcnn_dataset_free(&d);
    }
    for (size_t len = 0; len < llen; len++) {
        pcnn_dataset d;
        write_bytes(path_in(1, dir, "img"), img, ilen);
        write_bytes(p, lab, len);
        wrong += pcnn_dataset_load_idx(path_in(1, dir, "img"), p, &d) !=
                 PCNN_ERR_FORMAT;
        pcnn_dataset_free(&d);
    }
    const char *gz = path_in(2, dir, "t.gz");
    write_gz(gz, img, ilen);
    size_t glen;
    uint8_t *g = read_bytes(gz, &glen);
    for (size_t len = 0; len < glen; len++) {
        pcnn_dataset d;
        write_bytes(p, g, len);
        wrong += pcnn_dataset_load_idx(p, NULL, &d) != PCNN_ERR_FORMAT;
        pcnn_dataset_free(&d);
    }
    CHECK(wrong == 0, "%d truncations not rejected as malformed", wrong);
    wrong = 0;
    for (size_t at = 0; at < glen; at++)
        for (int flip = 1; flip < 256; flip <<= 2) {
            g[at] ^= (uint8_t)flip;
            write_bytes(p, g, glen);
            g[at] ^= (uint8_t)flip;
            pcnn_dataset d;
            pcnn_status s = pcnn_dataset_load_idx(p, NULL, &d);
            if (s == PCNN_OK) {
                /* a header byte zlib does not check (mtime, OS, flags'
                 * unused bits): the data must then be intact */
                accepted++;
                wrong += d.n != IDX_N || d.h != IDX_H || d.w != IDX_W ||
                         memcmp(d.images, img + 16, ilen - 16) != 0;
            } else {
                wrong += s != PCNN_ERR_FORMAT;
            }
            pcnn_dataset_free(&d);
        }
    CHECK(wrong == 0, "%d corruptions accepted with wrong data or wrong "
          "status (%d accepted in all)", wrong, accepted);
    free(g);
    free(img);
    free(lab);
    tmp_dir_remove(dir);
}
