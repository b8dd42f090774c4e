"""The training comparison's campaign configs and threshold arithmetic (qtaml_hw.campaign.training)."""

from __future__ import annotations

import pytest

from qtaml_hw.campaign.config import load_config
from qtaml_hw.campaign.training import CompareSettings, config_text, crossing, protection_rows


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
