"""Campaign engine: Dask vs local wall time on the same campaign, and local 1 vs 2 workers (design.md section 7).

The same memory-kind campaign (a 128x128 int8 tensor, 4 tasks, chunks of 50 trials: many
small chunks, the case where per-chunk overhead shows) runs into fresh stores

* on 2 local spawn processes (``workers=2``), and
* on a ``distributed.LocalCluster`` of the same size (``[dask] cluster = "local"``, ``jobs = 2``:
  2 worker processes x 1 thread), end to end as ``campaign run`` does it (the local run spawns
  its pool, the Dask run starts and stops its cluster: both pay their workers' start-up), and
* on a warm ``LocalCluster`` of the same size started once before the rounds (``--dask ADDRESS``
  to a running scheduler: the engine's execution alone),

in interleaved rounds.  Reported: each round's wall times, the ratios Dask / local per round,
their means and Student-t 95 % intervals over rounds (``qtaml_hw.stats.mean_ci``), and whether
the stored trials are identical.  Goal (issue 12): ratio <= 1.3.  Then 1 vs 2 local workers
(throughput), and adaptive stopping vs a fixed-count run of the cap on
``examples/campaign_adaptive.toml`` (trials needed, and whether every task's decision agrees).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import attrs
import numpy as np
from distributed import Client, LocalCluster

from qtaml_hw.campaign import ResultStore, expand_tasks, load_config, parse_config, run_campaign
from qtaml_hw.stats import mean_ci


def _config(trials: int, dask: dict | None = None):
    return parse_config({**({"dask": dask} if dask else {}), "campaign": {"name": "bench", "kind": "memory", "seed": 0, "trials": trials,
                                      "batch_trials": 50},
                         "memory": {"shape": [128, 128], "bits": 8}, "faults": {"p_flip": [0.01, 0.1]},
                         "plans": [{"strategy": "uniform", "protect_msb": [0, 2]}]})


def _trials(path) -> dict:
    with ResultStore.open(path) as store:
        return {t["task_id"]: store.trials(t["task_id"])[1]["mse"] for t in store.tasks()}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _ratio(num, den) -> dict:
    r = np.asarray(num) / np.asarray(den)
    m, lo, hi = mean_ci(r)
    return {"mean": round(m, 3), "ci95": [round(lo, 3), round(hi, 3)]}


def dask_vs_local(trials: int, rounds: int, d: Path) -> dict:
    """Interleaved rounds: local (2 processes), Dask end to end (cluster started per run), Dask on a warm cluster."""
    cfg, cfg_dask = _config(trials), _config(trials, {"cluster": "local", "jobs": 2})
    local_s, dask_s, warm_s, same = [], [], [], True
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for r in range(rounds):
            lo, da, wa = d / f"local{r}.sqlite", d / f"dask{r}.sqlite", d / f"warm{r}.sqlite"
            local_s.append(_timed(lambda: run_campaign(cfg, out=lo, workers=2, progress=False, force_workers=True)))
            dask_s.append(_timed(lambda: run_campaign(cfg_dask, out=da, progress=False)))
            warm_s.append(_timed(lambda: run_campaign(cfg, out=wa, dask_client=client, progress=False)))
            ref = _trials(lo)
            for other in (_trials(da), _trials(wa)):
                same = same and ref.keys() == other.keys() and all(np.array_equal(ref[k], other[k]) for k in ref)
    return {"local_2_workers_s": [round(x, 2) for x in local_s],
            "dask_2_workers_s": [round(x, 2) for x in dask_s],
            "dask_warm_cluster_s": [round(x, 2) for x in warm_s],
            "ratio_dask_over_local": _ratio(dask_s, local_s),
            "ratio_dask_warm_over_local": _ratio(warm_s, local_s),
            "goal_ratio": 1.3, "identical_results": bool(same)}


def adaptive_vs_fixed(d: Path) -> dict:
    """examples/campaign_adaptive.toml with its [stopping] question and as a fixed-count run of the cap."""
    cfg = load_config(Path(__file__).resolve().parents[1] / "examples" / "campaign_adaptive.toml")
    fixed = attrs.evolve(cfg, stopping=attrs.evolve(cfg.stopping, target=None))
    t_a = _timed(lambda: run_campaign(cfg, out=d / "adaptive.sqlite", workers=0, progress=False))
    t_f = _timed(lambda: run_campaign(fixed, out=d / "fixed.sqlite", workers=0, progress=False))
    tasks = expand_tasks(cfg)
    with ResultStore.open(d / "adaptive.sqlite") as a, ResultStore.open(d / "fixed.sqlite") as f:
        n_a, n_f = a.count(), f.count()
        same = sum(t.stopping.settle(a.trials(t.id)[1]["mse"])[0].outcome
                   == t.stopping.decide(f.trials(t.id)[1]["mse"]).outcome for t in tasks)
    return {"config": "examples/campaign_adaptive.toml", "tasks": len(tasks), "trials_adaptive": n_a,
            "trials_fixed": n_f, "trial_ratio_fixed_over_adaptive": round(n_f / n_a, 2),
            "same_decisions": f"{same}/{len(tasks)}", "wall_s_adaptive": round(t_a, 2), "wall_s_fixed": round(t_f, 2)}


def run(*, quick: bool = False) -> dict:
    trials = 250 if quick else 5000
    cfg = _config(trials)
    out = {"tasks": 4, "trials_per_task": trials, "tensor": "128x128 int8", "batch_trials": 50,
           "command": "python -m benchmarks.run_all --only campaign"}
    with tempfile.TemporaryDirectory() as d:
        out.update(dask_vs_local(trials, 2 if quick else 4, Path(d)))
        for w in (1, 2):
            s = run_campaign(cfg, out=Path(d) / f"w{w}.sqlite", workers=w, progress=False, force_workers=True)
            out[f"trials_per_s_{w}_worker{'s' if w > 1 else ''}"] = round(s["trials_per_s"], 1)
        out["stopping"] = adaptive_vs_fixed(Path(d))
    out["ratio_2_over_1"] = round(out["trials_per_s_2_workers"] / out["trials_per_s_1_worker"], 2)
    return out
