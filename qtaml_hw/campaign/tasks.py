"""Campaign tasks: stable ids, seeded trial chunks and the pluggable trial kinds (design.md section 7).

A *task* is one point of the campaign's sweep (target x fault point x plan x budget),
described by a plain dict of parameters.  Its id is ``sha256`` of the parameters'
canonical JSON (sorted keys, no whitespace), so the same point always has the same id,
in any process, on any machine.  Trial ``i`` of a task draws its faults from
``task_seed(seed, task_id)`` and the trial index ``i`` only (``flip_bits``/``evaluate_faulty``
derive ``rng(task_seed, key, i)``), so its result is the same whichever worker runs it,
in whatever order and whatever chunking.

Trial kinds (``TRIAL_KINDS``):

* ``memory`` -- Monte Carlo of the quantized-weight error of a synthetic ``N(0, 1)``
  tensor: per trial the mean squared error ``mean((s v' - s v)^2)`` and the mean error of
  the dequantized faulty weights.  Its expectation has the closed form (design.md section 2)
  ``E[(v'-v)^2 | v] = Var(v'|v) + (E[v'|v] - v)^2`` (:func:`qtaml_hw.memory.moments`, all three
  codes), stored as ``predicted_mse`` for comparison.
* ``nn`` -- a network under faults through the NN layer (``QuantizedModel``,
  ``evaluate_faulty`` with ``default_sampler``): per-trial accuracy and loss.

A plan with ``mean_correction`` reads the faulty codes through TAC's mean-corrected
dequantization (``qtaml_hw.tac.corrected_dequantize`` / ``corrected_sampler``); the
closed-form ``predicted_mse``/variance shares describe the uncorrected read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from dataclasses import asdict, dataclass

import numpy as np

from qtaml_hw.seeding import rng, seed_sequence

log = logging.getLogger(__name__)


def canonical_json(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)


def task_id(params: dict) -> str:
    """Stable id: sha256 hex digest of the canonical JSON of the task parameters."""
    return hashlib.sha256(canonical_json(params).encode("utf-8")).hexdigest()


def task_seed(seed: int, tid: str) -> int:
    """The 64-bit seed of a task's trial streams, derived from (campaign seed, task id)."""
    return int(seed_sequence(seed, "campaign", tid).generate_state(1, dtype=np.uint64)[0])


@dataclass(frozen=True)
class Task:
    id: str
    params: dict

    @property
    def short_id(self) -> str:
        return self.id[:12]


def fault_points(cfg) -> list[dict]:
    """The fault points of a config: ``{"p10", "p01", "fault": {...inputs}}`` per point.

    Physics points go through ``qtaml_hw.physics.flip_probabilities`` (design.md section 1).
    """
    f = cfg.faults
    if f.p_flip:
        return [{"p10": p, "p01": f.r * p, "fault": {"p_flip": p, "r": f.r}} for p in f.p_flip]
    if f.scrub_period_s:
        from qtaml_hw.physics.timeline import scrub_retention

        points = []
        for t in f.scrub_period_s:
            res = scrub_retention(scrub_period_s=t, read_times_s=tuple(t * np.linspace(0.01, 4.0, 400)),
                                  tau_s=f.scrub_tau_s, r=f.r)
            p10 = float(res[f"{f.scrub_interval}_p10"])
            points.append({"p10": p10, "p01": f.r * p10,
                           "fault": {"scrub_period_s": t, "tau_s": f.scrub_tau_s, "r": f.r,
                                     "interval": f.scrub_interval}})
        return points
    from qtaml_hw.physics import flip_probabilities

    names = [k for k, _ in f.physics]
    points = []
    for combo in itertools.product(*(v for _, v in f.physics)):
        kw = dict(zip(names, combo))
        res = flip_probabilities(**kw)
        p10 = float(np.max(np.asarray(res["p10"])))
        p01 = float(np.max(np.asarray(res["p01"])))
        points.append({"p10": p10, "p01": p01, "fault": kw})
    return points


_ANALYSES: dict[str, object] = {}  # per-process cache of label-free analyses (see :func:`analysis`)


def analysis(target: dict, *, p10: float, p01: float, calib_samples: int, probes: int, seed: int,
             models_dir=None):
    """Label-free TAC analysis of an ``nn`` target at one fault point (``qtaml_hw.tac.analysis.analyse``).

    Sensitivities ``S_l`` from ``calib_samples`` unlabeled training images and ``probes`` random
    output projections, residual curves ``R_l(m)`` of the flip model, ``n_l``, ``s_l^2`` and
    ``||W_l||^2``: everything a layer-adaptive plan and rho* need, and nothing that sees a
    label or a Monte Carlo trial (design.md section 3).  Deterministic in its arguments.
    """
    key = canonical_json({"target": target, "p10": p10, "p01": p01, "calib": calib_samples, "probes": probes,
                          "seed": seed})
    if key not in _ANALYSES:
        from qtaml_hw.memory import FlipModel
        from qtaml_hw.nn import QuantizedModel, load_dataset, load_model
        from qtaml_hw.tac.analysis import analyse

        model, entry = load_model(target["name"], models_dir=models_dir)
        data = load_dataset(entry.get("dataset", "mnist"))
        qmodel = QuantizedModel(model, bits=int(target["bits"]), per_channel=bool(target["per_channel"]),
                                code=target["code"])
        _ANALYSES[key] = analyse(qmodel, data.x_train[:calib_samples], flip_model=FlipModel(p10, p01),
                                 probes=probes, seed=seed)
    return _ANALYSES[key]


def _plan_params(cfg, target: dict, point: dict, plan, *, models_dir=None) -> list[dict]:
    """The plan-dependent task parameters of one (fault point, plan): one dict per budget."""
    ecc = {} if plan.ecc == "ideal" else {"ecc": plan.ecc}  # absent when ideal: old ids never change
    # price: the code's real check bits over 8-weight words, unless an ideal plan gives a flat factor
    code = "secded" if plan.ecc == "ideal" else plan.ecc
    flat = plan.overhead_factor if plan.ecc == "ideal" else None
    if not plan.adaptive:
        sizes = _layer_sizes(cfg, target, models_dir) if flat is None else None
        return [{"strategy": plan.strategy, "protect_msb": int(m), **ecc,
                 "check_bits_per_weight": (float(m * flat) if flat is not None else
                                           _real_check_bits_per_weight(code, [int(m)] * len(sizes), sizes))}
                for m in plan.protect_msb]
    an = analysis(target, p10=point["p10"], p01=point["p01"], calib_samples=plan.calib_samples,
                  probes=plan.probes, seed=cfg.seed, models_dir=models_dir)
    total = int(an.n.sum())
    out = []
    for bpw in plan.budget_bpw:
        m = an.plan(plan.strategy, bpw * total)
        spent = float(np.sum(an.n * m)) / total
        out.append({"strategy": plan.strategy, "budget_bpw": float(bpw),
                    "protect": {name: int(ml) for name, ml in zip(an.names, m)},
                    "protect_msb": round(spent, 6), **ecc,
                    "check_bits_per_weight": (float(spent * flat) if flat is not None
                                              else _real_check_bits_per_weight(code, m, an.n)),
                    "analysis": {"calib_samples": plan.calib_samples, "probes": plan.probes, "seed": cfg.seed}})
    return out


def _layer_sizes(cfg, target: dict, models_dir) -> list[int]:
    """Weights per memory tensor of the target (one entry for a synthetic ``memory`` tensor)."""
    if cfg.kind == "memory":
        return [int(np.prod(target["shape"]))]
    return [layer.n_weights for layer in TRIAL_KINDS["nn"].prepare({**target, "models_dir": models_dir},
                                                                    data=False)["qmodel"].layers]


def _real_check_bits_per_weight(code: str, m, n) -> float:
    """Stored check bits per weight of a real code over 8-weight bit-plane words (``qtaml_hw.ecc``)."""
    from qtaml_hw.ecc import plan_check_bits

    return plan_check_bits(list(m), list(n), code=code) / float(np.sum(n))


def expand_tasks(cfg, *, models_dir=None) -> list[Task]:
    """The campaign's tasks: target x fault point x plan x budget, in a stable order.

    A uniform plan's budget is ``protect_msb`` (the same top bits of every weight); an
    adaptive plan's is ``budget_bpw``, turned into per-layer counts ``protect`` (layer name ->
    m_l) by :func:`analysis` before any trial runs, so the plan is part of the task's id.
    ``protect_msb`` of an adaptive task is the protected bits per weight it actually spends.
    """
    target = {"kind": cfg.kind, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg.target).items()}}
    if cfg.kind == "nn":
        models_dir = models_dir or target.get("models_dir")
        target.pop("models_dir", None)  # where the checkpoint lives does not change the task
    tasks, seen = [], set()
    for point in fault_points(cfg):
        for plan in cfg.plans:
            for plan_params in _plan_params(cfg, target, point, plan, models_dir=models_dir):
                params = {"target": target, "p10": point["p10"], "p01": point["p01"], "fault": point["fault"],
                          **plan_params}
                if plan.mean_correction:  # only present when on, so ids of plain plans never change
                    params["mean_correction"] = True
                tid = task_id(params)
                if tid not in seen:
                    seen.add(tid)
                    tasks.append(Task(tid, params))
    return tasks


# ----------------------------------------------------------------------------------------
# Closed-form per-bit error moments shared by the trial kinds


def error_moments(codes: np.ndarray, scale_sq, *, bits: int, code: str, p10: float, p01: float,
                  protect_msb: int) -> dict:
    """Expected squared error and per-bit variance shares of ``s (v' - v)`` (design.md section 2).

    ``E[(v'-v)^2 | v] = Var(v'|v) + (E[v'|v] - v)^2`` from the memory layer's closed form
    (:func:`qtaml_hw.memory.moments`, all three codes), scaled by ``s^2`` and averaged over the
    weights; ``variance_share``: the per-bit terms of the variance
    (:func:`qtaml_hw.memory.bit_variance_contributions`), LSB first, summing to 1.
    """
    from qtaml_hw.memory import FlipModel, bit_variance_contributions, decode_codes, moments

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


def _combine_moments(parts: list[dict], sizes: list[int]) -> dict:
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


# ----------------------------------------------------------------------------------------
# Trial kinds


class MemoryKind:
    """Quantized-weight error of a synthetic tensor under ``flip_bits`` (cheap, real)."""

    name = "memory"
    metrics = ("mse", "mean_error")
    primary = "mse"

    def prepare(self, target: dict) -> dict:
        from qtaml_hw.memory import quantize

        w = rng(int(target["weight_seed"]), "campaign/memory-weights").standard_normal(tuple(target["shape"]))
        qt = quantize(w.astype(np.float32), bits=int(target["bits"]), per_channel=bool(target["per_channel"]),
                      code=target["code"])
        return {"qt": qt, "clean": qt.dequantize().astype(np.float64)}

    def info(self, ctx: dict, params: dict) -> dict:
        qt = ctx["qt"]
        scale_sq = np.broadcast_to(np.asarray(qt.scale, dtype=np.float64) ** 2, qt.codes.shape)
        return {"n_weights": int(qt.codes.size),
                **error_moments(qt.codes, scale_sq, bits=qt.bits, code=qt.code, p10=params["p10"],
                                p01=params["p01"], protect_msb=params["protect_msb"])}

    def run(self, ctx: dict, params: dict, *, seed: int, start: int, count: int) -> dict:
        from qtaml_hw.memory import FlipModel, flip_bits

        qt = ctx["qt"]
        if params.get("ecc") and params["protect_msb"] > 0:
            from qtaml_hw.ecc import protected_read

            faulty, _, _ = protected_read(qt.codes, bits=qt.bits, m=params["protect_msb"],
                                          flip_model=FlipModel(params["p10"], params["p01"]), trials=count,
                                          seed=seed, trial_offset=start, code=params["ecc"], key="campaign/memory")
        else:
            faulty = flip_bits(qt.codes, bits=qt.bits, flip_model=FlipModel(params["p10"], params["p01"]),
                               trials=count, seed=seed, trial_offset=start, protect_msb=params["protect_msb"],
                               key="campaign/memory")
        if params.get("mean_correction"):
            from qtaml_hw.tac import corrected_dequantize

            deq = corrected_dequantize(faulty, scale=qt.scale, bits=qt.bits, code=qt.code,
                                       flip_model=FlipModel(params["p10"], params["p01"]),
                                       protect_msb=params["protect_msb"])
        else:
            deq = qt.dequantize(faulty)
        err = np.asarray(deq, dtype=np.float64) - ctx["clean"][None]
        axes = tuple(range(1, err.ndim))
        return {"mse": np.mean(err ** 2, axis=axes), "mean_error": np.mean(err, axis=axes)}


class NNKind:
    """A network's accuracy and loss under faults via the NN layer's ``evaluate_faulty``."""

    name = "nn"
    metrics = ("accuracy", "loss")
    primary = "accuracy"

    def prepare(self, target: dict, *, data: bool = True) -> dict:
        from qtaml_hw.nn import QuantizedModel, load_dataset, load_model

        model, entry = load_model(target["name"], models_dir=target.get("models_dir"))
        qmodel = QuantizedModel(model, bits=int(target["bits"]), per_channel=bool(target["per_channel"]),
                                code=target["code"])
        if not data:
            return {"qmodel": qmodel}
        ds = load_dataset(entry.get("dataset", "mnist"))
        x, y = ds.x_test, ds.y_test
        if target.get("test_subset"):
            x, y = x[:target["test_subset"]], y[:target["test_subset"]]
        return {"qmodel": qmodel, "x": x, "y": y, "models_dir": target.get("models_dir")}

    def info(self, ctx: dict, params: dict) -> dict:
        import torch

        qmodel = ctx["qmodel"]
        with torch.no_grad():
            clean = float((qmodel(ctx["x"]).argmax(-1) == ctx["y"]).float().mean())
        codes = np.concatenate([layer.qtensor.codes.ravel() for layer in qmodel.layers])
        scale_sq = np.concatenate([np.broadcast_to(np.asarray(layer.qtensor.scale, np.float64) ** 2,
                                                   layer.qtensor.codes.shape).ravel() for layer in qmodel.layers])
        qt0 = qmodel.layers[0].qtensor
        out = {"clean_accuracy": clean, "n_test": int(len(ctx["x"])), "n_weights": int(codes.size)}
        if "protect" in params:  # adaptive: per-layer moments, weighted by layer size
            parts = [error_moments(layer.qtensor.codes, np.asarray(layer.qtensor.scale, np.float64) ** 2,
                                   bits=qt0.bits, code=qt0.code, p10=params["p10"], p01=params["p01"],
                                   protect_msb=int(params["protect"].get(layer.name, 0)))
                     for layer in qmodel.layers]
            out.update(_combine_moments(parts, [layer.n_weights for layer in qmodel.layers]))
            if params["strategy"] == "tac":
                from qtaml_hw.tac import rho_table

                a = params["analysis"]
                an = analysis(params["target"], p10=params["p10"], p01=params["p01"],
                              calib_samples=a["calib_samples"], probes=a["probes"], seed=a["seed"],
                              models_dir=ctx.get("models_dir"))
                out["rho_table"] = rho_table(a=an.scores, n=an.n, curves=an.curves)
                out["predicted_output_variance"] = an.predicted_variance(
                    [params["protect"][name] for name in an.names])
        else:
            out.update(error_moments(codes, scale_sq, bits=qt0.bits, code=qt0.code, p10=params["p10"],
                                     p01=params["p01"], protect_msb=params["protect_msb"]))
        return out

    def run(self, ctx: dict, params: dict, *, seed: int, start: int, count: int) -> dict:
        from qtaml_hw.nn import default_sampler, evaluate_faulty

        from qtaml_hw.memory import FlipModel

        qmodel = ctx["qmodel"]
        make = default_sampler
        if params.get("mean_correction"):
            from qtaml_hw.tac import corrected_sampler as make
        protect = params.get("protect") or {layer.name: params["protect_msb"] for layer in qmodel.layers}
        fm = FlipModel(params["p10"], params["p01"])
        if params.get("ecc"):
            from qtaml_hw.ecc import ECCSampler

            from qtaml_hw.tac.correction import corrected_read

            sampler = ECCSampler(fm, protect, code=params["ecc"],
                                 dequantize=corrected_read(fm) if params.get("mean_correction") else None)
        else:
            sampler = make(fm, protect)
        res = evaluate_faulty(qmodel, ctx["x"], ctx["y"], trials=count, seed=seed, weight_sampler=sampler,
                              batch_trials=count, trial_offset=start)
        return {"accuracy": np.asarray(res.accuracy, dtype=np.float64), "loss": np.asarray(res.loss, dtype=np.float64)}


TRIAL_KINDS = {"memory": MemoryKind(), "nn": NNKind()}

_CONTEXTS: dict[str, dict] = {}  # per-process cache: target JSON -> prepared context


def _context(target: dict, models_dir) -> dict:
    key = canonical_json(target)
    if key not in _CONTEXTS:
        kind = TRIAL_KINDS[target["kind"]]
        _CONTEXTS.clear()  # one target at a time per worker keeps memory bounded
        _CONTEXTS[key] = kind.prepare({**target, "models_dir": models_dir})
    return _CONTEXTS[key]


@dataclass(frozen=True)
class ChunkResult:
    """Frozen record of trials ``start .. start+count-1`` of one task (they add up in the store)."""

    task_id: str
    start: int
    metrics: dict  # name -> list of floats, one per trial
    info: dict | None = None

    @property
    def count(self) -> int:
        return len(next(iter(self.metrics.values())))


def execute_chunk(tid: str, params: dict, seed: int, start: int, count: int, *, models_dir=None,
                  with_info: bool = False) -> ChunkResult:
    """Run trials ``start .. start+count-1`` of task ``tid``; picklable entry point for any executor."""
    kind = TRIAL_KINDS[params["target"]["kind"]]
    ctx = _context(params["target"], models_dir)
    out = kind.run(ctx, params, seed=task_seed(seed, tid), start=start, count=count)
    metrics = {name: np.asarray(out[name], dtype=np.float64).tolist() for name in kind.metrics}
    info = kind.info(ctx, params) if with_info else None
    return ChunkResult(tid, int(start), metrics, info)
