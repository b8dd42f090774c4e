"""Bit-plane placement, real-ECC read path (exact outcome rates at high p), ideal MSB model, overhead."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtaml_hw.ecc import (OUTCOMES, SECDED, ECCSampler, IdealMSB, classify, make_code, pack_planes, plan_overhead,
                         protected_read, sram_storage, unpack_planes)
from qtaml_hw.ecc.codec import outcome_counts
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, flip_bits, quantize


@pytest.mark.parametrize("m", [1, 2, 4, 8])
def test_plane_order_matches_rtl_contract(m):
    """data bit g*m + j = bit (8-m+j) of weight g: the same words fidelity.leakage builds for the RTL."""
    from qtaml_hw.fidelity.leakage import bit_planes, with_planes

    codes = np.random.default_rng(m).integers(0, 256, (5, 8), dtype=np.uint8)
    words = codes.view("<u8").reshape(-1)
    planes = pack_planes(codes.reshape(-1), bits=8, m=m)
    assert np.array_equal(planes, bit_planes(words, protect_bits=m))
    new = np.random.default_rng(9).integers(0, 1 << (8 * m), 5, dtype=np.uint64) if m < 8 else \
        np.random.default_rng(9).integers(0, 2**63, 5, dtype=np.uint64)
    back = unpack_planes(codes.reshape(-1), new, bits=8, m=m).reshape(5, 8)
    assert np.array_equal(back.view("<u8").reshape(-1), with_planes(words, new, protect_bits=m))
    assert np.array_equal(unpack_planes(codes.reshape(-1), planes, bits=8, m=m), codes.reshape(-1))


def test_pack_rejects_bad_shapes():
    with pytest.raises(QtamlError):
        pack_planes(np.zeros(7, np.uint8), bits=8, m=2)
    with pytest.raises(QtamlError):
        pack_planes(np.zeros(16, np.uint16), bits=16, m=9)  # 72 data bits do not fit a uint64 word


def test_no_flips_reads_clean():
    codes = quantize(np.random.default_rng(0).normal(size=(10, 7)), bits=8).codes  # 70 weights: padded
    read, out, status = protected_read(codes, bits=8, m=3, flip_model=FlipModel(0.0, 0.0), trials=2, seed=0)
    assert read.shape == (2, 10, 7) and np.array_equal(read[1], codes)
    assert np.all(out == OUTCOMES.index("clean")) and out.shape == (2, 9)


def _exact_rates(code, p10, p01, clean_data, clean_check):
    """Exact outcome distribution of one stored codeword under directional flips (enumerates 2^n patterns)."""
    n, k = code.n, code.k
    bits = np.array([(int(clean_data) >> j) & 1 for j in range(k)] + [(int(clean_check) >> i) & 1
                                                                        for i in range(code.r)])
    p = np.where(bits == 1, p10, p01)
    e = np.array(list(product((0, 1), repeat=n)), dtype=np.uint8)
    prob = np.prod(np.where(e == 1, p, 1 - p), axis=1)
    de = (e[:, :k].astype(np.uint64) << np.arange(k, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    ce = (e[:, k:].astype(np.uint64) << np.arange(code.r, dtype=np.uint64)).sum(axis=1).astype(np.uint16)
    cw = code.encode(np.full(len(e), clean_data, np.uint64))
    d, s = code.decode(code.corrupt(cw, de, ce))
    out = classify(cw.data, d, s)
    return np.bincount(out, weights=prob, minlength=len(OUTCOMES))


def test_outcome_rates_at_stress_p_match_exact_enumeration():
    """(13,8) SECDED at p10 = 0.1, p01 = 0.05 (directional, check bits leak too): MC rates == exact within 5 SE.

    At this p only ~60% of words are clean or corrected; miscorrection is frequent and shown.
    """
    fm = FlipModel(0.10, 0.05)
    code = SECDED(8)
    # every word stores the same 8 weights, so every codeword has the same exact distribution
    weights = np.array([0x81, 0x7F, 0x00, 0xC3, 0x10, 0xE0, 0x55, 0xAA], np.uint8)  # top bits: 1,0,0,1,0,1,0,1
    codes = np.tile(weights, 4000)
    _, out, _ = protected_read(codes, bits=8, m=1, flip_model=fm, trials=5, seed=3)
    data = pack_planes(weights, bits=8, m=1)[0]
    exact = _exact_rates(code, 0.10, 0.05, data, code.encode(np.array([data], np.uint64)).check[0])
    n = out.size
    mc = np.bincount(out.reshape(-1), minlength=len(OUTCOMES)) / n
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(mc - exact) <= 5 * se + 1e-12), (mc, exact)
    assert exact[OUTCOMES.index("miscorrected")] > 0.02 and exact[OUTCOMES.index("detected")] > 0.15


def test_protected_read_reads_decoder_output():
    """Per word: corrected -> clean data; detected -> the raw corrupted planes; low bits always raw."""
    fm = FlipModel.symmetric(0.05)
    codes = quantize(np.random.default_rng(1).normal(size=4096), bits=8).codes
    read, out, status = protected_read(codes, bits=8, m=4, flip_model=fm, trials=3, seed=5, key="L")
    raw = flip_bits(codes, bits=8, flip_model=fm, trials=3, seed=5, key="inject/L")  # the same data draws
    low = np.uint8(0x0F)
    assert np.array_equal(read & low, raw & low)
    top_read = pack_planes(read.reshape(3, -1), bits=8, m=4)
    top_clean = pack_planes(codes, bits=8, m=4)
    top_raw = pack_planes(raw.reshape(3, -1), bits=8, m=4)
    corr = out == OUTCOMES.index("corrected")
    det = out == OUTCOMES.index("detected")
    assert corr.any() and det.any()
    assert np.array_equal(top_read[corr], np.broadcast_to(top_clean, top_read.shape)[corr])
    assert np.array_equal(top_read[det], top_raw[det])


def test_batching_invariance():
    fm = FlipModel.symmetric(0.02)
    codes = np.random.default_rng(2).integers(0, 256, 800, dtype=np.uint8)
    batch, out_b, _ = protected_read(codes, bits=8, m=2, flip_model=fm, trials=4, seed=9, trial_offset=10)
    for i in range(4):
        one, out_1, _ = protected_read(codes, bits=8, m=2, flip_model=fm, trials=1, seed=9, trial_offset=10 + i)
        assert np.array_equal(batch[i], one[0]) and np.array_equal(out_b[i], out_1[0])


def test_small_sec_codes_and_check_flips():
    """SEC over 2 data bits (r = 3 < 4 check bits ride in a 4-bit field whose top bit never flips)."""
    codes = np.random.default_rng(4).integers(0, 256, 400, dtype=np.uint8)
    read, out, _ = protected_read(codes, bits=8, m=2, group=1, code="sec", flip_model=FlipModel.symmetric(0.3),
                                  trials=2, seed=1)
    assert make_code("sec", 2).r == 3 and read.shape == (2, 400)
    counts = outcome_counts(out)
    assert counts["corrected"] > 0 and counts["miscorrected"] > 0


def test_ecc_sampler_counts_and_dequantize():
    from qtaml_hw.nn.quantized import LayerInfo

    qt = quantize(np.random.default_rng(3).normal(size=(16, 8)), bits=8)
    layer = LayerInfo("fc", (16, 8), 128, qt.scale, float(np.abs(qt.dequantize()).max()), qt)
    s = ECCSampler(FlipModel.symmetric(0.1), {"fc": 8})
    w = s(layer, 6, 0, 0)
    assert w.shape == (6, 16, 8) and w.dtype == np.float32
    rates = s.outcome_rates()
    assert rates["codewords"] == 6 * 16
    # 72 bits at p = 0.1: P(<= 1 flip) = 0.9^72 + 72 * 0.1 * 0.9^71 ~ 0.5%: almost every word fails
    assert rates["clean"] + rates["corrected"] < 0.1 and rates["detected"] + rates["miscorrected"] > 0.9
    plain = ECCSampler(FlipModel.symmetric(0.1), {"fc": 0})
    assert np.array_equal(plain(layer, 2, 0, 0), qt.dequantize(flip_bits(qt.codes, bits=8,
                          flip_model=FlipModel.symmetric(0.1), trials=2, seed=0, key="inject/fc")))
    seen = []
    hooked = ECCSampler(FlipModel.symmetric(0.01), {"fc": 2}, erasure="raw", dequantize=lambda q, c, m: seen.append(m) or
                        q.dequantize(c) * 0)
    assert np.all(hooked(layer, 1, 0, 0) == 0) and seen == [2]


def test_ideal_msb_model():
    ideal = IdealMSB(3)
    assert ideal.check_bits_per_weight == pytest.approx(6 / 8)  # SECDED(24): r = 6
    assert ideal.overhead == pytest.approx(6 / 64)
    codes = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)
    f = ideal.flip(codes, flip_model=FlipModel.symmetric(0.5), trials=2, seed=1)
    assert np.array_equal(f >> 5, np.broadcast_to(codes >> 5, f.shape))
    assert np.any((f & 0x1F) != (codes & 0x1F))
    anything = flip_bits(codes, bits=8, flip_model=FlipModel.symmetric(0.5), trials=1, seed=2)
    assert np.array_equal(ideal.restore(codes, anything) >> 5, (codes >> 5)[None])
    with pytest.raises(QtamlError):
        IdealMSB(9)


def test_plan_overhead_accounting():
    # layers of 80 and 13 weights, m = 2 and 8: words 10 * r(16)=6 plus 2 * r(64)=8 over 93 * 8 data bits
    assert plan_overhead([2, 8], [80, 13], 8) == pytest.approx((10 * 6 + 2 * 8) / (93 * 8))
    assert plan_overhead([0, 0], [80, 13], 8) == 0.0
    assert plan_overhead([8], [64], 8, code="sec") == pytest.approx(7 / 64)
    st = sram_storage(code="secded", data_bits=64, words=1024, word_bits=64)
    assert st["check_storage_bits"] == 8192 and st["storage_overhead"] == 0.125
    with pytest.raises(QtamlError):
        sram_storage(code="secded", data_bits=72, words=4, word_bits=64)
    with pytest.raises(QtamlError):
        plan_overhead([1], [1, 2], 8)


@settings(max_examples=80, deadline=None)
@given(st.integers(4, 16), st.data())
def test_pack_unpack_property(bits, data):
    """unpack(c, pack(c')) takes exactly the top m bits of c' and the low bits of c, for any B, m, group."""
    m = data.draw(st.integers(1, bits))
    group = data.draw(st.integers(1, 64 // m))
    words = data.draw(st.integers(1, 4))
    dt = np.uint8 if bits <= 8 else np.uint16
    gen = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a = gen.integers(0, 1 << bits, words * group).astype(dt)
    b = gen.integers(0, 1 << bits, words * group).astype(dt)
    planes = pack_planes(b, bits=bits, m=m, group=group)
    assert planes.shape == (words,)
    if group * m < 64:
        assert np.all(planes >> np.uint64(group * m) == 0)
    mixed = unpack_planes(a, planes, bits=bits, m=m, group=group)
    low = (1 << (bits - m)) - 1
    assert mixed.dtype == dt
    assert np.array_equal(mixed & low, a & low) and np.array_equal(mixed >> (bits - m), b >> (bits - m))
