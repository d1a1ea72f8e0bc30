/*
 * cmd_bench.c -- `pixelcnn bench`: conv throughput against the machine's
 * SGEMM.
 *
 * Measures, in one run: the SGEMM rate of the BLAS on a 2048^3 product
 * (the reference), then forward and backward GFLOP/s of the gated-resnet
 * convolutions of PixelCNN++ (Salimans et al. 2017: 160 filters, inputs
 * of concat_elu = 320 channels, 32x32 images, batch 16), and the stride-2
 * down/up layers. Each figure is the median of several timed runs after a
 * warm-up.
 */
#include "cli.h"
#include "pixelcnn.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float *rand_buf(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "pixelcnn bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)pcnn_uniform(seed, i) - 0.5f;
    return p;
}

static double sgemm_gflops(int reps)
{
    const int n = 2048;
    float *a = rand_buf((size_t)n * n, 1), *b = rand_buf((size_t)n * n, 2);
    float *c = rand_buf((size_t)n * n, 3);
    double t[64];
    for (int r = -1; r < reps; r++) {
        double t0 = cli_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                    a, n, b, n, 0.0f, c, n);
        if (r >= 0)
            t[r] = cli_now() - t0;
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * (double)n / cli_median(t, reps) / 1e9;
}

typedef struct {
    const char *name;
    int deconv;
    pcnn_shift_kind kind;
    int kh, kw, stride;
    int64_t ci, co, h; /* input channels, output channels, input size */
} conv_shape;

static void fail(const char *what)
{
    fprintf(stderr, "pixelcnn bench: %s: %s\n", what, pcnn_last_error());
    exit(1);
}

/* Times forward and backward (dx, dw, db) of one shape at batch B. */
static void bench_conv(pcnn_ctx *ctx, const conv_shape *s, int64_t B,
                       int reps, double sgemm)
{
    pcnn_conv_geom g =
        s->deconv ? pcnn_deconv_geom_shifted(s->kind, s->kh, s->kw, s->stride)
                  : pcnn_conv_geom_shifted(s->kind, s->kh, s->kw, s->stride);
    int64_t ho, wo;
    if (s->deconv)
        pcnn_deconv_out_size(&g, s->h, s->h, &ho, &wo);
    else
        pcnn_conv_out_size(&g, s->h, s->h, &ho, &wo);
    size_t nx = (size_t)(B * s->ci * s->h * s->h);
    size_t ny = (size_t)(B * s->co * ho * wo);
    size_t nw = (size_t)(s->ci * s->co * s->kh * s->kw);
    float *x = rand_buf(nx, 4), *w = rand_buf(nw, 5), *b = rand_buf(s->co, 6);
    float *y = rand_buf(ny, 7), *dy = rand_buf(ny, 8), *dx = rand_buf(nx, 9);
    float *dw = rand_buf(nw, 10), *db = rand_buf(s->co, 11);
    pcnn_tensor tx = pcnn_t4(x, B, s->ci, s->h, s->h);
    pcnn_tensor ty = pcnn_t4(y, B, s->co, ho, wo);
    pcnn_tensor tw = s->deconv ? pcnn_t4(w, s->ci, s->co, s->kh, s->kw)
                               : pcnn_t4(w, s->co, s->ci, s->kh, s->kw);
    pcnn_tensor tb = pcnn_t1(b, s->co), tdy = ty, tdx = tx, tdw = tw,
                tdb = tb;
    tdy.data = dy, tdx.data = dx, tdw.data = dw, tdb.data = db;
    double tf[64], tb_[64];
    for (int r = -1; r < reps; r++) {
        double t0 = cli_now();
        pcnn_status st =
            s->deconv ? pcnn_deconv2d_forward(ctx, ty, tx, tw, tb, &g)
                      : pcnn_conv2d_forward(ctx, ty, tx, tw, tb, &g);
        double t1 = cli_now();
        if (st != PCNN_OK)
            fail("forward");
        st = s->deconv
                 ? pcnn_deconv2d_backward(ctx, tdx, tdw, tdb, tdy, tx, tw, &g)
                 : pcnn_conv2d_backward(ctx, tdx, tdw, tdb, tdy, tx, tw, &g);
        double t2 = cli_now();
        if (st != PCNN_OK)
            fail("backward");
        if (r >= 0)
            tf[r] = t1 - t0, tb_[r] = t2 - t1;
    }
    /* multiply-adds of the forward: every output of the conv (every input
     * of the deconv) meets ci*kh*kw (co*kh*kw) weights */
    double fw = s->deconv ? 2.0 * (double)nx * (double)(s->co * s->kh * s->kw)
                          : 2.0 * (double)ny * (double)(s->ci * s->kh * s->kw);
    double mf = cli_median(tf, reps), mb = cli_median(tb_, reps);
    double gf = fw / mf / 1e9, gb = 2 * fw / mb / 1e9;
    printf("| %-34s | %8.2f | %7.1f | %5.0f%% | %8.2f | %7.1f | %5.0f%% |\n",
           s->name, mf * 1e3, gf, 100 * gf / sgemm, mb * 1e3, gb,
           100 * gb / sgemm);
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw),
        free(db);
}

static const char bench_usage[] =
    "usage: pixelcnn bench [--reps N] [--threads N] [--quick]\n"
    "       pixelcnn bench --models [--config R,F,M] [--reps N]\n"
    "       pixelcnn bench --sampling [--config R,F,M] [--reps N]\n"
    "       pixelcnn bench --pyramid [--config R,F,M] [--reps N]\n"
    "\n"
    "Measures the machine's SGEMM rate, then forward and backward GFLOP/s\n"
    "of PixelCNN++'s convolutions (batch 16, 32x32, 160 filters) and their\n"
    "share of the SGEMM rate. Figures are medians of N runs.\n";

typedef struct {
    int reps, threads, quick, models, sampling, pyramid;
    const char *only, *compute, *param;
} bench_args;

/* bench's flags into b, and their checks: 0, -1 (--help) or 2 after a
 * message. */
static int bench_parse(int argc, char **argv, bench_args *b)
{
    static const char *const modes = "--models|--sampling|--pyramid";
    cli_flag flags[] = {
        CLI_INT_F("--reps", &b->reps, 1, 64, "N",
                  "timed runs per figure (default 7)"),
        CLI_INT_F("--threads", &b->threads, 1, 4096, "N",
                  "threads (default: OMP_NUM_THREADS or all cores)"),
        CLI_COMPUTE_F(&b->compute),
        CLI_BOOL_F("--quick", &b->quick, "only the first conv shape",
                   .conflicts = modes,
                   .why = "it shortens the conv benchmark"),
        CLI_BOOL_F("--models", &b->models,
                   "instead: training and evaluation images/s and peak "
                   "memory of whole models (nr_resnet, nr_filters, nr_mix) "
                   "= (1,32,5) (2,64,5) (3,96,10) (5,160,10), one JSON line "
                   "each (default --reps 3)"),
        CLI_BOOL_F("--sampling", &b->sampling,
                   "instead: seconds to sample 16 images of 32x32x3 from "
                   "(1,32,5) and (5,160,10), cached and naive (the naive "
                   "time extrapolated from 3 forward passes), one JSON line "
                   "each (default --reps 3; 1 for (5,160,10))"),
        CLI_BOOL_F("--pyramid", &b->pyramid,
                   "instead: seconds to sample 1 image of 32x32 and of "
                   "128x128 (the latter also --consistent) and 16 of 32x32 "
                   "from pyramid chains (8x8 base, then 2x stages of config "
                   "R,F,M, default 1,100,5, one resolution, down-up "
                   "conditioning network), per stage and in all; then "
                   "single-stage PixelCNN++ (1,48,5) at 32x32 and 128x128 "
                   "(default --reps 3)"),
        CLI_BENCH_PARAM_F(&b->param, .needs = "--models",
                          .why = "it picks the weights that --models "
                                 "trains"),
        CLI_STRING_F("--config", &b->only, "R,F,M", "only this model config",
                     .needs = modes,
                     .why = "it picks the model of --models, --sampling or "
                            "--pyramid"),
    };
    cli_cmd p = CLI_CMD("bench", bench_usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (rc)
        return rc;
    if (b->models + b->sampling + b->pyramid > 1) {
        fprintf(stderr, "pixelcnn bench: give one of --models, --sampling "
                        "and --pyramid\n");
        return 2;
    }
    if ((rc = cli_check(&p)))
        return rc;
    if (b->pyramid && b->reps > 16) {
        fprintf(stderr, "pixelcnn bench: --reps %d: --pyramid takes 1..16\n",
                b->reps);
        return 2;
    }
    return 0;
}

/* The machine's SGEMM rate, then each conv shape (the first only when
 * quick), reps timed runs each. */
static int bench_convs(int reps, int threads, int quick, const char *compute)
{
    pcnn_ctx *ctx;
    if (cli_ctx("bench", threads, compute, &ctx))
        return 1;
    const int64_t B = 16;
    double sgemm = sgemm_gflops(reps);
    printf("pixelcnn %s op benchmark: %s\n", PCNN_VERSION,
           pcnn_ctx_describe(ctx));
    printf("reference: OpenBLAS cblas_sgemm 2048x2048x2048 = %.1f GFLOP/s "
           "(median of %d)\n",
           sgemm, reps);
#ifdef __AVX512F__
    printf("(the convs use the library's own AVX-512 SGEMM, "
           "src/cpu/gemm_avx512.c, so they can exceed 100%%)\n");
#endif
    printf("batch %lld, 32x32 images; times are medians of %d runs; "
           "%% = share of the SGEMM rate\n\n",
           (long long)B, reps);
    printf("| %-34s | fwd ms   | GFLOP/s | %%SGEMM | bwd ms   | GFLOP/s "
           "| %%SGEMM |\n",
           "conv (in->out channels, kernel)");
    printf("|%s|----------|---------|--------|----------|---------|--------|"
           "\n",
           "------------------------------------");
    static const conv_shape shapes[] = {
        {"down 2x3, 320->160 (resnet conv_in)", 0, PCNN_DOWN, 2, 3, 1, 320,
         160, 32},
        {"down 2x3, 320->320 (resnet conv_out)", 0, PCNN_DOWN, 2, 3, 1, 320,
         320, 32},
        {"down-right 2x2, 320->160", 0, PCNN_DOWN_RIGHT, 2, 2, 1, 320, 160,
         32},
        {"down-right 2x2, 320->320", 0, PCNN_DOWN_RIGHT, 2, 2, 1, 320, 320,
         32},
        {"down 2x3 stride 2, 160->160", 0, PCNN_DOWN, 2, 3, 2, 160, 160, 32},
        {"deconv down 2x3 s2, 160->160 16->32", 1, PCNN_DOWN, 2, 3, 2, 160,
         160, 16},
    };
    int n = quick ? 1 : (int)(sizeof shapes / sizeof shapes[0]);
    for (int i = 0; i < n; i++)
        bench_conv(ctx, &shapes[i], B, reps, sgemm);
    printf("\nbackward = dx + dw + db (2x the forward's multiply-adds).\n");
#ifdef __AVX512F__
    printf("GFLOP/s count the direct convolution's multiply-adds; the "
           "stride-1 forward\nconvs run Winograd F(2x2, kh x kw) "
           "(src/cpu/conv_winograd.c), which does\n2x (2x3) and 1.8x (2x2) "
           "fewer, so their figures are effective rates.\n");
#endif
    pcnn_ctx_free(ctx);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_args b = {0};
    int rc = bench_parse(argc, argv, &b);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (b.pyramid)
        return bench_pyramid(b.reps ? b.reps : 3, b.threads, b.only);
    if (b.sampling)
        return bench_sampling(b.reps ? b.reps : 3, b.threads, b.only,
                              b.compute);
    if (b.models)
        return bench_models(b.reps ? b.reps : 3, b.threads, b.only,
                            b.compute, b.param);
    return bench_convs(b.reps ? b.reps : 7, b.threads, b.quick, b.compute);
}
