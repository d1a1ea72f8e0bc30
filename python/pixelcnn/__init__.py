"""pixelcnn: PixelCNN++ and chains of stages over libpixelcnn.so (ctypes;
NumPy arrays in and out). docs/python.md has a tour and the API.

    import pixelcnn
    with pixelcnn.Chain("checkpoint.safetensors") as m:
        x = m.sample(16, seed=1)           # (16, C, H, W) uint8
        print(m.evaluate(x).bits_per_dim)
"""
from ._lib import PixelCNNError, path as library_path
from .chain import Chain, Evaluation
from .train import Trainer, default_config, default_options, train

__version__ = "0.1.0"  # PCNN_VERSION of the header it was written against

__all__ = ["Chain", "Evaluation", "PixelCNNError", "Trainer",
           "default_config", "default_options", "library_path", "train"]
