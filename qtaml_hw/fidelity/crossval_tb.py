"""cocotb module of the cross-validation campaign: many injections per simulator launch.

design.md section 6.  The plan (``QTAML_JOB``, an .npz from
:func:`qtaml_hw.fidelity.crossval.plan_campaign`) holds tiles (A, W, preload, shape) and
injections (tile, class, row, col, cycle, mask).  One build, one launch, one start/done
handshake per injection; memories are written only when the tile changes (and one SRAM
word is rewritten after an SRAM fault, which would otherwise persist).  The output buffer
is *not* reloaded between injections: each run's result is the next run's preload, which
the checker knows because it reads every result.  Faults are flipped by hierarchical path
(:meth:`AccelDriver.inject`, no saboteur port), so an injection costs about 8 + 3M
Python <-> simulator crossings whatever the number of cycles.
Results go to ``QTAML_JOB_OUT``; progress through :func:`qtaml_hw.hdl.job.report_progress`.
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge, with_timeout

from qtaml_hw.fidelity.driver import CLOCK_NS, AccelDriver, TopConfig
from qtaml_hw.fidelity.layout import unpack_int32_row
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, Fault, GemmSchedule
from qtaml_hw.hdl.job import report_progress


class _Inputs:
    """Writes DUT inputs only when their value changes (each write is a simulator crossing)."""

    def __init__(self, drv: AccelDriver):
        self.drv = drv
        self.last: dict[str, int] = {}

    def set(self, **signals):
        todo = {k: int(v) for k, v in signals.items() if self.last.get(k) != int(v)}
        if todo:
            self.drv._set(**todo)
            self.last.update(todo)


@cocotb.test()
async def crossval_campaign(dut):
    job = np.load(os.environ["QTAML_JOB"])
    drv = AccelDriver(dut, TopConfig.from_env())
    cfg = drv.cfg
    await drv.start()
    ins = _Inputs(drv)
    ins.last.update(start_i=0, obuf_raddr_i=0)

    tile_rows, tile_passes = job["tile_rows"], job["tile_passes"]
    f_tile, f_cls, f_row, f_col = job["f_tile"], job["f_cls"], job["f_row"], job["f_col"]
    f_cycle, f_mask = job["f_cycle"], job["f_mask"]
    n_inj = len(f_tile)
    outs = np.zeros((n_inj, cfg.max_rows, cfg.n), np.int32)
    cycles_seen = np.zeros(len(tile_rows), np.int64)
    sram_code = FAULT_CLASSES.index("sram")
    tile, images = -1, None
    t0 = last_report = time.perf_counter()
    load_s = 0.0
    for j in range(n_inj):
        b = int(f_tile[j])
        rows, passes = int(tile_rows[b]), int(tile_passes[b])
        if b != tile:  # new tile: whole SRAM (zero beyond the tile), activations, preload
            tl = time.perf_counter()
            tile, images = b, job["sram_images"][b]
            await drv.write_sram(images)
            await drv.load_activations(job["a"][b, :rows, :passes * cfg.n])
            await drv.load_preload(job["pre"][b, :rows])
            ins.set(num_rows_i=rows, num_passes_i=passes)
            load_s += time.perf_counter() - tl
            first = True
        cls = int(f_cls[j])
        fault = Fault(FAULT_CLASSES[cls], int(f_row[j]), int(f_col[j]), int(f_cycle[j]), int(f_mask[j]))
        ins.set(start_i=1)
        await drv._edge()
        ins.set(start_i=0)
        await drv.inject(fault)
        total = GemmSchedule(n=cfg.n, rows=rows, passes=passes).total_cycles
        drv.crossings += 2
        if not int(dut.done_o.value):  # a flip in the last cycle lands after done rose
            await with_timeout(RisingEdge(dut.done_o), (total + 8) * CLOCK_NS, "ns")
        if first:
            drv.crossings += 1
            cycles_seen[b] = dut.cycles_o.value.to_unsigned()
            first = False
        for m in range(rows):
            ins.set(obuf_raddr_i=m)
            await drv._edge()
            drv.crossings += 1
            outs[j, m] = unpack_int32_row(dut.obuf_rdata_o.value.to_unsigned(), n=cfg.n)
        if cls == sram_code:  # restore the word (an SRAM flip persists until rewritten)
            addr = int(f_row[j])
            drv.handle(f"u_sram.mem_q[{addr}]").value = int(images[addr])
            drv.crossings += 1
        last_report = report_progress(j + 1, n_inj, t0, last_report)
    wall = time.perf_counter() - t0
    np.savez(os.environ["QTAML_JOB_OUT"], outs=outs, cycles=cycles_seen, crossings=drv.crossings,
             wall_s=wall, load_s=load_s)
