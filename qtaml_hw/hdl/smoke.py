"""Set-up check of the simulators: build and run a small design on each (``make setup`` runs it).

``python -m qtaml_hw.hdl.smoke`` builds ``weight_sram`` (the configuration the test suite's
``plain`` case uses, so that build is shared) on Verilator and Icarus and runs
:mod:`qtaml_hw.hdl.smoke_tb` (words written and read back).  It says in one line per simulator
whether the installation works, before any test or CLI run depends on it.  A side effect on
Verilator: its runtime library (~27 CPU-s of every first build) lands in ccache once, at set-up,
instead of in whichever two builds the test workers start first.
"""

from __future__ import annotations

import sys

from qtaml_hw.errors import QtamlError
from qtaml_hw.hdl.job import run_user_test
from qtaml_hw.hdl.simulators import SIMULATORS, rtl_sources

#: the suite's weight_sram "plain" configuration (testbenches/weight_sram/test_weight_sram.py)
PARAMETERS = {"AddrBits": 3, "EccEnable": 0, "ProtectBits": 8}
DEFINES = {"QTAML_SABOTEUR": 1}


def check(simulator: str) -> float:
    """Build and run the smoke test on ``simulator``; seconds taken.  Raises QtamlError (one line)."""
    res = run_user_test(simulator=simulator, toplevel="weight_sram", sources=rtl_sources("weight_sram"),
                        test_module="qtaml_hw.hdl.smoke_tb", parameters=PARAMETERS, defines=DEFINES,
                        log_name="smoke.log")
    if res["failed"] or not res["tests"]:
        raise QtamlError(f"{simulator}: smoke test failed ({res['failed']} of {res['tests']} tests); see {res['log']}")
    return res["wall_s"]


def main(argv=None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(SIMULATORS)
    try:
        for name in names:
            print(f"setup: {name} builds and runs weight_sram ({check(name):.1f} s)", flush=True)
    except QtamlError as exc:
        print(f"setup: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
