/*
 * dataset.c -- the pcnn_dataset object: checked allocation, free, subset,
 * gather, its fingerprint, and the whole-file reader the loaders share.
 */
#include "data_internal.h"
#include "../core/internal.h"
#include "../core/rng.h"

#include <string.h>

char *pcnn_data_join(const char *dir, const char *name)
{
    const size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

pcnn_status pcnn_data_read_file(const char *path, uint8_t **buf,
                                size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f;
    size_t size;
    PCNN_TRY(pcnn_open_regular(path, &f, &size));
    uint8_t *b = NULL;
    if (size > 0 && !(b = malloc(size))) {
        fclose(f);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                         path, size);
    }
    const size_t got = size ? fread(b, 1, size, f) : 0;
    /* one more byte tells a file that grew since fstat */
    const int grew = fgetc(f) != EOF;
    const int bad = ferror(f);
    fclose(f);
    if (got != size || grew || bad) {
        free(b);
        return pcnn_fail(PCNN_ERR_IO, "%s: read error (%zu of %zu bytes%s)",
                         path, got, size,
                         grew ? ", file changed while reading" : "");
    }
    *buf = b;
    *len = size;
    return PCNN_OK;
}

/* n * c * h * w and c * h * w in size_t, each dim >= 1. */
static pcnn_status data_sizes(const char *what, int64_t n, int64_t c,
                              int64_t h, int64_t w, size_t *item,
                              size_t *total)
{
    *item = *total = 0;
    if (n < 1 || c < 1 || h < 1 || w < 1)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: data set dims (%lld, %lld, %lld, %lld) must "
                         "all be >= 1",
                         what, (long long)n, (long long)c, (long long)h,
                         (long long)w);
    int of = 0;
    if ((uint64_t)n > SIZE_MAX || (uint64_t)c > SIZE_MAX ||
        (uint64_t)h > SIZE_MAX || (uint64_t)w > SIZE_MAX)
        of = 1;
    size_t it = pcnn_mul_size((size_t)c, (size_t)h, &of);
    it = pcnn_mul_size(it, (size_t)w, &of);
    size_t tot = pcnn_mul_size(it, (size_t)n, &of);
    /* int32 labels for n items, too */
    pcnn_mul_size((size_t)n, sizeof(int32_t), &of);
    if (of)
        return pcnn_fail(PCNN_ERR_NOMEM,
                         "%s: data set (%lld, %lld, %lld, %lld) is too large",
                         what, (long long)n, (long long)c, (long long)h,
                         (long long)w);
    *item = it;
    *total = tot;
    return PCNN_OK;
}

pcnn_status pcnn_data_check(const pcnn_dataset *d, const char *what,
                            size_t *item_bytes, size_t *total_bytes)
{
    if (!d || !d->images)
        return pcnn_fail(PCNN_ERR_ARG, "%s: no data set (NULL images)",
                         what);
    if (d->labels && d->num_classes < 1)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: labels present but num_classes is %d", what,
                         d->num_classes);
    return data_sizes(what, d->n, d->c, d->h, d->w, item_bytes,
                      total_bytes);
}

pcnn_status pcnn_data_alloc(pcnn_dataset *d, int64_t n, int64_t c, int64_t h,
                            int64_t w, int labeled)
{
    memset(d, 0, sizeof *d);
    size_t item = 0, total = 0;
    pcnn_status s = data_sizes("data set", n, c, h, w, &item, &total);
    if (s != PCNN_OK)
        return s;
    d->images = malloc(total);
    d->labels = labeled ? malloc((size_t)n * sizeof(int32_t)) : NULL;
    if (!d->images || (labeled && !d->labels)) {
        pcnn_dataset_free(d);
        return pcnn_fail(PCNN_ERR_NOMEM,
                         "cannot allocate a data set of %lld images "
                         "(%zu bytes)",
                         (long long)n, total);
    }
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    return PCNN_OK;
}

void pcnn_dataset_free(pcnn_dataset *d)
{
    if (!d)
        return;
    free(d->images);
    free(d->labels);
    free(d->cond);
    memset(d, 0, sizeof *d);
}

pcnn_status pcnn_dataset_from_memory(const uint8_t *images, int64_t n,
                                     int64_t c, int64_t h, int64_t w,
                                     const int32_t *labels, int num_classes,
                                     pcnn_dataset *out)
{
    static const char fn[] = "pcnn_dataset_from_memory";
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "%s: out is NULL", fn);
    memset(out, 0, sizeof *out);
    if (!images)
        return pcnn_fail(PCNN_ERR_ARG, "%s: images is NULL", fn);
    if (labels ? num_classes < 1 : num_classes != 0)
        return pcnn_fail(PCNN_ERR_ARG,
                         "%s: num_classes is %d %s labels (want %s)", fn,
                         num_classes, labels ? "with" : "without",
                         labels ? ">= 1" : "0");
    size_t item, total;
    PCNN_TRY(data_sizes(fn, n, c, h, w, &item, &total));
    pcnn_dataset d;
    PCNN_TRY(pcnn_data_alloc(&d, n, c, h, w, labels != NULL));
    for (int64_t i = 0; labels && i < n; i++)
        if (labels[i] < 0 || labels[i] >= num_classes) {
            pcnn_dataset_free(&d);
            return pcnn_fail(PCNN_ERR_VALUE,
                             "%s: labels[%lld] = %d is not in [0, %d)", fn,
                             (long long)i, (int)labels[i], num_classes);
        }
    memcpy(d.images, images, total);
    if (labels) {
        memcpy(d.labels, labels, (size_t)n * sizeof *labels);
        d.num_classes = num_classes;
    }
    *out = d;
    return PCNN_OK;
}

static uint64_t rotl64(uint64_t x, int r) { return x << r | x >> (64 - r); }

/* h and n bytes folded together: four independent lanes take a
 * little-endian word each per 32 bytes (xor, rotate, multiply by an odd
 * constant: each step a bijection of the lane, so a changed word changes
 * the lane), then the lanes and the tail through SplitMix64's mixer. Not
 * cryptographic: it tells data sets apart, not adversaries. */
static uint64_t fold_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    uint64_t lane[4] = {h, h ^ 0x9e3779b97f4a7c15ULL, ~h, h + 1};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++) {
            const uint8_t *q = p + i + 8 * k;
            uint64_t w = 0;
            for (int b = 7; b >= 0; b--)
                w = w << 8 | q[b];
            lane[k] = rotl64(lane[k] ^ w, 29) * 0xbf58476d1ce4e5b9ULL;
        }
    uint64_t r = pcnn_hash64(h, n);
    for (int k = 0; k < 4; k++)
        r = pcnn_hash64(r, lane[k]);
    for (; i < n; i++)
        r = pcnn_hash64(r, p[i]);
    return r;
}

uint64_t pcnn_dataset_fingerprint(const pcnn_dataset *d)
{
    if (!d)
        return 1;
    const uint64_t dims[] = {(uint64_t)d->n,      (uint64_t)d->c,
                             (uint64_t)d->h,      (uint64_t)d->w,
                             (uint64_t)d->num_classes,
                             d->labels != NULL,   d->cond != NULL,
                             (uint64_t)d->cond_c, (uint64_t)d->cond_h,
                             (uint64_t)d->cond_w, (uint64_t)d->cond_levels};
    uint64_t h = 0x70636e6e64617461ULL; /* "pcnndata" */
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
        h = pcnn_hash64(h, dims[k]);
    if (d->images && d->n > 0)
        h = fold_bytes(h, d->images, (size_t)(d->n * d->c * d->h * d->w));
    for (int64_t i = 0; d->labels && i < d->n; i++)
        h = pcnn_hash64(h, (uint32_t)d->labels[i]);
    if (d->cond && d->n > 0)
        h = fold_bytes(h, d->cond,
                       (size_t)(d->n * d->cond_c * d->cond_h * d->cond_w));
    return h ? h : 1;
}

pcnn_status pcnn_dataset_subset(const pcnn_dataset *d, int64_t start,
                                int64_t count, pcnn_dataset *out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_dataset_subset: out is NULL");
    size_t item, total;
    pcnn_status s = pcnn_data_check(d, "pcnn_dataset_subset", &item, &total);
    if (s == PCNN_OK && (start < 0 || count < 1 || start > d->n - count))
        s = pcnn_fail(PCNN_ERR_ARG,
                      "pcnn_dataset_subset: items [%lld, %lld + %lld) are "
                      "not within [0, %lld) or the range is empty",
                      (long long)start, (long long)start, (long long)count,
                      (long long)d->n);
    pcnn_dataset sub;
    if (s == PCNN_OK)
        s = pcnn_data_alloc(&sub, count, d->c, d->h, d->w, d->labels != NULL);
    if (s != PCNN_OK) {
        if (out != d)
            memset(out, 0, sizeof *out);
        return s;
    }
    memcpy(sub.images, d->images + (size_t)start * item,
           (size_t)count * item);
    if (d->labels)
        memcpy(sub.labels, d->labels + start,
               (size_t)count * sizeof *sub.labels);
    sub.num_classes = d->num_classes;
    if (d->cond) {
        const size_t ci = (size_t)(d->cond_c * d->cond_h * d->cond_w);
        sub.cond = malloc((size_t)count * ci);
        if (!sub.cond) {
            pcnn_dataset_free(&sub);
            if (out != d)
                memset(out, 0, sizeof *out);
            return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_dataset_subset: out of "
                                             "memory");
        }
        memcpy(sub.cond, d->cond + (size_t)start * ci, (size_t)count * ci);
        sub.cond_c = d->cond_c, sub.cond_h = d->cond_h;
        sub.cond_w = d->cond_w, sub.cond_levels = d->cond_levels;
    }
    if (out == d)
        pcnn_dataset_free(out);
    *out = sub;
    return PCNN_OK;
}

pcnn_status pcnn_dataset_gather(const pcnn_dataset *d, const int64_t *idx,
                                int64_t count, uint8_t *images,
                                int32_t *labels)
{
    size_t item, total;
    pcnn_status s = pcnn_data_check(d, "pcnn_dataset_gather", &item, &total);
    if (s != PCNN_OK)
        return s;
    if (count < 0 || (count > 0 && (!idx || !images)))
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_dataset_gather: count %lld < 0, or NULL idx "
                         "or images",
                         (long long)count);
    if (labels && !d->labels)
        return pcnn_fail(PCNN_ERR_ARG,
                         "pcnn_dataset_gather: labels requested from a data "
                         "set without labels");
    for (int64_t k = 0; k < count; k++)
        if (idx[k] < 0 || idx[k] >= d->n)
            return pcnn_fail(PCNN_ERR_VALUE,
                             "pcnn_dataset_gather: idx[%lld] = %lld is not "
                             "in [0, %lld)",
                             (long long)k, (long long)idx[k],
                             (long long)d->n);
    for (int64_t k = 0; k < count; k++) {
        memcpy(images + (size_t)k * item, d->images + (size_t)idx[k] * item,
               item);
        if (labels)
            labels[k] = d->labels[idx[k]];
    }
    return PCNN_OK;
}

pcnn_status pcnn_dataset_gather_cond(const pcnn_dataset *d,
                                     const int64_t *idx, int64_t count,
                                     uint8_t *cond)
{
    static const char fn[] = "pcnn_dataset_gather_cond";
    size_t item, total;
    PCNN_TRY(pcnn_data_check(d, fn, &item, &total));
    if (!d->cond)
        return pcnn_fail(PCNN_ERR_ARG, "%s: the data set has no condition "
                                       "images",
                         fn);
    if (count < 0 || (count > 0 && (!idx || !cond)))
        return pcnn_fail(PCNN_ERR_ARG, "%s: count %lld < 0, or NULL idx or "
                                       "cond",
                         fn, (long long)count);
    const size_t ci = (size_t)(d->cond_c * d->cond_h * d->cond_w);
    for (int64_t k = 0; k < count; k++) {
        if (idx[k] < 0 || idx[k] >= d->n)
            return pcnn_fail(PCNN_ERR_VALUE,
                             "%s: idx[%lld] = %lld is not in [0, %lld)", fn,
                             (long long)k, (long long)idx[k],
                             (long long)d->n);
        memcpy(cond + (size_t)k * ci, d->cond + (size_t)idx[k] * ci, ci);
    }
    return PCNN_OK;
}
