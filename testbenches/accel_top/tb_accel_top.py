"""cocotb tests for ``accel_top`` (design.md sections 5, 6): driver -> RTL -> golden model -> checker.

Configuration comes from the launcher (``QTAML_TOP_CFG``, ``QTAML_TB_FAULTS``).  Every
tile goes through the memories and one start/done handshake.
"""

from __future__ import annotations

import logging
import os

import cocotb
import numpy as np

from qtaml_hw.fidelity.driver import AccelDriver, TopConfig
from qtaml_hw.fidelity.golden import gemm_int8_int32
from qtaml_hw.fidelity.layout import weight_words, weights_from_words
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, Fault, GemmSchedule, reference_output
from qtaml_hw.seeding import rng

log = logging.getLogger("cocotb.tb_accel_top")


def _random_tile(gen, cfg: TopConfig, *, rows=None, passes=None, kind="random"):
    rows = rows or int(gen.integers(1, cfg.max_rows + 1))
    passes = passes or int(gen.integers(1, cfg.max_passes + 1))
    k = passes * cfg.n
    if kind == "min":
        a = np.full((rows, k), -128, np.int8)
        w = np.full((k, cfg.n), -128, np.int8)
    elif kind == "extreme":
        a = gen.choice(np.array([-128, 127, -1, 0], np.int8), size=(rows, k))
        w = gen.choice(np.array([-128, 127, 1, 0], np.int8), size=(k, cfg.n))
    else:
        a = gen.integers(-128, 128, (rows, k)).astype(np.int8)
        w = gen.integers(-128, 128, (k, cfg.n)).astype(np.int8)
    return a, w


async def _driver(dut):
    drv = AccelDriver(dut, TopConfig.from_env())
    await drv.start()
    return drv


@cocotb.test()
async def random_tiles_bit_exact(dut):
    """Random and extreme tiles (all -128, {-128,127}) with random preloads match the golden model."""
    drv = await _driver(dut)
    cfg = drv.cfg
    gen = rng(1, "tb_accel_top", "tiles", cfg.n)
    kinds = ["min", "extreme", "random", "random"]
    if cfg.n <= 4:
        kinds += ["random"] * 4
    for i, kind in enumerate(kinds):
        full = i == 0
        a, w = _random_tile(gen, cfg, kind=kind, rows=cfg.max_rows if full else None,
                            passes=cfg.max_passes if full else None)
        pre = gen.integers(-(2**31), 2**31, (a.shape[0], cfg.n)).astype(np.int32) if i % 2 else None
        out, cycles = await drv.gemm(a, w, preload=pre)
        expect = gemm_int8_int32(a, w, preload=pre)
        assert np.array_equal(out, expect), f"tile {i} ({kind}) mismatch:\n{out}\nvs golden\n{expect}"
        assert cycles == GemmSchedule(n=cfg.n, rows=a.shape[0], passes=w.shape[0] // cfg.n).total_cycles


@cocotb.test()
async def accumulator_wraps_like_int32(dut):
    """Preloaded sums near +-2**31 plus -128*-128 products wrap exactly like the golden model."""
    drv = await _driver(dut)
    cfg = drv.cfg
    rows, k = cfg.max_rows, cfg.n * cfg.max_passes
    a = np.full((rows, k), -128, np.int8)
    w = np.full((k, cfg.n), -128, np.int8)
    a[0, :] = 127  # row 0: large negative products -> wraps below -2**31
    pre = np.full((rows, cfg.n), 2**31 - 1000, np.int64)
    pre[0, :] = -(2**31) + 5
    pre = pre.astype(np.int32)
    exact = pre.astype(np.int64) + a.astype(np.int64) @ w.astype(np.int64)
    expect = gemm_int8_int32(a, w, preload=pre)
    assert np.all((exact > 2**31 - 1) | (exact < -(2**31))), "test must overflow every output"
    out, _ = await drv.gemm(a, w, preload=pre)
    assert np.array_equal(out, expect), f"wrap mismatch:\n{out}\nvs\n{expect}"


@cocotb.test()
async def saboteur_matches_schedule(dut):
    """Single XOR faults in every register class at random cycles match schedule.reference_output."""
    drv = await _driver(dut)
    cfg = drv.cfg
    n_faults = int(os.environ.get("QTAML_TB_FAULTS", "60"))
    gen = rng(2, "tb_accel_top", "faults", cfg.n)
    rows, passes = cfg.max_rows, min(2, cfg.max_passes)
    a, w = _random_tile(gen, cfg, rows=rows, passes=passes)
    pre = gen.integers(-(2**20), 2**20, (rows, cfg.n)).astype(np.int32)
    sched = GemmSchedule(n=cfg.n, rows=rows, passes=passes)
    classes = [c for c in FAULT_CLASSES if c != "sram" or not cfg.ecc]
    await drv.load_weights(w)
    await drv.load_activations(a)
    clean = gemm_int8_int32(a, w, preload=pre)
    visible = {c: 0 for c in classes}
    words = weight_words(w, n=cfg.n)
    for i in range(n_faults):
        cls = classes[i % len(classes)]
        t = int(gen.integers(0, sched.total_cycles))
        r, c = (int(v) for v in gen.integers(0, cfg.n, 2))
        width = {"weight": 8, "act": 8, "psum": 32, "out": 32, "sram": 64}[cls]
        mask = 1 << int(gen.integers(0, width))
        if cls == "sram":
            r = int(gen.integers(0, len(words)))
        fault = Fault(cls, r, c, t, mask)
        out, _ = await drv.gemm(a, w, preload=pre, fault=fault, load_weights=False, load_acts=False)
        expect = reference_output(a, w, n=cfg.n, preload=pre, fault=fault)
        assert np.array_equal(out, expect), f"{fault}: RTL\n{out}\nvs schedule model\n{expect}"
        visible[cls] += int(not np.array_equal(out, clean))
        if cls == "sram":
            await drv.write_sram(words[r:r + 1], base=r)  # rewrite: the fault persists otherwise
    log.info("faults visible in outputs per class: %s of %d each", visible, n_faults // len(classes))
    assert all(v > 0 for v in visible.values()), f"some class never showed a fault: {visible}"


@cocotb.test()
async def leakage_flips_in_sram(dut):
    """WKB flip probabilities -> memory.flip_bits -> SRAM saboteur; output = golden on what the SRAM returns.

    Without ECC that is the corrupted weights; with ECC it is the Python SECDED decode of the
    same corrupted bit planes, and the RTL's corrected/uncorrectable counts equal the codec's.
    """
    from qtaml_hw.fidelity.leakage import corrupt_weight_words, ecc_expected_words

    drv = await _driver(dut)
    cfg = drv.cfg
    gen = rng(3, "tb_accel_top", "leak", cfg.n)
    a, w = _random_tile(gen, cfg, rows=cfg.max_rows, passes=cfg.max_passes)
    clean_words = weight_words(w, n=cfg.n)
    await drv.write_sram(clean_words)
    await drv.load_activations(a)
    p_flip = 0.01 if cfg.ecc else 0.03
    data_masks, check_masks = corrupt_weight_words(clean_words, p_flip=p_flip, seed=7, ecc=bool(cfg.ecc),
                                                   protect_bits=cfg.protect_bits)
    assert np.count_nonzero(data_masks | check_masks.astype(np.uint64)) > 0, "no flips drawn"
    for addr in np.flatnonzero(data_masks | check_masks.astype(np.uint64)):
        await drv.sram_xor(int(addr), int(data_masks[addr]), int(check_masks[addr]))
    if cfg.ecc:
        seen_words, n_corr, n_unc = ecc_expected_words(clean_words, data_masks, check_masks,
                                                       protect_bits=cfg.protect_bits)
    else:
        seen_words, n_corr, n_unc = clean_words ^ data_masks, 0, 0
    w_seen = weights_from_words(seen_words, n=cfg.n)
    out, _ = await drv.gemm(a, w_seen, load_weights=False, load_acts=False)
    expect = gemm_int8_int32(a, w_seen)
    assert np.array_equal(out, expect), "RTL output differs from golden on the corrupted weights"
    assert drv.ecc_counts() == (n_corr, n_unc), f"ECC counts {drv.ecc_counts()} != codec ({n_corr}, {n_unc})"
    log.info("leakage: %d words hit, corrected %d, uncorrectable %d", np.count_nonzero(data_masks | check_masks.astype(np.uint64)), n_corr, n_unc)


@cocotb.test()
async def ecc_single_flips_corrected(dut):
    """With SECDED: one flip per word in a protected bit or a check bit -> clean result, counts = words hit.

    A second word gets two protected flips -> counted uncorrectable.  (No-op without ECC.)
    """
    drv = await _driver(dut)
    cfg = drv.cfg
    if not cfg.ecc:
        return
    gen = rng(6, "tb_accel_top", "ecc", cfg.n)
    a, w = _random_tile(gen, cfg, rows=cfg.max_rows, passes=cfg.max_passes)
    words = weight_words(w, n=cfg.n)
    await drv.write_sram(words)
    await drv.load_activations(a)
    m = cfg.protect_bits
    protected = [g * 8 + b for g in range(8) for b in range(8 - m, 8)]
    cb = {1: 5, 2: 6, 4: 7, 8: 8}[m]
    for addr in range(len(words)):
        if addr % 3 == 2:
            await drv.sram_xor(addr, 0, 1 << int(gen.integers(0, cb)))
        else:
            await drv.sram_xor(addr, 1 << int(gen.choice(protected)))
    out, _ = await drv.gemm(a, w, load_weights=False, load_acts=False)
    assert np.array_equal(out, gemm_int8_int32(a, w)), "single errors must be corrected"
    assert drv.ecc_counts() == (len(words), 0)
    await drv.write_sram(words)
    b1, b2 = gen.choice(protected, 2, replace=False)
    await drv.sram_xor(0, (1 << int(b1)) | (1 << int(b2)))
    await drv.gemm(a, w, load_weights=False, load_acts=False)
    assert drv.ecc_counts() == (0, 1)
