"""Failures surface as PixelCNNError with the library's one-line message
and status name; arguments only the package can check (buffer sizes,
dtypes) fail the same way before the library is called."""
import numpy as np
import pytest

import pixelcnn
from pixelcnn import PixelCNNError
from conftest import TINY


def raises(fn, status, *words):
    with pytest.raises(PixelCNNError) as e:
        fn()
    assert e.value.status_name == status, e.value
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert e.value.message == str(e.value) and "\n" not in e.value.message
    return e.value


def test_missing_and_malformed_files(tmp_path):
    e = raises(lambda: pixelcnn.Chain(str(tmp_path / "none.safetensors")),
               "i/o error", "none.safetensors", "No such file")
    assert e.status == 5
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    raises(lambda: pixelcnn.Chain(str(bad)), "malformed file",
           "bad.safetensors")
    raises(lambda: pixelcnn.Trainer.resume(str(bad), np.zeros((1, 1, 8, 8),
                                                               np.uint8)),
           "malformed file", "bad.safetensors")


def test_bad_shapes(data, model, pyramid):
    with pixelcnn.Chain(model) as m:
        raises(lambda: m.evaluate(np.zeros((2, 1, 4, 4), np.uint8)),
               "shape mismatch", "1x4x4", "1x8x8")
        raises(lambda: m.evaluate(np.zeros((1, 8, 8), np.uint8)),
               "shape mismatch", "3-d")
        raises(lambda: m.complete(data.test[:2], np.ones((4, 4))),
               "shape mismatch", "known")
        raises(lambda: m.complete(np.zeros((1, 3, 8, 8), np.uint8),
                                  np.ones((8, 8))),
               "shape mismatch", "pcnn_model_sample")
        raises(lambda: m.colorize(np.zeros((3, 32, 32), np.uint8), 2),
               "bad argument", "not a colorizer")
        raises(lambda: m.upscale(data.test[:1]), "bad argument",
               "first stage")
    with pixelcnn.Chain(pyramid.path) as c:
        raises(lambda: c.upscale(data.test[:1]), "shape mismatch",
               "stage 0")
        raises(lambda: c.complete(data.test[:1], np.ones((8, 8))),
               "bad argument", "pcnn_chain_complete", "2 stages")
    with pixelcnn.Chain(pyramid.stages[1]) as s:  # a partial chain
        assert not s.is_complete
        raises(lambda: s.sample(1), "bad argument", "pcnn_chain_sample")


def test_out_of_range_values(data, model, pyramid):
    with pixelcnn.Chain(model) as m:
        raises(lambda: m.evaluate(data.test.astype(np.int32) + 200),
               "value out of range", "0..255")
        raises(lambda: m.evaluate(data.test.astype(float)),
               "value out of range", "float64")
        raises(lambda: m.evaluate(data.test, labels=[-1] + [1] * 15),
               "value out of range", "label")
        raises(lambda: m.sample(2, labels=[1, 2, 3]), "shape mismatch",
               "labels")
        raises(lambda: m.sample(0), "bad argument", "batch 0")
        raises(lambda: m.sample(2, log_scale_offset=float("nan")),
               "bad argument", "log-scale offset nan")
        raises(lambda: m.sample(2, seed=-1), "value out of range", "seed")
        assert m.evaluate(data.test.astype(np.int64)).images == 16
    with pytest.raises(PixelCNNError):
        pixelcnn.Trainer(data.train, dict(TINY, nr_filters=-1))
    raises(lambda: pixelcnn.Trainer(data.train, dict(TINY, colour=1)),
           "bad argument", "colour")
    raises(lambda: pixelcnn.Trainer(data.train, dict(TINY, view="quarter")),
           "bad argument", "quarter")
    raises(lambda: pixelcnn.Trainer(data.train, TINY, options=dict(lr=2)),
           "bad argument", "lr")


def test_closed_objects(data, model):
    m = pixelcnn.Chain(model)
    m.close()
    raises(lambda: m.sample(1), "bad argument", "closed")
    m.close()  # twice is fine
    t = pixelcnn.Trainer(data.train, TINY, options=dict(batch=8))
    t.close()
    raises(lambda: t.step(), "bad argument", "closed")
