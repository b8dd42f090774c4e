"""Closed-form moments and the three properties of design.md section 2, checked by Monte Carlo.

Each MC check uses >= 1e6 faulty words from flip_bits (fixed seeds) and a tolerance of 5
standard errors computed from the samples.
"""

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import (CODES, FlipModel, bit_variance_contributions, decode_codes, flip_bits,
                             hierarchy_shares, mean_drift_affine, moments, protected_part, quantize,
                             residual_fraction, residual_variance_curve, signmag_drift)

B = 8
REPS = 4096  # 256 codes x 4096 = 1,048,576 samples


def _mc(code, fm, protect, seed):
    """Faulty integer values for every code (256, REPS) drawn in one vectorised call."""
    codes = np.arange(1 << B, dtype=np.uint8)
    tiled = np.repeat(codes, REPS)
    out = flip_bits(tiled, bits=B, flip_model=fm, trials=1, seed=seed, protect_msb=protect)[0]
    return codes, decode_codes(out, bits=B, code=code).reshape(1 << B, REPS).astype(np.float64)


def _check_mean_var(vals, mean, var):
    n = vals.shape[1]
    mc_mean = vals.mean(axis=1)
    mc_var = vals.var(axis=1, ddof=1)
    se_mean = np.sqrt(mc_var / n) + 1e-12
    m4 = ((vals - mc_mean[:, None]) ** 4).mean(axis=1)
    se_var = np.sqrt(np.maximum(m4 - mc_var ** 2, 0) / n) + 1e-12
    assert np.all(np.abs(mc_mean - mean) < 5 * se_mean), np.max(np.abs(mc_mean - mean) / se_mean)
    assert np.all(np.abs(mc_var - var) < 5 * se_var), np.max(np.abs(mc_var - var) / se_var)


P10 = np.array([0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.2])
P01 = np.array([0.01, 0.0, 0.05, 0.02, 0.07, 0.03, 0.05, 0.08])


@pytest.mark.parametrize("protect", [0, 2])
@pytest.mark.parametrize("code", CODES)
def test_moments_match_monte_carlo(code, protect):
    fm = FlipModel(P10, P01)
    codes, vals = _mc(code, fm, protect, seed=11 + protect)
    mean, var = moments(codes, bits=B, code=code, flip_model=fm, protect_msb=protect)
    _check_mean_var(vals, mean, var)
    contrib = bit_variance_contributions(codes, bits=B, code=code, flip_model=fm, protect_msb=protect)
    assert np.allclose(contrib.sum(axis=-1), var)
    if protect:
        assert np.all(contrib[:, -protect:] == 0)


@pytest.mark.parametrize("protect", [0, 3])
@pytest.mark.parametrize("code", ["twos", "offset"])
def test_property1_affine_drift(code, protect):
    p10, p01 = 0.07, 0.03  # a = 0.9 for every bit
    fm = FlipModel(p10, p01)
    a, c = mean_drift_affine(bits=B, code=code, flip_model=fm, protect_msb=protect)
    assert a == pytest.approx(0.9)
    codes, vals = _mc(code, fm, protect, seed=21 + protect)
    v = decode_codes(codes, bits=B, code=code)
    pred = a * v + c + (1 - a) * protected_part(codes, bits=B, code=code, protect_msb=protect)
    assert np.allclose(pred, moments(codes, bits=B, code=code, flip_model=fm, protect_msb=protect)[0])
    se = np.sqrt(vals.var(axis=1, ddof=1) / REPS) + 1e-12
    assert np.all(np.abs(vals.mean(axis=1) - pred) < 5 * se)
    with pytest.raises(QtamlError):
        mean_drift_affine(bits=B, code=code, flip_model=FlipModel(P10, P01))
    with pytest.raises(QtamlError):
        mean_drift_affine(bits=B, code="signmag", flip_model=fm)


def test_property1_signmag_sign_dependent_drift():
    p10 = np.full(B, 0.05)
    p01 = np.full(B, 0.02)
    p10[-1], p01[-1] = 0.2, 0.01  # the sign bit leaks mostly 1 -> 0
    fm = FlipModel(p10, p01)
    drift = signmag_drift(bits=B, flip_model=fm)
    (ap, cp), (an, cn) = drift["pos"], drift["neg"]
    assert ap != pytest.approx(an)  # sign-dependent slope
    codes, vals = _mc("signmag", fm, 0, seed=31)
    v = decode_codes(codes, bits=B, code="signmag")
    neg = codes >= 128
    pred = np.where(neg, an * v + cn, ap * v + cp)
    se = np.sqrt(vals.var(axis=1, ddof=1) / REPS)
    assert np.all(np.abs(vals.mean(axis=1) - pred) < 5 * se)
    # a single affine fit leaves residuals far beyond the noise
    coef = np.polyfit(v, vals.mean(axis=1), 1)
    assert np.max(np.abs(np.polyval(coef, v) - vals.mean(axis=1)) / se) > 20


def test_property2_variance_hierarchy():
    shares = hierarchy_shares(bits=B)
    assert shares[-1] == pytest.approx(0.75, rel=1e-4) and shares[-2] == pytest.approx(3 / 16, rel=1e-4)
    p = 0.01
    fm = FlipModel(p, p)
    codes = np.arange(256, dtype=np.uint8)
    contrib = bit_variance_contributions(codes, bits=B, code="twos", flip_model=fm)
    assert np.allclose(contrib / contrib.sum(axis=-1, keepdims=True), shares)
    # Monte Carlo: variance left after protecting the top m bits ~ residual_fraction ~ 4^-m
    tiled = np.repeat(codes, REPS)
    base = contrib.sum(axis=-1)[0]  # the same for every code at equal p
    for m in (0, 1, 2, 3):
        out = flip_bits(tiled, bits=B, flip_model=fm, trials=1, seed=40 + m, protect_msb=m)[0]
        mu = moments(tiled, bits=B, code="twos", flip_model=fm, protect_msb=m)[0]
        sq = (decode_codes(out, bits=B, code="twos") - mu) ** 2
        est, se = sq.mean(), sq.std(ddof=1) / np.sqrt(sq.size)
        assert abs(est - base * residual_fraction(bits=B, protect_msb=m)) < 5 * se
        assert residual_fraction(bits=B, protect_msb=m) == pytest.approx(4.0 ** -m, rel=1e-3)


@pytest.mark.parametrize("code", CODES)
def test_property3_residual_variance_curve(code):
    w = np.random.default_rng(3).normal(size=(1 << 20,))
    qt = quantize(w, bits=B, code=code)
    fm = FlipModel(0.02, 0.01)
    curve = residual_variance_curve(qt, fm)
    assert curve.shape == (B + 1,) and curve[-1] == 0 and np.all(np.diff(curve) <= 1e-12)
    for m in (0, 2):
        out = flip_bits(qt.codes, bits=B, flip_model=fm, trials=1, seed=50 + m, protect_msb=m)[0]
        mu = moments(qt.codes, bits=B, code=code, flip_model=fm, protect_msb=m)[0]
        err = qt.dequantize(out[None])[0].astype(np.float64) - qt.scale * mu
        sq = err ** 2
        est, se = sq.mean(), sq.std(ddof=1) / np.sqrt(sq.size)
        assert abs(est - qt.scale ** 2 * curve[m]) < 5 * se
