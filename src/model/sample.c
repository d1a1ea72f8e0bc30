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
 * input (the plan: sample_plan.c; this file: the run). This is
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
#include "sample_internal.h"
#include "../core/prof.h"
#include "../api/check.h"
#include "tighten.h"
#include "../core/rng.h"
#include "gemm_packed.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Rows per GEMM chunk: positions times the images of a slice. */
#define CHUNK_ROWS 512

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
     * written once, so its first-touch fault is a large share of its
     * cost, and 2 MB pages take 512 times fewer faults than 4 KB ones */
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
    double tp = pcnn_prof_begin();
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
    pcnn_prof_end(PCNN_PROF_SAMPLE_GATHER, tp, 0.0);
    tp = pcnn_prof_begin();
    if (P == 1) {
        pcnn_gemm_packed(dst, (int)Co, A, (int)K, M, sn->wp, sn->bias,
                         (int)K, (int)Co, 1, S->bf16);
        for (int64_t t = 0; !consecutive && t < n; t++)
            memcpy(at(S, T, nd->out, pos[t]), Cb + t * B * Co,
                   (size_t)(B * Co) * sizeof(float));
        pcnn_prof_end(PCNN_PROF_SAMPLE_GEMM, tp, 2.0 * M * (double)K * Co);
        return;
    }
    const long nb = (M + PCNN_PACK_MR - 1) / PCNN_PACK_MR;
    const long ntiles = nb * ((Co + PCNN_PACK_NR - 1) / PCNN_PACK_NR);
    const long t0 = ntiles * tid / P, t1 = ntiles * (tid + 1) / P;
    pcnn_gemm_packed_tiles(dst, (int)Co, A, (int)K, M, sn->wp, sn->bias,
                           (int)K, (int)Co, t0, t1, S->bf16);
    for (long t = t0; !consecutive && t < t1; t++) {
        const int64_t j0 = t / nb * PCNN_PACK_NR, r0 = t % nb * PCNN_PACK_MR;
        const int64_t nc = Co - j0 < PCNN_PACK_NR ? Co - j0 : PCNN_PACK_NR;
        for (int64_t r = r0; r < r0 + PCNN_PACK_MR && r < M; r++)
            memcpy(at(S, T, nd->out, pos[r / B]) + r % B * Co + j0,
                   Cb + r * Co + j0, (size_t)nc * sizeof(float));
    }
    pcnn_prof_end(PCNN_PROF_SAMPLE_GEMM, tp,
                  2.0 * M * (double)K * Co * (double)(t1 - t0) /
                      (double)ntiles);
}

/* A pointwise or shift op at the positions. */
static void point_rows(const sampler *S, slice *T, const pcnn_gnode *nd,
                       const int32_t *pos, int64_t n)
{
    const sval *a = &S->v[nd->in0], *o = &S->v[nd->out];
    const pcnn_backend *be = S->be;
    const int64_t B = T->B, C = o->C, BC = B * C;
    const double tp = pcnn_prof_begin();
    for (int64_t t = 0; t < n; t++) {
        const int64_t k = pos[t], i = k / o->W, j = k % o->W;
        float *y = at(S, T, nd->out, k);
        const float *x = at(S, T, nd->in0, k);
        switch (nd->kind) {
        /* this thread's kernels: no parallel region per position */
        case GN_ELU: /* image by image: an element's bits then depend on
                      * its channel alone (vector body or scalar tail),
                      * never on the batch or its split over threads */
            for (int64_t b = 0; b < B; b++)
                be->elu_serial(y + b * C, NULL, x + b * C, C);
            break;
        case GN_CONCAT_ELU:
            for (int64_t b = 0; b < B; b++)
                be->elu_serial(y + 2 * b * a->C, y + (2 * b + 1) * a->C,
                               x + b * a->C, a->C);
            break;
        case GN_GATE:
            for (int64_t b = 0; b < B; b++)
                be->gate_serial(y + b * C, x + 2 * b * C,
                                x + (2 * b + 1) * C, C);
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
    pcnn_prof_end(PCNN_PROF_SAMPLE_POINT, tp, 0.0);
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

/* The interval subpixel c of pixel k of image b may take given the
 * parent (opts parent) under the model's rule: gray4, from the pixel's
 * gray level and its channels drawn before c (px); half, from the parent
 * and the children of its 2x2 block before it (x). The parent's value in
 * *p. */
static void consistent_range(const pcnn_model *m, const uint8_t *parent,
                             const uint8_t *px, pcnn_image x, int64_t b,
                             int64_t c, int64_t k, int *p, int *lo, int *hi)
{
    const int64_t C = x.c, H = x.h, W = x.w, HW = H * W;
    if (pcnn_tighten_rule(&m->cfg) == PCNN_TIGHTEN_GRAY4) {
        int earlier[3] = {0, 0, 0};
        for (int64_t t = 0; t < c && t < 3; t++)
            earlier[t] = px[b * C + t];
        *p = parent[b * HW + k];
        pcnn_gray4_channel_range(*p, (int)c, earlier, (int)C, lo, hi);
        return;
    }
    const int64_t i = k / W, j = k % W;
    const int child = (int)(i % 2 * 2 + j % 2);
    /* the block's children before this one, in raster order */
    const int64_t at[3] = {(i - i % 2) * W + (j - j % 2),
                           (i - i % 2) * W + (j - j % 2) + 1,
                           (i - i % 2 + 1) * W + (j - j % 2)};
    const uint8_t *xb = x.data + (b * C + c) * HW;
    *p = parent[((b * C + c) * (H / 2) + i / 2) * (W / 2) + j / 2];
    int before = 0;
    for (int t = 0; t < child; t++)
        before += xb[at[t]];
    pcnn_half_child_range(*p, before, child, lo, hi);
}

/* Draws channel after channel of pixel k of every image from the head's
 * conditionals restricted to the values its parent allows (opts parent)
 * into px (B, C); lo, hi: (B) scratch. */
static pcnn_status draw_consistent(pcnn_ctx *ctx, const pcnn_model *m,
                                   const pcnn_model_sample_opts *o,
                                   const float *l, uint8_t *px, uint8_t *lo,
                                   uint8_t *hi, pcnn_image x, int64_t k)
{
    const int64_t B = x.n, C = x.c;
    const int P = pcnn_head_params(&m->head);
    pcnn_tensor lt = pcnn_t4((float *)l, B, P, 1, 1);
    pcnn_image pi = pcnn_img(px, B, C, 1, 1);
    const uint64_t seed = pcnn_hash64(o->seed ^ 0x706172656e74ULL,
                                      (uint64_t)k);
    for (int64_t c = 0; c < C; c++) {
        for (int64_t b = 0; b < B; b++) {
            int p, a, z;
            consistent_range(m, o->parent, px, x, b, c, k, &p, &a, &z);
            if (a > z)
                return pcnn_fail(PCNN_ERR_VALUE,
                                 "sampler: pixel %lld of image %lld cannot "
                                 "match its parent %d",
                                 (long long)k, (long long)b, p);
            lo[b] = (uint8_t)a, hi[b] = (uint8_t)z;
        }
        /* image b's numbers come from (seed, b): not the batch size */
        const pcnn_sample_opts so = {pcnn_hash64(seed, (uint64_t)c),
                                     o->log_scale_offset, 1.0f};
        PCNN_TRY(pcnn_head_sample_range(ctx, &m->head, pi, lt, (int)c, lo,
                                        hi, &so));
    }
    return PCNN_OK;
}

/* Draws pixel s of every image from l (B, P) into x, keeping known
 * pixels; records l in opts->params. With a hook, the hook gives the
 * pixel's values instead (the coder). */
static pcnn_status draw_pixel(pcnn_ctx *ctx, const pcnn_model *m,
                              const pcnn_model_sample_opts *o,
                              const pcnn_pixel_hook *hook, float *l,
                              uint8_t *px, pcnn_image x, int64_t s)
{
    const int64_t B = x.n, C = x.c, HW = x.h * x.w;
    const int P = pcnn_head_params(&m->head);
    if (hook) {
        PCNN_TRY(hook->fn(hook->arg, l, s, px));
    } else if (o->parent) {
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

/* After pixel s: at the end of a row, reports the rows done; PCNN_OK, or
 * PCNN_ERR_CANCELLED (no message: this may run on a worker thread, and
 * the caller sets it) when the callback asks to stop. */
static pcnn_status report(const pcnn_model_sample_opts *o,
                          const pcnn_image x, int64_t s)
{
    if (!o->progress.fn || (s + 1) % x.w)
        return PCNN_OK;
    const pcnn_progress_info info = {"sample", (s + 1) / x.w, x.h, NAN};
    return o->progress.fn(o->progress.arg, &info) ? PCNN_ERR_CANCELLED
                                                  : PCNN_OK;
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
        st = draw_pixel(ctx, m, o, NULL, l, px, x, s);
        if (st == PCNN_OK)
            st = report(o, x, s);
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
                      const pcnn_pixel_hook *hook, float *l, uint8_t *px,
                      pcnn_status *st, int tid, int team)
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
            const double td = pcnn_prof_begin();
            for (int64_t i = i0; i <= i1 && *st == PCNN_OK; i++) {
                const int64_t k = i * W + s - a * i;
                *st = draw_pixel(ctx, m, o, hook, l + (i - i0) * B * P, px,
                                 x, k);
                if (*st == PCNN_OK)
                    *st = report(o, x, k);
                if (team > 1) /* the team's one slice */
                    write_input(S, T, x, scale, k);
            }
            pcnn_prof_end(PCNN_PROF_SAMPLE_DRAW, td, 0.0);
        } /* implied barrier */
        if (*st != PCNN_OK)
            return;
        const double ti = pcnn_prof_begin();
        for (int64_t i = i0; team == 1 && i <= i1; i++)
            write_input(S, T, x, scale, i * W + s - a * i);
        pcnn_prof_end(PCNN_PROF_SAMPLE_INPUT, ti, 0.0);
    }
}

static pcnn_status sample_cached(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                                 const pcnn_model_sample_opts *o,
                                 const pcnn_pixel_hook *hook, float *l,
                                 uint8_t *px)
{
    const int64_t B = x.n, HW = x.h * x.w;
    sampler S;
    memset(&S, 0, sizeof S);
    S.be = ctx->be;
    S.params = &m->params;
    S.bf16 = ctx->compute == PCNN_COMPUTE_BF16;
    pcnn_status st = pcnn_model_refresh_weights(ctx, m);
    if (st == PCNN_OK)
        st = pcnn_sampler_plan(&S, m, B);
    if (st != PCNN_OK) {
        pcnn_sampler_free(&S);
        return st;
    }
    /* threads split the batch (no synchronization inside a step); a batch
     * smaller than the thread count runs whole, its GEMMs threaded */
    const int nt = ctx->threads < B ? ctx->threads : (int)B;
    const int team = nt == 1 ? ctx->threads : 1;
    slice *T = calloc((size_t)nt, sizeof *T);
    if (!T) {
        pcnn_sampler_free(&S);
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
        run_slice(ctx, m, &S, &T[omp_get_thread_num()], x, o, hook, l, px,
                  &st, 0, 1);
    } else if (st == PCNN_OK && team > 1) {
#pragma omp parallel num_threads(team)
        run_slice(ctx, m, &S, &T[0], x, o, hook, l, px, &st,
                  omp_get_thread_num(), omp_get_num_threads());
    } else if (st == PCNN_OK) {
        run_slice(ctx, m, &S, &T[0], x, o, hook, l, px, &st, 0, 1);
    }
    for (int t = 0; t < nt; t++)
        slice_free(&T[t]);
    free(T);
    pcnn_sampler_free(&S);
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
    const int gray = pcnn_tighten_rule(c) == PCNN_TIGHTEN_GRAY4;
    if (o->parent && ((!gray && (x.h % 2 || x.w % 2)) || o->known ||
                      m->head.kind != PCNN_HEAD_DMOL))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: drawing consistent with a parent needs even "
                         "sizes (a half view), no known pixels and a "
                         "logistic mixture head",
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
                             : sample_cached(ctx, m, x, o, NULL, l, px);
    free(l), free(px);
    if (s == PCNN_ERR_CANCELLED)
        return pcnn_fail(s, "%s: cancelled by the progress callback", fn);
    return s;
}

static int job_rows(void *arg, const pcnn_progress_info *info)
{
    const pcnn_job_rows *r = arg;
    const pcnn_progress_info all = {r->job, r->before + info->done, r->total,
                                    NAN};
    return r->outer.fn(r->outer.arg, &all);
}

pcnn_progress pcnn_job_rows_progress(pcnn_job_rows *r)
{
    return (pcnn_progress){r->outer.fn ? job_rows : NULL, r};
}

pcnn_status pcnn_model_run_pixels(pcnn_ctx *ctx, pcnn_model *m, pcnn_image x,
                                  const int32_t *labels, pcnn_tensor cond,
                                  const pcnn_pixel_hook *hook,
                                  pcnn_progress progress)
{
    static const char fn[] = "pcnn_model_run_pixels";
    PCNN_TRY(pcnn_check_ctx(fn, ctx));
    if (!m || !hook || !hook->fn)
        return pcnn_fail(PCNN_ERR_ARG, "%s: model or hook is NULL", fn);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.labels = labels, o.cond = cond, o.progress = progress;
    const pcnn_batch batch = {x, labels, cond};
    PCNN_TRY(pcnn_model_check_batch(fn, m, &batch));
    const int P = pcnn_head_params(&m->head);
    float *l = malloc((size_t)(x.h * x.n * P) * sizeof *l);
    uint8_t *px = malloc((size_t)(x.n * x.c));
    pcnn_status s = l && px ? sample_cached(ctx, m, x, &o, hook, l, px)
                            : pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory",
                                        fn);
    free(l), free(px);
    return s;
}
