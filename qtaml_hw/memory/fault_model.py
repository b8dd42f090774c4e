"""The fault-model protocols: what a sampler needs from a fault model (design.md sections 1, 2 and 6).

Two small ``typing.Protocol`` classes, in the lowest layer that knows bits:

* :class:`FaultModel` -- directional per-bit flip probabilities of a stored word,
  ``per_bit(bits) -> (p10, p01)``, each a float64 array of length ``bits`` (LSB first).  The
  injector (``memory.flip_bits``), the closed-form moments (``memory.moments``) and the ECC
  placement read a fault model only through this method.  Implemented by
  :class:`~qtaml_hw.memory.inject.FlipModel` (built from the physics layer's
  ``flip_probabilities`` or from ``p_flip``, and for check bits by ``ecc.check_flip_model``).
* :class:`WeightSampler` -- the NN layer's weight sampler,
  ``sampler(layer, trials, seed, trial_offset) -> (trials, *shape)`` faulty weights, trial ``i``
  drawn from ``(seed, trial_offset + i)`` only.  Implemented by ``nn.default_sampler`` (plain
  flips), ``tac.corrected_sampler`` (mean-corrected read), ``ecc.ECCSampler`` (real codes over
  the protected planes) and RTL-sourced replays.

A new fault model (a per-bit pattern from a measured cell, an RTL fault map) implements one
of these; nothing else in the stack needs to change.  Both are ``runtime_checkable``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from qtaml_hw.errors import QtamlError


@runtime_checkable
class FaultModel(Protocol):
    """Per-bit directional flip probabilities ``(p10, p01)`` of a ``bits``-bit word, LSB first."""

    def per_bit(self, bits: int) -> tuple[np.ndarray, np.ndarray]:
        ...


def checked_per_bit(model, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``model.per_bit(bits)`` of any :class:`FaultModel`, checked: two float64 arrays of length ``bits`` in [0, 1].

    Raises a one-line ``QtamlError`` for an object that is not a fault model or returns anything else.
    """
    if not isinstance(model, FaultModel):
        raise QtamlError(f"flip_model must be a fault model with per_bit(bits) -> (p10, p01) "
                         f"(memory.FaultModel, e.g. a FlipModel), got {type(model).__name__}")
    try:
        p10, p01 = (np.asarray(p, dtype=np.float64) for p in model.per_bit(bits))
    except (TypeError, ValueError) as exc:
        raise QtamlError(f"{type(model).__name__}.per_bit({bits}) must return two arrays: {exc}") from None
    for name, p in (("p10", p10), ("p01", p01)):
        if p.shape != (bits,) or not np.all(np.isfinite(p)) or p.min(initial=0.0) < 0.0 or p.max(initial=0.0) > 1.0:
            raise QtamlError(f"{type(model).__name__}.per_bit({bits}): {name} must be {bits} probabilities in [0, 1]")
    return p10, p01


@runtime_checkable
class WeightSampler(Protocol):
    """Faulty weights of one layer for trials ``trial_offset .. trial_offset + trials - 1``."""

    def __call__(self, layer: Any, trials: int, seed: int, trial_offset: int) -> Any:
        ...
