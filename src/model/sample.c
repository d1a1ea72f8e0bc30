/*
 * sample.c -- drawing images from a model (docs/sampling.md).
 *
 * The cached sampler runs the network's graph with every value stored
 * channels-last, (B, H, W, C), and every position of every value computed
 * exactly once. Before sampling, each value gets a ready step per position:
 * the first raster step at which all the pixels it depends on are known
 * (the input pixel k is known from step k+1; a value's ready step is the
 * largest of those of the input positions it reads). Causality means the
 * output at pixel k is ready at step k. Each position is then computed as
 * late as possible: at the first step that reads it (schedule_late). At
 * step s, each node computes the positions due at s (most nodes: one
 * position; the u stream and the lower resolutions: a row or a few), in
 * graph order, then pixel s is drawn from the head and written into the
 * input. This is
 * the caching of Ramachandran et al. (2017) derived from the graph itself,
 * so it holds across strided and transposed convs and for any network the
 * builder makes.
 *
 * Convs gather the taps of the positions into rows (channels of a tap are
 * contiguous) and multiply them by weights packed once (gemm_packed.c);
 * pointwise ops run the library's kernels on each position's channel
 * vector. The graph is the evaluation one, without dropout nodes.
 */
/* madvise(MADV_HUGEPAGE) */
#define _DEFAULT_SOURCE
#include "model.h"
#include "../api/check.h"
#include "../core/rng.h"
#include "gemm_packed.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Rows per GEMM chunk: positions times the images of a slice. */
#define CHUNK_ROWS 512

/* What every thread shares: the graph, the ready steps, the order in which
 * positions are computed, the packed weights. */
typedef struct {
    int64_t C, H, W;
    int32_t *ready;  /* (H*W) */
    int64_t rows;    /* rows kept: a window of the last `rows` rows */
} sval;

typedef struct {
    pcnn_conv_geom geom;
    int K;           /* gathered columns: taps * input channels */
    float *wp;       /* packed weights (K, Co) */
    const float *bias;
    int32_t *order;  /* positions, by ready step */
    int64_t npos;    /* positions ever needed (ready before the last step) */
} snode;

typedef struct {
    pcnn_graph g;
    int in_x, in_cond, out;
    int64_t B, H, W, HW;
    sval *v;
    snode *n;
    int64_t maxK, maxC;
    /* the schedule: pixel (i, j) is drawn at step a*i + j, of T steps */
    int64_t a, T;
    const pcnn_backend *be;
    const pcnn_params *params;
} sampler;

/* One thread's images [b0, b0 + B): every value stored position-major,
 * (H, W, B, C), so the images' channel vectors at a position are one
 * contiguous block. */
typedef struct {
    int64_t b0, B;
    float **data;    /* per value, in the arena */
    float *arena;
    /* the threads working on the slice together (a team: a batch smaller
     * than the thread count), each with its gathered rows and GEMM
     * output rows, and per node the positions computed so far */
    int team;
    float **A, **Cb;
    int64_t *next;   /* (team, nodes) */
    int64_t chunk;   /* positions per GEMM */
    const int32_t *labels; /* of these images */
} slice;

/* ------------------------------------------------------- ready steps */

static int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }

/* The input position of output (i, j) for conv tap (p, q), or -1. */
static int64_t conv_tap(const pcnn_conv_geom *g, int64_t H, int64_t W,
                        int64_t i, int64_t j, int p, int q)
{
    const int d = g->dilation > 1 ? g->dilation : 1;
    const int64_t y = i * g->stride + (int64_t)p * d - g->pad_top;
    const int64_t x = j * g->stride + (int64_t)q * d - g->pad_left;
    return y < 0 || y >= H || x < 0 || x >= W ? -1 : y * W + x;
}

/* The input position feeding transposed-conv output (y, x) through tap
 * (p, q), or -1: y = i*s + p - crop_top. */
static int64_t deconv_tap(const pcnn_conv_geom *g, int64_t H, int64_t W,
                          int64_t y, int64_t x, int p, int q)
{
    const int64_t ty = y + g->pad_top - p, tx = x + g->pad_left - q;
    const int s = g->stride;
    if (ty < 0 || tx < 0 || ty % s || tx % s)
        return -1;
    const int64_t i = ty / s, j = tx / s;
    return i >= H || j >= W ? -1 : i * W + j;
}

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

static void *falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

static void sampler_free(sampler *S)
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

static void slice_free(slice *T)
{
    for (int t = 0; t < T->team; t++) {
        if (T->A)
            free(T->A[t]);
        if (T->Cb)
            free(T->Cb[t]);
    }
    free(T->arena);
    free(T->data), free(T->A), free(T->Cb), free(T->next);
    memset(T, 0, sizeof *T);
}

/* Storage and buffers of one slice; 0, or -1 when out of memory. */
static int slice_alloc(const sampler *S, slice *T)
{
    const int nv = S->g.nval;
    T->data = calloc((size_t)nv, sizeof *T->data);
    T->next = calloc((size_t)(T->team * S->g.nnode), sizeof *T->next);
    T->A = calloc((size_t)T->team, sizeof *T->A);
    T->Cb = calloc((size_t)T->team, sizeof *T->Cb);
    if (!T->data || !T->next || !T->A || !T->Cb)
        return -1;
    /* one arena in 2 MB pages where the kernel allows: every page is
     * written once, and 4 KB pages made page faults a third of the time */
    const size_t huge = (size_t)2 << 20;
    size_t total = 0;
    for (int i = 0; i < nv; i++)
        total += (size_t)(T->B * S->v[i].rows * S->v[i].W * S->v[i].C + 15) /
                 16 * 16;
    const size_t bytes = (total * sizeof(float) + huge - 1) / huge * huge;
    T->arena = aligned_alloc(huge, bytes ? bytes : huge);
    if (!T->arena)
        return -1;
#ifdef MADV_HUGEPAGE
    madvise(T->arena, bytes, MADV_HUGEPAGE); /* advice: failure is fine */
#endif
    size_t off = 0;
    for (int i = 0; i < nv; i++) {
        const sval *v = &S->v[i];
        const size_t n = (size_t)(T->B * v->rows * v->W * v->C);
        T->data[i] = T->arena + off;
        off += (n + 15) / 16 * 16;
        /* zeros: pixels not drawn yet are never read, but be safe */
        if (i == S->in_x)
            memset(T->data[i], 0, n * sizeof(float));
    }
    T->chunk = CHUNK_ROWS / T->B > 0 ? CHUNK_ROWS / T->B : 1;
    const int64_t rows = (T->chunk * T->B + PCNN_PACK_MR - 1) /
                         PCNN_PACK_MR * PCNN_PACK_MR;
    for (int t = 0; t < T->team; t++) {
        T->A[t] = falloc((size_t)(rows * S->maxK));
        T->Cb[t] = falloc((size_t)(rows * S->maxC));
        if (!T->A[t] || !T->Cb[t])
            return -1;
        memset(T->A[t], 0, (size_t)(rows * S->maxK) * sizeof(float));
    }
    return 0;
}

static int is_conv(pcnn_gkind k)
{
    return k == GN_CONV || k == GN_NIN || k == GN_DECONV;
}


/* Packs a layer's effective weight as W (K, Co) with rows in gather order
 * (tap p, tap q, input channel c). */
static pcnn_status pack_layer(snode *sn, const pcnn_model *m,
                              const pcnn_gnode *nd, int64_t ci, int64_t co)
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

static pcnn_status plan(sampler *S, pcnn_model *m, int64_t B)
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
        PCNN_TRY(pack_layer(sn, m, nd, ci, S->v[nd->out].C));
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

/* ------------------------------------------------------------- steps */

/* The channel vectors of the slice's images at position pos of value v. */
static float *at(const sampler *S, const slice *T, int v, int64_t pos)
{
    const sval *sv = &S->v[v];
    const int64_t r = pos / sv->W, c = pos % sv->W;
    return T->data[v] + ((r % sv->rows) * sv->W + c) * T->B * sv->C;
}

/* The node's output at the positions pos[0 .. n). On a team of P
 * threads, each gathers every row and computes its share of the GEMM's
 * tiles. */
static void conv_rows(const sampler *S, slice *T, const pcnn_gnode *nd,
                      const snode *sn, const int32_t *pos, int64_t n,
                      int tid, int P)
{
    float *A = T->A[tid], *Cb = T->Cb[tid];
    const sval *src = &S->v[nd->in0], *o = &S->v[nd->out];
    const int64_t B = T->B, Ci = src->C, K = sn->K, Co = o->C;
    const int kh = sn->geom.kh, kw = sn->geom.kw;
    for (int64_t t = 0; t < n; t++) {
        const int64_t i = pos[t] / o->W, j = pos[t] % o->W;
        for (int p = 0; p < kh; p++)
            for (int q = 0; q < kw; q++) {
                const int64_t tap =
                    nd->kind == GN_DECONV
                        ? deconv_tap(&sn->geom, src->H, src->W, i, j, p, q)
                        : conv_tap(&sn->geom, src->H, src->W, i, j, p, q);
                float *dst = A + t * B * K + (p * kw + q) * Ci;
                const float *x = tap >= 0 ? at(S, T, nd->in0, tap) : NULL;
                for (int64_t b = 0; b < B; b++, dst += K) {
                    if (x)
                        memcpy(dst, x + b * Ci, (size_t)Ci * sizeof *dst);
                    else
                        memset(dst, 0, (size_t)Ci * sizeof *dst);
                }
            }
    }
    /* rows t*B + b: consecutive positions are consecutive in storage, and
     * the product goes there directly; others go through Cb, in one GEMM */
    int consecutive = 1;
    for (int64_t t = 1; t < n && consecutive; t++)
        consecutive = pos[t] == pos[t - 1] + 1;
    for (int64_t t = 1; t < n && consecutive; t++) /* not across a wrap */
        consecutive = at(S, T, nd->out, pos[t]) ==
                      at(S, T, nd->out, pos[t - 1]) + B * Co;
    float *dst = consecutive ? at(S, T, nd->out, pos[0]) : Cb;
    const int M = (int)(n * B);
    if (P == 1) {
        pcnn_gemm_packed(dst, (int)Co, A, (int)K, M, sn->wp, sn->bias,
                         (int)K, (int)Co, 1);
        for (int64_t t = 0; !consecutive && t < n; t++)
            memcpy(at(S, T, nd->out, pos[t]), Cb + t * B * Co,
                   (size_t)(B * Co) * sizeof(float));
        return;
    }
    const long nb = (M + PCNN_PACK_MR - 1) / PCNN_PACK_MR;
    const long ntiles = nb * ((Co + PCNN_PACK_NR - 1) / PCNN_PACK_NR);
    const long t0 = ntiles * tid / P, t1 = ntiles * (tid + 1) / P;
    pcnn_gemm_packed_tiles(dst, (int)Co, A, (int)K, M, sn->wp, sn->bias,
                           (int)K, (int)Co, t0, t1);
    for (long t = t0; !consecutive && t < t1; t++) {
        const int64_t j0 = t / nb * PCNN_PACK_NR, r0 = t % nb * PCNN_PACK_MR;
        const int64_t nc = Co - j0 < PCNN_PACK_NR ? Co - j0 : PCNN_PACK_NR;
        for (int64_t r = r0; r < r0 + PCNN_PACK_MR && r < M; r++)
            memcpy(at(S, T, nd->out, pos[r / B]) + r % B * Co + j0,
                   Cb + r * Co + j0, (size_t)nc * sizeof(float));
    }
}

/* A pointwise or shift op at the positions. */
static void point_rows(const sampler *S, slice *T, const pcnn_gnode *nd,
                       const int32_t *pos, int64_t n)
{
    const sval *a = &S->v[nd->in0], *o = &S->v[nd->out];
    const pcnn_backend *be = S->be;
    const int64_t B = T->B, C = o->C, BC = B * C;
    for (int64_t t = 0; t < n; t++) {
        const int64_t k = pos[t], i = k / o->W, j = k % o->W;
        float *y = at(S, T, nd->out, k);
        const float *x = at(S, T, nd->in0, k);
        switch (nd->kind) {
        /* this thread's kernels: no parallel region per position */
        case GN_ELU: be->elu_serial(y, NULL, x, BC); break;
        case GN_CONCAT_ELU:
            for (int64_t b = 0; b < B; b++)
                be->elu_serial(y + 2 * b * a->C, y + (2 * b + 1) * a->C,
                               x + b * a->C, a->C);
            break;
        case GN_GATE:
            for (int64_t b = 0; b < B; b++)
                for (int64_t c = 0; c < C; c++)
                    y[b * C + c] =
                        x[2 * b * C + c] /
                        (1.0f + expf(-x[(2 * b + 1) * C + c]));
            break;
        case GN_ADD: {
            const float *x1 = at(S, T, nd->in1, k);
            for (int64_t c = 0; c < BC; c++)
                y[c] = x[c] + x1[c];
            break;
        }
        case GN_CONCAT: {
            const int64_t Cb = S->v[nd->in1].C;
            const float *x1 = at(S, T, nd->in1, k);
            for (int64_t b = 0; b < B; b++) {
                memcpy(y + b * C, x + b * a->C, (size_t)a->C * sizeof *y);
                memcpy(y + b * C + a->C, x1 + b * Cb, (size_t)Cb * sizeof *y);
            }
            break;
        }
        case GN_CLASS_BIAS: {
            const pcnn_param *cw = &S->params->p[nd->layer];
            const float *w = S->params->data + cw->off;
            const int64_t K = cw->shape[1];
            for (int64_t b = 0; b < B; b++)
                for (int64_t c = 0; c < C; c++)
                    y[b * C + c] = x[b * C + c] + w[c * K + T->labels[b]];
            break;
        }
        case GN_DOWN_SHIFT:
        case GN_RIGHT_SHIFT: {
            const int in = nd->kind == GN_DOWN_SHIFT ? i > 0 : j > 0;
            if (!in)
                memset(y, 0, (size_t)BC * sizeof *y);
            else
                memcpy(y,
                       at(S, T, nd->in0,
                          nd->kind == GN_DOWN_SHIFT ? k - o->W : k - 1),
                       (size_t)BC * sizeof *y);
            break;
        }
        case GN_POOL: {
            int cnt = 0;
            memset(y, 0, (size_t)BC * sizeof *y);
            for (int64_t yy = 2 * i; yy < 2 * i + 2 && yy < a->H; yy++)
                for (int64_t xx = 2 * j; xx < 2 * j + 2 && xx < a->W;
                     xx++, cnt++) {
                    const float *s = at(S, T, nd->in0, yy * a->W + xx);
                    for (int64_t c = 0; c < BC; c++)
                        y[c] += s[c];
                }
            for (int64_t c = 0; c < BC; c++)
                y[c] /= (float)cnt;
            break;
        }
        default: PCNN_ASSERT(0);
        }
    }
}

/* Computes every position of the slice that becomes ready at step s.
 * Thread tid of the slice's team of P takes its share of each node's work
 * (GEMM tiles of a conv, positions of a pointwise op); the team waits for
 * each node's positions before the next node reads them. */
static void advance(const sampler *S, slice *T, int64_t s, int tid, int P)
{
    int64_t *next = T->next + (int64_t)tid * S->g.nnode;
    for (int i = 0; i < S->g.nnode; i++) {
        const snode *sn = &S->n[i];
        const pcnn_gnode *nd = &S->g.node[i];
        const int32_t *ready = S->v[nd->out].ready;
        int64_t lo = next[i], end = lo;
        while (end < sn->npos && ready[sn->order[end]] <= s)
            end++;
        next[i] = end;
        if (end == lo)
            continue;
        if (is_conv(nd->kind)) {
            for (int64_t c = lo; c < end; c += T->chunk)
                conv_rows(S, T, nd, sn, sn->order + c,
                          end - c < T->chunk ? end - c : T->chunk, tid, P);
        } else {
            const int64_t first = lo, n = end - lo;
            lo = first + n * tid / P;
            const int64_t hi = first + n * (tid + 1) / P;
            for (int64_t c = lo; c < hi; c += T->chunk)
                point_rows(S, T, nd, sn->order + c,
                           hi - c < T->chunk ? hi - c : T->chunk);
        }
        if (P > 1) {
#pragma omp barrier
        }
    }
}

/* x * 2/(levels-1) - 1 and the ones into the slice's input at pixel k. */
static void write_input(const sampler *S, const slice *T, pcnn_image x,
                        float scale, int64_t k)
{
    const int64_t C = x.c, HW = S->HW;
    float *v = at(S, T, S->in_x, k);
    for (int64_t b = 0; b < T->B; b++, v += C + 1) {
        for (int64_t c = 0; c < C; c++)
            v[c] = (float)x.data[((T->b0 + b) * C + c) * HW + k] * scale -
                   1.0f;
        v[C] = 1.0f;
    }
}

/* ------------------------------------------------------------ driver */

pcnn_model_sample_opts pcnn_model_sample_opts_default(void)
{
    pcnn_model_sample_opts o;
    memset(&o, 0, sizeof o);
    o.temperature = 1.0f;
    return o;
}

/* Draws channel after channel of pixel k of every image from the head's
 * conditionals restricted to the values its parent allows (opts parent)
 * into px (B, C); lo, hi: (B) scratch. */
static pcnn_status draw_consistent(pcnn_ctx *ctx, const pcnn_model *m,
                                   const pcnn_model_sample_opts *o,
                                   const float *l, uint8_t *px, uint8_t *lo,
                                   uint8_t *hi, pcnn_image x, int64_t k)
{
    const int64_t B = x.n, C = x.c, H = x.h, W = x.w, HW = H * W;
    const int64_t i = k / W, j = k % W, w2 = W / 2;
    const int P = pcnn_head_params(&m->head), L = m->head.levels;
    const int child = (int)(i % 2 * 2 + j % 2);
    /* the block's children before this one, in raster order */
    const int64_t at[3] = {(i - i % 2) * W + (j - j % 2),
                           (i - i % 2) * W + (j - j % 2) + 1,
                           (i - i % 2 + 1) * W + (j - j % 2)};
    pcnn_tensor lt = pcnn_t4((float *)l, B, P, 1, 1);
    pcnn_image pi = pcnn_img(px, B, C, 1, 1);
    const uint64_t seed = pcnn_hash64(o->seed ^ 0x706172656e74ULL,
                                      (uint64_t)k);
    for (int64_t c = 0; c < C; c++) {
        for (int64_t b = 0; b < B; b++) {
            const uint8_t *xb = x.data + (b * C + c) * HW;
            const int p = o->parent[((b * C + c) * (H / 2) + i / 2) * w2 +
                                    j / 2];
            int before = 0;
            for (int t = 0; t < child; t++)
                before += xb[at[t]];
            int a = 4 * p - 2 - before - 255 * (3 - child);
            int z = 4 * p + 1 - before;
            a = a < 0 ? 0 : a;
            z = z > L - 1 ? L - 1 : z;
            if (a > z)
                return pcnn_fail(PCNN_ERR_VALUE,
                                 "sampler: pixel %lld of image %lld cannot "
                                 "match its parent %d",
                                 (long long)k, (long long)b, p);
            lo[b] = (uint8_t)a, hi[b] = (uint8_t)z;
        }
        /* image b's numbers come from (seed, b): not the batch size */
        PCNN_TRY(pcnn_head_sample_range(ctx, &m->head, pi, lt, (int)c, lo,
                                        hi, pcnn_hash64(seed, (uint64_t)c)));
    }
    return PCNN_OK;
}

/* Draws pixel s of every image from l (B, P) into x, keeping known
 * pixels; records l in opts->params. */
static pcnn_status draw_pixel(pcnn_ctx *ctx, const pcnn_model *m,
                              const pcnn_model_sample_opts *o, float *l,
                              uint8_t *px, pcnn_image x, int64_t s)
{
    const int64_t B = x.n, C = x.c, HW = x.h * x.w;
    const int P = pcnn_head_params(&m->head);
    if (o->parent) {
        uint8_t *lo = malloc((size_t)(2 * B));
        if (!lo)
            return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
        pcnn_status st = draw_consistent(ctx, m, o, l, px, lo, lo + B, x, s);
        free(lo);
        PCNN_TRY(st);
    } else {
        pcnn_sample_opts so = {pcnn_hash64(o->seed, (uint64_t)s),
                               o->log_scale_offset, o->temperature};
        PCNN_TRY(pcnn_head_sample(ctx, &m->head, pcnn_img(px, B, C, 1, 1),
                                  pcnn_t4(l, B, P, 1, 1), &so));
    }
    for (int64_t b = 0; b < B; b++) {
        if (o->known && o->known[b * HW + s])
            continue;
        for (int64_t c = 0; c < C; c++)
            x.data[(b * C + c) * HW + s] = px[b * C + c];
    }
    if (o->params.data)
        for (int64_t b = 0; b < B; b++)
            for (int p = 0; p < P; p++)
                o->params.data[(b * P + p) * HW + s] = l[b * P + p];
    return PCNN_OK;
}

static void report(const pcnn_model_sample_opts *o, const pcnn_image x,
                   int64_t s)
{
    if (o->progress && (s + 1) % x.w == 0)
        o->progress(o->progress_arg, (s + 1) / x.w, x.h);
}

static pcnn_status sample_naive(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                                const pcnn_model_sample_opts *o, float *l,
                                uint8_t *px)
{
    const int64_t B = x.n, HW = x.h * x.w;
    const int P = pcnn_head_params(&m->head);
    float *full = malloc((size_t)(B * P * HW) * sizeof *full);
    if (!full)
        return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    /* pixels not drawn yet are never read (causality); start them at 0 */
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < HW; k++)
            if (!o->known || !o->known[b * HW + k])
                for (int64_t c = 0; c < x.c; c++)
                    x.data[(b * x.c + c) * HW + k] = 0;
    pcnn_batch batch = {x, o->labels, o->cond};
    pcnn_status st = PCNN_OK;
    for (int64_t s = 0; s < HW && st == PCNN_OK; s++) {
        st = pcnn_model_forward(ctx, m, &batch,
                                pcnn_t4(full, B, P, x.h, x.w));
        if (st != PCNN_OK)
            break;
        for (int64_t b = 0; b < B; b++)
            for (int p = 0; p < P; p++)
                l[b * P + p] = full[(b * P + p) * HW + s];
        st = draw_pixel(ctx, m, o, l, px, x, s);
        report(o, x, s);
    }
    free(full);
    return st;
}

/* Runs slice T through every step, as thread tid of its team. With
 * several slices (or a team) this runs on each thread of a parallel
 * region, and one thread draws each pixel for the whole batch between
 * two barriers. */
static void run_slice(pcnn_ctx *ctx, const pcnn_model *m, const sampler *S,
                      slice *T, pcnn_image x, const pcnn_model_sample_opts *o,
                      float *l, uint8_t *px, pcnn_status *st, int tid,
                      int team)
{
    const int64_t W = S->W, H = S->H, a = S->a;
    const int64_t B = x.n;
    const int P = (int)S->v[S->out].C;
    const float scale = 2.0f / (float)(m->cfg.levels - 1);
    for (int64_t s = 0; s < S->T; s++) {
        advance(S, T, s, tid, team);
        /* the pixels of step s: (i, s - a*i) for the rows i that have one */
        const int64_t i0 = s - (W - 1) > 0 ? (s - (W - 1) + a - 1) / a : 0;
        const int64_t i1 = s / a < H - 1 ? s / a : H - 1;
        for (int64_t i = i0; tid == 0 && i <= i1; i++)
            memcpy(l + ((i - i0) * B + T->b0) * P,
                   at(S, T, S->out, i * W + s - a * i),
                   (size_t)(T->B * P) * sizeof *l);
#pragma omp barrier
#pragma omp single
        {
            for (int64_t i = i0; i <= i1 && *st == PCNN_OK; i++) {
                const int64_t k = i * W + s - a * i;
                *st = draw_pixel(ctx, m, o, l + (i - i0) * B * P, px, x, k);
                report(o, x, k);
                if (team > 1) /* the team's one slice */
                    write_input(S, T, x, scale, k);
            }
        } /* implied barrier */
        if (*st != PCNN_OK)
            return;
        for (int64_t i = i0; team == 1 && i <= i1; i++)
            write_input(S, T, x, scale, i * W + s - a * i);
    }
}

static pcnn_status sample_cached(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                                 const pcnn_model_sample_opts *o, float *l,
                                 uint8_t *px)
{
    const int64_t B = x.n, HW = x.h * x.w;
    sampler S;
    memset(&S, 0, sizeof S);
    S.be = ctx->be;
    S.params = &m->params;
    pcnn_status st = pcnn_model_refresh_weights(ctx, m);
    if (st == PCNN_OK)
        st = plan(&S, m, B);
    if (st != PCNN_OK) {
        sampler_free(&S);
        return st;
    }
    /* threads split the batch (no synchronization inside a step); a batch
     * smaller than the thread count runs whole, its GEMMs threaded */
    const int nt = ctx->threads < B ? ctx->threads : (int)B;
    const int team = nt == 1 ? ctx->threads : 1;
    slice *T = calloc((size_t)nt, sizeof *T);
    if (!T) {
        sampler_free(&S);
        return pcnn_fail(PCNN_ERR_NOMEM, "sampler: out of memory");
    }
    for (int t = 0; t < nt && st == PCNN_OK; t++) {
        T[t].b0 = B * t / nt;
        T[t].B = B * (t + 1) / nt - T[t].b0;
        T[t].labels = o->labels ? o->labels + T[t].b0 : NULL;
        T[t].team = team;
        if (slice_alloc(&S, &T[t]))
            st = pcnn_fail(PCNN_ERR_NOMEM,
                           "sampler: out of memory for the layer caches");
    }
    if (st == PCNN_OK && S.in_cond >= 0) /* NCHW -> (H, W, B, C) */
        for (int t = 0; t < nt; t++) {
            const int64_t Cc = S.v[S.in_cond].C;
            for (int64_t b = 0; b < T[t].B; b++)
                for (int64_t c = 0; c < Cc; c++)
                    for (int64_t k = 0; k < HW; k++)
                        at(&S, &T[t], S.in_cond, k)[b * Cc + c] =
                            o->cond.data[((T[t].b0 + b) * Cc + c) * HW + k];
        }
    if (st == PCNN_OK && nt > 1) {
#pragma omp parallel num_threads(nt)
        run_slice(ctx, m, &S, &T[omp_get_thread_num()], x, o, l, px, &st,
                  0, 1);
    } else if (st == PCNN_OK && team > 1) {
#pragma omp parallel num_threads(team)
        run_slice(ctx, m, &S, &T[0], x, o, l, px, &st,
                  omp_get_thread_num(), omp_get_num_threads());
    } else if (st == PCNN_OK) {
        run_slice(ctx, m, &S, &T[0], x, o, l, px, &st, 0, 1);
    }
    for (int t = 0; t < nt; t++)
        slice_free(&T[t]);
    free(T);
    sampler_free(&S);
    return st;
}

pcnn_status pcnn_model_sample(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                              const pcnn_model_sample_opts *o)
{
    static const char fn[] = "pcnn_model_sample";
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    if (!m || !o)
        return pcnn_fail(PCNN_ERR_ARG, "%s: model or opts is NULL", fn);
    const pcnn_model_config *c = &m->cfg;
    const pcnn_batch batch = {x, o->labels, o->cond};
    PCNN_TRY(pcnn_model_check_batch(fn, m, &batch));
    if (o->parent && (x.h % 2 || x.w % 2 || o->known ||
                      o->log_scale_offset != 0.0f ||
                      o->temperature != 1.0f))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: drawing consistent with a parent needs even "
                         "sizes, and no known pixels, log-scale offset or "
                         "temperature",
                         fn);
    const int P = pcnn_head_params(&m->head);
    if (o->params.data) {
        int64_t d[4] = {x.n, P, c->height, c->width};
        PCNN_TRY(pcnn_check_dims(fn, "params", o->params, 4, d));
    }
    /* head parameters of one step's pixels: at most one per row (the
     * naive sampler draws one pixel per step) */
    float *l = malloc((size_t)(x.h * x.n * P) * sizeof *l);
    uint8_t *px = malloc((size_t)(x.n * x.c));
    if (!l || !px) {
        free(l), free(px);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    pcnn_status s = o->naive ? sample_naive(ctx, m, x, o, l, px)
                             : sample_cached(ctx, m, x, o, l, px);
    free(l), free(px);
    return s;
}

pcnn_status pcnn_model_sample_plan(pcnn_model *m, int64_t batch,
                                   int64_t *steps, size_t *cache_bytes)
{
    if (!m || batch < 1)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_model_sample_plan: NULL model "
                                       "or batch < 1");
    sampler S;
    memset(&S, 0, sizeof S);
    pcnn_status st = plan(&S, m, batch);
    if (st == PCNN_OK && steps)
        *steps = S.T;
    if (st == PCNN_OK && cache_bytes) {
        size_t total = 0;
        for (int i = 0; i < S.g.nval; i++)
            total += (size_t)(batch * S.v[i].rows * S.v[i].W * S.v[i].C) *
                     sizeof(float);
        *cache_bytes = total;
    }
    sampler_free(&S);
    return st;
}
