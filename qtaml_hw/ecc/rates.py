"""Exact per-codeword outcome rates of every code at flip probability p, and the capacity floor (design.md section 3).

Each of the ``n`` stored bits (data and check) flips independently with probability ``p``.

**Bounded-distance linear codes** (Hamming SEC and Hsiao SECDED: radius 1; BCH: radius t).
The decoder maps a received word to the codeword within distance ``t`` if there is one (spheres
of radius ``t`` are disjoint), else reports DETECTED.  For error pattern ``e`` of weight ``w``:
``w = 0`` clean; ``1 <= w <= t`` corrected; otherwise ``e`` is *miscorrected* iff it lies within
distance ``t`` of a nonzero codeword ``x``.  A codeword of weight ``i`` has
``N(i, j, w) = C(i, d) C(n - i, j - d)``, ``d = (i + j - w) / 2``, vectors ``e`` of weight ``w`` at
distance ``j`` from it, so with the code's weight distribution ``A_i``

    P(miscorrected) = sum_w p^w (1-p)^(n-w) sum_{i >= 1} A_i sum_{j=0}^{t} N(i, j, w)

(the ``j = 0`` term is an *undetected* error: ``e`` is itself a codeword, status clean, data
wrong).  ``A_i`` comes from enumerating the ``2^k`` codewords or, when ``r < k``, the ``2^r``
dual codewords and the MacWilliams identity ``A_i = 2^-r sum_j B_j K_i(j)`` (Krawtchouk
``K_i(j) = sum_s (-1)^s C(j, s) C(n - j, i - s)``), in exact integers.

**Repetition** (copies ``c``, per-bit majority): per data bit ``X ~ Bin(c, p)`` copies flip;
with ``P0 = (1-p)^c``, ``P_tie = P(X = c/2)`` (even ``c``), ``P_wrong = P(X > c/2)``:
clean ``P0^k``, detected ``1 - (1 - P_tie)^k``, miscorrected ``(1 - P_tie)^k - (1 - P_tie - P_wrong)^k``.

``miscorrected`` always counts every silent wrong read (both flavours); ``undetected`` is the
part of it with status clean.  The four rates ``clean, corrected, detected, miscorrected`` sum to 1.

**Capacity floor.**  On a binary symmetric channel of crossover ``p`` (check bits leak too), a
code of rate ``R = k / n`` can have vanishing word-error probability as ``n -> infinity`` only
if ``R <= C = 1 - H(p)``, ``H(p) = -p log2 p - (1 - p) log2 (1 - p)``.  So reliable storage needs
at least ``r / k >= 1 / C - 1 = H(p) / (1 - H(p))`` check bits per protected data bit
(:func:`capacity_floor`; 0.883 at p = 0.1).  Finite codes with non-vanishing word error may sit
below it; none can beat it with word errors going to zero.
"""

from __future__ import annotations

from functools import lru_cache
from math import comb

import numpy as np

from qtaml_hw.ecc.bch import Repetition, TableCode, build_code
from qtaml_hw.ecc.codec import CLEAN, CORRECTED, DETECTED, LinearCode, Codeword
from qtaml_hw.ecc.matrix import ParityCheck
from qtaml_hw.errors import QtamlError, check_probability
from qtaml_hw.seeding import rng

RATE_KEYS = ("clean", "corrected", "detected", "miscorrected")
MAX_ENUM_BITS = 24


def binary_entropy(p) -> np.ndarray | float:
    """``H(p)`` in bits (0 at p = 0 or 1)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -p * np.log2(p) - (1 - p) * np.log2(1 - p)
    h = np.where((p <= 0) | (p >= 1), 0.0, h)
    return float(h) if h.ndim == 0 else h


def capacity_floor(p) -> np.ndarray | float:
    """Minimum check bits per protected data bit for reliable storage, ``H(p) / (1 - H(p))`` (inf at p >= 0.5)."""
    check_probability("p", p)
    h = np.asarray(binary_entropy(p))
    with np.errstate(divide="ignore"):
        out = np.where(np.asarray(p) >= 0.5, np.inf, h / (1 - h))
    return float(out) if out.ndim == 0 else out


def _code_h(code) -> tuple[ParityCheck, int]:
    if isinstance(code, TableCode):
        return code.h, code.t
    if isinstance(code, LinearCode):
        return code.h, 1
    raise QtamlError(f"no parity-check form for {code!r}")


@lru_cache(maxsize=64)
def weight_distribution(h: ParityCheck) -> tuple[int, ...]:
    """``A_0..A_n`` of the code ``H = [A | I_r]`` (exact integers)."""
    n, k, r = h.n, h.k, h.r
    if min(k, r) > MAX_ENUM_BITS:
        raise QtamlError(f"weight distribution needs min(k, r) <= {MAX_ENUM_BITS}, got k={k}, r={r}")
    if k <= r:  # enumerate codewords: data d, check A d
        rows = [sum(1 << j for j in h.row_members(i)) for i in range(r)]
        d = np.arange(1 << k, dtype=np.uint64)
        w = np.bitwise_count(d).astype(np.int64)
        for row in rows:
            w += (np.bitwise_count(d & np.uint64(row)) & 1).astype(np.int64)
        return tuple(int(x) for x in np.bincount(w, minlength=n + 1))
    # dual code: the row space of H; row i = (row_i of A over data, unit i over check)
    rows = [sum(1 << j for j in h.row_members(i)) for i in range(r)]
    data = np.zeros(1, np.uint64)
    for row in rows:
        data = np.concatenate([data, data ^ np.uint64(row)])
    subset = np.arange(1 << r, dtype=np.uint64)  # bit i of the subset index = row i taken
    wd = (np.bitwise_count(data) + np.bitwise_count(subset)).astype(np.int64)
    b = np.bincount(wd, minlength=n + 1)
    a = []
    for i in range(n + 1):
        s = sum(int(b[j]) * _krawtchouk(i, j, n) for j in range(n + 1) if b[j])
        assert s % (1 << r) == 0
        a.append(s >> r)
    return tuple(a)


def _krawtchouk(i: int, j: int, n: int) -> int:
    return sum((-1) ** s * comb(j, s) * comb(n - j, i - s) for s in range(min(i, j) + 1))


def _binom_pmf(n: int, p: float) -> np.ndarray:
    w = np.arange(n + 1)
    return np.array([comb(n, int(x)) for x in w], dtype=np.float64) * p ** w * (1 - p) ** (n - w)


def _linear_rates(h: ParityCheck, t: int, p: float) -> dict:
    n = h.n
    a = weight_distribution(h)
    pmf = _binom_pmf(n, p)
    mis = np.zeros(n + 1)
    und = np.zeros(n + 1)
    for i in range(1, n + 1):
        if not a[i]:
            continue
        und[i] += a[i]
        for j in range(0, t + 1):
            for w in range(max(0, i - j), min(n, i + j) + 1):
                if (i + j - w) % 2:
                    continue
                d = (i + j - w) // 2
                if 0 <= d <= min(i, j) and j - d <= n - i:
                    mis[w] += a[i] * comb(i, d) * comb(n - i, j - d)
    p_mis = float(mis @ (pmf / np.array([comb(n, w) for w in range(n + 1)], dtype=np.float64)))
    p_und = float(und @ (pmf / np.array([comb(n, w) for w in range(n + 1)], dtype=np.float64)))
    clean = float(pmf[0])
    corrected = float(pmf[1:t + 1].sum())
    detected = max(0.0, 1.0 - clean - corrected - p_mis)
    return {"clean": clean, "corrected": corrected, "detected": detected, "miscorrected": p_mis,
            "undetected": p_und}


def _repetition_rates(code: Repetition, p: float) -> dict:
    c, k = code.copies, code.k
    pmf = _binom_pmf(c, p)
    p0 = pmf[0]
    tie = pmf[c // 2] if c % 2 == 0 else 0.0
    wrong = float(pmf[c // 2 + 1:].sum())
    clean = p0 ** k
    detected = 1 - (1 - tie) ** k
    mis = (1 - tie) ** k - (1 - tie - wrong) ** k
    und = (p0 + pmf[c]) ** k - p0 ** k  # every bit all-right or all-flipped, not all right
    return {"clean": float(clean), "corrected": float(1 - clean - detected - mis), "detected": float(detected),
            "miscorrected": float(mis), "undetected": float(und)}


def outcome_rates(code, p: float) -> dict:
    """Exact per-codeword rates ``clean, corrected, detected, miscorrected`` (sum 1), ``undetected``, ``n, k, r``."""
    check_probability("p", p)
    p = float(p)
    rates = _repetition_rates(code, p) if isinstance(code, Repetition) else _linear_rates(*_code_h(code), p)
    return {**rates, "n": int(code.n), "k": int(code.k), "r": int(code.r)}


def code_rates(kind: str, k: int, p: float, *, t: int = 2, copies: int = 3) -> dict:
    """:func:`outcome_rates` of the code named ``kind`` over ``k`` data bits, with the capacity floor beside it."""
    code = build_code(kind, k, t=t, copies=copies)
    out = outcome_rates(code, p)
    return {"code": kind, "name": repr(code).split("# ")[-1], **out, "check_bits_per_data_bit": code.r / code.k,
            "capacity_floor": capacity_floor(p), "p": float(p)}


def sample_outcomes(code, p: float, *, words: int, seed: int) -> dict:
    """Monte Carlo outcome frequencies: random data, every stored bit flipped with probability ``p``."""
    check_probability("p", p)
    g = rng(seed, "ecc", "rates", repr(code))
    full = (1 << code.k) - 1
    data = g.integers(0, full, size=words, dtype=np.uint64, endpoint=True)
    cw = code.encode(data)
    de = _bernoulli_word(g, code.k, p, words)
    ce = _bernoulli_word(g, code.r, p, words)
    if isinstance(cw.check, np.ndarray) and cw.check.dtype == np.uint16:
        ce = ce.astype(np.uint16)
    dec, status = code.decode(Codeword(cw.data ^ de, cw.check ^ ce))
    right = dec == data
    counts = {"clean": int(np.sum((status == CLEAN) & right & (de == 0) & (ce == 0))),
              "corrected": int(np.sum((status != DETECTED) & right & ((de != 0) | (ce != 0)))),
              "detected": int(np.sum(status == DETECTED)),
              "miscorrected": int(np.sum((status != DETECTED) & ~right)),
              "undetected": int(np.sum((status == CLEAN) & ~right))}
    assert counts["corrected"] == int(np.sum((status == CORRECTED) & right)) + \
        int(np.sum((status == CLEAN) & right & ((de != 0) | (ce != 0))))
    return {key: v / words for key, v in counts.items()} | {"words": words}


def _bernoulli_word(g, bits: int, p: float, size: int) -> np.ndarray:
    out = np.zeros(size, np.uint64)
    for b in range(bits):
        out |= (g.random(size) < p).astype(np.uint64) << np.uint64(b)
    return out


__all__ = ["RATE_KEYS", "binary_entropy", "capacity_floor", "code_rates", "outcome_rates", "sample_outcomes",
           "weight_distribution"]
