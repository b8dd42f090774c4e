"""Threshold crossings and bootstrap confidence intervals of the headline ratios (design.md section 3).

A strategy's *curve* is its accuracy at increasing protected-bit budgets (bits/weight actually
spent).  Its *crossing* for a target is the smallest budget from which the curve stays at or above
the target (:func:`qtaml_hw.tac.predict.crossing_budget`: the last failing point and the next one,
linearly interpolated), so a non-monotone curve is never read at a lucky point.

Criteria: ``mean`` -- the mean accuracy over trials (chips); ``p5`` -- the 5th-percentile trial
(95 % of chips reach the target).

Bootstrap (percentile, ``replicates`` draws): one replicate resamples the test images -- as
``G`` random, equal groups of images (a fixed seeded partition; groups are exchangeable, so
resampling them resamples images) -- with one draw of group weights shared by every point and by
the clean accuracy that sets the target, and resamples each point's trials independently; it
recomputes every point's accuracy, the target, both crossings and their ratio.  The interval is
the 2.5 / 97.5 % quantiles of the ratio over replicates (a replicate with no crossing counts as
an infinite budget, so an interval may be open: ``inf``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.tac.predict import crossing_budget

CRITERIA = ("mean", "p5")


@dataclass(frozen=True)
class Point:
    """One plan of a strategy: budget spent (bits/weight), its check-bit overhead, per-trial, per-image-group accuracy."""

    bpw: float
    overhead: float
    group_acc: np.ndarray  # (trials, G), accuracy of each image group in each trial

    def __post_init__(self):
        if np.ndim(self.group_acc) != 2 or np.shape(self.group_acc)[0] < 1:
            raise QtamlError("a headline point needs a (trials, groups) accuracy array with >= 1 trial")


def _stat(trial_acc: np.ndarray, criterion: str) -> np.ndarray:
    """Criterion over the trial axis (last): mean, or the 5th percentile."""
    if criterion == "mean":
        return trial_acc.mean(axis=-1)
    if criterion == "p5":
        return np.quantile(trial_acc, 0.05, axis=-1)
    raise QtamlError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")


def point_values(points, group_w: np.ndarray, criterion: str, trial_idx=None) -> np.ndarray:
    """Criterion value of each point under image-group weights ``group_w`` (G,), optional trial resampling."""
    out = []
    for j, pt in enumerate(points):
        acc = pt.group_acc if trial_idx is None else pt.group_acc[trial_idx[j]]
        out.append(_stat(acc @ group_w / group_w.sum(), criterion))
    return np.asarray(out)


def crossing(points, target: float, *, criterion: str, group_w=None, price: str = "bits") -> float:
    """Crossing budget of a strategy's points (bits/weight, or check-bit overhead with ``price="overhead"``)."""
    if not points:
        return float("inf")
    g = np.ones(points[0].group_acc.shape[1]) if group_w is None else group_w
    vals = point_values(points, g, criterion)
    x = [p.bpw if price == "bits" else p.overhead for p in points]
    return crossing_budget(x, vals, target)


def ratio(num: float, den: float) -> float:
    if not np.isfinite(num) or den <= 0:
        return float("inf") if num > 0 else float("nan")
    return float(num / den) if np.isfinite(den) else 0.0


def _replicate_values(points, w: np.ndarray, criterion: str, gen) -> np.ndarray:
    """Criterion value of every point in every replicate: (R, P); trials resampled per point and replicate."""
    out = np.empty((w.shape[0], len(points)))
    norm_w = w / w.sum(axis=1, keepdims=True)
    for j, pt in enumerate(points):
        n = pt.group_acc.shape[0]
        trial_acc = pt.group_acc @ norm_w.T  # (n, R): each trial's accuracy under each replicate's images
        idx = gen.integers(0, n, (w.shape[0], n))
        out[:, j] = _stat(np.take_along_axis(trial_acc.T, idx, axis=1), criterion)
    return out


def _crossings(x, vals: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Vectorised :func:`~qtaml_hw.tac.predict.crossing_budget` over replicates (rows of ``vals``)."""
    x = np.asarray(x, dtype=np.float64)
    fail = ~(vals >= target[:, None])
    last = np.where(fail.any(axis=1), fail.shape[1] - 1 - np.argmax(fail[:, ::-1], axis=1), -1)
    out = np.full(vals.shape[0], np.inf)
    out[last == -1] = x[0]
    mid = (last >= 0) & (last < x.size - 1)
    f = last[mid]
    v0, v1 = vals[mid, f], vals[mid, f + 1]
    frac = np.where(v1 != v0, (target[mid] - v0) / np.where(v1 != v0, v1 - v0, 1.0), 1.0)
    out[mid] = x[f] + np.clip(frac, 0.0, 1.0) * (x[f + 1] - x[f])
    return out


def bootstrap_ratio(num_points, den_points, *, clean_group_acc: np.ndarray, target_fraction: float,
                    criterion: str, price: str = "bits", replicates: int = 1000, seed: int = 0,
                    rng=None) -> tuple[float, float]:
    """Percentile 95 % interval of ``crossing(num) / crossing(den)`` (module docstring).

    ``clean_group_acc`` (G,): the clean accuracy of each image group; the target is
    ``target_fraction`` times the clean accuracy of the same resampled images.
    """
    if not num_points or not den_points:
        return float("nan"), float("nan")
    gen = rng if rng is not None else np.random.default_rng(seed)
    n_groups = clean_group_acc.size
    w = np.stack([np.bincount(gen.integers(0, n_groups, n_groups), minlength=n_groups) for _ in range(replicates)])
    w = w.astype(np.float64)
    target = target_fraction * (w @ clean_group_acc) / w.sum(axis=1)
    cross = []
    for pts in (num_points, den_points):
        x = [p.bpw if price == "bits" else p.overhead for p in pts]
        cross.append(_crossings(x, _replicate_values(pts, w, criterion, gen), target))
    num, den = cross
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.inf)
    vals = np.where(np.isnan(vals), np.inf, vals)
    lo = np.quantile(vals, 0.025, method="lower")
    hi = np.quantile(vals, 0.975, method="higher")
    return float(lo), float(hi)


def envelope_gap(tac_points, mag_points, *, max_bpw: float) -> list[dict]:
    """TAC accuracy minus magnitude's monotone envelope (best accuracy at any budget <= the same one)."""
    rows = []
    for pt in tac_points:
        if pt.bpw > max_bpw + 1e-9:
            continue
        best = max((float(p.group_acc.mean()) for p in mag_points if p.bpw <= pt.bpw + 1e-9), default=float("nan"))
        rows.append({"budget_bpw": pt.bpw, "tac_acc": float(pt.group_acc.mean()), "magnitude_envelope_acc": best,
                     "gap_pp": 100.0 * (float(pt.group_acc.mean()) - best)})
    return rows
