"""`qtaml-hw rtl-test`: run a user's own cocotb test on a design described by a descriptor (docs/descriptor.md)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, add_seed, emit_json

NAME = "rtl-test"
HELP = "build a design from its descriptor and run a cocotb test module on it (Verilator or Icarus)"
DESCRIPTION = (HELP + ". The test finds the descriptor in QTAML_DESIGN (for qtaml_hw.fidelity.byo.inject_leakage); "
               "the simulator log goes to sim/build/<sim>/. Exit 0 when every test passed, 1 if any failed, 2 for "
               "bad input.")
ORDER = 63


def add_arguments(parser) -> None:
    parser.add_argument("--design", required=True, metavar="DESCRIPTOR.toml", help="design descriptor")
    parser.add_argument("--test", required=True, metavar="TEST.py", help="cocotb test module (a .py file)")
    parser.add_argument("--sim", default="verilator", help="simulator: verilator (default) or icarus")
    parser.add_argument("--testcase", default=None, help="run only these tests (comma-separated)")
    add_seed(parser)
    add_json(parser)


def run(args) -> int:
    import sys
    from pathlib import Path

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.fidelity.design import load_design
    from qtaml_hw.hdl.job import run_user_test

    test = Path(args.test).resolve()
    if test.suffix != ".py" or not test.is_file():
        raise QtamlError(f"--test {args.test}: not a Python file")
    design = load_design(args.design)
    res = run_user_test(simulator=args.sim, toplevel=design.top, sources=design.sources, test_file=test,
                        parameters=dict(design.parameters), defines=dict(design.defines), seed=args.seed,
                        testcase=args.testcase, env={"QTAML_DESIGN": str(design.path.resolve())})
    out = {"design": design.name, "top": design.top, "simulator": args.sim, "test": str(test), **res}
    if args.json:
        emit_json(out)
    else:
        print(f"{design.name} on {args.sim}: {res['tests'] - res['failed']}/{res['tests']} cocotb tests passed "
              f"({res['wall_s']:.1f} s); log {res['log']}")
    if res["failed"]:
        print(f"rtl-test: {res['failed']} test(s) failed; see {res['log']}", file=sys.stderr)
        return 1
    return 0
