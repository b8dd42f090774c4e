"""Label-free analysis of a quantized network for TAC and its baselines (design.md section 3).

Everything an allocation and rho* need, computed from the weights, unlabeled calibration
inputs and the flip model only -- never a label or a Monte Carlo trial: per layer ``n_l``,
``s_l^2``, the Jacobian sensitivity ``S_l`` (:func:`qtaml_hw.tac.sensitivity.qmodel_sensitivity`),
the physics residual curve ``R_l(0..B)`` (:func:`qtaml_hw.memory.residual_curve`), ``||W_l||^2``,
and the per-bit variance shares. ``qmodel`` is any object with ``.layers`` (``name``,
``param_name``, ``n_weights``, ``scale``, ``qtensor``), ``.bits`` and ``.forward_with(weights, x)``
-- e.g. ``qtaml_hw.nn.QuantizedModel``; this module does not import the NN layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.ecc import GROUP, plan_overhead
from qtaml_hw.memory import residual_curve, variance_shares
from qtaml_hw.tac.baselines import plan
from qtaml_hw.tac.sensitivity import qmodel_sensitivity


def overhead(m, n, bits: int) -> float:
    """SECDED check bits / data bits of the whole weight memory for protection plan ``m`` (ecc.plan_overhead)."""
    return plan_overhead(m, n, bits, code="secded", group=GROUP)


@dataclass(frozen=True)
class Analysis:
    """Per-layer inputs of every allocation: names, ``n_l``, ``s_l^2``, ``S_l``, ``R_l(0..B)``, ``||W_l||^2``."""

    names: list
    n: np.ndarray
    scale2: np.ndarray
    sens: np.ndarray
    curves: np.ndarray
    w_sq: np.ndarray
    share: np.ndarray
    bits: int

    @property
    def scores(self) -> np.ndarray:
        return self.sens * self.n * self.scale2

    def plan(self, strategy: str, budget_bits: float) -> np.ndarray:
        base = "tac" if strategy == "tac_nomc" else strategy
        return plan(base, sens=self.sens, n=self.n, scale2=self.scale2, curves=self.curves, w_sq=self.w_sq,
                    bits=self.bits, budget=budget_bits)

    def predicted_variance(self, m) -> float:
        return float(np.sum(self.scores * self.curves[np.arange(len(m)), np.asarray(m)]))


def analyse(qmodel, x_calib, *, flip_model, probes: int = 4, seed: int = 0) -> Analysis:
    """Label-free analysis of a quantized model (sensitivity maps, residual curves, bit shares)."""
    maps = qmodel_sensitivity(qmodel, x_calib, probes=probes, seed=seed)
    names, n, s2, sens, curves, wsq, shares = [], [], [], [], [], [], []
    for layer in qmodel.layers:
        qt = layer.qtensor
        names.append(layer.name)
        n.append(layer.n_weights)
        s2.append(float(np.mean(np.asarray(layer.scale, dtype=np.float64) ** 2)))
        sens.append(float(maps[layer.name].mean()))
        curves.append(residual_curve(qt.codes, bits=qt.bits, code=qt.code, flip_model=flip_model))
        wsq.append(float(np.sum(qt.dequantize().astype(np.float64) ** 2)))
        shares.append(variance_shares(qt.codes, bits=qt.bits, code=qt.code, flip_model=flip_model)
                      * layer.n_weights)
    share = np.sum(shares, axis=0)
    return Analysis(names, np.array(n), np.array(s2), np.array(sens), np.array(curves), np.array(wsq),
                    share / share.sum(), qmodel.bits)
