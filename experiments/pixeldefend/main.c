/*
 * main.c -- the PixelDefend experiment (README.md here):
 *
 *   pixeldefend train  --data DIR --classifier FILE [--seconds S] [--seed N]
 *   pixeldefend attack --data DIR --classifier FILE --density CKPT [--n N]
 *                      [--attack-eps 8,16,25] [--defend-eps 16,32]
 *                      [--pgd-steps 10] [--png FILE] [--naive] [--bpda D]
 *   pixeldefend check  --data DIR --classifier FILE --density CKPT
 *
 * --bpda D: instead of FGSM and PGD, PGD whose steps take the gradient at
 * the image purified at radius D (an adaptive attack, BPDA).
 * check: the classifier's input gradient against finite differences, and
 * the library's purification against the naive loop here (purify.c).
 *
 * Both run on one thread (the context's thread count comes from
 * OMP_NUM_THREADS, default 1 here).
 */
#include "pixeldefend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pd_die(const char *msg)
{
    fprintf(stderr, "pixeldefend: %s\n", msg);
    exit(1);
}

void pd_load(const char *dir, const char *split, pcnn_dataset *out)
{
    char img[4096], lab[4096];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    PD_TRY(pcnn_dataset_load_idx(img, lab, out));
    if (out->c != 1 || out->h != CNN_SIDE || out->w != CNN_SIDE)
        pd_die("--data: the images are not 28x28 gray");
}

void pd_load_classifier(cnn *net, const char *path)
{
    char msg[4200];
    if (cnn_create(net, PD_EVAL_BATCH, 0) != 0)
        pd_die("out of memory");
    snprintf(msg, sizeof msg, "--classifier %s: cannot read it, or not the "
             "weights of `pixeldefend train`", path);
    if (cnn_load(net, path) != 0)
        pd_die(msg);
}

/* "8,16,25" -> v; at most PD_MAX_EPS values in 1..255. */
static int parse_list(const char *flag, const char *s, int *v)
{
    int n = 0;
    char *end;
    for (;;) {
        long x = strtol(s, &end, 10);
        if (end == s || x < 1 || x > 255 || n == PD_MAX_EPS) {
            fprintf(stderr, "pixeldefend: %s: want up to %d integers in "
                            "1..255 separated by commas\n", flag, PD_MAX_EPS);
            exit(2);
        }
        v[n++] = (int)x;
        if (*end == '\0')
            return n;
        if (*end != ',')
            break;
        s = end + 1;
    }
    fprintf(stderr, "pixeldefend: %s: bad list\n", flag);
    exit(2);
}

static double parse_num(const char *flag, const char *s, double lo)
{
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || !(x >= lo)) {
        fprintf(stderr, "pixeldefend: %s: want a number >= %g\n", flag, lo);
        exit(2);
    }
    return x;
}

static int parse_radius(const char *flag, const char *s)
{
    int v[PD_MAX_EPS];
    if (parse_list(flag, s, v) != 1) {
        fprintf(stderr, "pixeldefend: %s: want one integer in 1..255\n",
                flag);
        exit(2);
    }
    return v[0];
}

static void parse_flag(pd_args *a, const char *f, const char *v)
{
    if (!strcmp(f, "--data")) a->data = v;
    else if (!strcmp(f, "--classifier")) a->classifier = v;
    else if (!strcmp(f, "--density")) a->density = v;
    else if (!strcmp(f, "--png")) a->png = v;
    else if (!strcmp(f, "--seconds")) a->seconds = parse_num(f, v, 1);
    else if (!strcmp(f, "--seed")) a->seed = (uint64_t)parse_num(f, v, 0);
    else if (!strcmp(f, "--n")) a->n = (int64_t)parse_num(f, v, 1);
    else if (!strcmp(f, "--pgd-steps")) a->pgd_steps = (int)parse_num(f, v, 1);
    else if (!strcmp(f, "--bpda")) a->bpda = parse_radius(f, v);
    else if (!strcmp(f, "--attack-eps"))
        a->n_attack = parse_list(f, v, a->attack_eps);
    else if (!strcmp(f, "--defend-eps"))
        a->n_defend = parse_list(f, v, a->defend_eps);
    else {
        fprintf(stderr, "pixeldefend: unknown flag %s\n", f);
        exit(2);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: pixeldefend train --data DIR --classifier FILE "
            "[--seconds S] [--seed N]\n"
            "       pixeldefend attack --data DIR --classifier FILE "
            "--density CKPT [--n N] [--attack-eps 8,16,25]\n"
            "                  [--defend-eps 16,32] [--pgd-steps 10] "
            "[--png FILE] [--naive] [--bpda D]\n"
            "       pixeldefend check --data DIR --classifier FILE "
            "--density CKPT\n");
    exit(2);
}

static pd_args parse(int argc, char **argv)
{
    pd_args a = {0};
    a.seconds = 300, a.seed = 1, a.n = 500, a.pgd_steps = 10;
    a.n_attack = parse_list("--attack-eps", "8,16,25", a.attack_eps);
    a.n_defend = parse_list("--defend-eps", "16,32", a.defend_eps);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--naive")) {
            a.naive = 1;
            continue;
        }
        if (i + 1 == argc || strncmp(argv[i], "--", 2) != 0)
            usage();
        parse_flag(&a, argv[i], argv[i + 1]);
        i++;
    }
    int attack = strcmp(argv[1], "train") != 0;
    if (a.bpda && a.png) {
        fprintf(stderr, "pixeldefend attack: --png draws the PGD rows: not "
                        "with --bpda\n");
        exit(2);
    }
    if (!a.data || !a.classifier || (attack && !a.density)) {
        fprintf(stderr, "pixeldefend %s: --data, --classifier%s are "
                        "required\n", argv[1], attack ? " and --density" : "");
        exit(2);
    }
    return a;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "train") && strcmp(argv[1], "attack") &&
                     strcmp(argv[1], "check")))
        usage();
    pd_args a = parse(argc, argv);
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 0};
    const char *env = getenv("OMP_NUM_THREADS");
    co.threads = env ? atoi(env) : 1;
    pcnn_ctx *ctx = NULL;
    PD_TRY(pcnn_ctx_create(&ctx, &co));
    int rc = !strcmp(argv[1], "train")    ? pd_train(ctx, &a)
             : !strcmp(argv[1], "attack") ? pd_attack(ctx, &a)
                                          : pd_check(ctx, &a);
    pcnn_ctx_free(ctx);
    return rc;
}
