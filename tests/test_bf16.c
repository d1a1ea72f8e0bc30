/*
 * test_bf16.c -- bf16 compute (pcnn_ctx_set_compute, src/cpu/gemm_bf16.c):
 * the bf16 SGEMM and the sampler's packed GEMM against a double reference
 * made from the bf16-rounded inputs (fp32 summation bound) and against the
 * unrounded product (bf16 bound), on odd shapes and every transpose; a
 * model's forward, loss and gradients in bf16 against f32; the cached
 * sampler against the naive one in bf16; the CLI's --compute. Where the
 * build or the CPU has no AVX512_BF16 the positive tests skip and the
 * error tests run (and the other way round).
 */
#include "test.h"
#include "cli_util.h"
#include "pixelcnn.h"
#include "gemm_bf16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 1 when bf16 runs here, else marks the test skipped */
static int have_bf16(void)
{
    const char *why = "";
    if (pcnn_bf16_available(&why))
        return 1;
    test_skip("bf16 compute: %s", why);
    return 0;
}

/* ||a - b|| / ||b|| */
static double rel_err(const float *a, const float *b, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        r += (double)b[i] * b[i];
    }
    return sqrt(d / (r > 0 ? r : 1));
}

#ifdef __AVX512F__
#include "gemm_avx512.h"
#include "gemm_packed.h"

/* x rounded to bf16, to nearest even (finite, normal x) */
static double bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

/* C = alpha op(A) op(B) + beta C0 in double, from A and B rounded to bf16
 * (round = 1) or not; S = |alpha| sum |a b| + |beta C0|, the scale of the
 * error bounds. */
static void reference(int ta, int tb, int M, int N, int K, double alpha,
                      const float *a, int lda, const float *b, int ldb,
                      double beta, const float *c0, int ldc, int round,
                      double *ref, double *S)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, sa = 0;
            for (int k = 0; k < K; k++) {
                const float x = ta ? a[(size_t)k * lda + i]
                                   : a[(size_t)i * lda + k];
                const float y = tb ? b[(size_t)j * ldb + k]
                                   : b[(size_t)k * ldb + j];
                const double p = round ? bf16_round(x) * bf16_round(y)
                                       : (double)x * y;
                s += p, sa += fabs(p);
            }
            const double c = c0[(size_t)i * ldc + j];
            ref[(size_t)i * N + j] = alpha * s + beta * c;
            S[(size_t)i * N + j] = fabs(alpha) * sa + fabs(beta * c);
        }
}


/* y = b + w * x of a conv in double from bf16-rounded x and w, and the
 * bound's scale S = |b| + sum |w x|. */
static void conv_ref(double *y, double *S, const float *x, const float *w,
                     const float *b, int B, int Ci, int Co, int H, int W,
                     const pcnn_conv_geom *g, int Ho, int Wo)
{
    for (int n = 0; n < B; n++)
        for (int o = 0; o < Co; o++)
            for (int i = 0; i < Ho; i++)
                for (int j = 0; j < Wo; j++) {
                    double s = b[o], sa = fabs(b[o]);
                    for (int c = 0; c < Ci; c++)
                        for (int p = 0; p < g->kh; p++)
                            for (int q = 0; q < g->kw; q++) {
                                const int yy = i * g->stride + p - g->pad_top;
                                const int xx = j * g->stride + q - g->pad_left;
                                if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                                    continue;
                                const double v =
                                    bf16_round(x[((n * Ci + c) * H + yy) * W +
                                                 xx]) *
                                    bf16_round(
                                        w[((o * Ci + c) * g->kh + p) * g->kw +
                                          q]);
                                s += v, sa += fabs(v);
                            }
                    const size_t e = (((size_t)n * Co + o) * Ho + i) * Wo + j;
                    y[e] = s, S[e] = sa;
                }
}

/* Conv forward and backward through a bf16 context, on the paths the
 * shapes take: Winograd (32x32, stride 1), the implicit GEMM (8x8), and
 * stride 2 (implicit forward, im2col backward). Against f32: y, dx and dw
 * within 2^-7 normwise (none equal; about 2e-3 for the implicit GEMM and
 * 4e-3 for Winograd, which rounds transformed values); the implicit forward also against
 * the rounded inputs' conv within the fp32 summation bound. */
TEST(bf16_convs_near_f32)
{
    if (!have_bf16())
        return;
    static const int shapes[][4] = {{32, 24, 20, 1}, {8, 24, 20, 1},
                                    {16, 16, 12, 2}};
    pcnn_ctx *cf, *cb;
    REQUIRE_OK(pcnn_ctx_create(&cf, NULL));
    REQUIRE_OK(pcnn_ctx_create(&cb, NULL));
    REQUIRE_OK(pcnn_ctx_set_compute(cb, PCNN_COMPUTE_BF16));
    for (int s = 0; s < 3; s++) {
        const int H = shapes[s][0], Ci = shapes[s][1], Co = shapes[s][2];
        const int st = shapes[s][3], B = 2, Ho = H / st;
        const pcnn_conv_geom g = {2, 3, st, 1, 0, 1, 1, 1};
        const size_t nx = (size_t)B * Ci * H * H, nw = (size_t)Co * Ci * 6;
        const size_t ny = (size_t)B * Co * Ho * Ho;
        float *x = xcalloc(nx, 4), *w = xcalloc(nw, 4), *b = xcalloc(Co, 4);
        float *y[2], *dx[2], *dw[2], *db = xcalloc(Co, 4);
        float *dy = xcalloc(ny, 4);
        fill_uniform_f32(x, nx, 101 + s, -1, 1);
        fill_uniform_f32(w, nw, 102 + s, -0.2f, 0.2f);
        fill_uniform_f32(b, Co, 103 + s, -1, 1);
        fill_uniform_f32(dy, ny, 104 + s, -1, 1);
        for (int k = 0; k < 2; k++) {
            pcnn_ctx *ctx = k ? cb : cf;
            y[k] = xcalloc(ny, 4), dx[k] = xcalloc(nx, 4);
            dw[k] = xcalloc(nw, 4);
            REQUIRE_OK(pcnn_conv2d_forward(
                ctx, pcnn_t4(y[k], B, Co, Ho, Ho), pcnn_t4(x, B, Ci, H, H),
                pcnn_t4(w, Co, Ci, 2, 3), pcnn_t1(b, Co), &g));
            REQUIRE_OK(pcnn_conv2d_backward(
                ctx, pcnn_t4(dx[k], B, Ci, H, H), pcnn_t4(dw[k], Co, Ci, 2, 3),
                pcnn_t1(db, Co), pcnn_t4(dy, B, Co, Ho, Ho),
                pcnn_t4(x, B, Ci, H, H), pcnn_t4(w, Co, Ci, 2, 3), &g));
        }
        const double ey = rel_err(y[1], y[0], ny);
        const double ex = rel_err(dx[1], dx[0], nx);
        const double ew = rel_err(dw[1], dw[0], nw);
        const double lim = ldexp(1, -7);
        CHECK(ey > 0 && ey < lim && ex > 0 && ex < lim && ew > 0 && ew < lim,
              "conv %dx%d %d->%d stride %d: bf16 vs f32: y %g, dx %g, dw %g",
              H, H, Ci, Co, st, ey, ex, ew);
        if (s == 1) {
            double *r = xcalloc(ny, 8), *S = xcalloc(ny, 8);
            conv_ref(r, S, x, w, b, B, Ci, Co, H, H, &g, Ho, Ho);
            int bad = 0;
            for (size_t e = 0; e < ny; e++)
                bad += fabs(y[1][e] - r[e]) >
                       ldexp(1, -24) * (Ci * 6 + 4) * S[e];
            CHECK(!bad, "implicit conv: %d outputs off the rounded inputs' "
                        "conv", bad);
            free(r), free(S);
        }
        free(x), free(w), free(b), free(db), free(dy);
        for (int k = 0; k < 2; k++)
            free(y[k]), free(dx[k]), free(dw[k]);
    }
    pcnn_ctx_free(cf), pcnn_ctx_free(cb);
}

/* One shape: the bf16 SGEMM within gamma_(K+4) S of the rounded inputs'
 * product, within (2^-7 + 2^-16) S more of the unrounded one (each
 * input within 2^-8 of itself), yet not equal to it
 * (the bf16 path ran); the same bits on 1, 2 and 3 threads. */
static void check_gemm(int ta, int tb, int M, int N, int K, float beta)
{
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
    const size_t na = (size_t)lda * (ta ? K : M);
    const size_t nb = (size_t)ldb * (tb ? N : K), nc = (size_t)ldc * M;
    float *a = xcalloc(na, 4), *b = xcalloc(nb, 4), *c0 = xcalloc(nc, 4);
    float *c[3];
    double *r16 = xcalloc((size_t)M * N, 8), *r32 = xcalloc((size_t)M * N, 8);
    double *S = xcalloc((size_t)M * N, 8);
    fill_uniform_f32(a, na, 81, -1, 1);
    fill_uniform_f32(b, nb, 82, -1, 1);
    fill_uniform_f32(c0, nc, 83, -1, 1);
    reference(ta, tb, M, N, K, 1.5, a, lda, b, ldb, beta, c0, ldc, 1, r16, S);
    reference(ta, tb, M, N, K, 1.5, a, lda, b, ldb, beta, c0, ldc, 0, r32, S);
    pcnn_gemm_bf16 = 1;
    for (int t = 0; t < 3; t++) {
        c[t] = xcalloc(nc, 4);
        memcpy(c[t], c0, nc * 4);
        CHECK(pcnn_sgemm_avx512(ta, tb, M, N, K, 1.5f, a, lda, b, ldb, beta,
                                c[t], ldc, t + 1) == 0,
              "no buffers");
    }
    pcnn_gemm_bf16 = 0;
    const double g = ldexp(1, -24) * (K + 4), h = ldexp(1, -7) + ldexp(1, -16);
    int bad16 = 0, bad32 = 0;
    double moved = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const size_t e = (size_t)i * N + j;
            const double v = c[0][(size_t)i * ldc + j];
            bad16 += fabs(v - r16[e]) > g * S[e] + 1e-30;
            bad32 += fabs(v - r32[e]) > (g + h) * S[e] + 1e-30;
            moved = fmax(moved, fabs(v - r32[e]));
        }
    char what[96];
    snprintf(what, sizeof what, "bf16 C (ta %d tb %d, %dx%dx%d, beta %g)", ta,
             tb, M, N, K, (double)beta);
    CHECK(!bad16, "%s: %d elements off the rounded inputs' product", what,
          bad16);
    CHECK(!bad32, "%s: %d elements off the fp32 product by more than bf16 "
                  "allows", what, bad32);
    CHECK(moved > 0, "%s: equal to the unrounded product: not bf16", what);
    CHECK(!memcmp(c[0], c[1], nc * 4) && !memcmp(c[0], c[2], nc * 4),
          "%s: 1, 2 and 3 threads differ", what);
    free(a), free(b), free(c0), free(r16), free(r32), free(S);
    for (int t = 0; t < 3; t++)
        free(c[t]);
}

TEST(bf16_gemm_matches_rounded_reference)
{
    if (!have_bf16())
        return;
    /* edge tiles in M and N, odd K and odd last K block (301 = 192 +
     * 109), M over the small-M limit (500 > 384), K of one */
    static const int shapes[][3] = {{1, 1, 1},     {7, 33, 5},
                                    {157, 101, 301}, {9, 17, 500},
                                    {500, 70, 37},  {16, 64, 2}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int *d = shapes[s];
                check_gemm(ta, tb, d[0], d[1], d[2], s % 3 == 0   ? 0.0f
                                                     : s % 3 == 1 ? 1.0f
                                                                  : 0.5f);
            }
}

/* The sampler's packed GEMM in bf16: C = bias + A W, the same bounds. */
TEST(bf16_packed_gemm_matches_rounded_reference)
{
    if (!have_bf16())
        return;
    static const int shapes[][3] = {{13, 45, 7}, {8, 32, 600}, {3, 70, 1},
                                    {21, 100, 1201}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        const int Mr = (M + 7) / 8 * 8;
        float *A = xcalloc((size_t)Mr * K, 4), *W = xcalloc((size_t)K * N, 4);
        float *bias = xcalloc((size_t)N, 4);
        float *wp = aligned_alloc(64, (pcnn_packed_floats(K, N) * 4 + 63) /
                                          64 * 64);
        float *c1 = xcalloc((size_t)M * N, 4), *c2 = xcalloc((size_t)M * N, 4);
        double *r16 = xcalloc((size_t)M * N, 8);
        double *r32 = xcalloc((size_t)M * N, 8), *S = xcalloc((size_t)M * N, 8);
        REQUIRE(wp, "no memory");
        fill_uniform_f32(A, (size_t)Mr * K, 91 + s, -1, 1);
        fill_uniform_f32(W, (size_t)K * N, 92 + s, -1, 1);
        fill_uniform_f32(bias, (size_t)N, 93 + s, -1, 1);
        /* bias as C0 with beta 1: a row of C0 per row of C */
        float *c0 = xcalloc((size_t)M * N, 4);
        for (int i = 0; i < M; i++)
            memcpy(c0 + (size_t)i * N, bias, (size_t)N * 4);
        reference(0, 0, M, N, K, 1, A, K, W, N, 1, c0, N, 1, r16, S);
        reference(0, 0, M, N, K, 1, A, K, W, N, 1, c0, N, 0, r32, S);
        pcnn_pack_weights(wp, W, N, K, N);
        pcnn_pack_weights_bf16(wp, K, N);
        pcnn_gemm_packed(c1, N, A, K, M, wp, bias, K, N, 1, 1);
        pcnn_gemm_packed(c2, N, A, K, M, wp, bias, K, N, 2, 1);
        const double g = ldexp(1, -24) * (K + 4);
        const double h = ldexp(1, -7) + ldexp(1, -16);
        int bad16 = 0, bad32 = 0;
        double moved = 0;
        for (size_t e = 0; e < (size_t)M * N; e++) {
            bad16 += fabs(c1[e] - r16[e]) > g * S[e] + 1e-30;
            bad32 += fabs(c1[e] - r32[e]) > (g + h) * S[e] + 1e-30;
            moved = fmax(moved, fabs(c1[e] - r32[e]));
        }
        CHECK(!bad16 && !bad32 && moved > 0,
              "packed %dx%dx%d: %d off the rounded product, %d off the fp32 "
              "one, largest change %g",
              M, N, K, bad16, bad32, moved);
        CHECK(!memcmp(c1, c2, (size_t)M * N * 4),
              "packed %dx%dx%d: 1 and 2 threads differ", M, N, K);
        free(A), free(W), free(bias), free(wp), free(c1);
        free(c2), free(c0), free(r16), free(r32), free(S);
    }
}
#endif /* __AVX512F__ */


/* A (1, 16, 3) model at 32x32 (Winograd, implicit and im2col convs,
 * deconvs) in bf16 against f32. The rounding errors of its ~40 GEMMs
 * compound: the head's parameters within 3% normwise (1.7% seen), the
 * loss within 0.5% (0.06% seen), the gradient within 10% (5.8% seen);
 * none equal. */
TEST(bf16_model_forward_and_gradient_near_f32)
{
    if (!have_bf16())
        return;
    pcnn_ctx *cf, *cb;
    const pcnn_ctx_opts co = {PCNN_BACKEND_CPU, 2};
    REQUIRE_OK(pcnn_ctx_create(&cf, &co));
    REQUIRE_OK(pcnn_ctx_create(&cb, &co));
    REQUIRE_OK(pcnn_ctx_set_compute(cb, PCNN_COMPUTE_BF16));
    CHECK(pcnn_ctx_compute(cb) == PCNN_COMPUTE_BF16 &&
              pcnn_ctx_compute(cf) == PCNN_COMPUTE_F32 &&
              strstr(pcnn_ctx_describe(cb), "bf16"),
          "compute getters: %s", pcnn_ctx_describe(cb));
    pcnn_model_config c = pcnn_model_config_default();
    c.nr_resnet = 1, c.nr_filters = 16, c.nr_mix = 3, c.dropout = 0;
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &c, 5));
    const int64_t B = 4, n = B * 3 * 32 * 32;
    uint8_t *x = xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++) /* smooth images with noise */
        x[i] = (uint8_t)(128 + 60 * sin((double)(i % 1024) / 97.0 + i / 3072) +
                         30 * pcnn_uniform(3, (uint64_t)i));
    const pcnn_batch b = {pcnn_img(x, B, 3, 32, 32), NULL, pcnn_none()};
    REQUIRE_OK(pcnn_model_data_init(cf, m, &b));
    pcnn_head h = pcnn_model_head(m);
    const int64_t pn = B * pcnn_head_params(&h) * 32 * 32;
    float *lf = xcalloc((size_t)pn, 4), *lb = xcalloc((size_t)pn, 4);
    REQUIRE_OK(pcnn_model_forward(cf, m, &b, pcnn_t4(lf, B, pcnn_head_params(&h), 32, 32)));
    REQUIRE_OK(pcnn_model_forward(cb, m, &b, pcnn_t4(lb, B, pcnn_head_params(&h), 32, 32)));
    const double el = rel_err(lb, lf, (size_t)pn);
    CHECK(el > 0 && el < 0.03, "head parameters: bf16 vs f32 %g", el);
    double bpd_f, bpd_b;
    size_t ng;
    REQUIRE_OK(pcnn_model_loss(cf, m, &b, 1, 7, &bpd_f, NULL));
    REQUIRE_OK(pcnn_model_backward(cf, m));
    float *g = pcnn_model_grads(m, &ng);
    float *gf = xcalloc(ng, 4);
    memcpy(gf, g, ng * 4);
    REQUIRE_OK(pcnn_model_loss(cb, m, &b, 1, 7, &bpd_b, NULL));
    REQUIRE_OK(pcnn_model_backward(cb, m));
    g = pcnn_model_grads(m, &ng);
    const double eg = rel_err(g, gf, ng);
    CHECK(bpd_b != bpd_f && fabs(bpd_b - bpd_f) < 0.005 * bpd_f,
          "loss: bf16 %.6f vs f32 %.6f", bpd_b, bpd_f);
    CHECK(eg > 0 && eg < 0.1, "gradient: bf16 vs f32 %g", eg);
    free(x), free(lf), free(lb), free(gf);
    pcnn_model_free(m);
    pcnn_ctx_free(cf), pcnn_ctx_free(cb);
}

/* The cached sampler in bf16 (packed GEMM) against the naive one (the
 * convs' GEMMs in bf16): the same roundings of the same inputs, only the
 * order of the fp32 sums differs, so the head's parameters agree to 1e-4
 * and the images are the same. */
TEST(bf16_sample_cached_equals_naive)
{
    if (!have_bf16())
        return;
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    REQUIRE_OK(pcnn_ctx_set_compute(ctx, PCNN_COMPUTE_BF16));
    pcnn_model_config c = pcnn_model_config_default();
    c.channels = 3, c.height = c.width = 8;
    c.nr_resnet = 2, c.nr_filters = 8, c.nr_mix = 3, c.nr_resolutions = 3;
    pcnn_model *m;
    REQUIRE_OK(pcnn_model_create(&m, &c, 3));
    const int64_t B = 3, n = B * 3 * 64;
    uint8_t *x = xcalloc((size_t)n, 1), *xa = xcalloc((size_t)n, 1);
    uint8_t *xb = xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint8_t)(pcnn_uniform(10, (uint64_t)i) * 256);
    const pcnn_batch b = {pcnn_img(x, B, 3, 8, 8), NULL, pcnn_none()};
    REQUIRE_OK(pcnn_model_data_init(ctx, m, &b));
    pcnn_head h = pcnn_model_head(m);
    const int P = pcnn_head_params(&h);
    float *la = xcalloc((size_t)(B * P * 64), 4);
    float *lb = xcalloc((size_t)(B * P * 64), 4);
    pcnn_model_sample_opts o = pcnn_model_sample_opts_default();
    o.seed = 42;
    o.params = pcnn_t4(la, B, P, 8, 8);
    o.naive = 1;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(xa, B, 3, 8, 8), &o));
    o.params.data = lb;
    o.naive = 0;
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(xb, B, 3, 8, 8), &o));
    CHECK_CLOSE("bf16 head parameters, cached vs naive", lb, la,
                (size_t)(B * P * 64), 1e-4, 1e-4);
    int64_t diff = 0;
    for (int64_t i = 0; i < n; i++)
        diff += xa[i] != xb[i];
    CHECK(diff == 0, "bf16: %lld of %lld sampled values differ",
          (long long)diff, (long long)n);
    /* and bf16 changed them: f32's cached parameters differ */
    REQUIRE_OK(pcnn_ctx_set_compute(ctx, PCNN_COMPUTE_F32));
    REQUIRE_OK(pcnn_model_sample(ctx, m, pcnn_img(xb, B, 3, 8, 8), &o));
    CHECK(memcmp(la, lb, (size_t)(B * P * 64) * 4),
          "bf16 and f32 sampling gave the same parameters");
    free(x), free(xa), free(xb), free(la), free(lb);
    pcnn_model_free(m);
    pcnn_ctx_free(ctx);
}

/* Where bf16 cannot run: a one-line error, the context unchanged, and
 * the CLI's --compute bf16 fails naming the flag. */
TEST(bf16_unsupported_is_an_error)
{
    const char *why = "";
    pcnn_ctx *ctx;
    REQUIRE_OK(pcnn_ctx_create(&ctx, NULL));
    CHECK(pcnn_ctx_set_compute(ctx, (pcnn_compute)7) == PCNN_ERR_ARG,
          "compute 7 accepted");
    CHECK(pcnn_ctx_set_compute(NULL, PCNN_COMPUTE_F32) == PCNN_ERR_ARG,
          "NULL ctx accepted");
    if (pcnn_bf16_available(&why)) {
        pcnn_ctx_free(ctx);
        test_skip("bf16 runs here: no error to test");
        return;
    }
    CHECK(pcnn_ctx_set_compute(ctx, PCNN_COMPUTE_BF16) ==
                  PCNN_ERR_UNSUPPORTED &&
              strstr(pcnn_last_error(), "bf16") &&
              !strchr(pcnn_last_error(), '\n'),
          "set_compute bf16: %s", pcnn_last_error());
    CHECK(pcnn_ctx_compute(ctx) == PCNN_COMPUTE_F32, "compute changed");
    pcnn_ctx_free(ctx);
    if (!have_cli())
        return;
    char dir[] = "/tmp/pcnn_bf16_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    static char out[8192];
    int rc = run(out, sizeof out,
                 "%s train --data mnist:%s --out %s/a " TINY
                 " --steps 2 --no-test --compute bf16",
                 cli(), dir, dir);
    CHECK(rc != 0 && strstr(out, "--compute bf16:"),
          "train --compute bf16 without support (rc %d): %s", rc, out);
    run(out, sizeof out, "rm -rf %s", dir);
}

/* --compute on train, eval and sample; a bad value is a usage error. */
TEST(bf16_cli_compute_flag)
{
    if (!have_cli())
        return;
    static char out[16384];
    int rc = run(out, sizeof out, "%s train --compute f16", cli());
    CHECK(rc == 2 && strstr(out, "--compute"), "--compute f16 (rc %d): %s",
          rc, out);
    if (!have_bf16())
        return;
    char dir[] = "/tmp/pcnn_bf16_XXXXXX";
    REQUIRE(mkdtemp(dir), "mkdtemp");
    REQUIRE(write_idx(dir) == 0, "cannot write data");
    rc = run(out, sizeof out,
             "%s train --data mnist:%s --out %s/a " TINY
             " --steps 4 --compute bf16",
             cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "test bits/dim:"), "train bf16: %s", out);
    rc = run(out, sizeof out,
             "%s eval --checkpoint %s/a/checkpoint.safetensors --data "
             "mnist:%s --threads 1 --compute bf16",
             cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "bits/dim:"), "eval bf16: %s", out);
    rc = run(out, sizeof out,
             "%s sample --checkpoint %s/a/checkpoint.safetensors -n 2 "
             "-o %s/s.npy --threads 1 --compute bf16",
             cli(), dir, dir);
    CHECK(rc == 0 && strstr(out, "sampled 2 images"), "sample bf16: %s",
          out);
    run(out, sizeof out, "rm -rf %s", dir);
}
