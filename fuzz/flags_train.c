/* flags_train.c -- tools/cmd_train.c's parse() for the flags target. */
#include "../tools/cmd_train.c"
#include "flags.h"

int fuzz_train_parse(int argc, char **argv)
{
    /* the defaults of cmd_train, with data that never loads */
    train_args a = train_defaults();
    a.data = "fashion-mnist:/nonexistent";
    int rc = parse(argc, argv, &a);
    if (rc == 0 && a.chain && (a.stage < 0 || a.stage >= PCNN_MAX_STAGES))
        abort();
    /* the model flags took values the model accepts */
    if (rc == 0 && (a.cfg.nr_resnet < 1 || a.cfg.nr_resnet > 64 ||
                    !(a.cfg.dropout >= 0 && a.cfg.dropout <= 0.99f) ||
                    a.cfg.cond_dilate < 0 || a.cfg.cond_dilate > 1))
        abort();
    return rc;
}
