"""Physics-derived leakage into a named memory of any design, from a user's own cocotb test.

docs/descriptor.md, docs/design.md sections 1, 2, 6.  Inside a cocotb test::

    from qtaml_hw.fidelity.byo import inject_leakage
    from qtaml_hw.fidelity.design import load_design
    from qtaml_hw.memory import FlipModel

    design = load_design("mac_os.toml")
    res = await inject_leakage(dut, design, "weights", FlipModel.symmetric(1e-2), seed=7)
    # res.words: what the memory held, res.masks: the XOR masks written (one per word)

:func:`leakage_masks` draws the flips: every lane (``lane_bits``-bit code, lane g in bits
[g*lane_bits, (g+1)*lane_bits) of a word) goes through :func:`qtaml_hw.memory.flip_bits`
(bit k of a code flips with p10_k if it stores 1, p01_k if it stores 0), with the stream
keyed by (seed, ``"byo:<memory>"``, trial), so the same seed gives the same flips in the
RTL and in a Python model of it.  :func:`inject_leakage` reads the words by hierarchical
path, draws the masks and XORs them in (:mod:`qtaml_hw.hdl.inject`).

:func:`crossval_campaign` cross-validates a user's software model of any design: single-bit
flips uniform over the state bits of chosen classes (from the descriptor's elaborated netlist
and role file) and run cycles, the user's ``run`` coroutine and ``model`` function compared
run by run.

:func:`zero_state` deposits 0 into every register and memory word of a site list before reset,
so that Icarus (4-state: registers and memories start at X) starts from the state Verilator
(2-state, ``--x-initial fast``: 0) does; :func:`unknown_state_bits` counts the X/Z bits left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fidelity.design import Design, MemorySpec, design_sites
from qtaml_hw.hdl.inject import read_int, resolve, xor_now
from qtaml_hw.memory import FlipModel, flip_bits
from qtaml_hw.memory.codes import code_dtype
from qtaml_hw.seeding import rng


@dataclass(frozen=True)
class LeakageResult:
    """Words a memory held before the leakage and the XOR masks written into them."""

    memory: str
    words: tuple[int, ...]
    masks: tuple[int, ...]

    @property
    def bits_flipped(self) -> int:
        return sum(bin(m).count("1") for m in self.masks)

    def faulty_words(self) -> list[int]:
        return [w ^ m for w, m in zip(self.words, self.masks)]


def lanes_of(words, mem: MemorySpec) -> np.ndarray:
    """(words, lanes) array of the lane codes of ``words`` (Python ints, any width)."""
    lane_mask = (1 << mem.lane_bits) - 1
    return np.array([[(int(w) >> (g * mem.lane_bits)) & lane_mask for g in range(mem.lanes)] for w in words],
                    dtype=code_dtype(mem.lane_bits)).reshape(len(words), mem.lanes)


def leakage_masks(words, mem: MemorySpec, flip_model: FlipModel, *, seed: int, trial: int = 0) -> list[int]:
    """XOR mask of every word for one leakage trial (module docstring)."""
    codes = lanes_of(words, mem)
    faulty = flip_bits(codes, bits=mem.lane_bits, flip_model=flip_model, trials=1, seed=seed,
                       trial_offset=trial, key=f"byo:{mem.name}")[0]
    diff = faulty.astype(np.int64) ^ codes.astype(np.int64)
    return [sum(int(diff[i, g]) << (g * mem.lane_bits) for g in range(mem.lanes)) for i in range(len(words))]


async def inject_leakage(dut, design: Design, memory: str, flip_model: FlipModel, *, seed: int,
                         trial: int = 0) -> LeakageResult:
    """Read memory ``memory`` of ``design`` by path, draw one leakage trial, XOR it in now.

    Call it while the design does not write that memory (e.g. after loading, before a run);
    the flipped bits persist until the words are rewritten, like charge lost from a cell.
    """
    mem = design.memory(memory)
    handle = resolve(dut, mem.path)
    words = [read_int(handle[i]) for i in range(len(handle))]
    masks = leakage_masks(words, mem, flip_model, seed=seed, trial=trial)
    for i, m in enumerate(masks):
        if m:
            xor_now(handle[i], m)
    return LeakageResult(memory, tuple(words), tuple(masks))


def state_words(sites) -> list[tuple[str, int]]:
    """(path, words) of every state element of ``sites`` (:class:`Site` or netlist elements); words 0: a register."""
    return [(s.path, s.depth if s.kind == "memory" else 0) for s in sites]


def _handles(dut, elements):
    for path, words in elements:
        h = resolve(dut, path)
        if words:
            yield from (h[i] for i in range(words))
        else:
            yield h


def zero_state(dut, elements) -> int:
    """Deposit 0 into every register and every memory word of ``elements`` ((path, words), :func:`state_words`).

    Call it at the start of a test, before reset.  Icarus starts every register and memory at X,
    Verilator at 0, so state a run reads before any write (an activation-buffer row of a pass the
    tile does not have, reached through a control fault) is X on one and 0 on the other, and
    X * 0 = X spreads through the multipliers; with every element at 0 both simulate the same
    2-state design.  Returns the number of deposits.
    """
    count = 0
    for h in _handles(dut, elements):
        h.value = 0
        count += 1
    return count


def unknown_state_bits(dut, elements) -> int:
    """X/Z bits currently held by the registers and memory words of ``elements`` (0 on a 2-state simulator)."""
    return sum(sum(ch not in "01" for ch in str(h.value)) for h in _handles(dut, elements))


@dataclass(frozen=True)
class BitFault:
    """One single-bit flip of a design's state: element path, class, memory word (-1: register), bit, cycle."""

    path: str
    cls: str
    word: int
    bit: int
    cycle: int

    @property
    def target(self) -> str:
        return self.path if self.word < 0 else f"{self.path}[{self.word}]"


def plan_bit_faults(sites, *, classes, count: int, seed: int, cycles: int) -> list[BitFault]:
    """``count`` flips uniform over the state bits of ``classes`` and over run cycles [0, ``cycles``)."""
    bits = [(s, w, b) for s in sites if s.cls in classes for w in range(s.depth) for b in s.bits]
    if not bits:
        raise QtamlError(f"no state bits in classes {sorted(classes)}")
    gen = rng(seed, "byo-crossval")
    pick = gen.integers(0, len(bits), count)
    when = gen.integers(0, cycles, count)
    return [BitFault(bits[i][0].path, bits[i][0].cls, bits[i][1] if bits[i][0].kind == "memory" else -1,
                     int(bits[i][2]), int(t)) for i, t in zip(pick, when)]


async def crossval_campaign(dut, design: Design, *, classes, count: int, seed: int, cycles: int, run, model) -> dict:
    """Cross-validate a user's software model against the RTL on any design (docs/descriptor.md).

    ``run(dut, fault)``: the user's coroutine that performs one run with ``fault`` injected (e.g. with
    :func:`qtaml_hw.hdl.inject.flip_after_edges` on ``resolve(dut, fault.target)``) and returns its
    outputs; ``model(fault)``: the outputs the user's model predicts.  Returns per-class agreement and
    the first mismatch.
    """
    faults = plan_bit_faults(design_sites(design), classes=set(classes), count=count, seed=seed, cycles=cycles)
    per_class: dict[str, dict] = {}
    first = None
    for f in faults:
        got, want = await run(dut, f), model(f)
        st = per_class.setdefault(f.cls, {"injections": 0, "agree": 0})
        st["injections"] += 1
        ok = got == want
        st["agree"] += ok
        if not ok and first is None:
            first = {"fault": f, "rtl": got, "model": want}
    for st in per_class.values():
        st["agreement"] = st["agree"] / st["injections"]
    return {"injections": len(faults), "agree": sum(s["agree"] for s in per_class.values()),
            "per_class": per_class, "first_mismatch": first}
