/*
 * chain.c -- fuzz target: a chain file as pixelcnn sample, eval, upscale
 * and info read it (pcnn_chain_load, src/train/checkpoint.c and
 * src/chain/chain.c), with the raw and the EMA weights; a model
 * checkpoint is a chain of one stage.
 */
#include "util.h"
#include "pixelcnn.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("chain.safetensors", data, size);
    for (int ema = 0; ema < 2; ema++) {
        pcnn_chain *c = NULL;
        if (pcnn_chain_load(path, ema, &c) != PCNN_OK)
            continue;
        const int n = pcnn_chain_stages(c);
        if (n < 1 || n > PCNN_MAX_STAGES)
            abort();
        for (int i = 0; i < n; i++) {
            const pcnn_model_config *mc =
                pcnn_model_get_config(pcnn_chain_stage(c, i));
            char buf[96];
            pcnn_view_str(&mc->view, buf, sizeof buf);
            pcnn_chain_stage_tightens(c, i);
        }
        pcnn_chain_free(c);
    }
    return 0;
}
