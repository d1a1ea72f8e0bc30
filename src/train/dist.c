/*
 * dist.c -- a trainer as one rank of a data-parallel run: its shard of
 * every global batch, the collectives it calls through the caller's
 * pcnn_comm, and the check that the replicas agree.
 */
#include "trainer.h"
#include "../model/model.h"

#include <string.h>

/* FNV-1a over 32-bit words, continued from h. */
static uint64_t hash_words(uint64_t h, const void *p, size_t bytes)
{
    const unsigned char *b = p;
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
        uint32_t w;
        memcpy(&w, b + i, 4);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    for (size_t i = bytes & ~(size_t)3; i < bytes; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* A hash of what must be the same on every rank: the weights, the EMA,
 * Adam's moments, the step and data cursor, the options. */
static uint64_t replica_hash(const pcnn_trainer *t)
{
    size_t n;
    const float *p = pcnn_model_params(t->m, &n);
    uint64_t h = 0xcbf29ce484222325ULL;
    h = hash_words(h, p, n * sizeof(float));
    h = hash_words(h, t->ema, n * sizeof(float));
    h = hash_words(h, t->mom1, n * sizeof(float));
    h = hash_words(h, t->mom2, n * sizeof(float));
    const uint64_t s[3] = {t->state.step, t->state.epoch,
                           (uint64_t)t->state.pos};
    h = hash_words(h, s, sizeof s);
    const pcnn_train_opts *o = &t->opts;
    const float f[5] = {o->lr, o->lr_decay, o->beta1, o->beta2, o->ema};
    const uint64_t u[3] = {(uint64_t)o->batch, o->seed, (uint64_t)o->flip};
    h = hash_words(h, f, sizeof f);
    return hash_words(h, u, sizeof u);
}

static pcnn_status comm_fail(const char *what)
{
    return pcnn_fail(PCNN_ERR_IO, "training: the %s between the ranks "
                                  "failed",
                     what);
}

pcnn_status pcnn_trainer_check_replicas(pcnn_trainer *t, const char *when)
{
    const pcnn_comm *c = &t->comm;
    if (c->size <= 1)
        return PCNN_OK;
    const uint64_t mine = replica_hash(t);
    uint64_t first = mine;
    if (c->broadcast(c->arg, &first, sizeof first))
        return comm_fail("broadcast of rank 0's hash");
    /* how many ranks differ (a float sum of 0s and 1s is exact) */
    float differ = first != mine;
    if (c->allreduce_sum(c->arg, &differ, 1))
        return comm_fail("all-reduce of the replica check");
    if (differ > 0)
        return pcnn_fail(PCNN_ERR_VALUE,
                         "training: %s: %.0f of %d ranks hold other weights, "
                         "optimizer state, step or options than rank 0 (the "
                         "replicas diverged)%s",
                         when, (double)differ, c->size,
                         first != mine ? "; this rank is one" : "");
    return PCNN_OK;
}

pcnn_status pcnn_trainer_set_comm(pcnn_trainer *t, const pcnn_comm *comm)
{
    static const char fn[] = "pcnn_trainer_set_comm";
    if (!t || !comm)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    if (comm->size < 1 || comm->rank < 0 || comm->rank >= comm->size)
        return pcnn_fail(PCNN_ERR_ARG, "%s: rank %d of %d ranks", fn,
                         comm->rank, comm->size);
    if (comm->size > 1 && (!comm->allreduce_sum || !comm->broadcast))
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: %d ranks need allreduce_sum and broadcast", fn,
                         comm->size);
    if (t->opts.batch < comm->size)
        return pcnn_fail(PCNN_ERR_ARG,
                         "training: a batch of %d cannot be split over %d "
                         "ranks (each needs an image): give a batch of at "
                         "least %d",
                         t->opts.batch, comm->size, comm->size);
    t->comm = *comm;
    const int64_t B = t->opts.batch, r = comm->rank, N = comm->size;
    t->lo = B * r / N;
    t->nb = B * (r + 1) / N - t->lo;
    return pcnn_trainer_check_replicas(t, "at the start");
}

pcnn_status pcnn_trainer_share_init(pcnn_trainer *t, pcnn_status s)
{
    const pcnn_comm *c = &t->comm;
    if (c->size <= 1)
        return s;
    int32_t ok = s == PCNN_OK;
    if (c->broadcast(c->arg, &ok, sizeof ok))
        return comm_fail("broadcast of the initialization");
    if (!ok)
        return c->rank == 0 ? s
                            : pcnn_fail(PCNN_ERR_VALUE,
                                        "training: the data-dependent "
                                        "initialization failed on rank 0");
    size_t n;
    float *p = pcnn_model_params(t->m, &n);
    if (c->broadcast(c->arg, p, n * sizeof(float)))
        return comm_fail("broadcast of the initial weights");
    return PCNN_OK;
}

pcnn_status pcnn_trainer_reduce(pcnn_trainer *t, float *x, size_t n,
                                const char *what)
{
    const pcnn_comm *c = &t->comm;
    if (c->size > 1 && c->allreduce_sum(c->arg, x, n))
        return comm_fail(what);
    return PCNN_OK;
}
