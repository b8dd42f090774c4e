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
CHECK_BITS = {8: 5, 16: 6, 32: 7, 64: 8}


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
        clean_check = encode_check(words, protect_bits=protect_bits)
        cb = CHECK_BITS[G * protect_bits]
        scalar = np.ndim(fm.p10) == 0 and np.ndim(fm.p01) == 0
        cfm = fm if scalar else type(fm)(float(np.mean(fm.p10)), float(np.mean(fm.p01)))
        fchk = flip_bits(clean_check.astype(np.uint16 if cb > 8 else np.uint8), bits=cb, flip_model=cfm,
                         trials=1, seed=seed, trial_offset=trial, key="rtl-sram-check")[0]
        check_mask = (fchk.astype(np.uint8) ^ clean_check).astype(np.uint8)
    return data_mask, check_mask


def bit_planes(words, *, protect_bits: int) -> np.ndarray:
    """SECDED data words (uint64) of the top ``protect_bits`` bits of each word's 8 weights."""
    m = protect_bits
    b = np.ascontiguousarray(np.asarray(words, dtype="<u8")).view(np.uint8).reshape(-1, G)
    bits = np.unpackbits(b[..., None], axis=-1, bitorder="little")  # (W, G, 8), LSB first
    planes = bits[:, :, WEIGHT_BITS - m:].reshape(len(b), G * m)
    padded = np.zeros((len(b), 64), np.uint8)
    padded[:, : G * m] = planes
    return np.packbits(padded, axis=-1, bitorder="little").view("<u8").reshape(-1).copy()


def with_planes(words, planes, *, protect_bits: int) -> np.ndarray:
    """Replace the top ``protect_bits`` bits of each weight of ``words`` by ``planes``."""
    m = protect_bits
    b = np.ascontiguousarray(np.asarray(words, dtype="<u8")).view(np.uint8).reshape(-1, G)
    bits = np.unpackbits(b[..., None], axis=-1, bitorder="little").copy()
    pb = np.unpackbits(np.ascontiguousarray(np.asarray(planes, "<u8")).view(np.uint8).reshape(-1, 8),
                       axis=-1, bitorder="little")[:, : G * m]
    bits[:, :, WEIGHT_BITS - m:] = pb.reshape(len(b), G, m)
    out = np.packbits(bits, axis=-1, bitorder="little").reshape(len(b), G)
    return np.ascontiguousarray(out).view("<u8").reshape(-1).copy()


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
