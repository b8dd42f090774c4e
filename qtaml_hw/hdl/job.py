"""The one simulator-job launcher: write job, launch cocotb, capture the log, convert errors.

Every RTL run of qtaml-hw (``rtl-gemm`` tiles, layer runs, cross-validation campaigns,
benchmarks) goes through :func:`run_job` (design.md section 6):

1. the job's arrays go to an ``.npz`` file whose path the cocotb module reads from
   ``QTAML_JOB`` (results to ``QTAML_JOB_OUT``, optional progress "done total seconds" to
   ``QTAML_JOB_PROGRESS``);
2. :func:`qtaml_hw.hdl.simulators.run_cocotb` builds (cached per configuration and
   pytest-xdist worker) and runs the cocotb module;
3. the simulator's stdout/stderr go to a log file under ``sim/build/<simulator>/`` so a
   CLI's stdout stays clean for ``--json``;
4. a failed build or test becomes one :class:`~qtaml_hw.errors.QtamlError` line naming the log.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import write_text
from qtaml_hw.hdl.simulators import BUILD_ROOT, check_simulator, run_cocotb, sim_output_to, worker_suffix


_FAILED = re.compile(r"^(\d+)/(\d+) cocotb tests failed")


@dataclass(frozen=True)
class JobResult:
    """What a job returned: its result arrays, the launch wall time (build + run) and the log path."""

    arrays: dict = field(repr=False)
    wall_s: float
    log_path: Path


def _progress_watch(path: Path, stream, stop: threading.Event, label: str) -> None:
    last = None
    while not stop.wait(2.0):
        try:
            text = path.read_text().split()
        except (OSError, ValueError):
            continue
        if len(text) == 3 and text != last:
            last = text
            done, total, secs = int(text[0]), int(text[1]), float(text[2])
            stream.write(f"{label}: {done}/{total}, {done / max(secs, 1e-9):.0f}/s\n")


def run_job(*, simulator: str, toplevel: str, sources, test_module: str, job: dict, log_name: str,
            parameters: dict | None = None, defines: dict | None = None, env: dict | None = None,
            waves: bool = False,
            progress_label: str | None = None) -> JobResult:
    """Run cocotb module ``test_module`` on ``toplevel`` with ``job`` (name -> array); return its results.

    ``progress_label``: print "label: done/total, rate/s" lines on the real stderr while it runs.
    """
    check_simulator(simulator)
    stem, dot, ext = log_name.rpartition(".")
    log_path = BUILD_ROOT / simulator / (f"{stem}{worker_suffix()}{dot}{ext}" if dot else log_name + worker_suffix())
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path, prog = Path(tmp) / "job.npz", Path(tmp) / "out.npz", Path(tmp) / "progress"
        np.savez(job_path, **job)
        full_env = dict(env or {}) | {"QTAML_JOB": str(job_path), "QTAML_JOB_OUT": str(out_path),
                                       "QTAML_JOB_PROGRESS": str(prog)}
        t0 = time.perf_counter()
        stop = threading.Event()
        with sim_output_to(log_path) as real_err:
            watcher = None
            if progress_label:
                watcher = threading.Thread(target=_progress_watch, args=(prog, real_err, stop, progress_label),
                                           daemon=True)
                watcher.start()
            try:
                run_cocotb(toplevel=toplevel, sources=sources, test_module=test_module, simulator=simulator,
                           parameters=parameters, defines=defines, waves=waves, waves_on_failure=False,
                           extra_env=full_env)
            except (AssertionError, RuntimeError) as exc:
                raise QtamlError(f"{simulator} build/run failed ({str(exc).splitlines()[0][:120]}); "
                                 f"see {log_path}") from None
            finally:
                stop.set()
                if watcher is not None:
                    watcher.join()
        wall = time.perf_counter() - t0
        if not out_path.exists():
            raise QtamlError(f"{simulator} run of {test_module} wrote no results; see {log_path}")
        with np.load(out_path) as res:
            arrays = {k: res[k] for k in res.files}
    return JobResult(arrays=arrays, wall_s=wall, log_path=log_path)


def run_user_test(*, simulator: str, toplevel: str, sources, test_file: Path | None = None,
                  test_module: str | None = None, parameters: dict | None = None, defines: dict | None = None,
                  env: dict | None = None, seed: int | None = None, testcase: str | None = None,
                  log_name: str | None = None) -> dict:
    """Build ``toplevel`` and run the cocotb tests of ``test_file`` (its folder goes on the path) or of
    the importable dotted ``test_module``; counts of tests and failures, wall time, log path."""
    check_simulator(simulator)
    if (test_file is None) == (test_module is None):
        raise QtamlError("run_user_test: give exactly one of test_file and test_module")
    what = test_file.name if test_file is not None else test_module
    log_path = BUILD_ROOT / simulator / (log_name or f"rtl-test-{toplevel}{worker_suffix()}.log")
    t0 = time.perf_counter()
    failed_msg = None
    with sim_output_to(log_path):
        try:
            counts = run_cocotb(toplevel=toplevel, sources=sources, simulator=simulator, parameters=parameters,
                                test_module=test_file.stem if test_file is not None else test_module,
                                test_dir=test_file.parent if test_file is not None else None,
                                defines=defines, extra_env=env, testcase=testcase, seed=seed, waves_on_failure=False)
        except (AssertionError, RuntimeError) as exc:
            failed_msg = str(exc).splitlines()[0] if str(exc) else "failed"
            counts = None
    wall = time.perf_counter() - t0
    if counts is None:
        counts = _FAILED.search(failed_msg or "")
        if counts is None:
            raise QtamlError(f"{simulator} build/run of {what} failed ({failed_msg[:120]}); see {log_path}")
        return {"tests": int(counts.group(2)), "failed": int(counts.group(1)), "wall_s": wall, "log": str(log_path)}
    num_tests, num_failed = counts
    return {"tests": num_tests, "failed": num_failed, "wall_s": wall, "log": str(log_path)}


def report_progress(done: int, total: int, t0: float, last_report: float) -> float:
    """Inside a cocotb module: write "done total seconds" to ``QTAML_JOB_PROGRESS`` at most once a second.

    Returns the time of the last report (pass it back in).
    """
    path = os.environ.get("QTAML_JOB_PROGRESS")
    now = time.perf_counter()
    if not path or (now - last_report <= 1.0 and done != total):
        return last_report
    write_text(path, f"{done} {total} {now - t0:.3f}\n")  # atomic, unique temp name
    return now
