"""`qtaml-hw area`: ECC codec area in NAND2 equivalents, check-bit storage area, logic depth (design.md sections 3, 5).

Every codec is generated from the Python codec's own source (SEC/SECDED: :mod:`qtaml_hw.ecc.verilog`,
byte-identical to ``rtl/secded_*.v`` at 8/16/32/64 bits; BCH/TMR: :mod:`qtaml_hw.ecc.verilog_codes`)
and synthesised by Yosys (:func:`qtaml_hw.hdl.synth.synth_report`): generic-gate cells, NAND2
equivalents with flip-flops counted apart, ``stat -tech cmos`` transistors, ``ltp`` logic depth,
and with ``--liberty FILE`` the mapped area in the library's units.  Check bits are priced as
storage: ``words x r`` bit cells of ``--bit-cell-um2`` each (default 0.346 um^2, the 6T SRAM
cell of Intel's 45 nm process, Mistry et al., IEDM 2007), beside logic at ``--nand2-um2`` per
NAND2 equivalent (default 0.798 um^2, Nangate 45 nm NAND2_X1).  The systolic array is
synthesised without the fault-injection saboteur (``QTAML_SABOTEUR`` undefined), and once with
it when ``--with-saboteur`` is given, to show what it would add.
"""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, emit_json, format_table, nonneg_int, positive_float, positive_int

NAME = "area"
HELP = "ECC codec area (NAND2 eq., flip-flops apart, transistors, logic depth) + check-bit storage area"
ORDER = 64
DEFAULT_WIDTHS = (8, 16, 32, 64)
CODES = ("secded", "sec", "bch", "tmr", "rep")


def add_arguments(parser) -> None:
    parser.add_argument("--code", default=None, help=f"one of {', '.join(CODES)} (default: secded and sec)")
    parser.add_argument("--t", type=positive_int, default=2, help="BCH errors corrected (default 2)")
    parser.add_argument("--copies", type=positive_int, default=5, help="rep: copies of each bit (default 5; tmr = 3)")
    parser.add_argument("--data-bits", type=positive_int, default=None,
                        help="protected data bits per word, 1..64 (default: a table of 8, 16, 32, 64)")
    parser.add_argument("--sram-words", type=positive_int, default=1024, help="SRAM depth in words (default 1024)")
    parser.add_argument("--word-bits", type=positive_int, default=64,
                        help="SRAM word width in data bits (default 64: 8 int8 weights)")
    parser.add_argument("--bit-cell-um2", type=positive_float, default=0.346,
                        help="area of one stored bit um^2 (default 0.346: 45 nm 6T SRAM, Mistry et al. IEDM 2007)")
    parser.add_argument("--nand2-um2", type=positive_float, default=0.798,
                        help="area of one NAND2 equivalent um^2 (default 0.798: Nangate 45 nm NAND2_X1)")
    parser.add_argument("--liberty", default=None, metavar="FILE", help="also map to this cell library and report its area")
    parser.add_argument("--array-n", type=nonneg_int, default=4,
                        help="synthesise an N x N systolic array for comparison (default 4; 0: skip)")
    parser.add_argument("--with-saboteur", action="store_true",
                        help="also synthesise the array with its fault-injection saboteur (QTAML_SABOTEUR)")
    add_json(parser)


def _sources(code: str, k: int, t: int, tmp, copies: int = 3):
    from pathlib import Path

    from qtaml_hw.ecc.verilog import generate
    from qtaml_hw.ecc.verilog_codes import bch_name, generate_codes, rep_name, tmr_name

    if code in ("sec", "secded"):
        files, prefix = generate(code, (k,)), code
    elif code == "bch":
        files, prefix = generate_codes(bch=((k, t),), tmr=()), bch_name(k, t)
    elif code == "tmr":
        files, prefix = generate_codes(bch=(), tmr=(k,)), tmr_name(k)
    else:
        files, prefix = generate_codes(bch=(), tmr=(), rep=((k, copies),)), rep_name(k, copies)
    paths = {}
    for name, text in files.items():
        paths[name] = Path(tmp) / name
        paths[name].write_text(text)
    return prefix, paths[f"{prefix}_enc.v"], paths[f"{prefix}_dec.v"]


def ecc_area(code: str, data_bits: int, *, t: int = 2, copies: int = 3, liberty=None) -> dict:
    """Encoder and decoder of ``code`` over ``data_bits`` bits: generated, then synthesised (Yosys)."""
    import tempfile

    from qtaml_hw.ecc.bch import build_code
    from qtaml_hw.hdl.synth import synth_report

    copies = 3 if code == "tmr" else copies
    c = build_code("rep" if code == "tmr" else code, data_bits, t=t, copies=copies)
    params = {"DataBits": c.k, "CheckBits": c.r} if code in ("sec", "secded") else None
    with tempfile.TemporaryDirectory() as tmp:
        prefix, enc_v, dec_v = _sources(code, c.k, t, tmp, copies)
        enc = synth_report(f"{prefix}_enc", [enc_v], parameters=params, liberty=liberty)
        dec = synth_report(f"{prefix}_dec", [enc_v, dec_v], parameters=params, liberty=liberty)
    label = {"bch": f"bch-t{t}", "rep": f"rep{copies}"}.get(code, code)
    row = {"code": label, "n": c.n, "k": c.k, "r": c.r,
           "enc_cells": enc["cells"], "dec_cells": dec["cells"], "ecc_cells": enc["cells"] + dec["cells"],
           "enc_ge": enc["total_ge"], "dec_ge": dec["total_ge"], "ecc_ge": enc["total_ge"] + dec["total_ge"],
           "ecc_flip_flops": enc["flip_flops"] + dec["flip_flops"],
           "ecc_transistors": enc["transistors"] + dec["transistors"],
           "enc_depth": enc["logic_depth"], "dec_depth": dec["logic_depth"],
           "enc_by_type": enc["by_type"], "dec_by_type": dec["by_type"]}
    if liberty is not None:
        row["ecc_liberty_area"] = enc["liberty_area"] + dec["liberty_area"]
    return row


def array_area(n: int, *, saboteur: bool = False, liberty=None) -> dict:
    """The N x N systolic array (no saboteur unless asked): NAND2 eq., flip-flops, transistors, depth."""
    from qtaml_hw.hdl.simulators import rtl_sources
    from qtaml_hw.hdl.synth import synth_report

    res = synth_report("systolic_array", rtl_sources("systolic_array", "systolic_pe"), parameters={"N": n},
                       defines={"QTAML_SABOTEUR": None} if saboteur else None, liberty=liberty)
    return {"n": n, "saboteur": saboteur, **{k: res[k] for k in ("cells", "logic_ge", "ff_ge", "flip_flops",
                                                                  "total_ge", "transistors", "logic_depth")},
            **({"liberty_area": res["liberty_area"]} if liberty is not None else {})}


def _price(row: dict, args) -> None:
    words, r = args.sram_words, row["r"]
    row["check_storage_bits"] = words * r
    row["storage_overhead"] = r / float(args.word_bits)
    row["check_bits_per_protected_bit"] = r / float(row["k"])
    row["check_storage_um2"] = words * r * args.bit_cell_um2
    row["codec_um2"] = row["ecc_ge"] * args.nand2_um2
    row["data_storage_um2"] = words * args.word_bits * args.bit_cell_um2
    row["ecc_area_overhead"] = (row["check_storage_um2"] + row["codec_um2"]) / row["data_storage_um2"]


def _validate(args) -> list[str]:
    from qtaml_hw.errors import QtamlError

    codes = [args.code] if args.code else ["secded", "sec"]
    for c in codes:
        if c not in CODES:
            raise QtamlError(f"unknown code {c!r}; choose one of {', '.join(CODES)}")
    if args.data_bits is not None and not 1 <= args.data_bits <= 64:
        raise QtamlError(f"unsupported code size: --data-bits must be in 1..64, got {args.data_bits}")
    if args.array_n > 16:
        raise QtamlError(f"--array-n must be in 0..16, got {args.array_n}")
    if args.liberty is not None:
        from pathlib import Path

        if not Path(args.liberty).is_file():
            raise QtamlError(f"--liberty {args.liberty}: no such file")
    return codes


def run(args) -> int:
    from qtaml_hw.errors import QtamlError

    codes = _validate(args)
    widths = [args.data_bits] if args.data_bits else [k for k in DEFAULT_WIDTHS if k <= args.word_bits]
    if not widths or max(widths) > args.word_bits:
        raise QtamlError(f"--data-bits ({max(widths or [args.data_bits])}) cannot exceed --word-bits ({args.word_bits})")
    arrays = [array_area(args.array_n, liberty=args.liberty)] if args.array_n else []
    if args.array_n and args.with_saboteur:
        arrays.append(array_area(args.array_n, saboteur=True, liberty=args.liberty))
    rows = []
    for code in codes:
        for k in widths:
            if code in ("tmr", "rep") and k * ((3 if code == "tmr" else args.copies) - 1) > 64:
                continue  # (copies - 1) k check bits per word: beyond the codec's 64-bit check word
            row = ecc_area(code, k, t=args.t, copies=args.copies, liberty=args.liberty)
            _price(row, args)
            if arrays:
                row["ecc_ge_per_array_ge"] = row["ecc_ge"] / arrays[0]["total_ge"]
            rows.append(row)
    if args.json:
        emit_json({"rows": rows, "array": arrays[0] if arrays else None, "arrays": arrays,
                   "sram_words": args.sram_words, "word_bits": args.word_bits, "bit_cell_um2": args.bit_cell_um2,
                   "nand2_um2": args.nand2_um2})
        return 0
    cols = ["code", "n", "k", "r", "enc_ge", "dec_ge", "ecc_flip_flops", "ecc_transistors", "enc_depth", "dec_depth",
            "codec_um2", "check_storage_um2", "ecc_area_overhead", "storage_overhead"]
    cols += (["ecc_liberty_area"] if args.liberty else []) + (["ecc_ge_per_array_ge"] if arrays else [])
    print(format_table(rows, cols, floatfmt=".4g"))
    print(f"SRAM {args.sram_words} x {args.word_bits} bits, {args.bit_cell_um2:g} um^2 per bit cell; logic "
          f"{args.nand2_um2:g} um^2 per NAND2 eq.; ecc_area_overhead = (codec + check storage) / data storage")
    for a in arrays:
        print(f"{a['n']}x{a['n']} systolic array{' WITH saboteur' if a['saboteur'] else ''}: {a['total_ge']:.0f} "
              f"NAND2 eq. ({a['logic_ge']:.0f} logic + {a['ff_ge']:.0f} in {a['flip_flops']} flip-flops), "
              f"{a['transistors']} transistors, logic depth {a['logic_depth']}")
    return 0
