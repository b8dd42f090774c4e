"""Fault sites from the RTL (design.md section 6): pyverilog enumeration vs independent counts.

The role table must cover exactly the registers the RTL declares (a new register fails
until classified), the parser's declarations must equal a regular-expression scan of the
sources, and the elaborated state bits must equal Yosys' flip-flop and memory bits.
"""

from __future__ import annotations

import shutil

import pytest

from qtaml_hw.fidelity import sites as S
from qtaml_hw.fidelity.crossval import sram_depth
from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.fidelity.reuse import CLASS_WIDTH
from qtaml_hw.errors import QtamlError

pytestmark = pytest.mark.sim  # needs iverilog -E preprocessing and Yosys


def test_role_table_covers_exactly_the_declared_registers():
    declared = S.declared_registers()
    assert S.unclassified() == set()
    assert declared == set(S.ROLES), f"stale or missing roles: {set(S.ROLES) ^ declared}"
    assert declared == S.regex_registers(), "pyverilog and the regex scan disagree"


def test_new_register_is_caught(tmp_path):
    for f in S.rtl_files():
        shutil.copy(f, tmp_path / f.name)
    pe = tmp_path / "systolic_pe.v"
    pe.write_text(pe.read_text().replace("  reg  [AccBits-1:0]  p_q;",
                                           "  reg  [AccBits-1:0]  p_q;\n  reg  [3:0]  extra_q, other_q [0:1];"))
    files = sorted(tmp_path.glob("*.v"))
    mods = S.parse_modules(files)
    assert S.unclassified(mods) == {("systolic_pe", "extra_q"), ("systolic_pe", "other_q")}
    assert ("systolic_pe", "other_q") in S.regex_registers(files)
    with pytest.raises(QtamlError, match="extra_q"):
        S.enumerate_sites(n=4, files=files)


@pytest.mark.parametrize("cfg", [TopConfig(n=4, row_bits=2, pass_bits=2), TopConfig(n=8, row_bits=3, pass_bits=1),
                                 TopConfig(n=4, row_bits=2, pass_bits=2, ecc=1, protect_bits=4)],
                         ids=["n4", "n8", "n4-ecc4"])
def test_state_bits_equal_yosys(cfg):
    if cfg.ecc and not (S.RTL_DIR / "secded_enc.v").exists():
        pytest.skip("rtl/secded_enc.v not generated")
    found = S.enumerate_sites(n=cfg.n, row_bits=cfg.row_bits, pass_bits=cfg.pass_bits, ecc=cfg.ecc,
                              protect_bits=cfg.protect_bits)
    ys = S.yosys_state_bits(parameters=cfg.parameters())
    assert sum(s.bits for s in found if not s.is_memory) == ys["ff_bits"]
    assert sum(s.bits for s in found if s.is_memory) == ys["memory_bits"]


def test_saboteur_sites_match_the_fault_model():
    cfg = TopConfig(n=8, row_bits=3, pass_bits=1)
    found = {s.role: s for s in S.enumerate_sites(n=8, row_bits=3, pass_bits=1)}
    assert set(S.SABOTEUR_ROLES) <= set(found)
    for role in ("weight", "act", "psum"):
        s = found[role]
        assert len(s.paths) == 64 and s.width == CLASS_WIDTH[role]
        assert "u_array.gen_row[7].gen_col[5].u_pe." + s.name in s.paths
    assert found["out"].paths == tuple(f"u_array.gen_out[{c}].o_q" for c in range(8))
    assert found["out"].width == CLASS_WIDTH["out"]
    assert found["sram"].depth == sram_depth(cfg) and found["sram"].width == CLASS_WIDTH["sram"]
    summary = S.sites_by_role(found.values())
    assert summary["psum"] == {"registers": 64, "bits": 64 * 32}
