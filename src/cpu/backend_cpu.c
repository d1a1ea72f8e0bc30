/* backend_cpu.c -- the CPU backend's kernel table: OpenMP + CBLAS. */
#include "../core/backend.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void *cpu_alloc(size_t bytes)
{
    /* 64-byte alignment for the BLAS and vector loads */
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}

static void cpu_free(void *p) { free(p); }

static void cpu_set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}

static const char *cpu_describe(void)
{
    static char buf[160];
    snprintf(buf, sizeof buf, "OpenBLAS %s kernels: %s",
             openblas_get_corename(), openblas_get_config());
    return buf;
}

#define K(name) .name = pcnn_cpu_##name##_f32
const pcnn_backend pcnn_backend_cpu = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .set_threads = cpu_set_threads,
    .describe = cpu_describe,
    K(conv2d_forward), K(conv2d_backward),
    K(deconv2d_forward), K(deconv2d_backward),
    K(down_shift_forward), K(down_shift_backward),
    K(right_shift_forward), K(right_shift_backward),
    K(elu_forward), K(elu_backward), K(elu_serial),
    K(concat_elu_forward), K(concat_elu_backward),
    K(gate_forward), K(gate_backward), K(gate_serial),
    K(add_forward), K(add_backward),
    K(dropout_forward), K(dropout_backward),
    K(weightnorm_forward), K(weightnorm_backward), K(weightnorm_data_init),
    K(dmol_log_prob), K(dmol_backward), K(dmol_sample), K(dmol_pmf),
    K(dmol_interval_log_mass), K(dmol_draw_range),
    K(cat_log_prob), K(cat_backward), K(cat_sample), K(cat_pmf),
};
#undef K
