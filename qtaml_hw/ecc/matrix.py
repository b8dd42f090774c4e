"""Parity-check matrices of Hamming SEC and Hsiao SECDED codes (design.md section 3).

The one source of truth of every ECC in the project: the Python codec
(:mod:`qtaml_hw.ecc.codec`) and the generated Verilog (:mod:`qtaml_hw.ecc.verilog`) are both
built from the :class:`ParityCheck` returned here; no matrix is written by hand anywhere.

Systematic form.  A codeword is ``(d, c)`` with k data bits ``d`` and r check bits ``c``;
``H = [A | I_r]`` where column j of ``A`` (an r-bit integer, bit i = row i) says which check
bits data bit j feeds: ``c_i = XOR_{j : A[i, j] = 1} d_j``.  The syndrome of a received
``(d', c')`` is ``s = c' XOR A d'`` (= ``H e`` for the error pattern e).

* Hamming SEC: r is the smallest with ``2^r - 1 - r >= k`` (every column distinct and
  nonzero, data columns of weight >= 2 so they differ from the check unit columns);
  data columns are the non-power-of-two integers 3, 5, 6, 7, 9, ... in order (classic
  Hamming numbering).  Distance 3: any single error has a distinct nonzero syndrome.
* Hsiao SECDED (Hsiao 1970, "odd-weight-column" codes): all columns have odd weight, data
  columns weight >= 3, r the smallest with ``2^(r-1) - r >= k`` (the number of odd-weight
  r-bit vectors of weight >= 3).  Distance 4: a single error gives an odd syndrome equal to
  its column, a double error an even nonzero one (never a column), so doubles are always
  detected.  Columns are taken by increasing weight; within a weight, greedily the one whose
  rows are currently lightest (ties: lexicographic), so the rows -- the XOR trees of the
  encoder -- are balanced (Hsiao's minimum-total-weight, balanced-row criterion).
  k = 8, 16, 32, 64 give the (13,8), (22,16), (39,32), (72,64) codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

from qtaml_hw.errors import QtamlError

CODE_KINDS = ("sec", "secded")
MAX_DATA_BITS = 1024  # the generator's limit; the NumPy codec stores data in uint64 (k <= 64)


def _check_kind_k(kind, data_bits) -> int:
    if kind not in CODE_KINDS:
        raise QtamlError(f"unknown code {kind!r}; choose one of {', '.join(CODE_KINDS)}")
    if isinstance(data_bits, bool) or not isinstance(data_bits, (int, np.integer)) \
            or not 1 <= data_bits <= MAX_DATA_BITS:
        raise QtamlError(f"data bits must be an integer in 1..{MAX_DATA_BITS}, got {data_bits!r}")
    return int(data_bits)


def check_bits_for(kind: str, data_bits: int) -> int:
    """Number of check bits r of the code ``kind`` over ``data_bits`` data bits (0 data bits -> 0).

    SEC: smallest r with ``2^r - 1 - r >= k``; SECDED: smallest r with ``2^(r-1) - r >= k``.
    """
    if data_bits == 0 and kind in CODE_KINDS:
        return 0
    k = _check_kind_k(kind, data_bits)
    r = 2
    if kind == "sec":
        while (1 << r) - 1 - r < k:
            r += 1
    else:
        while (1 << (r - 1)) - r < k:
            r += 1
    return r


@dataclass(frozen=True)
class ParityCheck:
    """``H = [A | I_r]`` of a systematic (n, k) code: ``columns[j]`` = column j of A as an r-bit int."""

    kind: str
    k: int
    r: int
    columns: tuple

    @property
    def n(self) -> int:
        return self.k + self.r

    @property
    def name(self) -> str:
        return f"({self.n},{self.k}) {'Hamming SEC' if self.kind == 'sec' else 'Hsiao SECDED'}"

    def row_members(self, i: int) -> list[int]:
        """Data bits feeding check bit i (row i of A)."""
        return [j for j, c in enumerate(self.columns) if (c >> i) & 1]

    def matrix(self) -> np.ndarray:
        """``H`` as an (r, k + r) 0/1 uint8 array (data columns first, then the identity)."""
        a = np.array([[(c >> i) & 1 for c in self.columns] for i in range(self.r)], dtype=np.uint8)
        return np.concatenate([a.reshape(self.r, self.k), np.eye(self.r, dtype=np.uint8)], axis=1)


def _popcount(x: int) -> int:
    return bin(x).count("1")


def _hamming_columns(k: int, r: int) -> list[int]:
    cols = [c for c in range(3, 1 << r) if _popcount(c) >= 2]
    return cols[:k]


def _hsiao_columns(k: int, r: int) -> list[int]:
    cols: list[int] = []
    row_w = [0] * r
    for w in range(3, r + 1, 2):
        need = k - len(cols)
        if need <= 0:
            break
        cands = [sum(1 << i for i in rows) for rows in combinations(range(r), w)]
        if len(cands) <= need:
            chosen = cands
        else:
            chosen, left = [], list(cands)
            for _ in range(need):
                best = min(range(len(left)),
                           key=lambda t: (sum(row_w[i] for i in range(r) if (left[t] >> i) & 1), t))
                col = left.pop(best)
                chosen.append(col)
                for i in range(r):
                    row_w[i] += (col >> i) & 1
            cols += chosen
            continue
        for col in chosen:
            for i in range(r):
                row_w[i] += (col >> i) & 1
        cols += chosen
    return cols[:k]


@lru_cache(maxsize=None)
def parity_check(kind: str, data_bits: int) -> ParityCheck:
    """The parity-check matrix of the ``kind`` ("sec" or "secded") code over ``data_bits`` bits."""
    k = _check_kind_k(kind, data_bits)
    r = check_bits_for(kind, k)
    cols = _hamming_columns(k, r) if kind == "sec" else _hsiao_columns(k, r)
    assert len(cols) == k and len(set(cols)) == k
    return ParityCheck(kind, k, r, tuple(cols))
