"""The ``explore`` task kind: accuracy of a network on a calibrated cell for refresh interval x code x plan
(design.md sections 1, 3, 7).

One task = one (refresh interval, code, protection plan) point.  The cell's calibrated law
(:func:`qtaml_hw.physics.calibrate`) turns the refresh interval into ``p10`` / ``p01 = r p10``;
the plan gives each layer its protected top bits ``m_l`` (``uniform:M`` or TAC's label-free
``tac:BPW`` allocation at ``BPW`` protected bits per weight, with its mean correction); the code
(``sec``, ``secded``, ``bchT``, ``tmr`` / ``repC``) stores those planes with real codewords whose
check bits leak too (:class:`qtaml_hw.ecc.ECCSampler`; detected words are erasures).  A trial is
one ``evaluate_faulty`` pass.  The front (:func:`pareto_front`) trades accuracy against storage
overhead, codec area and refresh rate.
"""

from __future__ import annotations

import attrs
import numpy as np

from qtaml_hw.campaign.config import ModelTarget
from qtaml_hw.campaign.kinds import register
from qtaml_hw.campaign.nn_kind import analysis, model_context, quantized_model
from qtaml_hw.ecc import ERASURES, ECCSampler, capacity_floor, check_bits_of
from qtaml_hw.ecc.overhead import GROUP
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn import default_sampler, evaluate_faulty
from qtaml_hw.physics import LAWS, calibrate, get_cell, operating_point
from qtaml_hw.tac import corrected_sampler
from qtaml_hw.tac.correction import corrected_read


def parse_code(text: str) -> tuple[str, int, int]:
    """``none``, ``sec``, ``secded``, ``bch<T>`` (e.g. bch3), ``tmr`` or ``rep<C>`` -> (family, t, copies)."""
    if text in ("none", "sec", "secded"):
        return text, 2, 3
    if text == "tmr":
        return "rep", 2, 3
    for prefix, fam in (("bch", "bch"), ("rep", "rep")):
        if text.startswith(prefix) and text[len(prefix):].isdigit():
            v = int(text[len(prefix):])
            if fam == "bch" and 1 <= v <= 8:
                return "bch", v, 3
            if fam == "rep" and 2 <= v <= 15:
                return "rep", 2, v
    raise QtamlError(f"unknown code {text!r}: use none, sec, secded, bch<T> (T 1..8), tmr or rep<C> (C 2..15)")


def parse_plan(text: str) -> tuple[str, float]:
    """``none``, ``uniform:M`` or ``tac:BPW`` -> (strategy, value)."""
    if text == "none":
        return "none", 0.0
    kind, _, val = text.partition(":")
    try:
        v = float(val)
    except ValueError:
        v = -1.0
    if kind == "uniform" and v.is_integer() and 1 <= v <= 16:
        return "uniform", v
    if kind == "tac" and 0 < v <= 16:
        return "tac", v
    raise QtamlError(f"unknown plan {text!r}: use none, uniform:M (M 1..16) or tac:BPW (bits per weight > 0)")


def _check_params(inst, attribute, value):
    del attribute, value
    parse_code(inst.code)
    parse_plan(inst.plan)
    get_cell(inst.cell)
    if inst.law not in LAWS:
        raise QtamlError(f"explore.law: one of {', '.join(LAWS)}, got {inst.law!r}")
    if inst.erasure not in ERASURES:
        raise QtamlError(f"explore.erasure: one of {', '.join(ERASURES)}, got {inst.erasure!r}")
    if not (0 < inst.refresh_s <= 1e12) or not (0 <= inst.r <= 1):
        raise QtamlError(f"explore: refresh_s in (0, 1e12] s and r in [0, 1], got {inst.refresh_s!r}, {inst.r!r}")
    if (inst.code == "none") != (inst.plan == "none"):
        raise QtamlError("explore: code 'none' goes with plan 'none' (and only with it)")


@attrs.frozen
class ExploreParams:
    """One exploration point; ``protect`` = ((layer, m_l), ...) fixed when the tasks are expanded."""

    target: ModelTarget
    cell: str
    refresh_s: float
    code: str
    plan: str
    protect: tuple = ()
    law: str = "threshold"
    r: float = 0.1
    erasure: str = attrs.field(default="mean", validator=_check_params)

    def flip_model(self) -> tuple[FlipModel, dict]:
        op = operating_point(calibrate(self.cell, law=self.law), self.refresh_s, r=self.r)
        return FlipModel(op["p10"], op["p01"]), op


def plan_protect(target: ModelTarget, plan: str, *, p10: float, p01: float, seed: int = 0) -> tuple:
    """``((layer, m_l), ...)`` of a plan on the target's layers (TAC: label-free analysis at this flip model)."""
    strategy, value = parse_plan(plan)
    qmodel, _ = quantized_model(target)
    names = [layer.name for layer in qmodel.layers]
    if strategy == "none":
        return tuple((n, 0) for n in names)
    if strategy == "uniform":
        return tuple((n, min(int(value), target.bits)) for n in names)
    an = analysis(target, p10=p10, p01=p01, calib_samples=256, probes=4, seed=seed)
    m = an.plan("tac", value * float(np.sum(an.n)))
    return tuple((n, int(x)) for n, x in zip(an.names, m))


def plan_storage(protect: tuple, sizes: dict, *, code: str, bits: int) -> dict:
    """Check bits of a plan stored with ``code`` and its overhead (check bits / data bits), plus the floor."""
    fam, t, copies = parse_code(code)
    total = float(sum(sizes.values())) * bits
    check, protected = 0, 0
    for name, m in protect:
        n = sizes[name]
        protected += n * m
        if m == 0 or fam == "none":
            continue
        if fam == "rep":
            check += n * m * (copies - 1)
        else:
            check += -(-n // GROUP) * check_bits_of(fam, GROUP * m, t=t)
    return {"check_bits": int(check), "overhead": check / total, "protected_fraction": protected / total}


class ExploreKind:
    """Accuracy (per trial) of a model on a calibrated cell at one refresh interval, code and plan."""

    name = "explore"
    params_type = ExploreParams
    metrics = ("accuracy",)
    primary = "accuracy"

    def context_key(self, params: ExploreParams) -> str:
        return repr(params.target)

    def prepare(self, params: ExploreParams) -> dict:
        return model_context(params.target)

    def sampler(self, params: ExploreParams, fm: FlipModel):
        """The point's weight sampler (its construction checks the code against every word width it stores)."""
        fam, t, copies = parse_code(params.code)
        protect = dict(params.protect)
        mc = parse_plan(params.plan)[0] == "tac"
        if fam == "none":
            return (corrected_sampler if mc else default_sampler)(fm, {})
        return ECCSampler(fm, protect, code=fam, t=t, copies=copies, erasure=params.erasure,
                          dequantize=corrected_read(fm) if mc else None)

    def info(self, ctx: dict, params: ExploreParams) -> dict:
        import torch

        fm, op = params.flip_model()
        with torch.no_grad():
            clean = float((ctx["qmodel"](ctx["x"]).argmax(-1) == ctx["y"]).float().mean())
        sizes = {layer.name: layer.n_weights for layer in ctx["qmodel"].layers}
        store = plan_storage(params.protect, sizes, code=params.code, bits=params.target.bits)
        floor = capacity_floor(min(float(op["p10"]), 0.5))
        return {"clean_accuracy": clean, "p10": op["p10"], "p01": op["p01"], "tau_s": op["tau_s"],
                "t_over_tau": op["t_over_tau"], "refresh_rate_hz": op["refresh_rate_hz"], **store,
                "floor_overhead": floor * store["protected_fraction"], "n_weights": int(sum(sizes.values()))}

    def run(self, ctx: dict, params: ExploreParams, *, seed: int, start: int, count: int) -> dict:
        fm, _ = params.flip_model()
        res = evaluate_faulty(ctx["qmodel"], ctx["x"], ctx["y"], trials=count, seed=seed,
                              weight_sampler=self.sampler(params, fm), batch_trials=count, trial_offset=start)
        return {"accuracy": np.asarray(res.accuracy, dtype=np.float64)}


EXPLORE = register(ExploreKind())


def pareto_front(rows: list[dict], *, maximize=("accuracy_mean",),
                 minimize=("overhead", "codec_ge", "refresh_rate_hz")) -> list[bool]:
    """``True`` for rows no other row dominates (>= on every maximised, <= on every minimised key, > or < on one)."""
    def vec(r):
        return [r[k] for k in maximize] + [-(r[k] if r[k] is not None else np.inf) for k in minimize]

    vs = [vec(r) for r in rows]
    return [not any(all(a >= b for a, b in zip(o, v)) and any(a > b for a, b in zip(o, v))
                    for j, o in enumerate(vs) if j != i) for i, v in enumerate(vs)]


__all__ = ["EXPLORE", "ExploreKind", "ExploreParams", "pareto_front", "parse_code", "parse_plan", "plan_protect",
           "plan_storage"]
