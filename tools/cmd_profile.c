/*
 * cmd_profile.c -- `pixelcnn profile`: where one training step and one
 * sampling run of a PixelCNN++ model spend their time, per op class
 * (src/core/prof.h), with the GEMM classes' GFLOP/s against the SGEMM
 * rates measured in the same run (docs/profile.md).
 *
 * The tool reads the library's internal profiler, so it links the static
 * library (as the tool always does) and includes src/core/prof.h.
 */
#include "cli.h"
#include "pixelcnn.h"
#include "core/prof.h"
#ifdef __AVX512F__
#include "cpu/gemm_avx512.h"
#endif

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char profile_usage[] =
    "usage: pixelcnn profile [--config R,F,M] [--param P] [--threads N]\n"
    "                        [--batch N] [--sample-batch N] [--no-sample]\n"
    "\n"
    "Profiles one training step (forward, backward, Adam; after one\n"
    "warm-up step) and one cached sampling run of a 32x32x3 PixelCNN++\n"
    "(nr_resnet, nr_filters, nr_mix = R,F,M, default the paper's 5,160,10;\n"
    "3 resolutions, dropout 0.5, plain weights unless --param weightnorm)\n"
    "on random data and weights: milliseconds, calls and share per op\n"
    "class, and the GEMM classes' GFLOP/s against the SGEMM rates\n"
    "(OpenBLAS and the library's AVX-512 kernel, 2048^3)\n"
    "measured first.\n";

typedef struct {
    int threads, batch, sample_batch, no_sample;
    const char *config, *param;
    int R, F, M;
} profile_args;

static int profile_parse(int argc, char **argv, profile_args *a)
{
    cli_flag flags[] = {
        CLI_STRING_F("--config", &a->config, "R,F,M",
                     "nr_resnet,nr_filters,nr_mix (default 5,160,10)"),
        CLI_BENCH_PARAM_F(&a->param),
        CLI_INT_F("--threads", &a->threads, 1, 4096, "N",
                  "threads (default: OMP_NUM_THREADS or all cores)"),
        CLI_INT_F("--batch", &a->batch, 1, 4096, "N",
                  "training batch (default 16)"),
        CLI_INT_F("--sample-batch", &a->sample_batch, 1, 4096, "N",
                  "images sampled (default 16)"),
        CLI_BOOL_F("--no-sample", &a->no_sample, "profile training only"),
    };
    cli_cmd p = CLI_CMD("profile", profile_usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (rc)
        return rc;
    if ((rc = cli_check(&p)))
        return rc;
    a->R = 5, a->F = 160, a->M = 10;
    char tail;
    if (a->config && (sscanf(a->config, "%d,%d,%d%c", &a->R, &a->F, &a->M,
                             &tail) != 3 ||
                      a->R < 1 || a->F < 1 || a->M < 1)) {
        fprintf(stderr, "pixelcnn profile: --config %s: expected R,F,M "
                        "(three positive integers)\n",
                a->config);
        return 2;
    }
    return 0;
}

/* GFLOP/s of one 2048^3 SGEMM (median of 3 after a warm-up): OpenBLAS
 * when own is 0, else the library's AVX-512 kernel (0 when absent). */
static double sgemm_rate(int own, int threads)
{
    const int n = 2048;
    float *a = malloc((size_t)n * n * sizeof *a);
    float *b = malloc((size_t)n * n * sizeof *b);
    float *c = malloc((size_t)n * n * sizeof *c);
    double t[3], rate = 0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)n * n; i++)
            a[i] = (float)pcnn_uniform(1, i) - 0.5f,
            b[i] = (float)pcnn_uniform(2, i) - 0.5f;
        int ok = 1;
        for (int r = -1; r < 3 && ok; r++) {
            const double t0 = cli_now();
            if (!own)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n,
                            n, 1.0f, a, n, b, n, 0.0f, c, n);
#ifdef __AVX512F__
            else
                ok = pcnn_sgemm_avx512(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f,
                                       c, n, threads) == 0;
#else
            else
                ok = 0;
#endif
            if (r >= 0)
                t[r] = cli_now() - t0;
        }
        if (ok)
            rate = 2.0 * n * n * (double)n / cli_median(t, 3) / 1e9;
    }
    (void)threads;
    free(a), free(b), free(c);
    return rate;
}

/* One table of the profiler's entries for a section of `wall` seconds. */
static void print_table(const char *what, double wall, double sg_blas,
                        double sg_own)
{
    pcnn_prof_entry e[PCNN_PROF_NCLASS];
    pcnn_prof_read(e);
    printf("\n%s: %.3f s wall\n\n", what, wall);
    printf("| op class | calls | ms | %% of wall | GFLOP | GFLOP/s | "
           "%% OpenBLAS | %% own SGEMM |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    double sum = 0;
    for (int c = 0; c < PCNN_PROF_NCLASS; c++) {
        if (!e[c].calls)
            continue;
        sum += e[c].seconds;
        printf("| %s | %lld | %.1f | %.1f%% |", pcnn_prof_name(c),
               (long long)e[c].calls, 1e3 * e[c].seconds,
               100 * e[c].seconds / wall);
        if (e[c].flops > 0 && e[c].seconds > 0) {
            const double r = e[c].flops / e[c].seconds / 1e9;
            printf(" %.2f | %.1f | %.0f%% |", e[c].flops / 1e9, r,
                   100 * r / sg_blas);
            if (sg_own > 0)
                printf(" %.0f%% |\n", 100 * r / sg_own);
            else
                printf(" - |\n");
        } else {
            printf(" | | | |\n");
        }
    }
    printf("| (untimed: graph, copies, allocation, waits) | | %.1f | "
           "%.1f%% | | | | |\n",
           1e3 * (wall - sum), 100 * (wall - sum) / wall);
}

static int fail_run(void)
{
    fprintf(stderr, "pixelcnn profile: %s\n", pcnn_last_error());
    return 1;
}

/* A random data set of n 32x32x3 images. */
static int random_data(pcnn_dataset *d, int64_t n)
{
    memset(d, 0, sizeof *d);
    d->n = n, d->c = 3, d->h = d->w = 32;
    d->images = malloc((size_t)(n * 3 * 32 * 32));
    if (!d->images)
        return 1;
    for (int64_t i = 0; i < n * 3 * 32 * 32; i++)
        d->images[i] = (uint8_t)(pcnn_uniform(1, (uint64_t)i) * 256);
    return 0;
}

static int profile_sampling(pcnn_ctx *ctx, pcnn_model *m, int B,
                            double sg_blas, double sg_own)
{
    uint8_t *x = calloc((size_t)B * 3 * 32 * 32, 1);
    int64_t steps = 0;
    if (!x || pcnn_model_sample_plan(m, B, &steps, NULL) != PCNN_OK) {
        free(x);
        return fail_run();
    }
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    pcnn_prof_reset();
    pcnn_prof_enable(1);
    const double t0 = cli_now();
    const pcnn_status s = pcnn_model_sample(ctx, m, pcnn_img(x, B, 3, 32, 32),
                                            &o);
    const double wall = cli_now() - t0;
    pcnn_prof_enable(0);
    free(x);
    if (s != PCNN_OK)
        return fail_run();
    char what[160];
    snprintf(what, sizeof what,
             "cached sampling of %d images (%lld steps, %.1f ms a step; "
             "sampler rows are per-thread sums / threads)",
             B, (long long)steps, 1e3 * wall / (double)steps);
    print_table(what, wall, sg_blas, sg_own);
    return 0;
}

static int run_profile(const profile_args *a)
{
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, a->threads};
    pcnn_ctx *ctx;
    if (pcnn_ctx_create(&ctx, &co) != PCNN_OK)
        return fail_run();
    const int B = a->batch ? a->batch : 16;
    const double sg_blas = sgemm_rate(0, pcnn_ctx_threads(ctx));
    const double sg_own = sgemm_rate(1, pcnn_ctx_threads(ctx));
    printf("pixelcnn %s profile: %s\n", PCNN_VERSION, pcnn_ctx_describe(ctx));
    pcnn_model_config c = cli_bench_config(a->R, a->F, a->M, a->param);
    printf("model (%d,%d,%d), 32x32x3, %s weights, batch %d; SGEMM 2048^3: "
           "OpenBLAS %.1f GFLOP/s, own AVX-512 %.1f GFLOP/s\n",
           a->R, a->F, a->M, c.plain ? "plain" : "weight-normalized", B,
           sg_blas, sg_own);
    pcnn_dataset d;
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = B;
    int rc = 1;
    if (random_data(&d, 2 * (int64_t)B) == 0 &&
        pcnn_model_create(&m, &c, 1) == PCNN_OK &&
        pcnn_trainer_create(&t, m, &d, &o) == PCNN_OK &&
        pcnn_trainer_init(ctx, t) == PCNN_OK &&
        pcnn_trainer_step(ctx, t, NULL) == PCNN_OK) { /* the warm-up */
        pcnn_prof_reset();
        pcnn_prof_enable(1);
        const double t0 = cli_now();
        const pcnn_status s = pcnn_trainer_step(ctx, t, NULL);
        const double wall = cli_now() - t0;
        pcnn_prof_enable(0);
        if (s == PCNN_OK) {
            print_table("training step (forward, backward, Adam)", wall,
                        sg_blas, sg_own);
            rc = a->no_sample ? 0
                              : profile_sampling(ctx, m,
                                                 a->sample_batch
                                                     ? a->sample_batch
                                                     : 16,
                                                 sg_blas, sg_own);
        }
    }
    if (rc && pcnn_last_error()[0])
        fail_run();
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_dataset_free(&d);
    pcnn_ctx_free(ctx);
    return rc;
}

int cmd_profile(int argc, char **argv)
{
    profile_args a = {0};
    int rc = profile_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    return run_profile(&a);
}
