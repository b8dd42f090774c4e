"""Run a random GEMM tile with leakage flips in weight SRAM on the RTL (design.md sections 5, 6).

:func:`run_tile` draws A and W from the seed, draws SRAM flips with the memory model,
runs ``accel_top`` once through :mod:`qtaml_hw.fidelity.job_tb`, and compares the RTL output
bit-exactly with the golden model on the weights the SRAM returns (corrupted, or SECDED-
decoded), plus the RTL's ECC counts with the Python codec's.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from qtaml_hw.fidelity.driver import TopConfig
from qtaml_hw.fidelity.golden import gemm_int8_int32
from qtaml_hw.fidelity.layout import check_tile, weight_words, weights_from_words
from qtaml_hw.fidelity.leakage import corrupt_weight_words, ecc_expected_words
from qtaml_hw.hdl.job import run_job
from qtaml_hw.hdl.simulators import accel_sources, check_simulator
from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng

log = logging.getLogger(__name__)
PROTECT_CHOICES = (1, 2, 4, 8)


def top_config(*, n: int, rows: int, k: int, ecc: bool, protect_bits: int) -> TopConfig:
    """Smallest build holding the tile (power-of-two buffers), validated."""
    if ecc and protect_bits not in PROTECT_CHOICES:
        raise QtamlError(f"--protect-bits must be one of {PROTECT_CHOICES}, got {protect_bits}")
    if n not in (4, 8, 16):
        raise QtamlError(f"array size N must be 4, 8 or 16, got {n}")
    row_bits = max(1, math.ceil(math.log2(max(rows, 1))))
    passes = max(k // n, 1)
    pass_bits = max(1, math.ceil(math.log2(passes)))
    cfg = TopConfig(n=n, row_bits=row_bits, pass_bits=pass_bits, ecc=int(ecc), protect_bits=protect_bits)
    if rows > 64:
        raise QtamlError(f"rows must be in [1, 64], got {rows}")
    if k > 16 * n:
        raise QtamlError(f"K must be at most {16 * n} (16 passes), got {k}")
    check_tile(n=n, rows=rows, k=k, max_rows=cfg.max_rows, max_passes=cfg.max_passes)
    return cfg


def run_tile(*, simulator: str, n: int, k: int, rows: int, seed: int, flip_model, ecc: bool = False,
             protect_bits: int = 8, waves: bool = False) -> dict:
    """One tile on the RTL; returns a dict of the comparison (see module docstring)."""
    check_simulator(simulator)
    cfg = top_config(n=n, rows=rows, k=k, ecc=ecc, protect_bits=protect_bits)
    gen = rng(seed, "rtl-gemm", "tile")
    a = gen.integers(-128, 128, (rows, k)).astype(np.int8)
    w = gen.integers(-128, 128, (k, n)).astype(np.int8)
    words = weight_words(w, n=n)
    data_mask, check_mask = corrupt_weight_words(words, seed=seed, flip_model=flip_model, ecc=ecc,
                                                 protect_bits=protect_bits)
    if ecc:
        seen, exp_corr, exp_unc = ecc_expected_words(words, data_mask, check_mask, protect_bits=protect_bits)
    else:
        seen, exp_corr, exp_unc = words ^ data_mask, 0, 0
    w_seen = weights_from_words(seen, n=n)
    expect = gemm_int8_int32(a, w_seen)
    clean = gemm_int8_int32(a, w)
    job = run_job(simulator=simulator, toplevel="accel_top", sources=accel_sources(),
                  test_module="qtaml_hw.fidelity.job_tb", parameters=cfg.parameters(),
                  defines=cfg.defines(), env=cfg.env(),
                  job={"a": a, "words": words, "data_mask": data_mask, "check_mask": check_mask},
                  log_name="rtl-gemm.log", waves=waves)
    wall = job.wall_s
    log.info("simulator log: %s", job.log_path)
    r = job.arrays
    out = r["out"]
    bits_flipped = int(sum(bin(int(x)).count("1") for x in data_mask)
                       + sum(bin(int(x)).count("1") for x in check_mask))
    return {
        "simulator": simulator, "n": n, "k": k, "rows": rows, "seed": seed, "ecc": bool(ecc),
        "protect_bits": protect_bits if ecc else 0,
        "p10": float(np.mean(flip_model.p10)), "p01": float(np.mean(flip_model.p01)),
        "sram_words": int(len(words)), "words_hit": int(np.count_nonzero((data_mask != 0) | (check_mask != 0))),
        "bits_flipped": bits_flipped,
        "bit_exact": bool(np.array_equal(out, expect)),
        "outputs_mismatch_vs_golden": int(np.count_nonzero(out != expect)),
        "outputs_differing_from_clean": int(np.count_nonzero(out != clean)),
        "ecc_corrected": int(r["corrected"]), "ecc_uncorrectable": int(r["uncorrectable"]),
        "codec_corrected": exp_corr, "codec_uncorrectable": exp_unc,
        "ecc_counts_match": bool(int(r["corrected"]) == exp_corr and int(r["uncorrectable"]) == exp_unc),
        "cycles": int(r["cycles"]), "run_s": float(r["run_s"]), "crossings": int(r["crossings"]),
        "run_crossings": int(r["run_crossings"]), "wall_s": wall,
    }
