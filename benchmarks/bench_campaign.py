"""Campaign throughput (trials/s) at 1 and 2 local worker processes, side by side (design.md section 7).

The same memory-kind campaign (a 128x128 int8 tensor, 4 tasks) runs into two fresh stores,
once with ``--workers 1`` and once with ``--workers 2``; the stored trials are checked to be
identical and the ratio of throughputs is reported (ideal: the number of free cores).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def run(*, quick: bool = False) -> dict:
    from qtaml_hw.campaign import ResultStore, parse_config, run_campaign

    trials = 200 if quick else 2500
    doc = {"campaign": {"name": "bench", "kind": "memory", "seed": 0, "trials": trials, "batch_trials": 50},
           "memory": {"shape": [128, 128], "bits": 8}, "faults": {"p_flip": [0.01, 0.1]},
           "plans": [{"strategy": "uniform", "protect_msb": [0, 2]}]}
    cfg = parse_config(doc)
    out = {"tasks": 4, "trials_per_task": trials, "tensor": "128x128 int8"}
    with tempfile.TemporaryDirectory() as d:
        stores = {}
        for w in (1, 2):
            path = Path(d) / f"w{w}.sqlite"
            s = run_campaign(cfg, out=path, workers=w, progress=False)
            out[f"trials_per_s_{w}_worker{'s' if w > 1 else ''}"] = round(s["trials_per_s"], 1)
            with ResultStore.open(path) as store:
                stores[w] = {t["task_id"]: store.trials(t["task_id"])[1]["mse"] for t in store.tasks()}
        out["identical_results"] = all(np.array_equal(stores[1][k], stores[2][k]) for k in stores[1])
    out["ratio_2_over_1"] = round(out["trials_per_s_2_workers"] / out["trials_per_s_1_worker"], 2)
    return out
