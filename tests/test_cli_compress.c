/*
 * test_cli_compress.c -- `pixelcnn compress` and `decompress` end to end:
 * a data set into an archive and back (.npy, a folder of PNGs), one PNG
 * into a file and back, --stage, --info; damaged, truncated and foreign
 * files refused with a message naming the file.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "cli_util.h"
#include "test.h"
#include "pixelcnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(cli_compress_round_trips)
{
    if (!have_cli())
        return;
    static char out[8192];
    char dir[] = "/tmp/pcnn_cz_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "idx");
    char m[600];
    snprintf(m, sizeof m, "%s/m.safetensors", dir);
    REQUIRE(cli_tiny_model(m, 1) == 0, "model: %s", pcnn_last_error());
    CHECK(run(out, sizeof out,
              "%s compress --checkpoint %s --data mnist:%s --limit 5 "
              "--batch 2 --threads 1 -o %s/a.pcnn",
              cli(), m, dir, dir) == 0 &&
              strstr(out, "5 images"),
          "compress: %s", out);
    CHECK(run(out, sizeof out,
              "%s decompress --checkpoint %s %s/a.pcnn --threads 2 -o "
              "%s/a.npy",
              cli(), m, dir, dir) == 0,
          "decompress: %s", out);
    /* the .npy's data are the test split's first 5 images */
    static unsigned char npy[1024], idx[1024];
    char p[700];
    snprintf(p, sizeof p, "%s/a.npy", dir);
    const long nn = cli_slurp(p, npy, sizeof npy);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    REQUIRE(nn == 128 + 5 * 64 && cli_slurp(p, idx, sizeof idx) > 16 + 5 * 64,
            "sizes %ld", nn);
    CHECK(!memcmp(npy + 128, idx + 16, 5 * 64), "decoded images differ");
    /* a folder of PNGs; the first, coded alone, gives a 1-image file */
    CHECK(run(out, sizeof out,
              "%s decompress --checkpoint %s %s/a.pcnn -o %s/pngs && "
              "%s compress --checkpoint %s %s/pngs/00000.png -o %s/one.pcnn "
              "&& %s compress --checkpoint %s --data mnist:%s --limit 1 "
              "-o %s/one_b.pcnn && cmp %s/one.pcnn %s/one_b.pcnn",
              cli(), m, dir, dir, cli(), m, dir, dir, cli(), m, dir, dir,
              dir, dir) == 0,
          "one PNG: %s", out);
    CHECK(run(out, sizeof out,
              "%s decompress --checkpoint %s %s/one.pcnn -o %s/one.png && "
              "cmp %s/one.png %s/pngs/00000.png",
              cli(), m, dir, dir, dir, dir) == 0,
          "one PNG back: %s", out);
    CHECK(run(out, sizeof out, "%s decompress --info %s/a.pcnn", cli(),
              dir) == 0 &&
              strstr(out, "5 images of 1x8x8 in groups of 2"),
          "--info: %s", out);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    CHECK(system(p) == 0, "cleanup");
}

TEST(cli_compress_refuses_bad_files)
{
    if (!have_cli())
        return;
    static char out[8192];
    char dir[] = "/tmp/pcnn_cz_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "idx");
    char m[600], m2[600];
    snprintf(m, sizeof m, "%s/m.safetensors", dir);
    snprintf(m2, sizeof m2, "%s/m2.safetensors", dir);
    REQUIRE(cli_tiny_model(m, 1) == 0 && cli_tiny_model(m2, 2) == 0, "models");
    REQUIRE(run(out, sizeof out,
                "%s compress --checkpoint %s --data mnist:%s --limit 3 -o "
                "%s/a.pcnn && head -c 60 %s/a.pcnn > %s/t.pcnn && cp "
                "%s/a.pcnn %s/d.pcnn && printf '\\377' | dd of=%s/d.pcnn "
                "bs=1 seek=70 conv=notrunc 2>/dev/null",
                cli(), m, dir, dir, dir, dir, dir, dir, dir) == 0,
            "setup: %s", out);
    const char *bad[3] = {"t.pcnn", "d.pcnn", "a.pcnn"};
    const char *want[3] = {"truncated", "damaged", "another model"};
    for (int i = 0; i < 3; i++) {
        CHECK(run(out, sizeof out,
                  "%s decompress --checkpoint %s %s/%s -o %s/x.npy", cli(),
                  i == 2 ? m2 : m, dir, bad[i], dir) == 1 &&
                  strstr(out, bad[i]) && strstr(out, want[i]) &&
                  !strchr(strchr(out, '\n') + 1, '\n'),
              "%s: %s", bad[i], out);
        snprintf(out, sizeof out, "%s/x.npy", dir);
        CHECK(file_size(out) < 0, "%s: an output was written", bad[i]);
    }
    CHECK(run(out, sizeof out,
              "%s decompress --checkpoint %s %s/a.pcnn --stage 1 -o %s/x.npy",
              cli(), m, dir, dir) == 2 &&
              strstr(out, "--stage 1"),
          "--stage 1 of 1: %s", out);
    CHECK(run(out, sizeof out,
              "%s decompress --checkpoint %s %s/a.pcnn -o %s/x.png", cli(), m,
              dir, dir) == 2 &&
              strstr(out, "3 images"),
          "3 images into one PNG: %s", out);
    CHECK(run(out, sizeof out, "%s compress --checkpoint %s -o %s/y.pcnn",
              cli(), m, dir) == 2,
          "no input: %s", out);
    snprintf(out, sizeof out, "rm -rf %s", dir);
    CHECK(system(out) == 0, "cleanup");
}
