"""pytest glue for cocotb testbenches: every launcher runs on Verilator and on Icarus."""

from __future__ import annotations

import pytest

from qtaml_hw.hdl.simulators import SIMULATORS, check_simulator
from qtaml_hw.errors import QtamlError


@pytest.fixture(params=SIMULATORS)
def simulator(request):
    """The simulator name; a missing simulator fails (make setup installs both)."""
    name = request.param
    try:
        check_simulator(name)
    except QtamlError as exc:
        pytest.fail(str(exc))
    return name
