"""Generated BCH / TMR Verilog: lint-clean, and exhaustively equal to the Python codec on Icarus and Verilator."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from qtaml_hw.ecc.bch import BCH, Repetition
from qtaml_hw.ecc.codec import Codeword
from qtaml_hw.ecc.verilog_codes import bch_decoder, bch_name, generate_codes, rep_name, tmr_name
from qtaml_hw.errors import QtamlError
from qtaml_hw.hdl.simulators import simulator_env

CODES = [("bch", BCH(4, 2), bch_name(4, 2)), ("tmr", Repetition(4, 3), tmr_name(4)),
         ("rep", Repetition(2, 5), rep_name(2, 5)), ("rep", Repetition(2, 4), rep_name(2, 4))]
GEN = dict(bch=((4, 2),), tmr=(4,), rep=((2, 5), (2, 4)))

TB = """`timescale 1ns/1ps
module tb;
{decls}
  integer i, f;
  initial begin
    f = $fopen("out.txt", "w");
{loops}
    $fclose(f);
    $finish;
  end
endmodule
"""


def _tb() -> str:
    decls, loops = [], []
    for idx, (_, code, name) in enumerate(CODES):
        k, r = code.k, code.r
        s = k if name.startswith(("tmr", "rep")) else r
        decls += [f"  reg  [{k + r - 1}:0] w{idx};", f"  wire [{r - 1}:0] chk{idx};",
                  f"  wire [{k - 1}:0] dout{idx};", f"  wire [{s - 1}:0] syn{idx};", f"  wire corr{idx}, unc{idx};",
                  f"  {name}_enc u_enc{idx} (.data_i(w{idx}[{k - 1}:0]), .check_o(chk{idx}));",
                  f"  {name}_dec u_dec{idx} (.data_i(w{idx}[{k - 1}:0]), .check_i(w{idx}[{k + r - 1}:{k}]), "
                  f".data_o(dout{idx}), .syndrome_o(syn{idx}), .corrected_o(corr{idx}), .uncorrectable_o(unc{idx}));"]
        loops += [f"    for (i = 0; i < {1 << (k + r)}; i = i + 1) begin",
                  f"      w{idx} = i[{k + r - 1}:0]; #1;",
                  f"      $fdisplay(f, \"{idx} %h %h %b %b\", chk{idx}, dout{idx}, corr{idx}, unc{idx});",
                  "    end"]
    return TB.format(decls="\n".join(decls), loops="\n".join(loops))


def _check(out_text: str) -> None:
    rows = [ln.split() for ln in out_text.splitlines() if ln.strip()]
    for idx, (_, code, _) in enumerate(CODES):
        mine = [r for r in rows if r[0] == str(idx)]
        n = code.k + code.r
        assert len(mine) == 1 << n
        w = np.arange(1 << n, dtype=np.uint64)
        d, c = w & np.uint64((1 << code.k) - 1), w >> np.uint64(code.k)
        enc = code.encode(d)
        data, status = code.decode(Codeword(d, c))
        assert [int(r[1], 16) for r in mine] == [int(x) for x in enc.check]
        assert [int(r[2], 16) for r in mine] == [int(x) for x in data]
        assert [2 * int(r[4]) + int(r[3]) for r in mine] == [int(x) for x in status]


def _write(tmp_path):
    for name, text in generate_codes(**GEN).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "tb.v").write_text(_tb())
    return [str(tmp_path / "tb.v")] + [str(tmp_path / n) for n in generate_codes(**GEN)]


@pytest.mark.sim
def test_generated_codecs_lint_clean(tmp_path):
    simulator_env()
    exe = shutil.which("verilator")
    assert exe, "verilator not found: run `make setup`"
    for name, text in generate_codes(bch=((4, 2), (8, 2), (16, 2)), tmr=(4, 8, 16), rep=((8, 5), (8, 7), (8, 4))).items():
        (tmp_path / name).write_text(text)
    for top in (f"{bch_name(k, 2)}_dec" for k in (4, 8, 16)):
        p = subprocess.run([exe, "--lint-only", "-Wall", "-y", str(tmp_path), "--top-module", top,
                            str(tmp_path / f"{top}.v")], capture_output=True, text=True)
        assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr
    for top in [f"{tmr_name(k)}_dec" for k in (4, 8, 16)] + [f"{rep_name(8, c)}_dec" for c in (4, 5, 7)]:
        p = subprocess.run([exe, "--lint-only", "-Wall", "--top-module", top, str(tmp_path / f"{top}.v")],
                           capture_output=True, text=True)
        assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr


@pytest.mark.sim
def test_bch_tmr_exhaustive_icarus(tmp_path):
    """Every received word (all 2^n data/check pairs) of BCH(12,4) t=2, TMR(12,4), rep5 (10,2) and rep4 (8,2):
    RTL == codec."""
    srcs = _write(tmp_path)
    subprocess.run(["iverilog", "-g2005", "-o", str(tmp_path / "a.vvp"), *srcs], check=True, cwd=tmp_path)
    subprocess.run(["vvp", "-n", str(tmp_path / "a.vvp")], check=True, cwd=tmp_path, capture_output=True)
    _check((tmp_path / "out.txt").read_text())


@pytest.mark.sim
@pytest.mark.heavy  # a ~40-80 s Verilator build of every codec; Icarus runs the same vectors in the default tier
def test_bch_tmr_exhaustive_verilator(tmp_path):
    simulator_env()
    exe = shutil.which("verilator")
    assert exe, "verilator not found: run `make setup`"
    srcs = _write(tmp_path)
    subprocess.run([exe, "--binary", "-Wno-fatal", "--top-module", "tb", "-j", "1", "-CFLAGS", "-std=c++20 -fcoroutines", "--Mdir", str(tmp_path / "obj"),
                    *srcs], check=True, cwd=tmp_path, capture_output=True)
    subprocess.run([str(tmp_path / "obj" / "Vtb")], check=True, cwd=tmp_path, capture_output=True)
    _check((tmp_path / "out.txt").read_text())


def test_decoder_table_is_the_codec_table():
    text = bch_decoder(8, 2)
    assert text.count(": flip = 8'h") == 18 + 18 * 17 // 2  # every pattern of weight 1..2 over n = 18
    with pytest.raises(QtamlError, match="table"):
        bch_decoder(64, 3)
