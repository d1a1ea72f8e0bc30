/*
 * cmd_train.c -- `pixelcnn train`: train a PixelCNN++ model with a progress
 * bar, metrics as JSON lines, a loss-curve picture and crash-safe
 * checkpoints; --resume continues a run exactly.
 */
#include "cli.h"

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
    "Trains a PixelCNN++ model. Writes DIR/checkpoint.safetensors (every\n"
    "--save-every steps and at exit, atomically), DIR/metrics.jsonl (one\n"
    "JSON object per logged step) and DIR/loss.png. At the end it prints\n"
    "the test bits/dim with the EMA weights. Ctrl-C saves and stops.\n"
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
    "model (ignored with --resume):\n"
    "  --nr-resnet N       gated resnets per resolution (default 5)\n"
    "  --nr-filters N      filters (default 160)\n"
    "  --nr-mix N          logistic components (default 10)\n"
    "  --nr-resolutions N  U-net scales (default 3)\n"
    "  --dropout P         dropout rate (default 0.5)\n"
    "  --class-conditional learn p(x | label)\n"
    "stages of a chain (docs/chains.md; ignored with --resume):\n"
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
    "training:\n"
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
    "  --out DIR           run folder (default runs/train)\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

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
} train_args;

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
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
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

static int save(const char *path, pcnn_model *m, pcnn_trainer *t)
{
    if (pcnn_checkpoint_save(path, m, t) != PCNN_OK) {
        fprintf(stderr, "\npixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
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
    mkdir(a.out, 0777);
    char ckpt[4096], metrics[4096], png[4096];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", a.out);
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", a.out);
    snprintf(png, sizeof png, "%s/loss.png", a.out);

    pcnn_dataset train = {0}, test = {0};
    const int folder = !strncmp(a.data, "folder:", 7);
    struct stat st_;
    int resuming = a.resume && stat(ckpt, &st_) == 0;
    if (resuming && a.crops) {
        /* the crops are drawn from the run's seed, not a new --seed */
        pcnn_train_opts saved;
        if (pcnn_checkpoint_read_state(ckpt, NULL, &saved, NULL, NULL) ==
            PCNN_OK)
            a.opts.seed = saved.seed;
    }
    if ((rc = cli_load_data("train", a.data, "train",
                            a.crops && folder ? 2 * a.size : a.size,
                            &train)))
        return rc;
    if (a.crops &&
        pcnn_dataset_crops(&train, folder ? a.size : (int)train.h, a.crops,
                           a.crop_min, a.opts.seed, &train) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: --crops: %s\n", pcnn_last_error());
        pcnn_dataset_free(&train);
        return 1;
    }
    if (a.limit > 0 && a.limit < train.n &&
        pcnn_dataset_subset(&train, 0, a.limit, &train) != PCNN_OK) {
        fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
        return 1;
    }
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, a.threads};
    pcnn_ctx *ctx = NULL;
    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    pcnn_status s = pcnn_ctx_create(&ctx, &co);
    if (a.resume && !resuming)
        fprintf(stderr, "pixelcnn train: no %s yet: starting a new run\n",
                ckpt);
    if (s == PCNN_OK && resuming) {
        pcnn_model_config saved;
        s = pcnn_checkpoint_read_state(ckpt, &saved, NULL, NULL, NULL);
        if (s == PCNN_OK) {
            a.cfg = saved;
            a.has_cond = saved.cond_channels > 0;
            if (to_stage(&a.cfg, a.has_cond, &train)) {
                rc = 1;
                goto done;
            }
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
        if (to_stage(&a.cfg, a.has_cond, &train)) {
            rc = 1;
            goto done;
        }
        if (a.cfg.view.gray4) {
            a.cfg.head = PCNN_HEAD_CATEGORICAL;
            a.cfg.levels = 16;
        }
        if (a.has_cond) {
            /* condition images larger than the model: space to depth */
            const int64_t f =
                train.cond_h > train.h ? train.cond_h / train.h : 1;
            a.cfg.cond_channels = (int)(train.cond_c * f * f);
            if (!a.cfg.cond_nr_filters)
                a.cfg.cond_nr_filters = a.cfg.nr_filters;
        } else {
            a.cfg.cond_nr_resnet = a.cfg.cond_nr_filters = 0;
            a.cfg.cond_down = a.cfg.cond_dilate = 0;
        }
        a.cfg.channels = (int)train.c;
        a.cfg.height = (int)train.h, a.cfg.width = (int)train.w;
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
    FILE *log = fopen(metrics, "a");
    if (!log) {
        fprintf(stderr, "pixelcnn train: cannot append to %s\n", metrics);
        rc = 1;
        goto done;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    const int tty = isatty(2);
    const double t0 = cli_now(), budget = a.minutes * 60;
    double tlog = t0;
    uint64_t logged = pcnn_trainer_state(t).step;
    pcnn_train_opts o = pcnn_trainer_opts(t);
    pcnn_step_stats st = {0, 0, 0};
    int saved_at_end = 0;
    while (!stop_requested) {
        pcnn_train_state ts = pcnn_trainer_state(t);
        if (a.steps > 0 && ts.step >= (uint64_t)a.steps)
            break;
        if (budget > 0 && cli_now() - t0 >= budget)
            break;
        s = pcnn_trainer_step(ctx, t, &st);
        if (s != PCNN_OK) {
            fprintf(stderr, "\npixelcnn train: %s\n", pcnn_last_error());
            fprintf(stderr,
                    "pixelcnn train: stopped; the last good checkpoint is "
                    "%s\n",
                    ckpt);
            rc = 1;
            saved_at_end = 1; /* do not overwrite it with this state */
            break;
        }
        ts = pcnn_trainer_state(t);
        if (ts.step % (uint64_t)a.log_every == 0) {
            double tn = cli_now();
            double img_s = (double)(ts.step - logged) * o.batch / (tn - tlog);
            fprintf(log,
                    "{\"step\": %llu, \"epoch\": %llu, \"bpd\": %.6f, "
                    "\"grad_norm\": %.6g, \"lr\": %.6g, \"img_s\": %.2f, "
                    "\"time_s\": %.1f}\n",
                    (unsigned long long)ts.step,
                    (unsigned long long)ts.epoch, st.bpd, st.grad_norm, st.lr,
                    img_s, tn - t0);
            fflush(log);
            progress(ts.step, a.steps, t0, budget, &st, img_s, tty);
            logged = ts.step, tlog = tn;
        }
        if (ts.step % (uint64_t)a.save_every == 0 && save(ckpt, m, t)) {
            rc = 1;
            break;
        }
    }
    if (tty)
        fputc('\n', stderr);
    if (!saved_at_end && rc == 0) {
        if (save(ckpt, m, t))
            rc = 1;
        else
            fprintf(stderr, "pixelcnn train: saved %s at step %llu\n", ckpt,
                    (unsigned long long)pcnn_trainer_state(t).step);
    }
    if (rc == 0 && !a.no_test && !stop_requested) {
        if (cli_load_data("train", a.data, "test", a.size, &test) == 0 &&
            to_stage(c, c->cond_channels > 0, &test) == 0) {
            double mean, se;
            pcnn_trainer_swap_ema(t);
            s = pcnn_evaluate(ctx, m, &test, o.batch, a.test_limit, &mean,
                              &se);
            pcnn_trainer_swap_ema(t);
            if (s != PCNN_OK) {
                fprintf(stderr, "pixelcnn train: %s\n", pcnn_last_error());
                rc = 1;
            } else {
                long n = a.test_limit > 0 && a.test_limit < test.n
                             ? a.test_limit
                             : (long)test.n;
                fprintf(log,
                        "{\"step\": %llu, \"test_bpd\": %.6f, "
                        "\"test_se\": %.6f, \"test_n\": %ld}\n",
                        (unsigned long long)pcnn_trainer_state(t).step, mean,
                        se, n);
                printf("test bits/dim: %.4f +- %.4f (%ld images, EMA "
                       "weights, step %llu)\n",
                       mean, se, n,
                       (unsigned long long)pcnn_trainer_state(t).step);
            }
        }
    }
    fclose(log);
    if (cli_plot_metrics(metrics, png) == 0)
        fprintf(stderr, "pixelcnn train: wrote %s\n", png);
done:
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&train);
    pcnn_dataset_free(&test);
    return rc;
}
