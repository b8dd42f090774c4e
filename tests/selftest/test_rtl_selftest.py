"""The PE's Yosys netlist, the fault simulator against the simulators, control faults on the RTL.

Needs Yosys (netlist) and Icarus/Verilator: marked ``sim``.  The RTL tests use the same
fault sample as ``qtaml-hw selftest coverage --array 4`` (seed 0, 16 faults), so the CLI and
the tests share one build per simulator.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.hdl.simulators import available_simulators
from qtaml_hw.selftest.control import ControlFault, control_tiles, tile_failures
from qtaml_hw.selftest.evaluate import rtl_agreement, sample_faults
from qtaml_hw.selftest.faultsim import detect_matrix, faulty_outputs, pack
from qtaml_hw.selftest.inject import run_injections
from qtaml_hw.selftest.mapping import Tile, predicted_outputs
from qtaml_hw.selftest.program import BuildConfig, build_program, pe_faults

pytestmark = pytest.mark.sim
BUILD = BuildConfig.default(4)
# the faulty netlist's Verilator build costs ~70 s of CPU; Icarus runs the same check in the default tier
HEAVY_CASES = {("verilator",)}


@functools.lru_cache(maxsize=1)
def setup():
    nl, fl = pe_faults()
    prog, ts = build_program(BUILD, seed=0, control_configs=[(4, 4), (1, 4)], nl=nl)
    return nl, fl, prog, ts


def sims():
    have = available_simulators()
    return [pytest.param(s, marks=pytest.mark.skipif(s not in have, reason=f"{s} not installed"))
            for s in ("icarus", "verilator")]


def test_mac_netlist_is_the_rtl_arithmetic():
    nl, fl, _, ts = setup()
    g = np.random.default_rng(5)
    a, w, s = g.integers(-128, 128, 300), g.integers(-128, 128, 300), g.integers(-2**31, 2**31, 300)
    planes = {"a_q": pack(a, 8), "w_q": pack(w, 8), "psum_i": pack(s, 32)}
    out = faulty_outputs(nl, [], planes, n_patterns=300, signed=True)[0]
    assert np.array_equal(out, wrap_int32(s + a * w))
    assert fl.total == 2 * (fl.total // 2) and len(fl.collapsed) < fl.total
    counts = ts.counts()
    assert counts["redundant"] >= 1 and counts["aborted"] == 0
    assert counts["detected"] == counts["faults"] - counts["redundant"]
    assert counts["patterns"] <= counts["patterns_before_compaction"]


def test_error_carry_over_passes_matches_a_direct_dataflow_loop():
    nl, fl, _, ts = setup()
    g = np.random.default_rng(9)
    n, m, passes = 4, 3, 3
    tile = Tile(g.integers(-128, 128, (m, passes * n)).astype(np.int8),
                g.integers(-128, 128, (passes * n, n)).astype(np.int8), g.integers(-9, 9, (m, n)).astype(np.int32))
    det_any = detect_matrix(nl, fl.tuples(ts.faults), {"a_q": [3], "w_q": [7], "psum_i": [0]})[:, 0]
    fault = fl.tuples(ts.faults[np.flatnonzero(det_any)[:1]])[0]
    r0, c0 = 2, 1

    def mac(a, w, s, faulty):
        if not faulty:
            return (s + a * w) % 2**32
        pl = {"a_q": pack([a], 8), "w_q": pack([w], 8), "psum_i": pack([s], 32)}
        return int(faulty_outputs(nl, [fault], pl, n_patterns=1)[0, 0])

    obuf = tile.pre.astype(np.int64) % 2**32
    for p in range(passes):
        for row in range(m):
            for c in range(n):
                s = int(obuf[row, c])
                for r in range(n):
                    s = mac(int(tile.a[row, p * n + r]), int(tile.w[p * n + r, c]), s, (r, c) == (r0, c0))
                obuf[row, c] = s
    (pred,) = predicted_outputs(nl, fault, (r0, c0), [tile])
    assert np.array_equal(pred, wrap_int32(obuf))


@pytest.mark.parametrize("simulator", sims())
def test_injected_faults_on_rtl_behave_as_fault_simulation_predicts(simulator):
    nl, fl, prog, ts = setup()
    faults, pes, n_red = sample_faults(fl=fl, ts=ts, n=4, sample=16, seed=0)
    tiles = list(prog.compute[:8])
    res = rtl_agreement(simulator=simulator, nl=nl, faults=faults, pes=pes, n_redundant=n_red, tiles=tiles,
                        build=BUILD)
    assert res["fault_free_ok"]
    assert res["outputs_bit_exact"] == res["injected"] == 16 + n_red
    assert res["detection_agrees"] == res["injected"]
    assert res["detected_rtl"] >= 8  # patterns the fault simulator says detect do detect on the RTL
    assert res["host_cycles_measured"] == res["host_cycles_model"]


@pytest.mark.parametrize("simulator", sims())
def test_control_register_faults_on_rtl(simulator):
    nl, fl, _, ts = setup()
    faults, _, _ = sample_faults(fl=fl, ts=ts, n=4, sample=16, seed=0)
    tiles = control_tiles([(4, 4)], n=4, seed=0)
    ctrl = [ControlFault("u_ctrl.pass_q", 0, 1), ControlFault("u_ctrl.cyc_q", 3, 1),
            ControlFault("rows_q", 2, 0), ControlFault("u_ctrl.busy_q", 0, 0)]
    res = run_injections(simulator=simulator, nl=nl, faults=faults, injections=[(0, 0, 0)], tiles=tiles,
                         row_bits=BUILD.row_bits, pass_bits=BUILD.pass_bits, control=[c.row() for c in ctrl])
    fail = tile_failures(res["out"], res["status"], tiles)[:, 0]
    assert list(fail) == [False, True, False, True, True]  # fault-free, pass, cycle counter, rows, busy
    assert res["status"][4, 0] == 1  # busy stuck at 0: the run never ends (hang)
