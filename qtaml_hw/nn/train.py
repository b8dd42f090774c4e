"""Seeded CPU training of the reference models (design.md section 4).

Recipe: AdamW (weight decay 1e-4), one-cycle cosine learning-rate schedule, cross-entropy,
mini-batches drawn by a ``torch.Generator`` seeded from ``qtaml_hw.seeding``; optional
augmentation by random translations of up to ``shift`` pixels (bilinear ``grid_sample``,
one draw per image, vectorised).  The same seed gives the same weights on the same
machine/torch build.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn.rng import torch_generator
from qtaml_hw.nn.srl import seed_noise

log = logging.getLogger(__name__)


OPTIMIZERS = ("adamw", "sgd")
SGD_MOMENTUM = 0.9


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (stored verbatim in the manifest)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    shift: float = 2.0
    label_smoothing: float = 0.0
    optimizer: str = "adamw"        # "adamw" (every recipe) or "sgd" (momentum 0.9, same weight decay and schedule)
    config: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.epochs <= 0 or self.batch_size <= 0 or not self.lr > 0:
            raise QtamlError("epochs, batch_size and lr must be positive")
        if self.optimizer not in OPTIMIZERS:
            raise QtamlError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")

    @property
    def optimizer_label(self) -> str:
        """The optimiser and schedule as the manifest records them."""
        return {"adamw": "AdamW", "sgd": f"SGD(momentum {SGD_MOMENTUM})"}[self.optimizer] + "+OneCycle"

    def make_optimizer(self, params):
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=SGD_MOMENTUM, weight_decay=self.weight_decay)
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)


# Per-architecture recipes used by `qtaml-hw train --all`.
RECIPES = {  # epochs sized for ~1-3 s per epoch on 2 CPU cores
    "lenet5": TrainConfig(epochs=30, lr=3e-3),
    "vgg": TrainConfig(epochs=20, lr=3e-3),
    "resnet": TrainConfig(epochs=20, lr=3e-3),
    "mobilenet": TrainConfig(epochs=30, lr=4e-3),
    "vit": TrainConfig(epochs=60, lr=2e-3, weight_decay=5e-2, label_smoothing=0.1),
}


__all__ = ["RECIPES", "TrainConfig", "accuracy", "plain_step", "random_shift", "torch_generator", "train_model"]


def random_shift(x: torch.Tensor, *, max_shift: float, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by a uniform random offset in [-max_shift, max_shift] pixels."""
    n, _, h, w = x.shape
    d = (torch.rand(n, 2, generator=generator) * 2 - 1) * max_shift
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = d[:, 0] * 2 / w
    theta[:, 1, 2] = d[:, 1] * 2 / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on (x, y)."""
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += (model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / max(len(x), 1)


def plain_step(model: nn.Module, xb, yb, *, epoch: int, batch_index: int, label_smoothing: float = 0.0):
    """Standard training step: cross-entropy, backward (gradients accumulate into ``.grad``)."""
    loss = F.cross_entropy(model(xb), yb, label_smoothing=label_smoothing)
    loss.backward()
    return loss


def train_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, cfg: TrainConfig, seed: int,
                progress=None, step=None, epoch_hook=None, reinit: bool = True) -> list[dict]:
    """Train ``model`` in place on (x, y); returns per-epoch history (loss, seconds).

    Every parameter is re-initialised from ``seed`` first (He-normal matrices, zero biases),
    so the result does not depend on the global torch RNG.  ``step`` computes one minibatch's
    loss and gradients (default :func:`plain_step`; noise-aware and Hessian-regularised training
    pass theirs, ``qtaml_hw.nn.robust``/``hessian``); ``epoch_hook(model, epoch)`` runs before
    each epoch (0-based).  Stochastic residual layers draw their noise from ``(seed, "srl")``.
    ``reinit=False`` keeps the current weights (fine-tuning a trained checkpoint).
    """
    step = step or plain_step
    seed_noise(model, torch_generator(seed, "srl"))
    g_init = torch_generator(seed, "init")
    with torch.no_grad():  # seeded re-initialisation, independent of global torch RNG
        for name, p in (model.named_parameters() if reinit else ()):
            if p.dim() > 1:  # He-normal, std sqrt(2 / fan_in)
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g_init) * (2.0 / fan_in) ** 0.5)
            elif name.endswith("bias"):
                p.zero_()
            # remaining 1-D parameters (norm scales) keep their deterministic default of 1
    g = torch_generator(seed, "batches")
    opt = cfg.make_optimizer(model.parameters())
    steps = cfg.epochs * ((len(x) + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    history = []
    for epoch in range(cfg.epochs):
        if epoch_hook is not None:
            epoch_hook(model, epoch)
        model.train()
        t0, total = time.perf_counter(), 0.0
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            xb = x[idx]
            if cfg.shift > 0:
                xb = random_shift(xb, max_shift=cfg.shift, generator=g)
            opt.zero_grad(set_to_none=True)
            loss = step(model, xb, y[idx], epoch=epoch, batch_index=i // cfg.batch_size,
                        label_smoothing=cfg.label_smoothing)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        rec = {"epoch": epoch + 1, "loss": total / len(x), "seconds": time.perf_counter() - t0}
        history.append(rec)
        log.info("epoch %d loss %.4f (%.1fs)", rec["epoch"], rec["loss"], rec["seconds"])
        if progress is not None:
            progress(rec)
    model.eval()
    return history
