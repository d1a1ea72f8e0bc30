/*
 * train_flags.c -- `pixelcnn train`'s flags: the usage text, the flag
 * tables by section, the parser with its checks of the flags alone, the
 * defaults, and the checks of a resumed run's flags against its
 * checkpoint.
 */
#include "train_flags.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

/* The public functions are described in train_flags.h. */

int train_given(const train_args *a, const char *flag)
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

int train_chain_stage(train_args *a)
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

int train_parse(int argc, char **argv, train_args *a)
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
        if (p.given[k] && a->nseen < TRAIN_MAX_SEEN)
            a->seen[a->nseen++] = flags[k].name;
    a->cfg.plain = !strcmp(a->param, "plain");
    a->cfg.init = !strcmp(a->init, "uniform");
    a->has_cond = train_given(a, "--cond-view");
    if (a->chain && (rc = train_chain_stage(a)))
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

int train_check_resume_flags(const train_args *a, const char *ckpt,
                              const pcnn_model_config *sc,
                              const pcnn_train_opts *so)
{
    char mine[128] = "", saved[128] = "";
    const char *flag = NULL;
    const pcnn_model_config *c = &a->cfg;
    const pcnn_train_opts *o = &a->opts;
#define INT_CHECK(name, key, x, y)                                            \
    if (!flag && train_given(a, name) && (long long)(x) != (long long)(y)) {       \
        flag = name;                                                          \
        snprintf(mine, sizeof mine, "%s %lld", name, (long long)(x));         \
        snprintf(saved, sizeof saved, "%s %lld", key, (long long)(y));        \
    }
#define NUM_CHECK(name, key, x, y)                                            \
    if (!flag && train_given(a, name) && (float)(x) != (float)(y)) {               \
        flag = name;                                                          \
        snprintf(mine, sizeof mine, "%s %g", name, (double)(x));              \
        snprintf(saved, sizeof saved, "%s %g", key, (double)(y));             \
    }
    /* the config fields with a flag (PCNN_MODEL_CONFIG_FIELDS) */
    for (int k = 0; !flag && k < cli_config_nfields; k++) {
        const cli_config_field *f = &cli_config_fields[k];
        const double x = cli_config_value(c, f), y = cli_config_value(sc, f);
        if (!*f->flag || !train_given(a, f->flag) || (float)x == (float)y)
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
    const int view_given = a->chain || train_given(a, "--view");
    const int cond_given = a->chain || train_given(a, "--cond-view");
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

train_args train_defaults(void)
{
    train_args a = {0};
    a.data = cli_default_data();
    a.out = "runs/train";
    a.size = 32, a.save_every = 500, a.log_every = 10, a.crop_min = 0.8;
    a.mpi_timeout = 600;
    a.cfg = pcnn_train_config_default();
    a.param = a.cfg.plain ? "plain" : "weightnorm";
    a.init = a.cfg.init ? "uniform" : "data";
    a.cfg.cond_nr_resnet = 2;
    a.cfg.cond_down = 1;
    a.opts = pcnn_train_opts_default();
    return a;
}

