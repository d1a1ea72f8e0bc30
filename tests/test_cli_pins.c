/*
 * test_cli_pins.c -- the pixelcnn tool computes what the library computes:
 * `eval` prints the library's bits/dim of the weights it was asked for
 * (raw or EMA, which differ), a resumed training run ends with the same
 * checkpoint, tensor for tensor, as a straight one, and `sample --seed`
 * is a function of the seed. The binary is $PCNN_CLI, or build/pixelcnn.
 */
#include "test.h"
#include "cli_util.h"
#include "pixelcnn.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TINY "--nr-resnet 1 --nr-filters 8 --nr-mix 2 --nr-resolutions 2 " \
             "--batch 8 --dropout 0.2 --threads 1"

/* The number after "bits/dim: " in s, or NAN. */
static double printed_bpd(const char *s)
{
    const char *p = strstr(s, "bits/dim: ");
    double v;
    return p && sscanf(p + 10, "%lf", &v) == 1 ? v : NAN;
}

/* `eval --weights raw` and `--weights ema` print the bits/dim that
 * pcnn_chain_evaluate gives, in this process, for the raw and the EMA weights
 * of the same file on the same test images (16, batch 16, one thread);
 * a run of 6 steps at lr 0.01 makes the two differ well beyond the
 * printed 4 decimals, and the default (a file with a trainer) is EMA. */
TEST(pin_cli_eval_prints_library_bpd)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_pin_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/a " TINY
                 " --lr 0.01 --steps 6 --no-test",
                 cli(), dir, dir);
    REQUIRE(rc == 0, "train: %s", out);
    char ckpt[600], img[600], lab[600];
    snprintf(ckpt, sizeof ckpt, "%s/a/checkpoint.safetensors", dir);
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte", dir);
    pcnn_dataset d = {0};
    pcnn_ctx *ctx;
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 1};
    REQUIRE_OK(pcnn_dataset_load_idx(img, lab, &d));
    REQUIRE_OK(pcnn_ctx_create(&ctx, &co));
    double lib[2], cl[2];
    static const char *w[2] = {"raw", "ema"};
    for (int e = 0; e < 2; e++) {
        pcnn_chain *ch;
        pcnn_chain_eval r;
        REQUIRE_OK(pcnn_chain_load(ckpt, e, &ch));
        REQUIRE_OK(pcnn_chain_evaluate(ctx, ch, &d,
                                       &(pcnn_eval_opts){.batch = 16}, &r));
        lib[e] = r.total;
        pcnn_chain_free(ch);
        rc = run(out, sizeof out,
                 "%s eval --checkpoint %s --data mnist:%s --weights %s "
                 "--threads 1",
                 cli(), ckpt, dir, w[e]);
        cl[e] = printed_bpd(out);
        CHECK(rc == 0 && fabs(cl[e] - lib[e]) <= 0.00005 + 1e-9 &&
                  strstr(out, e ? "EMA weights" : "raw weights"),
              "--weights %s printed %.4f, the library gives %.6f: %s", w[e],
              cl[e], lib[e], out);
    }
    CHECK(fabs(lib[0] - lib[1]) > 0.002,
          "raw %.6f and EMA %.6f too close to tell apart", lib[0], lib[1]);
    rc = run(out, sizeof out, "%s eval --checkpoint %s --data mnist:%s "
                              "--threads 1",
             cli(), ckpt, dir);
    CHECK(rc == 0 && fabs(printed_bpd(out) - lib[1]) <= 0.00005 + 1e-9,
          "the default should be EMA (%.6f): %s", lib[1], out);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* 6 straight steps and 3 steps + `--resume` to 6 (dropout on, so the
 * masks' seeds must follow the step) end with the same checkpoint: the
 * same tensor names, and every tensor (parameters, ema.*, adam.m.*,
 * adam.v.*) bit for bit equal -- the same machine, one thread, and the
 * trainer's arithmetic has no thread-dependent reduction -- and the same
 * metadata (step, epoch, cursor, options). */
TEST(pin_cli_resume_equals_straight_tensors)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_pin_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/a " TINY
                 " --lr 0.01 --steps 6 --save-every 100 --no-test && "
                 "%s train --data mnist:%s --out %s/b " TINY
                 " --lr 0.01 --steps 3 --save-every 100 --no-test && "
                 "%s train --data mnist:%s --out %s/b --resume --threads 1 "
                 "--steps 6 --save-every 100 --no-test",
                 cli(), dir, dir, cli(), dir, dir, cli(), dir, dir);
    REQUIRE(rc == 0 && strstr(out, "resuming"), "train + resume: %s", out);
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/a/checkpoint.safetensors", dir);
    snprintf(pb, sizeof pb, "%s/b/checkpoint.safetensors", dir);
    pcnn_st_file *fa, *fb;
    REQUIRE_OK(pcnn_st_load(pa, &fa));
    REQUIRE_OK(pcnn_st_load(pb, &fb));
    const size_t n = pcnn_st_count(fa);
    CHECK(n == pcnn_st_count(fb), "%zu tensors straight, %zu resumed", n,
          pcnn_st_count(fb));
    int kinds[4] = {0}, differ = 0;
    for (size_t i = 0; i < n; i++) {
        const pcnn_st_tensor *a = pcnn_st_at(fa, i);
        const pcnn_st_tensor *b = pcnn_st_find(fb, a->name);
        kinds[!strncmp(a->name, "ema.", 4)       ? 1
              : !strncmp(a->name, "adam.m.", 7) ? 2
              : !strncmp(a->name, "adam.v.", 7) ? 3
                                                : 0]++;
        if (!b || b->nbytes != a->nbytes || b->dtype != a->dtype ||
            memcmp(a->data, b->data, a->nbytes)) {
            if (differ++ < 5)
                test_fail(__FILE__, __LINE__, "%s differs after resuming",
                          a->name);
        }
    }
    CHECK(differ == 0, "%d of %zu tensors differ", differ, n);
    CHECK(kinds[0] > 10 && kinds[1] == kinds[0] && kinds[2] == kinds[0] &&
              kinds[3] == kinds[0],
          "tensors: %d params, %d ema, %d adam.m, %d adam.v", kinds[0],
          kinds[1], kinds[2], kinds[3]);
    const size_t nm = pcnn_st_meta_count(fa);
    CHECK(nm == pcnn_st_meta_count(fb), "metadata counts differ");
    for (size_t i = 0; i < nm; i++) {
        const char *k, *v;
        pcnn_st_meta_at(fa, i, &k, &v);
        const char *vb = pcnn_st_meta(fb, k);
        CHECK(vb && !strcmp(v, vb), "metadata %s: %s straight, %s resumed",
              k, v, vb ? vb : "(none)");
    }
    const char *step = pcnn_st_meta(fa, "step");
    CHECK(step && !strcmp(step, "6"), "step %s", step ? step : "(none)");
    pcnn_st_free(fa), pcnn_st_free(fb);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* The n * 64 pixel bytes of a .npy file of (n, 1, 8, 8) images. */
static int read_npy(const char *path, unsigned char *px, size_t len)
{
    FILE *f = fopen(path, "rb");
    int ok = f && fseek(f, 128, SEEK_SET) == 0 && fread(px, 1, len, f) == len;
    if (f)
        ok = ok && fgetc(f) == EOF, fclose(f);
    return ok;
}

/* `sample --seed S` is a function of S: twice the same .npy, also with
 * another thread count; another seed gives other images (a 4-step model is sure of
 * some pixels, the extremes of its ramps: most others differ). */
TEST(pin_cli_sample_seed)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_pin_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/a " TINY
                 " --steps 4 --no-test",
                 cli(), dir, dir);
    REQUIRE(rc == 0, "train: %s", out);
    static const struct {
        int seed, threads;
    } runs[4] = {{5, 1}, {5, 1}, {5, 2}, {6, 1}};
    enum { N = 4, LEN = N * 64 };
    unsigned char px[4][LEN];
    for (int k = 0; k < 4; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/s%d.npy", dir, k);
        rc = run(out, sizeof out,
                 "%s sample --checkpoint %s/a/checkpoint.safetensors -n %d "
                 "-o %s --seed %d --threads %d",
                 cli(), dir, N, path, runs[k].seed, runs[k].threads);
        REQUIRE(rc == 0 && read_npy(path, px[k], LEN), "sample %d: %s", k,
                out);
    }
    CHECK(!memcmp(px[0], px[1], LEN), "seed 5 twice gave different images");
    CHECK(!memcmp(px[0], px[2], LEN),
          "seed 5 on 1 and 2 threads gave different images");
    int same = 0;
    for (int i = 0; i < LEN; i++)
        same += px[0][i] == px[3][i];
    CHECK(same < LEN / 2, "seeds 5 and 6 agree on %d of %d pixels", same,
          LEN);
    run(out, sizeof out, "rm -rf %s", dir);
}
