"""Greedy vs brute force vs exact knapsack on small random cases; baselines; rho*."""

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.tac.allocation import allocate_brute_force, allocate_exact, allocate_greedy, greedy_path, objective
from qtaml_hw.tac.baselines import plan
from qtaml_hw.tac.rho import rho_table, tac_budget_for

B = 4


def _convex_curves(r, layers):
    # R(m) = sum_{k < B-m} 4^k v_k with positive per-bit variances: convex decreasing
    out = []
    for _ in range(layers):
        v = r.uniform(0.5, 1.5, B)
        gains = (4.0 ** np.arange(B)) * v
        out.append([gains[:B - m].sum() for m in range(B + 1)])
    return np.array(out)


@pytest.mark.parametrize("case", range(30))
def test_greedy_optimal_with_equal_sizes(case):
    r = np.random.default_rng(case)
    layers = 4
    a, n, curves = r.uniform(0.1, 10, layers), np.full(layers, 3), _convex_curves(r, layers)
    for budget in range(0, 3 * layers * B + 1, 3):
        g = allocate_greedy(a=a, n=n, curves=curves, budget=budget)
        bf = allocate_brute_force(a=a, n=n, curves=curves, budget=budget)
        assert objective(a, curves, g) == pytest.approx(objective(a, curves, bf), rel=1e-12)


@pytest.mark.parametrize("case", range(30))
def test_exact_optimal_and_greedy_on_its_path(case):
    r = np.random.default_rng(100 + case)
    layers = 4
    a, n, curves = r.uniform(0.1, 10, layers), r.integers(1, 6, layers), _convex_curves(r, layers)
    for budget in range(0, int(n.sum()) * B + 1):
        ex = allocate_exact(a=a, n=n, curves=curves, budget=budget)
        bf = allocate_brute_force(a=a, n=n, curves=curves, budget=budget)
        g = allocate_greedy(a=a, n=n, curves=curves, budget=budget)
        assert np.sum(n * ex) <= budget and np.sum(n * g) <= budget
        assert objective(a, curves, ex) == pytest.approx(objective(a, curves, bf), rel=1e-12)
        assert objective(a, curves, g) >= objective(a, curves, bf) * (1 - 1e-12)
    spent = 0  # at every cumulative cost of the greedy order, greedy is exactly optimal
    for _, _, cost in greedy_path(a, n, curves):
        spent += cost
        g = allocate_greedy(a=a, n=n, curves=curves, budget=spent)
        bf = allocate_brute_force(a=a, n=n, curves=curves, budget=spent)
        assert objective(a, curves, g) == pytest.approx(objective(a, curves, bf), rel=1e-12)


def test_greedy_not_always_optimal_with_unequal_sizes():
    # knapsack rounding: gain/bit is 5 for the 2-weight layer, 6 for the 1-weight layers
    a, n = np.array([10.0, 6.0, 6.0]), np.array([2, 1, 1])
    curves = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    g = allocate_greedy(a=a, n=n, curves=curves, budget=3)
    ex = allocate_exact(a=a, n=n, curves=curves, budget=3)
    assert objective(a, curves, g) == 10.0  # greedy takes both small layers, 1 bit left over
    assert objective(a, curves, ex) == 6.0  # optimum: big layer + one small layer


def test_baselines_and_errors():
    r = np.random.default_rng(0)
    curves = _convex_curves(r, 3)
    kw = dict(sens=[1.0, 100.0, 1.0], n=[10, 10, 10], scale2=[1, 1, 1], curves=curves, w_sq=[50.0, 1.0, 1.0],
              bits=B)
    assert list(plan("uniform", budget=65, **kw)) == [2, 2, 2]
    assert plan("tac", budget=20, **kw)[1] == 2  # the sensitive layer first
    assert plan("magnitude", budget=20, **kw)[0] >= 1  # the large-weight layer first
    assert list(plan("gaussian", budget=40, **kw)) == [0, 4, 0]  # equal bit value: all in the best layer
    with pytest.raises(QtamlError):
        plan("bogus", budget=1, **kw)
    with pytest.raises(QtamlError):
        plan("tac", budget=-1, **kw)


def test_rho_closed_form():
    # two layers, one 100x more sensitive: TAC protects only it
    curves = np.tile([4.0 ** -m for m in range(B + 1)], (2, 1))
    a, n = np.array([100.0, 1.0]), np.array([50, 50])
    rows = rho_table(a=a, n=n, curves=curves)
    # m=2 uniform: target 101/16 = 6.31; TAC: layer0 m=2 -> 6.25+1 = 7.25 (100 bits), m=3 -> 1.5625+1 (150 bits)
    assert rows[1]["budget_uniform"] == 200 and rows[1]["budget_tac"] == 150
    assert rows[1]["rho"] == pytest.approx(200 / 150)
    assert tac_budget_for(a=a, n=n, curves=curves, target=1e9) == 0
    assert all(r["rho"] >= 1.0 for r in rows)
