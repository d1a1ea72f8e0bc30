/*
 * prof.h -- an op-class profiler (docs/profile.md): wall time, calls and
 * floating-point operations per class of kernel work.
 *
 * Off by default. pcnn_ctx_create turns it on once per process when the
 * environment has PCNN_PROFILE set to a non-empty value other than "0";
 * pcnn_prof_enable(1) turns it on from code (the tool, the tests). Off, a
 * timer is one load and one branch.
 *
 * Timers nest: a class gets the time of its own section minus that of the
 * timed sections inside it (self time), so the classes add up to the time
 * spent in timed sections. Each OpenMP thread keeps its own stack and sums
 * (by omp_get_thread_num() at nesting level <= 1, up to PCNN_PROF_THREADS
 * threads); deeper levels are not timed. A class's seconds in a report
 * are its sum over threads divided by the number of threads that recorded
 * it: the work of a team splitting a batch counts once, as wall time.
 */
#ifndef PCNN_CORE_PROF_H
#define PCNN_CORE_PROF_H

#include <stdint.h>

typedef enum {
    /* convolutions (src/cpu/conv.c, conv_winograd.c); flops count the
     * direct sum's multiply-adds x2, so Winograd rates are effective */
    PCNN_PROF_CONV_WINO,       /* stride-1 forward by Winograd: tiles */
    PCNN_PROF_WINO_WEIGHTS,    /* Winograd: weight transform and packing */
    PCNN_PROF_CONV_IMPLICIT,   /* forward by the implicit-im2col GEMM */
    PCNN_PROF_CONV_IM2COL,     /* forward by im2col + GEMM (no AVX-512) */
    PCNN_PROF_NIN,             /* 1x1 convs (nin), forward */
    PCNN_PROF_DX_WINO,         /* input gradient by Winograd */
    PCNN_PROF_DX_IMPLICIT,     /* input gradient by the implicit GEMM */
    PCNN_PROF_DX_FLIP,         /* flipping the weights for the above */
    PCNN_PROF_DX_IM2COL,       /* input gradient: GEMM + col2im (stride 2) */
    PCNN_PROF_DW_GEMM,         /* weight gradient GEMM */
    PCNN_PROF_CONV_PACK,       /* im2col gathers, regrouping of dy */
    PCNN_PROF_BIAS_GRAD,       /* bias gradients */
    PCNN_PROF_NIN_BWD,         /* 1x1 convs, backward (all parts) */
    PCNN_PROF_DECONV,          /* transposed convs, forward */
    PCNN_PROF_DECONV_BWD,      /* transposed convs, backward */
    /* the other ops, timed at the API (src/api/ops.c, heads.c) */
    PCNN_PROF_ELU,             /* elu, concat_elu, forward and backward */
    PCNN_PROF_GATE,
    PCNN_PROF_ADD_SHIFT,       /* add, down/right shifts */
    PCNN_PROF_DROPOUT,
    PCNN_PROF_WEIGHTNORM,      /* forward, backward, data init */
    PCNN_PROF_HEAD,            /* log-probability and its gradient */
    PCNN_PROF_OPTIMIZER,       /* Adam, EMA, gradient norm */
    /* the cached sampler (src/model/sample.c), per thread */
    PCNN_PROF_SAMPLE_GATHER,   /* cached rows -> GEMM rows */
    PCNN_PROF_SAMPLE_GEMM,     /* packed GEMM into the layer caches */
    PCNN_PROF_SAMPLE_POINT,    /* pointwise/shift ops into the caches */
    PCNN_PROF_SAMPLE_DRAW,     /* the head's draws of the step's pixels */
    PCNN_PROF_SAMPLE_INPUT,    /* drawn pixels into the input cache */
    PCNN_PROF_NCLASS
} pcnn_prof_class;

#define PCNN_PROF_THREADS 256

typedef struct {
    double seconds; /* see the top: over threads, as wall time */
    double flops;
    int64_t calls;
    int threads; /* threads that recorded the class */
} pcnn_prof_entry;

extern int pcnn_prof_on;

/* Reads PCNN_PROFILE once (pcnn_ctx_create calls it). */
void pcnn_prof_init_env(void);
void pcnn_prof_enable(int on);
void pcnn_prof_reset(void);
/* The class's short name ("conv fwd winograd", ...). */
const char *pcnn_prof_name(pcnn_prof_class c);
/* Every class's entry, as of now. */
void pcnn_prof_read(pcnn_prof_entry out[PCNN_PROF_NCLASS]);

double pcnn_prof_begin_(void);
void pcnn_prof_end_(pcnn_prof_class c, double t0, double flops);

/* A timed section: t = pcnn_prof_begin(); ...; pcnn_prof_end(cls, t, f).
 * t is 0 when the profiler is off or this thread is not timed. */
static inline double pcnn_prof_begin(void)
{
    return pcnn_prof_on ? pcnn_prof_begin_() : 0.0;
}

static inline void pcnn_prof_end(pcnn_prof_class c, double t0, double flops)
{
    if (t0 != 0.0)
        pcnn_prof_end_(c, t0, flops);
}

/* Times one statement (a kernel call) as class c, without flops. */
#define PCNN_TIMED(c, call)                                                   \
    do {                                                                      \
        const double prof_t_ = pcnn_prof_begin();                             \
        call;                                                                 \
        pcnn_prof_end((c), prof_t_, 0.0);                                     \
    } while (0)

#endif
