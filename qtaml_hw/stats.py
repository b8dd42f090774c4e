"""Small statistics shared by every layer: the one Student-t confidence interval of a mean.

For K samples with mean ``m`` and sample standard deviation ``sd`` (ddof 1), the two-sided
interval at confidence ``level`` is ``m +- t_{(1 + level)/2, K-1} sd / sqrt(K)`` (quantile
from :func:`scipy.special.stdtrit`, the function behind ``scipy.stats.t.ppf``). One sample
gives the degenerate interval ``(m, m)``. Used for every mean reported with a CI (campaign
tables, fault-injection accuracy; design.md section 7).
"""

from __future__ import annotations

import numpy as np
from scipy.special import stdtrit  # the t quantile scipy.stats.t.ppf evaluates; no 4 s scipy.stats import

from qtaml_hw.errors import QtamlError


def mean_ci(values, *, level: float = 0.95, sd_floor: float = 0.0) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: Student-t interval of the mean of ``values`` at confidence ``level``.

    ``sd_floor``: the sample standard deviation used is at least this (a metric that moves in
    steps cannot show less spread than its step allows; see :class:`qtaml_hw.campaign.stopping.Stopping`)."""
    if not 0.0 < level < 1.0:
        raise QtamlError(f"confidence level must be in (0, 1), got {level!r}")
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise QtamlError("a confidence interval needs at least one value")
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    half = float(stdtrit(v.size - 1, 0.5 + level / 2.0) * max(float(v.std(ddof=1)), sd_floor) / np.sqrt(v.size))
    return m, m - half, m + half


def t_interval(values, *, level: float = 0.95) -> tuple[float, float]:
    """``(lo, hi)`` of :func:`mean_ci`."""
    _, lo, hi = mean_ci(values, level=level)
    return lo, hi
