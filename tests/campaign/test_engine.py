"""The engine: task kinds, adaptive stopping (deterministic, resumable), store lock, Dask options."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import attrs
import numpy as np
import pytest

from qtaml_hw.campaign import (ResultStore, Stopping, expand_tasks, get_kind, load_config, make_task, parse_config,
                               run_campaign, run_tasks)
from qtaml_hw.campaign.coin import CoinParams
from qtaml_hw.campaign.engine import _Inline, run_loop
from qtaml_hw.campaign.lock import StoreLock
from qtaml_hw.campaign.progress import Progress
from qtaml_hw.errors import QtamlError

CLI = [sys.executable, "-c", "import sys; from qtaml_hw.cli import main; sys.exit(main(sys.argv[1:]))"]

from campaign_configs import ADAPTIVE_TOML  # noqa: E402  (tests/campaign is on sys.path)


def stored(path) -> dict:
    with ResultStore.open(path) as store:
        return {t["task_id"]: store.trials(t["task_id"]) for t in store.tasks()}


def same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k][0], b[k][0])
        for name in a[k][1]:
            np.testing.assert_array_equal(a[k][1][name], b[k][1][name])


def coin_tasks(cap=512, **kw):
    ask = Stopping(metric="heads", target=0.5, max_trials=cap, **kw)
    return [make_task("coin", CoinParams(p), ask) for p in (0.05, 0.45, 0.5, 0.9)]


# -- stopping rule --------------------------------------------------------------------------------

def test_checkpoints_double_and_end_at_the_cap():
    assert Stopping(metric="x", target=0.0, max_trials=100).checkpoints() == (8, 16, 32, 64, 100)
    assert Stopping(metric="x", tolerance=0.1, max_trials=64, min_trials=4).checkpoints() == (4, 8, 16, 32, 64)
    assert Stopping.fixed("x", 40).checkpoints() == (40,)  # no question: a fixed-count run
    with pytest.raises(QtamlError, match="stopping.tolerance"):
        Stopping(metric="x", tolerance=-1.0, max_trials=8)
    with pytest.raises(QtamlError, match="stopping.max_trials"):
        Stopping(metric="x", max_trials=0)


def test_decide_target_tolerance_and_cap():
    rule = Stopping(metric="x", target=0.5, max_trials=64)
    assert rule.decide([0.9, 1.0, 0.95, 0.92]).outcome == "above"
    assert rule.decide([0.1, 0.0, 0.05, 0.02]).outcome == "below"
    assert rule.decide([0.0, 1.0, 0.0, 1.0]).outcome is None  # interval straddles 0.5
    assert rule.decide([0.0, 1.0] * 32).outcome == "cap"
    precise = Stopping(metric="x", tolerance=0.01, max_trials=64)
    assert precise.decide([1.0, 1.001, 0.999, 1.0]).outcome == "precise"
    d = precise.decide([0.0, 1.0, 0.0, 1.0])
    assert d.outcome is None and d.hi - d.lo > 0.02


def test_resolution_floors_the_spread_so_tied_trials_decide_nothing():
    """Two trials tied at 0.930 (accuracy on 200 images, steps of 0.005) against a 0.931 target:
    without a step the interval has zero width and reads "below" (the defect seen on seed 6,
    docs/headline.md); with ``resolution`` = 1/200 the spread is floored at 0.005 / sqrt(12)."""
    bare = Stopping(metric="accuracy", target=0.931, max_trials=32, min_trials=2)
    assert bare.decide([0.93, 0.93]).outcome == "below"
    stepped = attrs.evolve(bare, resolution=1 / 200)
    d = stepped.decide([0.93, 0.93])
    half = 12.706204736 * (0.005 / 12 ** 0.5) / 2 ** 0.5  # t_{0.975, 1} x floor / sqrt(2)
    assert d.outcome is None and d.hi - d.mean == pytest.approx(half, rel=1e-6)
    assert stepped.decide([0.10, 0.10]).outcome == "below"  # far from the target the floor does not matter
    assert stepped.decide([0.95, 0.90, 0.93, 0.96]) == bare.decide([0.95, 0.90, 0.93, 0.96])  # spread > floor
    with pytest.raises(QtamlError, match="stopping.resolution"):
        Stopping(metric="x", target=0.5, max_trials=8, resolution=0.0)


def test_campaign_config_passes_resolution_to_every_task():
    import tomllib

    doc = tomllib.loads(ADAPTIVE_TOML.format(cap=64, batch=8))
    doc["stopping"]["resolution"] = 0.01
    (stop,) = {t.stopping for t in expand_tasks(parse_config(doc))}
    assert stop.resolution == 0.01 and stop.sd_floor == pytest.approx(0.01 / 12 ** 0.5)
    doc["stopping"]["resolution"] = -1
    with pytest.raises(QtamlError, match="stopping.resolution"):
        parse_config(doc)


# -- a task of known answer: stops early or late as it should ----------------------------------

def test_coin_tasks_stop_early_when_obvious_and_late_when_not(tmp_path):
    tasks = coin_tasks()
    s = run_tasks(tasks, seed=3, out=tmp_path / "c.sqlite", name="coin", workers=0, batch_trials=16, progress=False)
    dec = {t.params.p_heads: s["decisions"][t.id] for t in tasks}
    assert dec[0.05]["outcome"] == "below" and dec[0.05]["n"] == 8
    assert dec[0.9]["outcome"] == "above" and dec[0.9]["n"] <= 16
    assert dec[0.5]["outcome"] == "cap" and dec[0.5]["n"] == 512  # a fair coin never leaves 0.5
    assert dec[0.45]["n"] > dec[0.05]["n"]  # close to the target: more trials
    assert s["trials_run"] == sum(d["n"] for d in dec.values()) < 4 * 512
    got = stored(tmp_path / "c.sqlite")
    for t in tasks:  # exactly the trials 0 .. n-1 of the decided checkpoint, nothing beyond
        np.testing.assert_array_equal(got[t.id][0], np.arange(s["decisions"][t.id]["n"]))


@pytest.mark.integration
def test_decisions_and_trials_do_not_depend_on_workers_or_batching(tmp_path):
    tasks = coin_tasks(cap=256)
    ref = run_tasks(tasks, seed=5, out=tmp_path / "ref.sqlite", name="c", workers=0, batch_trials=16,
                    progress=False)
    for workers, batch in ((0, 3), (2, 5)):
        out = tmp_path / f"w{workers}b{batch}.sqlite"
        got = run_tasks(tasks, seed=5, out=out, name="c", workers=workers, batch_trials=batch, progress=False)
        assert got["decisions"] == ref["decisions"], (workers, batch)
        same(stored(tmp_path / "ref.sqlite"), stored(out))


def test_interrupted_adaptive_run_resumes_to_the_same_stopping_points(tmp_path):
    cfg = parse_config(__import__("tomllib").loads(ADAPTIVE_TOML.format(cap=128, batch=4)))
    ref = run_campaign(cfg, out=tmp_path / "ref.sqlite", workers=0, progress=False)
    assert ref["early_stops"] == 3 and ref["trials_total"] < 4 * 128
    part = tmp_path / "part.sqlite"
    for n in (1, 3, 5):  # stop after a few chunks, several times, then finish
        run_campaign(cfg, out=part, workers=0, progress=False, max_chunks=n)
    final = run_campaign(cfg, out=part, workers=0, progress=False)
    assert final["decisions"] == ref["decisions"]
    same(stored(tmp_path / "ref.sqlite"), stored(part))


@pytest.mark.integration
@pytest.mark.timeout(400)  # generous: CLI starts are slow on a loaded 2-core machine
def test_sigkill_during_an_adaptive_run_resumes_to_the_same_stopping_points(tmp_path):
    cfg_path = tmp_path / "a.toml"
    cfg_path.write_text(ADAPTIVE_TOML.format(cap=400, batch=2))
    ref = run_campaign(load_config(cfg_path), out=tmp_path / "ref.sqlite", workers=0, progress=False)
    out = tmp_path / "k.sqlite"
    cmd = CLI + ["campaign", "run", str(cfg_path), "--out", str(out), "--workers", "0", "--no-progress"]

    def count() -> int:
        try:
            with ResultStore.open(out) as store:
                return store.count()
        except QtamlError:
            return 0

    counts = []
    for delay in (0.05, 0.3):
        before = count()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 150
        while count() <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(count())
    assert counts == sorted(counts) and any(0 < c < ref["trials_total"] for c in counts), counts
    res = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["decisions"] == ref["decisions"]
    same(stored(tmp_path / "ref.sqlite"), stored(out))


def test_fixed_count_without_a_question_and_raising_the_cap_adds_trials(tmp_path):
    tasks = [make_task("coin", CoinParams(0.3), Stopping.fixed("heads", 20))]
    out = tmp_path / "f.sqlite"
    assert run_tasks(tasks, seed=1, out=out, name="f", workers=0, progress=False)["trials_run"] == 20
    more = [make_task("coin", CoinParams(0.3), Stopping.fixed("heads", 30))]
    assert more[0].id == tasks[0].id  # the stopping question is not part of the task
    assert run_tasks(more, seed=1, out=out, name="f", workers=0, progress=False)["trials_run"] == 10


# -- task kinds: registry and typed parameters ---------------------------------------------------

def test_registry_and_typed_parameters():
    assert get_kind("memory").metrics == ("mse", "mean_error") and get_kind("coin").name == "coin"
    with pytest.raises(QtamlError, match="unknown task kind"):
        get_kind("nope")
    with pytest.raises(QtamlError, match="coin.p_heads"):
        CoinParams(1.5)
    with pytest.raises(QtamlError, match="takes MemoryTrialParams parameters, got CoinParams"):
        make_task("memory", CoinParams(0.5), Stopping.fixed("mse", 4))
    with pytest.raises(QtamlError, match="not a metric"):
        make_task("coin", CoinParams(0.5), Stopping.fixed("mse", 4))
    a, b = make_task("coin", CoinParams(0.5), Stopping.fixed("heads", 4)), make_task("coin", CoinParams(0.25),
                                                                                      Stopping.fixed("heads", 4))
    assert a.params_dict() == {"kind": "coin", "p_heads": 0.5} and a.id != b.id


def test_config_canonical_hash_ignores_budget_and_placement():
    base = __import__("tomllib").loads(ADAPTIVE_TOML.format(cap=64, batch=8))
    h = parse_config(base).canonical_hash()
    moved = {**base, "campaign": {**base["campaign"], "name": "x", "trials": 999, "batch_trials": 3},
             "stopping": {"tolerance": 0.1}, "dask": {"cluster": "local", "jobs": 2}}
    assert parse_config(moved).canonical_hash() == h
    reseeded = {**base, "campaign": {**base["campaign"], "seed": 8}}
    assert parse_config(reseeded).canonical_hash() != h
    assert len(h) == 64


def test_memory_tasks_carry_the_config_stopping_question():
    cfg = parse_config(__import__("tomllib").loads(ADAPTIVE_TOML.format(cap=64, batch=8)))
    (stop,) = {t.stopping for t in expand_tasks(cfg)}
    assert stop == Stopping(metric="mse", target=0.245, max_trials=64)


# -- executors: bounded in flight --------------------------------------------------------------------

class _Counting(_Inline):
    """The in-process executor, holding results back to see how many submissions pile up."""

    slots, bundle_max = 3, 4

    def __init__(self):
        self.held, self.peak, self.sizes = [], 0, []

    def submit(self, specs):
        self.sizes.append(len(specs))
        fut = super().submit(specs)
        self.held.append(fut)
        self.peak = max(self.peak, len(self.held))
        return fut

    def wait(self, running):
        done = self.held.pop(0)
        return {done}, set(running) - {done}


def test_bounded_in_flight_and_bundling(tmp_path):
    tasks = [make_task("coin", CoinParams(p), Stopping.fixed("heads", 64)) for p in (0.1, 0.2)]
    ex = _Counting()
    with ResultStore.create(tmp_path / "b.sqlite", seed=0, name="b", kind="coin") as store:
        store.add_tasks([type("T", (), {"id": t.id, "params": t.params_dict()}) for t in tasks])
        added, _ = run_loop(store, tasks, seed=0, executor=ex, batch_trials=2, bar=Progress(total=128, enabled=False))
    assert added == 128 and ex.peak <= ex.slots
    assert max(ex.sizes) == ex.bundle_max and sum(ex.sizes) == 64  # small chunks travel in bundles


# -- one writer per store ---------------------------------------------------------------------------

@pytest.mark.integration
def test_second_run_on_a_locked_store_is_refused_with_one_line(tmp_path):
    cfg_path = tmp_path / "a.toml"
    cfg_path.write_text(ADAPTIVE_TOML.format(cap=16, batch=4))
    out = tmp_path / "l.sqlite"
    with StoreLock(out):  # as a running `campaign run` holds it
        res = subprocess.run(CLI + ["campaign", "run", str(cfg_path), "--out", str(out), "--workers", "0",
                                    "--no-progress"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "another `campaign run`" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not out.exists()
    assert run_campaign(load_config(cfg_path), out=out, workers=0, progress=False)["trials_run"] > 0
    assert not (tmp_path / "l.sqlite.lock").exists()  # released and removed


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_second_concurrent_run_is_refused_while_the_first_runs(tmp_path):
    cfg_path = tmp_path / "a.toml"
    cfg_path.write_text(ADAPTIVE_TOML.format(cap=100000, batch=1))  # the first run lasts long enough
    out = tmp_path / "c.sqlite"
    cmd = CLI + ["campaign", "run", str(cfg_path), "--out", str(out), "--workers", "0", "--no-progress"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "c.sqlite.lock").exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        assert first.poll() is None, "the first run should still be running"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.returncode == 2 and f"pid {first.pid}" in second.stderr, second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


# -- Dask options: configs never load code -------------------------------------------------------------

INJECT = [
    ('cluster = "local"\n[dask.cluster_options]\npreload = ["evil.py"]', "dask.cluster_options.preload"),
    ('cluster = "slurm"\n[dask.cluster_options]\njob_script_prologue = ["curl x | sh"]',
     "dask.cluster_options.job_script_prologue"),
    ('cluster = "lsf"\n[dask.cluster_options]\njob_extra_directives = ["-E rm"]',
     "dask.cluster_options.job_extra_directives"),
    ('cluster = "slurm"\n[dask.cluster_options]\nworker_extra_args = ["--preload", "evil"]',
     "dask.cluster_options.worker_extra_args"),
    ('cluster = "slurm"\n[dask.cluster_options]\npython = "/tmp/evil"', "dask.cluster_options.python"),
    ('cluster = "local"\n[dask.cluster_options]\nnot_an_option = 1', "dask.cluster_options.not_an_option"),
    ('cluster = "slurm"\n[dask.cluster_options]\ncores = "many"', "dask.cluster_options.cores"),
    ('address = "not a url"', "dask.address"),
]


@pytest.mark.parametrize("dask, key", INJECT)
def test_config_code_injection_refused_exit2_one_line(tmp_path, cli, dask, key):
    path = tmp_path / "evil.toml"
    path.write_text(ADAPTIVE_TOML.format(cap=4, batch=4) + "\n[dask]\n" + dask + "\n")
    out = tmp_path / "e.sqlite"
    code, _, err = cli("campaign", "run", str(path), "--out", str(out), "--no-progress")
    assert code == 2 and key in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "e.sqlite.lock").exists()


def test_code_options_only_from_the_command_line_with_the_flag(tmp_path, cli):
    path = tmp_path / "s.toml"
    path.write_text(ADAPTIVE_TOML.format(cap=4, batch=4) + '\n[dask]\ncluster = "slurm"\n[dask.cluster_options]\n'
                    'cores = 4\nmemory = "8GB"\n')
    cfg = load_config(path)
    assert dict(cfg.dask.cluster_options) == {"cores": 4, "memory": "8GB"}
    with pytest.raises(QtamlError, match="--dask-option.job_script_prologue"):
        cfg.dask.with_cli_options(['job_script_prologue=["module load x"]'], allow_code=False)
    ok = cfg.dask.with_cli_options(['job_script_prologue=["module load x"]', "queue=short"], allow_code=True)
    assert dict(ok.cluster_options)["job_script_prologue"] == ["module load x"]
    assert dict(ok.cluster_options)["queue"] == "short"
    code, _, err = cli("campaign", "run", str(path), "--out", str(tmp_path / "x.sqlite"), "--dask-option",
                       "preload=evil.py", "--no-progress")
    assert code == 2 and "--allow-dask-code" in err and not (tmp_path / "x.sqlite").exists()
    code, _, err = cli("campaign", "run", str(path), "--out", str(tmp_path / "y.sqlite"), "--dask", "not a url")
    assert code == 2 and "not a Dask scheduler address" in err and not (tmp_path / "y.sqlite").exists()
