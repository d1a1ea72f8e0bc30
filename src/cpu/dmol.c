/* dmol.c -- STUB, being written. */
#include "kernels.h"
#include "real.h"
void KFN(dmol_log_prob)(REAL *logp, const REAL *l, const uint8_t *x,
                        const pcnn_head_dims *d) { (void)logp; (void)l; (void)x; (void)d; }
void KFN(dmol_backward)(REAL *dl, const REAL *dlogp, const REAL *l,
                        const uint8_t *x, const pcnn_head_dims *d) { (void)dl; (void)dlogp; (void)l; (void)x; (void)d; }
void KFN(dmol_sample)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                      uint64_t seed, REAL log_scale_offset) { (void)x; (void)l; (void)d; (void)seed; (void)log_scale_offset; }
void KFN(dmol_pmf)(REAL *probs, const REAL *l, const uint8_t *x,
                   const pcnn_head_dims *d, int c) { (void)probs; (void)l; (void)x; (void)d; (void)c; }
