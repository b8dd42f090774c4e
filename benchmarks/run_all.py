"""`make bench`: run every ``benchmarks/bench_*.py`` and write ``benchmarks/results.json``.

Each benchmark module exposes ``run(*, quick: bool = False) -> dict``; a result holds the
measured quantities side by side and the ratio the README quotes.  Usage::

    python -m benchmarks.run_all [--quick] [--only NAME ...]   (--only keeps the other entries of the file)
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
    out = Path(args.out)
    if args.only and out.exists():  # a partial run updates its entries and keeps the others
        try:
            results["benchmarks"] = json.loads(out.read_text()).get("benchmarks", {})
        except (OSError, ValueError):
            pass
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        res = mod.run(quick=args.quick)
        res["wall_s"] = round(time.perf_counter() - t0, 2)
        res["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        results["benchmarks"][name.removeprefix("bench_")] = res
        print(json.dumps(res, indent=2), flush=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
