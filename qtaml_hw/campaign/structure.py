"""TOML tables -> frozen ``attrs`` classes, with one-line errors naming ``section.key`` (design.md section 7).

:func:`structure` checks a table's keys against a class's fields and each value against the
field's annotation (``int``, ``float``, ``str``, ``bool``, ``X | None``, ``tuple[X, ...]`` -- a
scalar or a non-empty list, a sweep axis); the class's own validators (the factories below)
then check ranges when it is built.  :func:`canonical` is the inverse for hashing: plain
JSON types, ``None`` fields and fields marked ``metadata={"in_id": False}`` left out.
"""

from __future__ import annotations

import json
import math
import types
import typing

import attrs

from qtaml_hw.errors import QtamlError

_WHAT = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def canonical_json(obj) -> str:
    """Sorted keys, no whitespace, no NaN: the form task ids and config hashes are taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical(obj):
    """``obj`` (attrs instances, tuples, dicts, scalars) as JSON types for hashing and storing."""
    if attrs.has(type(obj)):
        return {a.name: canonical(getattr(obj, a.name)) for a in attrs.fields(type(obj))
                if a.metadata.get("in_id", True) and getattr(obj, a.name) is not None}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in obj.items()}
    return obj


def _scalar(value, typ, name: str):
    if typ is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise QtamlError(f"{name}: must be finite, got {value!r}")
        return float(value)
    if typ in _WHAT and isinstance(value, typ) and (typ is bool or not isinstance(value, bool)):
        return value
    raise QtamlError(f"{name}: expected {_WHAT.get(typ, typ)}, got {value!r}")


def convert(value, typ, name: str):
    """``value`` checked against the annotation ``typ`` (see the module docstring)."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"{name}: unsupported annotation {typ}")
        return convert(value, inner[0], name)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        values = value if isinstance(value, list) else [value]
        if not values:
            raise QtamlError(f"{name}: empty list")
        try:
            return tuple(_scalar(v, args[0], name) for v in values)
        except QtamlError:
            raise QtamlError(f"{name}: expected {_WHAT[args[0]]} or a list of them, got {value!r}") from None
    return _scalar(value, typ, name)


def structure(cls, section: dict, where: str, *, only=None, required=(), strip: str = "") -> dict:
    """Keyword arguments for ``cls`` from a TOML table (``where`` names it in errors).

    ``only``: the fields this table may set (default: every init field); ``required``: fields
    that must be present; ``strip``: a field-name prefix the TOML keys do not carry.
    """
    hints = typing.get_type_hints(cls)
    names = [a.name for a in attrs.fields(cls) if a.init and (only is None or a.name in only)]
    allowed = {n.removeprefix(strip): n for n in names}
    out = {}
    for key, value in section.items():
        if key not in allowed:
            raise QtamlError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")
        out[allowed[key]] = convert(value, hints[allowed[key]], f"{where}.{key}")
    for field in required:
        if field not in out:
            raise QtamlError(f"{where}.{field.removeprefix(strip)}: missing required key")
    return out


# -- validator factories: messages name the TOML key -------------------------------------------

def _each(value):
    return value if isinstance(value, tuple) else (value,)


def _noun(v) -> str:
    return "integer" if isinstance(v, int) else "number"


def positive(name: str):
    def check(inst, attribute, value):
        for v in _each(value):
            if not v > 0:
                raise QtamlError(f"{name}: expected a positive {_noun(v)}, got {value!r}")
    return check


def non_negative(name: str):
    def check(inst, attribute, value):
        for v in _each(value):
            if not v >= 0:
                raise QtamlError(f"{name}: expected a non-negative {_noun(v)}, got {value!r}")
    return check


def at_least(name: str, lo):
    def check(inst, attribute, value):
        if not value >= lo:
            raise QtamlError(f"{name}: must be >= {lo}, got {value!r}")
    return check


def in_range(name: str, lo: float, hi: float):
    def check(inst, attribute, value):
        for v in _each(value):
            if not lo <= v <= hi:
                raise QtamlError(f"{name}: must be in [{lo:g}, {hi:g}], got {value!r}")
    return check


def one_of(name: str, choices, what: str = "value"):
    def check(inst, attribute, value):
        if value not in choices:
            raise QtamlError(f"{name}: unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return check


def optional(validator):
    def check(inst, attribute, value):
        if value is not None:
            validator(inst, attribute, value)
    return check
