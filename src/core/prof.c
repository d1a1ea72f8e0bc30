/* prof.c -- the op-class profiler: see prof.h. */
#include "prof.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_DEPTH 32

int pcnn_prof_on;

/* One thread's sums and its stack of open sections' child time. */
typedef struct {
    double sec[PCNN_PROF_NCLASS], flops[PCNN_PROF_NCLASS];
    int64_t calls[PCNN_PROF_NCLASS];
    double child[MAX_DEPTH];
    int depth;
} thread_state;

static thread_state state[PCNN_PROF_THREADS];

static const char *const names[PCNN_PROF_NCLASS] = {
    [PCNN_PROF_CONV_WINO] = "conv fwd winograd (tiles)",
    [PCNN_PROF_WINO_WEIGHTS] = "winograd weight transform+pack",
    [PCNN_PROF_CONV_IMPLICIT] = "conv fwd implicit GEMM",
    [PCNN_PROF_CONV_IM2COL] = "conv fwd im2col GEMM",
    [PCNN_PROF_NIN] = "nin (1x1) fwd GEMM",
    [PCNN_PROF_DX_WINO] = "conv dx winograd (tiles)",
    [PCNN_PROF_DX_IMPLICIT] = "conv dx implicit GEMM",
    [PCNN_PROF_DX_FLIP] = "conv dx weight flip",
    [PCNN_PROF_DX_IM2COL] = "conv dx GEMM + col2im",
    [PCNN_PROF_DW_GEMM] = "conv dw GEMM",
    [PCNN_PROF_CONV_PACK] = "im2col gather / regroup",
    [PCNN_PROF_BIAS_GRAD] = "bias gradients",
    [PCNN_PROF_NIN_BWD] = "nin (1x1) bwd",
    [PCNN_PROF_DECONV] = "deconv fwd",
    [PCNN_PROF_DECONV_BWD] = "deconv bwd",
    [PCNN_PROF_ELU] = "elu / concat_elu",
    [PCNN_PROF_GATE] = "gate",
    [PCNN_PROF_ADD_SHIFT] = "add / shifts",
    [PCNN_PROF_DROPOUT] = "dropout",
    [PCNN_PROF_WEIGHTNORM] = "weight norm",
    [PCNN_PROF_HEAD] = "likelihood head (log p, grad, draws)",
    [PCNN_PROF_OPTIMIZER] = "optimizer (Adam, EMA)",
    [PCNN_PROF_SAMPLE_GATHER] = "sampler: gather cached rows",
    [PCNN_PROF_SAMPLE_GEMM] = "sampler: packed GEMM",
    [PCNN_PROF_SAMPLE_POINT] = "sampler: pointwise into caches",
    [PCNN_PROF_SAMPLE_DRAW] = "sampler: head draws",
    [PCNN_PROF_SAMPLE_INPUT] = "sampler: input cache",
};

void pcnn_prof_init_env(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    const char *e = getenv("PCNN_PROFILE");
    if (e && *e && strcmp(e, "0") != 0)
        pcnn_prof_on = 1;
}

void pcnn_prof_enable(int on) { pcnn_prof_on = on != 0; }

void pcnn_prof_reset(void)
{
    for (int t = 0; t < PCNN_PROF_THREADS; t++) {
        thread_state *s = &state[t];
        memset(s->sec, 0, sizeof s->sec);
        memset(s->flops, 0, sizeof s->flops);
        memset(s->calls, 0, sizeof s->calls);
    }
}

const char *pcnn_prof_name(pcnn_prof_class c)
{
    return c >= 0 && c < PCNN_PROF_NCLASS ? names[c] : "?";
}

void pcnn_prof_read(pcnn_prof_entry out[PCNN_PROF_NCLASS])
{
    for (int c = 0; c < PCNN_PROF_NCLASS; c++) {
        pcnn_prof_entry e = {0, 0, 0, 0};
        for (int t = 0; t < PCNN_PROF_THREADS; t++) {
            const thread_state *s = &state[t];
            if (!s->calls[c])
                continue;
            e.seconds += s->sec[c];
            e.flops += s->flops[c];
            e.calls += s->calls[c];
            e.threads++;
        }
        if (e.threads)
            e.seconds /= e.threads;
        out[c] = e;
    }
}

/* This thread's state, or NULL when it is not timed. */
static thread_state *mine(void)
{
#ifdef _OPENMP
    if (omp_get_level() > 1)
        return NULL;
    const int t = omp_get_thread_num();
    return t < PCNN_PROF_THREADS ? &state[t] : NULL;
#else
    return &state[0];
#endif
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double pcnn_prof_begin_(void)
{
    thread_state *s = mine();
    if (!s || s->depth >= MAX_DEPTH)
        return 0.0;
    s->child[s->depth++] = 0.0;
    return now();
}

void pcnn_prof_end_(pcnn_prof_class c, double t0, double flops)
{
    thread_state *s = mine();
    if (!s || s->depth <= 0)
        return;
    const double dt = now() - t0;
    s->depth--;
    s->sec[c] += dt - s->child[s->depth];
    s->flops[c] += flops;
    s->calls[c]++;
    if (s->depth > 0)
        s->child[s->depth - 1] += dt;
}
