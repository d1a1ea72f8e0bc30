/* kernels_decl.h -- included twice by kernels.h, once per REAL type.
 * No include guard on purpose. Shapes are given once per pointer. */

/* ---- convolutions (conv.c); work: pcnn_cpu_*_work() elements */
void KFN(conv2d_forward)(REAL *y, const REAL *x, const REAL *w,
                         const REAL *b, const pcnn_conv_dims *d, REAL *work);
void KFN(conv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy,
                          const REAL *x, const REAL *w,
                          const pcnn_conv_dims *d, REAL *work);
void KFN(deconv2d_forward)(REAL *y, const REAL *x, const REAL *w,
                           const REAL *b, const pcnn_conv_dims *d,
                           REAL *work);
void KFN(deconv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy,
                            const REAL *x, const REAL *w,
                            const pcnn_conv_dims *d, REAL *work);

/* ---- shifts and pointwise ops (pointwise.c); x, y (B,C,H,W) */
void KFN(down_shift_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                             int64_t H, int64_t W);
void KFN(down_shift_backward)(REAL *dx, const REAL *dy, int64_t B, int64_t C,
                              int64_t H, int64_t W);
void KFN(right_shift_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                              int64_t H, int64_t W);
void KFN(right_shift_backward)(REAL *dx, const REAL *dy, int64_t B,
                               int64_t C, int64_t H, int64_t W);
/* n elements */
/* y = elu(x) and, when neg is not NULL, neg = elu(-x), on this thread
 * (the sampler's vectors of one position). */
void KFN(elu_serial)(REAL *y, REAL *neg, const REAL *x, int64_t n);
void KFN(elu_forward)(REAL *y, const REAL *x, int64_t n);
void KFN(elu_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t n);
/* x (B,C,HW) -> y (B,2C,HW) */
void KFN(concat_elu_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                             int64_t HW);
void KFN(concat_elu_backward)(REAL *dx, const REAL *dy, const REAL *x,
                              int64_t B, int64_t C, int64_t HW);
/* x (B,2C,HW) -> y (B,C,HW) */
void KFN(gate_forward)(REAL *y, const REAL *x, int64_t B, int64_t C,
                       int64_t HW);
void KFN(gate_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t B,
                        int64_t C, int64_t HW);
/* y[0..n) = a sigmoid(g), on this thread (the sampler's vectors of one
 * position) */
void KFN(gate_serial)(REAL *y, const REAL *a, const REAL *g, int64_t n);
void KFN(add_forward)(REAL *y, const REAL *a, const REAL *b, int64_t n);
void KFN(add_backward)(REAL *da, REAL *db, const REAL *dy, int64_t n);
/* element i's mask is u(seed, first + i): a shard of a larger tensor
 * (first = its offset) gets the masks of its elements there */
void KFN(dropout_forward)(REAL *y, const REAL *x, int64_t n, REAL p,
                          uint64_t seed, int64_t first);
void KFN(dropout_backward)(REAL *dx, const REAL *dy, int64_t n, REAL p,
                           uint64_t seed, int64_t first);

/* ---- weight normalization (weightnorm.c)
 * v, w viewed as (A, O, R): one norm and g[o] per o over A and R. */
void KFN(weightnorm_forward)(REAL *w, const REAL *v, const REAL *g,
                             int64_t A, int64_t O, int64_t R);
void KFN(weightnorm_backward)(REAL *dv, REAL *dg, const REAL *dw,
                              const REAL *v, const REAL *g, int64_t A,
                              int64_t O, int64_t R);
/* y (B,O,HW) */
void KFN(weightnorm_data_init)(REAL *g, REAL *b, REAL *y, int64_t B,
                               int64_t O, int64_t HW, REAL scale);

/* ---- likelihood heads (dmol.c, categorical.c)
 * l (B,P,HW), x (B,C,HW) uint8, logp (B,HW), probs (B,levels,HW). */
void KFN(dmol_log_prob)(REAL *logp, const REAL *l, const uint8_t *x,
                        const pcnn_head_dims *d);
void KFN(dmol_backward)(REAL *dl, const REAL *dlogp, const REAL *l,
                        const uint8_t *x, const pcnn_head_dims *d);
void KFN(dmol_sample)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                      uint64_t seed, REAL log_scale_offset);
void KFN(dmol_pmf)(REAL *probs, const REAL *l, const uint8_t *x,
                   const pcnn_head_dims *d, int c);
/* out (B,C,HW): log P(lo <= x_c <= hi | x_0..x_{c-1}) per channel, lo and
 * hi (B,C,HW) uint8 with lo <= x <= hi. */
void KFN(dmol_interval_log_mass)(REAL *out, const REAL *l, const uint8_t *x,
                                 const uint8_t *lo, const uint8_t *hi,
                                 const pcnn_head_dims *d);
/* Channel c of x (B,C,HW) drawn from its conditional given channels
 * 0..c-1, restricted to [lo, hi] (B,HW) and renormalized, ls_offset added
 * to every log-scale (dmol.c). */
void KFN(dmol_draw_range)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                          int c, const uint8_t *lo, const uint8_t *hi,
                          double ls_offset, uint64_t seed);
void KFN(cat_log_prob)(REAL *logp, const REAL *l, const uint8_t *x,
                       const pcnn_head_dims *d);
void KFN(cat_backward)(REAL *dl, const REAL *dlogp, const REAL *l,
                       const uint8_t *x, const pcnn_head_dims *d);
void KFN(cat_sample)(uint8_t *x, const REAL *l, const pcnn_head_dims *d,
                     uint64_t seed, REAL temperature);
void KFN(cat_pmf)(REAL *probs, const REAL *l, const pcnn_head_dims *d, int c);
