"""Fault injections per second: RTL vs software model vs PyTorch replay layer, in one run (design.md section 6).

Layer: LeNet-5 ``conv2`` (K = 150, N_out = 16) on an 8x8 array (2 K chunks of 10 passes,
2 column tiles, rows in chunks of 32), first ``images`` MNIST test images.  An *injection*
is one fault trial evaluated on the layer's int32 outputs for all images:

* ``leakage``: WKB flips over the whole layer memory image (t_ox 1.8 nm, 3.1 eV, 0.42 m0,
  tau0 1e-3 s, one day, r 0.1: p10 = 0.061, p01 = 0.0061);
* ``register``: one single-bit saboteur flip (random class weight/act/psum/out, PE, cycle,
  bit) in one random run of the layer.

Per injection: RTL = the whole layer on Verilator (trials in one cocotb job; memory
loading included, build and simulator start-up excluded); software model = NumPy golden
(im2col GEMM on the faulty weights; for register faults the FIdelity-style reuse model's
delta); replay = :class:`qtaml_hw.nn.replay.ReplayLayer` (torch conv on the faulty weights;
register records through the same reuse model).  Agreement = fraction of trials whose RTL
outputs equal the replay layer's bit-exactly.

Statistics (long version of the test in ``testbenches/layer``): network accuracy over
``trials`` RTL-sourced leakage trials vs ``trials`` independent software-model trials
(Welch, Mann-Whitney, KS; power of the Welch test for a one-SD and a 2-point shift), and
the paired run (software-model flips written into the SRAM, same seed) with identical
per-trial accuracy.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from qtaml_hw.rtlnn.layer_eval import (draw_masks, leakage_trials, setup_layer, software_accuracies, software_codes,
                                       two_sample_comparison)
from qtaml_hw.rtlnn.layer_job import run_layer_job
from qtaml_hw.rtlnn.layer_map import RegisterFault
from qtaml_hw.fidelity.schedule import GemmSchedule
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn.replay import layer_inputs
from qtaml_hw.seeding import rng

WKB = dict(t_ox_nm=1.8, phi_b_ev=3.1, m_ox=0.42, v_ox=0.0, tau0_s=1e-3, t_s=86400.0, r=0.1)


def _wkb():
    from qtaml_hw.physics import flip_probabilities

    fp = flip_probabilities(**WKB)
    return FlipModel(fp["p10"], fp["p01"])


def _log(msg):
    print(f"bench_replay: {msg}", file=sys.stderr, flush=True)


def _register_faults(setup, trials, seed):
    mp = setup.mapping
    runs = list(mp.runs(setup.rows))
    total = GemmSchedule(n=mp.n, rows=mp.max_rows, passes=mp.ppc).total_cycles
    gen = rng(seed, "bench_replay", "register")
    out = []
    for t in range(trials):
        cls = ("weight", "act", "psum", "out")[int(gen.integers(0, 4))]
        width = 8 if cls in ("weight", "act") else 32
        out.append((t, RegisterFault(*runs[int(gen.integers(0, len(runs)))], cls, int(gen.integers(0, mp.n)),
                                     int(gen.integers(0, mp.n)), int(gen.integers(0, total)),
                                     1 << int(gen.integers(0, width)))))
    return out


def _leakage(setup, fm, trials, seed):
    mp, layer = setup.mapping, setup.layer
    dm, _ = draw_masks(setup, source="rtl", flip_model=fm, seed=seed, trials=trials)
    image = mp.memory_image()
    rtl = run_layer_job(mp, setup.a_pad, simulator="verilator", data_mask=dm)
    weights = [mp.layer_weights_from_image(image ^ d) for d in dm]
    t0 = time.perf_counter()
    golden = [mp.faulty_accumulators(setup.a_pad, image=image ^ d) for d in dm]
    sw_s = time.perf_counter() - t0
    xin = layer_inputs(setup.qmodel, setup.name, setup.x)
    t0 = time.perf_counter()
    replay = []
    for w in weights:
        layer.set_weights(w)
        replay.append(layer.to_rows(layer.accumulators(xin)))
    replay_s = time.perf_counter() - t0
    layer.clear_faults()
    agree = np.mean([np.array_equal(rtl["acc"][t], replay[t].numpy()) and np.array_equal(golden[t], rtl["acc"][t])
                     for t in range(trials)])
    return _rates(trials, rtl, sw_s, replay_s, agree)


def _register(setup, trials, seed):
    mp, layer = setup.mapping, setup.layer
    faults = _register_faults(setup, trials, seed)
    rtl = run_layer_job(mp, setup.a_pad, simulator="verilator", register_faults=faults, trials=trials)
    w_pad = mp.padded_weights()
    t0 = time.perf_counter()
    deltas = [mp.register_fault_delta(setup.a_pad, w_pad, f) for _, f in faults]
    sw_s = time.perf_counter() - t0
    xin = layer_inputs(setup.qmodel, setup.name, setup.x)
    t0 = time.perf_counter()
    replay = []
    for _, f in faults:
        layer.set_register_faults([f])
        replay.append(layer.to_rows(layer.accumulators(xin)))
    replay_s = time.perf_counter() - t0
    layer.clear_faults()
    agree = np.mean([np.array_equal(rtl["acc"][t], replay[t].numpy()) for t in range(trials)])
    visible = int(sum(np.count_nonzero(d[2]) > 0 for d in deltas))
    out = _rates(trials, rtl, sw_s, replay_s, agree)
    out["faults_visible"] = visible
    return out


def _rates(trials, rtl, sw_s, replay_s, agree):
    rtl_rate = trials / rtl["job_s"]
    replay_rate = trials / replay_s
    return {
        "trials": trials, "rtl_cycles": rtl["cycles"],
        "rtl_injections_per_s": round(rtl_rate, 3),
        "rtl_injections_per_s_incl_startup": round(trials / rtl["wall_s"], 3),
        "software_model_injections_per_s": round(trials / sw_s, 1),
        "replay_injections_per_s": round(replay_rate, 1),
        "replay_over_rtl": round(replay_rate / rtl_rate, 1),
        "software_over_rtl": round(trials / sw_s / rtl_rate, 1),
        "agreement_rtl_vs_replay": float(agree),
    }


def _statistics(fm, *, images, trials):
    setup = setup_layer(model="lenet5", layer="conv2", n=8, images=images)
    _log(f"statistics: {trials} RTL-sourced leakage trials on {images} images (Verilator)")
    t0 = time.perf_counter()
    rtl = leakage_trials(setup, simulator="verilator", flip_model=fm, seed=101, trials=trials, source="rtl")
    rtl_s = time.perf_counter() - t0
    rtl_acc = np.array([t["accuracy_rtl"] for t in rtl["trials"]])
    sw_acc = software_accuracies(setup, flip_model=fm, seed=202, trials=trials)
    cmp = two_sample_comparison(rtl_acc, sw_acc)
    cmp["power_at_2_points"] = two_sample_comparison(rtl_acc, sw_acc, delta=0.02)["power_at_delta"]
    _log(f"statistics: paired run, {trials} software-model trials written into the SRAM")
    paired = leakage_trials(setup, simulator="verilator", flip_model=fm, seed=303, trials=trials, source="software")
    paired_sw = software_accuracies(setup, flip_model=fm, seed=303, trials=trials)
    paired_rtl = np.array([t["accuracy_rtl"] for t in paired["trials"]])
    codes = software_codes(setup, flip_model=fm, seed=303, trials=1)
    return {
        "images": images, "clean_replay_accuracy": rtl["clean_replay_accuracy"],
        "two_sample": cmp,
        "rtl_bit_exact_trials": int(sum(t["bit_exact"] for t in rtl["trials"])),
        "paired_identical_trials": int(np.sum(paired_rtl == paired_sw)),
        "paired_trials": trials, "paired_mean_accuracy": float(paired_rtl.mean()),
        "weights_changed_per_trial_example": int(np.count_nonzero(codes[0] != setup.qmodel.layer("conv2").qtensor.codes)),
        "rtl_stats_wall_s": round(rtl_s, 1),
    }


def run(*, quick: bool = False) -> dict:
    fm = _wkb()
    images = 4 if quick else 10
    trials = 8 if quick else 40
    setup = setup_layer(model="lenet5", layer="conv2", n=8, images=images)
    _log(f"leakage injections: {trials} trials, {images} images, Verilator")
    leak = _leakage(setup, fm, trials, seed=1)
    _log(f"register injections: {trials} trials")
    reg = _register(setup, trials, seed=2)
    stats = _statistics(fm, images=10 if quick else 20, trials=12 if quick else 40)
    return {
        "layer": "lenet5.conv2 on 8x8 (2 K chunks x 10 passes, 2 column tiles, 32-row runs)",
        "images": images, "p10": float(fm.p10), "p01": float(fm.p01),
        "leakage": leak, "register": reg, "statistics": stats,
        "replay_over_rtl_leakage": leak["replay_over_rtl"], "replay_over_rtl_register": reg["replay_over_rtl"],
    }
