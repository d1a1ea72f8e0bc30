/*
 * cmd_export.c -- `pixelcnn export`: a model's weights without its
 * training state, for deployment (a quarter of the checkpoint's size).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn export --checkpoint FILE --out FILE [--weights ema|raw]\n"
    "\n"
    "Writes the model of a training checkpoint (its config and one set of\n"
    "weights, no optimizer state or EMA copy) as a checkpoint that every\n"
    "command reads (atomically; docs/checkpoint.md). It cannot be resumed.\n";

int cmd_export(int argc, char **argv)
{
    const char *cmd = "export", *in = NULL, *out = NULL, *weights = NULL;
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &in, "FILE",
                     "a checkpoint written by pixelcnn train"),
        CLI_STRING_F("--out", &out, "FILE", "the model file"),
        CLI_CHOICE_F("--weights", &weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
    };
    cli_cmd p = CLI_CMD(cmd, usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!in || !out) {
        fprintf(stderr, "pixelcnn export: give --checkpoint and --out\n");
        return 2;
    }
    /* onto its own input, the export would drop the training state */
    if (cli_same_file(in, out)) {
        fprintf(stderr,
                "pixelcnn export: --out %s is the input %s itself: writing "
                "it would drop the training state; give another --out\n",
                out, in);
        return 2;
    }
    rc = cli_check_output(cmd, "--out", out);
    if (rc)
        return rc;
    int has_trainer = 0;
    pcnn_model *m = NULL;
    pcnn_status s = pcnn_checkpoint_read_state(in, NULL, NULL, NULL,
                                               &has_trainer);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn export: %s\n", pcnn_last_error());
        return 1;
    }
    const int ema = cli_use_ema(cmd, weights, in, has_trainer);
    if (ema < 0)
        return 2;
    s = pcnn_checkpoint_load_model(in, ema, &m);
    if (s == PCNN_OK)
        s = pcnn_checkpoint_save(out, m, NULL);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn export: %s\n", pcnn_last_error());
        pcnn_model_free(m);
        return 1;
    }
    size_t n;
    pcnn_model_params(m, &n);
    printf("wrote %s: %zu parameters (%s weights of %s)\n", out, n,
           ema ? "EMA" : "raw", in);
    pcnn_model_free(m);
    return 0;
}
