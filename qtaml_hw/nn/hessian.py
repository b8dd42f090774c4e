"""Hessian-trace regularised training (design.md section 8; seed 003 "Hessian Regularized Training", Algorithm 1).

Hutchinson's estimator of the trace of the loss Hessian with respect to the weights,
``tr(H) = E_v[v^T H v]`` for Rademacher ``v`` (entries +-1), its variance
``2 sum_{i != j} H_ij^2``; each ``H v`` is one Hessian-vector product, the gradient of
``g . v`` with ``g = dL/dW`` built with ``create_graph=True`` (``torch.autograd.grad``).
Algorithm 1: plain backpropagation up to epoch ``NReg``; after it, on every other minibatch
(``minibatch_id mod 2 == 0``, ids from 1), ``alpha = 0.1 |loss| / |trace|`` (a constant, no
gradient) and ``loss + alpha * trace`` is backpropagated, so the trace term is a tenth of the
task loss.  The parameters are the memory weights (Conv/Linear), the ones leakage perturbs.

BatchNorm: in training mode a BatchNorm layer normalises by the minibatch's own statistics, so the
Hessian of the training-mode loss is that of a different function from the deployed, eval-mode
network (running statistics); measured on the ResNet it was ~21-24 against ~150 (docs/training.md).
``HessianConfig.trace_mode = "deployed"`` regularises instead the Hutchinson trace of the
*eval-mode* loss on the same minibatch (the task loss stays the training-mode one); without
BatchNorm (and with no dropout in these models) both modes are the same function.  The default,
``"train"``, is Algorithm 1 read literally: on the ResNet the deployed variant raised the measured
eval-mode trace (docs/training.md, "Hessian variants"), so it is an option, not the default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.stats import t_interval
from qtaml_hw.nn.rng import torch_generator
from qtaml_hw.nn.robust import memory_params


TRACE_MODES = ("deployed", "train")
ALPHA_FROM = ("sample", "running")


def check_variant(trace_mode: str, alpha_from: str) -> None:
    """One-line QtamlError for an unknown ``trace_mode`` / ``alpha_from`` (module docstring)."""
    if alpha_from not in ALPHA_FROM:
        raise QtamlError(f"unknown alpha source {alpha_from!r}; choose one of {', '.join(ALPHA_FROM)}")
    if trace_mode not in TRACE_MODES:
        raise QtamlError(f"unknown Hessian trace mode {trace_mode!r}; choose one of {', '.join(TRACE_MODES)}")


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@dataclass(frozen=True)
class HessianConfig:
    """Algorithm 1's knobs: ``n_reg`` (epochs of plain training first), ``n_iter`` Hutchinson
    vectors per estimate, ``scale`` (0.1 in the paper), ``every`` (2: every other minibatch)."""

    n_reg: int = 5
    n_iter: int = 1
    scale: float = 0.1
    every: int = 2
    trace_mode: str = "train"      # "train": as written; "deployed": eval-mode trace for BatchNorm nets
    alpha_from: str = "sample"     # alpha's |trace|: this step's estimate (as written) or the running mean

    def __post_init__(self):
        check_variant(self.trace_mode, self.alpha_from)
        if self.n_reg < 0:
            raise QtamlError(f"NReg must be >= 0, got {self.n_reg}")
        if self.n_iter < 1 or self.every < 1:
            raise QtamlError("Hutchinson iterations and the minibatch period must be >= 1")
        if not (np.isfinite(self.scale) and self.scale >= 0):
            raise QtamlError(f"the Hessian regularisation scale must be a non-negative number, got {self.scale}")


def rademacher_like(p: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Entries +-1 with probability 1/2 each, drawn from ``generator``."""
    return torch.randint(0, 2, p.shape, generator=generator, dtype=p.dtype) * 2 - 1


def hutchinson_samples(loss: torch.Tensor, params: list, *, n_iter: int, generator: torch.Generator,
                       create_graph: bool = False, grads=None) -> torch.Tensor:
    """``n_iter`` samples ``v^T H v`` (H = d^2 loss / d params^2, Rademacher v); a (n_iter,) tensor.

    ``grads``: ``dL/dparams`` already built with ``create_graph=True`` (else computed here).
    With ``create_graph`` the samples stay differentiable (for the regulariser's backward).
    """
    if grads is None:
        grads = torch.autograd.grad(loss, params, create_graph=True)
    out = []
    for _ in range(n_iter):
        vs = [rademacher_like(p, generator) for p in params]
        hvs = torch.autograd.grad(grads, params, grad_outputs=vs, create_graph=create_graph, retain_graph=True)
        out.append(sum((v * hv).sum() for v, hv in zip(vs, hvs)))
    return torch.stack(out)


def exact_trace(loss_fn, params: list) -> float:
    """Exact ``tr(H)`` by one Hessian-vector product per coordinate (small models only, for tests)."""
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    total = 0.0
    for i in range(flat.numel()):
        row = torch.autograd.grad(flat[i], params, retain_graph=True)
        total += float(torch.cat([r.reshape(-1) for r in row])[i])
    return total


def trace_samples(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, n_iter: int = 32, seed: int = 0,
                  batch_size: int = 256) -> np.ndarray:
    """``n_iter`` Hutchinson samples of ``tr(H)`` of the mean cross-entropy on (x, y) w.r.t. the memory
    weights, eval mode.  Sample ``j`` sums the batches' ``v_j^T H_b v_j`` weighted by batch size (the
    full-data loss is their size-weighted mean); the probes come from ``(seed, "hessian-trace")``
    only, so two models measured with one seed see the same probe sequence."""
    model.eval()
    params = [w for *_, w in memory_params(model)]
    g = torch_generator(seed, "hessian-trace")
    samples = torch.zeros(n_iter, dtype=torch.float64)
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        loss = F.cross_entropy(model(xb), yb)
        samples += hutchinson_samples(loss, params, n_iter=n_iter, generator=g).detach().double() * len(xb) / len(x)
    return samples.numpy()


def measure_trace(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, n_iter: int = 32, seed: int = 0,
                  batch_size: int = 256) -> dict:
    """:func:`trace_samples` summarised: mean and its 95 % t-interval over the ``n_iter`` samples."""
    samples = trace_samples(model, x, y, n_iter=n_iter, seed=seed, batch_size=batch_size)
    lo, hi = t_interval(samples)
    return {"trace": float(samples.mean()), "ci95": [lo, hi], "n_iter": n_iter, "images": int(len(x))}


class HessianStep:
    """One optimisation step of Algorithm 1 (module docstring); keeps the last alpha and trace."""

    def __init__(self, cfg: HessianConfig, *, seed: int):
        self.cfg = cfg
        self.generator = torch_generator(seed, "hutchinson")
        self.traces: list[float] = []

    def __call__(self, model: nn.Module, xb, yb, *, epoch: int, batch_index: int, label_smoothing: float = 0.0):
        loss = F.cross_entropy(model(xb), yb, label_smoothing=label_smoothing)
        # Algorithm 1 line 14, 1-based: epoch > NReg and minibatch_id mod 2 == 0
        if epoch + 1 <= self.cfg.n_reg or (batch_index + 1) % self.cfg.every != 0:
            loss.backward()
            return loss
        params = [w for *_, w in memory_params(model)]
        trace_loss = self._trace_loss(model, xb, yb, loss, label_smoothing)
        grads = torch.autograd.grad(trace_loss, params, create_graph=True)
        trace = hutchinson_samples(trace_loss, params, n_iter=self.cfg.n_iter, generator=self.generator,
                                   create_graph=True, grads=grads).mean()
        self.traces.append(float(trace.detach()))
        denom = abs(self.traces[-1]) if self.cfg.alpha_from == "sample" else float(np.mean(np.abs(self.traces)))
        alpha = self.cfg.scale * abs(float(loss.detach())) / max(denom, 1e-12)
        (loss + alpha * trace).backward()
        return loss

    def _trace_loss(self, model: nn.Module, xb, yb, loss, label_smoothing: float):
        """The loss whose Hessian trace is regularised: the training-mode ``loss`` itself, or, for a
        BatchNorm net in ``deployed`` mode, the same minibatch's loss through the eval-mode network
        (running statistics, which this forward does not update)."""
        if self.cfg.trace_mode == "train" or not has_batchnorm(model):
            return loss
        was_training = model.training
        model.eval()
        try:
            return F.cross_entropy(model(xb), yb, label_smoothing=label_smoothing)
        finally:
            model.train(was_training)
