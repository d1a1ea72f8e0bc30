/*
 * sampling.c -- what pixelcnn sample, complete and upscale share
 * (sampling.h).
 */
#include "sampling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sampling_init(common *c, const char *out, int n)
{
    memset(c, 0, sizeof *c);
    c->out = out;
    c->n = n;
    c->cls = -1;
    c->seed = 1;
    c->temperature = 1;
}

void sampling_given(common *c, const cli_cmd *p)
{
    c->has_offset = cli_given(p, "--log-scale-offset");
    c->has_temperature = cli_given(p, "--temperature");
}

int sampling_check_outputs(const char *cmd, const common *c)
{
    int rc = cli_check_output(cmd, "-o", c->out);
    if (!rc && c->npy)
        rc = cli_check_output(cmd, "--npy", c->npy);
    return rc;
}

int sampling_check_flags(const char *cmd, const common *c,
                         const pcnn_model_config *const *cfg, int n)
{
    int classes = 0, categorical = 0, dmol = 0;
    for (int i = 0; i < n; i++) {
        classes |= cfg[i]->num_classes > 0;
        categorical |= cfg[i]->head == PCNN_HEAD_CATEGORICAL;
        dmol |= cfg[i]->head == PCNN_HEAD_DMOL;
    }
    if (c->cls >= 0 && !classes)
        return cli_not_applicable(cmd, "--class",
                                  "the model is not class-conditional");
    if (c->has_temperature && !categorical)
        return cli_not_applicable(cmd, "--temperature",
                                  "it scales categorical heads; the model "
                                  "has logistic-mixture heads only");
    if (c->has_offset && !dmol)
        return cli_not_applicable(cmd, "--log-scale-offset",
                                  "it shifts logistic-mixture heads; the "
                                  "model has categorical heads only");
    return 0;
}

int sampling_load_inputs(const char *cmd, inputs *in, int C, int H, int W,
                         pcnn_dataset *d, int64_t *K)
{
    int rc = 0;
    if (in->image) {
        if (pcnn_dataset_load_image(in->image, C, H, d) != PCNN_OK) {
            fprintf(stderr, "pixelcnn %s: %s\n", cmd, pcnn_last_error());
            return 1;
        }
        in->index = 0, in->count = 1;
    } else if ((rc = cli_load_data(cmd, in->data, in->split, H, d))) {
        return rc;
    }
    if (d->c != C || d->h != H || d->w != W) {
        fprintf(stderr, "pixelcnn %s: images are %lldx%lldx%lld, the model "
                        "makes %dx%dx%d\n",
                cmd, (long long)d->c, (long long)d->h, (long long)d->w, C, H,
                W);
        return 1;
    }
    if (in->index >= d->n) {
        fprintf(stderr, "pixelcnn %s: --index %d: the data set has %lld "
                        "images\n",
                cmd, in->index, (long long)d->n);
        return 2;
    }
    *K = in->index + in->count <= d->n ? in->count : d->n - in->index;
    return 0;
}

pcnn_model_sample_opts sampling_opts(const common *c, const int32_t *labels,
                                     const char *cmd)
{
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = (uint64_t)c->seed;
    o.log_scale_offset = (float)c->offset;
    o.temperature = (float)c->temperature;
    o.labels = labels;
    o.naive = c->naive;
    o.consistent = c->consistent;
    o.progress = cli_progress(cmd);
    return o;
}

int sampling_scale(const common *c, const pcnn_model_config *cfg)
{
    return c->scale ? c->scale : cfg->height < 64 ? 2 : 1;
}

void sampling_display(uint8_t *dst, int C, int H, int W, const uint8_t *img,
                      int c, int h, int w, int levels)
{
    for (int ch = 0; ch < C; ch++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                int v = img[((c == 1 ? 0 : ch) * h + i * h / H) * w +
                            j * w / W];
                dst[(ch * H + i) * W + j] = (uint8_t)(v * 255 / (levels - 1));
            }
}
