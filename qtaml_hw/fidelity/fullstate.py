"""Full-state FIdelity cross-validation of ``accel_top``: every state bit, by hierarchical path.

docs/design.md section 6, docs/crossval.md.  The state elements come from the elaborated
RTL (:func:`accel_sites`: Yosys netlist + ``rtl/accel_top.roles.toml``), 2,721 bits for the
4x4 SECDED(39,32) build.  :func:`plan_fullstate` draws, from the seed, random tiles and one
injection per row of the plan: the state bit (a seeded permutation of *all* state bits, so
the first ``state_bits`` injections cover every bit once), the run cycle t (uniform in
[0, T)), and for the ECC-related classes (``sram``, ``sram_check``, ``sram_read``) a
multi-bit mask of 1-3 bits in the same word.  The RTL runs them all in one launch
(:mod:`qtaml_hw.fidelity.fullstate_tb`), flipping by path so the value is held from cycle t+1.

:mod:`qtaml_hw.fidelity.fullstate_model` predicts each result: datapath classes through
the reuse-factor model, ECC classes through the Python SECDED codec plus the golden GEMM
on the words the read port returns (outputs and the RTL's corrected/uncorrectable counts
bit-exact), buffers through the schedule, and the predictable control errors (skipped or
extra passes, a wrong row count, a corrupted cycle counter, a cleared busy or set done flag,
corrupted status counters).  Before reset every state element is set to 0 on both simulators
(:func:`qtaml_hw.fidelity.byo.zero_state`; Icarus would start at X).
Control outcomes (masked / wrong outputs / detected / hang) are measured per register.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.byo import state_words
from qtaml_hw.fidelity.crossval import random_tiles
from qtaml_hw.fidelity.design import DEFAULT_CLASS, Design, Site, design_sites, load_roles
from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.fidelity.fullstate_model import Injection, Prediction, Tile, predict
from qtaml_hw.fidelity.schedule import GemmSchedule
from qtaml_hw.hdl.job import run_job
from qtaml_hw.hdl.simulators import RTL_DIR, accel_sources, check_simulator
from qtaml_hw.seeding import rng

#: Classes whose injections get multi-bit masks (1-3 bits in one word).
MULTI_BIT_CLASSES = ("sram", "sram_check", "sram_read")
#: Classes checked bit-exactly against a model; the others get an outcome table.
MODELLED_CLASSES = ("weight", "act", "psum", "out", "sram", "sram_check", "sram_read", "act_buffer",
                    "out_buffer")
#: Classes restored by XOR after the run (memories the run only reads).
RESTORED_CLASSES = ("sram", "sram_check", "act_buffer")
#: Hang limit: a run must finish within HANG_FACTOR * MaxPasses pass lengths (+ 64 cycles).
HANG_FACTOR = 2


def fullstate_config(n: int = 4) -> TopConfig:
    """The build cross-validated: N x N, MaxRows 4, MaxPasses 4, SECDED on the top 4 bits."""
    if n != 4:
        raise QtamlError(f"array size N must be 4 for full-state cross-validation (--mode datapath: 4, 8 or 16), "
                         f"got {n}")
    return TopConfig(n=4, row_bits=2, pass_bits=2, ecc=1, protect_bits=4)


def accel_design(cfg: TopConfig) -> Design:
    """accel_top as a :class:`Design` for ``cfg`` (sources from rtl/files.f, roles from rtl/accel_top.roles.toml)."""
    return Design(name=f"accel_top-{cfg.n}x{cfg.n}", top="accel_top", sources=accel_sources(),
                  parameters=tuple(cfg.parameters().items()), roles=load_roles(RTL_DIR / "accel_top.roles.toml"))


@lru_cache(maxsize=4)
def accel_sites(cfg: TopConfig) -> tuple[Site, ...]:
    return tuple(design_sites(accel_design(cfg)))


def hang_limit(cfg: TopConfig, rows: int) -> int:
    """Cycles after start within which done must rise, else the run is a hang (timeout)."""
    return HANG_FACTOR * cfg.max_passes * GemmSchedule(n=cfg.n, rows=rows, passes=1).pass_cycles + 64


def _bit_table(sites) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every state bit as (site index, word, bit)."""
    s_idx, words, bits = [], [], []
    for i, s in enumerate(sites):
        for w in range(s.depth):
            for b in s.bits:
                s_idx.append(i)
                words.append(w)
                bits.append(b)
    return np.array(s_idx), np.array(words), np.array(bits)


def _tiles(cfg: TopConfig, n_tiles: int, seed: int) -> dict:
    return random_tiles(cfg, n_tiles, rng(seed, "fullstate", cfg.n, "tiles"))


def plan_fullstate(*, injections: int, seed: int, n: int = 4, classes=None, tile_every: int = 100) -> dict:
    """Tiles and injections (module docstring), deterministic in ``seed``."""
    if injections < 1 or tile_every < 1:
        raise QtamlError("injections and tile_every must be >= 1")
    cfg = fullstate_config(n)
    known = sorted({cls for _, cls in accel_design(cfg).roles} | {DEFAULT_CLASS})
    chosen = tuple(known) if not classes else tuple(dict.fromkeys(classes))
    bad = [c for c in chosen if c not in known]
    if bad:
        raise QtamlError(f"unknown fault class {bad[0]!r}; choose from {', '.join(known)}")
    sites = accel_sites(cfg)
    s_idx, words, bits = _bit_table(sites)
    keep = np.isin(np.array([sites[i].cls for i in s_idx]), chosen)
    s_idx, words, bits = s_idx[keep], words[keep], bits[keep]
    plan = {"cfg": cfg, "n": cfg.n, "seed": seed, "classes": list(chosen), "sites": sites,
            "state_bits": int(sum(s.state_bits for s in sites)), "candidate_bits": int(len(s_idx))}
    plan |= _tiles(cfg, math.ceil(injections / tile_every), seed)
    gen = rng(seed, "fullstate", cfg.n, "faults")
    order = np.concatenate([gen.permutation(len(s_idx)) for _ in range(math.ceil(injections / len(s_idx)))])
    pick = order[:injections]
    f_tile = np.arange(injections) // tile_every
    total = np.array([GemmSchedule(n=cfg.n, rows=int(r), passes=int(p)).total_cycles
                      for r, p in zip(plan["tile_rows"], plan["tile_passes"])])[f_tile]
    masks = np.left_shift(np.uint64(1), bits[pick].astype(np.uint64))
    for j in np.flatnonzero([sites[s_idx[i]].cls in MULTI_BIT_CLASSES for i in pick]):
        site = sites[s_idx[pick[j]]]
        extra = gen.choice(site.bits, size=int(gen.choice([0, 1, 2], p=[0.5, 0.3, 0.2])), replace=False)
        for b in extra:
            masks[j] |= np.uint64(1) << np.uint64(b)
    plan |= {"f_tile": f_tile, "f_site": s_idx[pick], "f_word": words[pick], "f_bit": bits[pick],
             "f_mask": masks, "f_cycle": (gen.random(injections) * total).astype(np.int64)}
    return plan


def run_fullstate_rtl(plan: dict, *, simulator: str, progress: bool = False, zero_init: bool = True) -> dict:
    """All injections of ``plan`` on the RTL in one launch; outputs, cycles, ECC counts, outcome flags.

    ``zero_init``: set every state element to 0 before reset (fullstate_tb); False leaves Icarus'
    X start (a negative control: X then reaches outputs through control faults).
    """
    check_simulator(simulator)
    cfg = plan["cfg"]
    sites = plan["sites"]
    job = {k: plan[k] for k in ("a", "pre", "sram_images", "tile_rows", "tile_passes", "f_tile", "f_site",
                                "f_word", "f_mask", "f_cycle")}
    job |= {"site_paths": np.array([s.path for s in sites]),
            "site_memory": np.array([s.kind == "memory" for s in sites]),
            "site_words": np.array([words for _, words in state_words(sites)]),
            "site_restore": np.array([s.cls in RESTORED_CLASSES for s in sites])}
    env = cfg.env() | {"QTAML_HANG_FACTOR": str(HANG_FACTOR), "QTAML_ZERO_STATE": str(int(zero_init))}
    res = run_job(simulator=simulator, toplevel="accel_top", sources=accel_sources(),
                  test_module="qtaml_hw.fidelity.fullstate_tb", parameters=cfg.parameters(),
                  defines=cfg.defines(), env=env, job=job, log_name=f"crossval-fullstate-n{cfg.n}.log",
                  progress_label=f"crossval {simulator} injections" if progress else None)
    r = res.arrays
    return {k: r[k] for k in (*RECORD_KEYS, "reloaded")} | {
        "x_reads": int(r["x_reads"]), "x_state_bits": int(r["x_state_bits"]),
        "crossings": int(r["crossings"]), "sim_s": float(r["wall_s"]), "load_s": float(r["load_s"]),
        "wall_s": res.wall_s}


OUTCOMES = ("masked", "wrong_outputs", "detected", "early_done", "hang")
#: Per-injection RTL records hashed by :func:`rtl_digest` (equal digests: identical runs).
RECORD_KEYS = ("outs", "cycles", "corrected", "uncorrectable", "hang", "early")


def rtl_digest(rtl: dict) -> str:
    """SHA-256 over every injection's RTL record (outputs, cycles, ECC counts, hang, early done).

    Two simulators (or two builds) that return the same digest for the same plan produced the
    same record for every injection, whatever the model says.
    """
    h = hashlib.sha256()
    for k in RECORD_KEYS:
        h.update(np.ascontiguousarray(rtl[k], dtype=np.int64).tobytes())
    return h.hexdigest()


def outcome(rtl: dict, j: int, clean_out: np.ndarray, rows: int) -> str:
    """FIdelity outcome class of injection j: hang > early done > detected (ECC uncorrectable) > wrong > masked."""
    if rtl["hang"][j]:
        return "hang"
    if rtl["early"][j]:
        return "early_done"
    if rtl["uncorrectable"][j] > 0:
        return "detected"
    return "wrong_outputs" if not np.array_equal(rtl["outs"][j, :rows], clean_out) else "masked"


def _tile_of(plan: dict, b: int, pre) -> Tile:
    cfg = plan["cfg"]
    m, k = int(plan["tile_rows"][b]), int(plan["tile_passes"][b]) * cfg.n
    return Tile(a=plan["a"][b, :m, :k], w=plan["w"][b, :k], pre=np.asarray(pre, np.int32), image=plan["sram_images"][b],
                n=cfg.n, max_rows=cfg.max_rows, max_passes=cfg.max_passes, protect_bits=cfg.protect_bits,
                hang_limit=hang_limit(cfg, m))


def _agrees(pred: Prediction, rtl: dict, j: int, rows: int) -> bool:
    if pred.hang or rtl["hang"][j]:
        return bool(pred.hang and rtl["hang"][j])
    return bool(np.array_equal(rtl["outs"][j, :rows], pred.out) and int(rtl["cycles"][j]) == pred.cycles
                and bool(rtl["early"][j]) == pred.early
                and int(rtl["corrected"][j]) == pred.corrected and int(rtl["uncorrectable"][j]) == pred.uncorrectable)


def _new_stats() -> dict:
    return {"injections": 0, "predicted": 0, "agree": 0, "outcomes": dict.fromkeys(OUTCOMES, 0), "registers": {}}


def check_fullstate(plan: dict, rtl: dict) -> dict:
    """Model vs RTL for every injection; per-class agreement and outcome tables (module docstring)."""
    sites = plan["sites"]
    stats: dict[str, dict] = {}
    first_mismatch, pre = None, None
    for j in range(len(plan["f_tile"])):
        b = int(plan["f_tile"][j])
        rows = int(plan["tile_rows"][b])
        if rtl["reloaded"][j] or pre is None:
            pre = plan["pre"][b, :rows]
        tile = _tile_of(plan, b, pre)
        site = sites[int(plan["f_site"][j])]
        inj = Injection(site.path, site.cls, int(plan["f_word"][j]) if site.kind == "memory" else -1,
                        int(plan["f_mask"][j]), int(plan["f_cycle"][j]))
        pred = predict(tile, inj)
        st = stats.setdefault(site.cls, _new_stats())
        st["injections"] += 1
        oc = outcome(rtl, j, tile.gemm(), rows)
        st["outcomes"][oc] += 1
        reg = st["registers"].setdefault(site.path, dict.fromkeys(OUTCOMES, 0))
        reg[oc] += 1
        if pred is not None:
            st["predicted"] += 1
            ok = _agrees(pred, rtl, j, rows)
            st["agree"] += ok
            if not ok and first_mismatch is None:
                first_mismatch = {"injection": j, "tile": b, "path": inj.path, "word": inj.word, "mask": inj.mask,
                                  "cycle": inj.cycle, "rtl": rtl["outs"][j, :rows].tolist(),
                                  "model": None if pred.hang else pred.out.tolist(),
                                  "rtl_cycles": int(rtl["cycles"][j]), "model_cycles": pred.cycles,
                                  "rtl_hang": bool(rtl["hang"][j]), "model_hang": pred.hang}
        pre = rtl["outs"][j, :rows] if not rtl["hang"][j] else plan["pre"][b, :rows]
    return {"per_class": _summarise(stats), "first_mismatch": first_mismatch}


def _summarise(stats: dict) -> dict:
    out = {}
    for cls, st in sorted(stats.items()):
        row = {"injections": st["injections"], "outcomes": st["outcomes"]}
        if cls in MODELLED_CLASSES:
            row |= {"agree": st["agree"], "agreement": st["agree"] / max(st["predicted"], 1)}
        else:
            row |= {"outcomes_per_register": st["registers"], "predicted": st["predicted"], "agree": st["agree"],
                    "agreement_on_predicted": st["agree"] / st["predicted"] if st["predicted"] else None}
        out[cls] = row
    return out


def agreement_totals(per_class: dict) -> dict:
    """Totals of :func:`check_fullstate`'s per-class rows: ``agree`` / ``modelled_injections`` over the
    modelled classes, ``mismatches`` there, ``predicted_mismatches`` over the injections of the other
    classes (control, status) that the model predicts, and ``bit_exact``: neither has a mismatch."""
    modelled = [v for c, v in per_class.items() if c in MODELLED_CLASSES]
    other = [v for c, v in per_class.items() if c not in MODELLED_CLASSES]
    agree, total = sum(v["agree"] for v in modelled), sum(v["injections"] for v in modelled)
    predicted_bad = sum(v["predicted"] - v["agree"] for v in other)
    return {"agree": agree, "modelled_injections": total, "mismatches": total - agree,
            "predicted_mismatches": predicted_bad, "bit_exact": total == agree and predicted_bad == 0}


def run_fullstate(*, simulator: str, injections: int, seed: int, n: int = 4, classes=None, tile_every: int = 100,
                  progress: bool = False) -> dict:
    """Plan, run on the RTL, check: the report ``qtaml-hw crossval`` prints (docs/crossval.md)."""
    plan = plan_fullstate(injections=injections, seed=seed, n=n, classes=classes, tile_every=tile_every)
    rtl = run_fullstate_rtl(plan, simulator=simulator, progress=progress)
    res = check_fullstate(plan, rtl)
    injected = {(int(s), int(w), int(b)) for s, w, b in zip(plan["f_site"], plan["f_word"], plan["f_bit"])}
    for j in np.flatnonzero([plan["sites"][int(s)].cls in MULTI_BIT_CLASSES for s in plan["f_site"]]):
        mask = int(plan["f_mask"][j])
        injected |= {(int(plan["f_site"][j]), int(plan["f_word"][j]), b) for b in range(64) if mask >> b & 1}
    res |= {"simulator": simulator, "n": plan["n"], "seed": seed, "mode": "fullstate", "classes": plan["classes"],
            "injections": injections, "state_bits": plan["state_bits"], "state_bits_injected": len(injected),
            "coverage": len(injected) / plan["state_bits"], "tiles": len(plan["tile_rows"]),
            "ecc": "SECDED(39,32) on the top 4 bits of each weight", **agreement_totals(res["per_class"]),
            "x_reads": rtl["x_reads"], "x_state_bits": rtl["x_state_bits"], "rtl_sha256": rtl_digest(rtl),
            "crossings": rtl["crossings"], "crossings_per_injection": rtl["crossings"] / injections,
            "rtl_s": rtl["sim_s"], "rtl_load_s": rtl["load_s"], "launch_wall_s": rtl["wall_s"],
            "rtl_injections_per_s": injections / rtl["sim_s"]}
    return res
