/*
 * cifar.c -- the CIFAR-10 binary version (Krizhevsky 2009, "Learning
 * Multiple Layers of Features from Tiny Images", and its web page):
 * each file is a sequence of 3073-byte records, one label byte (0-9) then
 * the 1024 red, 1024 green and 1024 blue bytes of a 32x32 image, each
 * plane row-major. That is already our (c, h, w) layout, so a record's
 * last 3072 bytes are copied as they are.
 */
#include "data_internal.h"
#include "../core/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_CLASSES 10
#define CIFAR_TRAIN_BATCHES 5

/* Records read at a time: the file streams through this buffer into the
 * data set, so only the output is ever held whole. */
#define CIFAR_CHUNK 256

/* Appends the records of the file at path to *out (grown with realloc;
 * out->n counts the records so far). */
static pcnn_status cifar_append(const char *path, pcnn_dataset *out)
{
    FILE *f;
    size_t size;
    PCNN_TRY(pcnn_open_regular(path, &f, &size));
    pcnn_status s = PCNN_OK;
    if (size == 0)
        s = pcnn_fail(PCNN_ERR_FORMAT, "%s: empty file (no CIFAR-10 "
                      "records)", path);
    else if (size % CIFAR_RECORD != 0)
        s = pcnn_fail(PCNN_ERR_FORMAT,
                      "%s: size %zu is not a multiple of the CIFAR-10 "
                      "record size %d (truncated or not CIFAR-10 binary)",
                      path, size, CIFAR_RECORD);
    /* grow the output */
    const uintmax_t records = (uintmax_t)size / CIFAR_RECORD;
    const size_t old = (size_t)out->n;
    int of = records > SIZE_MAX - old;
    const size_t n = old + (size_t)records;
    const size_t img_bytes = pcnn_mul_size(n, CIFAR_PIXELS, &of);
    const size_t lab_bytes = pcnn_mul_size(n, sizeof(int32_t), &of);
    if (s == PCNN_OK && (of || n > INT64_MAX))
        s = pcnn_fail(PCNN_ERR_NOMEM, "%s: too many records in all", path);
    if (s == PCNN_OK) {
        uint8_t *images = realloc(out->images, img_bytes);
        if (images)
            out->images = images;
        int32_t *labels = images ? realloc(out->labels, lab_bytes) : NULL;
        if (labels)
            out->labels = labels;
        if (!images || !labels)
            s = pcnn_fail(PCNN_ERR_NOMEM, "%s: cannot allocate %zu images",
                          path, n);
    }
    uint8_t *chunk = s == PCNN_OK ? malloc(CIFAR_CHUNK * CIFAR_RECORD) : NULL;
    if (s == PCNN_OK && !chunk)
        s = pcnn_fail(PCNN_ERR_NOMEM, "out of memory");
    for (size_t r = 0; s == PCNN_OK && r < records; r += CIFAR_CHUNK) {
        const size_t k = records - r < CIFAR_CHUNK ? records - r
                                                   : CIFAR_CHUNK;
        if (fread(chunk, CIFAR_RECORD, k, f) != k) {
            s = pcnn_fail(PCNN_ERR_IO, "%s: read error at record %zu%s",
                          path, r, feof(f) ? " (file shrank)" : "");
            break;
        }
        for (size_t q = 0; q < k; q++) {
            const uint8_t *rec = chunk + q * CIFAR_RECORD;
            if (rec[0] >= CIFAR_CLASSES) {
                s = pcnn_fail(PCNN_ERR_FORMAT,
                              "%s: record %zu has label %u (CIFAR-10 labels "
                              "are 0-9)",
                              path, r + q, (unsigned)rec[0]);
                break;
            }
            out->labels[old + r + q] = rec[0];
            memcpy(out->images + (old + r + q) * CIFAR_PIXELS, rec + 1,
                   CIFAR_PIXELS);
        }
    }
    if (s == PCNN_OK && fgetc(f) != EOF)
        s = pcnn_fail(PCNN_ERR_IO, "%s: the file grew while being read",
                      path);
    free(chunk);
    fclose(f);
    if (s == PCNN_OK)
        out->n = (int64_t)n;
    return s;
}

/* Appends dir/name; PCNN_ERR_NOMEM when the path cannot be made. */
static pcnn_status cifar_append_in(const char *dir, const char *name,
                                   pcnn_dataset *out)
{
    char *path = pcnn_data_join(dir, name);
    if (!path)
        return pcnn_fail(PCNN_ERR_NOMEM, "out of memory");
    pcnn_status s = cifar_append(path, out);
    free(path);
    return s;
}

/* Loads the split from the directory dir into out. */
static pcnn_status cifar_load_dir(const char *dir, const char *split,
                                  pcnn_dataset *out)
{
    if (!split)
        return pcnn_fail(PCNN_ERR_ARG, "%s: a directory needs a split "
                         "(\"train\" or \"test\")", dir);
    if (strcmp(split, "test") == 0)
        return cifar_append_in(dir, "test_batch.bin", out);
    if (strcmp(split, "train") != 0)
        return pcnn_fail(PCNN_ERR_ARG, "unknown CIFAR-10 split \"%.40s\" "
                         "(expected \"train\" or \"test\")", split);
    int found = 0;
    for (int k = 1; k <= CIFAR_TRAIN_BATCHES; k++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", k);
        char *path = pcnn_data_join(dir, name);
        if (!path)
            return pcnn_fail(PCNN_ERR_NOMEM, "out of memory");
        struct stat st;
        pcnn_status s = PCNN_OK;
        if (stat(path, &st) == 0) {
            found++;
            s = cifar_append(path, out);
        }
        free(path);
        if (s != PCNN_OK)
            return s;
    }
    if (!found)
        return pcnn_fail(PCNN_ERR_IO, "%s: no CIFAR-10 training file "
                         "(data_batch_1.bin .. data_batch_%d.bin)",
                         dir, CIFAR_TRAIN_BATCHES);
    return PCNN_OK;
}

pcnn_status pcnn_dataset_load_cifar10(const char *path, const char *split,
                                      pcnn_dataset *out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_dataset_load_cifar10: out is "
                         "NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_dataset_load_cifar10: path is "
                         "NULL");
    struct stat st;
    if (stat(path, &st) != 0)
        return pcnn_fail(PCNN_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    pcnn_status s = S_ISDIR(st.st_mode) ? cifar_load_dir(path, split, out)
                                        : cifar_append(path, out);
    if (s != PCNN_OK) {
        pcnn_dataset_free(out);
        return s;
    }
    out->c = 3;
    out->h = CIFAR_SIDE;
    out->w = CIFAR_SIDE;
    out->num_classes = CIFAR_CLASSES;
    return PCNN_OK;
}
