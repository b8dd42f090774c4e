"""Flip-campaign tasks: typed parameters, fault points, closed-form moments and the ``memory`` kind
(design.md sections 2 and 7).

A config campaign's task is one point of its sweep (target x fault point x plan x budget),
described by a frozen :class:`FlipTrialParams`; its id is the sha256 of the canonical JSON of
``{"kind": ..., **params}`` (:func:`qtaml_hw.campaign.kinds.make_task`).  Trial ``i`` of a task
draws its faults from ``task_seed(seed, task_id)`` and ``i`` only (``flip_bits`` /
``evaluate_faulty`` derive ``rng(task_seed, key, i)``), so its result is the same whichever
worker runs it, in whatever order and whatever chunking.

Kinds defined on these parameters:

* ``memory`` (:class:`MemoryKind`, here) -- Monte Carlo of the quantized-weight error of a
  synthetic ``N(0, 1)`` tensor: per trial the mean squared error ``mean((s v' - s v)^2)`` and
  the mean error.  Its expectation has the closed form (design.md section 2)
  ``E[(v'-v)^2 | v] = Var(v'|v) + (E[v'|v] - v)^2`` (:func:`qtaml_hw.memory.moments`, all three
  codes), stored as ``predicted_mse``;
* ``nn`` (:mod:`qtaml_hw.campaign.nn_kind`) -- a network's accuracy and loss under faults.

A plan with ``mean_correction`` reads the faulty codes through TAC's mean-corrected
dequantization (``qtaml_hw.tac.corrected_dequantize``); the closed-form ``predicted_mse`` and
variance shares describe the uncorrected read.
"""

from __future__ import annotations


import attrs
import numpy as np

from qtaml_hw.campaign.config import MemoryTarget, ModelTarget
from qtaml_hw.campaign.kinds import register
from qtaml_hw.ecc import protected_read
from qtaml_hw.memory import FlipModel, bit_variance_contributions, decode_codes, flip_bits, moments, quantize
from qtaml_hw.seeding import rng
from qtaml_hw.tac import corrected_dequantize


@attrs.frozen
class AnalysisSpec:
    """Inputs of the label-free TAC analysis an adaptive plan was allocated from."""

    calib_samples: int
    probes: int
    seed: int


@attrs.frozen
class FlipTrialParams:
    """A flip-campaign task: target, fault point, protection plan and its price.

    ``protect_msb``: protected top bits of every weight (uniform plans), or the protected bits
    per weight actually spent (adaptive plans, whose per-layer counts are ``protect``).
    ``ecc``: None for ideal protection, else the real code over the protected planes.
    """

    target: MemoryTarget | ModelTarget
    p10: float
    p01: float
    fault: dict
    strategy: str
    protect_msb: float
    check_bits_per_weight: float
    ecc: str | None = None
    mean_correction: bool | None = None  # None (absent from the JSON) when off
    budget_bpw: float | None = None
    protect: dict | None = None
    analysis: AnalysisSpec | None = None

    @property
    def flip_model(self) -> FlipModel:
        return FlipModel(self.p10, self.p01)

    def layer_protect(self, names) -> dict:
        """Layer name -> protected top bits (per-layer plan, or the uniform ``protect_msb``)."""
        return dict(self.protect) if self.protect is not None else {n: int(self.protect_msb) for n in names}


@attrs.frozen
class MemoryTrialParams(FlipTrialParams):
    """Parameters of a ``memory`` task (the target is a :class:`MemoryTarget`)."""


# ----------------------------------------------------------------------------------------
# Closed-form per-bit error moments shared by the flip kinds


def error_moments(codes: np.ndarray, scale_sq, *, bits: int, code: str, p10: float, p01: float,
                  protect_msb: int) -> dict:
    """Expected squared error and per-bit variance shares of ``s (v' - v)`` (design.md section 2).

    ``E[(v'-v)^2 | v] = Var(v'|v) + (E[v'|v] - v)^2`` from the memory layer's closed form
    (:func:`qtaml_hw.memory.moments`, all three codes), scaled by ``s^2`` and averaged over the
    weights; ``variance_share``: the per-bit terms of the variance
    (:func:`qtaml_hw.memory.bit_variance_contributions`), LSB first, summing to 1.
    """
    fm = FlipModel(p10, p01)
    codes = np.asarray(codes)
    s2 = np.broadcast_to(np.asarray(scale_sq, dtype=np.float64), codes.shape).ravel()  # per-tensor or per-channel
    codes = codes.ravel()
    mean, var = moments(codes, bits=bits, code=code, flip_model=fm, protect_msb=protect_msb)
    v = decode_codes(codes, bits=bits, code=code).astype(np.float64)
    mse = float(np.mean(s2 * (var + (mean - v) ** 2)))
    per_bit = (bit_variance_contributions(codes, bits=bits, code=code, flip_model=fm, protect_msb=protect_msb)
               * s2[:, None]).mean(axis=0)
    total = per_bit.sum()
    return {"predicted_mse": mse, "variance_share": (per_bit / total).tolist() if total > 0 else [0.0] * bits}


def combine_moments(parts: list[dict], sizes: list[int]) -> dict:
    """Whole-model moments from per-layer :func:`error_moments` (weight-count weighted)."""
    if any(p["predicted_mse"] is None for p in parts):
        return {"predicted_mse": None, "variance_share": None}
    w = np.asarray(sizes, dtype=np.float64) / float(np.sum(sizes))
    mse = float(np.sum(w * [p["predicted_mse"] for p in parts]))
    # shares are normalised per layer: re-weight by each layer's share of the total variance
    var = np.array([np.asarray(p["variance_share"]) for p in parts])
    tot = np.array([p["predicted_mse"] for p in parts]) * w
    per_bit = (var * tot[:, None]).sum(axis=0)
    s = per_bit.sum()
    return {"predicted_mse": mse, "variance_share": (per_bit / s).tolist() if s > 0 else [0.0] * var.shape[1]}


class MemoryKind:
    """Quantized-weight error of a synthetic tensor under ``flip_bits`` (cheap, real)."""

    name = "memory"
    params_type = MemoryTrialParams
    metrics = ("mse", "mean_error")
    primary = "mse"

    def context_key(self, params: MemoryTrialParams) -> str:
        return repr(params.target)  # includes models_dir: where the checkpoint is read from

    def prepare(self, params: MemoryTrialParams) -> dict:
        t = params.target
        w = rng(int(t.weight_seed), "campaign/memory-weights").standard_normal(tuple(t.shape))
        qt = quantize(w.astype(np.float32), bits=t.bits, per_channel=t.per_channel, code=t.code)
        return {"qt": qt, "clean": qt.dequantize().astype(np.float64)}

    def info(self, ctx: dict, params: MemoryTrialParams) -> dict:
        qt = ctx["qt"]
        scale_sq = np.broadcast_to(np.asarray(qt.scale, dtype=np.float64) ** 2, qt.codes.shape)
        return {"n_weights": int(qt.codes.size),
                **error_moments(qt.codes, scale_sq, bits=qt.bits, code=qt.code, p10=params.p10, p01=params.p01,
                                protect_msb=int(params.protect_msb))}

    def run(self, ctx: dict, params: MemoryTrialParams, *, seed: int, start: int, count: int) -> dict:
        qt, m, fm = ctx["qt"], int(params.protect_msb), params.flip_model
        if params.ecc and m > 0:
            faulty, _, _ = protected_read(qt.codes, bits=qt.bits, m=m, flip_model=fm, trials=count, seed=seed,
                                          trial_offset=start, code=params.ecc, key="campaign/memory")
        else:
            faulty = flip_bits(qt.codes, bits=qt.bits, flip_model=fm, trials=count, seed=seed, trial_offset=start,
                               protect_msb=m, key="campaign/memory")
        if params.mean_correction:
            deq = corrected_dequantize(faulty, scale=qt.scale, bits=qt.bits, code=qt.code, flip_model=fm,
                                       protect_msb=m)
        else:
            deq = qt.dequantize(faulty)
        err = np.asarray(deq, dtype=np.float64) - ctx["clean"][None]
        axes = tuple(range(1, err.ndim))
        return {"mse": np.mean(err ** 2, axis=axes), "mean_error": np.mean(err, axis=axes)}


MEMORY = register(MemoryKind())

