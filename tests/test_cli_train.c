/*
 * test_cli_train.c -- `pixelcnn train` as a process: kill -9 at many
 * moments never leaves a damaged checkpoint; SIGINT/SIGTERM/SIGHUP finish
 * the step, save and exit 128 + the signal; the --out folder's lock; and
 * --resume refusing flags that conflict with the checkpoint. The binary is
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
        long got = cli_slurp(err, (unsigned char *)msg, sizeof msg - 1);
        msg[got > 0 ? got : 0] = 0;
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
        {"--param weightnorm", "plain 1"},
        {"--init data", "init 1"},
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
