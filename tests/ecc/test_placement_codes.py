"""BCH / TMR over protected planes, interleaving and erasures in the NN read path (design.md section 3)."""

import numpy as np
import pytest

from qtaml_hw.ecc import ECCSampler, protected_read
from qtaml_hw.ecc.bch import build_code
from qtaml_hw.ecc.placement import interleave_order, word_of_weight
from qtaml_hw.ecc.rates import RATE_KEYS, outcome_rates
from qtaml_hw.memory import FlipModel, quantize


def _rates(out):
    tot = out.size
    return {"clean": np.mean(out == 0), "corrected": np.mean(out == 1), "detected": np.mean(out == 2),
            "miscorrected": np.mean((out == 3) | (out == 4))}, tot


@pytest.mark.parametrize("code,m,kw", [("bch", 8, dict(t=3)), ("bch", 2, dict(t=2)), ("rep", 2, dict(copies=3)),
                                       ("secded", 4, dict(interleave=4)), ("bch", 4, dict(t=2, interleave=8))])
def test_layer_outcomes_match_exact_rates(code, m, kw):
    """Symmetric flips on data and check bits: per-codeword outcome frequencies = the exact rates (4 SE)."""
    codes = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)
    p = 0.05
    read, out, status = protected_read(codes, bits=8, m=m, flip_model=FlipModel.symmetric(p), trials=8, seed=2,
                                       code=code, **kw)
    group = 1 if code == "rep" else 8
    exact = outcome_rates(build_code(code, group * m, t=kw.get("t", 2), copies=kw.get("copies", 3)), p)
    got, n = _rates(out)
    for key in RATE_KEYS:
        se = np.sqrt(max(exact[key] * (1 - exact[key]), 1e-9) / n)
        assert abs(got[key] - exact[key]) < 4 * se + 1e-6, (key, got[key], exact[key])
    clean_words = (out == 0) | (out == 1)
    w = word_of_weight(codes.size, group=group, interleave=kw.get("interleave", 1))
    ok = clean_words[:, w]
    assert np.all((read[ok] >> (8 - m)) == np.broadcast_to(codes >> (8 - m), read.shape)[ok])


def test_no_faults_reads_back_exactly_for_every_code():
    codes = np.random.default_rng(0).integers(0, 256, (10, 24), dtype=np.uint8)
    for code, kw in (("bch", dict(t=2)), ("bch", dict(t=3)), ("rep", dict(copies=3)), ("sec", dict(interleave=3))):
        read, out, _ = protected_read(codes, bits=8, m=3, flip_model=FlipModel(0.0, 0.0), trials=2, seed=0,
                                      code=code, **kw)
        assert np.array_equal(read, np.broadcast_to(codes, read.shape)) and np.all(out == 0)


def test_interleave_layout():
    order = interleave_order(16, group=2, interleave=4)
    assert order.tolist() == [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]
    assert word_of_weight(16, group=2, interleave=4).tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7]
    assert word_of_weight(5, group=8).tolist() == [0] * 5


def test_erasures_replace_detected_words():
    from qtaml_hw.nn.quantized import LayerInfo

    qt = quantize(np.random.default_rng(3).normal(0.3, 1.0, size=(64, 8)), bits=8)
    layer = LayerInfo("fc", (64, 8), 512, qt.scale, float(np.abs(qt.dequantize()).max()), qt)
    fm = FlipModel.symmetric(0.08)
    raw = ECCSampler(fm, {"fc": 4}, erasure="raw")(layer, 4, 5, 0)
    zero = ECCSampler(fm, {"fc": 4}, erasure="zero")(layer, 4, 5, 0)
    mean = ECCSampler(fm, {"fc": 4}, erasure="mean")(layer, 4, 5, 0)
    _, _, status = protected_read(qt.codes, bits=8, m=4, flip_model=fm, trials=4, seed=5, key="fc")
    erased = (status[:, word_of_weight(512, group=8)] == 2).reshape(raw.shape)
    assert 0.05 < erased.mean() < 0.95
    assert np.array_equal(raw[~erased], zero[~erased]) and np.all(zero[erased] == 0)
    assert np.allclose(mean[erased], np.mean(qt.dequantize()))
    clean = qt.dequantize()
    mse = {k: float(np.mean((v[erased] - np.broadcast_to(clean, v.shape)[erased]) ** 2))
           for k, v in (("raw", raw), ("zero", zero), ("mean", mean))}
    assert mse["mean"] < mse["raw"] and mse["mean"] < mse["zero"]  # the posterior mean is the MSE-best fill
