/*
 * cnn.c -- the classifier of cnn.h: forward and backward through
 * libpixelcnn's conv and elu ops, softmax cross-entropy, Adam.
 */
#include "cnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRYS(x)                                                               \
    do {                                                                      \
        pcnn_status s_ = (x);                                                 \
        if (s_ != PCNN_OK)                                                    \
            return s_;                                                        \
    } while (0)

static const char MAGIC[8] = {'P', 'D', 'C', 'N', 'N', '0', '0', '1'};

static void set_shapes(cnn *net)
{
    static const int co[CNN_LAYERS] = {32, 64, 64, CNN_CLASSES};
    static const int k[CNN_LAYERS] = {3, 3, 3, 7};
    static const int st[CNN_LAYERS] = {1, 2, 2, 1};
    static const int pad[CNN_LAYERS] = {1, 1, 1, 0};
    int ci = 1;
    int64_t side = CNN_SIDE;
    for (int l = 0; l < CNN_LAYERS; l++) {
        cnn_layer_shape *s = &net->shape[l];
        s->ci = ci, s->co = co[l], s->k = k[l], s->stride = st[l];
        s->pad = pad[l];
        /* stride 2 on an even side: one row of padding at the end is
         * never read, so none is added */
        s->pad_end = st[l] == 2 ? 0 : pad[l];
        s->hi = side;
        s->ho = (side + s->pad + s->pad_end - s->k) / s->stride + 1;
        side = s->ho, ci = co[l];
    }
}

static pcnn_conv_geom geom(const cnn_layer_shape *s)
{
    pcnn_conv_geom g = {0};
    g.kh = g.kw = s->k, g.stride = s->stride, g.dilation = 1;
    g.pad_top = g.pad_left = s->pad;
    g.pad_bottom = g.pad_right = s->pad_end;
    return g;
}

static int64_t wcount(const cnn_layer_shape *s)
{
    return (int64_t)s->co * s->ci * s->k * s->k;
}

/* He initialization: normal with variance 2 / fan-in (Box-Muller on the
 * library's counter-based uniform); biases 0. */
static void init_weights(cnn *net, uint64_t seed)
{
    uint64_t k = 0;
    for (int l = 0; l < CNN_LAYERS; l++) {
        const cnn_layer_shape *s = &net->shape[l];
        double sd = sqrt(2.0 / (s->ci * s->k * s->k));
        for (int64_t i = 0; i < wcount(s); i++, k += 2) {
            double u1 = 1.0 - pcnn_uniform(seed, k);
            double u2 = pcnn_uniform(seed, k + 1);
            double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
            net->w[l][i] = (float)(sd * z);
        }
    }
}

static int alloc_buffers(cnn *net, int64_t cap)
{
    net->cap = cap;
    net->act[0] = calloc((size_t)(cap * CNN_SIDE * CNN_SIDE), sizeof(float));
    net->dact[0] = calloc((size_t)(cap * CNN_SIDE * CNN_SIDE), sizeof(float));
    if (!net->act[0] || !net->dact[0])
        return -1;
    for (int l = 0; l < CNN_LAYERS; l++) {
        const cnn_layer_shape *s = &net->shape[l];
        size_t n = (size_t)(cap * s->co * s->ho * s->ho);
        net->pre[l] = calloc(n, sizeof(float));
        net->dpre[l] = calloc(n, sizeof(float));
        net->act[l + 1] = l + 1 < CNN_LAYERS ? calloc(n, sizeof(float))
                                             : net->pre[l];
        net->dact[l + 1] = l + 1 < CNN_LAYERS ? calloc(n, sizeof(float))
                                              : net->dpre[l];
        if (!net->pre[l] || !net->dpre[l] || !net->act[l + 1] ||
            !net->dact[l + 1])
            return -1;
    }
    return 0;
}

int cnn_create(cnn *net, int64_t cap, uint64_t seed)
{
    memset(net, 0, sizeof *net);
    set_shapes(net);
    size_t n = 0;
    for (int l = 0; l < CNN_LAYERS; l++)
        n += (size_t)wcount(&net->shape[l]) + (size_t)net->shape[l].co;
    net->nparams = n;
    net->params = calloc(n, sizeof(float));
    net->grads = calloc(n, sizeof(float));
    net->m1 = calloc(n, sizeof(float));
    net->m2 = calloc(n, sizeof(float));
    if (!net->params || !net->grads || !net->m1 || !net->m2)
        return -1;
    size_t off = 0;
    for (int l = 0; l < CNN_LAYERS; l++) {
        net->w[l] = net->params + off, net->dw[l] = net->grads + off;
        off += (size_t)wcount(&net->shape[l]);
        net->b[l] = net->params + off, net->db[l] = net->grads + off;
        off += (size_t)net->shape[l].co;
    }
    init_weights(net, seed);
    return alloc_buffers(net, cap);
}

void cnn_free(cnn *net)
{
    free(net->params), free(net->grads), free(net->m1), free(net->m2);
    free(net->act[0]), free(net->dact[0]);
    for (int l = 0; l < CNN_LAYERS; l++) {
        if (l + 1 < CNN_LAYERS)
            free(net->act[l + 1]), free(net->dact[l + 1]);
        free(net->pre[l]), free(net->dpre[l]);
    }
    memset(net, 0, sizeof *net);
}

int cnn_save(const cnn *net, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t n = net->nparams;
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(n >> (8 * i));
    int ok = fwrite(MAGIC, 1, 8, f) == 8 && fwrite(len, 1, 8, f) == 8 &&
             fwrite(net->params, sizeof(float), n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int cnn_load(cnn *net, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char magic[8];
    uint8_t len[8];
    uint64_t n = 0;
    int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, MAGIC, 8) &&
             fread(len, 1, 8, f) == 8;
    for (int i = 0; ok && i < 8; i++)
        n |= (uint64_t)len[i] << (8 * i);
    ok = ok && n == net->nparams &&
         fread(net->params, sizeof(float), n, f) == n && fgetc(f) == EOF;
    fclose(f);
    return ok ? 0 : -1;
}

static pcnn_tensor act_t(const cnn *net, float *p, int l, int64_t B)
{
    if (l == 0)
        return pcnn_t4(p, B, 1, CNN_SIDE, CNN_SIDE);
    const cnn_layer_shape *s = &net->shape[l - 1];
    return pcnn_t4(p, B, s->co, s->ho, s->ho);
}

pcnn_status cnn_forward(pcnn_ctx *ctx, cnn *net, const uint8_t *px,
                        const float *pxf, int64_t B, float *logits)
{
    int64_t n = B * CNN_SIDE * CNN_SIDE;
    for (int64_t i = 0; i < n; i++)
        net->act[0][i] = (pxf ? pxf[i] : (float)px[i]) / 127.5f - 1.0f;
    for (int l = 0; l < CNN_LAYERS; l++) {
        const cnn_layer_shape *s = &net->shape[l];
        pcnn_conv_geom g = geom(s);
        pcnn_tensor y = act_t(net, net->pre[l], l + 1, B);
        TRYS(pcnn_conv2d_forward(
            ctx, y, act_t(net, net->act[l], l, B),
            pcnn_t4(net->w[l], s->co, s->ci, s->k, s->k),
            pcnn_t1(net->b[l], s->co), &g));
        if (l + 1 < CNN_LAYERS)
            TRYS(pcnn_elu_forward(ctx, act_t(net, net->act[l + 1], l + 1, B),
                                  y));
    }
    memcpy(logits, net->pre[CNN_LAYERS - 1],
           (size_t)(B * CNN_CLASSES) * sizeof(float));
    return PCNN_OK;
}

double cnn_xent(const float *logits, const int32_t *labels, int64_t B,
                float scale, float *d)
{
    double total = 0;
    for (int64_t b = 0; b < B; b++) {
        const float *z = logits + b * CNN_CLASSES;
        float mx = z[0];
        for (int k = 1; k < CNN_CLASSES; k++)
            mx = z[k] > mx ? z[k] : mx;
        double sum = 0;
        for (int k = 0; k < CNN_CLASSES; k++)
            sum += exp((double)(z[k] - mx));
        total += log(sum) - (double)(z[labels[b]] - mx);
        for (int k = 0; d && k < CNN_CLASSES; k++) {
            double p = exp((double)(z[k] - mx)) / sum;
            d[b * CNN_CLASSES + k] =
                (float)(scale * (p - (k == labels[b] ? 1.0 : 0.0)));
        }
    }
    return total / (double)B;
}

pcnn_status cnn_backward(pcnn_ctx *ctx, cnn *net, int64_t B,
                         const float *dlogits, int params, float *dpix)
{
    if (params)
        memset(net->grads, 0, net->nparams * sizeof(float));
    memcpy(net->dpre[CNN_LAYERS - 1], dlogits,
           (size_t)(B * CNN_CLASSES) * sizeof(float));
    for (int l = CNN_LAYERS - 1; l >= 0; l--) {
        const cnn_layer_shape *s = &net->shape[l];
        pcnn_conv_geom g = geom(s);
        pcnn_tensor dy = act_t(net, net->dpre[l], l + 1, B);
        if (l + 1 < CNN_LAYERS) {
            memset(net->dpre[l], 0, (size_t)pcnn_numel(dy) * sizeof(float));
            TRYS(pcnn_elu_backward(ctx, dy,
                                   act_t(net, net->dact[l + 1], l + 1, B),
                                   act_t(net, net->pre[l], l + 1, B)));
        }
        pcnn_tensor dx = pcnn_none();
        if (l > 0 || dpix) {
            dx = act_t(net, net->dact[l], l, B);
            memset(dx.data, 0, (size_t)pcnn_numel(dx) * sizeof(float));
        }
        TRYS(pcnn_conv2d_backward(
            ctx, dx,
            params ? pcnn_t4(net->dw[l], s->co, s->ci, s->k, s->k)
                   : pcnn_none(),
            params ? pcnn_t1(net->db[l], s->co) : pcnn_none(), dy,
            act_t(net, net->act[l], l, B),
            pcnn_t4(net->w[l], s->co, s->ci, s->k, s->k), &g));
    }
    for (int64_t i = 0; dpix && i < B * CNN_SIDE * CNN_SIDE; i++)
        dpix[i] = net->dact[0][i] / 127.5f;
    return PCNN_OK;
}

void cnn_adam(cnn *net, float lr)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    net->step++;
    double c1 = 1.0 - pow(b1, (double)net->step);
    double c2 = 1.0 - pow(b2, (double)net->step);
    for (size_t i = 0; i < net->nparams; i++) {
        double g = net->grads[i];
        net->m1[i] = (float)(b1 * net->m1[i] + (1 - b1) * g);
        net->m2[i] = (float)(b2 * net->m2[i] + (1 - b2) * g * g);
        double mh = net->m1[i] / c1, vh = net->m2[i] / c2;
        net->params[i] -= (float)(lr * mh / (sqrt(vh) + eps));
    }
}

void cnn_predict(const float *logits, int64_t B, int32_t *pred)
{
    for (int64_t b = 0; b < B; b++) {
        const float *z = logits + b * CNN_CLASSES;
        int best = 0;
        for (int k = 1; k < CNN_CLASSES; k++)
            if (z[k] > z[best])
                best = k;
        pred[b] = best;
    }
}
