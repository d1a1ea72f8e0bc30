/*
 * train_sample.c -- libpixelcnn end to end: a data set made in memory, a
 * small PixelCNN++ trained on it for a few steps, a checkpoint saved and
 * loaded back, its bits/dim, and samples drawn from it.
 *
 * It includes only <pixelcnn.h> and links the shared library:
 *   cc -o train_sample train_sample.c $(pkg-config --cflags --libs pixelcnn)
 *   ./train_sample [checkpoint path]
 * `make test` builds it against build/libpixelcnn.so and runs it
 * (`make example`), and checks that the function between the two marker
 * comments below is, word for word, the example that opens the header
 * (scripts/check_example.sh).
 */
#include <pixelcnn.h>

#include <math.h>
#include <stdio.h>

/* ---- the header's example: begin ---- */
#define TRY(x) do { if ((s = (x)) != PCNN_OK) goto done; } while (0)

// Trains a small PixelCNN++ for 100 steps on n gray 8x8 images x
// (n, 1, 8, 8), saves it to path, loads its averaged (EMA) weights
// back as a chain of one stage, puts their bits/dim on x in *bpd and
// draws 4 images into out (4, 1, 8, 8). 0 on success, else 1 with a
// message on stderr.
static int train_sample(const uint8_t *x, int64_t n, const char *path,
                        double *bpd, uint8_t *out)
{
    pcnn_status s = PCNN_OK;
    pcnn_ctx *ctx = NULL;
    pcnn_dataset data = {0};
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    pcnn_chain *loaded = NULL;
    TRY(pcnn_ctx_create(&ctx, NULL));        // CPU, all cores
    TRY(pcnn_dataset_from_memory(x, n, 1, 8, 8, NULL, 0, &data));

    pcnn_model_config cfg = pcnn_train_config_default();
    cfg.channels = 1, cfg.height = cfg.width = 8;
    cfg.nr_resnet = 1, cfg.nr_filters = 16, cfg.nr_mix = 2;
    cfg.nr_resolutions = 2, cfg.dropout = 0;
    TRY(pcnn_model_create(&m, &cfg, 1));     // random weights, seed 1
    pcnn_train_opts opts = pcnn_train_opts_default();
    opts.batch = 8;
    TRY(pcnn_trainer_create(&t, m, &data, &opts));
    TRY(pcnn_trainer_init(ctx, t));          // init 0: data init
    pcnn_step_stats st;                      // the last step's
    TRY(pcnn_trainer_run(ctx, t, 100, 0, NULL, &st));
    printf("step 100: %.3f bits/dim on the batch\n", st.bpd);

    // weights, EMA, optimizer and data position, written atomically
    TRY(pcnn_checkpoint_save(path, m, t));
    TRY(pcnn_chain_load(path, 1, &loaded));  // the one loader
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = 16;
    pcnn_chain_eval r;
    TRY(pcnn_chain_evaluate(ctx, loaded, &data, &eo, &r));
    *bpd = r.total;
    printf("loaded: %.3f +- %.3f bits/dim\n", r.total, r.total_se);

    pcnn_model_sample_opts so = pcnn_model_sample_opts_default();
    so.seed = 7;                             // same seed, same images
    TRY(pcnn_chain_sample(ctx, loaded, 4, &so, &out));
done:
    if (s != PCNN_OK)
        fprintf(stderr, "error: %s\n", pcnn_last_error());
    pcnn_chain_free(loaded);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_dataset_free(&data);
    pcnn_ctx_free(ctx);
    return s == PCNN_OK ? 0 : 1;
}
/* ---- the header's example: end ---- */

/* 64 gray 8x8 images: ramps in four directions (image k: direction k % 4)
 * with a little noise from the library's counter-based uniform. */
static void make_images(uint8_t *x, int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) {
                const int ramp[4] = {j, i, (i + j) / 2, (7 - j + i) / 2};
                const int64_t at = (k * 8 + i) * 8 + j;
                x[at] = (uint8_t)(ramp[k % 4] * 30 +
                                  (int)(20 * pcnn_uniform(3, (uint64_t)at)));
            }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "train_sample.safetensors";
    uint8_t x[64 * 8 * 8], out[4 * 8 * 8];
    double bpd = 0;
    make_images(x, 64);
    if (train_sample(x, 64, path, &bpd, out) != 0)
        return 1;
    /* the 4 samples side by side, darkest ' ' to brightest '@' */
    for (int i = 0; i < 8; i++, putchar('\n'))
        for (int b = 0; b < 4; b++, printf("  "))
            for (int j = 0; j < 8; j++)
                putchar(" .:-=+*#%@"[out[(b * 8 + i) * 8 + j] * 10 / 256]);
    /* 8 bits/dim is a uniform guess: training must do clearly better */
    if (!isfinite(bpd) || bpd >= 7) {
        fprintf(stderr, "train_sample: %.3f bits/dim after training\n", bpd);
        return 1;
    }
    return 0;
}
