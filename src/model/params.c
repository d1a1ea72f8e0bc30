/* params.c -- the parameter table: see params.h. */
#include "params.h"

#include <string.h>

int pcnn_params_add(pcnn_params *t, const char *name, int ndim,
                    const int64_t *shape)
{
    if (strlen(name) >= PCNN_PARAM_NAME) {
        pcnn_fail(PCNN_ERR_ARG, "parameter name too long: %s", name);
        return -1;
    }
    if (ndim < 1 || ndim > PCNN_MAX_DIMS) {
        pcnn_fail(PCNN_ERR_ARG, "parameter %s: %d dims", name, ndim);
        return -1;
    }
    size_t n = 1;
    int of = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0) {
            pcnn_fail(PCNN_ERR_ARG, "parameter %s: dim %d is %lld", name, i,
                      (long long)shape[i]);
            return -1;
        }
        n = pcnn_mul_size(n, (size_t)shape[i], &of);
    }
    if (of || t->total + n < t->total || t->total + n > (size_t)INT32_MAX) {
        pcnn_fail(PCNN_ERR_NOMEM, "parameter %s: the model is too large",
                  name);
        return -1;
    }
    if (t->count == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        pcnn_param *p = realloc(t->p, (size_t)cap * sizeof *p);
        if (!p) {
            pcnn_fail(PCNN_ERR_NOMEM, "parameter table: out of memory");
            return -1;
        }
        t->p = p;
        t->cap = cap;
    }
    pcnn_param *p = &t->p[t->count];
    memset(p, 0, sizeof *p);
    memcpy(p->name, name, strlen(name) + 1);
    p->ndim = ndim;
    memcpy(p->shape, shape, (size_t)ndim * sizeof *shape);
    p->off = t->total;
    p->n = n;
    t->total += n;
    return t->count++;
}

pcnn_status pcnn_params_alloc(pcnn_params *t)
{
    t->data = calloc(t->total ? t->total : 1, sizeof(float));
    t->grad = calloc(t->total ? t->total : 1, sizeof(float));
    if (!t->data || !t->grad)
        return pcnn_fail(PCNN_ERR_NOMEM,
                         "parameters: out of memory (%zu floats)", t->total);
    return PCNN_OK;
}

void pcnn_params_free(pcnn_params *t)
{
    free(t->p);
    free(t->data);
    free(t->grad);
    memset(t, 0, sizeof *t);
}

int pcnn_params_find(const pcnn_params *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (!strcmp(t->p[i].name, name))
            return i;
    return -1;
}

static pcnn_tensor view(const pcnn_params *t, int i, float *block)
{
    const pcnn_param *p = &t->p[i];
    pcnn_tensor v = {block + p->off, p->ndim, {0, 0, 0, 0}};
    memcpy(v.dim, p->shape, (size_t)p->ndim * sizeof p->shape[0]);
    return v;
}

pcnn_tensor pcnn_params_value(const pcnn_params *t, int i)
{
    return view(t, i, t->data);
}

pcnn_tensor pcnn_params_gradient(const pcnn_params *t, int i)
{
    return view(t, i, t->grad);
}
