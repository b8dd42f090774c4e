"""Standalone simulator builds (no cocotb): a Verilog testbench top that runs by itself.

docs/design.md section 6 (fast campaigns).  :func:`build_standalone` compiles a testbench
top with its sources once per (simulator, sources, top, parameters) into
``sim/build/<sim>/standalone_<top>_<hash>`` (``verilator --binary --timing`` or ``iverilog
-g2012``); :func:`run_standalone` runs one copy in a working directory (its job files are
read and results written there by the testbench), :func:`run_parallel` one process per
shard directory, up to ``procs`` at a time.  A failed build or run is one QtamlError line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qtaml_hw.errors import QtamlError
from qtaml_hw.hdl.simulators import BUILD_ROOT, build_lock, check_simulator, verilator_make_vars


def _key(simulator: str, top: str, sources, parameters: dict) -> str:
    text = json.dumps([simulator, top, [str(s) for s in sources], sorted(parameters.items())], default=str)
    text += "".join(Path(s).read_text() for s in sources)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _tail(proc: subprocess.CompletedProcess) -> str:
    lines = (proc.stderr or proc.stdout or "").strip().splitlines()
    err = [x for x in lines if "rror" in x]
    return (err or lines or ["no output"])[0][:200]


def build_standalone(*, simulator: str, top: str, sources, parameters: dict | None = None) -> list[str]:
    """Command (argv) that runs the built testbench; builds it unless cached."""
    check_simulator(simulator)
    params = dict(parameters or {})
    out = BUILD_ROOT / simulator / f"standalone_{top}_{_key(simulator, top, sources, params)}"
    exe = out / ("Vtop" if simulator == "verilator" else "sim.vvp")
    with build_lock(out):  # shared by every process: the first builds, the others wait and reuse
        if not exe.exists():
            _build(simulator, top, sources, params, out, exe)
    return [str(exe)] if simulator == "verilator" else [shutil.which("vvp"), str(exe)]


def _build(simulator: str, top: str, sources, params: dict, out: Path, exe: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if simulator == "verilator":
        cmd = ["verilator", "--binary", "--timing", "-O2", "-Wno-fatal", "-Wno-lint", "-Wno-style",
               "--x-assign", "fast", "--x-initial", "fast", "--top-module", top, "--prefix", "Vtop",
               "-CFLAGS", "-fcoroutines", "-Mdir", str(out), "-o", "Vtop", "-j", str(os.cpu_count() or 1)]
        cmd += [f"-G{k}={v}" for k, v in params.items()] + [str(s) for s in sources]
        env = dict(os.environ)
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " " + verilator_make_vars()).strip()
    else:
        cmd = [shutil.which("iverilog"), "-g2012", "-s", top, "-o", str(exe)]
        cmd += [f"-P{top}.{k}={v}" for k, v in params.items()] + [str(s) for s in sources]
        env = None
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env, cwd=out)
    if proc.returncode != 0 or not exe.exists():
        exe.unlink(missing_ok=True)  # never leave a half-written executable for the next caller to reuse
        (out / "build.log").write_text(proc.stdout + proc.stderr)
        raise QtamlError(f"{simulator} standalone build of {top} failed: {_tail(proc)}; see {out / 'build.log'}")


def run_standalone(argv: list[str], workdir: Path, *, timeout_s: float = 3600) -> None:
    """Run the testbench in ``workdir`` (it reads its job files there); output to ``workdir/sim.log``."""
    with open(Path(workdir) / "sim.log", "w") as log:
        proc = subprocess.run(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s)
    if proc.returncode != 0:
        raise QtamlError(f"standalone simulation failed (exit {proc.returncode}); see {Path(workdir) / 'sim.log'}")


def run_parallel(argv: list[str], workdirs, *, procs: int) -> None:
    """One simulator process per working directory, at most ``procs`` at a time."""
    with ThreadPoolExecutor(max_workers=max(1, procs)) as pool:
        for fut in [pool.submit(run_standalone, argv, Path(w)) for w in workdirs]:
            fut.result()
