"""The shared cocotb launcher: failures raise with the build directory, waves are kept, bad input is one line."""

from __future__ import annotations

import os

import pytest

from qtaml_hw.hdl.simulators import BUILD_ROOT, check_simulator, rtl_sources, run_cocotb, worker_suffix
from qtaml_hw.errors import QtamlError

FAILING_TB = '''
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles


@cocotb.test()
async def always_fails(dut):
    Clock(dut.clk_i, 10, unit="ns").start()
    dut.we_i.value = 0
    dut.raddr_i.value = 0
    await ClockCycles(dut.clk_i, 3)
    assert False, "deliberate failure"
'''


def test_unknown_simulator_is_one_line():
    with pytest.raises(QtamlError, match="unknown simulator 'vcs'"):
        check_simulator("vcs")


def test_missing_rtl_source():
    with pytest.raises(QtamlError, match="RTL source not found"):
        rtl_sources("no_such_module")


@pytest.mark.sim
def test_failure_reported_and_waves_kept(tmp_path):
    (tmp_path / "tb_fails.py").write_text(FAILING_TB)
    with pytest.raises(AssertionError, match="1/1 cocotb tests failed") as info:
        run_cocotb(toplevel="weight_sram", sources=rtl_sources("weight_sram"), test_module="tb_fails",
                   simulator="icarus", parameters={"AddrBits": 2}, test_dir=tmp_path)
    where = str(info.value).split("waves under ")[1].strip()
    from pathlib import Path

    dumps = list(Path(where).glob("*.fst")) + list(Path(where).glob("*.vcd"))
    assert dumps and dumps[0].stat().st_size > 0, f"no waveform in {where}"


PASSING_TB = FAILING_TB.replace("always_fails", "passes").replace('assert False, "deliberate failure"', "assert True")


@pytest.mark.sim
def test_clean_run_returns_counts_and_leaves_no_run_directory(tmp_path):
    """A passing run returns (tests, failed) and removes its per-process run directory (results.xml)."""
    (tmp_path / "tb_passes.py").write_text(PASSING_TB)
    counts = run_cocotb(toplevel="weight_sram", sources=rtl_sources("weight_sram"), test_module="tb_passes",
                        simulator="icarus", parameters={"AddrBits": 2}, test_dir=tmp_path)
    assert counts == (1, 0)
    left = list(BUILD_ROOT.glob(f"icarus/**/run{worker_suffix()}_{os.getpid()}"))
    assert left == []
