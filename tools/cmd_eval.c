/* cmd_eval.c -- `pixelcnn eval`: bits/dim of a checkpoint on a data set. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn eval --checkpoint FILE [--data KIND:PATH] [flags]\n"
    "\n"
    "Prints the mean bits/dim of the model on the data set and its standard\n"
    "error over images.\n"
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
            if (!(split = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
            if (strcmp(split, "train") && strcmp(split, "test")) {
                fprintf(stderr, "pixelcnn eval: --split %s: train or test\n",
                        split);
                return 2;
            }
        } else if (!strcmp(f, "--weights")) {
            if (!(weights = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
            if (strcmp(weights, "ema") && strcmp(weights, "raw")) {
                fprintf(stderr, "pixelcnn eval: --weights %s: ema or raw\n",
                        weights);
                return 2;
            }
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
    int has_trainer = 0;
    pcnn_model_config cfg;
    if (pcnn_checkpoint_read_state(ckpt, &cfg, NULL, NULL, &has_trainer) !=
        PCNN_OK) {
        fprintf(stderr, "pixelcnn eval: %s\n", pcnn_last_error());
        return 1;
    }
    int ema = weights ? !strcmp(weights, "ema") : has_trainer;
    pcnn_dataset d = {0};
    int rc = cli_load_data(cmd, data, split, size ? size : cfg.height, &d);
    if (rc)
        return rc;
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
        printf("bits/dim: %.4f +- %.4f (%ld images of %s, %s split, %s "
               "weights)\n",
               mean, se, n, data, split, ema ? "EMA" : "raw");
    }
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
    pcnn_dataset_free(&d);
    return rc;
}
