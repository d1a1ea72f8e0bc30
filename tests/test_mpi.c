/*
 * test_mpi.c -- `pixelcnn train` under mpirun (docs/mpi.md): 2 ranks of a
 * global batch give the weights of one process on it, within 1e-5 of
 * the largest weight (the sums are added in another order, so not bit
 * for bit); a checkpoint resumes with another rank count; a rank that is
 * killed or hangs stops the job with a message, the last checkpoint
 * intact and resumable; --all-stages trains a chain's stages on groups of
 * ranks and joins them. They run the MPI build of the tool
 * ($PCNN_MPI_CLI, make test-mpi) and skip without it or without mpirun.
 */
#include "cli_util.h"
#include "test.h"
#include "pixelcnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open MPI as root (CI) needs both variables; two ranks on a machine of
 * fewer cores need --oversubscribe. */
#define MPI_ENV "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
#define MPIRUN MPI_ENV " mpirun --oversubscribe -np"

#define RUN_FLAGS TINY " --flip --no-test --log-every 1000"

static char out[1 << 16];

/* The MPI build of the tool, or NULL after marking the test skipped. */
static const char *mpi_cli(void)
{
    const char *p = getenv("PCNN_MPI_CLI");
    struct stat st;
    if (!p || stat(p, &st) != 0) {
        test_skip("no MPI build of the tool (PCNN_MPI_CLI; make test-mpi "
                  "with Open MPI installed: sh scripts/deps.sh mpi)");
        return NULL;
    }
    if (run(out, sizeof out, "command -v mpirun") != 0) {
        test_skip("no mpirun (sh scripts/deps.sh mpi)");
        return NULL;
    }
    return p;
}

/* A temporary folder with the tiny data set in it; 0 on success. */
static int data_dir(char *dir)
{
    return !mkdtemp(dir) || write_idx(dir);
}

/* max |a - b| over max |b| for the weights of two checkpoints (raw
 * weights and their EMA); -1 if one does not load. */
static double weight_diff(const char *a, const char *b)
{
    double d = 0, s = 0;
    for (int ema = 0; ema < 2; ema++) {
        pcnn_model *ma = NULL, *mb = NULL;
        if (pcnn_checkpoint_load_model(a, ema, &ma) != PCNN_OK ||
            pcnn_checkpoint_load_model(b, ema, &mb) != PCNN_OK) {
            printf("    %s\n", pcnn_last_error());
            pcnn_model_free(ma);
            return -1;
        }
        size_t n, nb;
        const float *pa = pcnn_model_params(ma, &n);
        const float *pb = pcnn_model_params(mb, &nb);
        for (size_t i = 0; i < n && n == nb; i++) {
            d = fmax(d, fabs((double)pa[i] - pb[i]));
            s = fmax(s, fabs((double)pb[i]));
        }
        pcnn_model_free(ma);
        pcnn_model_free(mb);
        if (n != nb)
            return -1;
    }
    return d / s;
}

/* Trains in dir/run for `steps` with `ranks` ranks (0: one process
 * without mpirun); extra flags after. The exit status. */
static int train(const char *tool, const char *dir, const char *run_dir,
                 int ranks, int steps, const char *extra)
{
    char launch[160] = "";
    if (ranks > 0)
        snprintf(launch, sizeof launch, MPIRUN " %d", ranks);
    return run(out, sizeof out,
               "%s %s train --data mnist:%s %s --steps %d --out %s/%s %s",
               launch, tool, dir, RUN_FLAGS, steps, dir, run_dir, extra);
}

TEST(mpi_two_ranks_match_one_process)
{
    const char *tool = mpi_cli();
    if (!tool)
        return;
    char dir[] = "/tmp/pcnn_mpi_XXXXXX", a[600], b[600];
    REQUIRE(!data_dir(dir), "data");
    REQUIRE(train(tool, dir, "one", 0, 4, "") == 0, "1 process: %s", out);
    REQUIRE(train(tool, dir, "two", 2, 4, "") == 0, "2 ranks: %s", out);
    /* rank 0 alone prints and writes */
    const char *saved = strstr(out, "saved ");
    CHECK(saved && !strstr(saved + 1, "saved "), "printed twice: %s", out);
    CHECK(strstr(out, "2 ranks (MPI), 4 images of each batch of 8"),
          "no line about the ranks: %s", out);
    snprintf(a, sizeof a, "%s/one/checkpoint.safetensors", dir);
    snprintf(b, sizeof b, "%s/two/checkpoint.safetensors", dir);
    const double e = weight_diff(b, a);
    printf("    2 ranks vs 1 process after 4 steps: %.2e\n", e);
    CHECK(e >= 0 && e < 1e-5, "2 ranks drift from 1 process: %.2e", e);
    run(out, sizeof out, "rm -rf %s", dir);
}

TEST(mpi_resume_with_another_rank_count)
{
    const char *tool = mpi_cli();
    if (!tool)
        return;
    char dir[] = "/tmp/pcnn_mpi_XXXXXX", a[600], b[600];
    REQUIRE(!data_dir(dir), "data");
    REQUIRE(train(tool, dir, "whole", 0, 6, "") == 0, "1 process: %s", out);
    /* 2 ranks, then one process */
    REQUIRE(train(tool, dir, "r21", 2, 3, "") == 0, "2 ranks: %s", out);
    REQUIRE(train(tool, dir, "r21", 0, 6, "--resume") == 0, "resumed: %s",
            out);
    /* one process, then 3 ranks (shards of 2, 3 and 3 images) */
    REQUIRE(train(tool, dir, "r13", 0, 3, "") == 0, "1 process: %s", out);
    REQUIRE(train(tool, dir, "r13", 3, 6, "--resume") == 0,
            "3 ranks resumed: %s", out);
    snprintf(a, sizeof a, "%s/whole/checkpoint.safetensors", dir);
    const char *runs[2] = {"r21", "r13"};
    for (int k = 0; k < 2; k++) {
        snprintf(b, sizeof b, "%s/%s/checkpoint.safetensors", dir, runs[k]);
        const double e = weight_diff(b, a);
        printf("    %s vs uninterrupted: %.2e\n", runs[k], e);
        CHECK(e >= 0 && e < 1e-5, "%s drifts: %.2e", runs[k], e);
    }
    run(out, sizeof out, "rm -rf %s", dir);
}

/* A fault injected at rank 1's 30th all-reduce (about step 10; a
 * checkpoint every 2 steps) stops the job within `limit` seconds with
 * a message containing `expect`; the checkpoint then resumes. */
static void fault_stops_job(const char *fault, const char *extra,
                            const char *expect, int limit)
{
    const char *tool = mpi_cli();
    if (!tool)
        return;
    char dir[] = "/tmp/pcnn_mpi_XXXXXX", flags[160];
    REQUIRE(!data_dir(dir), "data");
    snprintf(flags, sizeof flags, "--save-every 2 %s", extra);
    int rc = run(out, sizeof out,
                 "PCNN_MPI_FAULT='%s' " MPI_ENV " timeout %d mpirun "
                 "--oversubscribe -np 2 %s train --data mnist:%s %s --steps "
                 "100000 --out %s/f %s",
                 fault, limit, tool, dir, RUN_FLAGS, dir, flags);
    CHECK(rc != 0 && rc != 124, "exit status %d (124: still running after "
                                "%d s): %s",
          rc, limit, out);
    CHECK(strstr(out, expect), "no '%s' in: %s", expect, out);
    /* the last checkpoint is whole: it loads and resumes */
    rc = train(tool, dir, "f", 2, 12, "--resume");
    CHECK(rc == 0 && strstr(out, "resuming on"), "resume: %d %s", rc, out);
    run(out, sizeof out, "rm -rf %s", dir);
}

TEST(mpi_killed_rank_stops_the_job)
{
    fault_stops_job("kill 1 30", "", "rank 1", 120);
}

TEST(mpi_hung_rank_stops_the_job_after_the_timeout)
{
    fault_stops_job("hang 1 30", "--mpi-timeout 2",
                    "did not complete within 2 s", 60);
}

TEST(mpi_tool_without_mpi_refuses_ranks)
{
    if (!mpi_cli() || !have_cli())
        return;
    char dir[] = "/tmp/pcnn_mpi_XXXXXX";
    REQUIRE(!data_dir(dir), "data");
    const int rc = train(cli(), dir, "no", 2, 2, "");
    CHECK(rc != 0 && strstr(out, "built without MPI"), "%d: %s", rc, out);
    run(out, sizeof out, "rm -rf %s", dir);
}

TEST(mpi_timeout_needs_ranks)
{
    if (!have_cli())
        return;
    const int rc = run(out, sizeof out, "%s train --mpi-timeout 5 --steps 1",
                       cli());
    CHECK(rc == 2 && strstr(out, "does not apply"), "%d: %s", rc, out);
}

TEST(mpi_all_stages_train_a_chain_on_groups_of_ranks)
{
    const char *tool = mpi_cli();
    if (!tool)
        return;
    char dir[] = "/tmp/pcnn_mpi_XXXXXX", a[600], b[600];
    REQUIRE(!data_dir(dir), "data");
    /* 3 ranks, 2 stages: ranks 0 and 1 train stage 0, rank 2 stage 1 */
    REQUIRE(train(tool, dir, "ch", 3, 4, "--chain gray --all-stages") == 0,
            "3 ranks: %s", out);
    CHECK(strstr(out, "joined the 2 stages"), "no join: %s", out);
    snprintf(a, sizeof a, "%s/ch/chain.safetensors", dir);
    pcnn_chain *ch = NULL;
    CHECK(pcnn_chain_load(a, 0, &ch) == PCNN_OK && ch &&
              pcnn_chain_stages(ch) == 2 && pcnn_chain_is_complete(ch),
          "%s: %s", a, pcnn_last_error());
    pcnn_chain_free(ch);
    /* each stage as its own single-process run gives the same weights */
    for (int k = 0; k < 2; k++) {
        char flags[64], run_dir[16];
        snprintf(flags, sizeof flags, "--chain gray --stage %d", k);
        snprintf(run_dir, sizeof run_dir, "s%d", k);
        REQUIRE(train(tool, dir, run_dir, 0, 4, flags) == 0, "stage %d: %s",
                k, out);
        snprintf(a, sizeof a, "%s/ch/stage%d/checkpoint.safetensors", dir, k);
        snprintf(b, sizeof b, "%s/s%d/checkpoint.safetensors", dir, k);
        const double e = weight_diff(a, b);
        printf("    stage %d (%d ranks) vs alone: %.2e\n", k, 2 - k, e);
        CHECK(e >= 0 && e < 1e-5, "stage %d drifts: %.2e", k, e);
    }
    /* more stages than ranks */
    const int rc = train(tool, dir, "few", 2, 4, "--chain pyramid "
                                                 "--all-stages");
    CHECK(rc != 0 && strstr(out, "start at least 3"), "%d: %s", rc, out);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* The "test bits/dim: ..." line of out into line (n bytes); 0 if none. */
static int test_line(char *line, size_t n)
{
    const char *p = strstr(out, "test bits/dim:");
    if (!p)
        return 0;
    snprintf(line, n, "%.*s", (int)strcspn(p, "\n"), p);
    return 1;
}

TEST(mpi_ranks_split_the_test_evaluation)
{
    const char *tool = mpi_cli();
    if (!tool)
        return;
    char dir[] = "/tmp/pcnn_mpi_XXXXXX", one[160], three[160];
    REQUIRE(!data_dir(dir), "data");
    /* 16 test images over 3 ranks: slices of 5, 5 and 6 */
    REQUIRE(run(out, sizeof out,
                "%s train --data mnist:%s " TINY " --steps 2 --out %s/a",
                tool, dir, dir) == 0 &&
                test_line(one, sizeof one),
            "1 process: %s", out);
    REQUIRE(run(out, sizeof out,
                MPIRUN " 3 %s train --data mnist:%s " TINY
                       " --steps 2 --out %s/b",
                tool, dir, dir) == 0 &&
                test_line(three, sizeof three),
            "3 ranks: %s", out);
    printf("    %s\n    %s\n", one, three);
    CHECK(!strcmp(one, three), "1 process and 3 ranks evaluate differently");
    CHECK(strstr(three, "(16 images"), "not all 16 test images: %s", three);
    run(out, sizeof out, "rm -rf %s", dir);
}

TEST(mpi_signal_to_one_rank_stops_all_and_saves)
{
    const char *tool = mpi_cli();
    if (!tool)
        return;
    char dir[] = "/tmp/pcnn_mpi_XXXXXX", ckpt[600];
    REQUIRE(!data_dir(dir), "data");
    /* rank 1 alone gets SIGTERM; the test evaluation (collective) must
     * not leave rank 0 waiting for it */
    int rc = run(out, sizeof out,
                 "PCNN_MPI_FAULT='term 1 30' " MPI_ENV " timeout 60 mpirun "
                 "--oversubscribe -np 2 %s train --data mnist:%s " TINY
                 " --steps 100000 --log-every 1000 --mpi-timeout 20 "
                 "--out %s/s",
                 tool, dir, dir);
    CHECK(rc != 124 && !strstr(out, "did not complete"),
          "a rank was left waiting: %d %s", rc, out);
    CHECK(strstr(out, "saved "), "nothing saved: %s", out);
    snprintf(ckpt, sizeof ckpt, "%s/s/checkpoint.safetensors", dir);
    CHECK(file_size(ckpt) > 0, "no %s", ckpt);
    run(out, sizeof out, "rm -rf %s", dir);
}
