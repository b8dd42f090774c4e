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


def check_bits_code(bits, code=None, *, name: str = "bits", code_name: str = "code") -> int:
    """The one bit-range rule (design.md section 2: B = 4..16) and code check; return ``int(bits)``.

    ``bits`` must be an integer in :data:`MIN_BITS`..:data:`MAX_BITS`; ``code``, when given, one
    of :data:`CODES`. ``name``/``code_name`` label the offending input in the one-line
    :class:`QtamlError` (e.g. ``"--bits"``, ``"memory.bits"``).
    """
    if code is not None and code not in CODES:
        raise QtamlError(f"{code_name}: unknown code {code!r}; choose one of {', '.join(CODES)}")
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not MIN_BITS <= bits <= MAX_BITS:
        raise QtamlError(f"{name} must be an integer in {MIN_BITS}..{MAX_BITS}, got {bits!r}")
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


def code_weights(*, bits: int, code: str) -> tuple[np.ndarray, float]:
    """The code table: ``(c_k, K)`` (k = 0..B-1, LSB first) with ``v = K + sum_k c_k b_k`` (module docstring).

    Two's complement: ``c_k = 2^k``, ``c_{B-1} = -2^(B-1)``, ``K = 0``; offset binary:
    ``c_k = 2^k``, ``K = -2^(B-1)``; sign-magnitude: the magnitude weights ``c_k = 2^k`` for
    k < B-1 and ``c_{B-1} = 0``, ``K = 0``, so that ``v = (1 - 2 b_{B-1}) sum_k c_k b_k``.
    """
    bits = check_bits_code(bits, code)
    c = 2.0 ** np.arange(bits, dtype=np.float64)
    if code == "twos":
        c[-1] = -c[-1]
    elif code == "signmag":
        c[-1] = 0.0  # the sign bit carries no magnitude
    return c, (-float(1 << (bits - 1)) if code == "offset" else 0.0)


def bit_weights(*, bits: int, code: str) -> np.ndarray:
    """Bit weights ``c_k`` of a linear code (:func:`code_weights`); sign-magnitude raises :class:`QtamlError`."""
    if code == "signmag":
        raise QtamlError("sign-magnitude is not a linear code: it has no bit weights")
    return code_weights(bits=bits, code=code)[0]


def code_offset(*, bits: int, code: str) -> float:
    """The constant term ``K`` of a linear code (:func:`code_weights`): 0 for two's complement, ``-2^(B-1)`` offset."""
    if code == "signmag":
        raise QtamlError("sign-magnitude is not a linear code")
    return code_weights(bits=bits, code=code)[1]


def bitplanes(codes, *, bits: int) -> np.ndarray:
    """0/1 uint8 array of shape ``(*codes.shape, bits)``: bit k (LSB first) of each code."""
    c = np.asarray(codes).astype(np.uint32)
    shifts = np.arange(bits, dtype=np.uint32)
    return ((c[..., None] >> shifts) & 1).astype(np.uint8)
