"""Coverage of the self-test program, its baselines and the RTL agreement check (design.md section 9).

:func:`coverage_report` measures, for one build:

* compute units: array-level single stuck-at coverage of the program's compute tiles by
  fault simulation (:func:`qtaml_hw.selftest.program.compute_coverage`), beside two
  baselines at equal test length (host cycles, :func:`program.truncate_to_cycles`):
  ``random`` (uniform random int8 operands and int32 preloads, the compute tiles' shapes)
  and ``layer`` (the runs of one real LeNet-5 layer on real images, in run order);
* RTL agreement (``sim`` not None): ``sample`` collapsed faults, each placed in a random PE,
  built into the RTL (:mod:`qtaml_hw.selftest.inject`) and run through the compute tiles;
  each RTL output must equal the fault simulator's predicted faulty output bit for bit,
  and detection (output != golden) must agree;
* control faults: every control-register stuck-at fault injected on the RTL running the
  control tiles, the network's representative tiles and random tiles of the same shapes
  (:mod:`qtaml_hw.selftest.control`).
"""

from __future__ import annotations

import numpy as np

from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.seeding import rng
from qtaml_hw.selftest.control import control_coverage, control_faults, tile_failures
from qtaml_hw.selftest.inject import GATE_FAULT_FREE, run_injections
from qtaml_hw.selftest.mapping import predicted_outputs
from qtaml_hw.selftest.netlist import pe_mac_netlist
from qtaml_hw.selftest.network import deployed_configs, layer_tiles, representative_tiles
from qtaml_hw.selftest.program import (BuildConfig, build_program, compute_coverage, cost, pe_faults,
                                       random_tiles, tile_cycles, truncate_to_cycles)


def sample_faults(*, fl, ts, n: int, sample: int, seed: int) -> tuple[list, list, int]:
    """``sample`` testable collapsed faults plus up to two redundant ones, each with a random PE."""
    gen = rng(seed, "selftest", "rtl-sample", n)
    pool = ts.faults[ts.status != "redundant"]
    red = ts.faults[ts.status == "redundant"]
    pick = list(gen.choice(pool, min(sample, len(pool)), replace=False)) + list(red[:2])
    pes = [(int(gen.integers(n)), int(gen.integers(n))) for _ in pick]
    return fl.tuples(pick), pes, len(pick) - min(sample, len(pool))


def rtl_agreement(*, simulator: str, nl, faults, pes, n_redundant: int, tiles, build: BuildConfig) -> dict:
    """Run the sampled faults (in their PEs) on the RTL; compare with the fault simulator."""
    inj = [(0, 0, 0), (GATE_FAULT_FREE, 0, 0)] + [(k + 1, r, c) for k, (r, c) in enumerate(pes)]
    res = run_injections(simulator=simulator, nl=nl, faults=faults, injections=inj, tiles=tiles,
                         row_bits=build.row_bits, pass_bits=build.pass_bits)
    out, status = res["out"], res["status"]
    golden = [t.expected() for t in tiles]
    clean_ok = all(np.array_equal(wrap_int32(out[k, i, : g.shape[0]]), g)
                   for k in (0, 1) for i, g in enumerate(golden))
    exact = det_agree = rtl_det = sim_det = 0
    for k, (f, pe) in enumerate(zip(faults, pes)):
        pred = predicted_outputs(nl, f, pe, tiles)
        got = [wrap_int32(out[k + 2, i, : p.shape[0]]) for i, p in enumerate(pred)]
        exact += all(np.array_equal(a, b) for a, b in zip(got, pred)) and not status[k + 2].any()
        d_sim = any(not np.array_equal(p, g) for p, g in zip(pred, golden))
        d_rtl = any(not np.array_equal(a, g) for a, g in zip(got, golden))
        sim_det, rtl_det, det_agree = sim_det + d_sim, rtl_det + d_rtl, det_agree + (d_sim == d_rtl)
    return {"simulator": simulator, "injected": len(faults), "redundant_injected": n_redundant,
            "fault_free_ok": bool(clean_ok), "outputs_bit_exact": int(exact), "detection_agrees": int(det_agree),
            "detected_rtl": int(rtl_det), "detected_faultsim": int(sim_det),
            "host_cycles_measured": int(res["host_cycles"]), "host_cycles_model": int(sum(tile_cycles(t) for t in tiles))}


def rtl_control(*, simulator: str, nl, data_faults, build: BuildConfig, control, network, random_ctrl,
                layer_cfgs) -> dict:
    """Control-fault injection on the RTL: coverage of the control tiles and of the baselines.

    ``data_faults``: the build's sampled MAC faults (the same build as the agreement run)."""
    faults = control_faults(n=build.n, row_bits=build.row_bits, pass_bits=build.pass_bits)
    tiles = list(control) + list(network) + list(random_ctrl)
    res = run_injections(simulator=simulator, nl=nl, faults=data_faults, injections=[(0, 0, 0)], tiles=tiles,
                         row_bits=build.row_bits, pass_bits=build.pass_bits, control=[f.row() for f in faults])
    fail = tile_failures(res["out"], res["status"], tiles)
    fault_free_ok = not bool(fail[0].any())
    fail = fail[1:]
    nc, nn = len(control), len(network)
    net_fail = fail[:, nc:nc + nn]
    layer_sel = [i for i, t in enumerate(network) if (t.rows, t.passes) in layer_cfgs]
    out = control_coverage(fail[:, :nc], net_fail)
    out["missed"] = [f"{faults[i].path}[{faults[i].bit}] s-a-{faults[i].stuck}" for i in out["missed"]]
    out["random"] = control_coverage(fail[:, nc + nn:], net_fail)["control_coverage"]
    out["layer"] = control_coverage(net_fail[:, layer_sel], net_fail)["control_coverage"]
    out["fault_free_ok"] = fault_free_ok
    return out


def coverage_report(*, n: int, seed: int, simulator: str | None, sample: int = 16, model: str = "lenet5",
                    layer: str = "conv2", build: BuildConfig | None = None) -> dict:
    """Every figure of ``qtaml-hw selftest coverage`` (module docstring)."""
    build = build or BuildConfig.default(n)
    nl, fl = pe_faults(pe_mac_netlist())
    configs = deployed_configs(model=model, n=n, max_rows=build.max_rows, max_passes=build.max_passes)
    prog, ts = build_program(build, seed=seed, control_configs=[c for cs in configs.values() for c in cs], nl=nl)
    compute = list(prog.compute)
    budget = cost(compute)["cycles"]
    report = {"array": n, "build": {"n": n, "max_rows": build.max_rows, "max_passes": build.max_passes},
              **compute_coverage(nl, fl, ts, compute, n=n)}
    total = cost(prog.tiles)
    report["test_tiles"], report["test_cycles"], report["test_bytes"] = total["tiles"], total["cycles"], total["bytes"]
    report["compute_cycles"], report["compute_bytes"] = budget, cost(compute)["bytes"]
    rand = truncate_to_cycles(random_tiles(compute, seed=seed), budget)
    report["random"] = compute_coverage(nl, fl, ts, rand, n=n)
    lt = layer_tiles(model=model, layer=layer, n=n, max_rows=build.max_rows, max_passes=build.max_passes)
    lay = truncate_to_cycles(lt, budget)
    report["layer"] = {"model": model, "layer": layer, **compute_coverage(nl, fl, ts, lay, n=n)}
    report["pe"] = {"gates": nl.n_gates, "gate_counts": nl.counts(), **prog.fault_counts, "atpg": prog.atpg}
    report["control_coverage"] = None
    if simulator:
        faults, pes, n_red = sample_faults(fl=fl, ts=ts, n=n, sample=sample, seed=seed)
        report["rtl"] = rtl_agreement(simulator=simulator, nl=nl, faults=faults, pes=pes, n_redundant=n_red,
                                      tiles=compute, build=build)
        network = representative_tiles(configs, lt)
        ctrl = rtl_control(simulator=simulator, nl=nl, data_faults=faults, build=build, control=prog.control, network=network,
                           random_ctrl=random_tiles(list(prog.control), seed=seed),
                           layer_cfgs={(t.rows, t.passes) for t in lay})
        report["control_coverage"] = ctrl["control_coverage"]
        report["random"]["control_coverage"] = ctrl.pop("random")
        report["layer"]["control_coverage"] = ctrl.pop("layer")
        report["control"] = ctrl
    return report
