"""cocotb driver for ``rtl/accel_top.v``: load memories, inject faults, run, read back.

Faults go in by hierarchical path (:mod:`qtaml_hw.hdl.inject`, :func:`fault_targets`): the
default build has no saboteur ports.  A build with ``TopConfig(saboteur=1)`` defines
``QTAML_SABOTEUR`` and the driver arms the saboteur ports instead (kept to check one
mechanism against the other).

Runs inside the simulator (imported by cocotb test modules).  A tile goes through the
memories and one start/done handshake, so the Python <-> simulator crossings do not grow
with the number of cycles: :attr:`AccelDriver.crossings` counts every handle write, handle
read and trigger wait (the benchmark reports crossings per simulated cycle).
The clock is a GPI clock (driven in C, no Python per edge).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout

from qtaml_hw.fidelity.layout import pack_int32_row, row_words, unpack_int32_row, weight_words
from qtaml_hw.fidelity.schedule import CLASS_CODE, Fault, GemmSchedule
from qtaml_hw.hdl.inject import flip_after_edges, resolve, xor_now

CLOCK_NS = 10


def resolved_unsigned(value) -> int:
    """A read bus as an unsigned int, X/Z bits read as 0.

    Icarus is 4-state and starts memories at X; Verilator (2-state) starts them at 0.  The
    full-state campaign deposits 0 into every state element first
    (:func:`qtaml_hw.fidelity.byo.zero_state`), so no X should reach a read;
    :attr:`AccelDriver.x_reads` counts the output reads that still held one.
    """
    bits = str(value)
    if set(bits) <= {"0", "1"}:
        return int(bits, 2)
    return int("".join(b if b in "01" else "0" for b in bits), 2)


class RowPassLimits:
    """``max_rows = 2^row_bits`` and ``max_passes = 2^pass_bits`` of an ``accel_top`` build
    (its RowBits and PassBits parameters); a base for the records that carry ``row_bits`` and
    ``pass_bits`` (:class:`TopConfig`, ``selftest.program.BuildConfig``)."""

    row_bits: int
    pass_bits: int

    @property
    def max_rows(self) -> int:
        return 1 << self.row_bits

    @property
    def max_passes(self) -> int:
        return 1 << self.pass_bits


@dataclass(frozen=True)
class TopConfig(RowPassLimits):
    """Parameters of one ``accel_top`` build (also passed to the simulator as env vars)."""

    n: int = 4
    row_bits: int = 2
    pass_bits: int = 2
    ecc: int = 0
    protect_bits: int = 8
    saboteur: int = 0  # 1: build with `define QTAML_SABOTEUR (optional saboteur ports)

    def parameters(self) -> dict:
        return {"N": self.n, "RowBits": self.row_bits, "PassBits": self.pass_bits,
                "EccEnable": self.ecc, "ProtectBits": self.protect_bits}

    def defines(self) -> dict:
        return {"QTAML_SABOTEUR": 1} if self.saboteur else {}

    def env(self) -> dict:
        return {"QTAML_TOP_CFG": f"{self.n},{self.row_bits},{self.pass_bits},{self.ecc},{self.protect_bits},"
                                 f"{self.saboteur}"}

    @classmethod
    def from_env(cls) -> "TopConfig":
        vals = [int(v) for v in os.environ["QTAML_TOP_CFG"].split(",")]
        return cls(*vals)


def fault_targets(fault: Fault) -> list[tuple[str, int]]:
    """(hierarchical path below accel_top, XOR mask) of every register/word a :class:`Fault` flips."""
    r, c = fault.row, fault.col
    pe = f"u_array.gen_row[{r}].gen_col[{c}].u_pe"
    if fault.cls == "weight":
        return [(f"{pe}.w_q", fault.mask & 0xFF)]
    if fault.cls == "act":
        return [(f"{pe}.a_q", fault.mask & 0xFF)]
    if fault.cls == "psum":
        return [(f"{pe}.p_q", fault.mask & 0xFFFFFFFF)]
    if fault.cls == "out":
        return [(f"u_array.gen_out[{c}].o_q", fault.mask & 0xFFFFFFFF)]
    out = [(f"u_sram.mem_q[{r}]", fault.mask & ((1 << 64) - 1))]
    if fault.check_mask:
        out.append((f"u_sram.gen_ecc.check_q[{r}]", fault.check_mask))
    return out


class AccelDriver:
    """Drives one ``accel_top`` instance; all methods are coroutines except the constructor."""

    def __init__(self, dut, cfg: TopConfig):
        self.dut = dut
        self.cfg = cfg
        self.crossings = 0
        self.x_reads = 0  # output-buffer reads with an X/Z bit (read as 0)
        self._handles: dict[str, object] = {}

    def handle(self, path: str):
        """Cached simulator handle of ``path`` below the top."""
        h = self._handles.get(path)
        if h is None:
            h = self._handles[path] = resolve(self.dut, path)
        return h

    async def inject(self, fault: Fault):
        """Right after the start edge: flip ``fault``'s register(s) so the new value is held from cycle+1."""
        targets = [(self.handle(p), m) for p, m in fault_targets(fault)]
        await flip_after_edges(self.dut.clk_i, targets[0][0], targets[0][1], fault.cycle + 1, period_ns=CLOCK_NS)
        for h, m in targets[1:]:
            xor_now(h, m)
        self.crossings += 2 + 2 * len(targets)

    def _set(self, **signals):
        for name, value in signals.items():
            getattr(self.dut, name).value = int(value)
        self.crossings += len(signals)

    async def _edge(self):
        self.crossings += 1
        await RisingEdge(self.dut.clk_i)

    async def start(self):
        """Start the clock, zero every input, reset for two cycles."""
        Clock(self.dut.clk_i, CLOCK_NS, unit="ns").start()
        self._set(rst_i=1, start_i=0, num_rows_i=1, num_passes_i=1, abuf_we_i=0, abuf_addr_i=0,
                  abuf_wdata_i=0, obuf_we_i=0, obuf_addr_i=0, obuf_wdata_i=0, obuf_raddr_i=0,
                  sram_we_i=0, sram_addr_i=0, sram_wdata_i=0)
        if self.cfg.saboteur:
            self._set(sram_sab_en_i=0, sram_sab_addr_i=0, sram_sab_data_mask_i=0, sram_sab_check_mask_i=0,
                      sab_arm_i=0, sab_cycle_i=0, sab_class_i=0, sab_row_i=0, sab_col_i=0, sab_mask_i=0)
        await self._edge()
        await self._edge()
        self._set(rst_i=0)
        await self._edge()

    async def write_sram(self, words, *, base: int = 0):
        for i, word in enumerate(np.asarray(words, dtype=np.uint64)):
            self._set(sram_we_i=1, sram_addr_i=base + i, sram_wdata_i=int(word))
            await self._edge()
        self._set(sram_we_i=0)

    async def load_weights(self, w: np.ndarray):
        """Write the SRAM image of ``w`` (K, N) int8 (layout.weight_words)."""
        await self.write_sram(weight_words(w, n=self.cfg.n))

    async def load_activations(self, a: np.ndarray):
        for addr, word in row_words(a, n=self.cfg.n, max_rows=self.cfg.max_rows).items():
            self._set(abuf_we_i=1, abuf_addr_i=addr, abuf_wdata_i=word)
            await self._edge()
        self._set(abuf_we_i=0)

    async def load_preload(self, pre: np.ndarray):
        for m, row in enumerate(np.asarray(pre)):
            self._set(obuf_we_i=1, obuf_addr_i=m, obuf_wdata_i=pack_int32_row(row))
            await self._edge()
        self._set(obuf_we_i=0)

    async def sram_xor(self, addr: int, data_mask: int, check_mask: int = 0):
        """XOR masks into stored SRAM word ``addr`` now (persists until rewritten)."""
        if not self.cfg.saboteur:
            xor_now(self.handle(f"u_sram.mem_q[{addr}]"), data_mask)
            if check_mask:
                xor_now(self.handle(f"u_sram.gen_ecc.check_q[{addr}]"), check_mask)
            self.crossings += 2 + 2 * bool(check_mask)
            await self._edge()
            return
        self._set(sram_sab_en_i=1, sram_sab_addr_i=addr, sram_sab_data_mask_i=data_mask,
                  sram_sab_check_mask_i=check_mask)
        await self._edge()
        self._set(sram_sab_en_i=0)

    async def read_sram(self, addr: int) -> tuple[int, int, int]:
        """(decoded data word, corrected, uncorrectable) of SRAM word ``addr`` (idle only)."""
        self._set(sram_addr_i=addr)
        await self._edge()
        await self._edge()
        self.crossings += 3
        d = self.dut
        return (d.sram_rdata_o.value.to_unsigned(), int(d.sram_corrected_o.value),
                int(d.sram_uncorrectable_o.value))

    async def run(self, *, rows: int, passes: int, fault: Fault | None = None) -> int:
        """One start/done handshake; returns the cycle count.  ``fault``: flipped by path (or saboteur)."""
        sab = fault is not None and self.cfg.saboteur
        if sab:
            sig = dict(sab_arm_i=1, sab_cycle_i=fault.cycle, sab_class_i=CLASS_CODE[fault.cls],
                       sab_row_i=fault.row & 0xFF, sab_col_i=fault.col & 0xFF,
                       sab_mask_i=fault.mask & 0xFFFFFFFF)
            if fault.cls == "sram":
                sig.update(sram_sab_addr_i=fault.row, sram_sab_data_mask_i=fault.mask & ((1 << 64) - 1),
                           sram_sab_check_mask_i=fault.check_mask & 0xFF)
                sig["sab_row_i"] = 0
            self._set(**sig)
        self._set(num_rows_i=rows, num_passes_i=passes, start_i=1)
        await self._edge()
        self._set(start_i=0)
        if fault is not None and not sab:
            await self.inject(fault)
        total = GemmSchedule(n=self.cfg.n, rows=rows, passes=passes).total_cycles
        self.crossings += 1
        if not (fault is not None and not sab and int(self.dut.done_o.value)):  # a last-cycle flip comes after done
            await with_timeout(RisingEdge(self.dut.done_o), (total + 8) * CLOCK_NS, "ns")
        await self._edge()
        if sab:
            self._set(sab_arm_i=0)
        self.crossings += 1
        return self.dut.cycles_o.value.to_unsigned()

    async def read_outputs(self, rows: int) -> np.ndarray:
        out = np.zeros((rows, self.cfg.n), np.int32)
        for m in range(rows):
            self._set(obuf_raddr_i=m)
            await self._edge()
            self.crossings += 1
            value = self.dut.obuf_rdata_o.value
            self.x_reads += not set(str(value)) <= {"0", "1"}
            out[m] = unpack_int32_row(resolved_unsigned(value), n=self.cfg.n)
        return out

    def ecc_counts(self) -> tuple[int, int]:
        self.crossings += 2
        return (self.dut.ecc_corrected_count_o.value.to_unsigned(),
                self.dut.ecc_uncorrectable_count_o.value.to_unsigned())

    async def gemm(self, a, w, *, preload=None, fault: Fault | None = None,
                   load_weights: bool = True, load_acts: bool = True) -> tuple[np.ndarray, int]:
        """Load (optionally) and run one tile; returns (outputs (M, N) int32, cycles)."""
        a = np.asarray(a, np.int8)
        rows, k = a.shape
        if load_weights:
            await self.load_weights(w)
        if load_acts:
            await self.load_activations(a)
        pre = np.zeros((rows, self.cfg.n), np.int32) if preload is None else preload
        await self.load_preload(pre)
        cycles = await self.run(rows=rows, passes=k // self.cfg.n, fault=fault)
        return await self.read_outputs(rows), cycles
