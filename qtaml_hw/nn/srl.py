"""Stochastic residual layers (design.md section 8; seed 002 section 2.2).

    y = alpha * x + (1 - alpha) * F(x) + N_adapt(x, F(x); theta),
    N_adapt = sigma * sum_i sqrt(w_i) f_i(x, F(x)),   w = softmax(mix_logits),

``alpha = sigmoid(alpha_logit)`` a learnable vector over channels (elementwise product),
``w_i`` learnable weights over the noise components (they sum to 1, so the total noise
variance ``sigma^2`` -- the noise model's theta -- is fixed and the layer learns its *shape*,
not to switch it off).  Components, unit variance, differentiable approximations of what a
leaky weight memory does to the residual branch F (a Conv/Linear stack, section 2.1):

* ``multiplicative``: ``F(x) * eps`` -- a relative weight error scales the branch output;
* ``input_energy``: ``rms_c(x) * eps`` -- an additive weight error ``dW`` gives an output error
  of variance ``Var(dW) ||x||^2``, per position proportional to the input's energy;
* ``quantization``: ``max|F(x)| / 127 * sqrt(12) * (u - 1/2)`` -- uniform int8 rounding noise.

Noise is drawn by the reparameterisation trick (``eps``, ``u`` from an explicit
``torch.Generator`` seeded by the trainer via :func:`seed_noise`), so gradients reach alpha,
the mixture weights, x and F(x): ``dL/dx = dL/dy (alpha + (1 - alpha) dF/dx + dN/dx)``.
In eval mode the noise term is its mean, 0 (the real hardware noise comes from the faulty
memory at evaluation).
"""

from __future__ import annotations

import torch
from torch import nn

from qtaml_hw.errors import QtamlError

COMPONENTS = ("multiplicative", "input_energy", "quantization")


class StochasticResidual(nn.Module):
    """The SRL combination of a skip ``x`` and a branch ``F(x)`` of the same shape (module docstring)."""

    def __init__(self, channels: int, *, sigma: float = 0.1, channel_dim: int = 1):
        super().__init__()
        if not sigma >= 0:
            raise QtamlError(f"SRL noise level sigma must be >= 0, got {sigma}")
        self.alpha_logit = nn.Parameter(torch.zeros(channels))
        self.mix_logits = nn.Parameter(torch.zeros(len(COMPONENTS)))
        self.sigma = float(sigma)
        self.channel_dim = channel_dim
        self.generator: torch.Generator | None = None

    def _per_channel(self, t: torch.Tensor, ndim: int) -> torch.Tensor:
        shape = [1] * ndim
        shape[self.channel_dim] = -1
        return t.reshape(shape)

    @property
    def alpha(self) -> torch.Tensor:
        return torch.sigmoid(self.alpha_logit)

    @property
    def mixture(self) -> torch.Tensor:
        return torch.softmax(self.mix_logits, 0)

    def noise(self, x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
        """``N_adapt(x, F(x); theta)``: one reparameterised draw (module docstring)."""
        if self.generator is None:
            raise QtamlError("SRL noise needs a seeded generator: call qtaml_hw.nn.srl.seed_noise(model, seed)")
        g = self.generator
        eps1 = torch.randn(fx.shape, generator=g)
        eps2 = torch.randn(fx.shape, generator=g)
        u = torch.rand(fx.shape, generator=g)
        energy = x.pow(2).mean(dim=self.channel_dim, keepdim=True).add(1e-12).sqrt()
        step = fx.detach().abs().amax().clamp_min(1e-12) / 127.0
        parts = (fx * eps1, energy * eps2, step * (u - 0.5) * 12 ** 0.5)
        w = self.mixture.sqrt()
        return self.sigma * sum(w[i] * p for i, p in enumerate(parts))

    def forward(self, x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
        if x.shape != fx.shape:
            raise QtamlError(f"SRL skip and branch shapes differ: {tuple(x.shape)} vs {tuple(fx.shape)}")
        a = self._per_channel(self.alpha, x.dim())
        y = a * x + (1 - a) * fx
        if self.training and self.sigma > 0:
            y = y + self.noise(x, fx)
        return y


def srl_layers(model: nn.Module) -> list[StochasticResidual]:
    return [m for m in model.modules() if isinstance(m, StochasticResidual)]


def seed_noise(model: nn.Module, generator: torch.Generator) -> int:
    """Give every SRL of ``model`` the (shared, seeded) noise generator; returns how many."""
    layers = srl_layers(model)
    for m in layers:
        m.generator = generator
    return len(layers)


def srl_summary(model: nn.Module) -> list[dict]:
    """Learned alpha (mean, min, max) and noise mixture of each SRL, for the manifest and docs."""
    out = []
    for name, m in model.named_modules():
        if isinstance(m, StochasticResidual):
            a = m.alpha.detach()
            out.append({"layer": name, "alpha_mean": round(float(a.mean()), 4), "alpha_min": round(float(a.min()), 4),
                        "alpha_max": round(float(a.max()), 4),
                        "mixture": dict(zip(COMPONENTS, (round(float(v), 4) for v in m.mixture.detach())))})
    return out
