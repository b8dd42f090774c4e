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


def test_a_failing_read_back_is_one_line_exit_2(monkeypatch, capsys):
    """smoke's own branch: the launcher ran, but a test failed (the launcher's counting of a real
    failing testbench is the next test)."""
    monkeypatch.setattr(smoke, "run_user_test",
                        lambda **kw: {"tests": 1, "failed": 1, "wall_s": 0.1, "log": "build/sim/icarus/smoke.log"})
    assert smoke.main(["icarus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["setup: icarus: smoke test failed (1 of 1 tests); see build/sim/icarus/smoke.log"]


def test_launcher_takes_exactly_one_of_file_and_module(tmp_path):
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.hdl.job import run_user_test

    with pytest.raises(QtamlError, match="exactly one of test_file and test_module"):
        run_user_test(simulator="icarus", toplevel="weight_sram", sources=[], test_file=tmp_path / "t.py",
                      test_module="x.y")
    with pytest.raises(QtamlError, match="exactly one"):
        run_user_test(simulator="icarus", toplevel="weight_sram", sources=[])


FAILING_TB = """
import cocotb
from cocotb.triggers import Timer


@cocotb.test()
async def passes(dut):
    await Timer(1, "ns")


@cocotb.test()
async def fails_on_purpose(dut):
    await Timer(1, "ns")
    assert False, "on purpose"
"""


@pytest.mark.sim
def test_launcher_counts_a_real_failing_testbench(tmp_path):
    from qtaml_hw.hdl.job import run_user_test
    from qtaml_hw.hdl.simulators import rtl_sources

    tb = tmp_path / "test_fails.py"
    tb.write_text(FAILING_TB)
    res = run_user_test(simulator="icarus", toplevel="weight_sram", sources=rtl_sources("weight_sram"), test_file=tb,
                        parameters=smoke.PARAMETERS, defines=smoke.DEFINES, log_name="launcher-fails.log")
    assert (res["tests"], res["failed"]) == (2, 1)
    assert "on purpose" in open(res["log"]).read()
