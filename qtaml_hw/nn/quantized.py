"""Quantized inference over any ``nn.Module`` with Conv/Linear layers (design.md sections 2, 4).

Every ``nn.Conv1d/2d/3d`` and ``nn.Linear`` weight ``W_l`` is stored in the weight memory
as B-bit integers ``v = round(W_l / s_l)`` with the symmetric scale
``s_l = ||W_l||_inf / (2^(B-1) - 1)`` (per tensor, or per output channel), quantized by
``qtaml_hw.memory.quantize``.  Biases, normalisation parameters and embeddings stay float:
only Conv/Linear weights live in the faulty memory.

Inference with replaced weights uses ``torch.func.functional_call`` (:meth:`QuantizedModel.forward_with`,
differentiable); K weight sets are run in one batched pass by ``torch.func.vmap`` over stacked
weights (:meth:`QuantizedModel.forward_stacked`), or one plain pass each with the model's memory
weights swapped once for working tensors that are overwritten in place per trial
(:meth:`QuantizedModel.forward_each`; the clean :meth:`QuantizedModel.forward` swaps in the clean
weights): the same kernels on the same values, so the same logits bit for bit, without
rebuilding a parameter dict per pass.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import QuantizedTensor, check_bits_code, quantize

_WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass(frozen=True)
class LayerInfo:
    """One weight tensor in memory: module name, shape, count, scale ``s_l``, ``||W_l||_inf``."""

    name: str
    shape: tuple
    n_weights: int
    scale: np.ndarray
    w_inf: float
    qtensor: QuantizedTensor

    @property
    def param_name(self) -> str:
        return f"{self.name}.weight" if self.name else "weight"


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The (name, module) pairs whose ``weight`` is stored in the weight memory."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _WEIGHT_LAYERS)]


class QuantizedModel(nn.Module):
    """A float model plus the B-bit quantized copies of its Conv/Linear weights.

    ``forward(x)`` runs the model with the clean dequantized weights ``s_l * v``.
    """

    def __init__(self, model: nn.Module, *, bits: int = 8, per_channel: bool = False, code: str = "twos"):
        super().__init__()
        bits = check_bits_code(bits, code)
        pairs = weight_layers(model)
        if not pairs:
            raise QtamlError("model has no nn.Linear/nn.Conv layers to quantize")
        self.model = model.eval()
        self.bits, self.per_channel, self.code = int(bits), per_channel, code
        layers, deq = [], {}
        for name, mod in pairs:
            w = mod.weight.detach().cpu().numpy()
            qt = quantize(w, bits=self.bits, per_channel=per_channel, channel_axis=0, code=code)
            info = LayerInfo(name=name, shape=tuple(w.shape), n_weights=int(w.size),
                             scale=np.asarray(qt.scale), w_inf=float(np.max(np.abs(w))), qtensor=qt)
            layers.append(info)
            deq[info.param_name] = torch.from_numpy(np.asarray(qt.dequantize(), dtype=np.float32))
        self.layers: list[LayerInfo] = layers
        self._clean = deq
        # Everything else (biases, BN/LN, embeddings, buffers) stays float and shared.
        self._fixed = {k: v.detach() for k, v in model.named_parameters() if k not in deq}
        self._fixed.update({k: v for k, v in model.named_buffers()})
        # the memory weights as Parameters sharing storage with the clean tensors (clean forward), and
        # working tensors that forward_each overwrites per trial (built on first use)
        self._clean_params = {k: nn.Parameter(v, requires_grad=False) for k, v in deq.items()}
        self._work_params: dict | None = None

    @contextlib.contextmanager
    def _memory_weights(self, params: dict):
        """Swap ``self.model``'s memory weights for ``params`` (param name -> Parameter) while inside.

        What ``functional_call`` does for every parameter and buffer on each call, done for the
        memory weights only and once for a whole run of passes; the originals are put back on exit.
        """
        saved = []
        try:
            for name, param in params.items():
                owner, _, leaf = name.rpartition(".")
                module = self.model.get_submodule(owner)
                saved.append((module, leaf, module._parameters[leaf]))
                module._parameters[leaf] = param
            yield
        finally:
            for module, leaf, original in reversed(saved):
                module._parameters[leaf] = original

    @property
    def n_weights(self) -> int:
        return sum(layer.n_weights for layer in self.layers)

    def layer(self, name: str) -> LayerInfo:
        for info in self.layers:
            if info.name == name:
                return info
        raise QtamlError(f"no weight layer named {name!r}")

    def forward_with(self, weights: dict, x: torch.Tensor) -> torch.Tensor:
        """Forward pass with the memory weights replaced by ``weights`` (param name -> tensor)."""
        return torch.func.functional_call(self.model, {**self._fixed, **self._clean, **weights}, (x,))

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Clean forward pass: ``self.model`` with the clean dequantized memory weights swapped in."""
        with self._memory_weights(self._clean_params):
            return self.model(x)

    @torch.no_grad()
    def forward_each(self, weights: dict, x: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """K plain forward passes: ``weights`` maps param name -> (K, *shape); returns (K, N, ...).

        The memory weights of ``self.model`` are swapped for working tensors once; trial j's
        weights are copied into them (``copy_``, no new tensors, no parameter dict per pass) and x
        runs through ``self.model`` in ``chunk``-image slices.  Same kernels on the same values as
        :meth:`forward_with` per trial, so the same logits bit for bit.
        """
        if not len(x):
            raise QtamlError("forward_each needs at least one input")
        unknown = sorted(set(weights) - set(self._clean))
        if unknown:
            raise QtamlError(f"not memory weights: {unknown}")
        if self._work_params is None:
            self._work_params = {k: nn.Parameter(v.clone(), requires_grad=False) for k, v in self._clean.items()}
        work = self._work_params
        for name, param in work.items():  # layers without a weight set run clean
            if name not in weights:
                param.copy_(self._clean[name])
        k = next(iter(weights.values())).shape[0] if weights else 1
        out = None
        with self._memory_weights(work):
            for j in range(k):
                for name, w in weights.items():
                    work[name].copy_(w[j])
                for i in range(0, len(x), chunk):
                    y = self.model(x[i:i + chunk])
                    if out is None:
                        out = y.new_empty((k, len(x), *y.shape[1:]))
                    out[j, i:i + len(y)] = y
        return out

    @torch.no_grad()
    def forward_stacked(self, weights: dict, x: torch.Tensor) -> torch.Tensor:
        """K forward passes at once: ``weights`` maps param name -> (K, *shape); returns (K, N, ...)."""
        names = list(weights)

        def one(*ws):
            return torch.func.functional_call(
                self.model, {**self._fixed, **self._clean, **dict(zip(names, ws))}, (x,))

        return torch.func.vmap(one, in_dims=tuple(0 for _ in names))(*(weights[n] for n in names))
