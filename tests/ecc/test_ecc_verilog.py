"""Generated Verilog: byte-identical regeneration, lint, and bit-exact agreement with the NumPy codec."""

from __future__ import annotations

import json
import shutil
import subprocess
from itertools import combinations

import numpy as np
import pytest

from qtaml_hw.hdl.simulators import RTL_DIR
from qtaml_hw.ecc import make_code
from qtaml_hw.ecc.verilog import RTL_WIDTHS, generate, stale_files


def test_committed_rtl_is_the_generated_rtl(tmp_path):
    """Regenerating yields byte-identical rtl/secded_enc.v and rtl/secded_dec.v (never edited by hand)."""
    for name, text in generate("secded").items():
        assert (RTL_DIR / name).read_bytes() == text.encode(), f"rtl/{name} is stale: run `qtaml-hw ecc-gen`"
        assert "GENERATED FILE" in text.splitlines()[0] and "qtaml_hw.ecc.verilog" in text.splitlines()[0]
    assert stale_files(RTL_DIR) == []


def test_ecc_gen_cli_writes_and_checks(cli, tmp_path):
    code, out, _ = cli("ecc-gen", "--out-dir", str(tmp_path), "--json")
    assert code == 0 and len(json.loads(out)["files"]) == 2
    assert (tmp_path / "secded_dec.v").read_bytes() == (RTL_DIR / "secded_dec.v").read_bytes()
    assert cli("ecc-gen", "--out-dir", str(tmp_path), "--check")[0] == 0
    (tmp_path / "secded_enc.v").write_text((tmp_path / "secded_enc.v").read_text().replace("^ data_i[7]", "", 1))
    code, out, err = cli("ecc-gen", "--out-dir", str(tmp_path), "--check")
    assert code == 1 and "secded_enc.v" in out and len(err.strip().splitlines()) == 1
    code, _, err = cli("ecc-gen", "--code", "bch", "--out-dir", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    (tmp_path / "file").write_text("x")
    code, _, err = cli("ecc-gen", "--out-dir", str(tmp_path / "file"))
    assert code == 2 and "not a directory" in err


def test_generated_sec_modules_lint_clean(tmp_path, monkeypatch):
    import qtaml_hw.hdl.synth as synth

    for kind in ("sec", "secded"):
        for name, text in generate(kind).items():
            (tmp_path / name).write_text(text)
    monkeypatch.setattr(synth, "RTL_DIR", tmp_path)
    for kind in ("sec", "secded"):
        for k in RTL_WIDTHS:
            params = {"DataBits": k, "CheckBits": make_code(kind, k).r}
            ok, msg = synth.verilator_lint(f"{kind}_dec", params)
            assert ok and "%Warning" not in msg, msg
    ok, msg = synth.verilator_lint("secded_enc", {"DataBits": 12, "CheckBits": 5})
    assert not ok and "unsupported_width" in msg  # an unsupported width stops elaboration


def _vectors(code, seed):
    """Data/check words: clean codewords, every single and double error, sampled triples and random words."""
    gen = np.random.default_rng(seed)
    n, k = code.n, code.k
    pats = [(i,) for i in range(n)] + list(combinations(range(n), 2))
    trip = [tuple(int(b) for b in gen.choice(n, 3, replace=False)) for _ in range(300)]
    de = np.array([sum(1 << b for b in p if b < k) for p in pats + trip], dtype=object)
    ce = np.array([sum(1 << (b - k) for b in p if b >= k) for p in pats + trip], dtype=np.uint16)
    m = len(pats) + len(trip)
    data = gen.integers(0, 2**63, m, dtype=np.uint64) * np.uint64(2) + gen.integers(0, 2, m, dtype=np.uint64)
    data &= code.data_mask
    cw = code.encode(data)
    bad_d = cw.data ^ np.array([int(x) for x in de], dtype=np.uint64)
    bad_c = cw.check ^ ce
    rnd = gen.integers(0, 2**63, 200, dtype=np.uint64) & code.data_mask
    rchk = gen.integers(0, 1 << code.r, 200).astype(np.uint16)
    return np.concatenate([cw.data, bad_d, rnd]), np.concatenate([cw.check, bad_c, rchk])


TB = """`timescale 1ns/1ps
module tb;
  reg  [{k1}:0] data_mem  [0:{last}];
  reg  [{r1}:0] check_mem [0:{last}];
  reg  [{k1}:0] d;
  reg  [{r1}:0] c;
  wire [{r1}:0] chk, syn;
  wire [{k1}:0] dout;
  wire corr, unc;
  integer i, f;
  {p}_enc #(.DataBits({k}), .CheckBits({r})) u_enc (.data_i(d), .check_o(chk));
  {p}_dec #(.DataBits({k}), .CheckBits({r})) u_dec (.data_i(d), .check_i(c), .data_o(dout), .syndrome_o(syn),
                                              .corrected_o(corr), .uncorrectable_o(unc));
  initial begin
    $readmemh("data.hex", data_mem);
    $readmemh("check.hex", check_mem);
    f = $fopen("out.txt", "w");
    for (i = 0; i <= {last}; i = i + 1) begin
      d = data_mem[i]; c = check_mem[i]; #1;
      $fdisplay(f, "%h %h %h %b %b", chk, dout, syn, corr, unc);
    end
    $fclose(f);
    $finish;
  end
endmodule
"""


@pytest.mark.sim
@pytest.mark.parametrize("kind", ["secded", "sec"])
@pytest.mark.parametrize("k", RTL_WIDTHS)
def test_generated_verilog_matches_codec_icarus(kind, k, tmp_path):
    """Vectors from memory files: every single and double error (+ triples, random words) on the RTL codec
    give the NumPy codec's check bits, data, syndrome and status."""
    iverilog = shutil.which("iverilog")
    if iverilog is None:
        pytest.fail("iverilog not found: run `make setup`")
    code = make_code(kind, k)
    data, check = _vectors(code, k)
    (tmp_path / "data.hex").write_text("\n".join(f"{int(x):x}" for x in data) + "\n")
    (tmp_path / "check.hex").write_text("\n".join(f"{int(x):x}" for x in check) + "\n")
    for name, text in generate(kind, (k,)).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "tb.v").write_text(TB.format(k=k, k1=k - 1, r=code.r, r1=code.r - 1, p=kind, last=len(data) - 1))
    srcs = [str(tmp_path / f) for f in ("tb.v", f"{kind}_enc.v", f"{kind}_dec.v")]
    subprocess.run([iverilog, "-g2005", "-o", str(tmp_path / "a.vvp"), *srcs], check=True, cwd=tmp_path)
    subprocess.run(["vvp", "-n", str(tmp_path / "a.vvp")], check=True, cwd=tmp_path, capture_output=True)
    rows = [ln.split() for ln in (tmp_path / "out.txt").read_text().splitlines()]
    assert len(rows) == len(data)
    rtl_chk = np.array([int(r[0], 16) for r in rows], np.uint16)
    rtl_data = np.array([int(r[1], 16) for r in rows], np.uint64)
    rtl_syn = np.array([int(r[2], 16) for r in rows], np.uint16)
    rtl_status = np.array([2 * int(r[4]) + int(r[3]) for r in rows])
    cw = code.encode(data)
    dec, status = code.decode(cw._replace(check=check))
    assert np.array_equal(rtl_chk, cw.check)
    assert np.array_equal(rtl_syn, code.syndrome(cw._replace(check=check)))
    assert np.array_equal(rtl_data, dec)
    assert np.array_equal(rtl_status, status)  # corrected_o / uncorrectable_o never both set
    n = code.n
    m = len(data) - 200 - 300 - n - n * (n - 1) // 2  # layout: clean codewords, singles, doubles, ...
    singles = status[m:m + n]
    doubles = status[m + n:m + n + n * (n - 1) // 2]
    assert np.all(status[:m] == 0) and np.all(singles == 1)
    if kind == "secded":
        assert np.all(doubles == 2)


@pytest.mark.integration
def test_area_cli_json_and_table(cli):
    code, out, err = cli("area", "--code", "secded", "--data-bits", "16", "--array-n", "0", "--json")
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    assert (row["n"], row["k"], row["r"]) == (22, 16, 6)
    # encoder: 6 XOR trees over 8 of 16 data bits each -> at most 6 * 7 two-input gates
    assert 16 <= row["enc_cells"] <= 42 and row["dec_cells"] > row["enc_cells"]
    assert row["check_storage_bits"] == 1024 * 6 and row["storage_overhead"] == pytest.approx(6 / 64)
    code, out, _ = cli("area", "--code", "sec", "--array-n", "0", "--sram-words", "16", "--word-bits", "32")
    assert code == 0 and "sec" in out and " 38 " in out and " 71 " not in out  # widths <= word bits only


@pytest.mark.parametrize("argv,needle", [
    (["--code", "golay"], "unknown code"),
    (["--liberty", "/nonexistent.lib"], "no such file"),
    (["--data-bits", "65"], "unsupported code size"),
    (["--data-bits", "0"], "positive integer"),
    (["--data-bits", "64", "--word-bits", "32"], "cannot exceed"),
    (["--array-n", "99"], "--array-n"),
])
def test_area_bad_input(cli, argv, needle):
    code, out, err = cli("area", *argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
