/*
 * bench_pyramid.c -- `pixelcnn bench --pyramid`: seconds to sample images
 * from pyramid chains (8x8 base, then 2x upscaling stages) of random
 * weights, stage by stage, against a single-stage PixelCNN++ at the same
 * size, all with the cached sampler. One JSON line per measurement.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* The stages of an 8 -> size pyramid: stage 0 at 8x8 (two resolutions),
 * each next one 2x larger given the previous (one resolution, a down-up
 * conditioning network of R resnets x F filters). */
static int pyramid_stages(int size, int R, int F, int M, pcnn_model **st)
{
    int n = 0;
    for (int s = 8; s <= size; s *= 2, n++) {
        pcnn_model_config c = pcnn_model_config_default();
        c.height = c.width = s;
        c.nr_resnet = R, c.nr_filters = F, c.nr_mix = M;
        c.dropout = 0;
        int h = 0;
        for (int t = s; t < size; t *= 2)
            h++;
        c.view = (pcnn_view){h, 0, 0};
        if (n == 0) {
            c.nr_resolutions = 2;
        } else {
            c.nr_resolutions = 1;
            c.cond_channels = 3;
            c.cond_view = (pcnn_view){h + 1, 0, 0};
            c.cond_nr_resnet = R, c.cond_nr_filters = F, c.cond_down = 1;
        }
        if (pcnn_model_create(&st[n], &c, (uint64_t)(n + 1)) != PCNN_OK)
            return -1;
    }
    return n;
}

/* The times at which each stage's last row was drawn, from the chain
 * sampler's progress (rows of all stages). */
typedef struct {
    int n;
    int64_t end[PCNN_MAX_STAGES]; /* rows up to and including stage i */
    double at[PCNN_MAX_STAGES];
} stage_clock;

static int stage_done(void *arg, const pcnn_progress_info *info)
{
    stage_clock *k = arg;
    for (int i = 0; i < k->n; i++)
        if (info->done == k->end[i])
            k->at[i] = cli_now();
    return 0;
}

/* Samples B images from the chain `reps` times with pcnn_chain_sample,
 * with consistent: each upper stage drawn consistent with the one below
 * (its tightened distribution); per stage and total medians in one JSON
 * line. */
static int bench_chain(pcnn_ctx *ctx, int size, int R, int F, int M, int B,
                       int reps, int consistent)
{
    pcnn_model *st[PCNN_MAX_STAGES];
    const int n = pyramid_stages(size, R, F, M, st);
    pcnn_chain *ch;
    if (n < 1 || pcnn_chain_create(&ch, st, n) != PCNN_OK)
        return 1;
    uint8_t *img[PCNN_MAX_STAGES];
    double t[PCNN_MAX_STAGES][16], tot[16];
    stage_clock k = {n, {0}, {0}};
    for (int i = 0; i < n; i++) {
        const int s = 8 << i;
        img[i] = calloc((size_t)(B * 3 * s * s), 1);
        if (!img[i])
            return 1;
        k.end[i] = (i ? k.end[i - 1] : 0) + s;
    }
    for (int r = 0; r < reps; r++) {
        pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
        o.seed = (uint64_t)r;
        o.consistent = consistent;
        o.progress = (pcnn_progress){stage_done, &k};
        const double t0 = cli_now();
        if (pcnn_chain_sample(ctx, ch, B, &o, img) != PCNN_OK) {
            fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
            return 1;
        }
        tot[r] = cli_now() - t0;
        for (int i = 0; i < n; i++)
            t[i][r] = k.at[i] - (i ? k.at[i - 1] : t0);
    }
    printf("{\"pyramid\": \"8->%d\", \"config\": [%d, %d, %d], "
           "\"consistent\": %s, \"batch\": %d, \"runs\": %d, "
           "\"sample_s\": ",
           size, R, F, M, consistent ? "true" : "false", B, reps);
    const double mt = cli_median(tot, reps);
    printf("%.3f, \"per_image_s\": %.3f, \"stages_s\": [", mt, mt / B);
    for (int i = 0; i < n; i++)
        printf("%s%.3f", i ? ", " : "", cli_median(t[i], reps));
    size_t params = 0;
    for (int i = 0; i < n; i++) {
        size_t q;
        pcnn_model_params(pcnn_chain_stage(ch, i), &q);
        params += q;
    }
    printf("], \"parameters\": %zu}\n", params);
    fflush(stdout);
    for (int i = 0; i < n; i++)
        free(img[i]);
    pcnn_chain_free(ch);
    return 0;
}

/* A single-stage PixelCNN++ (R, F, M), 3 resolutions, at size x size. */
static int bench_single(pcnn_ctx *ctx, int size, int R, int F, int M, int B,
                        int reps)
{
    pcnn_model_config c = pcnn_model_config_default();
    c.height = c.width = size;
    c.nr_resnet = R, c.nr_filters = F, c.nr_mix = M, c.dropout = 0;
    pcnn_model *m;
    uint8_t *x = calloc((size_t)(B * 3 * size * size), 1);
    if (!x || pcnn_model_create(&m, &c, 1) != PCNN_OK)
        return 1;
    double t[16];
    for (int r = 0; r < reps; r++) {
        pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
        o.seed = (uint64_t)r;
        double t0 = cli_now();
        if (pcnn_model_sample(ctx, m, pcnn_img(x, B, 3, size, size), &o)) {
            fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
            return 1;
        }
        t[r] = cli_now() - t0;
    }
    const double mt = cli_median(t, reps);
    size_t params;
    pcnn_model_params(m, &params);
    printf("{\"single\": %d, \"config\": [%d, %d, %d], \"batch\": %d, "
           "\"runs\": %d, \"sample_s\": %.3f, \"per_image_s\": %.3f, "
           "\"parameters\": %zu}\n",
           size, R, F, M, B, reps, mt, mt / B, params);
    fflush(stdout);
    pcnn_model_free(m);
    free(x);
    return 0;
}

int bench_pyramid(int reps, int threads, const char *only)
{
    int R = 1, F = 100, M = 5, end = 0;
    if (only && (sscanf(only, "%d,%d,%d%n", &R, &F, &M, &end) != 3 ||
                 only[end] || R < 1 || R > 64 || F < 1 || F > 4096 ||
                 M < 1 || M > 1024)) {
        fprintf(stderr,
                "pixelcnn bench: --config %s: --pyramid takes R,F,M "
                "(nr_resnet 1..64, nr_filters 1..4096, nr_mix 1..1024)\n",
                only);
        return 2;
    }
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
    pcnn_ctx *ctx;
    if (pcnn_ctx_create(&ctx, &co) != PCNN_OK) {
        fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
        return 1;
    }
    printf("Pyramid sampling, random weights, %s; medians of %d runs\n",
           pcnn_ctx_describe(ctx), reps);
    int rc = bench_chain(ctx, 32, R, F, M, 1, reps, 0) ||
             bench_chain(ctx, 128, R, F, M, 1, reps, 0) ||
             bench_chain(ctx, 128, R, F, M, 1, reps, 1) ||
             bench_chain(ctx, 32, R, F, M, 16, reps, 0) ||
             bench_single(ctx, 32, 1, 48, 5, 1, reps) ||
             bench_single(ctx, 128, 1, 48, 5, 1, 1);
    pcnn_ctx_free(ctx);
    return rc;
}
