/*
 * train_util.c -- what `pixelcnn train` prints and keeps beside its
 * steps: the status line, the metrics log after a resume, the ranks'
 * agreement on resuming, the chain joined from stages trained at once.
 */
#include "cli.h"
#include "dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One status line: a bar when stderr is a terminal, else plain lines. */
void cli_train_progress(uint64_t step, long steps, double t0,
                        double budget, const pcnn_step_stats *st,
                        double img_s, int tty)
{
    double elapsed = cli_now() - t0, frac = -1;
    if (steps > 0)
        frac = (double)step / (double)steps;
    if (budget > 0) {
        double f = elapsed / budget;
        frac = frac < 0 || f > frac ? f : frac;
    }
    char eta[32] = "--:--";
    if (frac > 0 && frac <= 1) {
        int s = (int)(elapsed / frac - elapsed);
        snprintf(eta, sizeof eta, "%02d:%02d", s / 60, s % 60);
    }
    char bar[24] = "";
    if (frac >= 0) {
        int k = (int)(20 * (frac > 1 ? 1 : frac));
        for (int i = 0; i < 20; i++)
            bar[i] = i < k ? '=' : ' ';
        bar[20] = 0;
    }
    fprintf(stderr,
            "%sstep %llu %s%s%s loss %.4f bits/dim  |g| %.3g  %.1f img/s  "
            "ETA %s%s",
            tty ? "\r" : "", (unsigned long long)step, frac >= 0 ? "[" : "",
            bar, frac >= 0 ? "]" : "", st->bpd, st->grad_norm, img_s, eta,
            tty ? "   " : "\n");
    fflush(stderr);
}

/* After a resume, drops the metrics lines of steps beyond the checkpoint's
 * (logged before a crash, then trained again): the log stays one history. */
void cli_trim_metrics(const char *path, uint64_t step)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    char tmp[4200];
    FILE *out = cli_temp_next_to(path, tmp, sizeof tmp);
    if (!out) {
        fclose(in);
        return;
    }
    char line[1024];
    while (fgets(line, sizeof line, in)) {
        unsigned long long s;
        const char *p = strstr(line, "\"step\": ");
        if (p && sscanf(p + 8, "%llu", &s) == 1 && s > step)
            continue;
        fputs(line, out);
    }
    fclose(in);
    if (fclose(out) == 0)
        rename(tmp, path);
    else
        remove(tmp);
}

int cli_dist_same_start(cli_dist *d, int resuming, const char *out)
{
    if (!(cli_dist_any(d, resuming) && cli_dist_any(d, !resuming)))
        return 0;
    fprintf(stderr,
            "pixelcnn train: --resume: some ranks find %s/checkpoint."
            "safetensors and some do not (this one %s): every rank reads "
            "the checkpoint, so --out must be a folder the machines share "
            "or hold a copy on each\n",
            out, resuming ? "does" : "does not");
    return 1;
}


int cli_join_stages(const char *out, int n)
{
    char paths[PCNN_MAX_STAGES][4200], chain[4200];
    const char *p[PCNN_MAX_STAGES];
    for (int i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/stage%d/checkpoint.safetensors",
                 out, i);
        p[i] = paths[i];
    }
    snprintf(chain, sizeof chain, "%s/chain.safetensors", out);
    pcnn_model *m[PCNN_MAX_STAGES] = {0};
    if (cli_load_stages(p, n, NULL, m))
        return 1;
    pcnn_chain *ch = NULL;
    pcnn_status s = pcnn_chain_create(&ch, m, n); /* frees m on failure */
    if (s == PCNN_OK)
        s = pcnn_chain_save(chain, ch);
    pcnn_chain_free(ch);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: --all-stages: %s\n",
                pcnn_last_error());
        return 1;
    }
    fprintf(stderr, "pixelcnn train: joined the %d stages into %s\n", n,
            chain);
    return 0;
}

/* The stage's data set from images x, in place: view(x) and, for a
 * conditioned stage, the condition images cond_view(x). */
int cli_to_stage(const pcnn_model_config *c, int has_cond,
                 pcnn_dataset *x)
{
    if (!c->view.halvings && !c->view.gray4 && !c->view.lab && !has_cond)
        return 0;
    pcnn_dataset d;
    if (pcnn_stage_dataset(x, &c->view, has_cond ? &c->cond_view : NULL,
                           &d) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    pcnn_dataset_free(x);
    *x = d;
    return 0;
}

/* The model's images (the stage's view of the data) must halve
 * nr_resolutions - 1 times down to at least 2x2: a 1x1 scale sees only
 * padding and its data-dependent init is not finite. 0, or 2 with a
 * message. */
int cli_check_image_size(const pcnn_model_config *c,
                         const pcnn_dataset *d)
{
    const int64_t unit = (int64_t)1 << (c->nr_resolutions - 1);
    if (d->h % unit == 0 && d->w % unit == 0 && d->h >= 2 * unit &&
        d->w >= 2 * unit)
        return 0;
    char v[96];
    fprintf(stderr,
            "pixelcnn train: the model's images are %lldx%lld (%s of the "
            "data): --nr-resolutions %d needs sides divisible by %lld and "
            "at least %lld (2x2 at the smallest scale); give fewer "
            "--nr-resolutions or larger images\n",
            (long long)d->h, (long long)d->w,
            pcnn_view_str(&c->view, v, sizeof v), c->nr_resolutions,
            (long long)unit, (long long)(2 * unit));
    return 2;
}

/* A metrics line's exchange figures, per step since the last line: the
 * bytes each rank all-reduced and the seconds it spent in all-reduces
 * (with several ranks; else nothing). */
void cli_dist_fields(cli_dist *d, uint64_t steps, char *s, size_t n)
{
    *s = 0;
    if (d->size <= 1 || steps == 0)
        return;
    snprintf(s, n, ", \"ranks\": %d, \"allreduce_mb\": %.4f, "
                   "\"allreduce_ms\": %.3f",
             d->size, (double)d->bytes / 1e6 / (double)steps,
             d->seconds * 1e3 / (double)steps);
    d->bytes = 0, d->calls = 0, d->seconds = 0;
}

int cli_stage_group(cli_dist *d, int nstages, const char *chain,
                    const char *out, int *stage, char *dir, size_t n)
{
    if (d->size < nstages) {
        fprintf(stderr,
                "pixelcnn train: --all-stages: the %s chain has %d stages, "
                "more than the %d ranks: start at least %d (mpirun -np %d)\n",
                chain, nstages, d->size, nstages, nstages);
        return 2;
    }
    *stage = (int)((long)d->rank * nstages / d->size);
    if (cli_dist_split(d, *stage))
        return 1;
    snprintf(dir, n, "%s/stage%d", out, *stage);
    return 0;
}

/* The mean and standard error of x[0 .. n) (sample variance). */
static void mean_se(const double *x, int64_t n, double *mean, double *se)
{
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++)
        sum += x[i], sq += x[i] * x[i];
    const double var =
        n > 1 ? (sq - sum * sum / (double)n) / (double)(n - 1) : 0;
    *mean = sum / (double)n;
    *se = sqrt(var > 0 ? var : 0) / sqrt((double)n);
}

/* This rank's slice [lo, hi) of test: each image's bits per dim of X
 * into bits[lo .. hi), *scale = the stage's dims per dims of X. */
static int eval_slice(pcnn_ctx *ctx, pcnn_trainer *t,
                      const pcnn_dataset *test, int64_t lo, int64_t hi,
                      double *bits, double *scale)
{
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = pcnn_trainer_opts(t).batch;
    eo.image_bits = bits + lo;
    pcnn_dataset part = {0};
    pcnn_chain_eval r;
    pcnn_status s = pcnn_dataset_subset(test, lo, hi - lo, &part);
    if (s == PCNN_OK)
        s = pcnn_trainer_evaluate(ctx, t, 1, &part, &eo, &r);
    pcnn_dataset_free(&part);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    *scale = (double)r.dims_x / (double)r.dims[0];
    return 0;
}

int cli_test_eval(cli_dist *d, pcnn_ctx *ctx, pcnn_trainer *t,
                  const pcnn_dataset *test, long limit, double *mean,
                  double *se, int64_t *images)
{
    const int64_t n = limit > 0 && limit < test->n ? limit : test->n;
    /* per image, then the scale and how many ranks gave it */
    double *bits = calloc((size_t)n + 2, sizeof *bits);
    if (!bits) {
        fprintf(stderr, "pixelcnn train: out of memory\n");
        return 1;
    }
    const int64_t lo = n * d->rank / d->size;
    const int64_t hi = n * (d->rank + 1) / d->size;
    if (hi > lo && eval_slice(ctx, t, test, lo, hi, bits, &bits[n])) {
        free(bits);
        return 1;
    }
    bits[n + 1] = hi > lo;
    cli_dist_sum_f64(d, bits, (size_t)n + 2);
    const double scale = bits[n] / bits[n + 1];
    mean_se(bits, n, mean, se);
    *mean *= scale, *se *= scale, *images = n;
    free(bits);
    return 0;
}
