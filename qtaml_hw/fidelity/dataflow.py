"""Dataflow graph of ``accel_top`` for one run: which register feeds which, and in which cycles.

design.md section 6 (FIdelity's reuse-factor analysis, seed 003).  A networkx ``DiGraph``
whose nodes are the storage elements of a run (:func:`build_graph`):

- ``("w", r, c)``, ``("a", r, c)``, ``("p", r, c)``: weight, activation, partial-sum
  registers of PE(r, c); ``("o", c)``: output register of column c;
- ``("sram", addr)``: weight SRAM word; ``("rdata",)``: SRAM read register;
- ``("abuf", p, m, r)``: activation buffer byte A[m][pN+r]; ``("obuf", m, c)``: output buffer
  word (the preload, the pass results, the final output).

An edge u -> v means "the value u holds during cycle t is part of what v holds during
t+1" (every storage element is a register clocked every cycle).  Its attribute ``when`` is
the set of cycles t in which the transfer happens (``None``: every cycle), computed from
:class:`qtaml_hw.fidelity.schedule.GemmSchedule`; ``kind`` names it:

=============  ===========================  ============================================
kind           edge                          when (t)
=============  ===========================  ============================================
hold           w -> w                        unless the PE's weight word is loaded at t
hold           sram, abuf -> itself          always (no writes during a run)
hold           obuf(m,c) -> itself           unless o(c) writes row m at t
east           a(r,c) -> a(r,c+1)            always
mac_act        a(r,c) -> p(r,c)              always
mac_weight     w(r,c) -> p(r,c)              a(r,c) holds a live activation at t
south          p(r,c) -> p(r+1,c) / o(c)     always
out_write      o(c) -> obuf(m,c)             o(c) holds row m at t (written at t's edge)
north_read     obuf(m,c) -> p(0,c)           the buffer word is read as north partial sum
sram_read      sram(addr) -> rdata           the word's address is presented at t
wload          rdata -> w(r,c)               the PE's weight word is loaded at t's edge
act_read       abuf(p,m,r) -> a(r,0)         the byte enters the array at t's edge
=============  ===========================  ============================================

:func:`reachable_outputs` follows these edges through time from a register flipped at the
edge ending cycle t (faulty from t+1) and returns the final output elements the faulty
value reaches: FIdelity's affected neurons, whose count is the reuse factor.  The
reuse-factor model (:mod:`qtaml_hw.fidelity.reuse`) derives the same sets in closed form;
the tests check one against the other for every site and cycle, and
:func:`reuse_profile` / :func:`graph_masking` tabulate reuse factors and masking from the
graph.
"""

from __future__ import annotations

from collections import deque

import networkx as nx
import numpy as np

from qtaml_hw.fidelity.schedule import FAULT_CLASSES, GemmSchedule
from qtaml_hw.errors import QtamlError


def _pe_path(r: int, c: int, reg: str) -> str:
    return f"u_array.gen_row[{r}].gen_col[{c}].u_pe.{reg}"


def build_graph(sched: GemmSchedule, *, sram_words: int | None = None, max_rows: int | None = None) -> nx.DiGraph:
    """The dataflow graph of one run (module docstring); ``sram_words`` defaults to P*L."""
    n, rows, passes, ell = sched.n, sched.rows, sched.passes, sched.load_words
    depth = passes * ell if sram_words is None else sram_words
    max_rows = max_rows or 1 << max(rows - 1, 0).bit_length()
    nbits, rbits = (n - 1).bit_length(), (max_rows - 1).bit_length()
    T = sched.total_cycles
    g = nx.DiGraph(n=n, rows=rows, passes=passes, total_cycles=T, sram_words=depth)
    load_edge = {i: {sched.weight_write_cycle(p, i) for p in range(passes)} for i in range(ell)}
    every = set(range(T + 1))
    for r in range(n):
        for c in range(n):
            i = sched.word_of(r, c)
            g.add_node(("w", r, c), role="weight", width=8, rtl=_pe_path(r, c, "w_q"))
            g.add_node(("a", r, c), role="act", width=8, rtl=_pe_path(r, c, "a_q"))
            g.add_node(("p", r, c), role="psum", width=32, rtl=_pe_path(r, c, "p_q"))
            g.add_edge(("w", r, c), ("w", r, c), kind="hold", when=frozenset(every - load_edge[i]))
            live = {sched.act_cycle(p, m, r, c) for p in range(passes) for m in range(rows)}
            g.add_edge(("w", r, c), ("p", r, c), kind="mac_weight", when=frozenset(live))
            g.add_edge(("a", r, c), ("p", r, c), kind="mac_act", when=None)
            if c + 1 < n:
                g.add_edge(("a", r, c), ("a", r, c + 1), kind="east", when=None)
            g.add_edge(("p", r, c), ("p", r + 1, c) if r + 1 < n else ("o", c), kind="south", when=None)
            g.add_edge(("rdata",), ("w", r, c), kind="wload", when=frozenset(load_edge[i]))
    for c in range(n):
        g.add_node(("o", c), role="out", width=32, rtl=f"u_array.gen_out[{c}].o_q")
    g.add_node(("rdata",), role="sram_read", width=64, rtl="u_sram.rdata_q")
    for addr in range(depth):
        g.add_node(("sram", addr), role="sram", width=64, rtl=f"u_sram.mem_q[{addr}]")
        g.add_edge(("sram", addr), ("sram", addr), kind="hold", when=None)
        p, i = divmod(addr, ell)
        reads = {sched.sram_read_cycle(p, i)} if p < passes else set()
        g.add_edge(("sram", addr), ("rdata",), kind="sram_read", when=frozenset(reads))
    for m in range(rows):
        for c in range(n):
            node = ("obuf", m, c)
            g.add_node(node, role="out_buffer", width=32, rtl=f"obuf_q[{(m << nbits) | c}]")
            writes = {sched.out_cycle(p, m, c) for p in range(passes)}
            g.add_edge(node, node, kind="hold", when=frozenset(every - writes))
            g.add_edge(("o", c), node, kind="out_write", when=frozenset(writes))
            g.add_edge(node, ("p", 0, c), kind="north_read",
                       when=frozenset(sched.north_read_cycle(p, m, c) for p in range(passes)))
        for p in range(passes):
            for r in range(n):
                node = ("abuf", p, m, r)
                g.add_node(node, role="act_buffer", width=8, rtl=f"abuf_q[{(((p << rbits) | m) << nbits) | r}]")
                g.add_edge(node, node, kind="hold", when=None)
                g.add_edge(node, ("a", r, 0), kind="act_read", when=frozenset({sched.act_cycle(p, m, r, 0) - 1}))
    return g


def class_node(cls: str, row: int, col: int):
    """Graph node of a saboteur site (``schedule.Fault`` naming)."""
    if cls in ("weight", "act", "psum"):
        return ({"weight": "w", "act": "a", "psum": "p"}[cls], row, col)
    if cls == "out":
        return ("o", col)
    if cls == "sram":
        return ("sram", row)
    raise QtamlError(f"unknown fault class {cls!r}; choose one of {', '.join(FAULT_CLASSES)}")


def reachable_states(g: nx.DiGraph, node, t_flip: int) -> set:
    """(node, cycle) states holding (a function of) the value ``node`` holds from t_flip+1 on."""
    T = g.graph["total_cycles"]
    start = (node, t_flip + 1)
    seen = {start}
    todo = deque([start])
    while todo:
        u, t = todo.popleft()
        if t >= T:
            continue
        for v, attr in g.adj[u].items():
            when = attr["when"]
            if when is None or t in when:
                s = (v, t + 1)
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
    return seen


def reachable_outputs(g: nx.DiGraph, node, t_flip: int) -> set[tuple[int, int]]:
    """Final output elements (m, c) a value flipped into ``node`` at the edge ending ``t_flip`` reaches.

    Their number is FIdelity's reuse factor of that flip.
    """
    T = g.graph["total_cycles"]
    if node not in g:
        raise QtamlError(f"{node!r} is not a node of this run's dataflow graph")
    return {(v[1], v[2]) for v, t in reachable_states(g, node, t_flip) if t == T and v[0] == "obuf"}


def reuse_profile(g: nx.DiGraph, cls: str) -> dict:
    """Per flip cycle t: mean reuse factor over the class's sites and the fraction of live sites."""
    n, T = g.graph["n"], g.graph["total_cycles"]
    if cls in ("weight", "act", "psum"):
        sites = [(r, c) for r in range(n) for c in range(n)]
    elif cls == "out":
        sites = [(0, c) for c in range(n)]
    else:
        sites = [(addr, 0) for addr in range(g.graph["sram_words"])]
    reuse = np.zeros((len(sites), T))
    for j, (r, c) in enumerate(sites):
        node = class_node(cls, r, c)
        for t in range(T):
            reuse[j, t] = len(reachable_outputs(g, node, t))
    return {"mean_reuse_factor": reuse.mean(axis=0), "live_fraction": (reuse > 0).mean(axis=0),
            "max_reuse_factor": int(reuse.max())}


def graph_masking(g: nx.DiGraph, cls: str) -> float:
    """Structural masking probability over uniform (site, cycle) from the graph (bits do not matter)."""
    return 1.0 - float(reuse_profile(g, cls)["live_fraction"].mean())
