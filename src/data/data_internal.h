/*
 * data_internal.h -- what the data set files share: paths, whole-file
 * reading, and the checked allocation of a data set. Not part of the
 * public API.
 */
#ifndef PCNN_DATA_INTERNAL_H
#define PCNN_DATA_INTERNAL_H

#include "dataset.h"

#include <stddef.h>
#include <stdint.h>

/* dir + "/" + name, malloc'd (caller frees); NULL when out of memory. */
char *pcnn_data_join(const char *dir, const char *name);

/* *buf (*len bytes, malloc'd, caller frees) = the whole regular file at
 * path. PCNN_ERR_IO naming the file when it cannot be opened, is not a
 * regular file or cannot be read; PCNN_ERR_NOMEM. An empty file gives
 * *buf == NULL, *len == 0 and PCNN_OK. */
pcnn_status pcnn_data_read_file(const char *path, uint8_t **buf,
                                size_t *len);

/* The bytes of one image of d (c*h*w) and of all of them (n*c*h*w), after
 * checking that d is a valid data set: images present, every dim >= 1,
 * sizes that fit in size_t, num_classes >= 1 when labels is present
 * (label values are not scanned: O(n) per call). `what` names
 * the argument in messages. PCNN_ERR_ARG or PCNN_ERR_NOMEM on failure. */
pcnn_status pcnn_data_check(const pcnn_dataset *d, const char *what,
                            size_t *item_bytes, size_t *total_bytes);

/* Makes *d an (n, c, h, w) data set with uninitialized images, and labels
 * when labeled; every dim must be >= 1 (else PCNN_ERR_ARG). Sizes are
 * checked for overflow (PCNN_ERR_NOMEM). *d is zeroed on failure. */
pcnn_status pcnn_data_alloc(pcnn_dataset *d, int64_t n, int64_t c, int64_t h,
                            int64_t w, int labeled);

/* Decoding an image file in memory (image_decode.c, stb_image compiled
 * in): PNG, JPEG, BMP or binary PGM/PPM. Returns the pixels (h, w, comp)
 * interleaved, 8 bits, for pcnn_image_free; or NULL and *why, stb's
 * reason. pcnn_image_info: 1 and the size from the header alone, or 0. */
uint8_t *pcnn_image_decode(const uint8_t *buf, size_t len, int *w, int *h,
                           int *comp, const char **why);
int pcnn_image_info(const uint8_t *buf, size_t len, int *w, int *h);
void pcnn_image_free(uint8_t *img);

#endif
