/* cmd_info.c -- `pixelcnn info`: what a checkpoint holds. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: pixelcnn info --checkpoint FILE\n"
    "\n"
    "Prints the model config, the parameter count and the training state\n"
    "(step, epoch, optimizer settings) of a checkpoint.\n";

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
    pcnn_model_config c;
    pcnn_train_opts o;
    pcnn_train_state st;
    int has_trainer;
    pcnn_model *m = NULL;
    if (pcnn_checkpoint_read_state(ckpt, &c, &o, &st, &has_trainer) !=
            PCNN_OK ||
        pcnn_checkpoint_load_model(ckpt, 0, &m) != PCNN_OK) {
        fprintf(stderr, "pixelcnn info: %s\n", pcnn_last_error());
        return 1;
    }
    size_t n;
    pcnn_model_params(m, &n);
    printf("checkpoint      %s\n", ckpt);
    printf("model           PixelCNN++, %dx%dx%d images\n", c.channels,
           c.height, c.width);
    printf("config          nr_resnet %d, nr_filters %d, nr_mix %d, "
           "nr_resolutions %d, dropout %g\n",
           c.nr_resnet, c.nr_filters, c.nr_mix, c.nr_resolutions,
           (double)c.dropout);
    printf("conditioning    %d classes, %d condition channels\n",
           c.num_classes, c.cond_channels);
    printf("parameters      %zu in %d tensors (%.1f MB float32)\n", n,
           pcnn_model_param_count(m), (double)n * 4 / 1e6);
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
    pcnn_model_free(m);
    return 0;
}
