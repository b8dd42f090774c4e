"""Label-free accuracy predictor for any protection plan, before any Monte Carlo (design.md section 3).

For a calibration input x with clean quantized logits z and clean class ``c = argmax z``, the
margins ``mu_j(x) = z_c - z_j`` (j != c) decide whether the prediction survives.  A faulty read
changes weight i by ``e_i = s_i (v_hat_i - v_i)``, independent across weights, with mean
``s_i d_i(m)`` (``d`` the read map's closed-form drift, :func:`qtaml_hw.tac.readmaps.read_bias`;
zero for the unbiased read, zero on the layer mean for the posterior read) and variance
``s_i^2 Var(v_hat_i | v_i)``.  To first order in e:

    margin_j' = mu_j + b_j + N(0, sigma_j^2),
    b_j = sum_i (d mu_j / d w_i) s_i d_i(m_g(i)),
    sigma_j^2 = sum_g s_g^2 R_g^eff(m_g) ||grad_{W_g} mu_j||^2

(``R_g^eff(m)`` the group's mean per-weight read variance, :class:`qtaml_hw.tac.groups.GroupAnalysis`,
the gradient and the bit pattern treated as uncorrelated within a group, as in design.md section 2
property 3), and, treating the competitors as independent,

    P(keep | x) = prod_{j != c} Phi((mu_j + b_j) / sigma_j),    accuracy ~ clean accuracy * E_x P(keep | x).

The gradient terms are exact per-sample Jacobians (``torch.func``), reduced per group once, so a
plan's variance is predicted in microseconds; its bias is either the linear ``b_j`` above or, by
default, the exact margin at the mean weights (:func:`mean_margins`, one forward pass: the
posterior read shrinks weights, a scaling the first order mistakes for a shift).
Finite-perturbation variant (:func:`finite_keep`): at the operating p the first order can fail
(an MSB flip is not small), so the keep probability is measured per calibration input over a few
fault draws of the plan (no labels, no test image: a label-free agreement estimate).

rho* (:func:`crossing_budget`): the smallest budget whose predicted curve stays at or above the
target from there on, linearly interpolated between the grid points around it; rho* is
Uniform's crossing over TAC's, at the same 95 % target as the measured ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import norm

from qtaml_hw.errors import QtamlError
from qtaml_hw.tac.groups import faulty_weights, layer_groups


@dataclass(frozen=True)
class MarginData:
    """Clean margins and their per-group gradient terms on the calibration inputs.

    ``margins (N, C-1)``; ``competitors (N, C-1)`` class indices; ``gsq (N, C-1, G)`` =
    ``||grad_{W_g} mu_j||^2``; ``bias[read] (N, C-1, G, B+1)`` = ``sum_{i in g} grad_i s_i d_i(m)``.
    """

    clean_class: np.ndarray
    competitors: np.ndarray
    margins: np.ndarray
    gsq: np.ndarray
    bias: dict


def _clean_logits(qmodel, x) -> torch.Tensor:
    return torch.cat([qmodel(x[i:i + 256]) for i in range(0, len(x), 256)])


def margin_data(qmodel, x_calib, *, drift: dict, chunk: int = 16) -> MarginData:
    """Per-sample margin Jacobians of a quantized model, reduced per output-channel group.

    ``drift``: read name -> per layer ``(B+1, 2^B)`` drift tables (``GroupAnalysis.drift``).
    """
    x = torch.as_tensor(np.asarray(x_calib), dtype=torch.float32)
    if len(x) == 0:
        raise QtamlError("the predictor needs at least one calibration input")
    logits = _clean_logits(qmodel, x)
    c = logits.argmax(-1)
    order = torch.argsort(logits, dim=-1, descending=True)[:, 1:]  # competitors, nearest first
    margins = (logits.gather(1, c[:, None]) - logits.gather(1, order)).numpy().astype(np.float64)
    names = [layer.param_name for layer in qmodel.layers]
    params = {layer.param_name: torch.from_numpy(np.asarray(layer.qtensor.dequantize(), dtype=np.float32))
              for layer in qmodel.layers}
    groups = layer_groups(qmodel)

    n_cls = logits.shape[-1]
    eye = torch.eye(n_cls, dtype=logits.dtype)
    select = eye[c][:, None, :] - eye[order]  # (N, C-1, C): margin_j = select_j . z

    def fn(p, xi, sel):
        z = qmodel.forward_with(p, xi[None])[0]
        return sel @ z

    jac_fn = torch.func.vmap(torch.func.jacrev(fn), in_dims=(None, 0, 0))
    weighted = {}  # read -> per layer (B+1, rows, cols) tensor s_i d_i(m)
    for read, tables in drift.items():
        weighted[read] = [torch.from_numpy((np.asarray(t)[:, layer.qtensor.codes.reshape(lg.rows, -1).astype(np.int64)]
                                            * np.broadcast_to(np.asarray(layer.scale, dtype=np.float64),
                                                              layer.qtensor.codes.shape).reshape(lg.rows, -1)))
                          for t, layer, lg in zip(tables, qmodel.layers, groups)]
    gsq, bias = [], {r: [] for r in drift}
    for s in range(0, len(x), chunk):
        with torch.enable_grad():
            jac = jac_fn(params, x[s:s + chunk], select[s:s + chunk])
        per_g, per_b = [], {r: [] for r in drift}
        for name, lg, j in zip(names, groups, range(len(names))):
            jg = jac[name].detach().double().reshape(*jac[name].shape[:2], lg.rows, -1)
            per_g.append((jg ** 2).sum(-1))
            for r in drift:
                per_b[r].append(torch.einsum("nkrc,mrc->nkrm", jg, weighted[r][j]))
        gsq.append(torch.cat(per_g, dim=-1).numpy())
        for r in drift:
            bias[r].append(torch.cat(per_b[r], dim=2).numpy())
    return MarginData(c.numpy(), order.numpy(), margins, np.concatenate(gsq),
                      {r: np.concatenate(v) for r, v in bias.items()})


def _keep(mean, sd) -> np.ndarray:
    """``prod_j Phi(mean_j / sd_j)`` per input (sd = 0: the sign of the mean)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), np.where(mean > 0, np.inf, -np.inf))
    return np.exp(norm.logcdf(z).sum(axis=1))


def mean_margins(qmodel, x_calib, data: MarginData, ga, m) -> np.ndarray:
    """Margins at the mean faulty weights ``s (v + d(m))`` (one forward pass): the bias ``b_j`` without
    linearising it (a read that shrinks a layer scales a ReLU network's margins, which the first
    order would count as a shift)."""
    x = torch.as_tensor(np.asarray(x_calib), dtype=torch.float32)
    weights = {}
    for layer, lg, mg, table in zip(qmodel.layers, ga.layers, ga.split(m), ga.drift):
        qt = layer.qtensor
        codes = qt.codes.reshape(-1).astype(np.int64)
        v_mean = qt.values().reshape(-1) + table[mg[lg.row], codes]
        scale = np.broadcast_to(np.asarray(qt.scale, dtype=np.float64), qt.codes.shape).reshape(-1)
        weights[layer.param_name] = torch.from_numpy((v_mean * scale).astype(np.float32).reshape(1, *qt.codes.shape))
    z = qmodel.forward_each(weights, x)[0].double().numpy()
    idx = np.arange(len(x))
    return z[idx, data.clean_class][:, None] - np.take_along_axis(z, data.competitors, axis=1)


def first_order_keep(data: MarginData, ga, m, *, read: str, margins=None) -> np.ndarray:
    """``P(keep | x)`` per calibration input for group plan ``m`` read through ``read`` (module docstring).

    ``ga``: the :class:`~qtaml_hw.tac.groups.GroupAnalysis` of the same read and flip model.
    ``margins``: the mean-weight margins (:func:`mean_margins`) to use instead of ``mu + b`` to first order.
    """
    m = np.asarray(m, dtype=np.int64)
    g = np.arange(m.size)
    var_w = np.concatenate([lg.scale2 for lg in ga.layers]) * ga.var[g, m]  # s_g^2 R_g(m_g)
    sigma2 = data.gsq @ var_w
    if margins is None:
        margins = data.margins + (data.bias[read][:, :, g, m].sum(axis=-1) if read in data.bias else 0.0)
    return _keep(margins, np.sqrt(sigma2))


def finite_keep(qmodel, x_calib, data: MarginData, m, *, tables, flip_model, draws: int = 8,
                seed: int = 0) -> np.ndarray:
    """Finite-perturbation ``P(keep | x)``: the fraction of ``draws`` fault draws of the plan under which
    calibration input x keeps its clean class (label-free; keys ``inject/<layer>`` under ``seed``)."""
    if draws < 1:
        raise QtamlError("the finite-perturbation predictor needs at least 1 draw")
    x = torch.as_tensor(np.asarray(x_calib), dtype=torch.float32)
    w = faulty_weights(qmodel, m, tables=tables, flip_model=flip_model, trials=draws, seed=seed)
    logits = qmodel.forward_each({k: torch.from_numpy(v) for k, v in w.items()}, x)  # (D, N, C)
    return (logits.argmax(-1).numpy() == data.clean_class[None]).mean(axis=0)


def crossing_budget(budgets, values, target: float) -> float:
    """Smallest budget from which ``values`` stay ``>= target``, interpolated linearly; inf if never.

    ``budgets`` ascending.  If the first point already passes, it is returned.
    """
    b = np.asarray(budgets, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if b.size == 0:
        return float("inf")
    fail = np.flatnonzero(~(v >= target))
    if fail.size == 0:
        return float(b[0])
    f = int(fail[-1])
    if f == b.size - 1:
        return float("inf")
    frac = (target - v[f]) / (v[f + 1] - v[f]) if v[f + 1] != v[f] else 1.0
    return float(b[f] + np.clip(frac, 0.0, 1.0) * (b[f + 1] - b[f]))
