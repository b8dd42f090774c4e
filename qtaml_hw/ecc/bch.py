"""Binary BCH and repetition (TMR) codes over protected bit planes, bit-exact and vectorised (design.md section 3).

**BCH(k, t)**: the narrow-sense binary BCH code of length ``2^m - 1`` (``m`` the smallest with
``2^m - 1 - deg g >= k``, generator ``g`` from :mod:`qtaml_hw.ecc.gf`), shortened to ``k``
data bits.  Systematic: data bit j is the coefficient of ``x^(r + j)`` and check bit i of
``x^i`` (``r = deg g``), check word ``c = x^r d(x) mod g(x)``, i.e. ``c = A d`` with column j of
``A`` = ``x^(r + j) mod g(x)`` -- the same ``H = [A | I_r]`` form as the Hamming/Hsiao codes,
so encoder, syndrome and the generated Verilog share one :class:`~qtaml_hw.ecc.matrix.ParityCheck`.

Decoding is **bounded-distance, exact for every error pattern**: the syndrome of each of the
``sum_{w <= t} C(n, w)`` patterns of weight ``<= t`` is distinct (minimum distance ``>= 2t + 1``;
checked at construction), so a sorted table maps syndrome -> data-error mask.  Syndrome 0:
CLEAN; in the table: CORRECTED (flip the table's data bits); any other: DETECTED (data as read).
Patterns of weight ``> t`` that land in another codeword's sphere are silently miscorrected,
exactly as a hardware decoder would.  ``tests/ecc`` checks the decoder against the Linux kernel
BCH library (``bchlib``) on exhaustive small cases.

**Repetition(k, copies)**: every data bit stored ``copies`` times (3 = TMR); read by per-bit
majority.  Odd copies: no detection (any disagreement is CORRECTED, a wrong majority is
miscorrected); even copies: a tie is DETECTED.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np

from qtaml_hw.ecc.codec import CLEAN, CORRECTED, DETECTED, SEC, SECDED, Codeword
from qtaml_hw.ecc.gf import PRIMITIVE_POLYS, bch_generator, poly_mod
from qtaml_hw.ecc.matrix import ParityCheck
from qtaml_hw.errors import QtamlError

MAX_TABLE_PATTERNS = 3_000_000
MAX_DATA_BITS = 64


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_DATA_BITS:
        raise QtamlError(f"data bits k must be an integer in 1..{MAX_DATA_BITS}, got {k!r}")
    return int(k)


@lru_cache(maxsize=None)
def bch_parameters(k: int, t: int) -> tuple[int, int]:
    """``(m, g)``: the smallest field ``GF(2^m)`` whose t-error BCH code has ``>= k`` data bits, and its generator."""
    k = _check_k(k)
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= 8:
        raise QtamlError(f"BCH t must be an integer in 1..8, got {t!r}")
    for m in sorted(PRIMITIVE_POLYS):
        if 2 * t + 1 > (1 << m) - 1:
            continue
        g = bch_generator(m, int(t))
        if (1 << m) - 1 - (g.bit_length() - 1) >= k:
            return m, g
    raise QtamlError(f"no BCH code with k = {k}, t = {t} for m <= {max(PRIMITIVE_POLYS)}")


@lru_cache(maxsize=None)
def bch_parity_check(k: int, t: int) -> ParityCheck:
    """``H = [A | I_r]`` of shortened BCH(k, t): column j of A = ``x^(r + j) mod g(x)``."""
    m, g = bch_parameters(k, t)
    r = g.bit_length() - 1
    cols = tuple(poly_mod(1 << (r + j), g) for j in range(k))
    return ParityCheck("bch", int(k), r, cols)


def _data_words(data, k: int) -> np.ndarray:
    """``data`` as uint64 words of ``k`` data bits; QtamlError for negative, non-integer or too-wide words."""
    d = np.asarray(data)
    if d.dtype.kind not in "ui" or (d.dtype.kind == "i" and d.size and d.min() < 0):
        raise QtamlError("data words must be non-negative integers")
    d = d.astype(np.uint64, copy=False)
    if k < 64 and d.size and np.any(d >> np.uint64(k)):
        raise QtamlError(f"data words have bits above the code's {k} data bits")
    return d


def _popcount(x: int) -> int:
    return bin(x).count("1")


class TableCode:
    """Systematic binary code decoded by a bounded-distance syndrome table (radius ``t``)."""

    def __init__(self, h: ParityCheck, t: int, name: str):
        self.h, self.t, self.name = h, int(t), name
        n_patterns = sum(comb(h.n, w) for w in range(1, self.t + 1))
        if n_patterns > MAX_TABLE_PATTERNS:
            raise QtamlError(f"{name}: {n_patterns} correctable patterns exceed the table limit "
                             f"{MAX_TABLE_PATTERNS}; use a smaller k or t")
        self._rows = [np.uint64(sum(1 << j for j in h.row_members(i))) for i in range(h.r)]
        self._syn, self._flip = _syndrome_table(h, self.t)

    k = property(lambda self: self.h.k, doc="data bits")
    r = property(lambda self: self.h.r, doc="check bits")
    n = property(lambda self: self.h.n, doc="codeword bits")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.k}, t={self.t})  # ({self.n},{self.k}) {self.name}"

    def _data(self, data) -> np.ndarray:
        return _data_words(data, self.k)

    def check_of(self, d) -> np.ndarray:
        """``A d`` (uint64): check bit i = parity of ``d AND row_i``."""
        d = self._data(d)
        out = np.zeros(d.shape, np.uint64)
        for i, row in enumerate(self._rows):
            out |= (np.bitwise_count(d & row).astype(np.uint64) & np.uint64(1)) << np.uint64(i)
        return out

    def encode(self, data) -> Codeword:
        d = self._data(data)
        return Codeword(d.copy(), self.check_of(d))

    def syndrome(self, codeword) -> np.ndarray:
        c = np.asarray(codeword[1]).astype(np.uint64)
        if c.size and np.any(c >> np.uint64(self.r)):
            raise QtamlError(f"check words must be {self.r}-bit integers")
        return c ^ self.check_of(codeword[0])

    def decode(self, codeword) -> tuple[np.ndarray, np.ndarray]:
        """``(data uint64, status uint8)``: 0 clean, 1 corrected, 2 detected-uncorrectable (data as read)."""
        s = self.syndrome(codeword)
        d = self._data(codeword[0])
        idx = np.minimum(np.searchsorted(self._syn, s), self._syn.size - 1)
        hit = self._syn[idx] == s
        flip = np.where(hit, self._flip[idx], np.uint64(0))
        status = np.where(s == 0, CLEAN, np.where(hit, CORRECTED, DETECTED)).astype(np.uint8)
        return d ^ flip, status

    def corrupt(self, codeword, data_error, check_error=0) -> Codeword:
        return Codeword(np.asarray(codeword[0], np.uint64) ^ self._data(data_error),
                        np.asarray(codeword[1], np.uint64) ^ np.asarray(check_error, np.uint64))


@lru_cache(maxsize=None)
def _syndrome_table(h: ParityCheck, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted syndromes of every error pattern of weight 1..t and the data bits each flips."""
    cols = [int(c) for c in h.columns] + [1 << i for i in range(h.r)]
    syn, flip = [], []
    for w in range(1, t + 1):
        for pos in combinations(range(h.n), w):
            s, f = 0, 0
            for p in pos:
                s ^= cols[p]
                if p < h.k:
                    f |= 1 << p
            syn.append(s)
            flip.append(f)
    syn_a, flip_a = np.array(syn, dtype=np.uint64), np.array(flip, dtype=np.uint64)
    order = np.argsort(syn_a, kind="stable")
    syn_a, flip_a = syn_a[order], flip_a[order]
    if syn_a.size > 1 and np.any(syn_a[1:] == syn_a[:-1]):
        raise AssertionError(f"{h.kind}: two correctable patterns share a syndrome (distance < 2t + 1)")
    if syn_a.size and syn_a[0] == 0:
        raise AssertionError("a nonzero pattern of weight <= t is a codeword")
    for a in (syn_a, flip_a):
        a.setflags(write=False)
    return syn_a, flip_a


class BCH(TableCode):
    """Shortened narrow-sense binary BCH code over ``k`` data bits correcting ``t`` errors."""

    def __init__(self, data_bits: int, t: int = 2):
        h = bch_parity_check(_check_k(data_bits), t)
        m, g = bch_parameters(h.k, t)
        self.m, self.generator = m, g
        super().__init__(h, t, f"BCH t={t} (from ({(1 << m) - 1},{(1 << m) - 1 - h.r}) over GF(2^{m}))")


class Repetition:
    """Every data bit stored ``copies`` times, per-bit majority read (copies = 3: TMR)."""

    t = None

    def __init__(self, data_bits: int, copies: int = 3):
        k = _check_k(data_bits)
        if not isinstance(copies, (int, np.integer)) or not 2 <= copies <= 15:
            raise QtamlError(f"repetition copies must be in 2..15, got {copies!r}")
        if k * (copies - 1) > 64:
            raise QtamlError(f"repetition: k x (copies - 1) = {k * (copies - 1)} check bits exceed one uint64 word")
        self.h = None
        self.copies, self.k, self.r = int(copies), k, k * (int(copies) - 1)
        self.name = "repetition" + (" (TMR)" if copies == 3 else "")

    n = property(lambda self: self.k * self.copies)

    def __repr__(self) -> str:
        return f"Repetition({self.k}, copies={self.copies})  # ({self.n},{self.k}) {self.name}"

    def _data(self, data) -> np.ndarray:
        return _data_words(data, self.k)

    def encode(self, data) -> Codeword:
        d = self._data(data)
        check = np.zeros(d.shape, np.uint64)
        for c in range(self.copies - 1):
            check |= d << np.uint64(c * self.k)
        return Codeword(d.copy(), check)

    def _copies(self, codeword) -> list[np.ndarray]:
        d = self._data(codeword[0])
        c = np.asarray(codeword[1]).astype(np.uint64)
        mask = np.uint64((1 << self.k) - 1) if self.k < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        return [d] + [(c >> np.uint64(i * self.k)) & mask for i in range(self.copies - 1)]

    def decode(self, codeword) -> tuple[np.ndarray, np.ndarray]:
        """Per-bit majority; status CLEAN (all copies agree), CORRECTED (disagreement, strict majority
        everywhere) or DETECTED (a tie, even copies only; data returned as read)."""
        cps = self._copies(codeword)
        ones = [np.zeros(cps[0].shape, np.uint64) for _ in range(self.copies + 1)]  # ones[j]: bits with >= j ones
        ones[0][...] = np.uint64(0xFFFFFFFFFFFFFFFF)
        for x in cps:  # bit-sliced counter: ones[j] |= ones[j-1] & x, highest j first
            for j in range(self.copies, 0, -1):
                ones[j] |= ones[j - 1] & x
        half = self.copies // 2
        maj = ones[half + 1]
        agree = ~(ones[1] & ~ones[self.copies])       # every bit all-0 or all-1
        full = np.uint64((1 << self.k) - 1) if self.k < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        if self.copies % 2 == 0:
            tie = (ones[half] & ~ones[half + 1]) & full
        else:
            tie = np.zeros_like(maj)
        clean = (agree & full) == full
        status = np.where(clean, CLEAN, np.where(tie != 0, DETECTED, CORRECTED)).astype(np.uint8)
        data = np.where(tie != 0, cps[0], maj & full)
        return data, status

    def corrupt(self, codeword, data_error, check_error=0) -> Codeword:
        return Codeword(np.asarray(codeword[0], np.uint64) ^ self._data(data_error),
                        np.asarray(codeword[1], np.uint64) ^ np.asarray(check_error, np.uint64))




CODE_FAMILY = ("sec", "secded", "bch", "rep")


def build_code(kind: str, data_bits: int, *, t: int = 2, copies: int = 3):
    """A codec by name: ``sec`` / ``secded`` (:mod:`qtaml_hw.ecc.codec`), ``bch`` (t errors) or ``rep`` (copies)."""
    from_codec = {"sec": SEC, "secded": SECDED}
    if kind in from_codec:
        return from_codec[kind](data_bits)
    if kind == "bch":
        return BCH(data_bits, t)
    if kind == "rep":
        return Repetition(data_bits, copies)
    raise QtamlError(f"unknown code {kind!r}; choose one of {', '.join(CODE_FAMILY)}")


def check_bits_of(kind: str, data_bits: int, *, t: int = 2, copies: int = 3) -> int:
    """Check bits r of the named code over ``data_bits`` (0 data bits -> 0)."""
    if data_bits == 0:
        return 0
    if kind == "rep":
        return int(data_bits) * (int(copies) - 1)
    if kind == "bch":
        return bch_parity_check(_check_k(data_bits), t).r
    return build_code(kind, data_bits).r


__all__ = ["BCH", "CODE_FAMILY", "MAX_TABLE_PATTERNS", "Repetition", "TableCode", "bch_parameters",
           "bch_parity_check", "build_code", "check_bits_of"]
