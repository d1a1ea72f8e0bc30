/*
 * cmd_chain.c -- `pixelcnn chain`: join stage checkpoints into one chain
 * file (docs/chains.md).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn chain --out FILE [--weights ema|raw] STAGE0 STAGE1 ...\n"
    "\n"
    "Joins the checkpoints of a chain's stages (trained with pixelcnn train\n"
    "--view/--cond-view or --chain ... --stage K), first stage first, into\n"
    "one chain file that pixelcnn eval, sample and info read. Checks that\n"
    "the stages fit: each is conditioned on the view the one before it\n"
    "models, and the last models the image itself.\n"
    "\n"
    "  --out FILE     the chain file (written atomically)\n"
    "  --weights W    ema (default, when a file has them) or raw\n";

int cmd_chain(int argc, char **argv)
{
    const char *cmd = "chain", *out = NULL, *weights = NULL;
    const char *paths[PCNN_MAX_STAGES];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(f, "--out")) {
            if (!(out = cli_str_arg(cmd, argc, argv, &i)))
                return 2;
        } else if (!strcmp(f, "--weights")) {
            if (cli_weights_arg(cmd, argc, argv, &i, &weights))
                return 2;
        } else if (f[0] == '-') {
            return cli_bad_flag(cmd, f);
        } else if (n == PCNN_MAX_STAGES) {
            fprintf(stderr, "pixelcnn chain: at most %d stages\n",
                    PCNN_MAX_STAGES);
            return 2;
        } else {
            paths[n++] = f;
        }
    }
    if (!out || n < 1) {
        fprintf(stderr, "pixelcnn chain: --out FILE and at least one stage "
                        "checkpoint are required\n");
        return 2;
    }
    for (int i = 0; i < n; i++)
        if (cli_same_file(paths[i], out)) {
            fprintf(stderr,
                    "pixelcnn chain: --out %s is the stage checkpoint %s "
                    "itself: writing it would replace that stage's training "
                    "run; give another --out\n",
                    out, paths[i]);
            return 2;
        }
    int rc = cli_check_output(cmd, "--out", out);
    if (rc)
        return rc;
    pcnn_model *m[PCNN_MAX_STAGES] = {0};
    pcnn_status s = PCNN_OK;
    for (int i = 0; s == PCNN_OK && i < n; i++) {
        int has_trainer = 0;
        s = pcnn_checkpoint_read_state(paths[i], NULL, NULL, NULL,
                                       &has_trainer);
        int ema = s == PCNN_OK
                      ? cli_use_ema(cmd, weights, paths[i], has_trainer)
                      : 0;
        if (ema < 0) {
            for (int k = 0; k < i; k++)
                pcnn_model_free(m[k]);
            return 2;
        }
        if (s == PCNN_OK)
            s = pcnn_checkpoint_load_model(paths[i], ema, &m[i]);
    }
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn chain: %s\n", pcnn_last_error());
        for (int i = 0; i < n; i++)
            pcnn_model_free(m[i]);
        return 1;
    }
    pcnn_chain *ch = NULL;
    s = pcnn_chain_create(&ch, m, n); /* frees the models on failure */
    if (s == PCNN_OK)
        s = pcnn_chain_save(out, ch);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn chain: %s\n", pcnn_last_error());
        pcnn_chain_free(ch);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        const pcnn_model_config *c = pcnn_model_get_config(m[i]);
        char v1[96], v2[96];
        printf("stage %d: %s%s%s, %dx%dx%d, (%d, %d, %d)\n", i,
               pcnn_view_str(&c->view, v1, sizeof v1),
               c->cond_channels ? " given " : "",
               c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                                : "",
               c->channels, c->height, c->width, c->nr_resnet, c->nr_filters,
               c->nr_mix);
    }
    printf("wrote %s\n", out);
    pcnn_chain_free(ch);
    return 0;
}
