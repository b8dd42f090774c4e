"""TAC benchmark: greedy vs exact (Pareto) allocation, and mean-corrected vs plain dequantization.

Side by side in one run: wall time of both allocators on the same random convex problem and the
ratio of their objectives (greedy / exact, >= 1); time of ``corrected_dequantize`` vs the plain
``QuantizedTensor.dequantize`` on the same faulty codes.
"""

from __future__ import annotations

import time

import numpy as np


def _timed(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(*, quick: bool = False) -> dict:
    from qtaml_hw.memory import FlipModel, flip_bits, quantize
    from qtaml_hw.tac.allocation import allocate_exact, allocate_greedy, objective
    from qtaml_hw.tac.correction import corrected_dequantize

    r = np.random.default_rng(0)
    layers, bits = (6, 8) if quick else (8, 8)
    n = r.integers(100, 50_000, layers)
    a = r.uniform(0.1, 10, layers)
    gains = (4.0 ** np.arange(bits)) * r.uniform(0.5, 1.5, (layers, bits))  # convex decreasing R
    curves = np.array([[g[:bits - m].sum() for m in range(bits + 1)] for g in gains])
    budget = 1.5 * n.sum()
    tg, mg = _timed(lambda: allocate_greedy(a=a, n=n, curves=curves, budget=budget), 5)
    te, me = _timed(lambda: allocate_exact(a=a, n=n, curves=curves, budget=budget), 1 if quick else 2)
    size = 100_000 if quick else 1_000_000
    qt = quantize(r.standard_normal(size), bits=8)
    fm = FlipModel(0.1, 0.1)
    faulty = flip_bits(qt.codes, bits=8, flip_model=fm, trials=4, seed=0, protect_msb=2)
    tp, _ = _timed(lambda: qt.dequantize(faulty), 3)
    tc, _ = _timed(lambda: corrected_dequantize(faulty, scale=qt.scale, bits=8, code="twos", flip_model=fm,
                                                protect_msb=2), 3)
    return {"layers": layers, "greedy_s": tg, "exact_s": te, "exact_over_greedy_time": te / tg,
            "greedy_over_exact_objective": objective(a, curves, mg) / objective(a, curves, me),
            "dequant_weights": 4 * size, "plain_dequant_s": tp, "corrected_dequant_s": tc,
            "corrected_over_plain_time": tc / tp}
