/*
 * report.c -- `pixeldefend attack`: the classifier's accuracy and the
 * density model's bits/dim on the first n Fashion-MNIST test images,
 * clean and FGSM / PGD attacked, each as is and purified at every defense
 * radius, as a Markdown table on stdout; and an examples figure.
 */
#include "pixeldefend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int stbi_write_png(char const *filename, int w, int h, int comp,
                   const void *data, int stride_in_bytes);

#define FIG_N 8     /* images in the figure */
#define FIG_SCALE 3 /* pixels per image pixel */
#define FIG_GAP 2   /* the border drawn around each image */
#define FIG_ROWS 3  /* clean, attacked, purified */

typedef struct {
    pcnn_ctx *ctx;
    cnn net;
    pcnn_chain *chain;
    const uint8_t *x;
    const int32_t *y;
    int64_t n;
    uint8_t *fig[FIG_ROWS]; /* the figure's rows of FIG_N images */
    double *bits;           /* (n) each image's bits/dim */
    double flag;            /* the clean images' 95th percentile of it */
} run;

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The value that 5% of the n values v exceed (at most). */
static double percentile95(const double *v, int64_t n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        pd_die("out of memory");
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double t = s[(n * 95 + 99) / 100 - 1];
    free(s);
    return t;
}

/* " acc | bpd +- se |" of the n images x, and with `flagged` the share
 * of them above the clean images' 95th percentile of bits/dim (the first
 * call, on the clean images, sets it). */
static void cells(run *r, const uint8_t *x, int flagged)
{
    double se, bpd = pd_bpd(r->ctx, r->chain, x, r->n, &se, r->bits);
    printf(" %.1f%% | %.3f +- %.3f |",
           100 * pd_accuracy(r->ctx, &r->net, x, r->y, r->n), bpd, se);
    if (flagged) {
        if (isnan(r->flag))
            r->flag = percentile95(r->bits, r->n);
        int64_t above = 0;
        for (int64_t i = 0; i < r->n; i++)
            above += r->bits[i] > r->flag;
        printf(" %.1f%% |", 100.0 * (double)above / (double)r->n);
    }
    fflush(stdout);
}

/* One table row: the images adv as is and purified at each radius;
 * the purified copy at radius fig_eps kept for the figure. */
static void row(run *r, const pd_args *a, const char *name,
                const uint8_t *adv, int fig_eps)
{
    size_t bytes = (size_t)(r->n * PD_PIXELS);
    uint8_t *p = malloc(bytes);
    if (!p)
        pd_die("out of memory");
    printf("| %s |", name);
    cells(r, adv, 1);
    for (int d = 0; d < a->n_defend; d++) {
        memcpy(p, adv, bytes);
        double t0 = seconds();
        pd_purify(r->ctx, r->chain, p, r->n, a->defend_eps[d], a->naive);
        fprintf(stderr, "%s: purified at eps %d in %.1f s\n", name,
                a->defend_eps[d], seconds() - t0);
        cells(r, p, 0);
        if (fig_eps == a->defend_eps[d])
            memcpy(r->fig[2], p, (size_t)(FIG_N * PD_PIXELS));
    }
    printf("\n");
    free(p);
}

static void header(const pd_args *a)
{
    printf("| images | accuracy | bits/dim | flagged |");
    for (int d = 0; d < a->n_defend; d++)
        printf(" accuracy, purified %d | bits/dim, purified %d |",
               a->defend_eps[d], a->defend_eps[d]);
    printf("\n|---|---|---|---|");
    for (int d = 0; d < a->n_defend; d++)
        printf("---|---|");
    printf("\n");
}

/* The figure: FIG_ROWS rows of FIG_N images, each in a border that is
 * green where the classifier is right and red where it is wrong. */
static void figure(run *r, const char *path)
{
    const int cell = CNN_SIDE * FIG_SCALE + 2 * FIG_GAP;
    const int W = FIG_N * cell, H = FIG_ROWS * cell;
    uint8_t *img = calloc((size_t)(W * H * 3), 1);
    float logits[FIG_N * CNN_CLASSES];
    int32_t pred[FIG_N];
    if (!img)
        pd_die("out of memory");
    for (int rw = 0; rw < FIG_ROWS; rw++) {
        PD_TRY(cnn_forward(r->ctx, &r->net, r->fig[rw], NULL, FIG_N, logits));
        cnn_predict(logits, FIG_N, pred);
        for (int k = 0; k < FIG_N; k++)
            for (int i = 0; i < cell; i++)
                for (int j = 0; j < cell; j++) {
                    int ii = (i - FIG_GAP) / FIG_SCALE;
                    int jj = (j - FIG_GAP) / FIG_SCALE;
                    int in = i >= FIG_GAP && j >= FIG_GAP &&
                             ii < CNN_SIDE && jj < CNN_SIDE;
                    uint8_t *o = img + 3 * ((rw * cell + i) * W + k * cell + j);
                    uint8_t v = in ? r->fig[rw][k * PD_PIXELS +
                                                ii * CNN_SIDE + jj] : 0;
                    int ok = pred[k] == r->y[k];
                    o[0] = in ? v : (uint8_t)(ok ? 0 : 220);
                    o[1] = in ? v : (uint8_t)(ok ? 180 : 0);
                    o[2] = in ? v : 0;
                }
    }
    if (!stbi_write_png(path, W, H, 3, img, W * 3))
        pd_die("--png: cannot write the figure");
    free(img);
}

/* Kind 0 FGSM, 1 PGD, 2 PGD through purification at a->bpda (BPDA). */
static void attack(run *r, const pd_args *a, int kind, int e, uint8_t *adv)
{
    static const char *names[] = {"FGSM", "PGD", "BPDA-PGD"};
    char name[64];
    pd_attack_opts o = {a->attack_eps[e], kind ? a->pgd_steps : 0, a->seed,
                        kind == 2 ? r->chain : NULL, a->bpda};
    double t0 = seconds();
    pd_fgsm_pgd(r->ctx, &r->net, r->x, r->y, r->n, &o, adv);
    fprintf(stderr, "%s %d: %.1f s\n", names[kind], o.eps, seconds() - t0);
    /* the figure: PGD at the middle attack radius, purified at the
     * largest defense radius */
    int fig = kind == 1 && e == a->n_attack / 2;
    if (fig)
        memcpy(r->fig[1], adv, (size_t)(FIG_N * PD_PIXELS));
    if (kind == 2)
        snprintf(name, sizeof name, "BPDA-PGD %d/255 through purify %d",
                 o.eps, a->bpda);
    else
        snprintf(name, sizeof name, "%s %d/255", names[kind], o.eps);
    row(r, a, name, adv, fig ? a->defend_eps[a->n_defend - 1] : -1);
}

static void attacks(run *r, const pd_args *a, uint8_t *adv)
{
    for (int kind = a->bpda ? 2 : 0; kind < (a->bpda ? 3 : 2); kind++)
        for (int e = 0; e < a->n_attack; e++)
            attack(r, a, kind, e, adv);
}

int pd_attack(pcnn_ctx *ctx, const pd_args *a)
{
    pcnn_dataset te = {0};
    pd_load(a->data, "t10k", &te);
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx, r.x = te.images, r.y = te.labels;
    r.n = a->n < te.n ? a->n : te.n;
    r.flag = NAN;
    r.bits = malloc((size_t)r.n * sizeof *r.bits);
    if (r.n < FIG_N)
        pd_die("--n: want at least 8 images");
    pd_load_classifier(&r.net, a->classifier);
    PD_TRY(pcnn_chain_load(a->density, 0, &r.chain));
    uint8_t *adv = malloc((size_t)(r.n * PD_PIXELS));
    for (int k = 0; k < FIG_ROWS; k++)
        r.fig[k] = malloc((size_t)(FIG_N * PD_PIXELS));
    if (!adv || !r.bits || !r.fig[0] || !r.fig[1] || !r.fig[2])
        pd_die("out of memory");
    memcpy(r.fig[0], r.x, (size_t)(FIG_N * PD_PIXELS));
    header(a);
    row(&r, a, "clean", r.x, -1);
    attacks(&r, a, adv);
    if (a->png && !a->bpda)
        figure(&r, a->png);
    for (int k = 0; k < FIG_ROWS; k++)
        free(r.fig[k]);
    free(adv);
    free(r.bits);
    pcnn_chain_free(r.chain);
    cnn_free(&r.net);
    pcnn_dataset_free(&te);
    return 0;
}
