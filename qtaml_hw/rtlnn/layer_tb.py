"""cocotb module: run every tile of one mapped layer on ``accel_top`` (design.md section 6).

Job file ``QTAML_JOB`` (.npz, written by :func:`qtaml_hw.rtlnn.layer_job.run_layer_job`):
``a`` (M, k_pad) int8 activation matrix, ``image`` clean layer memory image (uint64 words),
``data_mask``/``check_mask`` (T, words) leakage XOR masks on that image, one row per trial,
``faults`` (F, 9) register fault rows (trial, then :meth:`RegisterFault.as_row`), ``geom`` = [n_ct, n_kc, ppc, words_per_tile],
``readback`` (1: read every SRAM word back through the ECC decoder after loading a tile).

Each trial runs the whole layer (layer_map module docstring): ``for ct: for kc: write tile (ct, kc) clean, XOR its
leakage masks; for rc: preload = result of (ct, kc-1, rc), run, read outputs``.  Results go
to ``QTAML_JOB_OUT``: ``acc`` (T, M, n_ct*N) int32, per-trial per-run ECC counts (the RTL counters reset
at every start), the decoded words read back, cycles and Python<->simulator crossings.
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np

from qtaml_hw.fidelity.driver import AccelDriver, TopConfig
from qtaml_hw.rtlnn.layer_map import RegisterFault


@cocotb.test()
async def run_layer(dut):
    job = np.load(os.environ["QTAML_JOB"])
    drv = AccelDriver(dut, TopConfig.from_env())
    n, max_rows = drv.cfg.n, drv.cfg.max_rows
    await drv.start()
    a, image = job["a"], job["image"]
    data_mask, check_mask = job["data_mask"], job["check_mask"]
    n_ct, n_kc, ppc, wpt = (int(v) for v in job["geom"])
    readback = bool(int(job["readback"]))
    faults = {}
    for row in job["faults"]:
        f = RegisterFault.from_row(row[1:])
        faults[(int(row[0]), f.ct, f.kc, f.rc)] = f.schedule_fault()
    trials = data_mask.shape[0]
    rows = a.shape[0]
    n_rc = -(-rows // max_rows)
    kc_len = ppc * n
    acc = np.zeros((trials, rows, n_ct * n), np.int32)
    corrected = np.zeros((trials, n_ct * n_kc * n_rc), np.int64)
    uncorrectable = np.zeros_like(corrected)
    seen = np.zeros((trials, len(image)), image.dtype)
    cycles, run_s = 0, 0.0
    t0 = time.perf_counter()
    for t in range(trials):
        run = 0
        for ct in range(n_ct):
            for kc in range(n_kc):
                base = (ct * n_kc + kc) * wpt
                await drv.write_sram(image[base:base + wpt])
                dm, cm = data_mask[t, base:base + wpt], check_mask[t, base:base + wpt]
                for i in np.flatnonzero((dm != 0) | (cm != 0)):
                    await drv.sram_xor(int(i), int(dm[i]), int(cm[i]))
                if readback:
                    for i in range(wpt):
                        seen[t, base + i] = (await drv.read_sram(i))[0]
                for rc in range(n_rc):
                    r0, r1 = rc * max_rows, min((rc + 1) * max_rows, rows)
                    await drv.load_activations(a[r0:r1, kc * kc_len:(kc + 1) * kc_len])
                    await drv.load_preload(acc[t, r0:r1, ct * n:(ct + 1) * n])
                    t1 = time.perf_counter()
                    cycles += await drv.run(rows=r1 - r0, passes=ppc, fault=faults.get((t, ct, kc, rc)))
                    run_s += time.perf_counter() - t1
                    acc[t, r0:r1, ct * n:(ct + 1) * n] = await drv.read_outputs(r1 - r0)
                    corrected[t, run], uncorrectable[t, run] = drv.ecc_counts()
                    run += 1
    np.savez(os.environ["QTAML_JOB_OUT"], acc=acc, corrected=corrected, uncorrectable=uncorrectable, seen=seen,
             cycles=cycles, run_s=run_s, job_s=time.perf_counter() - t0, crossings=drv.crossings)
