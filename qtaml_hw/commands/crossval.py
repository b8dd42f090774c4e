"""`qtaml-hw crossval`: RTL fault injection by hierarchical path vs the software fault models (docs/crossval.md).

``--mode fullstate`` (default): every state bit of accel_top (4x4, SECDED), datapath and ECC
classes bit-exact against the reuse-factor model and the codec, control outcome tables and
the predictable control errors.  ``--mode datapath``: the five datapath classes only (any N).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qtaml_hw.commands._common import _to_jsonable, add_json, add_seed, emit_json, format_table, positive_int
from qtaml_hw.fsio import check_target, write_text

NAME = "crossval"
HELP = "cross-validate the FIdelity-style software fault model against RTL fault injection, per class"
DESCRIPTION = (HELP + ". Exit status 0 when every RTL output equals the model's bit for bit, "
               "1 on any mismatch (the first one is printed so it can be reproduced), 2 for bad input.")
ORDER = 62


def add_arguments(parser) -> None:
    parser.add_argument("--sim", default="verilator", help="simulator: verilator (default) or icarus")
    parser.add_argument("--n", type=positive_int, default=4, help="array size N: 4, 8 or 16 (default 4)")
    parser.add_argument("--injections", type=positive_int, default=10000, help="single-bit injections (default 10000)")
    parser.add_argument("--mode", choices=("fullstate", "datapath"), default="fullstate",
                        help="fullstate (default): every state bit of the 4x4 SECDED build; datapath: "
                             "the weight/act/psum/out/sram classes only")
    parser.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                        help="fault classes to draw from (default all; `qtaml-hw sites` lists them)")
    parser.add_argument("--tile-every", type=positive_int, default=100,
                        help="injections per random tile before new operands are loaded (default 100)")
    parser.add_argument("--loop", choices=("cocotb", "insim"), default="cocotb",
                        help="datapath mode: injection loop in cocotb (default) or inside the simulation "
                             "(generated Verilog testbench, one process per core)")
    parser.add_argument("--plan", choices=("random", "targeted"), default="random",
                        help="datapath mode: uniform random injections (default) or the targeted plan (load edges, "
                             "last uses, pass boundaries, accumulator top bits) on injections/tile-every tiles")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    add_seed(parser)
    add_json(parser)


def _write_atomic(path: Path, obj) -> None:
    write_text(path, json.dumps(_to_jsonable(obj), indent=2) + "\n")  # unique temp + os.replace, no symlink


def run(args) -> int:
    from qtaml_hw.fidelity.crossval import build_config, parse_classes, run_crossval
    from qtaml_hw.hdl.simulators import check_simulator
    from qtaml_hw.errors import QtamlError

    check_simulator(args.sim)
    out = Path(args.out) if args.out else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise QtamlError(f"--out {out}: not a writable file path (directory missing or a directory given)")
    if args.mode == "fullstate":
        return _run_fullstate(args, out)
    build_config(args.n)
    classes = parse_classes(args.classes)
    if out is not None:
        check_target(out)  # a planted symlink: refused before the simulation, not after
    plan = runner = None
    if args.plan == "targeted":
        from qtaml_hw.fidelity.targeted import targeted_plan

        plan = targeted_plan(n=args.n, tiles=max(1, args.injections // args.tile_every), seed=args.seed)
    if args.loop == "insim":
        from qtaml_hw.fidelity.insim import run_insim

        runner = run_insim
    res = run_crossval(simulator=args.sim, n=args.n, injections=args.injections, seed=args.seed, classes=classes,
                       tile_every=args.tile_every, progress=args.injections >= 2000, plan=plan, runner=runner)
    if out is not None:
        _write_atomic(out, res)
    if args.json:
        emit_json(res)
    else:
        rows = [{"class": c, "injections": v["injections"], "agree": v["agree"],
                 "agreement_%": 100.0 * v["agreement"], "masked_rtl": v["masked_rtl"],
                 "masked_model": v["masked_model"], "p_masked_closed_form": v["p_masked_closed_form"],
                 "mean_reuse_factor": v["mean_reuse_factor"]} for c, v in res["per_class"].items()]
        print(f"{res['simulator']}, {args.n}x{args.n} array, {res['injections']} injections over "
              f"{res['tiles']} tiles (M <= {res['max_rows']}, P <= {res['max_passes']}), seed {res['seed']}")
        print(format_table(rows, floatfmt=".4g"))
        print(f"agreement {res['agree']}/{res['injections']}; RTL {res['rtl_injections_per_s']:.0f} injections/s "
              f"({res['crossings_per_injection']:.1f} crossings each), software model "
              f"{res['model_injections_per_s']:.0f} injections/s")
    if not res["bit_exact"]:
        sys.stderr.write(f"crossval: first mismatch: {json.dumps(_to_jsonable(res['first_mismatch']))}\n")
        return 1
    return 0


def _run_fullstate(args, out) -> int:
    from qtaml_hw.fidelity.fullstate import plan_fullstate, run_fullstate

    plan_fullstate(injections=1, seed=args.seed, n=args.n, classes=args.classes)  # validate before building
    res = run_fullstate(simulator=args.sim, injections=args.injections, seed=args.seed, n=args.n,
                        classes=args.classes, tile_every=args.tile_every, progress=args.injections >= 2000)
    if out is not None:
        _write_atomic(out, res)
    if args.json:
        emit_json(res)
    else:
        rows = []
        for c, v in res["per_class"].items():
            ag = v.get("agreement", v.get("agreement_on_predicted"))
            rows.append({"class": c, "injections": v["injections"], **v["outcomes"],
                         "model": "bit-exact" if "agreement" in v else f"{v['predicted']} predicted",
                         "agreement_%": float("nan") if ag is None else 100.0 * ag})
        print(f"{res['simulator']}, 4x4 array, {res['ecc']}, {res['injections']} injections by hierarchical path "
              f"over {res['tiles']} tiles, seed {res['seed']}; state bits injected {res['state_bits_injected']}"
              f"/{res['state_bits']} ({100 * res['coverage']:.1f}%)")
        print(format_table(rows, floatfmt=".4g"))
        other = [v for v in res["per_class"].values() if "predicted" in v]
        print(f"model agreement {res['agree']}/{res['modelled_injections']} (datapath, ECC, buffers), "
              f"{sum(v['agree'] for v in other)}/{sum(v['predicted'] for v in other)} (predicted control and "
              f"status errors); RTL {res['rtl_injections_per_s']:.0f} injections/s")
    if not res["bit_exact"]:
        sys.stderr.write(f"crossval: first mismatch: {json.dumps(_to_jsonable(res['first_mismatch']))}\n")
        return 1
    return 0
