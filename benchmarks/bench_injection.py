"""Injection benchmark: flip_bits throughput vs copying the same bytes (design.md section 2).

Side by side in one run over the same (64 trials x 1M int8 weights): ``np.copyto`` of a
(64, 1M) uint8 array (the floor: the injector has to write that much) vs ``flip_bits`` with a
symmetric flip model at p = 1e-3 and p = 0.1. The injector is exact sparse sampling
(Geometric gaps per bit plane), so its cost is the copy plus ~ p * 8 * n * trials random
draws: near the copy at small p, dominated by the draws at p = 0.1.
"""

from __future__ import annotations

import time

import numpy as np


def _best(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(*, quick: bool = False) -> dict:
    from qtaml_hw.memory import FlipModel, flip_bits, quantize

    n = 100_000 if quick else 1_000_000
    trials = 64
    w = np.random.default_rng(0).normal(size=n).astype(np.float32)
    codes = quantize(w, bits=8).codes
    dst = np.empty((trials, n), np.uint8)
    src = np.ascontiguousarray(np.broadcast_to(codes, (trials, n)))  # a real (64, n) array
    dst2 = np.empty_like(dst)
    np.copyto(dst2, src)  # first touch outside the timing
    t_copy = _best(lambda: np.copyto(dst, src), repeat=5)
    out = {"weights": n, "trials": trials, "copy_s": t_copy,
           "copy_weight_trials_per_s": n * trials / t_copy}
    for p in (1e-3, 1e-1):
        fm = FlipModel.symmetric(p)
        t = _best(lambda: flip_bits(codes, bits=8, flip_model=fm, trials=trials, seed=1), repeat=3 if p < 0.01 else 1)
        out[f"p_{p:g}"] = {"inject_s": t, "weight_trials_per_s": n * trials / t, "ratio_vs_copy": t / t_copy}
    out["ratio"] = out["p_0.001"]["ratio_vs_copy"]
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
