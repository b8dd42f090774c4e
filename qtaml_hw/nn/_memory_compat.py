"""Access to the MEMORY layer's quantizer and fault injector (design.md section 2).

The NN layer codes against the contract of ``qtaml_hw.memory`` (``quantize``,
``QuantizedTensor``, ``FlipModel``, ``flip_bits``).  While that package is not importable
(it is developed in parallel), this module supplies a minimal implementation of the same
contract restricted to what the NN layer needs: symmetric per-tensor/per-channel
quantization ``s = max|W| / (2^(B-1) - 1)``, ``v = round(W / s)`` stored as raw B-bit
two's-complement / offset-binary / sign-magnitude codes, and directional independent bit
flips (a 1 reads as 0 with p10, a 0 as 1 with p01), trial ``i`` seeded by
``rng(seed, key, trial_offset + i)``.  As soon as ``qtaml_hw.memory`` exports the
contract, it is used instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError, check_probability
from qtaml_hw.seeding import rng

try:  # pragma: no cover - depends on the MEMORY package being present
    from qtaml_hw.memory import FlipModel, QuantizedTensor, flip_bits, quantize  # noqa: F401

    HAVE_MEMORY = True
except ImportError:
    HAVE_MEMORY = False

if not HAVE_MEMORY:
    CODES = ("twos", "offset", "signmag")

    def _dtype(bits):
        return np.uint8 if bits <= 8 else np.uint16

    def encode_values(v, *, bits, code):
        v = np.asarray(v, dtype=np.int64)
        mask = (1 << bits) - 1
        if code == "twos":
            raw = v & mask
        elif code == "offset":
            raw = v + (1 << (bits - 1))
        else:
            raw = np.abs(v) | np.where(v < 0, 1 << (bits - 1), 0)
        return raw.astype(_dtype(bits))

    def decode_codes(codes, *, bits, code):
        c = np.asarray(codes).astype(np.int64)
        half = 1 << (bits - 1)
        if code == "twos":
            return np.where(c >= half, c - (1 << bits), c)
        if code == "offset":
            return c - half
        return np.where(c >= half, -(c - half), c)

    @dataclass(frozen=True)
    class QuantizedTensor:
        """Raw B-bit codes with their scale; value ``v`` dequantizes to ``s * v``."""

        codes: np.ndarray
        scale: np.ndarray
        bits: int
        code: str = "twos"

        def values(self):
            return decode_codes(self.codes, bits=self.bits, code=self.code)

        def dequantize(self, codes=None):
            c = self.codes if codes is None else codes
            return (decode_codes(c, bits=self.bits, code=self.code) * self.scale).astype(np.float32)

    def quantize(w, *, bits=8, per_channel=False, channel_axis=0, code="twos"):
        if code not in CODES:
            raise QtamlError(f"unknown code {code!r}; choose one of {', '.join(CODES)}")
        if not 2 <= bits <= 16:
            raise QtamlError(f"bits must be in 2..16, got {bits}")
        w = np.asarray(w, dtype=np.float64)
        qmax = (1 << (bits - 1)) - 1
        if per_channel:
            axes = tuple(i for i in range(w.ndim) if i != channel_axis % w.ndim)
            m = np.max(np.abs(w), axis=axes, keepdims=True)
        else:
            m = np.asarray(np.max(np.abs(w)))
        scale = np.where(m > 0, m / qmax, 1.0)
        v = np.clip(np.rint(w / scale), -qmax, qmax).astype(np.int64)
        return QuantizedTensor(encode_values(v, bits=bits, code=code), scale, bits, code)

    @dataclass(frozen=True)
    class FlipModel:
        """Directional per-bit flip probabilities (scalars or length-B arrays, LSB first)."""

        p10: float | np.ndarray
        p01: float | np.ndarray

        def __post_init__(self):
            check_probability("p10", self.p10)
            check_probability("p01", self.p01)

        @classmethod
        def symmetric(cls, p_flip, r=1.0):
            return cls(p_flip, r * p_flip)

    def flip_bits(codes, *, bits, flip_model, trials, seed, trial_offset=0, protect_msb=0, key="inject"):
        codes = np.asarray(codes)
        p10 = np.broadcast_to(np.asarray(flip_model.p10, dtype=np.float64), (bits,))
        p01 = np.broadcast_to(np.asarray(flip_model.p01, dtype=np.float64), (bits,))
        out = np.empty((trials, *codes.shape), dtype=codes.dtype)
        shifts = np.arange(bits, dtype=np.int64).reshape((bits,) + (1,) * codes.ndim)
        b = (codes.astype(np.int64)[None] >> shifts) & 1  # (bits, *shape)
        p = np.where(b == 1, p10.reshape(shifts.shape), p01.reshape(shifts.shape))
        p[bits - protect_msb:] = 0.0
        for i in range(trials):  # one generator per trial: batching-invariant
            u = rng(seed, key, trial_offset + i).random(b.shape)
            flipped = (u < p).astype(np.int64)
            out[i] = (codes.astype(np.int64) ^ (flipped << shifts).sum(axis=0)).astype(codes.dtype)
        return out
