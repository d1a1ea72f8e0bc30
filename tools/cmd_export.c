/*
 * cmd_export.c -- `pixelcnn export`: a model's weights without its
 * training state, for deployment (a quarter of the checkpoint's size, an
 * eighth with --storage f16 or bf16), or a chain file's weights in
 * another storage type.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn export --checkpoint FILE --out FILE [--weights ema|raw]\n"
    "                       [--storage f32|f16|bf16]\n"
    "\n"
    "Writes the model of a checkpoint (its config and one set of weights,\n"
    "no optimizer state or EMA copy) as a checkpoint that every command\n"
    "reads (atomically; docs/checkpoint.md). It cannot be resumed. A chain\n"
    "file is written again as a chain file, its weights stored as\n"
    "--storage. f16 and bf16 halve the file; loading converts them back to\n"
    "float32 (docs/checkpoint.md, \"Storage\").\n";

/* The --storage name as a pcnn_storage (the parser checked the name). */
pcnn_storage cli_storage(const char *name)
{
    if (name && !strcmp(name, "f16"))
        return PCNN_STORAGE_F16;
    if (name && !strcmp(name, "bf16"))
        return PCNN_STORAGE_BF16;
    return PCNN_STORAGE_F32;
}

static int export_chain(const char *in, const char *out, const char *weights,
                        pcnn_storage st)
{
    if (weights) {
        fprintf(stderr, "pixelcnn export: --weights does not apply to the "
                        "chain file %s (it holds one set of weights)\n", in);
        return 2;
    }
    pcnn_chain *c = NULL;
    pcnn_status s = pcnn_chain_load(in, 0, &c);
    if (s == PCNN_OK)
        s = pcnn_chain_save_as(out, c, st);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn export: %s\n", pcnn_last_error());
        pcnn_chain_free(c);
        return 1;
    }
    printf("wrote %s: the %d stages of %s\n", out, pcnn_chain_stages(c), in);
    pcnn_chain_free(c);
    return 0;
}

static int export_model(const char *in, const char *out, const char *weights,
                        pcnn_storage st)
{
    int has_trainer = 0;
    pcnn_model *m = NULL;
    pcnn_status s = pcnn_checkpoint_read_state(in, NULL, NULL, NULL,
                                               &has_trainer);
    if (s != PCNN_OK) {
        fprintf(stderr, "pixelcnn export: %s\n", pcnn_last_error());
        return 1;
    }
    const int ema = cli_use_ema("export", weights, in, has_trainer);
    if (ema < 0)
        return 2;
    s = pcnn_checkpoint_load_model(in, ema, &m);
    if (s == PCNN_OK)
        s = pcnn_model_save(out, m, st);
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

int cmd_export(int argc, char **argv)
{
    const char *cmd = "export", *in = NULL, *out = NULL, *weights = NULL,
               *storage = NULL;
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &in, "FILE",
                     "a checkpoint (pixelcnn train or export) or a chain "
                     "file"),
        CLI_STRING_F("--out", &out, "FILE", "the model file"),
        CLI_CHOICE_F("--weights", &weights, "ema raw", "W",
                     "ema (default, when the file has them) or raw"),
        CLI_CHOICE_F("--storage", &storage, "f32 f16 bf16", "T",
                     "how the weights are stored (default f32)"),
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
    pcnn_file_kind kind;
    if (pcnn_file_kind_read(in, &kind) != PCNN_OK) {
        fprintf(stderr, "pixelcnn export: %s\n", pcnn_last_error());
        return 1;
    }
    return kind == PCNN_FILE_CHAIN
               ? export_chain(in, out, weights, cli_storage(storage))
               : export_model(in, out, weights, cli_storage(storage));
}
