"""pytest launcher: accel_top control tests (cfg_error_o, start while busy, reset mid-run) on both simulators."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.hdl.simulators import accel_sources, run_cocotb

HERE = Path(__file__).resolve().parent


@pytest.mark.sim
def test_control(simulator):
    cfg = TopConfig(n=4, row_bits=2, pass_bits=2)
    run_cocotb(toplevel="accel_top", sources=accel_sources(), test_module="tb_control", simulator=simulator,
               parameters=cfg.parameters(), defines=cfg.defines(), test_dir=HERE, extra_env=cfg.env())
