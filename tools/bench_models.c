/*
 * bench_models.c -- `pixelcnn bench --models`: training and evaluation
 * images/s of whole PixelCNN++ models at batch 16 on 32x32x3 images, and
 * each config's peak memory (run in its own process, ru_maxrss).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What every config of a benchmark runs with. */
typedef struct {
    int reps, threads;
    const char *compute, *param;
} bench_job;

/* Times j->reps training steps and evaluation passes (after one warm-up
 * each) of config (R, F, M) and writes one JSON line to fd. */
static int bench_one(int R, int F, int M, const bench_job *j, int fd)
{
    const int reps = j->reps, threads = j->threads;
    const char *compute = j->compute;
    const int B = 16;
    pcnn_model_config c = cli_bench_config(R, F, M, j->param);
    pcnn_dataset d = {0};
    d.n = 4 * B, d.c = 3, d.h = d.w = 32;
    d.images = malloc((size_t)(d.n * 3 * 32 * 32));
    if (!d.images)
        return 1;
    for (int64_t i = 0; i < d.n * 3 * 32 * 32; i++)
        d.images[i] = (uint8_t)(pcnn_uniform(1, (uint64_t)i) * 256);
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_trainer *t;
    pcnn_train_opts o = pcnn_train_opts_default();
    o.batch = B;
    if (cli_ctx("bench", threads, compute, &ctx))
        return 1;
    if (pcnn_model_create(&m, &c, 1) ||
        pcnn_trainer_create(&t, m, &d, &o) || pcnn_trainer_init(ctx, t)) {
        fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
        return 1;
    }
    double tt[64], te[64];
    /* one batch, evaluated as the trainer's model: a chain of one */
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = B, eo.limit = B;
    pcnn_chain_eval ev;
    for (int r = -1; r < reps; r++) {
        double t0 = cli_now();
        if (pcnn_trainer_step(ctx, t, NULL) != PCNN_OK) {
            fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
            return 1;
        }
        if (r >= 0)
            tt[r] = cli_now() - t0;
    }
    for (int r = -1; r < reps; r++) {
        double t0 = cli_now();
        if (pcnn_trainer_evaluate(ctx, t, 0, &d, &eo, &ev) != PCNN_OK) {
            fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
            return 1;
        }
        if (r >= 0)
            te[r] = cli_now() - t0;
    }
    const double mt = cli_median(tt, reps), me = cli_median(te, reps);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char line[256];
    int n = snprintf(line, sizeof line,
                     "{\"config\": [%d, %d, %d], \"param\": \"%s\", "
                     "\"train_img_s\": %.2f, \"eval_img_s\": %.2f, "
                     "\"peak_rss_mb\": %.0f}\n",
                     R, F, M, c.plain ? "plain" : "weightnorm", B / mt,
                     B / me,
                     (double)ru.ru_maxrss / 1024);
    if (write(fd, line, (size_t)n) != n)
        return 1;
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    return 0;
}

/* only is NULL or one of the n configs: 0, else a message listing them
 * and 2. */
static int check_only(const char *flag, const char *only,
                      const int (*configs)[3], int n)
{
    char name[32], list[160] = "";
    for (int k = 0; k < n; k++) {
        snprintf(name, sizeof name, "%d,%d,%d", configs[k][0], configs[k][1],
                 configs[k][2]);
        if (only && !strcmp(only, name))
            return 0;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 k ? " " : "", name);
    }
    if (!only)
        return 0;
    fprintf(stderr, "pixelcnn bench: --config %s: %s measures %s\n", only,
            flag, list);
    return 2;
}

/* one(config, j, stdout) in a child process for each of the n configs
 * (only the one named "R,F,M" by only, when given), so that each peak
 * memory is its config's own: 0, or 1 when a child failed. */
static int run_each(const int (*configs)[3], int n, const char *only,
                    int (*one)(int, int, int, const bench_job *, int),
                    const bench_job *j)
{
    for (int k = 0; k < n; k++) {
        char name[32];
        snprintf(name, sizeof name, "%d,%d,%d", configs[k][0], configs[k][1],
                 configs[k][2]);
        if (only && strcmp(only, name))
            continue;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0)
            _exit(one(configs[k][0], configs[k][1], configs[k][2], j, 1));
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            return 1;
    }
    return 0;
}

int bench_models(int reps, int threads, const char *only,
                 const char *compute, const char *param)
{
    static const int configs[4][3] = {
        {1, 32, 5}, {2, 64, 5}, {3, 96, 10}, {5, 160, 10}};
    if (check_only("--models", only, configs, 4))
        return 2;
    printf("PixelCNN++ models, batch 16, 32x32x3, 3 resolutions, dropout "
           "0.5, %s weights; medians of %d steps\n",
           cli_bench_config(1, 1, 1, param).plain ? "plain"
                                                  : "weight-normalized",
           reps);
    const bench_job j = {reps, threads, compute, param};
    return run_each(configs, 4, only, bench_one, &j);
}

/* Sampling 16 images of 32x32x3 from config (R, F, M) with random weights:
 * the cached sampler (median of reps runs, whole), and the naive one
 * extrapolated: one full forward pass per pixel, `steps` passes timed,
 * times 1024. One JSON line to fd. */
static int bench_sample_one(int R, int F, int M, const bench_job *j,
                            int fd)
{
    /* one run of the paper-sized model: it takes seconds */
    const int reps = F >= 160 ? 1 : j->reps, threads = j->threads;
    const char *compute = j->compute;
    const int B = 16, steps = 3;
    pcnn_model_config c = pcnn_model_config_default();
    c.nr_resnet = R, c.nr_filters = F, c.nr_mix = M;
    pcnn_ctx *ctx;
    pcnn_model *m;
    uint8_t *x = calloc((size_t)B * 3 * 32 * 32, 1);
    pcnn_head h;
    if (!x || cli_ctx("bench", threads, compute, &ctx))
        return 1;
    if (pcnn_model_create(&m, &c, 1)) {
        fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
        return 1;
    }
    h = pcnn_model_head(m);
    const int P = pcnn_head_params(&h);
    float *l = malloc((size_t)B * (size_t)P * 1024 * sizeof *l);
    double ts[64], tn[8];
    pcnn_image img = pcnn_img(x, B, 3, 32, 32);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    for (int r = 0; r < reps; r++) {
        o.seed = (uint64_t)r;
        double t0 = cli_now();
        if (pcnn_model_sample(ctx, m, img, &o) != PCNN_OK) {
            fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
            return 1;
        }
        ts[r] = cli_now() - t0;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double rss = (double)ru.ru_maxrss / 1024;
    pcnn_batch b = {img, NULL, pcnn_none()};
    for (int r = -1; r < steps; r++) {
        double t0 = cli_now();
        if (!l || pcnn_model_forward(ctx, m, &b,
                                     pcnn_t4(l, B, P, 32, 32)) != PCNN_OK) {
            fprintf(stderr, "pixelcnn bench: %s\n", pcnn_last_error());
            return 1;
        }
        if (r >= 0)
            tn[r] = cli_now() - t0;
    }
    const double ms = cli_median(ts, reps), mn = cli_median(tn, steps);
    char line[320];
    int n = snprintf(line, sizeof line,
                     "{\"config\": [%d, %d, %d], \"sample_cached_s\": "
                     "%.3f, \"sample_cached_runs\": %d, "
                     "\"sample_naive_s\": %.1f, "
                     "\"naive_extrapolated_from_steps\": %d, "
                     "\"sample_peak_rss_mb\": %.0f}\n",
                     R, F, M, ms, reps, mn * 1024, steps,
                     rss);
    if (write(fd, line, (size_t)n) != n)
        return 1;
    free(l), free(x);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    return 0;
}

int bench_sampling(int reps, int threads, const char *only,
                   const char *compute)
{
    static const int configs[2][3] = {{1, 32, 5}, {5, 160, 10}};
    if (check_only("--sampling", only, configs, 2))
        return 2;
    printf("Sampling 16 images of 32x32x3 (random weights), 3 resolutions; "
           "cached: median of %d whole runs (1 for (5,160,10)); naive: one "
           "forward pass per pixel, the median of 3 passes times 1024 "
           "(extrapolated)\n",
           reps);
    const bench_job j = {reps, threads, compute, NULL};
    return run_each(configs, 2, only, bench_sample_one, &j);
}
