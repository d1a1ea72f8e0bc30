/*
 * test_gemm.c -- the library's AVX-512 SGEMM (src/cpu/gemm_avx512.c)
 * against cblas_sgemm: odd shapes with edge tiles, all transposes, beta 0,
 * 1 and 0.5, leading dimensions wider than the matrices; and bitwise the
 * same results on 1, 2 and 3 threads. And the implicit-im2col conv
 * (src/cpu/conv_avx512.c) bit for bit against im2col + that SGEMM + the
 * bias, the path it replaced, on every kind of panel it packs.
 */
#include "test.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __AVX512F__
#include "gemm_avx512.h"
#include "kernels.h"

static void check_shape(int ta, int tb, int M, int N, int K, float beta)
{
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
    size_t na = (size_t)lda * (ta ? K : M), nb = (size_t)ldb * (tb ? N : K);
    size_t nc = (size_t)ldc * M;
    float *a = xcalloc(na, 4), *b = xcalloc(nb, 4), *c0 = xcalloc(nc, 4);
    float *ref = xcalloc(nc, 4), *c[3];
    fill_uniform_f32(a, na, 71, -1, 1);
    fill_uniform_f32(b, nb, 72, -1, 1);
    fill_uniform_f32(c0, nc, 73, -1, 1);
    memcpy(ref, c0, nc * 4);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, M, N, K, 1.5f, a, lda, b, ldb,
                beta, ref, ldc);
    for (int t = 0; t < 3; t++) {
        c[t] = xcalloc(nc, 4);
        memcpy(c[t], c0, nc * 4);
        REQUIRE(pcnn_sgemm_avx512(ta, tb, M, N, K, 1.5f, a, lda, b, ldb, beta,
                                  c[t], ldc, t + 1) == 0,
                "no buffers");
    }
    char what[96];
    snprintf(what, sizeof what, "C (ta %d tb %d, %dx%dx%d, beta %g)", ta, tb,
             M, N, K, (double)beta);
    /* sums of K products of size ~1: float rounding ~ sqrt(K) 6e-8 */
    CHECK_CLOSE(what, c[0], ref, nc, 1e-5 * sqrt((double)K), 1e-5);
    CHECK(memcmp(c[0], c[1], nc * 4) == 0 && memcmp(c[0], c[2], nc * 4) == 0,
          "%s: 1, 2 and 3 threads differ", what);
    free(a), free(b), free(c0), free(ref);
    for (int t = 0; t < 3; t++)
        free(c[t]);
}

TEST(gemm_avx512_matches_cblas)
{
    static const int shapes[][3] = {{1, 1, 1},    {7, 33, 5},
                                    {157, 1013, 301}, {64, 4096, 384},
                                    {320, 100, 1920}, {9, 17, 500}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int *d = shapes[s];
                check_shape(ta, tb, d[0], d[1], d[2], s % 3 == 0   ? 0.0f
                                                      : s % 3 == 1 ? 1.0f
                                                                   : 0.5f);
            }
}
/* The im2col path for one image: col (K, N) by the definition, then
 * out (Co, N) = w col with beta 0, then + bias: the sums, their order and
 * their roundings that conv_avx512.c promises to reproduce. */
static void conv_reference(float *y, const float *x, const float *w,
                           const float *b, const pcnn_conv_dims *d)
{
    const int64_t K = d->Ci * d->kh * d->kw, N = d->Ho * d->Wo;
    float *col = xcalloc((size_t)(K * N), 4), *out = xcalloc((size_t)(d->Co * N), 4);
    for (int64_t n = 0; n < d->B; n++) {
        for (int64_t k = 0; k < K; k++) {
            const int64_t c = k / (d->kh * d->kw);
            const int p = (int)(k / d->kw % d->kh), q = (int)(k % d->kw);
            for (int64_t i = 0; i < d->Ho; i++)
                for (int64_t j = 0; j < d->Wo; j++) {
                    const int64_t yy = i * d->stride + p * d->dil - d->pt;
                    const int64_t xx = j * d->stride + q * d->dil - d->pl;
                    col[k * N + i * d->Wo + j] =
                        yy >= 0 && yy < d->H && xx >= 0 && xx < d->W
                            ? x[((n * d->Ci + c) * d->H + yy) * d->W + xx]
                            : 0;
                }
        }
        REQUIRE(pcnn_sgemm_avx512(0, 0, (int)d->Co, (int)N, (int)K, 1, w,
                                  (int)K, col, (int)N, 0, out, (int)N,
                                  1) == 0,
                "no buffers");
        for (int64_t c = 0; c < d->Co; c++)
            for (int64_t k = 0; k < N; k++)
                y[(n * d->Co + c) * N + k] = out[c * N + k] + (b ? b[c] : 0);
    }
    free(col), free(out);
}

/* conv2d_backward's dx in float (stride 1: a conv of dy with flipped
 * weights on the implicit path) against the double kernel (col2im). */
static void check_dx(const pcnn_conv_dims *d, const float *x,
                     const float *w, size_t s)
{
    const size_t nx = (size_t)(d->B * d->Ci * d->H * d->W);
    const size_t ny = (size_t)(d->B * d->Co * d->Ho * d->Wo);
    const size_t nw = (size_t)(d->Co * d->Ci * d->kh * d->kw);
    float *dy = xcalloc(ny, 4), *dx = xcalloc(nx, 4), *dw = xcalloc(nw, 4);
    float *work = xcalloc(pcnn_cpu_conv2d_work(d), 4), *ref = xcalloc(nx, 4);
    double *x64 = xcalloc(nx, 8), *w64 = xcalloc(nw, 8), *dy64 = xcalloc(ny, 8);
    double *dx64 = xcalloc(nx, 8), *dw64 = xcalloc(nw, 8);
    double *work64 = xcalloc(pcnn_cpu_conv2d_work(d), 8);
    fill_uniform_f32(dy, ny, 111 + s, -1, 1);
    for (size_t i = 0; i < nx; i++)
        x64[i] = x[i], dx[i] = 0.25f, dx64[i] = 0.25;
    for (size_t i = 0; i < nw; i++)
        w64[i] = w[i];
    for (size_t i = 0; i < ny; i++)
        dy64[i] = dy[i];
    pcnn_cpu_conv2d_backward_f32(dx, dw, NULL, dy, x, w, d, work);
    pcnn_cpu_conv2d_backward_f64(dx64, dw64, NULL, dy64, x64, w64, d, work64);
    for (size_t i = 0; i < nx; i++)
        ref[i] = (float)dx64[i];
    char what[48];
    snprintf(what, sizeof what, "dx (+= 0.25) of shape %zu", s);
    CHECK_CLOSE(what, dx, ref, nx, 1e-4, 1e-4);
    free(dy), free(dx), free(dw), free(work), free(ref);
    free(x64), free(w64), free(dy64), free(dx64), free(dw64), free(work64);
}

TEST(conv_implicit_im2col_matches_im2col)
{
    /* B, Ci, H, W, Co, kh, kw, stride, pt, pl, dil: every panel kind */
    static const int shapes[][11] = {
        {2, 7, 32, 32, 20, 2, 3, 1, 1, 1, 1},   /* down 2x3, one row/panel */
        {2, 70, 32, 32, 16, 2, 3, 1, 1, 1, 1},  /* K = 420: three K blocks */
        {3, 9, 16, 16, 24, 2, 2, 1, 1, 1, 1},   /* down-right, 2 rows/panel */
        {3, 5, 8, 8, 12, 2, 3, 1, 1, 1, 1},     /* 8 wide: 4 rows/panel */
        {3, 4, 28, 28, 9, 2, 3, 1, 1, 1, 1},    /* panels cross rows, images */
        {2, 6, 5, 5, 8, 3, 3, 1, 1, 1, 1},      /* rows narrower than 8 */
        {2, 6, 17, 19, 10, 3, 3, 2, 1, 1, 1},   /* stride 2 */
        {2, 5, 20, 40, 11, 3, 3, 1, 4, 4, 4},   /* dilation 4 */
        {2, 33, 64, 64, 40, 1, 1, 1, 0, 0, 1},  /* 1x1, two panels per row */
        {1, 20, 32, 32, 300, 2, 2, 1, 1, 1, 1}, /* Co = 300 */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *v = shapes[s];
        pcnn_conv_dims d = {v[0], v[1], v[2], v[3], v[4], 0, 0,
                            v[5], v[6], v[7], v[8], v[9], v[10]};
        d.Ho = (d.H + 2 * d.pt - d.dil * (d.kh - 1) - 1) / d.stride + 1;
        d.Wo = (d.W + 2 * d.pl - d.dil * (d.kw - 1) - 1) / d.stride + 1;
        if (d.kh == 2) /* causal: padding on top (and left) only */
            d.Ho = d.H, d.Wo = d.W;
        const size_t nx = (size_t)(d.B * d.Ci * d.H * d.W);
        const size_t ny = (size_t)(d.B * d.Co * d.Ho * d.Wo);
        const size_t nw = (size_t)(d.Co * d.Ci * d.kh * d.kw);
        float *x = xcalloc(nx, 4), *w = xcalloc(nw, 4), *b = xcalloc((size_t)d.Co, 4);
        float *ref = xcalloc(ny, 4), *y = xcalloc(ny, 4);
        fill_uniform_f32(x, nx, 81 + s, -1, 1);
        fill_uniform_f32(w, nw, 91 + s, -1, 1);
        fill_uniform_f32(b, (size_t)d.Co, 101 + s, -1, 1);
        conv_reference(ref, x, w, b, &d);
        for (int t = 1; t <= 3; t++) {
            memset(y, 0xff, ny * 4); /* NaNs: every element must be written */
            REQUIRE(pcnn_conv_forward_avx512(y, x, w, b, &d, 0, t) == 0,
                    "shape %zu: not taken", s);
            size_t bad = 0;
            while (bad < ny && memcmp(&y[bad], &ref[bad], 4) == 0)
                bad++;
            CHECK(bad == ny,
                  "shape %zu, %d threads: y[%zu] = %.9g, im2col %.9g", s, t,
                  bad, bad < ny ? (double)y[bad] : 0.0,
                  bad < ny ? (double)ref[bad] : 0.0);
        }
        if (d.stride == 1)
            check_dx(&d, x, w, s);
        free(x), free(w), free(b), free(ref), free(y);
    }
    /* more output channels than its kernel's fused path: declined, y
     * untouched (conv.c then takes the im2col path) */
    pcnn_conv_dims big = {1, 2, 4, 4, 400, 4, 4, 1, 1, 1, 0, 0, 1};
    float x[32] = {0}, *w = xcalloc(800, 4), y[6400];
    memset(y, 0x5a, sizeof y);
    CHECK(pcnn_conv_forward_avx512(y, x, w, NULL, &big, 0, 2) == -1,
          "Co = 400 taken");
    CHECK(y[0] == y[6399] && ((unsigned char *)y)[0] == 0x5a, "y written");
    free(w);
}
TEST(conv_winograd_matches_direct)
{
    /* B, Ci, H, W, Co, kh, kw, pt, pl */
    static const int shapes[][9] = {
        {2, 7, 32, 32, 20, 2, 3, 1, 1},   /* PixelCNN++ down 2x3 */
        {2, 70, 32, 32, 16, 2, 2, 1, 1},  /* down-right 2x2, K > KC */
        {1, 5, 64, 32, 12, 3, 3, 1, 1},   /* centered 3x3 */
        {3, 6, 32, 64, 9, 2, 3, 1, 1},    /* two 16-tile groups per row */
        {1, 320, 32, 32, 24, 2, 3, 1, 1}, /* F = 160's conv_in width */
        {1, 9, 32, 32, 300, 3, 2, 2, 0},  /* Co = 300, other padding */
        {2, 11, 16, 16, 10, 2, 3, 1, 1},  /* 8 tiles a row: split groups */
        {4, 6, 16, 16, 8, 2, 2, 1, 1},    /* the same, 2x2 */
        {1, 5, 32, 48, 7, 2, 3, 1, 1},    /* 24 tiles a row: both kinds */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *v = shapes[s];
        pcnn_conv_dims d = {v[0], v[1], v[2], v[3], v[4], v[2], v[3],
                            v[5], v[6], 1, v[7], v[8], 1};
        REQUIRE(pcnn_conv_winograd_fits(&d), "shape %zu does not fit", s);
        const size_t nx = (size_t)(d.B * d.Ci * d.H * d.W);
        const size_t ny = (size_t)(d.B * d.Co * d.Ho * d.Wo);
        const size_t nw = (size_t)(d.Co * d.Ci * d.kh * d.kw);
        float *x = xcalloc(nx, 4), *w = xcalloc(nw, 4), *b = xcalloc((size_t)d.Co, 4);
        float *ref = xcalloc(ny, 4), *y[3];
        fill_uniform_f32(x, nx, 121 + s, -1, 1);
        fill_uniform_f32(w, nw, 131 + s, -1, 1);
        fill_uniform_f32(b, (size_t)d.Co, 141 + s, -1, 1);
        conv_reference(ref, x, w, b, &d);
        for (int t = 0; t < 3; t++) {
            y[t] = xcalloc(ny, 4);
            memset(y[t], 0xff, ny * 4);
            REQUIRE(pcnn_conv_winograd_forward(y[t], x, w, b, &d, 0, t + 1) == 0,
                    "shape %zu: not taken", s);
        }
        char what[48];
        snprintf(what, sizeof what, "winograd y of shape %zu", s);
        /* sums of K = Ci kh kw products of size <= 1 */
        const double K = (double)(d.Ci * d.kh * d.kw);
        CHECK_CLOSE(what, y[0], ref, ny, 2e-6 * K, 1e-5);
        CHECK(memcmp(y[0], y[1], ny * 4) == 0 && memcmp(y[0], y[2], ny * 4) == 0,
              "%s: 1, 2 and 3 threads differ", what);
        free(x), free(w), free(b), free(ref);
        for (int t = 0; t < 3; t++)
            free(y[t]);
    }
    /* what it declines: stride 2, dilation, 1x1, 8 wide, half a panel of
     * tiles, odd height */
    pcnn_conv_dims d = {1, 4, 32, 32, 4, 16, 16, 2, 3, 2, 1, 1, 1};
    CHECK(!pcnn_conv_winograd_fits(&d), "stride 2 taken");
    d = (pcnn_conv_dims){1, 4, 32, 32, 4, 32, 32, 3, 3, 1, 2, 2, 2};
    CHECK(!pcnn_conv_winograd_fits(&d), "dilation 2 taken");
    d = (pcnn_conv_dims){1, 4, 32, 32, 4, 32, 32, 1, 1, 1, 0, 0, 1};
    CHECK(!pcnn_conv_winograd_fits(&d), "1x1 taken");
    d = (pcnn_conv_dims){4, 4, 8, 8, 4, 8, 8, 2, 3, 1, 1, 1, 1};
    CHECK(!pcnn_conv_winograd_fits(&d), "8 wide taken");
    d = (pcnn_conv_dims){1, 4, 2, 32, 4, 2, 32, 2, 3, 1, 1, 1, 1};
    CHECK(!pcnn_conv_winograd_fits(&d), "16 tiles (half a panel) taken");
    d = (pcnn_conv_dims){1, 4, 31, 32, 4, 31, 32, 2, 3, 1, 1, 1, 1};
    CHECK(!pcnn_conv_winograd_fits(&d), "odd height taken");
}
/* Causality in rounding, not only in exact arithmetic: changing input
 * pixel (a, b) leaves every output outside the pixel's reach bitwise
 * unchanged (the reach of a kh x kw conv padded pt, pl: outputs (i, j)
 * with i <= a + pt <= i + kh - 1, j <= b + pl <= j + kw - 1), and changes
 * some output inside it. */
TEST(conv_winograd_exact_receptive_field)
{
    /* kh, kw, pt, pl: down 2x3, down-right 2x2, centered 3x3 */
    static const int geo[][4] = {{2, 3, 1, 1}, {2, 2, 1, 1}, {3, 3, 1, 1}};
    for (size_t g = 0; g < 3; g++) {
        pcnn_conv_dims d = {1, 3, 16, 16, 4, 16, 16, geo[g][0], geo[g][1],
                            1, geo[g][2], geo[g][3], 1};
        REQUIRE(pcnn_conv_winograd_fits(&d), "geometry %zu does not fit", g);
        const size_t nx = 3 * 256, ny = 4 * 256, nw = (size_t)(12 * d.kh * d.kw);
        float *x = xcalloc(nx, 4), *w = xcalloc(nw, 4), *b = xcalloc(4, 4);
        float *y0 = xcalloc(ny, 4), *y1 = xcalloc(ny, 4);
        fill_uniform_f32(x, nx, 151 + g, -1, 1);
        fill_uniform_f32(w, nw, 161 + g, -1, 1);
        REQUIRE(pcnn_conv_winograd_forward(y0, x, w, b, &d, 0, 2) == 0, "y0");
        int leaks = 0, blind = 0;
        for (int a = 0; a < 16; a++)
            for (int bb = 0; bb < 16; bb++) {
                float keep[3];
                for (int c = 0; c < 3; c++) {
                    keep[c] = x[(c * 16 + a) * 16 + bb];
                    x[(c * 16 + a) * 16 + bb] += 0.37f;
                }
                REQUIRE(pcnn_conv_winograd_forward(y1, x, w, b, &d, 0, 2) == 0,
                        "y1");
                int inside = 0;
                for (int co = 0; co < 4; co++)
                    for (int i = 0; i < 16; i++)
                        for (int j = 0; j < 16; j++) {
                            const size_t k = (size_t)((co * 16 + i) * 16 + j);
                            const int reach =
                                i <= a + d.pt && a + d.pt <= i + d.kh - 1 &&
                                j <= bb + d.pl && bb + d.pl <= j + d.kw - 1;
                            const int changed = memcmp(&y0[k], &y1[k], 4) != 0;
                            leaks += changed && !reach;
                            inside += changed && reach;
                        }
                blind += !inside;
                for (int c = 0; c < 3; c++)
                    x[(c * 16 + a) * 16 + bb] = keep[c];
            }
        CHECK(leaks == 0 && blind == 0,
              "geometry %zu: %d outputs changed outside the reach, %d pixels "
              "reached nothing",
              g, leaks, blind);
        free(x), free(w), free(b), free(y0), free(y1);
    }
}
#else
TEST(conv_winograd_exact_receptive_field)
{
    test_skip("built without AVX-512");
}

TEST(conv_winograd_matches_direct)
{
    test_skip("built without AVX-512");
}

TEST(gemm_avx512_matches_cblas)
{
    test_skip("built without AVX-512 (cblas_sgemm is used)");
}

TEST(conv_implicit_im2col_matches_im2col)
{
    test_skip("built without AVX-512 (im2col is used)");
}
#endif
