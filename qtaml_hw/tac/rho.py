"""Saturation ratio rho* (design.md section 3), predicted from the scores before any Monte Carlo.

For a target predicted output-error variance ``V*``: ``B_U(V*)`` is the smallest Uniform-MSP
budget ``N m`` with ``sum_l A_l R_l(m) <= V*``; ``B_T(V*)`` the smallest budget of any plan with
``sum_l A_l R_l(m_l) <= V*``, read off the exact Pareto frontier (allocation.pareto_frontier) when
it is small enough, else off the greedy path (optimal at its own points, may overshoot by one
step).  Since the uniform plan is feasible, ``rho* >= 1`` with the exact frontier.
``rho* = B_U / B_T``.  The table is evaluated at the targets set by each uniform level
``m = 1..B``.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.tac.allocation import greedy_path, pareto_frontier


def tac_budget_for(*, a, n, curves, target: float, exact: bool = True) -> int:
    """Smallest budget (bits) whose predicted variance is <= ``target`` (exact frontier if feasible)."""
    if exact:
        try:
            front = pareto_frontier(a=a, n=n, curves=curves, max_states=20_000)
            tol = target * (1 + 1e-12)
            return int(min(c for c, o, _ in front if o <= tol))
        except QtamlError:
            pass
    a, curves = np.asarray(a, dtype=np.float64), np.asarray(curves, dtype=np.float64)
    m = np.zeros(a.size, dtype=np.int64)
    value = float(np.sum(a * curves[:, 0]))
    spent = 0
    if value <= target:
        return 0
    for l, j, cost in greedy_path(a, n, curves):
        value += a[l] * (curves[l][j] - curves[l][m[l]])
        m[l] = j
        spent += cost
        if value <= target * (1 + 1e-12):
            return spent
    return spent


def rho_table(*, a, n, curves) -> list[dict]:
    """``[{m_uniform, target, budget_uniform, budget_tac, rho}]`` for uniform levels 1..B."""
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.int64)
    curves = np.asarray(curves, dtype=np.float64)
    total = int(n.sum())
    rows = []
    for m in range(1, curves.shape[1]):
        target = float(np.sum(a * curves[:, m]))
        bt = tac_budget_for(a=a, n=n, curves=curves, target=target)
        rows.append({"m_uniform": m, "target": target, "budget_uniform": total * m, "budget_tac": bt,
                     "rho": (total * m) / bt if bt > 0 else float("inf")})
    return rows
