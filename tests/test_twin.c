/*
 * test_twin.c -- the library against its PyTorch twin.
 *
 * Each test loads a fixture written by twin/make_fixtures.py (inputs,
 * parameters, float64 reference outputs and gradients, stored as F32),
 * runs the public float32 API on the same inputs and compares with
 * |got - ref| <= atol + rtol * |ref|, printing the worst element.
 * Backward calls start from zeroed gradients. Fixtures live in
 * tests/fixtures (relative to the working directory; `make test` runs from
 * the repository root), or in $PCNN_FIXTURES. A missing fixture fails.
 *
 * Tolerances, by what the float32 computation can lose:
 * - shifts, add, dropout: exact. They move values, add two floats once
 *   (correctly rounded, the same as the float64 sum rounded), or scale by
 *   1/(1-p) = 2.
 * - convolutions: sums of at most Ci*kh*kw = 18 (forward) and B*Ho*Wo =
 *   60 (weight gradient) products of O(1) values: float32 rounding gives
 *   ~1e-6, so atol 1e-5, rtol 1e-4.
 * - elu, concat_elu, gate: one exp/sigmoid per element, a few ulps, plus
 *   exp(x)-1 cancellation near 0 (~6e-8 absolute): atol 1e-6, rtol 1e-5.
 * - weight norm and data init: norms/moments accumulated over <= 60
 *   values: atol 1e-6, rtol 1e-5.
 * - DMOL: with log-scales clamped at -7 the inverse scale reaches 1097, so
 *   gradients reach ~1.4e3 and logp ~ -600 in these fixtures, and the bin
 *   mass sigma(a) - sigma(b) loses relative precision in float32 when the
 *   sigmoids saturate. A plain float32 evaluation of the spec (emulated by
 *   the twin; its errors are in each fixture's metadata, f32_*) needs
 *   logp: rtol 1e-4 alone; dl: atol 5e-5 at rtol 1e-3; pmf (weights in
 *   log space): atol 1.3e-7 at rtol 1e-4. With a margin of about 10:
 *   logp atol 2e-4 rtol 1e-4; dl atol 5e-4 rtol 1e-3; pmf atol 1e-6 rtol
 *   1e-4. A wrong term, index or branch is off by 1e-2 or far more.
 * - categorical: log-softmax of O(1) logits: atol 1e-5, rtol 1e-5.
 */
#include "test.h"
#include "pixelcnn.h"
#include "../src/io/safetensors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX_ALLOCS 48

/* One open fixture: its file, a context, and the buffers made from it. */
typedef struct {
    const char *name;
    pcnn_st_file *f;
    pcnn_ctx *ctx;
    void *allocs[FX_MAX_ALLOCS];
    int nalloc;
    int ok; /* 0 once anything failed: skip the remaining comparisons */
} fx;

static void *fx_alloc(fx *x, size_t n, size_t size)
{
    void *p = xcalloc(n, size);
    if (x->nalloc == FX_MAX_ALLOCS) {
        fprintf(stderr, "test_twin: raise FX_MAX_ALLOCS\n");
        abort();
    }
    x->allocs[x->nalloc++] = p;
    return p;
}

/* Opens tests/fixtures/<name>.safetensors (or $PCNN_FIXTURES/...) and a
 * context. Returns x->ok; on failure the test has failed. */
static int fx_open(fx *x, const char *name, const char *file, int line)
{
    memset(x, 0, sizeof *x);
    x->name = name;
    const char *dir = getenv("PCNN_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors",
             dir && *dir ? dir : "tests/fixtures", name);
    pcnn_status s = pcnn_st_load(path, &x->f);
    if (s != PCNN_OK) {
        test_fail(file, line,
                  "fixture %s: %s (run the tests from the repository root, "
                  "set PCNN_FIXTURES, or regenerate with /usr/bin/python3 "
                  "twin/make_fixtures.py)",
                  name, pcnn_last_error());
        return 0;
    }
    s = pcnn_ctx_create(&x->ctx, NULL);
    if (s != PCNN_OK) {
        test_fail(file, line, "pcnn_ctx_create: %s", pcnn_last_error());
        pcnn_st_free(x->f);
        return 0;
    }
    x->ok = 1;
    return 1;
}
#define FX_OPEN(x, name) fx_open(x, name, __FILE__, __LINE__)

static void fx_close(fx *x)
{
    for (int i = 0; i < x->nalloc; i++)
        free(x->allocs[i]);
    pcnn_ctx_free(x->ctx);
    pcnn_st_free(x->f);
}

static const pcnn_st_tensor *fx_find(fx *x, const char *name,
                                     const char *file, int line)
{
    const pcnn_st_tensor *t = pcnn_st_find(x->f, name);
    if (!t) {
        test_fail(file, line, "fixture %s has no tensor '%s'", x->name, name);
        x->ok = 0;
    }
    return t;
}

/* The fixture's float tensor `name` as a new float32 buffer, described as
 * a pcnn_tensor of its own shape (a scalar becomes (1)). pcnn_none() when
 * it is missing or not 0-, 1-, 2- or 4-d. */
static pcnn_tensor fx_get(fx *x, const char *name, const char *file,
                          int line)
{
    const pcnn_st_tensor *t = fx_find(x, name, file, line);
    if (!t)
        return pcnn_none();
    int64_t d[4] = {1, 1, 1, 1};
    for (int i = 0; i < t->ndim && i < 4; i++)
        d[i] = t->shape[i];
    if (t->ndim == 3 || t->ndim > 4) {
        test_fail(file, line, "fixture %s: '%s' has %d dims", x->name, name,
                  t->ndim);
        x->ok = 0;
        return pcnn_none();
    }
    float *buf = fx_alloc(x, t->numel, sizeof *buf);
    if (pcnn_st_copy_f32(x->f, t, buf, t->numel) != PCNN_OK) {
        test_fail(file, line, "%s", pcnn_last_error());
        x->ok = 0;
        return pcnn_none();
    }
    switch (t->ndim) {
    case 0:
    case 1: return pcnn_t1(buf, d[0]);
    case 2: return pcnn_t2(buf, d[0], d[1]);
    default: return pcnn_t4(buf, d[0], d[1], d[2], d[3]);
    }
}
#define FX_GET(x, name) fx_get(x, name, __FILE__, __LINE__)

/* A zeroed buffer shaped like t (for outputs and gradients). */
static pcnn_tensor fx_zeros_like(fx *x, pcnn_tensor t)
{
    pcnn_tensor z = t;
    if (!t.data)
        return pcnn_none();
    z.data = fx_alloc(x, (size_t)pcnn_numel(t), sizeof(float));
    return z;
}

/* The fixture's 4-d U8 tensor `name` as an image (a copy). */
static pcnn_image fx_image(fx *x, const char *name, const char *file,
                           int line)
{
    pcnn_image img = {0};
    const pcnn_st_tensor *t = fx_find(x, name, file, line);
    if (!t)
        return img;
    if (t->dtype != PCNN_ST_U8 || t->ndim != 4) {
        test_fail(file, line, "fixture %s: '%s' is not a 4-d U8 tensor",
                  x->name, name);
        x->ok = 0;
        return img;
    }
    uint8_t *buf = fx_alloc(x, t->numel, 1);
    memcpy(buf, t->data, t->numel);
    return pcnn_img(buf, t->shape[0], t->shape[1], t->shape[2], t->shape[3]);
}
#define FX_IMAGE(x, name) fx_image(x, name, __FILE__, __LINE__)

/* Metadata `key` as an integer / unsigned 64-bit / double. */
static const char *fx_meta(fx *x, const char *key, const char *file,
                           int line)
{
    const char *v = pcnn_st_meta(x->f, key);
    if (!v) {
        test_fail(file, line, "fixture %s has no metadata '%s'", x->name,
                  key);
        x->ok = 0;
    }
    return v;
}

static long fx_meta_int(fx *x, const char *key, const char *file, int line)
{
    const char *v = fx_meta(x, key, file, line);
    char *end = NULL;
    long r = v ? strtol(v, &end, 10) : 0;
    if (v && (end == v || *end)) {
        test_fail(file, line, "fixture %s: metadata %s='%s' is not an "
                              "integer",
                  x->name, key, v);
        x->ok = 0;
    }
    return r;
}
#define FX_INT(x, key) fx_meta_int(x, key, __FILE__, __LINE__)
#define FX_META(x, key) fx_meta(x, key, __FILE__, __LINE__)

/* Runs a pcnn call; on failure records it and marks the fixture failed. */
#define FX_CALL(x, call)                                                      \
    do {                                                                      \
        if ((x)->ok) {                                                        \
            pcnn_status fx_s_ = (call);                                       \
            if (fx_s_ != PCNN_OK) {                                           \
                test_fail(__FILE__, __LINE__, "%s: %s", #call,                \
                          pcnn_last_error());                                 \
                (x)->ok = 0;                                                  \
            }                                                                 \
        }                                                                     \
    } while (0)

/* Compares got with the fixture's tensor `name` (same shape required). */
static void fx_expect(fx *x, const char *file, int line, const char *name,
                      pcnn_tensor got, double atol, double rtol)
{
    if (!x->ok)
        return;
    pcnn_tensor ref = fx_get(x, name, file, line);
    if (!ref.data)
        return;
    if (pcnn_numel(ref) != pcnn_numel(got) || ref.ndim != got.ndim ||
        memcmp(ref.dim, got.dim, sizeof(int64_t) * (size_t)ref.ndim) != 0) {
        test_fail(file, line, "fixture %s: '%s' shape differs from the "
                              "result's",
                  x->name, name);
        return;
    }
    char what[128];
    snprintf(what, sizeof what, "%s: %s", x->name, name);
    close_f32(file, line, what, got.data, ref.data, (size_t)pcnn_numel(ref),
              atol, rtol);
}
#define FX_EXPECT(x, name, got, atol, rtol)                                   \
    fx_expect(x, __FILE__, __LINE__, name, got, atol, rtol)

static pcnn_shift_kind fx_kind(fx *x)
{
    const char *k = FX_META(x, "kind");
    if (k && strcmp(k, "down") == 0)
        return PCNN_DOWN;
    if (k && strcmp(k, "down_right") == 0)
        return PCNN_DOWN_RIGHT;
    if (k) {
        test_fail(__FILE__, __LINE__, "fixture %s: unknown kind '%s'",
                  x->name, k);
        x->ok = 0;
    }
    return PCNN_DOWN;
}

/* ------------------------------------------------------- convolutions */

/* conv (deconv = 0) or transposed conv (deconv = 1) fixtures */
static void run_conv(const char *name, int deconv)
{
    fx x;
    if (!FX_OPEN(&x, name))
        return;
    const pcnn_shift_kind kind = fx_kind(&x);
    const int kh = (int)FX_INT(&x, "kh"), kw = (int)FX_INT(&x, "kw");
    const int stride = (int)FX_INT(&x, "stride");
    pcnn_tensor X = FX_GET(&x, "x"), W = FX_GET(&x, "w"), B = FX_GET(&x, "b");
    pcnn_tensor Y = FX_GET(&x, "y"), dY = FX_GET(&x, "dy");
    if (x.ok) {
        CHECK(W.dim[2] == kh && W.dim[3] == kw, "%s: w is not %dx%d", name,
              kh, kw);
        pcnn_conv_geom g = deconv
                               ? pcnn_deconv_geom_shifted(kind, kh, kw, stride)
                               : pcnn_conv_geom_shifted(kind, kh, kw, stride);
        if (!deconv) {
            int64_t ho, wo;
            pcnn_conv_out_size(&g, X.dim[2], X.dim[3], &ho, &wo);
            CHECK(ho == Y.dim[2] && wo == Y.dim[3],
                  "%s: pcnn_conv_out_size %lldx%lld, twin %lldx%lld", name,
                  (long long)ho, (long long)wo, (long long)Y.dim[2],
                  (long long)Y.dim[3]);
        }
        pcnn_tensor y = fx_zeros_like(&x, Y), dx = fx_zeros_like(&x, X);
        pcnn_tensor dw = fx_zeros_like(&x, W), db = fx_zeros_like(&x, B);
        if (deconv) {
            FX_CALL(&x, pcnn_deconv2d_forward(x.ctx, y, X, W, B, &g));
            FX_CALL(&x, pcnn_deconv2d_backward(x.ctx, dx, dw, db, dY, X, W,
                                               &g));
        } else {
            FX_CALL(&x, pcnn_conv2d_forward(x.ctx, y, X, W, B, &g));
            FX_CALL(&x, pcnn_conv2d_backward(x.ctx, dx, dw, db, dY, X, W,
                                             &g));
        }
        FX_EXPECT(&x, "y", y, 1e-5, 1e-4);
        FX_EXPECT(&x, "dx", dx, 1e-5, 1e-4);
        FX_EXPECT(&x, "dw", dw, 1e-5, 1e-4);
        FX_EXPECT(&x, "db", db, 1e-5, 1e-4);
    }
    fx_close(&x);
}

TEST(twin_conv_down_2x3_s1) { run_conv("conv_down_2x3_s1", 0); }
TEST(twin_conv_down_2x3_s2) { run_conv("conv_down_2x3_s2", 0); }
TEST(twin_conv_downright_2x2_s1) { run_conv("conv_downright_2x2_s1", 0); }
TEST(twin_conv_downright_2x2_s2) { run_conv("conv_downright_2x2_s2", 0); }
TEST(twin_deconv_down_2x3_s2) { run_conv("deconv_down_2x3_s2", 1); }
TEST(twin_deconv_downright_2x2_s2) { run_conv("deconv_downright_2x2_s2", 1); }

TEST(twin_nin)
{
    fx x;
    if (!FX_OPEN(&x, "nin"))
        return;
    pcnn_tensor X = FX_GET(&x, "x"), W = FX_GET(&x, "w"), B = FX_GET(&x, "b");
    pcnn_tensor Y = FX_GET(&x, "y"), dY = FX_GET(&x, "dy");
    pcnn_tensor y = fx_zeros_like(&x, Y), dx = fx_zeros_like(&x, X);
    pcnn_tensor dw = fx_zeros_like(&x, W), db = fx_zeros_like(&x, B);
    FX_CALL(&x, pcnn_nin_forward(x.ctx, y, X, W, B));
    FX_CALL(&x, pcnn_nin_backward(x.ctx, dx, dw, db, dY, X, W));
    FX_EXPECT(&x, "y", y, 1e-5, 1e-4);
    FX_EXPECT(&x, "dx", dx, 1e-5, 1e-4);
    FX_EXPECT(&x, "dw", dw, 1e-5, 1e-4);
    FX_EXPECT(&x, "db", db, 1e-5, 1e-4);
    fx_close(&x);
}

/* ------------------------------------------------- shifts and pointwise */

typedef enum { SHIFT_DOWN, SHIFT_RIGHT, ELU, CONCAT_ELU, GATE } unary_op;

static void run_unary(const char *name, unary_op op, double atol,
                      double rtol)
{
    fx x;
    if (!FX_OPEN(&x, name))
        return;
    pcnn_tensor X = FX_GET(&x, "x"), Y = FX_GET(&x, "y");
    pcnn_tensor dY = FX_GET(&x, "dy");
    pcnn_tensor y = fx_zeros_like(&x, Y), dx = fx_zeros_like(&x, X);
    pcnn_ctx *c = x.ctx;
    switch (op) {
    case SHIFT_DOWN:
        FX_CALL(&x, pcnn_down_shift_forward(c, y, X));
        FX_CALL(&x, pcnn_down_shift_backward(c, dx, dY));
        break;
    case SHIFT_RIGHT:
        FX_CALL(&x, pcnn_right_shift_forward(c, y, X));
        FX_CALL(&x, pcnn_right_shift_backward(c, dx, dY));
        break;
    case ELU:
        FX_CALL(&x, pcnn_elu_forward(c, y, X));
        FX_CALL(&x, pcnn_elu_backward(c, dx, dY, X));
        break;
    case CONCAT_ELU:
        FX_CALL(&x, pcnn_concat_elu_forward(c, y, X));
        FX_CALL(&x, pcnn_concat_elu_backward(c, dx, dY, X));
        break;
    case GATE:
        FX_CALL(&x, pcnn_gate_forward(c, y, X));
        FX_CALL(&x, pcnn_gate_backward(c, dx, dY, X));
        break;
    }
    FX_EXPECT(&x, "y", y, atol, rtol);
    FX_EXPECT(&x, "dx", dx, atol, rtol);
    fx_close(&x);
}

TEST(twin_down_shift) { run_unary("down_shift", SHIFT_DOWN, 0, 0); }
TEST(twin_right_shift) { run_unary("right_shift", SHIFT_RIGHT, 0, 0); }
TEST(twin_elu) { run_unary("elu", ELU, 1e-6, 1e-5); }
TEST(twin_concat_elu) { run_unary("concat_elu", CONCAT_ELU, 1e-6, 1e-5); }
TEST(twin_gate) { run_unary("gate", GATE, 1e-6, 1e-5); }

TEST(twin_add)
{
    fx x;
    if (!FX_OPEN(&x, "add"))
        return;
    pcnn_tensor A = FX_GET(&x, "a"), B = FX_GET(&x, "b");
    pcnn_tensor Y = FX_GET(&x, "y"), dY = FX_GET(&x, "dy");
    pcnn_tensor y = fx_zeros_like(&x, Y), da = fx_zeros_like(&x, A);
    pcnn_tensor db = fx_zeros_like(&x, B);
    FX_CALL(&x, pcnn_add_forward(x.ctx, y, A, B));
    FX_CALL(&x, pcnn_add_backward(x.ctx, da, db, dY));
    FX_EXPECT(&x, "y", y, 0, 0);
    FX_EXPECT(&x, "da", da, 0, 0);
    FX_EXPECT(&x, "db", db, 0, 0);
    fx_close(&x);
}

/* The mask depends on every bit of the 64-bit seed, recorded in decimal:
 * a wrong hash, index or comparison changes which elements survive. */
TEST(twin_dropout)
{
    fx x;
    if (!FX_OPEN(&x, "dropout"))
        return;
    const char *ps = FX_META(&x, "p"), *ss = FX_META(&x, "dropout_seed");
    pcnn_tensor X = FX_GET(&x, "x"), Y = FX_GET(&x, "y");
    pcnn_tensor dY = FX_GET(&x, "dy");
    if (x.ok) {
        char *end = NULL;
        errno = 0;
        const unsigned long long seed = strtoull(ss, &end, 10);
        CHECK(errno == 0 && *end == '\0', "seed '%s'", ss);
        const float p = strtof(ps, &end);
        CHECK(*end == '\0', "p '%s'", ps);
        pcnn_tensor y = fx_zeros_like(&x, Y), dx = fx_zeros_like(&x, X);
        FX_CALL(&x, pcnn_dropout_forward(x.ctx, y, X, p, (uint64_t)seed));
        FX_CALL(&x, pcnn_dropout_backward(x.ctx, dx, dY, p, (uint64_t)seed));
        FX_EXPECT(&x, "y", y, 0, 0);
        FX_EXPECT(&x, "dx", dx, 0, 0);
    }
    fx_close(&x);
}

/* ------------------------------------------------------- weight norm */

static void run_weightnorm(const char *name)
{
    fx x;
    if (!FX_OPEN(&x, name))
        return;
    const long axis = FX_INT(&x, "axis");
    pcnn_tensor V = FX_GET(&x, "v"), G = FX_GET(&x, "g");
    pcnn_tensor W = FX_GET(&x, "w"), dW = FX_GET(&x, "dw");
    pcnn_tensor w = fx_zeros_like(&x, W), dv = fx_zeros_like(&x, V);
    pcnn_tensor dg = fx_zeros_like(&x, G);
    const pcnn_wn_axis ax = axis == 1 ? PCNN_WN_DIM1 : PCNN_WN_DIM0;
    FX_CALL(&x, pcnn_weightnorm_forward(x.ctx, w, V, G, ax));
    FX_CALL(&x, pcnn_weightnorm_backward(x.ctx, dv, dg, dW, V, G, ax));
    FX_EXPECT(&x, "w", w, 1e-6, 1e-5);
    FX_EXPECT(&x, "dv", dv, 1e-6, 1e-5);
    FX_EXPECT(&x, "dg", dg, 1e-6, 1e-5);
    fx_close(&x);
}

TEST(twin_weightnorm_conv) { run_weightnorm("weightnorm_conv"); }
TEST(twin_weightnorm_nin) { run_weightnorm("weightnorm_nin"); }
TEST(twin_weightnorm_deconv) { run_weightnorm("weightnorm_deconv"); }

TEST(twin_weightnorm_data_init)
{
    fx x;
    if (!FX_OPEN(&x, "weightnorm_data_init"))
        return;
    pcnn_tensor Yin = FX_GET(&x, "y_in"), S = FX_GET(&x, "scale");
    pcnn_tensor G = FX_GET(&x, "g"), B = FX_GET(&x, "b");
    if (x.ok) {
        pcnn_tensor g = fx_zeros_like(&x, G), b = fx_zeros_like(&x, B);
        FX_CALL(&x, pcnn_weightnorm_data_init(x.ctx, g, b, Yin, S.data[0]));
        FX_EXPECT(&x, "g", g, 1e-6, 1e-5);
        FX_EXPECT(&x, "b", b, 1e-6, 1e-5);
        FX_EXPECT(&x, "y", Yin, 1e-6, 1e-5); /* rewritten in place */
    }
    fx_close(&x);
}

/* ------------------------------------------------------------- heads */

/* log_prob, backward and every channel's pmf of a head fixture. */
static void run_head(const char *name, int dmol, double lp_atol,
                     double lp_rtol, double dl_atol, double dl_rtol,
                     double pmf_atol, double pmf_rtol)
{
    fx x;
    if (!FX_OPEN(&x, name))
        return;
    const int C = (int)FX_INT(&x, "channels");
    const int MK = (int)(dmol ? FX_INT(&x, "nr_mix") : FX_INT(&x, "levels"));
    pcnn_tensor L = FX_GET(&x, "l"), LP = FX_GET(&x, "logp");
    pcnn_tensor R = FX_GET(&x, "dlogp");
    pcnn_image img = FX_IMAGE(&x, "x");
    if (x.ok) {
        const pcnn_head h = dmol ? pcnn_head_dmol(C, MK)
                                 : pcnn_head_categorical(C, MK);
        CHECK(pcnn_head_params(&h) == L.dim[1], "%s: P %d, l has %lld", name,
              pcnn_head_params(&h), (long long)L.dim[1]);
        pcnn_tensor logp = fx_zeros_like(&x, LP), dl = fx_zeros_like(&x, L);
        FX_CALL(&x, pcnn_head_log_prob(x.ctx, &h, logp, L, img));
        FX_EXPECT(&x, "logp", logp, lp_atol, lp_rtol);
        FX_CALL(&x, pcnn_head_backward(x.ctx, &h, dl, R, L, img));
        FX_EXPECT(&x, "dl", dl, dl_atol, dl_rtol);
        for (int c = 0; c < C && x.ok; c++) {
            char key[16];
            snprintf(key, sizeof key, "pmf%d", c);
            pcnn_tensor probs = pcnn_t4(
                fx_alloc(&x, (size_t)(L.dim[0] * h.levels * L.dim[2] *
                                      L.dim[3]),
                         sizeof(float)),
                L.dim[0], h.levels, L.dim[2], L.dim[3]);
            FX_CALL(&x, pcnn_head_pmf(x.ctx, &h, probs, L, img, c));
            FX_EXPECT(&x, key, probs, pmf_atol, pmf_rtol);
        }
    }
    fx_close(&x);
}

/* tolerances: logp, dl, pmf as (atol, rtol); see the top of the file */
#define DMOL_TOL 2e-4, 1e-4, 5e-4, 1e-3, 1e-6, 1e-4
TEST(twin_dmol_c1) { run_head("dmol_c1", 1, DMOL_TOL); }
TEST(twin_dmol_c2) { run_head("dmol_c2", 1, DMOL_TOL); }
TEST(twin_dmol_c3) { run_head("dmol_c3", 1, DMOL_TOL); }
TEST(twin_categorical_k16)
{
    run_head("categorical_k16", 0, 1e-5, 1e-5, 1e-5, 1e-5, 1e-6, 1e-5);
}

/* Every fixture records the torch version that made it. */
TEST(twin_fixture_provenance)
{
    static const char *const names[] = {
        "conv_down_2x3_s1", "deconv_down_2x3_s2", "dropout", "dmol_c3",
        "categorical_k16",  "weightnorm_data_init",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        fx x;
        if (!FX_OPEN(&x, names[i]))
            continue;
        const char *tv = FX_META(&x, "torch");
        const char *gen = FX_META(&x, "generator");
        CHECK(!tv || *tv, "%s: empty torch version", names[i]);
        CHECK(!gen || strcmp(gen, "twin/make_fixtures.py") == 0,
              "%s: generator '%s'", names[i], gen ? gen : "");
        fx_close(&x);
    }
}
