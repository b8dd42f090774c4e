"""Leakage faults for the RTL weight SRAM (design.md sections 1-3, 6).

Flips are drawn by the memory model (``qtaml_hw.memory.flip_bits``, directional p10/p01
per bit) on the int8 weight codes stored in each 64-bit SRAM word, and on the stored SECDED
check bits when ECC is on; they reach the RTL as saboteur XOR masks, so they persist in
the stored word like real charge loss.  :func:`ecc_expected_words` is the Python SECDED
codec's view of the same corrupted words (contract bit-plane order: data bit g*m+j = bit
8-m+j of weight g), giving the words the RTL read port must return and its status counts.
"""

from __future__ import annotations

import numpy as np

WEIGHT_BITS = 8
G = 8


def _flip_model(p_flip=None, flip_model=None):
    from qtaml_hw.memory import FlipModel

    if flip_model is not None:
        return flip_model
    return FlipModel.symmetric(float(p_flip))


def corrupt_weight_words(words, *, seed: int, p_flip=None, flip_model=None, ecc: bool = False,
                         protect_bits: int = 8, trial: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """XOR masks (data uint64 per word, check uint8 per word) of one leakage trial.

    Data bits flip directionally per the flip model (bit value matters: p10 for stored 1s,
    p01 for stored 0s); check bits likewise when ``ecc`` (else zero masks).
    """
    from qtaml_hw.memory import flip_bits

    fm = _flip_model(p_flip, flip_model)
    words = np.ascontiguousarray(np.asarray(words, dtype="<u8"))
    codes = words.view(np.uint8).reshape(-1, G)
    faulty = flip_bits(codes, bits=WEIGHT_BITS, flip_model=fm, trials=1, seed=seed,
                       trial_offset=trial, key="rtl-sram")[0]
    data_mask = (np.ascontiguousarray(faulty.astype(np.uint8)) ^ codes).reshape(-1).view("<u8").copy()
    check_mask = np.zeros(len(words), np.uint8)
    if ecc:
        from qtaml_hw.ecc import check_bits
        from qtaml_hw.ecc.placement import check_flip_model

        clean_check = encode_check(words, protect_bits=protect_bits)
        cb = check_bits("secded", G * protect_bits)
        cfm = check_flip_model(fm)  # per-bit models: check bits leak at the mean rate
        fchk = flip_bits(clean_check.astype(np.uint16 if cb > 8 else np.uint8), bits=cb, flip_model=cfm,
                         trials=1, seed=seed, trial_offset=trial, key="rtl-sram-check")[0]
        check_mask = (fchk.astype(np.uint8) ^ clean_check).astype(np.uint8)
    return data_mask, check_mask


def bit_planes(words, *, protect_bits: int) -> np.ndarray:
    """SECDED data words (uint64) of 64-bit SRAM words: the ECC package's bit-plane packing of their 8 weights."""
    from qtaml_hw.ecc import pack_planes

    codes = np.ascontiguousarray(np.asarray(words, dtype="<u8")).view(np.uint8).reshape(-1, G)
    return pack_planes(codes, bits=WEIGHT_BITS, m=protect_bits, group=G).reshape(-1)


def with_planes(words, planes, *, protect_bits: int) -> np.ndarray:
    """Replace the top ``protect_bits`` bits of each weight of ``words`` by ``planes``."""
    from qtaml_hw.ecc import unpack_planes

    codes = np.ascontiguousarray(np.asarray(words, dtype="<u8")).view(np.uint8).reshape(-1, G)
    out = unpack_planes(codes, np.asarray(planes, np.uint64).reshape(-1, 1), bits=WEIGHT_BITS, m=protect_bits, group=G)
    return np.ascontiguousarray(out.astype(np.uint8)).reshape(-1).view("<u8").copy()


def encode_check(words, *, protect_bits: int) -> np.ndarray:
    """Check bits (uint8) the RTL stores for each word: SECDED over its bit planes."""
    from qtaml_hw.ecc import SECDED

    code = SECDED(G * protect_bits)
    return np.asarray(code.encode(bit_planes(words, protect_bits=protect_bits)).check).astype(np.uint8)


def ecc_expected_words(clean_words, data_mask, check_mask, *, protect_bits: int):
    """(words the SECDED read port returns, #corrected, #uncorrectable) for corrupted storage."""
    from qtaml_hw.ecc import SECDED

    code = SECDED(G * protect_bits)
    clean_words = np.asarray(clean_words, "<u8")
    stored = clean_words ^ np.asarray(data_mask, "<u8")
    cw = code.encode(bit_planes(clean_words, protect_bits=protect_bits))
    bad = cw._replace(data=bit_planes(stored, protect_bits=protect_bits).astype(np.uint64),
                      check=(np.asarray(cw.check).astype(np.uint16) ^ np.asarray(check_mask, np.uint16)))
    data, status = code.decode(bad)
    status = np.asarray(status)
    seen = with_planes(stored, np.asarray(data, np.uint64), protect_bits=protect_bits)
    return seen, int(np.sum(status == 1)), int(np.sum(status == 2))
