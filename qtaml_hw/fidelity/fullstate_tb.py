"""cocotb module of the full-state cross-validation: any state bit of accel_top, flipped by path.

docs/design.md section 6.  The job (``QTAML_JOB``, from
:func:`qtaml_hw.fidelity.fullstate.plan_fullstate`) holds tiles, the state elements' paths
and the injections (tile, element, word, mask, cycle).  Per injection: one start; the
element's register or memory word is XORed at the falling edge after ``cycle + 1`` rising
edges (held from cycle+1); then done is awaited up to the hang limit.  Recorded per
injection: output rows, ``cycles_o``, the ECC counters, ``hang`` (no done in time: the DUT
is reset and the preload reloaded), ``early`` (done rose while busy: the run is then
awaited to its end) and ``reloaded`` (the run's preload is the tile's, not the previous
output).  Memories the run only reads (SRAM data/check words, activation buffer) are XORed
back after the run.  Before reset every state element (each register, every memory word) is
set to 0 (:func:`qtaml_hw.fidelity.byo.zero_state`): Icarus would start them at X, Verilator
at 0, and a control fault that runs a pass the tile does not have reads never-written
activation rows (X * 0 weight = X on Icarus only).  ``x_reads`` (output reads with an X bit)
and ``x_state_bits`` (X/Z bits in the state after the last injection) are recorded.
Results to ``QTAML_JOB_OUT``.
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge, SimTimeoutError, with_timeout

from qtaml_hw.fidelity.byo import unknown_state_bits, zero_state
from qtaml_hw.fidelity.driver import CLOCK_NS, AccelDriver, TopConfig
from qtaml_hw.fidelity.schedule import GemmSchedule
from qtaml_hw.hdl.inject import flip_after_edges, xor_now
from qtaml_hw.hdl.job import report_progress


async def _load_tile(drv: AccelDriver, job, b: int, rows: int, passes: int):
    await drv.write_sram(job["sram_images"][b])
    await drv.load_activations(job["a"][b, :rows, :passes * drv.cfg.n])
    await drv.load_preload(job["pre"][b, :rows])
    drv._set(num_rows_i=rows, num_passes_i=passes)


async def _await_end(dut, limit_cycles: int, ended: bool) -> tuple[bool, bool]:
    """(hang, early) of a run whose flip came at ``limit`` cycles before its deadline.

    ``ended``: the flip came after the run's done edge (last-cycle flip); the run counts as
    finished even if the flip cleared done.  ``early``: done was high while busy (the host
    would read too soon); the run is then awaited until busy falls.
    """
    wait_ns = max(limit_cycles, 1) * CLOCK_NS
    if ended:  # let the flip (written this time step) settle before anything is read
        await RisingEdge(dut.clk_i)
    try:
        if not ended and not int(dut.done_o.value):
            await with_timeout(RisingEdge(dut.done_o), wait_ns, "ns")
        early = bool(int(dut.busy_o.value))
        if early:
            await with_timeout(FallingEdge(dut.busy_o), wait_ns, "ns")
    except SimTimeoutError:
        return True, False
    return False, early


async def _reset(drv: AccelDriver):
    drv._set(rst_i=1)
    await drv._edge()
    await drv._edge()
    drv._set(rst_i=0)
    await drv._edge()


def _state_elements(job) -> list[tuple[str, int]]:
    """(path, words) of every state element of the job's site list (:func:`~qtaml_hw.fidelity.byo.state_words`)."""
    return [(str(p), int(w)) for p, w in zip(job["site_paths"], job["site_words"])]


@cocotb.test()
async def fullstate_campaign(dut):
    job = np.load(os.environ["QTAML_JOB"])
    hang_factor = int(os.environ.get("QTAML_HANG_FACTOR", "2"))
    drv = AccelDriver(dut, TopConfig.from_env())
    cfg = drv.cfg
    paths, is_mem, restore = job["site_paths"], job["site_memory"], job["site_restore"]
    elements = _state_elements(job)
    if int(os.environ.get("QTAML_ZERO_STATE", "1")):
        drv.crossings += zero_state(dut, elements)
    await drv.start()
    f_tile, f_site, f_word, f_mask, f_cycle = (job[k] for k in ("f_tile", "f_site", "f_word", "f_mask", "f_cycle"))
    n_inj = len(f_tile)
    outs = np.zeros((n_inj, cfg.max_rows, cfg.n), np.int32)
    cycles, corr, unc = (np.zeros(n_inj, np.int64) for _ in range(3))
    hang, early, reloaded = (np.zeros(n_inj, bool) for _ in range(3))
    tile, need_reload = -1, False
    t0 = last = time.perf_counter()
    load_s = 0.0
    for j in range(n_inj):
        b = int(f_tile[j])
        rows, passes = int(job["tile_rows"][b]), int(job["tile_passes"][b])
        if b != tile or need_reload:
            tl = time.perf_counter()
            if b != tile:
                await _load_tile(drv, job, b, rows, passes)
            else:
                await drv.load_preload(job["pre"][b, :rows])
            tile, need_reload, reloaded[j] = b, False, True
            load_s += time.perf_counter() - tl
        site = int(f_site[j])
        h = drv.handle(str(paths[site]) + (f"[{int(f_word[j])}]" if is_mem[site] else ""))
        mask, t = int(f_mask[j]), int(f_cycle[j])
        drv._set(start_i=1)
        await drv._edge()
        drv._set(start_i=0)
        await flip_after_edges(dut.clk_i, h, mask, t + 1, period_ns=CLOCK_NS)
        drv.crossings += 5
        limit = hang_factor * cfg.max_passes * GemmSchedule(n=cfg.n, rows=rows, passes=1).pass_cycles + 64
        total = GemmSchedule(n=cfg.n, rows=rows, passes=passes).total_cycles
        hang[j], early[j] = await _await_end(dut, limit - t - 1, t + 1 >= total)
        if hang[j]:
            await _reset(drv)
            need_reload = True
        else:
            cycles[j] = dut.cycles_o.value.to_unsigned()
            corr[j] = dut.ecc_corrected_count_o.value.to_unsigned()
            unc[j] = dut.ecc_uncorrectable_count_o.value.to_unsigned()
            outs[j, :rows] = await drv.read_outputs(rows)
            drv.crossings += 6
        if restore[site]:
            xor_now(h, mask)
            drv.crossings += 2
        last = report_progress(j + 1, n_inj, t0, last)
    x_state = unknown_state_bits(dut, elements)
    np.savez(os.environ["QTAML_JOB_OUT"], outs=outs, cycles=cycles, corrected=corr, uncorrectable=unc, hang=hang,
             x_reads=drv.x_reads, x_state_bits=x_state, early=early, reloaded=reloaded, crossings=drv.crossings,
             wall_s=time.perf_counter() - t0, load_s=load_s)
