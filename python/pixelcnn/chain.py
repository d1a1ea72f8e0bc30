"""Chain: a trained model loaded from a file -- a chain file (pixelcnn
chain) or one model's checkpoint (a chain of one stage) -- and the jobs on
it: bits/dim, sampling, completion, upscaling, colorization."""
import ctypes
import math
import os

import numpy as np

from . import _lib
from ._lib import (ERR_ARG, ERR_SHAPE, ERR_VALUE, POINTER, c_uint8, check,
                   fail, lib)
from ._util import (Context, Dataset, Owner, Progress, config_dict, image,
                    images,
                    labels_of, u8, i32)


class Evaluation:
    """What Chain.evaluate measured on `images` images. Bits per dim are
    of the images X the chain models (dims = C*H*W of X) unless said:

    bits_per_dim, se      the mean bound on -log2 p(x) / dims and its
                          standard error over images
    dims, stage_dims      C*H*W of X and of each stage's view
    stage_bits            each stage's term (they sum to bits_per_dim)
    stage_own             each stage's term per dim of its own view
    tight_bits_per_dim, tight_se, tight_stage_bits, tight_stage_own,
    tightened
                          the tightened chain (pyramid and gray stages
                          renormalized over the values their parent
                          allows); equal to
                          the plain figures when no stage is tightened
    image_bits_per_dim    (images,) each image's bound, bits per dim of X
    log_prob              (images,) each image's bound on log p(x) in nats:
                          -image_bits_per_dim * dims * ln 2
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "Evaluation(bits_per_dim=%.4f, se=%.4f, images=%d)" % (
            self.bits_per_dim, self.se, self.images)


class Scores:
    """What Chain.score measured: everything of an Evaluation
    (`evaluation`), and per image, bits per dim of X:

    bits, tight_bits      (images, stages) each stage's term, plain and
                          tightened (the plain one for a stage that is not
                          tightened); a row sums to the image's bound
    maps, tight_maps      per stage, (images, h_i, w_i): the bits at each
                          position of the stage's view (its channels
                          summed); image k's map sums to bits[k, i] * dims
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "Scores(images=%d, stages=%d)" % self.bits.shape


class PseudoCounts:
    """What Chain.pseudo_counts measured, per image of the stream:
    log_p, log_p_after (nats: log p(x) before and after the step on x) and
    counts (the pseudo-counts; inf where the step did not raise p)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "PseudoCounts(images=%d)" % len(self.counts)


def pseudo_count(log_p, log_p_after):
    """N = p (1 - p') / (p' - p) from log p and log p' in nats, computed
    in log space (pcnn_pseudo_count); inf when p' <= p."""
    return lib.pcnn_pseudo_count(float(log_p), float(log_p_after))


def _dptr(a):
    return a.ctypes.data_as(POINTER(ctypes.c_double))


def _file_kind(path):
    kind = ctypes.c_int()
    check(lib.pcnn_file_kind_read(path.encode(), ctypes.byref(kind)))
    return kind.value


def _has_trainer(path):
    has = ctypes.c_int()
    check(lib.pcnn_checkpoint_read_state(path.encode(), None, None, None,
                                         ctypes.byref(has)))
    return bool(has.value)


class Chain(Owner):
    """A model loaded for use: Chain(path) or Chain.load(path).

    path    a chain file, or a model checkpoint (a chain of one stage)
    ema     a checkpoint's averaged weights (True) or raw ones (False);
            None: the averaged ones when the file has them (as the CLI)
    threads the context's threads; <= 0: all cores
    compute "f32" or "bf16": the GEMMs' arithmetic (Context)

    One Chain is used from one thread at a time. Free it with close() or a
    with block (it is also freed when collected)."""

    def __init__(self, path, ema=None, threads=0, compute="f32"):
        self.path = os.fspath(path)
        self._chain = _lib.P()
        self._ctx = Context(threads, compute)
        if ema is None:
            ema = _file_kind(self.path) == _lib.FILE_CHECKPOINT and \
                _has_trainer(self.path)
        check(lib.pcnn_chain_load(self.path.encode(), int(bool(ema)),
                                  ctypes.byref(self._chain)))

    @classmethod
    def load(cls, path, ema=None, threads=0, compute="f32"):
        return cls(path, ema=ema, threads=threads, compute=compute)

    # ------------------------------------------------------------ handles
    def close(self):
        if getattr(self, "_chain", None):
            lib.pcnn_chain_free(self._chain)
            self._chain = _lib.P()
        if hasattr(self, "_ctx"):
            self._ctx.close()

    def _live(self):
        if not self._chain:
            raise fail(ERR_ARG, "Chain: %s is closed" % self.path)
        return self._chain

    def _stage(self, i):
        if not 0 <= i < self.stages:
            raise fail(ERR_ARG, "Chain: stage %d of %d" % (i, self.stages))
        return lib.pcnn_chain_stage(self._chain, i)

    def _cfg(self, i):
        return lib.pcnn_model_get_config(self._stage(i)).contents

    # -------------------------------------------------------- description
    @property
    def stages(self):
        return lib.pcnn_chain_stages(self._live())

    @property
    def threads(self):
        return self._ctx.threads

    @property
    def configs(self):
        """Each stage's pcnn_model_config as a dict, first stage first."""
        return [config_dict(self._cfg(i)) for i in range(self.stages)]

    def stage_shape(self, i):
        """(C, H, W) of stage i's images."""
        c = self._cfg(i)
        return (c.channels, c.height, c.width)

    @property
    def image_shape(self):
        """(C, H, W) of the images X the chain's views are taken of
        (pcnn_chain_image_shape); C is None when no view fixes it (a gray4
        view alone reads 1- or 3-channel images)."""
        c, h, w = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        lib.pcnn_chain_image_shape(self._live(), ctypes.byref(c),
                                   ctypes.byref(h), ctypes.byref(w))
        return (c.value or None, h.value, w.value)

    @property
    def is_complete(self):
        """True when the chain models X itself (the last view is X and
        stage 0 is unconditioned); a stage's checkpoint is a partial chain,
        which evaluates its own terms but cannot sample from scratch."""
        return bool(lib.pcnn_chain_is_complete(self._live()))

    def tightens(self, i):
        """Whether stage i is tightened (pcnn_chain_stage_tightens)."""
        return bool(lib.pcnn_chain_stage_tightens(self._live(), i))

    def parameters(self, stage=0):
        """Stage `stage`'s parameters as {checkpoint name: float32 array},
        copies."""
        m = self._stage(stage)
        out = {}
        for i in range(lib.pcnn_model_param_count(m)):
            t = lib.pcnn_model_param(m, i)
            shape = tuple(t.dim[k] for k in range(t.ndim))
            n = int(np.prod(shape)) if shape else 1
            a = np.ctypeslib.as_array(t.data, shape=(n,)).copy()
            out[lib.pcnn_model_param_name(m, i).decode()] = a.reshape(shape)
        return out

    def view(self, x, stage):
        """Stage `stage`'s view of images x (n, C, H, W): what that stage
        models (e.g. the small images an upscale starts from)."""
        x = images(x, "Chain.view")
        v = self._cfg(stage).view
        vc, vh, vw = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        levels = ctypes.c_int()
        check(lib.pcnn_view_shape(ctypes.byref(v), *x.shape[1:],
                                  ctypes.byref(vc), ctypes.byref(vh),
                                  ctypes.byref(vw), ctypes.byref(levels)))
        out = np.zeros((x.shape[0], vc.value, vh.value, vw.value), np.uint8)
        check(lib.pcnn_view_apply(ctypes.byref(v), image(x), u8(out)))
        return out

    # --------------------------------------------------------- evaluation
    def evaluate(self, x, labels=None, batch=100, limit=0, progress=None):
        """Bits/dim of images X x (N, C, H, W) uint8 of image_shape (labels
        (N) for class-conditional stages) in batches of `batch`, on the
        first `limit` images (all when limit <= 0); each stage's view and
        condition are taken from X inside. progress(job, done, total,
        value) gets ("eval", images done, images, mean bits/dim so far)
        after each batch; True stops with Cancelled. Returns an
        Evaluation, with each image's bound."""
        with Dataset(x, labels, what="Chain.evaluate") as d:
            return evaluate_with(
                lambda o, r: lib.pcnn_chain_evaluate(
                    self._ctx.p, self._live(), ctypes.byref(d.d), o, r),
                d.d.n, self.stages, batch, limit, progress)

    def score(self, x, labels=None, batch=100, limit=0, maps=True,
              progress=None):
        """Chain.evaluate with each image's stage terms and, with maps,
        the bits at every position of every stage's view
        (pcnn_chain_score, the evaluator's own log-probabilities). Returns
        Scores."""
        with Dataset(x, labels, what="Chain.score") as d:
            n = d.d.n if limit <= 0 else min(int(limit), d.d.n)
            S = self.stages
            bits = np.zeros((max(n, 1), S), np.float64)
            tight = np.zeros((max(n, 1), S), np.float64)
            out = _lib.ChainScores()
            out.bits, out.tight_bits = _dptr(bits), _dptr(tight)
            mp, tm = [], []
            for i in range(S if maps else 0):
                _, h, w = self.stage_shape(i)
                mp.append(np.zeros((max(n, 1), h, w), np.float64))
                tm.append(np.zeros((max(n, 1), h, w), np.float64))
                out.map[i], out.tight_map[i] = _dptr(mp[i]), _dptr(tm[i])
            ev = evaluate_with(
                lambda o, r: lib.pcnn_chain_score(
                    self._ctx.p, self._live(), ctypes.byref(d.d), o, r,
                    ctypes.byref(out)),
                d.d.n, S, batch, limit, progress)
            k = ev.images
            return Scores(evaluation=ev, bits=bits[:k], tight_bits=tight[:k],
                          maps=[m[:k] for m in mp],
                          tight_maps=[m[:k] for m in tm])

    def pseudo_counts(self, x, labels=None, lr=1e-5, adam=False, limit=0,
                      progress=None):
        """The pseudo-counts of the images x (N, C, H, W), a stream in
        order (pcnn_pseudo_counts): a copy of this one-stage model takes
        one step on each image alone, plain gradient descent on its
        bits/dim with learning rate lr (adam: the trainer's Adam); the
        chain itself is not changed. progress gets ("counts", images done,
        images, the last count). Returns PseudoCounts."""
        with Dataset(x, labels, what="Chain.pseudo_counts") as d:
            n = d.d.n if limit <= 0 else min(int(limit), d.d.n)
            a, b, c = (np.zeros(max(n, 1), np.float64) for _ in range(3))
            o = lib.pcnn_counts_opts_default()
            o.lr, o.adam, o.limit = float(lr), int(bool(adam)), int(limit)
            pr = Progress(progress)
            o.progress = pr.struct()
            st = lib.pcnn_pseudo_counts(self._ctx.p, self._live(),
                                        ctypes.byref(d.d), ctypes.byref(o),
                                        _dptr(a), _dptr(b), _dptr(c))
            pr.reraise()
            check(st)
            return PseudoCounts(log_p=a[:n], log_p_after=b[:n],
                                counts=c[:n])

    # ----------------------------------------------------------- sampling
    def _opts(self, seed, labels, n, log_scale_offset, temperature, naive,
              consistent, progress, keep):
        """pcnn_model_sample_opts; keep holds the arrays it points to."""
        o = lib.pcnn_model_sample_opts_default()
        if not 0 <= int(seed) < 2**64:
            raise fail(ERR_VALUE, "seed %d: not in 0 .. 2^64-1" % seed)
        o.seed = int(seed)
        o.log_scale_offset = float(log_scale_offset)
        o.temperature = float(temperature)
        lab = labels_of(labels, n, "labels")
        keep.append(lab)
        o.labels = i32(lab)
        o.naive = int(bool(naive))
        o.consistent = int(bool(consistent))
        o.progress = progress.struct()
        return o

    def _stage_buffers(self, n):
        return [np.zeros((n,) + self.stage_shape(i), np.uint8)
                for i in range(self.stages)]

    def _run_stages(self, n, first, bufs, o):
        ptrs = (POINTER(c_uint8) * _lib.MAX_STAGES)()
        for i, b in enumerate(bufs):
            ptrs[i] = u8(b)
        if first == 0:
            check(lib.pcnn_chain_sample(self._ctx.p, self._chain, n,
                                        ctypes.byref(o), ptrs))
        else:
            check(lib.pcnn_chain_sample_from(self._ctx.p, self._chain, n,
                                             first, ctypes.byref(o), ptrs))

    def sample(self, n, seed=1, labels=None, log_scale_offset=0.0,
               temperature=1.0, consistent=False, naive=False,
               progress=None, all_stages=False):
        """n new images (n, C, H, W) uint8, drawn stage by stage; the same
        seed gives the same images (on one machine and thread count).
        labels: a class or n classes for class-conditional stages.
        log_scale_offset < 0 sharpens logistic heads, temperature scales
        categorical ones; consistent draws pyramid stages that halve
        exactly to the stage below. progress(job, done, total, value) is
        called as rows are drawn. all_stages: a list of every stage's
        images instead."""
        keep = []
        pr = Progress(progress)
        o = self._opts(seed, labels, n, log_scale_offset, temperature, naive,
                       consistent, pr, keep)
        bufs = self._stage_buffers(n)
        try:
            self._run_stages(n, 0, bufs, o)
        finally:
            pr.reraise()
        return bufs if all_stages else bufs[-1]

    def complete(self, x, known, seed=1, labels=None, log_scale_offset=0.0,
                 temperature=1.0, naive=False, progress=None):
        """Images x (B, C, H, W) with the pixels where known is nonzero
        kept and the rest drawn (pcnn_chain_complete, a one-stage chain of
        X). known: (B, H, W), or anything that broadcasts to it -- one
        (H, W) mask for all, (H, 1) for whole rows. A known pixel
        conditions only the pixels after it in raster order. Returns the
        completed images (x is not changed)."""
        x = images(x, "Chain.complete").copy()
        want = (x.shape[0],) + x.shape[2:]
        try:
            k = np.broadcast_to(np.asarray(known), want)
        except ValueError:
            raise fail(ERR_SHAPE, "Chain.complete: known has shape %s, not "
                       "broadcastable to the images' (B, H, W) = %s"
                       % (np.shape(known), want)) from None
        k = np.ascontiguousarray(k != 0, dtype=np.uint8)
        keep = []
        pr = Progress(progress)
        o = self._opts(seed, labels, x.shape[0], log_scale_offset,
                       temperature, naive, False, pr, keep)
        st = lib.pcnn_chain_complete(self._ctx.p, self._live(), image(x),
                                     u8(k), ctypes.byref(o))
        pr.reraise()
        check(st)
        return x

    def upscale(self, small, seed=1, first=None, labels=None,
                log_scale_offset=0.0, temperature=1.0, consistent=False,
                naive=False, progress=None, all_stages=False):
        """Samples stages first.. (default: the last) given images `small`
        (B, c, h, w) of stage first-1 -- super-resolution from a small
        image with a pyramid chain, colors from the gray view with the gray
        chain. Chain.view(x, first - 1) makes them from full images.
        Returns the final images (B, C, H, W), or with all_stages the list
        of stage images from first-1 on."""
        small = images(small, "Chain.upscale")
        S = self.stages
        first = S - 1 if first is None else int(first)
        if not 1 <= first < S:
            raise fail(ERR_ARG, "Chain.upscale: first stage %d: %s has "
                       "stages 0..%d and the first has nothing to start "
                       "from" % (first, self.path, S - 1))
        want = self.stage_shape(first - 1)
        if small.shape[1:] != want:
            raise fail(ERR_SHAPE, "Chain.upscale: images of %s, stage %d "
                       "has %s" % (small.shape[1:], first - 1, want))
        n = small.shape[0]
        bufs = self._stage_buffers(n)
        bufs[first - 1] = small
        keep = []
        pr = Progress(progress)
        o = self._opts(seed, labels, n, log_scale_offset, temperature, naive,
                       consistent, pr, keep)
        try:
            self._run_stages(n, first, bufs, o)
        finally:
            pr.reraise()
        return bufs[first - 1:] if all_stages else bufs[-1]

    def colorize(self, x, n, seed=1, log_scale_offset=0.0, progress=None,
                 chroma=False):
        """n colorizations (n, 3, h, w) of one image x (3, h, w) or
        (1, 3, h, w) of any size at least the chroma's (a gray image as
        R = G = B) with a chain whose last stage models chroma given
        lightness. chroma: also return the drawn chroma (n, 2, H', W')."""
        x = np.asarray(x)
        x = images(x[None] if x.ndim == 3 else x, "Chain.colorize")
        if int(n) < 1 or x.shape[0] != 1:
            raise fail(ERR_ARG, "Chain.colorize: one image and n >= 1 "
                       "colorizations (image batch %d, n %d)"
                       % (x.shape[0], n))
        c = self._cfg(self.stages - 1)
        out = np.zeros((int(n),) + x.shape[1:], np.uint8)
        ab = np.zeros((int(n), c.channels, c.height, c.width), np.uint8)
        keep = []
        pr = Progress(progress)
        o = self._opts(seed, None, 1, log_scale_offset, 1.0, False, False,
                       pr, keep)
        st = lib.pcnn_colorize(self._ctx.p, self._live(), image(x), int(n),
                               ctypes.byref(o), u8(out), u8(ab))
        pr.reraise()
        check(st)
        return (out, ab) if chroma else out

    # -------------------------------------------------------- restoration
    def restore(self, y, mode, sigma=None, kernel=None, mask=None, passes=3,
                weight=1.0, mean=False, progress=None):
        """Restores the observations y (B, C, H, W) with a plain model
        (pcnn_chain_restore, docs/restore.md): each subpixel in raster
        order the value maximizing log p(v | earlier) + data(v), or with
        mean=True its posterior mean. mode "denoise" (Gaussian noise of
        `sigma` levels), "deblur" (kernel: a (k, k) blur, k odd, wrapping
        around the edges, plus noise of `sigma`; `passes` from the Wiener
        estimate) or "inpaint" (mask: nonzero where y is known, (B, H, W)
        or anything that broadcasts to it). weight scales the data term.
        Returns the restored images."""
        y = images(y, "Chain.restore")
        modes = {"denoise": _lib.RESTORE_DENOISE,
                 "deblur": _lib.RESTORE_DEBLUR,
                 "inpaint": _lib.RESTORE_INPAINT}
        if mode not in modes:
            raise fail(ERR_ARG, "Chain.restore: mode %r: want denoise, "
                       "deblur or inpaint" % (mode,))
        o = lib.pcnn_restore_opts_default()
        o.mode, o.passes, o.weight = modes[mode], int(passes), float(weight)
        o.mean = int(bool(mean))
        o.sigma = float("nan") if sigma is None and mode != "inpaint" \
            else float(sigma or 0)
        keep = []
        if kernel is not None:
            k = np.ascontiguousarray(kernel, dtype=np.float32)
            if k.ndim != 2 or k.shape[0] != k.shape[1]:
                raise fail(ERR_SHAPE, "Chain.restore: kernel of shape %s, "
                           "want (k, k)" % (k.shape,))
            keep.append(k)
            o.kernel = k.ctypes.data_as(POINTER(ctypes.c_float))
            o.ksize = k.shape[0]
        if mask is not None:
            want = (y.shape[0],) + y.shape[2:]
            try:
                m = np.broadcast_to(np.asarray(mask), want)
            except ValueError:
                raise fail(ERR_SHAPE, "Chain.restore: mask has shape %s, "
                           "not broadcastable to (B, H, W) = %s"
                           % (np.shape(mask), want)) from None
            m = np.ascontiguousarray(m != 0, dtype=np.uint8)
            keep.append(m)
            o.mask = u8(m)
        pr = Progress(progress)
        o.progress = pr.struct()
        out = np.zeros_like(y)
        st = lib.pcnn_chain_restore(self._ctx.p, self._live(), image(y),
                                    image(out), ctypes.byref(o))
        pr.reraise()
        check(st)
        return out

    def purify(self, x, eps, progress=None):
        """PixelDefend (pcnn_chain_purify): each subpixel of x (B, C, H, W)
        in raster order becomes the most probable value of its conditional
        given the pixels purified before it, within eps of its own value.
        Returns the purified images (x is not changed); eps 0 returns a
        copy of x."""
        x = images(x, "Chain.purify").copy()
        pr = Progress(progress)
        o = _lib.PurifyOpts(int(eps), pr.struct())
        st = lib.pcnn_chain_purify(self._ctx.p, self._live(), image(x),
                                   ctypes.byref(o))
        pr.reraise()
        check(st)
        return x

    # -------------------------------------------------------- compression
    def compress(self, x, labels=None, batch=32, progress=None):
        """The images x (N, C, H, W) of a complete chain coded losslessly
        (pcnn_compress, docs/compression.md): bytes, the file of
        `pixelcnn compress`. labels: for class-conditional stages (coded
        too). batch: images coded together; progress(job, done, total,
        value) with job "compress", rows of all stages and groups."""
        x = images(x, "Chain.compress")
        lab = labels_of(labels, x.shape[0], "Chain.compress")
        pr = Progress(progress)
        o = lib.pcnn_compress_opts_default()
        o.batch = int(batch)
        o.progress = pr.struct()
        buf, n = POINTER(c_uint8)(), ctypes.c_size_t()
        st = lib.pcnn_compress(self._ctx.p, self._live(), image(x), i32(lab),
                               ctypes.byref(o), ctypes.byref(buf),
                               ctypes.byref(n))
        pr.reraise()
        check(st)
        try:
            return ctypes.string_at(buf, n.value)
        finally:
            lib.pcnn_free(buf)

    def decompress(self, data, stage=None, progress=None, labels=False,
                   colorize=False):
        """The images of a compressed stream (bytes) decoded with this
        chain, which must be the one that coded it: (N, C, H, W) uint8, or
        with stage K the images of stage K (progressive decoding).
        colorize: stage K is a color chain's chroma; return it as a
        colorization, RGB at the size of the lightness stage before it.
        labels: also return the coded labels (None when there are none)."""
        data = bytes(data)
        f = codec_info(data)
        k = f["stages"] - 1 if stage is None else int(stage)
        if not 0 <= k < f["stages"]:
            raise fail(ERR_ARG, "Chain.decompress: stage %d of a stream of "
                       "%d stages" % (k, f["stages"]))
        shape = tuple(f["stage_shapes"][k])
        if colorize and k >= 1:
            shape = (3,) + tuple(f["stage_shapes"][k - 1][1:])
        out = np.zeros((f["n"],) + shape, np.uint8)
        lab = np.zeros(f["n"], np.int32) if f["num_classes"] else None
        pr = Progress(progress)
        o = lib.pcnn_decompress_opts_default()
        o.stage = k
        o.colorize = int(bool(colorize))
        o.progress = pr.struct()
        st = lib.pcnn_decompress(self._ctx.p, self._live(), data, len(data),
                                 ctypes.byref(o), u8(out), i32(lab))
        pr.reraise()
        check(st)
        return (out, lab) if labels else out

    @property
    def hash(self):
        """pcnn_chain_hash: what a compressed stream records of its model."""
        return lib.pcnn_chain_hash(self._live())

    def __repr__(self):
        return "Chain(%r, stages=%d, image_shape=%s)" % (
            self.path, self.stages, self.image_shape)


def evaluate_with(call, n, stages, batch, limit, progress):
    """An Evaluation from call(opts, result), a pcnn_chain_evaluate or
    pcnn_trainer_evaluate on n images, with each image's bits."""
    bits = np.zeros(max(int(n), 1), np.float64)
    pr = Progress(progress)
    o = lib.pcnn_eval_opts_default()
    o.batch, o.limit = int(batch), int(limit)
    o.image_bits = bits.ctypes.data_as(POINTER(ctypes.c_double))
    o.progress = pr.struct()
    r = _lib.ChainEval()
    st = call(ctypes.byref(o), ctypes.byref(r))
    pr.reraise()
    check(st)
    s, k = stages, r.images
    return Evaluation(
        images=k, dims=r.dims_x, stage_dims=list(r.dims[:s]),
        bits_per_dim=r.total, se=r.total_se,
        stage_bits=list(r.stage[:s]), stage_own=list(r.own[:s]),
        tight_bits_per_dim=r.tight_total, tight_se=r.tight_se,
        tight_stage_bits=list(r.tight_stage[:s]),
        tight_stage_own=list(r.tight_own[:s]), tightened=r.tightened,
        image_bits_per_dim=bits[:k].copy(),
        log_prob=-bits[:k] * r.dims_x * math.log(2))


def codec_info(data):
    """What a compressed stream holds, read without the model
    (pcnn_codec_info_read): a dict of version, build (the writer's build
    tag), weights (its chain's hash), n, shape (C, H, W), batch,
    num_classes, stages, stage_shapes, stage_levels, header_bytes,
    stage_bytes. A damaged or truncated stream is a PixelCNNError."""
    data = bytes(data)
    f = _lib.CodecInfo()
    check(lib.pcnn_codec_info_read(data, len(data), ctypes.byref(f)))
    S = f.stages
    return dict(version=f.version, build=f.build, weights=f.weights,
                n=f.n, shape=(f.c, f.h, f.w), batch=f.batch,
                num_classes=f.num_classes, stages=S,
                stage_shapes=[(f.stage_c[i], f.stage_h[i], f.stage_w[i])
                              for i in range(S)],
                stage_levels=list(f.stage_levels[:S]),
                header_bytes=f.header_bytes,
                stage_bytes=list(f.stage_bytes[:S]))
