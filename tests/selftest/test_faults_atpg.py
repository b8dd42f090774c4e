"""Hand-checkable netlists: fault list, collapsing, fault simulation, SAT ATPG and compaction."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qtaml_hw.errors import QtamlError
from qtaml_hw.selftest.atpg import circuit_cnf, compact, generate_tests, sat_test
from qtaml_hw.selftest.faults import fault_list, summary
from qtaml_hw.selftest.faultsim import detect_matrix, pack, unpack
from qtaml_hw.selftest.netlist import Netlist


def and_or() -> Netlist:
    """y = (a & b) | c."""
    return Netlist.build("and_or", inputs={"a": 1, "b": 1, "c": 1},
                         gates=[("AND", "n1", ("a", "b")), ("OR", "y", ("n1", "c"))], outputs={"y": ["y"]})


def consensus() -> Netlist:
    """y = a b + a' c + b c: the consensus term b c is redundant (its s-a-0 faults are untestable)."""
    return Netlist.build("consensus", inputs={"a": 1, "b": 1, "c": 1}, gates=[
        ("AND", "g1", ("a", "b")), ("NOT", "na", ("a",)), ("AND", "g2", ("na", "c")),
        ("AND", "g3", ("b", "c")), ("OR", "g4", ("g1", "g2")), ("OR", "y", ("g4", "g3"))], outputs={"y": ["y"]})


def exhaustive(nl: Netlist) -> dict:
    bits = np.array(list(itertools.product([0, 1], repeat=len(nl.inputs))))
    return {port: bits[:, i] for i, (port, _) in enumerate(nl.inputs)}


def name_of(nl, fl, i):
    names = {n: p for p, (n,) in nl.inputs} | {int(nl.gate_out[0]): "n1", int(nl.gate_out[1]): "y"}
    return f"{names[int(fl.net[i])]}/{fl.stuck[i]}"


def test_and_or_fault_list_and_collapsing_by_hand():
    nl = and_or()
    fl = fault_list(nl)
    # 5 lines (a, b, c, n1, y), no fan-out: 10 faults; AND: a0=b0=n1/0, OR: n1/1=c1=y1 -> 6 classes
    assert summary(fl) | {} == {"uncollapsed": 10, "collapsed": 6, "stem_sites": 5, "branch_sites": 0,
                                "collapse_ratio": 0.6}
    classes = {}
    for i in range(fl.total):
        classes.setdefault(int(fl.rep[i]), set()).add(name_of(nl, fl, i))
    assert sorted(map(sorted, classes.values())) == sorted(map(sorted, [
        {"a/0", "b/0", "n1/0"}, {"n1/1", "c/1", "y/1"}, {"a/1"}, {"b/1"}, {"c/0"}, {"y/0"}]))


def test_and_or_detection_matrix_by_hand():
    nl = and_or()
    fl = fault_list(nl)
    pats = exhaustive(nl)  # pattern index = 4a + 2b + c
    det = detect_matrix(nl, fl.tuples(np.arange(fl.total)), pats)
    by_name = {name_of(nl, fl, i): set(np.flatnonzero(det[i])) for i in range(fl.total)}
    assert by_name["a/0"] == {6} and by_name["b/0"] == {6} and by_name["n1/0"] == {6}
    assert by_name["a/1"] == {2} and by_name["b/1"] == {4}
    assert by_name["c/0"] == {1, 3, 5} and by_name["c/1"] == {0, 2, 4} == by_name["y/1"]
    assert by_name["y/0"] == {1, 3, 5, 6, 7}
    # every fault is testable; patterns {2, 4, 5, 6} (011->? see names) detect all six classes
    assert det[:, [1, 2, 4, 6]].any(axis=1).all()


def test_branch_faults_and_pack_roundtrip():
    nl = consensus()
    fl = fault_list(nl)
    s = summary(fl)
    # lines: a, b, c, na, g1..g4, y = 9 stems; a, b, c each feed 2 gates -> 6 branches
    assert (s["stem_sites"], s["branch_sites"], s["uncollapsed"]) == (9, 6, 30)
    vals = np.array([0, 1, -1, 2**31 - 1, -2**31, 12345], np.int64)
    assert np.array_equal(unpack(pack(vals, 32), len(vals), signed=True), vals)


def test_sat_proves_consensus_fault_redundant_and_tests_the_rest():
    nl = consensus()
    fl = fault_list(nl)
    base = circuit_cnf(nl)
    bc = {nl.port("b")[0], nl.port("c")[0]}
    (g3,) = [int(nl.gate_out[g]) for g in range(nl.n_gates) if set(nl.gate_in[g, :2].tolist()) == bc]
    verdict, _ = sat_test(nl, (g3, -1, 0, 0), base)
    assert verdict == "redundant"
    det_all = detect_matrix(nl, fl.tuples(fl.collapsed), exhaustive(nl)).any(axis=1)
    ts = generate_tests(nl, fl, seed=1)
    # SAT's verdict equals exhaustive simulation: redundant <=> no input vector detects it
    assert np.array_equal(ts.status == "redundant", ~det_all)
    assert (ts.status == "redundant").sum() >= 1 and ts.detected[ts.status == "test"].all()
    # every SAT pattern detects its fault in simulation (checked inside), compaction kept coverage
    det = detect_matrix(nl, fl.tuples(ts.faults), ts.patterns)
    assert det.any(axis=1)[ts.status == "test"].all()


def test_compaction_greedy_cover():
    det = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0]], bool)
    keep = compact(det)
    assert list(keep) == [2, 3]  # pattern 3 covers faults 0, 1; pattern 2 fault 2; fault 3 untestable


def test_netlist_rejects_bad_input():
    with pytest.raises(QtamlError):
        Netlist.build("x", inputs={"a": 1}, gates=[("FOO", "y", ("a",))], outputs={"y": ["y"]})
    with pytest.raises(QtamlError):
        Netlist.build("x", inputs={"a": 1}, gates=[("AND", "y", ("a", "q"))], outputs={"y": ["y"]})
