"""ECC storage overhead accounting (design.md section 3).

A layer with ``m_l`` protected top bits packs ``group`` weights per memory word (the RTL's
bit-plane placement, :mod:`qtaml_hw.ecc.placement`): each word carries ``k = group * m_l``
protected data bits and ``r(k)`` check bits (:func:`qtaml_hw.ecc.matrix.check_bits_for`;
SECDED k = 8, 16, 32, 64 -> r = 5, 6, 7, 8).  Overheads:

* per protected data bit: ``r(k) / k`` (the code's overhead factor);
* of a plan over the whole weight memory (check bits / data bits):
  ``sum_l ceil(n_l / group) r(group m_l) / (B sum_l n_l)``;
* ideal MSB protection (the paper's abstraction) costs ``m_l`` bits per weight times the
  code's factor, i.e. the same check storage without modelling the code's failures.

The area part (encoder/decoder cells) comes from Yosys synthesis of the generated RTL
(``qtaml-hw area``).
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.ecc.matrix import CODE_KINDS, check_bits_for
from qtaml_hw.errors import QtamlError

GROUP = 8  # weights per SRAM word (contract bit-plane placement)


def check_bits(code: str, data_bits: int) -> int:
    """Check bits r of ``code`` ("sec" / "secded") over ``data_bits`` data bits (0 -> 0)."""
    return check_bits_for(code, int(data_bits))


def overhead_factor(code: str, data_bits: int) -> float:
    """Check bits per protected data bit, ``r(k) / k``."""
    if data_bits <= 0:
        raise QtamlError(f"data bits must be positive, got {data_bits}")
    return check_bits(code, data_bits) / float(data_bits)


def plan_check_bits(m, n, *, code: str = "secded", group: int = GROUP) -> int:
    """Total stored check bits of a protection plan: ``sum_l ceil(n_l / group) r(group m_l)``."""
    if code not in CODE_KINDS:
        raise QtamlError(f"unknown code {code!r}; choose one of {', '.join(CODE_KINDS)}")
    m, n = np.asarray(m, dtype=np.int64), np.asarray(n, dtype=np.int64)
    if m.shape != n.shape:
        raise QtamlError(f"plan m has {m.size} layers but n has {n.size}")
    if np.any(m < 0) or np.any(n < 0):
        raise QtamlError("protected bits and layer sizes must be non-negative")
    return int(sum(-(-int(nl) // group) * check_bits(code, group * int(ml)) for ml, nl in zip(m, n)))


def plan_overhead(m, n, bits: int, *, code: str = "secded", group: int = GROUP) -> float:
    """Check-bit storage / data storage of the whole weight memory for protection plan ``m``."""
    n_arr = np.asarray(n, dtype=np.int64)
    total = float(n_arr.sum()) * int(bits)
    if total <= 0:
        raise QtamlError("the weight memory is empty")
    return plan_check_bits(m, n, code=code, group=group) / total


def sram_storage(*, code: str, data_bits: int, words: int, word_bits: int) -> dict:
    """Check-bit storage of an SRAM of ``words`` x ``word_bits`` whose words each protect ``data_bits`` bits."""
    if words <= 0 or word_bits <= 0:
        raise QtamlError("SRAM words and word bits must be positive")
    if not 0 < data_bits <= word_bits:
        raise QtamlError(f"protected data bits must be in 1..{word_bits} (the word), got {data_bits}")
    r = check_bits(code, data_bits)
    return {"words": int(words), "word_bits": int(word_bits), "data_bits_protected": int(data_bits),
            "check_bits_per_word": r, "data_storage_bits": int(words) * int(word_bits),
            "check_storage_bits": int(words) * r, "storage_overhead": r / float(word_bits),
            "check_bits_per_protected_bit": r / float(data_bits)}
