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
    printf("%sconfig          nr_resnet %d, nr_filters %d, ", indent,
           c->nr_resnet, c->nr_filters);
    if (c->head == PCNN_HEAD_DMOL)
        printf("nr_mix %d, ", c->nr_mix);
    printf("nr_resolutions %d, dropout %g\n", c->nr_resolutions,
           (double)c->dropout);
    printf("%sconditioning    %d classes, %d condition channels", indent,
           c->num_classes, c->cond_channels);
    if (c->cond_nr_filters)
        printf(" through a network of %d resnets x %d filters",
               c->cond_nr_resnet, c->cond_nr_filters);
    if (c->cond_down)
        printf(" per level, %d halving%s down and up", c->cond_down,
               c->cond_down > 1 ? "s" : "");
    if (c->cond_dilate)
        printf(", dilated");
    printf("\n%smodels          %s%s%s\n", indent,
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
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--checkpoint")) {
            if (!(ckpt = cli_str_arg("info", argc, argv, &i)))
                return 2;
        } else {
            return cli_bad_flag("info", argv[i]);
        }
    }
    if (!ckpt) {
        fprintf(stderr, "pixelcnn info: --checkpoint FILE is required\n");
        return 2;
    }
    pcnn_file_kind kind;
    int rc = cli_file_kind("info", ckpt, NULL, &kind);
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
