"""cocotb test of :mod:`qtaml_hw.hdl.smoke`: ``weight_sram`` stores and returns words (design.md section 5)."""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

WORDS = {0: 0x0123456789ABCDEF, 5: 0xFEDCBA9876543210, 7: 0x8000000000000001}


@cocotb.test()
async def write_then_read(dut):
    """Each written word reads back unchanged (the saboteur held off)."""
    Clock(dut.clk_i, 10, unit="ns").start()
    for name in ("we_i", "waddr_i", "wdata_i", "raddr_i", "sab_en_i", "sab_addr_i", "sab_data_mask_i",
                 "sab_check_mask_i"):
        getattr(dut, name).value = 0
    await RisingEdge(dut.clk_i)
    for addr, word in WORDS.items():
        dut.we_i.value, dut.waddr_i.value, dut.wdata_i.value = 1, addr, word
        await RisingEdge(dut.clk_i)
    dut.we_i.value = 0
    for addr, word in WORDS.items():
        dut.raddr_i.value = addr
        await RisingEdge(dut.clk_i)
        await RisingEdge(dut.clk_i)
        got = dut.rdata_o.value.to_unsigned()
        assert got == word, f"word {addr}: read {got:#x}, wrote {word:#x}"
