/*
 * test_cli.c -- the pixelcnn tool end to end: --help everywhere, bad flags,
 * a tiny training run with resume, eval and info, sampling and completion,
 * the gray chain, flags that do not apply, outputs checked first and the
 * demo's errors (training as a process: test_cli_train.c; colorize:
 * test_cli_color.c). The binary is $PCNN_CLI, or build/pixelcnn.
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

/* Flags that do not apply are errors naming the flag and why, given
 * before any data or checkpoint is read where the flag alone decides. */
TEST(cli_flags_that_do_not_apply)
{
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_cli_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    REQUIRE(cli_color_folder(dir) == 0, "cannot write %s/img", dir);
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
        {"bench --sampling --param plain", "--param"},
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

/* bench --models times a new run's recipe (plain weights) unless
 * --param weightnorm asks for PixelCNN++'s, and says which it timed. */
TEST(cli_bench_models_times_the_recipe_asked)
{
    if (!have_cli())
        return;
    char out[4096];
    static const char *const want[][3] = {
        {"", "plain weights", "\"param\": \"plain\""},
        {"--param weightnorm", "weight-normalized weights",
         "\"param\": \"weightnorm\""}};
    for (int k = 0; k < 2; k++) {
        int rc = run(out, sizeof out, "%s bench --models --config 1,32,5 "
                                      "--reps 1 --threads 1 %s",
                     cli(), want[k][0]);
        CHECK(rc == 0 && strstr(out, want[k][1]) && strstr(out, want[k][2]) &&
                  strstr(out, "\"train_img_s\""),
              "bench --models %s: rc %d: %s", want[k][0], rc, out);
    }
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
