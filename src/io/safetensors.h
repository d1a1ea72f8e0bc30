/*
 * safetensors.h -- reading and writing safetensors files (internal API).
 *
 * The format (https://github.com/huggingface/safetensors):
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   a UTF-8 JSON object, optionally right-padded with spaces:
 *               { "__metadata__": { "key": "value", ... },      optional
 *                 "<name>": { "dtype": "F32",
 *                             "shape": [2, 3],
 *                             "data_offsets": [begin, end] }, ... }
 *   the rest  the data section; tensor bytes (little-endian, row-major)
 *             lie at [begin, end) relative to its start.
 *
 * The reader trusts nothing in the file. It rejects, with PCNN_ERR_FORMAT
 * and a one-line message naming the file and the problem: a header length
 * beyond the file or above PCNN_ST_MAX_HEADER (16 MB), JSON that is invalid (json.h) or not
 * an object, duplicate names, unknown fields or dtypes, shapes or offsets
 * that are not non-negative integers, more than PCNN_ST_MAX_DIMS dims,
 * shape sizes that overflow or disagree with end - begin, offsets outside
 * the data section, tensors that overlap, a data section not exactly
 * covered by the tensors (gaps or trailing bytes), metadata values that
 * are not strings, and names or metadata containing a NUL character.
 *
 * The writer lays the data out so that every tensor is aligned to its
 * element size within the file (tensors ordered by element size, largest
 * first; the header padded with spaces to a multiple of 8 bytes) and
 * writes the header's entries in insertion order.
 *
 * Byte order: the data of a tensor is stored and returned as raw bytes,
 * which the format defines as little-endian; pcnn_st_copy_f32/_f64 decode
 * them portably. Nothing here prints or exits.
 */
#ifndef PCNN_IO_SAFETENSORS_H
#define PCNN_IO_SAFETENSORS_H

#include "pixelcnn.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PCNN_ST_MAX_DIMS 8
/* The largest header accepted. The reference implementation allows 100 MB,
 * but the parsed JSON tree takes up to ~40x the header's size, and a
 * checkpoint's header (a few thousand tensors) is well under 1 MB: 16 MB
 * keeps a hostile file's parse below 1 GB. */
#define PCNN_ST_MAX_HEADER 16000000u

typedef enum {
    PCNN_ST_BOOL = 0,
    PCNN_ST_U8,
    PCNN_ST_I8,
    PCNN_ST_F8_E5M2,
    PCNN_ST_F8_E4M3,
    PCNN_ST_I16,
    PCNN_ST_U16,
    PCNN_ST_F16,
    PCNN_ST_BF16,
    PCNN_ST_I32,
    PCNN_ST_U32,
    PCNN_ST_F32,
    PCNN_ST_I64,
    PCNN_ST_U64,
    PCNN_ST_F64,
    PCNN_ST_DTYPE_COUNT
} pcnn_st_dtype;

/* "F32" etc.; NULL for an invalid dtype. */
const char *pcnn_st_dtype_name(pcnn_st_dtype t);
/* Bytes per element; 0 for an invalid dtype. */
size_t pcnn_st_dtype_size(pcnn_st_dtype t);
/* The dtype named s[0..n); 0 when it is unknown, else 1 and *out set. */
int pcnn_st_dtype_parse(const char *s, size_t n, pcnn_st_dtype *out);

/* A tensor of a parsed file. All pointers are owned by the file. */
typedef struct {
    const char *name;               /* NUL-terminated UTF-8 */
    pcnn_st_dtype dtype;
    int ndim;                       /* 0 (a scalar) .. PCNN_ST_MAX_DIMS */
    int64_t shape[PCNN_ST_MAX_DIMS]; /* unused dims are 0 */
    size_t numel;                   /* product of the shape (1 if ndim 0) */
    const void *data;               /* nbytes raw bytes; may be unaligned */
    size_t nbytes;
    size_t offset;                  /* begin, relative to the data section */
} pcnn_st_tensor;

typedef struct pcnn_st_file pcnn_st_file;

/* ------------------------------------------------------------- reading */

/* Parses the safetensors file in buf[0..len) into *out (NULL on failure).
 * The file BORROWS buf: tensor data points into it, so buf must outlive
 * *out. `what` names the buffer in messages (a path, say); it is copied.
 * PCNN_ERR_FORMAT for a malformed file, PCNN_ERR_NOMEM, PCNN_ERR_ARG. */
pcnn_status pcnn_st_parse(const void *buf, size_t len, const char *what,
                          pcnn_st_file **out);
/* Reads the whole file at path and parses it; the result owns the bytes.
 * PCNN_ERR_IO when the file cannot be read, else as pcnn_st_parse. */
pcnn_status pcnn_st_load(const char *path, pcnn_st_file **out);
/* Frees f and, for a loaded file, its bytes. NULL is fine. */
void pcnn_st_free(pcnn_st_file *f);

/* The name given for messages (the path for pcnn_st_load). */
const char *pcnn_st_what(const pcnn_st_file *f);
/* The number of tensors, and the i-th in name order (byte-wise strcmp). */
size_t pcnn_st_count(const pcnn_st_file *f);
const pcnn_st_tensor *pcnn_st_at(const pcnn_st_file *f, size_t i);
/* The tensor called name, or NULL. O(log n). */
const pcnn_st_tensor *pcnn_st_find(const pcnn_st_file *f, const char *name);

/* The metadata value for key, or NULL. */
const char *pcnn_st_meta(const pcnn_st_file *f, const char *key);
/* The number of metadata pairs, and the i-th in key order. */
size_t pcnn_st_meta_count(const pcnn_st_file *f);
void pcnn_st_meta_at(const pcnn_st_file *f, size_t i, const char **key,
                     const char **value);

/* Decodes tensor t of file f (dtype F32, F64, F16 or BF16) into dst,
 * which holds n elements; n must equal t->numel. Conversions round to
 * nearest. PCNN_ERR_FORMAT (naming file and tensor) for another dtype or
 * a different count. */
pcnn_status pcnn_st_copy_f32(const pcnn_st_file *f, const pcnn_st_tensor *t,
                             float *dst, size_t n);
pcnn_status pcnn_st_copy_f64(const pcnn_st_file *f, const pcnn_st_tensor *t,
                             double *dst, size_t n);

/* ------------------------------------------------------------- writing */

typedef struct pcnn_st_writer pcnn_st_writer;

pcnn_status pcnn_st_writer_create(pcnn_st_writer **out);
void pcnn_st_writer_free(pcnn_st_writer *w);

/* Adds a tensor: a non-NULL, valid UTF-8 name without NUL characters,
 * unique, and not "__metadata__"; ndim 0..PCNN_ST_MAX_DIMS, dims >= 0;
 * data holds numel * dtype size bytes in little-endian order (may be NULL
 * when that is 0). The name and shape are copied; data is BORROWED until
 * the last write. PCNN_ERR_ARG for a bad argument, PCNN_ERR_NOMEM. */
pcnn_status pcnn_st_writer_add(pcnn_st_writer *w, const char *name,
                               pcnn_st_dtype dtype, int ndim,
                               const int64_t *shape, const void *data);
/* Adds a metadata pair (both copied; valid UTF-8, unique key). */
pcnn_status pcnn_st_writer_meta(pcnn_st_writer *w, const char *key,
                                const char *value);

/* Writes the file to fp; `what` names it in messages. PCNN_ERR_IO when a
 * write fails. fp is neither flushed nor closed. */
pcnn_status pcnn_st_writer_write(const pcnn_st_writer *w, FILE *fp,
                                 const char *what);
/* Writes the file into a new buffer *buf of *len bytes (free() it). */
pcnn_status pcnn_st_writer_to_mem(const pcnn_st_writer *w, void **buf,
                                  size_t *len);
/* Writes the file to path via a new temp file next to it ("<path>.tmp.
 * PID.N", created with O_EXCL, so two writers never share one), fsync and
 * a rename, so a reader never sees a half-written file. */
pcnn_status pcnn_st_writer_save(const pcnn_st_writer *w, const char *path);

#endif
