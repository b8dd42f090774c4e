"""RTL simulation speed: cycles per second of the 16x16 accelerator, Verilator vs Icarus (design.md section 5).

Both simulators run the same tile (M=16, K=128: 8 passes, 648 cycles per run) through
``qtaml_hw.fidelity.job_tb`` in one benchmark run; the start/done phase is timed (the clock is
a GPI clock, so no Python runs per cycle) and Python <-> simulator crossings are counted,
per cycle of that phase and for the whole job (memory loading included).  Build time is
excluded (reported separately).
"""

from __future__ import annotations


import numpy as np

from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.fidelity.golden import gemm_int8_int32
from qtaml_hw.fidelity.layout import weight_words
from qtaml_hw.hdl.job import run_job
from qtaml_hw.hdl.simulators import accel_sources
from qtaml_hw.seeding import rng


def _run(sim: str, cfg: TopConfig, a, w, repeat: int) -> dict:
    words = weight_words(w, n=cfg.n)
    job = run_job(simulator=sim, toplevel="accel_top", sources=accel_sources(), test_module="qtaml_hw.fidelity.job_tb",
                  parameters=cfg.parameters(), defines=cfg.defines(), env=cfg.env(), log_name="bench-rtl.log",
                  job={"a": a, "words": words, "data_mask": np.zeros_like(words),
                       "check_mask": np.zeros(len(words), np.uint8), "repeat": repeat})
    r, wall = job.arrays, job.wall_s
    assert np.array_equal(r["out"], gemm_int8_int32(a, w)), f"{sim}: RTL result differs from golden"
    cycles = int(r["cycles"])
    return {
        "cycles": cycles, "run_s": round(float(r["run_s"]), 4),
        "cycles_per_s": round(cycles / float(r["run_s"]), 1),
        "crossings_per_cycle_run": round(int(r["run_crossings"]) / cycles, 5),
        "crossings_per_cycle_job": round(int(r["crossings"]) / cycles, 4),
        "job_wall_s_incl_build": round(wall, 2),
    }


def run(*, quick: bool = False) -> dict:
    cfg = TopConfig(n=16, row_bits=4, pass_bits=3)
    gen = rng(0, "bench_rtl")
    a = gen.integers(-128, 128, (16, 128)).astype(np.int8)
    w = gen.integers(-128, 128, (128, 16)).astype(np.int8)
    repeats = {"verilator": 20 if quick else 200, "icarus": 1 if quick else 3}
    res = {sim: _run(sim, cfg, a, w, repeats[sim]) for sim in ("verilator", "icarus")}
    return {
        "array": "16x16", "tile": "M=16 K=128 N=16",
        "verilator": res["verilator"], "icarus": res["icarus"],
        "ratio_verilator_over_icarus_cycles_per_s": round(
            res["verilator"]["cycles_per_s"] / res["icarus"]["cycles_per_s"], 1),
    }
