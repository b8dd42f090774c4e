"""pytest launcher: weight_sram cocotb tests on Verilator and Icarus (plain and SECDED m=1,2,4,8).

m = 1, 2, 4, 8 are the (13,8), (22,16), (39,32), (72,64) codes; the RTL codec sees every single and
double error of each exhaustively (tb_weight_sram.codec_vectors_vs_python)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtaml_hw.hdl.simulators import rtl_sources, run_cocotb

HERE = Path(__file__).resolve().parent
CONFIGS = {"plain": (0, 8), "ecc-m1": (1, 1), "ecc-m2": (1, 2), "ecc-m4": (1, 4), "ecc-m8": (1, 8)}
# Each configuration is a separate Verilator build (~30 s of CPU); Icarus runs all five in seconds.
# Verilator runs the plain and the widest (72,64) configuration; the others are heavy (conftest.py).
# The (72,64) code's 2,556 double errors take Icarus ~20 s of CPU and Verilator ~3 s: m8 on Verilator.
HEAVY_CASES = {("verilator", name) for name in CONFIGS if name not in ("plain", "ecc-m8")} | {("icarus", "ecc-m8")}


@pytest.mark.sim
@pytest.mark.parametrize("name", list(CONFIGS))
def test_weight_sram(simulator, name):
    ecc, m = CONFIGS[name]
    srcs = ("weight_sram",)
    if ecc:
        srcs += ("secded_enc", "secded_dec")
    run_cocotb(toplevel="weight_sram", sources=rtl_sources(*srcs), test_module="tb_weight_sram",
               simulator=simulator, parameters={"AddrBits": 3, "EccEnable": ecc, "ProtectBits": m},
               defines={"QTAML_SABOTEUR": 1}, test_dir=HERE, extra_env={"QTAML_SRAM_CFG": f"{ecc},{m}"})
