"""Cross-validation campaign: RTL saboteur injections vs the reuse-factor software model.

design.md section 6: the software fault model (:mod:`qtaml_hw.fidelity.reuse`) must predict
the RTL's faulty outputs bit-exactly.  :func:`plan_campaign` draws, from the seed, random
tiles (shape M in [1, MaxRows], P in [1, MaxPasses], int8 operands, int32 preload) and
random single-bit injections, uniform over the chosen classes, then over the class's sites
(weight/act/psum: N^2 PEs, out: N columns, sram: every word of the build's SRAM), the
run's cycles [0, T) and the register's bits.  :func:`run_rtl` runs them all in one
simulator launch (:mod:`qtaml_hw.fidelity.crossval_tb`); :func:`check` compares every RTL
output bit-exactly with :func:`qtaml_hw.fidelity.reuse.faulty_output` (the preload of an
injection is the previous RTL result, see the testbench), and reports per class the
agreement, the measured masked fraction (RTL output equal to the clean one), the model's
predicted masked fraction on the same injections, and the closed-form structural masking
probability (:func:`qtaml_hw.fidelity.reuse.structural_masking`, averaged over the tiles).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.fidelity.layout import weight_words
from qtaml_hw.fidelity.reuse import CLASS_WIDTH, fault_effect, structural_masking
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, Fault, GemmSchedule
from qtaml_hw.hdl.job import run_job
from qtaml_hw.hdl.simulators import accel_sources, check_simulator
from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng

log = logging.getLogger(__name__)

#: Build per array size: (RowBits, PassBits) -> tiles up to M = 2^RowBits rows, P = 2^PassBits passes.
BUILDS = {4: (2, 2), 8: (3, 1), 16: (2, 1)}


def build_config(n: int) -> TopConfig:
    if n not in BUILDS:
        raise QtamlError(f"array size N must be one of {sorted(BUILDS)}, got {n}")
    row_bits, pass_bits = BUILDS[n]
    return TopConfig(n=n, row_bits=row_bits, pass_bits=pass_bits)


def sram_depth(cfg: TopConfig) -> int:
    """Words of the build's weight SRAM: MaxPasses * N*N/8."""
    return cfg.max_passes * cfg.n * cfg.n // 8


def parse_classes(classes) -> tuple[str, ...]:
    names = tuple(FAULT_CLASSES) if not classes else tuple(classes)
    bad = [c for c in names if c not in FAULT_CLASSES]
    if bad or not names:
        raise QtamlError(f"unknown fault class {bad[0] if bad else ''!r}; choose from {', '.join(FAULT_CLASSES)}")
    return tuple(dict.fromkeys(names))


def random_tiles(cfg: TopConfig, n_tiles: int, gen: np.random.Generator) -> dict:
    """``n_tiles`` random GEMM tiles for the build ``cfg``, drawn from ``gen`` (zero-padded arrays).

    Tile b has M_b ~ U{1..MaxRows} rows and P_b ~ U{1..MaxPasses} passes (K_b = P_b * N); A, W are
    uniform int8, the preload uniform int32; ``sram_images[b]`` is the weight SRAM image of W_b
    (:func:`weight_words`, MaxPasses * N*N/8 words). Keys: a, w, pre, sram_images, tile_rows, tile_passes.
    """
    n, kmax = cfg.n, cfg.max_passes * cfg.n
    a = np.zeros((n_tiles, cfg.max_rows, kmax), np.int8)
    w = np.zeros((n_tiles, kmax, n), np.int8)
    pre = np.zeros((n_tiles, cfg.max_rows, n), np.int32)
    images = np.zeros((n_tiles, sram_depth(cfg)), np.uint64)
    rows = gen.integers(1, cfg.max_rows + 1, n_tiles)
    passes = gen.integers(1, cfg.max_passes + 1, n_tiles)
    for b in range(n_tiles):
        m, k = int(rows[b]), int(passes[b]) * n
        a[b, :m, :k] = gen.integers(-128, 128, (m, k))
        w[b, :k] = gen.integers(-128, 128, (k, n))
        pre[b, :m] = gen.integers(-(2**31), 2**31, (m, n))
        words = weight_words(w[b, :k], n=n)
        images[b, :len(words)] = words
    return {"a": a, "w": w, "pre": pre, "sram_images": images, "tile_rows": rows, "tile_passes": passes}


def plan_campaign(*, n: int, injections: int, seed: int, classes=None, tile_every: int = 100) -> dict:
    """Tiles and injections of a campaign as arrays (deterministic in ``seed``)."""
    if injections < 1:
        raise QtamlError(f"injections must be >= 1, got {injections}")
    if tile_every < 1:
        raise QtamlError(f"tile_every must be >= 1, got {tile_every}")
    classes = parse_classes(classes)
    cfg = build_config(n)
    n_tiles = math.ceil(injections / tile_every)
    tiles = random_tiles(cfg, n_tiles, rng(seed, "crossval", n, "tiles"))
    rows, passes = tiles["tile_rows"], tiles["tile_passes"]
    gen = rng(seed, "crossval", n, "faults")
    f_tile = np.arange(injections) // tile_every
    f_cls = np.array([FAULT_CLASSES.index(c) for c in classes])[gen.integers(0, len(classes), injections)]
    total = np.array([GemmSchedule(n=n, rows=int(rows[b]), passes=int(passes[b])).total_cycles
                      for b in range(n_tiles)])[f_tile]
    f_cycle = (gen.random(injections) * total).astype(np.int64)
    f_row = gen.integers(0, n, injections)
    f_col = gen.integers(0, n, injections)
    width = np.array([CLASS_WIDTH[c] for c in FAULT_CLASSES])[f_cls]
    bit = (gen.random(injections) * width).astype(np.uint64)
    f_mask = np.left_shift(np.uint64(1), bit)
    is_out = f_cls == FAULT_CLASSES.index("out")
    f_row[is_out] = 0
    is_sram = f_cls == FAULT_CLASSES.index("sram")
    f_row[is_sram] = gen.integers(0, sram_depth(cfg), int(is_sram.sum()))
    f_col[is_sram] = 0
    return {"n": n, "seed": seed, "classes": list(classes), "cfg": cfg, **tiles, "f_tile": f_tile, "f_cls": f_cls,
            "f_row": f_row, "f_col": f_col, "f_cycle": f_cycle, "f_mask": f_mask}


def fault_of(plan: dict, j: int) -> Fault:
    return Fault(FAULT_CLASSES[int(plan["f_cls"][j])], int(plan["f_row"][j]), int(plan["f_col"][j]),
                 int(plan["f_cycle"][j]), int(plan["f_mask"][j]))


def tile_of(plan: dict, b: int):
    m, k = int(plan["tile_rows"][b]), int(plan["tile_passes"][b]) * plan["n"]
    return plan["a"][b, :m, :k], plan["w"][b, :k], plan["pre"][b, :m]


def run_rtl(plan: dict, *, simulator: str, progress: bool = False) -> dict:
    """All injections of ``plan`` on the RTL in one launch; returns outputs and timing."""
    check_simulator(simulator)
    cfg = plan["cfg"]
    keys = ("a", "pre", "sram_images", "tile_rows", "tile_passes", "f_tile", "f_cls", "f_row", "f_col",
            "f_cycle", "f_mask")
    job = run_job(simulator=simulator, toplevel="accel_top", sources=accel_sources(),
                  test_module="qtaml_hw.fidelity.crossval_tb", parameters=cfg.parameters(),
                  defines=cfg.defines(), env=cfg.env(),
                  job={k: plan[k] for k in keys}, log_name=f"crossval-n{cfg.n}.log",
                  progress_label=f"crossval {simulator} injections" if progress else None)
    res = job.arrays
    return {"outs": res["outs"], "cycles": res["cycles"], "crossings": int(res["crossings"]),
            "sim_s": float(res["wall_s"]), "load_s": float(res["load_s"]), "wall_s": job.wall_s}


def check(plan: dict, rtl: dict) -> dict:
    """Compare every RTL output with the reuse model; per-class agreement and masking."""
    n, cfg = plan["n"], plan["cfg"]
    outs = rtl["outs"]
    depth = sram_depth(cfg)
    stats = {c: {"injections": 0, "agree": 0, "masked_rtl": 0, "masked_model": 0, "p_masked_closed_form": 0.0,
                 "reuse_factor_sum": 0} for c in plan["classes"]}
    first_mismatch = None
    t_model = 0.0
    for b in range(len(plan["tile_rows"])):
        a, w, pre0 = tile_of(plan, b)
        m, passes = a.shape[0], int(plan["tile_passes"][b])
        s = GemmSchedule(n=n, rows=m, passes=passes)
        if int(rtl["cycles"][b]) != s.total_cycles and first_mismatch is None:
            first_mismatch = {"tile": b, "what": f"run took {int(rtl['cycles'][b])} cycles, schedule says {s.total_cycles}"}
        closed = {c: structural_masking(c, n=n, rows=m, passes=passes, sram_words=depth) for c in plan["classes"]}
        a64, w64 = a.astype(np.int64), w.astype(np.int64)
        prod = a64 @ w64
        pre = pre0
        for j in np.flatnonzero(plan["f_tile"] == b):
            fault = fault_of(plan, int(j))
            got = outs[j, :m]
            clean = wrap_int32(pre.astype(np.int64) + prod)
            t1 = time.perf_counter()
            eff = fault_effect(fault, a, w, n=n, preload=pre)
            expect = eff.apply(clean)
            t_model += time.perf_counter() - t1
            st = stats[fault.cls]
            st["injections"] += 1
            ok = bool(np.array_equal(got, expect))
            st["agree"] += ok
            st["masked_rtl"] += bool(np.array_equal(got, clean))
            st["masked_model"] += eff.masked
            st["p_masked_closed_form"] += closed[fault.cls]
            st["reuse_factor_sum"] += eff.reuse_factor
            if not ok and first_mismatch is None:
                first_mismatch = {"injection": int(j), "tile": b, "rows": m, "passes": passes,
                                  "fault": repr(fault), "rtl": got.tolist(), "model": expect.tolist()}
            pre = got  # the next run starts from what the RTL left in the output buffer
    per_class = {}
    for c, st in stats.items():
        k = max(st["injections"], 1)
        per_class[c] = {"injections": st["injections"], "agree": st["agree"],
                        "agreement": st["agree"] / k if st["injections"] else float("nan"),
                        "masked_rtl": st["masked_rtl"] / k, "masked_model": st["masked_model"] / k,
                        "p_masked_closed_form": st["p_masked_closed_form"] / k,
                        "mean_reuse_factor": st["reuse_factor_sum"] / k}
    total = sum(st["injections"] for st in stats.values())
    agree = sum(st["agree"] for st in stats.values())
    return {"per_class": per_class, "injections": total, "agree": agree, "mismatches": total - agree,
            "first_mismatch": first_mismatch, "model_s": t_model}


def run_crossval(*, simulator: str, n: int = 4, injections: int = 10000, seed: int = 0, classes=None,
                 tile_every: int = 100, progress: bool = False, plan: dict | None = None, runner=None) -> dict:
    """Plan, run on the RTL, check; the report the CLI prints (see module docstring).

    ``plan``: a prepared plan (e.g. :func:`qtaml_hw.fidelity.targeted.targeted_plan`) instead of a
    random one; ``runner``: ``runner(plan, simulator=)`` instead of :func:`run_rtl` (e.g. the
    in-simulation loop :func:`qtaml_hw.fidelity.insim.run_insim`).
    """
    check_simulator(simulator)
    if plan is None:
        plan = plan_campaign(n=n, injections=injections, seed=seed, classes=classes, tile_every=tile_every)
    injections = len(plan["f_tile"])
    rtl = run_rtl(plan, simulator=simulator, progress=progress) if runner is None else runner(plan, simulator=simulator)
    res = check(plan, rtl)
    cfg = plan["cfg"]
    total_cycles = sum(GemmSchedule(n=n, rows=int(plan["tile_rows"][b]), passes=int(plan["tile_passes"][b])).total_cycles
                       for b in plan["f_tile"])
    res.update({
        "simulator": simulator, "n": n, "seed": seed, "classes": plan["classes"], "tiles": len(plan["tile_rows"]),
        "max_rows": cfg.max_rows, "max_passes": cfg.max_passes, "sram_words": sram_depth(cfg),
        "simulated_cycles": int(total_cycles), "crossings": rtl["crossings"],
        "crossings_per_injection": rtl["crossings"] / injections,
        "rtl_s": rtl["sim_s"], "rtl_load_s": rtl["load_s"], "launch_wall_s": rtl["wall_s"],
        "rtl_injections_per_s": injections / rtl["sim_s"],
        "model_injections_per_s": injections / max(res["model_s"], 1e-9),
        "bit_exact": res["mismatches"] == 0 and res["first_mismatch"] is None,
    })
    return res

