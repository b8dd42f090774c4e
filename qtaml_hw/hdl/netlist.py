"""State elements and the register graph of any design, from its elaborated Yosys netlist.

docs/design.md section 6 (fault sites).  :func:`yosys_netlist` elaborates ``top`` for given
parameters and defines (``read_verilog``, ``-sv`` for ``.sv`` files; ``hierarchy; proc;
flatten; memory_collect``) and returns Yosys's JSON netlist (cached under
``sim/build/netlist/`` by the hash of the sources and options).  :func:`state_elements` lists
every flip-flop register and memory of it:

* a memory is one ``$mem_v2`` cell: its ``MEMID`` is the hierarchical path (e.g.
  ``u_sram.gen_ecc.check_q``), ``WIDTH`` x ``SIZE`` state bits;
* a register is a public net whose bits are driven by flip-flop cells (any ``*dff*`` or
  latch type).  Nets that alias the same bits (an output port ``a_o`` assigned from ``a_q``)
  are resolved to the net declared as a non-port ``reg``/``logic``/``bit`` in the source
  line Yosys records (``src`` attribute), then to a reg/logic port, then to the shortest name.

:func:`register_graph` is the design's real register-to-register graph (networkx
``DiGraph``): an edge u -> v when a bit of state element u reaches the next-state input of
v through combinational cells only (memory read data counts as the memory itself, its read
address as combinational fan-in); top-level inputs appear as ``in:<port>`` nodes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import networkx as nx

from qtaml_hw.errors import QtamlError
from qtaml_hw.hdl.simulators import BUILD_ROOT

NETLIST_DIR = BUILD_ROOT / "netlist"
_FF = re.compile(r"^\$(_?)(.*dff.*|dlatch.*|adlatch.*|sr.*|_DFF.*|_SDFF.*|_DLATCH.*)$", re.IGNORECASE)
_DECL = re.compile(r"\b(reg|logic|bit)\b")
_PORT = re.compile(r"\b(input|output|inout)\b")
_SRC = re.compile(r"^(.*):(\d+)\.\d+-\d+\.\d+$")


@dataclass(frozen=True)
class StateElement:
    """One register or memory of the elaborated design."""

    path: str                 # hierarchical path below the top ("u_sram.mem_q", "u_ctrl.pass_q")
    width: int                # bits per word (declared width of the register)
    depth: int                # words (1 for a register)
    kind: str                 # "register" or "memory"
    bits: tuple[int, ...]     # bit indices that are state (all for a memory)

    @property
    def state_bits(self) -> int:
        return len(self.bits) * self.depth


def _yosys_exe() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise QtamlError("yosys not found: apt-get install -y yosys")
    return exe


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "ERROR" in line:
            return line.strip()[:200]
    tail = text.strip().splitlines()
    return tail[-1][:200] if tail else "unknown error"


def yosys_netlist(sources, top: str, *, parameters: dict | None = None, defines: dict | None = None) -> dict:
    """Yosys JSON netlist of ``top`` (flattened, processes lowered, memories collected); cached."""
    sources = [Path(s) for s in sources]
    for s in sources:
        if not s.exists():
            raise QtamlError(f"source not found: {s}")
    dflags = "".join(f" -D{k}={v}" for k, v in sorted((defines or {}).items()))
    reads = "; ".join(f"read_verilog{' -sv' if s.suffix in ('.sv', '.svh') else ''}{dflags} {s}" for s in sources)
    chp = "".join(f" -set {k} {v}" for k, v in (parameters or {}).items())
    script = reads + "; " + (f"chparam{chp} {top}; " if chp else "") + \
        f"hierarchy -check -top {top}; proc; flatten; memory_collect; opt_clean"
    key = hashlib.sha256((script + "".join(s.read_text() for s in sources)).encode()).hexdigest()[:16]
    cache = NETLIST_DIR / f"{top}_{key}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    NETLIST_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=NETLIST_DIR) as tmp:
        out = Path(tmp) / "net.json"
        proc = subprocess.run([_yosys_exe(), "-q", "-p", f"{script}; write_json {out}"], capture_output=True,
                              text=True, timeout=600)
        if proc.returncode != 0 or not out.exists():
            raise QtamlError(f"yosys could not elaborate {top}: {_first_error(proc.stderr + proc.stdout)}")
        out.replace(cache)
    return json.loads(cache.read_text())


@lru_cache(maxsize=256)
def _lines(path: str) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text().splitlines())
    except OSError:
        return ()


@lru_cache(maxsize=None)
def _decl_rank(src: str) -> int:
    """0: a ``src`` location declares a reg/logic that is not a port; 1: a reg/logic port; 2: neither."""
    best = 2
    for loc in src.split("|"):
        m = _SRC.match(loc)
        if not m:
            continue
        lines = _lines(m.group(1))
        line_no = int(m.group(2))
        if 0 < line_no <= len(lines) and _DECL.search(lines[line_no - 1]):
            best = min(best, 1 if _PORT.search(lines[line_no - 1]) else 0)
    return best


def _module(net: dict, top: str) -> dict:
    try:
        return net["modules"][top]
    except KeyError:
        raise QtamlError(f"top module {top!r} not in the netlist") from None


def state_elements(net: dict, top: str) -> list[StateElement]:
    """Every register and memory of ``top`` in the netlist (module docstring), sorted by path."""
    mod = _module(net, top)
    ff_bits = set()
    for cell in mod["cells"].values():
        if _FF.match(cell["type"]):
            ff_bits.update(b for b in cell["connections"].get("Q", []) if isinstance(b, int))
    cands = []
    for name, info in mod["netnames"].items():
        if info.get("hide_name"):
            continue
        hit = frozenset(b for b in info["bits"] if isinstance(b, int) and b in ff_bits)
        if hit:
            rank = _decl_rank(info.get("attributes", {}).get("src", ""))
            cands.append((rank, len(name), name, info, hit))
    out = []
    seen_bits: set[int] = set()
    for _, _, name, info, hit in sorted(cands, key=lambda c: c[:3]):
        if seen_bits & hit:
            continue  # an alias or a slice of a register already listed (declared regs win)
        seen_bits |= hit
        idx = tuple(i for i, b in enumerate(info["bits"]) if b in hit)
        out.append(StateElement(name, len(info["bits"]), 1, "register", idx))
    for cell in mod["cells"].values():
        if cell["type"] in ("$mem", "$mem_v2"):
            p = cell["parameters"]
            width, size = int(p["WIDTH"], 2), int(p["SIZE"], 2)
            out.append(StateElement(p["MEMID"].lstrip("\\"), width, size, "memory", tuple(range(width))))
    return sorted(out, key=lambda e: e.path)


def _drivers(mod: dict) -> dict[int, tuple[str, dict]]:
    drv = {}
    for name, cell in mod["cells"].items():
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            if dirs.get(port) == "output":
                for b in bits:
                    if isinstance(b, int):
                        drv[b] = (name, cell)
    return drv


class _Fanin:
    """State elements/inputs reaching a net bit through combinational cells only (memoised DFS)."""

    def __init__(self, mod: dict, q_owner: dict[int, str]):
        self.drivers = _drivers(mod)
        self.q_owner = q_owner
        self.memo: dict[int, frozenset] = {}

    def _step(self, b: int, found: set, stack: list) -> None:
        d = self.drivers.get(b)
        if d is None:
            return
        _, cell = d
        if cell["type"] in ("$mem", "$mem_v2"):
            found.add(cell["parameters"]["MEMID"].lstrip("\\"))
            stack.extend(x for x in cell["connections"].get("RD_ADDR", []) if isinstance(x, int))
            return
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            if dirs.get(port) == "input":
                stack.extend(x for x in bits if isinstance(x, int))

    def __call__(self, bit: int) -> frozenset:
        if bit in self.memo:
            return self.memo[bit]
        found: set = set()
        stack, visited = [bit], set()
        while stack:
            b = stack.pop()
            if b in visited:
                continue
            visited.add(b)
            if b in self.q_owner:
                found.add(self.q_owner[b])
            elif b in self.memo:
                found |= self.memo[b]
            else:
                self._step(b, found, stack)
        self.memo[bit] = frozenset(found)
        return self.memo[bit]


def _state_inputs(cell: dict, q_owner: dict[int, str]) -> tuple[str | None, list[int]]:
    """(state element a cell updates, its next-state input bits), or (None, []) for logic."""
    conn = cell["connections"]
    if _FF.match(cell["type"]):
        q = [b for b in conn.get("Q", []) if isinstance(b, int) and b in q_owner]
        if not q:
            return None, []
        return q_owner[q[0]], [b for p, bits in conn.items() if p not in ("Q", "CLK", "C")
                               for b in bits if isinstance(b, int)]
    if cell["type"] in ("$mem", "$mem_v2"):
        return cell["parameters"]["MEMID"].lstrip("\\"), [b for p in ("WR_DATA", "WR_ADDR", "WR_EN")
                                                          for b in conn.get(p, []) if isinstance(b, int)]
    return None, []


def register_graph(net: dict, top: str, elements=None) -> nx.DiGraph:
    """Register-to-register graph of ``top`` (module docstring); nodes carry ``kind``, ``width``, ``depth``."""
    mod = _module(net, top)
    elements = elements if elements is not None else state_elements(net, top)
    g = nx.DiGraph()
    q_owner: dict[int, str] = {}
    for e in elements:
        g.add_node(e.path, kind=e.kind, width=e.width, depth=e.depth)
        if e.kind == "register":
            bits = mod["netnames"][e.path]["bits"]
            for i in e.bits:
                q_owner[bits[i]] = e.path
    for port, info in mod.get("ports", {}).items():
        if info["direction"] == "input":
            g.add_node(f"in:{port}", kind="input", width=len(info["bits"]), depth=1)
            for b in info["bits"]:
                if isinstance(b, int):
                    q_owner.setdefault(b, f"in:{port}")
    fanin = _Fanin(mod, q_owner)
    for cell in mod["cells"].values():
        dst, ins = _state_inputs(cell, q_owner)
        for b in ins:
            for src in fanin(b):
                g.add_edge(src, dst)
    return g
