"""Symmetric B-bit weight quantization (design.md section 2).

``s = max|W| / (2^(B-1) - 1)`` per tensor or per output channel, ``v = clip(round(W / s),
-(2^(B-1)-1), 2^(B-1)-1)`` (the range is symmetric so every code stores it), dequantized
value ``s * v``. An all-zero tensor/channel gets ``s = 1`` (its values are all 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory.codes import check_bits_code, decode_codes, encode_values


@dataclass(frozen=True)
class QuantizedTensor:
    """Raw B-bit codes (uint8/uint16, shape of W) and their scale (shape () or keepdims per channel)."""

    codes: np.ndarray
    scale: np.ndarray
    bits: int
    code: str = "twos"

    def values(self) -> np.ndarray:
        """Signed int64 integer values ``v``."""
        return decode_codes(self.codes, bits=self.bits, code=self.code)

    def dequantize(self, codes=None) -> np.ndarray:
        """float32 ``s * v`` of ``codes`` (default: the stored ones); leading trial dims allowed."""
        c = self.codes if codes is None else np.asarray(codes)
        if c.shape[c.ndim - self.codes.ndim:] != self.codes.shape:
            raise QtamlError(f"codes of shape {c.shape} do not end with the tensor shape {self.codes.shape}")
        return (decode_codes(c, bits=self.bits, code=self.code) * self.scale).astype(np.float32)


def quantize(w, *, bits: int = 8, per_channel: bool = False, channel_axis: int = 0,
             code: str = "twos") -> QuantizedTensor:
    """Quantize ``w`` symmetrically to B-bit integers stored in ``code`` (design.md section 2)."""
    bits = check_bits_code(bits, code)
    if hasattr(w, "detach"):
        w = w.detach().cpu().numpy()
    w = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise QtamlError("weights contain NaN or infinity")
    qmax = (1 << (bits - 1)) - 1
    if per_channel:
        if w.ndim == 0:
            raise QtamlError("per-channel quantization needs at least a 1-d tensor")
        if not -w.ndim <= channel_axis < w.ndim:
            raise QtamlError(f"channel_axis {channel_axis} out of range for a {w.ndim}-d tensor")
        axes = tuple(i for i in range(w.ndim) if i != channel_axis % w.ndim)
        m = np.max(np.abs(w), axis=axes, keepdims=True) if w.size else np.zeros([1] * w.ndim)
    else:
        m = np.asarray(np.max(np.abs(w)) if w.size else 0.0)
    scale = np.where(m > 0, m / qmax, 1.0).astype(np.float64)
    v = np.clip(np.rint(w / scale), -qmax, qmax).astype(np.int64)
    return QuantizedTensor(encode_values(v, bits=bits, code=code), scale, bits, code)
