"""Task kinds: the protocol every experiment of the campaign engine implements, and their registry
(design.md section 7).

A *task kind* is one kind of experiment (``memory``, ``nn``, ``headline``, ``scrub``,
``crossval``, ...).  A *task* is one point of a sweep: a kind name, its frozen, validated
parameters (an ``attrs`` class) and its stopping question (:class:`~qtaml_hw.campaign.stopping.Stopping`).
The engine (:func:`qtaml_hw.campaign.runner.run_tasks`) runs a task's trials in seeded chunks;
trial ``i`` of task ``t`` must depend only on ``(campaign seed, task id, i)``: the engine hands
the kind ``seed = task_seed(campaign seed, task id)`` and the range ``start .. start+count-1``,
and the kind derives trial ``i``'s generator from ``(seed, i)`` (e.g. ``qtaml_hw.seeding.rng(seed,
key, "trial", i)`` or ``flip_bits(..., trial_offset=start)``), never from ``start`` or ``count``.

See docs/campaign.md, "Adding a task kind", for a runnable example.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np

from qtaml_hw.campaign.stopping import Stopping
from qtaml_hw.campaign.structure import canonical, canonical_json
from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import seed_sequence


@runtime_checkable
class TaskKind(Protocol):
    """What the engine needs from a kind of experiment.

    ``name``: the registry key, stored with every task.  ``params_type``: an ``attrs`` frozen
    class whose validators raise :class:`~qtaml_hw.errors.QtamlError` (one line) on bad input.
    ``metrics``: the per-trial numbers ``run`` returns, each an array of ``count`` floats.
    """

    name: ClassVar[str]
    params_type: ClassVar[type]
    metrics: ClassVar[tuple[str, ...]]

    def context_key(self, params: Any) -> str:
        """Which parameters the prepared context depends on (tasks with equal keys share one)."""

    def prepare(self, params: Any) -> Any:
        """Expensive per-process set-up (load a model, build a tensor); cached by :meth:`context_key`."""

    def run(self, ctx: Any, params: Any, *, seed: int, start: int, count: int) -> Mapping[str, np.ndarray]:
        """Trials ``start .. start+count-1``: metric name -> ``count`` floats, trial ``i`` from ``(seed, i)`` only."""

    def info(self, ctx: Any, params: Any) -> dict:
        """Per-task JSON facts computed once (closed forms, clean accuracy); ``{}`` if none."""


@attrs.frozen
class Task:
    """One point of a sweep: ``id`` = sha256 of the canonical JSON of ``{"kind": kind, **params}``."""

    id: str
    kind: str
    params: Any
    stopping: Stopping

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def params_dict(self) -> dict:
        """The JSON form stored with the task (and hashed into its id)."""
        return {"kind": self.kind, **to_jsonable(self.params)}


_REGISTRY: dict[str, TaskKind] = {}
# where the project's own kinds are defined: a process that meets a stored task of one of these
# kinds (a report, a Dask worker) imports its module, which registers the kind
BUILTIN_MODULES = {"memory": "qtaml_hw.campaign.tasks", "nn": "qtaml_hw.campaign.nn_kind",
                   "coin": "qtaml_hw.campaign.coin", "headline": "qtaml_hw.campaign.headline_kind"}


def register(kind: TaskKind) -> TaskKind:
    """Add ``kind`` (an instance) to the registry under ``kind.name``; re-registering a name replaces it."""
    missing = [m for m in ("name", "params_type", "metrics", "context_key", "prepare", "run", "info")
               if not hasattr(kind, m)]
    if missing:
        raise TypeError(f"task kind {kind!r} lacks {', '.join(missing)}")
    if not attrs.has(kind.params_type):
        raise TypeError(f"task kind {kind.name!r}: params_type must be an attrs class")
    _REGISTRY[kind.name] = kind
    return kind


def get_kind(name: str) -> TaskKind:
    """The registered kind ``name`` (importing a built-in kind's module on first use)."""
    if name not in _REGISTRY and name in BUILTIN_MODULES:
        importlib.import_module(BUILTIN_MODULES[name])
    try:
        return _REGISTRY[name]
    except KeyError:
        raise QtamlError(f"unknown task kind {name!r}; registered: {', '.join(sorted(_REGISTRY))}") from None


def registered() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def to_jsonable(params) -> dict:
    """``attrs`` parameters as plain JSON types: tuples become lists, nested classes dicts, ``None``
    fields and fields with ``metadata={"in_id": False}`` (e.g. where a file lives) left out."""
    return canonical(params)


def task_id(params: dict) -> str:
    """Stable id: sha256 hex digest of the canonical JSON of a task's parameter dict."""
    return hashlib.sha256(canonical_json(params).encode("utf-8")).hexdigest()


def task_seed(seed: int, tid: str) -> int:
    """The 64-bit seed of a task's trial streams, derived from (campaign seed, task id)."""
    return int(seed_sequence(seed, "campaign", tid).generate_state(1, dtype=np.uint64)[0])


def make_task(kind: str | TaskKind, params, stopping: Stopping) -> Task:
    """A :class:`Task` of a registered kind; ``params`` must be an instance of the kind's ``params_type``."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    if not isinstance(params, k.params_type):
        raise QtamlError(f"task kind {k.name!r} takes {k.params_type.__name__} parameters, "
                         f"got {type(params).__name__}")
    if stopping.metric not in k.metrics:
        raise QtamlError(f"stopping metric {stopping.metric!r} is not a metric of kind {k.name!r} "
                         f"({', '.join(k.metrics)})")
    d = {"kind": k.name, **to_jsonable(params)}
    return Task(task_id(d), k.name, params, stopping)
