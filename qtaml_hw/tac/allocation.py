"""Layer-adaptive protected-bit allocation (design.md section 3).

Problem: choose ``m_l in {0..B}`` minimising ``sum_l A_l R_l(m_l)`` (``A_l = S_l n_l s_l^2``)
subject to ``sum_l n_l m_l <= budget`` (bits).  This is a separable knapsack.

* :func:`allocate_greedy` takes, at each step, the move with the largest gain per bit,
  ``A_l (R_l(m_l) - R_l(j)) / (n_l (j - m_l))`` over ``j > m_l`` (a step on the lower convex
  hull of ``R_l``, so it also copes with a non-convex ``R``), skipping moves that no longer fit.
  Theorem: when every ``R_l`` is convex, the greedy order is the global order of decreasing
  gain-per-bit, and at every budget equal to a cumulative cost of that order the greedy plan is
  the optimum of the LP relaxation and integral, hence exactly optimal.  With equal ``n_l`` every
  integer multiple of ``n`` is such a budget, so greedy is optimal at every budget.  Between those
  points (unequal ``n_l``) the knapsack rounding can make greedy sub-optimal.
* :func:`allocate_exact` solves the integer problem exactly by merging per-layer Pareto
  frontiers of (cost, objective); used for checking and for small models.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np

from qtaml_hw.errors import QtamlError


def _check(a, n, curves, budget):
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    curves = np.asarray(curves, dtype=np.float64)
    if budget < 0 or not np.isfinite(budget):
        raise QtamlError(f"budget must be a non-negative number of bits, got {budget}")
    if curves.ndim != 2 or curves.shape[0] != a.size or n.size != a.size:
        raise QtamlError("allocation needs one score, weight count and R curve per layer")
    if np.any(a < 0) or np.any(n <= 0):
        raise QtamlError("scores must be >= 0 and weight counts > 0")
    return a, n, curves


def _objectives(a, curves, plans) -> np.ndarray:
    """``sum_l A_l R_l(m_l)`` of each plan along the last axis of ``plans`` (one m per layer)."""
    plans = np.asarray(plans, dtype=np.int64)
    return np.sum(np.asarray(a) * np.asarray(curves)[np.arange(plans.shape[-1]), plans], axis=-1)


def objective(a, curves, m) -> float:
    """``sum_l A_l R_l(m_l)``."""
    return float(_objectives(a, curves, m))


def _best_move(a_l, n_l, curve, m):
    top = curve.size - 1
    if m >= top:
        return None
    j = np.arange(m + 1, top + 1)
    ratio = a_l * (curve[m] - curve[j]) / (n_l * (j - m))
    k = int(np.argmax(ratio))
    return float(ratio[k]), int(j[k])


def greedy_path(a, n, curves):
    """The full greedy order as a list of ``(layer, new_m, cost_bits)`` moves, ignoring any budget."""
    a, n, curves = _check(a, n, curves, 0)
    m = np.zeros(a.size, dtype=np.int64)
    heap = []
    for l in range(a.size):
        mv = _best_move(a[l], n[l], curves[l], 0)
        if mv:
            heapq.heappush(heap, (-mv[0], l, mv[1]))
    path = []
    while heap:
        _, l, j = heapq.heappop(heap)
        path.append((l, j, int(n[l] * (j - m[l]))))
        m[l] = j
        mv = _best_move(a[l], n[l], curves[l], j)
        if mv:
            heapq.heappush(heap, (-mv[0], l, mv[1]))
    return path


def allocate_greedy(*, a, n, curves, budget) -> np.ndarray:
    """Greedy marginal-gain-per-bit allocation (module docstring); returns ``m`` (int array)."""
    a, n, curves = _check(a, n, curves, budget)
    m = np.zeros(a.size, dtype=np.int64)
    left = float(budget)
    heap = []
    for l in range(a.size):
        mv = _best_move(a[l], n[l], curves[l], 0)
        if mv:
            heapq.heappush(heap, (-mv[0], l, mv[1]))
    while heap:
        _, l, j = heapq.heappop(heap)
        cost = n[l] * (j - m[l])
        if cost <= left:
            left -= cost
            m[l] = j
            mv = _best_move(a[l], n[l], curves[l], j)
        else:  # the hull step does not fit: try the single next bit if that fits
            mv = None
            if n[l] <= left and j - m[l] > 1:
                mv = (a[l] * (curves[l][m[l]] - curves[l][m[l] + 1]) / n[l], m[l] + 1)
        if mv and mv[0] > 0:
            heapq.heappush(heap, (-mv[0], l, mv[1]))
    return m


def pareto_frontier(*, a, n, curves, budget=None, max_states: int = 200_000) -> list:
    """All Pareto-optimal plans ``(cost_bits, objective, m tuple)``, cost ascending, objective descending.

    Layer by layer, every kept plan is extended by every ``m_l``; the candidates are sorted by
    (cost, objective) (stable) and a candidate is kept when its objective is below every earlier one.
    """
    a, n, curves = _check(a, n, curves, 0 if budget is None else budget)
    cap = np.inf if budget is None else budget
    cost, obj, ms = np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros((1, 0), dtype=np.int64)
    js = np.arange(curves.shape[1])
    for l in range(a.size):
        c = (cost[:, None] + int(n[l]) * js[None, :]).ravel()
        o = (obj[:, None] + a[l] * curves[l][None, :]).ravel()
        parent, j = np.divmod(np.arange(c.size), js.size)
        fits = c <= cap
        c, o, parent, j = c[fits], o[fits], parent[fits], j[fits]
        order = np.lexsort((o, c))
        c, o, parent, j = c[order], o[order], parent[order], j[order]
        prev = np.concatenate(([np.inf], np.minimum.accumulate(o)[:-1]))
        keep = o < prev - 1e-15 * np.maximum(1.0, np.abs(np.where(np.isfinite(prev), prev, 0.0)))
        cost, obj = c[keep], o[keep]
        ms = np.concatenate((ms[parent[keep]], j[keep, None]), axis=1)
        if cost.size > max_states:
            raise QtamlError(f"exact allocation frontier exceeds {max_states} states; use the greedy allocator")
    return [(int(ci), float(oi), tuple(int(v) for v in row)) for ci, oi, row in zip(cost, obj, ms)]


def allocate_exact(*, a, n, curves, budget, max_states: int = 200_000) -> np.ndarray:
    """Exact knapsack optimum by merging per-layer Pareto frontiers (cost asc, objective desc)."""
    frontier = pareto_frontier(a=a, n=n, curves=curves, budget=budget, max_states=max_states)
    return np.array(frontier[-1][2], dtype=np.int64)


def allocate(*, a, n, curves, budget, max_states: int = 20_000) -> np.ndarray:
    """Exact allocation when the Pareto frontier stays below ``max_states``, else greedy."""
    try:
        return allocate_exact(a=a, n=n, curves=curves, budget=budget, max_states=max_states)
    except QtamlError:
        return allocate_greedy(a=a, n=n, curves=curves, budget=budget)


def allocate_brute_force(*, a, n, curves, budget) -> np.ndarray:
    """Enumerate all ``(B+1)^L`` plans at once (tests only); the first best in lexicographic order.

    The all-zero plan costs nothing, so with ``budget >= 0`` (checked) some plan is always feasible."""
    a, n, curves = _check(a, n, curves, budget)
    plans = np.array(list(itertools.product(range(curves.shape[1]), repeat=a.size)), dtype=np.int64)
    feasible = plans[plans @ n <= budget]
    return feasible[np.argmin(_objectives(a, curves, feasible))]
