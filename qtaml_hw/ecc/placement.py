"""Real ECC over the protected bit planes of a layer (design.md section 3).

Placement (the RTL weight SRAM's, ``rtl/weight_sram.v``): the weights of layer l are stored
``group`` (= 8) per memory word; the top ``m_l`` bits of the ``group`` weights of a word form
one data word of ``k = group m_l`` bits, data bit ``g m + j`` = bit ``B - m + j`` of weight g
(LSB first), protected by ``SECDED(k)`` (or ``SEC(k)``) whose r check bits are stored beside
the word.  The low ``B - m_l`` bits are stored unprotected.  A layer whose size is not a
multiple of ``group`` is padded with zero weights (stored, so they can flip too).

Faults: every stored bit flips with the directional flip model -- the weights' bits through
``memory.flip_bits`` (key ``inject/<layer>``, as ``nn.default_sampler``), the check bits
through ``memory.flip_bits`` on the check words (key ``ecc-check/<layer>``) with the same
p10/p01 (check bits leak too; a per-bit weight flip model is averaged over bit positions
for the check bits).  Trial i depends only on ``(seed, key, trial_offset + i)``.

Read: each word is decoded exactly (:mod:`qtaml_hw.ecc.codec`).  A corrected word reads its
corrected planes; a *detected-uncorrectable* word reads the raw corrupted data (the RTL
decoder passes ``data_i`` through and raises ``uncorrectable_o``; with no retry or
scrub-and-reload the accelerator computes with it); a miscorrected word reads the wrong
"corrected" data.  Nothing is hidden: at p = 0.1 a (72,64) word sees ~7 flips on average
and most words are detected or miscorrected.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.ecc.codec import OUTCOMES, Codeword, classify, make_code, outcome_counts
from qtaml_hw.ecc.overhead import GROUP
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, flip_bits


def _check_plane_args(bits: int, m: int, group: int) -> None:
    if not 1 <= m <= bits:
        raise QtamlError(f"protected bits must be in 1..{bits}, got {m}")
    if group <= 0 or group * m > 64:
        raise QtamlError(f"group x protected bits must be in 1..64 (one uint64 data word), got {group} x {m}")


def pack_planes(codes, *, bits: int, m: int, group: int = GROUP) -> np.ndarray:
    """Data words (uint64, shape ``(..., n / group)``) of the top m bits of each ``group`` weights.

    ``codes`` has the weights on its last axis (a multiple of ``group``).
    """
    _check_plane_args(bits, m, group)
    c = np.asarray(codes)
    if c.shape[-1] % group:
        raise QtamlError(f"the last axis ({c.shape[-1]}) must be a multiple of the group ({group})")
    top = (c.reshape(*c.shape[:-1], -1, group).astype(np.uint64) >> np.uint64(bits - m)) & np.uint64((1 << m) - 1)
    shifts = (np.arange(group, dtype=np.uint64) * np.uint64(m))
    return np.bitwise_or.reduce(top << shifts, axis=-1)


def unpack_planes(codes, planes, *, bits: int, m: int, group: int = GROUP) -> np.ndarray:
    """``codes`` with the top m bits of every weight replaced from the data words ``planes``."""
    _check_plane_args(bits, m, group)
    c = np.asarray(codes)
    p = np.asarray(planes, np.uint64)
    shifts = (np.arange(group, dtype=np.uint64) * np.uint64(m))
    top = ((p[..., None] >> shifts) & np.uint64((1 << m) - 1)).reshape(*p.shape[:-1], -1)
    low = (1 << (bits - m)) - 1
    out = (c & np.asarray(low, c.dtype)).astype(np.uint64) | (top << np.uint64(bits - m))
    return out.astype(c.dtype)


def check_flip_model(flip_model: FlipModel) -> FlipModel:
    """Flip model of the stored check bits: the weights' p10/p01 (averaged over bit positions if per-bit)."""
    if np.ndim(flip_model.p10) == 0 and np.ndim(flip_model.p01) == 0:
        return flip_model
    return FlipModel(float(np.mean(flip_model.p10)), float(np.mean(flip_model.p01)))


def flip_check(check, *, r: int, flip_model: FlipModel, trials: int, seed: int, trial_offset: int,
               key) -> np.ndarray:
    """Directional flips of r-bit check words via ``flip_bits`` (fields narrower than 4 bits ride in a
    4-bit word whose extra top bits never flip)."""
    width = max(r, 4)
    dt = np.uint8 if width <= 8 else np.uint16
    out = flip_bits(np.asarray(check).astype(dt), bits=width, flip_model=flip_model, trials=trials, seed=seed,
                    trial_offset=trial_offset, protect_msb=width - r, key=key)
    return out.astype(np.uint16)


def protected_read(codes, *, bits: int, m: int, flip_model: FlipModel, trials: int, seed: int,
                   trial_offset: int = 0, code: str = "secded", group: int = GROUP, key="layer",
                   check_model: FlipModel | None = None):
    """One layer's weights written with ECC, leaked, then read back through the decoder.

    ``codes``: clean raw codes (any shape).  Returns ``(read_codes (trials, *shape), outcomes
    (trials, words) uint8 per :data:`OUTCOMES`, status (trials, words))``.
    """
    codes = np.asarray(codes)
    _check_plane_args(bits, m, group)
    ecc = make_code(code, group * m)
    flat = codes.reshape(-1)
    n = flat.size
    n_pad = -(-n // group) * group
    padded = np.zeros(n_pad, dtype=codes.dtype)
    padded[:n] = flat
    clean_planes = pack_planes(padded, bits=bits, m=m, group=group)
    cw = ecc.encode(clean_planes)
    faulty = flip_bits(padded, bits=bits, flip_model=flip_model, trials=trials, seed=seed,
                       trial_offset=trial_offset, key=f"inject/{key}")
    bad_check = flip_check(cw.check, r=ecc.r, flip_model=check_model or check_flip_model(flip_model),
                           trials=trials, seed=seed, trial_offset=trial_offset, key=f"ecc-check/{key}")
    data, status = ecc.decode(Codeword(pack_planes(faulty, bits=bits, m=m, group=group), bad_check))
    outcomes = classify(clean_planes, data, status)
    read = unpack_planes(faulty, data, bits=bits, m=m, group=group)[:, :n]
    return read.reshape(trials, *codes.shape), outcomes, status


class ECCSampler:
    """NN weight sampler (``nn.evaluate`` interface) with real ECC over each layer's top ``m_l`` planes.

    ``sampler(layer, trials, seed, trial_offset) -> (trials, *shape)`` dequantized weights.
    ``protect`` maps layer name -> m_l (0 or absent: unprotected, plain flips).  ``dequantize``
    (optional) maps ``(qtensor, read_codes, m)`` to weights, e.g. TAC's mean-corrected
    dequantization; default ``qtensor.dequantize``.  ``counts`` accumulates per-layer ECC
    outcome counts (per codeword, over all trials sampled).
    """

    def __init__(self, flip_model: FlipModel, protect: dict | None = None, *, code: str = "secded",
                 group: int = GROUP, dequantize=None):
        if not isinstance(flip_model, FlipModel):
            raise QtamlError("flip_model must be a FlipModel")
        make_code(code, 8)  # validates the code name
        self.flip_model = flip_model
        self.protect = dict(protect or {})
        self.code = code
        self.group = int(group)
        self.dequantize = dequantize
        self.counts: dict[str, dict] = {}

    def __call__(self, layer, trials: int, seed: int, trial_offset: int) -> np.ndarray:
        qt = layer.qtensor
        m = int(self.protect.get(layer.name, 0))
        if not 0 <= m <= qt.bits:
            raise QtamlError(f"protected bits for {layer.name!r} must be in 0..{qt.bits}, got {m}")
        if m == 0:
            read = flip_bits(qt.codes, bits=qt.bits, flip_model=self.flip_model, trials=trials, seed=seed,
                             trial_offset=trial_offset, key=f"inject/{layer.name}")
        else:
            read, outcomes, _ = protected_read(qt.codes, bits=qt.bits, m=m, flip_model=self.flip_model,
                                               trials=trials, seed=seed, trial_offset=trial_offset,
                                               code=self.code, group=self.group, key=layer.name)
            acc = self.counts.setdefault(layer.name, dict.fromkeys(OUTCOMES, 0))
            for name, c in outcome_counts(outcomes).items():
                acc[name] += c
        if self.dequantize is not None:
            return self.dequantize(qt, read, m)
        return qt.dequantize(read)

    def outcome_rates(self) -> dict:
        """Per-codeword outcome rates over every protected layer and trial, plus the word count."""
        tot = dict.fromkeys(OUTCOMES, 0)
        for c in self.counts.values():
            for name in OUTCOMES:
                tot[name] += c[name]
        words = sum(tot.values())
        rates = {name: (tot[name] / words if words else 0.0) for name in OUTCOMES}
        return {"codewords": words, **rates}
