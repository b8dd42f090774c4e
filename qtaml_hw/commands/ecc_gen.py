"""`qtaml-hw ecc-gen`: write (or check) the generated SECDED encoder/decoder RTL (design.md sections 3, 5)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, emit_json

NAME = "ecc-gen"
HELP = "generate rtl/secded_enc.v and rtl/secded_dec.v from the ECC package's H matrices (or --check them)"
ORDER = 62


def add_arguments(parser) -> None:
    parser.add_argument("--code", default="secded", help="secded (default; the RTL's modules) or sec")
    parser.add_argument("--out-dir", default=None, help="output directory (default: the repository's rtl/)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files in --out-dir differ from a fresh generation")
    add_json(parser)


def run(args) -> int:
    import sys
    from pathlib import Path

    from qtaml_hw.ecc.verilog import default_rtl_dir, generate, module_prefix, stale_files, write

    module_prefix(args.code)  # validates the code name
    out_dir = Path(args.out_dir) if args.out_dir else default_rtl_dir()
    if args.check:
        stale = stale_files(out_dir, args.code)
        if args.json:
            emit_json({"out_dir": str(out_dir), "up_to_date": not stale, "stale": stale})
        else:
            print("up to date" if not stale else "stale: " + ", ".join(stale))
        if stale:
            print(f"qtaml-hw ecc-gen: {len(stale)} generated file(s) differ; run `qtaml-hw ecc-gen`", file=sys.stderr)
        return 1 if stale else 0
    paths = write(out_dir, args.code)
    if args.json:
        emit_json({"out_dir": str(out_dir), "files": [str(p) for p in paths],
                   "bytes": {p.name: len(generate(args.code)[p.name]) for p in paths}})
    else:
        for p in paths:
            print(f"wrote {p}")
    return 0
