/*
 * test_cli_score.c -- `pixelcnn score`: its CSV and JSON lines against
 * pcnn_chain_score on the same images, image files as input, the heat
 * map, --pseudo-counts against pcnn_pseudo_counts, and one-line errors.
 */
#include "test.h"
#include "cli_util.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field `col` (0-based, commas; no quoted fields) of line `line` (0: the
 * first) of the text s, as a number; NAN when absent. */
static double csv_field(const char *s, int line, int col)
{
    for (int i = 0; i < line && s; i++)
        if ((s = strchr(s, '\n')))
            s++;
    for (int i = 0; i < col && s; i++)
        if ((s = strpbrk(s, ",\n")) && *s == ',')
            s++;
        else
            s = NULL;
    char *end;
    const double v = s ? strtod(s, &end) : NAN;
    return s && end != s ? v : NAN;
}

/* The number after `"key": ` in the k-th line (0-based) of s; NAN when
 * absent. */
static double json_field(const char *s, int line, const char *key)
{
    for (int i = 0; i < line && s; i++)
        if ((s = strchr(s, '\n')))
            s++;
    const char *eol = s ? strchr(s, '\n') : NULL;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = s ? strstr(s, pat) : NULL;
    return p && (!eol || p < eol) ? strtod(p + strlen(pat), NULL) : NAN;
}

static int read_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = 0;
    fclose(f);
    return 0;
}

/* A tiny model trained on the 8x8 MNIST-format set in dir: 0 on
 * success; its path in ckpt. */
static int tiny_model(const char *dir, char *ckpt, size_t n)
{
    static char out[16384];
    if (write_idx(dir) != 0 ||
        run(out, sizeof out,
            "%s train --data mnist:%s --out %s/a " TINY
            " --lr 0.01 --steps 6 --no-test",
            cli(), dir, dir) != 0)
        return -1;
    snprintf(ckpt, n, "%s/a/checkpoint.safetensors", dir);
    return 0;
}

/* The library's per-image bits of the first 16 test images. */
static int library_bits(const char *ckpt, const char *dir, double *bits)
{
    char img[600];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte", dir);
    pcnn_dataset d = {0};
    pcnn_ctx *ctx = NULL;
    pcnn_chain *ch = NULL;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    double img_bits[16];
    pcnn_chain_scores out = {bits, NULL, {NULL}, {NULL}};
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = 16, eo.image_bits = img_bits;
    pcnn_status s = pcnn_dataset_load_idx(img, NULL, &d);
    if (s == PCNN_OK)
        s = pcnn_ctx_create(&ctx, &co);
    if (s == PCNN_OK)
        s = pcnn_chain_load(ckpt, 1, &ch);
    if (s == PCNN_OK)
        s = pcnn_chain_score(ctx, ch, &d, &eo, NULL, &out);
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    return s == PCNN_OK ? 0 : -1;
}

TEST(cli_score_csv_jsonl_heatmap)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_score_XXXXXX", ckpt[600], path[700];
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(tiny_model(dir, ckpt, sizeof ckpt) == 0, "train failed");
    double lib[16];
    REQUIRE(library_bits(ckpt, dir, lib) == 0, "library: %s",
            pcnn_last_error());
    static char out[65536], txt[65536];
    int rc = run(out, sizeof out,
                 "%s score --checkpoint %s --data mnist:%s --threads 1 "
                 "--heatmap %s/h.png --count 3",
                 cli(), ckpt, dir, dir);
    CHECK(rc == 0 && !strncmp(out, "image,source,bits_per_dim,"
                                   "tight_bits_per_dim,stage0,stage0_own",
                              60) &&
              strstr(out, "bits per pixel"),
          "score: %s", out);
    int lines = 0;
    for (const char *p = out; (p = strchr(p, '\n')); p++)
        lines++;
    CHECK(lines == 1 + 16 + 1, "%d lines (a header, 16 images, the heat "
                               "map's message)",
          lines);
    for (int k = 0; k < 16; k++)
        CHECK(csv_field(out, k + 1, 0) == k &&
                  fabs(csv_field(out, k + 1, 2) - lib[k]) < 1e-12 &&
                  fabs(csv_field(out, k + 1, 4) - lib[k]) < 1e-12,
              "image %d: %g, library %.17g", k, csv_field(out, k + 1, 2),
              lib[k]);
    snprintf(path, sizeof path, "%s/h.png", dir);
    CHECK(file_size(path) > 200, "no heat map");
    rc = run(out, sizeof out,
             "%s score --checkpoint %s --data mnist:%s --threads 1 --limit 5 "
             "--format jsonl -o %s/s.jsonl",
             cli(), ckpt, dir, dir);
    snprintf(path, sizeof path, "%s/s.jsonl", dir);
    REQUIRE(rc == 0 && read_file(path, txt, sizeof txt) == 0, "jsonl: %s",
            out);
    /* a batch of 5, not 16: equal to float rounding */
    for (int k = 0; k < 5; k++)
        CHECK(json_field(txt, k, "image") == k &&
                  fabs(json_field(txt, k, "bits_per_dim") - lib[k]) <
                      1e-6 * lib[k] &&
                  json_field(txt, k, "bits") ==
                      json_field(txt, k, "bits_per_dim"),
              "jsonl line %d: %s", k, txt);
    CHECK(json_field(txt, 5, "image") != json_field(txt, 5, "image"),
          "5 lines: %s", txt);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* Image files (a PGM written here) score like the same image in a data
 * set, and --pseudo-counts prints what pcnn_pseudo_counts gives. */
TEST(cli_score_files_and_pseudo_counts)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_score_XXXXXX", ckpt[600], path[700];
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(tiny_model(dir, ckpt, sizeof ckpt) == 0, "train failed");
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    pcnn_dataset d = {0};
    REQUIRE_OK(pcnn_dataset_load_idx(path, NULL, &d));
    snprintf(path, sizeof path, "%s/one.pgm", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f, "cannot write %s", path);
    fprintf(f, "P5\n8 8\n255\n");
    fwrite(d.images + 2 * 64, 1, 64, f);
    fclose(f);
    static char out[16384], sc[16384];
    int rc = run(out, sizeof out,
                 "%s score --checkpoint %s %s --threads 1", cli(), ckpt,
                 path);
    run(sc, sizeof sc, "%s score --checkpoint %s --data mnist:%s --threads 1",
        cli(), ckpt, dir);
    CHECK(rc == 0 && strstr(out, "one.pgm") &&
              fabs(csv_field(out, 1, 2) - csv_field(sc, 3, 2)) <
                  1e-6 * csv_field(sc, 3, 2),
          "a file: %s; the data set's image 2: %g", out, csv_field(sc, 3, 2));
    /* image 0 four times, then 1 and 2 */
    const int64_t idx[6] = {0, 0, 0, 0, 1, 2};
    uint8_t s[6 * 64];
    REQUIRE_OK(pcnn_dataset_gather(&d, idx, 6, s, NULL));
    pcnn_dataset st = {0};
    REQUIRE_OK(pcnn_dataset_from_memory(s, 6, 1, 8, 8, NULL, 0, &st));
    pcnn_chain *ch;
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_chain_load(ckpt, 1, &ch));
    REQUIRE_OK(pcnn_ctx_create(&ctx, &(pcnn_ctx_opts){PCNN_BACKEND_CPU, 1}));
    static const char *const opt[2] = {"sgd", "adam"};
    for (int adam = 0; adam < 2; adam++) {
        rc = run(out, sizeof out,
                 "%s score --checkpoint %s --data mnist:%s --pseudo-counts "
                 "--stream '0*4,1-2' --lr 2e-5 --optimizer %s --threads 1",
                 cli(), ckpt, dir, opt[adam]);
        CHECK(rc == 0 &&
                  !strncmp(out, "step,source,bits_before,bits_after,count",
                           40),
              "counts: %s", out);
        pcnn_counts_opts o = pcnn_counts_opts_default();
        o.lr = 2e-5f, o.adam = adam;
        double a[6], b[6], n[6];
        REQUIRE_OK(pcnn_pseudo_counts(ctx, ch, &st, &o, a, b, n));
        for (int k = 0; k < 6; k++)
            CHECK(fabs(csv_field(out, k + 1, 2) + a[k] / log(2)) < 1e-9 &&
                      fabs(csv_field(out, k + 1, 3) + b[k] / log(2)) <
                          1e-9 &&
                      (isinf(n[k]) ? strstr(out, "inf") != NULL
                                   : fabs(csv_field(out, k + 1, 4) - n[k]) <=
                                         1e-12 * n[k]),
                  "%s step %d: %s; library %.17g %.17g %.17g", opt[adam], k,
                  out, -a[k] / log(2), -b[k] / log(2), n[k]);
    }
    pcnn_chain_free(ch);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&st);
    pcnn_dataset_free(&d);
    run(out, sizeof out, "rm -rf %s", dir);
}

TEST(cli_score_errors)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_score_XXXXXX", ckpt[600];
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(tiny_model(dir, ckpt, sizeof ckpt) == 0, "train failed");
    static char out[16384];
    CHECK(run(out, sizeof out, "%s score --help", cli()) == 0 &&
              strstr(out, "usage: pixelcnn score") &&
              strstr(out, "--pseudo-counts"),
          "--help: %s", out);
    struct {
        const char *args, *want;
        int rc;
    } cases[] = {
        {"--no-such-flag", "--no-such-flag", 2},
        {"--checkpoint %s/none.safetensors", "none.safetensors", 1},
        {"--checkpoint %s/a/checkpoint.safetensors %s/missing.png",
         "missing.png", 1},
        {"--checkpoint %s/a/checkpoint.safetensors --format xml", "--format",
         2},
        {"--checkpoint %s/a/checkpoint.safetensors --stream 0",
         "--stream does not apply", 2},
        {"--checkpoint %s/a/checkpoint.safetensors --data mnist:%s "
         "--pseudo-counts --stream 0,99999",
         "--stream 0,99999", 2},
        {"--checkpoint %s/a/checkpoint.safetensors --data mnist:%s "
         "--pseudo-counts --stream 0-x",
         "--stream 0-x", 2},
        {"--checkpoint %s/a/checkpoint.safetensors --data mnist:%s "
         "--heatmap %s/h.png --stage 1",
         "--stage 1", 2},
        {"--checkpoint %s/a/checkpoint.safetensors --data mnist:%s "
         "-o /nonexistent/dir/x.csv",
         "/nonexistent/dir", 1},
        /* a 3x64x64 chain on 1x8x8 images */
        {"--checkpoint results/faces-pyramid/chain.safetensors --data "
         "mnist:%s",
         "the data are 1x8x8 images", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, cases[i].args, dir, dir, dir);
        int rc = run(out, sizeof out, "%s score %s --threads 1", cli(), cmd);
        int lines = 0;
        for (const char *p = out; (p = strchr(p, '\n')); p++)
            lines++;
        CHECK(rc == cases[i].rc && strstr(out, cases[i].want) && lines == 1,
              "score %s: rc %d, want %d with '%s' in one line: %s", cmd, rc,
              cases[i].rc, cases[i].want, out);
    }
    run(out, sizeof out, "rm -rf %s", dir);
}
