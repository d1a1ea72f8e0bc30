/* cmd_info.c -- `pixelcnn info`: what a checkpoint holds. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn info --checkpoint FILE\n"
    "\n"
    "Prints the model config, the parameter count and the training state\n"
    "(step, epoch, optimizer settings) of a checkpoint; for a chain file,\n"
    "each stage's config.\n";

/* "config" lines: every scalar field of the config (its checkpoint key
 * and value, PCNN_MODEL_CONFIG_FIELDS), wrapped at 78 columns. */
static void print_config(const char *indent, const pcnn_model_config *c)
{
    const int col = (int)strlen(indent) + 16;
    int x = printf("%sconfig          ", indent);
    for (int i = 0; i < cli_config_nfields; i++) {
        const cli_config_field *f = &cli_config_fields[i];
        const double v = cli_config_value(c, f);
        char item[96];
        if (!strcmp(f->name, "head"))
            snprintf(item, sizeof item, "head %s",
                     (int)v == PCNN_HEAD_DMOL ? "dmol" : "categorical");
        else
            snprintf(item, sizeof item, "%s %g", f->name, v);
        const int len = (int)strlen(item) + (i + 1 < cli_config_nfields);
        if (x > col && x + 1 + len > 78)
            x = printf("\n%*s", col, "") - 1;
        x += printf("%s%s%s", x > col ? " " : "", item,
                    i + 1 < cli_config_nfields ? "," : "");
    }
    printf("\n");
}

/* The model lines of one stage or checkpoint. */
static void describe(const char *indent, const pcnn_model *m)
{
    const pcnn_model_config *c = pcnn_model_get_config(m);
    char v1[96], v2[96];
    size_t n;
    pcnn_model_params((pcnn_model *)m, &n);
    printf("%smodel           PixelCNN++, %dx%dx%d images, %s head (%d "
           "levels)\n",
           indent, c->channels, c->height, c->width,
           c->head == PCNN_HEAD_DMOL ? "logistic mixture" : "categorical",
           c->levels);
    print_config(indent, c);
    printf("%smodels          %s%s%s\n", indent,
           pcnn_view_str(&c->view, v1, sizeof v1),
           c->cond_channels ? " given " : "",
           c->cond_channels ? pcnn_view_str(&c->cond_view, v2, sizeof v2)
                            : "");
    printf("%sparameters      %zu in %d tensors (%.1f MB float32)\n", indent,
           n, pcnn_model_param_count(m), (double)n * 4 / 1e6);
}

int cmd_info(int argc, char **argv)
{
    const char *ckpt = NULL;
    cli_flag flags[] = {
        CLI_STRING_F("--checkpoint", &ckpt, "FILE",
                     "a checkpoint (pixelcnn train) or a chain file "
                     "(pixelcnn chain)",
                     .required = 1),
    };
    cli_cmd p = CLI_CMD("info", usage, NULL, flags);
    int rc = cli_parse(&p, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    pcnn_file_kind kind;
    rc = cli_file_kind("info", ckpt, NULL, &kind);
    if (rc)
        return rc;
    pcnn_train_opts o;
    pcnn_train_state st;
    int has_trainer = 0;
    pcnn_chain *ch = NULL;
    if ((kind == PCNN_FILE_CHECKPOINT &&
         pcnn_checkpoint_read_state(ckpt, NULL, &o, &st, &has_trainer) !=
             PCNN_OK) ||
        pcnn_chain_load(ckpt, 0, &ch) != PCNN_OK) {
        fprintf(stderr, "pixelcnn info: %s\n", pcnn_last_error());
        return 1;
    }
    if (kind == PCNN_FILE_CHAIN) {
        printf("chain file      %s, %d stages\n", ckpt,
               pcnn_chain_stages(ch));
        for (int i = 0; i < pcnn_chain_stages(ch); i++) {
            printf("stage %d\n", i);
            describe("  ", pcnn_chain_stage(ch, i));
        }
        pcnn_chain_free(ch);
        return 0;
    }
    printf("checkpoint      %s\n", ckpt);
    describe("", pcnn_chain_stage(ch, 0));
    if (has_trainer) {
        printf("training        step %llu, epoch %llu, position %lld\n",
               (unsigned long long)st.step, (unsigned long long)st.epoch,
               (long long)st.pos);
        printf("optimizer       Adam lr %g (decay %g/step), betas %g %g, "
               "EMA %g, batch %d, seed %llu\n",
               (double)o.lr, (double)o.lr_decay, (double)o.beta1,
               (double)o.beta2, (double)o.ema, o.batch,
               (unsigned long long)o.seed);
    } else {
        printf("training        none saved (weights only)\n");
    }
    pcnn_chain_free(ch);
    return 0;
}
