"""pixelcnn: Python access to libpixelcnn (placeholder for the package's
own __init__; the PyTorch interop lives in pixelcnn.torch_interop and
needs no compiled library)."""
