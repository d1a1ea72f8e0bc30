/*
 * test_causality.c -- a PixelCNN++-shaped stack of ops, with the stride-2
 * down and up paths, is causal: changing input pixel q changes no output
 * at any pixel p <= q in raster order (the difference is exactly zero),
 * and does change some later output (so the check can see a leak). A
 * deliberately non-causal stack (a centred 3x3 conv) must be caught.
 */
#include "test.h"
#include "pixelcnn.h"

#include <stdlib.h>
#include <string.h>

enum { B = 1, CIN = 3, F = 4, S = 8, NOUT = 5 };

static pcnn_tensor mk4(int64_t n, int64_t c, int64_t h, int64_t w)
{
    return pcnn_t4(xcalloc((size_t)(n * c * h * w), sizeof(float)), n, c, h,
                   w);
}

static pcnn_tensor mk_rand4(int64_t n, int64_t c, int64_t h, int64_t w,
                            uint64_t seed)
{
    pcnn_tensor t = mk4(n, c, h, w);
    fill_uniform_f32(t.data, (size_t)pcnn_numel(t), seed, -0.5f, 0.5f);
    return t;
}

typedef struct {
    pcnn_ctx *ctx;
    int leaky; /* use a centred 3x3 conv at the input: not causal */
    /* weights: OIHW for convs, (Ci,Co,kh,kw) for deconvs, (Co,Ci) nin */
    pcnn_tensor w_u0, w_ul_a, w_ul_b, w_res_u1, w_res_u2, w_res_ul1,
        w_res_ul2, w_skip, w_down_u, w_down_ul, w_up_u, w_up_ul, w_out,
        w_leak;
} net_t;

/* y = conv_kind(x) with a fresh output of the right size */
static pcnn_status conv(net_t *st, pcnn_tensor *y, pcnn_tensor x,
                        pcnn_tensor w, pcnn_shift_kind kind, int stride)
{
    pcnn_conv_geom g =
        pcnn_conv_geom_shifted(kind, (int)w.dim[2], (int)w.dim[3], stride);
    int64_t ho, wo;
    pcnn_conv_out_size(&g, x.dim[2], x.dim[3], &ho, &wo);
    *y = mk4(x.dim[0], w.dim[0], ho, wo);
    return pcnn_conv2d_forward(st->ctx, *y, x, w, pcnn_none(), &g);
}

static pcnn_status deconv(net_t *st, pcnn_tensor *y, pcnn_tensor x,
                          pcnn_tensor w, pcnn_shift_kind kind)
{
    pcnn_conv_geom g =
        pcnn_deconv_geom_shifted(kind, (int)w.dim[2], (int)w.dim[3], 2);
    *y = mk4(x.dim[0], w.dim[1], 2 * x.dim[2], 2 * x.dim[3]);
    return pcnn_deconv2d_forward(st->ctx, *y, x, w, pcnn_none(), &g);
}

/* x + gate(conv2(concat_elu(conv1(concat_elu(x)) [+ nin(concat_elu(a))])))
 * -- PixelCNN++'s gated resnet, with an optional skip input a. */
static pcnn_status gated_resnet(net_t *st, pcnn_tensor *out, pcnn_tensor x,
                                pcnn_tensor a, pcnn_tensor w1, pcnn_tensor w2,
                                pcnn_shift_kind kind)
{
    pcnn_tensor ce = mk4(B, 2 * F, x.dim[2], x.dim[3]), c1, c2, ce2;
    pcnn_status s = pcnn_concat_elu_forward(st->ctx, ce, x);
    if (s == PCNN_OK)
        s = conv(st, &c1, ce, w1, kind, 1);
    if (s == PCNN_OK && a.data) {
        pcnn_tensor cea = mk4(B, 2 * F, a.dim[2], a.dim[3]);
        pcnn_tensor sk = mk4(B, F, a.dim[2], a.dim[3]);
        s = pcnn_concat_elu_forward(st->ctx, cea, a);
        if (s == PCNN_OK)
            s = pcnn_nin_forward(st->ctx, sk, cea, st->w_skip, pcnn_none());
        if (s == PCNN_OK)
            s = pcnn_add_forward(st->ctx, c1, c1, sk);
        free(cea.data), free(sk.data);
    }
    ce2 = mk4(B, 2 * F, x.dim[2], x.dim[3]);
    if (s == PCNN_OK)
        s = pcnn_concat_elu_forward(st->ctx, ce2, c1);
    if (s == PCNN_OK)
        s = conv(st, &c2, ce2, w2, kind, 1);
    *out = mk4(B, F, x.dim[2], x.dim[3]);
    if (s == PCNN_OK)
        s = pcnn_gate_forward(st->ctx, *out, c2);
    if (s == PCNN_OK)
        s = pcnn_add_forward(st->ctx, *out, *out, x);
    free(ce.data), free(c1.data), free(ce2.data), free(c2.data);
    return s;
}

/* out (B, NOUT, S, S) from x (B, CIN, S, S). */
static pcnn_status stack_forward(net_t *st, pcnn_tensor out, pcnn_tensor x)
{
    pcnn_tensor t0, u, a, bb, ul_a, ul_b, ul, u1, ul1, u2, ul2, u3, ul3, e;
    pcnn_status s;
#define GO(call)                                                              \
    do {                                                                      \
        if ((s = (call)) != PCNN_OK)                                          \
            return s;                                                         \
    } while (0)
    /* u stream: down_shift(down_shifted_conv 2x3 (x)) */
    if (st->leaky) {
        pcnn_conv_geom g = {3, 3, 1, 1, 1, 1, 1, 1}; /* sees the pixel, below */
        t0 = mk4(B, F, S, S);
        GO(pcnn_conv2d_forward(st->ctx, t0, x, st->w_leak, pcnn_none(), &g));
    } else {
        GO(conv(st, &t0, x, st->w_u0, PCNN_DOWN, 1));
    }
    u = mk4(B, F, S, S);
    GO(pcnn_down_shift_forward(st->ctx, u, t0));
    /* ul stream: down_shift(1x3 down conv) + right_shift(2x1 down-right) */
    GO(conv(st, &a, x, st->w_ul_a, PCNN_DOWN, 1));
    GO(conv(st, &bb, x, st->w_ul_b, PCNN_DOWN_RIGHT, 1));
    ul_a = mk4(B, F, S, S), ul_b = mk4(B, F, S, S), ul = mk4(B, F, S, S);
    GO(pcnn_down_shift_forward(st->ctx, ul_a, a));
    GO(pcnn_right_shift_forward(st->ctx, ul_b, bb));
    GO(pcnn_add_forward(st->ctx, ul, ul_a, ul_b));
    /* one gated resnet per stream, ul taking u as its skip input */
    GO(gated_resnet(st, &u1, u, pcnn_none(), st->w_res_u1, st->w_res_u2,
                    PCNN_DOWN));
    GO(gated_resnet(st, &ul1, ul, u1, st->w_res_ul1, st->w_res_ul2,
                    PCNN_DOWN_RIGHT));
    /* stride-2 down path, then the stride-2 up path with skip adds */
    GO(conv(st, &u2, u1, st->w_down_u, PCNN_DOWN, 2));
    GO(conv(st, &ul2, ul1, st->w_down_ul, PCNN_DOWN_RIGHT, 2));
    GO(deconv(st, &u3, u2, st->w_up_u, PCNN_DOWN));
    GO(deconv(st, &ul3, ul2, st->w_up_ul, PCNN_DOWN_RIGHT));
    GO(pcnn_add_forward(st->ctx, u3, u3, u1));
    GO(pcnn_add_forward(st->ctx, ul3, ul3, ul1));
    /* the up-path u feeds ul, as in PixelCNN++'s down pass */
    GO(pcnn_add_forward(st->ctx, ul3, ul3, u3));
    /* output: nin(elu(ul)) */
    e = mk4(B, F, S, S);
    GO(pcnn_elu_forward(st->ctx, e, ul3));
    GO(pcnn_nin_forward(st->ctx, out, e, st->w_out, pcnn_none()));
#undef GO
    pcnn_tensor all[] = {t0, u, a, bb, ul_a, ul_b, ul, u1, ul1, u2,
                         ul2, u3, ul3, e};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i].data);
    return PCNN_OK;
}

static void stack_init(net_t *st, int leaky)
{
    memset(st, 0, sizeof *st);
    st->leaky = leaky;
    uint64_t k = 100;
    st->w_u0 = mk_rand4(F, CIN, 2, 3, k++);
    st->w_leak = mk_rand4(F, CIN, 3, 3, k++);
    st->w_ul_a = mk_rand4(F, CIN, 1, 3, k++);
    st->w_ul_b = mk_rand4(F, CIN, 2, 1, k++);
    st->w_res_u1 = mk_rand4(F, 2 * F, 2, 3, k++);
    st->w_res_u2 = mk_rand4(2 * F, 2 * F, 2, 3, k++);
    st->w_res_ul1 = mk_rand4(F, 2 * F, 2, 2, k++);
    st->w_res_ul2 = mk_rand4(2 * F, 2 * F, 2, 2, k++);
    pcnn_tensor skip = mk_rand4(F, 2 * F, 1, 1, k++);
    st->w_skip = pcnn_t2(skip.data, F, 2 * F);
    st->w_down_u = mk_rand4(F, F, 2, 3, k++);
    st->w_down_ul = mk_rand4(F, F, 2, 2, k++);
    st->w_up_u = mk_rand4(F, F, 2, 3, k++);  /* (Ci, Co, kh, kw) */
    st->w_up_ul = mk_rand4(F, F, 2, 2, k++);
    pcnn_tensor o = mk_rand4(NOUT, F, 1, 1, k++);
    st->w_out = pcnn_t2(o.data, NOUT, F);
}

static void stack_free(net_t *st)
{
    pcnn_tensor all[] = {st->w_u0, st->w_leak, st->w_ul_a, st->w_ul_b,
                         st->w_res_u1, st->w_res_u2, st->w_res_ul1,
                         st->w_res_ul2, st->w_skip, st->w_down_u,
                         st->w_down_ul, st->w_up_u, st->w_up_ul, st->w_out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i].data);
}

/* Counts, over every input pixel q, the outputs at p <= q that changed
 * (leaks) and the q whose change reached no later output (blind). */
static void probe(int leaky, int *leaks, int *blind)
{
    net_t st;
    stack_init(&st, leaky);
    *leaks = *blind = 0;
    if (pcnn_ctx_create(&st.ctx, NULL) != PCNN_OK) {
        test_fail(__FILE__, __LINE__, "ctx: %s", pcnn_last_error());
        return;
    }
    pcnn_tensor x = mk_rand4(B, CIN, S, S, 7);
    pcnn_tensor base = mk4(B, NOUT, S, S), out = mk4(B, NOUT, S, S);
    if (stack_forward(&st, base, x) != PCNN_OK) {
        test_fail(__FILE__, __LINE__, "stack: %s", pcnn_last_error());
        return;
    }
    for (int q = 0; q < S * S; q++) {
        pcnn_tensor xq = mk4(B, CIN, S, S);
        memcpy(xq.data, x.data, sizeof(float) * (size_t)pcnn_numel(x));
        for (int c = 0; c < CIN; c++)
            xq.data[c * S * S + q] += 1.0f;
        if (stack_forward(&st, out, xq) != PCNN_OK) {
            test_fail(__FILE__, __LINE__, "stack: %s", pcnn_last_error());
            return;
        }
        int later = 0;
        for (int c = 0; c < NOUT; c++)
            for (int p = 0; p < S * S; p++) {
                int differs = out.data[c * S * S + p] !=
                              base.data[c * S * S + p];
                if (differs && p <= q)
                    (*leaks)++;
                if (differs && p > q)
                    later = 1;
            }
        if (!later && q < S * S - 1)
            (*blind)++;
        free(xq.data);
    }
    free(x.data), free(base.data), free(out.data);
    pcnn_ctx_free(st.ctx);
    stack_free(&st);
}

TEST(causality_stack_with_stride2_paths)
{
    int leaks, blind;
    probe(0, &leaks, &blind);
    CHECK(leaks == 0, "%d outputs at or before the changed pixel changed",
          leaks);
    CHECK(blind == 0, "%d input pixels influenced no later output", blind);
}

TEST(causality_check_catches_a_leak)
{
    int leaks, blind;
    probe(1, &leaks, &blind);
    CHECK(leaks > 0, "a centred 3x3 conv passed the causality check");
}
