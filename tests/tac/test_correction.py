"""Mean correction: E[w_hat] = w by Monte Carlo (>= 1e6 flips per setting, tolerance 5 SE)."""

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, flip_bits, moments, quantize
from qtaml_hw.tac.correction import corrected_dequantize, corrected_variance

BITS = 8


def _mc(code, fm, m, trials=4000, copies=16):
    """``trials`` independent faulty reads of each of 257 weights, shape (trials, 257).

    Drawn as trials / copies reads of ``copies`` side-by-side copies of the tensor (independent
    flips per stored word), which is the same sample at a fraction of the per-read cost."""
    w = np.linspace(-1, 1, 257)  # every value class incl. 0 and both extremes
    qt = quantize(w, bits=BITS, code=code)
    faulty = flip_bits(np.tile(qt.codes, copies), bits=BITS, flip_model=fm, trials=trials // copies, seed=3,
                       protect_msb=m)
    return qt, faulty.reshape(-1, qt.codes.size)


@pytest.mark.parametrize("code", ["twos", "offset", "signmag"])
@pytest.mark.parametrize("m", [0, 2])
def test_corrected_mean_is_clean_weight(code, m):
    fm = FlipModel(0.1, 0.03)  # directional, r = 0.3
    qt, faulty = _mc(code, fm, m)  # 4000 x 257 = 1.03e6 samples
    w_hat = corrected_dequantize(faulty, scale=qt.scale, bits=BITS, code=code, flip_model=fm, protect_msb=m)
    clean = qt.dequantize()
    se = w_hat.std(axis=0, ddof=1) / np.sqrt(w_hat.shape[0])
    z = (w_hat.mean(axis=0) - clean) / np.maximum(se, 1e-12)
    assert np.max(np.abs(z)) < 5.0  # 257 weights: max |z| over 257 normals stays < 5
    # pooled: the average bias over all weights is within 4 pooled SE
    assert abs(np.mean(w_hat.mean(0) - clean)) < 4 * np.sqrt(np.mean(se ** 2) / clean.size)
    # and without correction the bias is large: the test can fail
    raw = qt.dequantize(faulty)
    assert np.max(np.abs((raw.mean(0) - clean) / np.maximum(se, 1e-12))) > 20


def _pooled_variance_se(samples) -> float:
    """Standard error of the mean over weights of the per-weight sample variances (trials on axis 0).

    Per weight, the sample variance is the mean of squared deviations, so its SE is
    sd((x - xbar)^2) / sqrt(K) (kurtosis included); weights are independent, so the pooled
    mean over W weights has SE sqrt(sum se_i^2) / W.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    d = (x - x.mean(axis=0)) ** 2
    se = d.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
    return float(np.sqrt(np.sum(se ** 2)) / x.shape[1])


@pytest.mark.parametrize("code", ["twos", "offset"])
def test_corrected_variance_closed_form(code):
    fm = FlipModel(0.05, 0.05)
    qt, faulty = _mc(code, fm, 1, trials=4000)
    w_hat = corrected_dequantize(faulty, scale=1.0, bits=BITS, code=code, flip_model=fm, protect_msb=1)
    var = corrected_variance(codes=qt.codes, bits=BITS, code=code, flip_model=fm, protect_msb=1)
    assert abs(np.mean(w_hat.var(axis=0, ddof=1)) - np.mean(var)) < 4 * _pooled_variance_se(w_hat)


@pytest.mark.parametrize("code", ["twos", "offset", "signmag"])
def test_value_variance_matches_mc(code):
    fm = FlipModel(0.1, 0.02)
    qt, faulty = _mc(code, fm, 0, trials=4000)
    v = qt.dequantize(faulty) / qt.scale
    _, var = moments(qt.codes, bits=BITS, code=code, flip_model=fm)
    assert abs(np.mean(v.var(axis=0, ddof=1)) - np.mean(var)) < 4 * _pooled_variance_se(v)


def test_no_information_raises():
    with pytest.raises(QtamlError):
        corrected_dequantize(np.zeros(3, np.uint8), scale=1.0, bits=8, code="twos", flip_model=FlipModel(0.5, 0.5))
