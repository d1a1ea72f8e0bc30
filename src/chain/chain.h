/* chain.h -- the chain object (pixelcnn.h, docs/chains.md). */
#ifndef PCNN_CHAIN_CHAIN_H
#define PCNN_CHAIN_CHAIN_H

#include "../core/internal.h"

struct pcnn_chain {
    int n;
    pcnn_model *m[PCNN_MAX_STAGES];
};

#endif
