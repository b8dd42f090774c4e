"""Closed-form mean correction of faulty quantized weights (design.md sections 2 and 3).

Theorem (bit-level unbiasing).  For independent directional flips,
``E[b'_k | b_k] = p01_k + a_k b_k`` with ``a_k = 1 - p01_k - p10_k``; hence
``E[(b'_k - p01_k) / a_k | b_k] = b_k`` for every bit that may flip (``a_k != 0``).

* Linear codes (two's complement, offset binary): ``v = K + sum_k c_k b_k`` with
  ``c_k = 2^k`` (two's complement ``c_(B-1) = -2^(B-1)``), ``K = -2^(B-1)`` for offset binary,
  0 otherwise (the code table :func:`qtaml_hw.memory.code_weights`).  The corrected
  dequantization is one affine map of the raw bits,
  ``w_hat = z' + sum_k g_k b'_k`` with ``g_k = s c_k`` on the protected top-m field and
  ``g_k = s c_k / a_k`` on the unprotected field, ``z' = s (K - sum_unprot c_k p01_k / a_k)``.
  When ``a`` is the same for all unprotected bits this is exactly a per-bit-field change of
  scale (``s`` -> ``s / a`` on the unprotected field) and zero point, so ``E[w_hat | w] = s v``
  for every weight: no labels, no retraining, no extra inference work (the map is applied once
  when the word is read, as a different dequantization).
* Sign-magnitude: ``v = (1 - 2 b_s) * mag``.  The drift is sign dependent
  (``E[v'] = (1 - 2 E[b'_s]) (a mag + c)``), so no single affine map exists.  Because the sign
  and magnitude bits flip independently, the per-sign-field correction
  ``w_hat = s * sign_hat * mag_hat`` with ``mag_hat = sum_k c_k (b'_k - p01_k)/a_k`` and
  ``sign_hat = (1 - 2 b'_s)`` if the sign bit is protected, else
  ``sign_hat = ((1 - 2 b'_s) + p01_s - p10_s) / a_s``, is again exactly unbiased.

TAC's default read is not this unbiased map but the posterior read (:mod:`qtaml_hw.tac.readmaps`):
the posterior mean ``E[v | b']`` under the layer's empirical code distribution, projected onto the
same hardware form (per-bit gains and zero point, per read sign field for sign-magnitude).  It is
never worse in weight MSE than the plain or the unbiased read (which multiplies the variance by
``1/a^2``, 1.56 at p = 0.1) and has zero layer-mean error.  :func:`corrected_sampler` and
:func:`corrected_read` take ``read="posterior"`` (default), ``"unbiased"``, ``"perbit"`` or ``"plain"``.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, bit_stats, code_weights, flip_bits
from qtaml_hw.tac.readmaps import READ_MAPS, read_map, unbiased_bit_terms


def correction_coefficients(*, bits: int, code: str, flip_model: FlipModel, protect_msb: int = 0):
    """Per-bit gains ``g_k / s`` and zero point ``z' / s`` of the corrected dequantization.

    Returns ``(g, z, sign)`` where ``sign`` is ``None`` for linear codes and
    ``(offset, gain)`` for sign-magnitude: ``sign_hat = (1 - 2 b'_s) * gain + offset``.
    """
    bits, p10, p01, a, unprot, a_eff = unbiased_bit_terms(bits=bits, code=code, flip_model=flip_model,
                                                          protect_msb=protect_msb)
    c, const = code_weights(bits=bits, code=code)
    p01_eff = np.where(unprot, p01, 0.0)
    g = c / a_eff
    z = const - float(np.sum(c * p01_eff / a_eff))
    sign = None
    if code == "signmag":
        s_idx = bits - 1
        sign = (0.0, 1.0) if not unprot[s_idx] else ((p01[s_idx] - p10[s_idx]) / a[s_idx], 1.0 / a[s_idx])
    return g, z, sign


def corrected_dequantize(codes, *, scale, bits: int, code: str, flip_model, protect_msb: int = 0) -> np.ndarray:
    """Mean-corrected dequantization of raw (possibly faulty) codes; any leading trial dims.

    ``E[corrected_dequantize(flip(codes))] = scale * v`` exactly (module docstring).
    """
    g, z, sign = correction_coefficients(bits=bits, code=code, flip_model=flip_model, protect_msb=protect_msb)
    raw = np.asarray(codes).astype(np.int64)
    acc = np.full(raw.shape, z, dtype=np.float64)
    for k in range(bits):  # B vectorised passes over the whole array
        if g[k] != 0.0:
            acc += g[k] * ((raw >> k) & 1)
    if sign is not None:
        off, gain = sign
        acc *= (1.0 - 2.0 * ((raw >> (bits - 1)) & 1)) * gain + off
    return (acc * np.asarray(scale)).astype(np.float32)


def corrected_variance(*, codes, bits: int, code: str, flip_model, protect_msb: int = 0) -> np.ndarray:
    """``Var(w_hat / s | v)`` of the corrected estimate for linear codes (integer units).

    ``sum_unprot (c_k / a_k)^2 Var(b'_k | b_k)``: the price of unbiasing is a ``1/a^2`` variance factor.
    """
    if code == "signmag":
        raise QtamlError("corrected_variance is closed form for linear codes only")
    _, var_bits = bit_stats(codes, bits=bits, flip_model=flip_model, protect_msb=protect_msb)
    g, _, _ = correction_coefficients(bits=bits, code=code, flip_model=flip_model, protect_msb=protect_msb)
    return var_bits @ (g ** 2)


def read_dequantize(codes, qt, *, flip_model, protect_msb: int = 0, read: str = "posterior") -> np.ndarray:
    """Dequantize raw (possibly faulty) codes of ``qt`` through the ``read`` map (table lookup, float32).

    ``posterior``/``perbit`` take the prior from ``qt.codes`` (the stored layer: label-free).
    """
    table = read_map(read, bits=qt.bits, code=qt.code, flip_model=flip_model, codes=qt.codes,
                     protect_msb=protect_msb).table()
    return (np.take(table, np.asarray(codes).astype(np.intp)) * np.asarray(qt.scale)).astype(np.float32)


def _check_read(read: str) -> str:
    if read not in READ_MAPS:
        raise QtamlError(f"unknown read map {read!r}; choose one of {', '.join(READ_MAPS)}")
    return read


def corrected_sampler(flip_model, protect: dict | None = None, *, read: str = "posterior"):
    """NN ``weight_sampler``: directional flips (``flip_bits``) then the ``read`` dequantization (TAC: posterior).

    Same fault draws as ``nn.default_sampler`` (key ``inject/<layer>``), so corrected and
    uncorrected runs with one seed see identical flips.
    """
    protect = dict(protect or {})
    read = _check_read(read)

    def sample(layer, trials: int, seed: int, trial_offset: int) -> np.ndarray:
        qt = layer.qtensor
        m = int(protect.get(layer.name, 0))
        faulty = flip_bits(qt.codes, bits=qt.bits, flip_model=flip_model, trials=trials, seed=seed,
                           trial_offset=trial_offset, protect_msb=m, key=f"inject/{layer.name}")
        return read_dequantize(faulty, qt, flip_model=flip_model, protect_msb=m, read=read)

    return sample


def corrected_read(flip_model, *, read: str = "posterior"):
    """Dequantize hook ``(qtensor, read_codes, m) -> weights`` for ``qtaml_hw.ecc.ECCSampler``.

    Words read through a real code: the decoded top ``m`` planes are taken as clean and the
    words are read through the ``read`` map with ``protect_msb = m`` (TAC: posterior).
    """
    read = _check_read(read)

    def dequantize(qt, codes, m: int) -> np.ndarray:
        return read_dequantize(codes, qt, flip_model=flip_model, protect_msb=m, read=read)

    return dequantize
