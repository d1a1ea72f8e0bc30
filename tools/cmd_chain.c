/*
 * cmd_chain.c -- `pixelcnn chain`: join stage checkpoints into one chain
 * file (docs/chains.md).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn chain --out FILE [--weights ema|raw] [--storage T]\n"
    "                      STAGE0 STAGE1 ...\n"
    "\n"
    "Joins the checkpoints of a chain's stages (trained with pixelcnn train\n"
    "--view/--cond-view or --chain ... --stage K), first stage first, into\n"
    "one chain file that pixelcnn eval, sample and info read. Checks that\n"
    "the stages fit: each is conditioned on the view the one before it\n"
    "models, and the last models the image itself.\n";

int cli_load_stages(const char *const *paths, int n, const char *weights,
                    pcnn_model **m)
{
    pcnn_status s = PCNN_OK;
    int rc = 0;
    for (int i = 0; !rc && s == PCNN_OK && i < n; i++) {
        int has_trainer = 0;
        s = pcnn_checkpoint_read_state(paths[i], NULL, NULL, NULL,
                                       &has_trainer);
        int ema = s == PCNN_OK
                      ? cli_use_ema("chain", weights, paths[i], has_trainer)
                      : 0;
        if (ema < 0)
            rc = 2;
        else if (s == PCNN_OK)
            s = pcnn_checkpoint_load_model(paths[i], ema, &m[i]);
    }
    if (!rc && s != PCNN_OK) {
        fprintf(stderr, "pixelcnn chain: %s\n", pcnn_last_error());
        rc = 1;
    }
    for (int i = 0; rc && i < n; i++) {
        pcnn_model_free(m[i]);
        m[i] = NULL;
    }
    return rc;
}

int cmd_chain(int argc, char **argv)
{
    const char *cmd = "chain", *out = NULL, *weights = NULL, *storage = NULL;
    const char *paths[PCNN_MAX_STAGES];
    int n = 0;
    cli_flag flags[] = {
        CLI_STRING_F("--out", &out, "FILE",
                     "the chain file (written atomically)"),
        CLI_CHOICE_F("--weights", &weights, "ema raw", "W",
                     "ema (default, when a file has them) or raw"),
        CLI_CHOICE_F("--storage", &storage, "f32 f16 bf16", "T",
                     "how the weights are stored: f32 (default), or f16 or "
                     "bf16 in half the bytes (docs/checkpoint.md)"),
        CLI_ARGS_F("stages", paths, &n, PCNN_MAX_STAGES, "STAGE ...",
                   "the stage checkpoints, first stage first"),
    };
    cli_cmd p = CLI_CMD(cmd, usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
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
    rc = cli_check_output(cmd, "--out", out);
    if (rc)
        return rc;
    pcnn_model *m[PCNN_MAX_STAGES] = {0};
    if ((rc = cli_load_stages(paths, n, weights, m)))
        return rc;
    pcnn_status s;
    pcnn_chain *ch = NULL;
    s = pcnn_chain_create(&ch, m, n); /* frees the models on failure */
    if (s == PCNN_OK)
        s = pcnn_chain_save_as(out, ch, cli_storage(storage));
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
