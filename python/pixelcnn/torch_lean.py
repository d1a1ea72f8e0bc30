"""torch_lean.py -- the fast PyTorch peer of the C model, for speed runs.

The same network and numbers as torch_net.PixelCNNpp (docs/model.md) for
the configs the speed runs use (DMOL or categorical head, no class labels,
no condition map), written the way a PyTorch user who cares about speed
would write it:

- every weight-normalized weight w = g v/||v|| is formed once per forward
  pass (torch._weight_norm, one native call per layer), never per use;
- nin layers are 1x1 F.conv2d (oneDNN; torch_net's einsum was no
  faster here, a batched matmul slower);
- without autograd the shifted convs pad inside F.conv2d and crop the
  surplus rows and columns (a view) instead of an F.pad copy;
- dropout masks come from torch's generator (see dropout(): faster
  than F.dropout on this build); they are not the library's
  counter-based masks, so training steps with dropout differ from
  torch_net's in the masks only;
- float32 throughout, no input checks on the hot path;
- callers evaluate under torch.inference_mode() (no autograd records).

Parameters carry torch_net's checkpoint names (net.params, in forward
order), so load_params(torch_net_net.state()) or a checkpoint's tensors
load as they are. tests: python/tests/test_torch_lean.py checks the output
against torch_net's on random weights.

    net = LeanPixelCNNpp(torch_net.config(nr_resnet=1, nr_filters=32))
    net.load_params(other.state())
    loss = net.bits_per_dim(x_uint8)
"""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import torch_net as P
from . import torch_ops as T

DOWN, DOWN_RIGHT = T.DOWN, T.DOWN_RIGHT


def concat_elu(x):
    """elu of [x, -x] along the channels."""
    return F.elu(torch.cat([x, -x], 1))


def shifted_conv(x, w, b, kind, stride=1):
    """T.shifted_conv2d. Without autograd, conv2d pads kh-1 rows on top
    and bottom and max(left, right) columns on both sides, and the output
    is cropped to ceil(H/s) x ceil(W/s) (the top padding and the left
    padding of the kept columns are the shifted conv's, so the kept
    outputs are the same sums): no F.pad copy. With autograd the F.pad
    copy stays: oneDNN's backward of a padded conv is slower here than
    the copy and its backward."""
    kh, kw = w.shape[2], w.shape[3]
    if torch.is_grad_enabled():
        return F.conv2d(F.pad(x, T.shifted_conv_pad(kind, kh, kw)), w, b,
                        stride=stride)
    pw = (kw - 1) // 2 if kind == DOWN else kw - 1
    y = F.conv2d(x, w, b, stride=stride, padding=(kh - 1, pw))
    H, W = -(-x.shape[2] // stride), -(-x.shape[3] // stride)
    if y.shape[2] == H and y.shape[3] == W:
        return y
    return y[:, :, :H, :W]


def shifted_deconv(x, w, b, kind):
    """T.shifted_deconv2d, stride 2."""
    y = F.conv_transpose2d(x, w, b, stride=2, output_padding=1)
    H, W = x.shape[2], x.shape[3]
    cl = T.shifted_deconv_crop_left(kind, w.shape[3])
    return y[:, :, :2 * H, cl:cl + 2 * W]


def dropout(x, p):
    """Inverted dropout with torch's generator. F.dropout draws its mask
    with bernoulli_, one element at a time on a build without MKL (this
    Debian torch); here 64-bit words from torch.randint give four 16-bit
    uniforms each, converted to float and compared in place (no bool
    tensor: this build's bool kernels are slow), kept where u >= p 2^16
    (p in steps of 2^-16: 0.5 exactly)."""
    n = x.numel()
    words = torch.randint(-2 ** 63, 2 ** 63 - 1, ((n + 3) // 4,),
                          dtype=torch.int64)
    keep = words.view(torch.int16)[:n].view(x.shape).to(x.dtype)
    keep.ge_(round(p * 65536) - 32768)
    return x * keep.mul_(1.0 / (1.0 - p))


def nin(x, w, b):
    """1x1 conv, w (Co, Ci, 1, 1)."""
    return F.conv2d(x, w, b)


def down_shift(x):
    return F.pad(x[:, :, :-1, :], (0, 0, 1, 0))


def right_shift(x):
    return F.pad(x[:, :, :, :-1], (1, 0, 0, 0))


class LeanPixelCNNpp(nn.Module):
    """docs/model.md's network; parameters named as in torch_net."""

    def __init__(self, cfg, dtype=torch.float32,
                 memory_format=torch.contiguous_format):
        super().__init__()
        self.cfg = P.config(**cfg)
        if self.cfg["num_classes"] or self.cfg["cond_channels"]:
            raise ValueError("torch_lean: class labels and condition maps "
                             "are torch_net's only")
        self.memory_format = memory_format
        self.layers = [(n, k) for n, k, _ in P.layer_table(self.cfg)]
        shapes = P.param_shapes(self.cfg)
        self.names = list(shapes)
        self.plist = nn.ParameterList(
            [nn.Parameter(torch.zeros(s, dtype=dtype))
             for s in shapes.values()])
        self.params = OrderedDict(zip(self.names, self.plist))

    def load_params(self, tensors):
        """Copies tensors[name] (torch_net's names) into every parameter."""
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(torch.as_tensor(tensors[n]).to(p.dtype))
        return self

    def weights(self):
        """{layer: (w, b)}, w = g v/||v|| per output channel as a 4-d conv
        (nin: Co x Ci x 1 x 1) or transposed-conv weight."""
        out = {}
        for name, kind in self.layers:
            v, g = self.params[name + ".v"], self.params[name + ".g"]
            axis = 1 if kind == "deconv" else 0
            shape = [1] * v.dim()
            shape[axis] = -1
            w = torch._weight_norm(v, g.view(shape), axis)
            if kind == "nin":
                w = w.view(w.shape[0], w.shape[1], 1, 1)
            if self.memory_format is torch.channels_last:
                w = w.contiguous(memory_format=torch.channels_last)
            out[name] = (w, self.params[name + ".b"])
        return out

    def _resnet(self, W, prefix, x, a, kind):
        w, b = W[prefix + ".conv_in"]
        c = shifted_conv(concat_elu(x), w, b, kind)
        if a is not None:
            w, b = W[prefix + ".skip"]
            c = c + nin(concat_elu(a), w, b)
        c = concat_elu(c)
        p = self.cfg["dropout"]
        if self.training and p > 0:
            c = dropout(c, p)
        w, b = W[prefix + ".conv_out"]
        a2, g2 = shifted_conv(c, w, b, kind).chunk(2, 1)
        return x + a2 * torch.sigmoid(g2)

    def forward_scaled(self, xs):
        """l (B, P, H, W) from the scaled image xs (float)."""
        R, S = self.cfg["nr_resnet"], self.cfg["nr_resolutions"]
        W = self.weights()
        B, _, H, Wd = xs.shape
        x = torch.cat([xs, xs.new_ones(B, 1, H, Wd)], 1).contiguous(
            memory_format=self.memory_format)
        u = down_shift(shifted_conv(x, *W["init.u"], DOWN))
        ul = (down_shift(shifted_conv(x, *W["init.ul_down"], DOWN)) +
              right_shift(shifted_conv(x, *W["init.ul_right"], DOWN_RIGHT)))
        us, uls = [u], [ul]
        for s in range(S):
            for i in range(R):
                u = self._resnet(W, "up.%d.u.%d" % (s, i), u, None, DOWN)
                ul = self._resnet(W, "up.%d.ul.%d" % (s, i), ul, u,
                                  DOWN_RIGHT)
                us.append(u)
                uls.append(ul)
            if s < S - 1:
                u = shifted_conv(u, *W["up.%d.u_down" % s], DOWN, 2)
                ul = shifted_conv(ul, *W["up.%d.ul_down" % s], DOWN_RIGHT, 2)
                us.append(u)
                uls.append(ul)
        u, ul = us.pop(), uls.pop()
        for s in reversed(range(S)):
            for i in range(R if s == S - 1 else R + 1):
                u = self._resnet(W, "down.%d.u.%d" % (s, i), u, us.pop(),
                                 DOWN)
                ul = self._resnet(W, "down.%d.ul.%d" % (s, i), ul,
                                  torch.cat([u, uls.pop()], 1), DOWN_RIGHT)
            if s > 0:
                u = shifted_deconv(u, *W["down.%d.u_up" % s], DOWN)
                ul = shifted_deconv(ul, *W["down.%d.ul_up" % s], DOWN_RIGHT)
        w, b = W["out"]
        return nin(F.elu(ul), w, b).contiguous()

    def forward(self, x):
        """x (B, C, H, W) uint8 -> l (B, P, H, W)."""
        xs = x.to(self.plist[0].dtype) / ((self.cfg["levels"] - 1) / 2.0) \
            - 1.0
        return self.forward_scaled(xs)

    def log_prob(self, x):
        return P.head_log_prob(self.forward(x), x, self.cfg)

    def bits_per_dim(self, x):
        B, C, H, W = x.shape
        return -self.log_prob(x).sum() / (B * C * H * W * math.log(2.0))
