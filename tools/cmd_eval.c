/* cmd_eval.c -- `pixelcnn eval`: bits/dim of a checkpoint on a data set. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn eval --checkpoint FILE [--data KIND:PATH] [flags]\n"
    "\n"
    "Prints the mean bits/dim of the model on the data set and its standard\n"
    "error over images. For a chain file (pixelcnn chain) it prints each\n"
    "stage's term and their sum; for the checkpoint of one stage, that\n"
    "stage's term, on the views of the data set's images.\n";

/* A chain file: each stage's term and the total. */
static int eval_chain(const char *path, const char *data, const char *split,
                      int limit, int batch, int size, int threads)
{
    const char *cmd = "eval";
    pcnn_chain *ch = NULL;
    if (pcnn_chain_load(path, 0, &ch) != PCNN_OK) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        return 1;
    }
    const int n = pcnn_chain_stages(ch);
    const pcnn_model_config *last =
        pcnn_model_get_config(pcnn_chain_stage(ch, n - 1));
    pcnn_dataset d = {0};
    int rc = cli_load_data(cmd, data, split, size ? size : last->height, &d);
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
    pcnn_ctx *ctx = NULL;
    pcnn_chain_eval r;
    if (!rc && (pcnn_ctx_create(&ctx, &co) != PCNN_OK ||
                pcnn_chain_evaluate(ctx, ch, &d, batch, limit, &r) !=
                    PCNN_OK)) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        rc = 1;
    }
    if (!rc) {
        long nimg = limit > 0 && limit < d.n ? limit : (long)d.n;
        printf("chain of %d stages, %ld images of %s, %s split\n", n, nimg,
               data, split);
        for (int i = 0; i < n; i++) {
            const pcnn_model_config *c =
                pcnn_model_get_config(pcnn_chain_stage(ch, i));
            char v1[96], v2[96];
            printf("  stage %d: -log2 p(%s%s%s): %.4f bits per image dim "
                   "(%.4f per dim of the stage)\n",
                   i, pcnn_view_str(&c->view, v1, sizeof v1),
                   c->cond_channels ? " | " : "",
                   c->cond_channels
                       ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                       : "",
                   r.stage[i], r.own[i]);
            if (pcnn_chain_stage_tightens(ch, i))
                printf("           tightened: %.4f (%.4f per dim of the "
                       "stage)\n",
                       r.tight_stage[i], r.tight_own[i]);
        }
        printf("bits/dim: %.4f +- %.4f (the sum of the stages: an upper "
               "bound on -log2 p(x))\n",
               r.total, r.total_se);
        if (r.tightened)
            printf("tightened bits/dim: %.4f +- %.4f (each subpixel's "
                   "conditional renormalized over the values its parent "
                   "and earlier siblings allow; %d stage%s)\n",
                   r.tight_total, r.tight_se, r.tightened,
                   r.tightened > 1 ? "s" : "");
    }
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&d);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval", *ckpt = NULL, *data = cli_default_data();
    const char *split = "test", *weights = NULL;
    int limit = 0, batch = 16, size = 0, threads = 0;
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &ckpt, "FILE",
                     "a checkpoint written by pixelcnn train, or a chain "
                     "file",
                     .required = 1),
        CLI_STRING_F("--data", &data, "KIND:PATH",
                     "cifar10:DIR or FILE.bin, fashion-mnist:DIR, mnist:DIR, "
                     "folder:DIR (default: Fashion-MNIST)"),
        CLI_CHOICE_F("--split", &split, "train test", "S", "train or test",
                     .show_default = 1),
        CLI_INT_F("--limit", &limit, 1, 2000000000, "N",
                  "the first N images only"),
        CLI_CHOICE_F("--weights", &weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_INT_F("--batch", &batch, 1, 65536, "N", "batch size",
                  .show_default = 1),
        CLI_INT_F("--size", &size, 4, 1024, "N",
                  "image side for folder data (default: the model's)",
                  .applies = cli_is_folder_data, .ctx = &data,
                  .why = "it sets the image side of folder data (--data "
                         "folder:DIR); other data sets have their own size"),
        CLI_INT_F("--threads", &threads, 1, 4096, "N",
                  "threads (default: all cores)"),
    };
    cli_cmd p = CLI_CMD(cmd, usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (!rc)
        rc = cli_check(&p);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_file_kind kind;
    rc = cli_file_kind(cmd, ckpt, weights, &kind);
    if (rc)
        return rc;
    if (kind == PCNN_FILE_CHAIN)
        return eval_chain(ckpt, data, split, limit, batch, size, threads);
    int has_trainer = 0;
    pcnn_model_config cfg;
    if (pcnn_checkpoint_read_state(ckpt, &cfg, NULL, NULL, &has_trainer) !=
        PCNN_OK) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        return 1;
    }
    const int ema = cli_use_ema(cmd, weights, ckpt, has_trainer);
    if (ema < 0)
        return 2;
    pcnn_dataset d = {0};
    const int stage = cfg.view.halvings || cfg.view.gray4 ||
                      cfg.cond_channels > 0;
    /* a stage reads views of the full-size images */
    const int full = cfg.height << cfg.view.halvings;
    rc = cli_load_data(cmd, data, split, size ? size : full, &d);
    if (rc)
        return rc;
    int64_t full_dims = d.c * d.h * d.w;
    if (stage) {
        pcnn_dataset sd;
        if (pcnn_stage_dataset(&d, &cfg.view,
                               cfg.cond_channels ? &cfg.cond_view : NULL,
                               &sd) != PCNN_OK) {
            fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
            pcnn_dataset_free(&d);
            return 1;
        }
        pcnn_dataset_free(&d);
        d = sd;
    }
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
    pcnn_ctx *ctx = NULL;
    pcnn_model *m = NULL;
    double mean, se;
    pcnn_status s = pcnn_ctx_create(&ctx, &co);
    if (s == PCNN_OK)
        s = pcnn_checkpoint_load_model(ckpt, ema, &m);
    if (s == PCNN_OK)
        s = pcnn_evaluate(ctx, m, &d, batch, limit, &mean, &se);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        rc = 1;
    } else {
        long n = limit > 0 && limit < d.n ? limit : (long)d.n;
        /* a file without training state (pixelcnn export) holds one
         * set of weights, whichever it was exported with */
        printf("bits/dim: %.4f +- %.4f (%ld images of %s, %s split, %s)\n",
               mean, se, n, data, split,
               !has_trainer ? "the file's weights"
               : ema        ? "EMA weights"
                            : "raw weights");
        if (stage) {
            char v1[96], v2[96];
            double own = (double)(d.c * d.h * d.w);
            printf("a stage: -log2 p(%s%s%s) per dim of the stage; per dim "
                   "of the image: %.4f +- %.4f\n",
                   pcnn_view_str(&cfg.view, v1, sizeof v1),
                   cfg.cond_channels ? " | " : "",
                   cfg.cond_channels
                       ? pcnn_view_str(&cfg.cond_view, v2, sizeof v2)
                       : "",
                   mean * own / (double)full_dims,
                   se * own / (double)full_dims);
        }
    }
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    return rc;
}
