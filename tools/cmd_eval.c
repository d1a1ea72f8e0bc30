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
               "and the subpixels before it allow; %d stage%s)\n",
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

typedef struct {
    const char *ckpt, *data, *split, *weights, *compute;
    int limit, batch, size, threads;
} eval_args;

/* eval's flags into a (the defaults before), and their checks: 0, -1
 * (--help) or 2 after a message. */
static int eval_parse(int argc, char **argv, eval_args *a)
{
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &a->ckpt, "FILE",
                     "a checkpoint written by pixelcnn train, or a chain "
                     "file",
                     .required = 1),
        CLI_STRING_F("--data", &a->data, "KIND:PATH",
                     "cifar10:DIR or FILE.bin, fashion-mnist:DIR, mnist:DIR, "
                     "folder:DIR (default: Fashion-MNIST)"),
        CLI_CHOICE_F("--split", &a->split, "train test", "S",
                     "train or test", .show_default = 1),
        CLI_INT_F("--limit", &a->limit, 1, 2000000000, "N",
                  "the first N images only"),
        CLI_CHOICE_F("--weights", &a->weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_INT_F("--batch", &a->batch, 1, 65536, "N", "batch size",
                  .show_default = 1),
        CLI_INT_F("--size", &a->size, 4, 1024, "N",
                  "image side for folder data (default: the model's)",
                  .applies = cli_is_folder_data, .ctx = &a->data,
                  .why = "it sets the image side of folder data (--data "
                         "folder:DIR); other data sets have their own size"),
        CLI_INT_F("--threads", &a->threads, 1, 4096, "N",
                  "threads (default: all cores)"),
        CLI_COMPUTE_F(&a->compute),
    };
    cli_cmd p = CLI_CMD("eval", usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    return rc ? rc : cli_check(&p);
}

int cmd_eval(int argc, char **argv)
{
    eval_args a = {NULL, cli_default_data(), "test", NULL, NULL, 0, 16, 0, 0};
    int rc = eval_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_file_kind kind;
    const char *weights;
    pcnn_chain *ch = NULL;
    if ((rc = cli_open_chain("eval", a.ckpt, a.weights, &kind, &weights,
                             &ch)))
        return rc;
    /* the views are taken of full-size images */
    int64_t xh;
    pcnn_chain_image_shape(ch, NULL, &xh, NULL);
    pcnn_dataset d = {0};
    rc = cli_load_data("eval", a.data, a.split, a.size ? a.size : (int)xh,
                       &d);
    pcnn_ctx *ctx = NULL;
    if (!rc)
        rc = cli_ctx("eval", a.threads, a.compute, &ctx);
    pcnn_eval_opts eo = pcnn_eval_opts_default();
    eo.batch = a.batch, eo.limit = a.limit;
    eo.progress = cli_progress("eval");
    pcnn_chain_eval r;
    if (!rc && pcnn_chain_evaluate(ctx, ch, &d, &eo, &r) != PCNN_OK) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        rc = 1;
    }
    if (!rc && kind == PCNN_FILE_CHAIN)
        print_chain(ch, &r, a.data, a.split);
    else if (!rc)
        print_model(ch, &r, a.data, a.split, weights);
    pcnn_ctx_free(ctx);
    pcnn_chain_free(ch);
    pcnn_dataset_free(&d);
    return rc;
}
