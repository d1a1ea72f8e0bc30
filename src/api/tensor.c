/* tensor.c -- tensor descriptors and the shape checks of the API. */
#include "check.h"

#include <string.h>

pcnn_tensor pcnn_t1(float *data, int64_t d0)
{
    return (pcnn_tensor){data, 1, {d0, 0, 0, 0}};
}

pcnn_tensor pcnn_t2(float *data, int64_t d0, int64_t d1)
{
    return (pcnn_tensor){data, 2, {d0, d1, 0, 0}};
}

pcnn_tensor pcnn_t4(float *data, int64_t n, int64_t c, int64_t h, int64_t w)
{
    return (pcnn_tensor){data, 4, {n, c, h, w}};
}

pcnn_image pcnn_img(uint8_t *data, int64_t n, int64_t c, int64_t h, int64_t w)
{
    return (pcnn_image){data, n, c, h, w};
}

pcnn_tensor pcnn_none(void) { return (pcnn_tensor){NULL, 0, {0, 0, 0, 0}}; }

int64_t pcnn_numel(pcnn_tensor t)
{
    if (t.ndim < 1 || t.ndim > PCNN_MAX_DIMS)
        return 0;
    int64_t n = 1;
    for (int i = 0; i < t.ndim; i++) {
        if (t.dim[i] <= 0 || n > INT64_MAX / t.dim[i])
            return 0;
        n *= t.dim[i];
    }
    return n;
}

const char *pcnn_shape_str(pcnn_tensor t, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "(");
    for (int i = 0; i < t.ndim && i < PCNN_MAX_DIMS && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "",
                              (long long)t.dim[i]);
    if (k < n)
        snprintf(buf + k, n - k, ")");
    return buf;
}

pcnn_status pcnn_check_ctx(const char *fn, const pcnn_ctx *ctx)
{
    if (!ctx)
        return pcnn_fail(PCNN_ERR_ARG, "%s: ctx is NULL", fn);
    pcnn_ctx_use_threads(ctx);
    return PCNN_OK;
}

pcnn_status pcnn_check_tensor(const char *fn, const char *name, pcnn_tensor t,
                              int ndim)
{
    char s[96];
    if (!t.data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: %s has no data", fn, name);
    if (t.ndim != ndim)
        return pcnn_fail(PCNN_ERR_SHAPE, "%s: %s must have %d dims, has %d",
                         fn, name, ndim, t.ndim);
    /* kernels index with int for the BLAS: keep every size below 2^31 */
    int64_t n = pcnn_numel(t);
    if (n <= 0 || n > INT32_MAX)
        return pcnn_fail(PCNN_ERR_SHAPE,
                         "%s: %s has a bad shape %s (dims must be positive, "
                         "at most 2^31-1 elements)",
                         fn, name, pcnn_shape_str(t, s, sizeof s));
    return PCNN_OK;
}

pcnn_status pcnn_check_optional(const char *fn, const char *name,
                                pcnn_tensor t, int ndim)
{
    if (!t.data)
        return PCNN_OK;
    return pcnn_check_tensor(fn, name, t, ndim);
}

pcnn_status pcnn_check_dims(const char *fn, const char *name, pcnn_tensor t,
                            int ndim, const int64_t *dims)
{
    PCNN_TRY(pcnn_check_tensor(fn, name, t, ndim));
    for (int i = 0; i < ndim; i++) {
        if (t.dim[i] != dims[i]) {
            char s[96], e[96];
            pcnn_tensor want = {NULL, ndim, {0, 0, 0, 0}};
            memcpy(want.dim, dims, (size_t)ndim * sizeof *dims);
            return pcnn_fail(PCNN_ERR_SHAPE, "%s: %s is %s, expected %s", fn,
                             name, pcnn_shape_str(t, s, sizeof s),
                             pcnn_shape_str(want, e, sizeof e));
        }
    }
    return PCNN_OK;
}

pcnn_status pcnn_check_like(const char *fn, const char *name, pcnn_tensor a,
                            const char *bname, pcnn_tensor b)
{
    if (!a.data)
        return pcnn_fail(PCNN_ERR_ARG, "%s: %s has no data", fn, name);
    if (a.ndim != b.ndim)
        return pcnn_fail(PCNN_ERR_SHAPE, "%s: %s must have the shape of %s",
                         fn, name, bname);
    return pcnn_check_dims(fn, name, a, b.ndim, b.dim);
}
