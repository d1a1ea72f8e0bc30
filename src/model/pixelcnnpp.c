/*
 * pixelcnnpp.c -- the PixelCNN++ network (Salimans et al. 2017) as a graph
 * of the library's ops, its parameters, loss and gradient.
 *
 * One builder describes the network (docs/model.md). It runs twice: once
 * at creation to register every parameter and weight-normalized layer
 * (names and shapes), and once per batch size to lay out the graph of
 * values and nodes, consuming the layers in the same order.
 */
#include "model.h"
#include "../core/rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- builder */

typedef struct {
    pcnn_model *m;
    int registering;  /* 1: add parameters and layers; 0: add graph nodes */
    int next_layer;
    int cond[8];      /* the condition map at each resolution (graph) */
    pcnn_graph *g;    /* the graph being laid out (graph mode) */
    int eval;         /* no dropout nodes (graph mode) */
    int in_x, in_cond; /* its input values (graph mode) */
    int failed;       /* a layer could not be registered (message set) */
} builder;

static pcnn_status add_layer(pcnn_model *m, const pcnn_layer *L)
{
    if (m->nlayers == m->caplayers) {
        int cap = m->caplayers ? 2 * m->caplayers : 64;
        pcnn_layer *p = realloc(m->layers, (size_t)cap * sizeof *p);
        if (!p)
            return pcnn_fail(PCNN_ERR_NOMEM, "model: out of memory");
        m->layers = p;
        m->caplayers = cap;
    }
    m->layers[m->nlayers++] = *L;
    return PCNN_OK;
}

/* Not a shift: a non-causal conv padded equally on every side (odd
 * kernels), for the conditioning network. */
#define CENTERED ((pcnn_shift_kind)-1)

/* Channels of the condition features entering the gated resnets. */
static int64_t cond_features(const pcnn_model_config *c)
{
    return c->cond_nr_filters > 0 ? c->cond_nr_filters : c->cond_channels;
}

/* A weight-normalized layer called name: registers name.v, name.g and
 * name.b, or (graph mode) returns the next layer, which must be it. */
static int layer(builder *bd, const char *name, pcnn_gkind kind,
                 pcnn_shift_kind shift, int kh, int kw, int stride,
                 int64_t ci, int64_t co, float init_scale)
{
    pcnn_model *m = bd->m;
    if (!bd->registering) {
        PCNN_ASSERT(bd->next_layer < m->nlayers);
        return bd->next_layer++;
    }
    char buf[PCNN_PARAM_NAME + 32];
    pcnn_layer L = {kind, {1, 1, 1, 0, 0, 0, 0, 1}, 0, 0, 0, init_scale, 0};
    int64_t vshape[4] = {co, ci, kh, kw};
    int ndim = 4;
    if (kind == GN_CONV && shift == CENTERED) {
        L.geom = (pcnn_conv_geom){kh, kw, stride, kh / 2, kh / 2, kw / 2,
                                  kw / 2, 1};
    } else if (kind == GN_DECONV && shift == CENTERED) {
        /* kernel = stride, no crop: each output has exactly one tap */
        L.geom = (pcnn_conv_geom){kh, kw, stride, 0, 0, 0, 0, 1};
        vshape[0] = ci, vshape[1] = co;
    } else if (kind == GN_CONV) {
        L.geom = pcnn_conv_geom_shifted(shift, kh, kw, stride);
    } else if (kind == GN_DECONV) {
        L.geom = pcnn_deconv_geom_shifted(shift, kh, kw, stride);
        vshape[0] = ci, vshape[1] = co;
    } else {
        ndim = 2;
    }
    snprintf(buf, sizeof buf, "%s.v", name);
    L.v = pcnn_params_add(&m->params, buf, ndim, vshape);
    snprintf(buf, sizeof buf, "%s.g", name);
    L.g = pcnn_params_add(&m->params, buf, 1, &co);
    snprintf(buf, sizeof buf, "%s.b", name);
    L.b = pcnn_params_add(&m->params, buf, 1, &co);
    if (L.v < 0 || L.g < 0 || L.b < 0 || add_layer(m, &L) != PCNN_OK) {
        bd->failed = 1; /* the callers go on with -1: build() reports it */
        return -1;
    }
    return m->nlayers - 1;
}

/* Layer id (a centered 3x3 conv) with its taps dil apart and padding dil
 * on every side (same size out); returns id. */
static int dilated(builder *bd, int id, int dil)
{
    if (bd->registering && id >= 0 && dil > 1)
        bd->m->layers[id].geom = (pcnn_conv_geom){3, 3, 1, dil, dil, dil,
                                                  dil, dil};
    return id;
}

/* The node applying layer id to x (graph mode); 0 while registering. */
static int apply(builder *bd, int id, int x)
{
    if (bd->registering || id < 0)
        return id < 0 ? -1 : 0;
    pcnn_model *m = bd->m;
    return pcnn_graph_op(bd->g, m->layers, &m->params,
                         m->layers[id].kind, x, -1, id, 0);
}

static int op(builder *bd, pcnn_gkind kind, int a, int b)
{
    if (bd->registering)
        return 0;
    if (kind == GN_DROPOUT && bd->eval)
        return a;
    pcnn_model *m = bd->m;
    return pcnn_graph_op(bd->g, m->layers, &m->params, kind, a, b, -1,
                         kind == GN_DROPOUT ? m->cfg.dropout : 0);
}

/* x + gate(conv_out(dropout(concat_elu(conv_in(concat_elu(x)) +
 * skip(concat_elu(a)))))), with the class bias and the condition map added
 * to conv_out's output. a_ch: channels of a (0: no a). s: resolution. */
static int gated_resnet(builder *bd, const char *prefix, int x, int a,
                        int64_t a_ch, pcnn_shift_kind shift, int s)
{
    const pcnn_model_config *c = &bd->m->cfg;
    const int64_t F = c->nr_filters;
    const int kh = 2, kw = shift == PCNN_DOWN ? 3 : 2;
    char name[PCNN_PARAM_NAME + 16]; /* too long a name fails in params */
    snprintf(name, sizeof name, "%s.conv_in", prefix);
    int c1 = apply(bd, layer(bd, name, GN_CONV, shift, kh, kw, 1, 2 * F, F,
                             1.0f),
                   op(bd, GN_CONCAT_ELU, x, -1));
    if (a_ch) {
        snprintf(name, sizeof name, "%s.skip", prefix);
        int sk = apply(bd, layer(bd, name, GN_NIN, PCNN_DOWN, 1, 1, 1,
                                 2 * a_ch, F, 1.0f),
                       op(bd, GN_CONCAT_ELU, a, -1));
        c1 = op(bd, GN_ADD, c1, sk);
    }
    c1 = op(bd, GN_DROPOUT, op(bd, GN_CONCAT_ELU, c1, -1), -1);
    snprintf(name, sizeof name, "%s.conv_out", prefix);
    int c2 = apply(bd, layer(bd, name, GN_CONV, shift, kh, kw, 1, 2 * F,
                             2 * F, 0.1f),
                   c1);
    if (c->num_classes > 0) {
        snprintf(name, sizeof name, "%s.class_w", prefix);
        if (bd->registering) {
            int64_t shape[2] = {2 * F, c->num_classes};
            if (pcnn_params_add(&bd->m->params, name, 2, shape) < 0)
                return -1;
        } else {
            int p = pcnn_params_find(&bd->m->params, name);
            PCNN_ASSERT(p >= 0);
            pcnn_model *m = bd->m;
            c2 = pcnn_graph_op(bd->g, m->layers, &m->params,
                               GN_CLASS_BIAS, c2, -1, p, 0);
        }
    }
    if (c->cond_channels > 0) {
        snprintf(name, sizeof name, "%s.cond", prefix);
        /* no data init (scale 0): a condition channel that is constant
         * over the init batch would get g = 1e5 */
        int cc = apply(bd, layer(bd, name, GN_NIN, PCNN_DOWN, 1, 1, 1,
                                 cond_features(c), 2 * F, 0.0f),
                       bd->cond[s]);
        c2 = op(bd, GN_ADD, c2, cc);
    }
    return op(bd, GN_ADD, x, op(bd, GN_GATE, c2, -1));
}

/* The conditioning network's block: x + gate(conv_out(concat_elu(
 * conv_in(concat_elu(x))))), 3x3 convs padded on every side (non-causal:
 * the condition is known in full). */
static int cond_resnet(builder *bd, const char *prefix, int x, int64_t F,
                       int dil)
{
    char name[PCNN_PARAM_NAME + 16];
    snprintf(name, sizeof name, "%s.conv_in", prefix);
    int c1 = apply(bd, dilated(bd, layer(bd, name, GN_CONV, CENTERED, 3, 3, 1,
                                         2 * F, F, 1.0f),
                               dil),
                   op(bd, GN_CONCAT_ELU, x, -1));
    snprintf(name, sizeof name, "%s.conv_out", prefix);
    int c2 = apply(bd, dilated(bd, layer(bd, name, GN_CONV, CENTERED, 3, 3, 1,
                                         2 * F, 2 * F, 0.1f),
                               dil),
                   op(bd, GN_CONCAT_ELU, c1, -1));
    return op(bd, GN_ADD, x, op(bd, GN_GATE, c2, -1));
}

/* Builds the whole network (docs/model.md); returns the output value. */
static int build_layers(builder *bd)
{
    const pcnn_model_config *c = &bd->m->cfg;
    const int64_t F = c->nr_filters, C = c->channels;
    const int S = c->nr_resolutions, R = c->nr_resnet;
    pcnn_model *m = bd->m;
    int x = bd->registering ? 0 : bd->in_x;
    char name[PCNN_PARAM_NAME];
    /* at most 1 + S*R + S-1 entries on each stack */
    int us[1 + 8 * 64 + 8], uls[1 + 8 * 64 + 8], top = 0;

    if (c->cond_channels > 0) {
        int h = bd->registering ? 0 : bd->in_cond;
        if (c->cond_nr_filters > 0) {
            const int64_t Fc = c->cond_nr_filters;
            h = apply(bd, layer(bd, "cond.in", GN_CONV, CENTERED, 3, 3, 1,
                                c->cond_channels, Fc, 1.0f),
                      h);
            for (int i = 0; i < c->cond_nr_resnet; i++) {
                snprintf(name, sizeof name, "cond.%d", i);
                h = cond_resnet(bd, name, h, Fc,
                                c->cond_dilate ? 1 << (i < 6 ? i : 6) : 1);
            }
            int saved[8];
            for (int d = 1; d <= c->cond_down; d++) {
                saved[d - 1] = h;
                snprintf(name, sizeof name, "cond.down%d", d);
                h = apply(bd, layer(bd, name, GN_CONV, CENTERED, 3, 3, 2, Fc,
                                    Fc, 1.0f),
                          h);
                for (int i = 0; i < c->cond_nr_resnet; i++) {
                    snprintf(name, sizeof name, "cond.d%d.%d", d, i);
                    h = cond_resnet(bd, name, h, Fc, 1);
                }
            }
            for (int d = c->cond_down; d >= 1; d--) {
                snprintf(name, sizeof name, "cond.up%d", d);
                h = op(bd, GN_ADD,
                       apply(bd, layer(bd, name, GN_DECONV, CENTERED, 2, 2, 2,
                                       Fc, Fc, 1.0f),
                             h),
                       saved[d - 1]);
                for (int i = 0; i < c->cond_nr_resnet; i++) {
                    snprintf(name, sizeof name, "cond.u%d.%d", d, i);
                    h = cond_resnet(bd, name, h, Fc, 1);
                }
            }
        }
        bd->cond[0] = h;
        for (int s = 1; s < S; s++)
            bd->cond[s] = op(bd, GN_POOL, bd->cond[s - 1], -1);
    }
    int u = op(bd, GN_DOWN_SHIFT,
               apply(bd, layer(bd, "init.u", GN_CONV, PCNN_DOWN, 2, 3, 1,
                               C + 1, F, 1.0f),
                     x),
               -1);
    int ula = op(bd, GN_DOWN_SHIFT,
                 apply(bd, layer(bd, "init.ul_down", GN_CONV, PCNN_DOWN, 1,
                                 3, 1, C + 1, F, 1.0f),
                       x),
                 -1);
    int ulb = op(bd, GN_RIGHT_SHIFT,
                 apply(bd, layer(bd, "init.ul_right", GN_CONV,
                                 PCNN_DOWN_RIGHT, 2, 1, 1, C + 1, F, 1.0f),
                       x),
                 -1);
    int ul = op(bd, GN_ADD, ula, ulb);
    us[top] = u, uls[top] = ul, top++;
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < R; i++) {
            snprintf(name, sizeof name, "up.%d.u.%d", s, i);
            u = gated_resnet(bd, name, u, -1, 0, PCNN_DOWN, s);
            snprintf(name, sizeof name, "up.%d.ul.%d", s, i);
            ul = gated_resnet(bd, name, ul, u, F, PCNN_DOWN_RIGHT, s);
            us[top] = u, uls[top] = ul, top++;
        }
        if (s < S - 1) {
            snprintf(name, sizeof name, "up.%d.u_down", s);
            u = apply(bd, layer(bd, name, GN_CONV, PCNN_DOWN, 2, 3, 2, F, F,
                                1.0f),
                      u);
            snprintf(name, sizeof name, "up.%d.ul_down", s);
            ul = apply(bd, layer(bd, name, GN_CONV, PCNN_DOWN_RIGHT, 2, 2, 2,
                                 F, F, 1.0f),
                       ul);
            us[top] = u, uls[top] = ul, top++;
        }
    }
    top--;
    u = us[top], ul = uls[top];
    for (int s = S - 1; s >= 0; s--) {
        int n = s == S - 1 ? R : R + 1;
        for (int i = 0; i < n; i++) {
            top--;
            PCNN_ASSERT(top >= 0);
            snprintf(name, sizeof name, "down.%d.u.%d", s, i);
            u = gated_resnet(bd, name, u, us[top], F, PCNN_DOWN, s);
            snprintf(name, sizeof name, "down.%d.ul.%d", s, i);
            ul = gated_resnet(bd, name, ul, op(bd, GN_CONCAT, u, uls[top]),
                              2 * F, PCNN_DOWN_RIGHT, s);
        }
        if (s > 0) {
            snprintf(name, sizeof name, "down.%d.u_up", s);
            u = apply(bd, layer(bd, name, GN_DECONV, PCNN_DOWN, 2, 3, 2, F, F,
                                1.0f),
                      u);
            snprintf(name, sizeof name, "down.%d.ul_up", s);
            ul = apply(bd, layer(bd, name, GN_DECONV, PCNN_DOWN_RIGHT, 2, 2, 2,
                                 F, F, 1.0f),
                       ul);
        }
    }
    PCNN_ASSERT(top == 0);
    return apply(bd, layer(bd, "out", GN_NIN, PCNN_DOWN, 1, 1, 1, F,
                           pcnn_head_params(&m->head), 1.0f),
                 op(bd, GN_ELU, ul, -1));
}

/* The network's output node (graph mode) or 0 (registering); -1 when a
 * layer could not be registered (a model too large: message set). */
static int build(builder *bd)
{
    const int o = build_layers(bd);
    return bd->failed ? -1 : o;
}

/* ------------------------------------------------------------- creation */

pcnn_model_config pcnn_model_config_default(void)
{
    pcnn_model_config c;
    memset(&c, 0, sizeof c);
    c.channels = 3, c.height = c.width = 32;
    c.nr_resnet = 5, c.nr_filters = 160, c.nr_mix = 10;
    c.nr_resolutions = 3, c.dropout = 0.5f;
    c.head = PCNN_HEAD_DMOL, c.levels = 256;
    return c;
}

/* x in lo..hi; a float field is compared as a float (0.99f is above the
 * double 0.99) */
static int in_range(double x, double lo, double hi, int is_float)
{
    if (is_float)
        return (float)x >= (float)lo && (float)x <= (float)hi;
    return x >= lo && x <= hi;
}

static pcnn_status check_config(const pcnn_model_config *c)
{
    /* each field's range, from PCNN_MODEL_CONFIG_FIELDS */
#define CHECK_FIELD_(type, name, lo, hi, old, flag, help)                     \
    if (!in_range((double)c->name, lo, hi,                                    \
                  _Generic(c->name, float: 1, default: 0)))                   \
        return pcnn_fail(PCNN_ERR_ARG, "model: " #name " %g not in %g..%g",   \
                         (double)c->name, (double)(lo), (double)(hi));
    PCNN_MODEL_CONFIG_FIELDS(CHECK_FIELD_)
#undef CHECK_FIELD_
    int unit = 1 << (c->nr_resolutions - 1);
    if (c->height % unit || c->width % unit)
        return pcnn_fail(PCNN_ERR_ARG,
                         "model: image %dx%d must be divisible by %d "
                         "(2^(nr_resolutions-1))",
                         c->height, c->width, unit);
    if (c->head == PCNN_HEAD_DMOL && c->levels != 256)
        return pcnn_fail(PCNN_ERR_ARG,
                         "model: head %d with %d levels (DMOL: 256; "
                         "categorical: 2..256)",
                         c->head, c->levels);
    if (((c->cond_nr_resnet > 0 || c->cond_down > 0) &&
         c->cond_nr_filters < 1) ||
        ((c->cond_nr_resnet > 0 || c->cond_nr_filters > 0) &&
         c->cond_channels < 1))
        return pcnn_fail(PCNN_ERR_ARG,
                         "model: conditioning network (%d resnets, %d "
                         "filters, %d halvings) needs a condition map and "
                         "filters",
                         c->cond_nr_resnet, c->cond_nr_filters, c->cond_down);
    if (c->height % (1 << c->cond_down) || c->width % (1 << c->cond_down))
        return pcnn_fail(PCNN_ERR_ARG,
                         "model: image %dx%d not divisible by 2^%d "
                         "(cond_down)",
                         c->height, c->width, c->cond_down);
    return PCNN_OK;
}

/* N(0, sd^2) from two counter-based uniforms (Box-Muller). */
static float normal(uint64_t seed, uint64_t k, float sd)
{
    double u1 = pcnn_u01_open(seed, 2 * k), u2 = pcnn_u01(seed, 2 * k + 1);
    return (float)(sd * sqrt(-2 * log(u1)) * cos(2 * PCNN_PI * u2));
}

/* v ~ N(0, 0.05^2), g = 1, b = 0, class_w = 0: weight normalization's
 * start, before the data-dependent init */
static void normal_init(pcnn_model *m, uint64_t seed)
{
    for (int i = 0; i < m->nlayers; i++) {
        const pcnn_layer *L = &m->layers[i];
        const pcnn_param *v = &m->params.p[L->v], *g = &m->params.p[L->g];
        for (size_t k = 0; k < v->n; k++)
            m->params.data[v->off + k] = normal(seed, v->off + k, 0.05f);
        for (size_t k = 0; k < g->n; k++)
            m->params.data[g->off + k] = 1.0f;
    }
}

/* PyTorch's default for nn.Conv2d and nn.ConvTranspose2d (kaiming_uniform
 * with a = sqrt(5)): v and b uniform in +-1/sqrt(fan_in), fan_in = the
 * elements of v over its first dimension (a transposed conv's Co kh kw, as
 * PyTorch counts it); g = ||v||, so w = v; class_w = 0. */
static void uniform_init(pcnn_model *m, uint64_t seed)
{
    const uint64_t key = pcnn_hash64(seed, 0x756e69666f726dULL);
    for (int i = 0; i < m->nlayers; i++) {
        const pcnn_layer *L = &m->layers[i];
        const pcnn_param *v = &m->params.p[L->v], *b = &m->params.p[L->b];
        const double bound = 1.0 / sqrt((double)(v->n / (size_t)v->shape[0]));
        float *pv = m->params.data + v->off, *pb = m->params.data + b->off;
        for (size_t k = 0; k < v->n; k++)
            pv[k] = (float)(bound * (2 * pcnn_u01(key, v->off + k) - 1));
        for (size_t k = 0; k < b->n; k++)
            pb[k] = (float)(bound * (2 * pcnn_u01(key, b->off + k) - 1));
    }
    pcnn_model_sync_norms(m, m->params.data);
}

pcnn_status pcnn_model_create(pcnn_model **out, const pcnn_model_config *cfg,
                              uint64_t seed)
{
    if (!out || !cfg)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_model_create: NULL argument");
    *out = NULL;
    pcnn_status s = check_config(cfg);
    if (s != PCNN_OK)
        return s;
    pcnn_model *m = calloc(1, sizeof *m);
    if (!m)
        return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_model_create: out of memory");
    m->cfg = *cfg;
    m->head = cfg->head == PCNN_HEAD_DMOL
                  ? pcnn_head_dmol(cfg->channels, cfg->nr_mix)
                  : pcnn_head_categorical(cfg->channels, cfg->levels);
    builder bd = {m, 1, 0, {0}, NULL, 0, -1, -1, 0};
    if (build(&bd) < 0)
        s = PCNN_ERR_NOMEM; /* the message is set */
    else
        s = pcnn_params_alloc(&m->params);
    if (s != PCNN_OK) {
        pcnn_model_free(m);
        return s;
    }
    for (int i = 0; i < m->nlayers; i++) {
        m->layers[i].woff = m->wsize;
        m->wsize += m->params.p[m->layers[i].v].n;
    }
    m->w = calloc(m->wsize, sizeof(float));
    m->dw = calloc(m->wsize, sizeof(float));
    if (!m->w || !m->dw) {
        pcnn_model_free(m);
        return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_model_create: out of memory");
    }
    if (cfg->init == 1)
        uniform_init(m, seed);
    else
        normal_init(m, seed);
    *out = m;
    return PCNN_OK;
}

pcnn_status pcnn_model_param_table(const pcnn_model_config *cfg,
                                   pcnn_params *out, size_t *act_floats)
{
    memset(out, 0, sizeof *out);
    if (act_floats)
        *act_floats = 0;
    PCNN_TRY(check_config(cfg));
    pcnn_model *m = calloc(1, sizeof *m);
    if (!m)
        return pcnn_fail(PCNN_ERR_NOMEM, "model: out of memory");
    m->cfg = *cfg;
    m->head = cfg->head == PCNN_HEAD_DMOL
                  ? pcnn_head_dmol(cfg->channels, cfg->nr_mix)
                  : pcnn_head_categorical(cfg->channels, cfg->levels);
    builder bd = {m, 1, 0, {0}, NULL, 0, -1, -1, 0};
    pcnn_status s = build(&bd) < 0 ? PCNN_ERR_NOMEM : PCNN_OK;
    if (s == PCNN_OK && act_floats) {
        /* the values of one image's evaluation, none reused */
        pcnn_graph g;
        int in_x, in_cond, o;
        s = pcnn_model_build_graph(m, 1, 1, &g, &in_x, &in_cond, &o);
        size_t total = 0;
        for (int i = 0; s == PCNN_OK && i < g.nval; i++) {
            size_t n = 1;
            int of = 0;
            for (int d = 0; d < 4; d++)
                n = pcnn_mul_size(n, (size_t)g.val[i].dim[d], &of);
            total = of || total + n < total ? SIZE_MAX : total + n;
        }
        *act_floats = total;
        pcnn_graph_free(&g);
    }
    if (s == PCNN_OK) {
        *out = m->params;
        memset(&m->params, 0, sizeof m->params);
    }
    pcnn_model_free(m);
    return s;
}

int pcnn_model_check_directions(const pcnn_model *m, const float *block,
                                double min_norm, int64_t *channel)
{
    for (int i = 0; i < m->nlayers; i++) {
        const pcnn_layer *L = &m->layers[i];
        int64_t A, O, R;
        pcnn_layer_axes(m, L, &A, &O, &R);
        const float *x = block + m->params.p[L->v].off;
        for (int64_t o = 0; o < O; o++) {
            if (!(pcnn_channel_norm(x, o, A, O, R) >= min_norm)) {
                *channel = o;
                return L->v;
            }
        }
    }
    return -1;
}

void pcnn_model_free(pcnn_model *m)
{
    if (!m)
        return;
    pcnn_params_free(&m->params);
    pcnn_plan_free(&m->tr);
    pcnn_plan_free(&m->ev);
    free(m->layers);
    free(m->w), free(m->dw);
    free(m);
}

pcnn_status pcnn_model_build_graph(pcnn_model *m, int64_t batch, int eval,
                                   pcnn_graph *g, int *in_x, int *in_cond,
                                   int *out)
{
    const pcnn_model_config *c = &m->cfg;
    memset(g, 0, sizeof *g);
    builder bd = {m, 0, 0, {0}, g, eval, -1, -1, 0};
    bd.in_x = pcnn_graph_value(g, batch, c->channels + 1, c->height,
                               c->width, 0);
    bd.in_cond = c->cond_channels > 0
                     ? pcnn_graph_value(g, batch, c->cond_channels,
                                        c->height, c->width, 0)
                     : -1;
    int o = build(&bd);
    if (o < 0 || g->failed)
        return PCNN_ERR_SHAPE;
    PCNN_ASSERT(bd.next_layer == m->nlayers);
    *in_x = bd.in_x, *in_cond = bd.in_cond, *out = o;
    return PCNN_OK;
}

void pcnn_plan_free(pcnn_plan *p)
{
    pcnn_graph_free(&p->graph);
    free(p->logp), free(p->dlogp), free(p->x), free(p->labels);
    memset(p, 0, sizeof *p);
}

pcnn_status pcnn_model_plan(pcnn_model *m, int64_t batch, int eval)
{
    pcnn_plan *p = eval ? &m->ev : &m->tr;
    if (p->batch == batch)
        return PCNN_OK;
    const pcnn_model_config *c = &m->cfg;
    pcnn_plan_free(p);
    if (!eval)
        m->backward_ready = 0;
    PCNN_TRY(pcnn_model_build_graph(m, batch, eval, &p->graph, &p->in_x,
                                    &p->in_cond, &p->out));
    const int keep[3] = {p->in_x, p->in_cond, p->out};
    pcnn_status s = eval ? pcnn_graph_alloc_forward(&p->graph, keep, 3)
                         : pcnn_graph_alloc(&p->graph);
    if (s != PCNN_OK)
        return s;
    size_t hw = (size_t)(c->height * c->width), b = (size_t)batch;
    p->logp = malloc(b * hw * sizeof(float));
    p->dlogp = eval ? NULL : malloc(b * hw * sizeof(float));
    p->x = malloc(b * hw * (size_t)c->channels);
    p->labels = calloc(b, sizeof(int32_t));
    if (!p->logp || (!eval && !p->dlogp) || !p->x || !p->labels)
        return pcnn_fail(PCNN_ERR_NOMEM, "model: out of memory");
    p->batch = batch;
    return PCNN_OK;
}
