"""Test tiers shared by tests/ and testbenches/.

``@pytest.mark.heavy`` marks a simulator case whose own build or run costs more than ~30 s of
CPU while the same design is checked on the other simulator (or a cheaper configuration) in the
default suite: `make test` (the 4-minute tier, CI) skips it with its reason; `make test-all`
(``QTAML_SIM_ALL=1``) runs every case on both simulators.  A test module may instead name heavy
parameter combinations in ``HEAVY_CASES``: tuples of parameter values, optionally with the test's
name (``("verilator", "n16")``, ``("test_x", "icarus")``), all of which must match.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("QTAML_SIM_ALL"):
        return
    skip = pytest.mark.skip(reason="heavy simulator case (same design checked in the default tier); "
                                   "make test-all runs it")
    for item in items:
        if item.get_closest_marker("heavy") or _heavy_case(item):
            item.add_marker(skip)


def _heavy_case(item) -> bool:
    cases = getattr(getattr(item, "module", None), "HEAVY_CASES", ())
    params = getattr(getattr(item, "callspec", None), "params", None)
    if not cases or not params:
        return False
    values = {str(v) for v in params.values()} | {item.originalname}
    return any(set(case) <= values for case in cases)
