"""Golden GEMM model, SRAM/buffer layout and the cycle schedule (design.md sections 5, 6).

The schedule is checked against the RTL in testbenches/accel_top (saboteur_matches_schedule);
here its internal consistency and the reference model's algebra are tested.
"""

from __future__ import annotations

import numpy as np
import pytest

from qtaml_hw.fidelity.golden import gemm_int8_int32, wrap_int32
from qtaml_hw.fidelity.layout import (check_tile, pack_int32_row, row_words, unpack_int32_row, weight_words,
                                   weights_from_words)
from qtaml_hw.fidelity.schedule import Fault, GemmSchedule, reference_output
from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng


def test_wrap_int32_two_complement():
    x = np.array([2**31 - 1, 2**31, -(2**31) - 1, 2**32 + 5, -5])
    assert wrap_int32(x).tolist() == [2**31 - 1, -(2**31), 2**31 - 1, 5, -5]


def test_gemm_extremes_and_overflow():
    a = np.full((2, 64), -128, np.int8)
    w = np.full((64, 3), -128, np.int8)
    assert np.all(gemm_int8_int32(a, w) == 64 * 16384)
    pre = np.full((2, 3), 2**31 - 1, np.int32)
    out = gemm_int8_int32(a, w, preload=pre)
    assert np.all(out == (2**31 - 1 + 64 * 16384) - 2**32)
    # wrap once at the end == wrap after every addition
    gen = rng(0, "golden")
    a = gen.integers(-128, 128, (5, 40)).astype(np.int8)
    w = gen.integers(-128, 128, (40, 4)).astype(np.int8)
    pre = gen.integers(-(2**31), 2**31, (5, 4)).astype(np.int32)
    acc = pre.astype(np.int64)
    for kk in range(40):
        acc = wrap_int32(acc + np.outer(a[:, kk].astype(np.int64), w[kk].astype(np.int64))).astype(np.int64)
    assert np.array_equal(acc.astype(np.int32), gemm_int8_int32(a, w, preload=pre))


def test_gemm_rejects_bad_inputs():
    with pytest.raises(QtamlError):
        gemm_int8_int32(np.zeros((2, 3), np.int8), np.zeros((4, 2), np.int8))
    with pytest.raises(QtamlError):
        gemm_int8_int32(np.full((1, 1), 300), np.zeros((1, 1), np.int8))


def test_layout_roundtrips():
    gen = rng(1, "layout")
    w = gen.integers(-128, 128, (32, 16)).astype(np.int8)
    words = weight_words(w, n=16)
    assert words.dtype == np.uint64 and len(words) == 32 * 16 // 8
    assert np.array_equal(weights_from_words(words, n=16), w)
    # word 0 holds W[0][0..7], weight g in bits [8g, 8g+8)
    assert int(words[0]) & 0xFF == int(np.uint8(w[0, 0].view(np.uint8)))
    assert (int(words[0]) >> 56) & 0xFF == int(w[0, 7].view(np.uint8))
    vals = np.array([-(2**31), -1, 0, 2**31 - 1], np.int32)
    assert np.array_equal(unpack_int32_row(pack_int32_row(vals), n=4), vals)
    rw = row_words(np.array([[1, -1, 2, 3, 4, 5, 6, 7]], np.int8), n=4, max_rows=4)
    assert rw == {0: 0x0302FF01, 4: 0x07060504}
    with pytest.raises(QtamlError):
        check_tile(n=4, rows=2, k=6, max_rows=4, max_passes=4)
    with pytest.raises(QtamlError):
        check_tile(n=5, rows=2, k=5, max_rows=4, max_passes=4)


def test_schedule_timing_is_consistent():
    s = GemmSchedule(n=4, rows=3, passes=2)
    assert s.load_words == 2 and s.pass_cycles == 2 + 1 + 3 + 8 and s.total_cycles == 28
    for p in range(2):
        for m in range(3):
            for r in range(4):
                for c in range(4):
                    t = s.act_cycle(p, m, r, c)
                    assert s.act_reg(r, c, t) == (p, m)
                    assert s.psum_reg(r, c, t + 1) == (p, m)
                    # the weight used in that cycle belongs to the same pass
                    assert s.weight_reg(r, c, t) == p
            for c in range(4):
                assert s.out_reg(c, s.out_cycle(p, m, c)) == (p, m)
                # output written before the next pass reads it as its north partial sum
                if p + 1 < 2:
                    assert s.out_cycle(p, m, c) < s.north_read_cycle(p + 1, m, c)
    assert s.act_reg(0, 0, 0) is None and s.weight_reg(0, 0, 0) is None
    assert s.weight_reg(0, 0, 2) == 0 and s.weight_reg(3, 3, 3) == 0 and s.weight_reg(3, 3, 2) is None


def test_reference_output_fault_algebra():
    gen = rng(2, "sched")
    a = gen.integers(-128, 128, (4, 8)).astype(np.int8)
    w = gen.integers(-128, 128, (8, 4)).astype(np.int8)
    s = GemmSchedule(n=4, rows=4, passes=2)
    clean = gemm_int8_int32(a, w)
    assert np.array_equal(reference_output(a, w, n=4), clean)
    # output register flip of row 1, col 2 in pass 1 flips exactly that output bit
    t = s.out_cycle(1, 1, 2) - 1
    out = reference_output(a, w, n=4, fault=Fault("out", 0, 2, t, 1 << 31))
    diff = (out.view(np.uint32) ^ clean.view(np.uint32))
    assert diff[1, 2] == 1 << 31 and np.count_nonzero(diff) == 1
    # weight flip held through all uses of pass 0 changes column c of every row by A*dW
    r, c = 1, 3
    t = s.weight_write_cycle(0, s.word_of(r, c))
    out = reference_output(a, w, n=4, fault=Fault("weight", r, c, t, 1 << 6))
    dw = int(np.int8(np.uint8(w[r, c].view(np.uint8) ^ 64).view(np.int8))) - int(w[r, c])
    assert np.array_equal(out[:, c].astype(np.int64) - clean[:, c], a[:, r].astype(np.int64) * dw)
    # activation flip propagates east only: columns >= c change, columns < c do not
    t = s.act_cycle(0, 2, 1, 2) - 1
    out = reference_output(a, w, n=4, fault=Fault("act", 1, 2, t, 1))
    assert np.array_equal(out[:, :2], clean[:, :2]) and np.array_equal(out[[0, 1, 3]], clean[[0, 1, 3]])
    # flips in idle cycles (load phase) of act/psum registers are masked
    assert np.array_equal(reference_output(a, w, n=4, fault=Fault("psum", 0, 0, 0, 5)), clean)
    # SRAM flip after the word was read is masked; before, it behaves like the weight flip
    assert np.array_equal(reference_output(a, w, n=4, fault=Fault("sram", 0, 0, s.sram_read_cycle(0, 0), 1)), clean)
    out = reference_output(a, w, n=4, fault=Fault("sram", 1, 0, 0, 1 << 6))  # word 1 read in cycle 1
    assert not np.array_equal(out, clean)
    with pytest.raises(QtamlError):
        Fault("flipflop", 0, 0, 0, 1)
