/*
 * test_cli_color.c -- `pixelcnn colorize` end to end: a tiny colorizer
 * trained on a folder of color images colorizes files of other sizes,
 * with metrics and from its export; wrong uses and images too small fail
 * before any work with a message naming the file or flag. The binary is
 * $PCNN_CLI, or build/pixelcnn.
 */
#include "test.h"
#include "cli_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* PNG width and height from its header, or -1. */
static void png_size(const char *path, long *w, long *h)
{
    unsigned char b[24] = {0};
    FILE *f = fopen(path, "rb");
    *w = *h = -1;
    if (!f)
        return;
    if (fread(b, 1, 24, f) == 24) {
        *w = (long)b[16] << 24 | (long)b[17] << 16 | (long)b[18] << 8 | b[19];
        *h = (long)b[20] << 24 | (long)b[21] << 16 | (long)b[22] << 8 | b[23];
    }
    fclose(f);
}

/* A colorizer: trained on a folder of color images (chroma at half size
 * given L), then colorizing a file of another size, with metrics on the
 * folder; wrong uses fail with a message. */
TEST(cli_colorize)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(cli_color_folder(dir) == 0, "cannot write %s/img", dir);
    char path[600];
    snprintf(path, sizeof path, "%s/big.ppm", dir);
    REQUIRE(cli_write_ppm(path, 20, 14, 3) == 0, "write %s", path);
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data folder:%s/img --size 16 --out %s/c " TINY
                 " --steps 2 --view ab,half --cond-view L --cond-nr-resnet 2 "
                 "--cond-nr-filters 4 --cond-dilate --no-test",
                 cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "models half(ab(x)) given L(x)"),
          "train a colorizer: %s", out);
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors "
             "%s/big.ppm -n 3 --scale 1 -o %s/g.png",
             cli(), dir, dir, dir);
    long w, h;
    snprintf(path, sizeof path, "%s/g.png", dir);
    png_size(path, &w, &h);
    CHECK(rc == 0 && w == 5 * 20 + 6 * 2 && h == 14 + 2 * 2, /* gaps of 2 */
          "colorize a 20x14 file: %ldx%ld: %s", w, h, out);
    /* files: a row each, all of one size */
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors "
             "%s/big.ppm %s/big.ppm -n 3 --scale 1 -o %s/two.png",
             cli(), dir, dir, dir, dir);
    snprintf(path, sizeof path, "%s/two.png", dir);
    png_size(path, &w, &h);
    CHECK(rc == 0 && w == 5 * 20 + 6 * 2 && h == 2 * 14 + 3 * 2,
          "colorize two files: %ldx%ld: %s", w, h, out);
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors "
             "%s/big.ppm %s/img/00.ppm -o %s/sizes.png",
             cli(), dir, dir, dir, dir);
    CHECK(rc == 2 && strstr(out, "00.ppm is 16x16") &&
              strstr(out, "big.ppm is 20x14") &&
              strstr(out, "one size per run"),
          "files of two sizes: %s", out);
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors --data "
             "folder:%s/img --count 1 -n 2 --metrics -o %s/m.png",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "best of 2") && strstr(out, "mean chroma") &&
              strstr(out, "colorfulness"),
          "metrics: %s", out);
    /* the exported model colorizes the same way, from a smaller file */
    rc = run(out, sizeof out,
             "%s export --checkpoint %s/c/checkpoint.safetensors --out "
             "%s/c.safetensors && %s colorize --checkpoint %s/c.safetensors "
             "%s/big.ppm -n 3 --scale 1 -o %s/g2.png && cmp %s/g.png "
             "%s/g2.png",
             cli(), dir, dir, cli(), dir, dir, dir, dir, dir);
    char p1[600];
    snprintf(p1, sizeof p1, "%s/c/checkpoint.safetensors", dir);
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    CHECK(rc == 0 && file_size(path) > 0 && file_size(path) < file_size(p1) / 2,
          "export: %ld of %ld bytes: %s", file_size(path), file_size(p1), out);
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors %s/big.ppm "
             "--metrics",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "--metrics needs --data"),
          "metrics without data: %s", out);
    rc = run(out, sizeof out,
             "%s train --data folder:%s/img --size 16 --out %s/p " TINY
             " --steps 1 --no-test && %s colorize --checkpoint "
             "%s/p/checkpoint.safetensors %s/big.ppm",
             cli(), dir, dir, cli(), dir, dir);
    CHECK(rc == 1 && strstr(out, "not the chroma"),
          "a plain model as a colorizer: %s", out);
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors "
             "%s/none.png",
             cli(), dir, dir);
    CHECK(rc == 1 && strstr(out, "none.png"), "a missing file: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* Small images: train refuses a model whose smallest scale would be under
 * 2x2, naming the flags; colorize refuses an image smaller than the
 * model's chroma, and a grid too large, before it computes. */
TEST(cli_small_images_and_early_colorize_checks)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(cli_color_folder(dir) == 0, "cannot write %s/img", dir);
    char path[600];
    snprintf(path, sizeof path, "%s/tiny.ppm", dir);
    REQUIRE(cli_write_ppm(path, 6, 6, 1) == 0, "write %s", path);
    snprintf(path, sizeof path, "%s/mid.ppm", dir);
    REQUIRE(cli_write_ppm(path, 12, 12, 1) == 0, "write %s", path);
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data folder:%s/img --size 4 --out %s/t " TINY
                 " --nr-resolutions 3 --steps 1",
                 cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "--nr-resolutions 3") &&
              strstr(out, "4x4"),
          "4x4 images, 3 resolutions: %s", out);
    rc = run(out, sizeof out,
             "%s train --data folder:%s/img --size 8 --out %s/t " TINY
             " --chain pyramid --stage 0 --steps 1",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "2x2") && strstr(out, "half(half(x))"),
          "a pyramid base of 2x2: %s", out);
    rc = run(out, sizeof out,
             "%s train --data folder:%s/img --size 16 --out %s/c " TINY
             " --steps 1 --view ab,half --cond-view L --cond-nr-resnet 1 "
             "--cond-nr-filters 4 --no-test",
             cli(), dir, dir);
    REQUIRE(rc == 0, "train a colorizer: %s", out);
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors "
             "%s/tiny.ppm -n 2 -o %s/g.png",
             cli(), dir, dir, dir);
    CHECK(rc == 2 && strstr(out, "tiny.ppm is 6x6") && strstr(out, "8x8"),
          "an image under the chroma size: %s", out);
    rc = run(out, sizeof out,
             "%s colorize --checkpoint %s/c/checkpoint.safetensors "
             "%s/mid.ppm -n 256 --scale 32 -o %s/g.png",
             cli(), dir, dir, dir);
    CHECK(rc == 2 && strstr(out, "the grid would be"),
          "colorize grid too large: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}
