/* ctx.c -- contexts: a backend, a thread count and a workspace. */
#include "internal.h"
#include "../cpu/gemm_bf16.h"
#include "prof.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void set_desc(pcnn_ctx *ctx)
{
    const int n = ctx->threads;
    snprintf(ctx->desc, sizeof ctx->desc, "backend %s, %d thread%s, %s%s",
             ctx->be->name, n, n == 1 ? "" : "s",
             ctx->compute == PCNN_COMPUTE_BF16 ? "bf16 GEMMs (fp32 sums), "
                                               : "",
             ctx->be->describe());
}

pcnn_status pcnn_ctx_create(pcnn_ctx **out, const pcnn_ctx_opts *opts)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_ctx_create: out is NULL");
    *out = NULL;
    pcnn_ctx_opts o = {PCNN_BACKEND_CPU, 0};
    if (opts)
        o = *opts;
    if (o.backend != PCNN_BACKEND_CPU)
        return pcnn_fail(PCNN_ERR_UNSUPPORTED,
                         "pcnn_ctx_create: backend %d is not built in",
                         (int)o.backend);
    if (o.threads > 4096)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_ctx_create: %d threads is too many",
                         o.threads);
    pcnn_prof_init_env();
    pcnn_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_ctx_create: out of memory");
    ctx->be = &pcnn_backend_cpu;
    int n = o.threads;
    if (n <= 0) {
#ifdef _OPENMP
        n = omp_get_max_threads();
#else
        n = 1;
#endif
    }
    ctx->threads = n;
    pcnn_ctx_use_threads(ctx);
    set_desc(ctx);
    *out = ctx;
    return PCNN_OK;
}

/* the count this thread's kernels run on now; 0 = never set */
static _Thread_local int current_threads;

void pcnn_ctx_use_threads(const pcnn_ctx *ctx)
{
    pcnn_gemm_bf16 = ctx->compute == PCNN_COMPUTE_BF16;
    if (current_threads != ctx->threads) {
        ctx->be->set_threads(ctx->threads);
        current_threads = ctx->threads;
    }
}

void pcnn_ctx_free(pcnn_ctx *ctx)
{
    if (!ctx)
        return;
    /* this thread's GEMMs back to fp32 until its next op sets them */
    pcnn_gemm_bf16 = 0;
    ctx->be->free(ctx->work);
    free(ctx);
}

int pcnn_ctx_threads(const pcnn_ctx *ctx) { return ctx ? ctx->threads : 0; }

pcnn_status pcnn_ctx_set_compute(pcnn_ctx *ctx, pcnn_compute c)
{
    const char *why = "";
    if (!ctx)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_ctx_set_compute: ctx is NULL");
    if (c != PCNN_COMPUTE_F32 && c != PCNN_COMPUTE_BF16)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_ctx_set_compute: compute %d is not f32 (0) or "
                         "bf16 (1)", (int)c);
    if (c == PCNN_COMPUTE_BF16 && !pcnn_bf16_available(&why))
        return pcnn_fail(PCNN_ERR_UNSUPPORTED,
                         "bf16 compute: %s", why);
    ctx->compute = c;
    set_desc(ctx);
    return PCNN_OK;
}

pcnn_compute pcnn_ctx_compute(const pcnn_ctx *ctx)
{
    return ctx ? ctx->compute : PCNN_COMPUTE_F32;
}

const char *pcnn_ctx_describe(const pcnn_ctx *ctx)
{
    return ctx ? ctx->desc : "";
}

void *pcnn_ctx_work(pcnn_ctx *ctx, size_t bytes)
{
    if (bytes <= ctx->work_bytes)
        return ctx->work;
    void *p = ctx->be->alloc(bytes);
    if (!p) {
        pcnn_fail(PCNN_ERR_NOMEM, "workspace of %zu bytes: out of memory",
                  bytes);
        return NULL;
    }
    ctx->be->free(ctx->work);
    ctx->work = p;
    ctx->work_bytes = bytes;
    return p;
}
