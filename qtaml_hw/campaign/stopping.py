"""Adaptive stopping: a task runs until its question is decided, as sinter does for QEC (design.md section 7).

A task's question is one of

* **target**: is the mean of ``metric`` above or below ``target``?  Decided when the Student-t
  interval ``m +- t_{(1+level)/2, K-1} sd / sqrt(K)`` (:func:`qtaml_hw.stats.mean_ci`) is clear
  of the target (``lo > target``: "above", ``hi < target``: "below");
* **tolerance**: how large is the mean, to +- ``tolerance``?  Decided when the half-width
  ``(hi - lo) / 2 <= tolerance`` ("precise");

and every task stops at ``max_trials`` ("cap").

``resolution`` is the metric's step, when it has one (accuracy on N test images moves in steps of
1/N).  The sample standard deviation is then floored at ``resolution / sqrt(12)``, the standard
deviation of a value spread evenly over one step: tied trials (two trials at 0.930) would otherwise
give a zero-width interval, a "decision" on no evidence (docs/headline.md, the test on seeds 5-9).

With neither a target nor a tolerance the task runs exactly ``max_trials`` trials (a fixed-count
run).

Decisions are taken only at fixed checkpoints of the trial count -- ``min_trials``,
``2 min_trials``, ``4 min_trials``, ... and finally ``max_trials`` -- on trials ``0 .. c-1``
in trial-index order.  Trial values depend only on (seed, task id, trial index), so the
checkpoint a task stops at, and hence the set of trials it runs, is the same for any worker
count, chunk size, completion order or number of interruptions.  Checking at doubling
counts keeps the number of looks at ``log2(max/min) + 1``; each look is a 95 % interval,
so the chance of a wrong "above"/"below" grows with the looks (at most their number times
``1 - level`` by the union bound); choose ``level`` accordingly.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.stats import mean_ci

OUTCOMES = ("above", "below", "precise", "cap")


def _positive_int(inst, attribute, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise QtamlError(f"stopping.{attribute.name}: expected a positive integer, got {value!r}")


def _finite_or_none(inst, attribute, value) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value)):
        raise QtamlError(f"stopping.{attribute.name}: expected a finite number, got {value!r}")


@attrs.frozen
class Decision:
    """The state of a task's question after ``n`` trials: ``outcome`` is None while undecided."""

    n: int
    mean: float
    lo: float
    hi: float
    outcome: str | None

    @property
    def decided(self) -> bool:
        return self.outcome is not None


@attrs.frozen
class Stopping:
    """A task's stopping question (see the module docstring); validated on construction."""

    metric: str
    max_trials: int = attrs.field(validator=_positive_int)
    target: float | None = attrs.field(default=None, validator=_finite_or_none)
    tolerance: float | None = attrs.field(default=None, validator=_finite_or_none)
    min_trials: int = attrs.field(default=8, validator=_positive_int)
    level: float = 0.95
    resolution: float | None = attrs.field(default=None, validator=_finite_or_none)

    def __attrs_post_init__(self):
        if self.tolerance is not None and self.tolerance <= 0:
            raise QtamlError(f"stopping.tolerance: must be > 0, got {self.tolerance!r}")
        if self.resolution is not None and self.resolution <= 0:
            raise QtamlError(f"stopping.resolution: must be > 0, got {self.resolution!r}")
        if not 0.0 < self.level < 1.0:
            raise QtamlError(f"stopping.level: must be in (0, 1), got {self.level!r}")
        if self.adaptive and self.min_trials < 2:
            raise QtamlError("stopping.min_trials: an interval needs at least 2 trials")

    @classmethod
    def fixed(cls, metric: str, trials: int) -> "Stopping":
        """Exactly ``trials`` trials, no early decision."""
        return cls(metric=metric, max_trials=trials)

    @property
    def adaptive(self) -> bool:
        return self.target is not None or self.tolerance is not None

    @property
    def sd_floor(self) -> float:
        """The least standard deviation a look uses: ``resolution / sqrt(12)`` (0 without a step)."""
        return 0.0 if self.resolution is None else self.resolution / math.sqrt(12.0)

    def checkpoints(self) -> tuple[int, ...]:
        """Trial counts at which the question is looked at: min, 2 min, 4 min, ... (< max), max."""
        if not self.adaptive or self.min_trials >= self.max_trials:
            return (self.max_trials,)
        out, c = [], self.min_trials
        while c < self.max_trials:
            out.append(c)
            c *= 2
        return (*out, self.max_trials)

    def decide(self, values) -> Decision:
        """The decision on exactly these trial values (trials ``0 .. n-1`` in index order)."""
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            raise QtamlError("stopping: no trial values to decide on")
        m, lo, hi = mean_ci(v, level=self.level, sd_floor=self.sd_floor)
        outcome = None
        if self.target is not None and v.size >= 2 and lo > self.target:
            outcome = "above"
        elif self.target is not None and v.size >= 2 and hi < self.target:
            outcome = "below"
        elif self.tolerance is not None and v.size >= 2 and (hi - lo) / 2.0 <= self.tolerance:
            outcome = "precise"
        elif v.size >= self.max_trials:
            outcome = "cap"
        return Decision(int(v.size), m, lo, hi, outcome)

    def next_checkpoint(self, n: int) -> int | None:
        """The first checkpoint above ``n`` trials (None when ``n >= max_trials``)."""
        return next((c for c in self.checkpoints() if c > n), None)

    def settle(self, values) -> tuple[Decision | None, int | None]:
        """Walk the checkpoints over a contiguous prefix of trial values.

        Returns ``(decision, None)`` at the first checkpoint that decides, or
        ``(last decision or None, next checkpoint to reach)`` when the prefix is too short.
        """
        v = np.asarray(values, dtype=np.float64).ravel()
        last = None
        for c in self.checkpoints():
            if v.size < c:
                return last, c
            last = self.decide(v[:c])
            if last.decided:
                return last, None
        return last, None  # pragma: no cover - the last checkpoint always decides ("cap")
