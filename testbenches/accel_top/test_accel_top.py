"""pytest launcher: the accel_top cocotb tests on Verilator and Icarus, per configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.hdl.simulators import accel_sources, run_cocotb

HERE = Path(__file__).resolve().parent

ALL_TESTS = ("random_tiles_bit_exact", "accumulator_wraps_like_int32", "saboteur_matches_schedule",
             "leakage_flips_in_sram", "ecc_single_flips_corrected")
CONFIGS = {
    "n4": (TopConfig(n=4, row_bits=2, pass_bits=2), None),
    "n4-ecc4": (TopConfig(n=4, row_bits=2, pass_bits=2, ecc=1, protect_bits=4), None),
    "n16": (TopConfig(n=16, row_bits=4, pass_bits=1), "random_tiles_bit_exact,accumulator_wraps_like_int32"),
    # the optional saboteur ports (`define QTAML_SABOTEUR) still agree with the schedule
    "n4-saboteur": (TopConfig(n=4, row_bits=2, pass_bits=2, ecc=1, protect_bits=4, saboteur=1),
                    "saboteur_matches_schedule,leakage_flips_in_sram"),
}
FAULTS = {"verilator": 120, "icarus": 40}
# Verilator builds of the 16x16 array (~90 s of CPU) and of the saboteur variant (~45 s) are heavy
# (conftest.py): `make test` runs them on Icarus, `make test-all` on both simulators.
HEAVY_CASES = {("verilator", "n16"), ("verilator", "n4-saboteur")}


def run_top(cfg: TopConfig, simulator: str, *, testcase=None, faults=40):
    env = cfg.env() | {"QTAML_TB_FAULTS": str(faults)}
    return run_cocotb(toplevel="accel_top", sources=accel_sources(), test_module="tb_accel_top",
                      simulator=simulator, parameters=cfg.parameters(), defines=cfg.defines(), test_dir=HERE,
                      extra_env=env, testcase=testcase)


@pytest.mark.sim
@pytest.mark.parametrize("name", list(CONFIGS))
def test_accel_top(simulator, name):
    cfg, cases = CONFIGS[name]
    tests = list(cases.split(",") if cases else ALL_TESTS)
    run_top(cfg, simulator, testcase=",".join(tests), faults=FAULTS[simulator])
