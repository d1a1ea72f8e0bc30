/*
 * cmd_chain.c -- `pixelcnn chain`: join stage checkpoints into one chain
 * file (docs/chains.md).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn chain --out FILE [--weights ema|raw] [--storage T]\n"
    "                      [--below CHAIN] STAGE0 STAGE1 ...\n"
    "\n"
    "Joins the checkpoints of a chain's stages (trained with pixelcnn train\n"
    "--view/--cond-view or --chain ... --stage K), first stage first, into\n"
    "one chain file that pixelcnn eval, sample and info read. Checks that\n"
    "the stages fit: each is conditioned on the view the one before it\n"
    "models, and the last models the image itself (or, in a color chain\n"
    "of a model of L(x) and a colorizer, the chroma: pixelcnn compress\n"
    "codes x with them, docs/compression.md).\n"
    "\n"
    "--below CHAIN puts the stages of a chain file first, each of its views\n"
    "taken of half(X) instead of X: a chain trained at size S becomes the\n"
    "lower stages of a chain at 2S, and the stages given add the top.\n";

/* Stage i of chain c as a model of the same weights whose views are taken
 * of half(X): view half^h(...) becomes half^(h+1)(...), likewise its
 * condition. A Lab view does not commute with halving (Lab is not
 * linear), so it is refused. */
static int lift_stage(const char *path, pcnn_chain *c, int i, pcnn_model **out)
{
    pcnn_model *m = pcnn_chain_stage(c, i);
    pcnn_model_config cfg = *pcnn_model_get_config(m);
    if (cfg.view.lab || cfg.cond_view.lab) {
        fprintf(stderr, "pixelcnn chain: --below %s: stage %d has a Lab view, "
                        "which cannot be taken of half(X)\n", path, i);
        return 2;
    }
    if (cfg.view.halvings >= 6 || cfg.cond_view.halvings >= 6) {
        fprintf(stderr, "pixelcnn chain: --below %s: stage %d already halves "
                        "6 times, the most a view can\n", path, i);
        return 2;
    }
    cfg.view.halvings++;
    if (cfg.cond_channels)
        cfg.cond_view.halvings++;
    if (pcnn_model_create(out, &cfg, 0) != PCNN_OK) {
        fprintf(stderr, "pixelcnn chain: --below %s: %s\n", path,
                pcnn_last_error());
        return 1;
    }
    size_t n_src = 0, n_dst = 0;
    const float *src = pcnn_model_params(m, &n_src);
    float *dst = pcnn_model_params(*out, &n_dst);
    if (n_src != n_dst) { /* the views do not shape the network */
        fprintf(stderr, "pixelcnn chain: --below %s: stage %d changed its "
                        "parameter count when lifted\n", path, i);
        pcnn_model_free(*out);
        *out = NULL;
        return 1;
    }
    memcpy(dst, src, n_src * sizeof *src);
    return 0;
}

/* The stages of chain file `path`, lifted (lift_stage), into m[0..):
 * their count in *n, or a nonzero exit code. */
static int load_below(const char *path, int room, pcnn_model **m, int *n)
{
    pcnn_chain *c = NULL;
    if (pcnn_chain_load(path, 0, &c) != PCNN_OK) {
        fprintf(stderr, "pixelcnn chain: --below %s: %s\n", path,
                pcnn_last_error());
        return 1;
    }
    int k = pcnn_chain_stages(c), rc = 0;
    if (k > room) {
        fprintf(stderr, "pixelcnn chain: --below %s: %d stages and the ones "
                        "given make more than %d\n", path, k, PCNN_MAX_STAGES);
        rc = 2;
    }
    for (int i = 0; !rc && i < k; i++)
        rc = lift_stage(path, c, i, &m[i]);
    for (int i = 0; rc && i < k; i++) {
        pcnn_model_free(m[i]);
        m[i] = NULL;
    }
    pcnn_chain_free(c);
    *n = rc ? 0 : k;
    return rc;
}

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
    const char *below = NULL;
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
        CLI_STRING_F("--below", &below, "CHAIN",
                     "a chain file whose stages, each view taken of half(X), "
                     "go below the stages given"),
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
    pcnn_model *m[2 * PCNN_MAX_STAGES] = {0};
    int nb = 0;
    if (below && (rc = load_below(below, PCNN_MAX_STAGES - n, m, &nb)))
        return rc;
    if ((rc = cli_load_stages(paths, n, weights, m + nb))) {
        for (int i = 0; i < nb; i++)
            pcnn_model_free(m[i]);
        return rc;
    }
    n += nb;
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
