/*
 * cmd_train.c -- `pixelcnn train`: train a PixelCNN++ model with a progress
 * bar, metrics as JSON lines, a loss-curve picture and crash-safe
 * checkpoints; --resume continues a run exactly.
 */
#include "cli.h"
#include "dist.h"

#include <errno.h>
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
    "and stop. DIR/lock keeps a second run off DIR while one trains.\n";

static const char epilog[] =
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

#define MAX_SEEN CLI_MAX_FLAGS

typedef struct {
    const char *data, *out;
    int size, batch, save_every, log_every, threads, resume, no_test;
    int class_cond, reset_ema, has_cond, stage, halvings, crops;
    int resuming; /* --resume and DIR/checkpoint.safetensors exists */
    double crop_min;
    const char *chain, *compute;
    const char *param, *init; /* --param, --init: cfg.plain, cfg.init */
    long limit, test_limit, steps;
    double minutes, mpi_timeout;
    int ranks; /* processes of the run (mpirun -np N) */
    int all_stages, nstages; /* --all-stages; --chain's stage count */
    pcnn_model_config cfg;
    pcnn_train_opts opts;
    const char *seen[MAX_SEEN]; /* the flags given */
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

/* --halvings applies to these chains */
static int pyramid_chain(const void *ctx)
{
    const char *chain = *(const char *const *)ctx;
    return chain && strcmp(chain, "gray") && strcmp(chain, "color");
}

/* the conditioning network's flags apply to a model with a condition
 * (or a resumed run, which keeps the checkpoint's; or --all-stages, for
 * the stages after the first) */
static int has_condition(const void *ctx)
{
    const train_args *a = ctx;
    return a->resuming || a->has_cond || a->all_stages;
}

/* the run has several ranks (mpirun) */
static int parallel_run(const void *ctx)
{
    return ((const train_args *)ctx)->ranks > 1;
}

/* --chain C --stage K: the views of stage K into a->cfg. 0, or 2 with a
 * message. */
static int chain_stage(train_args *a)
{
    /* the chain's views, first to last (docs/chains.md) */
    pcnn_view v[PCNN_MAX_STAGES];
    int n = 0, k = a->halvings ? a->halvings : 2;
    if (!strcmp(a->chain, "color")) {
        /* L(x), then half(ab(x)) given it; no stage models x itself (the
         * coder codes it among the colors of each pixel's lightness) */
        v[n++] = (pcnn_view){0, 0, PCNN_LAB_L};
    } else if (!strcmp(a->chain, "gray")) {
        v[n++] = (pcnn_view){0, 1, 0};
    } else {
        if (!strcmp(a->chain, "gray-pyramid"))
            v[n++] = (pcnn_view){k, 1, 0};
        for (int h = k; h >= 1; h--)
            v[n++] = (pcnn_view){h, 0, 0};
    }
    v[n++] = strcmp(a->chain, "color") ? (pcnn_view){0, 0, 0}
                                       : (pcnn_view){1, 0, PCNN_LAB_AB};
    a->nstages = n;
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
    return 0;
}

#define NO_COND                                                               \
    .applies = has_condition, .ctx = a,                                       \
    .why = "the model has no condition (give --cond-view V, or --chain C "    \
           "--stage K with K >= 1)"

/* train's flags of the "data:" section, appended to out (n entries); the new
 * count. */
static int data_flags(train_args *a, cli_flag *out, int n)
{
    const cli_flag f[] = {
        CLI_SECTION_F("data:"),
        CLI_STRING_F("--data", &a->data, "KIND:PATH",
                     "cifar10:DIR, fashion-mnist:DIR, mnist:DIR or "
                     "folder:DIR (default: Fashion-MNIST from "
                     "../shared/data or /usr/share/datasets)"),
        CLI_INT_F("--size", &a->size, 4, 1024, "N",
                  "image side for folder data; a folder's last tenth of "
                  "files (in name order) is its test split",
                  .show_default = 1, .applies = cli_is_folder_data,
                  .ctx = &a->data,
                  .why = "it sets the image side of folder data (--data "
                         "folder:DIR); other data sets have their own size"),
        CLI_BOOL_F("--flip", &a->opts.flip,
                   "mirror training images left-right at random (p = 1/2, "
                   "drawn from the seed; kept on resume)"),
        CLI_INT_F("--crops", &a->crops, 1, 1024, "K",
                  "K crops per training image, drawn once at load: the "
                  "whole image and K-1 random squares of at least "
                  "--crop-min of its side, each resized to the model's size "
                  "(folder data is decoded at twice --size first)"),
        CLI_DOUBLE_F("--crop-min", &a->crop_min, 0.01, 1, "F",
                     "the smallest crop, as a share of the side",
                     .show_default = 1, .needs = "--crops",
                     .why = "it sets the smallest crop of --crops K"),
        CLI_LONG_F("--limit", &a->limit, 1, 2000000000, "N",
                   "train on the first N images only"),
        CLI_LONG_F("--test-limit", &a->test_limit, 1, 2000000000, "N",
                   "evaluate on the first N test images (default all)",
                   .conflicts = "--no-test",
                   .why = "--no-test skips the test evaluation"),    };
    return cli_append(out, n, f, CLI_COUNT(f));
}

/* train's flags of the model section, appended to out (n entries); the new
 * count. */
static int model_flags(train_args *a, cli_flag *out, int n)
{
    const cli_flag f[] = {
        CLI_SECTION_F("model (with --resume: the checkpoint's; a different "
                      "value is an error):"),
        CLI_CONFIG_F(nr_resnet, &a->cfg, .show_default = 1),
        CLI_CONFIG_F(nr_filters, &a->cfg, .show_default = 1),
        CLI_CONFIG_F(nr_mix, &a->cfg, .show_default = 1),
        CLI_CONFIG_F(nr_resolutions, &a->cfg, .show_default = 1),
        CLI_CONFIG_F(dropout, &a->cfg, .arg = "P", .show_default = 1),
        CLI_CHOICE_F("--param", &a->param, "weightnorm plain", "P",
                     "layer weights: weight-normalized (w = g v/||v||, "
                     "PixelCNN++) or plain (w trained directly; "
                     "docs/training.md)",
                     .show_default = 1),
        CLI_CHOICE_F("--init", &a->init, "data uniform", "I",
                     "data: N(0, 0.05^2) and the data-dependent init; "
                     "uniform: PyTorch's default, +-1/sqrt(fan_in)",
                     .show_default = 1),
        CLI_BOOL_F("--class-conditional", &a->class_cond,
                   "learn p(x | label)"),    };
    return cli_append(out, n, f, CLI_COUNT(f));
}

/* train's flags of the section of a chain's stages, appended to out (n
 * entries); the new count. */
static int chain_flags(train_args *a, cli_flag *out, int n)
{
    static const char *const views = "--chain sets each stage's views";
    const cli_flag f[] = {
        CLI_SECTION_F("stages of a chain (docs/chains.md; with --resume as "
                      "the model flags):"),
        CLI_CHOICE_F("--chain", &a->chain, "gray pyramid gray-pyramid color",
                     "C",
                     "train stage --stage K of chain C as its own run (in "
                     "parallel with the others or not); join the stages "
                     "with pixelcnn chain. C is\n"
                     "  gray: gray4(x), then x given gray4(x)\n"
                     "  pyramid: half^k(x), half^(k-1)(x) given it, ..., x "
                     "given half(x)\n"
                     "  gray-pyramid: gray4(half^k(x)) first\n"
                     "  color: L(x), then half(ab(x)) given it (a colorizer; "
                     "pixelcnn compress codes x with the two)"),
        CLI_INT_F("--stage", &a->stage, 0, 7, "K", "the stage of --chain C",
                  .show_default = 1, .needs = "--chain",
                  .conflicts = "--all-stages",
                  .why = "it picks a stage of --chain C (--all-stages "
                         "trains them all)"),
        CLI_BOOL_F("--all-stages", &a->all_stages,
                   "under mpirun: train every stage of --chain C at once, "
                   "each on its own group of ranks, in DIR/stageK, then "
                   "join them into DIR/chain.safetensors",
                   .needs = "--chain", .applies = parallel_run, .ctx = a,
                   .why = "it trains the stages of --chain C on groups of "
                          "ranks (mpirun -np N, N >= the stages)"),
        CLI_INT_F("--halvings", &a->halvings, 1, 6, "k",
                  "the pyramid's depth (default 2: 32 -> 8)",
                  .applies = pyramid_chain, .ctx = &a->chain,
                  .why = "it sets the depth of --chain pyramid or "
                         "gray-pyramid"),
        CLI_VIEW_F("--view", &a->cfg.view, "V",
                   "the view the model models: x, or half repeated then "
                   "optionally gray4, comma-separated (half,half,gray4), or "
                   "L or ab (Lab lightness or chroma) then halves (ab,half)",
                   .show_default = 1, .conflicts = "--chain", .why = views),
        CLI_VIEW_F("--cond-view", &a->cfg.cond_view, "V",
                   "condition the model on this view of the image",
                   .conflicts = "--chain", .why = views),
        CLI_CONFIG_F(cond_nr_resnet, &a->cfg, .show_default = 1, NO_COND),
        CLI_CONFIG_F(cond_nr_filters, &a->cfg,
                     .help = "filters of the conditioning network (default "
                             "and 0: --nr-filters)",
                     NO_COND),
        CLI_CONFIG_F(cond_down, &a->cfg, .show_default = 1, NO_COND),
        CLI_CONFIG_F(cond_dilate, &a->cfg,
                     .help = "dilate the conditioning network's "
                             "full-resolution resnets 1, 2, 4, ...",
                     NO_COND),    };
    return cli_append(out, n, f, CLI_COUNT(f));
}

/* train's flags of the training section, appended to out (n entries); the new
 * count. */
static int training_flags(train_args *a, cli_flag *out, int n)
{
    const cli_flag f[] = {
        CLI_SECTION_F("training (--batch, --lr, --lr-decay, --seed and "
                      "--flip: with --resume as the model flags; the data "
                      "must be those of the checkpoint):"),
        CLI_LONG_F("--steps", &a->steps, 1, 2000000000, "N",
                   "stop after N steps in all (default: no limit)"),
        CLI_DOUBLE_F("--minutes", &a->minutes, 0, 1e6, "M",
                     "stop after M minutes of this run (default 0: no "
                     "limit)"),
        CLI_INT_F("--batch", &a->opts.batch, 1, 65536, "N", "batch size",
                  .show_default = 1),
        CLI_FLOAT_F("--lr", &a->opts.lr, 1e-8, 0.99, "X", "learning rate",
                    .show_default = 1),
        CLI_FLOAT_F("--lr-decay", &a->opts.lr_decay, 0.5, 1, "X",
                    "per-step decay", .show_default = 1),
        CLI_U64_F("--seed", &a->opts.seed, 0, 2000000000, "N",
                  "data order, dropout and init", .show_default = 1),
        CLI_INT_F("--save-every", &a->save_every, 1, 2000000000, "N",
                  "checkpoint every N steps", .show_default = 1),
        CLI_INT_F("--log-every", &a->log_every, 1, 2000000000, "N",
                  "metrics line every N steps", .show_default = 1),
        CLI_BOOL_F("--resume", &a->resume,
                   "continue DIR/checkpoint.safetensors exactly"),
        CLI_BOOL_F("--reset-ema", &a->reset_ema,
                   "with --resume: restart the EMA from the current weights",
                   .needs = "--resume",
                   .why = "it restarts the EMA of a resumed run (--resume)"),
        CLI_BOOL_F("--no-test", &a->no_test,
                   "skip the final test evaluation"),
        CLI_INT_F("--threads", &a->threads, 1, 4096, "N",
                  "threads (default: all cores)"),
        CLI_COMPUTE_F(&a->compute),
        CLI_STRING_F("--out", &a->out, "DIR", "run folder",
                     .show_default = 1),
        CLI_DOUBLE_F("--mpi-timeout", &a->mpi_timeout, 1, 1e6, "S",
                     "under mpirun: stop the job when an exchange between "
                     "the ranks waits longer than S seconds (a rank died "
                     "or hangs)",
                     .show_default = 1, .applies = parallel_run, .ctx = a,
                     .why = "the run is one process (start it with mpirun "
                            "-np N, docs/mpi.md)"),    };
    return cli_append(out, n, f, CLI_COUNT(f));
}

/* The flags into *a (which holds the defaults), then the checks of the
 * flags alone (a flag that does nothing in this run is an error, not
 * silently ignored): 0, -1 (--help) or 2 after a message. */
static int parse(int argc, char **argv, train_args *a)
{
    cli_flag flags[CLI_MAX_FLAGS];
    int n = data_flags(a, flags, 0);
    n = model_flags(a, flags, n);
    n = chain_flags(a, flags, n);
    n = training_flags(a, flags, n);
    cli_cmd p = {.cmd = "train", .usage = usage, .epilog = epilog,
                 .flags = flags, .n = n};
    int rc = cli_parse(&p, argc, argv);
    if (rc)
        return rc;
    for (int k = 0; k < p.n; k++)
        if (p.given[k] && a->nseen < MAX_SEEN)
            a->seen[a->nseen++] = flags[k].name;
    a->cfg.plain = !strcmp(a->param, "plain");
    a->cfg.init = !strcmp(a->init, "uniform");
    a->has_cond = given(a, "--cond-view");
    if (a->chain && (rc = chain_stage(a)))
        return rc;
    char ckpt[4096];
    struct stat st;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", a->out);
    a->resuming = a->resume && *a->out && stat(ckpt, &st) == 0;
    return cli_check(&p);
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
    /* the config fields with a flag (PCNN_MODEL_CONFIG_FIELDS) */
    for (int k = 0; !flag && k < cli_config_nfields; k++) {
        const cli_config_field *f = &cli_config_fields[k];
        const double x = cli_config_value(c, f), y = cli_config_value(sc, f);
        if (!*f->flag || !given(a, f->flag) || (float)x == (float)y)
            continue;
        flag = f->flag;
        snprintf(mine, sizeof mine, "%s %g", f->flag, x);
        snprintf(saved, sizeof saved, "%s %g", f->name, y);
    }
    INT_CHECK("--class-conditional", "num_classes > 0", 1,
              sc->num_classes > 0)
    INT_CHECK("--param", "plain", c->plain, sc->plain)
    INT_CHECK("--init", "init", c->init, sc->init)
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

static int save(const char *path, pcnn_model *m, pcnn_trainer *t)
{
    if (pcnn_checkpoint_save(path, m, t) != PCNN_OK) {
        fprintf(stderr, "\npixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    return 0;
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
    cli_dist *dist;
} run_state;

/* After every step: a metrics line and the bar every --log-every steps, a
 * checkpoint every --save-every; stops the run (nonzero) on a stop signal
 * or a failed save. The only place the bar is drawn. */
static int run_step(void *arg, const pcnn_progress_info *info)
{
    run_state *r = arg;
    const train_args *a = r->a;
    const uint64_t step = (uint64_t)info->done;
    if (step % (uint64_t)a->log_every == 0 && r->log) {
        const double tn = cli_now();
        const double img_s = (double)(step - r->logged) *
                             pcnn_trainer_opts(r->t).batch / (tn - r->tlog);
        char comm[160];
        cli_dist_fields(r->dist, step - r->logged, comm, sizeof comm);
        fprintf(r->log,
                "{\"step\": %llu, \"epoch\": %llu, \"bpd\": %.6f, "
                "\"grad_norm\": %.6g, \"lr\": %.6g, \"img_s\": %.2f, "
                "\"time_s\": %.1f%s}\n",
                (unsigned long long)step,
                (unsigned long long)pcnn_trainer_state(r->t).epoch,
                r->st->bpd, r->st->grad_norm, r->st->lr, img_s, tn - r->t0,
                comm);
        fflush(r->log);
        cli_train_progress(step, a->steps, r->t0, r->budget, r->st, img_s, r->tty);
        r->logged = step, r->tlog = tn;
    }
    /* rank 0 alone writes; every rank stops after the same step when
     * any rank got a stop signal or the save failed */
    if (step % (uint64_t)a->save_every == 0 && r->dist->rank == 0 &&
        save(r->ckpt, r->m, r->t))
        r->rc = 1;
    return cli_dist_any(r->dist, r->rc || stop_signal != 0);
}

/* The test evaluation at the end of a run: the EMA weights on the raw
 * test images (the stage's views are taken inside), a metrics line and
 * the printed figure. 0, or 1 with a message. */
static int test_eval(const train_args *a, pcnn_ctx *ctx, pcnn_trainer *t,
                     FILE *log, pcnn_dataset *test, cli_dist *d)
{
    if (cli_load_data("train", a->data, "test", a->size, test))
        return 0;
    /* bits per dim of the stage, as the training loss; the ranks split
     * the images */
    double mean, se;
    int64_t images;
    if (cli_test_eval(d, ctx, t, test, a->test_limit, &mean, &se, &images))
        return 1;
    if (d->rank > 0)
        return 0;
    const unsigned long long step = pcnn_trainer_state(t).step;
    fprintf(log,
            "{\"step\": %llu, \"test_bpd\": %.6f, \"test_se\": %.6f, "
            "\"test_n\": %ld}\n",
            step, mean, se, (long)images);
    char stage[32] = ""; /* --all-stages: the groups print one each */
    if (a->all_stages)
        snprintf(stage, sizeof stage, "stage %d ", a->stage);
    printf("%stest bits/dim: %.4f +- %.4f (%ld images, EMA weights, step "
           "%llu)\n",
           stage, mean, se, (long)images, step);
    return 0;
}

/* A run's files and objects. */
typedef struct {
    char ckpt[4096], metrics[4096], png[4096];
    pcnn_dataset train, test;
    pcnn_ctx *ctx;
    pcnn_model *m;
    pcnn_trainer *t;
    FILE *log;
    pcnn_model_config saved_cfg; /* resuming: the checkpoint's */
    pcnn_train_opts saved_opts;
    cli_dist *dist;
} train_run;

/* Resuming: the checkpoint's config and options into r, checked against
 * the flags; its seed into a (the crops are drawn from the run's seed).
 * 0, or 1/2 with a message. */
static int read_saved(train_args *a, train_run *r)
{
    int has_trainer = 0;
    if (pcnn_checkpoint_read_state(r->ckpt, &r->saved_cfg, &r->saved_opts,
                                   NULL, &has_trainer) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: --resume: %s\n", pcnn_last_error());
        return 1;
    }
    if (!has_trainer) {
        fprintf(stderr,
                "pixelcnn train: --resume: %s holds no training state (an "
                "exported model?): it cannot be resumed\n",
                r->ckpt);
        return 1;
    }
    int rc = check_resume_flags(a, r->ckpt, &r->saved_cfg, &r->saved_opts);
    if (!rc)
        a->opts.seed = r->saved_opts.seed;
    return rc;
}

/* The training images into r->train: --data's training split, its crops
 * and the first --limit. 0, or 1/2 with a message. */
static int load_train_data(const train_args *a, train_run *r)
{
    const int folder = !strncmp(a->data, "folder:", 7);
    pcnn_dataset *d = &r->train;
    int rc = cli_load_data("train", a->data, "train",
                           a->crops && folder ? 2 * a->size : a->size, d);
    if (rc)
        return rc;
    if (a->class_cond && !a->resuming && !d->labels)
        return cli_not_applicable("train", "--class-conditional",
                                  "the data set has no labels");
    if (a->crops &&
        pcnn_dataset_crops(d, folder ? a->size : (int)d->h, a->crops,
                           a->crop_min, a->opts.seed, d) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: --crops: %s\n", pcnn_last_error());
        return 1;
    }
    if (a->limit > 0 && a->limit < d->n &&
        pcnn_dataset_subset(d, 0, a->limit, d) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    return 0;
}

/* Resuming: the checkpoint's model and trainer on the stage's view of
 * the same data as before (the library refuses other data too; here the
 * message names the flags). 0, or 1/2 with a message. */
static int resume_model(train_args *a, train_run *r)
{
    a->cfg = r->saved_cfg;
    a->has_cond = r->saved_cfg.cond_channels > 0;
    if (cli_to_stage(&a->cfg, a->has_cond, &r->train))
        return 1;
    uint64_t fp = 0;
    pcnn_status s = pcnn_checkpoint_data_fingerprint(r->ckpt, &fp);
    if (s == PCNN_OK && !fp)
        fprintf(stderr,
                "pixelcnn train: warning: %s predates data fingerprints: "
                "cannot check that these are the data it was trained on\n",
                r->ckpt);
    const uint64_t ours = pcnn_dataset_fingerprint(&r->train);
    if (s == PCNN_OK && fp && fp != ours) {
        fprintf(stderr,
                "pixelcnn train: --resume: %s was trained on other data "
                "(fingerprint %016llx, these %lld images %016llx): resume "
                "with its --data, --limit, --size, --crops and --crop-min\n",
                r->ckpt, (unsigned long long)fp, (long long)r->train.n,
                (unsigned long long)ours);
        return 2;
    }
    if (s == PCNN_OK)
        s = pcnn_checkpoint_load_model(r->ckpt, 0, &r->m);
    if (s == PCNN_OK)
        s = pcnn_checkpoint_load_trainer(r->ckpt, r->m, &r->train, &r->t);
    if (s == PCNN_OK)
        s = pcnn_trainer_set_comm(r->t, &r->dist->comm);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    if (r->dist->rank == 0)
        cli_trim_metrics(r->metrics, pcnn_trainer_state(r->t).step);
    if (a->reset_ema)
        pcnn_trainer_reset_ema(r->t);
    return 0;
}

/* A new run: the stage's config from its views of the images (size, head,
 * condition), the model and its trainer, initialized on the data; a new
 * metrics log. 0, or 1/2 with a message. */
static int new_model(train_args *a, train_run *r)
{
    pcnn_dataset *d = &r->train;
    pcnn_status s = pcnn_stage_config(&a->cfg, &a->cfg.view,
                                      a->has_cond ? &a->cfg.cond_view : NULL,
                                      d->c, d->h, d->w);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    if (cli_to_stage(&a->cfg, a->has_cond, d))
        return 1;
    int rc = cli_check_image_size(&a->cfg, d);
    if (rc)
        return rc;
    a->cfg.num_classes = a->class_cond ? d->num_classes : 0;
    s = pcnn_model_create(&r->m, &a->cfg, a->opts.seed);
    if (s == PCNN_OK)
        s = pcnn_trainer_create(&r->t, r->m, d, &a->opts);
    if (s == PCNN_OK)
        s = pcnn_trainer_set_comm(r->t, &r->dist->comm);
    if (s == PCNN_OK)
        s = pcnn_trainer_init(r->ctx, r->t);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    if (r->dist->rank == 0)
        remove(r->metrics); /* a new run starts a new log */
    return 0;
}

/* The run's first lines: the data, the model, the machine; a stage's
 * views and head. */
static void announce(const train_run *r, int resuming)
{
    const pcnn_model_config *c = pcnn_model_get_config(r->m);
    const pcnn_dataset *d = &r->train;
    size_t nparams;
    pcnn_model_params(r->m, &nparams);
    fprintf(stderr,
            "pixelcnn train: %s %lld images %lldx%lldx%lld; model (%d, %d, "
            "%d), %zu parameters; %s\n",
            resuming ? "resuming on" : "training on", (long long)d->n,
            (long long)d->c, (long long)d->h, (long long)d->w, c->nr_resnet,
            c->nr_filters, c->nr_mix, nparams, pcnn_ctx_describe(r->ctx));
    if (r->dist->size > 1)
        fprintf(stderr, "pixelcnn train: %d ranks (MPI), %d images of each "
                        "batch of %d per rank\n",
                r->dist->size,
                (pcnn_trainer_opts(r->t).batch + r->dist->size - 1) /
                    r->dist->size,
                pcnn_trainer_opts(r->t).batch);
    if (!c->view.halvings && !c->view.gray4 && !c->view.lab &&
        !c->cond_channels)
        return;
    char v1[96], v2[96];
    fprintf(stderr, "pixelcnn train: a stage: models %s%s%s (%s head, %d "
                    "levels)\n",
            pcnn_view_str(&c->view, v1, sizeof v1),
            c->cond_channels ? " given " : "",
            c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                             : "",
            c->head == PCNN_HEAD_DMOL ? "logistic mixture" : "categorical",
            c->levels);
}

/* The steps until --steps, --minutes or a stop signal, then the final
 * save. 0; 1 (a failed save), 3 (a non-finite loss: nothing saved over
 * the last good checkpoint) or 128 + the signal, with a message. */
static int train_steps(const train_args *a, train_run *r)
{
    run_state run = {a,
                     r->ckpt,
                     r->log,
                     r->m,
                     r->t,
                     NULL,
                     cli_now(),
                     a->minutes * 60,
                     0,
                     pcnn_trainer_state(r->t).step,
                     isatty(2),
                     0,
                     r->dist};
    run.tlog = run.t0;
    pcnn_step_stats st = {0, 0, 0};
    run.st = &st;
    const pcnn_progress on_step = {run_step, &run};
    /* a signal before the first step: save and stop */
    pcnn_status s = stop_signal
                        ? PCNN_OK
                        : pcnn_trainer_run(r->ctx, r->t, (uint64_t)a->steps,
                                           run.budget, &on_step, &st);
    int rc = run.rc;
    if (s != PCNN_OK && s != PCNN_ERR_CANCELLED) {
        struct stat sb;
        fprintf(stderr, "\npixelcnn train: %s\n", pcnn_last_error());
        if (stat(r->ckpt, &sb) == 0)
            fprintf(stderr,
                    "pixelcnn train: stopped; the last good checkpoint is "
                    "%s\n",
                    r->ckpt);
        else
            fprintf(stderr, "pixelcnn train: stopped before the first "
                            "checkpoint: nothing saved\n");
        rc = 3; /* do not overwrite the last good checkpoint */
    }
    if (run.tty)
        fputc('\n', stderr);
    if (r->dist->rank > 0)
        return rc ? rc : stop_signal ? 128 + stop_signal : 0;
    if (rc == 0 && save(r->ckpt, r->m, r->t))
        rc = 1;
    else if (rc == 0)
        fprintf(stderr, "pixelcnn train: saved %s at step %llu\n", r->ckpt,
                (unsigned long long)pcnn_trainer_state(r->t).step);
    if (stop_signal && rc == 0) {
        const int sig = stop_signal;
        fprintf(stderr, "pixelcnn train: stopped by %s (exit status %d)\n",
                sig == SIGINT    ? "SIGINT"
                : sig == SIGTERM ? "SIGTERM"
                                 : "SIGHUP",
                128 + sig);
        rc = 128 + sig;
    }
    return rc;
}

/* The model and trainer of the run: resumed or new, on its data. 0, or
 * 1/2 with a message. */
static int open_run(train_args *a, train_run *r)
{
    int rc = a->resuming ? read_saved(a, r) : 0;
    if (!rc)
        rc = load_train_data(a, r);
    if (rc)
        return rc;
    if (a->resume && !a->resuming)
        fprintf(stderr, "pixelcnn train: no %s yet: starting a new run\n",
                r->ckpt);
    if ((rc = cli_ctx("train", a->threads, a->compute, &r->ctx)))
        return rc;
    return a->resuming ? resume_model(a, r) : new_model(a, r);
}

/* --all-stages: this rank's stage, its group's collectives and its folder
 * DIR/stageK (dir, n bytes). 0, or 1/2 with a message. */
static int pick_stage(train_args *a, cli_dist *d, char *dir, size_t n)
{
    int rc = cli_stage_group(d, a->nstages, a->chain, a->out, &a->stage,
                             dir, n);
    if (rc)
        return rc;
    a->ranks = d->size;
    a->out = dir;
    char ckpt[4300];
    struct stat st;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
    a->resuming = a->resume && stat(ckpt, &st) == 0;
    return chain_stage(a);
}

/* --all-stages after each group's run ended with rc: when every group
 * finished, rank 0 joins the stages into out/chain.safetensors. */
static int join_stages(const train_args *a, cli_dist *d, const char *out,
                       int rc)
{
    if (rc != 0 && rc < 128)
        return rc; /* this rank stops the job (cli_dist_end) */
    cli_dist_unsplit(d);
    if (cli_dist_any(d, rc != 0) || d->rank != 0)
        return rc;
    return cli_join_stages(out, a->nstages);
}

/* The run after its flags: rank 0 takes the folder; every rank opens the
 * run and trains; rank 0 evaluates and draws. The exit status. */
static int run_train(train_args *a, cli_dist *d)
{
    train_run r;
    memset(&r, 0, sizeof r);
    r.dist = d;
    snprintf(r.ckpt, sizeof r.ckpt, "%s/checkpoint.safetensors", a->out);
    snprintf(r.metrics, sizeof r.metrics, "%s/metrics.jsonl", a->out);
    snprintf(r.png, sizeof r.png, "%s/loss.png", a->out);
    /* the run folder and its lock before anything slow */
    int lock_fd = -1, rc = 0;
    if (d->rank == 0 && ((rc = cli_mkdirs("train", "--out", a->out)) ||
                         (rc = cli_lock_dir("train", a->out, &lock_fd))))
        return rc;
    if (!(rc = cli_dist_same_start(d, a->resuming, a->out)))
        rc = open_run(a, &r);
    if (!rc) {
        /* from here every stop saves: a stop signal ends the run after
         * the step in progress */
        catch_stop_signals();
        announce(&r, a->resuming);
        if (d->rank == 0 && !(r.log = fopen(r.metrics, "a"))) {
            fprintf(stderr, "pixelcnn train: cannot append to %s: %s\n",
                    r.metrics, strerror(errno));
            rc = 1;
        }
    }
    /* the test evaluation is split over the ranks: only when every rank
     * trained to the end, with no stop signal anywhere */
    int stopped = 1;
    if (!rc) {
        rc = train_steps(a, &r);
        stopped = cli_dist_any(d, rc != 0 || stop_signal != 0);
    }
    if (rc == 0 && !stopped && !a->no_test) {
        rc = test_eval(a, r.ctx, r.t, r.log, &r.test, d);
        /* a signal during the evaluation: the checkpoint is saved; say
         * how the run ended */
        if (stop_signal && rc == 0)
            rc = 128 + stop_signal;
    }
    if (r.log) {
        fclose(r.log);
        if (cli_plot_metrics(r.metrics, r.png) == 0)
            fprintf(stderr, "pixelcnn train: wrote %s\n", r.png);
    }
    pcnn_trainer_free(r.t);
    pcnn_model_free(r.m);
    pcnn_ctx_free(r.ctx);
    pcnn_dataset_free(&r.train);
    pcnn_dataset_free(&r.test);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

/* The flags' defaults (also the flags fuzz target's starting point). */
static train_args train_defaults(void)
{
    train_args a = {0};
    a.data = cli_default_data();
    a.out = "runs/train";
    a.size = 32, a.save_every = 500, a.log_every = 10, a.crop_min = 0.8;
    a.mpi_timeout = 600;
    a.cfg = pcnn_model_config_default();
    a.param = a.cfg.plain ? "plain" : "weightnorm";
    a.init = a.cfg.init ? "uniform" : "data";
    a.cfg.cond_nr_resnet = 2;
    a.cfg.cond_down = 1;
    a.opts = pcnn_train_opts_default();
    return a;
}

int cmd_train(int argc, char **argv)
{
    train_args a = train_defaults();
    /* the ranks first: --mpi-timeout applies to a run of several */
    cli_dist d;
    if (cli_dist_start(&d, a.mpi_timeout))
        return 1;
    a.ranks = d.size;
    int rc = parse(argc, argv, &a);
    d.timeout_s = a.mpi_timeout;
    const char *out = a.out;
    char stage_dir[4200];
    if (!rc && a.all_stages)
        rc = pick_stage(&a, &d, stage_dir, sizeof stage_dir);
    if (!rc)
        rc = run_train(&a, &d);
    if (a.all_stages && rc >= 0)
        rc = join_stages(&a, &d, out, rc);
    return cli_dist_end(&d, rc < 0 ? 0 : rc);
}
