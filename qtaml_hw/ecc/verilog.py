"""Verilog-2005 encoder/decoder modules generated from the parity-check matrices (design.md sections 3, 5).

The same :class:`~qtaml_hw.ecc.matrix.ParityCheck` the NumPy codec uses is printed as
Verilog, so the RTL and the Python codec cannot disagree on H (lowRISC ``secded_gen.py``
style).  One module per direction, parameterised by ``DataBits``/``CheckBits``; a
generate-if picks the H of the requested width; an unsupported pair instantiates the
missing module ``<prefix>_unsupported_width`` so elaboration stops with that name.

* encoder ``<prefix>_enc``: ``check_o[i] = XOR of data_i[j] over the data bits whose H
  column has bit i set``;
* decoder ``<prefix>_dec``: ``syndrome_o = check_i ^ enc(data_i)``; data bit j is flipped
  when the syndrome equals its column; ``corrected_o`` when the syndrome equals any column
  (data or check bit), ``uncorrectable_o`` when it is nonzero and equals none -- the same
  decision table as :mod:`qtaml_hw.ecc.codec`.

``python -m qtaml_hw.ecc.verilog [--out-dir rtl] [--check]`` (or ``qtaml-hw ecc-gen``)
writes ``rtl/secded_enc.v`` and ``rtl/secded_dec.v`` (SECDED, DataBits 8/16/32/64);
``--check`` only compares.  The SEC modules (``sec_enc``/``sec_dec``) are generated on
demand, e.g. for ``qtaml-hw area --code sec``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qtaml_hw.ecc.matrix import CODE_KINDS, parity_check
from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import check_target, make_dirs, write_text

RTL_WIDTHS = (8, 16, 32, 64)
COMMAND = "python -m qtaml_hw.ecc.verilog (or: qtaml-hw ecc-gen)"
_TITLE = {"sec": "Hamming SEC", "secded": "Hsiao SECDED"}


def module_prefix(kind: str) -> str:
    if kind not in CODE_KINDS:
        raise QtamlError(f"unknown code {kind!r}; choose one of {', '.join(CODE_KINDS)}")
    return kind


def _header(kind: str, what: str, widths) -> list[str]:
    codes = ", ".join(parity_check(kind, k).name.split(" ")[0] for k in widths)
    return [f"// GENERATED FILE, do not edit: produced by `{COMMAND}`",
            "// from the parity-check matrices of qtaml_hw/ecc/matrix.py (the Python codec's source too).",
            f"// {_TITLE[kind]} {what} (design.md sections 3, 5); codes {codes}.",
            "// Data bit j of the H matrix is data_i[j]; check bit i is bit i of the check word."]


def _branches(kind: str, widths, body) -> list[str]:
    lines = ["  generate"]
    for idx, k in enumerate(widths):
        h = parity_check(kind, k)
        kw = "if" if idx == 0 else "end else if"
        lines.append(f"    {kw} (DataBits == {k} && CheckBits == {h.r}) begin : gen_k{k}")
        lines += ["      " + ln for ln in body(h)]
    prefix = module_prefix(kind)
    lines += ["    end else begin : gen_unsupported",
              "      // no code for this (DataBits, CheckBits): stop elaboration here",
              f"      {prefix}_unsupported_width u_unsupported ();",
              "    end", "  endgenerate"]
    return lines


def encoder_verilog(kind: str = "secded", widths=RTL_WIDTHS) -> str:
    """Source of ``<kind>_enc`` for the data widths ``widths``."""
    prefix = module_prefix(kind)
    widths = tuple(int(k) for k in widths)
    default = parity_check(kind, widths[-1])

    def body(h):
        out = []
        for i in range(h.r):
            terms = " ^ ".join(f"data_i[{j}]" for j in h.row_members(i))
            out.append(f"assign check_o[{i}] = {terms};")
        return out

    lines = _header(kind, "encoder", widths) + [
        f"module {prefix}_enc #(",
        f"  parameter DataBits  = {default.k},",
        f"  parameter CheckBits = {default.r}",
        ") (",
        "  input  [DataBits-1:0]  data_i,",
        "  output [CheckBits-1:0] check_o",
        ");"]
    lines += _branches(kind, widths, body) + ["endmodule", ""]
    return "\n".join(lines)


def decoder_verilog(kind: str = "secded", widths=RTL_WIDTHS) -> str:
    """Source of ``<kind>_dec`` (uses ``<kind>_enc``) for the data widths ``widths``."""
    prefix = module_prefix(kind)
    widths = tuple(int(k) for k in widths)
    default = parity_check(kind, widths[-1])

    def body(h):
        r = h.r
        const = (lambda v: f"{r}'b{v:0{r}b}")
        out = [f"assign flip[{j}] = (syndrome_o == {const(c)});" for j, c in enumerate(h.columns)]
        units = " | ".join(f"(syndrome_o == {const(1 << i)})" for i in range(r))
        out.append(f"assign check_hit = {units};")
        return out

    lines = _header(kind, "decoder", widths) + [
        "// syndrome = check_i ^ enc(data_i); a syndrome equal to data column j flips data bit j;",
        "// corrected_o: the syndrome equals a column (data or check bit); uncorrectable_o: nonzero, no column.",
        "// An uncorrectable word passes data_i through unchanged.",
        f"module {prefix}_dec #(",
        f"  parameter DataBits  = {default.k},",
        f"  parameter CheckBits = {default.r}",
        ") (",
        "  input  [DataBits-1:0]  data_i,",
        "  input  [CheckBits-1:0] check_i,",
        "  output [DataBits-1:0]  data_o,",
        "  output [CheckBits-1:0] syndrome_o,",
        "  output                 corrected_o,",
        "  output                 uncorrectable_o",
        ");",
        "  wire [CheckBits-1:0] expected;",
        "  wire [DataBits-1:0]  flip;",
        "  wire                 check_hit;",
        f"  {prefix}_enc #(.DataBits(DataBits), .CheckBits(CheckBits)) u_enc (",
        "    .data_i  (data_i),",
        "    .check_o (expected)",
        "  );",
        "  assign syndrome_o      = check_i ^ expected;",
        "  assign data_o          = data_i ^ flip;",
        "  assign corrected_o     = (|flip) | check_hit;",
        "  assign uncorrectable_o = (|syndrome_o) & ~corrected_o;"]
    lines += _branches(kind, widths, body) + ["endmodule", ""]
    return "\n".join(lines)


def generate(kind: str = "secded", widths=RTL_WIDTHS) -> dict[str, str]:
    """``{file name: source}`` of the encoder and decoder of ``kind``."""
    prefix = module_prefix(kind)
    return {f"{prefix}_enc.v": encoder_verilog(kind, widths), f"{prefix}_dec.v": decoder_verilog(kind, widths)}


def write(out_dir, kind: str = "secded", widths=RTL_WIDTHS) -> list[Path]:
    """Write the generated files into ``out_dir`` (created if needed); return their paths."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise QtamlError(f"{out_dir} exists and is not a directory")
    files = generate(kind, widths)
    for name in files:  # a planted symlink (or a folder) at any target: refuse before writing the first
        check_target(out_dir / name)
    make_dirs(out_dir)
    return [write_text(out_dir / name, text) for name, text in files.items()]  # atomic, no symlink followed


def stale_files(out_dir, kind: str = "secded", widths=RTL_WIDTHS) -> list[str]:
    """Names of generated files in ``out_dir`` that are missing or differ from a fresh generation."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise QtamlError(f"no such directory: {out_dir}")
    return [name for name, text in generate(kind, widths).items()
            if not (out_dir / name).is_file() or (out_dir / name).read_text() != text]


def default_rtl_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "rtl"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m qtaml_hw.ecc.verilog",
                                 description="Generate rtl/secded_enc.v and rtl/secded_dec.v from the H matrices.")
    ap.add_argument("--out-dir", default=str(default_rtl_dir()), help="output directory (default: rtl/)")
    ap.add_argument("--check", action="store_true", help="only report whether the files are up to date")
    args = ap.parse_args(argv)
    if args.check:
        stale = stale_files(args.out_dir)
        for name in stale:
            print(f"stale: {Path(args.out_dir) / name}", file=sys.stderr)
        return 1 if stale else 0
    for p in write(args.out_dir):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
