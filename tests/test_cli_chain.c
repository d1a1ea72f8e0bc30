/*
 * test_cli_chain.c -- `pixelcnn chain --below`: a chain trained at size S
 * becomes the lower stages of a chain at 2S. Its stages must give the
 * very same log-likelihoods on half(X) as the original chain on images
 * that are half(X), and what cannot be lifted gets a one-line error.
 */
#include "test.h"
#include "cli_util.h"
#include "pixelcnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An MNIST-format split of n images of side s in dir, and its labels. */
static int write_split(const char *dir, const char *name, const uint8_t *x,
                       int n, int s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    const unsigned char h[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n,
                                 0, 0, 0, (unsigned char)s, 0, 0, 0,
                                 (unsigned char)s};
    fwrite(h, 1, 16, f);
    fwrite(x, 1, (size_t)n * s * s, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, name);
    if (!(f = fopen(path, "wb")))
        return 1;
    const unsigned char hl[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)n};
    fwrite(hl, 1, 8, f);
    for (int i = 0; i < n; i++)
        fputc(i % 4, f);
    fclose(f);
    return 0;
}

/* 16x16 images in dir/d16 and their half views (2x2 means, rounded half
 * up, as pcnn_view_apply) in dir/d8. */
static int write_pair(const char *dir)
{
    static const char *names[2] = {"train", "t10k"};
    static uint8_t x[64 * 256], h[64 * 64];
    char d16[400], d8[400];
    snprintf(d16, sizeof d16, "%s/d16", dir);
    snprintf(d8, sizeof d8, "%s/d8", dir);
    char out[64];
    if (run(out, sizeof out, "mkdir -p %s %s", d16, d8))
        return 1;
    for (int s = 0; s < 2; s++) {
        const int n = s ? 16 : 64;
        for (int i = 0; i < n * 256; i++)
            x[i] = (uint8_t)((int)(pcnn_uniform(5 + s, (uint64_t)i) * 64) +
                             3 * (i % 64));
        for (int k = 0; k < n; k++)
            for (int r = 0; r < 8; r++)
                for (int c = 0; c < 8; c++) {
                    const uint8_t *p = x + k * 256 + 2 * r * 16 + 2 * c;
                    h[k * 64 + r * 8 + c] =
                        (uint8_t)((p[0] + p[1] + p[16] + p[17] + 2) / 4);
                }
        if (write_split(d16, names[s], x, n, 16) ||
            write_split(d8, names[s], h, n, 8))
            return 1;
    }
    return 0;
}

/* The k-th (0-based) "(F per dim of the stage)" figure in s, as text. */
static int stage_figure(const char *s, int k, char *buf, size_t n)
{
    const char *key = " per dim of the stage)";
    for (const char *p = s; (p = strstr(p, key)); p += strlen(key)) {
        if (k-- > 0)
            continue;
        const char *b = p;
        while (b > s && b[-1] != '(')
            b--;
        snprintf(buf, n, "%.*s", (int)(p - b), b);
        return 0;
    }
    return 1;
}

TEST(cli_chain_below_lifts_a_chain)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_below_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_pair(dir) == 0, "cannot write data");
    static char out[16384], low[16384];
    const char *tiny = "--nr-resnet 1 --nr-filters 8 --nr-mix 2 "
                       "--nr-resolutions 2 --batch 8 --dropout 0 "
                       "--threads 1 --steps 3 --chain pyramid --halvings 1";
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s/d8 --out %s/a0 %s --stage 0 && "
                 "%s train --data mnist:%s/d8 --out %s/a1 %s --stage 1 && "
                 "%s train --data mnist:%s/d16 --out %s/t %s --stage 1 && "
                 "%s chain --out %s/a.st %s/a0/checkpoint.safetensors "
                 "%s/a1/checkpoint.safetensors",
                 cli(), dir, dir, tiny, cli(), dir, dir, tiny, cli(), dir, dir,
                 tiny, cli(), dir, dir, dir);
    REQUIRE(rc == 0, "train and join the 8x8 chain: %s", out);
    rc = run(out, sizeof out,
             "%s chain --out %s/b.st --below %s/a.st "
             "%s/t/checkpoint.safetensors",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "stage 0: half(half(x)), 1x4x4") &&
              strstr(out, "stage 1: half(x) given half(half(x)), 1x8x8") &&
              strstr(out, "stage 2: x given half(x), 1x16x16"),
          "lifted chain: %s", out);
    /* the lifted stages score half(X) exactly as the chain scored it */
    rc = run(low, sizeof low,
             "%s eval --checkpoint %s/a.st --data mnist:%s/d8 --threads 1",
             cli(), dir, dir);
    CHECK(rc == 0, "eval the 8x8 chain: %s", low);
    rc = run(out, sizeof out,
             "%s eval --checkpoint %s/b.st --data mnist:%s/d16 --threads 1",
             cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "chain of 3 stages"), "eval lifted: %s",
          out);
    for (int k = 0; k < 3; k++) { /* stage 0, stage 1, stage 1 tightened */
        char a[64], b[64];
        CHECK(stage_figure(low, k, a, sizeof a) == 0 &&
                  stage_figure(out, k, b, sizeof b) == 0 && !strcmp(a, b),
              "figure %d: %s against %s", k, low, out);
    }
    /* what cannot be lifted: a file that is no chain or model, too many
     * stages, a missing stage above */
    rc = run(out, sizeof out,
             "%s chain --out %s/c.st --below %s/d8/t10k-images-idx3-ubyte "
             "%s/t/checkpoint.safetensors",
             cli(), dir, dir, dir);
    CHECK(rc == 1 && strstr(out, "--below ") && strstr(out, "t10k-images") &&
              !strchr(strchr(out, '\n') + 1, '\n'),
          "not a chain: %s", out);
    rc = run(out, sizeof out,
             "%s chain --out %s/c.st --below %s/a.st "
             "%s/a1/checkpoint.safetensors",
             cli(), dir, dir, dir);
    CHECK(rc == 1 && strstr(out, "pcnn_chain_create"),
          "a top stage of the wrong size: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}
