"""Reuse-factor software fault model vs the register-level schedule model (design.md section 6).

``reuse.fault_effect`` computes faulty outputs analytically (delta propagation over the
reuse structure); ``schedule.reference_output`` re-runs the GEMM pass by pass with the
faulty operand where the schedule puts it.  They are independent derivations from the same
timing table, checked here exhaustively over every site and cycle on small tiles (the RTL
check of both is ``testbenches/crossval``).
"""

from __future__ import annotations

import numpy as np
import pytest

from qtaml_hw.fidelity.golden import gemm_int8_int32
from qtaml_hw.fidelity.reuse import (CLASS_WIDTH, FaultEffect, enumerate_masking, fault_effect, faulty_output,
                                  live_cycles, sites, structural_masking)
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, Fault, GemmSchedule, reference_output
from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng


def _tile(seed, n, rows, passes, *, zeros=True):
    gen = rng(seed, "test_reuse", n, rows, passes)
    a = gen.integers(-128, 128, (rows, passes * n)).astype(np.int8)
    w = gen.integers(-128, 128, (passes * n, n)).astype(np.int8)
    if zeros:  # data masking: a zero activation and a zero weight
        a[0, 1] = 0
        w[2, n - 1] = 0
    pre = gen.integers(-(2**31), 2**31, (rows, n)).astype(np.int32)
    pre[0, 0] = 2**31 - 3  # near the wrap
    return a, w, pre


@pytest.mark.parametrize("n,rows,passes", [(4, 2, 2), (4, 3, 1),
                                            pytest.param(8, 2, 1, marks=pytest.mark.integration)])  # ~5 s
def test_exhaustive_sites_and_cycles_match_reference(n, rows, passes):
    """Every site x every cycle x several bits (and one random multi-bit mask) of every class."""
    a, w, pre = _tile(0, n, rows, passes)
    s = GemmSchedule(n=n, rows=rows, passes=passes)
    clean = gemm_int8_int32(a, w, preload=pre)
    gen = rng(1, "test_reuse", "masks")
    checked = visible = 0
    for cls in FAULT_CLASSES:
        width = CLASS_WIDTH[cls]
        bits = sorted({0, 3, width // 2, width - 1})
        for r, c in sites(cls, n=n, sram_words=s.passes * s.load_words + 2):  # + words the run never reads
            for t in range(s.total_cycles):
                masks = [1 << b for b in bits] + [int(gen.integers(1, 1 << min(width, 62)))]
                for mask in masks:
                    fault = Fault(cls, r, c, t, mask)
                    expect = reference_output(a, w, n=n, preload=pre, fault=fault)
                    eff = fault_effect(fault, a, w, n=n, preload=pre)
                    assert np.array_equal(eff.apply(clean), expect), f"{fault}"
                    assert eff.masked == np.array_equal(expect, clean), f"{fault}"
                    assert len(eff.rows) <= eff.reuse_factor
                    checked += 1
                    visible += not eff.masked
    assert visible > checked // 10


def test_reuse_factors_and_order():
    n, rows, passes = 4, 3, 2
    a, w, pre = _tile(2, n, rows, passes, zeros=False)
    s = GemmSchedule(n=n, rows=rows, passes=passes)
    # act: spatial reuse east of the PE, one output per column c..N-1, in column order
    eff = fault_effect(Fault("act", 1, 1, s.act_cycle(1, 2, 1, 1) - 1, 1 << 6), a, w, n=n, preload=pre)
    assert eff.reuse_factor == n - 1 and eff.rows.tolist() == [2] * 3 and eff.cols.tolist() == [1, 2, 3]
    assert eff.cycles.tolist() == [s.out_cycle(1, 2, c) for c in (1, 2, 3)]
    # weight flipped before its first use: temporal reuse over all M rows
    t_load = s.weight_write_cycle(0, s.word_of(3, 2))
    eff = fault_effect(Fault("weight", 3, 2, t_load, 1 << 7), a, w, n=n, preload=pre)
    assert eff.reuse_factor == rows and eff.rows.tolist() == [0, 1, 2] and set(eff.cols.tolist()) == {2}
    # ... and after row 0 used it: rows 1, 2 only
    eff = fault_effect(Fault("weight", 3, 2, s.act_cycle(0, 0, 3, 2), 1), a, w, n=n, preload=pre)
    assert eff.rows.tolist() == [1, 2]
    # psum: one output, value = clean + ((v xor m) - v)
    eff = fault_effect(Fault("psum", 0, 0, s.psum_cycle(0, 0, 0, 0) - 1, 1 << 31), a, w, n=n, preload=pre)
    assert eff.reuse_factor == 1 and eff.rows.tolist() == [0] and eff.cols.tolist() == [0]
    # sram word 1 = W[2..3][0..3]; byte 1 is W[2][1]: reaches M rows x 4 columns, corrupts column 1
    eff = fault_effect(Fault("sram", 1, 0, 0, 1 << 8), a, w, n=n, preload=pre)
    assert eff.reuse_factor == rows * n and eff.cols.tolist() == [1] * rows and eff.rows.tolist() == [0, 1, 2]


def test_data_masking_and_not_live():
    n, rows, passes = 4, 2, 1
    a, w, _ = _tile(3, n, rows, passes, zeros=False)
    s = GemmSchedule(n=n, rows=rows, passes=passes)
    a[:, 2] = 0  # k = 2 never contributes: a weight flip in PE row 2 is masked by the data
    eff = fault_effect(Fault("weight", 2, 1, 0 + s.weight_write_cycle(0, s.word_of(2, 1)), 1 << 4), a, w, n=n)
    assert eff.masked and eff.reuse_factor == rows and eff.live
    eff = fault_effect(Fault("psum", 0, 0, 0, 1), a, w, n=n)  # lane idle during the weight load
    assert eff.masked and not eff.live
    # SRAM word already read when flipped: masked in this run
    eff = fault_effect(Fault("sram", 0, 0, 0, 1), a, w, n=n)
    assert eff.masked and not eff.live
    assert np.array_equal(faulty_output(Fault("sram", 0, 0, 0, 1), a, w, n=n), gemm_int8_int32(a, w))


@pytest.mark.parametrize("n,rows,passes", [(4, 2, 2), pytest.param(4, 4, 3, marks=pytest.mark.integration),
                                            pytest.param(8, 3, 1, marks=pytest.mark.integration)])  # 2-3 s each
def test_structural_masking_closed_form_equals_enumeration(n, rows, passes):
    a, w, pre = _tile(4, n, rows, passes, zeros=False)
    s = GemmSchedule(n=n, rows=rows, passes=passes)
    depth = s.passes * s.load_words + 2
    for cls in FAULT_CLASSES:
        if cls == "psum" and n == 8:
            continue  # same closed form as act/out; keeps the test short
        e = enumerate_masking(cls, a, w, n=n, preload=pre, sram_words=depth)
        closed = structural_masking(cls, n=n, rows=rows, passes=passes, sram_words=depth)
        assert e["structural"] == pytest.approx(closed, abs=1e-12), cls
        assert e["data"] >= e["structural"]
        live = live_cycles(cls, n=n, rows=rows, passes=passes)
        n_sites = len(sites(cls, n=n, sram_words=depth))
        assert 1 - sum(live.values()) / (n_sites * s.total_cycles) == pytest.approx(closed, abs=1e-12)


def test_data_masking_enumeration_counts_zero_operands():
    n, rows, passes = 4, 2, 1
    a, w, _ = _tile(5, n, rows, passes, zeros=False)
    a[:, :] = 0  # every weight/sram flip multiplies a zero activation
    for cls in ("weight", "sram"):
        e = enumerate_masking(cls, a, w, n=n)
        assert e["data"] == 1.0 and e["structural"] < 1.0


def test_bad_inputs():
    a, w, _ = _tile(6, 4, 2, 1)
    with pytest.raises(QtamlError):
        fault_effect(Fault("psum", 4, 0, 3, 1), a, w, n=4)
    with pytest.raises(QtamlError):
        fault_effect(Fault("act", 0, 0, 3, 1), a, w[:3], n=4)
    with pytest.raises(QtamlError):
        fault_effect(Fault("act", 0, 0, 3, 1), a, w, n=4, preload=np.zeros((3, 4), np.int32))
    with pytest.raises(QtamlError):
        structural_masking("bogus", n=4, rows=2, passes=1)
    with pytest.raises(QtamlError):
        structural_masking("sram", n=4, rows=2, passes=2, sram_words=1)
    assert isinstance(fault_effect(Fault("out", 0, 0, 0, 1), a, w, n=4), FaultEffect)


# ------------------------------------------------------------------ dataflow graph
@pytest.mark.parametrize("n,rows,passes", [(4, 2, 2), (4, 3, 1), (8, 2, 1)])
def test_dataflow_graph_reach_equals_reuse_model(n, rows, passes):
    """Outputs reached in the time-expanded dataflow graph == outputs the analytic model corrupts.

    Positive operands below 64 and masks setting bit 6 rule out data masking and cancellation,
    so every reached output must change; the SRAM mask sets bit 6 of all 8 weights of a word.
    """
    from qtaml_hw.fidelity.dataflow import build_graph, class_node, reachable_outputs

    gen = rng(7, "test_reuse", "graph")
    a = gen.integers(1, 64, (rows, passes * n)).astype(np.int8)
    w = gen.integers(1, 64, (passes * n, n)).astype(np.int8)
    s = GemmSchedule(n=n, rows=rows, passes=passes)
    depth = s.passes * s.load_words + 1
    g = build_graph(s, sram_words=depth)
    masks = {"weight": 1 << 6, "act": 1 << 6, "psum": 1 << 6, "out": 1 << 6, "sram": 0x4040404040404040}
    for cls in FAULT_CLASSES:
        for r, c in sites(cls, n=n, sram_words=depth):
            node = class_node(cls, r, c)
            for t in range(s.total_cycles):
                reach = reachable_outputs(g, node, t)
                eff = fault_effect(Fault(cls, r, c, t, masks[cls]), a, w, n=n)
                assert reach == set(zip(eff.rows.tolist(), eff.cols.tolist())), (cls, r, c, t)
                assert len(reach) == eff.reuse_factor


def test_dataflow_graph_structure_and_masking():
    from qtaml_hw.fidelity.dataflow import build_graph, graph_masking, reachable_outputs, reuse_profile
    from qtaml_hw.fidelity.sites import enumerate_sites

    s = GemmSchedule(n=4, rows=4, passes=2)
    g = build_graph(s, sram_words=8)
    # every register node names an RTL register the pyverilog enumeration found
    paths = {p for site in enumerate_sites(n=4, row_bits=2, pass_bits=2) for p in site.paths}
    for node, attr in g.nodes(data=True):
        assert attr["rtl"].split("[")[0] in paths or attr["rtl"] in paths, node
    assert g.edges[("a", 1, 1), ("a", 1, 2)]["kind"] == "east"
    assert g.edges[("p", 3, 2), ("o", 2)]["kind"] == "south"
    assert g.edges[("o", 2), ("obuf", 1, 2)]["when"] == {s.out_cycle(0, 1, 2), s.out_cycle(1, 1, 2)}
    from qtaml_hw.fidelity.reuse import reuse_factor_table

    table = reuse_factor_table(n=4, rows=4, passes=2, sram_words=8)
    for cls in FAULT_CLASSES:
        closed = structural_masking(cls, n=4, rows=4, passes=2, sram_words=8)
        assert graph_masking(g, cls) == pytest.approx(closed) == table[cls]["p_masked"]
    assert table["psum"]["max_reuse_factor"] == 1 and table["sram"]["max_reuse_factor"] == 16
    prof = reuse_profile(g, "act")
    assert prof["max_reuse_factor"] == 4 and prof["mean_reuse_factor"].shape == (s.total_cycles,)
    # an activation-buffer byte (no saboteur class): its row of outputs, all columns
    assert reachable_outputs(g, ("abuf", 1, 2, 3), 0) == {(2, c) for c in range(4)}
