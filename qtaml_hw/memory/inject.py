"""Seeded directional bit-flip injection (design.md section 2).

Flip model: each stored bit flips independently; a stored 1 reads as 0 with probability
``p10_k`` and a stored 0 reads as 1 with ``p01_k`` (k = bit position, LSB first).

Randomness (batching invariance): trial ``i`` uses its own PCG64 stream
``qtaml_hw.seeding.rng(seed, key, trial_offset + i)`` and nothing else, so the flips of a
trial are the same whether it runs alone, in a batch of 64 or split 4 x 16.

Sampling is exact (to the float64 precision of p). A lane (element, bit k) whose stored bit
gives it probability p (``p10_k`` or ``p01_k``) flips iff ``A or B`` with independent

* ``A ~ Bernoulli(t)``, ``t = floor(p 2^D) / 2^D`` (the first D binary digits of p), drawn
  bit-parallel (Knuth, TAOCP 3.4.1): with ``U = 0.u_1 u_2 ...`` uniform, ``[U < t]`` is
  decided at the first digit where ``u_j`` differs from t's digit ``b_j`` (flip iff
  ``b_j = 1``) and is 0 if all D digits match, i.e. ``r = (u_j == b_j) ? r : b_j`` for
  j = D .. 1 from ``r = 0``: one random 64-bit word per 64 lanes per digit, a bitwise mux;
* ``B ~ Bernoulli(s)``, ``s = (p - t) / (1 - t)``: per bit plane (and direction when
  p10 != p01) a Poisson(-n ln(1 - s)) number of uniform hits over the n words; a word is
  hit at least once with probability exactly s, independently of the other words, and a
  fancy-index OR/XOR applies one flip however many hits it got (every write of one index
  carries the same value). A direction-restricted process masks its bit with the stored
  bit, so it only acts on lanes storing 1 (p10) or 0 (p01): no thinning draws.

``P(A or B) = 1 - (1 - t)(1 - s) = p``. D is chosen per call by a cost model (random words
vs hits): D = 0 at small p (only hits, cost ~ p n B per trial), D ~ 5 at p = 0.1. Lanes
with p = 1 always flip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError, check_probability
from qtaml_hw.memory.codes import check_bits_code, code_dtype
from qtaml_hw.memory.fault_model import FaultModel, checked_per_bit
from qtaml_hw.seeding import rng as make_rng

_LE_WORD = np.dtype("<u8")  # lanes are addressed as little-endian bytes of 64-bit words
_MAX_DIGITS = 16
# cost model (relative, measured with numpy on x86-64): one round of 64 lanes (a PCG64 word + bitwise mux) vs
# one Poisson hit (a uniform index + fancy-index update), and a direction-restricted hit (plus a gather)
_WORD_COST, _HIT_COST, _MASKED_HIT_COST = 1.8, 2.8, 3.8


@dataclass(frozen=True)
class FlipModel:
    """Directional flip probabilities ``p10`` (1 -> 0) and ``p01`` (0 -> 1), scalars or length-B arrays."""

    p10: float | np.ndarray
    p01: float | np.ndarray

    def __post_init__(self):
        check_probability("p10", self.p10)
        check_probability("p01", self.p01)
        for name in ("p10", "p01"):
            if np.ndim(getattr(self, name)) > 1:
                raise QtamlError(f"{name} must be a scalar or a 1-d per-bit array")

    @classmethod
    def symmetric(cls, p_flip, r: float = 1.0) -> "FlipModel":
        """``p10 = p_flip``, ``p01 = r * p_flip``."""
        return cls(p_flip, r * np.asarray(p_flip, dtype=np.float64) if np.ndim(p_flip) else r * float(p_flip))

    def per_bit(self, bits: int) -> tuple[np.ndarray, np.ndarray]:
        """``(p10, p01)`` as float64 arrays of length ``bits`` (LSB first)."""
        out = []
        for name in ("p10", "p01"):
            p = np.asarray(getattr(self, name), dtype=np.float64)
            if p.ndim == 1 and p.shape[0] != bits:
                raise QtamlError(f"{name} has {p.shape[0]} per-bit entries but the words have {bits} bits")
            out.append(np.broadcast_to(p, (bits,)).copy())
        return out[0], out[1]


def check_protect(protect_msb, bits: int) -> int:
    """Validate the protected-MSB count m in 0..B; return ``int(m)``."""
    if isinstance(protect_msb, bool) or not isinstance(protect_msb, (int, np.integer)) \
            or not 0 <= protect_msb <= bits:
        raise QtamlError(f"protect_msb must be an integer in 0..{bits}, got {protect_msb!r}")
    return int(protect_msb)


def _split(p: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(t, s)``: t = p truncated to ``digits`` binary digits, ``s = (p - t) / (1 - t)`` (p < 1).

    Scaling by 2^D, flooring and ``p - t`` are exact in float64.
    """
    scale = 2.0**digits
    t = np.floor(p * scale) / scale
    return t, (p - t) / (1.0 - t)


class _Sampler:
    """Per-call plan of the flips of the planes ``ks``: D bit-parallel digits plus Poisson hits."""

    def __init__(self, flat: np.ndarray, ks, p10, p01, dt: np.dtype):
        self.n = n = flat.size
        self.flat = flat
        self.lane_dt = lane_dt = dt.newbyteorder("<")
        lanes = 8 * dt.itemsize  # bit planes per stored word
        per_word = 8 // dt.itemsize  # stored words per 64-bit word
        self.words = -(-n // per_word)
        lane10, lane01 = np.zeros(lanes), np.zeros(lanes)
        lane10[ks], lane01[ks] = p10[ks], p01[ks]

        def plane_mask(on):
            return sum(1 << k for k in range(lanes) if on[k])

        # lanes with p = 1 always flip (the mask follows the stored bit); the rest have p < 1
        c10, c01 = plane_mask(lane10 == 1.0), plane_mask(lane01 == 1.0)
        self.certain = None
        if c10 or c01:
            self.certain = ((flat & dt.type(c10)) | (~flat & dt.type(c01))).astype(dt)
            lane10[lane10 == 1.0], lane01[lane01 == 1.0] = 0.0, 0.0
        self.digits = self._choose_digits(lane10, lane01)
        t10, s10 = _split(lane10, self.digits)
        t01, s01 = _split(lane01, self.digits)

        self.procs = []  # Poisson hit processes: (mean hits per trial, plane bit, stored bit acted on or None)
        for k in ks:
            bit = dt.type(1 << int(k))
            if s10[k] == s01[k]:
                if s10[k] > 0.0:
                    self.procs.append((-n * np.log1p(-s10[k]), bit, None))
                continue
            for s, stored in ((s10[k], 1), (s01[k], 0)):
                if s > 0.0:
                    self.procs.append((-n * np.log1p(-s), bit, stored))
        self.rate = np.array([r for r, _, _ in self.procs])

        self.stored_elems = self.stored = self.rounds = None
        if self.digits:
            stored = np.zeros(self.words * per_word, dtype=lane_dt)
            stored[:n] = flat
            self.stored_elems, self.stored = stored[:n], stored.view(_LE_WORD)
            int10 = np.rint(t10 * 2.0**self.digits).astype(np.int64)  # t as a D-digit integer per lane
            int01 = np.rint(t01 * 2.0**self.digits).astype(np.int64)
            self.rounds = []  # t's digit j = 1 .. D per lane: a scalar word, or per stored word when p10 != p01
            for j in range(1, self.digits + 1):
                b10 = plane_mask((int10 >> (self.digits - j)) & 1)
                b01 = plane_mask((int01 >> (self.digits - j)) & 1)
                w10 = np.full(per_word, b10, dtype=lane_dt).view(_LE_WORD)[0]
                w01 = np.full(per_word, b01, dtype=lane_dt).view(_LE_WORD)[0]
                self.rounds.append(w10 if b10 == b01 else (self.stored & w10) | (~self.stored & w01))

    def _choose_digits(self, lane10, lane01) -> int:
        """D minimising ``D * words * WORD + expected hits * HIT`` (D = 0: hits only)."""
        digits = np.arange(_MAX_DIGITS + 1)[:, None]  # every candidate D at once, one row each
        _, s10 = _split(lane10[None], digits)
        _, s01 = _split(lane01[None], digits)
        hits10, hits01 = -self.n * np.log1p(-s10), -self.n * np.log1p(-s01)
        hits = np.where(s10 == s01, hits10 * _HIT_COST, (hits10 + hits01) * _MASKED_HIT_COST).sum(axis=1)
        return int(np.argmin(digits[:, 0] * self.words * _WORD_COST + hits))

    def apply(self, gen: np.random.Generator, row: np.ndarray) -> None:
        """Write one trial's faulty copy of the stored words into ``row``."""
        if not self.digits:  # hits only: XOR them into a copy
            if self.certain is None:
                np.copyto(row, self.flat)
            else:
                np.bitwise_xor(self.flat, self.certain, out=row)
            self._hits(gen, row, np.bitwise_xor)
            return
        flips = np.zeros(self.words, dtype=_LE_WORD)
        for digit in reversed(self.rounds):  # r = (u_j == b_j) ? r : b_j, for j = D .. 1
            equal = gen.bit_generator.random_raw(self.words).view(_LE_WORD)
            if np.ndim(digit) == 0 and digit == 0:
                np.bitwise_and(flips, equal, out=flips)
                continue
            np.bitwise_xor(flips, digit, out=flips)  # mux: b ^ (equal & (r ^ b))
            np.bitwise_and(flips, equal, out=flips)
            np.bitwise_xor(flips, digit, out=flips)
        flips = flips.view(self.lane_dt)[: self.n]
        self._hits(gen, flips, np.bitwise_or)
        if self.certain is not None:
            np.bitwise_or(flips, self.certain, out=flips)
        np.bitwise_xor(flips, self.stored_elems, out=row)

    def _hits(self, gen: np.random.Generator, target: np.ndarray, combine) -> None:
        """Apply the Poisson hit processes to ``target`` with ``combine`` (XOR into a copy, OR into flips)."""
        if not self.procs:
            return
        counts = gen.poisson(self.rate).tolist()
        hits = gen.integers(0, self.n, size=sum(counts), dtype=np.intp)
        start = 0
        for count, (_, bit, stored) in zip(counts, self.procs):
            elem = hits[start:start + count]
            start += count
            if not count:
                continue
            if stored is None:
                mask = bit
            else:  # act only where the stored bit matches the process's direction
                mask = np.bitwise_and(self.flat[elem], bit)
                if stored == 0:
                    mask ^= bit
            target[elem] = combine(target[elem], mask)  # repeated indices all write the same value


def flip_bits(codes, *, bits: int, flip_model: FaultModel, trials: int, seed: int, trial_offset: int = 0,
              protect_msb: int = 0, key="inject") -> np.ndarray:
    """Faulty copies of ``codes``: array ``(trials, *codes.shape)`` of uint8/uint16 raw codes.

    Bit k of every element flips independently (p10_k if it stores 1, p01_k if 0); the top
    ``protect_msb`` bits never flip. Trial i depends only on ``(seed, key, trial_offset + i)``.
    """
    bits = check_bits_code(bits, "twos")
    protect_msb = check_protect(protect_msb, bits)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 0:
        raise QtamlError(f"trials must be a non-negative integer, got {trials!r}")
    if trial_offset < 0:
        raise QtamlError("trial_offset must be non-negative")
    p10, p01 = checked_per_bit(flip_model, bits)  # any memory.FaultModel (FlipModel, a measured per-bit map, ...)
    codes = np.asarray(codes)
    if codes.dtype.kind not in "ui" or (codes.size and (codes.min() < 0 or codes.max() >> bits)):
        raise QtamlError(f"codes must be unsigned {bits}-bit integers")
    dt = code_dtype(bits)
    flat = np.ascontiguousarray(codes, dtype=dt).reshape(-1)
    active = [k for k in range(bits - protect_msb) if max(p10[k], p01[k]) > 0.0]
    out = np.empty((trials, flat.size), dtype=dt)
    if flat.size == 0 or not active:
        out[...] = flat
        return out.reshape((trials, *codes.shape))
    sampler = _Sampler(flat, active, p10, p01, dt)
    for i in range(trials):  # one PCG64 stream per trial (batching invariance); the work inside is vectorised
        sampler.apply(make_rng(seed, key, trial_offset + i), out[i])
    return out.reshape((trials, *codes.shape))


def flip_bitplanes(bit_array, p10, p01, rng: np.random.Generator) -> np.ndarray:
    """Flip a 0/1 uint8 bit field of shape ``(..., nbits)``: 1 -> 0 w.p. p10, 0 -> 1 w.p. p01.

    ``p10``/``p01`` are scalars or length-``nbits`` arrays (per bit position). Dense: one
    uniform per bit from ``rng``. Returns a new uint8 array.
    """
    b = np.asarray(bit_array)
    if b.ndim == 0 or (b.size and (b.min() < 0 or b.max() > 1)):
        raise QtamlError("bit_array must be an array of 0/1 values with a trailing bit axis")
    check_probability("p10", p10)
    check_probability("p01", p01)
    nb = b.shape[-1]
    p10 = np.broadcast_to(np.asarray(p10, dtype=np.float64), (nb,))
    p01 = np.broadcast_to(np.asarray(p01, dtype=np.float64), (nb,))
    b = b.astype(np.uint8)
    flips = rng.random(b.shape) < np.where(b == 1, p10, p01)
    return b ^ flips.astype(np.uint8)
