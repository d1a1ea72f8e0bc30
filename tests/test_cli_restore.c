/*
 * test_cli_restore.c -- `pixelcnn restore` and `pixelcnn purify` end to
 * end: a data set restored in each mode into .npy, a grid and a folder;
 * purify --eps 0 returns its input exactly (a data set, and a PNG into a
 * PNG); bad flags refused with one line.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "cli_util.h"
#include "test.h"
#include "pixelcnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(cli_restore_modes_and_purify_identity)
{
    if (!have_cli())
        return;
    static char out[8192];
    char dir[] = "/tmp/pcnn_rs_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "idx");
    char m[600];
    snprintf(m, sizeof m, "%s/m.safetensors", dir);
    REQUIRE(cli_tiny_model(m, 4) == 0, "model: %s", pcnn_last_error());
    const char *modes[4] = {"denoise --sigma 20", "deblur --sigma 2 --blur "
                            "box:3 --passes 2", "inpaint --mask-rect 2,2,6,6",
                            "denoise --sigma 20 --mean --weight 4"};
    for (int i = 0; i < 4; i++)
        CHECK(run(out, sizeof out,
                  "%s restore --checkpoint %s --mode %s --data mnist:%s "
                  "--count 3 --threads 1 -o %s/r%d.npy",
                  cli(), m, modes[i], dir, dir, i) == 0 &&
                  strstr(out, "restored 3 images"),
              "restore --mode %s: %s", modes[i], out);
    static unsigned char a[1024], b[1024];
    char p[700], q[700];
    snprintf(p, sizeof p, "%s/r0.npy", dir);
    REQUIRE(cli_slurp(p, a, sizeof a) == 128 + 3 * 64, "r0.npy size");
    /* purify --eps 0: the test images themselves, as .npy and PNGs */
    CHECK(run(out, sizeof out,
              "%s purify --checkpoint %s --eps 0 --data mnist:%s --count 3 "
              "-o %s/p.npy --threads 2 && %s purify --checkpoint %s --eps 0 "
              "--data mnist:%s --count 2 -o %s/pngs && %s purify "
              "--checkpoint %s --eps 0 %s/pngs/00001.png -o %s/one.png && "
              "cmp %s/one.png %s/pngs/00001.png && %s purify --checkpoint "
              "%s --eps 30 --data mnist:%s --count 2 -o %s/grid.png",
              cli(), m, dir, dir, cli(), m, dir, dir, cli(), m, dir, dir,
              dir, dir, cli(), m, dir, dir) == 0,
          "purify: %s", out);
    snprintf(p, sizeof p, "%s/p.npy", dir);
    snprintf(q, sizeof q, "%s/t10k-images-idx3-ubyte", dir);
    REQUIRE(cli_slurp(p, a, sizeof a) == 128 + 3 * 64 &&
                cli_slurp(q, b, sizeof b) > 16 + 3 * 64,
            "p.npy");
    CHECK(!memcmp(a + 128, b + 16, 3 * 64), "purify --eps 0 changed images");
    snprintf(p, sizeof p, "%s/grid.png", dir);
    CHECK(file_size(p) > 100, "no grid");
    /* bad usage: one line, exit 2 */
    const char *bad[] = {
        "restore --checkpoint M --mode inpaint x.png -o o.png",
        "restore --checkpoint M --mode denoise --sigma 3 --blur box:3 x.png "
        "-o o.png",
        "restore --checkpoint M --mode deblur --sigma 3 --blur box:4 x.png "
        "-o o.png",
        "restore --checkpoint M --mode inpaint --sigma 3 --mask-rect 0,0,2,2 "
        "x.png -o o.png",
        "restore --checkpoint M --mode denoise --sigma 0 x.png -o o.png",
        "restore --checkpoint M --mode denoise --sigma 3 -o o.png",
        "purify --checkpoint M --eps 2 x.png --data mnist:D -o o.png",
        "purify --checkpoint M x.png -o o.png",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const int rc = run(out, sizeof out, "%s %s", cli(), bad[i]);
        CHECK(rc == 2 && cli_lines(out) == 1, "%s: exit %d, %s", bad[i], rc,
              out);
    }
    CHECK(run(out, sizeof out,
              "%s restore --checkpoint %s --mode inpaint --mask-rect 2,2,9,6 "
              "--data mnist:%s -o %s/x.npy",
              cli(), m, dir, dir) == 2 &&
              strstr(out, "--mask-rect") && cli_lines(out) == 1,
          "a box outside the image: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}
