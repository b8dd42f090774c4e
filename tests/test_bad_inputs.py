"""Bad-input corpus (issue 12 item 7): every case must exit with status 2, print exactly one stderr
line, show no traceback and no raw warning, and leave the working directory and the temp
directory exactly as they were (no new, changed or removed file).

Each case is ``(id, setup, argv)``: ``setup(d)`` plants the files the hostile input needs (a
config, a corrupt manifest, a doctored store, a symlink) before the snapshot is taken; ``argv``
is run in-process through ``qtaml_hw.cli.main`` in that directory (``{d}`` is replaced by it).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import warnings
from pathlib import Path

import pytest

from qtaml_hw.cli import main

REPO = Path(__file__).resolve().parents[1]

MEMORY = """
[campaign]
name = "bad"
kind = "memory"
seed = 1
trials = {trials}
batch_trials = 4

[memory]
shape = {shape}
bits = 8

[faults]
p_flip = {p_flip}
{extra}
"""


def cfg(text="", *, trials=4, shape="[4, 4]", p_flip="[0.01]", name="c.toml"):
    def setup(d: Path) -> None:
        (d / name).write_text(MEMORY.format(trials=trials, shape=shape, p_flip=p_flip, extra=text))
    return setup


def models(mutate=None, *, name="m"):
    """A copy of the repository's lenet5 checkpoint and manifest, the manifest passed through ``mutate``."""
    def setup(d: Path) -> None:
        folder = d / name
        folder.mkdir()
        shutil.copy(REPO / "models" / "lenet5.safetensors", folder)
        doc = json.loads((REPO / "models" / "manifest.json").read_text())
        doc["models"] = {"lenet5": doc["models"]["lenet5"]}
        if mutate is not None:
            mutate(doc, folder)
        (folder / "manifest.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return setup


def _entry(doc) -> dict:
    return doc["models"]["lenet5"]


def store(mutate=None, *, name="r.sqlite", shape=(4, 4), seed=1, fake_task=False):
    """A real two-trial store written by the engine (``run_campaign``), then doctored with SQL."""
    def setup(d: Path) -> None:
        from qtaml_hw.campaign import parse_config, run_campaign

        doc = {"campaign": {"kind": "memory", "seed": seed, "trials": 2, "batch_trials": 2},
               "memory": {"shape": list(shape)}, "faults": {"p_flip": 0.01}}
        run_campaign(parse_config(doc), out=d / name, workers=0, progress=False)
        con = sqlite3.connect(d / name)
        if fake_task:  # a task row of a shape this version does not know
            con.execute("INSERT INTO tasks(task_id, params) VALUES ('t0', ?)", (json.dumps({"kind": "memory"}),))
            con.execute("INSERT INTO trials VALUES ('t0', 0, ?)", (json.dumps({"mse": 1.0, "mean_error": 0.0}),))
        if mutate is not None:
            mutate(con)
        con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
    return setup


def both(*setups):
    def setup(d: Path) -> None:
        for s in setups:
            s(d)
    return setup


def symlink(name, target):
    def setup(d: Path) -> None:
        os.symlink(target, d / name)
    return setup


def folder(name, *files):
    def setup(d: Path) -> None:
        (d / name).mkdir()
        for f in files:
            (d / name / f).write_text("user data\n")
    return setup


def write(name, text):
    def setup(d: Path) -> None:
        (d / name).write_text(text)
    return setup


def nothing(d: Path) -> None:
    return None


EVAL = ["eval", "--model", "lenet5", "--models-dir", "{d}/m", "--p-flip", "0.01", "--trials", "2",
        "--test-subset", "20"]

CASES = [
    # -- campaign configs: code injection, absurd sizes, inconsistent keys -------------------------
    ("dask-preload", cfg('[dask]\ncluster = "local"\n[dask.cluster_options]\npreload = ["evil.py"]'),
     ["campaign", "run", "c.toml"]),
    ("dask-prologue", cfg('[dask]\ncluster = "slurm"\n[dask.cluster_options]\njob_script_prologue = ["rm -rf ~"]'),
     ["campaign", "run", "c.toml"]),
    ("dask-extra-lines", cfg('[dask]\ncluster = "slurm"\n[dask.cluster_options]\njob_extra_directives = ["x"]'),
     ["campaign", "run", "c.toml"]),
    ("dask-unknown-option", cfg('[dask]\ncluster = "local"\n[dask.cluster_options]\nnot_an_option = 1'),
     ["campaign", "run", "c.toml"]),
    ("dask-not-a-url", cfg(), ["campaign", "run", "c.toml", "--dask", "not a url"]),
    ("dask-bad-scheme", cfg(), ["campaign", "run", "c.toml", "--dask", "file:///etc/passwd"]),
    ("dask-refused-connection", cfg(), ["campaign", "run", "c.toml", "--dask", "tcp://127.0.0.1:1"]),
    ("dask-cli-unknown-option", cfg('[dask]\ncluster = "local"'), ["campaign", "run", "c.toml", "--dask-option", "foo=1"]),
    ("dask-cli-preload-unflagged", cfg('[dask]\ncluster = "local"'),
     ["campaign", "run", "c.toml", "--dask-option", "preload=evil.py"]),
    ("dask-local-bad-memory-limit", cfg('[dask]\ncluster = "local"\n[dask.cluster_options]\nmemory_limit = "banana"'),
     ["campaign", "run", "c.toml"]),
    ("dask-local-too-many-jobs", cfg('[dask]\ncluster = "local"\njobs = 512'), ["campaign", "run", "c.toml"]),
    ("huge-shape", cfg(shape="[100000, 100000]"), ["campaign", "run", "c.toml"]),
    ("shape-int64-max", cfg(shape="[9223372036854775807, 2]"), ["campaign", "run", "c.toml"]),
    ("shape-2000-batch", cfg(shape="[2000, 2000]"), ["campaign", "run", "c.toml", "--max-memory-gb", "0.2"]),
    ("trials-1e15", cfg(trials=10 ** 15), ["campaign", "run", "c.toml"]),
    ("task-sweep-too-big", cfg(p_flip="[" + ", ".join(f"{i * 1e-7:.7g}" for i in range(1, 1002)) + "]",
                               text="[[plans]]\nstrategy = \"uniform\"\nprotect_msb = [0, 1, 2]"),
     ["campaign", "run", "c.toml", "--max-tasks", "3000"]),
    ("budget-bpw-100", cfg('[[plans]]\nstrategy = "uniform"\nprotect_msb = [100]'), ["campaign", "run", "c.toml"]),
    ("unknown-key", cfg("[memory2]\nx = 1"), ["campaign", "run", "c.toml"]),
    ("invalid-toml", write("c.toml", "[campaign\nkind = "), ["campaign", "run", "c.toml"]),
    ("missing-config", nothing, ["campaign", "run", "nope.toml"]),
    ("config-is-dir", folder("c.toml"), ["campaign", "run", "c.toml"]),
    ("negative-workers", cfg(), ["campaign", "run", "c.toml", "--workers", "-1"]),
    ("zero-memory-cap", cfg(), ["campaign", "run", "c.toml", "--max-memory-gb", "0"]),
    # -- the result store: where it goes, what it already holds ------------------------------------
    ("store-dir-missing", cfg(), ["campaign", "run", "c.toml", "--out", "{d}/no/such/dir/r.sqlite"]),
    ("store-unwritable-dir", cfg(), ["campaign", "run", "c.toml", "--out", "/proc/r.sqlite"]),
    ("store-is-dir", both(cfg(), folder("r.sqlite")), ["campaign", "run", "c.toml", "--out", "r.sqlite"]),
    ("store-is-symlink", both(cfg(), symlink("r.sqlite", "/etc/hostname")),
     ["campaign", "run", "c.toml", "--out", "r.sqlite"]),
    ("store-other-config", both(cfg(shape="[8, 8]"), store()), ["campaign", "run", "c.toml", "--out", "r.sqlite"]),
    ("store-other-seed", both(cfg(), store(seed=2)), ["campaign", "run", "c.toml", "--out", "r.sqlite"]),
    ("store-not-sqlite", both(cfg(), write("r.sqlite", "not a database at all, just text\n" * 40)),
     ["campaign", "run", "c.toml", "--out", "r.sqlite"]),
    ("report-non-json-metric", store(lambda c: c.execute("UPDATE trials SET metrics = '{nan'")),
     ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-metric-not-number", store(lambda c: c.execute("""UPDATE trials SET metrics = '{"mse": "x", "mean_error": 0}'""")),
     ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-schema-not-int", store(lambda c: c.execute("UPDATE meta SET value = 'one' WHERE key = 'schema_version'")),
     ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-schema-future", store(lambda c: c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")),
     ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-params-not-json", store(lambda c: c.execute("UPDATE tasks SET params = 'oops'")),
     ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-unknown-task-shape", store(fake_task=True), ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-empty-store", store(lambda c: c.execute("DELETE FROM trials")),
     ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-store-is-dir", folder("r.sqlite"), ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-store-missing", nothing, ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-not-sqlite", write("r.sqlite", "garbage\n" * 100), ["campaign", "report", "r.sqlite", "--out", "rep"]),
    ("report-out-user-folder", both(store(), folder("rep", "thesis.tex")),
     ["campaign", "report", "r.sqlite", "--out", "rep", "--no-plots"]),
    ("report-out-symlink", both(store(), folder("elsewhere"), symlink("rep", "elsewhere")),
     ["campaign", "report", "r.sqlite", "--out", "rep", "--no-plots"]),
    ("report-out-is-file", both(store(), write("rep", "x")),
     ["campaign", "report", "r.sqlite", "--out", "rep", "--no-plots"]),
    # -- checkpoints and manifests ---------------------------------------------------------------------
    ("eval-trials-1e13", models(), EVAL[:-4] + ["--trials", "10000000000000"]),
    ("eval-batch-huge", models(), EVAL[:-2] + ["--trials", "100000000", "--batch-trials", "100000000"]),
    ("manifest-entry-not-table", models(lambda doc, f: doc["models"].update(lenet5=5)), EVAL),
    ("manifest-config-not-table", models(lambda doc, f: _entry(doc).update(config=[1, 2])), EVAL),
    ("manifest-num-classes-1e10", models(lambda doc, f: _entry(doc)["config"].update(num_classes=1e10)), EVAL),
    ("manifest-num-classes-int", models(lambda doc, f: _entry(doc)["config"].update(num_classes=10 ** 10)), EVAL),
    ("manifest-file-escape", models(lambda doc, f: _entry(doc).update(file="../../../etc/hostname")), EVAL),
    ("manifest-file-absolute", models(lambda doc, f: _entry(doc).update(file="/etc/hostname")), EVAL),
    ("manifest-file-symlink-out", models(lambda doc, f: (os.symlink("/etc/hostname", f / "x.safetensors"),
                                                         _entry(doc).update(file="x.safetensors"))), EVAL),
    ("manifest-file-not-string", models(lambda doc, f: _entry(doc).update(file=7)), EVAL),
    ("manifest-not-json", models(lambda doc, f: doc.clear() or doc.update(x=1)), EVAL),
    ("manifest-models-list", models(lambda doc, f: doc.update(models=[1])), EVAL),
    ("manifest-arch-unknown", models(lambda doc, f: _entry(doc).update(arch="alexnet")), EVAL),
    ("manifest-dataset-table", models(lambda doc, f: _entry(doc).update(dataset={"a": 1})), EVAL),
    ("eval-p-flip-2", models(), EVAL[:6] + ["--p-flip", "2"]),
    ("eval-bits-40", models(), EVAL + ["--bits", "40"]),
    ("eval-model-missing-file", nothing, ["eval", "--model", "nope.safetensors", "--p-flip", "0.01"]),
    ("train-corrupt-manifest", write("manifest.json", "{broken"),
     ["train", "--model", "lenet5", "--out", ".", "--epochs", "1", "--train-subset", "32"]),
    ("train-out-is-file", write("out", "x"), ["train", "--model", "lenet5", "--out", "out", "--epochs", "1"]),
    ("train-manifest-symlink", both(folder("mdir"), symlink("mdir/manifest.json", "/etc/hostname")),
     ["train", "--model", "lenet5", "--out", "mdir", "--epochs", "1", "--train-subset", "32"]),
    # -- other commands ------------------------------------------------------------------------------------
    ("scrub-tau-1e-300", models(), ["scrub", "--model", "lenet5", "--models-dir", "{d}/m", "--tau-s", "1e-300",
                                    "--trials", "2", "--test-subset", "20"]),
    ("ecc-gen-check-missing-dir", nothing, ["ecc-gen", "--check", "--out-dir", "/nonexistent"]),
    ("ecc-gen-planted-symlink", both(folder("rtl"), symlink("rtl/secded_enc.v", "/tmp/qtaml-victim.v")),
     ["ecc-gen", "--out-dir", "rtl"]),
    ("ecc-gen-unknown-code", nothing, ["ecc-gen", "--code", "turbo", "--out-dir", "rtl"]),
    ("physics-t-ox-1e308", nothing, ["physics", "--t-ox-nm", "1e308"]),
    ("physics-phi-1e308", nothing, ["physics", "--t-ox-nm", "2", "--phi-b-ev", "1e308"]),
    ("physics-m-ox-1e308", nothing, ["physics", "--t-ox-nm", "2", "--m-ox", "1e308"]),
    ("physics-t-ox-nan", nothing, ["physics", "--t-ox-nm", "nan"]),
    ("plan-budget-100", models(), ["plan", "--model", "lenet5", "--p-flip", "0.01",
                                   "--budget-bits-per-weight", "100"]),
    ("moments-bits-99", nothing, ["moments", "--bits", "99"]),
    ("moments-p10-2", nothing, ["moments", "--p10", "2"]),
    ("ecc-rates-k-0", nothing, ["ecc-rates", "--code", "secded", "--k", "0"]),
    ("ecc-rates-k-huge", nothing, ["ecc-rates", "--code", "bch", "--k", "100000000"]),
    ("ecc-rates-p-1e308", nothing, ["ecc-rates", "--code", "secded", "--k", "64", "--p", "1e308"]),
    ("ecc-rates-mc-huge", nothing, ["ecc-rates", "--code", "secded", "--k", "64", "--p", "0.01", "--mc",
                                    "1000000000000000"]),
    ("ecc-rates-rep-copies-huge", nothing, ["ecc-rates", "--code", "rep", "--k", "8", "--copies", "100000000"]),
    ("area-data-bits-huge", nothing, ["area", "--code", "secded", "--data-bits", "1000000000"]),
    ("sites-design-garbage", write("d.toml", "garbage = ["), ["sites", "--design", "d.toml"]),
    ("sites-design-missing", nothing, ["sites", "--design", "nope.toml"]),
    ("rtl-test-design-missing", nothing, ["rtl-test", "--design", "nope.toml", "--test", "t.py"]),
    ("eval-code-unknown", models(), EVAL + ["--code", "gray"]),
    ("eval-protect-msb-9", models(), EVAL + ["--protect-msb", "9"]),
    ("headline-out-is-file", write("out", "x"), ["headline", "--quick", "--out", "out"]),
    ("headline-min-trials-1", nothing, ["headline", "--quick", "--min-trials", "1", "--out", "h"]),
    ("demo-out-is-file", write("out", "x"), ["demo", "--quick", "--sim", "none", "--out", "out"]),
    ("config-dev-zero", nothing, ["campaign", "run", "/dev/zero"]),
    ("config-fifo", lambda d: os.mkfifo(d / "c.toml"), ["campaign", "run", "c.toml"]),
    ("manifest-dev-zero", both(folder("m"), symlink("m/manifest.json", "/dev/zero")), EVAL),
    ("config-binary", write("c.toml", "\x00\xff\xfe garbage"), ["campaign", "run", "c.toml"]),
    ("config-trials-float", cfg(trials="1e3"), ["campaign", "run", "c.toml"]),
    ("config-seed-negative", write("c.toml", MEMORY.format(trials=2, shape="[4,4]", p_flip="[0.01]", extra="")
                                   .replace("seed = 1", "seed = -1")), ["campaign", "run", "c.toml"]),
    ("config-p-flip-nan", cfg(p_flip="[nan]"), ["campaign", "run", "c.toml"]),
    ("config-p-flip-inf", cfg(p_flip="inf"), ["campaign", "run", "c.toml"]),
    ("config-shape-string", cfg(shape='"abc"'), ["campaign", "run", "c.toml"]),
    ("config-shape-empty", cfg(shape="[]"), ["campaign", "run", "c.toml"]),
    ("config-shape-nested", cfg(shape="[[1, 2]]"), ["campaign", "run", "c.toml"]),
    ("config-bits-1", cfg(shape="[4, 4]\nbits = 1"), ["campaign", "run", "c.toml"]),
    ("config-faults-not-table", write("c.toml", '[campaign]\nkind = "memory"\ntrials = 2\nfaults = 5\n'),
     ["campaign", "run", "c.toml"]),
    ("config-plans-not-list", cfg("plans = 5"), ["campaign", "run", "c.toml"]),
    ("config-kind-number", write("c.toml", "[campaign]\nkind = 5\ntrials = 2\n[faults]\np_flip = 0.1\n"),
     ["campaign", "run", "c.toml"]),
    ("config-stopping-level-2", cfg("[stopping]\nlevel = 2.0"), ["campaign", "run", "c.toml"]),
    ("config-physics-huge", cfg(p_flip="[]", text="[faults.physics]\nt_ox_nm = 1e308\nphi_b_ev = 3.1\ntau0_s = 1e-13\nt_s = 1"),
     ["campaign", "run", "c.toml"]),
    ("config-scrub-tau-tiny", cfg(p_flip="[]", text="[faults.scrub]\ntau_s = 1e-300\nperiod_s = [1e-300]"),
     ["campaign", "run", "c.toml"]),
    ("config-dask-jobs-huge", cfg('[dask]\ncluster = "local"\njobs = 100000'), ["campaign", "run", "c.toml"]),
    ("store-symlinked-dir-target", both(cfg(), folder("real"), symlink("r.sqlite", "real")),
     ["campaign", "run", "c.toml", "--out", "r.sqlite"]),
    ("train-out-symlink-dir", both(folder("real"), symlink("mdir", "real")),
     ["train", "--model", "lenet5", "--out", "mdir", "--epochs", "1", "--train-subset", "32"]),
    ("train-unknown-model", nothing, ["train", "--model", "alexnet", "--out", "mdir"]),
    ("headline-out-symlink", both(folder("real"), symlink("hl", "real")), ["headline", "--quick", "--out", "hl"]),
    ("unknown-command", nothing, ["frobnicate"]),
]


def _snapshot(*roots: Path) -> dict:
    """Every path under ``roots`` (files, folders, links) with its type, size and mtime."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                st = p.lstat()
                out[str(p)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("QTAML_MODELS_DIR", str(work / "m"))
    return work, tmp


@pytest.mark.parametrize("setup, argv", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(sandbox, capsys, setup, argv):
    work, tmp = sandbox
    setup(work)
    before = _snapshot(work, tmp)
    argv = [a.replace("{d}", str(work)) for a in argv]
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 2, f"exit status {code}, stderr: {err!r}"
    assert len(lines) == 1, f"{len(lines)} stderr lines: {err!r}"
    assert "Traceback" not in err
    hidden = (DeprecationWarning, PendingDeprecationWarning, ResourceWarning)  # not shown by a default interpreter
    assert not [w for w in caught if not issubclass(w.category, hidden)], [str(w.message) for w in caught]
    after = _snapshot(work, tmp)
    assert after == before, f"left behind or changed: {sorted(set(after.items()) ^ set(before.items()))}"
