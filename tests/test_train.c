/*
 * test_train.c -- the trainer and checkpoints: learning happens, resuming
 * is exact, a non-finite loss changes nothing, checkpoints round-trip and
 * malformed ones are rejected.
 */
#include "test.h"
#include "pixelcnn.h"
#include "train/trainer.h" /* pcnn_evaluate: a stage on its own data */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 48 gray 8x8 images: smooth gradients with noise, 3 classes. */
static pcnn_dataset toy_data(void)
{
    pcnn_dataset d = {0};
    d.n = 48, d.c = 1, d.h = 8, d.w = 8, d.num_classes = 3;
    d.images = xcalloc((size_t)(d.n * 64), 1);
    d.labels = xcalloc((size_t)d.n, sizeof(int32_t));
    for (int64_t i = 0; i < d.n; i++) {
        d.labels[i] = (int32_t)(i % 3);
        for (int k = 0; k < 64; k++) {
            double v = 40.0 * (double)(k / 8 + (i % 3) * (k % 8)) +
                       20.0 * pcnn_uniform(9, (uint64_t)(i * 64 + k));
            d.images[i * 64 + k] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    return d;
}

static pcnn_model_config toy_config(void)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 1, c.height = c.width = 8;
    c.nr_resnet = 1, c.nr_filters = 8, c.nr_mix = 2, c.nr_resolutions = 2;
    c.dropout = 0.3f;
    return c;
}

static pcnn_train_opts toy_opts(void)
{
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = 8, o.lr = 3e-3f, o.seed = 77;
    return o;
}

TEST(train_loss_decreases)
{
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_trainer *t;
    pcnn_dataset d = toy_data();
    pcnn_model_config c = toy_config();
    pcnn_train_opts o = toy_opts();
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    REQUIRE_OK(pcnn_trainer_create(&t, m, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, t));
    double first = 0, last = 0;
    pcnn_step_stats st;
    for (int i = 0; i < 60; i++) {
        REQUIRE_OK(pcnn_trainer_step(ctx, t, &st));
        CHECK(isfinite(st.grad_norm) && st.grad_norm > 0, "grad norm %g",
              st.grad_norm);
        if (i < 6)
            first += st.bpd / 6;
        if (i >= 54)
            last += st.bpd / 6;
    }
    CHECK(last < first - 0.3, "bits/dim %.3f -> %.3f after 60 steps", first,
          last);
    pcnn_train_state s = pcnn_trainer_state(t);
    CHECK(s.step == 60 && s.epoch == 9 && s.pos == 48,
          "state step %llu epoch %llu pos %lld (48 images, batch 8)",
          (unsigned long long)s.step, (unsigned long long)s.epoch,
          (long long)s.pos);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
}

static char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "/tmp/pcnn_test_%d_%s", (int)getpid(), name);
    return p;
}

/* 7 straight steps equal 3 steps, save, load, 4 steps: bit for bit. */
TEST(train_resume_is_exact)
{
    pcnn_ctx *ctx;
    pcnn_dataset d = toy_data();
    pcnn_model_config c = toy_config();
    pcnn_train_opts o = toy_opts();
    o.batch = 20; /* 48 images: epochs end with a skipped remainder */
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    pcnn_model *a, *b;
    pcnn_trainer *ta, *tb;
    REQUIRE_OK(pcnn_model_create(&a, &c, 5));
    REQUIRE_OK(pcnn_trainer_create(&ta, a, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, ta));
    const char *path = tmp_path("resume.safetensors");
    for (int i = 0; i < 7; i++) {
        if (i == 3)
            REQUIRE_OK(pcnn_checkpoint_save(path, a, ta));
        REQUIRE_OK(pcnn_trainer_step(ctx, ta, NULL));
    }
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &b));
    REQUIRE_OK(pcnn_checkpoint_load_trainer(path, b, &d, &tb));
    pcnn_train_state s = pcnn_trainer_state(tb);
    CHECK(s.step == 3 && s.epoch == 1 && s.pos == 20,
          "resumed at step %llu epoch %llu pos %lld",
          (unsigned long long)s.step, (unsigned long long)s.epoch,
          (long long)s.pos);
    for (int i = 3; i < 7; i++)
        REQUIRE_OK(pcnn_trainer_step(ctx, tb, NULL));
    size_t n, nb;
    float *pa = pcnn_model_params(a, &n), *pb = pcnn_model_params(b, &nb);
    CHECK(n == nb && memcmp(pa, pb, n * sizeof(float)) == 0,
          "weights differ after resuming");
    pcnn_trainer_swap_ema(ta);
    pcnn_trainer_swap_ema(tb);
    CHECK(memcmp(pa, pb, n * sizeof(float)) == 0, "EMA differs");
    /* a reset EMA equals the weights: swapping then changes nothing */
    pcnn_trainer_swap_ema(tb); /* back to the raw weights */
    float *raw = xcalloc(n, sizeof(float));
    memcpy(raw, pb, n * sizeof(float));
    CHECK(memcmp(raw, pa, n * sizeof(float)) != 0,
          "EMA and weights already equal: the reset check would be empty");
    pcnn_trainer_reset_ema(tb);
    pcnn_trainer_swap_ema(tb);
    CHECK(memcmp(raw, pb, n * sizeof(float)) == 0, "reset EMA != weights");
    free(raw);
    pcnn_trainer_free(ta), pcnn_trainer_free(tb);
    pcnn_model_free(a), pcnn_model_free(b);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    unlink(path);
}

TEST(train_nonfinite_loss_changes_nothing)
{
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_trainer *t;
    pcnn_dataset d = toy_data();
    pcnn_model_config c = toy_config();
    pcnn_train_opts o = toy_opts();
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_model_create(&m, &c, 1));
    REQUIRE_OK(pcnn_trainer_create(&t, m, &d, &o));
    REQUIRE_OK(pcnn_trainer_init(ctx, t));
    REQUIRE_OK(pcnn_trainer_step(ctx, t, NULL));
    size_t n;
    float *p = pcnn_model_params(m, &n);
    p[pcnn_model_param(m, pcnn_model_find_param(m, "out.b")).data - p] =
        NAN;
    float *keep = xcalloc(n, sizeof(float));
    memcpy(keep, p, n * sizeof(float));
    pcnn_train_state before = pcnn_trainer_state(t);
    CHECK(pcnn_trainer_step(ctx, t, NULL) == PCNN_ERR_VALUE,
          "a NaN weight trained on");
    CHECK(strstr(pcnn_last_error(), "not finite") != NULL, "message: %s",
          pcnn_last_error());
    CHECK(memcmp(keep, p, n * sizeof(float)) == 0, "weights changed");
    pcnn_train_state after = pcnn_trainer_state(t);
    CHECK(after.step == before.step && after.pos == before.pos,
          "the cursor moved");
    free(keep);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = xcalloc((size_t)n, 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

TEST(checkpoint_roundtrip_and_rejects)
{
    pcnn_model *m, *back;
    pcnn_model_config c = toy_config();
    c.num_classes = 3;
    REQUIRE_OK(pcnn_model_create(&m, &c, 3));
    const char *path = tmp_path("ck.safetensors");
    const char *bad = tmp_path("bad.safetensors");
    REQUIRE_OK(pcnn_checkpoint_save(path, m, NULL));
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &back));
    size_t n, nb;
    float *p = pcnn_model_params(m, &n), *q = pcnn_model_params(back, &nb);
    CHECK(n == nb && memcmp(p, q, n * 4) == 0, "weights differ");
    CHECK(pcnn_model_get_config(back)->num_classes == 3, "config lost");
    pcnn_model_free(back);
    CHECK(pcnn_checkpoint_load_model(path, 1, &back) == PCNN_ERR_FORMAT,
          "EMA weights loaded from a file without them");
    pcnn_model_config rc;
    int has = 1;
    REQUIRE_OK(pcnn_checkpoint_read_state(path, &rc, NULL, NULL, &has));
    CHECK(!has && rc.nr_filters == 8, "read_state");
    /* every truncation is rejected, none crashes */
    size_t len;
    unsigned char *bytes = read_all(path, &len);
    REQUIRE(bytes, "cannot read %s", path);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut += 1 + cut / 7) {
        write_all(bad, bytes, cut);
        if (pcnn_checkpoint_load_model(bad, 0, &back) == PCNN_OK) {
            accepted++;
            pcnn_model_free(back);
        }
    }
    CHECK(accepted == 0, "%d truncated files accepted", accepted);
    CHECK(strstr(pcnn_last_error(), bad) != NULL,
          "message does not name the file: %s", pcnn_last_error());
    /* a NaN inside a tensor's data */
    unsigned char *nan_file = xcalloc(len, 1);
    memcpy(nan_file, bytes, len);
    uint32_t nanbits = 0x7fc00000u;
    memcpy(nan_file + len - 4, &nanbits, 4);
    write_all(bad, nan_file, len);
    CHECK(pcnn_checkpoint_load_model(bad, 0, &back) == PCNN_ERR_FORMAT,
          "a NaN weight accepted");
    /* a failed save leaves the old file whole */
    char dirpath[300];
    snprintf(dirpath, sizeof dirpath, "%s/nope/ck.safetensors", path);
    CHECK(pcnn_checkpoint_save(dirpath, m, NULL) == PCNN_ERR_IO,
          "save into a missing folder succeeded");
    REQUIRE_OK(pcnn_checkpoint_load_model(path, 0, &back));
    pcnn_model_free(back);
    free(bytes), free(nan_file);
    pcnn_model_free(m);
    unlink(path), unlink(bad);
}

/* Mirrors every image of d left-right in place (images only). */
static void mirror_all(pcnn_dataset *d)
{
    for (int64_t r = 0; r < d->n * d->c * d->h; r++) {
        uint8_t *p = d->images + r * d->w;
        for (int64_t j = 0; j < d->w / 2; j++) {
            uint8_t v = p[j];
            p[j] = p[d->w - 1 - j], p[d->w - 1 - j] = v;
        }
    }
}

/* --flip: each step trains on the image or its mirror, the condition
 * image mirrored with it (a stage conditioned on half(x)), both occur,
 * and without flip only the image does. A tiny lr keeps the weights
 * (and so each step's loss) all but fixed. */
TEST(train_flip_mirrors_images_and_conditions)
{
    pcnn_ctx *ctx;
    pcnn_dataset all = toy_data(), one, plain, mirrored;
    REQUIRE_OK(pcnn_dataset_subset(&all, 1, 1, &one));
    const pcnn_view id = {0, 0, 0}, half = {1, 0, 0};
    REQUIRE_OK(pcnn_stage_dataset(&one, &id, &half, &plain));
    mirror_all(&one);
    REQUIRE_OK(pcnn_stage_dataset(&one, &id, &half, &mirrored));
    pcnn_model_config c = toy_config();
    c.dropout = 0;
    c.cond_channels = 1, c.cond_nr_resnet = 1, c.cond_nr_filters = 4;
    c.cond_down = 1, c.cond_view = half;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    for (int flip = 0; flip <= 1; flip++) {
        pcnn_model *m;
        pcnn_trainer *t;
        pcnn_train_opts o = toy_opts();
        o.batch = 1, o.lr = 1e-8f, o.flip = flip;
        REQUIRE_OK(pcnn_model_create(&m, &c, 3));
        REQUIRE_OK(pcnn_trainer_create(&t, m, &plain, &o));
        REQUIRE_OK(pcnn_trainer_init(ctx, t));
        double a, b;
        REQUIRE_OK(pcnn_evaluate(ctx, m, &plain, 1, 0, &a, NULL));
        REQUIRE_OK(pcnn_evaluate(ctx, m, &mirrored, 1, 0, &b, NULL));
        CHECK(fabs(a - b) > 1e-2, "image and mirror score alike: %g %g", a,
              b);
        int na = 0, nb = 0, other = 0;
        for (int k = 0; k < 24; k++) {
            pcnn_step_stats st;
            REQUIRE_OK(pcnn_trainer_step(ctx, t, &st));
            if (fabs(st.bpd - a) < 1e-3)
                na++;
            else if (fabs(st.bpd - b) < 1e-3)
                nb++;
            else
                other++;
        }
        CHECK(other == 0, "flip %d: %d steps match neither", flip, other);
        CHECK(flip ? na > 0 && nb > 0 : nb == 0,
              "flip %d: %d plain and %d mirrored steps", flip, na, nb);
        pcnn_trainer_free(t);
        pcnn_model_free(m);
    }
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&all), pcnn_dataset_free(&one);
    pcnn_dataset_free(&plain), pcnn_dataset_free(&mirrored);
}
