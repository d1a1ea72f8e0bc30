/*
 * cmd_train.c -- `pixelcnn train`: train a PixelCNN++ model with a progress
 * bar, metrics as JSON lines, a loss-curve picture and crash-safe
 * checkpoints; --resume continues a run exactly. Its flags are
 * tools/train_flags.c.
 */
#include "cli.h"
#include "dist.h"
#include "train_flags.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    int rc = train_check_resume_flags(a, r->ckpt, &r->saved_cfg, &r->saved_opts);
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
    return train_chain_stage(a);
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

int cmd_train(int argc, char **argv)
{
    train_args a = train_defaults();
    /* the ranks first: --mpi-timeout applies to a run of several */
    cli_dist d;
    if (cli_dist_start(&d, a.mpi_timeout))
        return 1;
    a.ranks = d.size;
    int rc = train_parse(argc, argv, &a);
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
