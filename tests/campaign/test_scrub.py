"""Scrub-period bisection and the `scrub` CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qtaml_hw.campaign.scrub import find_scrub_period, p10_poisson
from qtaml_hw.errors import QtamlError


def test_p10_poisson_law():
    assert p10_poisson(0.0, tau_s=5.0) == 0.0
    np.testing.assert_allclose(p10_poisson([5.0, 10.0], tau_s=5.0), [1 - math.exp(-1), 1 - math.exp(-2)])


def test_bisection_finds_analytic_period():
    """Word-survival accuracy (1 - p)^8: the answer solves (1 - p10(T))^8 = target exactly."""
    tau, target = 100.0, 0.9

    def acc(p10, p01):
        assert p01 == pytest.approx(0.25 * p10)
        return (1.0 - p10) ** 8

    res = find_scrub_period(accuracy_at_p=acc, tau_s=tau, r=0.25, target=target, clean_accuracy=1.0, iters=40)
    exact = -tau * math.log(target ** (1 / 8))  # p10(T) = 1 - target^(1/8)
    assert res["status"] == "ok"
    assert res["scrub_period_s"] == pytest.approx(exact, rel=1e-6)
    assert res["accuracy"] >= target
    periods = [h["period_s"] for h in res["history"]]
    assert periods == sorted(periods)


def test_bisection_edges():
    with pytest.raises(QtamlError, match="not reached"):
        find_scrub_period(accuracy_at_p=lambda p, q: 0.1, tau_s=1.0, r=0, target=0.95, clean_accuracy=1.0)
    res = find_scrub_period(accuracy_at_p=lambda p, q: 1.0, tau_s=1.0, r=0, target=0.95, clean_accuracy=1.0)
    assert res["status"] == "no_scrub_needed_within_range"
    with pytest.raises(QtamlError):
        find_scrub_period(accuracy_at_p=lambda p, q: 1.0, tau_s=-1.0, r=0, target=0.95, clean_accuracy=1.0)


def test_scrub_cli_lenet5(tmp_path, cli):
    out = tmp_path / "scrub"
    args = ("scrub", "--model", "lenet5", "--target", "0.9", "--tau-s", "1000", "--trials", "3", "--iters", "3",
            "--test-subset", "100", "--seed", "1", "--json")
    code, stdout, err = cli(*args, "--out", str(out))
    assert code == 0, err
    res = json.loads(stdout)
    assert res["status"] == "ok" and res["accuracy"] >= res["goal_accuracy"]
    assert 0 < res["scrub_period_s"] < 1000
    assert (out / "scrub.png").stat().st_size > 0 and (out / "scrub.svg").exists()
    code2, stdout2, _ = cli(*args, "--ecc-plan", "uniform:3")
    assert code2 == 0
    assert json.loads(stdout2)["scrub_period_s"] > res["scrub_period_s"]  # protecting MSBs allows slower scrubbing


@pytest.mark.parametrize("extra,msg", [
    (("--ecc-plan", "secded"), "--ecc-plan"),
    (("--ecc-plan", "uniform:9"), "--ecc-plan"),
    (("--target", "1.5"), "--target"),
    (("--t-ox-nm", "2"), "exactly one"),
])
def test_scrub_cli_bad_input(tmp_path, cli, extra, msg):
    code, _, err = cli("scrub", "--model", "lenet5", "--tau-s", "10", *extra, "--out", str(tmp_path / "o"))
    assert code == 2 and msg in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_tau_from_physics_is_wkb_retention_time():
    from qtaml_hw.campaign.scrub import tau_from_physics
    from qtaml_hw.physics import retention_time

    tau = tau_from_physics(t_ox_nm=3.3, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-13)
    assert tau == pytest.approx(float(retention_time(t_ox_nm=3.3, tau0_s=1e-13)))
    assert tau_from_physics(t_ox_nm=3.4, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-13) > 2 * tau
