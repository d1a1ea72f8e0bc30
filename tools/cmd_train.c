/*
 * cmd_train.c -- `pixelcnn train`: train a PixelCNN++ model with a progress
 * bar, metrics as JSON lines, a loss-curve picture and crash-safe
 * checkpoints; --resume continues a run exactly.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: pixelcnn train [--data KIND:PATH] [--out DIR] [flags]\n"
    "\n"
    "Trains a PixelCNN++ model. Creates DIR (and its parents) and writes\n"
    "DIR/checkpoint.safetensors (every --save-every steps and at exit,\n"
    "atomically), DIR/metrics.jsonl (one JSON object per logged step) and\n"
    "DIR/loss.png. At the end it prints the test bits/dim with the EMA\n"
    "weights. Ctrl-C, SIGTERM or SIGHUP finish the step in progress, save\n"
    "and stop. DIR/lock keeps a second run off DIR while one trains.\n"
    "\n"
    "data:\n"
    "  --data KIND:PATH    cifar10:DIR, fashion-mnist:DIR, mnist:DIR or\n"
    "                      folder:DIR (default: Fashion-MNIST from\n"
    "                      ../shared/data or /usr/share/datasets)\n"
    "  --size N            image side for folder data (default 32); a\n"
    "                      folder's last tenth of files (in name order)\n"
    "                      is its test split\n"
    "  --flip              mirror training images left-right at random\n"
    "                      (p = 1/2, drawn from the seed; kept on resume)\n"
    "  --crops K           K crops per training image, drawn once at load:\n"
    "                      the whole image and K-1 random squares of at\n"
    "                      least --crop-min of its side (default 0.8), each\n"
    "                      resized to the model's size (folder data is\n"
    "                      decoded at twice --size first)\n"
    "  --limit N           train on the first N images only\n"
    "  --test-limit N      evaluate on the first N test images (default all)\n"
    "model (with --resume: the checkpoint's; a different value is an\n"
    "error):\n"
    "  --nr-resnet N       gated resnets per resolution (default 5)\n"
    "  --nr-filters N      filters (default 160)\n"
    "  --nr-mix N          logistic components (default 10)\n"
    "  --nr-resolutions N  U-net scales (default 3)\n"
    "  --dropout P         dropout rate (default 0.5)\n"
    "  --class-conditional learn p(x | label)\n"
    "stages of a chain (docs/chains.md; with --resume as the model flags):\n"
    "  --chain C --stage K stage K of chain C, trained as its own run (in\n"
    "                      parallel with the others or not); join the\n"
    "                      stages with pixelcnn chain. C is\n"
    "                        gray: gray4(x), then x given gray4(x)\n"
    "                        pyramid: half^k(x), half^(k-1)(x) given it,\n"
    "                          ..., x given half(x)\n"
    "                        gray-pyramid: gray4(half^k(x)) first\n"
    "  --halvings k        the pyramid's depth (default 2: 32 -> 8)\n"
    "  --view V            the view the model models (default x): x, or\n"
    "                      half repeated then optionally gray4, comma-\n"
    "                      separated (half,half,gray4), or L or ab (Lab\n"
    "                      lightness or chroma) then halves (ab,half)\n"
    "  --cond-view V       condition the model on this view of the image\n"
    "  --cond-nr-resnet N  gated resnets of the conditioning network\n"
    "                      (default 2)\n"
    "  --cond-nr-filters N its filters (default: --nr-filters)\n"
    "  --cond-down N       halvings of its down-up stack (default 1; 0: a\n"
    "                      flat network at the image's resolution)\n"
    "  --cond-dilate       dilate its full-resolution resnets 1, 2, 4, ...\n"
    "training (--batch, --lr, --lr-decay, --seed and --flip: with --resume\n"
    "as the model flags; the data must be those of the checkpoint):\n"
    "  --steps N           stop after N steps in all (default: no limit)\n"
    "  --minutes M         stop after M minutes of this run (default 0: no "
    "limit)\n"
    "  --batch N           batch size (default 16)\n"
    "  --lr X              learning rate (default 0.001)\n"
    "  --lr-decay X        per-step decay (default 0.999995)\n"
    "  --seed N            data order, dropout and init (default 1)\n"
    "  --save-every N      checkpoint every N steps (default 500)\n"
    "  --log-every N       metrics line every N steps (default 10)\n"
    "  --resume            continue DIR/checkpoint.safetensors exactly\n"
    "  --reset-ema         with --resume: restart the EMA from the current\n"
    "                      weights\n"
    "  --no-test           skip the final test evaluation\n"
    "  --threads N         threads (default: all cores)\n"
    "  --out DIR           run folder (default runs/train)\n"
    "\n"
    "exit status:\n"
    "  0         done: --steps or --minutes reached, checkpoint saved\n"
    "  1         a failure: data, files, a failed save, DIR in use by\n"
    "            another run\n"
    "  2         bad usage: a bad flag or value, a flag that does not\n"
    "            apply, a --resume flag or data that conflict with the\n"
    "            checkpoint\n"
    "  3         a non-finite loss: stopped without saving, the last\n"
    "            good checkpoint kept\n"
    "  129, 130, 143\n"
    "            stopped by SIGHUP, SIGINT (Ctrl-C) or SIGTERM (128 + the\n"
    "            signal): the step in progress finished and the checkpoint\n"
    "            was saved (1 if that save failed)\n";

/* The first stop signal (SIGINT, SIGTERM, SIGHUP), 0 while none came. The
 * handler stays installed (sigaction, no SA_RESETHAND): a second signal
 * while the checkpoint is being saved does not kill the save. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

#define MAX_SEEN 256

typedef struct {
    const char *data, *out;
    int size, batch, save_every, log_every, threads, resume, no_test;
    int class_cond, reset_ema, has_cond, stage, halvings, crops;
    double crop_min;
    const char *chain;
    long limit, test_limit, steps;
    double minutes;
    pcnn_model_config cfg;
    pcnn_train_opts opts;
    const char *seen[MAX_SEEN]; /* the flags given, in order */
    int nseen;
} train_args;

/* 1 when flag was given on the command line. */
static int given(const train_args *a, const char *flag)
{
    for (int i = 0; i < a->nseen; i++)
        if (!strcmp(a->seen[i], flag))
            return 1;
    return 0;
}

static int parse(int argc, char **argv, train_args *a)
{
    const char *cmd = "train";
    int iv;
    double dv;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
#define INT_FLAG(name, lo, hi, dst)                                           \
    else if (!strcmp(f, name)) {                                              \
        if (cli_int_arg(cmd, argc, argv, &i, lo, hi, &iv))                    \
            return 2;                                                         \
        dst = iv;                                                             \
    }
#define NUM_FLAG(name, lo, hi, dst)                                           \
    else if (!strcmp(f, name)) {                                              \
        if (cli_double_arg(cmd, argc, argv, &i, lo, hi, &dv))                 \
            return 2;                                                         \
        dst = dv;                                                             \
    }
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(f, "--data")) {
            if (!(a->data = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (!strcmp(f, "--out")) {
            if (!(a->out = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        }
        INT_FLAG("--size", 4, 1024, a->size)
        INT_FLAG("--limit", 1, 2000000000, a->limit)
        INT_FLAG("--test-limit", 1, 2000000000, a->test_limit)
        INT_FLAG("--nr-resnet", 1, 64, a->cfg.nr_resnet)
        INT_FLAG("--nr-filters", 1, 4096, a->cfg.nr_filters)
        INT_FLAG("--nr-mix", 1, 1024, a->cfg.nr_mix)
        INT_FLAG("--nr-resolutions", 1, 8, a->cfg.nr_resolutions)
        NUM_FLAG("--dropout", 0, 0.99, a->cfg.dropout)
        INT_FLAG("--steps", 1, 2000000000, a->steps)
        NUM_FLAG("--minutes", 0, 1e6, a->minutes)
        INT_FLAG("--batch", 1, 65536, a->opts.batch)
        NUM_FLAG("--lr", 1e-8, 0.99, a->opts.lr)
        NUM_FLAG("--lr-decay", 0.5, 1, a->opts.lr_decay)
        INT_FLAG("--seed", 0, 2000000000, a->opts.seed)
        INT_FLAG("--save-every", 1, 2000000000, a->save_every)
        INT_FLAG("--log-every", 1, 2000000000, a->log_every)
        INT_FLAG("--threads", 1, 4096, a->threads)
        INT_FLAG("--stage", 0, 7, a->stage)
        INT_FLAG("--halvings", 1, 6, a->halvings)
        INT_FLAG("--cond-nr-resnet", 0, 64, a->cfg.cond_nr_resnet)
        INT_FLAG("--cond-nr-filters", 1, 4096, a->cfg.cond_nr_filters)
        INT_FLAG("--cond-down", 0, 8, a->cfg.cond_down)
        INT_FLAG("--crops", 1, 1024, a->crops)
        NUM_FLAG("--crop-min", 0.01, 1, a->crop_min)
        else if (!strcmp(f, "--chain")) {
            if (!(a->chain = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
            if (strcmp(a->chain, "gray") && strcmp(a->chain, "pyramid") &&
                strcmp(a->chain, "gray-pyramid")) {
                fprintf(stderr, "pixelcnn train: --chain %s: gray, pyramid "
                                "or gray-pyramid\n",
                        a->chain);
                return 2;
            }
        } else if (!strcmp(f, "--view")) {
            const char *v = cli_str_arg(cmd, argc, argv, &i);
            if (!v || cli_parse_view("--view", v, &a->cfg.view))
                return 2;
        } else if (!strcmp(f, "--cond-view")) {
            const char *v = cli_str_arg(cmd, argc, argv, &i);
            if (!v || cli_parse_view("--cond-view", v, &a->cfg.cond_view))
                return 2;
            a->has_cond = 1;
        }
        else if (!strcmp(f, "--resume")) a->resume = 1;
        else if (!strcmp(f, "--flip")) a->opts.flip = 1;
        else if (!strcmp(f, "--cond-dilate")) a->cfg.cond_dilate = 1;
        else if (!strcmp(f, "--no-test")) a->no_test = 1;
        else if (!strcmp(f, "--class-conditional")) a->class_cond = 1;
        else if (!strcmp(f, "--reset-ema")) a->reset_ema = 1;
        else return cli_bad_flag(cmd, f);
#undef INT_FLAG
#undef NUM_FLAG
        if (a->nseen < MAX_SEEN)
            a->seen[a->nseen++] = f;
    }
    if (a->chain) {
        /* the chain's views, first to last (docs/chains.md) */
        pcnn_view v[PCNN_MAX_STAGES];
        int n = 0, k = a->halvings ? a->halvings : 2;
        if (!strcmp(a->chain, "gray")) {
            v[n++] = (pcnn_view){0, 1, 0};
        } else {
            if (!strcmp(a->chain, "gray-pyramid"))
                v[n++] = (pcnn_view){k, 1, 0};
            for (int h = k; h >= 1; h--)
                v[n++] = (pcnn_view){h, 0, 0};
        }
        v[n++] = (pcnn_view){0, 0, 0};
        if (a->stage >= n) {
            fprintf(stderr, "pixelcnn train: --stage %d: the %s chain has "
                            "stages 0..%d\n",
                    a->stage, a->chain, n - 1);
            return 2;
        }
        a->cfg.view = v[a->stage];
        a->has_cond = a->stage > 0;
        if (a->has_cond)
            a->cfg.cond_view = v[a->stage - 1];
    }
    return 0;
}

/* Flags that do nothing in this run are errors, not silently ignored. */
static int check_applicable(const train_args *a, int resuming)
{
    const char *cmd = "train";
    const int folder = !strncmp(a->data, "folder:", 7);
    const int pyramid = a->chain && strcmp(a->chain, "gray");
    if (given(a, "--stage") && !a->chain)
        return cli_not_applicable(cmd, "--stage",
                                  "it picks a stage of --chain C");
    if (given(a, "--halvings") && !pyramid)
        return cli_not_applicable(cmd, "--halvings",
                                  "it sets the depth of --chain pyramid or "
                                  "gray-pyramid");
    if (a->chain && given(a, "--view"))
        return cli_not_applicable(cmd, "--view",
                                  "--chain sets each stage's views");
    if (a->chain && given(a, "--cond-view"))
        return cli_not_applicable(cmd, "--cond-view",
                                  "--chain sets each stage's views");
    if (given(a, "--crop-min") && !a->crops)
        return cli_not_applicable(cmd, "--crop-min",
                                  "it sets the smallest crop of --crops K");
    if (given(a, "--reset-ema") && !a->resume)
        return cli_not_applicable(cmd, "--reset-ema",
                                  "it restarts the EMA of a resumed run "
                                  "(--resume)");
    if (given(a, "--size") && !folder)
        return cli_not_applicable(cmd, "--size",
                                  "it sets the image side of folder data "
                                  "(--data folder:DIR); other data sets "
                                  "have their own size");
    if (given(a, "--test-limit") && a->no_test)
        return cli_not_applicable(cmd, "--test-limit",
                                  "--no-test skips the test evaluation");
    static const char *cond_flags[] = {"--cond-nr-resnet", "--cond-nr-filters",
                                       "--cond-down", "--cond-dilate"};
    for (int k = 0; k < 4 && !resuming && !a->has_cond; k++)
        if (given(a, cond_flags[k]))
            return cli_not_applicable(cmd, cond_flags[k],
                                      "the model has no condition (give "
                                      "--cond-view V, or --chain C --stage "
                                      "K with K >= 1)");
    return 0;
}

static int same_view(const pcnn_view *x, const pcnn_view *y)
{
    return x->halvings == y->halvings && x->gray4 == y->gray4 &&
           x->lab == y->lab;
}

/* With --resume, a model or training flag given with another value than
 * the checkpoint's is an error (the run would silently keep the saved
 * one). */
static int check_resume_flags(const train_args *a, const char *ckpt,
                              const pcnn_model_config *sc,
                              const pcnn_train_opts *so)
{
    char mine[128] = "", saved[128] = "";
    const char *flag = NULL;
    const pcnn_model_config *c = &a->cfg;
    const pcnn_train_opts *o = &a->opts;
#define INT_CHECK(name, key, x, y)                                            \
    if (!flag && given(a, name) && (long long)(x) != (long long)(y)) {       \
        flag = name;                                                          \
        snprintf(mine, sizeof mine, "%s %lld", name, (long long)(x));         \
        snprintf(saved, sizeof saved, "%s %lld", key, (long long)(y));        \
    }
#define NUM_CHECK(name, key, x, y)                                            \
    if (!flag && given(a, name) && (float)(x) != (float)(y)) {               \
        flag = name;                                                          \
        snprintf(mine, sizeof mine, "%s %g", name, (double)(x));              \
        snprintf(saved, sizeof saved, "%s %g", key, (double)(y));             \
    }
    INT_CHECK("--nr-resnet", "nr_resnet", c->nr_resnet, sc->nr_resnet)
    INT_CHECK("--nr-filters", "nr_filters", c->nr_filters, sc->nr_filters)
    INT_CHECK("--nr-mix", "nr_mix", c->nr_mix, sc->nr_mix)
    INT_CHECK("--nr-resolutions", "nr_resolutions", c->nr_resolutions,
              sc->nr_resolutions)
    NUM_CHECK("--dropout", "dropout", c->dropout, sc->dropout)
    INT_CHECK("--class-conditional", "num_classes > 0", 1,
              sc->num_classes > 0)
    INT_CHECK("--cond-nr-resnet", "cond_nr_resnet", c->cond_nr_resnet,
              sc->cond_nr_resnet)
    INT_CHECK("--cond-nr-filters", "cond_nr_filters", c->cond_nr_filters,
              sc->cond_nr_filters)
    INT_CHECK("--cond-down", "cond_down", c->cond_down, sc->cond_down)
    INT_CHECK("--cond-dilate", "cond_dilate", 1, sc->cond_dilate)
    INT_CHECK("--batch", "batch", o->batch, so->batch)
    NUM_CHECK("--lr", "lr", o->lr, so->lr)
    NUM_CHECK("--lr-decay", "lr_decay", o->lr_decay, so->lr_decay)
    INT_CHECK("--seed", "seed", o->seed, so->seed)
    INT_CHECK("--flip", "flip", 1, so->flip)
#undef INT_CHECK
#undef NUM_CHECK
    /* the views: --view, --cond-view, or --chain/--stage/--halvings */
    const int view_given = a->chain || given(a, "--view");
    const int cond_given = a->chain || given(a, "--cond-view");
    const int sc_cond = sc->cond_channels > 0;
    char v1[96], v2[96];
    if (!flag && ((view_given && !same_view(&c->view, &sc->view)) ||
                  (cond_given &&
                   (a->has_cond != sc_cond ||
                    (sc_cond && !same_view(&c->cond_view, &sc->cond_view)))))) {
        char how[48];
        if (a->chain)
            snprintf(how, sizeof how, "--chain %s --stage %d", a->chain,
                     a->stage);
        else
            snprintf(how, sizeof how, "%s",
                     view_given && !same_view(&c->view, &sc->view)
                         ? "--view"
                         : "--cond-view");
        flag = how;
        snprintf(mine, sizeof mine, "%s (a model of %s given %s)", how,
                 pcnn_view_str(&c->view, v1, sizeof v1),
                 a->has_cond ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                             : "nothing");
        snprintf(saved, sizeof saved, "a model of %s given %s",
                 pcnn_view_str(&sc->view, v1, sizeof v1),
                 sc_cond ? pcnn_view_str(&sc->cond_view, v2, sizeof v2)
                         : "nothing");
    }
    if (!flag)
        return 0;
    fprintf(stderr,
            "pixelcnn train: --resume: %s conflicts with %s (%s): a resumed "
            "run keeps its model and training settings; drop the flag, or "
            "train a new run in another --out\n",
            mine, ckpt, saved);
    return 2;
}

/* The stage's data set from images x, in place: view(x) and, for a
 * conditioned stage, the condition images cond_view(x). */
static int to_stage(const pcnn_model_config *c, int has_cond,
                    pcnn_dataset *x)
{
    if (!c->view.halvings && !c->view.gray4 && !has_cond)
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

/* One status line: a bar when stderr is a terminal, else plain lines. */
static void progress(uint64_t step, long steps, double t0, double budget,
                     const pcnn_step_stats *st, double img_s, int tty)
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
static void trim_metrics(const char *path, uint64_t step)
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

/* Takes the run's lock, DIR/lock (an fcntl write lock, released when the
 * process ends however it ends), into *fd for the whole run: a second
 * trainer on DIR stops here, before loading anything. 0, or 1 with a
 * message. */
static int lock_run(const char *dir, int *fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0) {
        fprintf(stderr, "pixelcnn train: --out %s: cannot open %s: %s\n", dir,
                path, strerror(errno));
        return 1;
    }
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file */
    if (fcntl(*fd, F_SETLK, &l) == 0)
        return 0;
    const int e = errno;
    if (e == EACCES || e == EAGAIN) {
        struct flock q = l;
        long pid = fcntl(*fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK
                       ? (long)q.l_pid
                       : 0;
        char who[48] = "";
        if (pid > 0)
            snprintf(who, sizeof who, " (process %ld)", pid);
        fprintf(stderr,
                "pixelcnn train: --out %s: another run trains there%s and "
                "holds %s: wait for it to end, or give another --out\n",
                dir, who, path);
    } else {
        fprintf(stderr, "pixelcnn train: --out %s: cannot lock %s: %s\n",
                dir, path, strerror(e));
    }
    close(*fd);
    *fd = -1;
    return 1;
}

static int save(const char *path, pcnn_model *m, pcnn_trainer *t)
{
    if (pcnn_checkpoint_save(path, m, t) != PCNN_OK) {
        fprintf(stderr, "\npixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    return 0;
}

/* The model's images (the stage's view of the data) must halve
 * nr_resolutions - 1 times down to at least 2x2: a 1x1 scale sees only
 * padding and its data-dependent init is not finite. 0, or 2 with a
 * message. */
static int check_image_size(const train_args *a, const pcnn_dataset *d)
{
    const int64_t unit = (int64_t)1 << (a->cfg.nr_resolutions - 1);
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
            pcnn_view_str(&a->cfg.view, v, sizeof v), a->cfg.nr_resolutions,
            (long long)unit, (long long)(2 * unit));
    return 2;
}

/* What the step callback needs: the run's files, objects, clocks and the
 * last step's stats (pcnn_trainer_run keeps them current). */
typedef struct {
    const train_args *a;
    const char *ckpt;
    FILE *log;
    pcnn_model *m;
    pcnn_trainer *t;
    const pcnn_step_stats *st;
    double t0, budget, tlog;
    uint64_t logged;
    int tty, rc; /* rc: 1 when a save failed */
} run_state;

/* After every step: a metrics line and the bar every --log-every steps, a
 * checkpoint every --save-every; stops the run (nonzero) on a stop signal
 * or a failed save. The only place the bar is drawn. */
static int run_step(void *arg, const pcnn_progress_info *info)
{
    run_state *r = arg;
    const train_args *a = r->a;
    const uint64_t step = (uint64_t)info->done;
    if (step % (uint64_t)a->log_every == 0) {
        const double tn = cli_now();
        const double img_s = (double)(step - r->logged) *
                             pcnn_trainer_opts(r->t).batch / (tn - r->tlog);
        fprintf(r->log,
                "{\"step\": %llu, \"epoch\": %llu, \"bpd\": %.6f, "
                "\"grad_norm\": %.6g, \"lr\": %.6g, \"img_s\": %.2f, "
                "\"time_s\": %.1f}\n",
                (unsigned long long)step,
                (unsigned long long)pcnn_trainer_state(r->t).epoch,
                r->st->bpd, r->st->grad_norm, r->st->lr, img_s, tn - r->t0);
        fflush(r->log);
        progress(step, a->steps, r->t0, r->budget, r->st, img_s, r->tty);
        r->logged = step, r->tlog = tn;
    }
    if (step % (uint64_t)a->save_every == 0 && save(r->ckpt, r->m, r->t)) {
        r->rc = 1;
        return 1;
    }
    return stop_signal != 0;
}

/* The test evaluation at the end of a run: the EMA weights on the raw
 * test images (the stage's views are taken inside), a metrics line and
 * the printed figure. 0, or 1 with a message. */
static int test_eval(const train_args *a, pcnn_ctx *ctx, pcnn_trainer *t,
                     FILE *log, pcnn_dataset *test)
{
    if (cli_load_data("train", a->data, "test", a->size, test))
        return 0;
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = pcnn_trainer_opts(t).batch;
    eo.limit = a->test_limit;
    pcnn_chain_eval r;
    if (pcnn_trainer_evaluate(ctx, t, 1, test, &eo, &r) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    /* bits per dim of the stage, as the training loss */
    const double mean = r.own[0];
    const double se = r.total_se * (double)r.dims_x / (double)r.dims[0];
    const unsigned long long step = pcnn_trainer_state(t).step;
    fprintf(log,
            "{\"step\": %llu, \"test_bpd\": %.6f, \"test_se\": %.6f, "
            "\"test_n\": %ld}\n",
            step, mean, se, (long)r.images);
    printf("test bits/dim: %.4f +- %.4f (%ld images, EMA weights, step "
           "%llu)\n",
           mean, se, (long)r.images, step);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    train_args a = {0};
    a.data = cli_default_data();
    a.out = "runs/train";
    a.size = 32, a.save_every = 500, a.log_every = 10, a.crop_min = 0.8;
    a.cfg = pcnn_model_config_default();
    a.cfg.cond_nr_resnet = 2;
    a.cfg.cond_down = 1;
    a.opts = pcnn_train_opts_default();
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    char ckpt[4096], metrics[4096], png[4096];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", a.out);
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", a.out);
    snprintf(png, sizeof png, "%s/loss.png", a.out);
    struct stat st_;
    const int resuming = a.resume && *a.out && stat(ckpt, &st_) == 0;
    if ((rc = check_applicable(&a, resuming)))
        return rc;
    /* the run folder and its lock before anything slow */
    int lock_fd = -1;
    if ((rc = cli_mkdirs("train", "--out", a.out)) ||
        (rc = lock_run(a.out, &lock_fd)))
        return rc;

    pcnn_dataset train = {0}, test = {0};
    pcnn_ctx *ctx = NULL;
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    FILE *log = NULL;
    const int folder = !strncmp(a.data, "folder:", 7);
    pcnn_model_config saved_cfg;
    pcnn_train_opts saved_opts;
    if (resuming) {
        int has_trainer = 0;
        if (pcnn_checkpoint_read_state(ckpt, &saved_cfg, &saved_opts, NULL,
                                       &has_trainer) != PCNN_OK) {
            fprintf(stderr, "pixelcnn train: --resume: %s\n",
                    pcnn_last_error());
            rc = 1;
            goto done;
        }
        if (!has_trainer) {
            fprintf(stderr,
                    "pixelcnn train: --resume: %s holds no training state "
                    "(an exported model?): it cannot be resumed\n",
                    ckpt);
            rc = 1;
            goto done;
        }
        if ((rc = check_resume_flags(&a, ckpt, &saved_cfg, &saved_opts)))
            goto done;
        /* the crops are drawn from the run's seed */
        a.opts.seed = saved_opts.seed;
    }
    if ((rc = cli_load_data("train", a.data, "train",
                            a.crops && folder ? 2 * a.size : a.size,
                            &train)))
        goto done;
    if (a.class_cond && !resuming && !train.labels) {
        rc = cli_not_applicable("train", "--class-conditional",
                                "the data set has no labels");
        goto done;
    }
    if (a.crops &&
        pcnn_dataset_crops(&train, folder ? a.size : (int)train.h, a.crops,
                           a.crop_min, a.opts.seed, &train) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: --crops: %s\n", pcnn_last_error());
        rc = 1;
        goto done;
    }
    if (a.limit > 0 && a.limit < train.n &&
        pcnn_dataset_subset(&train, 0, a.limit, &train) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        rc = 1;
        goto done;
    }
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, a.threads};
    pcnn_status s = pcnn_ctx_create(&ctx, &co);
    if (a.resume && !resuming)
        fprintf(stderr, "pixelcnn train: no %s yet: starting a new run\n",
                ckpt);
    if (s == PCNN_OK && resuming) {
        a.cfg = saved_cfg;
        a.has_cond = saved_cfg.cond_channels > 0;
        if (to_stage(&a.cfg, a.has_cond, &train)) {
            rc = 1;
            goto done;
        }
        /* the same data as the checkpoint's, or the run would not
         * continue (the library refuses too; here the message names the
         * flags) */
        uint64_t fp = 0;
        s = pcnn_checkpoint_data_fingerprint(ckpt, &fp);
        if (s == PCNN_OK && !fp)
            fprintf(stderr,
                    "pixelcnn train: warning: %s predates data "
                    "fingerprints: cannot check that these are the data it "
                    "was trained on\n",
                    ckpt);
        if (s == PCNN_OK && fp && fp != pcnn_dataset_fingerprint(&train)) {
            fprintf(stderr,
                    "pixelcnn train: --resume: %s was trained on other data "
                    "(fingerprint %016llx, these %lld images %016llx): "
                    "resume with its --data, --limit, --size, --crops and "
                    "--crop-min\n",
                    ckpt, (unsigned long long)fp, (long long)train.n,
                    (unsigned long long)pcnn_dataset_fingerprint(&train));
            rc = 2;
            goto done;
        }
        if (s == PCNN_OK)
            s = pcnn_checkpoint_load_model(ckpt, 0, &m);
        if (s == PCNN_OK)
            s = pcnn_checkpoint_load_trainer(ckpt, m, &train, &t);
        if (s == PCNN_OK)
            trim_metrics(metrics, pcnn_trainer_state(t).step);
        if (s == PCNN_OK && a.reset_ema)
            pcnn_trainer_reset_ema(t);
    } else if (s == PCNN_OK) {
        /* the stage's size, head and condition from its views of the
         * images */
        if (pcnn_stage_config(&a.cfg, &a.cfg.view,
                              a.has_cond ? &a.cfg.cond_view : NULL, train.c,
                              train.h, train.w) != PCNN_OK) {
            fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
            rc = 1;
            goto done;
        }
        if (to_stage(&a.cfg, a.has_cond, &train)) {
            rc = 1;
            goto done;
        }
        if ((rc = check_image_size(&a, &train)))
            goto done;
        a.cfg.num_classes = a.class_cond ? train.num_classes : 0;
        s = pcnn_model_create(&m, &a.cfg, a.opts.seed);
        if (s == PCNN_OK)
            s = pcnn_trainer_create(&t, m, &train, &a.opts);
        if (s == PCNN_OK)
            s = pcnn_trainer_init(ctx, t);
        if (s == PCNN_OK)
            remove(metrics); /* a new run starts a new log */
    }
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        rc = 1;
        goto done;
    }
    const pcnn_model_config *c = pcnn_model_get_config(m);
    size_t nparams;
    pcnn_model_params(m, &nparams);
    /* from here every stop saves: a stop signal ends the loop after the
     * step in progress */
    catch_stop_signals();
    fprintf(stderr,
            "pixelcnn train: %s %lld images %lldx%lldx%lld; model (%d, %d, "
            "%d), %zu parameters; %s\n",
            resuming ? "resuming on" : "training on", (long long)train.n,
            (long long)train.c, (long long)train.h, (long long)train.w,
            c->nr_resnet, c->nr_filters, c->nr_mix, nparams,
            pcnn_ctx_describe(ctx));
    if (c->view.halvings || c->view.gray4 || c->cond_channels) {
        char v1[96], v2[96];
        fprintf(stderr, "pixelcnn train: a stage: models %s%s%s (%s head, "
                        "%d levels)\n",
                pcnn_view_str(&c->view, v1, sizeof v1),
                c->cond_channels ? " given " : "",
                c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                                 : "",
                c->head == PCNN_HEAD_DMOL ? "logistic mixture" : "categorical",
                c->levels);
    }
    log = fopen(metrics, "a");
    if (!log) {
        fprintf(stderr, "pixelcnn train: cannot append to %s: %s\n", metrics,
                strerror(errno));
        rc = 1;
        goto done;
    }
    run_state run = {&a, ckpt, log, m, t, NULL, cli_now(), a.minutes * 60,
                     0, pcnn_trainer_state(t).step, isatty(2), 0};
    run.tlog = run.t0;
    pcnn_step_stats st = {0, 0, 0};
    run.st = &st;
    const pcnn_progress on_step = {run_step, &run};
    int nonfinite = 0;
    /* a signal before the first step: save and stop */
    s = stop_signal ? PCNN_OK
                    : pcnn_trainer_run(ctx, t, (uint64_t)a.steps, run.budget,
                                       &on_step, &st);
    rc = run.rc;
    if (s != PCNN_OK && s != PCNN_ERR_CANCELLED) {
        fprintf(stderr, "\npixelcnn train: %s\n", pcnn_last_error());
        if (stat(ckpt, &st_) == 0)
            fprintf(stderr,
                    "pixelcnn train: stopped; the last good checkpoint is "
                    "%s\n",
                    ckpt);
        else
            fprintf(stderr, "pixelcnn train: stopped before the first "
                            "checkpoint: nothing saved\n");
        nonfinite = 1; /* do not overwrite the last good checkpoint */
        rc = 3;
    }
    if (run.tty)
        fputc('\n', stderr);
    if (!nonfinite && rc == 0) {
        if (save(ckpt, m, t))
            rc = 1;
        else
            fprintf(stderr, "pixelcnn train: saved %s at step %llu\n", ckpt,
                    (unsigned long long)pcnn_trainer_state(t).step);
    }
    if (stop_signal && rc == 0) {
        const int sig = stop_signal;
        fprintf(stderr, "pixelcnn train: stopped by %s (exit status %d)\n",
                sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM"
                                                          : "SIGHUP",
                128 + sig);
        rc = 128 + sig;
    }
    if (rc == 0 && !a.no_test) {
        rc = test_eval(&a, ctx, t, log, &test);
        /* a signal during the evaluation: the checkpoint is saved; say
         * how the run ended */
        if (stop_signal && rc == 0)
            rc = 128 + stop_signal;
    }
    fclose(log);
    log = NULL;
    if (cli_plot_metrics(metrics, png) == 0)
        fprintf(stderr, "pixelcnn train: wrote %s\n", png);
done:
    if (log)
        fclose(log);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&train);
    pcnn_dataset_free(&test);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}
