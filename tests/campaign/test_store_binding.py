"""A result store is bound to its config (issue 12 item 2): another config is refused naming the
differing keys, ``append`` adds a compatible config's tasks, nothing is created before every
check has passed, and a version-1 store is still read and adopted."""

from __future__ import annotations

import sqlite3

import pytest

from qtaml_hw.campaign import ResultStore, parse_config, run_campaign, summarize
from qtaml_hw.campaign.store import config_hash, config_identity, differing_keys
from qtaml_hw.errors import QtamlError


def _cfg(shape=(4, 4), p_flip=(0.01,), trials=2, seed=5, name="b"):
    return parse_config({"campaign": {"name": name, "kind": "memory", "seed": seed, "trials": trials,
                                      "batch_trials": 2},
                         "memory": {"shape": list(shape)}, "faults": {"p_flip": list(p_flip)}})


def test_identity_ignores_budget_and_placement_but_not_the_sweep():
    base = _cfg()
    assert config_hash(base) == config_hash(_cfg(trials=50, name="renamed")) == base.canonical_hash()
    assert config_hash(base) != config_hash(_cfg(shape=(8, 4)))
    assert differing_keys(config_identity(base), config_identity(_cfg(shape=(8, 4), p_flip=(0.1,)))) == \
        ["faults.p_flip", "target.shape"]


def test_other_config_refused_with_its_keys_then_appended(tmp_path):
    out = tmp_path / "r.sqlite"
    first = run_campaign(_cfg(), out=out, workers=0, progress=False)
    other = _cfg(shape=(8, 4))
    with pytest.raises(QtamlError, match=r"differs in target\.shape.*--append"):
        run_campaign(other, out=out, workers=0, progress=False)
    with pytest.raises(QtamlError, match="seed"):  # append never mixes seeds
        run_campaign(_cfg(seed=6), out=out, workers=0, progress=False, append=True)
    added = run_campaign(other, out=out, workers=0, progress=False, append=True)
    assert first["trials_run"] == added["trials_run"] == 2
    again = run_campaign(_cfg(trials=4), out=out, workers=0, progress=False)  # recorded config, more trials
    assert again["trials_stored_before"] == 2 and again["trials_run"] == 2
    with ResultStore.open(out) as store:
        assert list(store.configs()) == [config_hash(_cfg()), config_hash(other)]
        shapes = sorted(r["target"] for r in summarize(store))
    assert shapes == ["4x4", "8x4"]


def test_checks_create_nothing(tmp_path):
    out = tmp_path / "r.sqlite"
    assert ResultStore.check(out, seed=1, kind="memory", config=_cfg()) is False
    (tmp_path / "d.sqlite").mkdir()
    with pytest.raises(QtamlError, match="is a directory"):
        run_campaign(_cfg(), out=tmp_path / "d.sqlite", workers=0, progress=False)
    with pytest.raises(QtamlError, match="does not exist"):
        run_campaign(_cfg(), out=tmp_path / "no" / "r.sqlite", workers=0, progress=False)
    with pytest.raises(QtamlError, match="cannot reach|not a valid|address"):
        run_campaign(_cfg(), out=out, dask_address="not a url", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.sqlite"]


def test_version_1_store_is_read_and_adopted(tmp_path):
    out = tmp_path / "r.sqlite"
    run_campaign(_cfg(), out=out, workers=0, progress=False)
    con = sqlite3.connect(out)  # make it what the previous version wrote
    con.execute("DROP TABLE configs")
    con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.commit()
    con.close()
    with ResultStore.open(out) as store:
        assert store.configs() == {} and len(summarize(store)) == 1
    run_campaign(_cfg(trials=4), out=out, workers=0, progress=False)  # adopted: config recorded, schema 2
    with ResultStore.open(out) as store:
        assert list(store.configs()) == [config_hash(_cfg())] and store.meta()["schema_version"] == "2"
