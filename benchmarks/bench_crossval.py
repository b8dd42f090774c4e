"""Fault-injection throughput: RTL (Verilator, Icarus) vs the reuse-factor software model (design.md section 6).

One run: the same seeded campaign plan (4x4 array, tiles up to M=4, P=4, single-bit flips
uniform over classes, sites, cycles, bits) is injected on the RTL through
:mod:`qtaml_hw.fidelity.crossval_tb` (one launch, every result checked bit-exactly against the
model) and evaluated by the software models: :func:`qtaml_hw.fidelity.reuse.fault_effect`
(analytic, O(affected outputs x K)) and :func:`qtaml_hw.fidelity.schedule.reference_output`
(pass-by-pass re-evaluation).  When the PyTorch replay layer is present
(``qtaml_hw.nn.replay`` via ``qtaml_hw.rtlnn.layer_eval``), one register-fault record per
forward of LeNet-5's fc1 layer on a 4x4 array is timed too (a whole layer, 20 images).
RTL rates count the simulator's start..end of the injection loop (memory loads included,
build and launch excluded; the launch wall time is reported beside).

In-simulation loop (issue 14 item 5): the same Verilator plan runs through
:func:`qtaml_hw.fidelity.insim.run_insim` (loop, clock and fault list inside a generated
Verilog testbench, no Python during the run), on one process and on one process per core;
its outputs must equal the cocotb path's bit for bit.  Its rate counts the processes' wall
time (job files written, simulator start, results read back), build excluded.
"""

from __future__ import annotations

import time

import numpy as np

import os

from qtaml_hw.fidelity.crossval import check, fault_of, plan_campaign, run_rtl, tile_of
from qtaml_hw.fidelity.insim import run_insim
from qtaml_hw.fidelity.reuse import fault_effect
from qtaml_hw.fidelity.schedule import reference_output


def _software_rates(plan, repeat_s: float = 1.0) -> dict:
    faults = [(fault_of(plan, j), tile_of(plan, int(plan["f_tile"][j]))) for j in range(len(plan["f_tile"]))]
    n = plan["n"]
    out = {}
    for name, fn in (("reuse_model", lambda f, a, w, pre: fault_effect(f, a, w, n=n, preload=pre)),
                     ("schedule_model", lambda f, a, w, pre: reference_output(a, w, n=n, preload=pre, fault=f))):
        done, t0 = 0, time.perf_counter()
        while True:
            for f, (a, w, pre) in faults:
                fn(f, a, w, pre)
            done += len(faults)
            if time.perf_counter() - t0 > repeat_s:
                break
        out[name] = round(done / (time.perf_counter() - t0), 1)
    return out


def _replay_rate(n_faults: int) -> dict | None:
    try:
        from qtaml_hw.rtlnn.layer_eval import setup_layer
        from qtaml_hw.rtlnn.layer_map import RegisterFault
    except ImportError:
        return None
    setup = setup_layer(model="lenet5", layer="fc1", n=4, images=20)
    runs = list(setup.mapping.runs(setup.rows))
    gen = np.random.default_rng(0)
    faults = [RegisterFault(*runs[int(gen.integers(0, len(runs)))], "psum", 1, 2, int(gen.integers(0, 20)), 1 << 20)
              for _ in range(n_faults)]
    t0 = time.perf_counter()
    for f in faults:
        setup.replay_acc(None, [f])
    dt = time.perf_counter() - t0
    return {"layer": "lenet5 fc1 (20 images, 4x4 array)", "fault_records_per_s": round(n_faults / dt, 1)}


def _insim(plan, cocotb_rtl: dict, count: int) -> dict:
    """In-simulation loop on 1 process and on one per core, next to the cocotb path (identical outputs)."""
    out = {}
    cores = os.cpu_count() or 1
    for label, procs in (("insim_1_process", 1), (f"insim_{cores}_processes", cores)):
        run_insim(plan, simulator="verilator", procs=procs)  # warm: build (cached) and page cache
        best = None
        for _ in range(3):
            r = run_insim(plan, simulator="verilator", procs=procs)
            assert np.array_equal(r["outs"], cocotb_rtl["outs"]), f"{label}: outputs differ from the cocotb path"
            assert np.array_equal(r["cycles"], cocotb_rtl["cycles"]), f"{label}: cycle counts differ"
            best = r["sim_s"] if best is None else min(best, r["sim_s"])
        out[label] = {"processes": r["processes"], "injections_per_s": round(count / best, 1)}
    base = count / cocotb_rtl["sim_s"]
    out["cocotb_injections_per_s"] = round(base, 1)
    out["ratio_insim_1_process_over_cocotb"] = round(out["insim_1_process"]["injections_per_s"] / base, 1)
    out[f"ratio_insim_{cores}_processes_over_cocotb"] = round(
        out[f"insim_{cores}_processes"]["injections_per_s"] / base, 1)
    out["identical_outputs"] = True
    return out


def run(*, quick: bool = False) -> dict:
    sizes = {"verilator": 2000 if quick else 10000, "icarus": 200 if quick else 1000}
    res = {"array": "4x4", "tiles": "M<=4, P<=4, 100 injections per tile"}
    plan = None
    for sim, count in sizes.items():
        plan = plan_campaign(n=4, injections=count, seed=0)
        rtl = run_rtl(plan, simulator=sim)
        chk = check(plan, rtl)
        assert chk["mismatches"] == 0 and chk["first_mismatch"] is None, f"{sim}: {chk['first_mismatch']}"
        res[sim] = {"injections": count, "injections_per_s": round(count / rtl["sim_s"], 1),
                    "crossings_per_injection": round(rtl["crossings"] / count, 2),
                    "launch_wall_s": round(rtl["wall_s"], 2), "agreement": chk["agree"] / chk["injections"]}
        if sim == "verilator":
            res["in_simulation_loop"] = _insim(plan, rtl, count)
    soft = _software_rates(plan_campaign(n=4, injections=2000, seed=0), repeat_s=0.5 if quick else 2.0)
    res.update(soft)
    replay = _replay_rate(20 if quick else 100)
    res["replay_layer"] = replay
    res["ratio_reuse_model_over_verilator"] = round(soft["reuse_model"] / res["verilator"]["injections_per_s"], 1)
    res["ratio_reuse_model_over_icarus"] = round(soft["reuse_model"] / res["icarus"]["injections_per_s"], 1)
    res["ratio_reuse_over_schedule_model"] = round(soft["reuse_model"] / soft["schedule_model"], 1)
    return res
