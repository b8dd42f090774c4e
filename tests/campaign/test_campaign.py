"""Campaign engine: config validation, stable ids, worker/order invariance, Dask, resumption, reports."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qtaml_hw.campaign import (SCHEMA_VERSION, ResultStore, execute_chunk, expand_tasks, load_config, parse_config, run_campaign,
                               task_id, write_report)
from qtaml_hw.errors import QtamlError

from campaign_configs import MEMORY_TOML  # noqa: E402  (tests/campaign is on sys.path)


def write_cfg(tmp_path, trials=40, batch=8, name="cfg.toml", text=None) -> Path:
    path = tmp_path / name
    path.write_text(text if text is not None else MEMORY_TOML.format(trials=trials, batch=batch))
    return path


def all_trials(path) -> dict:
    """task id -> (trial indices, mse values) from a store."""
    with ResultStore.open(path) as store:
        return {t["task_id"]: store.trials(t["task_id"]) for t in store.tasks()}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k][0], b[k][0])
        for name in a[k][1]:
            np.testing.assert_array_equal(a[k][1][name], b[k][1][name])


# -- configuration ---------------------------------------------------------------------------

BAD = [
    ("trials = 40", "trials = -1", "campaign.trials"),
    ("trials = 40", "trials = \"many\"", "campaign.trials"),
    ("bits = 8", "bits = 40", "memory.bits"),
    ("bits = 8", "bits = 8\ncode = \"gray\"", "memory.code"),
    ("p_flip = [0.02, 0.1]", "p_flip = [0.02, 1.5]", "faults.p_flip"),
    ("r = 0.5", "r = 2.0", "faults.r"),
    ("protect_msb = [0, 2]", "protect_msb = [0, 9]", "plans.protect_msb"),
    ("strategy = \"uniform\"", "strategy = \"magic\"", "plans.strategy"),
    ("seed = 7", "seed = 7\nsede = 3", "campaign.sede"),
    ("[memory]", "[memroy]", "memroy"),
    ("r = 0.5", "r = 0.5\n[dask]\naddress = \"tcp://x:1\"\ncluster = \"local\"", "dask"),
    ("p_flip = [0.02, 0.1]", "p_flip = []", "faults.p_flip"),
    ("shape = [16, 16]", "shape = [16, 0]", "memory.shape"),
]


@pytest.mark.parametrize("old,new,key", BAD)
def test_bad_config_names_key_exit2_no_output(tmp_path, cli, old, new, key):
    text = MEMORY_TOML.format(trials=40, batch=8)
    assert old in text
    cfg = write_cfg(tmp_path, text=text.replace(old, new, 1))
    out = tmp_path / "res.sqlite"
    code, stdout, stderr = cli("campaign", "run", str(cfg), "--out", str(out), "--no-progress")
    assert code == 2
    assert key in stderr and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists()


def test_invalid_toml_and_missing_file(tmp_path, cli):
    cfg = write_cfg(tmp_path, text="[campaign\nkind=")
    code, _, err = cli("campaign", "run", str(cfg), "--out", str(tmp_path / "r.sqlite"))
    assert code == 2 and "invalid TOML" in err
    code, _, err = cli("campaign", "run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "r.sqlite"))
    assert code == 2 and "not found" in err
    assert not (tmp_path / "r.sqlite").exists()


def test_kind_nn_requires_model_table():
    doc = {"campaign": {"kind": "nn", "trials": 2}, "faults": {"p_flip": 0.1}}
    with pytest.raises(QtamlError, match="model"):
        parse_config(doc)


# -- ids and seeding ---------------------------------------------------------------------------

def test_task_id_is_canonical_and_sensitive():
    a = {"p10": 0.1, "target": {"kind": "memory", "bits": 8}, "protect_msb": 2}
    b = {"protect_msb": 2, "target": {"bits": 8, "kind": "memory"}, "p10": 0.1}
    assert task_id(a) == task_id(b)
    assert len(task_id(a)) == 64
    assert task_id(a) != task_id({**a, "protect_msb": 3})
    # pinned: ids are part of the on-disk format and must never drift
    assert task_id({"x": 1}) == "5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22"


def test_tasks_are_cartesian_and_stable(tmp_path):
    cfg = load_config(write_cfg(tmp_path))
    t1, t2 = expand_tasks(cfg), expand_tasks(load_config(write_cfg(tmp_path, batch=3, name="b.toml")))
    assert len(t1) == 2 * 2
    assert [t.id for t in t1] == [t.id for t in t2]  # batch size is not part of a task
    assert {(t.params.p10, t.params.p01, t.params.protect_msb) for t in t1} == \
        {(0.02, 0.01, 0), (0.02, 0.01, 2), (0.1, 0.05, 0), (0.1, 0.05, 2)}


def test_chunking_and_order_do_not_change_trials(tmp_path):
    cfg = load_config(write_cfg(tmp_path))
    task = expand_tasks(cfg)[1]
    whole = execute_chunk(task, cfg.seed, 0, 12).metrics["mse"]
    parts = [execute_chunk(task, cfg.seed, s, c).metrics["mse"] for s, c in ((8, 4), (0, 5), (5, 3))]
    assert whole == parts[1] + parts[2] + parts[0]
    other_seed = execute_chunk(task, cfg.seed + 1, 0, 12).metrics["mse"]
    assert other_seed != whole


@pytest.mark.integration
def test_same_results_inline_and_on_2_and_4_workers_any_batching(tmp_path):
    cfg = load_config(write_cfg(tmp_path, trials=12, batch=4))
    cfg_b = load_config(write_cfg(tmp_path, trials=12, batch=5, name="b.toml"))
    run_campaign(cfg, out=tmp_path / "w0.sqlite", workers=0, progress=False)
    run_campaign(cfg_b, out=tmp_path / "w2.sqlite", workers=2, progress=False)
    ref = all_trials(tmp_path / "w0.sqlite")
    assert_same(ref, all_trials(tmp_path / "w2.sqlite"))
    run_campaign(cfg_b, out=tmp_path / "w4.sqlite", workers=4, progress=False)
    assert_same(ref, all_trials(tmp_path / "w4.sqlite"))


def test_dask_local_cluster_matches_local(tmp_path):
    from distributed import Client, LocalCluster

    cfg = load_config(write_cfg(tmp_path, trials=16, batch=4))
    run_campaign(cfg, out=tmp_path / "local.sqlite", workers=0, progress=False)
    with LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        summary = run_campaign(cfg, out=tmp_path / "dask.sqlite", dask_client=client, progress=False)
    assert summary["backend"] == "dask" and summary["trials_run"] == 4 * 16
    assert_same(all_trials(tmp_path / "local.sqlite"), all_trials(tmp_path / "dask.sqlite"))


def test_jobqueue_missing_names_pip_install(tmp_path, cli):
    text = MEMORY_TOML.format(trials=4, batch=4) + "\n[dask]\ncluster = \"slurm\"\njobs = 2\n"
    cfg = write_cfg(tmp_path, text=text)
    try:
        import dask_jobqueue  # noqa: F401
        pytest.skip("dask-jobqueue is installed here")
    except ImportError:
        pass
    code, _, err = cli("campaign", "run", str(cfg), "--out", str(tmp_path / "r.sqlite"), "--no-progress")
    assert code == 2 and "pip install dask-jobqueue" in err


# -- store and resumption ----------------------------------------------------------------------

def test_store_schema_unique_and_seed_guard(tmp_path):
    cfg = load_config(write_cfg(tmp_path, trials=8, batch=8))
    out = tmp_path / "r.sqlite"
    s1 = run_campaign(cfg, out=out, workers=0, progress=False)
    s2 = run_campaign(cfg, out=out, workers=0, progress=False)
    assert s1["trials_run"] == 32 and s2["trials_run"] == 0 and s2["trials_stored_before"] == 32
    con = sqlite3.connect(out)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO trials SELECT task_id, trial, metrics FROM trials LIMIT 1")
    con.close()
    with ResultStore.open(out) as store:  # re-adding a chunk adds nothing
        t = store.tasks()[0]["task_id"]
        task = [x for x in expand_tasks(cfg) if x.id == t][0]
        assert store.add_chunk(execute_chunk(task, cfg.seed, 0, 8)) == 0
    # more trials later: the store grows, earlier trials stay
    cfg16 = load_config(write_cfg(tmp_path, trials=16, batch=8, name="c16.toml"))
    assert run_campaign(cfg16, out=out, workers=0, progress=False)["trials_run"] == 32
    other = parse_config({**__import__("tomllib").loads(MEMORY_TOML.format(trials=8, batch=8)),
                          "campaign": {"kind": "memory", "seed": 8, "trials": 8}})
    with pytest.raises(QtamlError, match="seed"):
        run_campaign(other, out=out, workers=0, progress=False)


def test_partial_run_resumes_to_identical_result(tmp_path):
    cfg = load_config(write_cfg(tmp_path, trials=30, batch=4))
    run_campaign(cfg, out=tmp_path / "full.sqlite", workers=0, progress=False)
    part = tmp_path / "part.sqlite"
    assert run_campaign(cfg, out=part, workers=0, progress=False, max_chunks=5)["trials_run"] == 20
    assert run_campaign(cfg, out=part, workers=0, progress=False)["trials_run"] == 4 * 30 - 20
    assert_same(all_trials(tmp_path / "full.sqlite"), all_trials(part))


@pytest.mark.slow  # 5 CLI processes killed at random moments; test_engine kills an adaptive run in the fast tier
@pytest.mark.timeout(150)  # 5 CLI starts; generous for a loaded 2-core machine
def test_sigkill_at_random_moments_then_resume(tmp_path):
    """SIGKILL the CLI runner several times mid-run; the resumed store equals an uninterrupted run."""
    trials = 500
    cfg_path = write_cfg(tmp_path, trials=trials, batch=2)
    cfg = load_config(cfg_path)
    ref = tmp_path / "ref.sqlite"
    run_campaign(cfg, out=ref, workers=0, progress=False)
    out = tmp_path / "killed.sqlite"
    cmd = [sys.executable, "-c", "import sys; from qtaml_hw.cli import main; sys.exit(main(sys.argv[1:]))",
           "campaign", "run", str(cfg_path), "--out", str(out), "--workers", "0", "--no-progress"]
    gen = np.random.default_rng(2026)

    def stored() -> int:
        try:
            with ResultStore.open(out) as store:
                return store.count()
        except QtamlError:  # not created yet
            return 0

    counts = []
    for _ in range(4):
        before = stored()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while stored() <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # wait until this run has committed something, then kill at a random moment
        time.sleep(float(gen.uniform(0.0, 0.2)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(stored())
    assert sum(0 < c < 4 * trials for c in counts) >= 2, counts  # kills landed mid-run
    assert counts == sorted(counts)  # nothing stored is ever lost
    res = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["trials_stored_before"] + summary["trials_run"] == 4 * trials
    with ResultStore.open(out) as store:
        assert store.count() == 4 * trials
        for t in store.tasks():
            idx, _ = store.trials(t["task_id"])
            np.testing.assert_array_equal(idx, np.arange(trials))  # none lost, none twice
    assert_same(all_trials(ref), all_trials(out))


# -- trial kinds -------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["twos", "offset", "signmag"])
def test_memory_kind_matches_closed_form_mse(tmp_path, code):
    """Monte Carlo mean of the weight MSE agrees with the closed-form expectation (design.md section 2)."""
    text = MEMORY_TOML.format(trials=200, batch=100).replace("bits = 8", f"bits = 8\ncode = \"{code}\"")
    cfg = load_config(write_cfg(tmp_path, text=text))
    assert cfg.target.code == code
    out = tmp_path / "r.sqlite"
    run_campaign(cfg, out=out, workers=0, progress=False)
    with ResultStore.open(out) as store:
        for t in store.tasks():
            _, m = store.trials(t["task_id"])
            pred = t["info"]["predicted_mse"]
            se = m["mse"].std(ddof=1) / np.sqrt(m["mse"].size)
            assert abs(m["mse"].mean() - pred) < 4 * se, (t["params"], m["mse"].mean(), pred)
            share = np.asarray(t["info"]["variance_share"])
            assert share.sum() == pytest.approx(1.0)
            m_prot = t["params"]["protect_msb"]
            assert np.all(share[8 - m_prot:] == 0)
            assert np.argmax(share) == 7 - m_prot  # the top unprotected bit dominates


@pytest.mark.integration
def test_nn_kind_lenet5(tmp_path):
    text = """
[campaign]
kind = "nn"
seed = 3
trials = 6
batch_trials = 4
[model]
name = "lenet5"
test_subset = 200
[faults]
p_flip = 0.05
[[plans]]
strategy = "uniform"
protect_msb = [0, 8]
"""
    cfg = load_config(write_cfg(tmp_path, text=text))
    out = tmp_path / "nn.sqlite"
    run_campaign(cfg, out=out, workers=0, progress=False)
    with ResultStore.open(out) as store:
        tasks = {t["params"]["protect_msb"]: t for t in store.tasks()}
        _, acc0 = store.trials(tasks[0]["task_id"])
        _, acc8 = store.trials(tasks[8]["task_id"])
        clean = tasks[8]["info"]["clean_accuracy"]
    assert clean > 0.8
    np.testing.assert_allclose(acc8["accuracy"], clean)  # all bits protected: exactly the clean network
    assert acc0["accuracy"].mean() < clean - 0.05  # p = 0.05 on every bit hurts a lot
    t = expand_tasks(cfg)[0]
    again = execute_chunk(t, cfg.seed, 2, 3).metrics["accuracy"]
    _, stored = ResultStore.open(out).trials(t.id)
    np.testing.assert_array_equal(stored["accuracy"][2:5], again)


# -- report ------------------------------------------------------------------------------------

@pytest.mark.integration
def test_report_cli_tables_and_plots(tmp_path, cli):
    cfg = write_cfg(tmp_path, trials=10, batch=5)
    out = tmp_path / "r.sqlite"
    code, stdout, _ = cli("campaign", "run", str(cfg), "--out", str(out), "--workers", "0", "--no-progress", "--json")
    assert code == 0 and json.loads(stdout)["trials_run"] == 40
    rep = tmp_path / "rep"
    code, stdout, err = cli("campaign", "report", str(out), "--out", str(rep), "--json")
    assert code == 0, err
    res = json.loads(stdout)
    for name in ("summary.md", "summary.csv", "variance_shares.csv", "metric_vs_overhead.png",
                 "metric_vs_overhead.svg", "predicted_vs_measured.png", "variance_shares.svg"):
        assert (rep / name).stat().st_size > 0, name
    assert len(res["rows"]) == 4 and all(r["trials"] == 10 for r in res["rows"])
    assert (rep / "summary.csv").read_text().count("\n") == 5
    code, _, err = cli("campaign", "report", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "x"))
    assert code == 2 and "not found" in err and not (tmp_path / "x").exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    code, _, err = cli("campaign", "report", str(junk), "--out", str(tmp_path / "y"))
    assert code == 2 and not (tmp_path / "y").exists()


def test_write_report_empty_store(tmp_path):
    ResultStore.create(tmp_path / "e.sqlite", seed=0, name="e", kind="memory").close()
    with pytest.raises(QtamlError, match="no trials"):
        write_report(tmp_path / "e.sqlite", tmp_path / "rep")
    assert not (tmp_path / "rep").exists()


def test_scrub_period_fault_points(tmp_path):
    """[faults.scrub]: one fault point per scrub period through the physics timeline; longer periods hurt more."""
    text = MEMORY_TOML.format(trials=20, batch=10).replace(
        "p_flip = [0.02, 0.1]\nr = 0.5", "r = 0.5\n[faults.scrub]\ntau_s = 100.0\nperiod_s = [1.0, 10.0]")
    cfg = load_config(write_cfg(tmp_path, text=text))
    tasks = expand_tasks(cfg)
    p10s = sorted({t.params.p10 for t in tasks})
    # worst retention interval: the last read before a scrub, just under T
    np.testing.assert_allclose(p10s, [1 - np.exp(-0.01), 1 - np.exp(-0.1)], rtol=0.02)
    assert all(p < q for p, q in zip(p10s, [1 - np.exp(-0.01), 1 - np.exp(-0.1)]))
    assert all(t.params.p01 == pytest.approx(0.5 * t.params.p10) for t in tasks)
    out = tmp_path / "s.sqlite"
    run_campaign(cfg, out=out, workers=0, progress=False)
    with ResultStore.open(out) as store:
        mse = {(t["params"]["fault"]["scrub_period_s"], t["params"]["protect_msb"]):
               store.trials(t["task_id"])[1]["mse"] for t in store.tasks()}
    assert mse[(10.0, 0)].mean() > 5 * mse[(1.0, 0)].mean()
    bad = text.replace("tau_s = 100.0", "tau_s = -1.0")
    with pytest.raises(QtamlError, match="faults.scrub.tau_s"):
        load_config(write_cfg(tmp_path, text=bad, name="bad.toml"))
    both = text.replace("r = 0.5\n", "r = 0.5\np_flip = 0.1\n", 1)
    with pytest.raises(QtamlError, match="exactly one"):
        load_config(write_cfg(tmp_path, text=both, name="both.toml"))


def test_mean_correction_plan_removes_drift(tmp_path):
    """Directional leakage (r = 0) biases the weights; the TAC mean-corrected read is unbiased."""
    text = MEMORY_TOML.format(trials=100, batch=50).replace("r = 0.5", "r = 0.0").replace(
        "protect_msb = [0, 2]", "protect_msb = [2]\n\n[[plans]]\nstrategy = \"uniform\"\nprotect_msb = [2]\n"
                                "mean_correction = true")
    cfg = load_config(write_cfg(tmp_path, text=text))
    tasks = expand_tasks(cfg)
    assert len(tasks) == 4 and sum(bool(t.params.mean_correction) for t in tasks) == 2
    plain = load_config(write_cfg(tmp_path, text=MEMORY_TOML.format(trials=1, batch=1).replace("r = 0.5", "r = 0.0")
                                  .replace("[0, 2]", "[2]"), name="plain.toml"))
    assert {t.id for t in expand_tasks(plain)} <= {t.id for t in tasks}  # plain ids unchanged by the option
    out = tmp_path / "mc.sqlite"
    run_campaign(cfg, out=out, workers=0, progress=False)
    with ResultStore.open(out) as store:
        for t in store.tasks():
            if t["params"]["p10"] != 0.1:
                continue
            _, m = store.trials(t["task_id"])
            me = m["mean_error"]
            se = me.std(ddof=1) / np.sqrt(me.size)
            if t["params"].get("mean_correction"):
                assert abs(me.mean()) < 4 * se
            else:
                assert me.mean() < -10 * se  # 1 -> 0 leakage pulls weights down (two's complement)


def test_cli_dask_address(tmp_path, cli):
    from distributed import LocalCluster

    cfg = write_cfg(tmp_path, trials=8, batch=4)
    run_campaign(load_config(cfg), out=tmp_path / "local.sqlite", workers=0, progress=False)
    with LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None) as cluster:
        code, stdout, err = cli("campaign", "run", str(cfg), "--out", str(tmp_path / "d.sqlite"),
                                "--dask", cluster.scheduler_address, "--no-progress", "--json")
    assert code == 0, err
    assert json.loads(stdout)["backend"] == "dask"
    assert_same(all_trials(tmp_path / "local.sqlite"), all_trials(tmp_path / "d.sqlite"))


def test_physics_fault_points(tmp_path):
    """[faults.physics]: every combination of the listed inputs is a point, via physics.flip_probabilities."""
    from qtaml_hw.physics import flip_probabilities

    text = MEMORY_TOML.format(trials=4, batch=4).replace(
        "p_flip = [0.02, 0.1]\nr = 0.5",
        "[faults.physics]\nt_ox_nm = [3.3, 3.4]\nphi_b_ev = 3.1\ntau0_s = 1e-13\nt_s = [3600.0, 86400.0]\nr = 0.0")
    cfg = load_config(write_cfg(tmp_path, text=text))
    tasks = expand_tasks(cfg)
    assert len(tasks) == 4 * 2
    for t in tasks:
        f = t.params.fault
        ref = flip_probabilities(t_ox_nm=f["t_ox_nm"], phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-13,
                                 t_s=f["t_s"], r=0.0)
        assert t.params.p10 == pytest.approx(float(ref["p10"])) and t.params.p01 == 0.0
    p = {(t.params.fault["t_ox_nm"], t.params.fault["t_s"]): t.params.p10 for t in tasks}
    assert p[(3.3, 86400.0)] > p[(3.3, 3600.0)] and p[(3.3, 3600.0)] > p[(3.4, 3600.0)]
    bad = text.replace("t_ox_nm = [3.3, 3.4]\n", "")
    with pytest.raises(QtamlError, match="faults.physics.t_ox_nm"):
        load_config(write_cfg(tmp_path, text=bad, name="bad.toml"))


@pytest.mark.integration
@pytest.mark.timeout(300)  # spawned workers import numpy/scipy/torch: slow on a loaded 2-core machine
def test_sigkill_with_worker_processes_leaves_no_orphans_and_resumes(tmp_path):
    trials = 400
    cfg_path = write_cfg(tmp_path, trials=trials, batch=2)
    out = tmp_path / "k.sqlite"
    cmd = [sys.executable, "-c", "import sys; from qtaml_hw.cli import main; sys.exit(main(sys.argv[1:]))",
           "campaign", "run", str(cfg_path), "--out", str(out), "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 100
    count = 0
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with ResultStore.open(out) as store:
                count = store.count()
        except QtamlError:
            pass
        if count:
            break
        time.sleep(0.05)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    assert count > 0 and kids, "the run should be under way with its worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(2.5)
    alive = [k for k in kids if Path(f"/proc/{k}").exists()
             and "Z" not in Path(f"/proc/{k}/stat").read_text().split(")")[-1].split()[0]]
    assert not alive, f"worker processes outlived the killed coordinator: {alive}"
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    with ResultStore.open(out) as store:
        assert store.count() == 4 * trials


def test_interrupted_creation_leaves_a_store_that_a_rerun_initialises(tmp_path):
    """A run killed between creating the SQLite file and writing its schema leaves a blank file;
    the next run must take it over, not refuse it as 'not a campaign result store'."""
    cfg = load_config(write_cfg(tmp_path, trials=4, batch=2))
    out = tmp_path / "blank.sqlite"
    out.write_bytes(b"")
    assert run_campaign(cfg, out=out, workers=0, progress=False)["trials_run"] == 4 * 4
    sqlite3.connect(tmp_path / "tables0.sqlite").execute("PRAGMA user_version=1").connection.close()
    assert run_campaign(cfg, out=tmp_path / "tables0.sqlite", workers=0, progress=False)["trials_run"] == 16

