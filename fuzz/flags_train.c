/* flags_train.c -- `pixelcnn train`'s flag parser (tools/train_flags.c)
 * for the flags target. */
#include "../tools/train_flags.h"
#include "flags.h"

#include <stdlib.h>

int fuzz_train_parse(int argc, char **argv)
{
    /* the defaults of cmd_train, with data that never loads */
    train_args a = train_defaults();
    a.data = "fashion-mnist:/nonexistent";
    int rc = train_parse(argc, argv, &a);
    if (rc == 0 && a.chain && (a.stage < 0 || a.stage >= PCNN_MAX_STAGES))
        abort();
    /* the model flags took values the model accepts */
    if (rc == 0 && (a.cfg.nr_resnet < 1 || a.cfg.nr_resnet > 64 ||
                    !(a.cfg.dropout >= 0 && a.cfg.dropout <= 0.99f) ||
                    a.cfg.cond_dilate < 0 || a.cfg.cond_dilate > 1))
        abort();
    return rc;
}
