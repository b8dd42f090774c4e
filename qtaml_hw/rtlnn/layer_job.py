"""Launch a mapped layer on the RTL through cocotb and get its accumulators back (design.md section 6).

Same approach as :mod:`qtaml_hw.fidelity.rtl_job`: the job goes to the simulator in an .npz
file, :mod:`qtaml_hw.rtlnn.layer_tb` runs every tile of the layer, and the results come back
in a second file; the simulator's own output goes to a log file (stdout stays clean for --json).
"""

from __future__ import annotations

import logging

import numpy as np

from qtaml_hw.rtlnn.layer_map import LayerMapping, RegisterFault, top_config_for
from qtaml_hw.hdl.job import run_job
from qtaml_hw.hdl.simulators import accel_sources, check_simulator
from qtaml_hw.errors import QtamlError

log = logging.getLogger(__name__)


def run_layer_job(mapping: LayerMapping, a_pad: np.ndarray, *, simulator: str, data_mask=None, check_mask=None,
                  register_faults=(), trials: int | None = None, ecc: bool = False, protect_bits: int = 8,
                  readback: bool = False) -> dict:
    """Run all tiles of ``mapping`` for activation matrix ``a_pad`` (M, k_pad) on the RTL, once per trial.

    ``data_mask``/``check_mask``: leakage XOR masks on the layer image, (words,) for one
    trial or (T, words); ``register_faults``: :class:`RegisterFault` (trial 0) or
    ``(trial, RegisterFault)`` pairs, at most one per run.  Returns ``acc`` (T, M, N_out)
    int32, per-trial per-run ECC counts ``corrected``/``uncorrectable`` (T, runs; run order
    of :meth:`LayerMapping.runs`), ``seen`` (T, words: decoded image read back when
    ``readback``), ``cycles``, ``crossings``, ``run_s`` (start..done phases), ``job_s``
    (whole cocotb job incl. memory loading) and ``wall_s`` (incl. build and start-up).
    """
    check_simulator(simulator)
    cfg = top_config_for(mapping, ecc=ecc, protect_bits=protect_bits)
    image = mapping.memory_image()
    words = len(image)
    t = trials or (1 if data_mask is None or np.ndim(data_mask) == 1 else len(data_mask))
    dm = np.zeros((t, words), "<u8") if data_mask is None else np.asarray(data_mask, "<u8").reshape(-1, words)
    cm = np.zeros((t, words), np.uint8) if check_mask is None else np.asarray(check_mask, np.uint8).reshape(-1, words)
    if dm.shape != (t, words) or cm.shape != (t, words):
        raise QtamlError(f"leakage masks must have shape ({t}, {words}) (one row per trial, one entry per image word)")
    pairs = [(0, f) if isinstance(f, RegisterFault) else (int(f[0]), f[1]) for f in register_faults]
    faults = np.asarray([[tr, *f.as_row()] for tr, f in pairs], np.int64).reshape(-1, 9)
    keys = [tuple(r[:4]) for r in faults]
    if len(set(keys)) != len(keys):
        raise QtamlError("at most one register fault per run (trial, ct, kc, rc)")
    if len(faults) and (faults[:, 0].min() < 0 or faults[:, 0].max() >= t):
        raise QtamlError(f"register fault trial index out of range [0, {t})")
    job = run_job(simulator=simulator, toplevel="accel_top", sources=accel_sources(),
                  test_module="qtaml_hw.rtlnn.layer_tb", parameters=cfg.parameters(),
                  defines=cfg.defines(), env=cfg.env(),
                  job={"a": np.asarray(a_pad, np.int8), "image": image, "data_mask": dm, "check_mask": cm,
                       "faults": faults, "readback": int(readback),
                       "geom": np.array([mapping.n_ct, mapping.n_kc, mapping.ppc, mapping.words_per_tile])},
                  log_name="layer-run.log")
    r, wall = job.arrays, job.wall_s
    log.info("simulator log: %s", job.log_path)
    return {"acc": r["acc"][:, :, : mapping.n_out], "corrected": r["corrected"], "uncorrectable": r["uncorrectable"],
            "seen": r["seen"], "cycles": int(r["cycles"]), "crossings": int(r["crossings"]),
            "run_s": float(r["run_s"]), "job_s": float(r["job_s"]), "wall_s": wall, "trials": t}
