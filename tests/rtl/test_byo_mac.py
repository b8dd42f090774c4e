"""Second design from its descriptor alone (issue 14 item 4): sites, bad descriptors, a user's cocotb test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtaml_hw.fidelity.byo import leakage_masks
from qtaml_hw.fidelity.design import load_design
from qtaml_hw.memory import FlipModel

# the user's cocotb test on Verilator is a ~30 s build; Icarus runs the same test in the default tier
# (`make test-all` runs both; the crossval/sites commands on this design run in the default tier)
HEAVY_CASES = {("verilator",)}

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "byo_mac"
DESC = EXAMPLE / "mac_os.toml"


@pytest.mark.sim
def test_sites_of_second_design(cli):
    code, out, err = cli("sites", "--design", str(DESC), "--json", "--graph")
    assert code == 0, err
    res = json.loads(out)
    by_path = {s["path"]: s for s in res["sites"]}
    # hand count: 8 x 32-bit weight words, 32 x 8-bit activations, acc 24, idx 8, cnt 8, busy 1, done 1
    assert res["state_bits"] == 256 + 256 + 24 + 8 + 8 + 1 + 1
    assert by_path["u_wmem.mem_q"]["class"] == "weight_memory" and by_path["u_wmem.mem_q"]["depth"] == 8
    assert by_path["acc_q"]["class"] == "accumulator" and by_path["acc_q"]["width"] == 24
    assert {by_path[p]["class"] for p in ("idx_q", "cnt_q", "busy_q", "done_q")} == {"control"}
    fan_in = res["graph"]["fan_in"]
    assert {"u_wmem.mem_q", "xbuf_q", "idx_q", "acc_q"} <= set(fan_in["acc_q"])
    assert "acc_q" not in fan_in["idx_q"]  # the datapath does not feed the counter


@pytest.mark.sim
def test_accel_top_sites_cover_every_state_bit(cli):
    code, out, err = cli("sites", "--json")
    res = json.loads(out)
    assert code == 0 and res["state_bits"] == 2721  # 4x4, SECDED(39,32) per word (m = 4)
    assert res["per_class"]["control"]["state_bits"] == 130
    assert res["per_class"]["sram_check"]["state_bits"] == 8 * 7


def _bad(tmp_path, name, edit):
    for f in EXAMPLE.iterdir():
        if f.suffix in (".v", ".sv") or f.name.endswith(".roles.toml"):
            (tmp_path / f.name).write_text(f.read_text())
    text = edit(DESC.read_text())
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


@pytest.mark.sim
@pytest.mark.parametrize("what,edit,needle", [
    ("missing top", lambda t: t.replace('top = "mac_os"\n', ""), "top is missing"),
    ("unknown top", lambda t: t.replace('top = "mac_os"', 'top = "nosuch"'), "nosuch"),
    ("unknown memory", lambda t: t.replace("u_wmem.mem_q", "u_wmem.nosuch"), "no memory"),
    ("wrong width", lambda t: t.replace("word_bits = 32", "word_bits = 64"), "32 bits wide"),
    ("unparsable source", lambda t: t.replace("mac_os.sv", "broken.sv"), "syntax error"),
])
def test_bad_descriptor_one_line_exit_2(cli, tmp_path, what, edit, needle):
    (tmp_path / "broken.sv").write_text("module broken(input logic a;\nendmodule\n")
    code, out, err = cli("sites", "--design", _bad(tmp_path, "d.toml", edit), "--json")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and needle in err, (what, err)


def test_leakage_masks_follow_flip_model():
    """Directional model: with p01 = 0 only stored 1s flip; masks are seeded and lane-local."""
    mem = load_design(DESC).memory("weights")
    words = [0x0F0F0F0F] * 400
    fm = FlipModel(p10=0.1, p01=0.0)
    m1 = leakage_masks(words, mem, fm, seed=1)
    assert m1 == leakage_masks(words, mem, fm, seed=1) and m1 != leakage_masks(words, mem, fm, seed=2)
    assert all(m & ~0x0F0F0F0F == 0 for m in m1)  # only 1-bits flipped
    rate = sum(bin(m).count("1") for m in m1) / (400 * 16)
    assert abs(rate - 0.1) < 4 * (0.1 * 0.9 / 6400) ** 0.5


@pytest.mark.sim
@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_users_cocotb_test_runs_from_descriptor(cli, simulator):
    code, out, err = cli("rtl-test", "--design", str(DESC), "--test", str(EXAMPLE / "test_mac_os.py"),
                         "--sim", simulator, "--json")
    assert code == 0, err
    assert json.loads(out)["tests"] == 3 and json.loads(out)["failed"] == 0
