"""Option helpers shared by subcommands: --json, --seed, typed values with clear errors."""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_seed(parser: argparse.ArgumentParser, default: int = 0) -> None:
    parser.add_argument("--seed", type=nonneg_int, default=default, help=f"random seed (default {default})")


def _to_jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _to_jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)
    return obj


def emit_json(obj) -> None:
    json.dump(_to_jsonable(obj), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def format_table(rows: list[dict], columns: list[str] | None = None, floatfmt: str = ".6g") -> str:
    """Plain-text table for terminal output."""
    if not rows:
        return "(empty)"
    columns = columns or list(rows[0].keys())

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return format(float(v), floatfmt)
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _typed(cast, check, what):
    def conv(text: str):
        try:
            value = cast(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    conv.__name__ = what
    return conv


positive_float = _typed(float, lambda v: math.isfinite(v) and v > 0, "a positive number")
nonneg_float = _typed(float, lambda v: math.isfinite(v) and v >= 0, "a non-negative number")
finite_float = _typed(float, math.isfinite, "a finite number")
probability = _typed(float, lambda v: math.isfinite(v) and 0.0 <= v <= 1.0, "a probability in [0, 1]")
positive_int = _typed(int, lambda v: v > 0, "a positive integer")
nonneg_int = _typed(int, lambda v: v >= 0, "a non-negative integer")


def add_flip_model_args(parser: argparse.ArgumentParser, *, p_default: float) -> None:
    """``--p-flip`` or the physics options (design.md section 1) that give the leakage flip model."""
    parser.add_argument("--p-flip", type=probability, default=None,
                        help=f"symmetric per-bit flip probability (default {p_default:g} unless --t-ox-nm is given)")
    phys = parser.add_argument_group("physics (WKB) flip model, used when --t-ox-nm is given")
    phys.add_argument("--t-ox-nm", type=positive_float, default=None, help="oxide thickness [nm]")
    phys.add_argument("--phi-b-ev", type=positive_float, default=3.1, help="barrier height [eV] (default 3.1)")
    phys.add_argument("--m-ox", type=positive_float, default=0.42, help="oxide effective mass ratio (default 0.42)")
    phys.add_argument("--v-ox", type=nonneg_float, default=0.0, help="oxide voltage [V] (default 0)")
    phys.add_argument("--tau0-s", type=positive_float, default=None,
                      help="attempt time [s], tau = tau0 / T (default 1e-13, the one project default, docs/physics.md)")
    phys.add_argument("--cell", default=None,
                      help="calibrated cell preset instead of --t-ox-nm (qtaml-hw physics --list-cells)")
    phys.add_argument("--t-s", "--refresh-s", dest="t_s", type=positive_float, default=1e-4,
                      help="retention (refresh) interval [s] (default 1e-4)")
    phys.add_argument("--r", type=nonneg_float, default=1.0, help="p01 = r p10, r in [0, 1] (default 1)")
    parser.set_defaults(_p_flip_default=p_default)


def flip_model_from_args(args):
    """The ``FlipModel`` of :func:`add_flip_model_args`' options (physics when ``--t-ox-nm`` is given)."""
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.memory import FlipModel

    if (args.t_ox_nm is not None or args.cell is not None) and args.p_flip is not None:
        raise QtamlError("give either --p-flip or physics options (--t-ox-nm / --cell ...), not both")
    if args.cell is not None:
        from qtaml_hw.physics import calibrate, operating_point

        if args.t_ox_nm is not None or args.tau0_s is not None:
            raise QtamlError("--cell is calibrated: do not also give --t-ox-nm or --tau0-s")
        op = operating_point(calibrate(args.cell), args.t_s, r=args.r)
        return FlipModel(op["p10"], op["p01"])
    if args.t_ox_nm is not None:
        from qtaml_hw.physics import DEFAULT_TAU0_S, flip_probabilities

        if args.r > 1:
            raise QtamlError(f"--r must be in [0, 1], got {args.r}")
        fp = flip_probabilities(t_ox_nm=args.t_ox_nm, phi_b_ev=args.phi_b_ev, m_ox=args.m_ox, v_ox=args.v_ox,
                                tau0_s=DEFAULT_TAU0_S if args.tau0_s is None else args.tau0_s, t_s=args.t_s, r=args.r)
        return FlipModel(fp["p10"], fp["p01"])
    return FlipModel.symmetric(args._p_flip_default if args.p_flip is None else args.p_flip)
