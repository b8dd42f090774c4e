"""cocotb tests of accel_top's control interface (docs/design.md section 5, issue 14 item 7).

* ``cfg_error_o``: high exactly when num_rows_i / num_passes_i are outside [1, MaxRows] /
  [1, MaxPasses]; a start with a bad configuration does not start a run;
* start while busy: ignored (the running tile finishes with the right result and cycle count);
* reset mid-run: busy and done drop, and the next run is bit-exact again.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge

from qtaml_hw.fidelity.driver import AccelDriver, TopConfig
from qtaml_hw.fidelity.golden import gemm_int8_int32
from qtaml_hw.fidelity.schedule import GemmSchedule
from qtaml_hw.seeding import rng


async def _driver(dut):
    drv = AccelDriver(dut, TopConfig.from_env())
    await drv.start()
    return drv


def _tile(gen, cfg, rows, passes):
    a = gen.integers(-128, 128, (rows, passes * cfg.n)).astype(np.int8)
    w = gen.integers(-128, 128, (passes * cfg.n, cfg.n)).astype(np.int8)
    return a, w


@cocotb.test()
async def cfg_error_refuses_bad_shapes(dut):
    drv = await _driver(dut)
    cfg = drv.cfg
    cases = [(0, 1), (1, 0), (cfg.max_rows + 1, 1), (1, cfg.max_passes + 1), (0xFFFF, 0xFFFF)]
    good = [(1, 1), (cfg.max_rows, cfg.max_passes)]
    for rows, passes in cases + good:
        drv._set(num_rows_i=rows, num_passes_i=passes)
        await RisingEdge(dut.clk_i)
        await RisingEdge(dut.clk_i)
        bad = (rows, passes) in cases
        assert int(dut.cfg_error_o.value) == int(bad), (rows, passes)
        if bad:  # a start is refused: nothing runs
            drv._set(start_i=1)
            await RisingEdge(dut.clk_i)
            drv._set(start_i=0)
            await ClockCycles(dut.clk_i, 3)
            assert int(dut.busy_o.value) == 0, f"bad shape {(rows, passes)} started a run"


@cocotb.test()
async def start_while_busy_is_ignored(dut):
    drv = await _driver(dut)
    cfg = drv.cfg
    gen = rng(4, "tb_control", "busy")
    rows, passes = cfg.max_rows, min(2, cfg.max_passes)
    a, w = _tile(gen, cfg, rows, passes)
    await drv.load_weights(w)
    await drv.load_activations(a)
    await drv.load_preload(np.zeros((rows, cfg.n), np.int32))
    drv._set(num_rows_i=rows, num_passes_i=passes, start_i=1)
    await RisingEdge(dut.clk_i)
    total = GemmSchedule(n=cfg.n, rows=rows, passes=passes).total_cycles
    for _ in range(total // 2):  # keep start high, with another shape, half the run
        drv._set(num_rows_i=1, num_passes_i=1, start_i=1)
        await RisingEdge(dut.clk_i)
        assert int(dut.busy_o.value) == 1
    drv._set(start_i=0)
    await RisingEdge(dut.done_o)
    assert dut.cycles_o.value.to_unsigned() == total
    out = await drv.read_outputs(rows)
    assert np.array_equal(out, gemm_int8_int32(a, w)), "a start while busy changed the running tile"


@cocotb.test()
async def reset_mid_run_recovers(dut):
    drv = await _driver(dut)
    cfg = drv.cfg
    gen = rng(5, "tb_control", "reset")
    rows, passes = cfg.max_rows, cfg.max_passes
    a, w = _tile(gen, cfg, rows, passes)
    await drv.load_weights(w)
    await drv.load_activations(a)
    await drv.load_preload(np.zeros((rows, cfg.n), np.int32))
    drv._set(num_rows_i=rows, num_passes_i=passes, start_i=1)
    await RisingEdge(dut.clk_i)
    drv._set(start_i=0)
    await ClockCycles(dut.clk_i, GemmSchedule(n=cfg.n, rows=rows, passes=passes).total_cycles // 2)
    drv._set(rst_i=1)
    await ClockCycles(dut.clk_i, 2)
    assert int(dut.busy_o.value) == 0 and int(dut.done_o.value) == 0
    assert dut.cycles_o.value.to_unsigned() == 0
    drv._set(rst_i=0)
    await RisingEdge(dut.clk_i)
    # memories survive reset; the output buffer holds a partial result, so preload again
    out, cycles = await drv.gemm(a, w, load_weights=False, load_acts=False)
    assert cycles == GemmSchedule(n=cfg.n, rows=rows, passes=passes).total_cycles
    assert np.array_equal(out, gemm_int8_int32(a, w)), "run after a mid-run reset is wrong"
