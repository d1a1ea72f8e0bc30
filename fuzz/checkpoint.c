/*
 * checkpoint.c -- fuzz target: a checkpoint file as the tool reads it
 * (src/train/checkpoint.c): pcnn_checkpoint_read_state (info, sample,
 * train --resume), pcnn_checkpoint_load_model with the raw and the EMA
 * weights, and, for a file with a trainer, pcnn_checkpoint_load_trainer
 * on a blank data set of the saved size when that is small.
 */
#include "util.h"
#include "pixelcnn.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

/* The "data_n" the file was saved with, or 0. */
static int64_t saved_data_n(const uint8_t *data, size_t size)
{
    pcnn_st_file *f;
    if (pcnn_st_parse(data, size, "fuzz", &f) != PCNN_OK)
        return 0;
    const char *v = pcnn_st_meta(f, "data_n");
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || *end)
        n = 0;
    pcnn_st_free(f);
    return n;
}

/* Restores the trainer of the file at path for m, on n blank images. */
static void load_trainer(const char *path, pcnn_model *m, int64_t n)
{
    const pcnn_model_config *c = pcnn_model_get_config(m);
    const int64_t item = (int64_t)c->channels * c->height * c->width;
    if (n < 1 || n > 64 || n * item > (1 << 20) || c->cond_channels)
        return;
    pcnn_dataset d;
    memset(&d, 0, sizeof d);
    d.images = calloc((size_t)(n * item), 1);
    d.labels = calloc((size_t)n, sizeof *d.labels);
    d.n = n, d.c = c->channels, d.h = c->height, d.w = c->width;
    d.num_classes = c->num_classes;
    if (!c->num_classes)
        free(d.labels), d.labels = NULL;
    pcnn_trainer *t = NULL;
    if (d.images &&
        pcnn_checkpoint_load_trainer(path, m, &d, &t) == PCNN_OK) {
        pcnn_train_state st = pcnn_trainer_state(t);
        if (st.pos < 0 || st.pos > n)
            abort();
        pcnn_trainer_free(t);
    }
    pcnn_dataset_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("checkpoint.safetensors", data, size);
    pcnn_model_config cfg;
    pcnn_train_opts o;
    pcnn_train_state st;
    int has_trainer = 0;
    pcnn_checkpoint_read_state(path, &cfg, &o, &st, &has_trainer);
    for (int ema = 0; ema < 2; ema++) {
        pcnn_model *m = NULL;
        if (pcnn_checkpoint_load_model(path, ema, &m) != PCNN_OK)
            continue;
        if (!ema && has_trainer)
            load_trainer(path, m, saved_data_n(data, size));
        pcnn_model_free(m);
    }
    return 0;
}
