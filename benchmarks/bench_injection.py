"""Injection benchmark: flip_bits throughput vs copying the same bytes (design.md section 2).

Side by side in one run over the same (64 trials x 1M int8 weights): ``np.copyto`` of a
(64, 1M) uint8 array into a warm destination (the bandwidth floor: the injector has to write
that much), a fresh ``np.empty`` + broadcast copy (what any function returning a new (64, 1M)
array pays, page faults included), and ``flip_bits`` at p = 1e-3 (symmetric), p = 0.1
(symmetric) and p10 = 0.1, p01 = 0.05 (the headline regime). ``ratio`` is injector / copyto
at p = 1e-3 (target: <= 5). The injector draws one PCG64 stream per trial; at small p it
is a copy plus ~ p * 8 * n Poisson hits per trial, at p = 0.1 a few bit-parallel random
words per 64 bits plus hits for the remainder (see ``qtaml_hw/memory/inject.py``).
"""

from __future__ import annotations

import numpy as np

from benchmarks._timing import best_of


def run(*, quick: bool = False) -> dict:
    from qtaml_hw.memory import FlipModel, flip_bits, quantize

    n = 100_000 if quick else 1_000_000
    trials = 64
    w = np.random.default_rng(0).normal(size=n).astype(np.float32)
    codes = quantize(w, bits=8).codes
    dst = np.empty((trials, n), np.uint8)
    src = np.ascontiguousarray(np.broadcast_to(codes, (trials, n)))  # a real (64, n) array
    np.copyto(dst, src)  # first touch outside the timing
    t_copy = best_of(lambda: np.copyto(dst, src), repeat=5)

    def fresh():
        out = np.empty((trials, n), np.uint8)
        out[...] = codes
        return out

    t_fresh = best_of(fresh, repeat=5)
    out = {"weights": n, "trials": trials, "copy_s": t_copy, "copy_weight_trials_per_s": n * trials / t_copy,
           "fresh_alloc_copy_s": t_fresh, "fresh_ratio_vs_copy": t_fresh / t_copy}
    cases = {"p_0.001": FlipModel.symmetric(1e-3), "p_0.1": FlipModel.symmetric(0.1),
             "p10_0.1_p01_0.05": FlipModel.symmetric(0.1, 0.5)}
    for name, fm in cases.items():
        t = best_of(lambda: flip_bits(codes, bits=8, flip_model=fm, trials=trials, seed=1), repeat=5)
        out[name] = {"inject_s": t, "weight_trials_per_s": n * trials / t, "ratio_vs_copy": t / t_copy,
                     "ratio_vs_fresh": t / t_fresh}
    out["ratio"] = out["p_0.001"]["ratio_vs_copy"]
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
