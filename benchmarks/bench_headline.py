"""Headline sweep: adaptive stopping vs a fixed-count run, side by side (design.md sections 3 and 7).

The same ``headline`` tasks (LeNet-5, symmetric p = 0.1 and directional r = 0.1; Uniform-MSP, TAC and
magnitude plans on a 0.5 bit/weight grid from 0 to 3 -- the reduced grid --; 200 test images) run twice through the
campaign engine: with adaptive stopping (each task stops once the 95 % interval of its mean accuracy
is clear of 0.95 x clean, looked at after 4, 8, 16, 32 trials) and with a fixed 32 trials per task.
Each pair of runs is repeated for campaign seeds 0-4 (different fault draws; the plans come from
one setup, seed 0).  Reported: both trial counts, their ratio (pooled over seeds, and per seed with a
95 % t-interval over the five seeds), and the agreement of the pass/fail decision of every
(condition, strategy, budget) task (adaptive: "above" passes, "below" fails, at the cap the mean
decides; fixed: the mean of 32 trials).  A reduced grid (one model, coarse budgets) keeps the
benchmark to a few minutes; the full headline uses the same engine and rule.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import attrs


def _passes(decision) -> bool:
    if decision["outcome"] in ("above", "below"):
        return decision["outcome"] == "above"
    return decision["mean"] >= decision["target"]


SEEDS = (0, 1, 2, 3, 4)  # campaign seeds (the fault draws); the plans come from setup seed 0 for all


def _run_once(cfg, setups, budgets, *, seed: int, adaptive: bool, store: Path) -> dict:
    from qtaml_hw.campaign.headline import Sweep

    sweep = Sweep(attrs.evolve(cfg, adaptive=adaptive))
    for st in setups:
        for strategy in cfg.strategies:
            sweep.add(st, strategy, budgets)
    t1 = time.perf_counter()
    res = sweep.run(out=store, seed=seed, workers=0, progress=False)
    targets = {tid: st.target for st in setups for key, pts in sweep.points.items()
               if key[:2] == (st.model, st.condition) for tid in pts}
    return {"trials": res["trials_total"], "seconds": time.perf_counter() - t1,
            "pass": {tid: _passes({**dec, "target": targets[tid]}) for tid, dec in res["decisions"].items()}}


def run(*, quick: bool = False) -> dict:
    import numpy as np
    import torch

    from qtaml_hw.campaign.headline import HeadlineConfig, Setup, grid
    from qtaml_hw.stats import t_interval

    torch.set_num_threads(2)
    cfg = HeadlineConfig(models=("lenet5",), conditions=("symmetric",) if quick else ("symmetric", "directional"),
                         strategies=("uniform", "tac", "magnitude"), test_subset=200, calib_samples=128, probes=2,
                         predict_samples=32, first_order=False, read_ablation=False, max_trials=32, min_trials=4)
    budgets = grid(0.0, 3.0, 1.0 if quick else 0.5)
    seeds = SEEDS[:1] if quick else SEEDS
    t0 = time.perf_counter()
    setups = [Setup(cfg, "lenet5", c, seed=0) for c in cfg.conditions]
    setup_s = time.perf_counter() - t0
    per_seed = []
    with tempfile.TemporaryDirectory() as d:
        for seed in seeds:
            a, f = (_run_once(cfg, setups, budgets, seed=seed, adaptive=ad, store=Path(d) / f"{seed}_{ad}.sqlite")
                    for ad in (True, False))
            per_seed.append({"seed": seed, "tasks": len(f["pass"]), "trials_adaptive": a["trials"], "trials_fixed": f["trials"],
                             "fewer_trials_x": f["trials"] / a["trials"],
                             "decisions_agree": sum(a["pass"][t] == f["pass"][t] for t in f["pass"]),
                             "passes_adaptive": sum(a["pass"].values()), "passes_fixed": sum(f["pass"].values()),
                             "seconds_adaptive": a["seconds"], "seconds_fixed": f["seconds"]})
    ratios = np.array([r["fewer_trials_x"] for r in per_seed])
    total = {k: sum(r[k] for r in per_seed) for k in ("trials_adaptive", "trials_fixed", "decisions_agree",
                                                       "seconds_adaptive", "seconds_fixed")}
    return {"model": "lenet5", "conditions": list(cfg.conditions), "strategies": list(cfg.strategies),
            "budgets_bpw": budgets, "tasks": per_seed[0]["tasks"],
            "seeds": list(seeds), "trials_adaptive": total["trials_adaptive"], "trials_fixed": total["trials_fixed"],
            "fewer_trials_x": total["trials_fixed"] / total["trials_adaptive"],
            "fewer_trials_x_mean_over_seeds": float(ratios.mean()),
            "fewer_trials_x_ci95": list(t_interval(ratios)) if len(ratios) > 1 else None,
            "decisions_agree": total["decisions_agree"],
            "decisions_total": sum(r["tasks"] for r in per_seed),
            "seconds_adaptive": total["seconds_adaptive"], "seconds_fixed": total["seconds_fixed"],
            "setup_s": setup_s, "per_seed": per_seed}
