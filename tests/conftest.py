"""Shared pytest fixtures for the Python layers."""

from __future__ import annotations

import pytest

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
