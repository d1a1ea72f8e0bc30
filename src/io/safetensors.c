/*
 * safetensors.c -- the safetensors reader and writer; see safetensors.h.
 *
 * Reading is: header length -> JSON (json.c) -> one pass over the top-level
 * members that checks each tensor on its own (fields, dtype, shape, size,
 * offsets) -> sorts by name for lookups and duplicate names -> sorts by
 * offset to check that the tensors tile the data section exactly, as the
 * reference implementation requires.
 */
#include "safetensors.h"
#include "json.h"
#include "../core/internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define TRY(expr)                                                             \
    do {                                                                      \
        pcnn_status try_s_ = (expr);                                          \
        if (try_s_ != PCNN_OK)                                                \
            return try_s_;                                                    \
    } while (0)

static const struct {
    const char *name;
    size_t size;
} dtypes[PCNN_ST_DTYPE_COUNT] = {
    [PCNN_ST_BOOL] = {"BOOL", 1},       [PCNN_ST_U8] = {"U8", 1},
    [PCNN_ST_I8] = {"I8", 1},           [PCNN_ST_F8_E5M2] = {"F8_E5M2", 1},
    [PCNN_ST_F8_E4M3] = {"F8_E4M3", 1}, [PCNN_ST_I16] = {"I16", 2},
    [PCNN_ST_U16] = {"U16", 2},         [PCNN_ST_F16] = {"F16", 2},
    [PCNN_ST_BF16] = {"BF16", 2},       [PCNN_ST_I32] = {"I32", 4},
    [PCNN_ST_U32] = {"U32", 4},         [PCNN_ST_F32] = {"F32", 4},
    [PCNN_ST_I64] = {"I64", 8},         [PCNN_ST_U64] = {"U64", 8},
    [PCNN_ST_F64] = {"F64", 8},
};

const char *pcnn_st_dtype_name(pcnn_st_dtype t)
{
    return (unsigned)t < PCNN_ST_DTYPE_COUNT ? dtypes[t].name : NULL;
}

size_t pcnn_st_dtype_size(pcnn_st_dtype t)
{
    return (unsigned)t < PCNN_ST_DTYPE_COUNT ? dtypes[t].size : 0;
}

int pcnn_st_dtype_parse(const char *s, size_t n, pcnn_st_dtype *out)
{
    for (int t = 0; t < PCNN_ST_DTYPE_COUNT; t++)
        if (strlen(dtypes[t].name) == n && memcmp(dtypes[t].name, s, n) == 0) {
            *out = (pcnn_st_dtype)t;
            return 1;
        }
    return 0;
}

/* A name from the file, made safe for a one-line message: at most 60
 * bytes, control characters shown as '?'. */
typedef struct {
    char s[72];
} shown;

static shown show(const char *name)
{
    shown r;
    size_t k = 0;
    for (; name[k] && k < 60; k++)
        r.s[k] = (unsigned char)name[k] < 0x20 ? '?' : name[k];
    if (name[k])
        memcpy(r.s + k, "...", 4);
    else
        r.s[k] = '\0';
    return r;
}

/* "an object", "a number", ... for messages. */
static const char *a_type(pcnn_json_type t)
{
    switch (t) {
    case PCNN_JSON_ARRAY: return "an array";
    case PCNN_JSON_OBJECT: return "an object";
    case PCNN_JSON_NULL: return "null";
    case PCNN_JSON_NUMBER: return "a number";
    case PCNN_JSON_STRING: return "a string";
    default: return "a boolean";
    }
}

/* "(2,3,4)" */
static shown shape_text(const int64_t *shape, int ndim)
{
    shown r;
    size_t k = 0;
    r.s[k++] = '(';
    for (int i = 0; i < ndim && k < sizeof r.s - 24; i++)
        k += (size_t)snprintf(r.s + k, sizeof r.s - k, "%s%lld",
                              i ? "," : "", (long long)shape[i]);
    snprintf(r.s + k, sizeof r.s - k, ")");
    return r;
}

/* --------------------------------------------------------------- reader */

typedef struct {
    const char *key, *value;
} meta_pair;

struct pcnn_st_file {
    char *what;
    void *owned; /* the file bytes, for pcnn_st_load */
    pcnn_json_doc *json; /* owns every name, key and value string */
    size_t count;
    pcnn_st_tensor *tensors; /* by name */
    size_t nmeta;
    meta_pair *meta; /* by key */
};

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

/* An element of shape or data_offsets: a non-negative integer. */
static int get_index(const pcnn_json *v, uint64_t *out)
{
    if (v->type != PCNN_JSON_NUMBER || !v->is_int || v->ival < 0)
        return 0;
    *out = (uint64_t)v->ival;
    return 1;
}

/* Checks the entry m (a top-level member other than __metadata__) and
 * fills t; data/data_len is the data section. */
static pcnn_status parse_entry(const char *what, const pcnn_json *m,
                               const unsigned char *data, size_t data_len,
                               pcnn_st_tensor *t)
{
    const shown nm = show(m->key);
    const pcnn_json *fdtype = NULL, *fshape = NULL, *foffs = NULL;
    if (m->type != PCNN_JSON_OBJECT)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' is %s, not an "
                                          "object",
                         what, nm.s, a_type(m->type));
    for (const pcnn_json *f = m->child; f; f = f->next) {
        const pcnn_json **slot = NULL;
        if (strcmp(f->key, "dtype") == 0)
            slot = &fdtype;
        else if (strcmp(f->key, "shape") == 0)
            slot = &fshape;
        else if (strcmp(f->key, "data_offsets") == 0)
            slot = &foffs;
        if (!slot || f->key_len != strlen(f->key))
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' has an "
                                              "unknown field '%s'",
                             what, nm.s, show(f->key).s);
        if (*slot)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' has field "
                                              "'%s' twice",
                             what, nm.s, f->key);
        *slot = f;
    }
    if (!fdtype || !fshape || !foffs)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' has no '%s'",
                         what, nm.s,
                         !fdtype ? "dtype" : !fshape ? "shape"
                                                     : "data_offsets");
    if (fdtype->type != PCNN_JSON_STRING ||
        !pcnn_st_dtype_parse(fdtype->str, fdtype->len, &t->dtype))
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' has unknown "
                                          "dtype %s%s%s",
                         what, nm.s,
                         fdtype->type == PCNN_JSON_STRING ? "'" : "(",
                         fdtype->type == PCNN_JSON_STRING
                             ? show(fdtype->str).s
                             : a_type(fdtype->type),
                         fdtype->type == PCNN_JSON_STRING ? "'" : ")");
    if (fshape->type != PCNN_JSON_ARRAY)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s': shape is %s, "
                                          "not an array",
                         what, nm.s, a_type(fshape->type));
    if (fshape->count > PCNN_ST_MAX_DIMS)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' has %zu dims, at "
                                          "most %d are supported",
                         what, nm.s, fshape->count, PCNN_ST_MAX_DIMS);
    /* numel * size computed with overflow checks in uint64_t */
    uint64_t bytes = dtypes[t->dtype].size, numel = 1;
    int overflow = 0;
    t->ndim = (int)fshape->count;
    const pcnn_json *e = fshape->child;
    for (int i = 0; i < t->ndim; i++, e = e->next) {
        uint64_t d;
        if (!get_index(e, &d))
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s': shape "
                                              "element %d is not a "
                                              "non-negative integer",
                             what, nm.s, i);
        t->shape[i] = (int64_t)d;
        if (d && numel > UINT64_MAX / d)
            overflow = 1;
        numel *= d;
    }
    if (overflow || numel > SIZE_MAX || (numel && bytes > UINT64_MAX / numel))
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s': the size of "
                                          "shape %s overflows",
                         what, nm.s, shape_text(t->shape, t->ndim).s);
    bytes *= numel;
    t->numel = (size_t)numel;
    uint64_t begin, end;
    if (foffs->type != PCNN_JSON_ARRAY || foffs->count != 2 ||
        !get_index(foffs->child, &begin) ||
        !get_index(foffs->child->next, &end))
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s': data_offsets "
                                          "must be two non-negative "
                                          "integers",
                         what, nm.s);
    if (begin > end || end > data_len)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s': data_offsets "
                                          "[%llu, %llu] do not lie within "
                                          "the %zu-byte data section",
                         what, nm.s, (unsigned long long)begin,
                         (unsigned long long)end, data_len);
    if (bytes != end - begin)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s': shape %s of %s "
                                          "is %llu bytes but data_offsets "
                                          "[%llu, %llu] hold %llu",
                         what, nm.s, shape_text(t->shape, t->ndim).s,
                         dtypes[t->dtype].name, (unsigned long long)bytes,
                         (unsigned long long)begin, (unsigned long long)end,
                         (unsigned long long)(end - begin));
    t->name = m->key;
    t->offset = (size_t)begin;
    t->nbytes = (size_t)bytes;
    t->data = data + begin;
    return PCNN_OK;
}

/* Reads the __metadata__ object m into f->meta. */
static pcnn_status parse_meta(pcnn_st_file *f, const pcnn_json *m)
{
    if (m->type != PCNN_JSON_OBJECT)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: __metadata__ is %s, not an "
                                          "object",
                         f->what, a_type(m->type));
    f->meta = calloc(m->count ? m->count : 1, sizeof *f->meta);
    if (!f->meta)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", f->what);
    for (const pcnn_json *e = m->child; e; e = e->next) {
        if (e->type != PCNN_JSON_STRING)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: metadata '%s' is %s, "
                                              "not a string",
                             f->what, show(e->key).s,
                             a_type(e->type));
        if (strlen(e->key) != e->key_len || strlen(e->str) != e->len)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: metadata '%s' contains a "
                                              "NUL character",
                             f->what, show(e->key).s);
        f->meta[f->nmeta].key = e->key;
        f->meta[f->nmeta].value = e->str;
        f->nmeta++;
    }
    return PCNN_OK;
}

static int tensor_by_name(const void *a, const void *b)
{
    return strcmp(((const pcnn_st_tensor *)a)->name,
                  ((const pcnn_st_tensor *)b)->name);
}

static int meta_by_key(const void *a, const void *b)
{
    return strcmp(((const meta_pair *)a)->key, ((const meta_pair *)b)->key);
}

/* Orders tensor pointers by (offset, end) to walk the data section. */
static int tensor_by_offset(const void *a, const void *b)
{
    const pcnn_st_tensor *x = *(const pcnn_st_tensor *const *)a;
    const pcnn_st_tensor *y = *(const pcnn_st_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes)
        return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

/* The tensors, sorted by offset, must tile [0, data_len) with no gap,
 * overlap or trailing byte. */
static pcnn_status check_coverage(const pcnn_st_file *f, size_t data_len)
{
    const pcnn_st_tensor **order =
        malloc((f->count ? f->count : 1) * sizeof *order);
    if (!order)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", f->what);
    for (size_t i = 0; i < f->count; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->count, sizeof *order, tensor_by_offset);
    size_t at = 0;
    pcnn_status s = PCNN_OK;
    for (size_t i = 0; i < f->count && s == PCNN_OK; i++) {
        const pcnn_st_tensor *t = order[i];
        if (t->offset < at)
            s = pcnn_fail(PCNN_ERR_FORMAT, "%s: tensors '%s' and '%s' "
                                           "overlap in the data section",
                          f->what, show(order[i - 1]->name).s,
                          show(t->name).s);
        else if (t->offset > at)
            s = pcnn_fail(PCNN_ERR_FORMAT, "%s: data bytes [%zu, %zu) "
                                           "belong to no tensor (a gap "
                                           "before '%s')",
                          f->what, at, t->offset, show(t->name).s);
        at = t->offset + t->nbytes;
    }
    if (s == PCNN_OK && at != data_len)
        s = pcnn_fail(PCNN_ERR_FORMAT, "%s: %zu trailing bytes after the "
                                       "last tensor (data section of %zu "
                                       "bytes)",
                      f->what, data_len - at, data_len);
    free(order);
    return s;
}

/* Everything after the header length: JSON, entries, duplicates, tiling. */
static pcnn_status parse_header(pcnn_st_file *f, const unsigned char *p,
                                size_t len, size_t hlen)
{
    const unsigned char *data = p + 8 + hlen;
    const size_t data_len = len - 8 - hlen;
    size_t wlen = strlen(f->what) + sizeof ": header";
    char *jwhat = malloc(wlen);
    if (!jwhat)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", f->what);
    snprintf(jwhat, wlen, "%s: header", f->what);
    pcnn_status s =
        pcnn_json_parse((const char *)p + 8, hlen, jwhat, &f->json);
    free(jwhat);
    if (s != PCNN_OK)
        return s;
    const pcnn_json *root = pcnn_json_root(f->json);
    if (root->type != PCNN_JSON_OBJECT)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: header is JSON %s, not an "
                                          "object",
                         f->what, a_type(root->type));
    f->tensors = calloc(root->count ? root->count : 1, sizeof *f->tensors);
    if (!f->tensors)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", f->what);
    for (const pcnn_json *m = root->child; m; m = m->next) {
        if (strlen(m->key) != m->key_len)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: a tensor name contains a "
                                              "NUL character",
                             f->what);
        if (strcmp(m->key, "__metadata__") == 0) {
            if (f->meta)
                return pcnn_fail(PCNN_ERR_FORMAT, "%s: duplicate "
                                                  "__metadata__",
                                 f->what);
            TRY(parse_meta(f, m));
            continue;
        }
        TRY(parse_entry(f->what, m, data, data_len,
                                &f->tensors[f->count]));
        f->count++;
    }
    qsort(f->tensors, f->count, sizeof *f->tensors, tensor_by_name);
    for (size_t i = 1; i < f->count; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: duplicate tensor name "
                                              "'%s'",
                             f->what, show(f->tensors[i].name).s);
    if (f->nmeta) /* f->meta is NULL without metadata */
        qsort(f->meta, f->nmeta, sizeof *f->meta, meta_by_key);
    for (size_t i = 1; i < f->nmeta; i++)
        if (strcmp(f->meta[i - 1].key, f->meta[i].key) == 0)
            return pcnn_fail(PCNN_ERR_FORMAT, "%s: duplicate metadata key "
                                              "'%s'",
                             f->what, show(f->meta[i].key).s);
    return check_coverage(f, data_len);
}

/* The header length of a file of `size` bytes that starts with p[0..8),
 * bounded as pcnn_st_parse bounds it: checked before the file is read. */
static pcnn_status check_header_length(const char *path,
                                       const unsigned char *p, size_t size)
{
    const uint64_t hlen = get_le64(p);
    if (hlen > PCNN_ST_MAX_HEADER)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: header length %llu exceeds "
                                          "the limit of %u bytes",
                         path, (unsigned long long)hlen, PCNN_ST_MAX_HEADER);
    if (hlen > size - 8)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: header length %llu exceeds "
                                          "the %zu bytes that follow it "
                                          "(truncated file?)",
                         path, (unsigned long long)hlen, size - 8);
    return PCNN_OK;
}

pcnn_status pcnn_st_parse(const void *buf, size_t len, const char *what,
                          pcnn_st_file **out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_parse: out is NULL");
    *out = NULL;
    if (!what)
        what = "safetensors buffer";
    if (!buf && len)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_parse: %s: buffer is NULL",
                         what);
    const unsigned char *p = buf;
    if (len < 8)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: %zu bytes, too short for the "
                                          "8-byte header length",
                         what, len);
    TRY(check_header_length(what, p, len));
    const uint64_t hlen = get_le64(p);
    pcnn_st_file *f = calloc(1, sizeof *f);
    if (f)
        f->what = malloc(strlen(what) + 1);
    if (!f || !f->what) {
        free(f);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", what);
    }
    strcpy(f->what, what);
    pcnn_status s = parse_header(f, p, len, (size_t)hlen);
    if (s != PCNN_OK) {
        pcnn_st_free(f);
        return s;
    }
    *out = f;
    return PCNN_OK;
}

pcnn_status pcnn_st_load(const char *path, pcnn_st_file **out)
{
    if (!out || !path)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_load: NULL argument");
    *out = NULL;
    FILE *fp;
    size_t n;
    PCNN_TRY(pcnn_open_regular(path, &fp, &n));
    /* the header length first: a file whose header cannot fit is refused
     * before its bytes are read */
    unsigned char head[8];
    if (n < 8) {
        fclose(fp);
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: %zu bytes, too short for the "
                                          "8-byte header length",
                         path, n);
    }
    pcnn_status s = fread(head, 1, 8, fp) == 8
                        ? check_header_length(path, head, n)
                        : pcnn_fail(PCNN_ERR_IO, "%s: read error", path);
    unsigned char *buf = s == PCNN_OK ? malloc(n) : NULL;
    if (s == PCNN_OK && !buf)
        s = pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory for %zu bytes",
                      path, n);
    if (s != PCNN_OK) {
        fclose(fp);
        return s;
    }
    memcpy(buf, head, 8);
    const size_t got = 8 + fread(buf + 8, 1, n - 8, fp);
    /* one more byte tells a file that grew since fstat */
    const int grew = fgetc(fp) != EOF;
    const int err = ferror(fp);
    fclose(fp);
    if (got != n || err || grew) {
        free(buf);
        return pcnn_fail(PCNN_ERR_IO, "%s: read %zu of %zu bytes%s", path, got,
                         n, err ? " (read error)"
                            : grew ? " (the file changed while being read)"
                                   : " (file shrank?)");
    }
    s = pcnn_st_parse(buf, n, path, out);
    if (s != PCNN_OK) {
        free(buf);
        return s;
    }
    (*out)->owned = buf;
    return PCNN_OK;
}

void pcnn_st_free(pcnn_st_file *f)
{
    if (!f)
        return;
    pcnn_json_free(f->json);
    free(f->tensors);
    free(f->meta);
    free(f->owned);
    free(f->what);
    free(f);
}

const char *pcnn_st_what(const pcnn_st_file *f) { return f ? f->what : ""; }

size_t pcnn_st_count(const pcnn_st_file *f) { return f ? f->count : 0; }

const pcnn_st_tensor *pcnn_st_at(const pcnn_st_file *f, size_t i)
{
    return f && i < f->count ? &f->tensors[i] : NULL;
}

const pcnn_st_tensor *pcnn_st_find(const pcnn_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    pcnn_st_tensor key = {.name = name};
    return bsearch(&key, f->tensors, f->count, sizeof key, tensor_by_name);
}

const char *pcnn_st_meta(const pcnn_st_file *f, const char *key)
{
    if (!f || !key || !f->nmeta)
        return NULL;
    meta_pair k = {key, NULL};
    const meta_pair *m =
        bsearch(&k, f->meta, f->nmeta, sizeof k, meta_by_key);
    return m ? m->value : NULL;
}

size_t pcnn_st_meta_count(const pcnn_st_file *f) { return f ? f->nmeta : 0; }

void pcnn_st_meta_at(const pcnn_st_file *f, size_t i, const char **key,
                     const char **value)
{
    const int ok = f && i < f->nmeta;
    if (key)
        *key = ok ? f->meta[i].key : NULL;
    if (value)
        *value = ok ? f->meta[i].value : NULL;
}

/* ------------------------------------------------------ decoding floats */

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int k = bytes - 1; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

/* IEEE half to double: exact (every half is a double). */
static double half_value(unsigned h)
{
    const unsigned e = (h >> 10) & 0x1F, m = h & 0x3FF;
    double v;
    if (e == 0)
        v = ldexp((double)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp((double)(m | 0x400), (int)e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Element i of a float tensor as a double: exact for every dtype. */
static double float_elem(const pcnn_st_tensor *t, size_t i)
{
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case PCNN_ST_F64: {
        uint64_t u = get_le(p + 8 * i, 8);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    case PCNN_ST_F32: {
        uint32_t u = (uint32_t)get_le(p + 4 * i, 4);
        float x;
        memcpy(&x, &u, sizeof x);
        return x;
    }
    case PCNN_ST_BF16: {
        uint32_t u = (uint32_t)get_le(p + 2 * i, 2) << 16;
        float x;
        memcpy(&x, &u, sizeof x);
        return x;
    }
    default: /* PCNN_ST_F16 */
        return half_value((unsigned)get_le(p + 2 * i, 2));
    }
}

static pcnn_status check_float(const pcnn_st_file *f, const pcnn_st_tensor *t,
                               size_t n, const void *dst)
{
    if (!f || !t || (!dst && n))
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_copy: NULL argument");
    if (t->dtype != PCNN_ST_F32 && t->dtype != PCNN_ST_F64 &&
        t->dtype != PCNN_ST_F16 && t->dtype != PCNN_ST_BF16)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' has dtype %s, "
                                          "expected a float type",
                         f->what, show(t->name).s, dtypes[t->dtype].name);
    if (t->numel != n)
        return pcnn_fail(PCNN_ERR_FORMAT, "%s: tensor '%s' has %zu elements "
                                          "(shape %s), expected %zu",
                         f->what, show(t->name).s, t->numel,
                         shape_text(t->shape, t->ndim).s, n);
    return PCNN_OK;
}

pcnn_status pcnn_st_copy_f32(const pcnn_st_file *f, const pcnn_st_tensor *t,
                             float *dst, size_t n)
{
    pcnn_status s = check_float(f, t, n, dst);
    if (s != PCNN_OK)
        return s;
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)float_elem(t, i);
    return PCNN_OK;
}

pcnn_status pcnn_st_copy_f64(const pcnn_st_file *f, const pcnn_st_tensor *t,
                             double *dst, size_t n)
{
    pcnn_status s = check_float(f, t, n, dst);
    if (s != PCNN_OK)
        return s;
    for (size_t i = 0; i < n; i++)
        dst[i] = float_elem(t, i);
    return PCNN_OK;
}
