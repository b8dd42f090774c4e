"""Directional flips, per-bit override and the simpy scrub timeline (design.md section 1)."""

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.physics import (Schedule, directional, flip_probabilities, per_bit_override, retention_time,
                              scrub_retention, simulate)


def test_flip_probabilities_contract_and_direction():
    res = flip_probabilities(t_ox_nm=2.0, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-3, t_s=86400.0, r=0.25)
    assert set(res) == {"transmission", "tau_s", "p10", "p01"}
    assert res["p10"] == pytest.approx(-np.expm1(-86400.0 / res["tau_s"]), rel=1e-12)
    assert res["p01"] == pytest.approx(0.25 * res["p10"], rel=1e-12)
    per_bit = flip_probabilities(t_ox_nm=np.linspace(2.0, 2.7, 8), t_s=1e-4, r=0.0)
    assert per_bit["p10"].shape == (8,) and np.all(np.diff(per_bit["p10"]) < 0) and np.all(per_bit["p01"] == 0)


def test_override_and_validation():
    d = per_bit_override(0.01, bits=8, r=0.5)
    assert d["p10"].shape == (8,) and np.allclose(d["p01"], 0.005)
    arr = np.linspace(0.0, 0.1, 4)
    assert np.array_equal(per_bit_override(arr, r=1.0)["p01"], arr)
    assert directional(0.2, r=0.0) == {"p10": 0.2, "p01": 0.0}
    for bad in (lambda: per_bit_override(1.5), lambda: per_bit_override(-0.1), lambda: directional(0.1, r=1.2),
                lambda: directional(0.1, r=-0.1), lambda: per_bit_override([0.1, 0.2], bits=8),
                lambda: per_bit_override(np.zeros((2, 2))), lambda: flip_probabilities(t_ox_nm=2.0, r=2.0)):
        with pytest.raises(QtamlError):
            bad()


def test_without_scrubs_interval_grows():
    reads = np.linspace(0, 1000, 51)
    res = simulate(Schedule(n_words=5, read_times_s=reads))
    assert np.allclose(res.intervals_s, reads[:, None])
    assert res.n_scrubs == 0
    tau = retention_time(t_ox_nm=2.0)
    assert np.allclose(res.p10(tau_s=tau), -np.expm1(-reads[:, None] / tau))


@pytest.mark.parametrize("chunks", [1, 3, 8])
def test_scrub_period_bounds_interval(chunks):
    period = 7.0
    reads = np.random.default_rng(0).uniform(0, 300, 400)
    res = simulate(Schedule(n_words=8, read_times_s=reads, scrub_period_s=period, scrub_chunks=chunks))
    assert res.intervals_s.max() <= period + 1e-9
    late = res.read_times_s >= period
    # once each chunk has been scrubbed, interval = time since the last scrub of that chunk
    edges = np.linspace(0, 8, chunks + 1).round().astype(int)
    for c in range(chunks):
        offset = c * period / chunks
        t = res.read_times_s[late]
        expect = np.where(t >= offset, np.mod(t - offset, period), t)
        assert np.allclose(res.intervals_s[late][:, edges[c]:edges[c + 1]], expect[:, None], atol=1e-9)


def test_mean_interval_half_period_and_writes_reset():
    period = 10.0
    reads = np.linspace(0.0, 1000.0, 20001)[1:]
    out = scrub_retention(scrub_period_s=period, read_times_s=reads, tau_s=1e5, r=0.5)
    assert out["worst_interval_s"] <= period and out["worst_interval_s"] > 0.99 * period
    assert out["mean_interval_s"] == pytest.approx((period - 0.05) / 2, rel=1e-9)  # grid step 0.05: mean of 0..P-h
    assert out["worst_p10"] == pytest.approx(-np.expm1(-out["worst_interval_s"] / 1e5))
    assert out["mean_p01"] == pytest.approx(0.5 * out["mean_p10"])
    assert out["n_scrubs"] == 100
    none = scrub_retention(scrub_period_s=None, read_times_s=reads)
    assert none["worst_interval_s"] == pytest.approx(1000.0) and "worst_p10" not in none
    res = simulate(Schedule(n_words=2, read_times_s=[5.0, 12.0, 30.0], write_times_s=[10.0], scrub_times_s=[25.0]))
    assert np.allclose(res.intervals_s, [[5.0, 5.0], [2.0, 2.0], [5.0, 5.0]])


def test_same_time_scrub_precedes_read():
    res = simulate(Schedule(n_words=1, read_times_s=[10.0, 20.0], scrub_period_s=10.0))
    assert np.allclose(res.intervals_s, 0.0)


def test_schedule_validation():
    for kw in ({"n_words": 0, "read_times_s": [1.0]}, {"n_words": 2, "read_times_s": []},
               {"n_words": 2, "read_times_s": [-1.0]}, {"n_words": 2, "read_times_s": [1.0], "scrub_period_s": 0.0},
               {"n_words": 2, "read_times_s": [1.0], "scrub_period_s": 1.0, "scrub_chunks": 3}):
        with pytest.raises(QtamlError):
            Schedule(**kw)
