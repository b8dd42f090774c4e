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


def _vectors(m: int, ecc: int, gen):
    """Error masks (data uint64, check) of the stream: every single flip of the stored word and check bits;
    with ECC every double flip inside the (8m + r, 8m) codeword (exhaustive), sampled protected/unprotected
    pairs, and sampled triples and quadruples in the codeword (miscorrection and undetected cases)."""
    from qtaml_hw.ecc import check_bits

    cb = check_bits("secded", 8 * m) if ecc else 0
    planes = [(t // m) * 8 + 8 - m + t % m for t in range(8 * m)]  # word bit of data plane bit t
    code_pos = [("d", b) for b in planes] + [("c", i) for i in range(cb)]
    masks = [("d", b) for b in range(64)] + [("c", i) for i in range(cb)]
    vecs = [[x] for x in masks]
    if ecc:
        n = len(code_pos)
        vecs += [[code_pos[i], code_pos[j]] for i in range(n) for j in range(i + 1, n)]
        unprot = [b for b in range(64) if b not in planes]
        for _ in range(40 if unprot else 0):
            vecs.append([code_pos[int(gen.integers(n))], ("d", int(gen.choice(unprot)))])
        for w, count in ((3, 150), (4, 60)):
            vecs += [[code_pos[int(i)] for i in gen.choice(n, w, replace=False)] for _ in range(count)]
    else:
        vecs += [[("d", int(a)), ("d", int(b))] for a, b in (gen.choice(64, 2, replace=False) for _ in range(40))]
    dm = np.array([sum(1 << b for kind, b in v if kind == "d") for v in vecs], dtype=object)
    cm = np.array([sum(1 << b for kind, b in v if kind == "c") for v in vecs], dtype=np.uint16)
    in_code = np.array([all(x in code_pos for x in v) for v in vecs])
    return np.array([int(x) for x in dm], dtype=np.uint64), cm, np.array([len(v) for v in vecs]), in_code, len(code_pos)


def _expected(words, dm, cm, m: int, ecc: int):
    """(word read, corrected, uncorrectable) per vector from the Python codec (contract bit-plane order)."""
    from qtaml_hw.ecc import SECDED, Codeword, pack_planes, unpack_planes

    stored = words ^ dm
    if not ecc:
        zero = np.zeros(len(words), np.uint8)
        return stored, zero, zero
    code = SECDED(8 * m)
    codes = stored.view(np.uint8).reshape(-1, 8)
    clean_check = code.encode(pack_planes(words.view(np.uint8).reshape(-1, 8), bits=8, m=m)[:, 0]).check
    data, status = code.decode(Codeword(pack_planes(codes, bits=8, m=m)[:, 0], clean_check ^ cm))
    seen = unpack_planes(codes, data[:, None], bits=8, m=m).view("<u8").reshape(-1)
    return seen, (status == 1).astype(np.uint8), (status == 2).astype(np.uint8)


@cocotb.test()
async def codec_vectors_vs_python(dut):
    """One error vector per clock through the SRAM (write word t, saboteur-XOR word t-1, read word t-2):
    the RTL read port (data, corrected_o, uncorrectable_o) equals the Python codec on every vector;
    singles in the codeword are corrected and doubles detected (exhaustive), 3-4 flips as the codec says."""
    from cocotb.triggers import FallingEdge

    tb = SramTB(dut)
    d = dut
    await tb.start()
    gen = rng(5, "tb_weight_sram", tb.ecc, tb.m)
    dm, cm, weight, in_code, n = _vectors(tb.m, tb.ecc, gen)
    v = len(dm)
    words = gen.integers(0, 2**63, v, dtype=np.uint64) * np.uint64(2) + gen.integers(0, 2, v, dtype=np.uint64)
    exp_w, exp_c, exp_u = _expected(words, dm, cm, tb.m, tb.ecc)
    depth = 1 << ADDR_BITS
    got = []
    for t in range(v + 3):
        await FallingEdge(d.clk_i)
        if t >= 3:  # the word read at the last rising edge: vector t - 3
            got.append((d.rdata_o.value.to_unsigned(), int(d.corrected_o.value), int(d.uncorrectable_o.value)))
        d.we_i.value = int(t < v)
        d.waddr_i.value = t % depth
        d.wdata_i.value = int(words[t]) if t < v else 0
        d.sab_en_i.value = int(1 <= t <= v)
        d.sab_addr_i.value = (t - 1) % depth
        d.sab_data_mask_i.value = int(dm[t - 1]) if 1 <= t <= v else 0
        d.sab_check_mask_i.value = int(cm[t - 1]) if 1 <= t <= v else 0
        d.raddr_i.value = (t - 2) % depth
    d.we_i.value = d.sab_en_i.value = 0
    got = np.array(got, dtype=object)
    for i in range(v):
        expect = (int(exp_w[i]), int(exp_c[i]), int(exp_u[i]))
        assert tuple(got[i]) == expect, (f"vector {i}: masks data={int(dm[i]):#x} check={int(cm[i]):#x}: "
                                         f"RTL {tuple(got[i])} vs codec {expect}")
    if tb.ecc:
        singles = (weight == 1) & in_code
        doubles = (weight == 2) & in_code
        assert singles.sum() == n and np.all(exp_c[singles] == 1)
        assert doubles.sum() == n * (n - 1) // 2 and np.all(exp_u[doubles] == 1)
        dut._log.info("%d vectors: %d singles corrected, %d doubles detected, %d of %d 3-4 flip vectors "
                      "miscorrected or undetected", v, singles.sum(), doubles.sum(),
                      int(np.sum((weight >= 3) & ((exp_w != words) & (exp_u == 0)))), int(np.sum(weight >= 3)))
