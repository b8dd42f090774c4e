"""cocotb module: run GEMM tiles on ``accel_top`` under injected permanent faults (design.md section 9).

The job (``QTAML_JOB``, see :func:`qtaml_hw.selftest.inject.run_injections`) holds the tiles
(``a<i>``, ``w<i>``, ``pre<i>``), data-path injections ``inj`` (selector, r, c) -- the
selector is written into ``st_fault_q`` of PE(r, c) of the fault-capable build -- and
optionally control faults ``ctrl_paths`` / ``ctrl`` (bit, stuck): a permanent stuck-at on a
control register bit, emulated by re-depositing the bit at every falling clock edge (all
logic samples on rising edges, so every sampling edge sees the stuck value).

Per injection and tile the result holds the outputs read back and a status (0 ran, 1 hang:
``done_o`` did not rise within the schedule's cycles + 8).  After a hang the DUT is reset
(the fault stays).  ``host_cycles`` counts clock cycles of the first (fault-free) pass over
the tiles, I/O included, for the test-time model.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge, SimTimeoutError
from cocotb.utils import get_sim_time

from qtaml_hw.fidelity.driver import CLOCK_NS, AccelDriver, TopConfig
from qtaml_hw.hdl.inject import read_int, resolve


async def _stuck(dut, h, bit: int, stuck: int, stop: list):
    mask = 1 << bit
    while not stop:
        await FallingEdge(dut.clk_i)
        v = read_int(h)
        h.value = (v | mask) if stuck else (v & ~mask)


async def _reset(drv: AccelDriver):
    drv._set(rst_i=1, start_i=0)
    await drv._edge()
    await drv._edge()
    drv._set(rst_i=0)
    await drv._edge()


async def _run_tiles(drv: AccelDriver, tiles, out, status, k):
    for i, (a, w, pre) in enumerate(tiles):
        try:
            o, _ = await drv.gemm(a, w, preload=pre)
            out[k, i, : len(o)] = o
        except SimTimeoutError:
            status[k, i] = 1
            await _reset(drv)


@cocotb.test()
async def run_injections(dut):
    job = np.load(os.environ["QTAML_JOB"])
    drv = AccelDriver(dut, TopConfig.from_env())
    await drv.start()
    n = drv.cfg.n
    tiles = [(job[f"a{i}"], job[f"w{i}"], job[f"pre{i}"]) for i in range(int(job["n_tiles"]))]
    m_max = max(t[0].shape[0] for t in tiles)
    inj = job["inj"]
    ctrl = job["ctrl"] if "ctrl" in job.files else np.zeros((0, 2), np.int64)
    paths = job["ctrl_paths"] if "ctrl_paths" in job.files else []
    total = len(inj) + len(ctrl)
    out = np.zeros((total, len(tiles), m_max, n), np.int64)
    status = np.zeros((total, len(tiles)), np.int64)
    host_cycles = 0
    for k, (sel, r, c) in enumerate(inj):
        h = resolve(dut, f"u_array.gen_row[{r}].gen_col[{c}].u_pe.st_fault_q")
        h.value = int(sel)
        t0 = get_sim_time("ns")
        await _run_tiles(drv, tiles, out, status, k)
        if k == 0:
            host_cycles = int(round((get_sim_time("ns") - t0) / CLOCK_NS))
        h.value = 0
    for j, (bit, stuck) in enumerate(ctrl):
        k = len(inj) + j
        stop: list = []
        task = cocotb.start_soon(_stuck(dut, resolve(dut, str(paths[j])), int(bit), int(stuck), stop))
        await _run_tiles(drv, tiles, out, status, k)
        stop.append(True)
        await RisingEdge(dut.clk_i)
        task.cancel()
        await _reset(drv)
    np.savez(os.environ["QTAML_JOB_OUT"], out=out, status=status, host_cycles=host_cycles)
