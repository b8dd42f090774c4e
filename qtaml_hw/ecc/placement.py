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

Codes: ``sec``/``secded`` (:mod:`qtaml_hw.ecc.codec`), ``bch`` of ``t`` errors and ``rep``
(``copies`` per bit, 3 = TMR; one codeword per weight, ``group = 1``) from :mod:`qtaml_hw.ecc.bch`.
``interleave = D`` spreads the ``group`` weights of a codeword over ``D`` memory words (word w
of a block of ``group D`` weights holds weights ``w, w + D, ...``): with the leakage model's
independent flips the outcome rates are unchanged (tested); it matters for spatially
correlated faults.

Read: each word is decoded exactly.  A corrected word reads its corrected planes; a
miscorrected word reads the wrong "corrected" data.  A *detected-uncorrectable* word is
read raw by :func:`protected_read` (what the RTL decoder passes through with
``uncorrectable_o``); :class:`ECCSampler` instead treats its weights as **erasures**
(``erasure="mean"``, the default: each erased weight reads the layer's mean clean weight,
the posterior mean when the word carries no information -- one constant per layer stored at
write time; ``"zero"``: reads 0; ``"raw"``: the raw data).  Nothing is hidden: at p = 0.1 a (72,64) word sees ~7 flips on average
and most words are detected or miscorrected.
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.ecc.bch import CODE_FAMILY, build_code
from qtaml_hw.ecc.codec import DETECTED, OUTCOMES, Codeword, classify, outcome_counts
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
    """Directional flips of r-bit check words via ``flip_bits``, in 16-bit chunks (a chunk narrower than
    4 bits rides in a 4-bit word whose extra top bits never flip); chunk c > 0 draws under ``key/c``."""
    check = np.asarray(check).astype(np.uint64)
    out = np.zeros((trials, *check.shape), np.uint64)
    for c, lo in enumerate(range(0, r, 16)):
        bits = min(16, r - lo)
        width = max(bits, 4)
        dt = np.uint8 if width <= 8 else np.uint16
        part = ((check >> np.uint64(lo)) & np.uint64((1 << bits) - 1)).astype(dt)
        flipped = flip_bits(part, bits=width, flip_model=flip_model, trials=trials, seed=seed,
                            trial_offset=trial_offset, protect_msb=width - bits, key=key if c == 0 else f"{key}/{c}")
        out |= flipped.astype(np.uint64) << np.uint64(lo)
    return out


def interleave_order(n_pad: int, *, group: int, interleave: int = 1) -> np.ndarray:
    """Weight index held at each packed position: word w of a block of ``group * D`` weights holds
    weights ``w, w + D, ..., w + (group - 1) D`` of the block (``D = interleave``; 1 = contiguous)."""
    if interleave < 1 or n_pad % (group * interleave):
        raise QtamlError(f"interleave must be >= 1 and divide the padded layer ({n_pad} / {group}), got {interleave}")
    return np.arange(n_pad).reshape(-1, group, interleave).transpose(0, 2, 1).reshape(-1)


def word_of_weight(n: int, *, group: int, interleave: int = 1) -> np.ndarray:
    """Codeword index of each of the ``n`` weights under :func:`protected_read`'s placement."""
    n_pad = -(-n // (group * interleave)) * group * interleave
    order = interleave_order(n_pad, group=group, interleave=interleave)
    word = np.empty(n_pad, np.int64)
    word[order] = np.arange(n_pad) // group
    return word[:n]


def protected_read(codes, *, bits: int, m: int, flip_model: FlipModel, trials: int, seed: int,
                   trial_offset: int = 0, code: str = "secded", group: int = GROUP, key="layer",
                   check_model: FlipModel | None = None, t: int = 2, copies: int = 3, interleave: int = 1):
    """One layer's weights written with ECC, leaked, then read back through the decoder.

    ``codes``: clean raw codes (any shape).  Returns ``(read_codes (trials, *shape), outcomes
    (trials, words) uint8 per :data:`OUTCOMES`, status (trials, words))``; detected words read raw.
    ``code``: sec, secded, bch (``t``) or rep (``copies``, one codeword per weight).
    """
    codes = np.asarray(codes)
    group = 1 if code == "rep" else group
    _check_plane_args(bits, m, group)
    ecc = build_code(code, group * m, t=t, copies=copies)
    flat = codes.reshape(-1)
    n = flat.size
    n_pad = -(-n // (group * interleave)) * group * interleave
    order = interleave_order(n_pad, group=group, interleave=interleave)
    padded = np.zeros(n_pad, dtype=codes.dtype)
    padded[:n] = flat
    clean_planes = pack_planes(padded[order], bits=bits, m=m, group=group)
    cw = ecc.encode(clean_planes)
    faulty = flip_bits(padded, bits=bits, flip_model=flip_model, trials=trials, seed=seed,
                       trial_offset=trial_offset, key=f"inject/{key}")
    bad_check = flip_check(cw.check, r=ecc.r, flip_model=check_model or check_flip_model(flip_model),
                           trials=trials, seed=seed, trial_offset=trial_offset, key=f"ecc-check/{key}")
    bad_check = bad_check.astype(np.asarray(cw.check).dtype)
    data, status = ecc.decode(Codeword(pack_planes(faulty[:, order], bits=bits, m=m, group=group), bad_check))
    outcomes = classify(clean_planes, data, status)
    read = np.empty_like(faulty)
    read[:, order] = unpack_planes(faulty[:, order], data, bits=bits, m=m, group=group)
    return read[:, :n].reshape(trials, *codes.shape), outcomes, status


ERASURES = ("mean", "zero", "raw")


class ECCSampler:
    """NN weight sampler (``nn.evaluate`` interface) with real ECC over each layer's top ``m_l`` planes.

    ``code`` sec / secded / bch (``t``) / rep (``copies``); detected-uncorrectable words are
    erasures (``erasure`` mean / zero / raw, see the module doc); ``interleave`` spreads codewords.

    ``sampler(layer, trials, seed, trial_offset) -> (trials, *shape)`` dequantized weights.
    ``protect`` maps layer name -> m_l (0 or absent: unprotected, plain flips).  ``dequantize``
    (optional) maps ``(qtensor, read_codes, m)`` to weights, e.g. TAC's mean-corrected
    dequantization; default ``qtensor.dequantize``.  ``counts`` accumulates per-layer ECC
    outcome counts (per codeword, over all trials sampled).
    """

    def __init__(self, flip_model: FlipModel, protect: dict | None = None, *, code: str = "secded",
                 group: int = GROUP, dequantize=None, erasure: str = "mean", t: int = 2, copies: int = 3,
                 interleave: int = 1):
        if not isinstance(flip_model, FlipModel):
            raise QtamlError("flip_model must be a FlipModel")
        if code not in CODE_FAMILY:
            raise QtamlError(f"unknown code {code!r}; choose one of {', '.join(CODE_FAMILY)}")
        if erasure not in ERASURES:
            raise QtamlError(f"erasure must be one of {', '.join(ERASURES)}, got {erasure!r}")
        self.group = 1 if code == "rep" else int(group)
        # t / copies checked on every word width this plan stores (e.g. rep13 fits 5 bits, not 6), so a
        # plan the code cannot hold is refused here rather than when its first layer is sampled
        for m in sorted({int(v) for v in (protect or {}).values() if v > 0}) or [1]:
            build_code(code, self.group * m, t=t, copies=copies)
        self.flip_model = flip_model
        self.protect = dict(protect or {})
        self.code, self.t, self.copies, self.interleave = code, int(t), int(copies), int(interleave)
        self.dequantize = dequantize
        self.erasure = erasure
        self.counts: dict[str, dict] = {}

    def __call__(self, layer, trials: int, seed: int, trial_offset: int) -> np.ndarray:
        qt = layer.qtensor
        m = int(self.protect.get(layer.name, 0))
        if not 0 <= m <= qt.bits:
            raise QtamlError(f"protected bits for {layer.name!r} must be in 0..{qt.bits}, got {m}")
        erased = None
        if m == 0:
            read = flip_bits(qt.codes, bits=qt.bits, flip_model=self.flip_model, trials=trials, seed=seed,
                             trial_offset=trial_offset, key=f"inject/{layer.name}")
        else:
            read, outcomes, status = protected_read(
                qt.codes, bits=qt.bits, m=m, flip_model=self.flip_model, trials=trials, seed=seed,
                trial_offset=trial_offset, code=self.code, group=self.group, key=layer.name, t=self.t,
                copies=self.copies, interleave=self.interleave)
            acc = self.counts.setdefault(layer.name, dict.fromkeys(OUTCOMES, 0))
            for name, c in outcome_counts(outcomes).items():
                acc[name] += c
            if self.erasure != "raw":
                words = word_of_weight(int(np.asarray(qt.codes).size), group=self.group, interleave=self.interleave)
                erased = (status[:, words] == DETECTED).reshape(read.shape)
        w = self.dequantize(qt, read, m) if self.dequantize is not None else qt.dequantize(read)
        if erased is not None and erased.any():
            fill = float(np.mean(qt.dequantize())) if self.erasure == "mean" else 0.0
            w = np.where(erased, np.asarray(fill, dtype=w.dtype), w)
        return w

    def outcome_rates(self) -> dict:
        """Per-codeword outcome rates over every protected layer and trial, plus the word count."""
        tot = dict.fromkeys(OUTCOMES, 0)
        for c in self.counts.values():
            for name in OUTCOMES:
                tot[name] += c[name]
        words = sum(tot.values())
        rates = {name: (tot[name] / words if words else 0.0) for name in OUTCOMES}
        return {"codewords": words, **rates}
