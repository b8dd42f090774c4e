"""`qtaml-hw area`: ECC encoder/decoder area from Yosys, check-bit storage, array area (design.md sections 3, 5).

The encoder/decoder sources are generated from the same H matrices as the Python codec
(:mod:`qtaml_hw.ecc.verilog`; for SECDED at 8/16/32/64 data bits they are byte-identical
to ``rtl/secded_enc.v`` / ``rtl/secded_dec.v``) and synthesised to generic gates
(``synth -flatten``, :func:`qtaml_hw.hdl.synth.yosys_cells`).  Storage: an SRAM of
``--sram-words`` words of ``--word-bits`` bits, each protecting ``k`` of its bits, stores
``r(k)`` extra check bits per word (overhead ``r / word_bits``).  The systolic array
(``--array-n``) is synthesised once for comparison.
"""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, emit_json, format_table, nonneg_int, positive_int

NAME = "area"
HELP = "Yosys cells of the generated SEC/SECDED encoder+decoder, check-bit storage overhead, array area"
ORDER = 64
DEFAULT_WIDTHS = (8, 16, 32, 64)


def add_arguments(parser) -> None:
    parser.add_argument("--code", default=None, help="secded or sec (default: both)")
    parser.add_argument("--data-bits", type=positive_int, default=None,
                        help="protected data bits per word, 1..64 (default: a table of 8, 16, 32, 64)")
    parser.add_argument("--sram-words", type=positive_int, default=1024, help="SRAM depth in words (default 1024)")
    parser.add_argument("--word-bits", type=positive_int, default=64,
                        help="SRAM word width in data bits (default 64: 8 int8 weights)")
    parser.add_argument("--array-n", type=nonneg_int, default=4,
                        help="synthesise an N x N systolic array for comparison (default 4; 0: skip)")
    add_json(parser)


def ecc_area(code: str, data_bits: int) -> dict:
    """Cells of the encoder and decoder of ``code`` over ``data_bits`` bits (generated, then Yosys)."""
    import tempfile
    from pathlib import Path

    from qtaml_hw.hdl.synth import yosys_cells
    from qtaml_hw.ecc import parity_check
    from qtaml_hw.ecc.verilog import generate, module_prefix

    h = parity_check(code, data_bits)
    prefix = module_prefix(code)
    params = {"DataBits": h.k, "CheckBits": h.r}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, text in generate(code, (h.k,)).items():
            paths[name] = Path(tmp) / name
            paths[name].write_text(text)
        enc = yosys_cells(f"{prefix}_enc", [paths[f"{prefix}_enc.v"]], params)
        dec = yosys_cells(f"{prefix}_dec", [paths[f"{prefix}_enc.v"], paths[f"{prefix}_dec.v"]], params)
    return {"code": code, "n": h.n, "k": h.k, "r": h.r, "enc_cells": enc["cells"], "dec_cells": dec["cells"],
            "ecc_cells": enc["cells"] + dec["cells"], "enc_by_type": enc["by_type"], "dec_by_type": dec["by_type"]}


def array_area(n: int) -> dict:
    from qtaml_hw.hdl.simulators import rtl_sources
    from qtaml_hw.hdl.synth import yosys_cells

    res = yosys_cells("systolic_array", rtl_sources("systolic_array", "systolic_pe"), {"N": n})
    return {"n": n, "cells": res["cells"]}


def run(args) -> int:
    from qtaml_hw.ecc import CODE_KINDS, sram_storage
    from qtaml_hw.ecc.codec import MAX_CODEC_DATA_BITS
    from qtaml_hw.errors import QtamlError

    codes = [args.code] if args.code else list(reversed(CODE_KINDS))
    for c in codes:
        if c not in CODE_KINDS:
            raise QtamlError(f"unknown code {c!r}; choose one of {', '.join(CODE_KINDS)}")
    if args.data_bits is not None and not 1 <= args.data_bits <= MAX_CODEC_DATA_BITS:
        raise QtamlError(f"unsupported code size: --data-bits must be in 1..{MAX_CODEC_DATA_BITS}, got {args.data_bits}")
    widths = [args.data_bits] if args.data_bits else [k for k in DEFAULT_WIDTHS if k <= args.word_bits]
    if not widths or max(widths) > args.word_bits:
        raise QtamlError(f"--data-bits ({max(widths or [args.data_bits])}) cannot exceed --word-bits ({args.word_bits})")
    if args.array_n > 16:
        raise QtamlError(f"--array-n must be in 0..16, got {args.array_n}")
    array = array_area(args.array_n) if args.array_n else None
    rows = []
    for code in codes:
        for k in widths:
            row = ecc_area(code, k)
            row.update(sram_storage(code=code, data_bits=k, words=args.sram_words, word_bits=args.word_bits))
            if array:
                row["ecc_cells_per_array_cell"] = row["ecc_cells"] / array["cells"]
            rows.append(row)
    if args.json:
        emit_json({"rows": rows, "array": array, "sram_words": args.sram_words, "word_bits": args.word_bits})
        return 0
    cols = ["code", "n", "k", "r", "enc_cells", "dec_cells", "ecc_cells", "check_bits_per_protected_bit",
            "storage_overhead", "check_storage_bits"] + (["ecc_cells_per_array_cell"] if array else [])
    print(format_table(rows, cols, floatfmt=".4g"))
    print(f"SRAM {args.sram_words} x {args.word_bits} bits; storage_overhead = r / {args.word_bits} per word")
    if array:
        print(f"{array['n']}x{array['n']} systolic array: {array['cells']} cells (Yosys generic gates)")
    return 0
