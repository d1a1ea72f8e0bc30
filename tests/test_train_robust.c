/*
 * test_train_robust.c -- checkpoints under concurrent writers (a unique
 * temp file per save) and resumes on other data (the data fingerprint).
 */
#include "test.h"
#include "pixelcnn.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* 32 gray 8x8 images with labels 0..3, from seed. */
static pcnn_dataset small_data(uint64_t seed)
{
    pcnn_dataset d = {0};
    d.n = 32, d.c = 1, d.h = 8, d.w = 8, d.num_classes = 4;
    d.images = xcalloc((size_t)(d.n * 64), 1);
    d.labels = xcalloc((size_t)d.n, sizeof(int32_t));
    for (int64_t i = 0; i < d.n; i++) {
        d.labels[i] = (int32_t)(i % 4);
        for (int k = 0; k < 64; k++)
            d.images[i * 64 + k] =
                (uint8_t)(256 * pcnn_uniform(seed, (uint64_t)(i * 64 + k)));
    }
    return d;
}

static pcnn_model_config small_config(void)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 4, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0;
    return c;
}

static pcnn_dataset copy_data(const pcnn_dataset *d)
{
    pcnn_dataset c = {0};
    if (pcnn_dataset_subset(d, 0, d->n, &c) != PCNN_OK)
        test_fail(__FILE__, __LINE__, "subset: %s", pcnn_last_error());
    return c;
}

TEST(dataset_fingerprint_sees_every_part)
{
    pcnn_dataset a = small_data(5), b = copy_data(&a);
    const uint64_t fa = pcnn_dataset_fingerprint(&a);
    CHECK(fa != 0 && fa == pcnn_dataset_fingerprint(&b),
          "equal data sets, fingerprints %016llx %016llx",
          (unsigned long long)fa,
          (unsigned long long)pcnn_dataset_fingerprint(&b));
    /* a byte in the 32-byte lanes, the last byte, a label, the shape */
    const size_t bytes = (size_t)(a.n * 64), at[2] = {100, bytes - 1};
    for (int k = 0; k < 2; k++) {
        b.images[at[k]] ^= 1;
        CHECK(pcnn_dataset_fingerprint(&b) != fa, "byte %zu not seen", at[k]);
        b.images[at[k]] ^= 1;
    }
    b.labels[7] = 3 - b.labels[7];
    CHECK(pcnn_dataset_fingerprint(&b) != fa, "a label not seen");
    b.labels[7] = a.labels[7];
    b.n = 16, b.h = 16;
    CHECK(pcnn_dataset_fingerprint(&b) != fa, "the shape not seen");
    b.n = a.n, b.h = a.h;
    int32_t *labels = b.labels;
    b.labels = NULL, b.num_classes = 0;
    CHECK(pcnn_dataset_fingerprint(&b) != fa, "dropped labels not seen");
    b.labels = labels, b.num_classes = a.num_classes;
    CHECK(pcnn_dataset_fingerprint(&b) == fa, "restored");
    pcnn_dataset_free(&a);
    pcnn_dataset_free(&b);
}

static char *tmp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/pcnn_robust_XXXXXX");
    return mkdtemp(dir);
}

/* Renames the metadata key "data_fingerprint" in the file (same length,
 * so every offset stays): a checkpoint from before the key existed. */
static int drop_fingerprint_key(const char *path)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return 1;
    unsigned char len8[8];
    int rc = 1;
    if (fread(len8, 1, 8, f) == 8) {
        size_t n = 0;
        for (int k = 7; k >= 0; k--)
            n = n << 8 | len8[k];
        char *h = xcalloc(n + 1, 1);
        char *at;
        if (fread(h, 1, n, f) == n &&
            (at = strstr(h, "\"data_fingerprint\""))) {
            at[1] = 'x';
            rc = fseek(f, 8, SEEK_SET) != 0 || fwrite(h, 1, n, f) != n;
        }
        free(h);
    }
    return fclose(f) != 0 || rc;
}

TEST(train_resume_refuses_other_data)
{
    char *dir = tmp_dir();
    REQUIRE(dir, "mkdtemp");
    char path[128];
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);
    pcnn_ctx *ctx;
    pcnn_model *m, *back;
    pcnn_trainer *t, *tb = NULL;
    pcnn_dataset d = small_data(11);
    pcnn_model_config c = small_config();
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 8;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    REQUIRE_OK(pcnn_trainer_create(&t, m, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, t));
    REQUIRE_OK(pcnn_trainer_step(ctx, t, NULL));
    REQUIRE_OK(pcnn_checkpoint_save(path, m, t));
    uint64_t fp = 0;
    REQUIRE_OK(pcnn_checkpoint_data_fingerprint(path, &fp));
    CHECK(fp == pcnn_dataset_fingerprint(&d), "saved fingerprint %016llx",
          (unsigned long long)fp);
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &back));
    /* the same data: resumes */
    pcnn_dataset same = copy_data(&d);
    CHECK(pcnn_checkpoint_load_trainer(path, back, &same, &tb) == PCNN_OK,
          "same data refused: %s", pcnn_last_error());
    pcnn_trainer_free(tb), tb = NULL;
    /* as many images, one pixel or one label different: refused */
    pcnn_dataset other = copy_data(&d);
    other.images[5 * 64 + 9] ^= 0x40;
    CHECK(pcnn_checkpoint_load_trainer(path, back, &other, &tb) ==
                  PCNN_ERR_ARG &&
              strstr(pcnn_last_error(), "other data") &&
              strstr(pcnn_last_error(), path),
          "a changed pixel: %s", pcnn_last_error());
    CHECK(tb == NULL, "a refused trainer was returned");
    other.images[5 * 64 + 9] ^= 0x40;
    other.labels[3] = (other.labels[3] + 1) % 4;
    CHECK(pcnn_checkpoint_load_trainer(path, back, &other, &tb) ==
              PCNN_ERR_ARG,
          "a changed label accepted");
    /* a file from before the key: loads as before (the count checked) */
    REQUIRE(drop_fingerprint_key(path) == 0, "cannot edit %s", path);
    REQUIRE_OK(pcnn_checkpoint_data_fingerprint(path, &fp));
    CHECK(fp == 0, "a file without the key gives %016llx",
          (unsigned long long)fp);
    CHECK(pcnn_checkpoint_load_trainer(path, back, &other, &tb) == PCNN_OK,
          "an old checkpoint refused: %s", pcnn_last_error());
    pcnn_trainer_free(tb);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_model_free(back);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    pcnn_dataset_free(&same);
    pcnn_dataset_free(&other);
    unlink(path);
    rmdir(dir);
}

/* Files in dir whose name contains ".tmp." */
static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

TEST(checkpoint_save_temp_is_unique)
{
    char *dir = tmp_dir();
    REQUIRE(dir, "mkdtemp");
    char path[128], fixed[160];
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);
    /* the old fixed temp name taken (here by a folder): saving still works */
    snprintf(fixed, sizeof fixed, "%s.tmp", path);
    REQUIRE(mkdir(fixed, 0777) == 0, "mkdir %s", fixed);
    pcnn_model_config c = small_config();
    pcnn_model *m[2], *back;
    REQUIRE_OK(pcnn_model_create(&m[0], &c, 1));
    REQUIRE_OK(pcnn_model_create(&m[1], &c, 2));
    REQUIRE_OK(pcnn_checkpoint_save(path, m[0], NULL));
    /* two processes save other models to one path at once, many times:
     * the file is always one of them, whole, and no temp file is left */
    pid_t pid[2];
    for (int k = 0; k < 2; k++) {
        pid[k] = fork();
        REQUIRE(pid[k] >= 0, "fork");
        if (pid[k] == 0) {
            int bad = 0;
            for (int r = 0; r < 40; r++)
                bad |= pcnn_checkpoint_save(path, m[k], NULL) != PCNN_OK;
            _exit(bad);
        }
    }
    int failed = 0;
    for (int k = 0; k < 2; k++) {
        int st;
        waitpid(pid[k], &st, 0);
        failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    CHECK(failed == 0, "%d writers failed", failed);
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &back));
    size_t n;
    const float *p = pcnn_model_params(back, &n);
    CHECK(!memcmp(p, pcnn_model_params(m[0], NULL), n * sizeof *p) ||
              !memcmp(p, pcnn_model_params(m[1], NULL), n * sizeof *p),
          "the file is neither model");
    CHECK(count_temps(dir) == 0, "%d temp files left", count_temps(dir));
    pcnn_model_free(back);
    pcnn_model_free(m[0]);
    pcnn_model_free(m[1]);
    unlink(path);
    rmdir(fixed);
    rmdir(dir);
}
