/* evaluate.c -- bits/dim of a model on a data set, with its standard error. */
#include "trainer.h"

#include <math.h>
#include <string.h>

pcnn_status pcnn_evaluate(pcnn_ctx *ctx, pcnn_model *m,
                          const pcnn_dataset *data, int batch, int64_t limit,
                          double *mean, double *se)
{
    static const char fn[] = "pcnn_evaluate";
    if (!m || !data || !mean)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    if (batch < 1 || batch > 65536)
        return pcnn_fail(PCNN_ERR_ARG, "%s: batch %d not in 1..65536", fn,
                         batch);
    const pcnn_model_config *c = pcnn_model_get_config(m);
    if (c->num_classes > 0 && !data->labels)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: the model is class-conditional; the data "
                         "have no labels",
                         fn);
    if (data->c != c->channels || data->h != c->height ||
        data->w != c->width)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: the data are %lldx%lldx%lld images, the model "
                         "takes %dx%dx%d",
                         fn, (long long)data->c, (long long)data->h,
                         (long long)data->w, c->channels, c->height,
                         c->width);
    PCNN_TRY(pcnn_check_stage_data(fn, m, data));
    int64_t n = limit > 0 && limit < data->n ? limit : data->n;
    const int64_t Cc = c->cond_channels;
    uint8_t *cond = NULL;
    float *map = NULL;
    if (Cc > 0) {
        cond = malloc((size_t)(batch * Cc * data->cond_h * data->cond_w));
        map = malloc((size_t)(batch * Cc * c->height * c->width) *
                     sizeof *map);
        if (!cond || !map) {
            free(cond), free(map);
            return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
        }
    }
    size_t img = (size_t)(data->c * data->h * data->w);
    uint8_t *x = malloc((size_t)batch * img);
    int32_t *labels = calloc((size_t)batch, sizeof *labels);
    double *bpd = malloc((size_t)batch * sizeof *bpd);
    int64_t *idx = malloc((size_t)batch * sizeof *idx);
    pcnn_status s = x && labels && bpd && idx
                        ? PCNN_OK
                        : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    double sum = 0, sq = 0;
    for (int64_t start = 0; s == PCNN_OK && start < n; start += batch) {
        int64_t b = n - start < batch ? n - start : batch;
        for (int64_t i = 0; i < b; i++)
            idx[i] = start + i;
        s = pcnn_dataset_gather(data, idx, b, x,
                                c->num_classes ? labels : NULL);
        pcnn_batch bt = {pcnn_img(x, b, data->c, data->h, data->w),
                         c->num_classes ? labels : NULL, pcnn_none()};
        if (s == PCNN_OK && Cc > 0) {
            bt.cond = pcnn_t4(map, b, Cc, c->height, c->width);
            s = pcnn_dataset_gather_cond(data, idx, b, cond);
            if (s == PCNN_OK)
                s = pcnn_cond_map(bt.cond, cond, data->cond_h, data->cond_w,
                                  data->cond_levels);
        }
        if (s == PCNN_OK)
            s = pcnn_model_loss(ctx, m, &bt, 0, 0, NULL, bpd);
        for (int64_t i = 0; s == PCNN_OK && i < b; i++)
            sum += bpd[i], sq += bpd[i] * bpd[i];
    }
    free(x), free(labels), free(bpd), free(idx), free(cond), free(map);
    if (s != PCNN_OK)
        return s;
    *mean = sum / (double)n;
    if (se)
        *se = pcnn_std_error(sum, sq, n);
    return PCNN_OK;
}
