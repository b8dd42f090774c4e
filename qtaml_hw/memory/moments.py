"""Closed-form error moments of a faulty weight word (design.md section 2).

With independent directional flips, bit k read back is ``b'_k`` with
``E[b'_k | b_k] = p01_k + a_k b_k`` (``a_k = 1 - p01_k - p10_k``) and
``Var(b'_k | b_k) = p10_k (1 - p10_k)`` if ``b_k = 1`` else ``p01_k (1 - p01_k)``; protected
bits (the top m) are exact (mean ``b_k``, variance 0).

Linear codes (two's complement, offset binary), ``v = sum_k c_k b_k + const``:
``E[v'|v] = const + sum_k c_k E[b'_k|b_k]`` and ``Var(v'|v) = sum_k c_k^2 Var(b'_k|b_k)``.

Sign-magnitude, ``v = (1 - 2 s) M`` with sign bit s and magnitude ``M = sum_{k<B-1} 2^k b_k``:
s' and M' are independent, so ``E[v'|v] = (1 - 2 pi) E[M']`` with ``pi = P(s' = 1)``, and
since ``(1 - 2 s')^2 = 1``, ``Var(v'|v) = E[M'^2] - E[v']^2 = Var(M') + 4 pi (1 - pi) E[M']^2``
(per-bit decomposition: magnitude bit k contributes ``4^k Var(b'_k)``, the sign bit
``4 Var(s') E[M']^2``).
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory.codes import bit_weights, bitplanes, check_bits_code, code_offset
from qtaml_hw.memory.inject import FlipModel, check_protect


def bit_stats(codes, *, bits: int, flip_model: FlipModel, protect_msb: int = 0):
    """Per-bit ``(E[b'_k|b_k], Var(b'_k|b_k))`` of the stored codes: two float64 arrays ``(*shape, B)``.

    ``E = p01_k + a_k b_k``, ``Var = p10_k (1 - p10_k)`` where ``b_k = 1`` else ``p01_k (1 - p01_k)``;
    the top ``protect_msb`` bits are exact (mean ``b_k``, variance 0). design.md section 2.
    """
    bits = check_bits_code(bits)
    protect_msb = check_protect(protect_msb, bits)
    p10, p01 = flip_model.per_bit(bits)
    b = bitplanes(codes, bits=bits).astype(np.float64)
    mu = p01 + (1.0 - p01 - p10) * b
    var = np.where(b == 1.0, p10 * (1 - p10), p01 * (1 - p01))
    if protect_msb:
        mu[..., bits - protect_msb:] = b[..., bits - protect_msb:]
        var[..., bits - protect_msb:] = 0.0
    return mu, var


def bit_variance_contributions(codes, *, bits: int, code: str, flip_model: FlipModel,
                               protect_msb: int = 0) -> np.ndarray:
    """Per-bit terms of ``Var(v'|v)`` (shape ``(*codes.shape, B)``, LSB first); they sum to the variance.

    Linear codes: ``c_k^2 Var(b'_k|b_k)``. Sign-magnitude: ``4^k Var(b'_k)`` for magnitude
    bits and ``4 Var(s') E[M']^2`` for the sign bit (exact decomposition, module docstring).
    """
    bits = check_bits_code(bits, code)
    protect_msb = check_protect(protect_msb, bits)
    mu, var = bit_stats(codes, bits=bits, flip_model=flip_model, protect_msb=protect_msb)
    if code != "signmag":
        return bit_weights(bits=bits, code=code) ** 2 * var
    w = 2.0 ** np.arange(bits - 1)
    out = np.empty_like(var)
    out[..., :-1] = w ** 2 * var[..., :-1]
    mean_m = mu[..., :-1] @ w
    out[..., -1] = 4.0 * var[..., -1] * mean_m ** 2
    return out


def moments(codes, *, bits: int, code: str, flip_model: FlipModel, protect_msb: int = 0):
    """``(E[v'|v], Var(v'|v))`` elementwise (float64), closed form for all three codes (module docstring)."""
    bits = check_bits_code(bits, code)
    protect_msb = check_protect(protect_msb, bits)
    mu, var = bit_stats(codes, bits=bits, flip_model=flip_model, protect_msb=protect_msb)
    if code != "signmag":
        c = bit_weights(bits=bits, code=code)
        return mu @ c + code_offset(bits=bits, code=code), var @ (c ** 2)
    w = 2.0 ** np.arange(bits - 1)
    mean_m = mu[..., :-1] @ w
    var_m = var[..., :-1] @ (w ** 2)
    pi = mu[..., -1]
    return (1.0 - 2.0 * pi) * mean_m, var_m + 4.0 * pi * (1.0 - pi) * mean_m ** 2


def _common_a(bits, flip_model, protect_msb):
    p10, p01 = flip_model.per_bit(bits)
    a = 1.0 - p10 - p01
    free = a[: bits - protect_msb]
    if free.size and not np.allclose(free, free[0], rtol=0, atol=1e-15):
        raise QtamlError("mean drift is not affine: 1 - p01 - p10 differs between unprotected bits")
    return (float(free[0]) if free.size else 1.0), p01


def mean_drift_affine(*, bits: int, code: str, flip_model: FlipModel, protect_msb: int = 0):
    """Theorem (design.md section 2, property 1): affine mean drift of a linear code.

    If ``a = 1 - p01_k - p10_k`` is the same for every unprotected bit, then for every stored v
    ``E[v'|v] = a v + c + (1 - a) v_p`` exactly, where ``c = (1 - a) const + sum_{k unprotected}
    c_k p01_k`` and ``v_p = sum_{k protected} c_k b_k`` is the protected part of v (``v_p = 0``
    without protection, so ``E[v'] = a v + c``). Returns ``(a, c)``. Raises QtamlError for
    sign-magnitude (its drift is sign-dependent, see :func:`signmag_drift`) and when the
    unprotected bits have different ``a``.
    """
    bits = check_bits_code(bits, code)
    protect_msb = check_protect(protect_msb, bits)
    if code == "signmag":
        raise QtamlError("sign-magnitude mean drift is sign-dependent, not affine (use signmag_drift)")
    a, p01 = _common_a(bits, flip_model, protect_msb)
    c_k = bit_weights(bits=bits, code=code)
    free = bits - protect_msb
    c = (1.0 - a) * code_offset(bits=bits, code=code) + float(c_k[:free] @ p01[:free])
    return a, c


def protected_part(codes, *, bits: int, code: str, protect_msb: int) -> np.ndarray:
    """``v_p = sum_{k >= B-m} c_k b_k`` of a linear code (float64), used by :func:`mean_drift_affine`."""
    c = bit_weights(bits=bits, code=code).copy()
    c[: bits - protect_msb] = 0.0
    return bitplanes(codes, bits=bits) @ c


def signmag_drift(*, bits: int, flip_model: FlipModel, protect_msb: int = 0) -> dict:
    """Theorem (design.md section 2, property 1, sign-magnitude case): sign-dependent affine drift.

    If the unprotected magnitude bits share ``a``, ``E[M'|M] = a M + d`` (``d = sum 2^k p01_k``
    over unprotected magnitude bits) and ``E[v'|v] = (1 - 2 p01_s)(a v + d)`` for ``v >= 0``
    (sign bit 0) and ``(1 - 2 p10_s)(a v - d)`` for ``v < 0`` (sign bit 1), with ``p_s = 0``
    when the sign bit is protected. Returns ``{"pos": (a+, c+), "neg": (a-, c-)}``.
    """
    bits = check_bits_code(bits, "signmag")
    protect_msb = check_protect(protect_msb, bits)
    p10, p01 = flip_model.per_bit(bits)
    a_k = 1.0 - p10 - p01
    free = min(bits - 1, bits - protect_msb)
    if free and not np.allclose(a_k[:free], a_k[0], rtol=0, atol=1e-15):
        raise QtamlError("mean drift is not affine: 1 - p01 - p10 differs between unprotected magnitude bits")
    a = float(a_k[0]) if free else 1.0
    d = float((2.0 ** np.arange(free)) @ p01[:free])
    sign_free = protect_msb == 0
    gp = 1.0 - 2.0 * (p01[-1] if sign_free else 0.0)
    gn = 1.0 - 2.0 * (p10[-1] if sign_free else 0.0)
    return {"pos": (gp * a, gp * d), "neg": (gn * a, -gn * d)}


def hierarchy_shares(*, bits: int) -> np.ndarray:
    """Theorem (design.md section 2, property 2): with equal p for every bit of a linear code,
    bit k holds the share ``4^k * 3 / (4^B - 1)`` of ``Var(v'|v)`` (MSB ~3/4, next ~3/16, ...),
    and protecting the top m bits leaves ``(4^(B-m) - 1) / (4^B - 1) ~ 4^-m`` of it.
    Returns the shares, LSB first."""
    bits = check_bits_code(bits, "twos")
    return 4.0 ** np.arange(bits) * 3.0 / (4.0 ** bits - 1.0)


def residual_fraction(*, bits: int, protect_msb: int) -> float:
    """``(4^(B-m) - 1) / (4^B - 1)``: variance left after protecting the top m bits (equal p, linear code)."""
    bits = check_bits_code(bits, "twos")
    m = check_protect(protect_msb, bits)
    return (4.0 ** (bits - m) - 1.0) / (4.0 ** bits - 1.0)


def residual_curve(codes, *, bits: int, code: str, flip_model: FlipModel) -> np.ndarray:
    """Theorem (design.md section 2, property 3): ``R(m)`` for m = 0..B (length B+1, ``R(B) = 0``).

    ``R(m)`` = mean over the stored words of ``Var(v'|v)`` with the top m bits protected
    (integer units; linear codes: ``sum_{k < B-m} c_k^2 mean Var(b'_k)``, sign-magnitude:
    :func:`moments` at each m). A layer's dequantized error variance per weight is ``s^2 R(m)``.
    """
    bits = check_bits_code(bits, code)
    codes = np.asarray(codes)
    if not codes.size:
        return np.zeros(bits + 1)
    # a word's variance depends only on its value: average over the distinct values, weighted by count
    values, counts = np.unique(codes, return_counts=True)
    weights = counts / codes.size
    if code != "signmag":
        contrib = bit_variance_contributions(values, bits=bits, code=code, flip_model=flip_model)
        per_bit = weights @ contrib.reshape(-1, bits)
        csum = np.concatenate([[0.0], np.cumsum(per_bit)])  # csum[j] = sum_{k<j}
        return csum[bits - np.arange(bits + 1)]
    return np.array([weights @ moments(values, bits=bits, code=code, flip_model=flip_model, protect_msb=m)[1]
                     for m in range(bits + 1)])


def residual_variance_curve(qt, flip_model: FlipModel) -> np.ndarray:
    """:func:`residual_curve` of a :class:`~qtaml_hw.memory.quantize.QuantizedTensor` (design.md section 2)."""
    return residual_curve(qt.codes, bits=qt.bits, code=qt.code, flip_model=flip_model)


def variance_shares(codes, *, bits: int, code: str, flip_model: FlipModel, protect_msb: int = 0) -> np.ndarray:
    """Share of the mean ``Var(v'|v)`` held by each bit position (LSB first, sums to 1; zeros if no variance).

    The mean over the words of :func:`bit_variance_contributions` (exact for all three codes),
    normalised: design.md section 2, property 2 (MSB ~3/4 at equal p for a linear code).
    """
    contrib = bit_variance_contributions(codes, bits=bits, code=code, flip_model=flip_model,
                                         protect_msb=protect_msb).reshape(-1, bits)
    per_bit = contrib.mean(axis=0) if contrib.size else np.zeros(bits)
    total = per_bit.sum()
    return per_bit / total if total > 0 else per_bit


def dequantized_error_variance(qt, flip_model: FlipModel, *, protect_msb: int = 0) -> np.ndarray:
    """Per-weight ``Var(s v' | v) = s^2 Var(v'|v)`` (broadcast scale), design.md section 2 property 3."""
    _, var = moments(qt.codes, bits=qt.bits, code=qt.code, flip_model=flip_model, protect_msb=protect_msb)
    return np.asarray(qt.scale) ** 2 * var
