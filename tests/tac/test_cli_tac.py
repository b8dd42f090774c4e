"""CLI: `plan` and `headline --quick` end to end, and one-line errors for bad input."""

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


def test_headline_quick(cli, tmp_path):
    out_dir = tmp_path / "hl"
    code, out, _ = cli("headline", "--quick", "--out", str(out_dir), "--json")
    assert code == 0
    res = json.loads(out)["results"][0]
    for name in ("headline.md", "headline.json", "headline_accuracy_vs_overhead.png",
                 "headline_accuracy_vs_overhead.svg", "headline_variance_share.png", "headline_variance_share.svg"):
        assert (out_dir / name).stat().st_size > 0
    # with no protection at p = 0.1 the model collapses; Uniform-MSP needs protection to reach the target
    zero = [p for p in res["curves"]["uniform"] if p["budget_bpw"] == 0][0]
    assert zero["acc_mean"] < 0.5 * res["clean_accuracy"]
    assert res["smallest"]["uniform"] is not None and res["smallest"]["uniform"]["budget_bpw"] >= 1
    # MSB hierarchy: with equal p the top bit holds ~3/4 of the variance
    assert res["variance_share"][-1] == pytest.approx(0.75, abs=0.01)
    assert res["rho_predicted"] is not None and res["rho_predicted"] >= 1.0
