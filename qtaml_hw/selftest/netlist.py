"""Gate-level netlists from Yosys for fault simulation and ATPG (design.md section 9).

A :class:`Netlist` is a combinational circuit of simple two-input gates (plus NOT, BUF and
the 2:1 MUX), nets numbered ``0 .. n_nets-1`` with net 0 the constant 0 and net 1 the
constant 1, gates stored in topological order as NumPy arrays:

* ``gate_kind[g]``: index into :data:`GATE_KINDS`;
* ``gate_in[g] = (A, B, S)``: input nets (``-1`` where the kind has fewer inputs);
  ``MUX`` is Yosys' ``$_MUX_``: ``Y = S ? B : A``; ``ANDNOT`` is ``A & ~B``, ``ORNOT`` ``A | ~B``;
* ``gate_out[g]``: the net it drives (every net has at most one driver).

:func:`pe_mac_netlist` builds the netlist of the processing element's MAC from the RTL
itself: Yosys reads ``rtl/systolic_pe.v``, ``submod`` moves its ``$mul`` and ``$add`` cells
(``p_d = psum_i + sext(a_q * w_q)``, the only multiplier and adder of the PE) into a module
``pe_mac`` whose ports keep the RTL names ``a_q``, ``w_q``, ``psum_i`` -> ``p_d``; ``synth``
and ``abc -g`` map it to the gate library above.  No arithmetic is written by hand here.
:func:`to_verilog` writes a netlist back as Verilog with stuck-at faults built in behind a
selector input, so the simulators evaluate the faulty gates themselves.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.hdl.simulators import BUILD_ROOT, rtl_sources

GATE_KINDS = ("BUF", "NOT", "AND", "NAND", "OR", "NOR", "XOR", "XNOR", "ANDNOT", "ORNOT", "MUX")
KIND = {name: i for i, name in enumerate(GATE_KINDS)}
ARITY = {"BUF": 1, "NOT": 1, "MUX": 3}
YOSYS_KIND = {f"$_{k}_": k for k in GATE_KINDS}
#: The gate library ``abc`` maps to (Yosys' internal simple cells).
ABC_GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"
CONST0, CONST1 = 0, 1
SELECTOR_BITS = 16


def arity(kind: str) -> int:
    return ARITY.get(kind, 2)


@dataclass(frozen=True)
class Netlist:
    """Combinational gate netlist (module docstring); build with :meth:`build` or :func:`from_yosys_json`."""

    name: str
    n_nets: int
    gate_kind: np.ndarray
    gate_in: np.ndarray
    gate_out: np.ndarray
    inputs: tuple      # ((port, (net, ...)), ...) LSB first
    outputs: tuple     # ((port, (net, ...)), ...) LSB first

    def __post_init__(self):
        driven = np.zeros(self.n_nets, bool)
        driven[[CONST0, CONST1]] = True
        for _, nets in self.inputs:
            if driven[list(nets)].any():
                raise QtamlError(f"netlist {self.name}: an input net is driven twice")
            driven[list(nets)] = True
        for g in range(len(self.gate_kind)):
            ins = self.gate_in[g, : arity(GATE_KINDS[self.gate_kind[g]])]
            if (ins < 0).any() or not driven[ins].all():
                raise QtamlError(f"netlist {self.name}: gate {g} reads an undriven net (not in topological order)")
            if driven[self.gate_out[g]]:
                raise QtamlError(f"netlist {self.name}: net {self.gate_out[g]} has two drivers")
            driven[self.gate_out[g]] = True
        for _, nets in self.outputs:
            if not driven[list(nets)].all():
                raise QtamlError(f"netlist {self.name}: an output is undriven")

    @property
    def n_gates(self) -> int:
        return len(self.gate_kind)

    def port(self, name: str) -> tuple:
        for port, nets in self.inputs + self.outputs:
            if port == name:
                return nets
        raise QtamlError(f"netlist {self.name} has no port {name!r}")

    @property
    def input_nets(self) -> np.ndarray:
        return np.array([n for _, nets in self.inputs for n in nets], np.int64)

    @property
    def output_nets(self) -> np.ndarray:
        return np.array([n for _, nets in self.outputs for n in nets], np.int64)

    def fanout(self) -> list[list[tuple[int, int]]]:
        """Per net: the (gate, pin) pairs reading it."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(self.n_nets)]
        for g in range(self.n_gates):
            for pin in range(arity(GATE_KINDS[self.gate_kind[g]])):
                out[self.gate_in[g, pin]].append((g, pin))
        return out

    def driver(self) -> np.ndarray:
        """Per net: the gate driving it, -1 for inputs and constants."""
        d = np.full(self.n_nets, -1, np.int64)
        d[self.gate_out] = np.arange(self.n_gates)
        return d

    def counts(self) -> dict:
        kinds, n = np.unique(self.gate_kind, return_counts=True)
        return {GATE_KINDS[k]: int(c) for k, c in zip(kinds, n)}

    @classmethod
    def build(cls, name: str, *, inputs: dict, gates: list, outputs: dict) -> "Netlist":
        """Netlist from named nets: ``inputs`` {port: width}, ``gates`` [(kind, out, (in, ...))],
        ``outputs`` {port: [net, ...]}; input bits are named ``port`` (width 1) or ``port[i]``;
        ``"0"``/``"1"`` are the constants.  Gates may come in any order (sorted here)."""
        ids = {"0": CONST0, "1": CONST1}
        ins = []
        for port, width in inputs.items():
            nets = []
            for i in range(width):
                key = port if width == 1 else f"{port}[{i}]"
                ids[key] = len(ids)
                nets.append(ids[key])
            ins.append((port, tuple(nets)))
        for kind, out, _ in gates:
            if kind not in KIND:
                raise QtamlError(f"unknown gate kind {kind!r}; choose one of {', '.join(GATE_KINDS)}")
            if out in ids:
                raise QtamlError(f"net {out!r} has two drivers")
            ids[out] = len(ids)
        try:
            raw = [(KIND[k], ids[o], [ids[i] for i in i_s]) for k, o, i_s in gates]
            outs = tuple((p, tuple(ids[n] for n in nets)) for p, nets in outputs.items())
        except KeyError as exc:
            raise QtamlError(f"netlist {name}: net {exc.args[0]!r} is never driven") from None
        return _assemble(name, len(ids), raw, tuple(ins), outs)


def _assemble(name: str, n_nets: int, raw: list, inputs: tuple, outputs: tuple) -> Netlist:
    """Topologically sort ``raw`` gates (kind, out, [ins]) and pack them into a :class:`Netlist`."""
    ready = np.zeros(n_nets, bool)
    ready[[CONST0, CONST1]] = True
    for _, nets in inputs:
        ready[list(nets)] = True
    order, pending = [], list(raw)
    while pending:
        rest = [g for g in pending if not all(ready[i] for i in g[2])]
        done = [g for g in pending if all(ready[i] for i in g[2])]
        if not done:
            raise QtamlError(f"netlist {name}: combinational loop or undriven net")
        for g in done:
            ready[g[1]] = True
        order += done
        pending = rest
    kind = np.array([g[0] for g in order], np.int8)
    gin = np.full((len(order), 3), -1, np.int64)
    for j, g in enumerate(order):
        gin[j, : len(g[2])] = g[2]
    out = np.array([g[1] for g in order], np.int64)
    return Netlist(name, n_nets, kind, gin, out, inputs, outputs)


def from_yosys_json(data: dict, module: str) -> Netlist:
    """:class:`Netlist` of ``module`` in a Yosys ``write_json`` dump mapped to simple gates."""
    try:
        mod = data["modules"][module]
    except KeyError:
        raise QtamlError(f"module {module!r} not in the Yosys netlist") from None
    ids: dict = {"0": CONST0, "1": CONST1, "x": CONST0, "z": CONST0}
    count = [2]

    def net(bit):
        if bit not in ids:
            ids[bit] = count[0]
            count[0] += 1
        return ids[bit]

    inputs, outputs = [], []
    for port, p in mod["ports"].items():
        nets = tuple(net(b) for b in p["bits"])
        (inputs if p["direction"] == "input" else outputs).append((port, nets))
    raw = []
    for cname, cell in mod["cells"].items():
        kind = YOSYS_KIND.get(cell["type"])
        if kind is None:
            raise QtamlError(f"cell {cname} of type {cell['type']} is not a simple gate (run techmap/abc -g)")
        pins = ("A", "B", "S")[: arity(kind)]
        c = cell["connections"]
        raw.append((KIND[kind], net(c["Y"][0]), [net(c[p][0]) for p in pins]))
    return _assemble(module, count[0], raw, tuple(inputs), tuple(outputs))


def run_yosys(script: str, *, json_out: Path) -> dict:
    exe = shutil.which("yosys")
    if exe is None:
        raise QtamlError("yosys not found: run `make setup` (apt-get install -y yosys)")
    proc = subprocess.run([exe, "-q", "-p", script], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise QtamlError(f"yosys failed: {tail}")
    return json.loads(Path(json_out).read_text())


def pe_mac_netlist(*, cache_dir: Path | None = None) -> Netlist:
    """Gate netlist of the PE's MAC (``$mul`` + ``$add`` of ``rtl/systolic_pe.v``; module docstring).

    Cached under ``sim/build/selftest/`` by the SHA-256 of the RTL source and the script.
    """
    (src,) = rtl_sources("systolic_pe")
    script = (f"read_verilog {src}; hierarchy -top systolic_pe; proc; opt_clean; "
              "submod -name pe_mac t:$mul t:$add; hierarchy -top pe_mac; "
              f"synth -top pe_mac -flatten; abc -g {ABC_GATES}; opt_clean; ")
    key = hashlib.sha256((src.read_text() + script).encode()).hexdigest()[:12]
    cache = Path(cache_dir or BUILD_ROOT / "selftest") / f"pe_mac_{key}.json"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache.parent) as tmp:
            out = Path(tmp) / "mac.json"
            run_yosys(script + f"write_json {out}", json_out=out)
            out.replace(cache)
    nl = from_yosys_json(json.loads(cache.read_text()), "pe_mac")
    if sorted(p for p, _ in nl.inputs) != ["a_q", "psum_i", "w_q"] or [p for p, _ in nl.outputs] != ["p_d"]:
        raise QtamlError(f"unexpected MAC ports {[p for p, _ in nl.inputs]} (rtl/systolic_pe.v changed?)")
    return nl


_EXPR = {"BUF": "{0}", "NOT": "~{0}", "AND": "{0} & {1}", "NAND": "~({0} & {1})", "OR": "{0} | {1}",
         "NOR": "~({0} | {1})", "XOR": "{0} ^ {1}", "XNOR": "~({0} ^ {1})", "ANDNOT": "{0} & ~{1}",
         "ORNOT": "{0} | ~{1}", "MUX": "{2} ? {1} : {0}"}


def to_verilog(nl: Netlist, module: str, *, faults=()) -> str:
    """Verilog-2005 module of ``nl``; with ``faults`` ((net, gate, pin, stuck), ...) an input
    ``fault_sel_i`` selects fault k+1 (0 or any other value: fault-free).  ``gate = -1`` is a
    stem fault on the net (every reader sees it), else a branch fault on that gate pin only
    (``gate = n_gates + j``: on output bit j only)."""
    stem: dict[int, list] = {}
    branch: dict[tuple[int, int], list] = {}
    for k, (net, gate, pin, stuck) in enumerate(faults, start=1):
        (stem.setdefault(net, []) if gate < 0 else branch.setdefault((gate, pin), [])).append((k, stuck))

    def name(n: int) -> str:
        return "1'b0" if n == CONST0 else "1'b1" if n == CONST1 else f"n{n}"

    def wrap(expr: str, sel: list) -> str:
        for k, stuck in sel:
            expr = f"(fault_sel_i == {SELECTOR_BITS}'d{k}) ? 1'b{stuck} : {expr}"
        return expr

    ports = [f"  input  wire [{len(n) - 1}:0] {p}" for p, n in nl.inputs]
    ports += [f"  output wire [{len(n) - 1}:0] {p}" for p, n in nl.outputs]
    if faults:
        ports.append(f"  input  wire [{SELECTOR_BITS - 1}:0] fault_sel_i")
    lines = [f"// Generated by qtaml_hw.selftest.netlist.to_verilog from netlist {nl.name}; do not edit.",
             f"module {module} (", ",\n".join(ports), ");",
             "  // one compiled copy for all instances (Verilator builds stay small)",
             "  /* verilator no_inline_module */"]
    for p, nets in nl.inputs:
        for i, n in enumerate(nets):
            lines.append(f"  wire n{n} = {wrap(f'{p}[{i}]', stem.get(n, []))};")
    for g in range(nl.n_gates):
        kind = GATE_KINDS[nl.gate_kind[g]]
        args = [wrap(name(int(nl.gate_in[g, pin])), branch.get((g, pin), [])) for pin in range(arity(kind))]
        expr = _EXPR[kind].format(*(f"({a})" for a in args))
        out = int(nl.gate_out[g])
        lines.append(f"  wire n{out} = {wrap(expr, stem.get(out, []))};")
    j = nl.n_gates  # output bit j is pseudo-gate n_gates + j (a fanout branch of its net)
    for p, nets in nl.outputs:
        bits = []
        for n in nets:
            bits.append(wrap(name(n), branch.get((j, 0), [])))
            j += 1
        lines.append(f"  assign {p} = {{{', '.join(f'({b})' for b in reversed(bits))}}};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"
