"""SAT-based ATPG with redundancy proofs and fault-simulation compaction (design.md section 9).

For a stuck-at fault f the *miter* is the CNF (Tseitin encoding, one variable per net) of
the fault-free circuit C and a copy C_f of the fault's fan-out cone in which the fault
site is tied to its stuck value, plus ``OR_j (y_j XOR y_j^f)`` over the outputs the cone
reaches.  The miter is satisfiable iff some input vector makes C and C_f differ, and a
model is a test pattern; UNSAT is a proof that f is *redundant* (untestable: no input
distinguishes the faulty circuit, so it cannot change any result).  A conflict budget
bounds each call; faults over it are reported as *aborted* (neither tested nor proven).

:func:`generate_tests` runs the classical flow: random patterns with fault dropping while
they pay (a block of 64 must detect something new), then one SAT call per remaining fault,
each new pattern fault-simulated against all remaining faults (dropping), then compaction
by fault simulation: greedy set cover of the detection matrix of the kept patterns plus a
pool of extra random candidates (take the pattern detecting most still-uncovered faults)
followed by reverse-order elimination of patterns whose faults all stay covered without
them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from pysat.solvers import Solver

from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng
from qtaml_hw.selftest.faults import FaultList
from qtaml_hw.selftest.faultsim import detect_matrix
from qtaml_hw.selftest.netlist import CONST0, CONST1, GATE_KINDS, Netlist, arity

log = logging.getLogger(__name__)
SOLVER = "cadical153"
CONFLICT_BUDGET = 200_000


def _and(y, a, b):
    return [[-y, a], [-y, b], [y, -a, -b]]


def _xor(y, a, b):
    return [[-y, a, b], [-y, -a, -b], [y, -a, b], [y, a, -b]]


def gate_clauses(kind: str, y: int, a: int, b: int = 0, s: int = 0) -> list[list[int]]:
    """Tseitin clauses of ``y = kind(a, b[, s])`` over literals (negative = complemented)."""
    if kind in ("BUF", "NOT"):
        y = y if kind == "BUF" else -y
        return [[-y, a], [y, -a]]
    if kind in ("AND", "NAND", "ANDNOT"):
        return _and(-y if kind == "NAND" else y, a, -b if kind == "ANDNOT" else b)
    if kind in ("OR", "NOR", "ORNOT"):  # y = a | b  <=>  ~y = ~a & ~b
        return _and(y if kind == "NOR" else -y, -a, b if kind == "ORNOT" else -b)
    if kind in ("XOR", "XNOR"):
        return _xor(y if kind == "XOR" else -y, a, b)
    if kind == "MUX":  # y = s ? b : a
        return [[-s, -b, y], [-s, b, -y], [s, -a, y], [s, a, -y]]
    raise QtamlError(f"unknown gate kind {kind!r}")


def circuit_cnf(nl: Netlist) -> list[list[int]]:
    """CNF of the fault-free circuit; net n is variable n + 1."""
    cnf = [[-(CONST0 + 1)], [CONST1 + 1]]
    for g in range(nl.n_gates):
        kind = GATE_KINDS[nl.gate_kind[g]]
        ins = [int(nl.gate_in[g, p]) + 1 for p in range(arity(kind))]
        cnf += gate_clauses(kind, int(nl.gate_out[g]) + 1, *ins)
    return cnf


def miter_cnf(nl: Netlist, fault, base: list[list[int]]) -> list[list[int]] | None:
    """Miter clauses of ``fault`` (net, gate, pin, stuck) added to ``base``; None if no output is reachable."""
    net, gate, pin, stuck = fault
    nv = nl.n_nets + 1
    fvar: dict[int, int] = {}
    cnf = list(base)

    def const_lit():
        nonlocal nv
        nv += 1
        cnf.append([nv if stuck else -nv])
        return nv

    if gate >= nl.n_gates:  # a branch into output bit j only
        j = gate - nl.n_gates
        y = int(nl.output_nets[j]) + 1
        return cnf + [[-y] if stuck else [y]]
    if gate < 0:
        fvar[net] = const_lit()
    start = 0 if gate < 0 else gate
    for g in range(start, nl.n_gates):
        kind = GATE_KINDS[nl.gate_kind[g]]
        ins = [int(nl.gate_in[g, p]) for p in range(arity(kind))]
        if g != gate and not any(i in fvar for i in ins):
            continue
        lits = [fvar.get(i, i + 1) for i in ins]
        if g == gate:
            lits[pin] = const_lit()
        nv += 1
        fvar[int(nl.gate_out[g])] = nv
        cnf += gate_clauses(kind, nv, *lits)
    diffs = []
    for n in nl.output_nets:
        if int(n) in fvar:
            nv += 1
            cnf += _xor(nv, int(n) + 1, fvar[int(n)])
            diffs.append(nv)
    if not diffs:
        return None
    return cnf + [diffs]


def sat_test(nl: Netlist, fault, base, *, budget: int = CONFLICT_BUDGET):
    """("test", pattern dict) | ("redundant", None) | ("aborted", None) for one fault."""
    cnf = miter_cnf(nl, fault, base)
    if cnf is None:
        return "redundant", None
    with Solver(name=SOLVER, bootstrap_with=cnf) as s:
        s.conf_budget(budget)
        res = s.solve_limited()
        if res is None:
            return "aborted", None
        if not res:
            return "redundant", None
        model = set(v for v in s.get_model() if v > 0)
    pattern = {}
    for port, nets in nl.inputs:
        val = sum(1 << i for i, n in enumerate(nets) if (n + 1) in model)
        pattern[port] = val
    return "test", pattern


@dataclass(frozen=True)
class TestSet:
    """ATPG result over the collapsed faults of one netlist (all arrays aligned with ``faults``)."""

    patterns: dict            # port -> int64 values (P,), raw unsigned bit patterns
    faults: np.ndarray        # indices into the FaultList (collapsed representatives)
    status: np.ndarray        # per fault: "test", "redundant" or "aborted"
    detected: np.ndarray      # bool per fault: detected by the final (compacted) patterns
    before_compaction: int    # number of patterns before compaction
    random_kept: int          # patterns kept from the random phase
    sat_calls: int

    @property
    def n_patterns(self) -> int:
        return len(next(iter(self.patterns.values())))

    def counts(self) -> dict:
        return {"faults": int(len(self.faults)), "redundant": int(np.sum(self.status == "redundant")),
                "aborted": int(np.sum(self.status == "aborted")), "detected": int(self.detected.sum()),
                "patterns": self.n_patterns, "patterns_before_compaction": self.before_compaction,
                "random_kept": self.random_kept, "sat_calls": self.sat_calls}


def _random_block(nl: Netlist, gen, size: int) -> dict:
    return {p: gen.integers(0, 1 << len(nets), size, dtype=np.uint64).astype(np.int64) if len(nets) < 63
            else gen.integers(0, 1 << 62, size) for p, nets in nl.inputs}


def _concat(parts: list[dict], ports) -> dict:
    return {p: np.concatenate([np.asarray(d[p], np.int64).reshape(-1) for d in parts]) if parts
            else np.zeros(0, np.int64) for p in ports}


def compact(det: np.ndarray) -> np.ndarray:
    """Indices of a small pattern subset covering every fault ``det`` (F, P) covers (module docstring)."""
    need = det.any(axis=1)
    covered = ~need
    chosen = []
    while not covered.all():
        gain = det[~covered].sum(axis=0)
        best = int(np.argmax(gain))
        chosen.append(best)
        covered |= det[:, best]
    keep = list(chosen)
    for p in reversed(chosen):
        rest = [q for q in keep if q != p]
        if rest and det[need][:, rest].any(axis=1).all():
            keep = rest
    return np.array(sorted(keep), np.int64)


def generate_tests(nl: Netlist, fl: FaultList, *, seed: int, random_blocks: int = 8,
                   budget: int = CONFLICT_BUDGET, pool: int = 1024) -> TestSet:
    """Random + SAT patterns for the collapsed faults of ``fl``, compacted (module docstring).

    Compaction chooses from the generated patterns plus ``pool`` extra random candidates
    (a larger pool lets the greedy cover find patterns that each detect more faults)."""
    ports = [p for p, _ in nl.inputs]
    idx = fl.collapsed
    faults = fl.tuples(idx)
    status = np.array(["test"] * len(idx), dtype=object)
    alive = np.ones(len(idx), bool)
    gen = rng(seed, "selftest", "atpg", nl.name)
    kept: list[dict] = []
    for _ in range(random_blocks):
        block = _random_block(nl, gen, 64)
        cand = np.flatnonzero(alive)
        det = detect_matrix(nl, [faults[i] for i in cand], block)
        gained = False
        for p in range(64):
            hit = det[:, p] & alive[cand]
            if hit.any():
                alive[cand[hit]] = False
                kept.append({k: block[k][p:p + 1] for k in ports})
                gained = True
        if not gained:
            break
    random_kept = len(kept)
    base = circuit_cnf(nl)
    sat_calls = 0
    for i in range(len(idx)):
        if not alive[i]:
            continue
        sat_calls += 1
        verdict, pattern = sat_test(nl, faults[i], base, budget=budget)
        if verdict != "test":
            status[i], alive[i] = verdict, False
            continue
        pat = {k: np.array([pattern[k]], np.int64) for k in ports}
        cand = np.flatnonzero(alive)
        hit = detect_matrix(nl, [faults[j] for j in cand], pat)[:, 0]
        if not hit[list(cand).index(i)]:
            raise QtamlError(f"SAT pattern does not detect {fl.describe(idx[i])} in fault simulation")
        alive[cand[hit]] = False
        kept.append(pat)
    allp = _concat(kept + ([_random_block(nl, gen, pool)] if pool else []), ports)
    testable = np.flatnonzero(status == "test")
    det = detect_matrix(nl, [faults[i] for i in testable], allp) if len(testable) else np.zeros((0, 0), bool)
    chosen = compact(det) if len(testable) else np.zeros(0, np.int64)
    detected = np.zeros(len(idx), bool)
    detected[testable] = det[:, chosen].any(axis=1) if len(chosen) else False
    log.info("atpg %s: %d faults, %d patterns -> %d after compaction", nl.name, len(idx), len(kept), len(chosen))
    return TestSet({k: v[chosen] for k, v in allp.items()}, idx, status, detected, len(kept), random_kept, sat_calls)
