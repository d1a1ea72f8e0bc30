"""torch_ops.py -- a PyTorch reference for every op and head of libpixelcnn.

Each function is the maths of include/pixelcnn.h written with torch ops, in
the same layouts (NCHW; conv weight (Co,Ci,kh,kw), transposed-conv weight
(Ci,Co,kh,kw)), so that autograd gives the reference gradients. The
functions work in whatever dtype their inputs have; the fixtures use
float64. Nothing here is tuned for speed.

Run with /usr/bin/python3 (torch 1.13, numpy).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

DOWN = "down"
DOWN_RIGHT = "down_right"

# --------------------------------------------------------------------- RNG
# src/core/rng.h, bit for bit: SplitMix64's finalizer on the index, then on
# seed ^ that hash; u01 keeps the top 53 bits.
MASK64 = (1 << 64) - 1


def mix64(z):
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def hash64(seed, index):
    return mix64((seed & MASK64) ^ mix64(index + 0x9E3779B97F4A7C15))


def u01(seed, index):
    """Uniform in [0, 1) from (seed, index): pcnn_u01 / pcnn_uniform."""
    return (hash64(seed, index) >> 11) * 2.0**-53


def u01_array(seed, n):
    """u01(seed, i) for i in range(n), as a float64 numpy array."""
    return np.array([u01(seed, i) for i in range(n)], dtype=np.float64)


# ------------------------------------------------------------ convolutions


def shifted_conv_pad(kind, kh, kw):
    """F.pad widths (left, right, top, bottom) of PixelCNN++'s causal conv."""
    if kind == DOWN:
        return ((kw - 1) // 2, (kw - 1) // 2, kh - 1, 0)
    if kind == DOWN_RIGHT:
        return (kw - 1, 0, kh - 1, 0)
    raise ValueError(kind)


def shifted_conv2d(x, w, b, kind, stride):
    """pcnn_conv2d_forward with pcnn_conv_geom_shifted(kind, kh, kw, s).
    x (B,Ci,H,W), w (Co,Ci,kh,kw), b (Co) or None -> (B,Co,ceil(H/s),...)."""
    kh, kw = w.shape[2], w.shape[3]
    return F.conv2d(F.pad(x, shifted_conv_pad(kind, kh, kw)), w, b,
                    stride=stride)


def shifted_deconv_crop_left(kind, kw):
    return (kw - 1) // 2 if kind == DOWN else 0


def shifted_deconv2d(x, w, b, kind, stride):
    """pcnn_deconv2d_forward with pcnn_deconv_geom_shifted: the transposed
    conv with output_padding s-1, cropped to rows [0, s*H) and columns
    [crop_left, crop_left + s*W). x (B,Ci,H,W), w (Ci,Co,kh,kw)."""
    s = stride
    y = F.conv_transpose2d(x, w, b, stride=s, output_padding=s - 1)
    H, W = x.shape[2], x.shape[3]
    cl = shifted_deconv_crop_left(kind, w.shape[3])
    return y[:, :, 0:s * H, cl:cl + s * W]


def nin(x, w, b):
    """1x1 conv: x (B,Ci,H,W), w (Co,Ci), b (Co) or None."""
    y = torch.einsum("oc,bchw->bohw", w, x)
    return y if b is None else y + b.view(1, -1, 1, 1)


# ---------------------------------------------------- pointwise and shifts


def down_shift(x):
    return F.pad(x[:, :, :-1, :], (0, 0, 1, 0))


def right_shift(x):
    return F.pad(x[:, :, :, :-1], (1, 0, 0, 0))


def elu(x):
    return F.elu(x, alpha=1.0)


def concat_elu(x):
    return F.elu(torch.cat([x, -x], dim=1))


def gate(x):
    a, b = x.chunk(2, dim=1)
    return a * torch.sigmoid(b)


def add(a, b):
    return a + b


def dropout_keep(shape, p, seed):
    """The keep mask of pcnn_dropout_*: u(seed, flat index) >= p."""
    n = int(np.prod(shape))
    return torch.from_numpy(u01_array(seed, n) >= p).view(*shape)


def dropout(x, p, seed):
    """Inverted dropout: kept values scaled by 1/(1-p)."""
    keep = dropout_keep(tuple(x.shape), p, seed).to(x.dtype)
    return x * keep / (1.0 - p)


# ------------------------------------------------------- weight norm


def weight_norm(v, g, axis):
    """w = g * v / ||v|| per output channel. axis 0: v (Co, ...) (conv,
    nin); axis 1: v (Ci, Co, ...) (transposed conv)."""
    dims = [d for d in range(v.dim()) if d != axis]
    norm = torch.sqrt((v * v).sum(dim=dims, keepdim=True))
    shape = [1] * v.dim()
    shape[axis] = -1
    return g.view(shape) * v / norm


def weight_norm_data_init(y, scale):
    """g = scale / sqrt(var + 1e-10), b = -mean * g with the population
    mean and variance over (B, H, W); returns (g, b, (y - mean) * g)."""
    mean = y.mean(dim=(0, 2, 3))
    var = ((y - mean.view(1, -1, 1, 1)) ** 2).mean(dim=(0, 2, 3))
    g = scale / torch.sqrt(var + 1e-10)
    b = -mean * g
    return g, b, (y - mean.view(1, -1, 1, 1)) * g.view(1, -1, 1, 1)


# ------------------------------------------------------------ heads


def softplus(x):
    """log(1 + e^x) without F.softplus's linear cut-off above 20."""
    return torch.relu(x) + torch.log1p(torch.exp(-torch.abs(x)))


def dmol_params(C):
    """P / M = 1 + 2C + C(C-1)/2."""
    return 1 + 2 * C + C * (C - 1) // 2


def coef_index(c, j):
    """Block offset of the coefficient of pair (c|j): (1|0)=0, (2|0)=1,
    (2|1)=2."""
    return c * (c - 1) // 2 + j


def dmol_split(l, C, M):
    """l (B,P,H,W) -> logits (B,M,H,W), means, clamped log-scales (B,C,M,H,W)
    and tanh coefficients (B,C(C-1)/2,M,H,W)."""
    B, P, H, W = l.shape
    assert P == M * dmol_params(C), (P, M, C)
    logits = l[:, 0:M]
    means = l[:, M:(1 + C) * M].reshape(B, C, M, H, W)
    log_scales = torch.clamp(l[:, (1 + C) * M:(1 + 2 * C) * M]
                             .reshape(B, C, M, H, W), min=-7.0)
    nc = C * (C - 1) // 2
    coefs = torch.tanh(l[:, (1 + 2 * C) * M:].reshape(B, nc, M, H, W))
    return logits, means, log_scales, coefs


def dmol_channel_mean(means, coefs, xs, c):
    """Channel c's mean per component: mean_c + sum_{j<c} tanh(coef) xs_j.
    xs (B,C,H,W) in [-1,1]; returns (B,M,H,W)."""
    m = means[:, c]
    for j in range(c):
        m = m + coefs[:, coef_index(c, j)] * xs[:, j:j + 1]
    return m


def dmol_log_prob(l, x, C, M):
    """log p(x | l) per pixel, (B,1,H,W); x (B,C,H,W) integers in 0..255.
    PixelCNN++'s discretized_mix_logistic_loss, per pixel, with the branch
    rule of the spec: edge bins for 0 and 255, else log(cdf_delta) when
    cdf_delta > 1e-5, else the density at the bin centre times 2/255."""
    logits, means, log_scales, coefs = dmol_split(l, C, M)
    xf = x.to(l.dtype)
    xs = xf / 127.5 - 1.0
    total = torch.log_softmax(logits, dim=1)
    for c in range(C):
        mean = dmol_channel_mean(means, coefs, xs, c)
        ls = log_scales[:, c]
        inv = torch.exp(-ls)
        centered = xs[:, c:c + 1] - mean
        plus_in = inv * (centered + 1.0 / 255.0)
        min_in = inv * (centered - 1.0 / 255.0)
        mid_in = inv * centered
        log_cdf_plus = plus_in - softplus(plus_in)
        log_one_minus_cdf_min = -softplus(min_in)
        cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
        log_pdf_mid = mid_in - ls - 2.0 * softplus(mid_in) - math.log(127.5)
        # clamp only keeps the branch not taken finite (and its gradient 0)
        log_delta = torch.log(torch.clamp(cdf_delta,
                                            min=torch.finfo(l.dtype).tiny))
        xc = xf[:, c:c + 1]
        lp = torch.where(
            xc == 0, log_cdf_plus,
            torch.where(xc == 255, log_one_minus_cdf_min,
                        torch.where(cdf_delta > 1e-5, log_delta,
                                    log_pdf_mid)))
        total = total + lp
    return torch.logsumexp(total, dim=1, keepdim=True)


def dmol_cdf_delta(l, x, C, M):
    """cdf_delta (B,C,M,H,W) of every channel and component (for fixtures
    that keep away from the 1e-5 branch threshold)."""
    logits, means, log_scales, coefs = dmol_split(l, C, M)
    xs = x.to(l.dtype) / 127.5 - 1.0
    out = []
    for c in range(C):
        mean = dmol_channel_mean(means, coefs, xs, c)
        inv = torch.exp(-log_scales[:, c])
        centered = xs[:, c:c + 1] - mean
        out.append(torch.sigmoid(inv * (centered + 1.0 / 255.0)) -
                   torch.sigmoid(inv * (centered - 1.0 / 255.0)))
    return torch.stack(out, dim=1)


def _log_bin_prob(v, mean, inv):
    """log P(value v) of a logistic(mean, 1/inv) discretized to 256 bins
    with edges at +-inf, computed stably: for a middle bin
    sigma(a) - sigma(b) = sigma(a) sigma(-b) (1 - e^(b-a)).
    v broadcasts against mean/inv (values 0..255 as floats)."""
    xs = v / 127.5 - 1.0
    a = inv * (xs - mean + 1.0 / 255.0)  # upper edge
    b = inv * (xs - mean - 1.0 / 255.0)  # lower edge
    mid = F.logsigmoid(a) + F.logsigmoid(-b) + torch.log(-torch.expm1(b - a))
    lo = F.logsigmoid(a)   # v == 0: (-inf, upper]
    hi = F.logsigmoid(-b)  # v == 255: (lower, +inf)
    return torch.where(v == 0, lo, torch.where(v == 255, hi, mid))


def dmol_pmf(l, x, C, M, c):
    """pcnn_head_pmf for DMOL: probs (B,256,H,W) of channel c given x's
    channels 0..c-1; mixture weights softmax(logits) times the earlier
    channels' exact bin probabilities, renormalized."""
    logits, means, log_scales, coefs = dmol_split(l, C, M)
    xf = x.to(l.dtype)
    xs = xf / 127.5 - 1.0
    logw = torch.log_softmax(logits, dim=1)  # (B,M,H,W)
    for j in range(c):
        mean = dmol_channel_mean(means, coefs, xs, j)
        inv = torch.exp(-log_scales[:, j])
        logw = logw + _log_bin_prob(xf[:, j:j + 1], mean, inv)
    w = torch.softmax(logw, dim=1)  # (B,M,H,W)
    mean = dmol_channel_mean(means, coefs, xs, c).unsqueeze(2)
    inv = torch.exp(-log_scales[:, c]).unsqueeze(2)  # (B,M,1,H,W)
    v = torch.arange(256, dtype=l.dtype).view(1, 1, 256, 1, 1)
    pk = torch.exp(_log_bin_prob(v, mean, inv))  # (B,M,256,H,W)
    return (w.unsqueeze(2) * pk).sum(dim=1)


def cat_log_prob(l, x, K):
    """Categorical head: sum_c log_softmax(l[:, cK:(c+1)K])[x_c], (B,1,H,W)."""
    C = x.shape[1]
    total = torch.zeros_like(l[:, 0:1])
    for c in range(C):
        lsm = torch.log_softmax(l[:, c * K:(c + 1) * K], dim=1)
        total = total + lsm.gather(1, x[:, c:c + 1].long())
    return total


def cat_pmf(l, K, c):
    """softmax of channel c's logits, (B,K,H,W)."""
    return torch.softmax(l[:, c * K:(c + 1) * K], dim=1)


# ---------------------------------------------- plain float32 estimates


def dmol_log_prob_naive(l, x, C, M):
    """dmol_log_prob evaluated as written (sigmoid differences) in l's
    dtype; in float32 it shows how far a direct float32 implementation of
    the spec may fall from the float64 reference."""
    return dmol_log_prob(l, x, C, M)


def dmol_pmf_naive(l, x, C, M, c):
    """The pmf as plain CDF differences in l's dtype (weights from the
    earlier channels' CDF differences), for the same estimate."""
    logits, means, log_scales, coefs = dmol_split(l, C, M)
    xf = x.to(l.dtype)
    xs = xf / 127.5 - 1.0

    def cdf_diff(v, mean, inv):
        xv = v / 127.5 - 1.0
        up = torch.where(v == 255, torch.ones_like(mean * xv),
                         torch.sigmoid(inv * (xv - mean + 1.0 / 255.0)))
        lo = torch.where(v == 0, torch.zeros_like(mean * xv),
                         torch.sigmoid(inv * (xv - mean - 1.0 / 255.0)))
        return up - lo

    w = torch.softmax(logits, dim=1)
    for j in range(c):
        mean = dmol_channel_mean(means, coefs, xs, j)
        inv = torch.exp(-log_scales[:, j])
        w = w * cdf_diff(xf[:, j:j + 1], mean, inv)
    w = w / w.sum(dim=1, keepdim=True)
    mean = dmol_channel_mean(means, coefs, xs, c).unsqueeze(2)
    inv = torch.exp(-log_scales[:, c]).unsqueeze(2)
    v = torch.arange(256, dtype=l.dtype).view(1, 1, 256, 1, 1)
    return (w.unsqueeze(2) * cdf_diff(v, mean, inv)).sum(dim=1)
