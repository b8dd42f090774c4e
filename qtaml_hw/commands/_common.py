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
