/*
 * run.c -- training as one call (steps, a time budget, progress and
 * cancellation between steps) and the periodic test evaluation of a
 * trainer's model as a chain of one stage.
 */
#include "trainer.h"
#include "../chain/chain.h"

#include <math.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* *up = whether the time budget (seconds > 0) is spent: on any rank of
 * a data-parallel run, so that every rank stops after the same step. */
static pcnn_status time_up(pcnn_trainer *t, double t0, double seconds,
                           int *up)
{
    *up = seconds > 0 && now_s() - t0 >= seconds;
    if (t->comm.size <= 1 || !(seconds > 0))
        return PCNN_OK;
    float v = (float)*up;
    PCNN_TRY(pcnn_trainer_reduce(t, &v, 1, "all-reduce of the time budget"));
    *up = v > 0;
    return PCNN_OK;
}

pcnn_status pcnn_trainer_run(pcnn_ctx *ctx, pcnn_trainer *t, uint64_t steps,
                             double seconds, const pcnn_progress *progress,
                             pcnn_step_stats *last)
{
    static const char fn[] = "pcnn_trainer_run";
    if (!t)
        return pcnn_fail(PCNN_ERR_ARG, "%s: trainer is NULL", fn);
    if (isnan(seconds))
        return pcnn_fail(PCNN_ERR_ARG, "%s: seconds is NaN", fn);
    const double t0 = now_s();
    for (;;) {
        if (steps > 0 && t->state.step >= steps)
            return PCNN_OK;
        int up;
        PCNN_TRY(time_up(t, t0, seconds, &up));
        if (up)
            return PCNN_OK;
        pcnn_step_stats st;
        PCNN_TRY(pcnn_trainer_step(ctx, t, &st));
        if (last)
            *last = st;
        if (!progress || !progress->fn)
            continue;
        const pcnn_progress_info info = {"train", (int64_t)t->state.step,
                                         (int64_t)steps, st.bpd};
        if (progress->fn(progress->arg, &info))
            return pcnn_fail(PCNN_ERR_CANCELLED,
                             "%s: cancelled by the progress callback at step "
                             "%llu",
                             fn, (unsigned long long)t->state.step);
    }
}

pcnn_status pcnn_trainer_evaluate(pcnn_ctx *ctx, pcnn_trainer *t, int ema,
                                  const pcnn_dataset *x,
                                  const pcnn_eval_opts *o, pcnn_chain_eval *r)
{
    if (!t)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_trainer_evaluate: trainer is "
                                       "NULL");
    /* the trainer's model is a valid chain of one on its own; the chain
     * borrows it here, so it is not freed */
    pcnn_chain one = {1, {t->m}};
    if (ema)
        pcnn_trainer_swap_ema(t);
    pcnn_status s = pcnn_chain_evaluate(ctx, &one, x, o, r);
    if (ema)
        pcnn_trainer_swap_ema(t);
    return s;
}
