"""Chain.score and Chain.pseudo_counts against `pixelcnn score` on the same
inputs: each image's bits/dim and stage terms (CSV and JSON lines), the
per-position maps summing to the terms, and the pseudo-counts of a stream
(--pseudo-counts --stream)."""
import csv
import io
import json
import math

import numpy as np
import pytest

import pixelcnn
from conftest import cli


def test_score_chain_as_cli(data, pyramid):
    out = cli("score", "--checkpoint", pyramid.path, "--data", data.spec,
              "--threads", 1, "--batch", 5)
    rows = list(csv.DictReader(io.StringIO(out)))
    with pixelcnn.Chain(pyramid.path, threads=1) as c:
        s = c.score(data.test, batch=7)
        r = c.evaluate(data.test)
        tightens = c.tightens(1)
    assert len(rows) == 16 and s.bits.shape == (16, 2)
    # batches of 5 and 7: equal to float rounding (a BLAS may block its
    # GEMMs by the batch)
    for k, row in enumerate(rows):
        assert float(row["bits_per_dim"]) == pytest.approx(
            s.evaluation.image_bits_per_dim[k], rel=1e-6)
        assert float(row["tight_bits_per_dim"]) == pytest.approx(
            s.tight_bits[k].sum(), rel=1e-6)
        for i in range(2):
            assert float(row["stage%d" % i]) == pytest.approx(s.bits[k, i],
                                                              rel=1e-6)
            assert float(row["stage%d_tight" % i]) == pytest.approx(
                s.tight_bits[k, i], rel=1e-6)
    # the evaluator's figures, image by image, and the maps' sums
    np.testing.assert_allclose(s.bits.sum(1), s.evaluation.image_bits_per_dim,
                               rtol=1e-12)
    np.testing.assert_allclose(s.bits.sum(1), r.image_bits_per_dim,
                               rtol=1e-6)
    assert s.maps[0].shape == (16, 4, 4) and s.maps[1].shape == (16, 8, 8)
    for i in range(2):
        np.testing.assert_allclose(s.maps[i].sum((1, 2)) / 64, s.bits[:, i],
                                   rtol=1e-10)
        np.testing.assert_allclose(s.tight_maps[i].sum((1, 2)) / 64,
                                   s.tight_bits[:, i], rtol=1e-10)
    assert tightens and (s.tight_bits[:, 1] < s.bits[:, 1]).all()
    np.testing.assert_array_equal(s.tight_maps[0], s.maps[0])


def test_score_files_jsonl_and_limit(tmp_path, data, model):
    out = tmp_path / "s.jsonl"
    cli("score", "--checkpoint", model, "--data", data.spec, "--limit", 3,
        "--format", "jsonl", "-o", out, "--threads", 1)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    with pixelcnn.Chain(model, threads=1) as m:
        s = m.score(data.test, limit=3, maps=False, batch=16)
    assert len(lines) == 3 and s.bits.shape == (3, 1) and s.maps == []
    for k, line in enumerate(lines):
        assert line["image"] == k
        assert line["bits_per_dim"] == pytest.approx(s.bits[k, 0], rel=1e-12)
        assert line["stages"][0]["own"] == pytest.approx(s.bits[k, 0],
                                                         rel=1e-12)


def test_pseudo_counts_as_cli(data, model):
    out = cli("score", "--checkpoint", model, "--data", data.spec,
              "--pseudo-counts", "--stream", "3*5,0-2", "--lr", 1e-5,
              "--threads", 1)
    rows = list(csv.DictReader(io.StringIO(out)))
    stream = data.test[[3] * 5 + [0, 1, 2]]
    with pixelcnn.Chain(model, threads=1) as m:
        before = m.evaluate(data.test).bits_per_dim
        p = m.pseudo_counts(stream, lr=1e-5)
        assert m.evaluate(data.test).bits_per_dim == before  # not changed
    assert len(rows) == 8 and p.counts.shape == (8,)
    for k, row in enumerate(rows):
        assert float(row["bits_before"]) == pytest.approx(
            -p.log_p[k] / math.log(2), rel=1e-12)
        assert float(row["bits_after"]) == pytest.approx(
            -p.log_p_after[k] / math.log(2), rel=1e-12)
        assert float(row["count"]) == pytest.approx(p.counts[k], rel=1e-12)
        assert p.counts[k] == pixelcnn.pseudo_count(p.log_p[k],
                                                    p.log_p_after[k])
    # the repeated image: its density rises with each step on it
    assert (np.diff(p.log_p[:5]) > 0).all()


def test_pseudo_count_formula_and_errors(data, pyramid):
    assert pixelcnn.pseudo_count(math.log(0.5), math.log(0.6)) == \
        pytest.approx(2)
    assert math.isinf(pixelcnn.pseudo_count(-3, -3))
    with pixelcnn.Chain(pyramid.path, threads=1) as c:
        with pytest.raises(pixelcnn.PixelCNNError, match="2 stages"):
            c.pseudo_counts(data.test[:2])
