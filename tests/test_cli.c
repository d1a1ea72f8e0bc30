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

/* The commands `pixelcnn --help` lists (its "commands:" section, one per
 * line "  NAME  summary"; "version" left out) into cmds[max]; the count.
 * Reading them from the tool keeps these tests covering new commands. */
static int list_commands(char names[][32], int max)
{
    static char help[8192];
    if (run(help, sizeof help, "%s --help", cli()) != 0)
        return 0;
    const char *p = strstr(help, "commands:\n");
    int n = 0;
    for (p = p ? strchr(p, '\n') : NULL; p && n < max; p = strchr(p + 1, '\n'))
        if (sscanf(p, "\n  %31[a-z]", names[n]) == 1 &&
            strcmp(names[n], "version"))
            n++;
    return n;
}

TEST(cli_help_and_bad_flags)
{
    if (!have_cli())
        return;
    static char out[8192];
    char cmds[32][32];
    const int ncmds = list_commands(cmds, 32);
    CHECK(ncmds >= 14, "pixelcnn --help lists %d commands", ncmds);
    for (int i = 0; i < ncmds; i++) {
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

/* Every flag a command's --help lists (generated from its flag table) is
 * one its parser takes: followed by two unknown flags, each is parsed
 * (with those as its value, or alone) and the error is about them. */
TEST(cli_help_flags_are_accepted)
{
    if (!have_cli())
        return;
    static char help[16384], out[4096];
    char cmds[32][32];
    const int ncmds = list_commands(cmds, 32);
    REQUIRE(ncmds >= 14, "pixelcnn --help lists %d commands", ncmds);
    for (int i = 0; i < ncmds; i++) {
        REQUIRE(run(help, sizeof help, "%s %s --help", cli(), cmds[i]) == 0,
                "%s --help", cmds[i]);
        int nflags = 0;
        for (const char *p = help; (p = strstr(p, "\n  -")); p++) {
            char flag[64];
            if (sscanf(p + 3, "%63[^ ,\n]", flag) != 1)
                continue;
            nflags++;
            int rc = run(out, sizeof out, "%s %s %s --zz --zz2", cli(),
                         cmds[i], flag);
            char unknown[96];
            snprintf(unknown, sizeof unknown, "unknown flag %s ", flag);
            CHECK(rc == 2 && !strstr(out, unknown) && strstr(out, "--zz"),
                  "%s %s: rc %d: %s", cmds[i], flag, rc, out);
        }
        CHECK(nflags >= 1, "%s --help lists no flags", cmds[i]);
    }
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
}

/* ------------------------------------------------- robustness (issue 13) */

/* The whole file into buf (at most n-1 bytes, zero-ended); its length. */
static size_t slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = 0;
    if (f)
        fclose(f);
    return k;
}

/* Starts a tiny `pixelcnn train` on the data in dir into out in the
 * background (stderr to errpath), and waits for its first metrics line:
 * training has begun. The pid, or -1 (the child is reaped). */
static pid_t start_trainer(const char *dir, const char *out,
                           const char *errpath)
{
    char metrics[700];
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", out);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char data[600];
        snprintf(data, sizeof data, "mnist:%s", dir);
        if (!freopen(errpath, "w", stderr) ||
            !freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(cli(), cli(), "train", "--data", data, "--out", out,
              "--nr-resnet", "1", "--nr-filters", "8", "--nr-mix", "2",
              "--nr-resolutions", "2", "--batch", "8", "--threads", "1",
              "--log-every", "1", "--save-every", "1000000", "--no-test",
              (char *)NULL);
        _exit(127);
    }
    for (int k = 0; k < 12000; k++) { /* 120 s: sanitized builds are slow */
        if (file_size(metrics) > 0)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        struct timespec d = {0, 10000000L};
        nanosleep(&d, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Waits for pid; its exit status, or -1 when a signal killed it. */
static int exit_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* SIGINT, SIGTERM, SIGHUP and a burst of SIGINTs (some arriving while it
 * saves): each run finishes its step, saves and exits 128 + the signal;
 * the checkpoint loads and holds the step the run says it saved. */
TEST(cli_train_stops_on_signals_and_saves)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGINT};
    for (int k = 0; k < 4; k++) {
        char out[600], err[700], ckpt[700];
        snprintf(out, sizeof out, "%s/run%d", dir, k);
        snprintf(err, sizeof err, "%s/err%d.txt", dir, k);
        snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
        pid_t pid = start_trainer(dir, out, err);
        REQUIRE(pid > 0, "run %d did not start", k);
        const int burst = k == 3 ? 30 : 1;
        for (int b = 0; b < burst; b++) {
            kill(pid, sigs[k]);
            struct timespec d = {0, 2000000L};
            nanosleep(&d, NULL);
        }
        const int rc = exit_status(pid);
        static char msg[8192];
        slurp(err, msg, sizeof msg);
        CHECK(rc == 128 + sigs[k], "signal %d (x%d): exit %d, want %d: %s",
              sigs[k], burst, rc, 128 + sigs[k], msg);
        unsigned long long said = 0;
        const char *at = strstr(msg, " at step ");
        CHECK(at && sscanf(at, " at step %llu", &said) == 1,
              "no 'saved ... at step' line: %s", msg);
        pcnn_train_state st = {0, 0, 0};
        int has = 0;
        CHECK(pcnn_checkpoint_read_state(ckpt, NULL, NULL, &st, &has) ==
                      PCNN_OK &&
                  has && st.step == said && said > 0,
              "signal %d: checkpoint step %llu, the run said %llu: %s",
              sigs[k], (unsigned long long)st.step, said, pcnn_last_error());
        pcnn_model *m = NULL;
        CHECK(pcnn_checkpoint_load_model(ckpt, 1, &m) == PCNN_OK,
              "signal %d: the checkpoint does not load: %s", sigs[k],
              pcnn_last_error());
        pcnn_model_free(m);
    }
    static char out[16384];
    CHECK(run(out, sizeof out, "%s train --help", cli()) == 0 &&
              strstr(out, "130") && strstr(out, "143"),
          "train --help does not list the exit codes");
    run(out, sizeof out, "rm -rf %s", dir);
}

/* --out: created with its parents, refused empty or under a file, and
 * locked: a second trainer on it stops with a message, before its data
 * are loaded (here they do not exist). */
TEST(cli_train_out_folder_and_lock)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/a/b/c " TINY
                 " --steps 2 --no-test",
                 cli(), dir, dir);
    char path[700];
    snprintf(path, sizeof path, "%s/a/b/c/checkpoint.safetensors", dir);
    CHECK(rc == 0 && file_size(path) > 0, "--out a/b/c: %s", out);
    rc = run(out, sizeof out, "%s train --data mnist:/nonexistent --out ''",
             cli());
    CHECK(rc == 2 && strstr(out, "--out is empty") &&
              !strstr(out, "nonexistent"),
          "--out '': %s", out);
    rc = run(out, sizeof out,
             "touch %s/file && %s train --data mnist:/nonexistent "
             "--out %s/file/run",
             dir, cli(), dir);
    CHECK(rc == 1 && strstr(out, "is not a folder") &&
              !strstr(out, "nonexistent"),
          "--out under a file: %s", out);
    rc = run(out, sizeof out,
             "mkdir -p %s/ro && chmod 555 %s/ro && %s train --data "
             "mnist:/nonexistent --out %s/ro/run; chmod 755 %s/ro",
             dir, dir, cli(), dir, dir);
    if (geteuid() != 0) /* root writes anywhere */
        CHECK(rc == 1 && strstr(out, "Permission denied"),
              "--out in a read-only folder: %s", out);
    char run_dir[600], err[700];
    snprintf(run_dir, sizeof run_dir, "%s/locked", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    pid_t pid = start_trainer(dir, run_dir, err);
    REQUIRE(pid > 0, "the first trainer did not start");
    rc = run(out, sizeof out,
             "%s train --data mnist:/nonexistent --out %s " TINY, cli(),
             run_dir);
    CHECK(rc == 1 && strstr(out, "another run trains there") &&
              strstr(out, run_dir) && !strstr(out, "nonexistent"),
          "a second trainer on one --out: %s", out);
    kill(pid, SIGTERM);
    CHECK(exit_status(pid) == 143, "the first trainer after SIGTERM");
    /* the lock went with its process: the folder trains again */
    rc = run(out, sizeof out,
             "%s train --data mnist:%s --out %s --resume --threads 1 "
             "--steps 1000000 --minutes 0.001 --no-test",
             cli(), dir, run_dir);
    CHECK(rc == 0 && strstr(out, "resuming"), "after the lock: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* --resume: a model or training flag that differs from the checkpoint's,
 * or other data, is an error naming the flag; equal values and the
 * per-run flags are fine; a checkpoint from before data fingerprints
 * resumes with a warning. After a resume, the metrics log is trimmed even
 * when the old fixed temp name is taken. */
TEST(cli_train_resume_refuses_conflicts)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[16384];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/r " TINY
                 " --steps 3 --no-test --log-every 1",
                 cli(), dir, dir);
    REQUIRE(rc == 0, "train: %s", out);
    static const char *conflicts[][2] = {
        {"--nr-filters 16", "nr_filters 8"},
        {"--nr-resnet 2", "nr_resnet 1"},
        {"--nr-mix 3", "nr_mix 2"},
        {"--nr-resolutions 1", "nr_resolutions 2"},
        {"--dropout 0.5", "dropout 0.2"},
        {"--cond-down 2", "cond_down 0"},
        {"--cond-dilate", "cond_dilate 0"},
        {"--param plain", "plain 0"},
        {"--init uniform", "init 0"},
        {"--class-conditional", "num_classes"},
        {"--batch 4", "batch 8"},
        {"--lr 0.002", "lr 0.001"},
        {"--lr-decay 0.9", "lr_decay"},
        {"--seed 2", "seed 1"},
        {"--flip", "flip 0"},
        {"--chain gray --stage 1", "given nothing"},
        {"--view half", "a model of x given"},
        {"--cond-view gray4", "given nothing"},
    };
    for (size_t k = 0; k < sizeof conflicts / sizeof conflicts[0]; k++) {
        rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/r --resume %s --steps 4",
                 cli(), dir, dir, conflicts[k][0]);
        char flag[32];
        sscanf(conflicts[k][0], "%31s", flag);
        CHECK(rc == 2 && strstr(out, "conflicts with") &&
                  strstr(out, flag) && strstr(out, conflicts[k][1]),
              "--resume %s: rc %d: %s", conflicts[k][0], rc, out);
    }
    /* other data: fewer images, or as many with one pixel changed */
    rc = run(out, sizeof out,
             "%s train --data mnist:%s --out %s/r --resume --limit 32 "
             "--steps 4",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "trained on other data"), "--limit: %s",
          out);
    char other[600];
    snprintf(other, sizeof other, "%s/other", dir);
    REQUIRE(mkdir(other, 0777) == 0 && write_idx(other) == 0, "other data");
    rc = run(out, sizeof out,
             "printf '\\377' | dd of=%s/train-images-idx3-ubyte bs=1 "
             "seek=100 conv=notrunc 2>/dev/null && %s train --data "
             "mnist:%s --out %s/r --resume --steps 4",
             other, cli(), other, dir);
    CHECK(rc == 2 && strstr(out, "trained on other data") &&
              strstr(out, "--data"),
          "other data of the same size: %s", out);
    /* the same values, and flags of this run only: resumes; the metrics
     * line of a step past the checkpoint is dropped though
     * metrics.jsonl.tmp (the old fixed temp name) is a folder */
    rc = run(out, sizeof out,
             "echo '{\"step\": 99, \"bpd\": 1}' >> %s/r/metrics.jsonl && "
             "mkdir %s/r/metrics.jsonl.tmp && "
             "%s train --data mnist:%s --out %s/r --resume " TINY
             " --seed 1 --lr 0.001 --steps 4 --save-every 7 --log-every 2 "
             "--no-test",
             dir, dir, cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "resuming") && !strstr(out, "warning"),
          "equal flags: %s", out);
    rc = run(out, sizeof out, "grep -c '\"step\": 99' %s/r/metrics.jsonl",
             dir);
    CHECK(rc == 1 && out[0] == '0', "metrics.jsonl not trimmed: %s", out);
    /* a checkpoint without the fingerprint key resumes with a warning */
    rc = run(out, sizeof out,
             "perl -0777 -pi -e 's/\"data_fingerprint\"/\"xata_fingerprint\"/'"
             " %s/r/checkpoint.safetensors && %s train --data mnist:%s "
             "--out %s/r --resume --threads 1 --steps 5 --no-test",
             dir, cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "warning") &&
              strstr(out, "predates data fingerprints"),
          "an old checkpoint: %s", out);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* Flags that do not apply are errors naming the flag and why, given
 * before any data or checkpoint is read where the flag alone decides. */
TEST(cli_flags_that_do_not_apply)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    char path[600];
    snprintf(path, sizeof path, "%s/img", dir);
    REQUIRE(mkdir(path, 0777) == 0, "mkdir");
    for (int k = 0; k < 12; k++) {
        snprintf(path, sizeof path, "%s/img/%02d.ppm", dir, k);
        REQUIRE(write_ppm(path, 16, 16, k) == 0, "write %s", path);
    }
    static char out[16384];
    /* train: decided by the flags alone, so the missing data are never
     * read */
    static const char *train_cases[][2] = {
        {"--stage 1", "--stage"},
        {"--chain gray --halvings 2", "--halvings"},
        {"--halvings 2", "--halvings"},
        {"--chain gray --view half", "--view"},
        {"--chain pyramid --cond-view gray4", "--cond-view"},
        {"--crop-min 0.5", "--crop-min"},
        {"--reset-ema", "--reset-ema"},
        {"--size 16", "--size"},
        {"--no-test --test-limit 5", "--test-limit"},
        {"--cond-dilate", "--cond-dilate"},
        {"--chain gray --stage 0 --cond-nr-resnet 1", "--cond-nr-resnet"},
    };
    for (size_t k = 0; k < sizeof train_cases / sizeof train_cases[0]; k++) {
        int rc = run(out, sizeof out,
                     "%s train --data mnist:/nonexistent --out %s/t %s",
                     cli(), dir, train_cases[k][0]);
        char want[64];
        snprintf(want, sizeof want, "%s does not apply", train_cases[k][1]);
        CHECK(rc == 2 && strstr(out, want) && !strstr(out, "nonexistent"),
              "train %s: rc %d: %s", train_cases[k][0], rc, out);
    }
    int rc = run(out, sizeof out,
                 "%s train --data folder:%s/img --size 16 --out %s/t " TINY
                 " --class-conditional --steps 1",
                 cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "--class-conditional does not apply"),
          "unlabeled data: %s", out);
    /* a model and a weights-only copy of it */
    rc = run(out, sizeof out,
             "%s train --data mnist:%s --out %s/a " TINY
             " --steps 2 --no-test && %s export --checkpoint "
             "%s/a/checkpoint.safetensors --out %s/w.safetensors",
             cli(), dir, dir, cli(), dir, dir);
    REQUIRE(rc == 0, "train: %s", out);
    const char *ck = "a/checkpoint.safetensors";
    static const char *cases[][2] = {
        {"sample --checkpoint %s/%s --class 1", "--class"},
        {"sample --checkpoint %s/%s --temperature 0.5", "--temperature"},
        {"sample --checkpoint %s/%s --consistent", "--consistent"},
        {"sample --checkpoint %s/%s -o x.npy --cols 2", "--cols"},
        {"sample --checkpoint %s/%s -o x.npy --scale 2", "--scale"},
        {"complete --checkpoint %s/%s --data mnist:/x --cols 2", "--cols"},
        {"complete --checkpoint %s/%s --image f.png --index 2", "--index"},
        {"complete --checkpoint %s/%s --image f.png --split train",
         "--split"},
        {"upscale --checkpoint %s/%s --image f.png --weights raw",
         "--weights"},
        {"upscale --checkpoint %s/%s --image f.png --count 2", "--count"},
        {"colorize --checkpoint %s/%s f.png --stride 2", "--stride"},
        {"eval --checkpoint %s/%s --data mnist:/x --size 8", "--size"},
        {"bench --config 1,32,5 --reps 1", "--config"},
        {"bench --models --quick", "--quick"},
    };
    char tool[4096], cwd[2048]; /* the commands run in dir */
    REQUIRE(getcwd(cwd, sizeof cwd), "getcwd");
    snprintf(tool, sizeof tool, "%s%s%s", cli()[0] == '/' ? "" : cwd,
             cli()[0] == '/' ? "" : "/", cli());
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char line[512];
        snprintf(line, sizeof line, cases[k][0], dir, ck);
        rc = run(out, sizeof out, "cd %s && %s %s", dir, tool, line);
        char want[64];
        snprintf(want, sizeof want, "%s does not apply", cases[k][1]);
        CHECK(rc == 2 && strstr(out, want), "%s: rc %d: %s", line, rc, out);
    }
    rc = run(out, sizeof out, "%s eval --checkpoint %s/w.safetensors "
                              "--data mnist:%s --weights ema",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "--weights ema") &&
              strstr(out, "holds no EMA weights"),
          "--weights ema of a weights-only file: %s", out);
    rc = run(out, sizeof out, "%s bench --models --config 9,9,9", cli());
    CHECK(rc == 2 && strstr(out, "--config 9,9,9") &&
              strstr(out, "1,32,5 2,64,5 3,96,10 5,160,10"),
          "bench --config outside its list: %s", out);
    rc = run(out, sizeof out, "%s bench --pyramid --config 1,2", cli());
    CHECK(rc == 2 && strstr(out, "R,F,M"), "bench --pyramid --config: %s",
          out);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* Output files are checked before any work, with errno's text; export
 * and chain refuse to write over their own input. */
TEST(cli_outputs_checked_first)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    static char out[16384];
    /* the checkpoint does not exist: the output is checked first */
    static const char *cases[][2] = {
        {"sample --checkpoint none -o %s/no/dir/x.png", "-o"},
        {"sample --checkpoint none --npy %s/no/x.npy", "--npy"},
        {"complete --checkpoint none --data mnist:/x -o %s/no/x.png", "-o"},
        {"upscale --checkpoint none --image f.png -o %s/no/x.png", "-o"},
        {"colorize --checkpoint none f.png -o %s/no/x.png", "-o"},
        {"chain --out %s/no/c.safetensors none", "--out"},
        {"export --checkpoint none --out %s/no/e.safetensors", "--out"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char line[512];
        snprintf(line, sizeof line, cases[k][0], dir);
        int rc = run(out, sizeof out, "%s %s", cli(), line);
        CHECK(rc == 1 && strstr(out, cases[k][1]) && strstr(out, "/no") &&
                  strstr(out, "No such file or directory") &&
                  !strstr(out, "none"),
              "%s: rc %d: %s", line, rc, out);
    }
    int rc = run(out, sizeof out, "%s sample --checkpoint none -o %s", cli(),
                 dir);
    CHECK(rc == 1 && strstr(out, "is a folder"), "-o a folder: %s", out);
    /* export onto its own input, spelled otherwise or through a link */
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    rc = run(out, sizeof out,
             "%s train --data mnist:%s --out %s/a " TINY
             " --steps 2 --no-test",
             cli(), dir, dir);
    REQUIRE(rc == 0, "train: %s", out);
    rc = run(out, sizeof out,
             "%s export --checkpoint %s/a/checkpoint.safetensors --out "
             "%s/a/../a/./checkpoint.safetensors",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "drop the training state"),
          "export onto itself: %s", out);
    rc = run(out, sizeof out,
             "ln %s/a/checkpoint.safetensors %s/link.safetensors && %s "
             "export --checkpoint %s/a/checkpoint.safetensors --out "
             "%s/link.safetensors",
             dir, dir, cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "drop the training state"),
          "export onto a hard link of its input: %s", out);
    rc = run(out, sizeof out,
             "%s chain --out %s/a/checkpoint.safetensors "
             "%s/a/checkpoint.safetensors",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "is the stage checkpoint"),
          "chain onto a stage: %s", out);
    rc = run(out, sizeof out, "%s info --checkpoint %s/a/checkpoint.safetensors",
             cli(), dir);
    CHECK(rc == 0 && strstr(out, "step 2"), "the input kept its state: %s",
          out);
    /* a grid too large: refused before sampling */
    rc = run(out, sizeof out,
             "%s sample --checkpoint %s/a/checkpoint.safetensors -n 1024 "
             "--cols 1024 --scale 32 -o %s/big.png",
             cli(), dir, dir);
    CHECK(rc == 2 && strstr(out, "the grid would be") &&
              !strstr(out, "sampled"),
          "a grid too large: %s", out);
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
    char path[600];
    snprintf(path, sizeof path, "%s/img", dir);
    REQUIRE(mkdir(path, 0777) == 0, "mkdir");
    for (int k = 0; k < 12; k++) {
        snprintf(path, sizeof path, "%s/img/%02d.ppm", dir, k);
        REQUIRE(write_ppm(path, 16, 16, k) == 0, "write %s", path);
    }
    snprintf(path, sizeof path, "%s/tiny.ppm", dir);
    REQUIRE(write_ppm(path, 6, 6, 1) == 0, "write %s", path);
    snprintf(path, sizeof path, "%s/mid.ppm", dir);
    REQUIRE(write_ppm(path, 12, 12, 1) == 0, "write %s", path);
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

/* pixelcnn demo's errors and skips (the demo itself, about a minute with
 * the shipped models, runs in .ci/run): a missing photograph or models
 * folder is a one-line error; a models folder without the shipped models
 * runs nothing, says so per step, and fails. */
TEST(cli_demo_errors_and_skips)
{
    if (!have_cli())
        return;
    static char out[8192];
    char dir[] = "/tmp/pcnn_demo_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    int rc = run(out, sizeof out, "%s demo --out %s/o --image %s/none.png",
                 cli(), dir, dir);
    CHECK(rc == 1 && strstr(out, "--image") && strstr(out, "none.png") &&
              strstr(out, "No such file"),
          "missing image: rc %d: %s", rc, out);
    rc = run(out, sizeof out, "%s demo --out %s/o --image examples/chelsea.png "
                              "--models %s/none",
             cli(), dir, dir);
    CHECK(rc == 1 && strstr(out, "--models"), "missing models: rc %d: %s",
          rc, out);
    rc = run(out, sizeof out, "%s demo --out %s/o --image examples/chelsea.png "
                              "--models %s",
             cli(), dir, dir);
    CHECK(rc == 1 && strstr(out, "skipped: no") &&
              strstr(out, "nothing ran"),
          "no models: rc %d: %s", rc, out);
    rc = run(out, sizeof out, "%s demo -n 0", cli());
    CHECK(rc == 2 && strstr(out, "-n"), "-n 0: rc %d: %s", rc, out);
    run(out, sizeof out, "rm -rf %s", dir);
}
