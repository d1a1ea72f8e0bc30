/*
 * test_heads.c -- the likelihood heads (src/cpu/dmol.c, categorical.c).
 *
 * - log p against a reference written straight from the spec, with every
 *   branch of the discretized logistic counted as hit;
 * - finite-difference gradients of the double kernels (every branch, the
 *   clamp of the log-scales, the coefficients), and accumulation;
 * - normalization: exp(log p) summed over all 256^C values, and the pmf;
 * - the chain rule p(x) = prod_c pmf(x_c | x_<c), and pmf tail accuracy;
 * - float against double kernels; errors of the public API.
 * Sampling is tested in test_heads_sample.c, the shared helpers and the
 * reference DMOL are in heads_ref.c.
 */
#include "gradcheck.h"
#include "heads_ref.h"
#include "kernels.h"
#include "pixelcnn.h"
#include "test.h"
#include "../src/core/rng.h"

#include <math.h>
#include <string.h>

/* --------------------------------------------------- gradient checks */

typedef struct {
    pcnn_head_dims d;
    int cat; /* categorical, else DMOL */
    double *l, *logp, *r;
    uint8_t *x;
    size_t nl, n;
} head_case;

static void case_forward(head_case *t)
{
    if (t->cat)
        pcnn_cpu_cat_log_prob_f64(t->logp, t->l, t->x, &t->d);
    else
        pcnn_cpu_dmol_log_prob_f64(t->logp, t->l, t->x, &t->d);
}

static void case_backward(head_case *t, double *dl)
{
    if (t->cat)
        pcnn_cpu_cat_backward_f64(dl, t->r, t->l, t->x, &t->d);
    else
        pcnn_cpu_dmol_backward_f64(dl, t->r, t->l, t->x, &t->d);
}

/* L = sum_p r[p] logp[p] */
static double case_loss(void *arg)
{
    head_case *t = arg;
    case_forward(t);
    return dot64(t->logp, t->r, t->n);
}

static head_case case_alloc(pcnn_head_dims d, int cat, uint64_t seed)
{
    head_case t = {.d = d, .cat = cat};
    t.n = (size_t)(d.B * d.HW);
    t.nl = t.n * (size_t)(cat ? d.C * d.K : dmol_P(d.C, d.M));
    t.l = tmp(t.nl, sizeof *t.l);
    t.logp = tmp(t.n, sizeof *t.logp);
    t.r = tmp(t.n, sizeof *t.r);
    t.x = tmp(t.n * (size_t)d.C, 1);
    fill_uniform_f64(t.r, t.n, seed + 1, -1, 1);
    return t;
}

/* B = 2 images of HW = 8 pixels whose values cover every branch: x = 0
 * and 255 on a rotating pattern, middle values elsewhere; at (0, 2) every
 * component is far from x_0 with a small scale (the safe branch); at
 * (1, 3) component 0 has log-scale -8 (clamped) and its mean on x_0. */
static head_case dmol_case(int C, int M, uint64_t seed)
{
    head_case t = case_alloc((pcnn_head_dims){2, 8, C, M, 256}, 0, seed);
    const int64_t HW = 8, P = dmol_P(C, M);
    fill_dmol(t.l, 2, HW, C, M, (dmol_range){1, -0.5, 0.5, -2.5, -0.5, 1},
              seed);
    for (int64_t b = 0; b < 2; b++)
        for (int c = 0; c < C; c++)
            for (int64_t i = 0; i < HW; i++) {
                const int64_t q = (b * C + c) * HW + i, m = (i + c) % 4;
                const double u = pcnn_u01(seed + 2, (uint64_t)q);
                t.x[q] = (uint8_t)(m == 0 ? 0 : m == 1 ? 255 : 60 + 136 * u);
            }
    t.x[2] = 100; /* (0, 2): x_0 = 100, every mean 0.6, scale e^-5 */
    for (int k = 0; k < M; k++) {
        t.l[(1 * M + k) * HW + 2] = 0.6;
        t.l[((1 + C) * M + k) * HW + 2] = -5;
    }
    t.x[(1 * C + 0) * HW + 3] = 128; /* (1, 3): component 0 clamped */
    t.l[(1 * P + 1 * M + 0) * HW + 3] = 128 / 127.5 - 1 + 0.002;
    t.l[(1 * P + (1 + C) * M + 0) * HW + 3] = -8;
    return t;
}

static head_case cat_case(int C, int K, uint64_t seed)
{
    head_case t = case_alloc((pcnn_head_dims){2, 5, C, 0, K}, 1, seed);
    fill_uniform_f64(t.l, t.nl, seed, -2, 2);
    for (size_t q = 0; q < t.n * (size_t)C; q++)
        t.x[q] = (uint8_t)(K * pcnn_u01(seed + 2, q));
    return t;
}

/* Backward into zeros against central differences of L (every element),
 * then a second backward must double dl (gradients accumulate). */
static void check_case_gradient(head_case *t, const char *what)
{
    double *dl = tmp(t->nl, sizeof *dl), *twice = tmp(t->nl, sizeof *twice);
    case_backward(t, dl);
    gradcheck(__FILE__, __LINE__, what, t->l, t->nl, dl, case_loss, t, t->nl);
    case_backward(t, twice);
    case_backward(t, twice);
    for (size_t i = 0; i < t->nl; i++)
        dl[i] *= 2;
    CHECK_CLOSE64("backward accumulates", twice, dl, t->nl, 1e-12, 1e-12);
}

/* C = 1, 2, 3 with M = 3, 1, 4: log p against the reference (a CDF
 * difference >= 1e-5 amplifies rounding up to 1e5-fold, hence 1e-10),
 * every branch taken, and the gradient against central differences. */
TEST(heads_dmol_reference_and_gradcheck)
{
    static const int Ms[3] = {3, 1, 4};
    for (int C = 1; C <= 3; C++)
        for (int mi = 0; mi < 3; mi++) {
            const int M = Ms[mi];
            head_case t = dmol_case(C, M, 200 + (uint64_t)(C * 10 + mi));
            double *ref = tmp(t.n, sizeof *ref);
            int br[NBR] = {0};
            char what[64];
            ref_dmol_all(ref, t.l, t.x, &t.d, br);
            case_forward(&t);
            snprintf(what, sizeof what, "dmol logp, C=%d M=%d", C, M);
            CHECK_CLOSE64(what, t.logp, ref, t.n, 1e-10, 1e-10);
            for (int k = 0; k < NBR; k++)
                CHECK(br[k] > 0, "C=%d M=%d: branch %s never taken", C, M,
                      br_name[k]);
            snprintf(what, sizeof what, "dmol dl, C=%d M=%d", C, M);
            check_case_gradient(&t, what);
            tmp_free();
        }
}

TEST(heads_cat_gradcheck)
{
    for (int C = 1; C <= 3; C += 2) {
        const int K = 16;
        head_case t = cat_case(C, K, 300 + (uint64_t)C);
        double *ref = tmp(t.n, sizeof *ref); /* sum_c z[x_c] - lse(z) */
        for (size_t p = 0; p < t.n; p++)
            for (int c = 0; c < C; c++) {
                const int64_t b = (int64_t)p / 5, i = (int64_t)p % 5;
                const double *z = t.l + (b * C + c) * K * 5 + i;
                double s = 0;
                for (int v = 0; v < K; v++)
                    s += exp(z[v * 5]);
                ref[p] += z[t.x[(b * C + c) * 5 + i] * 5] - log(s);
            }
        case_forward(&t);
        CHECK_CLOSE64("cat logp vs reference", t.logp, ref, t.n, 1e-12,
                      1e-12);
        check_case_gradient(&t, C == 1 ? "cat dl, C=1" : "cat dl, C=3");
        tmp_free();
    }
}

/* ------------------------------------------------------- normalization */

/* sum of exp(logp) over all 256^C values through the float API, C = 1,
 * 2, 3: one parameter set replicated over 256^min(C,2) pixels, pixel i
 * holding the last channels' values (i / 256, i % 256) (C = 1: i), and
 * for C = 3 one call per value of x_0. */
TEST(heads_dmol_normalized)
{
    for (int C = 1; C <= 3; C++) {
        const int M = C == 3 ? 2 : 3, P = dmol_P(C, M);
        const int64_t n = C == 1 ? 256 : 65536, side = C == 1 ? 16 : 256;
        double one[20];
        fill_dmol(one, 1, 1, C, M, (dmol_range){1, -0.8, 0.8, -3, -1, 1},
                  500 + (uint64_t)C);
        float *l = tmp((size_t)(P * n), sizeof *l);
        float *logp = tmp((size_t)n, sizeof *logp);
        uint8_t *x = tmp((size_t)(C * n), 1);
        replicate_f32(l, one, 1, P, n);
        for (int64_t i = 0; i < n; i++) {
            x[(C - 1) * n + i] = (uint8_t)(i % 256);
            if (C > 1)
                x[(C - 2) * n + i] = (uint8_t)(i / 256);
        }
        const pcnn_head h = pcnn_head_dmol(C, M);
        double s = 0;
        for (int v = 0; v < (C == 3 ? 256 : 1); v++) {
            if (C == 3)
                memset(x, v, (size_t)n);
            REQUIRE_OK(pcnn_head_log_prob(
                ctx(), &h, pcnn_t4(logp, 1, 1, side, side),
                pcnn_t4(l, 1, P, side, side), pcnn_img(x, 1, C, side, side)));
            for (int64_t i = 0; i < n; i++)
                s += exp((double)logp[i]);
        }
        CHECK(fabs(s - 1) < 1e-5,
              "C=%d: sum of exp(logp) over 256^%d values "
              "= %.9f",
              C, C, s);
        tmp_free();
    }
}

/* The pmf of every channel sums to 1 and is >= 0, double kernel and float
 * API, including parameters far outside the usual ranges (scales e^-8 ..
 * e^3, means off [-1, 1], large logits and coefficients). */
TEST(heads_dmol_pmf_normalized)
{
    const int C = 3, M = 5, P = dmol_P(C, M);
    const int64_t B = 2, HW = 64, n = B * HW;
    pcnn_head_dims d = {.B = B, .HW = HW, .C = C, .M = M};
    double *l = tmp((size_t)(n * P), sizeof *l);
    double *pd = tmp((size_t)(n * 256), sizeof *pd);
    float *pf = tmp((size_t)(n * 256), sizeof *pf);
    uint8_t *x = tmp((size_t)(n * C), 1);
    fill_dmol(l, B, HW, C, M, (dmol_range){5, -1.5, 1.5, -8, 3, 3}, 600);
    for (int64_t q = 0; q < n * C; q++)
        x[q] = (uint8_t)(256 * pcnn_u01(601, (uint64_t)q));
    float *lf = to_f32(l, (size_t)(n * P));
    const pcnn_head h = pcnn_head_dmol(C, M);
    for (int c = 0; c < C; c++) {
        pcnn_cpu_dmol_pmf_f64(pd, l, x, &d, c);
        REQUIRE_OK(pcnn_head_pmf(ctx(), &h, pcnn_t4(pf, B, 256, 8, 8),
                                 pcnn_t4(lf, B, P, 8, 8),
                                 pcnn_img(x, B, C, 8, 8), c));
        for (int64_t p = 0; p < n; p++) {
            const int64_t b = p / HW, i = p % HW;
            double sd = 0, sf = 0, lo = 0;
            for (int v = 0; v < 256; v++) {
                const int64_t q = (b * 256 + v) * HW + i;
                sd += pd[q];
                sf += pf[q];
                lo = fmin(lo, fmin(pd[q], pf[q]));
            }
            CHECK(fabs(sd - 1) < 1e-12 && fabs(sf - 1) < 1e-5 && lo >= 0,
                  "c=%d pixel %lld: sums %.15f (f64) %.9f (f32), min %g", c,
                  (long long)p, sd, sf, lo);
        }
    }
    tmp_free();
}

/* Single logistics whose tails fall to 1e-23: every bin of the pmf keeps
 * its relative accuracy (an upper-tail bin computed as F(u) - F(l) with
 * both near 1 would not). Against the bin masses computed here. */
TEST(heads_dmol_pmf_tails)
{
    double l[6] = {0, -0.5, -3, 0, 0.6, -3.5}, pd[512], ref[512];
    pcnn_head_dims d = {.B = 2, .HW = 1, .C = 1, .M = 1};
    uint8_t x[2] = {0, 0};
    pcnn_cpu_dmol_pmf_f64(pd, l, x, &d, 0);
    for (int b = 0; b < 2; b++) {
        const double mean = l[3 * b + 1], inv = exp(-l[3 * b + 2]);
        for (int v = 0; v < 256; v++) {
            const double tl =
                v == 0 ? -INFINITY : inv * ((v - 0.5) / 127.5 - 1 - mean);
            const double tu =
                v == 255 ? INFINITY : inv * ((v + 0.5) / 127.5 - 1 - mean);
            ref[b * 256 + v] = tl > 0 ? ref_sigmoid(-tl) - ref_sigmoid(-tu)
                                      : ref_sigmoid(tu) - ref_sigmoid(tl);
        }
    }
    REQUIRE(ref[255] < 1e-12 && ref[256] < 1e-20, "tails %g %g", ref[255],
            ref[256]);
    CHECK_CLOSE64("pmf of single logistics", pd, ref, 512, 0, 1e-9);
}

/* Categorical, float API: exp(logp) over all K^C values (K=16, C=2 and
 * K=256, C=1) and the pmf of every channel sum to 1, and exp(logp(x)) =
 * prod_c pmf_c(x_c) (channels independent, each its own logits). */
TEST(heads_cat_normalized)
{
    for (int t = 0; t < 2; t++) {
        const int K = t ? 256 : 16, C = t ? 1 : 2;
        const int64_t n = 256; /* K^C values, one per pixel */
        const pcnn_head h = pcnn_head_categorical(C, K);
        double one[512];
        fill_uniform_f64(one, (size_t)(C * K), 700 + (uint64_t)t, -3, 3);
        float *l = tmp((size_t)(C * K * n), sizeof *l);
        float *logp = tmp((size_t)n, sizeof *logp);
        float *probs = tmp((size_t)(K * n), sizeof *probs);
        float *p = tmp((size_t)n, sizeof *p), *prod = tmp(n, sizeof *prod);
        uint8_t *x = tmp((size_t)(C * n), 1);
        replicate_f32(l, one, 1, C * K, n);
        for (int64_t i = 0; i < n; i++) {
            prod[i] = 1;
            for (int c = 0; c < C; c++)
                x[c * n + i] = (uint8_t)(c == 0 ? i % K : i / K);
        }
        const pcnn_tensor lt = pcnn_t4(l, 1, C * K, 16, 16);
        const pcnn_image xi = pcnn_img(x, 1, C, 16, 16);
        REQUIRE_OK(pcnn_head_log_prob(ctx(), &h, pcnn_t4(logp, 1, 1, 16, 16),
                                      lt, xi));
        double s = 0;
        for (int64_t i = 0; i < n; i++)
            s += p[i] = expf(logp[i]);
        CHECK(fabs(s - 1) < 1e-5, "K=%d C=%d: sum exp(logp) = %.9f", K, C, s);
        for (int c = 0; c < C; c++) {
            REQUIRE_OK(pcnn_head_pmf(ctx(), &h, pcnn_t4(probs, 1, K, 16, 16),
                                     lt, xi, c));
            for (int64_t i = 0; i < n; i++) {
                double sp = 0;
                for (int v = 0; v < K; v++)
                    sp += probs[v * n + i];
                prod[i] *= probs[x[c * n + i] * n + i];
                CHECK(fabs(sp - 1) < 1e-5, "K=%d c=%d pixel %lld: sum %.9f",
                      K, c, (long long)i, sp);
            }
        }
        CHECK_CLOSE("cat exp(logp) vs prod_c pmf", p, prod, (size_t)n, 0,
                    1e-5);
        tmp_free();
    }
}

/* p(x) = prod_c pmf(x_c | x_<c) (double kernels) where no bin takes the
 * safe branch: scales e^-1.2 .. e^-0.5 and |mean| <= 1.1 keep every bin
 * above 1e-5 (asserted through the reference's branch counts). */
TEST(heads_dmol_chain_rule)
{
    for (int C = 2; C <= 3; C++) {
        const int M = 3, P = dmol_P(C, M);
        const int64_t B = 2, HW = 64, n = B * HW;
        pcnn_head_dims d = {.B = B, .HW = HW, .C = C, .M = M};
        double *l = tmp((size_t)(n * P), sizeof *l);
        double *p = tmp((size_t)n, sizeof *p);
        double *prod = tmp((size_t)n, sizeof *prod);
        double *pd = tmp((size_t)(n * 256), sizeof *pd);
        uint8_t *x = tmp((size_t)(n * C), 1);
        fill_dmol(l, B, HW, C, M, (dmol_range){1, -0.5, 0.5, -1.2, -0.5, 0.3},
                  800 + (uint64_t)C);
        for (int64_t q = 0; q < n * C; q++) {
            const double u = pcnn_u01(801, (uint64_t)q);
            x[q] = (uint8_t)(q % 17 == 0 ? 0 : q % 17 == 1 ? 255 : 256 * u);
        }
        int br[NBR] = {0};
        ref_dmol_all(p, l, x, &d, br);
        REQUIRE(br[BR_SAFE] == 0 && br[BR_MID] > 0 && br[BR_ZERO] > 0 &&
                    br[BR_TOP] > 0,
                "test premise: %d safe, %d middle, %d zero, %d top bins",
                br[BR_SAFE], br[BR_MID], br[BR_ZERO], br[BR_TOP]);
        pcnn_cpu_dmol_log_prob_f64(p, l, x, &d);
        for (int64_t q = 0; q < n; q++) {
            p[q] = exp(p[q]);
            prod[q] = 1;
        }
        for (int c = 0; c < C; c++) {
            pcnn_cpu_dmol_pmf_f64(pd, l, x, &d, c);
            for (int64_t q = 0; q < n; q++) {
                const int64_t b = q / HW, i = q % HW;
                prod[q] *= pd[(b * 256 + x[(b * C + c) * HW + i]) * HW + i];
            }
        }
        CHECK_CLOSE64("exp(logp) vs prod_c pmf", p, prod, (size_t)n, 0, 1e-9);
        tmp_free();
    }
}

/* ----------------------------------------------------- float vs double */

/* The float kernels against the double ones on the same (float-rounded)
 * parameters, every branch included: logp, gradients, pmf. */
TEST(heads_f32_matches_f64)
{
    for (int C = 1; C <= 4; C++) {
        const int cat = C == 4;
        head_case t = cat ? cat_case(3, 256, 1200)
                          : dmol_case(C, 5, 1100 + (uint64_t)C);
        float *lf = to_f32(t.l, t.nl), *rf = to_f32(t.r, t.n);
        for (size_t q = 0; q < t.nl; q++)
            t.l[q] = lf[q];
        for (size_t q = 0; q < t.n; q++)
            t.r[q] = rf[q];
        float *logpf = tmp(t.n, sizeof *logpf), *dlf = tmp(t.nl, sizeof *dlf);
        double *dl = tmp(t.nl, sizeof *dl);
        case_forward(&t);
        case_backward(&t, dl);
        if (cat) {
            pcnn_cpu_cat_log_prob_f32(logpf, lf, t.x, &t.d);
            pcnn_cpu_cat_backward_f32(dlf, rf, lf, t.x, &t.d);
        } else {
            pcnn_cpu_dmol_log_prob_f32(logpf, lf, t.x, &t.d);
            pcnn_cpu_dmol_backward_f32(dlf, rf, lf, t.x, &t.d);
        }
        CHECK_CLOSE("logp f32 vs f64", logpf, to_f32(t.logp, t.n), t.n, 1e-4,
                    1e-5);
        CHECK_CLOSE("dl f32 vs f64", dlf, to_f32(dl, t.nl), t.nl, 1e-4, 1e-3);
        if (!cat) {
            float *pf = tmp(t.n * 256, sizeof *pf);
            double *pd = tmp(t.n * 256, sizeof *pd);
            pcnn_cpu_dmol_pmf_f64(pd, t.l, t.x, &t.d, C - 1);
            pcnn_cpu_dmol_pmf_f32(pf, lf, t.x, &t.d, C - 1);
            CHECK_CLOSE("pmf f32 vs f64", pf, to_f32(pd, t.n * 256),
                        t.n * 256, 1e-7, 1e-5);
        }
        tmp_free();
    }
}

/* ---------------------------------------------------------- API errors */

/* The call failed with status want, and its message names fn. */
static void expect_fail(const char *file, int line, pcnn_status got,
                        pcnn_status want, const char *fn)
{
    if (got != want)
        test_fail(file, line, "%s: got status %d (%s), expected %d (%s)", fn,
                  (int)got, pcnn_status_str(got), (int)want,
                  pcnn_status_str(want));
    else if (!strstr(pcnn_last_error(), fn))
        test_fail(file, line, "%s: message \"%s\" does not name it", fn,
                  pcnn_last_error());
}
#define EXPECT_FAIL(call, want, fn)                                          \
    expect_fail(__FILE__, __LINE__, (call), (want), fn)

TEST(heads_api_errors)
{
    float buf[20 * 4] = {0}, lp[4] = {0}, probs[256 * 4] = {0};
    uint8_t x[3 * 4] = {0};
    const pcnn_head dm = pcnn_head_dmol(3, 2); /* P = 20 */
    const pcnn_tensor logp = pcnn_t4(lp, 1, 1, 2, 2);
    const pcnn_tensor l20 = pcnn_t4(buf, 1, 20, 2, 2);
    const pcnn_image x3 = pcnn_img(x, 1, 3, 2, 2);
    REQUIRE(pcnn_head_params(&dm) == 20, "P = %d", pcnn_head_params(&dm));
    REQUIRE_OK(pcnn_head_log_prob(ctx(), &dm, logp, l20, x3));
    /* l with 19 channels; dl of another shape; channel 3 of 3 */
    EXPECT_FAIL(
        pcnn_head_log_prob(ctx(), &dm, logp, pcnn_t4(buf, 1, 19, 2, 2), x3),
        PCNN_ERR_SHAPE, "pcnn_head_log_prob");
    EXPECT_FAIL(pcnn_head_backward(ctx(), &dm, pcnn_t4(buf, 1, 20, 2, 1),
                                   logp, l20, x3),
                PCNN_ERR_SHAPE, "pcnn_head_backward");
    EXPECT_FAIL(
        pcnn_head_pmf(ctx(), &dm, pcnn_t4(probs, 1, 256, 2, 2), l20, x3, 3),
        PCNN_ERR_ARG, "pcnn_head_pmf");
    EXPECT_FAIL(pcnn_head_sample(ctx(), &dm, x3, l20, NULL), PCNN_ERR_ARG,
                "pcnn_head_sample");
    /* categorical value >= levels */
    const pcnn_head cat = pcnn_head_categorical(1, 16);
    const pcnn_tensor l16 = pcnn_t4(buf, 1, 16, 2, 2);
    x[3] = 16;
    EXPECT_FAIL(
        pcnn_head_log_prob(ctx(), &cat, logp, l16, pcnn_img(x, 1, 1, 2, 2)),
        PCNN_ERR_VALUE, "pcnn_head_log_prob");
    x[3] = 15;
    REQUIRE_OK(
        pcnn_head_log_prob(ctx(), &cat, logp, l16, pcnn_img(x, 1, 1, 2, 2)));
    /* invalid heads: no components, 4 channels, 1 level */
    const pcnn_head bad[3] = {pcnn_head_dmol(3, 0), pcnn_head_dmol(4, 2),
                              pcnn_head_categorical(1, 1)};
    for (int i = 0; i < 3; i++) {
        CHECK(pcnn_head_params(&bad[i]) == -1, "bad head %d has params", i);
        EXPECT_FAIL(pcnn_head_log_prob(ctx(), &bad[i], logp, l20, x3),
                    PCNN_ERR_ARG, "pcnn_head_log_prob");
    }
}
