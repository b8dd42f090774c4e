"""Batched, seeded faulty evaluation (design.md sections 2, 4, 7).

For each trial ``i`` a *weight sampler* draws faulty dequantized weights for every memory
layer, ``batch_trials`` trials at a time; the forward passes run either in one
``vmap``-batched pass or as one plain pass per trial through a reused model copy (``engine``).
Trial ``i``'s faults depend only on ``(seed, layer name, trial_offset + i)``, so its
accuracy is identical alone or in a batch.  Reported: per-trial accuracy and mean
cross-entropy loss, the clean quantized accuracy, the mean accuracy and its 95 %
Student-t confidence interval ``mean +- t_{0.975, K-1} * sd / sqrt(K)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, QuantizedTensor, flip_bits
from qtaml_hw.nn.quantized import LayerInfo, QuantizedModel
from qtaml_hw.stats import t_interval

log = logging.getLogger(__name__)

WeightSampler = Callable[[LayerInfo, int, int, int], "np.ndarray | torch.Tensor"]


@dataclass(frozen=True)
class TrialResults:
    """Per-trial accuracy/loss of a faulty-evaluation run with its summary."""

    accuracy: np.ndarray
    loss: np.ndarray
    clean_accuracy: float
    mean: float
    ci95: tuple[float, float]
    trial_offset: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def trials(self) -> int:
        return int(self.accuracy.size)

    def as_dict(self) -> dict:
        return {"trials": self.trials, "trial_offset": self.trial_offset,
                "clean_quantized_accuracy": self.clean_accuracy, "faulty_accuracy_mean": self.mean,
                "faulty_accuracy_ci95": list(self.ci95), "faulty_loss_mean": float(np.mean(self.loss)),
                "accuracy": self.accuracy.tolist(), "loss": self.loss.tolist()}


_MAX_TABLE = 1 << 20  # largest lookup table (entries) :func:`_dequantizer` builds


def _dequantizer(qt: QuantizedTensor) -> Callable[[np.ndarray], np.ndarray]:
    """A function equal to ``qt.dequantize`` (bit for bit) that looks codes up in a table.

    The table holds ``qt.dequantize`` of every code ``0 .. 2^B - 1`` per scale entry (one per
    tensor or per channel), computed by the same float64 product and float32 rounding, so
    ``table[code]`` is exactly the elementwise ``float32(s * v)``; the lookup replaces the int64
    decode and float64 product over all ``trials x n`` weights (8x faster for LeNet-5's fc1).
    Tables over ``_MAX_TABLE`` entries (16-bit per-channel codes) fall back to ``qt.dequantize``.
    """
    n_codes, scale = 1 << qt.bits, np.asarray(qt.scale)
    if n_codes * scale.size > _MAX_TABLE or scale.ndim > qt.codes.ndim:
        return qt.dequantize
    every = np.arange(n_codes, dtype=qt.codes.dtype).reshape((n_codes,) + (1,) * scale.ndim)
    table = QuantizedTensor(every, scale, qt.bits, qt.code).dequantize()  # (2^B, *scale.shape)
    table = np.ascontiguousarray(table.reshape(n_codes, -1).T).reshape(-1)  # [scale entry, code]
    if scale.size == 1:
        return lambda codes: np.take(table, codes)
    entry = np.arange(scale.size, dtype=np.intp).reshape(scale.shape) * n_codes
    offset = np.ascontiguousarray(np.broadcast_to(entry, qt.codes.shape))  # table row of every weight

    def lookup(codes):
        return np.take(table, np.add(codes, offset, dtype=np.intp))

    return lookup


def default_sampler(flip_model: FlipModel, protect: dict | None = None) -> WeightSampler:
    """The plain sampler: ``memory.flip_bits`` on each layer's raw codes, then dequantize.

    ``protect`` maps layer name -> number of top bits kept fault-free (ideal MSB
    protection); the key of layer ``l`` is ``"inject/<l>"`` so layers draw independent faults.
    Dequantization is ``qt.dequantize`` by table lookup (:func:`_dequantizer`), float32.
    """
    protect = dict(protect or {})
    tables: dict = {}  # layer name -> (its QuantizedTensor, dequantizer)

    def sample(layer: LayerInfo, trials: int, seed: int, trial_offset: int) -> np.ndarray:
        qt = layer.qtensor
        m = int(protect.get(layer.name, 0))
        if not 0 <= m <= qt.bits:
            raise QtamlError(f"protected MSB count for {layer.name!r} must be in 0..{qt.bits}, got {m}")
        faulty = flip_bits(qt.codes, bits=qt.bits, flip_model=flip_model, trials=trials, seed=seed,
                           trial_offset=trial_offset, protect_msb=m, key=f"inject/{layer.name}")
        cached = tables.get(layer.name)
        if cached is None or cached[0] is not qt:
            cached = tables[layer.name] = (qt, _dequantizer(qt))
        return cached[1](faulty)

    return sample


def _as_tensor(w, shape) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(w, dtype=np.float32)) if not isinstance(w, torch.Tensor) else w.float()
    if tuple(t.shape[1:]) != tuple(shape):
        raise QtamlError(f"weight sampler returned shape {tuple(t.shape)}, expected (trials, {tuple(shape)})")
    return t


ENGINES = ("auto", "vmap", "loop")


@torch.no_grad()
def _logits_stacked(qmodel: QuantizedModel, weights: dict, x: torch.Tensor, chunk: int) -> torch.Tensor:
    return torch.cat([qmodel.forward_stacked(weights, x[i:i + chunk]) for i in range(0, len(x), chunk)], dim=1)


@torch.no_grad()
def _logits_loop(qmodel: QuantizedModel, weights: dict, x: torch.Tensor, chunk: int) -> torch.Tensor:
    # one ordinary (ungrouped) forward per trial through a reused module: fastest on CPU, see docs/models.md
    return qmodel.forward_each(weights, x, chunk)


@torch.no_grad()
def evaluate_faulty(qmodel: QuantizedModel, x: torch.Tensor, y: torch.Tensor, *, trials: int, seed: int,
                    weight_sampler: WeightSampler, batch_trials: int = 64, trial_offset: int = 0,
                    max_batch_samples: int = 1024, engine: str = "auto", progress=None) -> TrialResults:
    """Run ``trials`` fault trials on (x, y), faults drawn ``batch_trials`` trials at a time.

    ``engine="vmap"`` runs the ``batch_trials`` weight sets in one ``torch.func.vmap`` pass
    (grouped convolutions), ``max_batch_samples`` bounding ``trials * images`` per pass;
    ``"loop"`` runs one ordinary forward per trial over 256-image chunks, each trial's weights
    copied into one reused model copy (:meth:`QuantizedModel.forward_each`; on CPU the grouped
    kernels are 1.4-5.6x slower than plain ones, so this is faster there); ``"auto"`` picks
    ``"loop"`` on CPU and ``"vmap"`` on accelerators.  Both give the same per-trial results.
    Progress (trials done, total) goes to the optional ``progress`` callable.
    """
    if engine not in ENGINES:
        raise QtamlError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "auto":
        engine = "loop" if next(qmodel.model.parameters()).device.type == "cpu" else "vmap"
    if int(trials) <= 0:
        raise QtamlError(f"trials must be positive, got {trials}")
    if int(batch_trials) <= 0:
        raise QtamlError(f"batch_trials must be positive, got {batch_trials}")
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y)
    clean = float((qmodel(x).argmax(-1) == y).float().mean())
    acc, loss = np.empty(trials), np.empty(trials)
    for start in range(0, trials, batch_trials):
        k = min(batch_trials, trials - start)
        weights = {layer.param_name: _as_tensor(weight_sampler(layer, k, seed, trial_offset + start), layer.shape)
                   for layer in qmodel.layers}
        if engine == "vmap":
            logits = _logits_stacked(qmodel, weights, x, max(1, max_batch_samples // k))  # (k, N, C)
        else:
            logits = _logits_loop(qmodel, weights, x, 256)
        acc[start:start + k] = (logits.argmax(-1) == y).float().mean(1).numpy()
        lf = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(k), reduction="none")
        loss[start:start + k] = lf.reshape(k, -1).mean(1).numpy()
        if progress is not None:
            progress(start + k, trials)
        log.debug("trials %d/%d", start + k, trials)
    return TrialResults(accuracy=acc, loss=loss, clean_accuracy=clean, mean=float(acc.mean()),
                        ci95=t_interval(acc), trial_offset=trial_offset)
