"""Read maps of a faulty weight word: plain, unbiased, per-bit posterior, affine posterior (design.md section 3).

A *read map* turns the raw bits ``b'`` read from memory into an integer estimate ``v_hat``.
Every map here has one hardware form: two affine maps of the low B-1 bits, selected by the
read top bit ``t = b'_(B-1)``::

    v_hat = z_t + sum_{k < B-1} g_{t,k} b'_k

(a per-bit-field scale and zero point chosen by the sign field; for a linear code
``z + sum_k g_k b'_k`` is the case ``g_0 = g_1``, ``z_1 = z_0 + g_(B-1)``).  It is a change of
the dequantization applied once when a word is read (a 2^B-entry table): no labels, no
retraining, no extra inference work.

* ``plain``: the code itself.
* ``unbiased``: ``b_hat_k = (b'_k - p01_k) / a_k`` on unprotected bits (``a_k = 1 - p01_k - p10_k``):
  ``E[v_hat | v] = v`` for every stored v (:mod:`qtaml_hw.tac.correction`); it multiplies the
  variance by ``1/a^2``.
* ``perbit``: Theorem (per-bit Bayes).  Under a prior ``pi_k = P(b_k = 1)`` (the layer's empirical
  bit frequency, label-free) and independent flips,
  ``P(b_k=1 | b'_k=1) = pi_k (1-p10_k) / (pi_k (1-p10_k) + (1-pi_k) p01_k)``,
  ``P(b_k=1 | b'_k=0) = pi_k p10_k / (pi_k p10_k + (1-pi_k)(1-p01_k))``, so
  ``E[b_k | b'_k] = alpha_k + beta_k b'_k`` (``alpha_k = P(b_k=1 | b'_k=0)``, ``beta_k = P(b_k=1 | b'_k=1) -
  alpha_k``), affine in the raw bit; the word estimate is ``K + sum_k c_k E[b_k | b'_k]`` (sign-magnitude:
  ``(1 - 2 E[s | s']) * sum_k 2^k E[b_k | b'_k]``).  It is the exact posterior mean ``E[v | b']`` when the
  bits are independent a priori, and by the tower property its layer-mean error is zero.
* ``posterior`` (TAC's default): the posterior mean ``E[v | b']`` projected onto the read-map family
  above, i.e. the linear-MMSE map under the layer's empirical code distribution and the flip model.
  Theorem: plain, unbiased and perbit all belong to the family (for linear codes they are single
  affine maps, for sign-magnitude sign-selected ones), so the projection's exact weight MSE is never
  larger than any of theirs; it equals perbit when the bits are independent.  Real layers are
  peaked (small |v| share their top bits), where perbit can lose to plain; the projection cannot.
  Linear codes are fitted as one affine map (B + 1 coefficients), sign-magnitude per read sign.
  Its layer-mean error is zero (the zero point is a free coefficient of a least-squares fit).

Exact error given the stored code u: the read bits are independent with mean ``mu_k(u)`` and
variance ``var_k(u)`` (``memory.moments``), so with ``P(t | u)``:
``E[v_hat | u] = sum_t P(t|u) (z_t + g_t . mu)``, ``E[v_hat^2 | u] = sum_t P(t|u) ((z_t + g_t . mu)^2 +
g_t^2 . var)`` and ``MSE(u) = E[v_hat^2] - 2 v E[v_hat] + v^2`` (:func:`read_mse`).  The projection
solves the normal equations built from these exact moments, weighted by the code histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, bit_stats, bitplanes, check_bits_code, check_protect, code_weights, decode_codes

READ_MAPS = ("plain", "unbiased", "perbit", "posterior")


@dataclass(frozen=True)
class ReadMap:
    """``v_hat = zeros[t] + gains[t] . b'_low`` with ``t = b'_(B-1)`` (module docstring).

    ``zeros``: shape (2,); ``gains``: shape (2, B-1), LSB first.
    """

    zeros: np.ndarray
    gains: np.ndarray
    bits: int
    code: str

    def __post_init__(self):
        if np.shape(self.zeros) != (2,) or np.shape(self.gains) != (2, self.bits - 1):
            raise QtamlError(f"read map needs zeros (2,) and gains (2, {self.bits - 1})")
        if not (np.all(np.isfinite(self.zeros)) and np.all(np.isfinite(self.gains))):
            raise QtamlError("read map gains and zero points must be finite")

    @classmethod
    def affine(cls, gains, zero: float, *, bits: int, code: str) -> "ReadMap":
        """One affine map ``z + sum_k g_k b'_k`` of all B bits."""
        g = np.asarray(gains, dtype=np.float64)
        return cls(np.array([zero, zero + g[-1]]), np.stack([g[:-1], g[:-1]]), bits, code)

    @classmethod
    def signed(cls, sign_values, mag_gains, mag_zero: float, *, bits: int, code: str) -> "ReadMap":
        """``sigma(t) * (z + sum_{k<B-1} g_k b'_k)``: a sign estimate per read sign bit times a magnitude."""
        sig = np.asarray(sign_values, dtype=np.float64)
        g = np.asarray(mag_gains, dtype=np.float64)
        return cls(sig * mag_zero, sig[:, None] * g[None, :], bits, code)

    def apply(self, codes) -> np.ndarray:
        """``v_hat`` (float64) of raw codes, any shape: B vectorised passes over the array."""
        raw = np.asarray(codes).astype(np.int64)
        top = (raw >> (self.bits - 1)) & 1
        acc = self.zeros[top].astype(np.float64)
        for k in range(self.bits - 1):
            acc += self.gains[top, k] * ((raw >> k) & 1)
        return acc

    def table(self) -> np.ndarray:
        """``v_hat`` of every code ``0 .. 2^B - 1`` (table-lookup dequantization)."""
        return self.apply(np.arange(1 << self.bits))


def _from_bit_estimates(alpha, beta, *, bits: int, code: str) -> ReadMap:
    """The map ``v_hat = v(b_hat)`` with bit estimates ``b_hat_k = alpha_k + beta_k b'_k``."""
    c, const = code_weights(bits=bits, code=code)
    if code != "signmag":
        return ReadMap.affine(c * beta, const + float(c @ alpha), bits=bits, code=code)
    s_hat = np.array([alpha[-1], alpha[-1] + beta[-1]])  # E[s | t] for t = 0, 1
    return ReadMap.signed(1.0 - 2.0 * s_hat, (c * beta)[:-1], float(c @ alpha), bits=bits, code=code)


def bit_prior(codes, *, bits: int) -> np.ndarray:
    """Empirical ``pi_k = P(b_k = 1)`` over the stored codes (length B, LSB first); 0.5 if empty."""
    c = np.asarray(codes)
    if c.size == 0:
        return np.full(bits, 0.5)
    return bitplanes(c.reshape(-1), bits=bits).mean(axis=0, dtype=np.float64)


def plain_map(*, bits: int, code: str) -> ReadMap:
    bits = check_bits_code(bits, code)
    return _from_bit_estimates(np.zeros(bits), np.ones(bits), bits=bits, code=code)


def unbiased_bit_terms(*, bits: int, code: str, flip_model: FlipModel, protect_msb: int = 0):
    """Per-bit terms of the unbiased read ``b_hat_k = (b'_k - p01_k) / a_k``, ``a_k = 1 - p10_k - p01_k``.

    Returns ``(bits, p10, p01, a, free, a_eff)``: ``free`` marks unprotected bits, ``a_eff`` is ``a`` on
    them and 1 on protected ones. Refuses ``a_k = 0`` on a free bit (no information left).
    """
    bits = check_bits_code(bits, code)
    protect_msb = check_protect(protect_msb, bits)
    p10, p01 = flip_model.per_bit(bits)
    a = 1.0 - p10 - p01
    free = np.arange(bits) < bits - protect_msb
    if np.any(np.abs(a[free]) < 1e-12):
        raise QtamlError("mean correction impossible: p10 + p01 = 1 on an unprotected bit (no information left)")
    return bits, p10, p01, a, free, np.where(free, a, 1.0)


def unbiased_map(*, bits: int, code: str, flip_model: FlipModel, protect_msb: int = 0) -> ReadMap:
    """Exactly unbiased map, ``b_hat_k = (b'_k - p01_k) / a_k`` on unprotected bits (module docstring)."""
    bits, _, p01, _, free, a_eff = unbiased_bit_terms(bits=bits, code=code, flip_model=flip_model,
                                                      protect_msb=protect_msb)
    return _from_bit_estimates(-np.where(free, p01, 0.0) / a_eff, 1.0 / a_eff, bits=bits, code=code)


def posterior_bits(prior, *, bits: int, flip_model: FlipModel, protect_msb: int = 0):
    """``(alpha, beta)`` with ``E[b_k | b'_k] = alpha_k + beta_k b'_k`` (per-bit Bayes, module docstring)."""
    pi = np.clip(np.asarray(prior, dtype=np.float64), 0.0, 1.0)
    if pi.shape != (bits,):
        raise QtamlError(f"bit prior needs {bits} entries, got shape {pi.shape}")
    p10, p01 = flip_model.per_bit(bits)
    one1, zero1 = pi * (1 - p10), (1 - pi) * p01  # P(b=1, b'=1), P(b=0, b'=1)
    one0, zero0 = pi * p10, (1 - pi) * (1 - p01)  # P(b=1, b'=0), P(b=0, b'=0)
    # a read value that cannot occur gets the prior (any value would do: it has probability 0)
    post1 = np.divide(one1, one1 + zero1, out=pi.copy(), where=one1 + zero1 > 0)
    post0 = np.divide(one0, one0 + zero0, out=pi.copy(), where=one0 + zero0 > 0)
    free = np.arange(bits) < bits - check_protect(protect_msb, bits)
    return np.where(free, post0, 0.0), np.where(free, post1 - post0, 1.0)


def perbit_map(*, bits: int, code: str, flip_model: FlipModel, prior, protect_msb: int = 0) -> ReadMap:
    """Per-bit posterior-mean map under the bit prior ``prior`` (module docstring)."""
    bits = check_bits_code(bits, code)
    alpha, beta = posterior_bits(prior, bits=bits, flip_model=flip_model, protect_msb=protect_msb)
    return _from_bit_estimates(alpha, beta, bits=bits, code=code)


def posterior_map(*, bits: int, code: str, flip_model: FlipModel, codes, protect_msb: int = 0) -> ReadMap:
    """Projection of ``E[v | b']`` onto the read-map family under the empirical code distribution.

    Normal equations ``(sum_u n_u E[phi phi^T | u]) theta = sum_u n_u v_u E[phi | u]`` with exact
    moments per distinct stored code u (module docstring); linear codes: ``phi = (1, b'_0..b'_(B-1))``,
    sign-magnitude: ``phi = [t = j] (1, b'_0..b'_(B-2))`` for j = 0, 1 (one block per read sign).
    """
    bits = check_bits_code(bits, code)
    uniq, counts = np.unique(np.asarray(codes).reshape(-1), return_counts=True)
    if uniq.size == 0:
        return plain_map(bits=bits, code=code)
    v = decode_codes(uniq, bits=bits, code=code).astype(np.float64)
    mu, var = bit_stats(uniq, bits=bits, flip_model=flip_model, protect_msb=protect_msb)
    n = counts.astype(np.float64) / counts.sum()
    if code != "signmag":
        theta = _lmmse(mu, var, v, n)
        return ReadMap.affine(theta[1:], theta[0], bits=bits, code=code)
    plain = plain_map(bits=bits, code=code)
    zeros, gains = plain.zeros.copy(), plain.gains.copy()
    for t in (0, 1):
        w = n * (mu[:, -1] if t else 1.0 - mu[:, -1])
        if w.sum() > 1e-15:  # a read sign that never occurs keeps the plain branch
            theta = _lmmse(mu[:, :-1], var[:, :-1], v, w)
            zeros[t], gains[t] = theta[0], theta[1:]
    return ReadMap(zeros, gains, bits, code)


def _lmmse(mu, var, v, w) -> np.ndarray:
    """Least-squares ``theta`` of ``v ~ theta . (1, b')`` under independent read bits (mean mu, var var)."""
    ex = np.concatenate([np.ones((mu.shape[0], 1)), mu], axis=1)
    gram = (ex * w[:, None]).T @ ex
    gram[1:, 1:] += np.diag(w @ var)
    rhs = (ex * (w * v)[:, None]).sum(axis=0)
    return np.linalg.lstsq(gram, rhs, rcond=1e-12)[0]


def read_map(kind: str, *, bits: int, code: str, flip_model: FlipModel, codes=None, prior=None,
             protect_msb: int = 0) -> ReadMap:
    """The ``kind`` map of :data:`READ_MAPS`; ``perbit``/``posterior`` use the stored ``codes``."""
    if kind == "plain":
        return plain_map(bits=bits, code=code)
    if kind == "unbiased":
        return unbiased_map(bits=bits, code=code, flip_model=flip_model, protect_msb=protect_msb)
    if kind in ("perbit", "posterior") and codes is None and (kind == "posterior" or prior is None):
        raise QtamlError(f"the {kind} read map needs the layer's stored codes")
    if kind == "perbit":
        prior = bit_prior(codes, bits=bits) if prior is None else prior
        return perbit_map(bits=bits, code=code, flip_model=flip_model, prior=prior, protect_msb=protect_msb)
    if kind == "posterior":
        return posterior_map(bits=bits, code=code, flip_model=flip_model, codes=codes, protect_msb=protect_msb)
    raise QtamlError(f"unknown read map {kind!r}; choose one of {', '.join(READ_MAPS)}")


def read_moments(rmap: ReadMap, codes, *, flip_model: FlipModel, protect_msb: int = 0):
    """``(E[v_hat | u], E[v_hat^2 | u])`` per stored code u (float64), exact (module docstring)."""
    mu, var = bit_stats(codes, bits=rmap.bits, flip_model=flip_model, protect_msb=protect_msb)
    p_top = mu[..., -1]
    mean, sq = 0.0, 0.0
    for t, pt in ((0, 1.0 - p_top), (1, p_top)):
        branch = rmap.zeros[t] + mu[..., :-1] @ rmap.gains[t]
        mean = mean + pt * branch
        sq = sq + pt * (branch ** 2 + var[..., :-1] @ rmap.gains[t] ** 2)
    return mean, sq


def read_mse(rmap: ReadMap, codes, *, flip_model: FlipModel, protect_msb: int = 0) -> np.ndarray:
    """Exact ``E[(v_hat - v)^2 | v]`` per stored code, in LSB^2 (module docstring)."""
    v = decode_codes(codes, bits=rmap.bits, code=rmap.code).astype(np.float64)
    mean, sq = read_moments(rmap, codes, flip_model=flip_model, protect_msb=protect_msb)
    return np.maximum(sq - 2.0 * v * mean + v ** 2, 0.0)


def read_bias(rmap: ReadMap, codes, *, flip_model: FlipModel, protect_msb: int = 0) -> np.ndarray:
    """Exact conditional drift ``E[v_hat | v] - v`` per stored code (integer units)."""
    v = decode_codes(codes, bits=rmap.bits, code=rmap.code).astype(np.float64)
    mean, _ = read_moments(rmap, codes, flip_model=flip_model, protect_msb=protect_msb)
    return mean - v
