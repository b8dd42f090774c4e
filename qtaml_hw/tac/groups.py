"""Fractional per-layer budgets: protection plans over weight groups (design.md section 3).

A layer's budget ``m_l`` is an integer number of protected MSBs; to reach any budget on a
0.05 bit/weight grid, each layer is split into *groups* (its output channels: rows of the
weight tensor along axis 0) and every group g gets its own ``m_g``.  A plan costs
``sum_g n_g m_g`` protected bits.  Everything here is label-free: the per-weight sensitivity
maps ``G_i = E_x ||d f(x) / d w_i||^2`` (:func:`qtaml_hw.tac.sensitivity.qmodel_sensitivity`),
the flip model and the read map.

* TAC: minimise ``sum_g s_g^2 sum_{i in g} G_i MSE_i(m_g)`` (``MSE_i`` the exact per-weight error of
  the read map used, :func:`qtaml_hw.tac.readmaps.read_mse`, so the plan is made for its own
  correction) subject to the budget -- the separable knapsack of :mod:`qtaml_hw.tac.allocation`
  over groups (greedy on the lower convex hulls; groups of one layer have nearly equal sizes).
* Uniform-MSP: ``floor(b)`` bits everywhere and, in every layer, the first
  ``floor((b - floor(b)) rows_l)`` channels one more bit (no information used to pick them).
* magnitude: score ``||W_g||^2`` with the generic ``4^k`` curve (no Jacobian, no physics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import flip_bits
from qtaml_hw.memory.inject import FlipModel
from qtaml_hw.tac.allocation import allocate_greedy
from qtaml_hw.tac.baselines import generic_curve
from qtaml_hw.tac.readmaps import ReadMap, read_bias, read_map, read_moments, read_mse

PLAN_STRATEGIES = ("uniform", "tac", "magnitude")


@dataclass(frozen=True)
class LayerGroups:
    """One layer's groups: ``row`` (group of every weight, flattened), per-group sizes and ``s^2``."""

    name: str
    rows: int
    row: np.ndarray
    n: np.ndarray
    scale2: np.ndarray


def layer_groups(qmodel) -> list[LayerGroups]:
    """Output-channel groups of every memory layer of an ``nn.QuantizedModel``-like object."""
    out = []
    for layer in qmodel.layers:
        shape = tuple(layer.qtensor.codes.shape)
        rows = shape[0] if len(shape) > 1 else 1
        row = np.repeat(np.arange(rows), int(np.prod(shape)) // rows)
        s2 = np.broadcast_to(np.asarray(layer.scale, dtype=np.float64) ** 2, shape).reshape(rows, -1).mean(axis=1)
        out.append(LayerGroups(layer.name, rows, row, np.bincount(row, minlength=rows), s2))
    return out


def read_tables(qmodel, *, kind: str, flip_model: FlipModel) -> list[np.ndarray]:
    """Per layer, the read map of every protected count: array ``(B+1, 2^B)`` of ``v_hat`` per code."""
    tables = []
    for layer in qmodel.layers:
        qt = layer.qtensor
        tables.append(np.stack([read_map(kind, bits=qt.bits, code=qt.code, flip_model=flip_model, codes=qt.codes,
                                         protect_msb=m).table() for m in range(qt.bits + 1)]))
    return tables


def _per_code(qt, kind: str, flip_model: FlipModel, what: str) -> np.ndarray:
    """``(B+1, 2^B)`` exact per-code Var / MSE / drift of the ``kind`` read with m = 0..B protected bits."""
    every = np.arange(1 << qt.bits)
    rows = []
    for m in range(qt.bits + 1):
        rmap: ReadMap = read_map(kind, bits=qt.bits, code=qt.code, flip_model=flip_model, codes=qt.codes,
                                 protect_msb=m)
        if what == "mse":
            rows.append(read_mse(rmap, every, flip_model=flip_model, protect_msb=m))
        elif what == "bias":
            rows.append(read_bias(rmap, every, flip_model=flip_model, protect_msb=m))
        else:
            mean, sq = read_moments(rmap, every, flip_model=flip_model, protect_msb=m)
            rows.append(np.maximum(sq - mean ** 2, 0.0))
    return np.stack(rows)


@dataclass(frozen=True)
class GroupAnalysis:
    """Per-group inputs of every plan and of the accuracy predictor, for one flip model and read map.

    ``cost[g, m] = s_g^2 sum_{i in g} G_i MSE_i(m)``; ``var[g, m]`` and ``mse[g, m]`` = mean per-weight
    ``Var(v_hat | v)`` and ``E[(v_hat - v)^2 | v]`` of the group (integer units); ``drift[l]`` = per-code ``E[v_hat | v] - v`` table ``(B+1, 2^B)`` of layer l.
    """

    layers: list
    n: np.ndarray
    layer_of: np.ndarray
    cost: np.ndarray
    var: np.ndarray
    mse: np.ndarray
    w_sq: np.ndarray
    drift: list
    bits: int

    @property
    def total(self) -> int:
        return int(self.n.sum())

    def split(self, m) -> list[np.ndarray]:
        """A group plan as one array of per-group m per layer."""
        m = np.asarray(m, dtype=np.int64)
        return [m[self.layer_of == j] for j in range(len(self.layers))]

    def plan(self, strategy: str, budget_bpw: float) -> np.ndarray:
        """Protected MSBs per group (int array) within ``budget_bpw * N`` bits (module docstring)."""
        if not np.isfinite(budget_bpw) or budget_bpw < 0:
            raise QtamlError(f"budget must be >= 0 bits/weight, got {budget_bpw}")
        budget = budget_bpw * self.total * (1 + 1e-12)
        if strategy == "uniform":
            base = min(self.bits, int(np.floor(budget_bpw + 1e-9)))
            frac = budget_bpw - base if base < self.bits else 0.0
            parts = [np.full(lg.rows, base) + (np.arange(lg.rows) < int(np.floor(frac * lg.rows + 1e-9)))
                     for lg in self.layers]
            return np.concatenate(parts).astype(np.int64)
        if strategy == "tac":
            return allocate_greedy(a=np.ones(self.n.size), n=self.n, curves=self.cost, budget=budget)
        if strategy == "magnitude":
            return allocate_greedy(a=self.w_sq, n=self.n, curves=np.tile(generic_curve(self.bits), (self.n.size, 1)),
                                   budget=budget)
        raise QtamlError(f"unknown plan strategy {strategy!r}; choose one of {', '.join(PLAN_STRATEGIES)}")

    def spent_bpw(self, m) -> float:
        return float(np.sum(self.n * np.asarray(m))) / self.total

    def predicted_cost(self, m) -> float:
        m = np.asarray(m, dtype=np.int64)
        return float(self.cost[np.arange(m.size), m].sum())


def analyse_groups(qmodel, sens_maps: dict, *, flip_model: FlipModel, read: str) -> GroupAnalysis:
    """Group analysis of a quantized model for one flip model and read map (module docstring).

    ``sens_maps``: layer name -> per-weight ``G_i`` array (``qmodel_sensitivity``).
    """
    layers = layer_groups(qmodel)
    n, layer_of, cost, var, mses, wsq, drift = [], [], [], [], [], [], []
    for j, (layer, lg) in enumerate(zip(qmodel.layers, layers)):
        qt = layer.qtensor
        codes = qt.codes.reshape(-1).astype(np.int64)
        g_i = np.asarray(sens_maps[layer.name], dtype=np.float64).reshape(-1)
        mse, v = _per_code(qt, read, flip_model, "mse"), _per_code(qt, read, flip_model, "var")
        cost.append(np.stack([np.bincount(lg.row, weights=g_i * mse[m][codes], minlength=lg.rows)
                              for m in range(qt.bits + 1)], axis=1) * lg.scale2[:, None])
        var.append(np.stack([np.bincount(lg.row, weights=v[m][codes], minlength=lg.rows) / lg.n
                             for m in range(qt.bits + 1)], axis=1))
        mses.append(np.stack([np.bincount(lg.row, weights=mse[m][codes], minlength=lg.rows) / lg.n
                              for m in range(qt.bits + 1)], axis=1))
        w = qt.dequantize().astype(np.float64).reshape(-1)
        wsq.append(np.bincount(lg.row, weights=w * w, minlength=lg.rows))
        drift.append(_per_code(qt, read, flip_model, "bias"))
        n.append(lg.n)
        layer_of.append(np.full(lg.rows, j))
    return GroupAnalysis(layers, np.concatenate(n), np.concatenate(layer_of), np.concatenate(cost),
                         np.concatenate(var), np.concatenate(mses), np.concatenate(wsq), drift, qmodel.bits)


def protect_mask(m_weights, bits: int) -> np.ndarray:
    """Per-weight mask of the top ``m`` bits: ``((1 << m) - 1) << (B - m)``."""
    m = np.asarray(m_weights, dtype=np.int64)
    return (((1 << m) - 1) << (bits - m)).astype(np.int64)


def faulty_weights(qmodel, m, *, tables, flip_model: FlipModel, trials: int, seed: int, trial_offset: int = 0,
                   layers=None) -> dict:
    """Faulty dequantized weights of every memory layer under group plan ``m``: param name -> (trials, *shape).

    Per layer: ``memory.flip_bits`` on all bit planes (key ``inject/<layer>``, trial ``i`` from
    ``(seed, trial_offset + i)``), the top ``m_g`` bits of each weight restored (ideal MSB protection:
    a protected bit never flips, so restoring it after an independent draw gives the same law), then
    the read map of the weight's ``m_g`` by table lookup (``tables`` from :func:`read_tables`) times
    the scale.
    """
    layers = layers or layer_groups(qmodel)
    out = {}
    for layer, lg, mg, table in zip(qmodel.layers, layers, np.split(np.asarray(m, dtype=np.int64),
                                                                  np.cumsum([g.rows for g in layers])[:-1]), tables):
        qt = layer.qtensor
        codes = qt.codes.reshape(-1).astype(np.int64)
        m_w = mg[lg.row]
        mask = protect_mask(m_w, qt.bits)
        faulty = flip_bits(qt.codes, bits=qt.bits, flip_model=flip_model, trials=trials, seed=seed,
                           trial_offset=trial_offset, key=f"inject/{layer.name}").reshape(trials, -1).astype(np.int64)
        faulty = (faulty & ~mask) | (codes & mask)
        flat_table = table.reshape(-1)
        v_hat = np.take(flat_table, faulty + (m_w << qt.bits))
        scale = np.broadcast_to(np.asarray(qt.scale, dtype=np.float64), qt.codes.shape).reshape(-1)
        out[layer.param_name] = (v_hat * scale).astype(np.float32).reshape((trials, *qt.codes.shape))
    return out
