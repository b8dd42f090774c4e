"""A `campaign report` killed at any moment leaves the old report or the complete new one (issue 12).

A forked child rewrites the report folder in a loop, alternating between two stores whose
summaries differ; the parent SIGKILLs it at random moments.  After every kill the folder must
equal one of the two complete reports, file for file, and the killed writers' temporaries are
swept by the next report.
"""

from __future__ import annotations

import os
import random
import signal
import time
import warnings
from pathlib import Path

import pytest

from qtaml_hw.campaign import parse_config, run_campaign, write_report


def _store(path: Path, trials: int) -> Path:
    doc = {"campaign": {"kind": "memory", "seed": 3, "trials": trials, "batch_trials": 2},
           "memory": {"shape": [4, 4]}, "faults": {"p_flip": [0.01, 0.1]}}
    run_campaign(parse_config(doc), out=path, workers=0, progress=False)
    return path


def _read(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _fork_writer(stores, rep: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() in a threaded test process
        pid = os.fork()
    if pid == 0:  # child: rewrite the report until killed (or 10 s)
        try:
            end, i = time.monotonic() + 10.0, 0
            while time.monotonic() < end:
                write_report(stores[i % 2], rep, plots=False)
                i += 1
        finally:
            os._exit(0)
    return pid


@pytest.mark.integration
def test_sigkilled_report_is_old_or_complete_new(tmp_path):
    stores = (_store(tmp_path / "a.sqlite", 2), _store(tmp_path / "b.sqlite", 6))
    refs = []
    for i, s in enumerate(stores):
        write_report(s, tmp_path / f"ref{i}", plots=False)
        refs.append(_read(tmp_path / f"ref{i}"))
    assert refs[0] != refs[1] and set(refs[0]) == {"summary.md", "summary.csv", "variance_shares.csv"}
    rep = tmp_path / "rep"
    write_report(stores[0], rep, plots=False)
    rng = random.Random(12)
    seen = set()
    for _ in range(6):
        pid = _fork_writer(stores, rep)
        time.sleep(rng.uniform(0.05, 0.5))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        got = _read(rep)
        assert got in refs, f"half-written report: {sorted(got)}"
        seen.add(refs.index(got))
    write_report(stores[1], rep, plots=False)  # sweeps what the killed writers left beside it
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".rep.")]
    assert _read(rep) == refs[1]
