"""cocotb tests for ``weight_sram`` (design.md sections 3, 5): storage, persistent saboteur
faults and, with ECC, the contract's bit-plane SECDED against the Python codec."""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from qtaml_hw.seeding import rng

ADDR_BITS = 3


class SramTB:
    def __init__(self, dut):
        self.dut = dut
        self.ecc, self.m = (int(v) for v in os.environ["QTAML_SRAM_CFG"].split(","))

    async def start(self):
        Clock(self.dut.clk_i, 10, unit="ns").start()
        d = self.dut
        for name in ("we_i", "waddr_i", "wdata_i", "raddr_i", "sab_en_i", "sab_addr_i",
                     "sab_data_mask_i", "sab_check_mask_i"):
            getattr(d, name).value = 0
        await RisingEdge(d.clk_i)

    async def write(self, addr, word):
        d = self.dut
        d.we_i.value, d.waddr_i.value, d.wdata_i.value = 1, addr, int(word)
        await RisingEdge(d.clk_i)
        d.we_i.value = 0

    async def xor(self, addr, data_mask, check_mask=0):
        d = self.dut
        d.sab_en_i.value, d.sab_addr_i.value = 1, addr
        d.sab_data_mask_i.value, d.sab_check_mask_i.value = int(data_mask), int(check_mask)
        await RisingEdge(d.clk_i)
        d.sab_en_i.value = 0

    async def read(self, addr):
        d = self.dut
        d.raddr_i.value = addr
        await RisingEdge(d.clk_i)  # address sampled
        await RisingEdge(d.clk_i)  # registered word visible (decoded combinationally)
        return d.rdata_o.value.to_unsigned(), int(d.corrected_o.value), int(d.uncorrectable_o.value)


@cocotb.test()
async def store_and_persistent_faults(dut):
    """Words read back; a saboteur XOR persists across reads until the word is rewritten."""
    tb = SramTB(dut)
    await tb.start()
    gen = rng(4, "tb_weight_sram")
    words = gen.integers(0, 2**63, 1 << ADDR_BITS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    for a, wd in enumerate(words):
        await tb.write(a, wd)
    for a, wd in enumerate(words):
        assert (await tb.read(a))[0] == int(wd)
    mask = 1 << 5  # an unprotected bit for ProtectBits < 3, else corrected by ECC
    await tb.xor(3, mask)
    for _ in range(2):
        data, corr, unc = await tb.read(3)
        if tb.ecc and tb.m >= 3:
            assert (data, corr, unc) == (int(words[3]), 1, 0)
        else:
            assert (data, corr, unc) == (int(words[3]) ^ mask, 0, 0)
    await tb.write(3, words[3])
    assert await tb.read(3) == (int(words[3]), 0, 0)


@cocotb.test()
async def ecc_single_double_vs_codec(dut):
    """Every single flip (72 data+check positions) and sampled double flips vs the Python SECDED codec."""
    tb = SramTB(dut)
    if not tb.ecc:
        return
    from qtaml_hw.cosim.leakage import CHECK_BITS, ecc_expected_words

    await tb.start()
    gen = rng(5, "tb_weight_sram", tb.m)
    word = int(gen.integers(0, 2**63, dtype=np.uint64)) | (1 << 63)
    await tb.write(0, word)
    cb = CHECK_BITS[8 * tb.m]
    flips = [(1 << b, 0) for b in range(64)] + [(0, 1 << b) for b in range(cb)]
    n_doubles = int(os.environ.get("QTAML_TB_DOUBLES", "40"))
    for _ in range(n_doubles):
        b1, b2 = gen.choice(64 + cb, 2, replace=False)
        dm = sum(1 << int(b) for b in (b1, b2) if b < 64)
        cm = sum(1 << int(b - 64) for b in (b1, b2) if b >= 64)
        flips.append((dm, cm))
    seen = {0: 0, 1: 0, 2: 0}
    for dm, cm in flips:
        await tb.xor(0, dm, cm)
        got = await tb.read(0)
        exp_words, n_corr, n_unc = ecc_expected_words(np.array([word], np.uint64), np.array([dm], np.uint64),
                                                      np.array([cm], np.uint8), protect_bits=tb.m)
        expect = (int(exp_words[0]), n_corr, n_unc)
        assert got == expect, f"masks data={dm:#x} check={cm:#x}: RTL {got} vs codec {expect}"
        seen[1 if n_corr else 2 if n_unc else 0] += 1
        await tb.xor(0, dm, cm)  # undo
    # singles in protected planes and check bits are corrected; doubles among them detected
    assert seen[1] >= 8 * tb.m + cb and seen[2] > 0, seen
