/*
 * test_cli_files.c -- the tool on bad files and flags that do not fit the
 * file: each gets one line on stderr naming the file or flag, and a
 * non-zero exit (1 for a bad file, 2 for a flag); nothing blocks, nothing
 * is silently swapped (a checkpoint never read as a chain, raw weights
 * never reported for --weights ema).
 */
#include "test.h"
#include "cli_util.h"
#include "ckpt_edit.h"
#include "pixelcnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(cli_bad_files_one_line_errors)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    REQUIRE(ckpt_make_files(dir), "cannot write checkpoints");
    char full[600], weights[600], chain[600], fifo[600], bad[32][600];
    snprintf(full, sizeof full, "%s/full.safetensors", dir);
    snprintf(weights, sizeof weights, "%s/weights.safetensors", dir);
    snprintf(chain, sizeof chain, "%s/chain.safetensors", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    REQUIRE(mkfifo(fifo, 0600) == 0, "mkfifo");
    /* a data folder whose test images are a FIFO */
    char fdata[600], path[700];
    snprintf(fdata, sizeof fdata, "%s/fdata", dir);
    REQUIRE(mkdir(fdata, 0700) == 0, "mkdir");
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", fdata);
    REQUIRE(mkfifo(path, 0600) == 0, "mkfifo");
    const ckpt_edit edits[] = {
        {.key = "beta2", .value = "0.9x"},
        {.key = "lr", .value = "5"},
        {.key = "nr_filters", .value = "1024"},
        {.key = "format"},
    };
    for (int i = 0; i < 4; i++) {
        snprintf(bad[i], sizeof bad[i], "%s/bad%d.safetensors", dir, i);
        REQUIRE(ckpt_rewrite(full, bad[i], &edits[i]), "rewrite %d", i);
    }
    static char out[16384];
    char want[1400];
    const struct {
        const char *args, *file; /* args: format with %s = file */
        int rc;
        const char *says;
    } cases[] = {
        {"info --checkpoint %s", dir, 1, "not a regular file"},
        {"info --checkpoint %s", fifo, 1, "not a regular file"},
        {"sample --checkpoint %s -n 1 -o /dev/null", fifo, 1,
         "not a regular file"},
        {"complete --checkpoint %s --image /dev/null", fifo, 1,
         "not a regular file"},
        {"eval --checkpoint %s --data mnist:%s", NULL, 1,
         "t10k-images-idx3-ubyte: not a regular file"},
        {"complete --checkpoint %s --image %s", NULL, 1,
         "not a regular file"},
        /* one unparsable training key: an error naming it, not a chain */
        {"eval --checkpoint %s --data mnist:%s --threads 1", bad[0], 1,
         "metadata \"beta2\" = \"0.9x\" is not a number"},
        {"info --checkpoint %s", bad[0], 1, "\"beta2\""},
        {"sample --checkpoint %s -n 1 -o /dev/null", bad[0], 1,
         "\"beta2\""},
        {"info --checkpoint %s", bad[2], 1, "init.u.v"},
        {"info --checkpoint %s", bad[3], 1, "not a pixelcnn checkpoint"},
        /* --weights that the file cannot honor */
        {"eval --checkpoint %s --weights ema --data mnist:%s", weights, 2,
         "holds no EMA weights"},
        {"export --checkpoint %s --weights ema --out /dev/null", weights, 2,
         "holds no EMA weights"},
        {"eval --checkpoint %s --weights ema --data mnist:%s", chain, 2,
         "is a chain file"},
        {"eval --checkpoint %s --weights raw --data mnist:%s", chain, 2,
         "is a chain file"},
        {"sample --checkpoint %s --weights ema -n 1 -o /dev/null", chain,
         2, "is a chain file"},
        {"complete --checkpoint %s --weights raw --data mnist:%s", chain,
         2, "is a chain file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *file = cases[i].file ? cases[i].file : full;
        char args[1400];
        if (i == 4)
            snprintf(args, sizeof args, cases[i].args, full, fdata);
        else if (i == 5)
            snprintf(args, sizeof args, cases[i].args, full, fifo);
        else
            snprintf(args, sizeof args, cases[i].args, file, dir);
        /* timeout: a reader that waits on a FIFO fails, not hangs */
        int rc = run(out, sizeof out, "timeout 30 %s %s", cli(), args);
        CHECK(rc == cases[i].rc && strstr(out, cases[i].says) &&
                  cli_lines(out) == 1 && strstr(out, "pixelcnn "),
              "%s: exit %d (want %d), output:\n%s", args, rc, cases[i].rc,
              out);
        if (i >= 6 && i <= 10)
            CHECK(strstr(out, file) != NULL, "%s: no file named: %s", args,
                  out);
    }
    /* a nested message comes out whole, once */
    int rc = run(out, sizeof out, "%s info --checkpoint %s", cli(), bad[1]);
    snprintf(want, sizeof want,
             "pixelcnn info: %s: training: lr 5 not in (0, 1)\n", bad[1]);
    CHECK(rc == 1 && !strcmp(out, want), "got \"%s\", want \"%s\"", out,
          want);
    /* the good files still work, with the weights they hold */
    rc = run(out, sizeof out, "%s eval --checkpoint %s --data mnist:%s "
                              "--threads 1",
             cli(), full, dir);
    CHECK(rc == 0 && strstr(out, "EMA weights"), "eval: %s", out);
    rc = run(out, sizeof out, "%s eval --checkpoint %s --data mnist:%s "
                              "--threads 1 --weights raw",
             cli(), weights, dir);
    CHECK(rc == 0 && strstr(out, "bits/dim"), "eval raw: %s", out);
    rc = run(out, sizeof out, "%s eval --checkpoint %s --data mnist:%s "
                              "--threads 1",
             cli(), chain, dir);
    CHECK(rc == 0 && strstr(out, "chain of 1 stages"), "eval chain: %s",
          out);
    /* the chain is the model: a chain file of one plain model completes
     * images like its checkpoint */
    rc = run(out, sizeof out, "%s complete --checkpoint %s --data mnist:%s "
                              "--threads 1 --count 1 -n 2 -o %s/c.npy",
             cli(), chain, dir, dir);
    CHECK(rc == 0 && strstr(out, "completed 1 images x 2"),
          "complete from a chain file: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}
