/*
 * test_files.c -- what the library does with bad files: one-line messages
 * that name the file (also when nested), only regular files opened (a
 * directory or a FIFO refused at once), checkpoints checked whole before
 * a model is built (names, shapes, a bounded config) and after (values:
 * finite, bounded, weight-norm directions of nonzero norm, Adam's second
 * moments >= 0), bad state never saved, the file kind read from the
 * metadata, and every checkpoint under results/ still loading.
 */
#include "test.h"
#include "ckpt_edit.h"
#include "data_util.h"
#include "pixelcnn.h"
#include "../src/core/internal.h"
#include "../src/train/trainer.h"

#include <math.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The message must be exactly want. */
#define CHECK_MSG(want)                                                       \
    CHECK(!strcmp(pcnn_last_error(), (want)), "message \"%s\", want \"%s\"", \
          pcnn_last_error(), (want))

TEST(status_nested_message_not_garbled)
{
    pcnn_fail(PCNN_ERR_IO, "inner reason %d", 42);
    pcnn_fail(PCNN_ERR_IO, "%s: %s", "FILE", pcnn_last_error());
    CHECK_MSG("FILE: inner reason 42");
    pcnn_fail(PCNN_ERR_IO, "%s (%s)", pcnn_last_error(), "more");
    CHECK_MSG("FILE: inner reason 42 (more)");
    /* one line, whatever a path holds */
    pcnn_fail(PCNN_ERR_IO, "%s: cannot open", "a\nb\rc\td");
    CHECK_MSG("a?b?c?d: cannot open");
    /* through the library: a training option out of range */
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *bad = path_in(1, dir, "lr5.safetensors");
    REQUIRE(ckpt_rewrite(path_in(0, dir, "full.safetensors"), bad,
                         &(ckpt_edit){.key = "lr", .value = "5"}),
            "rewrite");
    CHECK(pcnn_checkpoint_read_state(bad, NULL, NULL, NULL, NULL) ==
              PCNN_ERR_FORMAT,
          "lr 5 accepted");
    char want[256];
    snprintf(want, sizeof want, "%s: training: lr 5 not in (0, 1)", bad);
    CHECK_MSG(want);
    tmp_dir_remove(dir);
}

/* Every reader refuses a directory and a FIFO at once, naming it. */
TEST(files_not_regular_are_refused)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    const char *fifo = path_in(1, dir, "fifo");
    REQUIRE(mkfifo(fifo, 0600) == 0, "mkfifo");
    alarm(60); /* a reader that blocks on the FIFO fails the run */
    const char *paths[2] = {dir, fifo};
    for (int k = 0; k < 2; k++) {
        const char *p = paths[k];
        pcnn_model *m = NULL;
        pcnn_chain *ch = NULL;
        pcnn_file_kind kind;
        pcnn_dataset d;
        EXPECT_FAIL(pcnn_checkpoint_load_model(p, 0, &m), PCNN_ERR_IO,
                    "not a regular file");
        EXPECT_FAIL(pcnn_checkpoint_read_state(p, NULL, NULL, NULL, NULL),
                    PCNN_ERR_IO, p);
        EXPECT_FAIL(pcnn_chain_load(p, 0, &ch), PCNN_ERR_IO,
                    "not a regular file");
        EXPECT_FAIL(pcnn_file_kind_read(p, &kind), PCNN_ERR_IO, p);
        EXPECT_FAIL(pcnn_dataset_load_idx(p, NULL, &d), PCNN_ERR_IO,
                    "not a regular file");
        EXPECT_FAIL(pcnn_dataset_load_image(p, 3, 8, &d), PCNN_ERR_IO,
                    "not a regular file");
        if (k == 1) /* a directory is CIFAR-10's folder form */
            EXPECT_FAIL(pcnn_dataset_load_cifar10(p, "test", &d), PCNN_ERR_IO,
                        "not a regular file");
        CHECK(m == NULL && ch == NULL, "an object from %s", p);
    }
    /* a CIFAR-10 folder whose test file is a FIFO */
    REQUIRE(mkfifo(path_in(2, dir, "test_batch.bin"), 0600) == 0, "mkfifo");
    pcnn_dataset d;
    EXPECT_FAIL(pcnn_dataset_load_cifar10(dir, "test", &d), PCNN_ERR_IO,
                "test_batch.bin: not a regular file");
    alarm(0);
    tmp_dir_remove(dir);
}

/* A header length beyond the file is refused before the file is read. */
TEST(st_load_checks_header_length_against_file_size)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    const char *p = path_in(0, dir, "h.safetensors");
    unsigned char b[64] = {0};
    b[0] = 0x00, b[1] = 0x00, b[2] = 0xa0; /* 10 MB header in 64 bytes */
    REQUIRE(write_bytes(p, b, sizeof b), "write");
    pcnn_model *m;
    EXPECT_FAIL(pcnn_checkpoint_load_model(p, 0, &m), PCNN_ERR_FORMAT,
                "exceeds the 56 bytes");
    b[7] = 0x01; /* 2^56: beyond any limit */
    REQUIRE(write_bytes(p, b, sizeof b), "write");
    EXPECT_FAIL(pcnn_checkpoint_load_model(p, 0, &m), PCNN_ERR_FORMAT,
                "exceeds the limit");
    tmp_dir_remove(dir);
}

/* fn for ckpt_rewrite: value *(float *)arg at element 0. */
static void set_first(float *x, size_t n, const int64_t *shape, int ndim,
                      void *arg)
{
    (void)n, (void)shape, (void)ndim;
    x[0] = *(const float *)arg;
}

/* fn: zeros output channel 0 of a weight-norm direction: the slice
 * v[0] (axis 0: conv, nin) or v[:, 0] (axis 1: transposed conv). */
static void zero_channel(float *x, size_t n, const int64_t *shape, int ndim,
                         void *arg)
{
    const int axis = *(const int *)arg;
    const size_t A = axis ? (size_t)shape[0] : 1;
    const size_t O = (size_t)shape[axis];
    const size_t R = n / (A * O);
    (void)ndim;
    for (size_t a = 0; a < A; a++)
        memset(x + a * O * R, 0, R * sizeof(float));
}

/* Each bad value is refused by every load, naming file and tensor. */
TEST(checkpoint_values_checked)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *full = path_in(0, dir, "full.safetensors");
    const char *bad = path_in(1, dir, "bad.safetensors");
    static float neg = -1e-3f, nan_ = NAN, inf = INFINITY, huge = 1e30f,
                 big = 2e6f;
    static int axis0 = 0, axis1 = 1;
    const struct {
        const char *tensor;
        void (*fn)(float *, size_t, const int64_t *, int, void *);
        void *arg;
        const char *says;
    } cases[] = {
        {"adam.v.up.0.u.0.conv_in.g", set_first, &neg, "never negative"},
        {"adam.m.out.b", set_first, &inf, "NaN or Inf"},
        {"ema.init.u.b", set_first, &nan_, "NaN or Inf"},
        {"up.0.u.0.conv_out.g", set_first, &huge, "beyond the bound"},
        {"ema.out.g", set_first, &big, "beyond the bound"},
        {"init.u.v", zero_channel, &axis0, "weight-norm direction"},
        {"out.v", zero_channel, &axis0, "weight-norm direction"},
        {"down.1.u_up.v", zero_channel, &axis1, "weight-norm direction"},
        {"ema.down.1.ul_up.v", zero_channel, &axis1, "weight-norm direction"},
    };
    pcnn_dataset d = ckpt_toy_data();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ckpt_edit e = {.tensor = cases[i].tensor, .fn = cases[i].fn,
                       .arg = cases[i].arg};
        REQUIRE(ckpt_rewrite(full, bad, &e), "rewrite");
        for (int ema = 0; ema <= 1; ema++) {
            pcnn_model *m = NULL;
            EXPECT_FAIL(pcnn_checkpoint_load_model(bad, ema, &m),
                        PCNN_ERR_FORMAT, cases[i].says);
            CHECK(strstr(pcnn_last_error(), bad) &&
                      strstr(pcnn_last_error(), cases[i].tensor),
                  "%s: message \"%s\" names neither file nor tensor",
                  cases[i].tensor, pcnn_last_error());
            CHECK(m == NULL, "a model came back");
        }
        pcnn_model *m = NULL;
        pcnn_trainer *t = NULL;
        REQUIRE_OK(pcnn_checkpoint_load_model(full, 0, &m));
        CHECK(pcnn_checkpoint_load_trainer(bad, m, &d, &t) ==
                  PCNN_ERR_FORMAT,
              "%s: trainer loaded", cases[i].tensor);
        pcnn_trainer_free(t);
        pcnn_model_free(m);
    }
    /* zeroing an input slice of a transposed conv's direction (axis 0 of
     * (Ci, Co, kh, kw)) leaves every output channel's norm nonzero */
    ckpt_edit e = {.tensor = "down.1.u_up.v", .fn = zero_channel,
                   .arg = &axis0};
    REQUIRE(ckpt_rewrite(full, bad, &e), "rewrite");
    pcnn_model *m = NULL;
    CHECK(pcnn_checkpoint_load_model(bad, 0, &m) == PCNN_OK,
          "an input slice of a deconv zeroed: %s", pcnn_last_error());
    pcnn_model_free(m);
    pcnn_dataset_free(&d);
    tmp_dir_remove(dir);
}

/* A save of state the reader would refuse fails and leaves the file on
 * disk as it was. */
TEST(checkpoint_save_never_writes_bad_state)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *full = path_in(0, dir, "full.safetensors");
    size_t len0, len1;
    uint8_t *before = read_bytes(full, &len0);
    pcnn_dataset d = ckpt_toy_data();
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    REQUIRE_OK(pcnn_checkpoint_load_model(full, 0, &m));
    REQUIRE_OK(pcnn_checkpoint_load_trainer(full, m, &d, &t));
    size_t n;
    float *p = pcnn_model_params(m, &n);
    for (int k = 0; k < 4; k++) {
        float *slot = k == 0 ? &p[3] : k == 1 ? &t->ema[5]
                               : k == 2       ? &t->mom1[7]
                                              : &t->mom2[9];
        const float keep = *slot;
        *slot = k == 3 ? -1.0f : k == 0 ? 5e6f : NAN;
        EXPECT_FAIL(pcnn_checkpoint_save(full, m, t), PCNN_ERR_VALUE,
                    "not saved");
        CHECK(strstr(pcnn_last_error(), full) != NULL, "no file in \"%s\"",
              pcnn_last_error());
        *slot = keep;
    }
    /* a weights-only save checks the weights */
    const float keep = p[0];
    p[0] = INFINITY;
    EXPECT_FAIL(pcnn_checkpoint_save(full, m, NULL), PCNN_ERR_VALUE,
                "NaN or Inf");
    p[0] = keep;
    uint8_t *after = read_bytes(full, &len1);
    CHECK(len0 == len1 && !memcmp(before, after, len0),
          "the file on disk changed");
    pcnn_model *back = NULL;
    CHECK(pcnn_checkpoint_load_model(full, 1, &back) == PCNN_OK,
          "the file no longer loads: %s", pcnn_last_error());
    pcnn_model_free(back);
    free(before), free(after);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_dataset_free(&d);
    tmp_dir_remove(dir);
}

/* A step whose update would leave the bounds changes nothing: not the
 * weights, the moments, the EMA or the cursor. */
TEST(train_step_past_bounds_changes_nothing)
{
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_trainer *t;
    pcnn_dataset d = ckpt_toy_data();
    pcnn_model_config c = ckpt_toy_config();
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 8;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    REQUIRE_OK(pcnn_trainer_create(&t, m, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, t));
    REQUIRE_OK(pcnn_trainer_step(ctx, t, NULL));
    size_t n;
    float *p = pcnn_model_params(m, &n);
    /* a first moment so large that the bias-corrected one overflows */
    t->mom1[11] = 3e38f;
    float *keep = xcalloc(4 * n, sizeof(float));
    memcpy(keep, p, n * sizeof(float));
    memcpy(keep + n, t->ema, n * sizeof(float));
    memcpy(keep + 2 * n, t->mom1, n * sizeof(float));
    memcpy(keep + 3 * n, t->mom2, n * sizeof(float));
    pcnn_train_state before = pcnn_trainer_state(t);
    CHECK(pcnn_trainer_step(ctx, t, NULL) == PCNN_ERR_VALUE,
          "an overflowing step was taken");
    CHECK(strstr(pcnn_last_error(), "last good weights") != NULL,
          "message: %s", pcnn_last_error());
    CHECK(!memcmp(keep, p, n * sizeof(float)) &&
              !memcmp(keep + n, t->ema, n * sizeof(float)) &&
              !memcmp(keep + 2 * n, t->mom1, n * sizeof(float)) &&
              !memcmp(keep + 3 * n, t->mom2, n * sizeof(float)),
          "the state changed");
    pcnn_train_state after = pcnn_trainer_state(t);
    CHECK(after.step == before.step && after.pos == before.pos,
          "the cursor moved");
    free(keep);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Tensors are checked against the model the metadata describes before
 * the model is built: a config the tensors do not hold is refused at
 * once, without allocating it, and so is one whose activations exceed
 * the cap. */
TEST(checkpoint_shapes_checked_before_building)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *full = path_in(0, dir, "full.safetensors");
    const char *chain = path_in(2, dir, "chain.safetensors");
    const char *bad = path_in(1, dir, "bad.safetensors");
    const struct {
        const char *src;
        ckpt_edit e;
        const char *says;
    } cases[] = {
        /* 1024 filters: 1.1e9 parameters, 17 GB with their gradients,
         * had the model been built first */
        {full, {.key = "nr_filters", .value = "1024"}, "init.u.v"},
        {full, {.key = "nr_resnet", .value = "64"}, "no tensor"},
        {chain, {.key = "s0.nr_filters", .value = "1024"}, "s0.init.u.v"},
        /* parameters do not depend on the image size: the activation
         * cap refuses it (59 GB for one image) */
        {full,
         {.key = "height", .value = "4096", .key2 = "width",
          .value2 = "4096"},
         "activations"},
        {chain,
         {.key = "s0.height", .value = "4096", .key2 = "s0.width",
          .value2 = "4096"},
         "activations"},
        {full, {.tensor = "adam.m.out.v", .drop = 1}, "no tensor"},
        {full, {.tensor = "ema.init.u.g", .ndim = 1, .shape = {9}},
         "ema.init.u.g\" is F32 (9)"},
        {full, {.tensor = "out.b", .ndim = 2, .shape = {1, 8}},
         "F32 (1,8), the model's metadata makes it F32 (6)"},
        {full, {.add = "out.extra"}, "\"out.extra\" is not part"},
        {chain, {.add = "s1.out.b"}, "\"s1.out.b\" is not part"},
        /* a weights-only file that claims a training state */
        {path_in(3, dir, "weights.safetensors"), {.key = "step", .value = "3"},
         "no \"lr\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        REQUIRE(ckpt_rewrite(cases[i].src, bad, &cases[i].e), "rewrite %zu",
                i);
        const double t0 = now();
        pcnn_chain *ch = NULL;
        EXPECT_FAIL(pcnn_chain_load(bad, 0, &ch), PCNN_ERR_FORMAT,
                    cases[i].says);
        CHECK(strstr(pcnn_last_error(), bad) != NULL, "case %zu: \"%s\"", i,
              pcnn_last_error());
        if (cases[i].src == full) {
            pcnn_model_config c;
            EXPECT_FAIL(pcnn_checkpoint_read_state(bad, &c, NULL, NULL, NULL),
                        PCNN_ERR_FORMAT, cases[i].says);
        }
        CHECK(now() - t0 < 10.0, "case %zu took %.1f s", i, now() - t0);
    }
    tmp_dir_remove(dir);
}

/* The kind of a file is its metadata's; a malformed training key is a
 * loud error naming key and file, wherever the file goes. */
TEST(checkpoint_kind_from_metadata)
{
    char dir[64];
    REQUIRE(tmp_dir_make(dir), "tmp dir");
    REQUIRE(ckpt_make_files(dir), "cannot write the files");
    const char *full = path_in(0, dir, "full.safetensors");
    const char *weights = path_in(2, dir, "weights.safetensors");
    const char *chain = path_in(3, dir, "chain.safetensors");
    pcnn_file_kind k = PCNN_FILE_UNKNOWN;
    REQUIRE_OK(pcnn_file_kind_read(full, &k));
    CHECK(k == PCNN_FILE_CHECKPOINT, "full: kind %d", (int)k);
    REQUIRE_OK(pcnn_file_kind_read(weights, &k));
    CHECK(k == PCNN_FILE_CHECKPOINT, "weights: kind %d", (int)k);
    REQUIRE_OK(pcnn_file_kind_read(chain, &k));
    CHECK(k == PCNN_FILE_CHAIN, "chain: kind %d", (int)k);
    const char *bad = path_in(1, dir, "bad.safetensors");
    REQUIRE(ckpt_rewrite(full, bad, &(ckpt_edit){.key = "format"}), "rw");
    EXPECT_FAIL(pcnn_file_kind_read(bad, &k), PCNN_ERR_FORMAT, bad);
    CHECK(k == PCNN_FILE_UNKNOWN, "no format: kind %d", (int)k);
    REQUIRE(ckpt_rewrite(full, bad,
                         &(ckpt_edit){.key = "format", .value = "gguf"}),
            "rw");
    EXPECT_FAIL(pcnn_file_kind_read(bad, &k), PCNN_ERR_FORMAT, "\"gguf\"");
    /* one unparsable training key: still a checkpoint, loaded by nothing */
    REQUIRE(ckpt_rewrite(full, bad,
                         &(ckpt_edit){.key = "beta2", .value = "0.9x"}),
            "rw");
    REQUIRE_OK(pcnn_file_kind_read(bad, &k));
    CHECK(k == PCNN_FILE_CHECKPOINT, "kind %d", (int)k);
    pcnn_model *m = NULL;
    pcnn_chain *ch = NULL;
    char want[300];
    snprintf(want, sizeof want,
             "%s: metadata \"beta2\" = \"0.9x\" is not a number", bad);
    for (int ema = 0; ema <= 1; ema++) {
        CHECK(pcnn_checkpoint_load_model(bad, ema, &m) == PCNN_ERR_FORMAT,
              "loaded (ema %d)", ema);
        CHECK_MSG(want);
        CHECK(pcnn_chain_load(bad, ema, &ch) == PCNN_ERR_FORMAT,
              "loaded as a chain (ema %d)", ema);
        CHECK_MSG(want);
    }
    CHECK(pcnn_checkpoint_read_state(bad, NULL, NULL, NULL, NULL) ==
              PCNN_ERR_FORMAT,
          "state read");
    CHECK_MSG(want);
    /* EMA weights: only from a file that has them */
    snprintf(want, sizeof want,
             "%s: holds no EMA weights (it was saved without a training "
             "state)",
             weights);
    CHECK(pcnn_checkpoint_load_model(weights, 1, &m) == PCNN_ERR_FORMAT,
          "EMA weights from a weights-only file");
    CHECK_MSG(want);
    EXPECT_FAIL(pcnn_chain_load(chain, 1, &ch), PCNN_ERR_ARG, "one set");
    CHECK(m == NULL && ch == NULL, "an object came back");
    REQUIRE_OK(pcnn_chain_load(chain, 0, &ch));
    pcnn_chain_free(ch);
    REQUIRE_OK(pcnn_chain_load(full, 1, &ch));
    pcnn_chain_free(ch);
    tmp_dir_remove(dir);
}

/* Every checkpoint and chain the project ships loads whole, with its
 * EMA weights when it has them (run from the repository's root). */
TEST(results_checkpoints_load)
{
    glob_t g;
    if (glob("results/*/*.safetensors", 0, NULL, &g) != 0) {
        test_skip("no results/*/*.safetensors here");
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *p = g.gl_pathv[i];
        pcnn_file_kind k;
        pcnn_chain *ch = NULL;
        int trainer = 0;
        CHECK(pcnn_file_kind_read(p, &k) == PCNN_OK, "%s", pcnn_last_error());
        if (k == PCNN_FILE_CHECKPOINT)
            CHECK(pcnn_checkpoint_read_state(p, NULL, NULL, NULL, &trainer) ==
                      PCNN_OK,
                  "%s", pcnn_last_error());
        pcnn_model *m = NULL;
        if (k == PCNN_FILE_CHECKPOINT)
            CHECK(pcnn_checkpoint_load_model(p, trainer, &m) == PCNN_OK,
                  "%s", pcnn_last_error());
        else
            CHECK(pcnn_chain_load(p, 0, &ch) == PCNN_OK, "%s",
                  pcnn_last_error());
        pcnn_model_free(m);
        pcnn_chain_free(ch);
    }
    globfree(&g);
}
