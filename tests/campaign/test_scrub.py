"""Scrub-period exploration: a grid of engine tasks (not a bisection), its answer rule, and the `scrub` CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qtaml_hw.campaign.config import ModelTarget
from qtaml_hw.campaign.scrub import choose_period, p10_poisson, period_grid, scrub_tasks
from qtaml_hw.errors import QtamlError


def test_p10_poisson_law():
    assert p10_poisson(0.0, tau_s=5.0) == 0.0
    np.testing.assert_allclose(p10_poisson([5.0, 10.0], tau_s=5.0), [1 - math.exp(-1), 1 - math.exp(-2)])


def _points(periods, tau, acc, half=0.0):
    """Grid points whose decisions come from an exact accuracy curve (interval +- half)."""
    pts = []
    for t in periods:
        p = float(p10_poisson(t, tau_s=tau))
        a = acc(p)
        pts.append({"period_s": float(t), "p10": p, "decision": {"outcome": None, "n": 8, "mean": a,
                                                                  "lo": a - half, "hi": a + half}})
    return pts


def _decide(pts, goal):
    for p in pts:
        d = p["decision"]
        d["outcome"] = "above" if d["lo"] > goal else "below" if d["hi"] < goal else "cap"
    return pts


def test_grid_answer_brackets_the_analytic_period():
    """Word-survival accuracy (1 - p)^8: the answer is the last grid period at or below the exact one."""
    tau, goal = 100.0, 0.9
    exact = -tau * math.log(goal ** (1 / 8))  # p10(T) = 1 - goal^(1/8)
    grid = period_grid(tau, points=40)
    res = choose_period(_decide(_points(grid, tau, lambda p: (1 - p) ** 8, half=1e-9), goal), goal=goal)
    assert res["status"] == "ok"
    assert res["scrub_period_s"] <= exact < res["first_failing_period_s"]
    assert res["first_failing_period_s"] / res["scrub_period_s"] == pytest.approx(grid[1] / grid[0])
    assert res["accuracy"] >= goal and res["undecided_points"] == 0


def test_undecided_points_pass_on_their_mean_and_edges():
    tau, goal = 100.0, 0.9
    grid = period_grid(tau, points=10)
    wide = _decide(_points(grid, tau, lambda p: (1 - p) ** 8, half=1.0), goal)  # every interval straddles the goal
    res = choose_period(wide, goal=goal)
    assert res["undecided_points"] == 10
    assert res["accuracy"] >= goal and res["first_failing_period_s"] is not None
    with pytest.raises(QtamlError, match="not reached"):
        choose_period(_decide(_points(grid, tau, lambda p: 0.1), goal), goal=goal)
    assert choose_period(_decide(_points(grid, tau, lambda p: 1.0), goal), goal=goal)["status"] == \
        "no_scrub_needed_within_range"
    for bad in (dict(tau_s=-1.0, points=4), dict(tau_s=1e-300, points=4), dict(tau_s=1.0, points=1),
                dict(tau_s=1.0, points=4, lo_s=5.0, hi_s=1.0)):
        with pytest.raises(QtamlError):
            period_grid(**bad)


def test_scrub_tasks_are_nn_tasks_asking_about_the_goal():
    target = ModelTarget(name="lenet5", test_subset=50)
    tasks = scrub_tasks(target, periods=[1.0, 10.0], tau_s=100.0, r=0.5, protect_msb=2, goal=0.9, max_trials=32)
    assert [t.kind for t in tasks] == ["nn", "nn"] and tasks[0].id != tasks[1].id
    assert tasks[1].params.p10 == pytest.approx(1 - math.exp(-0.1)) and tasks[1].params.p01 == 0.5 * tasks[1].params.p10
    assert tasks[0].stopping.target == 0.9 and tasks[0].stopping.max_trials == 32
    assert tasks[0].params.check_bits_per_weight == pytest.approx(6 / 8, rel=1e-2)  # SECDED over 2 planes


@pytest.mark.integration
def test_scrub_cli_lenet5_resumes_from_its_store(tmp_path, cli):
    out, store = tmp_path / "scrub", tmp_path / "scrub.sqlite"
    args = ("scrub", "--model", "lenet5", "--target", "0.9", "--tau-s", "1000", "--trials", "8", "--points", "4",
            "--test-subset", "100", "--seed", "1", "--no-progress", "--json", "--store", str(store))
    code, stdout, err = cli(*args, "--out", str(out))
    assert code == 0, err
    res = json.loads(stdout)
    assert res["status"] == "ok" and res["accuracy"] >= res["goal_accuracy"]
    assert 0 < res["scrub_period_s"] < res["first_failing_period_s"] <= 10000
    assert (out / "scrub.png").stat().st_size > 0 and (out / "scrub.svg").exists()
    assert json.loads((out / "scrub.json").read_text())["scrub_period_s"] == res["scrub_period_s"]
    code, stdout2, _ = cli(*args)
    again = json.loads(stdout2)
    assert code == 0 and again["trials_run"] == 0 and again["scrub_period_s"] == res["scrub_period_s"]
    code, stdout3, _ = cli(*args[:-2], "--ecc-plan", "uniform:4")
    assert code == 0
    assert json.loads(stdout3)["scrub_period_s"] > res["scrub_period_s"]  # protecting MSBs allows slower scrubbing


@pytest.mark.parametrize("extra,msg", [
    (("--ecc-plan", "secded"), "--ecc-plan"),
    (("--ecc-plan", "uniform:9"), "--ecc-plan"),
    (("--target", "1.5"), "--target"),
    (("--t-ox-nm", "2"), "exactly one"),
    (("--bits", "40"), "--bits"),
    (("--points", "1"), "--points"),
    (("--lo-s", "5", "--hi-s", "1"), "scrub-period range"),
])
def test_scrub_cli_bad_input(tmp_path, cli, extra, msg):
    code, _, err = cli("scrub", "--model", "lenet5", "--tau-s", "10", *extra, "--out", str(tmp_path / "o"))
    assert code == 2 and msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_tau_from_physics_is_wkb_retention_time():
    from qtaml_hw.campaign.scrub import tau_from_physics
    from qtaml_hw.physics import retention_time

    tau = tau_from_physics(t_ox_nm=3.3, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-13)
    assert tau == pytest.approx(float(retention_time(t_ox_nm=3.3, tau0_s=1e-13)))
    assert tau_from_physics(t_ox_nm=3.4, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-13) > 2 * tau
