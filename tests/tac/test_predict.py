"""Accuracy predictor vs exact on a linear model; group plans; crossings."""

import numpy as np
import pytest
import torch
from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn import QuantizedModel
from qtaml_hw.tac.groups import analyse_groups, faulty_weights, read_tables
from qtaml_hw.tac.predict import crossing_budget, finite_keep, first_order_keep, margin_data, mean_margins


def _linear(seed=0, d=48, c=4):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, c, bias=False))
    q = QuantizedModel(model, bits=8)
    x = torch.randn(40, d)
    return q, x


@pytest.mark.parametrize("read", ["plain", "posterior"])
def test_linear_model_sigma_and_bias_exact(read):
    """For a linear model the margin's mean shift and variance have exact per-weight forms; the predictor's match."""
    q, x = _linear()
    fm = FlipModel(0.05, 0.05)  # symmetric: Var(v_hat | v) is the same for every code, so group means are exact
    sens = {q.layers[0].name: np.ones(q.layers[0].qtensor.codes.shape)}
    ga = analyse_groups(q, sens, flip_model=fm, read=read)
    data = margin_data(q, x, drift={read: ga.drift})
    m = np.array([0, 1, 2, 3])  # one group per output row
    qt = q.layers[0].qtensor
    s = float(np.asarray(qt.scale))
    w_grad = np.zeros((len(x), 3, *qt.codes.shape))  # d margin_j / d W = e_c x^T - e_j x^T
    for n in range(len(x)):
        for k in range(3):
            w_grad[n, k, data.clean_class[n]] += x[n].numpy()
            w_grad[n, k, data.competitors[n, k]] -= x[n].numpy()
    var_w = ga.var[np.arange(4), m][:, None] * s ** 2
    sigma2_exact = (w_grad ** 2 * var_w).sum(axis=(2, 3))
    drift_w = np.stack([ga.drift[0][m[r]][qt.codes[r].astype(np.int64)] for r in range(4)]) * s
    bias_exact = (w_grad * drift_w).sum(axis=(2, 3))
    np.testing.assert_allclose(data.gsq @ (np.concatenate([g.scale2 for g in ga.layers]) * ga.var[np.arange(4), m]),
                               sigma2_exact, rtol=1e-6)
    np.testing.assert_allclose(data.bias[read][:, :, np.arange(4), m].sum(-1), bias_exact, rtol=1e-5, atol=1e-7)
    # the margin at the mean weights is the clean margin plus the exact bias (linear model)
    np.testing.assert_allclose(mean_margins(q, x, data, ga, m), data.margins + bias_exact, rtol=1e-4, atol=1e-5)


def test_linear_model_keep_probability_vs_monte_carlo():
    """P(keep) from the Phi formula vs the fraction of 600 real fault draws that keep the class (exact law)."""
    q, x = _linear(seed=1, d=64)
    fm = FlipModel(0.02, 0.02)
    sens = {q.layers[0].name: np.ones(q.layers[0].qtensor.codes.shape)}
    ga = analyse_groups(q, sens, flip_model=fm, read="posterior")
    data = margin_data(q, x, drift={"posterior": ga.drift})
    m = np.full(4, 2)
    pred = first_order_keep(data, ga, m, read="posterior")
    mc = finite_keep(q, x, data, m, tables=read_tables(q, kind="posterior", flip_model=fm), flip_model=fm,
                     draws=600, seed=3)
    se = np.sqrt(np.maximum(mc * (1 - mc), 1e-3) / 600)
    assert np.mean(np.abs(pred - mc)) < 0.03  # Gaussian margins (sum of 128 independent weight errors)
    assert abs(pred.mean() - mc.mean()) < 4 * np.sqrt(np.mean(se ** 2) / len(x)) + 0.01


def test_faulty_weights_protect_and_read():
    q, _ = _linear()
    fm = FlipModel(0.3, 0.3)
    tables = read_tables(q, kind="plain", flip_model=fm)
    m = np.array([8, 0, 4, 2])
    w = faulty_weights(q, m, tables=tables, flip_model=fm, trials=50, seed=1)[q.layers[0].param_name]
    clean = q.layers[0].qtensor.dequantize()
    np.testing.assert_array_equal(w[:, 0], np.broadcast_to(clean[0], w[:, 0].shape))  # all 8 bits protected
    assert np.mean(w[:, 1] != clean[1]) > 0.5
    s = float(np.asarray(q.layers[0].qtensor.scale))
    assert np.max(np.abs(w[:, 2] - clean[2])) <= s * 15 + 1e-6  # only the low 4 bits can change
    again = faulty_weights(q, m, tables=tables, flip_model=fm, trials=20, seed=1, trial_offset=30)
    np.testing.assert_array_equal(again[q.layers[0].param_name], w[30:])  # trial i depends on (seed, i) only


def test_group_plans_budget_and_uniform_fraction():
    q, _ = _linear(d=40, c=10)
    fm = FlipModel(0.1, 0.1)
    ga = analyse_groups(q, {q.layers[0].name: np.random.default_rng(0).random((10, 40))}, flip_model=fm,
                        read="posterior")
    for strategy in ("uniform", "tac", "magnitude"):
        for b in (0.0, 0.35, 1.0, 2.55):
            m = ga.plan(strategy, b)
            assert ga.spent_bpw(m) <= b + 1e-9
    assert list(ga.plan("uniform", 1.3)) == [2, 2, 2] + [1] * 7
    assert ga.predicted_cost(ga.plan("tac", 1.0)) <= ga.predicted_cost(ga.plan("uniform", 1.0)) + 1e-12
    with pytest.raises(QtamlError):
        ga.plan("bogus", 1.0)


def test_crossing_budget():
    assert crossing_budget([0, 1, 2], [0.5, 0.9, 1.0], 0.95) == pytest.approx(1.5)
    assert crossing_budget([0, 1, 2], [0.96, 0.9, 1.0], 0.95) == pytest.approx(1.5)  # a dip is not a crossing
    assert crossing_budget([0, 1], [0.96, 0.97], 0.95) == 0.0
    assert crossing_budget([0, 1], [0.5, 0.6], 0.95) == float("inf")
