"""Fault sites from the RTL itself: every register and memory of ``accel_top`` (design.md section 6).

The sources are preprocessed with ``iverilog -E`` and parsed with pyverilog (LALR tables
written under ``sim/build/pyverilog``).  :func:`enumerate_sites` then elaborates the design
for one configuration (parameters and localparams evaluated, instance parameter overrides
applied, generate ``for``/``if`` blocks unrolled) and returns every ``reg``/``integer``
declaration with its width, depth (memories), the hierarchical paths of its instances and
its *role*, the FIdelity flip-flop class it belongs to:

=============  ==============================================================  ==========
role           registers                                                       saboteur
=============  ==============================================================  ==========
weight         ``systolic_pe.w_q`` (int8 weight held by a PE)                   weight
act            ``systolic_pe.a_q`` (int8 activation shifted east)               act
psum           ``systolic_pe.p_q`` (int32 partial sum shifted south)            psum
out            ``systolic_array.gen_out[c].o_q`` (column output register)       out
sram           ``weight_sram.mem_q`` (weight SRAM words)                        sram
sram_check     ``weight_sram.check_q`` (SECDED check bits, ECC builds)          --
sram_read      ``weight_sram.rdata_q`` / ``rcheck_q`` (SRAM read register)      --
act_buffer     ``accel_top.abuf_q`` (activation buffer)                         --
out_buffer     ``accel_top.obuf_q`` (output / partial-sum buffer)               --
control        controller state, row/pass counters, configuration registers    --
status         ECC event counters                                               --
loop_var       ``integer`` loop indices (no flip-flop)                          --
=============  ==============================================================  ==========

:data:`ROLES` is the classification; :func:`unclassified` lists any register the RTL
declares that the table does not cover, so a new register fails the tests until it is
classified.  Two independent counts guard the parser: :func:`regex_registers` (a regular
expression over the sources) and :func:`yosys_state_bits` (flip-flop and memory bits of
the design after Yosys ``proc; flatten; memory_collect``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qtaml_hw.hdl.simulators import BUILD_ROOT, RTL_DIR, accel_sources, worker_suffix
from qtaml_hw.errors import QtamlError

PARSER_DIR = BUILD_ROOT / f"pyverilog{worker_suffix()}"  # per xdist worker: PLY writes its tables non-atomically

ROLES = {
    ("systolic_pe", "w_q"): "weight",
    ("systolic_pe", "a_q"): "act",
    ("systolic_pe", "p_q"): "psum",
    ("systolic_array", "o_q"): "out",
    ("weight_sram", "mem_q"): "sram",
    ("weight_sram", "check_q"): "sram_check",
    ("weight_sram", "rdata_q"): "sram_read",
    ("weight_sram", "rcheck_q"): "sram_read",
    ("accel_top", "abuf_q"): "act_buffer",
    ("accel_top", "obuf_q"): "out_buffer",
    ("accel_top", "rows_q"): "control",
    ("accel_top", "n_corr_q"): "status",
    ("accel_top", "n_unc_q"): "status",
    ("accel_top", "i"): "loop_var",
    ("gemm_ctrl", "busy_q"): "control",
    ("gemm_ctrl", "done_q"): "control",
    ("gemm_ctrl", "cyc_q"): "control",
    ("gemm_ctrl", "u_q"): "control",
    ("gemm_ctrl", "pass_q"): "control",
    ("gemm_ctrl", "rows_q"): "control",
    ("gemm_ctrl", "passes_q"): "control",
}
#: Roles the RTL saboteur can flip (``sab_class_i``), named as in ``schedule.FAULT_CLASSES``.
SABOTEUR_ROLES = ("weight", "act", "psum", "out", "sram")


@dataclass(frozen=True)
class RegSite:
    """One ``reg``/``integer`` declaration elaborated for a configuration."""

    module: str
    name: str
    role: str
    width: int
    depth: int  # words (1 for a plain register)
    paths: tuple[str, ...]  # hierarchical instance paths below the top, e.g. "u_array.gen_out[0].o_q"

    @property
    def bits(self) -> int:
        """State bits over all instances (0 for loop variables, which are not flip-flops)."""
        return 0 if self.role == "loop_var" else self.width * self.depth * len(self.paths)

    @property
    def is_memory(self) -> bool:
        return self.depth > 1


# ------------------------------------------------------------------ parsing
def rtl_files() -> list[Path]:
    return list(accel_sources())


def _preprocess(path: Path, out_dir: Path) -> str:
    iverilog = shutil.which("iverilog")
    if iverilog is None:
        raise QtamlError("iverilog not found (needed to preprocess the RTL): apt-get install -y iverilog")
    out = out_dir / (path.stem + ".pp.v")
    proc = subprocess.run([iverilog, "-E", "-o", str(out), str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise QtamlError(f"iverilog -E failed on {path.name}: {proc.stderr.strip()[:200]}")
    return out.read_text()


@lru_cache(maxsize=4)
def _parse_cached(key: tuple) -> dict:
    from pyverilog.vparser.ast import ModuleDef
    from pyverilog.vparser.parser import VerilogParser

    PARSER_DIR.mkdir(parents=True, exist_ok=True)
    parser = VerilogParser(outputdir=str(PARSER_DIR), debug=False)
    modules = {}
    with tempfile.TemporaryDirectory(dir=PARSER_DIR) as tmp:
        for path, _mtime in key:
            ast = parser.parse(_preprocess(Path(path), Path(tmp)))
            for d in ast.description.definitions:
                if isinstance(d, ModuleDef):
                    modules[d.name] = d
    return modules


def parse_modules(files=None) -> dict:
    """{module name: pyverilog ModuleDef} of the RTL files (default every ``rtl/*.v``)."""
    files = [Path(f) for f in (files or rtl_files())]
    return _parse_cached(tuple((str(f), f.stat().st_mtime_ns) for f in files))


def _walk(node):
    yield node
    for child in node.children():
        yield from _walk(child)


def declared_registers(modules=None) -> set[tuple[str, str]]:
    """(module, name) of every ``reg`` and ``integer`` declared anywhere in each module."""
    from pyverilog.vparser.ast import Integer, Reg

    modules = parse_modules() if modules is None else modules
    return {(m, n.name) for m, mod in modules.items() for n in _walk(mod) if isinstance(n, (Reg, Integer))}


def unclassified(modules=None) -> set[tuple[str, str]]:
    """Registers the RTL declares that :data:`ROLES` does not classify (must be empty)."""
    return declared_registers(modules) - set(ROLES)


_REG_RE = re.compile(r"^\s*(?:(?:output|input|inout)\s+)?(reg|integer)\b(?:\s+signed)?\s*(?:\[[^\]]*\]\s*)?([^;]*);",
                     re.M)
_MODULE_RE = re.compile(r"\bmodule\s+(\w+)(.*?)\bendmodule\b", re.S)


def regex_registers(files=None) -> set[tuple[str, str]]:
    """Independent count: (module, name) of ``reg``/``integer`` declarations by regular expression."""
    found = set()
    for f in files or rtl_files():
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", Path(f).read_text(), flags=re.S)
        for mod, body in _MODULE_RE.findall(text):
            for _kind, names in _REG_RE.findall(body):
                for item in names.split(","):
                    name = re.match(r"\s*(\w+)", item)
                    if name:
                        found.add((mod, name.group(1)))
    return found


# ------------------------------------------------------------------ elaboration
_NUM_RE = re.compile(r"^(?:(\d+)?'([sS]?)([bBoOdDhH]))?([0-9a-fA-F_xXzZ]+)$")


def _int_const(text: str) -> int:
    m = _NUM_RE.match(text.strip())
    if not m:
        raise QtamlError(f"cannot evaluate constant {text!r}")
    base = {"b": 2, "o": 8, "d": 10, "h": 16}[(m.group(3) or "d").lower()]
    return int(m.group(4).replace("_", ""), base)


def _eval(node, env: dict) -> int:
    """Value of a constant expression (parameters, widths, generate conditions)."""
    from pyverilog.vparser import ast as A

    binary = {
        A.Plus: lambda a, b: a + b, A.Minus: lambda a, b: a - b, A.Times: lambda a, b: a * b,
        A.Divide: lambda a, b: a // b, A.Mod: lambda a, b: a % b, A.Power: lambda a, b: a ** b,
        A.Sll: lambda a, b: a << b, A.Srl: lambda a, b: a >> b, A.Sla: lambda a, b: a << b,
        A.Sra: lambda a, b: a >> b, A.Eq: lambda a, b: int(a == b), A.NotEq: lambda a, b: int(a != b),
        A.LessThan: lambda a, b: int(a < b), A.GreaterThan: lambda a, b: int(a > b),
        A.LessEq: lambda a, b: int(a <= b), A.GreaterEq: lambda a, b: int(a >= b),
        A.Land: lambda a, b: int(bool(a) and bool(b)), A.Lor: lambda a, b: int(bool(a) or bool(b)),
        A.And: lambda a, b: a & b, A.Or: lambda a, b: a | b, A.Xor: lambda a, b: a ^ b,
    }
    if isinstance(node, (A.Rvalue, A.Lvalue)):
        return _eval(node.var, env)
    if isinstance(node, A.IntConst):
        return _int_const(node.value)
    if isinstance(node, A.Identifier):
        if node.name not in env:
            raise QtamlError(f"unknown identifier {node.name!r} in a constant expression")
        return env[node.name]
    for cls, fn in binary.items():
        if type(node) is cls:
            return fn(_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, A.Ulnot):
        return int(not _eval(node.right, env))
    if isinstance(node, A.Uminus):
        return -_eval(node.right, env)
    if isinstance(node, A.Cond):
        return _eval(node.true_value if _eval(node.cond, env) else node.false_value, env)
    if isinstance(node, A.SystemCall) and node.syscall == "clog2":
        v = _eval(node.args[0], env)
        return max(v - 1, 0).bit_length()
    if isinstance(node, A.Partselect):
        v, msb, lsb = _eval(node.var, env), _eval(node.msb, env), _eval(node.lsb, env)
        return (v >> lsb) & ((1 << (msb - lsb + 1)) - 1)
    if isinstance(node, A.Pointer):
        return (_eval(node.var, env) >> _eval(node.ptr, env)) & 1
    raise QtamlError(f"cannot evaluate {type(node).__name__} in a constant expression")


def _width(node, env) -> int:
    return 1 if node is None else abs(_eval(node.msb, env) - _eval(node.lsb, env)) + 1


class _Elaborator:
    def __init__(self, modules: dict):
        self.modules = modules
        self.found: dict[tuple[str, str], dict] = {}

    def module(self, name: str, overrides: dict, prefix: str):
        from pyverilog.vparser import ast as A

        if name not in self.modules:
            raise QtamlError(f"module {name!r} is instantiated but not found in rtl/")
        mod = self.modules[name]
        env: dict = {}
        for decl in mod.paramlist.params:
            for p in decl.list:
                env[p.name] = overrides[p.name] if p.name in overrides else _eval(p.value, env)
        extra = set(overrides) - set(env)
        if extra:
            raise QtamlError(f"module {name} has no parameter(s) {sorted(extra)}")
        self.items(name, mod.items, env, prefix, A)

    def items(self, mod: str, items, env: dict, prefix: str, A):
        for item in items:
            self.item(mod, item, env, prefix, A)

    def item(self, mod, node, env, prefix, A):
        if isinstance(node, A.Decl):
            for d in node.list:
                if isinstance(d, (A.Parameter, A.Localparam)):
                    env[d.name] = _eval(d.value, env)
                elif isinstance(d, (A.Reg, A.Integer)):
                    width = 32 if isinstance(d, A.Integer) else _width(d.width, env)
                    depth = 1
                    if getattr(d, "dimensions", None) is not None:
                        for ln in d.dimensions.lengths:
                            depth *= abs(_eval(ln.msb, env) - _eval(ln.lsb, env)) + 1
                    rec = self.found.setdefault((mod, d.name), {"width": width, "depth": depth, "paths": []})
                    if (rec["width"], rec["depth"]) != (width, depth):
                        raise QtamlError(f"{mod}.{d.name}: width/depth differ between instances")
                    rec["paths"].append(prefix + d.name)
        elif isinstance(node, A.GenerateStatement):
            self.items(mod, node.items, env, prefix, A)
        elif isinstance(node, A.ForStatement):
            var = node.pre.left.var.name
            local = dict(env)
            local[var] = _eval(node.pre.right, local)
            guard = 0
            while _eval(node.cond, local):
                self.block(mod, node.statement, local, prefix, A, index=local[var])
                local[var] = _eval(node.post.right, local)
                guard += 1
                if guard > 1 << 16:
                    raise QtamlError(f"generate loop in {mod} does not terminate")
        elif isinstance(node, A.IfStatement):
            branch = node.true_statement if _eval(node.cond, env) else node.false_statement
            if branch is not None:
                self.block(mod, branch, env, prefix, A)
        elif isinstance(node, A.Block):
            self.block(mod, node, env, prefix, A)
        elif isinstance(node, A.InstanceList):
            for inst in node.instances:
                over = {p.paramname: _eval(p.argname, env) for p in inst.parameterlist}
                self.module(inst.module, over, prefix + inst.name + ".")

    def block(self, mod, node, env, prefix, A, index=None):
        if isinstance(node, A.Block):
            scope = prefix
            if node.scope:
                scope += node.scope + (f"[{index}]" if index is not None else "") + "."
            self.items(mod, node.statements, dict(env), scope, A)
        else:
            self.item(mod, node, dict(env), prefix, A)


def enumerate_sites(*, n: int = 4, row_bits: int = 2, pass_bits: int = 2, ecc: int = 0, protect_bits: int = 8,
                    top: str = "accel_top", parameters: dict | None = None, files=None) -> list[RegSite]:
    """Every register/memory of ``top`` elaborated for the configuration, with its role.

    ``parameters`` overrides the top's parameters directly (for a top other than accel_top);
    ``files`` replaces ``rtl/*.v``.  Raises :class:`QtamlError` naming any register
    :data:`ROLES` does not classify.
    """
    params = parameters if parameters is not None else {
        "N": n, "RowBits": row_bits, "PassBits": pass_bits, "EccEnable": ecc, "ProtectBits": protect_bits}
    modules = parse_modules(files)
    el = _Elaborator(modules)
    el.module(top, params, "")
    missing = sorted(set(el.found) - set(ROLES))
    if missing:
        raise QtamlError(f"registers without a role in qtaml_hw.fidelity.sites.ROLES: {missing}")
    return [RegSite(m, name, ROLES[(m, name)], rec["width"], rec["depth"], tuple(rec["paths"]))
            for (m, name), rec in sorted(el.found.items())]


def sites_by_role(sites) -> dict[str, dict]:
    """{role: {"registers": instances, "bits": state bits}} summary."""
    out: dict[str, dict] = {}
    for s in sites:
        r = out.setdefault(s.role, {"registers": 0, "bits": 0})
        r["registers"] += len(s.paths)
        r["bits"] += s.bits
    return out


def yosys_state_bits(*, top: str = "accel_top", sources=None, parameters: dict | None = None) -> dict:
    """Independent count of state bits: {"ff_bits", "memory_bits"} after Yosys proc/flatten.

    ``memory_collect`` gathers each memory into one ``$mem_v2`` cell (WIDTH x SIZE bits)
    without merging read registers into ports (no ``memory_dff``), so flip-flop registers
    stay ``$dff`` cells whose WIDTH sums to the register bits.
    """
    import json

    exe = shutil.which("yosys")
    if exe is None:
        raise QtamlError("yosys not found: apt-get install -y yosys")
    sources = [str(s) for s in (sources or rtl_files())]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "net.json"
        chp = "".join(f" -set {k} {v}" for k, v in (parameters or {}).items())
        script = (f"read_verilog {' '.join(sources)}; " + (f"chparam{chp} {top}; " if chp else "")
                  + f"hierarchy -top {top}; proc; flatten; opt_clean; memory_collect; write_json {out}")
        proc = subprocess.run([exe, "-q", "-p", script], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise QtamlError(f"yosys failed on {top}: {(proc.stderr or proc.stdout).strip()[-200:]}")
        net = json.loads(out.read_text())
    ff = mem = 0
    for cell in net["modules"][top]["cells"].values():
        prm = cell["parameters"]
        if cell["type"] in ("$mem", "$mem_v2"):
            mem += int(prm["WIDTH"], 2) * int(prm["SIZE"], 2)
        elif "ff" in cell["type"] or cell["type"] in ("$dlatch", "$adlatch"):
            ff += int(prm["WIDTH"], 2)
    return {"ff_bits": ff, "memory_bits": mem}
