"""Scrub-period search: how often must memory be scrubbed to keep a target accuracy (design.md sections 1, 7).

Between two scrubs a word's retention interval grows up to the scrub period ``T``
(scrubbing rewrites it and resets the clock), so the worst-case flip probability of a
stored '1' is the Poisson retention law ``p10(T) = 1 - exp(-T / tau)`` with
``tau = tau0 / T_wkb`` (design.md section 1), and ``p01 = r p10``.  The network accuracy
under faults falls monotonically with ``p10``; :func:`find_scrub_period` bisects
``log T`` for the longest period whose Monte Carlo mean accuracy is still
``>= target * clean accuracy``.  Every evaluation uses the same seed: trial ``i`` draws the
same uniforms at every ``T`` and a bit flips iff its uniform is below ``p``, so faults are
nested as ``T`` grows (common random numbers) and the bisection sees a monotone curve.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from qtaml_hw.errors import QtamlError

log = logging.getLogger(__name__)


def p10_poisson(t_s, *, tau_s: float):
    """``p10(t) = 1 - exp(-t / tau)`` (design.md section 1, single cell, Poisson; ``physics.p_flip_poisson``)."""
    from qtaml_hw.physics import p_flip_poisson

    return np.asarray(p_flip_poisson(np.asarray(t_s, dtype=np.float64), tau_s=tau_s), dtype=np.float64)


def tau_from_physics(**physics) -> float:
    """Retention time ``tau = tau0 / T_wkb`` from the PHYSICS layer's ``flip_probabilities`` (design.md section 1)."""
    from qtaml_hw.physics import flip_probabilities

    res = flip_probabilities(**physics, t_s=1.0, r=1.0)
    return float(np.asarray(res["tau_s"]).ravel()[0])


def find_scrub_period(*, accuracy_at_p, tau_s: float, r: float, target: float, clean_accuracy: float,
                      iters: int = 14, lo_s: float | None = None, hi_s: float | None = None) -> dict:
    """Longest scrub period ``T`` with ``accuracy_at_p(p10(T), r p10(T)) >= target * clean_accuracy``.

    ``accuracy_at_p(p10, p01) -> float`` is the seeded Monte Carlo mean accuracy.  Bisection
    on ``log T`` within ``[lo_s, hi_s]`` (default ``tau * 1e-7`` .. ``tau * 10``) for ``iters``
    steps; returns the period, its flip probability and accuracy, and every point evaluated.
    """
    if not 0 < target <= 1:
        raise QtamlError(f"target must be in (0, 1], got {target}")
    if not 1e-12 <= tau_s <= 1e18:  # a picosecond to 30 Gyr; beyond, log-period bisection under/overflows
        raise QtamlError(f"retention time tau must be in [1e-12, 1e18] s, got {tau_s:g}")
    goal = target * clean_accuracy
    lo, hi = (lo_s or tau_s * 1e-7), (hi_s or tau_s * 10.0)
    history = []

    def acc(t):
        p = float(p10_poisson(t, tau_s=tau_s))
        a = float(accuracy_at_p(p, r * p))
        history.append({"period_s": t, "p10": p, "accuracy": a})
        log.info("scrub period %.4g s: p10 %.3g, accuracy %.4f (goal %.4f)", t, p, a, goal)
        return a

    if acc(lo) < goal:
        raise QtamlError(f"target {target:g} of clean accuracy is not reached even when scrubbing every "
                         f"{lo:.3g} s (p10 = {p10_poisson(lo, tau_s=tau_s):.3g}); protect more bits")
    if acc(hi) >= goal:
        status, best = "no_scrub_needed_within_range", hi
    else:
        for _ in range(iters):
            mid = math.sqrt(lo * hi)
            if acc(mid) >= goal:
                lo = mid
            else:
                hi = mid
        status, best = "ok", lo
    point = min(history, key=lambda h: abs(math.log(h["period_s"] / best)))
    return {"status": status, "scrub_period_s": best, "p10": point["p10"], "accuracy": point["accuracy"],
            "goal_accuracy": goal, "clean_accuracy": clean_accuracy, "tau_s": tau_s,
            "bracket_s": [lo, hi], "history": sorted(history, key=lambda h: h["period_s"])}
