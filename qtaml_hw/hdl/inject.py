"""Fault injection by hierarchical path, for any design, on Verilator and Icarus (docs/design.md section 6).

cocotb 2.1's runner builds Verilator with ``--public-flat-rw`` and Icarus exposes every
signal through VPI, so any register bit or memory word is reachable by its hierarchical
path below the top, e.g. ``u_array.gen_row[1].gen_col[2].u_pe.w_q`` or
``u_sram.gen_ecc.check_q[5]``: no saboteur port is needed.

Timing convention (the same as the saboteur's, docs/rtl.md): a fault "at run cycle t"
XORs the register's value held from cycle t+1 on.  :func:`flip_after_edges` waits for the
``edges``-th rising edge, then for the falling edge, and XORs the register there: in the
middle of the clock period, after every non-blocking update of the rising edge and long
before the next one samples it, so there is no race with the design's own writes on either
simulator.  A memory word flipped this way is seen by every read sampled after it.

These helpers run inside a cocotb test (user testbenches import them); they are
coroutines except :func:`resolve`, :func:`read_int` and :func:`xor_now`.
"""

from __future__ import annotations

import re

from cocotb.triggers import ClockCycles, FallingEdge, Timer

_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_$]*)((?:\[\d+\])*)$")


def split_path(path: str) -> list[tuple[str, tuple[int, ...]]]:
    """``"a.b[2].c[3][1]"`` -> ``[("a", ()), ("b", (2,)), ("c", (3, 1))]``; ValueError if malformed."""
    out = []
    for part in path.split("."):
        m = _PART.match(part)
        if not m:
            raise ValueError(f"bad hierarchical path component {part!r} in {path!r}")
        out.append((m.group(1), tuple(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))))
    return out


def resolve(dut, path: str):
    """The simulator handle of ``path`` below ``dut`` (generate scopes and memory words indexed)."""
    h = dut
    for name, idx in split_path(path):
        h = getattr(h, name)
        for i in idx:
            h = h[i]
    return h


def read_int(handle) -> int:
    """Unsigned value of a register/memory word; unknown (X/Z) bits read as 0 (never-written Icarus memory)."""
    val = handle.value
    if not hasattr(val, "to_unsigned"):  # a 1-bit register reads as a scalar Logic
        return 1 if str(val) == "1" else 0
    try:
        return val.to_unsigned()
    except ValueError:
        text = str(val)
        return int("".join("1" if ch == "1" else "0" for ch in text), 2) if text else 0


def xor_now(handle, mask: int) -> int:
    """XOR ``mask`` into the register/word now (deposit); returns the new value."""
    new = read_int(handle) ^ int(mask)
    handle.value = new
    return new


async def flip_after_edges(clk, handle, mask: int, edges: int, *, period_ns: int | None = None) -> None:
    """Wait ``edges`` rising edges of ``clk`` (0: none), then the falling edge, then XOR ``mask`` in.

    Called right after the rising edge that starts run cycle 0, ``edges = t + 1`` makes the
    flipped value the one held from cycle t+1 (a fault "at cycle t", module docstring).
    With ``period_ns`` (a free-running clock of that period, called at a rising edge) one
    timer replaces the per-edge wake-ups: (edges + 1/2) periods later is that falling edge.
    """
    if period_ns is not None:
        await Timer(edges * period_ns + period_ns // 2, "ns")
    else:
        if edges > 0:
            await ClockCycles(clk, edges)
        await FallingEdge(clk)
    xor_now(handle, mask)
