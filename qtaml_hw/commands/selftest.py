"""`qtaml-hw selftest`: in-field functional self-test of the accelerator (design.md section 9).

``generate`` writes the self-test program (GEMM tiles + expected outputs, .npz, and a .json
manifest with size in bytes and cycles); ``coverage`` measures single stuck-at coverage of
the compute units by fault simulation, the RTL agreement on a sample of injected faults,
and control-fault coverage on the RTL, beside random and real-layer baselines (docs/selftest.md).
"""

from __future__ import annotations

import argparse

from qtaml_hw import fsio
from qtaml_hw.commands._common import add_json, add_seed, emit_json, format_table, nonneg_int

from qtaml_hw.errors import QtamlError

NAME = "selftest"
HELP = "in-field functional self-test: ATPG patterns mapped to GEMM tiles, coverage vs random and a real layer"
ORDER = 75
ACTIONS = ("generate", "coverage")


def _array(text: str) -> int:
    if text not in ("4", "8", "16"):
        raise argparse.ArgumentTypeError(f"{text!r} is not an array size (4, 8 or 16)")
    return int(text)


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="generate: write the program; coverage: measure it")
    parser.add_argument("--array", type=_array, default=4, help="array size N of the N x N array (4, 8, 16; default 4)")
    parser.add_argument("--out", default=None, help="generate: program file (.npz; default selftest_<N>x<N>.npz)")
    parser.add_argument("--sim", default="none", choices=("icarus", "verilator", "none"),
                        help="coverage: simulator for the RTL injection checks (default none: fault simulation only)")
    parser.add_argument("--sample", type=nonneg_int, default=16,
                        help="coverage: MAC faults injected into the RTL for the agreement check (default 16)")
    parser.add_argument("--model", default="lenet5", help="deployed network (default lenet5)")
    parser.add_argument("--layer", default="conv2", help="coverage: the real layer used as a baseline (default conv2)")
    add_seed(parser)
    add_json(parser)


def _generate(args) -> int:
    from pathlib import Path

    from qtaml_hw.selftest.network import deployed_configs
    from qtaml_hw.selftest.program import BuildConfig, build_program

    build = BuildConfig.default(args.array)
    out = Path(args.out or f"selftest_{args.array}x{args.array}.npz")
    if out.suffix != ".npz":
        raise QtamlError(f"--out must name a .npz file, got {out.name}")
    fsio.check_target(out)
    fsio.check_dir_writable(out.parent)
    configs = deployed_configs(model=args.model, n=build.n, max_rows=build.max_rows, max_passes=build.max_passes)
    prog, _ = build_program(build, seed=args.seed, control_configs=[c for cs in configs.values() for c in cs])
    manifest = prog.write(out)
    manifest["manifest"] = str(out.with_suffix(".json"))
    if args.json:
        emit_json(manifest)
    else:
        rows = [{"part": k, **manifest[k]} for k in ("compute", "control", "total")]
        print(f"wrote {out} ({manifest['total']['tiles']} tiles) and {out.with_suffix('.json')}")
        print(format_table(rows))
    return 0


def _coverage(args) -> int:
    from qtaml_hw.hdl.simulators import check_simulator
    from qtaml_hw.selftest.evaluate import coverage_report

    sim = None if args.sim == "none" else args.sim
    if sim:
        check_simulator(sim)
    rep = coverage_report(n=args.array, seed=args.seed, simulator=sim, sample=args.sample, model=args.model,
                          layer=args.layer)
    if args.json:
        emit_json(rep)
        return 0
    keys = ("faults", "untestable", "detected", "coverage_of_testable", "control_coverage", "test_cycles",
            "test_bytes")
    rows = [{"test": "selftest", **{k: rep[k] for k in keys}}]
    for base in ("random", "layer"):
        rows.append({"test": base, **{k: rep[base].get(k, "") for k in keys}})
    rows[1]["test_cycles"], rows[1]["test_bytes"] = rep["random"]["test_cycles"], rep["random"]["test_bytes"]
    rows[2]["test_cycles"], rows[2]["test_bytes"] = rep["layer"]["test_cycles"], rep["layer"]["test_bytes"]
    print(format_table(rows))
    if "rtl" in rep:
        r = rep["rtl"]
        print(f"RTL ({r['simulator']}): {r['outputs_bit_exact']}/{r['injected']} injected faults bit-exact as predicted, "
              f"detection agrees for {r['detection_agrees']}/{r['injected']}")
    return 0


def run(args) -> int:
    return _generate(args) if args.action == "generate" else _coverage(args)
