/*
 * check.h -- argument checks at the API boundary. Each returns PCNN_OK or
 * records a message naming the function and the argument.
 */
#ifndef PCNN_API_CHECK_H
#define PCNN_API_CHECK_H

#include "../core/internal.h"

/* t is present, has ndim dims, all positive, and a size that fits. */
pcnn_status pcnn_check_tensor(const char *fn, const char *name, pcnn_tensor t,
                              int ndim);
/* As above, but an absent tensor (data NULL) is fine. */
pcnn_status pcnn_check_optional(const char *fn, const char *name,
                                pcnn_tensor t, int ndim);
/* t's dims equal dims[0..ndim). */
pcnn_status pcnn_check_dims(const char *fn, const char *name, pcnn_tensor t,
                            int ndim, const int64_t *dims);
/* a is present and has b's shape. */
pcnn_status pcnn_check_like(const char *fn, const char *name, pcnn_tensor a,
                            const char *bname, pcnn_tensor b);
/* ctx is not NULL; then makes the calling thread run kernels on ctx's
 * thread count (every op starts with this check). */
pcnn_status pcnn_check_ctx(const char *fn, const pcnn_ctx *ctx);
/* "(16,320,32,32)" into buf. */
const char *pcnn_shape_str(pcnn_tensor t, char *buf, size_t n);

#endif
