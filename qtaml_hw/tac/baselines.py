"""Baseline allocations TAC is compared with (design.md section 3).

* Uniform-MSP: the same ``m = floor(budget / N)`` for every layer.
* magnitude: layer score ``||W_l||_F^2`` (weights only: no Jacobian, no physics) with the
  generic bit-position curve ``R(m) = sum_{k < B-m} 4^k`` (equal, symmetric flips, no code),
  allocated by the same allocator (allocation.allocate: exact Pareto when small, else greedy).
* gaussian: TAC's sensitivities with a generic Gaussian-noise model -- equal variance per bit,
  ``R(m) = (B - m) / B`` -- which misses the MSB hierarchy (every bit looks equally worth protecting).
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.tac.allocation import allocate as allocate_greedy  # exact when small, else greedy

STRATEGIES = ("tac", "uniform", "magnitude", "gaussian")


def uniform_plan(*, n, bits: int, budget) -> np.ndarray:
    """Uniform-MSP: ``m = min(B, floor(budget / sum_l n_l))`` protected MSBs in every layer."""
    n = np.asarray(n, dtype=np.int64)
    m = min(bits, int(budget // int(n.sum())))
    return np.full(n.size, m, dtype=np.int64)


def generic_curve(bits: int) -> np.ndarray:
    """``R(m) = sum_{k < B-m} 4^k`` for m = 0..B: equal p on every bit of a linear code, in units of
    ``Var(b')`` -- :func:`qtaml_hw.memory.residual_fraction` times ``(4^B - 1) / 3`` (design.md section 2,
    property 2), kept as an exact integer sum so the allocator sees no rounding ties."""
    return np.array([float(np.sum(4.0 ** np.arange(bits - m))) for m in range(bits + 1)])


def gaussian_curve(bits: int) -> np.ndarray:
    """``R(m) = (B - m) / B``: the generic Gaussian-noise model, every bit carrying the same variance."""
    return (bits - np.arange(bits + 1)) / bits


def plan(strategy: str, *, sens, n, scale2, curves, w_sq, bits: int, budget) -> np.ndarray:
    """Protected-MSB counts per layer for ``strategy`` in :data:`STRATEGIES`.

    ``sens``: per-weight ``S_l``; ``scale2``: ``s_l^2``; ``curves``: physics ``R_l(0..B)``;
    ``w_sq``: ``||W_l||_F^2``.
    """
    n = np.asarray(n, dtype=np.int64)
    if budget < 0:
        raise QtamlError(f"budget must be >= 0 bits, got {budget}")
    if strategy == "uniform":
        return uniform_plan(n=n, bits=bits, budget=budget)
    if strategy == "tac":
        return allocate_greedy(a=np.asarray(sens) * n * np.asarray(scale2), n=n, curves=curves, budget=budget)
    if strategy == "magnitude":
        return allocate_greedy(a=np.asarray(w_sq, dtype=np.float64), n=n,
                               curves=np.tile(generic_curve(bits), (n.size, 1)), budget=budget)
    if strategy == "gaussian":
        return allocate_greedy(a=np.asarray(sens) * n * np.asarray(scale2), n=n,
                               curves=np.tile(gaussian_curve(bits), (n.size, 1)), budget=budget)
    raise QtamlError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
