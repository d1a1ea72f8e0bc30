/*
 * train_util.c -- what `pixelcnn train` prints and keeps beside its
 * steps: the status line, the metrics log after a resume, the ranks'
 * agreement on resuming.
 */
#include "cli.h"
#include "dist.h"

#include <stdio.h>
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

