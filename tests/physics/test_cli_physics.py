"""`qtaml-hw physics` CLI: table, JSON, sweep, and every bad input -> exit 2, one stderr line."""

import json

import pytest

from qtaml_hw.physics import flip_probabilities


def test_json_matches_api(cli):
    code, out, err = cli("physics", "--t-ox-nm", "2.1", "--t-s", "3600", "--r", "0.3", "--json")
    assert code == 0, err
    got = json.loads(out)
    ref = flip_probabilities(t_ox_nm=2.1, t_s=3600.0, r=0.3)
    for k in ("transmission", "tau_s", "p10", "p01"):
        assert got[k] == pytest.approx(ref[k], rel=1e-12)
    assert got["barrier"] == "rect"


def test_sigma_and_sweep(cli):
    code, out, _ = cli("physics", "--sigma-nm", "0.1", "--json")
    assert code == 0
    got = json.loads(out)
    assert 0 < got["p10_lognormal"] < got["p10_population"] < 1
    code, out, _ = cli("physics", "--sweep-t-ox", "1.5:2.5:5", "--v-ox", "4", "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and len(rows) == 5 and json.loads(out)["barrier"] == "fn"
    assert all(a["tau_s"] < b["tau_s"] for a, b in zip(rows, rows[1:]))
    code, out, _ = cli("physics", "--sweep-t-ox", "1.5:2.5:3")
    assert code == 0 and "tau_s" in out and len(out.strip().splitlines()) == 6  # title, header, rule, 3 rows


@pytest.mark.parametrize("argv", [
    ["--t-ox-nm", "0"], ["--t-ox-nm", "-1"], ["--phi-b-ev", "0"], ["--m-ox", "-0.4"], ["--v-ox", "-1"],
    ["--tau0-s", "0"], ["--t-s", "-3"], ["--r", "1.5"], ["--r", "-0.1"], ["--sigma-nm", "-0.1"],
    ["--sigma-nm", "1.5"], ["--barrier", "fn"], ["--barrier", "box"], ["--sweep-t-ox", "2:1:3"],
    ["--sweep-t-ox", "a:b"], ["--sweep-t-ox", "1:2:0"], ["--t-ox-nm", "nan"],
])
def test_bad_inputs_exit_2_one_line(cli, argv):
    code, out, err = cli("physics", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


def test_cell_json_interface(cli):
    code, out, err = cli("physics", "--cell", "gc3t-65nm", "--refresh-s", "2e-4", "--r", "0.1", "--json")
    assert code == 0, err
    got = json.loads(out)
    from qtaml_hw.physics import calibrate, operating_point

    ref = operating_point(calibrate("gc3t-65nm"), 2e-4, r=0.1)
    for k in ("tau_s", "p10", "p01", "t_over_tau", "refresh_rate_hz", "tau0_s"):
        assert got[k] == pytest.approx(ref[k], rel=1e-12)
    assert "doi:" in got["source"] and got["v_ox"] > 0
    code, out, _ = cli("physics", "--cell", "gc3t-65nm", "--sweep-refresh", "1e-5:1e-3:4", "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and len(rows) == 4 and all(a["p10"] < b["p10"] for a, b in zip(rows, rows[1:]))
    code, out, _ = cli("physics", "--retention-s", "1e-3", "--retention-quantile", "0.01", "--refresh-s", "1e-3",
                       "--json")
    assert code == 0 and json.loads(out)["p10"] == pytest.approx(0.01)


def test_list_cells(cli):
    code, out, _ = cli("physics", "--list-cells", "--json")
    cells = json.loads(out)["cells"]
    assert code == 0 and {c["cell"] for c in cells} >= {"gc3t-65nm", "gc3t-16nm", "ddr3-85c"}
    assert all(c["source"] and c["assumptions"] for c in cells)
    code, out, _ = cli("physics", "--list-cells")
    assert code == 0 and "gc3t-65nm" in out and "doi:" in out


@pytest.mark.parametrize("argv", [
    ["--cell", "nope"], ["--retention-s", "-1"], ["--cell", "gc3t-65nm", "--refresh-s", "2e12"],
    ["--refresh-s", "2e12"], ["--cell", "gc3t-65nm", "--temperature-k", "350"],
    ["--cell", "gc3t-65nm", "--retention-s", "1"], ["--cell", "gc3t-65nm", "--tau0-s", "1e-13"],
    ["--sweep-refresh", "1:2:3"], ["--cell", "gc3t-65nm", "--sweep-refresh", "3:2:1"],
    ["--retention-s", "1", "--retention-quantile", "1"],
])
def test_cell_bad_inputs_exit_2_one_line(cli, argv):
    code, out, err = cli("physics", *argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""
