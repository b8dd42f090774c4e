"""`explore`: refresh x code x plan through the campaign engine, storage pricing, Pareto front (design.md 1, 3, 7)."""

from __future__ import annotations

import json

import pytest

from qtaml_hw.campaign.explore import pareto_front, parse_code, parse_plan, plan_storage
from qtaml_hw.ecc import check_bits_of
from qtaml_hw.errors import QtamlError
from qtaml_hw.physics import calibrate, operating_point


def test_parse_code_and_plan():
    assert parse_code("bch3") == ("bch", 3, 3) and parse_code("tmr") == ("rep", 2, 3)
    assert parse_code("rep5") == ("rep", 2, 5) and parse_code("secded")[0] == "secded"
    assert parse_plan("tac:1.5") == ("tac", 1.5) and parse_plan("uniform:3") == ("uniform", 3.0)
    for bad in ("bch0", "bch", "rep1", "golay"):
        with pytest.raises(QtamlError):
            parse_code(bad)
    for bad in ("uniform:1.5", "tac:0", "magic:2", "uniform"):
        with pytest.raises(QtamlError):
            parse_plan(bad)


def test_plan_storage_prices_real_check_bits():
    sizes = {"a": 100, "b": 64}
    protect = (("a", 2), ("b", 0))
    s = plan_storage(protect, sizes, code="secded", bits=8)
    assert s["check_bits"] == 13 * check_bits_of("secded", 16)       # ceil(100 / 8) words of 16 protected bits
    assert s["overhead"] == pytest.approx(13 * 6 / (164 * 8)) and s["protected_fraction"] == pytest.approx(200 / 1312)
    assert plan_storage(protect, sizes, code="tmr", bits=8)["check_bits"] == 100 * 2 * 2
    assert plan_storage(protect, sizes, code="bch3", bits=8)["check_bits"] == 13 * check_bits_of("bch", 16, t=3)


def test_pareto_front():
    rows = [dict(accuracy_mean=0.9, overhead=0.1, codec_ge=10.0, refresh_rate_hz=1.0),
            dict(accuracy_mean=0.8, overhead=0.2, codec_ge=10.0, refresh_rate_hz=1.0),   # dominated by row 0
            dict(accuracy_mean=0.95, overhead=0.3, codec_ge=10.0, refresh_rate_hz=1.0),
            dict(accuracy_mean=0.5, overhead=0.0, codec_ge=0.0, refresh_rate_hz=1.0),
            dict(accuracy_mean=0.9, overhead=0.1, codec_ge=None, refresh_rate_hz=1.0)]   # no area: dominated
    assert pareto_front(rows) == [True, False, True, True, False]


@pytest.mark.integration
def test_explore_cli_small_run_and_resume(cli, tmp_path):
    out = tmp_path / "exp"
    argv = ["explore", "--codes", "secded,tmr", "--plans", "uniform:2", "--refresh-s", "1e-4,2e-4", "--trials", "2",
            "--test-subset", "60", "--workers", "0", "--no-area", "--out", str(out), "--json"]
    code, outp, err = cli(*argv)
    assert code == 0, err
    res = json.loads(outp)
    rows = res["rows"]
    assert len(rows) == 2 * (1 + 2) and all(0 <= r["accuracy_mean"] <= 1 and r["trials"] == 2 for r in rows)
    cal = calibrate("gc3t-65nm")
    for r in rows:
        assert r["p10"] == pytest.approx(operating_point(cal, r["refresh_s"], r=0.1)["p10"])
    tmr = [r for r in rows if r["code"] == "tmr"]
    assert all(r["overhead"] == pytest.approx(2 * 2 / 8) for r in tmr)  # two copies of 2 of 8 bits
    assert any(r["pareto"] for r in rows) and (out / "explore.png").exists() and (out / "explore.md").exists()
    code, outp, _ = cli(*argv)  # resumable: the store already holds every trial
    again = json.loads(outp)
    assert code == 0 and again["trials_run"] == 0
    assert [r["accuracy_mean"] for r in again["rows"]] == [r["accuracy_mean"] for r in rows]


@pytest.mark.parametrize("argv", [["--codes", "golay"], ["--plans", "tac:-1"], ["--refresh-s", "-1"],
                                  ["--refresh-s", "2e12"], ["--cell", "nope"],
                                  ["--codes", "rep13", "--plans", "uniform:6", "--refresh-s", "2e-4"]])
def test_explore_bad_input(cli, tmp_path, argv):
    code, out, err = cli("explore", "--out", str(tmp_path / "x"), "--no-area", *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and out == ""
    assert not (tmp_path / "x").exists()  # refused before anything is written
