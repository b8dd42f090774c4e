"""Headline v2: bootstrap CI coverage on a synthetic case with a known ratio; a SIGKILLed run resumes; the
`headline --quick --json` interface."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from qtaml_hw.campaign.headline_stats import Point, bootstrap_ratio, crossing, envelope_gap
from qtaml_hw.campaign.store import ResultStore
from qtaml_hw.errors import QtamlError

G = 20


def _synthetic(gen, slope, budgets, trials=12):
    """Accuracy = 0.5 + slope * b + trial effect + image-group effect (a fresh test set and chips per call)."""
    group_eff = gen.normal(0, 0.03, G)
    pts = []
    for b in budgets:
        trial_eff = gen.normal(0, 0.02, (trials, 1))
        pts.append(Point(float(b), float(b), 0.5 + slope * b + trial_eff + group_eff[None, :]
                         + gen.normal(0, 0.01, (trials, G))))
    return pts, group_eff


def test_bootstrap_ci_covers_known_ratio():
    """True crossings: Uniform 0.45/0.25 = 1.8, TAC 0.45/0.75 = 0.6, ratio 3; the 95% CI covers it ~95% of the time."""
    gen = np.random.default_rng(11)
    hits, reps = 0, 120
    for _ in range(reps):
        u, eff_u = _synthetic(gen, 0.25, [1.0, 1.5, 2.0, 2.5])
        t, _ = _synthetic(gen, 0.75, [0.25, 0.5, 0.75, 1.0])
        # clean accuracy 1 - a group effect of zero mean: target 0.95 x clean, clean ~ 1
        lo, hi = bootstrap_ratio(u, t, clean_group_acc=np.ones(G), target_fraction=0.95, criterion="mean",
                                 replicates=300, rng=gen)
        hits += lo <= 3.0 <= hi
    assert 0.88 <= hits / reps <= 1.0, hits / reps
    # and the point estimate is the interpolated crossing
    pts = [Point(0.0, 0.0, np.full((3, G), 0.5)), Point(1.0, 1.0, np.full((3, G), 1.0))]
    assert crossing(pts, 0.95, criterion="mean") == pytest.approx(0.9)
    assert crossing(pts, 0.95, criterion="p5") == pytest.approx(0.9)


def test_envelope_gap_uses_best_magnitude_so_far():
    mag = [Point(0.0, 0, np.full((2, G), 0.2)), Point(0.5, 0, np.full((2, G), 0.6)), Point(1.0, 0, np.full((2, G), 0.3))]
    tac = [Point(1.0, 0, np.full((2, G), 0.9))]
    assert envelope_gap(tac, mag, max_bpw=1.25)[0]["gap_pp"] == pytest.approx(30.0)  # vs 0.6, not the dip 0.3


def test_point_validation():
    with pytest.raises(QtamlError):
        Point(0.0, 0.0, np.zeros(3))


SMALL = ["headline", "--quick", "--conditions", "symmetric", "--max-bpw", "1.0", "--test-subset", "40",
         "--replicates", "20", "--predict-samples", "16", "--predict-draws", "2", "--calib-samples", "16",
         "--no-progress", "--seed", "3"]


def _stored(path) -> int:
    try:
        with ResultStore.open(path) as store:
            return store.count()
    except QtamlError:
        return 0


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkilled_headline_resumes(tmp_path):
    out = tmp_path / "hl"
    cmd = [sys.executable, "-c", "import sys; from qtaml_hw.cli import main; sys.exit(main(sys.argv[1:]))",
           *SMALL, "--out", str(out)]
    store = out / "headline.sqlite"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while _stored(store) < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _stored(store)
    assert killed_at >= 8
    res = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=200)
    assert res.returncode == 0, res.stderr
    doc = json.loads((out / "headline.json").read_text())
    first = doc["runs"][0]
    assert first["trials_stored_before"] == killed_at  # resumed where it stopped: nothing lost
    assert first["trials_stored_before"] + first["trials_run"] == first["trials_total"]  # nothing run twice
    with ResultStore.open(store) as st:
        for t in st.tasks():
            idx, _ = st.trials(t["task_id"])
            assert np.array_equal(idx, np.arange(idx.size))  # each task's trials 0..n-1, none twice
    row = json.loads(res.stdout)["rows"][0]
    assert {"model", "condition", "ratio_bits", "ratio_bits_ci95", "rho_star_predicted", "rho_star_measured"} <= set(row)


@pytest.mark.slow
def test_headline_quick_json_interface(cli, tmp_path):
    code, out, _ = cli(*SMALL[:-2], "--conditions", "symmetric", "directional", "--out", str(tmp_path / "q"),
                       "--json")
    assert code == 0
    doc = json.loads(out)
    assert [(r["model"], r["condition"]) for r in doc["rows"]] == [("lenet5", "symmetric"), ("lenet5", "directional")]
    for r in doc["rows"]:
        lo, hi = r["ratio_bits_ci95"]
        assert r["ratio_bits"] == r["rho_star_measured"]
        if isinstance(r["ratio_bits"], float):
            assert lo <= r["ratio_bits"] <= hi or hi == "inf"
        assert r["p01"] == pytest.approx(r["p10"] * (1.0 if r["condition"] == "symmetric" else 0.1))
    assert (tmp_path / "q" / "headline.md").read_text().startswith("| model")


@pytest.mark.parametrize("argv", [["--models", "nosuch"], ["--strategies", "foo"], ["--test-subset", "30"],
                                  ["--conditions", "sideways"]])
def test_headline_bad_input_one_line(cli, tmp_path, argv):
    code, _, err = cli("headline", "--quick", *argv, "--out", str(tmp_path / "o"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


class _FakeSetup:
    """A plan is its budget; the predicted keep rate rises linearly to 1 at 4 bits/weight."""

    class _Spent:
        @staticmethod
        def spent_bpw(m):
            return float(m)

    ga = {"plain": _Spent()}

    def plan(self, strategy, budget_bpw):
        return budget_bpw

    def predicted_keep(self, strategy, m, *, variant, seed):
        return min(1.0, 0.25 * float(m))


def test_predicted_curve_goes_past_the_swept_range():
    """The MC sweeps to 3 bits/weight; the prediction still finds the crossing at 0.95 x 4 = 3.8."""
    from qtaml_hw.campaign.headline import HeadlineConfig, predicted_crossing

    cfg = HeadlineConfig(models=("lenet5",), max_bpw=3.0, coarse_bpw=0.5, fine_bpw=0.1)
    cross, pts = predicted_crossing(_FakeSetup(), "uniform", cfg, variant="finite", seed=0)
    assert cross == pytest.approx(3.8)
    assert max(p[0] for p in pts) == pytest.approx(4.0)  # stopped at the first passing coarse point, not at 8
