"""Physics benchmark: closed-form WKB vs quadrature, and the simpy timeline's cost per event.

Side by side in one run: time per thickness of the vectorised closed form vs one
``scipy.integrate.quad`` per thickness (ratio = how much the closed forms buy), both over the
same thickness grid, plus the largest relative disagreement between them; and the timeline's
wall time for a week of reads (every 10 min) with hourly scrubs over 1 word vs 4096 words:
event handling is per event, and what grows with words is filling the (reads x words)
interval matrix.
"""

from __future__ import annotations

import numpy as np

from benchmarks._timing import best_of


def run(*, quick: bool = False) -> dict:
    from qtaml_hw.physics import Schedule, simulate, wkb_exponent, wkb_exponent_numeric

    n = 200 if quick else 2000
    tox = np.linspace(1.0, 4.0, n)
    out = {}
    for v in (0.0, 1.5, 4.0):
        t_closed = best_of(lambda: wkb_exponent(t_ox_nm=tox, v_ox=v))
        t_quad = best_of(lambda: wkb_exponent_numeric(t_ox_nm=tox, v_ox=v), repeat=1)
        err = float(np.max(np.abs(wkb_exponent(t_ox_nm=tox, v_ox=v) / wkb_exponent_numeric(t_ox_nm=tox, v_ox=v) - 1)))
        out[f"v_ox_{v:g}"] = {"closed_us_per_tox": 1e6 * t_closed / n, "quad_us_per_tox": 1e6 * t_quad / n,
                              "speedup_closed_vs_quad": t_quad / t_closed, "max_rel_err": err}
    reads = np.arange(0.0, (1 if quick else 7) * 86400.0, 600.0)[1:]
    t_small = best_of(lambda: simulate(Schedule(n_words=1, read_times_s=reads, scrub_period_s=3600.0)))
    t_big = best_of(lambda: simulate(Schedule(n_words=4096, read_times_s=reads,
                                            scrub_period_s=3600.0)), repeat=1)
    out["timeline"] = {"reads": len(reads), "s_1_word": t_small, "s_many_words": t_big,
                       "ratio_many_vs_1": t_big / t_small}
    out["ratio"] = out["v_ox_0"]["speedup_closed_vs_quad"]
    return out
