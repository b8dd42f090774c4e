"""RTL-in-the-loop calibration with hidden parameters (design.md section 8; issue 16 done-when).

The hidden p10, r and the hardware seed are drawn from a generator here; the calibration sees
only the RTL's layer outputs.  Needs Verilator.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.sim


def test_calibration_recovers_hidden_rtl_parameters(cli):
    draw = np.random.default_rng(16_2026)
    p10 = float(np.round(draw.uniform(0.05, 0.15), 4))
    r = float(np.round(draw.uniform(0.2, 1.0), 3))
    seed = int(draw.integers(1, 2**31))
    code, out, err = cli("calibrate", "--model", "lenet5", "--layer", "conv2", "--rtl-p10", str(p10), "--rtl-r", str(r),
                         "--seed", str(seed), "--batch-states", "8", "--max-states", "32", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert abs(res["p10_fit"] - p10) / p10 < 0.10, (res["p10_fit"], p10)
    assert abs(res["r_fit"] - r) < 0.05, (res["r_fit"], r)
    assert res["rtl_runs"] == res["memory_states"] >= 8 and res["rtl_jobs"] >= 1
    assert res["source"] == "verilator"
