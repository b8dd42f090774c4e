"""Pattern -> tile mapping through the dataflow, cost model, control tiles, program files (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.golden import gemm_int8_int32
from qtaml_hw.selftest.control import control_coverage, control_tiles, independent_matrix
from qtaml_hw.selftest.mapping import Tile, as_signed, map_patterns, pe_operands, stacked_operands
from qtaml_hw.selftest.program import BuildConfig, SelftestProgram, load_program, tile_bytes, tile_cycles


def random_patterns(t: int, seed: int = 0) -> dict:
    g = np.random.default_rng(seed)
    return {"a_q": g.integers(0, 256, t), "w_q": g.integers(0, 256, t), "psum_i": g.integers(0, 2**32, t)}


@pytest.mark.parametrize("n,max_rows", [(4, 4), (8, 8), (8, 4)])
def test_every_pe_sees_every_pattern(n, max_rows):
    pats = random_patterns(7)
    tiles = map_patterns(pats, n=n, max_rows=max_rows)
    assert len(tiles) == 7 * -(-n // max_rows) and all(t.passes == 1 for t in tiles)
    a, w, ps, _ = stacked_operands(tiles)
    want = set(zip(as_signed(pats["a_q"], 8), as_signed(pats["w_q"], 8), as_signed(pats["psum_i"], 32)))
    for r in range(n):
        for c in range(n):
            seen = set(zip(a[0, r, c], w[0, r, c], as_signed(ps[0, r, c], 32)))
            assert want <= seen, (r, c)


def test_pe_operands_follow_the_dataflow_and_golden_model():
    g = np.random.default_rng(3)
    n, m, p = 4, 3, 2
    t = Tile(g.integers(-128, 128, (m, p * n)).astype(np.int8), g.integers(-128, 128, (p * n, n)).astype(np.int8),
             g.integers(-2**31, 2**31, (m, n)).astype(np.int32))
    a, w, ps = pe_operands(t)
    # the bottom PE's output of the last pass is the golden result
    last = (ps[p - 1, n - 1] + a[p - 1, n - 1] * w[p - 1, n - 1]) % 2**32
    assert np.array_equal(as_signed(last, 32).T, t.expected())
    # a hand-written chain for PE(2, 1) in pass 1
    pre1 = gemm_int8_int32(t.a[:, :n], t.w[:n], preload=t.pre).astype(np.int64)
    hand = pre1[:, 1] + t.a[:, n + 0].astype(np.int64) * t.w[n + 0, 1] + t.a[:, n + 1].astype(np.int64) * t.w[n + 1, 1]
    assert np.array_equal(as_signed(ps[1, 2, 1], 32), as_signed(hand, 32))


def test_cost_model_matches_measured_rtl_cycles():
    # 4x4, 4 rows, 1 pass: the cocotb driver measured 186 host cycles for 6 such tiles (docs/selftest.md)
    t = Tile(np.zeros((4, 4), np.int8), np.zeros((4, 4), np.int8), np.zeros((4, 4), np.int32))
    assert tile_cycles(t) == 31 and tile_bytes(t) == 16 + 16 + 128


def test_independent_operands():
    g = np.random.default_rng(0)
    x = independent_matrix(8, 4, g)
    assert np.linalg.matrix_rank(x.astype(float)) == 4
    tiles = control_tiles([(4, 4), (1, 4), (4, 4)], n=4, seed=0)
    assert [(t.rows, t.passes) for t in tiles] == [(1, 4), (4, 4)]
    for t in tiles:
        assert np.linalg.matrix_rank(t.w.astype(float)) == 4  # W (16 x 4): independent columns
        assert np.linalg.matrix_rank(t.a.astype(float)) == t.rows
        assert len(np.unique(t.pre)) == t.pre.size
    with pytest.raises(QtamlError):
        control_tiles([(0, 1)], n=4, seed=0)


def test_control_coverage_definition():
    test_fail = np.array([[1, 0], [0, 0], [1, 1], [0, 0]], bool)
    net_fail = np.array([[1], [0], [0], [1]], bool)
    cov = control_coverage(test_fail, net_fail)
    assert cov["relevant"] == 2 and cov["detected_relevant"] == 1 and cov["control_coverage"] == 0.5
    assert cov["detected_irrelevant"] == 1 and cov["missed"] == [3]


def test_program_write_and_load_roundtrip(tmp_path):
    tiles = map_patterns(random_patterns(3), n=4, max_rows=4)
    ctrl = control_tiles([(4, 4)], n=4, seed=1)
    prog = SelftestProgram(BuildConfig.default(4), tuple(tiles), tuple(ctrl), {}, {}, 0)
    man = prog.write(tmp_path / "p.npz")
    assert man["total"]["tiles"] == 4 and (tmp_path / "p.json").exists()
    assert man["total"]["cycles"] == sum(tile_cycles(t) for t in tiles + ctrl)
    loaded = load_program(tmp_path / "p.npz")
    assert [k for k, _ in loaded] == ["compute"] * 3 + ["control"]
    assert all(np.array_equal(a.a, b.a) for (_, a), b in zip(loaded, tiles + ctrl))
    with pytest.raises(QtamlError):
        prog.write(tmp_path / "p.txt")
