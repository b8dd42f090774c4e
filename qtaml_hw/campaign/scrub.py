"""Scrub-period exploration on the engine: how often must memory be scrubbed to keep a target accuracy
(design.md sections 1 and 7).

Between two scrubs a word's retention interval grows up to the scrub period ``T`` (scrubbing
rewrites it and resets the clock), so the worst-case flip probability of a stored '1' is the
Poisson retention law ``p10(T) = 1 - exp(-T / tau)`` with ``tau = tau0 / T_wkb`` (design.md
section 1), and ``p01 = r p10``.

Search on a grid, not a bisection.  The injector draws each trial's faults afresh at each
``p`` (per-call digit count, Poisson hit counts), so the Monte Carlo accuracy curves at
different ``T`` do not share random numbers and are not nested: a bisection on them could be
steered by noise.  Instead every grid period ``T_k`` (log-spaced) is one ``nn`` task of the
campaign engine -- stored, resumable, on local processes or Dask, with progress -- asking
"is the mean accuracy above ``goal = target x clean accuracy``?" (adaptive stopping: decided
when its Student-t interval is clear of the goal, else at the trial cap).  The answer is the
longest grid period such that it and every shorter one pass (decided above, or at the cap
with a mean >= goal); its neighbour above the answer fails.  The grid spacing bounds the
answer's resolution: ``T_{k+1} / T_k``.
"""

from __future__ import annotations

import math

import numpy as np

from qtaml_hw.campaign.config import ModelTarget
from qtaml_hw.campaign.expand import real_check_bits_per_weight
from qtaml_hw.campaign.kinds import Task, make_task
from qtaml_hw.campaign.nn_kind import NN, NNTrialParams, layer_sizes
from qtaml_hw.campaign.stopping import Stopping
from qtaml_hw.errors import QtamlError
from qtaml_hw.physics import flip_probabilities, p_flip_poisson


TAU_RANGE_S = (1e-12, 1e18)  # retention times the search accepts: a picosecond to 30 billion years


def p10_poisson(t_s, *, tau_s: float):
    """``p10(t) = 1 - exp(-t / tau)`` (design.md section 1, single cell, Poisson; ``physics.p_flip_poisson``)."""
    return np.asarray(p_flip_poisson(np.asarray(t_s, dtype=np.float64), tau_s=tau_s), dtype=np.float64)


def tau_from_physics(**physics) -> float:
    """Retention time ``tau = tau0 / T_wkb`` from the PHYSICS layer's ``flip_probabilities`` (design.md section 1)."""
    res = flip_probabilities(**physics, t_s=1.0, r=1.0)
    return float(np.asarray(res["tau_s"]).ravel()[0])


def period_grid(tau_s: float, *, points: int, lo_s: float | None = None, hi_s: float | None = None) -> np.ndarray:
    """``points`` log-spaced scrub periods in ``[lo_s, hi_s]`` (default ``tau * 1e-7 .. tau * 10``)."""
    if not 1e-12 <= tau_s <= 1e18:  # a picosecond to 30 Gyr: anything else is a typo (1e-300 ran a sweep)
        raise QtamlError(f"retention time tau must be in [1e-12, 1e18] s, got {tau_s:g}")
    if points < 2:
        raise QtamlError(f"the period grid needs at least 2 points, got {points}")
    lo, hi = (lo_s or tau_s * 1e-7), (hi_s or tau_s * 10.0)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi) or hi / lo > 1e300:
        raise QtamlError(f"scrub-period range must satisfy 0 < lo < hi (finite), got {lo:g} .. {hi:g}")
    return np.geomspace(lo, hi, points)


def scrub_tasks(target: ModelTarget, *, periods, tau_s: float, r: float, protect_msb: int, goal: float,
                max_trials: int, min_trials: int = 8) -> list[Task]:
    """One ``nn`` task per grid period, asking whether the mean accuracy is above ``goal``."""
    if not 0.0 <= r <= 1.0:
        raise QtamlError(f"r must be in [0, 1], got {r}")
    step = 1.0 / target.test_subset if target.test_subset else None  # accuracy on N images moves in 1/N steps
    ask = Stopping(metric="accuracy", target=float(goal), max_trials=max_trials, min_trials=min(min_trials, max_trials),
                   resolution=step)
    sizes = layer_sizes(target)
    price = real_check_bits_per_weight("secded", [protect_msb] * len(sizes), sizes) if protect_msb else 0.0
    tasks = []
    for t in periods:
        p10 = float(p10_poisson(t, tau_s=tau_s))
        params = NNTrialParams(target=target, p10=p10, p01=r * p10,
                               fault={"scrub_period_s": float(t), "tau_s": float(tau_s), "r": float(r),
                                      "interval": "period"},
                               strategy="uniform" if protect_msb else "none", protect_msb=int(protect_msb),
                               check_bits_per_weight=price)
        tasks.append(make_task(NN, params, ask))
    return tasks


def passes(decision: dict, goal: float) -> bool:
    """Decided above the goal, or (undecided at the cap) a mean at or above it."""
    return decision["outcome"] == "above" or (decision["outcome"] in ("cap", "precise") and decision["mean"] >= goal)


def choose_period(points: list[dict], *, goal: float) -> dict:
    """The longest grid period whose accuracy, and every shorter period's, passes the goal.

    ``points``: ``{"period_s", "p10", "decision": {outcome, n, mean, lo, hi}}`` per grid period.
    """
    pts = sorted(points, key=lambda p: p["period_s"])
    ok = [passes(p["decision"], goal) for p in pts]
    if not ok[0]:
        raise QtamlError(f"the goal accuracy {goal:.4g} is not reached even when scrubbing every "
                         f"{pts[0]['period_s']:.3g} s (p10 = {pts[0]['p10']:.3g}); protect more bits")
    last = ok.index(False) - 1 if False in ok else len(pts) - 1
    best = pts[last]
    return {"status": "ok" if last < len(pts) - 1 else "no_scrub_needed_within_range",
            "scrub_period_s": best["period_s"], "p10": best["p10"], "accuracy": best["decision"]["mean"],
            "accuracy_ci95": [best["decision"]["lo"], best["decision"]["hi"]], "trials": best["decision"]["n"],
            "first_failing_period_s": pts[last + 1]["period_s"] if last + 1 < len(pts) else None,
            "undecided_points": sum(p["decision"]["outcome"] == "cap" for p in pts), "history": pts}


def clean_accuracy(target: ModelTarget) -> float:
    """Accuracy of the quantized network without faults on the target's test images."""
    probe = NNTrialParams(target=target, p10=0.0, p01=0.0, fault={}, strategy="none", protect_msb=0,
                          check_bits_per_weight=0.0)
    return NN.clean_accuracy(NN.prepare(probe))
