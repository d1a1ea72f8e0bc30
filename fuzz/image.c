/*
 * image.c -- fuzz target: image files through the loading wrapper around
 * stb_image (src/data/folder.c): pcnn_image_load (the file at its own
 * size, as colorize reads it), pcnn_dataset_load_image (cropped and
 * resized, as complete --image and upscale read it, at a side of 1..40
 * that depends on the input's length) and pcnn_dataset_load_folder on a
 * folder holding just this file (train --data folder:DIR).
 */
#include "util.h"
#include "pixelcnn.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("image.png", data, size);
    pcnn_dataset d;
    if (pcnn_image_load(path, 3, &d) == PCNN_OK) {
        if (d.n != 1 || d.c != 3 || d.h < 1 || d.w < 1)
            abort();
        pcnn_dataset_free(&d);
    }
    const int side = 1 + (int)(size % 40);
    if (pcnn_dataset_load_image(path, 1, side, &d) == PCNN_OK) {
        if (d.n != 1 || d.c != 1 || d.h != side || d.w != side)
            abort();
        pcnn_dataset_free(&d);
    }
    if (pcnn_dataset_load_folder(fuzz_dir(), 3, 8, &d) == PCNN_OK) {
        if (d.n != 1 || d.c != 3 || d.h != 8 || d.w != 8)
            abort();
        pcnn_dataset_free(&d);
    }
    return 0;
}
