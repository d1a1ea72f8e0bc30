/*
 * idx.c -- fuzz target: the IDX loader (src/data/idx.c), plain or gzip as
 * the bytes say (magic 1f 8b): the input is an images file, optionally
 * followed by FUZZ_SEP and a labels file (util.h).
 */
#include "util.h"
#include "pixelcnn.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *img, *lab;
    size_t ni, nl;
    fuzz_split(data, size, &img, &ni, &lab, &nl);
    const char *ip = fuzz_write("images-idx3-ubyte", img, ni);
    char images[512];
    snprintf(images, sizeof images, "%s", ip);
    const char *labels = lab ? fuzz_write("labels-idx1-ubyte", lab, nl)
                             : NULL;
    pcnn_dataset d;
    if (pcnn_dataset_load_idx(images, labels, &d) == PCNN_OK) {
        if (d.c != 1 || d.n < 1 || (labels && !d.labels) ||
            (labels && (d.num_classes < 1 || d.num_classes > 256)))
            abort();
        for (int64_t i = 0; labels && i < d.n; i++)
            if (d.labels[i] < 0 || d.labels[i] >= d.num_classes)
                abort();
        pcnn_dataset_free(&d);
    }
    return 0;
}
