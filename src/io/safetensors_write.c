/*
 * safetensors_write.c -- the safetensors writer; see safetensors.h.
 *
 * Layout: the header lists metadata first, then the tensors in insertion
 * order; the data section holds the tensors ordered by element size,
 * largest first (insertion order among equals). As the header is padded
 * to a multiple of 8 bytes, every tensor then starts at a file offset
 * that is a multiple of its element size, and the tensors tile the data
 * section with no gap, which the reader (and the reference reader)
 * require.
 */
#include "safetensors.h"
#include "json.h"
#include "../core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *name;
    pcnn_st_dtype dtype;
    int ndim;
    int64_t shape[PCNN_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} wtensor;

struct pcnn_st_writer {
    wtensor *t;
    size_t n, cap;
    char **key, **value;
    size_t nmeta, meta_cap;
};

pcnn_status pcnn_st_writer_create(pcnn_st_writer **out)
{
    if (!out)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_writer_create: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? PCNN_OK
                : pcnn_fail(PCNN_ERR_NOMEM, "pcnn_st_writer_create: out of "
                                            "memory");
}

void pcnn_st_writer_free(pcnn_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->t[i].name);
    for (size_t i = 0; i < w->nmeta; i++) {
        free(w->key[i]);
        free(w->value[i]);
    }
    free(w->t);
    free(w->key);
    free(w->value);
    free(w);
}

static char *dup_str(const char *s)
{
    const size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Grows *p (elements of `size` bytes, capacity *cap) to hold n + 1. */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 1;
    const size_t nc = *cap ? 2 * *cap : 16;
    if (nc > SIZE_MAX / size)
        return 0;
    void *q = realloc(*p, nc * size);
    if (!q)
        return 0;
    *p = q;
    *cap = nc;
    return 1;
}

pcnn_status pcnn_st_writer_add(pcnn_st_writer *w, const char *name,
                               pcnn_st_dtype dtype, int ndim,
                               const int64_t *shape, const void *data)
{
    static const char fn[] = "pcnn_st_writer_add";
    if (!w || !name || (ndim > 0 && !shape))
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    if (!pcnn_json_utf8_valid(name, strlen(name)) ||
        strcmp(name, "__metadata__") == 0)
        return pcnn_fail(PCNN_ERR_ARG, "%s: invalid tensor name", fn);
    if (!pcnn_st_dtype_name(dtype))
        return pcnn_fail(PCNN_ERR_ARG, "%s: '%s': invalid dtype %d", fn, name,
                         (int)dtype);
    if (ndim < 0 || ndim > PCNN_ST_MAX_DIMS)
        return pcnn_fail(PCNN_ERR_ARG, "%s: '%s': %d dims, at most %d", fn,
                         name, ndim, PCNN_ST_MAX_DIMS);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return pcnn_fail(PCNN_ERR_ARG, "%s: duplicate tensor name '%s'",
                             fn, name);
    wtensor t = {.dtype = dtype, .ndim = ndim};
    size_t bytes = pcnn_st_dtype_size(dtype);
    int overflow = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return pcnn_fail(PCNN_ERR_ARG, "%s: '%s': negative dim %lld", fn,
                             name, (long long)shape[i]);
        t.shape[i] = shape[i];
        if ((uint64_t)shape[i] > SIZE_MAX)
            overflow = 1;
        else
            bytes = pcnn_mul_size(bytes, (size_t)shape[i], &overflow);
    }
    if (overflow)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: '%s': size overflows", fn,
                         name);
    if (bytes && !data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: '%s': data is NULL", fn, name);
    t.nbytes = bytes;
    t.data = data;
    t.name = dup_str(name);
    if (!t.name || !grow((void **)&w->t, &w->cap, w->n, sizeof *w->t)) {
        free(t.name);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    w->t[w->n++] = t;
    return PCNN_OK;
}

pcnn_status pcnn_st_writer_meta(pcnn_st_writer *w, const char *key,
                                const char *value)
{
    static const char fn[] = "pcnn_st_writer_meta";
    if (!w || !key || !value)
        return pcnn_fail(PCNN_ERR_ARG, "%s: NULL argument", fn);
    if (!pcnn_json_utf8_valid(key, strlen(key)) ||
        !pcnn_json_utf8_valid(value, strlen(value)))
        return pcnn_fail(PCNN_ERR_ARG, "%s: key or value is not UTF-8", fn);
    for (size_t i = 0; i < w->nmeta; i++)
        if (strcmp(w->key[i], key) == 0)
            return pcnn_fail(PCNN_ERR_ARG, "%s: duplicate key '%s'", fn, key);
    size_t kcap = w->meta_cap, vcap = w->meta_cap;
    if (!grow((void **)&w->key, &kcap, w->nmeta, sizeof *w->key) ||
        !grow((void **)&w->value, &vcap, w->nmeta, sizeof *w->value))
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    w->meta_cap = kcap < vcap ? kcap : vcap;
    char *k = dup_str(key), *v = dup_str(value);
    if (!k || !v) {
        free(k);
        free(v);
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", fn);
    }
    w->key[w->nmeta] = k;
    w->value[w->nmeta] = v;
    w->nmeta++;
    return PCNN_OK;
}

/* ------------------------------------------------------- the header */

/* A growing string; `failed` is set once an allocation fails. */
typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *q = realloc(b->p, nc);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    sb_str(b, tmp);
}

/* s as a JSON string: quotes, backslashes and control characters
 * escaped, UTF-8 passed through. */
static void sb_json_str(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* The data-section order: by element size, largest first, stable. */
static size_t *data_order(const pcnn_st_writer *w)
{
    size_t *ord = malloc((w->n ? w->n : 1) * sizeof *ord), k = 0;
    if (!ord)
        return NULL;
    for (size_t size = 8; size >= 1; size /= 2)
        for (size_t i = 0; i < w->n; i++)
            if (pcnn_st_dtype_size(w->t[i].dtype) == size)
                ord[k++] = i;
    PCNN_ASSERT(k == w->n);
    return ord;
}

/* Builds the padded header into *b and the data size into *data_len. */
static pcnn_status build_header(const pcnn_st_writer *w, sbuf *b,
                                size_t *data_len)
{
    size_t *ord = data_order(w), *offset = malloc((w->n + 1) * sizeof *offset);
    if (!ord || !offset) {
        free(ord);
        free(offset);
        return pcnn_fail(PCNN_ERR_NOMEM, "safetensors writer: out of memory");
    }
    size_t at = 0;
    for (size_t k = 0; k < w->n; k++) {
        const wtensor *t = &w->t[ord[k]];
        offset[ord[k]] = at;
        if (t->nbytes > SIZE_MAX - at) {
            free(ord);
            free(offset);
            return pcnn_fail(PCNN_ERR_NOMEM, "safetensors writer: the data "
                                             "size overflows");
        }
        at += t->nbytes;
    }
    *data_len = at;
    sb_put(b, "{", 1);
    if (w->nmeta) {
        sb_str(b, "\"__metadata__\":{");
        for (size_t i = 0; i < w->nmeta; i++) {
            if (i)
                sb_put(b, ",", 1);
            sb_json_str(b, w->key[i]);
            sb_put(b, ":", 1);
            sb_json_str(b, w->value[i]);
        }
        sb_str(b, w->n ? "}," : "}");
    }
    for (size_t i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        if (i)
            sb_put(b, ",", 1);
        sb_json_str(b, t->name);
        sb_str(b, ":{\"dtype\":\"");
        sb_str(b, pcnn_st_dtype_name(t->dtype));
        sb_str(b, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d)
                sb_put(b, ",", 1);
            sb_u64(b, (uint64_t)t->shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_u64(b, offset[i]);
        sb_put(b, ",", 1);
        sb_u64(b, offset[i] + t->nbytes);
        sb_str(b, "]}");
    }
    sb_put(b, "}", 1);
    while (!b->failed && b->len % 8)
        sb_put(b, " ", 1);
    free(ord);
    free(offset);
    if (b->failed)
        return pcnn_fail(PCNN_ERR_NOMEM, "safetensors writer: out of memory");
    if (b->len > PCNN_ST_MAX_HEADER)
        return pcnn_fail(PCNN_ERR_ARG, "safetensors writer: the header would "
                                       "be %zu bytes, above the limit of %u",
                         b->len, PCNN_ST_MAX_HEADER);
    return PCNN_OK;
}

/* ------------------------------------------------------- emitting */

/* Where bytes go: a FILE or a memory buffer. Returns 0 on failure. */
typedef int (*sink_fn)(void *sink, const void *p, size_t n);

static int to_file(void *sink, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, (FILE *)sink) == n;
}

static int to_mem(void *sink, const void *p, size_t n)
{
    unsigned char **at = sink;
    if (n)
        memcpy(*at, p, n);
    *at += n;
    return 1;
}

/* The 8-byte length, the header, then the data in data order. */
static int emit(const pcnn_st_writer *w, const sbuf *h, sink_fn put,
                void *sink)
{
    unsigned char len8[8];
    for (int k = 0; k < 8; k++)
        len8[k] = (unsigned char)((uint64_t)h->len >> (8 * k));
    if (!put(sink, len8, 8) || !put(sink, h->p, h->len))
        return 0;
    size_t *ord = data_order(w);
    if (!ord)
        return 0;
    int ok = 1;
    for (size_t k = 0; k < w->n && ok; k++)
        ok = put(sink, w->t[ord[k]].data, w->t[ord[k]].nbytes);
    free(ord);
    return ok;
}

pcnn_status pcnn_st_writer_write(const pcnn_st_writer *w, FILE *fp,
                                 const char *what)
{
    if (!w || !fp)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_writer_write: NULL argument");
    if (!what)
        what = "safetensors file";
    sbuf h = {0};
    size_t data_len;
    pcnn_status s = build_header(w, &h, &data_len);
    if (s == PCNN_OK && !emit(w, &h, to_file, fp))
        s = pcnn_fail(PCNN_ERR_IO, "%s: write failed: %s", what,
                      strerror(errno));
    free(h.p);
    return s;
}

pcnn_status pcnn_st_writer_to_mem(const pcnn_st_writer *w, void **buf,
                                  size_t *len)
{
    if (!w || !buf || !len)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_writer_to_mem: NULL "
                                       "argument");
    *buf = NULL;
    *len = 0;
    sbuf h = {0};
    size_t data_len;
    pcnn_status s = build_header(w, &h, &data_len);
    if (s != PCNN_OK) {
        free(h.p);
        return s;
    }
    const size_t total = 8 + h.len + data_len;
    if (data_len > SIZE_MAX - 8 - h.len) {
        free(h.p);
        return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_st_writer_to_mem: size "
                                         "overflows");
    }
    unsigned char *out = malloc(total), *at = out;
    if (!out || !emit(w, &h, to_mem, &at)) {
        free(out);
        free(h.p);
        return pcnn_fail(PCNN_ERR_NOMEM, "pcnn_st_writer_to_mem: out of "
                                         "memory for %zu bytes",
                         total);
    }
    PCNN_ASSERT((size_t)(at - out) == total);
    free(h.p);
    *buf = out;
    *len = total;
    return PCNN_OK;
}

/* Makes a finished rename durable: fsync of the directory holding path. */
static void sync_dir_of(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        *slash = 0;
        d = slash == dir ? "/" : dir;
    }
    int fd = open(d, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Creates a new temp file next to path, "path.tmp.PID.N", with O_EXCL: two
 * writers of one path (two processes, or two threads) never share a temp
 * file, whatever its name collides with. The mode is 0666 less the umask,
 * as fopen's (mkstemp's would be 0600). The name goes to *tmp (malloc'd). */
static pcnn_status create_temp(const char *path, char **tmp, FILE **fp)
{
    const size_t n = strlen(path) + 64;
    char *name = malloc(n);
    if (!name)
        return pcnn_fail(PCNN_ERR_NOMEM, "%s: out of memory", path);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int fd = -1;
    for (unsigned k = 0; k < 1000 && fd < 0; k++) {
        snprintf(name, n, "%s.tmp.%ld.%lx", path, (long)getpid(),
                 ((unsigned long)now.tv_nsec + k * 7919u) & 0xffffffu);
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0 || !(*fp = fdopen(fd, "wb"))) {
        pcnn_status s = pcnn_fail(PCNN_ERR_IO, "%s: cannot create: %s", name,
                                  strerror(errno));
        if (fd >= 0) {
            close(fd);
            remove(name);
        }
        free(name);
        return s;
    }
    *tmp = name;
    return PCNN_OK;
}

/* Crash-safe: the bytes go to a new temp file next to path, which is
 * flushed and fsync'ed before it is renamed over path (atomic on POSIX),
 * then the directory is fsync'ed. At any moment path holds either the old
 * file or the new one, whole; of two writers of one path, the last rename
 * wins and neither file is a mix of both. */
pcnn_status pcnn_st_writer_save(const pcnn_st_writer *w, const char *path)
{
    if (!w || !path)
        return pcnn_fail(PCNN_ERR_ARG, "pcnn_st_writer_save: NULL argument");
    char *tmp = NULL;
    FILE *fp = NULL;
    PCNN_TRY(create_temp(path, &tmp, &fp));
    pcnn_status s = pcnn_st_writer_write(w, fp, tmp);
    if (s == PCNN_OK && (fflush(fp) != 0 || fsync(fileno(fp)) != 0))
        s = pcnn_fail(PCNN_ERR_IO, "%s: write failed: %s", tmp,
                      strerror(errno));
    if (fclose(fp) != 0 && s == PCNN_OK)
        s = pcnn_fail(PCNN_ERR_IO, "%s: write failed: %s", tmp,
                      strerror(errno));
    if (s == PCNN_OK && rename(tmp, path) != 0)
        s = pcnn_fail(PCNN_ERR_IO, "%s: cannot rename to %s: %s", tmp, path,
                      strerror(errno));
    if (s != PCNN_OK)
        remove(tmp);
    else
        sync_dir_of(path);
    free(tmp);
    return s;
}
