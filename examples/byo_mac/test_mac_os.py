"""A user's own cocotb test of the byo_mac example (docs/descriptor.md), using qtaml-hw's helpers.

Run by ``qtaml-hw rtl-test --design examples/byo_mac/mac_os.toml --test examples/byo_mac/test_mac_os.py``
(or tests/rtl/test_byo_mac.py).  Everything design-specific comes from the descriptor
(``QTAML_DESIGN``) and this file; nothing in qtaml_hw knows mac_os.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from qtaml_hw.fidelity.byo import crossval_campaign, inject_leakage, lanes_of
from qtaml_hw.fidelity.design import load_design
from qtaml_hw.hdl.inject import flip_after_edges, resolve, xor_now
from qtaml_hw.memory import FlipModel


def model(x, words, design, count):
    """Python model of mac_os: sum_i x[i] * w[i] mod 2**AccBits, w from the memory words."""
    mem = design.memory("weights")
    w = lanes_of(words, mem).astype(np.uint8).view(np.int8).reshape(-1)[:count].astype(np.int64)
    acc_bits = dict(design.parameters)["AccBits"]
    return int(np.sum(x[:count].astype(np.int64) * w)) % (1 << acc_bits)


async def setup(dut, design, gen):
    Clock(getattr(dut, design.clock), design.clock_period_ns, unit="ns").start()
    dut.rst_n.value = 0
    dut.start_i.value = dut.w_we_i.value = dut.x_we_i.value = 0
    dut.count_i.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst_n.value = 1
    depth = len(resolve(dut, design.memory("weights").path))
    words = [int(v) for v in gen.integers(0, 1 << 32, depth, dtype=np.uint64)]
    x = gen.integers(-128, 128, 4 * depth).astype(np.int8)
    for i, wd in enumerate(words):
        dut.w_we_i.value, dut.w_addr_i.value, dut.w_data_i.value = 1, i, wd
        await RisingEdge(dut.clk)
    dut.w_we_i.value = 0
    for i, v in enumerate(x):
        dut.x_we_i.value, dut.x_addr_i.value, dut.x_data_i.value = 1, i, int(v) & 0xFF
        await RisingEdge(dut.clk)
    dut.x_we_i.value = 0
    return words, x


async def run(dut, count, fault=None):
    dut.count_i.value, dut.start_i.value = count, 1
    await RisingEdge(dut.clk)
    dut.start_i.value = 0
    if fault is not None:
        await flip_after_edges(dut.clk, resolve(dut, fault[0]), fault[1], fault[2])
    await RisingEdge(dut.done_o)
    await RisingEdge(dut.clk)
    return dut.acc_o.value.to_unsigned()


@cocotb.test()
async def leakage_in_weight_memory(dut):
    """Physics-derived flips in the named memory; the RTL result equals the model on the faulty words."""
    design = load_design(os.environ["QTAML_DESIGN"])
    gen = np.random.default_rng(1)
    words, x = await setup(dut, design, gen)
    count = 4 * len(words)
    assert await run(dut, count) == model(x, words, design, count)
    res = await inject_leakage(dut, design, "weights", FlipModel.symmetric(0.02), seed=5)
    assert res.words == tuple(words) and res.bits_flipped > 0
    got = await run(dut, count)
    assert got == model(x, res.faulty_words(), design, count), "RTL != model on the leaked weights"
    assert got != model(x, words, design, count), "leakage left no visible trace (draw more flips)"


@cocotb.test()
async def accumulator_flip_by_path(dut):
    """A flip of acc_q bit b at cycle t adds +-2**b to the final result (output stationary: never masked)."""
    design = load_design(os.environ["QTAML_DESIGN"])
    gen = np.random.default_rng(2)
    words, x = await setup(dut, design, gen)
    count = 16
    clean = model(x, words, design, count)
    for bit, t in ((0, 3), (7, 10), (23, 0)):
        got = await run(dut, count, fault=("acc_q", 1 << bit, t + 1))
        assert (got - clean) % (1 << 24) in ((1 << bit), (-(1 << bit)) % (1 << 24)), (bit, t, got, clean)


@cocotb.test()
async def crossval_against_model(dut):
    """Single-bit flips of the accumulator and the weight memory at random cycles vs this file's model."""
    design = load_design(os.environ["QTAML_DESIGN"])
    gen = np.random.default_rng(3)
    words, x = await setup(dut, design, gen)
    k = 4 * len(words)
    acc_bits = dict(design.parameters)["AccBits"]
    mem = design.memory("weights")
    w = lanes_of(words, mem).astype(np.uint8).view(np.int8).reshape(-1).astype(np.int64)
    prods = x[:k].astype(np.int64) * w[:k]

    async def run_one(dut, f):
        h = resolve(dut, f.target)
        dut.count_i.value, dut.start_i.value = k, 1
        await RisingEdge(dut.clk)
        dut.start_i.value = 0
        await flip_after_edges(dut.clk, h, 1 << f.bit, f.cycle + 1, period_ns=design.clock_period_ns)
        if not int(dut.done_o.value):
            await RisingEdge(dut.done_o)
        await RisingEdge(dut.clk)
        got = dut.acc_o.value.to_unsigned()
        if f.word >= 0:
            xor_now(h, 1 << f.bit)  # the memory flip persists: restore the word
            await RisingEdge(dut.clk)
        return got

    def model(f):
        tt = min(f.cycle + 1, k)
        if f.cls == "accumulator":
            s_tt = int(prods[:tt].sum()) % (1 << acc_bits)
            return ((s_tt ^ (1 << f.bit)) + int(prods[tt:].sum())) % (1 << acc_bits)
        faulty = [wd ^ (1 << f.bit) if i == f.word else wd for i, wd in enumerate(words)]
        w2 = lanes_of(faulty, mem).astype(np.uint8).view(np.int8).reshape(-1).astype(np.int64)
        use = np.where(np.arange(k) >= f.cycle + 1, w2[:k], w[:k])
        return int(np.sum(x[:k].astype(np.int64) * use)) % (1 << acc_bits)

    res = await crossval_campaign(dut, design, classes=("accumulator", "weight_memory"), count=80, seed=4,
                                  cycles=k + 2, run=run_one, model=model)
    assert res["agree"] == res["injections"] == 80, res["first_mismatch"]
    assert set(res["per_class"]) == {"accumulator", "weight_memory"}
