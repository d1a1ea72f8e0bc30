/* categorical.c -- STUB, being written. */
#include "kernels.h"
#include "real.h"
void KFN(cat_log_prob)(REAL *logp, const REAL *l, const uint8_t *x,
                       const pcnn_head_dims *d) { (void)logp; (void)l; (void)x; (void)d; }
void KFN(cat_backward)(REAL *dl, const REAL *dlogp, const REAL *l,
                       const uint8_t *x, const pcnn_head_dims *d) { (void)dl; (void)dlogp; (void)l; (void)x; (void)d; }
void KFN(cat_sample)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                     uint64_t seed, REAL temperature) { (void)x; (void)l; (void)d; (void)seed; (void)temperature; }
void KFN(cat_pmf)(REAL *probs, const REAL *l, const pcnn_head_dims *d, int c) { (void)probs; (void)l; (void)d; (void)c; }
