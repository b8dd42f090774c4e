"""`make bench`: run every ``benchmarks/bench_*.py`` and write ``benchmarks/results.json``.

Each benchmark module exposes ``run(*, quick: bool = False) -> dict``; a result holds the
measured quantities side by side and the ratio the README quotes.  Usage::

    python -m benchmarks.run_all [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    ap.add_argument("--only", nargs="*", default=None, help="benchmark names (without bench_)")
    ap.add_argument("--out", default=str(HERE / "results.json"))
    args = ap.parse_args(argv)
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n.removeprefix("bench_") in args.only]
    results = {
        "machine": {"python": platform.python_version(), "processor": platform.machine(),
                    "cpus": __import__("os").cpu_count()},
        "quick": args.quick,
        "benchmarks": {},
    }
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        res = mod.run(quick=args.quick)
        res["wall_s"] = round(time.perf_counter() - t0, 2)
        results["benchmarks"][name.removeprefix("bench_")] = res
        print(json.dumps(res, indent=2), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
