"""The one Student-t interval (qtaml_hw.stats), checked against textbook values."""

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.stats import mean_ci, t_interval


def test_mean_ci_matches_t_table():
    v = np.array([0.9, 0.8, 0.85, 0.95, 0.7])
    m, lo, hi = mean_ci(v)
    half = 2.7764451051977987 * v.std(ddof=1) / np.sqrt(5)  # t_{0.975, 4} from a t table
    assert (m, lo, hi) == pytest.approx((0.84, 0.84 - half, 0.84 + half), rel=1e-12)
    assert t_interval(v) == pytest.approx((lo, hi), rel=1e-15)
    m90, lo90, hi90 = mean_ci(v, level=0.90)
    assert lo < lo90 < m90 < hi90 < hi  # a lower level gives a narrower interval
    assert hi90 - m90 == pytest.approx(2.131846786326649 * v.std(ddof=1) / np.sqrt(5), rel=1e-12)


def test_degenerate_and_bad_inputs():
    assert mean_ci([0.5]) == (0.5, 0.5, 0.5)
    assert t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    for bad in (lambda: mean_ci([]), lambda: mean_ci([1.0, 2.0], level=1.0), lambda: t_interval([1.0], level=0)):
        with pytest.raises(QtamlError):
            bad()


def test_coverage_is_nominal():
    """Over 4000 seeded normal samples of size 6 the 95 % interval covers the mean 95 +- 1.4 % (4 SE)."""
    g = np.random.default_rng(11)
    hits = sum(lo <= 1.0 <= hi for lo, hi in (t_interval(g.normal(1.0, 2.0, 6)) for _ in range(4000)))
    assert abs(hits / 4000 - 0.95) < 4 * np.sqrt(0.95 * 0.05 / 4000)
