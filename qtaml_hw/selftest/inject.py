"""Stuck-at faults built into the RTL for the simulators (design.md section 9).

:func:`faulty_sources` writes two generated files under ``sim/build/selftest/src_<hash>/``:

* ``st_pe_mac.v``: the PE MAC's gate netlist (:func:`qtaml_hw.selftest.netlist.to_verilog`)
  with the sampled stuck-at faults behind ``fault_sel_i`` (k selects fault k, 1-based);
* ``systolic_pe.v``: ``rtl/systolic_pe.v`` with its one MAC line
  ``wire [W] p_d = <expr>;`` renamed ``p_d_rtl`` and ``p_d`` taken from the gate netlist
  whenever the PE's register ``st_fault_q`` is nonzero (0: the untouched RTL expression).

The testbench writes ``st_fault_q`` of one PE by hierarchical path (both simulators allow
it), so one build serves every sampled fault and PE; a value no fault uses (``0xFFFF``)
runs the fault-free gate netlist.  The faulty gates are evaluated by the simulator, not by
the NumPy fault simulator, so agreement is an independent check of the latter.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.fsio import write_text
from qtaml_hw.hdl.job import run_job
from qtaml_hw.hdl.simulators import BUILD_ROOT, accel_sources, rtl_sources
from qtaml_hw.selftest.mapping import Tile
from qtaml_hw.selftest.netlist import Netlist, to_verilog

MAC_LINE = re.compile(r"wire\s*(\[[^\]]+\])\s*p_d\s*=\s*([^;]+);")
GATE_FAULT_FREE = 0xFFFF
TB_MODULE = "qtaml_hw.selftest.compute_tb"

_PE_PATCH = """wire {width} p_d_rtl = {expr};
  // selftest: nonzero st_fault_q takes p_d from the gate netlist with stuck-at fault st_fault_q
  reg  [15:0] st_fault_q;
  initial st_fault_q = 16'd0;
  wire {width} p_d_gate;
  st_pe_mac u_st_mac (.a_q(a_q), .w_q(w_q), .psum_i(psum_i), .fault_sel_i(st_fault_q), .p_d(p_d_gate));
  wire {width} p_d = (st_fault_q != 16'd0) ? p_d_gate : p_d_rtl;"""


def patched_pe_text() -> str:
    """``rtl/systolic_pe.v`` with the MAC line replaced (module docstring)."""
    (src,) = rtl_sources("systolic_pe")
    text = src.read_text()
    hits = MAC_LINE.findall(text)
    if len(hits) != 1:
        raise QtamlError(f"{src}: expected one 'wire [W] p_d = ...;' line, found {len(hits)} (RTL changed?)")
    return MAC_LINE.sub(lambda m: _PE_PATCH.format(width=m.group(1), expr=m.group(2).strip()), text)


def faulty_sources(nl: Netlist, faults) -> tuple[Path, ...]:
    """Accelerator sources with ``rtl/systolic_pe.v`` replaced by the fault-capable PE."""
    faults = [tuple(int(x) for x in f) for f in faults]
    if len(faults) >= GATE_FAULT_FREE:
        raise QtamlError(f"at most {GATE_FAULT_FREE - 1} faults per build")
    mac = to_verilog(nl, "st_pe_mac", faults=faults)
    pe = patched_pe_text()
    key = hashlib.sha256((mac + pe).encode()).hexdigest()[:12]
    out = BUILD_ROOT / "selftest" / f"src_{key}"
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("st_pe_mac.v", mac), ("systolic_pe.v", pe)):
        path = out / name
        if not path.exists() or path.read_text() != text:
            write_text(path, text)  # unique temp + os.replace: concurrent builds never see half a file
    srcs = [s for s in accel_sources() if s.name != "systolic_pe.v"]
    return tuple(srcs + [out / "systolic_pe.v", out / "st_pe_mac.v"])


def tile_job(tiles: list[Tile]) -> dict:
    job = {"n_tiles": np.array(len(tiles))}
    for i, t in enumerate(tiles):
        job[f"a{i}"], job[f"w{i}"], job[f"pre{i}"] = t.a, t.w, t.pre
    return job


def run_injections(*, simulator: str, nl: Netlist, faults, injections, tiles: list[Tile],
                   row_bits: int, pass_bits: int, control=None) -> dict:
    """Run ``tiles`` on the RTL once per injection; returns ``out`` (K, tiles, M_max, N) and ``cycles``.

    ``injections``: rows (selector, r, c): selector k = ``faults[k-1]`` in PE(r, c), 0 = the
    RTL, :data:`GATE_FAULT_FREE` = the fault-free gate netlist.  ``control``: optional
    (path, bit, stuck) rows of control-register faults (:mod:`qtaml_hw.selftest.control`),
    run after the data injections with the RTL MAC.
    """
    n = tiles[0].n
    cfg = TopConfig(n=n, row_bits=row_bits, pass_bits=pass_bits)
    job = tile_job(tiles)
    job["inj"] = np.asarray(injections, np.int64).reshape(-1, 3)
    if control is not None:
        job["ctrl_paths"] = np.array([c[0] for c in control], dtype="U64").reshape(-1)
        job["ctrl"] = np.array([[c[1], c[2]] for c in control], np.int64).reshape(-1, 2)
    res = run_job(simulator=simulator, toplevel="accel_top", sources=faulty_sources(nl, faults),
                  test_module=TB_MODULE, job=job, log_name=f"selftest_{n}x{n}.log",
                  parameters=cfg.parameters(), env=cfg.env(), progress_label="selftest rtl")
    return res.arrays

