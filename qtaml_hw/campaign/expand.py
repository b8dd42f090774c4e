"""A config's sweep -> the engine's tasks (design.md sections 3 and 7).

:func:`expand_tasks` takes target x fault point x plan x budget, prices every plan and gives
each point its stopping question (``campaign.trials`` as the cap, ``[stopping]`` as the
question).  A uniform plan's budget is ``protect_msb`` (the same top bits of every weight);
an adaptive plan's is ``budget_bpw``, turned into per-layer counts ``protect`` (layer name ->
m_l) by the label-free analysis before any trial runs, so the plan is part of the task's id.
"""

from __future__ import annotations

import itertools

import attrs
import numpy as np

from qtaml_hw.campaign.kinds import Task, get_kind, make_task
from qtaml_hw.campaign.stopping import Stopping
from qtaml_hw.campaign.tasks import AnalysisSpec
from qtaml_hw.ecc import plan_check_bits
from qtaml_hw.physics import flip_probabilities
from qtaml_hw.physics.timeline import scrub_retention


@attrs.frozen
class FaultPoint:
    """One fault point: ``p10``/``p01`` and the inputs it came from (``fault``, a JSON label)."""

    p10: float
    p01: float
    fault: dict


def fault_points(faults) -> list[FaultPoint]:
    """The fault points of a config's ``[faults]`` (design.md section 1 for physics and scrub points)."""
    if faults.p_flip:
        return [FaultPoint(p, faults.r * p, {"p_flip": p, "r": faults.r}) for p in faults.p_flip]
    if faults.scrub_period_s:
        points = []
        for t in faults.scrub_period_s:
            res = scrub_retention(scrub_period_s=t, read_times_s=tuple(t * np.linspace(0.01, 4.0, 400)),
                                  tau_s=faults.scrub_tau_s, r=faults.r)
            p10 = float(res[f"{faults.scrub_interval}_p10"])
            points.append(FaultPoint(p10, faults.r * p10, {"scrub_period_s": t, "tau_s": faults.scrub_tau_s,
                                                           "r": faults.r, "interval": faults.scrub_interval}))
        return points
    names = [k for k, _ in faults.physics]
    points = []
    for combo in itertools.product(*(v for _, v in faults.physics)):
        kw = dict(zip(names, combo))
        res = flip_probabilities(**kw)
        points.append(FaultPoint(float(np.max(np.asarray(res["p10"]))), float(np.max(np.asarray(res["p01"]))), kw))
    return points


def stopping_for(cfg) -> Stopping:
    """The stopping question of every task of ``cfg`` (``[stopping]``, capped at ``campaign.trials``)."""
    s = cfg.stopping
    kind = get_kind(cfg.kind)  # the nn kind (torch) is imported only for nn campaigns
    return Stopping(metric=s.metric or kind.primary, max_trials=cfg.trials, target=s.target,
                    tolerance=s.tolerance, min_trials=s.min_trials, level=s.level, resolution=s.resolution)


def real_check_bits_per_weight(code: str, m, n) -> float:
    """Stored check bits per weight of a real code over 8-weight bit-plane words (``qtaml_hw.ecc``)."""
    return plan_check_bits(list(m), list(n), code=code) / float(np.sum(n))


def _plan_points(cfg, point: FaultPoint, plan) -> list[dict]:
    """The plan-dependent fields of one (fault point, plan): one dict per budget."""
    ecc = None if plan.ecc == "ideal" else plan.ecc
    # price: the code's real check bits over 8-weight words, unless an ideal plan gives a flat factor
    code = "secded" if plan.ecc == "ideal" else plan.ecc
    flat = plan.overhead_factor if plan.ecc == "ideal" else None
    common = {"ecc": ecc, "mean_correction": True if plan.mean_correction else None, "strategy": plan.strategy}
    if not plan.adaptive:
        sizes = None
        if flat is None:
            sizes = [int(np.prod(cfg.target.shape))] if cfg.kind == "memory" else get_kind("nn").layer_sizes(cfg.target)
        return [{**common, "protect_msb": int(m),
                 "check_bits_per_weight": (float(m * flat) if flat is not None
                                           else real_check_bits_per_weight(code, [int(m)] * len(sizes), sizes))}
                for m in plan.protect_msb]
    an = get_kind("nn").analysis(cfg.target, p10=point.p10, p01=point.p01, calib_samples=plan.calib_samples,
                                 probes=plan.probes, seed=cfg.seed)
    total = int(an.n.sum())
    out = []
    for bpw in plan.budget_bpw:
        m = an.plan(plan.strategy, bpw * total)
        spent = float(np.sum(an.n * m)) / total
        out.append({**common, "budget_bpw": float(bpw), "protect": {name: int(ml) for name, ml in zip(an.names, m)},
                    "protect_msb": round(spent, 6),
                    "check_bits_per_weight": (float(spent * flat) if flat is not None
                                              else real_check_bits_per_weight(code, m, an.n)),
                    "analysis": AnalysisSpec(plan.calib_samples, plan.probes, cfg.seed)})
    return out


def expand_tasks(cfg) -> list[Task]:
    """The campaign's tasks: target x fault point x plan x budget, in a stable order, duplicates dropped."""
    kind = get_kind(cfg.kind)
    stopping = stopping_for(cfg)
    tasks, seen = [], set()
    for point in fault_points(cfg.faults):
        for plan in cfg.plans:
            for fields in _plan_points(cfg, point, plan):
                params = kind.params_type(target=cfg.target, p10=point.p10, p01=point.p01, fault=point.fault, **fields)
                task = make_task(kind, params, stopping)
                if task.id not in seen:
                    seen.add(task.id)
                    tasks.append(task)
    return tasks
