"""The ctypes layer over libpixelcnn.so: finding the library, the structs
of include/pixelcnn.h mirrored field by field, the signature of every
function the package calls, and the status check that turns a failure into
a PixelCNNError carrying the library's message.

Nothing here is public; the package's modules use `lib` and `check`.
"""
import ctypes
import ctypes.util
import os

from ctypes import (POINTER, Structure, c_char_p, c_double, c_float, c_int,
                    c_int32, c_int64, c_size_t, c_uint8, c_uint32, c_uint64,
                    c_void_p)

MAX_DIMS = 4    # PCNN_MAX_DIMS
MAX_STAGES = 8  # PCNN_MAX_STAGES

# pcnn_status
OK, ERR_ARG, ERR_SHAPE, ERR_VALUE, ERR_NOMEM, ERR_IO, ERR_FORMAT, \
    ERR_UNSUPPORTED, ERR_CANCELLED = range(9)

# pcnn_file_kind
FILE_UNKNOWN, FILE_CHECKPOINT, FILE_CHAIN = range(3)

# pcnn_head_kind
HEAD_DMOL, HEAD_CATEGORICAL = range(2)

# pcnn_restore_mode
RESTORE_DENOISE, RESTORE_DEBLUR, RESTORE_INPAINT = range(3)

# pcnn_view.lab
LAB_L, LAB_AB = 1, 2


class PixelCNNError(Exception):
    """A failed call: `status` (the pcnn_status value), `status_name`
    (pcnn_status_str, e.g. "shape mismatch") and `message` (the library's
    one-line pcnn_last_error(), or the package's own for an argument it
    checks before calling the library). str() is the message."""

    def __init__(self, status, message, status_name=None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.status_name = status_name or _status_name(self.status)


class Cancelled(PixelCNNError):
    """A job (evaluation, sampling, colorizing) that the progress callback
    stopped by returning True: status "cancelled"."""


# ------------------------------------------------------------------ structs

class ProgressInfo(Structure):
    _fields_ = [("job", c_char_p), ("done", c_int64), ("total", c_int64),
                ("value", c_double)]


PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(ProgressInfo))


class Progress(Structure):
    _fields_ = [("fn", PROGRESS_FN), ("arg", c_void_p)]


class CtxOpts(Structure):
    _fields_ = [("backend", c_int), ("threads", c_int)]


class Tensor(Structure):
    _fields_ = [("data", POINTER(c_float)), ("ndim", c_int),
                ("dim", c_int64 * MAX_DIMS)]


class Image(Structure):
    _fields_ = [("data", POINTER(c_uint8)), ("n", c_int64), ("c", c_int64),
                ("h", c_int64), ("w", c_int64)]


class View(Structure):
    _fields_ = [("halvings", c_int), ("gray4", c_int), ("lab", c_int)]


class ModelConfig(Structure):
    _fields_ = [("channels", c_int), ("height", c_int), ("width", c_int),
                ("nr_resnet", c_int), ("nr_filters", c_int),
                ("nr_mix", c_int), ("nr_resolutions", c_int),
                ("dropout", c_float), ("num_classes", c_int),
                ("cond_channels", c_int), ("head", c_int), ("levels", c_int),
                ("cond_nr_resnet", c_int), ("cond_nr_filters", c_int),
                ("cond_down", c_int), ("cond_dilate", c_int),
                ("plain", c_int), ("init", c_int),
                ("view", View), ("cond_view", View)]


class ModelSampleOpts(Structure):
    _fields_ = [("seed", c_uint64), ("log_scale_offset", c_float),
                ("temperature", c_float), ("labels", POINTER(c_int32)),
                ("cond", Tensor), ("known", POINTER(c_uint8)),
                ("naive", c_int), ("params", Tensor),
                ("progress", Progress),
                ("parent", POINTER(c_uint8)), ("consistent", c_int)]


class Dataset(Structure):
    _fields_ = [("images", POINTER(c_uint8)), ("labels", POINTER(c_int32)),
                ("n", c_int64), ("c", c_int64), ("h", c_int64),
                ("w", c_int64), ("num_classes", c_int),
                ("cond", POINTER(c_uint8)), ("cond_c", c_int64),
                ("cond_h", c_int64), ("cond_w", c_int64),
                ("cond_levels", c_int)]


class ChainEval(Structure):
    _fields_ = [("stage", c_double * MAX_STAGES),
                ("own", c_double * MAX_STAGES),
                ("total", c_double), ("total_se", c_double),
                ("tight_stage", c_double * MAX_STAGES),
                ("tight_own", c_double * MAX_STAGES),
                ("tight_total", c_double), ("tight_se", c_double),
                ("tightened", c_int), ("images", c_int64),
                ("dims_x", c_int64), ("dims", c_int64 * MAX_STAGES)]


class EvalOpts(Structure):
    _fields_ = [("batch", c_int), ("limit", c_int64),
                ("image_bits", POINTER(c_double)), ("progress", Progress)]


class ChainScores(Structure):
    _fields_ = [("bits", POINTER(c_double)), ("tight_bits", POINTER(c_double)),
                ("map", POINTER(c_double) * MAX_STAGES),
                ("tight_map", POINTER(c_double) * MAX_STAGES)]


class CountsOpts(Structure):
    _fields_ = [("lr", c_float), ("adam", c_int), ("limit", c_int64),
                ("progress", Progress)]


class ColorizeScores(Structure):
    _fields_ = [("psnr_best", c_double), ("psnr_mean", c_double),
                ("psnr_gray", c_double), ("psnr_meanab", c_double),
                ("color_truth", c_double), ("color_samples", c_double),
                ("color_gray", c_double), ("color_meanab", c_double)]


class TrainOpts(Structure):
    _fields_ = [("lr", c_float), ("lr_decay", c_float), ("beta1", c_float),
                ("beta2", c_float), ("ema", c_float), ("batch", c_int),
                ("seed", c_uint64), ("flip", c_int)]


class TrainState(Structure):
    _fields_ = [("step", c_uint64), ("epoch", c_uint64), ("pos", c_int64)]


class StepStats(Structure):
    _fields_ = [("bpd", c_double), ("grad_norm", c_double), ("lr", c_double)]


class CompressOpts(Structure):
    _fields_ = [("batch", c_int), ("progress", Progress)]


class RestoreOpts(Structure):
    _fields_ = [("mode", c_int), ("sigma", c_double),
                ("kernel", POINTER(c_float)), ("ksize", c_int),
                ("mask", POINTER(c_uint8)), ("passes", c_int),
                ("weight", c_double), ("mean", c_int),
                ("progress", Progress)]


class PurifyOpts(Structure):
    _fields_ = [("eps", c_int), ("progress", Progress)]


class DecompressOpts(Structure):
    _fields_ = [("stage", c_int), ("progress", Progress), ("colorize", c_int)]


class CodecInfo(Structure):
    _fields_ = [("version", c_int), ("build", c_uint32),
                ("weights", c_uint64), ("n", c_int64), ("c", c_int64),
                ("h", c_int64), ("w", c_int64), ("batch", c_int),
                ("num_classes", c_int), ("stages", c_int),
                ("stage_c", c_int64 * MAX_STAGES),
                ("stage_h", c_int64 * MAX_STAGES),
                ("stage_w", c_int64 * MAX_STAGES),
                ("stage_levels", c_int * MAX_STAGES),
                ("header_bytes", c_size_t),
                ("stage_bytes", c_size_t * MAX_STAGES)]


# The C names of the structs above, for the layout test against the header.
STRUCTS = {"pcnn_progress_info": ProgressInfo, "pcnn_progress": Progress,
           "pcnn_eval_opts": EvalOpts, "pcnn_chain_scores": ChainScores,
           "pcnn_counts_opts": CountsOpts,
           "pcnn_colorize_scores": ColorizeScores,
           "pcnn_ctx_opts": CtxOpts, "pcnn_tensor": Tensor,
           "pcnn_image": Image, "pcnn_view": View,
           "pcnn_model_config": ModelConfig,
           "pcnn_model_sample_opts": ModelSampleOpts,
           "pcnn_dataset": Dataset, "pcnn_chain_eval": ChainEval,
           "pcnn_train_opts": TrainOpts, "pcnn_train_state": TrainState,
           "pcnn_step_stats": StepStats,
           "pcnn_compress_opts": CompressOpts,
           "pcnn_decompress_opts": DecompressOpts,
           "pcnn_restore_opts": RestoreOpts,
           "pcnn_purify_opts": PurifyOpts,
           "pcnn_codec_info": CodecInfo}

# ---------------------------------------------------------------- functions

S = c_int  # pcnn_status
P = c_void_p  # an opaque handle: pcnn_ctx *, pcnn_model *, ...

# name: (restype, argtypes)
SIGNATURES = {
    "pcnn_status_str": (c_char_p, [c_int]),
    "pcnn_last_error": (c_char_p, []),
    "pcnn_ctx_create": (S, [POINTER(P), POINTER(CtxOpts)]),
    "pcnn_ctx_free": (None, [P]),
    "pcnn_ctx_threads": (c_int, [P]),
    "pcnn_ctx_set_compute": (S, [P, c_int]),
    "pcnn_ctx_compute": (c_int, [P]),
    "pcnn_ctx_describe": (c_char_p, [P]),
    "pcnn_model_config_default": (ModelConfig, []),
    "pcnn_train_config_default": (ModelConfig, []),
    "pcnn_model_create": (S, [POINTER(P), POINTER(ModelConfig), c_uint64]),
    "pcnn_model_free": (None, [P]),
    "pcnn_model_get_config": (POINTER(ModelConfig), [P]),
    "pcnn_model_param_count": (c_int, [P]),
    "pcnn_model_param_name": (c_char_p, [P, c_int]),
    "pcnn_model_param": (Tensor, [P, c_int]),
    "pcnn_model_sample_opts_default": (ModelSampleOpts, []),
    "pcnn_view_shape": (S, [POINTER(View), c_int64, c_int64, c_int64,
                            POINTER(c_int64), POINTER(c_int64),
                            POINTER(c_int64), POINTER(c_int)]),
    "pcnn_view_apply": (S, [POINTER(View), Image, POINTER(c_uint8)]),
    "pcnn_view_str": (c_char_p, [POINTER(View), c_char_p, c_size_t]),
    "pcnn_stage_dataset": (S, [POINTER(Dataset), POINTER(View),
                               POINTER(View), POINTER(Dataset)]),
    "pcnn_stage_config": (S, [POINTER(ModelConfig), POINTER(View),
                              POINTER(View), c_int64, c_int64, c_int64]),
    "pcnn_dataset_from_memory": (S, [POINTER(c_uint8), c_int64, c_int64,
                                     c_int64, c_int64, POINTER(c_int32),
                                     c_int, POINTER(Dataset)]),
    "pcnn_dataset_free": (None, [POINTER(Dataset)]),
    "pcnn_chain_load": (S, [c_char_p, c_int, POINTER(P)]),
    "pcnn_chain_free": (None, [P]),
    "pcnn_chain_stages": (c_int, [P]),
    "pcnn_chain_stage": (P, [P, c_int]),
    "pcnn_chain_stage_tightens": (c_int, [P, c_int]),
    "pcnn_chain_image_shape": (None, [P, POINTER(c_int64), POINTER(c_int64),
                                      POINTER(c_int64)]),
    "pcnn_chain_is_complete": (c_int, [P]),
    "pcnn_eval_opts_default": (EvalOpts, []),
    "pcnn_chain_evaluate": (S, [P, P, POINTER(Dataset), POINTER(EvalOpts),
                                POINTER(ChainEval)]),
    "pcnn_chain_score": (S, [P, P, POINTER(Dataset), POINTER(EvalOpts),
                             POINTER(ChainEval), POINTER(ChainScores)]),
    "pcnn_counts_opts_default": (CountsOpts, []),
    "pcnn_pseudo_count": (c_double, [c_double, c_double]),
    "pcnn_pseudo_counts": (S, [P, P, POINTER(Dataset), POINTER(CountsOpts),
                               POINTER(c_double), POINTER(c_double),
                               POINTER(c_double)]),
    "pcnn_chain_sample": (S, [P, P, c_int64, POINTER(ModelSampleOpts),
                              POINTER(POINTER(c_uint8))]),
    "pcnn_chain_sample_from": (S, [P, P, c_int64, c_int,
                                   POINTER(ModelSampleOpts),
                                   POINTER(POINTER(c_uint8))]),
    "pcnn_chain_complete": (S, [P, P, Image, POINTER(c_uint8),
                                POINTER(ModelSampleOpts)]),
    "pcnn_restore_opts_default": (RestoreOpts, []),
    "pcnn_chain_restore": (S, [P, P, Image, Image, POINTER(RestoreOpts)]),
    "pcnn_chain_purify": (S, [P, P, Image, POINTER(PurifyOpts)]),
    "pcnn_colorize": (S, [P, P, Image, c_int, POINTER(ModelSampleOpts),
                          POINTER(c_uint8), POINTER(c_uint8)]),
    "pcnn_colorize_score": (S, [Image, POINTER(c_uint8), c_int,
                                POINTER(c_uint8), POINTER(ColorizeScores)]),
    "pcnn_mean_chroma": (S, [POINTER(Dataset), POINTER(c_uint8)]),
    "pcnn_train_opts_default": (TrainOpts, []),
    "pcnn_trainer_create": (S, [POINTER(P), P, POINTER(Dataset),
                                POINTER(TrainOpts)]),
    "pcnn_trainer_free": (None, [P]),
    "pcnn_trainer_init": (S, [P, P]),
    "pcnn_trainer_step": (S, [P, P, POINTER(StepStats)]),
    "pcnn_trainer_run": (S, [P, P, c_uint64, c_double, POINTER(Progress),
                             POINTER(StepStats)]),
    "pcnn_trainer_evaluate": (S, [P, P, c_int, POINTER(Dataset),
                                  POINTER(EvalOpts), POINTER(ChainEval)]),
    "pcnn_trainer_state": (TrainState, [P]),
    "pcnn_trainer_reset_ema": (None, [P]),
    "pcnn_trainer_opts": (TrainOpts, [P]),
    "pcnn_checkpoint_save": (S, [c_char_p, P, P]),
    "pcnn_checkpoint_load_model": (S, [c_char_p, c_int, POINTER(P)]),
    "pcnn_checkpoint_load_trainer": (S, [c_char_p, P, POINTER(Dataset),
                                         POINTER(P)]),
    "pcnn_checkpoint_read_state": (S, [c_char_p, POINTER(ModelConfig),
                                       POINTER(TrainOpts),
                                       POINTER(TrainState), POINTER(c_int)]),
    "pcnn_file_kind_read": (S, [c_char_p, POINTER(c_int)]),
    "pcnn_compress_opts_default": (CompressOpts, []),
    "pcnn_compress": (S, [P, P, Image, POINTER(c_int32),
                          POINTER(CompressOpts), POINTER(POINTER(c_uint8)),
                          POINTER(c_size_t)]),
    "pcnn_codec_info_read": (S, [c_char_p, c_size_t, POINTER(CodecInfo)]),
    "pcnn_decompress_opts_default": (DecompressOpts, []),
    "pcnn_decompress": (S, [P, P, c_char_p, c_size_t,
                            POINTER(DecompressOpts), POINTER(c_uint8),
                            POINTER(c_int32)]),
    "pcnn_chain_hash": (c_uint64, [P]),
    "pcnn_codec_build": (c_char_p, []),
    "pcnn_codec_build_tag": (c_uint32, []),
    "pcnn_free": (None, [c_void_p]),
}

# ------------------------------------------------------------------ loading


def _installed_path():
    """The library `make install` recorded next to the package, if any."""
    try:
        from . import _installed
    except ImportError:
        return None
    return _installed.LIBRARY


def candidates():
    """Where the library is looked for, in order: $PCNN_LIBRARY, the build
    folder of the source tree the package sits in, the path recorded by
    `make install`, the linker's search (ctypes.util.find_library)."""
    env = os.environ.get("PCNN_LIBRARY")
    if env:
        return [env]  # given explicitly: nothing else is tried
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.join(os.path.dirname(os.path.dirname(here)), "build",
                        "libpixelcnn.so")
    out = [tree]
    installed = _installed_path()
    if installed:
        out.append(installed)
    found = ctypes.util.find_library("pixelcnn")
    if found:
        out.append(found)
    return out


def _load():
    tried = []
    for path in candidates():
        is_file = os.sep in path
        if is_file and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("pixelcnn: libpixelcnn.so not found; tried: %s. Build "
                      "it with make, install it with make install, or set "
                      "PCNN_LIBRARY" % "; ".join(tried or ["nothing"]))


def _declare(dll):
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(dll, name)
        fn.restype = restype
        fn.argtypes = argtypes


lib, path = _load()
_declare(lib)


def _status_name(status):
    return lib.pcnn_status_str(status).decode("utf-8", "replace")


def last_error():
    return lib.pcnn_last_error().decode("utf-8", "replace")


def check(status):
    """Raises PixelCNNError with the library's message unless status is OK
    (Cancelled for a job its progress callback stopped). pcnn_last_error()
    is per thread, and ctypes calls run on the calling thread, so it is the
    message of this failure."""
    if status == ERR_CANCELLED:
        raise Cancelled(status, last_error())
    if status != OK:
        raise PixelCNNError(status, last_error())


def fail(status, message):
    """A PixelCNNError for an argument the package checks itself (one the
    library cannot see, such as the size of a buffer it is handed)."""
    return PixelCNNError(status, message)
