"""Integer codes of the weight memory (design.md section 2).

A B-bit word ``b = (b_0 .. b_{B-1})`` (LSB first) stores a signed integer ``v`` in one of
three codes:

* ``"twos"``  -- two's complement: ``v = sum_k c_k b_k`` with ``c_k = 2^k`` for ``k < B-1`` and
  ``c_{B-1} = -2^(B-1)``;
* ``"offset"`` -- offset binary: ``v = sum_k 2^k b_k - 2^(B-1)``;
* ``"signmag"`` -- sign-magnitude: ``v = (1 - 2 b_{B-1}) * sum_{k<B-1} 2^k b_k`` (not linear).

Raw codes are unsigned arrays (uint8 for B <= 8, else uint16).
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError

CODES = ("twos", "offset", "signmag")
MIN_BITS = 4
MAX_BITS = 16


def check_bits_code(bits, code) -> int:
    """Validate ``bits`` in 4..16 and ``code`` in :data:`CODES`; return ``int(bits)``."""
    if code not in CODES:
        raise QtamlError(f"unknown code {code!r}; choose one of {', '.join(CODES)}")
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not MIN_BITS <= bits <= MAX_BITS:
        raise QtamlError(f"bits must be an integer in {MIN_BITS}..{MAX_BITS}, got {bits!r}")
    return int(bits)


def code_dtype(bits: int) -> np.dtype:
    """Storage dtype of raw codes: uint8 for B <= 8, else uint16."""
    return np.dtype(np.uint8 if bits <= 8 else np.uint16)


def value_range(*, bits: int, code: str) -> tuple[int, int]:
    """Smallest and largest representable integer value of the code."""
    bits = check_bits_code(bits, code)
    half = 1 << (bits - 1)
    if code == "signmag":
        return -(half - 1), half - 1
    return -half, half - 1


def encode_values(v, *, bits: int, code: str) -> np.ndarray:
    """Raw B-bit codes of the signed integers ``v`` (QtamlError if any is out of range).

    Sign-magnitude encodes 0 as +0 (sign bit clear).
    """
    bits = check_bits_code(bits, code)
    v = np.asarray(v)
    if v.dtype.kind == "f":
        if not np.all(np.isfinite(v)) or np.any(v != np.rint(v)):
            raise QtamlError("encode_values needs integer values")
    v = v.astype(np.int64)
    lo, hi = value_range(bits=bits, code=code)
    if v.size and (v.min() < lo or v.max() > hi):
        raise QtamlError(f"values outside [{lo}, {hi}] cannot be stored as {bits}-bit {code}")
    half = 1 << (bits - 1)
    if code == "twos":
        raw = v & ((1 << bits) - 1)
    elif code == "offset":
        raw = v + half
    else:
        raw = np.abs(v) | np.where(v < 0, half, 0)
    return raw.astype(code_dtype(bits))


def decode_codes(codes, *, bits: int, code: str) -> np.ndarray:
    """Signed int64 values of raw B-bit codes (bits above B are ignored)."""
    bits = check_bits_code(bits, code)
    c = np.asarray(codes).astype(np.int64) & ((1 << bits) - 1)
    half = 1 << (bits - 1)
    if code == "twos":
        return np.where(c >= half, c - (1 << bits), c)
    if code == "offset":
        return c - half
    return np.where(c >= half, half - c, c)


def bit_weights(*, bits: int, code: str) -> np.ndarray:
    """Bit weights ``c_k`` (k = 0..B-1, LSB first) of a linear code: ``v = sum_k c_k b_k + const``.

    Two's complement: ``c_k = 2^k``, ``c_{B-1} = -2^(B-1)``; offset binary: ``c_k = 2^k``
    (with ``const = -2^(B-1)``, see :func:`code_offset`). Sign-magnitude is not linear and
    raises :class:`QtamlError`.
    """
    bits = check_bits_code(bits, code)
    if code == "signmag":
        raise QtamlError("sign-magnitude is not a linear code: it has no bit weights")
    c = 2.0 ** np.arange(bits, dtype=np.float64)
    if code == "twos":
        c[-1] = -c[-1]
    return c


def code_offset(*, bits: int, code: str) -> float:
    """The constant term of a linear code: 0 for two's complement, ``-2^(B-1)`` for offset binary."""
    bits = check_bits_code(bits, code)
    if code == "signmag":
        raise QtamlError("sign-magnitude is not a linear code")
    return -float(1 << (bits - 1)) if code == "offset" else 0.0


def bitplanes(codes, *, bits: int) -> np.ndarray:
    """0/1 uint8 array of shape ``(*codes.shape, bits)``: bit k (LSB first) of each code."""
    c = np.asarray(codes).astype(np.uint32)
    shifts = np.arange(bits, dtype=np.uint32)
    return ((c[..., None] >> shifts) & 1).astype(np.uint8)
