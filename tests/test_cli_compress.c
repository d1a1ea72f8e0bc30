/*
 * test_cli_compress.c -- `pixelcnn compress` and `decompress` end to end:
 * a data set into an archive and back (.npy, a folder of PNGs), one PNG
 * into a file and back, --stage, --info; damaged, truncated and foreign
 * files refused with a message naming the file; a color chain's PNG and
 * its previews.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "cli_util.h"
#include "test.h"
#include "pixelcnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image_write.h>

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

/* A tiny color chain (L(x), then half(ab(x)) given L(x), of 3x8x8
 * images) saved at path; 0 on success. */
static int color_chain_file(const char *path)
{
    const pcnn_view L = {0, 0, PCNN_LAB_L}, ab = {1, 0, PCNN_LAB_AB};
    pcnn_model *m[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        pcnn_model_config c = pcnn_model_config_default();
        c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2;
        c.nr_resolutions = 2, c.dropout = 0;
        c.cond_nr_resnet = 1, c.cond_nr_filters = 6;
        if (pcnn_stage_config(&c, i ? &ab : &L, i ? &L : NULL, 3, 8, 8) ||
            pcnn_model_create(&m[i], &c, 9 + (uint64_t)i))
            return -1;
    }
    pcnn_chain *ch;
    if (pcnn_chain_create(&ch, m, 2))
        return -1;
    const int rc = pcnn_chain_save(path, ch) == PCNN_OK ? 0 : -1;
    pcnn_chain_free(ch);
    return rc;
}

/* A color chain codes a color PNG and gives back its pixels; --stage 0 is
 * the L8 plane as a gray PNG, --stage 1 a colorization; a plain model's
 * file is refused by the chain. */
TEST(cli_compress_color_chain)
{
    if (!have_cli())
        return;
    static char out[8192];
    char dir[] = "/tmp/pcnn_cz_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    char m[600], img[600], p[700];
    snprintf(m, sizeof m, "%s/c.safetensors", dir);
    snprintf(img, sizeof img, "%s/in.png", dir);
    REQUIRE(color_chain_file(m) == 0, "chain: %s", pcnn_last_error());
    uint8_t px[8 * 8 * 3];
    for (int i = 0; i < 8 * 8 * 3; i++)
        px[i] = (uint8_t)(40 + 70 * (i % 3) + 9 * (i / 24) + 5 * (i / 3 % 8) +
                          (i * 7919) % 13);
    REQUIRE(stbi_write_png(img, 8, 8, 3, px, 8 * 3), "png");
    CHECK(run(out, sizeof out,
              "%s compress --checkpoint %s %s -o %s/a.pcnn --threads 1 && "
              "%s decompress --checkpoint %s %s/a.pcnn -o %s/b.png && "
              "%s decompress --checkpoint %s %s/a.pcnn --stage 0 -o "
              "%s/l.png && %s decompress --checkpoint %s %s/a.pcnn --stage 1 "
              "-o %s/c.png",
              cli(), m, img, dir, cli(), m, dir, dir, cli(), m, dir, dir,
              cli(), m, dir, dir) == 0 &&
              strstr(out, "stage 2: 3x8x8"),
          "round trip: %s", out);
    pcnn_dataset d = {0};
    snprintf(p, sizeof p, "%s/b.png", dir);
    REQUIRE_OK(pcnn_image_load(p, 3, &d));
    CHECK(d.c == 3 && d.h == 8 && d.w == 8, "decoded PNG");
    uint8_t chw[3 * 64], lab[3 * 64];
    for (int i = 0; i < 64; i++)
        for (int c = 0; c < 3; c++)
            chw[c * 64 + i] = px[i * 3 + c];
    CHECK(!memcmp(d.images, chw, sizeof chw), "decoded pixels differ");
    pcnn_dataset_free(&d);
    REQUIRE_OK(pcnn_rgb_to_lab8(pcnn_img(chw, 1, 3, 8, 8), lab));
    snprintf(p, sizeof p, "%s/l.png", dir);
    REQUIRE_OK(pcnn_image_load(p, 1, &d));
    CHECK(d.c == 1 && !memcmp(d.images, lab, 64), "stage 0 is not L8");
    pcnn_dataset_free(&d);
    snprintf(p, sizeof p, "%s/c.png", dir);
    REQUIRE_OK(pcnn_image_load(p, 3, &d));
    CHECK(d.c == 3 && d.h == 8, "stage 1: %lldx%lld", (long long)d.c,
          (long long)d.h);
    pcnn_dataset_free(&d);
    char tiny[600];
    snprintf(tiny, sizeof tiny, "%s/t.safetensors", dir);
    REQUIRE(cli_tiny_model(tiny, 1) == 0, "model");
    CHECK(run(out, sizeof out,
              "%s decompress --checkpoint %s %s/a.pcnn -o %s/x.png", cli(),
              tiny, dir, dir) == 1 &&
              strstr(out, "another model"),
          "another model: %s", out);
    snprintf(out, sizeof out, "rm -rf %s", dir);
    CHECK(system(out) == 0, "cleanup");
}
