"""`qtaml-hw selftest`: help, bad input (one line, exit 2), generate writes a loadable program."""

from __future__ import annotations

import json

import pytest

from qtaml_hw.selftest.program import load_program, tile_cycles


def test_help_and_bad_input(cli, tmp_path):
    code, out, _ = cli("selftest", "--help")
    assert code == 0 and "coverage" in out and "--array" in out and "--json" in out and "--seed" in out
    code, _, err = cli("selftest", "coverage", "--array", "5")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = cli("selftest", "generate", "--out", str(tmp_path / "prog.txt"))
    assert code == 2 and "npz" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.sim
def test_generate_writes_program_and_manifest(cli, tmp_path):
    out = tmp_path / "st.npz"
    code, stdout, _ = cli("selftest", "generate", "--array", "4", "--out", str(out), "--json", "--seed", "3")
    assert code == 0
    man = json.loads(stdout)
    assert json.loads((tmp_path / "st.json").read_text())["total"] == man["total"]
    tiles = load_program(out)  # re-checks every expected output against the golden model
    assert len(tiles) == man["total"]["tiles"] == man["compute"]["tiles"] + man["control"]["tiles"]
    assert man["total"]["cycles"] == sum(tile_cycles(t) for _, t in tiles)
    assert man["atpg"]["redundant"] >= 1 and man["compute"]["tiles"] == man["atpg"]["patterns"]
