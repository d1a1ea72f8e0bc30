/* graph.c -- building and running a network graph: see graph.h. */
#include "graph.h"
#include "../core/rng.h"

#include <string.h>

/* Makes room for one more element in *arr (count n, capacity *cap, elements
 * of `size` bytes), doubling; 0, or -1 with g->failed set. */
static int grow(pcnn_graph *g, void **arr, int n, int *cap, size_t size)
{
    if (n < *cap)
        return 0;
    int c = *cap ? 2 * *cap : 256;
    void *p = realloc(*arr, (size_t)c * size);
    if (!p) {
        g->failed = 1;
        pcnn_fail(PCNN_ERR_NOMEM, "graph: out of memory");
        return -1;
    }
    *arr = p;
    *cap = c;
    return 0;
}

int pcnn_graph_value(pcnn_graph *g, int64_t n, int64_t c, int64_t h,
                     int64_t w, int grad)
{
    if (g->failed)
        return -1;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) {
        g->failed = 1;
        pcnn_fail(PCNN_ERR_SHAPE, "graph: empty value (%lld,%lld,%lld,%lld)",
                  (long long)n, (long long)c, (long long)h, (long long)w);
        return -1;
    }
    void *vals = g->val;
    if (grow(g, &vals, g->nval, &g->capval, sizeof *g->val))
        return -1;
    g->val = vals;
    pcnn_gvalue *v = &g->val[g->nval];
    v->dim[0] = n, v->dim[1] = c, v->dim[2] = h, v->dim[3] = w;
    v->off = 0;
    v->grad = grad;
    return g->nval++;
}

static int add_node(pcnn_graph *g, pcnn_gnode nd)
{
    void *nodes = g->node;
    if (grow(g, &nodes, g->nnode, &g->capnode, sizeof *g->node))
        return -1;
    g->node = nodes;
    g->node[g->nnode++] = nd;
    return nd.out;
}

int pcnn_graph_op(pcnn_graph *g, const pcnn_layer *layers,
                  const pcnn_params *params, pcnn_gkind kind, int in0,
                  int in1, int layer, float p)
{
    if (g->failed || in0 < 0 ||
        ((kind == GN_ADD || kind == GN_CONCAT) && in1 < 0)) {
        g->failed = 1;
        return -1;
    }
    const pcnn_gvalue a = g->val[in0];
    int64_t n = a.dim[0], c = a.dim[1], h = a.dim[2], w = a.dim[3];
    int grad = a.grad || (in1 >= 0 && g->val[in1].grad);
    if (kind == GN_CONV || kind == GN_DECONV || kind == GN_NIN) {
        const pcnn_layer *L = &layers[layer];
        const pcnn_param *v = &params->p[L->v];
        if (kind == GN_CONV) {
            c = v->shape[0];
            pcnn_conv_out_size(&L->geom, a.dim[2], a.dim[3], &h, &w);
        } else if (kind == GN_DECONV) {
            c = v->shape[1];
            pcnn_deconv_out_size(&L->geom, a.dim[2], a.dim[3], &h, &w);
        } else {
            c = v->shape[0];
        }
        grad = 1;
    } else if (kind == GN_CONCAT_ELU) {
        c = 2 * c;
    } else if (kind == GN_GATE) {
        c = c / 2;
    } else if (kind == GN_CONCAT) {
        c = c + g->val[in1].dim[1];
    } else if (kind == GN_CLASS_BIAS) {
        grad = 1;
    } else if (kind == GN_POOL) {
        h = (h + 1) / 2, w = (w + 1) / 2;
    }
    int out = pcnn_graph_value(g, n, c, h, w, grad);
    if (out < 0)
        return -1;
    return add_node(g, (pcnn_gnode){kind, in0, in1, out, layer, p});
}

pcnn_status pcnn_graph_alloc(pcnn_graph *g)
{
    if (g->failed)
        return PCNN_ERR_SHAPE;
    size_t total = 0;
    for (int i = 0; i < g->nval; i++) {
        const pcnn_gvalue *v = &g->val[i];
        size_t n = (size_t)(v->dim[0] * v->dim[1] * v->dim[2] * v->dim[3]);
        g->val[i].off = total;
        total += (n + 15) / 16 * 16; /* 64-byte aligned starts */
    }
    g->arena = total;
    g->act = aligned_alloc(64, total * sizeof(float));
    g->gact = aligned_alloc(64, total * sizeof(float));
    g->ready = calloc((size_t)g->nval, 1);
    if (!g->act || !g->gact || !g->ready)
        return pcnn_fail(PCNN_ERR_NOMEM,
                         "graph: out of memory for %zu MB of activations",
                         2 * total * sizeof(float) >> 20);
    return PCNN_OK;
}

pcnn_status pcnn_graph_alloc_forward(pcnn_graph *g, const int *keep,
                                     int nkeep)
{
    if (g->failed)
        return PCNN_ERR_SHAPE;
    const int nv = g->nval;
    int *last = malloc((size_t)nv * sizeof *last);
    size_t *fsize = malloc((size_t)nv * sizeof *fsize);
    size_t *foff = malloc((size_t)nv * sizeof *foff);
    if (!last || !fsize || !foff) {
        free(last), free(fsize), free(foff);
        return pcnn_fail(PCNN_ERR_NOMEM, "graph: out of memory");
    }
    for (int v = 0; v < nv; v++)
        last[v] = -1;
    for (int i = 0; i < g->nnode; i++) {
        last[g->node[i].in0] = i;
        if (g->node[i].in1 >= 0)
            last[g->node[i].in1] = i;
    }
    for (int k = 0; k < nkeep; k++)
        if (keep[k] >= 0)
            last[keep[k]] = g->nnode;
    size_t total = 0;
    int nfree = 0;
/* the size of value v in floats, 64-byte aligned */
#define VSIZE(v)                                                              \
    ((size_t)(g->val[v].dim[0] * g->val[v].dim[1] * g->val[v].dim[2] *       \
              g->val[v].dim[3] + 15) /                                        \
     16 * 16)
    /* values made by no node (the inputs) first, then each node's output
     * in a freed block of its exact size if there is one */
    int *made = calloc((size_t)nv, sizeof *made);
    if (!made) {
        free(last), free(fsize), free(foff);
        return pcnn_fail(PCNN_ERR_NOMEM, "graph: out of memory");
    }
    for (int i = 0; i < g->nnode; i++)
        made[g->node[i].out] = 1;
    for (int v = 0; v < nv; v++)
        if (!made[v]) {
            g->val[v].off = total;
            total += VSIZE(v);
        }
    for (int i = 0; i < g->nnode; i++) {
        const pcnn_gnode *nd = &g->node[i];
        const int v = nd->out;
        const size_t n = VSIZE(v);
        int f;
        for (f = 0; f < nfree && fsize[f] != n; f++)
            ;
        if (f < nfree) {
            g->val[v].off = foff[f];
            fsize[f] = fsize[nfree - 1], foff[f] = foff[nfree - 1];
            nfree--;
        } else {
            g->val[v].off = total;
            total += n;
        }
        /* inputs read for the last time here, and an output nobody reads,
         * free their blocks for the nodes after this one */
        const int rel[3] = {nd->in0, nd->in1, last[v] < 0 ? v : -1};
        for (int r = 0; r < 3; r++) {
            const int u = rel[r];
            if (u < 0 || (r < 2 && last[u] != i) ||
                (r == 1 && nd->in1 == nd->in0))
                continue;
            fsize[nfree] = VSIZE(u), foff[nfree] = g->val[u].off;
            nfree++;
        }
    }
#undef VSIZE
    free(last), free(fsize), free(foff), free(made);
    g->arena = total;
    g->act = aligned_alloc(64, (total ? total : 16) * sizeof(float));
    g->gact = NULL;
    g->ready = calloc((size_t)nv, 1);
    if (!g->act || !g->ready)
        return pcnn_fail(PCNN_ERR_NOMEM,
                         "graph: out of memory for %zu MB of activations",
                         total * sizeof(float) >> 20);
    return PCNN_OK;
}

void pcnn_graph_free(pcnn_graph *g)
{
    free(g->val);
    free(g->node);
    free(g->act);
    free(g->gact);
    free(g->ready);
    memset(g, 0, sizeof *g);
}

float *pcnn_graph_data(const pcnn_graph *g, int v)
{
    return g->act + g->val[v].off;
}

static pcnn_tensor as_tensor(const pcnn_gvalue *v, float *base)
{
    return pcnn_t4(base + v->off, v->dim[0], v->dim[1], v->dim[2],
                   v->dim[3]);
}

pcnn_tensor pcnn_graph_tensor(const pcnn_graph *g, int v)
{
    return as_tensor(&g->val[v], g->act);
}

void pcnn_graph_grad_begin(pcnn_graph *g)
{
    memset(g->ready, 0, (size_t)g->nval);
}

pcnn_tensor pcnn_graph_grad(pcnn_graph *g, int v)
{
    pcnn_tensor t = as_tensor(&g->val[v], g->gact);
    if (!g->ready[v]) {
        memset(t.data, 0, (size_t)pcnn_numel(t) * sizeof(float));
        g->ready[v] = 1;
    }
    return t;
}

/* The gradient of v if it has one, else the absent tensor. */
static pcnn_tensor grad_or_none(pcnn_graph *g, int v)
{
    return v >= 0 && g->val[v].grad ? pcnn_graph_grad(g, v) : pcnn_none();
}

/* The layer's effective weight w, or its gradient dw, as a tensor of v's
 * shape. */
static pcnn_tensor layer_w(const pcnn_genv *env, const pcnn_layer *L,
                           float *block)
{
    pcnn_tensor t = pcnn_params_value(env->params, L->v);
    t.data = block + L->woff;
    return t;
}

static uint64_t node_seed(const pcnn_genv *env, int i)
{
    return pcnn_hash64(env->seed, (uint64_t)i);
}

/* The element offset of a batch tensor's first element in the global
 * batch: image img0's first element. */
static int64_t first_elem(const pcnn_genv *env, pcnn_tensor t)
{
    return t.dim[0] > 0 ? env->img0 * (pcnn_numel(t) / t.dim[0]) : 0;
}

/* out[b] = in[b] + class_w[:, label_b] over every pixel. */
static void class_bias_forward(float *out, const float *in, const float *cw,
                               const int32_t *labels, const int64_t *dim,
                               int64_t classes)
{
    const int64_t C = dim[1], HW = dim[2] * dim[3];
    for (int64_t b = 0; b < dim[0]; b++)
        for (int64_t c = 0; c < C; c++) {
            const float v = cw[c * classes + labels[b]];
            const float *src = in + (b * C + c) * HW;
            float *dst = out + (b * C + c) * HW;
            for (int64_t k = 0; k < HW; k++)
                dst[k] = src[k] + v;
        }
}

/* out (B, C, ceil(H/2), ceil(W/2)): the mean of each 2x2 window's pixels
 * that lie inside the image. */
static void pool_forward(float *out, const float *in, const int64_t *dim)
{
    const int64_t H = dim[2], W = dim[3], Ho = (H + 1) / 2, Wo = (W + 1) / 2;
    for (int64_t p = 0; p < dim[0] * dim[1]; p++)
        for (int64_t i = 0; i < Ho; i++)
            for (int64_t j = 0; j < Wo; j++) {
                float s = 0;
                int cnt = 0;
                for (int64_t y = 2 * i; y < 2 * i + 2 && y < H; y++)
                    for (int64_t x = 2 * j; x < 2 * j + 2 && x < W; x++)
                        s += in[(p * H + y) * W + x], cnt++;
                out[(p * Ho + i) * Wo + j] = s / (float)cnt;
            }
}

/* The adjoint of pool_forward: dx += dy / count over each window. */
static void pool_backward(float *dx, const float *dy, const int64_t *dim)
{
    const int64_t H = dim[2], W = dim[3], Ho = (H + 1) / 2, Wo = (W + 1) / 2;
    for (int64_t p = 0; p < dim[0] * dim[1]; p++)
        for (int64_t i = 0; i < Ho; i++)
            for (int64_t j = 0; j < Wo; j++) {
                const int cnt = (2 * i + 1 < H ? 2 : 1) * (2 * j + 1 < W ? 2 : 1);
                const float g = dy[(p * Ho + i) * Wo + j] / (float)cnt;
                for (int64_t y = 2 * i; y < 2 * i + 2 && y < H; y++)
                    for (int64_t x = 2 * j; x < 2 * j + 2 && x < W; x++)
                        dx[(p * H + y) * W + x] += g;
            }
}

/* Channel concat of a (B,Ca,HW) and b (B,Cb,HW) into out, or its adjoint
 * (adjoint = 1: da += dout[:, :Ca], db += dout[:, Ca:]). */
static void concat_move(float *out, float *a, float *b, const int64_t *da,
                        const int64_t *db, int adjoint)
{
    const int64_t B = da[0], HW = da[2] * da[3], Ca = da[1], Cb = db[1];
    for (int64_t n = 0; n < B; n++) {
        float *o = out + n * (Ca + Cb) * HW;
        float *pa = a ? a + n * Ca * HW : NULL;
        float *pb = b ? b + n * Cb * HW : NULL;
        if (!adjoint) {
            memcpy(o, pa, (size_t)(Ca * HW) * sizeof(float));
            memcpy(o + Ca * HW, pb, (size_t)(Cb * HW) * sizeof(float));
            continue;
        }
        for (int64_t k = 0; pa && k < Ca * HW; k++)
            pa[k] += o[k];
        for (int64_t k = 0; pb && k < Cb * HW; k++)
            pb[k] += o[Ca * HW + k];
    }
}

pcnn_status pcnn_graph_forward(pcnn_ctx *ctx, pcnn_graph *g,
                               const pcnn_genv *env)
{
    for (int i = 0; i < g->nnode; i++) {
        const pcnn_gnode *nd = &g->node[i];
        pcnn_tensor x = pcnn_graph_tensor(g, nd->in0);
        pcnn_tensor y = pcnn_graph_tensor(g, nd->out);
        pcnn_tensor x1 = nd->in1 >= 0 ? pcnn_graph_tensor(g, nd->in1)
                                      : pcnn_none();
        pcnn_status s = PCNN_OK;
        switch (nd->kind) {
        case GN_CONV:
        case GN_DECONV:
        case GN_NIN: {
            const pcnn_layer *L = &env->layers[nd->layer];
            pcnn_tensor w = layer_w(env, L, env->w);
            pcnn_tensor b = pcnn_params_value(env->params, L->b);
            if (nd->kind == GN_CONV)
                s = pcnn_conv2d_forward(ctx, y, x, w, b, &L->geom);
            else if (nd->kind == GN_DECONV)
                s = pcnn_deconv2d_forward(ctx, y, x, w, b, &L->geom);
            else
                s = pcnn_nin_forward(ctx, y, x, w, b);
            if (s == PCNN_OK && env->data_init && L->init_scale > 0)
                s = pcnn_weightnorm_data_init(
                    ctx, pcnn_params_value(env->params, L->g), b, y,
                    L->init_scale);
            break;
        }
        case GN_DOWN_SHIFT: s = pcnn_down_shift_forward(ctx, y, x); break;
        case GN_RIGHT_SHIFT: s = pcnn_right_shift_forward(ctx, y, x); break;
        case GN_ELU: s = pcnn_elu_forward(ctx, y, x); break;
        case GN_CONCAT_ELU: s = pcnn_concat_elu_forward(ctx, y, x); break;
        case GN_GATE: s = pcnn_gate_forward(ctx, y, x); break;
        case GN_ADD: s = pcnn_add_forward(ctx, y, x, x1); break;
        case GN_DROPOUT:
            if (env->train && nd->p > 0)
                s = pcnn_dropout_forward_at(ctx, y, x, nd->p,
                                            node_seed(env, i),
                                            first_elem(env, x));
            else
                memcpy(y.data, x.data,
                       (size_t)pcnn_numel(x) * sizeof(float));
            break;
        case GN_CONCAT:
            concat_move(y.data, x.data, x1.data, x.dim, x1.dim, 0);
            break;
        case GN_CLASS_BIAS: {
            pcnn_tensor cw = pcnn_params_value(env->params, nd->layer);
            class_bias_forward(y.data, x.data, cw.data, env->labels, x.dim,
                               cw.dim[1]);
            break;
        }
        case GN_POOL: pool_forward(y.data, x.data, x.dim); break;
        }
        if (s != PCNN_OK)
            return s;
    }
    return PCNN_OK;
}

pcnn_status pcnn_graph_backward(pcnn_ctx *ctx, pcnn_graph *g,
                                const pcnn_genv *env)
{
    for (int i = g->nnode - 1; i >= 0; i--) {
        const pcnn_gnode *nd = &g->node[i];
        if (!g->ready[nd->out] || !g->val[nd->out].grad)
            continue; /* nothing flowed back into this node's output */
        pcnn_tensor dy = pcnn_graph_grad(g, nd->out);
        pcnn_tensor x = pcnn_graph_tensor(g, nd->in0);
        pcnn_tensor dx = grad_or_none(g, nd->in0);
        pcnn_status s = PCNN_OK;
        switch (nd->kind) {
        case GN_CONV:
        case GN_DECONV:
        case GN_NIN: {
            const pcnn_layer *L = &env->layers[nd->layer];
            pcnn_tensor w = layer_w(env, L, env->w);
            pcnn_tensor dw = layer_w(env, L, env->dw);
            pcnn_tensor db = pcnn_params_gradient(env->params, L->b);
            if (nd->kind == GN_CONV)
                s = pcnn_conv2d_backward(ctx, dx, dw, db, dy, x, w, &L->geom);
            else if (nd->kind == GN_DECONV)
                s = pcnn_deconv2d_backward(ctx, dx, dw, db, dy, x, w,
                                           &L->geom);
            else
                s = pcnn_nin_backward(ctx, dx, dw, db, dy, x, w);
            break;
        }
        case GN_DOWN_SHIFT:
            if (dx.data)
                s = pcnn_down_shift_backward(ctx, dx, dy);
            break;
        case GN_RIGHT_SHIFT:
            if (dx.data)
                s = pcnn_right_shift_backward(ctx, dx, dy);
            break;
        case GN_ELU:
            if (dx.data)
                s = pcnn_elu_backward(ctx, dx, dy, x);
            break;
        case GN_CONCAT_ELU:
            if (dx.data)
                s = pcnn_concat_elu_backward(ctx, dx, dy, x);
            break;
        case GN_GATE:
            if (dx.data)
                s = pcnn_gate_backward(ctx, dx, dy, x);
            break;
        case GN_ADD:
            s = pcnn_add_backward(ctx, dx, grad_or_none(g, nd->in1), dy);
            break;
        case GN_DROPOUT:
            if (!dx.data)
                break;
            if (env->train && nd->p > 0)
                s = pcnn_dropout_backward_at(ctx, dx, dy, nd->p,
                                             node_seed(env, i),
                                             first_elem(env, dy));
            else
                s = pcnn_add_backward(ctx, dx, pcnn_none(), dy);
            break;
        case GN_CONCAT: {
            pcnn_tensor d1 = grad_or_none(g, nd->in1);
            const pcnn_gvalue *v1 = &g->val[nd->in1];
            concat_move(dy.data, dx.data, d1.data, x.dim, v1->dim, 1);
            break;
        }
        case GN_CLASS_BIAS: {
            pcnn_tensor dcw = pcnn_params_gradient(env->params, nd->layer);
            const int64_t C = dy.dim[1], HW = dy.dim[2] * dy.dim[3];
            const int64_t K = dcw.dim[1];
            for (int64_t b = 0; b < dy.dim[0]; b++)
                for (int64_t c = 0; c < C; c++) {
                    const float *row = dy.data + (b * C + c) * HW;
                    double acc = 0;
                    for (int64_t k = 0; k < HW; k++)
                        acc += row[k];
                    dcw.data[c * K + env->labels[b]] += (float)acc;
                }
            if (dx.data)
                s = pcnn_add_backward(ctx, dx, pcnn_none(), dy);
            break;
        }
        case GN_POOL:
            if (dx.data)
                pool_backward(dx.data, dy.data, x.dim);
            break;
        }
        if (s != PCNN_OK)
            return s;
    }
    return PCNN_OK;
}
