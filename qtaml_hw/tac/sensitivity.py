"""Label-free layer sensitivity (design.md section 3); residual curves come from memory (section 2).

The residual variance curve ``R_l(m)`` (mean ``Var(v'|v)`` with the top m bits protected) is
:func:`qtaml_hw.memory.residual_curve`, the one closed form of design.md section 2.

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
import torch

from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng


def layer_sensitivity(model, x, *, params: list, probes: int = 8, seed: int = 0, batch_size: int = 256):
    """Per-weight squared-Jacobian maps ``G_i = E_x ||d f(x)/d w_i||^2`` for each tensor in ``params``.

    ``model``: callable x -> outputs (N, ...); ``params``: list of leaf tensors with
    ``requires_grad``.  Returns a list of float64 arrays shaped like the params.  Seeded:
    projections ``u`` come from ``rng(seed, "hutchinson", probe, batch)``.  ``S_l = G.mean()``.
    """
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

    Differentiates ``qmodel.forward_with`` at the dequantized weights ``s_l v_l`` of each layer
    (``layer.qtensor.dequantize()``). Returns ``{layer name: G array}``; ``S_l`` is ``G.mean()``.
    """
    clean = [torch.from_numpy(layer.qtensor.dequantize()).requires_grad_(True) for layer in qmodel.layers]
    names = [layer.param_name for layer in qmodel.layers]

    def f(xb):
        return qmodel.forward_with(dict(zip(names, clean)), xb)

    maps = layer_sensitivity(f, x, params=clean, probes=probes, seed=seed)
    return {layer.name: g for layer, g in zip(qmodel.layers, maps)}


def predicted_output_variance(*, sens: np.ndarray, n: np.ndarray, scale2: np.ndarray, curves: np.ndarray,
                              m: np.ndarray) -> float:
    """``V(m) = sum_l S_l n_l s_l^2 R_l(m_l)`` (module docstring); ``curves[l]`` is ``R_l(0..B)``."""
    m = np.asarray(m, dtype=np.int64)
    r = np.asarray(curves)[np.arange(len(m)), m]
    return float(np.sum(np.asarray(sens) * np.asarray(n) * np.asarray(scale2) * r))
