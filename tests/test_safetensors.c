/*
 * test_safetensors.c -- the JSON parser and the safetensors reader/writer:
 * round trips, every class of malformed file, truncation at every length,
 * random corruption, and JSON edge cases.
 */
#include "test.h"
#include "../src/core/rng.h"
#include "../src/io/json.h"
#include "../src/io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

/* A file from a header text and a data section: len8 | json | data.
 * Free with free(). */
static unsigned char *raw_file(const char *json, const void *data,
                               size_t dlen, size_t *len)
{
    const size_t h = strlen(json);
    *len = 8 + h + dlen;
    unsigned char *b = xcalloc(*len, 1);
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)((uint64_t)h >> (8 * k));
    memcpy(b + 8, json, h);
    if (dlen)
        memcpy(b + 8 + h, data, dlen);
    return b;
}

/* Parses buf[0..len) from an exactly sized copy, so ASan sees any read
 * past the end. */
static pcnn_status parse_exact(const void *buf, size_t len,
                               pcnn_st_file **f)
{
    void *copy = xcalloc(len ? len : 1, 1);
    if (len)
        memcpy(copy, buf, len);
    pcnn_status s = pcnn_st_parse(len ? copy : NULL, len, "test.st", f);
    if (s == PCNN_OK) {
        /* keep the file usable: it borrows copy, so leak-free needs a
         * caller-side copy; tests that accept only use the result here */
        pcnn_st_free(*f);
        *f = NULL;
    }
    free(copy);
    return s;
}

/* Expects buf to be rejected with PCNN_ERR_FORMAT and a one-line message
 * that names the file and contains `want`. */
static void expect_reject(const char *file, int line, const char *why,
                          const void *buf, size_t len, const char *want)
{
    pcnn_st_file *f = NULL;
    pcnn_status s = parse_exact(buf, len, &f);
    const char *msg = pcnn_last_error();
    if (s != PCNN_ERR_FORMAT)
        test_fail(file, line, "%s: status %s, expected malformed file (%s)",
                  why, pcnn_status_str(s), msg);
    else if (!strstr(msg, "test.st") || !strstr(msg, want) ||
             strchr(msg, '\n'))
        test_fail(file, line, "%s: message \"%s\" lacks \"%s\"", why, msg,
                  want);
}
#define EXPECT_REJECT(why, buf, len, want)                                    \
    expect_reject(__FILE__, __LINE__, why, buf, len, want)

/* A JSON header with 16 data bytes of zeros behind it. */
static void reject_json(const char *file, int line, const char *json,
                        size_t dlen, const char *want)
{
    static const unsigned char zeros[64];
    size_t len;
    unsigned char *b = raw_file(json, zeros, dlen, &len);
    expect_reject(file, line, json, b, len, want);
    free(b);
}
#define REJECT_JSON(json, dlen, want)                                         \
    reject_json(__FILE__, __LINE__, json, dlen, want)

static int parses(const char *json, size_t dlen)
{
    static const unsigned char zeros[64];
    size_t len;
    unsigned char *b = raw_file(json, zeros, dlen, &len);
    pcnn_st_file *f = NULL;
    pcnn_status s = parse_exact(b, len, &f);
    free(b);
    return s == PCNN_OK;
}

/* A small valid file with every feature: metadata, several dtypes, a
 * scalar and an empty tensor. Free *buf with free(). */
static float rt_a[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
static uint8_t rt_b[5] = {0, 1, 127, 128, 255};
static double rt_c = 3.141592653589793;
static uint16_t rt_d[3] = {0x3f80, 0xc000, 0x0001}; /* BF16 1, -2, tiny */

static pcnn_status make_valid(void **buf, size_t *len)
{
    pcnn_st_writer *w = NULL;
    pcnn_status s = pcnn_st_writer_create(&w);
    const int64_t sa[2] = {2, 3}, sb[1] = {5}, se[2] = {0, 4}, sd[1] = {3};
    if (s == PCNN_OK)
        s = pcnn_st_writer_add(w, "layer.0/w \"a\"", PCNN_ST_F32, 2, sa, rt_a);
    if (s == PCNN_OK)
        s = pcnn_st_writer_add(w, "image", PCNN_ST_U8, 1, sb, rt_b);
    if (s == PCNN_OK)
        s = pcnn_st_writer_add(w, "pi", PCNN_ST_F64, 0, NULL, &rt_c);
    if (s == PCNN_OK)
        s = pcnn_st_writer_add(w, "empty", PCNN_ST_I32, 2, se, NULL);
    if (s == PCNN_OK)
        s = pcnn_st_writer_add(w, "b\xc3\xa9ta", PCNN_ST_BF16, 1, sd, rt_d);
    if (s == PCNN_OK)
        s = pcnn_st_writer_meta(w, "format", "pt");
    if (s == PCNN_OK)
        s = pcnn_st_writer_meta(w, "note", "line\nbreak \"q\" \\ \xe2\x82\xac");
    if (s == PCNN_OK)
        s = pcnn_st_writer_to_mem(w, buf, len);
    pcnn_st_writer_free(w);
    return s;
}

/* ------------------------------------------------------ round trips */

TEST(st_roundtrip)
{
    void *buf = NULL;
    size_t len = 0;
    REQUIRE_OK(make_valid(&buf, &len));
    pcnn_st_file *f = NULL;
    pcnn_status s = pcnn_st_parse(buf, len, "rt", &f);
    if (s != PCNN_OK)
        free(buf);
    REQUIRE_OK(s);
    CHECK(pcnn_st_count(f) == 5, "count %zu", pcnn_st_count(f));
    const unsigned char *u = buf;
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = hlen << 8 | u[k];
    CHECK(hlen % 8 == 0, "header length %llu not a multiple of 8",
          (unsigned long long)hlen);
    /* names in strcmp order; each tensor aligned to its element size */
    for (size_t i = 0; i < pcnn_st_count(f); i++) {
        const pcnn_st_tensor *t = pcnn_st_at(f, i);
        if (i)
            CHECK(strcmp(pcnn_st_at(f, i - 1)->name, t->name) < 0,
                  "not sorted at %zu", i);
        size_t at = (size_t)((const unsigned char *)t->data - u);
        CHECK(at % pcnn_st_dtype_size(t->dtype) == 0,
              "'%s' at file offset %zu is not aligned", t->name, at);
        CHECK(pcnn_st_find(f, t->name) == t, "find '%s'", t->name);
    }
    const pcnn_st_tensor *a = pcnn_st_find(f, "layer.0/w \"a\"");
    REQUIRE(a, "tensor a missing");
    CHECK(a->dtype == PCNN_ST_F32 && a->ndim == 2 && a->shape[0] == 2 &&
              a->shape[1] == 3 && a->numel == 6 && a->nbytes == 24,
          "a's header");
    CHECK(memcmp(a->data, rt_a, sizeof rt_a) == 0, "a's bytes");
    const pcnn_st_tensor *b = pcnn_st_find(f, "image");
    REQUIRE(b && b->dtype == PCNN_ST_U8 && b->nbytes == 5, "image");
    CHECK(memcmp(b->data, rt_b, 5) == 0, "image bytes");
    const pcnn_st_tensor *c = pcnn_st_find(f, "pi");
    REQUIRE(c && c->ndim == 0 && c->numel == 1 && c->nbytes == 8, "pi");
    double pi = 0;
    CHECK(pcnn_st_copy_f64(f, c, &pi, 1) == PCNN_OK && pi == rt_c, "pi %g",
          pi);
    const pcnn_st_tensor *e = pcnn_st_find(f, "empty");
    REQUIRE(e && e->numel == 0 && e->nbytes == 0 && e->shape[0] == 0 &&
                e->shape[1] == 4,
            "empty");
    const pcnn_st_tensor *d = pcnn_st_find(f, "b\xc3\xa9ta");
    float dv[3];
    REQUIRE(d, "bf16 tensor missing");
    CHECK(pcnn_st_copy_f32(f, d, dv, 3) == PCNN_OK && dv[0] == 1.0f &&
              dv[1] == -2.0f && dv[2] == ldexpf(1.0f, -133),
          "bf16 values %g %g %g", (double)dv[0], (double)dv[1],
          (double)dv[2]);
    CHECK(!pcnn_st_find(f, "nope") && !pcnn_st_find(f, ""), "phantom");
    CHECK(pcnn_st_meta_count(f) == 2, "meta count");
    const char *fmt = pcnn_st_meta(f, "format");
    const char *note = pcnn_st_meta(f, "note");
    CHECK(fmt && strcmp(fmt, "pt") == 0, "format");
    CHECK(note && strcmp(note, "line\nbreak \"q\" \\ \xe2\x82\xac") == 0,
          "note '%s'", note ? note : "(null)");
    CHECK(!pcnn_st_meta(f, "missing"), "phantom meta");
    pcnn_st_free(f);
    free(buf);
}

/* The FILE and path writers give the same bytes as the memory writer. */
TEST(st_roundtrip_file)
{
    void *mem = NULL;
    size_t len = 0;
    REQUIRE_OK(make_valid(&mem, &len));
    char path[64];
    snprintf(path, sizeof path, "/tmp/pcnn_st_test_%ld.safetensors",
             (long)getpid());
    pcnn_st_writer *w = NULL;
    REQUIRE_OK(pcnn_st_writer_create(&w));
    const int64_t sa[2] = {2, 3}, sb[1] = {5}, se[2] = {0, 4}, sd[1] = {3};
    pcnn_status s = pcnn_st_writer_add(w, "layer.0/w \"a\"", PCNN_ST_F32, 2,
                                       sa, rt_a);
    s = s ? s : pcnn_st_writer_add(w, "image", PCNN_ST_U8, 1, sb, rt_b);
    s = s ? s : pcnn_st_writer_add(w, "pi", PCNN_ST_F64, 0, NULL, &rt_c);
    s = s ? s : pcnn_st_writer_add(w, "empty", PCNN_ST_I32, 2, se, NULL);
    s = s ? s
          : pcnn_st_writer_add(w, "b\xc3\xa9ta", PCNN_ST_BF16, 1, sd, rt_d);
    s = s ? s : pcnn_st_writer_meta(w, "format", "pt");
    s = s ? s
          : pcnn_st_writer_meta(w, "note",
                                "line\nbreak \"q\" \\ \xe2\x82\xac");
    s = s ? s : pcnn_st_writer_save(w, path);
    pcnn_st_writer_free(w);
    if (s != PCNN_OK)
        free(mem);
    REQUIRE_OK(s);
    pcnn_st_file *f = NULL;
    s = pcnn_st_load(path, &f);
    FILE *fp = fopen(path, "rb");
    unsigned char *disk = xcalloc(len + 1, 1);
    size_t got = fp ? fread(disk, 1, len + 1, fp) : 0;
    if (fp)
        fclose(fp);
    remove(path);
    CHECK(s == PCNN_OK, "load: %s", pcnn_last_error());
    CHECK(got == len && memcmp(disk, mem, len) == 0,
          "file differs from memory image (%zu vs %zu bytes)", got, len);
    CHECK(!f || (pcnn_st_count(f) == 5 &&
                 strcmp(pcnn_st_what(f), path) == 0),
          "loaded file");
    pcnn_st_free(f);
    free(disk);
    free(mem);
}

TEST(st_empty_file_roundtrip)
{
    pcnn_st_writer *w = NULL;
    REQUIRE_OK(pcnn_st_writer_create(&w));
    void *buf = NULL;
    size_t len = 0;
    pcnn_status s = pcnn_st_writer_to_mem(w, &buf, &len);
    pcnn_st_writer_free(w);
    REQUIRE_OK(s);
    CHECK(len == 16 && memcmp((char *)buf + 8, "{}      ", 8) == 0,
          "empty file of %zu bytes", len);
    pcnn_st_file *f = NULL;
    s = pcnn_st_parse(buf, len, "empty", &f);
    CHECK(s == PCNN_OK && pcnn_st_count(f) == 0 &&
              pcnn_st_meta_count(f) == 0,
          "parse: %s", pcnn_last_error());
    pcnn_st_free(f);
    free(buf);
}

TEST(st_copy_conversions)
{
    /* F16 1.0, -2.5, smallest subnormal, inf; F64 0.1 -> float rounding */
    static const uint16_t h[4] = {0x3c00, 0xc100, 0x0001, 0x7c00};
    static const double dd[2] = {0.1, -1e300};
    pcnn_st_writer *w = NULL;
    REQUIRE_OK(pcnn_st_writer_create(&w));
    const int64_t s4[1] = {4}, s2[1] = {2};
    pcnn_status s = pcnn_st_writer_add(w, "h", PCNN_ST_F16, 1, s4, h);
    s = s ? s : pcnn_st_writer_add(w, "d", PCNN_ST_F64, 1, s2, dd);
    s = s ? s : pcnn_st_writer_add(w, "u", PCNN_ST_U8, 1, s4, "abcd");
    void *buf = NULL;
    size_t len = 0;
    s = s ? s : pcnn_st_writer_to_mem(w, &buf, &len);
    pcnn_st_writer_free(w);
    REQUIRE_OK(s);
    pcnn_st_file *f = NULL;
    s = pcnn_st_parse(buf, len, "conv.st", &f);
    if (s != PCNN_OK)
        free(buf);
    REQUIRE_OK(s);
    float hv[4], dv[2];
    CHECK(pcnn_st_copy_f32(f, pcnn_st_find(f, "h"), hv, 4) == PCNN_OK,
          "%s", pcnn_last_error());
    CHECK(hv[0] == 1.0f && hv[1] == -2.5f && hv[2] == ldexpf(1.0f, -24) &&
              isinf(hv[3]),
          "f16 %g %g %g %g", (double)hv[0], (double)hv[1], (double)hv[2],
          (double)hv[3]);
    CHECK(pcnn_st_copy_f32(f, pcnn_st_find(f, "d"), dv, 2) == PCNN_OK &&
              dv[0] == 0.1f && isinf(dv[1]) && dv[1] < 0,
          "f64 -> f32 %g %g", (double)dv[0], (double)dv[1]);
    CHECK(pcnn_st_copy_f32(f, pcnn_st_find(f, "d"), dv, 1) ==
                  PCNN_ERR_FORMAT &&
              strstr(pcnn_last_error(), "expected 1"),
          "count mismatch: %s", pcnn_last_error());
    CHECK(pcnn_st_copy_f32(f, pcnn_st_find(f, "u"), hv, 4) ==
                  PCNN_ERR_FORMAT &&
              strstr(pcnn_last_error(), "U8"),
          "dtype mismatch: %s", pcnn_last_error());
    pcnn_st_free(f);
    free(buf);
}

TEST(st_writer_rejects_bad_arguments)
{
    pcnn_st_writer *w = NULL;
    REQUIRE_OK(pcnn_st_writer_create(&w));
    const float x[2] = {0};
    const int64_t s2[1] = {2}, neg[1] = {-1}, big[9] = {1};
    CHECK(pcnn_st_writer_add(w, "x", PCNN_ST_F32, 1, s2, x) == PCNN_OK,
          "first add");
    CHECK(pcnn_st_writer_add(w, "x", PCNN_ST_F32, 1, s2, x) == PCNN_ERR_ARG,
          "duplicate name");
    CHECK(pcnn_st_writer_add(w, "__metadata__", PCNN_ST_F32, 1, s2, x) ==
              PCNN_ERR_ARG,
          "reserved name");
    CHECK(pcnn_st_writer_add(w, "bad\xff", PCNN_ST_F32, 1, s2, x) ==
              PCNN_ERR_ARG,
          "invalid UTF-8 name");
    CHECK(pcnn_st_writer_add(w, "n", PCNN_ST_F32, 1, neg, x) == PCNN_ERR_ARG,
          "negative dim");
    CHECK(pcnn_st_writer_add(w, "n", PCNN_ST_F32, 9, big, x) == PCNN_ERR_ARG,
          "9 dims");
    CHECK(pcnn_st_writer_add(w, "n", PCNN_ST_F32, 1, s2, NULL) ==
              PCNN_ERR_ARG,
          "NULL data");
    CHECK(pcnn_st_writer_add(w, "n", PCNN_ST_DTYPE_COUNT, 1, s2, x) ==
              PCNN_ERR_ARG,
          "bad dtype");
    CHECK(pcnn_st_writer_meta(w, "k", "v") == PCNN_OK, "meta");
    CHECK(pcnn_st_writer_meta(w, "k", "w") == PCNN_ERR_ARG, "duplicate key");
    CHECK(pcnn_st_writer_meta(w, "k2", "\xc0\x80") == PCNN_ERR_ARG,
          "overlong UTF-8 value");
    pcnn_st_writer_free(w);
}

TEST(st_load_missing_file)
{
    pcnn_st_file *f = NULL;
    pcnn_status s = pcnn_st_load("/nonexistent/dir/x.safetensors", &f);
    CHECK(s == PCNN_ERR_IO && !f, "status %s", pcnn_status_str(s));
    CHECK(strstr(pcnn_last_error(), "/nonexistent/dir/x.safetensors"),
          "message '%s'", pcnn_last_error());
}

/* ------------------------------------------------------ malformed files */

TEST(st_reject_header_length)
{
    static const unsigned char tiny[4] = {2, 0, 0, 0};
    EXPECT_REJECT("4-byte file", tiny, 4, "too short");
    EXPECT_REJECT("empty file", tiny, 0, "too short");
    size_t len;
    unsigned char *b = raw_file("{}", NULL, 0, &len);
    b[0] = 3; /* claims 3 bytes, 2 present */
    EXPECT_REJECT("header beyond file", b, len, "exceeds the 2 bytes");
    b[0] = 0x01, b[1] = 0xe1, b[2] = 0xf5, b[3] = 0x05; /* 100000001 */
    EXPECT_REJECT("header above the limit", b, len, "limit");
    memset(b, 0xff, 8);
    EXPECT_REJECT("header length 2^64-1", b, len, "limit");
    free(b);
}

TEST(st_reject_bad_json)
{
    REJECT_JSON("{\"a\":", 0, "invalid JSON");
    REJECT_JSON("{\"a\":{}} x", 0, "invalid JSON at byte 9");
    REJECT_JSON("[]", 0, "not an object");
    REJECT_JSON("\"str\"", 0, "not an object");
    REJECT_JSON("{}\x01", 0, "invalid JSON at byte 2");
    REJECT_JSON("", 0, "unexpected end");
    /* right-padding with spaces is allowed, with other bytes it is not */
    CHECK(parses("{}      ", 0), "space padding rejected");
    CHECK(parses("{\"__metadata__\":{\"a\":\"b\"}}\t\n ", 0),
          "whitespace padding rejected");
}

TEST(st_reject_bad_entries)
{
    REJECT_JSON("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                "[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                "\"data_offsets\":[4,8]}}",
                8, "duplicate tensor name 'a'");
    REJECT_JSON("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":"
                "[0,4]}}",
                4, "unknown dtype 'F33'");
    REJECT_JSON("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
                4, "unknown dtype (a number)");
    REJECT_JSON("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":"
                "[0,4]}}",
                4, "unknown dtype");
    REJECT_JSON("{\"a\":[1]}", 0, "tensor 'a' is an array");
    REJECT_JSON("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
                "has no 'data_offsets'");
    REJECT_JSON("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                "[0,4],\"extra\":1}}",
                4, "unknown field 'extra'");
    REJECT_JSON("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                "\"data_offsets\":[0,4]}}",
                4, "field 'dtype' twice");
    REJECT_JSON("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],"
                "\"data_offsets\":[0,4]}}",
                4, "NUL character");
    REJECT_JSON("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                "[0,4]},\"__metadata__\":{},\"__metadata__\":{}}",
                4, "duplicate __metadata__");
}

TEST(st_reject_bad_shapes_and_offsets)
{
#define ENTRY(shape, offs)                                                    \
    "{\"t\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" offs   \
    "}}"
    REJECT_JSON(ENTRY("[-1]", "[0,4]"), 4, "shape element 0 is not a non-");
    REJECT_JSON(ENTRY("[1.5]", "[0,4]"), 4, "shape element 0");
    REJECT_JSON(ENTRY("[1e0]", "[0,4]"), 4, "shape element 0");
    REJECT_JSON(ENTRY("[1,\"2\"]", "[0,8]"), 8, "shape element 1");
    REJECT_JSON(ENTRY("[99999999999999999999]", "[0,4]"), 4,
                "shape element 0");
    REJECT_JSON(ENTRY("{}", "[0,4]"), 4, "shape is an object");
    REJECT_JSON(ENTRY("[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4, "9 dims");
    REJECT_JSON(ENTRY("[1]", "[-4,0]"), 4, "data_offsets must be two");
    REJECT_JSON(ENTRY("[1]", "[0,4.0]"), 4, "data_offsets must be two");
    REJECT_JSON(ENTRY("[1]", "[0]"), 4, "data_offsets must be two");
    REJECT_JSON(ENTRY("[1]", "[0,4,8]"), 4, "data_offsets must be two");
    REJECT_JSON(ENTRY("[1]", "[4,0]"), 4, "do not lie within");
    REJECT_JSON(ENTRY("[2]", "[0,8]"), 4, "do not lie within the 4-byte");
    REJECT_JSON(ENTRY("[1]", "[0,18446744073709551615]"), 4,
                "data_offsets must be two"); /* above int64 */
    REJECT_JSON(ENTRY("[3]", "[0,8]"), 8, "is 12 bytes but data_offsets");
    REJECT_JSON(ENTRY("[1,2]", "[0,4]"), 4, "(1,2) of F32 is 8 bytes");
    /* 2^32 * 2^32 * 4 elements overflow 64 bits; 2^62 * 4 bytes too */
    REJECT_JSON(ENTRY("[4294967296,4294967296,4]", "[0,4]"), 4, "overflows");
    REJECT_JSON(ENTRY("[4611686018427387904]", "[0,4]"), 4, "overflows");
    /* a zero in the shape: 0 bytes, whatever the other dims */
    CHECK(parses(ENTRY("[0,4294967296,4294967296]", "[0,0]"), 0),
          "zero-size tensor rejected: %s", pcnn_last_error());
    CHECK(parses(ENTRY("[]", "[0,4]"), 4), "scalar rejected: %s",
          pcnn_last_error());
#undef ENTRY
}

TEST(st_reject_bad_layout)
{
    REJECT_JSON("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":"
                "[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],"
                "\"data_offsets\":[2,6]}}",
                6, "tensors 'a' and 'b' overlap");
    REJECT_JSON("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":"
                "[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],"
                "\"data_offsets\":[0,4]}}",
                4, "overlap");
    REJECT_JSON("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":"
                "[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],"
                "\"data_offsets\":[6,8]}}",
                8, "data bytes [4, 6) belong to no tensor");
    REJECT_JSON("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":"
                "[2,6]}}",
                6, "data bytes [0, 2)");
    REJECT_JSON("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":"
                "[0,4]}}",
                7, "3 trailing bytes");
    REJECT_JSON("{}", 1, "1 trailing bytes");
    /* zero-size tensors may sit anywhere inside or at the end */
    CHECK(parses("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":"
                 "[0,4]},\"z\":{\"dtype\":\"F64\",\"shape\":[0],"
                 "\"data_offsets\":[4,4]},\"b\":{\"dtype\":\"U8\",\"shape\":"
                 "[2],\"data_offsets\":[4,6]}}",
                 6),
          "zero-size in the middle: %s", pcnn_last_error());
    REJECT_JSON("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":"
                "[0,4]},\"z\":{\"dtype\":\"U8\",\"shape\":[0],"
                "\"data_offsets\":[2,2]}}",
                4, "overlap");
}

TEST(st_reject_bad_metadata)
{
    REJECT_JSON("{\"__metadata__\":{\"a\":1}}", 0,
                "metadata 'a' is a number, not a string");
    REJECT_JSON("{\"__metadata__\":{\"a\":null}}", 0, "not a string");
    REJECT_JSON("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", 0,
                "not a string");
    REJECT_JSON("{\"__metadata__\":[\"a\"]}", 0,
                "__metadata__ is an array");
    REJECT_JSON("{\"__metadata__\":{\"a\":\"x\",\"a\":\"y\"}}", 0,
                "duplicate metadata key 'a'");
    REJECT_JSON("{\"__metadata__\":{\"a\":\"x\\u0000y\"}}", 0,
                "NUL character");
    CHECK(parses("{\"__metadata__\":{}}", 0), "empty metadata rejected");
}

/* Every proper prefix of a valid file is rejected; the whole is not. */
TEST(st_truncated_at_every_length)
{
    void *buf = NULL;
    size_t len = 0;
    REQUIRE_OK(make_valid(&buf, &len));
    int bad = 0;
    for (size_t n = 0; n <= len; n++) {
        pcnn_st_file *f = NULL;
        pcnn_status s = parse_exact(buf, n, &f);
        const pcnn_status want = n == len ? PCNN_OK : PCNN_ERR_FORMAT;
        if (s != want && bad++ < 5)
            test_fail(__FILE__, __LINE__, "length %zu of %zu: %s (%s)", n,
                      len, pcnn_status_str(s), pcnn_last_error());
    }
    free(buf);
}

/* Random byte corruptions never crash or read out of bounds, and a file
 * that still parses keeps its tensors inside the buffer. */
TEST(st_random_corruption)
{
    void *buf = NULL;
    size_t len = 0;
    REQUIRE_OK(make_valid(&buf, &len));
    unsigned char *m = xcalloc(len, 1);
    int weird = 0;
    for (uint64_t it = 0; it < 4000; it++) {
        memcpy(m, buf, len);
        const int flips = 1 + (int)(pcnn_u01(77, 4 * it) * 3);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(pcnn_u01(78, 4 * it + (uint64_t)k) *
                                 (double)len);
            const char *alphabet = "0123456789{}[]\",:-. e\\uF";
            double r = pcnn_u01(79, 4 * it + (uint64_t)k);
            m[at] = r < 0.5 ? (unsigned char)(r * 512)
                            : (unsigned char)alphabet[(size_t)(
                                  (r - 0.5) * 2 * strlen(alphabet))];
        }
        pcnn_st_file *f = NULL;
        pcnn_status s = pcnn_st_parse(m, len, "test.st", &f);
        if (s == PCNN_OK) {
            for (size_t i = 0; i < pcnn_st_count(f); i++) {
                const pcnn_st_tensor *t = pcnn_st_at(f, i);
                const unsigned char *d = t->data;
                if (d < m || d + t->nbytes > m + len)
                    weird++;
            }
            pcnn_st_free(f);
        } else if (s != PCNN_ERR_FORMAT) {
            weird++;
        }
    }
    CHECK(weird == 0, "%d corruptions gave an odd result", weird);
    free(m);
    free(buf);
}

/* ------------------------------------------------------------- JSON */

/* Parses text (its strlen) and returns the root or NULL; *doc to free. */
static const pcnn_json *jparse(const char *text, pcnn_json_doc **doc)
{
    *doc = NULL;
    if (pcnn_json_parse(text, strlen(text), "j", doc) != PCNN_OK)
        return NULL;
    return pcnn_json_root(*doc);
}

static int json_ok(const char *text)
{
    pcnn_json_doc *d;
    const pcnn_json *r = jparse(text, &d);
    pcnn_json_free(d);
    return r != NULL;
}

TEST(st_json_escapes)
{
    pcnn_json_doc *d;
    const pcnn_json *r =
        jparse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u20AC\", "
               "\"\\ud83d\\ude00\", \"a\\u0000b\", \"\xe2\x82\xac\", \"\"]",
               &d);
    REQUIRE(r && r->type == PCNN_JSON_ARRAY && r->count == 6, "parse: %s",
            pcnn_last_error());
    const pcnn_json *e = r->child;
    CHECK(e->len == 8 && memcmp(e->str, "\"\\/\b\f\n\r\t", 8) == 0,
          "simple escapes");
    e = e->next;
    CHECK(strcmp(e->str, "A\xc3\xa9\xe2\x82\xac") == 0, "BMP escapes '%s'",
          e->str);
    e = e->next;
    CHECK(strcmp(e->str, "\xf0\x9f\x98\x80") == 0, "surrogate pair");
    e = e->next;
    CHECK(e->len == 3 && memcmp(e->str, "a\0b", 4) == 0, "embedded NUL");
    e = e->next;
    CHECK(strcmp(e->str, "\xe2\x82\xac") == 0, "raw UTF-8");
    e = e->next;
    CHECK(e->len == 0 && e->str[0] == '\0', "empty string");
    pcnn_json_free(d);
}

TEST(st_json_rejects_bad_strings)
{
    static const char *const bad[] = {
        "\"\\ud83d\"",        /* lone high surrogate */
        "\"\\ude00\"",        /* lone low surrogate */
        "\"\\ud83d\\u0041\"", /* high + non-low */
        "\"\\ud83dx\"",
        "\"\\u12\"",          /* short \u */
        "\"\\u12g4\"",
        "\"\\x41\"",          /* unknown escape */
        "\"\\\"",             /* unterminated after escape */
        "\"abc",              /* unterminated */
        "\"a\tb\"",           /* raw control character */
        "\"\x01\"",
        "\"\xc0\x80\"",       /* overlong NUL */
        "\"\xe0\x80\xaf\"",   /* overlong '/' */
        "\"\xed\xa0\x80\"",   /* UTF-8 surrogate */
        "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\xf5\x80\x80\x80\"",
        "\"\xff\"",
        "\"\xc3\"",           /* truncated sequence */
        "\"\xe2\x82\"",
        "\xc3\xa9",           /* non-ASCII outside a string */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pcnn_json_doc *d = NULL;
        pcnn_status s = pcnn_json_parse(bad[i], strlen(bad[i]), "j", &d);
        CHECK(s == PCNN_ERR_FORMAT && !d, "case %zu accepted", i);
        CHECK(strncmp(pcnn_last_error(), "j: invalid JSON at byte ", 24) ==
                  0,
              "case %zu message '%s'", i, pcnn_last_error());
        pcnn_json_free(d);
    }
    CHECK(pcnn_json_utf8_valid("\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
    CHECK(pcnn_json_utf8_valid("\xed\x9f\xbf", 3), "U+D7FF");
    CHECK(!pcnn_json_utf8_valid("\xed\xa0\x80", 3), "U+D800");
}

TEST(st_json_structure)
{
    static const char *const bad[] = {
        "", " ", "[", "]", "{", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}",
        "{\"a\" 1}", "{\"a\":}", "{a:1}", "{1:1}", "{\"a\":1 \"b\":2}",
        "tru", "nul", "True", "[1] x", "{} {}", "[1]]", "\"a\" \"b\"",
        "[1,\n", "[null", "{\"a\":1", "/* c */ 1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!json_ok(bad[i]), "case %zu '%s' accepted", i, bad[i]);
    /* "[1]\0" with its NUL: trailing garbage */
    pcnn_json_doc *d = NULL;
    CHECK(pcnn_json_parse("[1]\0", 4, "j", &d) == PCNN_ERR_FORMAT,
          "trailing NUL accepted");
    const pcnn_json *r = jparse(" \t\r\n{\"a\" : [true, false, null, {}],"
                                "\"b\":{\"c\":[[]]}, \"a\": 1} \n",
                                &d);
    REQUIRE(r && r->type == PCNN_JSON_OBJECT && r->count == 3, "%s",
            pcnn_last_error());
    const pcnn_json *a = pcnn_json_get(r, "a"); /* the first "a" */
    REQUIRE(a && a->type == PCNN_JSON_ARRAY && a->count == 4, "a");
    CHECK(a->child->type == PCNN_JSON_TRUE &&
              a->child->next->type == PCNN_JSON_FALSE &&
              a->child->next->next->type == PCNN_JSON_NULL &&
              a->child->next->next->next->type == PCNN_JSON_OBJECT &&
              a->child->next->next->next->count == 0 &&
              !a->child->next->next->next->next,
          "array elements");
    const pcnn_json *b = pcnn_json_get(r, "b");
    CHECK(b && pcnn_json_get(b, "c") && !pcnn_json_get(b, "d") &&
              !pcnn_json_get(a, "c"),
          "lookups");
    CHECK(strcmp(a->key, "a") == 0 && r->child->next->next->key_len == 1,
          "keys");
    pcnn_json_free(d);
}

TEST(st_json_depth_limit)
{
    char text[2 * (PCNN_JSON_MAX_DEPTH + 1) + 1];
    for (int depth = PCNN_JSON_MAX_DEPTH; depth <= PCNN_JSON_MAX_DEPTH + 1;
         depth++) {
        for (int i = 0; i < depth; i++) {
            text[i] = '[';
            text[2 * depth - 1 - i] = ']';
        }
        text[2 * depth] = '\0';
        const int ok = json_ok(text);
        CHECK(ok == (depth <= PCNN_JSON_MAX_DEPTH), "depth %d: %s", depth,
              ok ? "accepted" : pcnn_last_error());
    }
    CHECK(strstr(pcnn_last_error(), "nesting"), "message '%s'",
          pcnn_last_error());
    /* objects count too; a deep hostile document fails fast, no stack */
    size_t n = 1000000;
    char *deep = xcalloc(n + 1, 1);
    memset(deep, '[', n);
    CHECK(!json_ok(deep), "a million brackets accepted");
    for (size_t i = 0; i < n; i += 5)
        memcpy(deep + i, "{\"a\":", 5);
    CHECK(!json_ok(deep), "nested objects accepted");
    free(deep);
}

TEST(st_json_numbers)
{
    static const char *const bad[] = {
        "01", "-", "+1", "1.", ".5", "1e", "1e+", "-a", "0x10", "1.e3",
        "--1", "Infinity", "NaN", "1e400", "-1e999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!json_ok(bad[i]), "'%s' accepted", bad[i]);
    static const struct {
        const char *text;
        double num;
        int is_int;
        int64_t ival;
    } good[] = {
        {"0", 0, 1, 0},
        {"-0", 0, 1, 0},
        {"42", 42, 1, 42},
        {"-17", -17, 1, -17},
        {"1.5", 1.5, 0, 0},
        {"-2.5e-3", -2.5e-3, 0, 0},
        {"1E2", 100, 0, 0},
        {"0.1", 0.1, 0, 0},
        {"123456789.125", 123456789.125, 0, 0},
        {"9007199254740993", 9007199254740992.0, 1, INT64_C(9007199254740993)},
        {"9223372036854775807", 9223372036854775807.0, 1, INT64_MAX},
        {"-9223372036854775808", -9223372036854775808.0, 1, INT64_MIN},
        {"9223372036854775808", 9223372036854775808.0, 0, 0},
        {"1e-400", 0, 0, 0},
        {"2.2250738585072014e-308", 2.2250738585072014e-308, 0, 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        pcnn_json_doc *d;
        const pcnn_json *r = jparse(good[i].text, &d);
        CHECK(r && r->type == PCNN_JSON_NUMBER, "'%s': %s", good[i].text,
              pcnn_last_error());
        if (r) {
            CHECK(r->is_int == good[i].is_int &&
                      (!r->is_int || r->ival == good[i].ival),
                  "'%s': is_int %d ival %lld", good[i].text, r->is_int,
                  (long long)r->ival);
            CHECK(fabs(r->num - good[i].num) <= 1e-15 * fabs(good[i].num),
                  "'%s': %.17g", good[i].text, r->num);
        }
        pcnn_json_free(d);
    }
    /* a number longer than 256 characters */
    char longnum[300];
    memset(longnum, '1', sizeof longnum - 1);
    longnum[sizeof longnum - 1] = '\0';
    CHECK(!json_ok(longnum) && strstr(pcnn_last_error(), "256"),
          "long number: %s", pcnn_last_error());
}
