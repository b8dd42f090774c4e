"""Bring-your-own-RTL: the design descriptor, role files and fault sites of any design (docs/descriptor.md).

docs/design.md section 6.  A *design descriptor* (TOML) names a design's sources, top,
parameters, clock and reset, its memories with their word layout, and an optional *role
file*; :func:`load_design` validates it (every error is one :class:`QtamlError` line) and
:func:`design_sites` enumerates every state bit of the elaborated design
(:mod:`qtaml_hw.hdl.netlist`, Yosys) with its fault class:

* a role file maps hierarchical-path patterns (``*`` matches any text, everything else is
  literal, brackets included) to class names; the first matching pattern wins;
* state no pattern names is class ``control`` (FIdelity's "control/other": injected, never
  left out).

Nothing here is specific to ``accel_top``: ``rtl/accel_top.toml`` is just one descriptor.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from qtaml_hw.errors import QtamlError
from qtaml_hw.hdl.netlist import StateElement, register_graph, state_elements, yosys_netlist
from qtaml_hw.hdl.simulators import read_file_list

DEFAULT_CLASS = "control"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class MemorySpec:
    """A memory of the design and its word layout: ``lanes`` values of ``lane_bits`` bits, lane g in bits
    [g*lane_bits, (g+1)*lane_bits) of the word (two's-complement codes, as the flip model expects)."""

    name: str
    path: str
    word_bits: int
    lanes: int
    lane_bits: int
    check_path: str | None = None  # memory of stored check bits beside the data, if any


@dataclass(frozen=True)
class Design:
    """A validated design descriptor."""

    name: str
    top: str
    sources: tuple[Path, ...]
    parameters: tuple[tuple[str, object], ...] = ()
    defines: tuple[tuple[str, object], ...] = ()
    clock: str = "clk_i"
    clock_period_ns: int = 10
    reset: str = "rst_i"
    reset_active: int = 1
    memories: tuple[MemorySpec, ...] = ()
    roles: tuple[tuple[str, str], ...] = ()   # (pattern, class), in file order
    path: Path | None = field(default=None, compare=False)

    def memory(self, name: str) -> MemorySpec:
        for m in self.memories:
            if m.name == name:
                return m
        raise QtamlError(f"design {self.name!r} has no memory {name!r} (memories: "
                         f"{', '.join(m.name for m in self.memories) or 'none'})")


@dataclass(frozen=True)
class Site:
    """One state element with its class; ``state_bits`` = injectable bits."""

    path: str
    width: int
    depth: int
    kind: str
    cls: str
    state_bits: int
    bits: tuple[int, ...]


def _read_toml(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise QtamlError(f"cannot read {what} {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise QtamlError(f"{what} {path} is not valid TOML: {exc}") from None


def pattern_regex(pattern: str) -> re.Pattern:
    """Role-file pattern -> regex: ``*`` matches anything, all other characters literally."""
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def load_roles(path: Path) -> tuple[tuple[str, str], ...]:
    """(pattern, class) pairs of a role file's ``[roles]`` table, in file order."""
    table = _read_toml(path, "role file").get("roles")
    if not isinstance(table, dict) or not table:
        raise QtamlError(f"role file {path}: needs a non-empty [roles] table of \"pattern\" = \"class\"")
    for pat, cls in table.items():
        if not isinstance(cls, str) or not _IDENT.match(cls):
            raise QtamlError(f"role file {path}: class of {pat!r} must be a name, got {cls!r}")
    return tuple(table.items())


def _int(d: dict, key: str, where: str, default=None, lo: int = 1) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise QtamlError(f"{where}: {key} must be an integer >= {lo}, got {v!r}")
    return v


def _sources(raw, base: Path, where: str) -> tuple[Path, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise QtamlError(f"{where}: [design] sources must be a non-empty list of paths")
    out: list[Path] = []
    for s in raw:
        p = (base / s).resolve()
        if not p.exists():
            raise QtamlError(f"{where}: source not found: {s}")
        out.extend(read_file_list(p) if p.suffix == ".f" else (p,))
    return tuple(out)


def _memories(raw, where: str) -> tuple[MemorySpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise QtamlError(f"{where}: [memories] must be a table of named memories")
    out = []
    for name, m in raw.items():
        w = f"{where}: memory {name!r}"
        if not isinstance(m, dict) or not isinstance(m.get("path"), str):
            raise QtamlError(f"{w}: needs path = \"hierarchical.path\"")
        word = _int(m, "word_bits", w)
        lane_bits = _int(m, "lane_bits", w, default=word)
        lanes = _int(m, "lanes", w, default=word // lane_bits)
        if lanes * lane_bits > word:
            raise QtamlError(f"{w}: lanes * lane_bits = {lanes * lane_bits} exceeds word_bits = {word}")
        check = m.get("check_path")
        if check is not None and not isinstance(check, str):
            raise QtamlError(f"{w}: check_path must be a string")
        out.append(MemorySpec(name, m["path"], word, lanes, lane_bits, check))
    return tuple(out)


def load_design(path) -> Design:
    """Parse and check a descriptor's own fields (sources exist, names well formed); see :func:`elaborate`."""
    path = Path(path)
    raw = _read_toml(path, "design descriptor")
    where = f"descriptor {path.name}"
    d = raw.get("design")
    if not isinstance(d, dict):
        raise QtamlError(f"{where}: missing [design] table")
    top = d.get("top")
    if not isinstance(top, str) or not _IDENT.match(top):
        raise QtamlError(f"{where}: [design] top is missing or not a module name")
    params, defines = d.get("parameters", {}), d.get("defines", {})
    if not isinstance(params, dict) or not isinstance(defines, dict):
        raise QtamlError(f"{where}: parameters and defines must be tables")
    clock, reset = raw.get("clock", {}), raw.get("reset", {})
    roles = ()
    if d.get("roles") is not None:
        roles = load_roles((path.parent / str(d["roles"])).resolve())
    return Design(
        name=str(d.get("name", top)), top=top, sources=_sources(d.get("sources"), path.parent, where),
        parameters=tuple(params.items()), defines=tuple(defines.items()),
        clock=str(clock.get("name", "clk_i")), clock_period_ns=_int(clock, "period_ns", where, default=10),
        reset=str(reset.get("name", "rst_i")), reset_active=_int(reset, "active", where, default=1, lo=0),
        memories=_memories(raw.get("memories"), where), roles=roles, path=path)


def classify(path: str, roles) -> str:
    for pat, cls in roles:
        if pattern_regex(pat).match(path):
            return cls
    return DEFAULT_CLASS


def elaborate(design: Design) -> tuple[dict, list[StateElement]]:
    """Yosys netlist and state elements of the design; checks each memory's path and width."""
    net = yosys_netlist(design.sources, design.top, parameters=dict(design.parameters),
                        defines=dict(design.defines))
    elements = state_elements(net, design.top)
    mems = {e.path: e for e in elements if e.kind == "memory"}
    for m in design.memories:
        for p, bits in ((m.path, m.word_bits), (m.check_path, None)):
            if p is None:
                continue
            if p not in mems:
                raise QtamlError(f"memory {m.name!r}: no memory {p!r} in {design.top} "
                                 f"(memories: {', '.join(sorted(mems)) or 'none'})")
            if bits is not None and mems[p].width != bits:
                raise QtamlError(f"memory {m.name!r}: word_bits = {bits} but {p} is {mems[p].width} bits wide")
    return net, elements


def design_sites(design: Design) -> list[Site]:
    """Every state element of the elaborated design with its class (module docstring)."""
    _, elements = elaborate(design)
    return [Site(e.path, e.width, e.depth, e.kind, classify(e.path, design.roles), e.state_bits, e.bits)
            for e in elements]


def design_graph(design: Design):
    """networkx register-to-register graph of the design (:func:`qtaml_hw.hdl.netlist.register_graph`)."""
    net, elements = elaborate(design)
    return register_graph(net, design.top, elements)
