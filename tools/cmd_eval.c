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
    "stage's term, on the views of the data set's images.\n"
    "\n"
    "  --checkpoint FILE  a checkpoint written by pixelcnn train\n"
    "  --data KIND:PATH   cifar10:DIR or FILE.bin, fashion-mnist:DIR,\n"
    "                     mnist:DIR, folder:DIR (default: Fashion-MNIST)\n"
    "  --split S          train or test (default test)\n"
    "  --limit N          the first N images only\n"
    "  --weights W        ema (default, when the file has them) or raw\n"
    "  --batch N          batch size (default 16)\n"
    "  --size N           image side for folder data (default: the model's)\n"
    "  --threads N        threads (default: all cores)\n";

/* The figures of a chain file: each stage's term and the total. */
static void print_chain(const pcnn_chain *ch, const pcnn_chain_eval *r,
                        const char *data, const char *split)
{
    const int n = pcnn_chain_stages(ch);
    printf("chain of %d stages, %ld images of %s, %s split\n", n,
           (long)r->images, data, split);
    for (int i = 0; i < n; i++) {
        const pcnn_model_config *c =
            pcnn_model_get_config(pcnn_chain_stage(ch, i));
        char v1[96], v2[96];
        printf("  stage %d: -log2 p(%s%s%s): %.4f bits per image dim "
               "(%.4f per dim of the stage)\n",
               i, pcnn_view_str(&c->view, v1, sizeof v1),
               c->cond_channels ? " | " : "",
               c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                                : "",
               r->stage[i], r->own[i]);
        if (pcnn_chain_stage_tightens(ch, i))
            printf("           tightened: %.4f (%.4f per dim of the "
                   "stage)\n",
                   r->tight_stage[i], r->tight_own[i]);
    }
    printf("bits/dim: %.4f +- %.4f (the sum of the stages: an upper "
           "bound on -log2 p(x))\n",
           r->total, r->total_se);
    if (r->tightened)
        printf("tightened bits/dim: %.4f +- %.4f (each subpixel's "
               "conditional renormalized over the values its parent "
               "and earlier siblings allow; %d stage%s)\n",
               r->tight_total, r->tight_se, r->tightened,
               r->tightened > 1 ? "s" : "");
}

/* The figures of a model checkpoint (a chain of one): bits/dim of its
 * images and, for a stage, its term per dim of the image. */
static void print_model(const pcnn_chain *ch, const pcnn_chain_eval *r,
                        const char *data, const char *split,
                        const char *weights)
{
    /* the standard error per dim of the stage */
    const double own_se =
        r->total_se * (double)r->dims_x / (double)r->dims[0];
    printf("bits/dim: %.4f +- %.4f (%ld images of %s, %s split, %s)\n",
           r->own[0], own_se, (long)r->images, data, split, weights);
    if (pcnn_chain_is_complete(ch))
        return;
    const pcnn_model_config *c = pcnn_model_get_config(pcnn_chain_stage(ch, 0));
    char v1[96], v2[96];
    printf("a stage: -log2 p(%s%s%s) per dim of the stage; per dim "
           "of the image: %.4f +- %.4f\n",
           pcnn_view_str(&c->view, v1, sizeof v1),
           c->cond_channels ? " | " : "",
           c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                            : "",
           r->stage[0], r->total_se);
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval", *ckpt = NULL, *data = cli_default_data();
    const char *split = "test", *weights = NULL;
    int limit = 0, batch = 16, size = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(f, "--checkpoint")) {
            if (!(ckpt = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (!strcmp(f, "--data")) {
            if (!(data = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (!strcmp(f, "--split")) {
            if (cli_split_arg(cmd, argc, argv, &i, &split))
                return 2;
        } else if (!strcmp(f, "--weights")) {
            if (cli_weights_arg(cmd, argc, argv, &i, &weights))
                return 2;
        } else if (!strcmp(f, "--limit")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 2000000000, &limit))
                return 2;
        } else if (!strcmp(f, "--batch")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 65536, &batch))
                return 2;
        } else if (!strcmp(f, "--size")) {
            if (cli_int_arg(cmd, argc, argv, &i, 4, 1024, &size))
                return 2;
        } else if (!strcmp(f, "--threads")) {
            if (cli_int_arg(cmd, argc, argv, &i, 1, 4096, &threads))
                return 2;
        } else {
            return cli_bad_flag(cmd, f);
        }
    }
    if (!ckpt) {
        fprintf(stderr, "pixelcnn eval: --checkpoint FILE is required\n");
        return 2;
    }
    if (size && strncmp(data, "folder:", 7))
        return cli_not_applicable(cmd, "--size",
                                  "it sets the image side of folder data "
                                  "(--data folder:DIR); other data sets "
                                  "have their own size");
    pcnn_file_kind kind;
    int rc = cli_file_kind(cmd, ckpt, weights, &kind);
    if (rc)
        return rc;
    /* a model checkpoint: its EMA or raw weights (a chain file holds one
     * set, and --weights was refused for it above) */
    int has_trainer = 0, ema = 0;
    if (kind == PCNN_FILE_CHECKPOINT) {
        if (pcnn_checkpoint_read_state(ckpt, NULL, NULL, NULL,
                                       &has_trainer) != PCNN_OK) {
            fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
            return 1;
        }
        if ((ema = cli_use_ema(cmd, weights, ckpt, has_trainer)) < 0)
            return 2;
    }
    pcnn_chain *ch = NULL;
    if (pcnn_chain_load(ckpt, ema, &ch) != PCNN_OK) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        return 1;
    }
    /* the views are taken of full-size images */
    int64_t xh;
    pcnn_chain_image_shape(ch, NULL, &xh, NULL);
    pcnn_dataset d = {0};
    rc = cli_load_data(cmd, data, split, size ? size : (int)xh, &d);
    pcnn_ctx_opts co = {PCNN_BACKEND_CPU, threads};
    pcnn_ctx *ctx = NULL;
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = batch, eo.limit = limit;
    pcnn_chain_eval r;
    if (!rc && (pcnn_ctx_create(&ctx, &co) != PCNN_OK ||
                pcnn_chain_evaluate(ctx, ch, &d, &eo, &r) != PCNN_OK)) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        rc = 1;
    }
    /* a file without training state (pixelcnn export) holds one set of
     * weights, whichever it was exported with */
    if (!rc && kind == PCNN_FILE_CHAIN)
        print_chain(ch, &r, data, split);
    else if (!rc)
        print_model(ch, &r, data, split,
                    !has_trainer ? "the file's weights"
                    : ema        ? "EMA weights"
                                 : "raw weights");
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&d);
    return rc;
}
