/*
 * cifar.c -- fuzz target: the CIFAR-10 binary loader (src/data/cifar.c),
 * the input as a single .bin file and as data_batch_1.bin of a folder
 * loaded with split "train" (the scratch folder holds nothing else).
 */
#include "util.h"
#include "pixelcnn.h"

#include <stdlib.h>

static void check(const pcnn_dataset *d)
{
    if (d->c != 3 || d->h != 32 || d->w != 32 || d->num_classes != 10)
        abort();
    for (int64_t i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] > 9)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pcnn_dataset d;
    const char *path = fuzz_write("data_batch_1.bin", data, size);
    if (pcnn_dataset_load_cifar10(path, NULL, &d) == PCNN_OK) {
        check(&d);
        pcnn_dataset_free(&d);
    }
    if (pcnn_dataset_load_cifar10(fuzz_dir(), "train", &d) == PCNN_OK) {
        check(&d);
        pcnn_dataset_free(&d);
    }
    return 0;
}
