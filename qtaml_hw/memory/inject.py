"""Seeded directional bit-flip injection (design.md section 2).

Flip model: each stored bit flips independently; a stored 1 reads as 0 with probability
``p10_k`` and a stored 0 reads as 1 with ``p01_k`` (k = bit position, LSB first).

Randomness (batching invariance): trial ``i`` uses its own PCG64 stream
``qtaml_hw.seeding.rng(seed, key, trial_offset + i)`` and nothing else, so the flips of a
trial are the same whether it runs alone, in a batch of 64 or split 4 x 16.

Sampling (exact, sparse): for bit plane k let ``q_k = max(p10_k, p01_k)``. Bit planes
with the same small q (< 1%) are grouped; candidate (element, bit) positions are a Bernoulli(q) process
over the flattened (element x group bit) index space, drawn as cumulative sums of
Geometric(q) gaps (cost proportional to the number of candidates, ~ q n B, not n B); each
candidate is then kept with probability ``p_dir / q`` for its stored bit value (thinning,
skipped when p10 = p01). The result is exactly independent Bernoulli(p10_k or p01_k) flips per bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError, check_probability
from qtaml_hw.memory.codes import check_bits_code, code_dtype
from qtaml_hw.seeding import rng as make_rng


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


def _check_protect(protect_msb, bits):
    if isinstance(protect_msb, bool) or not isinstance(protect_msb, (int, np.integer)) \
            or not 0 <= protect_msb <= bits:
        raise QtamlError(f"protect_msb must be an integer in 0..{bits}, got {protect_msb!r}")
    return int(protect_msb)


def _bernoulli_positions(gen: np.random.Generator, n: int, q: float) -> np.ndarray:
    """Sorted indices in [0, n) of a Bernoulli(q) process, via Geometric(q) gaps."""
    if q <= 0.0 or n == 0:
        return np.empty(0, dtype=np.int64)
    if q >= 1.0:
        return np.arange(n, dtype=np.int64)
    mean = q * n
    size = int(mean + 6.0 * np.sqrt(mean) + 16)
    pos = np.cumsum(gen.geometric(q, size=size)) - 1
    while pos[-1] < n:  # rare: extend the process until it passes n
        more = np.cumsum(gen.geometric(q, size=size)) + pos[-1]
        pos = np.concatenate([pos, more])
    return pos[: np.searchsorted(pos, n)]


def flip_bits(codes, *, bits: int, flip_model: FlipModel, trials: int, seed: int, trial_offset: int = 0,
              protect_msb: int = 0, key="inject") -> np.ndarray:
    """Faulty copies of ``codes``: array ``(trials, *codes.shape)`` of uint8/uint16 raw codes.

    Bit k of every element flips independently (p10_k if it stores 1, p01_k if 0); the top
    ``protect_msb`` bits never flip. Trial i depends only on ``(seed, key, trial_offset + i)``.
    """
    bits = check_bits_code(bits, "twos")
    protect_msb = _check_protect(protect_msb, bits)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 0:
        raise QtamlError(f"trials must be a non-negative integer, got {trials!r}")
    if trial_offset < 0:
        raise QtamlError("trial_offset must be non-negative")
    if not isinstance(flip_model, FlipModel):
        raise QtamlError("flip_model must be a FlipModel")
    codes = np.asarray(codes)
    if codes.dtype.kind not in "ui" or (codes.size and (codes.min() < 0 or codes.max() >> bits)):
        raise QtamlError(f"codes must be unsigned {bits}-bit integers")
    dt = code_dtype(bits)
    flat = np.ascontiguousarray(codes, dtype=dt).reshape(-1)
    n = flat.size
    p10, p01 = flip_model.per_bit(bits)
    q = np.maximum(p10, p01)
    active = [k for k in range(bits - protect_msb) if q[k] > 0.0]
    groups: dict[tuple, list[int]] = {}  # bit planes sharing q_k are sampled as one process
    for k in active:  # dense planes (q >= 1%) stay separate: unique positions, no per-element reduce
        groups.setdefault((float(q[k]), k if q[k] >= 0.01 else -1), []).append(k)
    plan = [(qv, np.asarray(ks, dtype=np.int64)) for (qv, _), ks in groups.items()]
    out = np.empty((trials, n), dtype=dt)
    out[...] = flat  # broadcast copy
    for i in range(trials):
        if not plan:
            break
        gen = make_rng(seed, key, trial_offset + i)
        row = out[i]
        for qv, ks in plan:
            g = ks.size
            pos = _bernoulli_positions(gen, n * g, qv)  # index = element * g + j, bit ks[j]
            if pos.size == 0:
                continue
            elem, k = np.divmod(pos, g)
            k = ks[k]
            bit = (flat[elem] >> k.astype(dt)) & 1
            thin = (p10[k] != qv) | (p01[k] != qv)
            if np.any(thin):
                keep_p = np.where(bit == 1, p10[k], p01[k]) / qv
                keep = gen.random(pos.size) < keep_p
                elem, k = elem[keep], k[keep]
            if elem.size == 0:
                continue
            if g == 1:
                row[elem] ^= dt.type(1 << int(ks[0]))
                continue
            # elem is sorted; the bits of one element are distinct, so OR-reduce them per element
            starts = np.flatnonzero(np.r_[True, elem[1:] != elem[:-1]])
            masks = np.bitwise_or.reduceat(np.left_shift(1, k).astype(dt), starts)
            row[elem[starts]] ^= masks
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
