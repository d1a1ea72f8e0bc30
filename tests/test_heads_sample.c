/*
 * test_heads_sample.c -- sampling from the likelihood heads
 * (pcnn_head_sample; src/cpu/dmol.c, categorical.c):
 *
 * - the exact draws of the spec (random-number indices, thread count)
 *   against a reference written from pixelcnn.h's contract;
 * - chi-square of the draws against the pmf, marginal and joint;
 * - the log-scale offset and the temperature.
 */
#include "heads_ref.h"
#include "pixelcnn.h"
#include "test.h"
#include "../src/core/rng.h"

#include <math.h>
#include <string.h>

/* The draws of the spec at pixel p, straight from pixelcnn.h's contract:
 * component by inversion of softmax(logits) with u(seed, p(C+1)), then
 * channel c with u(seed, p(C+1) + 1 + c); lp the pixel's P parameters. */
static void ref_dmol_draw(const double *lp, int C, int M, uint64_t seed,
                          int64_t p, double offset, int *out)
{
    const uint64_t base = (uint64_t)p * (uint64_t)(C + 1);
    double mx = -INFINITY, z = 0, cum = 0, xs[3];
    for (int k = 0; k < M; k++)
        mx = fmax(mx, lp[k]);
    for (int k = 0; k < M; k++)
        z += exp(lp[k] - mx);
    const double u0 = pcnn_u01_open(seed, base);
    int k = 0;
    while (k < M - 1 && !(u0 * z < (cum += exp(lp[k] - mx))))
        k++;
    for (int c = 0; c < C; c++) {
        const double mean = ref_mean(lp, C, M, k, c, xs);
        const double ls = fmax(lp[(1 + C + c) * M + k], -7) + offset;
        const double u = pcnn_u01_open(seed, base + 1 + (uint64_t)c);
        const double cont = mean + exp(ls) * (log(u) - log1p(-u));
        const double v = fmin(fmax(floor((cont + 1) * 127.5 + 0.5), 0), 255);
        out[c] = (int)v;
        xs[c] = v / 127.5 - 1;
    }
}

/* The categorical draw of the spec: inversion of softmax(z / T), z the K
 * logits of channel c, with u(seed, p(C+1) + 1 + c). */
static int ref_cat_draw(const double *z, int K, double T, uint64_t seed,
                        int64_t p, int C, int c)
{
    double mx = -INFINITY, s = 0, cum = 0;
    for (int v = 0; v < K; v++)
        mx = fmax(mx, z[v] / T);
    for (int v = 0; v < K; v++)
        s += exp(z[v] / T - mx);
    const double u = pcnn_u01_open(seed, (uint64_t)(p * (C + 1) + 1 + c));
    int v = 0;
    while (v < K - 1 && !(u * s < (cum += exp(z[v] / T - mx))))
        v++;
    return v;
}

/* Every draw of both heads equals the spec's -- random-number indices,
 * the clamp before the log-scale offset, the temperature -- with 1 and
 * 3 threads (800 pixels: enough for the kernels to go parallel), as a
 * twin written from the same contract draws them; and another seed
 * changes most draws. */
TEST(heads_sample_matches_reference_draws)
{
    enum { C = 3, M = 4, K = 20, B = 2, HW = 400, N = B * C * HW };
    for (int cat = 0; cat < 2; cat++) {
        const pcnn_head h =
            cat ? pcnn_head_categorical(C, K) : pcnn_head_dmol(C, M);
        const int P = pcnn_head_params(&h);
        double *ld = tmp((size_t)(B * P * HW), sizeof *ld);
        if (cat)
            fill_uniform_f64(ld, (size_t)(B * P * HW), 1300, -3, 3);
        else
            fill_dmol(ld, B, HW, C, M, (dmol_range){2, -0.9, 0.9, -8, -1, 2},
                      1301);
        float *l = to_f32(ld, (size_t)(B * P * HW));
        uint8_t *x = tmp(3 * N, 1);
        for (int run = 0; run < 3; run++) {
            const pcnn_ctx_opts co = {PCNN_BACKEND_CPU, run ? 3 : 1};
            const pcnn_sample_opts o = {.seed = run == 2 ? 7 : 2024,
                                        .log_scale_offset = -0.3f,
                                        .temperature = 0.8f};
            pcnn_ctx *c1;
            REQUIRE_OK(pcnn_ctx_create(&c1, &co));
            const pcnn_status s =
                pcnn_head_sample(c1, &h, pcnn_img(x + run * N, B, C, 20, 20),
                                 pcnn_t4(l, B, P, 20, 20), &o);
            pcnn_ctx_free(c1);
            REQUIRE_OK(s);
        }
        int bad[2] = {0, 0}, same = 0;
        for (int64_t p = 0; p < B * HW; p++) {
            const int64_t b = p / HW, i = p % HW;
            double lp[C * K];
            int want[C];
            for (int ch = 0; ch < P; ch++)
                lp[ch] = l[(b * P + ch) * HW + i];
            for (int c = 0; c < C && cat; c++)
                want[c] =
                    ref_cat_draw(lp + c * K, K, (double)0.8f, 2024, p, C, c);
            if (!cat)
                ref_dmol_draw(lp, C, M, 2024, p, (double)-0.3f, want);
            for (int c = 0; c < C; c++) {
                const int64_t q = (b * C + c) * HW + i;
                bad[0] += x[q] != want[c];
                bad[1] += x[N + q] != want[c];
                same += x[2 * N + q] == want[c];
            }
        }
        CHECK(bad[0] == 0 && bad[1] == 0,
              "%s: %d (1 thread) and %d (3 threads) of %d draws differ from "
              "the spec's",
              cat ? "categorical" : "dmol", bad[0], bad[1], N);
        CHECK(same < N / 2, "%s: seeds 2024 and 7 agree on %d of %d draws",
              cat ? "categorical" : "dmol", same, N);
        tmp_free();
    }
}

/* Pearson's chi-square of n cells of counts against probabilities from N
 * draws: cells expecting >= 5 alone, the rest pooled into one cell.
 * *dof = cells - 1. */
static double chi_square(const int *count, const double *prob, size_t n,
                         double N, int *dof)
{
    double chi = 0, pool_e = 0, pool_o = 0;
    int cells = 0;
    for (size_t v = 0; v < n; v++) {
        const double e = N * prob[v];
        if (e >= 5) {
            chi += (count[v] - e) * (count[v] - e) / e;
            cells++;
        } else {
            pool_e += e;
            pool_o += count[v];
        }
    }
    if (pool_e > 0) {
        chi += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
        cells++;
    } else if (pool_o > 0) {
        chi = INFINITY; /* a draw where the model puts no mass */
    }
    *dof = cells - 1;
    return chi;
}

/* Under the null hypothesis chi-square has mean dof and standard deviation
 * sqrt(2 dof); five standard deviations above the mean is a false alarm
 * rate below 1e-4 for the dofs here (the draws are seeded, so a passing
 * test passes every time). Measured: the correct sampler gives 207 for
 * dof 207 (x_0) and 8218 for dof 8260 (joint); rounding half a bin off
 * gives 338 and 8990, ignoring the coefficients 662514. */
#define CHI_OK(chi, dof) ((chi) < (dof) + 5 * sqrt(2.0 * (dof)))

/* One hand-picked C=2, M=3 mixture with a component near the bottom edge
 * (bin 0 has mass) and strong coupling of channel 1 to channel 0,
 * replicated over 200000 pixels: the joint histogram of (x_0, x_1)
 * against pmf_0(x_0) pmf_1(x_1 | x_0), and the marginal of x_0. */
TEST(heads_dmol_sample_matches_pmf)
{
    enum { C = 2, M = 3, P = 18, H = 400, W = 500, N = H * W };
    const double one[P] = {0.3,  -0.2, 0.1,   /* logits */
                           -0.3, 0.25, -0.97, /* means of x_0 */
                           0.1,  -0.4, 0.9,   /* means of x_1 */
                           -2.5, -3.0, -2.0,  /* log-scales of x_0 */
                           -2.2, -2.8, -3.5,  /* log-scales of x_1 */
                           0.8,  -1.2, 0.3};  /* coefs (1|0) */
    const pcnn_head h = pcnn_head_dmol(C, M);
    float *l = tmp((size_t)P * N, sizeof *l);
    uint8_t *x = tmp((size_t)C * N, 1);
    replicate_f32(l, one, 1, P, N);
    const pcnn_sample_opts o = {.seed = 12345, .temperature = 1};
    REQUIRE_OK(pcnn_head_sample(ctx(), &h, pcnn_img(x, 1, C, H, W),
                                pcnn_t4(l, 1, P, H, W), &o));
    /* the pmfs at 256 pixels with x_0 = 0..255 (the first 256 of l) */
    float *pf = tmp(256 * 256, sizeof *pf);
    uint8_t *xv = tmp(2 * 256, 1);
    double *p0 = tmp(256, sizeof *p0), *pj = tmp(65536, sizeof *pj);
    for (int v = 0; v < 256; v++)
        xv[v] = (uint8_t)v;
    replicate_f32(l, one, 1, P, 256);
    const pcnn_tensor l256 = pcnn_t4(l, 1, P, 1, 256);
    REQUIRE_OK(pcnn_head_pmf(ctx(), &h, pcnn_t4(pf, 1, 256, 1, 256), l256,
                             pcnn_img(xv, 1, C, 1, 256), 0));
    for (int v = 0; v < 256; v++)
        p0[v] = pf[v * 256];
    REQUIRE_OK(pcnn_head_pmf(ctx(), &h, pcnn_t4(pf, 1, 256, 1, 256), l256,
                             pcnn_img(xv, 1, C, 1, 256), 1));
    for (int v0 = 0; v0 < 256; v0++)
        for (int v1 = 0; v1 < 256; v1++)
            pj[v0 * 256 + v1] = p0[v0] * pf[v1 * 256 + v0];
    int *c0 = tmp(256, sizeof *c0), *cj = tmp(65536, sizeof *cj);
    for (int64_t i = 0; i < N; i++) {
        c0[x[i]]++;
        cj[x[i] * 256 + x[N + i]]++;
    }
    REQUIRE(p0[0] > 1e-3 && c0[0] > 0, "bin 0 has mass %g, %d draws", p0[0],
            c0[0]);
    int dof;
    double chi = chi_square(c0, p0, 256, N, &dof);
    CHECK(dof > 50 && CHI_OK(chi, dof), "x_0: chi-square %.1f, dof %d", chi,
          dof);
    chi = chi_square(cj, pj, 65536, N, &dof);
    CHECK(dof > 1000 && CHI_OK(chi, dof),
          "(x_0, x_1): chi-square %.1f, dof %d", chi, dof);
    tmp_free();
}

/* One logistic (M = 1, mean 0, log-scale -2.5) drawn at 200000 pixels
 * with log-scale offsets 0 and -1. The variance of the rounded draw is
 * (127.5 s)^2 pi^2/3 + 1/12 (Sheppard) in squared levels; the clamped tail
 * beyond the edges is 12 scales away and changes it by < 1e-3. The sample
 * variance has relative standard error sqrt((kurtosis - 1)/N) = 0.4%
 * (logistic kurtosis 4.2), so 3% is over five standard errors; the mean's
 * standard error is 0.04 levels. */
TEST(heads_dmol_sample_log_scale_offset)
{
    enum { H = 400, W = 500, N = H * W };
    const double one[3] = {0, 0, -2.5}, pi = 3.14159265358979323846;
    const pcnn_head h = pcnn_head_dmol(1, 1);
    float *l = tmp(3 * N, sizeof *l);
    uint8_t *x = tmp(N, 1);
    replicate_f32(l, one, 1, 3, N);
    double var[2];
    for (int t = 0; t < 2; t++) {
        const pcnn_sample_opts o = {.seed = 77, .log_scale_offset = -t};
        REQUIRE_OK(pcnn_head_sample(ctx(), &h, pcnn_img(x, 1, 1, H, W),
                                    pcnn_t4(l, 1, 3, H, W), &o));
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < N; i++) {
            s += x[i];
            s2 += (double)x[i] * x[i];
        }
        const double mean = s / N, sc = 127.5 * exp(-2.5 - t);
        const double expect = sc * sc * pi * pi / 3 + 1.0 / 12;
        var[t] = s2 / N - mean * mean;
        CHECK(fabs(mean - 127.5) < 0.25 && fabs(var[t] / expect - 1) < 0.03,
              "offset %d: mean %.3f (127.5), variance %.3f (%.3f)", -t, mean,
              var[t], expect);
    }
    CHECK(var[1] < 0.2 * var[0], "offset -1 does not sharpen: %.3f vs %.3f",
          var[1], var[0]);
    tmp_free();
}

/* K = 16 logits replicated over 100000 pixels: the draws at T = 1 and
 * T = 0.5 match softmax(l / T) (chi-square), and the lower temperature
 * lowers the entropy of the empirical distribution. */
TEST(heads_cat_sample_temperature)
{
    enum { K = 16, H = 250, W = 400, N = H * W };
    double one[K], entropy[2];
    fill_uniform_f64(one, K, 1000, -1.5, 1.5);
    const pcnn_head h = pcnn_head_categorical(1, K);
    float *l = tmp((size_t)K * N, sizeof *l);
    uint8_t *x = tmp(N, 1);
    replicate_f32(l, one, 1, K, N);
    for (int t = 0; t < 2; t++) {
        const double T = t ? 0.5 : 1;
        const pcnn_sample_opts o = {.seed = 5, .temperature = (float)T};
        REQUIRE_OK(pcnn_head_sample(ctx(), &h, pcnn_img(x, 1, 1, H, W),
                                    pcnn_t4(l, 1, K, H, W), &o));
        int count[K] = {0}, dof;
        double p[K], z = 0;
        for (int64_t i = 0; i < N; i++)
            count[x[i]]++;
        for (int v = 0; v < K; v++)
            z += p[v] = exp((double)(float)one[v] / T);
        entropy[t] = 0;
        for (int v = 0; v < K; v++) {
            const double f = count[v] / (double)N;
            p[v] /= z;
            entropy[t] -= f > 0 ? f * log(f) : 0;
        }
        const double chi = chi_square(count, p, K, N, &dof);
        CHECK(CHI_OK(chi, dof), "T=%g: chi-square %.1f, dof %d", T, chi, dof);
    }
    CHECK(entropy[1] < entropy[0] - 0.1, "entropy %.4f at T=0.5, %.4f at T=1",
          entropy[1], entropy[0]);
    tmp_free();
}

/* Drawing x_1 given x_0 = 90 within [lo, hi]: a wide interval (rejection)
 * and a narrow one (inverse CDF over its bins) against the pmf restricted
 * to the interval and renormalized, over 100000 pixels each, and the wide
 * one with a log-scale offset; x_0 is left alone and nothing falls
 * outside. */
TEST(heads_dmol_sample_range_matches_restricted_pmf)
{
    enum { C = 2, M = 3, P = 18, N = 100000 };
    const double one[P] = {0.3,  -0.2, 0.1,  -0.3, 0.25, -0.97,
                           0.1,  -0.4, 0.9,  -2.5, -3.0, -2.0,
                           -2.2, -2.8, -3.5, 0.8,  -1.2, 0.3};
    const pcnn_head h = pcnn_head_dmol(C, M);
    float *l = tmp((size_t)P * N, sizeof *l);
    uint8_t *x = tmp((size_t)C * N, 1), *lo = tmp(N, 1), *hi = tmp(N, 1);
    replicate_f32(l, one, 1, P, N);
    float *pf = tmp(256, sizeof *pf), *l1 = tmp(P, sizeof *l1);
    double *pr = tmp(256, sizeof *pr);
    replicate_f32(l1, one, 1, P, 1); /* one pixel's parameters */
    int *cnt = tmp(256, sizeof *cnt);
    /* the third: the first interval with log-scale offset -0.5, against
     * the pmf of the parameters with every log-scale lowered by 0.5 */
    const int ranges[3][2] = {{60, 230}, {150, 153}, {60, 230}};
    for (int r = 0; r < 3; r++) {
        const pcnn_sample_opts so = {77 + (uint64_t)r, r == 2 ? -0.5f : 0,
                                     1};
        for (int k = 0; k < P; k++) /* log-scales: entries 3M..5M-1 */
            l1[k] = (float)(one[k] - (r == 2 && k >= 3 * M && k < 5 * M
                                          ? 0.5 : 0));
        for (int64_t i = 0; i < N; i++)
            x[i] = 90, x[N + i] = 0, lo[i] = (uint8_t)ranges[r][0],
            hi[i] = (uint8_t)ranges[r][1];
        REQUIRE_OK(pcnn_head_sample_range(ctx(), &h,
                                          pcnn_img(x, 1, C, 1, N),
                                          pcnn_t4(l, 1, P, 1, N), 1, lo, hi,
                                          &so));
        REQUIRE_OK(pcnn_head_pmf(ctx(), &h, pcnn_t4(pf, 1, 256, 1, 1),
                                 pcnn_t4(l1, 1, P, 1, 1),
                                 pcnn_img(x, 1, C, 1, 1), 1));
        double mass = 0;
        for (int v = ranges[r][0]; v <= ranges[r][1]; v++)
            mass += pf[v];
        int outside = 0, moved = 0;
        memset(cnt, 0, 256 * sizeof *cnt);
        for (int64_t i = 0; i < N; i++) {
            cnt[x[N + i]]++;
            outside += x[N + i] < ranges[r][0] || x[N + i] > ranges[r][1];
            moved += x[i] != 90;
        }
        for (int v = 0; v < 256; v++)
            pr[v] = v >= ranges[r][0] && v <= ranges[r][1] ? pf[v] / mass : 0;
        int dof;
        double chi = chi_square(cnt, pr, 256, N, &dof);
        CHECK(outside == 0 && moved == 0, "range %d: %d outside, %d x_0 "
              "changed", r, outside, moved);
        CHECK(dof >= 3 && CHI_OK(chi, dof),
              "range [%d, %d] (mass %.3g): chi-square %.1f, dof %d",
              ranges[r][0], ranges[r][1], mass, chi, dof);
    }
    tmp_free();
}
