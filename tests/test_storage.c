/*
 * test_storage.c -- weights-only files in F16 and BF16 (docs/checkpoint.md,
 * "Storage"): the conversions round to nearest even like numpy and
 * PyTorch (checked against an exact reference in double), a model and a
 * chain saved in each load back as exactly the rounded weights, F16's range
 * is checked before anything is written, a training checkpoint with a
 * 16-bit tensor is refused, and `pixelcnn export --storage` halves a file
 * whose bits/dim stay close.
 */
#include "test.h"
#include "ckpt_edit.h"
#include "cli_util.h"
#include "data_util.h"
#include "pixelcnn.h"
#include "../src/io/half.h"
#include "../src/io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The value nearest to x among those of a format with `sig` significant
 * bits and smallest normal exponent emin (2^emin), ties to the even
 * significand, in double (exact for float inputs); no overflow handling. */
static double nearest_ref(double x, int sig, int emin)
{
    if (x == 0)
        return x;
    int e;
    frexp(fabs(x), &e); /* |x| in [2^(e-1), 2^e) */
    int q = e - 1 < emin ? emin : e - 1; /* the binade's exponent */
    const double ulp = ldexp(1.0, q - (sig - 1));
    const double k = fabs(x) / ulp, f = floor(k);
    double r = k - f > 0.5 || (k - f == 0.5 && fmod(f, 2) == 1) ? f + 1 : f;
    return copysign(r * ulp, x);
}

static float f32_of_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

TEST(half_conversions_round_to_nearest_even)
{
    /* every F16 and BF16 value converts back to itself */
    int bad16 = 0, badb = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float x = pcnn_f16_to_f32((uint16_t)h);
        if (!isnan(x) && pcnn_f16_from_f32(x) != h)
            bad16++;
        const float y = pcnn_bf16_to_f32((uint16_t)h);
        if (!isnan(y) && pcnn_bf16_from_f32(y) != h)
            badb++;
    }
    CHECK(bad16 == 0 && badb == 0, "%d F16 and %d BF16 values do not "
                                   "round-trip", bad16, badb);
    /* the largest F16 is 65504; 11 significant bits; subnormals from
     * 2^-24; ties to even */
    CHECK(pcnn_f16_to_f32(0x7BFF) == PCNN_F16_MAX, "F16 max");
    CHECK(pcnn_f16_from_f32(65519.99f) == 0x7BFF &&
              pcnn_f16_from_f32(65520.0f) == 0x7C00,
          "the overflow threshold");
    CHECK(pcnn_f16_from_f32(ldexpf(1, -25)) == 0 &&
              pcnn_f16_from_f32(ldexpf(1.5f, -25)) == 1,
          "the smallest subnormal");
    CHECK(pcnn_f16_from_f32(2049.0f) == pcnn_f16_from_f32(2048.0f) &&
              pcnn_f16_from_f32(2051.0f) == pcnn_f16_from_f32(2052.0f),
          "ties go to the even significand");
    CHECK(isnan(pcnn_f16_to_f32(pcnn_f16_from_f32(NAN))) &&
              isnan(pcnn_bf16_to_f32(pcnn_bf16_from_f32(NAN))),
          "NaN stays NaN");
    /* random floats of every magnitude in F16's range and beyond, against
     * the reference */
    uint64_t r = 0x9E3779B97F4A7C15ull;
    int worst16 = 0, worstb = 0;
    for (int i = 0; i < 200000; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t u = (uint32_t)(r >> 32);
        /* exponents 2^-30 .. 2^17 for F16, all finite ones for BF16 */
        const uint32_t e16 = 97 + (uint32_t)((r >> 8) % 48);
        const float x = f32_of_bits((u & 0x807FFFFFu) | (e16 << 23));
        if (fabsf(x) < 65520.0f) {
            const double want = nearest_ref(x, 11, -14);
            if ((double)pcnn_f16_to_f32(pcnn_f16_from_f32(x)) != want)
                worst16++;
        }
        const float y = f32_of_bits(u);
        if (isfinite(y) && fabsf(y) < 3e38f) {
            const double want = nearest_ref(y, 8, -126);
            if ((double)pcnn_bf16_to_f32(pcnn_bf16_from_f32(y)) != want)
                worstb++;
        }
    }
    CHECK(worst16 == 0 && worstb == 0,
          "%d F16 and %d BF16 conversions differ from the reference",
          worst16, worstb);
}

/* The weights of m rounded as storage st would, in a new array. */
static float *rounded(const pcnn_model *m, pcnn_storage st, size_t *n)
{
    const float *p = pcnn_model_params((pcnn_model *)m, n);
    float *r = malloc(*n * sizeof *r);
    for (size_t k = 0; r && k < *n; k++)
        r[k] = st == PCNN_STORAGE_F16 ? pcnn_f16_to_f32(pcnn_f16_from_f32(p[k]))
                                      : pcnn_bf16_to_f32(
                                            pcnn_bf16_from_f32(p[k]));
    return r;
}

TEST(storage_model_and_chain_round_trip)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    pcnn_model *m = NULL;
    REQUIRE_OK(pcnn_checkpoint_load_model(path_in(0, dir, "full.safetensors"),
                                          1, &m));
    REQUIRE_OK(pcnn_model_save(path_in(1, dir, "w32.safetensors"), m,
                               PCNN_STORAGE_F32));
    const long f32 = file_size(path_in(1, dir, "w32.safetensors"));
    for (int st = PCNN_STORAGE_F16; st <= PCNN_STORAGE_BF16; st++) {
        const char *path = path_in(1, dir, "w16.safetensors");
        REQUIRE_OK(pcnn_model_save(path, m, (pcnn_storage)st));
        const long sz = file_size(path);
        CHECK(sz > 0 && sz < f32 * 6 / 10, "storage %d: %ld bytes, F32 %ld",
              st, sz, f32);
        size_t n, n2;
        float *want = rounded(m, (pcnn_storage)st, &n);
        pcnn_model *back = NULL;
        REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &back));
        const float *got = pcnn_model_params(back, &n2);
        REQUIRE(n == n2 && want, "parameter count");
        size_t diff = 0, changed = 0;
        const float *orig = pcnn_model_params(m, NULL);
        for (size_t k = 0; k < n; k++)
            diff += got[k] != want[k], changed += got[k] != orig[k];
        CHECK(diff == 0, "storage %d: %zu weights differ from the rounded "
                         "ones", st, diff);
        CHECK(changed > n / 2, "storage %d: only %zu of %zu weights "
                               "rounded: not stored in 16 bits?",
              st, changed, n);
        /* the same through a chain file, and its storage kept on export */
        pcnn_chain *c = NULL;
        REQUIRE_OK(pcnn_chain_create(&c, &back, 1));
        const char *cp = path_in(2, dir, "c16.safetensors");
        REQUIRE_OK(pcnn_chain_save_as(cp, c, (pcnn_storage)st));
        pcnn_chain *c2 = NULL;
        REQUIRE_OK(pcnn_chain_load(cp, 0, &c2));
        got = pcnn_model_params(pcnn_chain_stage(c2, 0), NULL);
        diff = 0;
        for (size_t k = 0; k < n; k++)
            diff += got[k] != want[k];
        CHECK(diff == 0, "chain, storage %d: %zu weights differ", st, diff);
        pcnn_chain_free(c2);
        pcnn_chain_free(c);
        free(want);
    }
    EXPECT_FAIL(pcnn_model_save(path_in(1, dir, "x.safetensors"), m,
                                (pcnn_storage)7),
                PCNN_ERR_ARG, "storage");
    pcnn_model_free(m);
    tmp_dir_remove(dir);
}

TEST(storage_f16_range_checked_before_writing)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *w = path_in(0, dir, "weights.safetensors");
    pcnn_model *m = NULL;
    REQUIRE_OK(pcnn_checkpoint_load_model(w, 0, &m));
    size_t len0, len1;
    uint8_t *before = read_bytes(w, &len0);
    float *p = pcnn_model_params(m, NULL);
    const float keep = p[1];
    p[1] = 70000.0f; /* within the parameter bound, beyond F16 */
    EXPECT_FAIL(pcnn_model_save(w, m, PCNN_STORAGE_F16), PCNN_ERR_VALUE,
                "beyond F16's range");
    CHECK(strstr(pcnn_last_error(), w) && strstr(pcnn_last_error(), "BF16"),
          "message \"%s\"", pcnn_last_error());
    /* BF16 holds it */
    REQUIRE_OK(pcnn_model_save(path_in(1, dir, "b.safetensors"), m,
                               PCNN_STORAGE_BF16));
    /* a weight-norm direction that F16 flushes to zero is refused too:
     * fine in F32 (its norm is far above 1e-20), all zeros in F16 */
    p[1] = keep;
    int v = -1;
    for (int i = 0; v < 0 && i < pcnn_model_param_count(m); i++) {
        const char *nm = pcnn_model_param_name(m, i);
        if (strlen(nm) > 2 && !strcmp(nm + strlen(nm) - 2, ".v"))
            v = i;
    }
    REQUIRE(v >= 0, "no weight-normalized layer");
    pcnn_tensor t = pcnn_model_param(m, v);
    for (int64_t k = 0; k < pcnn_numel(t); k++)
        t.data[k] = 1e-9f;
    REQUIRE_OK(pcnn_model_save(path_in(1, dir, "b.safetensors"), m,
                               PCNN_STORAGE_F32));
    EXPECT_FAIL(pcnn_model_save(w, m, PCNN_STORAGE_F16), PCNN_ERR_VALUE,
                "direction");
    uint8_t *after = read_bytes(w, &len1);
    CHECK(len0 == len1 && !memcmp(before, after, len0),
          "the file on disk changed");
    free(before), free(after);
    pcnn_model_free(m);
    tmp_dir_remove(dir);
}

TEST(storage_16bit_refused_in_training_checkpoint)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    /* full.safetensors with its first tensor rewritten as F16 */
    const char *full = path_in(0, dir, "full.safetensors");
    const char *bad = path_in(1, dir, "bad.safetensors");
    pcnn_st_file *f = NULL;
    REQUIRE_OK(pcnn_st_load(full, &f));
    pcnn_st_writer *w = NULL;
    REQUIRE_OK(pcnn_st_writer_create(&w));
    for (size_t i = 0; i < pcnn_st_meta_count(f); i++) {
        const char *key, *value;
        pcnn_st_meta_at(f, i, &key, &value);
        REQUIRE_OK(pcnn_st_writer_meta(w, key, value));
    }
    const pcnn_st_tensor *t0 = pcnn_st_at(f, 0);
    size_t n0 = 1;
    for (int d = 0; d < t0->ndim; d++)
        n0 *= (size_t)t0->shape[d];
    float *x = malloc(n0 * sizeof *x);
    uint16_t *h = malloc(n0 * sizeof *h);
    REQUIRE(x && h, "memory");
    REQUIRE_OK(pcnn_st_copy_f32(f, t0, x, n0));
    for (size_t k = 0; k < n0; k++)
        h[k] = pcnn_f16_from_f32(x[k]);
    for (size_t i = 0; i < pcnn_st_count(f); i++) {
        const pcnn_st_tensor *t = pcnn_st_at(f, i);
        REQUIRE_OK(pcnn_st_writer_add(w, t->name,
                                      i ? t->dtype : PCNN_ST_F16, t->ndim,
                                      t->shape, i ? t->data : (void *)h));
    }
    REQUIRE_OK(pcnn_st_writer_save(w, bad));
    pcnn_st_writer_free(w);
    pcnn_model *m = NULL;
    EXPECT_FAIL(pcnn_checkpoint_load_model(bad, 0, &m), PCNN_ERR_FORMAT,
                "F16");
    CHECK(strstr(pcnn_last_error(), bad) != NULL, "message \"%s\"",
          pcnn_last_error());
    pcnn_st_free(f);
    free(x), free(h);
    tmp_dir_remove(dir);
}

TEST(cli_export_storage)
{
    if (!have_cli())
        return;
    char dir[64], out[8192];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *full = path_in(0, dir, "full.safetensors");
    int rc = run(out, sizeof out,
                 "%s export --checkpoint %s --out %s/h.safetensors --storage "
                 "f16 && %s export --checkpoint %s/chain.safetensors --out "
                 "%s/hc.safetensors --storage bf16 && %s info --checkpoint "
                 "%s/hc.safetensors",
                 cli(), full, dir, cli(), dir, dir, cli(), dir);
    CHECK(rc == 0 && strstr(out, "wrote") && strstr(out, "chain file"),
          "rc %d: %s", rc, out);
    CHECK(file_size(path_in(1, dir, "h.safetensors")) * 10 <
              file_size(path_in(2, dir, "weights.safetensors")) * 6,
          "f16 export not about half the size");
    rc = run(out, sizeof out, "%s export --checkpoint %s --out %s/x "
                              "--storage f8",
             cli(), full, dir);
    CHECK(rc == 2 && strstr(out, "--storage"), "rc %d: %s", rc, out);
    rc = run(out, sizeof out, "%s export --checkpoint %s/chain.safetensors "
                              "--out %s/x --weights ema",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "chain.safetensors"), "rc %d: %s", rc, out);
    tmp_dir_remove(dir);
}
