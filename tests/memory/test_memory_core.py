"""Codes, quantization and fault injection (design.md section 2)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import (CODES, FlipModel, bit_weights, bitplanes, code_offset, decode_codes, encode_values,
                             flip_bitplanes, flip_bits, quantize, value_range)


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("bits", range(4, 17))
def test_every_value_round_trips(bits, code):
    lo, hi = value_range(bits=bits, code=code)
    v = np.arange(lo, hi + 1)
    raw = encode_values(v, bits=bits, code=code)
    assert raw.dtype == (np.uint8 if bits <= 8 else np.uint16)
    assert len(np.unique(raw)) == len(v)  # injective
    assert np.array_equal(decode_codes(raw, bits=bits, code=code), v)


@pytest.mark.parametrize("code", ["twos", "offset"])
@pytest.mark.parametrize("bits", [4, 8, 11, 16])
def test_linear_code_bit_weights(bits, code):
    raw = np.arange(1 << bits)
    v = decode_codes(raw, bits=bits, code=code)
    lin = bitplanes(raw, bits=bits) @ bit_weights(bits=bits, code=code) + code_offset(bits=bits, code=code)
    assert np.array_equal(lin, v)


def test_known_patterns():
    assert encode_values(-1, bits=8, code="twos") == 0xFF
    assert encode_values(-1, bits=8, code="offset") == 0x7F
    assert encode_values(-1, bits=8, code="signmag") == 0x81
    assert decode_codes(0x80, bits=8, code="signmag") == 0  # negative zero
    assert decode_codes(0x80, bits=8, code="twos") == -128
    with pytest.raises(QtamlError):
        bit_weights(bits=8, code="signmag")
    with pytest.raises(QtamlError):
        encode_values(128, bits=8, code="twos")


@settings(max_examples=60, deadline=None)
@given(st.integers(4, 16), st.sampled_from(CODES), st.data())
def test_round_trip_property(bits, code, data):
    lo, hi = value_range(bits=bits, code=code)
    v = np.array(data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=50)))
    assert np.array_equal(decode_codes(encode_values(v, bits=bits, code=code), bits=bits, code=code), v)


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 16), st.sampled_from(CODES), st.integers(0, 2**31 - 1))
def test_quantize_error_bound(bits, code, seed):
    w = np.random.default_rng(seed).normal(size=(5, 7)) * 3
    qt = quantize(w, bits=bits, code=code)
    s = np.max(np.abs(w)) / (2 ** (bits - 1) - 1)
    assert np.isclose(qt.scale, s)
    assert np.all(np.abs(qt.dequantize() - w) <= s / 2 + 1e-5 * np.abs(w).max())
    assert np.max(np.abs(qt.values())) == 2 ** (bits - 1) - 1


def test_per_channel_and_zero_channel():
    w = np.random.default_rng(0).normal(size=(4, 3, 2, 2)).astype(np.float32)
    w[2] = 0
    qt = quantize(w, bits=8, per_channel=True)
    assert qt.scale.shape == (4, 1, 1, 1)
    assert qt.scale[2, 0, 0, 0] == 1.0 and np.all(np.isfinite(qt.dequantize()))
    assert np.all(qt.values()[2] == 0)
    for c in (0, 1, 3):
        assert np.abs(qt.values()[c]).max() == 127
    stacked = np.stack([qt.codes, qt.codes])
    assert qt.dequantize(stacked).shape == (2, 4, 3, 2, 2)
    qz = quantize(np.zeros(5))
    assert qz.scale == 1.0 and np.all(qz.dequantize() == 0)
    with pytest.raises(QtamlError):
        quantize(w, bits=3)
    with pytest.raises(QtamlError):
        quantize(w, code="gray")
    with pytest.raises(QtamlError):
        quantize(np.array([1.0, np.nan]))


def test_flip_model_validation():
    with pytest.raises(QtamlError):
        FlipModel(1.5, 0.0)
    with pytest.raises(QtamlError):
        FlipModel(0.1, -0.1)
    fm = FlipModel.symmetric(0.01, r=0.5)
    assert fm.p10 == 0.01 and fm.p01 == 0.005
    with pytest.raises(QtamlError):
        FlipModel(np.full(7, 0.1), 0.0).per_bit(8)


def test_trial_invariance_batching():
    codes = quantize(np.random.default_rng(1).normal(size=(3000,))).codes
    fm = FlipModel(np.linspace(0.01, 0.2, 8), 0.03)
    kw = dict(bits=8, flip_model=fm, seed=42, key="k")
    full = flip_bits(codes, trials=64, **kw)
    singles = np.concatenate([flip_bits(codes, trials=1, trial_offset=i, **kw) for i in range(64)])
    quarters = np.concatenate([flip_bits(codes, trials=16, trial_offset=16 * j, **kw) for j in range(4)])
    assert np.array_equal(full, singles) and np.array_equal(full, quarters)
    assert not np.array_equal(full[0], full[1])
    other = flip_bits(codes, trials=1, bits=8, flip_model=fm, seed=42, key="other")
    assert not np.array_equal(other[0], full[0])


def test_directional_rates_and_protection():
    n = 200_000
    codes = np.random.default_rng(2).integers(0, 256, n).astype(np.uint8)
    p10 = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    p01 = np.array([0.3, 0.0, 0.01, 0.05, 0.07, 0.1, 0.2, 0.9])
    out = flip_bits(codes, bits=8, flip_model=FlipModel(p10, p01), trials=2, seed=3, protect_msb=2)
    b = bitplanes(codes, bits=8).astype(bool)
    fb = bitplanes(out, bits=8).astype(bool)  # (2, n, 8)
    flipped = fb != b[None]
    for k in range(8):
        for stored, p in ((True, p10[k]), (False, p01[k])):
            sel = b[:, k] == stored
            m = sel.sum() * 2
            rate = flipped[:, sel, k].sum() / m
            exp = 0.0 if k >= 6 else p
            assert abs(rate - exp) <= 5 * np.sqrt(exp * (1 - exp) / m) + 1e-12, (k, stored, rate, exp)
    assert out.dtype == np.uint8 and out.shape == (2, n)


def test_flip_bits_bad_inputs_and_edges():
    codes = np.array([0, 255], dtype=np.uint8)
    with pytest.raises(QtamlError):
        flip_bits(codes, bits=8, flip_model=FlipModel(0.1, 0.1), trials=1, seed=0, protect_msb=9)
    with pytest.raises(QtamlError):
        flip_bits(np.array([300]), bits=8, flip_model=FlipModel(0.1, 0.1), trials=1, seed=0)
    all_flip = flip_bits(codes, bits=8, flip_model=FlipModel(1.0, 1.0), trials=1, seed=0)
    assert np.array_equal(all_flip[0], [255, 0])
    only_up = flip_bits(codes, bits=8, flip_model=FlipModel(0.0, 1.0), trials=1, seed=0, protect_msb=4)
    assert np.array_equal(only_up[0], [15, 255])
    w16 = flip_bits(np.array([[1, 2]], np.uint16), bits=12, flip_model=FlipModel(0.5, 0.5), trials=3, seed=0)
    assert w16.dtype == np.uint16 and w16.shape == (3, 1, 2) and w16.max() < 4096


def test_flip_bitplanes():
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2, size=(100_000, 5)).astype(np.uint8)
    out = flip_bitplanes(bits, 0.2, np.array([0.0, 0.1, 0.2, 0.3, 0.4]), np.random.default_rng(6))
    assert out.dtype == np.uint8 and set(np.unique(out)) <= {0, 1}
    for k, p01 in enumerate([0.0, 0.1, 0.2, 0.3, 0.4]):
        ones, zeros = bits[:, k] == 1, bits[:, k] == 0
        r10 = (out[ones, k] == 0).mean()
        r01 = (out[zeros, k] == 1).mean()
        assert abs(r10 - 0.2) < 5 * np.sqrt(0.16 / ones.sum())
        assert abs(r01 - p01) <= 5 * np.sqrt(p01 * (1 - p01) / zeros.sum()) + 1e-12
    with pytest.raises(QtamlError):
        flip_bitplanes(np.array([[2]]), 0.1, 0.1, rng)


@pytest.mark.parametrize("p10,p01", [(0.008, 0.002), (0.003, 0.003)])
def test_grouped_small_p_rates_and_invariance(p10, p01):
    """Small q: bit planes share one sparse process (thinned per stored bit); still exact and trial-invariant."""
    n = 250_000
    codes = np.random.default_rng(4).integers(0, 256, n).astype(np.uint8)
    fm = FlipModel(p10, p01)
    out = flip_bits(codes, bits=8, flip_model=fm, trials=4, seed=9, protect_msb=1)
    assert np.array_equal(out[2:], flip_bits(codes, bits=8, flip_model=fm, trials=2, seed=9, trial_offset=2,
                                             protect_msb=1))
    b = bitplanes(codes, bits=8).astype(bool)
    flipped = bitplanes(out, bits=8).astype(bool) != b[None]
    assert not flipped[..., 7].any()
    for stored, p in ((True, p10), (False, p01)):
        sel = b[:, :7] == stored  # (n, 7)
        m = sel.sum() * 4
        rate = flipped[:, :, :7][:, sel].sum() / m
        assert abs(rate - p) < 5 * np.sqrt(p * (1 - p) / m), (stored, rate, p)
    # several bits of one word can flip in the same trial (the per-element OR-reduce)
    assert (flipped.sum(axis=-1) >= 2).any()


def _flip_rate_z(codes, out, bits, p10, p01, protect=0):
    """z-scores of the measured per-(bit, stored value) flip rates against p10_k / p01_k."""
    flipped = np.asarray(out) ^ codes[None]
    z = []
    for k in range(bits - protect):
        stored = (codes >> k) & 1
        f = (flipped >> k) & 1
        for value, p in ((1, p10[k]), (0, p01[k])):
            sel = stored == value
            m = int(sel.sum()) * out.shape[0]
            hits = int(f[:, sel].sum())
            if p in (0.0, 1.0):
                assert hits == p * m, (k, value, hits, m)
                continue
            z.append((hits / m - p) / np.sqrt(p * (1 - p) / m))
    for k in range(bits - protect, bits):
        assert not ((flipped >> k) & 1).any()
    return np.array(z)


def _chi_square_ok(z):
    from scipy.stats import chi2
    return np.abs(z).max() < 5 and (z ** 2).sum() < chi2.ppf(0.999, z.size)


@pytest.mark.parametrize("bits,p10,p01,protect", [
    (8, 0.1, 0.05, 0),  # the headline regime (r = 0.5): bit-parallel digits plus hits
    (8, 1e-3, 5e-4, 0),  # sparse: Poisson hits only, both directions
    (12, 0.3, 0.06, 1),  # uint16 words, 16 lanes each
])
def test_directional_rates_chi_square(bits, p10, p01, protect):
    n = 1_000_000 if p10 < 0.01 else 60_000
    codes = np.random.default_rng(11).integers(0, 1 << bits, n).astype(np.uint8 if bits <= 8 else np.uint16)
    fm = FlipModel(p10, p01)
    out = flip_bits(codes, bits=bits, flip_model=fm, trials=4, seed=12, protect_msb=protect)
    assert out.dtype == codes.dtype and out.max() < (1 << bits)
    z = _flip_rate_z(codes, out, bits, *fm.per_bit(bits), protect=protect)
    assert z.size == 2 * (bits - protect) and _chi_square_ok(z), z


def test_sampling_plan_follows_p():
    """Small p: hits only (D = 0); p = 0.1: D bit-parallel digits, the rest as hits."""
    from qtaml_hw.memory.inject import _Sampler
    codes = np.zeros(1 << 16, np.uint8)
    p = np.full(8, 1e-3)
    assert _Sampler(codes, list(range(8)), p, p, np.dtype(np.uint8)).digits == 0
    p = np.full(8, 0.1)
    dense = _Sampler(codes, list(range(8)), p, 0.5 * p, np.dtype(np.uint8))
    assert dense.digits > 0 and dense.procs  # 0.1 and 0.05 are not dyadic: hits carry the remainder


@pytest.mark.parametrize("digits", [0, 1, 3, 6, 12])
def test_exact_for_every_digit_split(monkeypatch, digits):
    """P(flip) = p whatever D: Bernoulli(t) bit-parallel OR Bernoulli((p - t)/(1 - t)) hits."""
    from qtaml_hw.memory import inject
    monkeypatch.setattr(inject._Sampler, "_choose_digits", lambda self, a, b: digits)
    n = 40_000
    codes = np.random.default_rng(13).integers(0, 256, n).astype(np.uint8)
    fm = FlipModel(np.array([0.3, 0.1, 0.7, 0.02, 0.5, 0.999, 1.0, 0.2]),
                   np.array([0.07, 0.1, 0.2, 0.0, 0.25, 0.6, 0.1, 1.0]))
    out = flip_bits(codes, bits=8, flip_model=fm, trials=6, seed=14)
    assert _chi_square_ok(_flip_rate_z(codes, out, 8, *fm.per_bit(8)))


@pytest.mark.parametrize("p", [0.01, 0.2])
def test_flips_independent_within_a_word(p):
    """Two bits of one word flip together with probability p^2 (hits and digits combine per bit)."""
    n, trials = 200_000, 4
    codes = np.random.default_rng(15).integers(0, 256, n).astype(np.uint8)
    out = flip_bits(codes, bits=8, flip_model=FlipModel.symmetric(p), trials=trials, seed=16)
    flipped = out ^ codes[None]
    m = n * trials
    for j, k in ((0, 1), (3, 7)):
        both = int((((flipped >> j) & (flipped >> k)) & 1).sum())
        assert abs(both / m - p * p) < 5 * np.sqrt(p * p * (1 - p * p) / m), (j, k, both)


def test_trial_invariance_dense_path():
    codes = np.random.default_rng(17).integers(0, 256, 5003).astype(np.uint8)  # not a multiple of 8 words
    kw = dict(bits=8, flip_model=FlipModel.symmetric(0.1, 0.5), seed=18)
    full = flip_bits(codes, trials=8, **kw)
    split = np.concatenate([flip_bits(codes, trials=3, **kw), flip_bits(codes, trials=5, trial_offset=3, **kw)])
    assert np.array_equal(full, split)
    assert not np.array_equal(full[0], full[1])
