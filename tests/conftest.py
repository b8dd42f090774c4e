"""Shared pytest fixtures for the Python layers.

Threads: the suite runs on both cores as 2 pytest-xdist workers (``make test``), so each worker
uses ONE math thread (OpenMP/MKL/OpenBLAS, hence torch's intra-op pool): with two threads per
worker on a 2-core machine torch spins on the busy cores and the same forward passes cost ~4x
the CPU. Set before anything imports numpy or torch; an explicit environment value wins.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402  (after the thread settings)

from qtaml_hw.cli import main


@pytest.fixture
def cli(capsys):
    """Run ``qtaml-hw`` in-process: returns (exit status, stdout, stderr)."""

    def run(*argv: str):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse --help / usage errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
