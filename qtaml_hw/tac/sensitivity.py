"""Residual variance curves and label-free layer sensitivity (design.md sections 2 and 3).

Per-bit variance (Property 2): ``Var(b'_k | b_k=1) = p10 (1 - p10)``, ``Var(b'_k | b_k=0) = p01 (1 - p01)``,
so for a linear code ``Var(v' | v) = sum_k c_k^2 Var(b'_k | b_k)`` and, with the top m bits
protected, ``R(m) = mean_w sum_{k < B-m} c_k^2 Var(b'_k | b_k)`` (integer units).

Sensitivity (first-order Taylor).  For independent zero-mean weight errors ``e_i``,
``E||f(W+E) - f(W)||^2 ~= sum_l sum_{i in l} E_x ||d f(x)/d w_i||^2 Var(e_i)``.  Replacing the
per-weight variance by the layer mean ``s_l^2 R_l(m_l)`` (gradient size and stored bit pattern
treated as uncorrelated) gives ``V(m) = sum_l S_l n_l s_l^2 R_l(m_l)`` with the PER-WEIGHT mean
sensitivity ``S_l = E_x ||d f(x)/d W_l||_F^2 / n_l``.  It is estimated label-free with random
output projections: for ``u ~ N(0, I)`` independent per input,
``E_u ||d/dW_l sum_n u_n . f(x_n)||_F^2 = sum_n ||d f(x_n)/d W_l||_F^2`` (cross terms vanish),
so one backward pass per probe covers a whole batch (Hutchinson).
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng
from qtaml_hw.tac.correction import code_weights, per_bit


def bit_variances(*, codes, bits: int, code: str, flip_model, protect_msb: int = 0) -> np.ndarray:
    """``Var(b'_k | b_k)`` for every stored bit: shape ``(*codes.shape, B)`` (protected bits: 0)."""
    p10, p01 = per_bit(flip_model.p10, bits), per_bit(flip_model.p01, bits)
    raw = np.asarray(codes).astype(np.int64)[..., None]
    b = (raw >> np.arange(bits)) & 1
    var = np.where(b == 1, p10 * (1 - p10), p01 * (1 - p01))
    var[..., bits - protect_msb:] = 0.0
    return var


def value_variance(*, codes, bits: int, code: str, flip_model, protect_msb: int = 0) -> np.ndarray:
    """Elementwise ``Var(v' | v)`` (integer units), closed form for all three codes."""
    c, _ = code_weights(bits=bits, code=code)
    var_b = bit_variances(codes=codes, bits=bits, code=code, flip_model=flip_model, protect_msb=protect_msb)
    var_lin = var_b @ (c ** 2)
    if code != "signmag":
        return var_lin
    # v' = sgn' * mag', independent: Var = E[mag'^2] - E[sgn']^2 E[mag']^2
    p10, p01 = per_bit(flip_model.p10, bits), per_bit(flip_model.p01, bits)
    raw = np.asarray(codes).astype(np.int64)[..., None]
    b = ((raw >> np.arange(bits)) & 1).astype(np.float64)
    p_unprot = np.arange(bits) < bits - protect_msb
    eb = np.where(p_unprot, p01 + (1 - p01 - p10) * b, b)
    e_mag = eb @ c
    e_sgn = 1.0 - 2.0 * eb[..., -1]
    return var_lin + e_mag ** 2 - e_sgn ** 2 * e_mag ** 2


def residual_curve(*, codes, bits: int, code: str, flip_model) -> np.ndarray:
    """``R(m)`` for ``m = 0..B``: mean over weights of ``Var(v' | v)`` with the top m bits protected."""
    return np.array([float(np.mean(value_variance(codes=codes, bits=bits, code=code, flip_model=flip_model,
                                                  protect_msb=m))) for m in range(bits + 1)])


def variance_share(*, codes, bits: int, code: str, flip_model) -> np.ndarray:
    """Share of ``R(0)`` held by each bit position (LSB first), linear part ``c_k^2 mean Var(b'_k)``."""
    c, _ = code_weights(bits=bits, code=code)
    if code == "signmag":
        c = c.copy()
        c[-1] = 2.0 ** (bits - 1)  # sign flip moves v by about 2|v|; use the MSB weight as its scale
    contrib = (c ** 2) * bit_variances(codes=codes, bits=bits, code=code, flip_model=flip_model).reshape(
        -1, bits).mean(axis=0)
    total = contrib.sum()
    return contrib / total if total > 0 else contrib


def layer_sensitivity(model, x, *, params: list, probes: int = 8, seed: int = 0, batch_size: int = 256):
    """Per-weight squared-Jacobian maps ``G_i = E_x ||d f(x)/d w_i||^2`` for each tensor in ``params``.

    ``model``: callable x -> outputs (N, ...); ``params``: list of leaf tensors with
    ``requires_grad``.  Returns a list of float64 arrays shaped like the params.  Seeded:
    projections ``u`` come from ``rng(seed, "hutchinson", probe, batch)``.  ``S_l = G.mean()``.
    """
    import torch

    if probes <= 0:
        raise QtamlError(f"probes must be positive, got {probes}")
    x = torch.as_tensor(x, dtype=torch.float32)
    acc = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    n = len(x)
    for start in range(0, n, batch_size):
        xb = x[start:start + batch_size]
        out = model(xb)
        for j in range(probes):
            u = torch.from_numpy(rng(seed, "hutchinson", j, start).standard_normal(tuple(out.shape))).float()
            grads = torch.autograd.grad((out * u).sum(), params, retain_graph=True)
            for a, g in zip(acc, grads):
                a += g.double() ** 2
    return [(a / (n * probes)).numpy() for a in acc]


def qmodel_sensitivity(qmodel, x, *, probes: int = 8, seed: int = 0) -> dict:
    """Per-weight squared-Jacobian maps of a ``nn.QuantizedModel`` at its clean quantized weights.

    Returns ``{layer name: G array}``; the layer's ``S_l`` is ``G.mean()``.
    """
    import torch

    names = [layer.param_name for layer in qmodel.layers]
    clean = {k: v.clone().requires_grad_(True) for k, v in qmodel._clean.items()}

    def f(xb):
        return torch.func.functional_call(qmodel.model, {**qmodel._fixed, **clean}, (xb,))

    maps = layer_sensitivity(f, x, params=[clean[n] for n in names], probes=probes, seed=seed)
    return {layer.name: g for layer, g in zip(qmodel.layers, maps)}


def predicted_output_variance(*, sens: np.ndarray, n: np.ndarray, scale2: np.ndarray, curves: np.ndarray,
                              m: np.ndarray) -> float:
    """``V(m) = sum_l S_l n_l s_l^2 R_l(m_l)`` (module docstring); ``curves[l]`` is ``R_l(0..B)``."""
    m = np.asarray(m, dtype=np.int64)
    r = np.asarray(curves)[np.arange(len(m)), m]
    return float(np.sum(np.asarray(sens) * np.asarray(n) * np.asarray(scale2) * r))
