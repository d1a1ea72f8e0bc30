/*
 * backend.h -- the table of kernels a backend provides.
 *
 * The public API (src/api/) checks shapes and then calls through this
 * table, so a new backend (CUDA) adds one table and is tested against the
 * CPU one. Pointers are the backend's memory; kernels never fail.
 * Signatures are those of src/cpu/kernels_decl.h with REAL = float.
 */
#ifndef PCNN_CORE_BACKEND_H
#define PCNN_CORE_BACKEND_H

#include "../cpu/kernels.h"

typedef struct pcnn_backend {
    const char *name;
    /* memory: the context's workspace */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    /* threads: set the count the kernels use; a description of the BLAS */
    void (*set_threads)(int n);
    const char *(*describe)(void);

#define REAL float
#define KFN(name) (*name)
#define PCNN_BACKEND_TABLE
#include "../cpu/kernels_decl.h"
#undef PCNN_BACKEND_TABLE
#undef REAL
#undef KFN
} pcnn_backend;

extern const pcnn_backend pcnn_backend_cpu;

#endif
