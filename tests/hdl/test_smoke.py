"""The set-up check of the simulators (`make setup` runs qtaml_hw.hdl.smoke)."""

from __future__ import annotations

import pytest

from qtaml_hw.hdl import smoke


def test_unknown_simulator_is_one_line_exit_2(capsys):
    assert smoke.main(["vcs"]) == 2
    err = capsys.readouterr().err
    assert "unknown simulator 'vcs'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.sim
def test_both_simulators_build_and_read_back(capsys):
    """The smoke testbench writes three words and reads them back on each simulator (a failing
    read would make run_cocotb raise and main return 2)."""
    assert smoke.main(["verilator", "icarus"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out] == ["verilator", "icarus"]
    assert all("builds and runs weight_sram" in line for line in out)
