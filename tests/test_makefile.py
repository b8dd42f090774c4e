"""The Makefile keeps its promises: every declared target has a recipe, JOBS reaches pytest-xdist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = (ROOT / "Makefile").read_text()


def _phony() -> list[str]:
    return [t for line in re.findall(r"(?m)^\.PHONY:(.*)$", MAKEFILE) for t in line.split()]


def _recipe(target: str) -> list[str]:
    """The tab-indented lines after ``target:`` (empty if the rule has none)."""
    m = re.search(rf"(?m)^{re.escape(target)}\s*:(?!=)[^\n]*\n((?:\t[^\n]*\n?)*)", MAKEFILE)
    assert m, f"no rule for {target}"
    return [line for line in m.group(1).splitlines() if line.strip()]


@pytest.mark.parametrize("target", _phony())
def test_every_declared_target_has_a_recipe(target):
    assert _recipe(target), f"make {target} is declared .PHONY but has no recipe"


def test_test_targets_use_xdist_jobs_and_fast_skips_simulators_and_whole_runs():
    assert re.search(r"(?m)^PYTEST\s*:?=.*-n \$\(JOBS\)", MAKEFILE)
    assert any("$(PYTEST)" in line for line in _recipe("test"))
    assert not any("-m " in line for line in _recipe("test"))  # make test deselects nothing by marker
    fast = " ".join(_recipe("test-fast"))
    assert "$(PYTEST)" in fast and '-m "not sim and not integration"' in fast


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_dry_run_expands_jobs():
    out = subprocess.run(["make", "-n", "test-fast", "JOBS=3"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "-m pytest -n 3" in out and "not sim" in out
