"""Single stuck-at fault list of a netlist, collapsed by equivalence (design.md section 9).

Fault sites (the classical line model): every net that is read has a *stem*; a net read by
two or more gate pins or output bits also has one *branch* per reader.  Each site has two
faults, stuck-at-0 and stuck-at-1, so the uncollapsed list has ``2 * (stems + branches)``
faults.  A fault is ``(net, gate, pin, stuck)`` with ``gate = -1`` for a stem; output bit j
is the pseudo-gate ``n_gates + j`` (pin 0).

Equivalence collapsing (faults with identical faulty functions, proven gate by gate): the
*input fault* of a gate pin is its branch fault when the net branches, else the net's stem
fault; then

=========  ==============================================
AND        in s-a-0 == out s-a-0
NAND       in s-a-0 == out s-a-1
OR         in s-a-1 == out s-a-1
NOR        in s-a-1 == out s-a-0
BUF / NOT  in s-a-v == out s-a-v / out s-a-(1-v)
ANDNOT     A s-a-0 == B s-a-1 == out s-a-0   (Y = A & ~B)
ORNOT      A s-a-1 == B s-a-0 == out s-a-1   (Y = A | ~B)
XOR, XNOR, MUX: no equivalences
=========  ==============================================

Equivalence classes are the connected components of these relations (union-find); the
collapsed list keeps one representative per class (the lowest-numbered fault).  Detecting
the representative detects every fault of its class, so coverage over the collapsed list
weighted by class size equals coverage over the full list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qtaml_hw.selftest.netlist import CONST0, CONST1, GATE_KINDS, Netlist

#: (kind) -> [(pin, stuck_in, stuck_out)]: pin's input fault s-a-stuck_in == output s-a-stuck_out.
EQUIV = {
    "AND": [(0, 0, 0), (1, 0, 0)], "NAND": [(0, 0, 1), (1, 0, 1)],
    "OR": [(0, 1, 1), (1, 1, 1)], "NOR": [(0, 1, 0), (1, 1, 0)],
    "BUF": [(0, 0, 0), (0, 1, 1)], "NOT": [(0, 0, 1), (0, 1, 0)],
    "ANDNOT": [(0, 0, 0), (1, 1, 0)], "ORNOT": [(0, 1, 1), (1, 0, 1)],
    "XOR": [], "XNOR": [], "MUX": [],
}


@dataclass(frozen=True)
class FaultList:
    """Uncollapsed faults as arrays plus their equivalence classes (module docstring)."""

    netlist_name: str
    net: np.ndarray
    gate: np.ndarray
    pin: np.ndarray
    stuck: np.ndarray
    rep: np.ndarray          # rep[i]: index of fault i's class representative

    @property
    def total(self) -> int:
        return len(self.net)

    @property
    def collapsed(self) -> np.ndarray:
        """Indices of the representatives (one per equivalence class), ascending."""
        return np.flatnonzero(self.rep == np.arange(self.total))

    @property
    def class_size(self) -> np.ndarray:
        """Size of each collapsed fault's class, aligned with :attr:`collapsed`."""
        return np.bincount(self.rep, minlength=self.total)[self.collapsed]

    def tuples(self, idx=None) -> list[tuple[int, int, int, int]]:
        idx = self.collapsed if idx is None else np.asarray(idx)
        return [(int(self.net[i]), int(self.gate[i]), int(self.pin[i]), int(self.stuck[i])) for i in idx]

    def describe(self, i: int) -> str:
        site = f"n{self.net[i]}" if self.gate[i] < 0 else f"n{self.net[i]}->g{self.gate[i]}.{self.pin[i]}"
        return f"{site} s-a-{self.stuck[i]}"


def _readers(nl: Netlist) -> list[list[tuple[int, int]]]:
    readers = nl.fanout()
    for j, net in enumerate(nl.output_nets):
        readers[int(net)].append((nl.n_gates + j, 0))
    return readers


def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def fault_list(nl: Netlist) -> FaultList:
    """All single stuck-at faults of ``nl`` and their equivalence classes (module docstring)."""
    readers = _readers(nl)
    rows: list[tuple[int, int, int, int]] = []
    stem_id: dict[int, int] = {}
    pin_id: dict[tuple[int, int], int] = {}
    is_input = np.zeros(nl.n_nets, bool)
    is_input[nl.input_nets] = True
    for net in range(nl.n_nets):
        if net in (CONST0, CONST1) or not (readers[net] or is_input[net]):
            continue
        stem_id[net] = len(rows)
        rows += [(net, -1, 0, 0), (net, -1, 0, 1)]
        branches = len(readers[net]) > 1
        for g, p in readers[net]:
            if branches:
                pin_id[(g, p)] = len(rows)
                rows += [(net, g, p, 0), (net, g, p, 1)]
            else:
                pin_id[(g, p)] = stem_id[net]
    arr = np.array(rows, np.int64).reshape(-1, 4)
    parent = np.arange(len(rows))
    for g in range(nl.n_gates):
        out = stem_id.get(int(nl.gate_out[g]))
        if out is None:
            continue
        for pin, s_in, s_out in EQUIV[GATE_KINDS[nl.gate_kind[g]]]:
            base = pin_id.get((g, pin))
            if base is None:
                continue  # a constant input
            a, b = _find(parent, base + s_in), _find(parent, out + s_out)
            parent[max(a, b)] = min(a, b)
    rep = np.array([_find(parent, i) for i in range(len(rows))], np.int64)
    return FaultList(nl.name, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], rep)


def summary(fl: FaultList) -> dict:
    """Counts before and after collapsing."""
    stems = int(np.sum(fl.gate < 0)) // 2
    return {"uncollapsed": fl.total, "collapsed": int(len(fl.collapsed)), "stem_sites": stems,
            "branch_sites": (fl.total // 2) - stems,
            "collapse_ratio": float(len(fl.collapsed) / max(fl.total, 1))}
