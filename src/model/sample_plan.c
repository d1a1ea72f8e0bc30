/*
 * sample_plan.c -- the cached sampler's plan (docs/sampling.md): every
 * value's ready step per position, the wavefront schedule, the steps as
 * late as possible, the windows of rows each value keeps, the weights
 * packed for the steps' GEMMs. The run is sample.c.
 */
#include "sample_internal.h"
#include "gemm_packed.h"

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------- ready steps */

static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }

static pcnn_conv_geom nin_geom(void)
{
    return (pcnn_conv_geom){1, 1, 1, 0, 0, 0, 0, 1};
}

static void ready_of(sampler *S, const pcnn_gnode *nd, const snode *sn)
{
    const sval *a = &S->v[nd->in0];
    const sval *b = nd->in1 >= 0 ? &S->v[nd->in1] : NULL;
    sval *o = &S->v[nd->out];
    const int64_t H = o->H, W = o->W;
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            int32_t r = 0;
            const int64_t k = i * W + j;
            switch (nd->kind) {
            case GN_CONV:
            case GN_NIN:
            case GN_DECONV:
                for (int p = 0; p < sn->geom.kh; p++)
                    for (int q = 0; q < sn->geom.kw; q++) {
                        int64_t t =
                            nd->kind == GN_DECONV
                                ? deconv_tap(&sn->geom, a->H, a->W, i, j, p, q)
                                : conv_tap(&sn->geom, a->H, a->W, i, j, p, q);
                        if (t >= 0)
                            r = max32(r, a->ready[t]);
                    }
                break;
            case GN_DOWN_SHIFT:
                r = i > 0 ? a->ready[k - W] : 0;
                break;
            case GN_RIGHT_SHIFT:
                r = j > 0 ? a->ready[k - 1] : 0;
                break;
            case GN_POOL:
                for (int64_t y = 2 * i; y < 2 * i + 2 && y < a->H; y++)
                    for (int64_t x = 2 * j; x < 2 * j + 2 && x < a->W; x++)
                        r = max32(r, a->ready[y * a->W + x]);
                break;
            default:
                r = a->ready[k];
                if (b)
                    r = max32(r, b->ready[k]);
            }
            o->ready[k] = r;
        }
}

/* The step of pixel k under schedule a. */
static int64_t step_of(const sampler *S, int64_t a, int64_t k)
{
    return a * (k / S->W) + k % S->W;
}

/* The positions of input e (0: in0, 1: in1) that node nd reads for its
 * output position (i, j), into q; returns how many (-1 entries: padding,
 * nothing read). */
static int reads_of(const sampler *S, const pcnn_gnode *nd, const snode *sn,
                    int e, int64_t i, int64_t j, int64_t *q)
{
    const sval *a = &S->v[e ? nd->in1 : nd->in0];
    const int64_t k = i * S->v[nd->out].W + j;
    int n = 0;
    switch (nd->kind) {
    case GN_CONV:
    case GN_NIN:
    case GN_DECONV:
        for (int p = 0; p < sn->geom.kh; p++)
            for (int t = 0; t < sn->geom.kw; t++)
                q[n++] = nd->kind == GN_DECONV
                             ? deconv_tap(&sn->geom, a->H, a->W, i, j, p, t)
                             : conv_tap(&sn->geom, a->H, a->W, i, j, p, t);
        break;
    case GN_DOWN_SHIFT: q[n++] = i > 0 ? k - a->W : -1; break;
    case GN_RIGHT_SHIFT: q[n++] = j > 0 ? k - 1 : -1; break;
    case GN_POOL:
        for (int64_t y = 2 * i; y < 2 * i + 2 && y < a->H; y++)
            for (int64_t x = 2 * j; x < 2 * j + 2 && x < a->W; x++)
                q[n++] = y * a->W + x;
        break;
    default: q[n++] = k;
    }
    return n;
}

/* The most taps of any node (reads_of's q). */
#define MAX_READS (64 * 64)

/* Propagates the steps at which node nd computes its positions (step[out],
 * those >= T never) to the positions of its inputs it reads: with
 * latest, step[in][q] = max(step[in][q], ...) (the last read); else min
 * (the first). */
static void use_of(const sampler *S, const pcnn_gnode *nd, const snode *sn,
                   int32_t **step, const int32_t *out_step, int64_t T,
                   int latest, int64_t *q)
{
    const sval *o = &S->v[nd->out];
    const int in[2] = {nd->in0, nd->in1};
    for (int e = 0; e < 2; e++) {
        if (in[e] < 0)
            continue;
        int32_t *lu = step[in[e]];
        for (int64_t i = 0; i < o->H; i++)
            for (int64_t j = 0; j < o->W; j++) {
                const int32_t r = out_step[i * o->W + j];
                if (r >= T)
                    continue;
                const int n = reads_of(S, nd, sn, e, i, j, q);
                for (int t = 0; t < n; t++)
                    if (q[t] >= 0 &&
                        (latest ? lu[q[t]] < r : lu[q[t]] > r))
                        lu[q[t]] = r;
            }
    }
}

/* As late as possible: each position of each computed value is computed
 * at the first step that reads it (the output: at its pixel's step), not
 * at its ready step; positions nothing reads are never computed (step T).
 * Replaces the ready steps (the later steps are never earlier: a reader
 * is ready only after what it reads). So the conditioning network, whose
 * values are all ready at step 0, is computed row by row as the pixels
 * need it, and its values keep windows of rows instead of whole images. */
static pcnn_status schedule_late(sampler *S)
{
    const int nv = S->g.nval;
    int32_t **late = calloc((size_t)nv, sizeof *late);
    int64_t *q = malloc(MAX_READS * sizeof *q);
    pcnn_status st = late && q ? PCNN_OK
                               : pcnn_fail(PCNN_ERR_NOMEM,
                                           "sampler: out of memory");
    for (int v = 0; st == PCNN_OK && v < nv; v++) {
        const int64_t n = S->v[v].H * S->v[v].W;
        late[v] = malloc((size_t)(n ? n : 1) * sizeof **late);
        if (!late[v])
            st = pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
        for (int64_t k = 0; late[v] && k < n; k++)
            late[v][k] = (int32_t)S->T;
    }
    for (int64_t k = 0; st == PCNN_OK && k < S->HW; k++)
        late[S->out][k] = (int32_t)step_of(S, S->a, k);
    for (int i = S->g.nnode - 1; st == PCNN_OK && i >= 0; i--) {
        const pcnn_gnode *nd = &S->g.node[i];
        use_of(S, nd, &S->n[i], late, late[nd->out], S->T, 0, q);
    }
    for (int v = 0; st == PCNN_OK && v < nv; v++) {
        if (v == S->in_x || v == S->in_cond)
            continue; /* written by the draws and before the first step */
        int32_t *t = S->v[v].ready;
        S->v[v].ready = late[v];
        late[v] = t;
    }
    for (int v = 0; late && v < nv; v++)
        free(late[v]);
    free(late), free(q);
    return st;
}

/* Each stored value keeps only a window of rows: the fewest such that a
 * row is overwritten (by the row `rows` below it) only after its last
 * read. A row written at step r must not replace one read at step r or
 * later: producers run before readers within a step. The condition map,
 * written before the first step, keeps every row. */
static pcnn_status plan_windows(sampler *S)
{
    const int nv = S->g.nval;
    int32_t **last = calloc((size_t)nv, sizeof *last);
    pcnn_status st = last ? PCNN_OK
                          : pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    for (int v = 0; st == PCNN_OK && v < nv; v++) {
        last[v] = malloc((size_t)(S->v[v].H * S->v[v].W) * sizeof **last);
        if (!last[v])
            st = pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
        for (int64_t q = 0; last[v] && q < S->v[v].H * S->v[v].W; q++)
            last[v][q] = -1;
    }
    int64_t *q = st == PCNN_OK ? malloc(MAX_READS * sizeof *q) : NULL;
    if (st == PCNN_OK && !q)
        st = pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    for (int i = 0; st == PCNN_OK && i < S->g.nnode; i++)
        use_of(S, &S->g.node[i], &S->n[i], last,
               S->v[S->g.node[i].out].ready, S->T, 1, q);
    free(q);
    /* the draw reads the output at pixel k at its step */
    for (int64_t k = 0; st == PCNN_OK && k < S->HW; k++) {
        int32_t *lu = last[S->out];
        const int32_t t = (int32_t)step_of(S, S->a, k);
        if (lu[k] < t)
            lu[k] = t;
    }
    for (int v = 0; st == PCNN_OK && v < nv; v++) {
        sval *sv = &S->v[v];
        const int64_t H = sv->H, W = sv->W;
        sv->rows = H;
        for (int64_t w = 1; w < H; w++) {
            int fits = 1;
            for (int64_t i = 0; fits && i + w < H; i++) {
                int32_t used = -1, first = INT32_MAX;
                for (int64_t j = 0; j < W; j++) {
                    used = last[v][i * W + j] > used ? last[v][i * W + j]
                                                     : used;
                    /* the input's pixel is written at the end of step
                     * ready - 1, after that step's reads: the same rule */
                    const int32_t r = sv->ready[(i + w) * W + j];
                    first = r < first ? r : first;
                }
                fits = used < first;
            }
            if (fits) {
                sv->rows = w;
                break;
            }
        }
    }
    for (int v = 0; last && v < nv; v++)
        free(last[v]);
    free(last);
    return st;
}

/* ---------------------------------------------------------- planning */

void pcnn_sampler_free(sampler *S)
{
    if (S->v)
        for (int i = 0; i < S->g.nval; i++)
            free(S->v[i].ready);
    if (S->n)
        for (int i = 0; i < S->g.nnode; i++) {
            free(S->n[i].wp);
            free(S->n[i].order);
        }
    free(S->v), free(S->n);
    pcnn_graph_free(&S->g);
}

/* Packs a layer's effective weight as W (K, Co) with rows in gather order
 * (tap p, tap q, input channel c). */
static pcnn_status pack_layer(snode *sn, const pcnn_model *m,
                              const pcnn_gnode *nd, int64_t ci, int64_t co,
                              int bf16)
{
    const pcnn_layer *L = &m->layers[nd->layer];
    const float *w = m->w + L->woff;
    const int kh = sn->geom.kh, kw = sn->geom.kw;
    const int64_t K = (int64_t)kh * kw * ci;
    float *wt = malloc((size_t)(K * co) * sizeof *wt);
    sn->wp = falloc(pcnn_packed_floats((int)K, (int)co));
    if (!wt || !sn->wp) {
        free(wt);
        return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    }
    for (int p = 0; p < kh; p++)
        for (int q = 0; q < kw; q++)
            for (int64_t c = 0; c < ci; c++)
                for (int64_t o = 0; o < co; o++) {
                    float v;
                    if (nd->kind == GN_DECONV) /* (Ci, Co, kh, kw) */
                        v = w[((c * co + o) * kh + p) * kw + q];
                    else /* (Co, Ci, kh, kw); a nin is (Co, Ci) */
                        v = w[((o * ci + c) * kh + p) * kw + q];
                    wt[((p * kw + q) * ci + c) * co + o] = v;
                }
    pcnn_pack_weights(sn->wp, wt, (int)co, (int)K, (int)co);
    if (bf16)
        pcnn_pack_weights_bf16(sn->wp, (int)K, (int)co);
    free(wt);
    sn->K = (int)K;
    sn->bias = m->params.data + m->params.p[L->b].off;
    return PCNN_OK;
}

/* Ready steps of every value when pixel k is drawn at step a*i + j (known
 * from the next step on); 1 if every output is ready by its own pixel's
 * step. */
static int schedule_ok(sampler *S, int64_t a)
{
    for (int64_t k = 0; k < S->HW; k++)
        S->v[S->in_x].ready[k] = (int32_t)(step_of(S, a, k) + 1);
    for (int i = 0; i < S->g.nnode; i++)
        ready_of(S, &S->g.node[i], &S->n[i]);
    for (int64_t k = 0; k < S->HW; k++)
        if (S->v[S->out].ready[k] > step_of(S, a, k))
            return 0;
    return 1;
}

pcnn_status pcnn_sampler_plan(sampler *S, pcnn_model *m, int64_t B)
{
    const pcnn_model_config *c = &m->cfg;
    PCNN_TRY(pcnn_model_build_graph(m, B, 1, &S->g, &S->in_x, &S->in_cond,
                                    &S->out));
    pcnn_graph *g = &S->g;
    S->B = B, S->H = c->height, S->W = c->width, S->HW = S->H * S->W;
    S->v = calloc((size_t)g->nval, sizeof *S->v);
    S->n = calloc((size_t)g->nnode, sizeof *S->n);
    if (!S->v || !S->n)
        return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    for (int i = 0; i < g->nval; i++) {
        sval *v = &S->v[i];
        v->C = g->val[i].dim[1], v->H = g->val[i].dim[2];
        v->W = g->val[i].dim[3];
        v->ready = calloc((size_t)(v->H * v->W), sizeof *v->ready);
        if (!v->ready)
            return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    }
    /* geometry; the evaluation graph has no dropout nodes */
    for (int i = 0; i < g->nnode; i++) {
        const pcnn_gnode *nd = &g->node[i];
        PCNN_ASSERT(nd->kind != GN_DROPOUT);
        if (nd->kind == GN_CONV || nd->kind == GN_DECONV)
            S->n[i].geom = m->layers[nd->layer].geom;
        else if (nd->kind == GN_NIN)
            S->n[i].geom = nin_geom();
    }
    /* The schedule: the smallest a such that every pixel's output needs
     * only pixels drawn at earlier steps. a = W is raster order (one pixel
     * per step), which a causal network always allows; a network with a
     * small receptive field allows less, and then the pixels of one step
     * (a wavefront) are drawn together. Validity only grows with a. */
    if (!schedule_ok(S, S->W))
        return pcnn_fail(PCNN_ERR_ARG,
                         "sampler: the network is not causal: an output "
                         "reads its own pixel or a later one");
    int64_t lo = 1, hi = S->W;
    while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (schedule_ok(S, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    S->a = lo;
    S->T = S->a * (S->H - 1) + S->W;
    if (!schedule_ok(S, S->a)) /* leaves the ready steps of a */
        return pcnn_fail(PCNN_ERR_ARG, "sampler: no schedule");
    PCNN_TRY(schedule_late(S));
    S->maxK = S->maxC = 1;
    for (int i = 0; i < g->nnode; i++) {
        const pcnn_gnode *nd = &g->node[i];
        snode *sn = &S->n[i];
        if (!is_conv(nd->kind))
            continue;
        const int64_t ci = S->v[nd->in0].C;
        PCNN_TRY(pack_layer(sn, m, nd, ci, S->v[nd->out].C, S->bf16));
        if (sn->K > S->maxK)
            S->maxK = sn->K;
        if (S->v[nd->out].C > S->maxC)
            S->maxC = S->v[nd->out].C;
    }
    PCNN_TRY(plan_windows(S));
    /* each computed node's positions, by ready step (counting sort) */
    const int64_t T = S->T;
    int64_t *count = calloc((size_t)T + 2, sizeof *count);
    if (!count)
        return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    for (int i = 0; i < g->nnode; i++) {
        snode *sn = &S->n[i];
        const sval *o = &S->v[g->node[i].out];
        const int64_t n = o->H * o->W;
        memset(count, 0, ((size_t)T + 2) * sizeof *count);
        for (int64_t k = 0; k < n; k++)
            count[o->ready[k] + 1]++;
        for (int64_t r = 1; r <= T + 1; r++)
            count[r] += count[r - 1];
        /* positions that need the last step's pixels are never needed */
        sn->npos = count[T];
        sn->order = malloc((size_t)(n ? n : 1) * sizeof *sn->order);
        if (!sn->order) {
            free(count);
            return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
        }
        for (int64_t k = 0; k < n; k++)
            sn->order[count[o->ready[k]]++] = (int32_t)k;
    }
    free(count);
    return PCNN_OK;
}

pcnn_status pcnn_model_sample_plan(pcnn_model *m, int64_t batch,
                                   int64_t *steps, size_t *cache_bytes)
{
    if (!m || batch < 1)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_model_sample_plan: NULL model "
                                       "or batch < 1");
    sampler S;
    memset(&S, 0, sizeof S);
    pcnn_status st = pcnn_sampler_plan(&S, m, batch);
    if (st == PCNN_OK && steps)
        *steps = S.T;
    if (st == PCNN_OK && cache_bytes) {
        size_t total = 0;
        for (int i = 0; i < S.g.nval; i++)
            total += (size_t)(batch * S.v[i].rows * S.v[i].W * S.v[i].C) *
                     sizeof(float);
        *cache_bytes = total;
    }
    pcnn_sampler_free(&S);
    return st;
}
