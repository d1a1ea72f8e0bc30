/*
 * test_cli.c -- the pixelcnn tool end to end: --help everywhere, bad flags,
 * a tiny training run with resume, eval and info, and kill -9 at many
 * moments of a run never leaving a damaged checkpoint. The binary is
 * $PCNN_CLI, or build/pixelcnn.
 */
#include "test.h"
#include "cli_util.h"
#include "pixelcnn.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TEST(cli_help_and_bad_flags)
{
    if (!have_cli())
        return;
    static char out[8192];
    const char *cmds[] = {"train",    "eval",     "info",    "bench",
                          "sample",   "complete", "chain",   "upscale",
                          "colorize", "export"};
    for (size_t i = 0; i < 10; i++) {
        CHECK(run(out, sizeof out, "%s %s --help", cli(), cmds[i]) == 0 &&
                  strstr(out, "usage: pixelcnn") != NULL,
              "%s --help", cmds[i]);
        CHECK(run(out, sizeof out, "%s %s --no-such-flag", cli(), cmds[i]) ==
                      2 &&
                  strstr(out, "--no-such-flag") != NULL,
              "%s with a bad flag: %s", cmds[i], out);
    }
    CHECK(run(out, sizeof out, "%s --help", cli()) == 0, "pixelcnn --help");
    CHECK(run(out, sizeof out, "%s frobnicate", cli()) == 2 &&
              strstr(out, "frobnicate"),
          "unknown command");
    CHECK(run(out, sizeof out, "%s train --batch 0", cli()) == 2 &&
              strstr(out, "--batch"),
          "--batch 0: %s", out);
    CHECK(run(out, sizeof out, "%s info --checkpoint /nonexistent/x", cli()) ==
                  1 &&
              strstr(out, "/nonexistent/x"),
          "info on a missing file: %s", out);
    CHECK(run(out, sizeof out, "%s train --data cifar10:/nonexistent",
              cli()) == 1 &&
              strstr(out, "/nonexistent"),
          "train on a missing folder: %s", out);
}

TEST(cli_train_resume_eval_info)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/a " TINY
                 " --steps 12 --log-every 4 --save-every 5",
                 cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "test bits/dim:"), "train: %s", out);
    rc = run(out, sizeof out,
             "%s train --data mnist:%s --out %s/b " TINY
             " --steps 6 --save-every 100 --no-test && "
             "%s train --data mnist:%s --out %s/b --resume --threads 1 "
             "--steps 12 --save-every 100 --no-test",
             cli(), dir, dir, cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "resuming"), "train + resume: %s", out);
    /* the resumed run equals the straight one, bit for bit */
    static char a[4096], b[4096];
    run(a, sizeof a, "%s eval --checkpoint %s/a/checkpoint.safetensors "
                     "--data mnist:%s --weights raw --threads 1",
        cli(), dir, dir);
    run(b, sizeof b, "%s eval --checkpoint %s/b/checkpoint.safetensors "
                     "--data mnist:%s --weights raw --threads 1",
        cli(), dir, dir);
    CHECK(strstr(a, "bits/dim:") && !strcmp(a, b),
          "straight vs resumed:\n%s\n%s", a, b);
    rc = run(out, sizeof out, "%s info --checkpoint %s/a/checkpoint.safetensors",
             cli(), dir);
    CHECK(rc == 0 && strstr(out, "step 12"), "info: %s", out);
    struct stat st;
    char path[600];
    snprintf(path, sizeof path, "%s/a/loss.png", dir);
    CHECK(stat(path, &st) == 0 && st.st_size > 1000, "no loss.png");
    snprintf(path, sizeof path, "%s/a/metrics.jsonl", dir);
    FILE *f = fopen(path, "r");
    int lines = 0;
    for (int ch; f && (ch = fgetc(f)) != EOF;)
        lines += ch == '\n';
    if (f)
        fclose(f);
    CHECK(lines == 4, "metrics.jsonl has %d lines, want 3 steps + 1 test",
          lines);
    run(out, sizeof out, "rm -rf %s", dir);
}

TEST(cli_sample_and_complete)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/a " TINY
                 " --steps 4 --no-test",
                 cli(), dir, dir);
    REQUIRE(rc == 0, "train: %s", out);
    rc = run(out, sizeof out,
             "%s sample --checkpoint %s/a/checkpoint.safetensors -n 5 "
             "--cols 3 -o %s/s.png --npy %s/s.npy --seed 9 --threads 2",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "sampled 5 images of 1x8x8"), "sample: %s",
          out);
    char path[600];
    snprintf(path, sizeof path, "%s/s.png", dir);
    CHECK(file_size(path) > 100, "no samples.png");
    /* .npy: a 128-byte header (magic, version, length, dict) then 5*64
     * bytes */
    snprintf(path, sizeof path, "%s/s.npy", dir);
    CHECK(file_size(path) == 128 + 5 * 64, "npy size %ld", file_size(path));
    FILE *f = fopen(path, "rb");
    char hdr[129] = {0};
    if (f) {
        CHECK(fread(hdr, 1, 128, f) == 128, "read npy");
        fclose(f);
    }
    CHECK(hdr[8] == 118 && hdr[9] == 0 && hdr[127] == '\n',
          "npy header length");
    CHECK(!memcmp(hdr, "\x93NUMPY", 6) && strstr(hdr + 10, "(5, 1, 8, 8)"),
          "npy header: %s", hdr + 10);
    /* the naive sampler gives the same images */
    rc = run(out, sizeof out,
             "%s sample --checkpoint %s/a/checkpoint.safetensors -n 5 "
             "-o %s/n.npy --seed 9 --naive --threads 1 && cmp %s/s.npy %s/n.npy",
             cli(), dir, dir, dir, dir);
    CHECK(rc == 0, "naive vs cached: %s", out);
    /* completion: the known top half is the data's */
    rc = run(out, sizeof out,
             "%s complete --checkpoint %s/a/checkpoint.safetensors "
             "--data mnist:%s --index 2 --count 2 -n 3 -o %s/c.npy",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "completed 2 images x 3"), "complete: %s",
          out);
    snprintf(path, sizeof path, "%s/c.npy", dir);
    f = fopen(path, "rb");
    unsigned char got[6 * 64], want[2 * 64];
    int ok = f && fseek(f, 128, SEEK_SET) == 0 &&
             fread(got, 1, sizeof got, f) == sizeof got;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    f = fopen(path, "rb");
    ok = ok && f && fseek(f, 16 + 2 * 64, SEEK_SET) == 0 &&
         fread(want, 1, sizeof want, f) == sizeof want;
    if (f)
        fclose(f);
    CHECK(ok, "cannot read the completions");
    for (int k = 0; ok && k < 6; k++)
        CHECK(!memcmp(got + k * 64, want + (k / 3) * 64, 32),
              "completion %d changed a known pixel", k);
    rc = run(out, sizeof out,
             "%s complete --checkpoint %s/a/checkpoint.safetensors "
             "--data mnist:%s --known outside:2,2,6,6 -o %s/c.png",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "note: "), "late known pixels: %s", out);
    /* errors */
    CHECK(run(out, sizeof out,
              "%s complete --checkpoint %s/a/checkpoint.safetensors "
              "--data mnist:%s --known box:1,2,3",
              cli(), dir, dir) == 2 &&
              strstr(out, "--known box:1,2,3"),
          "bad box: %s", out);
    CHECK(run(out, sizeof out,
              "%s complete --checkpoint %s/a/checkpoint.safetensors "
              "--data mnist:%s --index 99",
              cli(), dir, dir) == 2 &&
              strstr(out, "--index 99"),
          "index out of range: %s", out);
    CHECK(run(out, sizeof out, "%s sample --checkpoint %s/nothing", cli(),
              dir) == 1 &&
              strstr(out, "nothing"),
          "missing checkpoint: %s", out);
    CHECK(run(out, sizeof out,
              "%s sample --checkpoint %s/a/checkpoint.safetensors "
              "--log-scale-offset nan",
              cli(), dir) == 2 &&
              strstr(out, "--log-scale-offset"),
          "NaN offset: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}

TEST(cli_gray_chain)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/g0 " TINY
                 " --steps 3 --chain gray --stage 0 && "
                 "%s train --data mnist:%s --out %s/g1 " TINY
                 " --steps 3 --chain gray --stage 1 --cond-nr-resnet 1 "
                 "--cond-nr-filters 4",
                 cli(), dir, dir, cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "models gray4(x) (categorical head, 16") &&
              strstr(out, "models x given gray4(x)"),
          "train the stages: %s", out);
    /* each stage alone: its term per dim of the stage and of the image */
    rc = run(out, sizeof out,
             "%s eval --checkpoint %s/g0/checkpoint.safetensors --data "
             "mnist:%s",
             cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "-log2 p(gray4(x))"), "eval stage 0: %s",
          out);
    rc = run(out, sizeof out,
             "%s chain --out %s/chain.safetensors "
             "%s/g0/checkpoint.safetensors %s/g1/checkpoint.safetensors",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "stage 1: x given gray4(x)"), "chain: %s",
          out);
    rc = run(out, sizeof out,
             "%s chain --out %s/bad.safetensors "
             "%s/g1/checkpoint.safetensors %s/g0/checkpoint.safetensors",
             cli(), dir, dir, dir);
    CHECK(rc == 1 && strstr(out, "pcnn_chain_create: "),
          "stages in the wrong order: %s", out);
    rc = run(out, sizeof out,
             "%s eval --checkpoint %s/chain.safetensors --data mnist:%s",
             cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "stage 0: -log2 p(gray4(x))") &&
              strstr(out, "stage 1: -log2 p(x | gray4(x))") &&
              strstr(out, "upper bound"),
          "eval chain: %s", out);
    rc = run(out, sizeof out,
             "%s sample --checkpoint %s/chain.safetensors -n 3 -o %s/s.png "
             "--npy %s/s.npy",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "through 2 stages"), "sample chain: %s",
          out);
    char path[600];
    snprintf(path, sizeof path, "%s/s.npy", dir);
    CHECK(file_size(path) == 128 + 3 * 64, "chain npy: %ld",
          file_size(path));
    /* colors given the gray view of each image: the view is kept */
    rc = run(out, sizeof out,
             "%s upscale --checkpoint %s/chain.safetensors --data mnist:%s "
             "--count 2 -n 3 -o %s/u.npy",
             cli(), dir, dir, dir);
    CHECK(rc == 0 && strstr(out, "sampled stages 1..1 for 2 images x 3"),
          "upscale: %s", out);
    snprintf(path, sizeof path, "%s/u.npy", dir);
    CHECK(file_size(path) == 128 + 6 * 64, "upscale npy: %ld",
          file_size(path));
    CHECK(run(out, sizeof out,
              "%s upscale --checkpoint %s/chain.safetensors --data mnist:%s "
              "--from 2",
              cli(), dir, dir) == 2 &&
              strstr(out, "--from 2"),
          "upscale from a missing stage: %s", out);
    rc = run(out, sizeof out, "%s info --checkpoint %s/chain.safetensors",
             cli(), dir);
    CHECK(rc == 0 && strstr(out, "2 stages") && strstr(out, "categorical"),
          "info chain: %s", out);
    CHECK(run(out, sizeof out, "%s train --view half,gray4,half", cli()) ==
                  2 &&
              strstr(out, "--view half,gray4,half"),
          "bad view: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* kill -9 at many moments of a run that saves every step: the checkpoint
 * is always absent (killed before the first save) or whole. */
TEST(cli_kill9_never_damages_checkpoint)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_kill_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    char ckpt[700], outdir[600];
    snprintf(outdir, sizeof outdir, "%s/run", dir);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", outdir);
    int whole = 0, damaged = 0;
    for (int k = 0; k < 8; k++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork");
        if (pid == 0) {
            char data[600];
            snprintf(data, sizeof data, "mnist:%s", dir);
            if (!freopen("/dev/null", "w", stderr))
                _exit(126);
            execl(cli(), cli(), "train", "--data", data, "--out", outdir,
                  "--nr-resnet", "1", "--nr-filters", "8", "--nr-mix", "2",
                  "--nr-resolutions", "2", "--batch", "8", "--threads", "1",
                  "--save-every", "1", "--log-every", "1", "--resume",
                  "--no-test", (char *)NULL);
            _exit(127);
        }
        struct timespec d = {0, 50000000L + 37000000L * k};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        pcnn_model *m;
        struct stat st;
        if (stat(ckpt, &st) != 0)
            continue;
        if (pcnn_checkpoint_load_model(ckpt, 0, &m) == PCNN_OK) {
            whole++;
            pcnn_model_free(m);
        } else {
            damaged++;
            test_fail(__FILE__, __LINE__, "after kill %d: %s", k,
                      pcnn_last_error());
        }
    }
    CHECK(damaged == 0, "%d damaged checkpoints", damaged);
    CHECK(whole > 0, "no kill landed after a save: the test saw nothing");
    /* each resume dropped the log lines past its checkpoint: the steps of
     * metrics.jsonl only go up */
    char log[700];
    snprintf(log, sizeof log, "%s/metrics.jsonl", outdir);
    FILE *f = fopen(log, "r");
    long prev = 0, lines = 0, backwards = 0;
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        long s;
        if (sscanf(line, "{\"step\": %ld", &s) == 1) {
            backwards += s <= prev;
            prev = s, lines++;
        }
    }
    if (f)
        fclose(f);
    CHECK(lines > 0 && backwards == 0,
          "metrics.jsonl: %ld lines, %ld steps out of order", lines,
          backwards);
    char out[256];
    run(out, sizeof out, "rm -rf %s", dir);
}

/* A P6 PPM of w x h pixels with smooth colors (seed s). */
static int write_ppm(const char *path, int w, int h, int s)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            unsigned char p[3] = {(unsigned char)(20 * s + 9 * i),
                                  (unsigned char)(200 - 7 * j + s),
                                  (unsigned char)(60 + 5 * (i + j) * s)};
            fwrite(p, 1, 3, f);
        }
    return fclose(f);
}

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
    char path[600];
    snprintf(path, sizeof path, "%s/img", dir);
    REQUIRE(mkdir(path, 0777) == 0, "mkdir");
    for (int k = 0; k < 12; k++) {
        snprintf(path, sizeof path, "%s/img/%02d.ppm", dir, k);
        REQUIRE(write_ppm(path, 16, 16, k) == 0, "write %s", path);
    }
    snprintf(path, sizeof path, "%s/big.ppm", dir);
    REQUIRE(write_ppm(path, 20, 14, 3) == 0, "write %s", path);
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
}
