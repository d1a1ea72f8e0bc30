"""pixelcnn: PixelCNN++ and chains of stages over libpixelcnn.so (ctypes;
NumPy arrays in and out). docs/python.md has a tour and the API.

    import pixelcnn
    with pixelcnn.Chain("checkpoint.safetensors") as m:
        x = m.sample(16, seed=1)           # (16, C, H, W) uint8
        print(m.evaluate(x).bits_per_dim)

The names below load the library on first use, so that importing the
package, or a submodule that needs no library (pixelcnn.torch_interop),
works where libpixelcnn.so is not installed.
"""
import importlib

__version__ = "0.1.0"  # PCNN_VERSION of the header it was written against

# public name: (module, attribute)
_EXPORTS = {
    "Cancelled": ("_lib", "Cancelled"),
    "PixelCNNError": ("_lib", "PixelCNNError"),
    "library_path": ("_lib", "path"),
    "Chain": ("chain", "Chain"),
    "Evaluation": ("chain", "Evaluation"),
    "Scores": ("chain", "Scores"),
    "PseudoCounts": ("chain", "PseudoCounts"),
    "pseudo_count": ("chain", "pseudo_count"),
    "codec_info": ("chain", "codec_info"),
    "colorize_scores": ("color", "colorize_scores"),
    "mean_chroma": ("color", "mean_chroma"),
    "Trainer": ("train", "Trainer"),
    "train": ("train", "train"),
    "default_config": ("train", "default_config"),
    "default_options": ("train", "default_options"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError("module 'pixelcnn' has no attribute %r" % name)
    module = importlib.import_module("." + _EXPORTS[name][0], __name__)
    # every name of that module at once: importing pixelcnn.train binds the
    # submodule to the package's name "train", which the function replaces
    for k, (m, attr) in _EXPORTS.items():
        if m == _EXPORTS[name][0]:
            globals()[k] = getattr(module, attr)
    return globals()[name]


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
