"""CLI: `plan` end to end, and one-line errors for bad input (headline: tests/tac/test_headline.py)."""

import json

import pytest


def test_plan_json(cli):
    code, out, _ = cli("plan", "--model", "lenet5", "--p-flip", "0.1", "--budget-bits-per-weight", "1.5",
                       "--json", "--calib-samples", "64")
    assert code == 0
    res = json.loads(out)
    assert res["used_bits"] <= res["budget_bits"]
    ms = [row["m"] for row in res["layers"]]
    assert len(set(ms)) > 1  # layer-adaptive
    assert all(r["rho"] >= 1.0 for r in res["rho_star"])
    code, out, _ = cli("plan", "--model", "lenet5", "--p-flip", "0.1", "--budget-bits-per-weight", "2",
                       "--strategy", "uniform", "--json", "--calib-samples", "64")
    assert {row["m"] for row in json.loads(out)["layers"]} == {2}


@pytest.mark.parametrize("argv", [
    ["plan", "--model", "lenet5", "--p-flip", "0.1", "--budget-bits-per-weight", "-1"],
    ["plan", "--model", "lenet5", "--p-flip", "1.5", "--budget-bits-per-weight", "1"],
    ["plan", "--model", "lenet5", "--p-flip", "0.1", "--budget-bits-per-weight", "1", "--strategy", "foo"],
    ["plan", "--model", "lenet5", "--p-flip", "0.1", "--budget-bits-per-weight", "1", "--bits", "3"],
    ["headline", "--quick", "--strategies", "foo"],
    ["headline", "--quick", "--models", "nosuch"],
    ["headline", "--quick", "--p-flip", "-0.1"],
])
def test_bad_input_one_line(cli, argv, tmp_path):
    code, out, err = cli(*argv, *(["--out", str(tmp_path / "o")] if argv[0] == "headline" else []))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()
