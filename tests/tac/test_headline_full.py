"""docs/headline_full.{json,md}: one model's headline.json merged into the collection, replacing that model."""

import json
from pathlib import Path

import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.reports.headline_full import cpu_seconds, full_markdown, main, merge

DOC = Path(__file__).resolve().parents[2] / "docs" / "headline_full.json"


def _run_doc(rows, command="qtaml-hw headline --models X", seconds=10.0):
    return {"command": command, "rows": rows, "complete": True, "trials": 5, "trials_cap": 9, "seconds": seconds,
            "monte_carlo_seconds": seconds / 2}


def test_merge_orders_models_and_replaces_a_rerun():
    rows = json.loads(DOC.read_text())["rows"]
    by_model = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    assert {"lenet5", "vit"} <= set(by_model)
    doc = merge({}, _run_doc(by_model["vit"], "vit-run"), cpu_s=12.5, load="9.1 8.0 7.0")
    doc = merge(doc, _run_doc(by_model["lenet5"], "lenet-run"))
    assert [r["model"] for r in doc["runs"]] == ["lenet5", "vit"]  # design order, not merge order
    assert [r["model"] for r in doc["rows"]][:2] == ["lenet5", "lenet5"]
    assert doc["rows"][0]["condition"] == "symmetric"
    again = merge(doc, _run_doc(by_model["vit"], "vit-rerun", seconds=99.0))
    assert [r["command"] for r in again["runs"]] == ["lenet-run", "vit-rerun"]
    assert len(again["rows"]) == len(doc["rows"])
    text = full_markdown(doc)
    assert "`vit-run`: 10 s wall (5 s of it trials), 12 CPU s (user + sys), load average 9.1 8.0 7.0" in text
    assert "| lenet5 | symmetric" in text
    lenet = doc["rows"][0]
    assert f"| lenet5 | symmetric | {float(lenet['crossings_bpw']['uniform']['mean']):.2f} |" in text  # summary line
    assert f"**{float(lenet['ratio_bits']):.2f}** [" in text


def test_merge_refuses_incomplete_or_multi_model_runs():
    rows = json.loads(DOC.read_text())["rows"]
    with pytest.raises(QtamlError):
        merge({}, {**_run_doc(rows[:1]), "complete": False})
    two = [r for r in rows if r["model"] == "lenet5"][:1] + [r for r in rows if r["model"] == "vit"][:1]
    with pytest.raises(QtamlError):
        merge({}, _run_doc(two))


def test_cpu_seconds_from_time_log_and_cli(tmp_path):
    log = "\tUser time (seconds): 100.25\n\tSystem time (seconds): 4.5\n"
    assert cpu_seconds(log) == pytest.approx(104.75)
    with pytest.raises(QtamlError):
        cpu_seconds("nothing")
    rows = [r for r in json.loads(DOC.read_text())["rows"] if r["model"] == "lenet5"]
    (tmp_path / "run.json").write_text(json.dumps(_run_doc(rows, "cmd")))
    (tmp_path / "time.log").write_text(log)
    assert main([str(tmp_path / "run.json"), "--time-log", str(tmp_path / "time.log"),
                 "--doc", str(tmp_path / "full")]) == 0
    assert json.loads((tmp_path / "full.json").read_text())["runs"][0]["cpu_seconds"] == pytest.approx(104.75)
    assert "105 CPU s" in (tmp_path / "full.md").read_text()
