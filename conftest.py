"""Test tiers shared by tests/ and testbenches/.

`make test` (CI) is the fast tier; `make test-all` (``QTAML_TEST_ALL=1``) runs everything. The fast
tier skips, with their reason:

* ``@pytest.mark.heavy``: a simulator case whose own build or run costs more than ~20 s of CPU
  while the same design is checked on the other simulator (or a cheaper configuration) in the
  fast tier.  A test module may instead name heavy parameter combinations in ``HEAVY_CASES``:
  tuples of parameter values, optionally with the test's name (``("verilator", "n16")``,
  ``("test_x", "icarus")``), all of which must match;
* ``@pytest.mark.slow``: end-to-end runs (the whole demo, SIGKILL-and-resume of real CLI
  processes, a network layer's accuracy distribution on the RTL, Yosys synthesis of the whole
  accelerator, the full-state coverage campaign) whose parts are tested in the fast tier.

`make test-fast` is the unit tier: it deselects ``sim`` (needs an HDL simulator or Yosys) and
``integration`` (a whole CLI run, worker processes, SIGKILL-and-resume, every docs example, the
committed checkpoints' accuracy, the largest exhaustive enumerations: seconds each), both of
which `make test` runs.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("QTAML_TEST_ALL"):
        return
    heavy = pytest.mark.skip(reason="heavy simulator case (same design checked in the fast tier); "
                                    "make test-all runs it")
    slow = pytest.mark.skip(reason="slow end-to-end test (its parts are checked in the fast tier); "
                                   "make test-all runs it")
    for item in items:
        if item.get_closest_marker("heavy") or _heavy_case(item):
            item.add_marker(heavy)
        elif item.get_closest_marker("slow"):
            item.add_marker(slow)


def _heavy_case(item) -> bool:
    cases = getattr(getattr(item, "module", None), "HEAVY_CASES", ())
    params = getattr(getattr(item, "callspec", None), "params", None)
    if not cases or not params:
        return False
    values = {str(v) for v in params.values()} | {item.originalname}
    return any(set(case) <= values for case in cases)
