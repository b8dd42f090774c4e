"""The training comparison's campaign configs and threshold arithmetic (qtaml_hw.campaign.training)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qtaml_hw.campaign.config import load_config
from qtaml_hw.campaign.training import (CompareSettings, config_text, crossing, protection_rows, trace_comparison,
                                        trace_markdown)

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_crossing_interpolates_and_reports_never():
    assert crossing([0, 1, 2], [0.2, 0.6, 1.0], 0.8) == pytest.approx(1.5)
    assert crossing([2, 0, 1], [1.0, 0.2, 0.6], 0.2) == 0.0
    assert crossing([0, 1], [0.1, 0.2], 0.9) is None


def test_protection_rows_fixed_budget_and_threshold():
    rows = [{"strategy": "none", "protect_msb": 0, "accuracy_mean": 0.1, "accuracy_lo": 0.08, "accuracy_hi": 0.12}]
    for m, a in ((0, 0.1), (1, 0.5), (2, 0.9), (3, 0.97)):
        rows.append({"strategy": "uniform", "protect_msb": m, "accuracy_mean": a, "accuracy_lo": a - 0.02,
                     "accuracy_hi": a + 0.02})
    for b, a in ((0.5, 0.6), (1.0, 0.93), (2.0, 0.98)):
        rows.append({"strategy": "tac+mc", "protect_msb": b, "accuracy_mean": a, "accuracy_lo": a - 0.01,
                     "accuracy_hi": a + 0.01})
    out = {r["protection"]: r for r in protection_rows(rows, clean=1.0)}
    assert out["none"]["acc_fixed"] == 0.1 and out["none"]["bpw95"] is None
    assert out["Uniform-MSP"]["acc_fixed"] == 0.9 and out["Uniform-MSP"]["bpw95"] == pytest.approx(2 + 5 / 7)
    assert out["Uniform-MSP"]["bpw95_lo"] <= out["Uniform-MSP"]["bpw95"] <= out["Uniform-MSP"]["bpw95_hi"]
    assert out["TAC"]["acc_fixed"] == 0.98 and out["TAC"]["bpw95"] == pytest.approx(1.0 + 0.02 / 0.05)


def test_config_text_is_a_valid_campaign(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(config_text("resnet_hessian", arch="resnet", r=0.1, settings=CompareSettings(trials=4),
                                models_dir="models"))
    cfg = load_config(path)
    assert cfg.kind == "nn" and cfg.trials == 4 and cfg.target.name.endswith("resnet_hessian.safetensors")
    assert [p.strategy for p in cfg.plans] == ["none", "uniform", "tac"]


def test_trace_comparison_pairs_trace_and_accuracy(tmp_path):
    """Standard vs Hessian LeNet-5: the paired accuracy difference is the manifests' float-accuracy
    difference (same 1000 test images), and the trace interval brackets its mean."""
    manifest = json.loads((MODELS / "manifest.json").read_text())
    keep = {k: v for k, v in manifest["models"].items() if k in ("lenet5_standard", "lenet5_hessian")}
    for name in keep:
        shutil.copy(MODELS / f"{name}.safetensors", tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "models": keep}))
    (row,) = trace_comparison(tmp_path, probes=2, images=64)
    assert row["trace_accdiff"] == pytest.approx(keep["lenet5_hessian"]["float_accuracy"]
                                                 - keep["lenet5_standard"]["float_accuracy"], abs=1e-9)
    assert row["trace_accdiff_lo"] <= row["trace_accdiff"] <= row["trace_accdiff_hi"]
    assert row["trace_difference"] == pytest.approx(row["trace_hessian"] - row["trace_standard"])
    assert "| lenet5 |" in trace_markdown([row])


def test_trace_only_cli_runs_no_campaign_and_filters_architectures(cli, tmp_path):
    """`train-compare --trace-only`: the trace table alone (no stores written), limited by --checkpoint."""
    manifest = json.loads((MODELS / "manifest.json").read_text())
    keep = {k: v for k, v in manifest["models"].items() if k in ("lenet5_standard", "lenet5_hessian")}
    for name in keep:
        shutil.copy(MODELS / f"{name}.safetensors", tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "models": keep}))
    out_dir = tmp_path / "out"
    code, out, err = cli("train-compare", "--models-dir", str(tmp_path), "--out", str(out_dir), "--trace-only",
                         "--trace-probes", "2", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["rows"] == [] and [r["arch"] for r in res["hessian_trace"]] == ["lenet5"]
    assert not out_dir.exists()
    code, out, err = cli("train-compare", "--models-dir", str(tmp_path), "--trace-only", "--checkpoint",
                         "resnet_hessian", "--trace-probes", "2", "--json")
    assert code == 0 and json.loads(out)["hessian_trace"] == []
    code, out, err = cli("train-compare", "--models-dir", str(tmp_path), "--trace-only", "--trace-probes", "0")
    assert code == 2 and "--trace-only needs" in err and len(err.strip().splitlines()) == 1
