"""Noise-aware training: quantization + leakage flips in the forward pass (design.md section 8; seed 002 2.1, 2.3).

Every ``nn.Conv*``/``nn.Linear`` weight ``W_l`` of the model is, in each training forward pass,

1. quantized by the project's own memory model (:func:`qtaml_hw.memory.quantize`, symmetric,
   ``s_l = ||W_l||_inf / (2^(B-1) - 1)``, per tensor, two's complement),
2. corrupted by the leakage flip model (:func:`qtaml_hw.memory.flip_bits`, directional
   ``p10``/``p01 = r p10`` per bit, the top ``m_l`` bits of layer ``l`` protected by a plan),
3. dequantized, ``W~_l = s_l v'_l``,

and enters the network through the straight-through estimator (STE)
``W_ste = W + stopgrad(W~ - W)``: the forward value is the faulty weight, the backward is the
identity, ``dL/dW = dL/dW~`` (Bengio et al. 2013).  The loss is seed 002 section 2.3's

    L = CE(f_noisy(x), y) + lambda_rob * E_z[ D(f(x), f(x + z)) ],

with the hardware noise ``z`` acting on the weights (where the leakage happens):
``D = KL(softmax f_q(x) || softmax f_noisy(x))``, ``f_q`` the network with the clean
quantized weights (also through the STE) and ``f_noisy`` one draw of the flip model per step.
Randomness: the flips of optimisation step ``t`` come from ``rng(seed, "noise-aware/<layer>", t)``
(``flip_bits``' own streams), so training is deterministic in its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from qtaml_hw.errors import QtamlError, check_probability
from qtaml_hw.memory import FlipModel, decode_codes, flip_bits, quantize
from qtaml_hw.nn.quantized import weight_layers


@dataclass(frozen=True)
class NoiseAwareConfig:
    """Noise-aware training hyper-parameters (stored verbatim in the manifest).

    ``p10``/``r``: the training flip model (``p01 = r p10``); ``protect``: layer name -> top
    bits kept fault-free (a plan; layers not named get ``protect_default``); ``lambda_rob``:
    weight of the robustness loss; ``start_epoch``: flips switch on after this many plain epochs.
    """

    p10: float = 0.1
    r: float = 1.0
    bits: int = 8
    protect_default: int = 0
    protect: dict = field(default_factory=dict)
    lambda_rob: float = 1.0
    start_epoch: int = 0

    def __post_init__(self):
        check_probability("p10", self.p10)
        if not 0.0 <= self.r <= 1.0:
            raise QtamlError(f"r must be in [0, 1], got {self.r}")
        if not (np.isfinite(self.lambda_rob) and self.lambda_rob >= 0):
            raise QtamlError(f"the robustness-loss weight must be a non-negative number, got {self.lambda_rob}")
        if self.start_epoch < 0:
            raise QtamlError(f"start_epoch must be >= 0, got {self.start_epoch}")
        for name, m in {"(default)": self.protect_default, **self.protect}.items():
            if not 0 <= int(m) <= self.bits:
                raise QtamlError(f"protected bits of layer {name} must be in 0..{self.bits}, got {m}")

    @property
    def flip_model(self) -> FlipModel:
        return FlipModel(float(self.p10), float(self.r * self.p10))

    def protect_of(self, layer: str) -> int:
        return int(self.protect.get(layer, self.protect_default))


def quantize_ste(w: torch.Tensor, *, bits: int = 8) -> torch.Tensor:
    """Clean fake-quantized ``w`` (``s v``, :func:`qtaml_hw.memory.quantize`) with STE gradient."""
    qt = quantize(w, bits=bits)
    deq = torch.from_numpy(np.asarray(qt.dequantize(), dtype=np.float32))
    return w + (deq - w).detach()


def faulty_ste(w: torch.Tensor, *, flip_model: FlipModel, bits: int, protect_msb: int, seed: int, step: int,
               key: str) -> torch.Tensor:
    """One leakage draw of ``w`` in memory (quantize, ``flip_bits``, dequantize) with STE gradient.

    Forward value ``s v'`` (the faulty dequantized weight); backward ``dL/dw = dL/d(s v')``.
    """
    qt = quantize(w, bits=bits)
    codes = flip_bits(qt.codes, bits=bits, flip_model=flip_model, trials=1, seed=seed, trial_offset=step,
                      protect_msb=protect_msb, key=key)[0]
    deq = (decode_codes(codes, bits=bits, code=qt.code) * qt.scale).astype(np.float32)
    return w + (torch.from_numpy(deq) - w).detach()


def memory_params(model: nn.Module) -> list[tuple[str, str, nn.Parameter]]:
    """(layer name, parameter name, weight) of every Conv/Linear weight (the faulty memory)."""
    return [(name, f"{name}.weight" if name else "weight", mod.weight) for name, mod in weight_layers(model)]


class NoiseAwareStep:
    """One optimisation step of noise-aware training (module docstring): loss, backward."""

    def __init__(self, cfg: NoiseAwareConfig, *, seed: int):
        self.cfg, self.seed, self.step = cfg, int(seed), 0
        self.protect = dict(cfg.protect)  # layer -> protected top bits; a plan may replace it (nn.methods)
        self.last_rob = float("nan")

    def __call__(self, model: nn.Module, xb, yb, *, epoch: int, batch_index: int, label_smoothing: float = 0.0):
        if epoch < self.cfg.start_epoch:  # warm-up epochs: plain training
            loss = F.cross_entropy(model(xb), yb, label_smoothing=label_smoothing)
            loss.backward()
            return loss
        cfg, fm = self.cfg, self.cfg.flip_model
        clean, noisy = {}, {}
        for layer, pname, w in memory_params(model):
            clean[pname] = quantize_ste(w, bits=cfg.bits)
            noisy[pname] = faulty_ste(w, flip_model=fm, bits=cfg.bits, protect_msb=int(self.protect.get(layer, cfg.protect_default)),
                                      seed=self.seed, step=self.step, key=f"noise-aware/{layer}")
        self.step += 1
        logits_noisy = torch.func.functional_call(model, noisy, (xb,), strict=False)
        loss = F.cross_entropy(logits_noisy, yb, label_smoothing=label_smoothing)
        if cfg.lambda_rob > 0:
            logits_q = torch.func.functional_call(model, clean, (xb,), strict=False)
            rob = F.kl_div(F.log_softmax(logits_noisy, -1), F.log_softmax(logits_q, -1), log_target=True,
                           reduction="batchmean")
            self.last_rob = float(rob.detach())
            loss = loss + cfg.lambda_rob * rob
        loss.backward()
        return loss
