"""Append-only, resumable SQLite result store bound to its campaign config (design.md section 7).

Schema (version :data:`SCHEMA_VERSION`; version 1 stores are read, and upgraded when written)::

    meta(key PRIMARY KEY, value)                       schema_version, seed, name, kind
    configs(hash PRIMARY KEY, identity, config)        every config whose tasks the store holds
    tasks(task_id PRIMARY KEY, params, info)           params/info as canonical JSON
    trials(task_id, trial, metrics, UNIQUE(task_id, trial))

WAL journal; each chunk of trials is written in one transaction, so a run killed at any
moment leaves whole chunks only, and ``UNIQUE(task_id, trial)`` (``INSERT OR IGNORE``)
makes it impossible to count a trial twice.  Only the coordinating process writes.

A store is bound to its config: ``configs`` records the sha256 of the config's canonical
*identity* (:func:`config_identity`: everything that decides which tasks exist and what their
trials draw -- kind, seed, target, fault points, plans; not the name, the trial budget, the
chunk size or where it runs) and the config itself.  Writing with a config whose identity is
not recorded is refused with one line naming the differing keys, unless ``append`` (CLI
``--append``) adds the new config's tasks to a store of the same seed and kind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import check_dir_writable, check_target

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS configs (hash TEXT PRIMARY KEY, identity TEXT NOT NULL, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, params TEXT NOT NULL, info TEXT);
CREATE TABLE IF NOT EXISTS trials (
    task_id TEXT NOT NULL REFERENCES tasks(task_id),
    trial INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    UNIQUE (task_id, trial)
);
"""

# config keys that do not change which tasks exist or what their trials draw
_NOT_IDENTITY = frozenset({"name", "trials", "batch_trials", "dask", "models_dir", "stopping", "max_trials"})


def _plain(obj):
    """Dataclasses / attrs classes / tuples as plain JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    fields = getattr(type(obj), "__attrs_attrs__", None)
    if fields is not None:
        return {a.name: _plain(getattr(obj, a.name)) for a in fields}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in _NOT_IDENTITY}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def config_identity(cfg) -> dict:
    """The part of a campaign config that decides its tasks and their random streams, as plain JSON.

    ``cfg``: a typed config (dataclass or attrs) or its dict form.  Dropped at any depth:
    ``name``, ``trials``, ``batch_trials``, ``dask``, ``models_dir`` (raising the trial budget or
    moving to a cluster keeps a store's results valid).  A typed campaign config answers with
    its own ``canonical_dict()`` (:class:`qtaml_hw.campaign.config.CampaignConfig`).
    """
    own = getattr(cfg, "canonical_dict", None)
    return own() if callable(own) else _strip(_plain(cfg))


def config_hash(cfg) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace) of :func:`config_identity`.

    A typed campaign config answers with its own ``canonical_hash()`` (the same definition).
    """
    own = getattr(cfg, "canonical_hash", None)
    if callable(own):
        return own()
    return hashlib.sha256(_canonical(config_identity(cfg)).encode("utf-8")).hexdigest()


def _flatten(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: obj}


def differing_keys(a: dict, b: dict) -> list[str]:
    """Dotted keys (``memory.shape``, ``plans[0].protect_msb``) whose values differ between two configs."""
    fa, fb = _flatten(a), _flatten(b)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k, ...) != fb.get(k, ...))


class ResultStore:
    """A campaign's results; use :meth:`create` to start/resume a run, :meth:`open` to read one."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def check(cls, path, *, seed: int, kind: str, config=None, append: bool = False) -> bool:
        """Check, creating nothing, that a run may write ``path``; True if it holds a store already.

        Refuses (one line) a directory, a symlink, a missing or unwritable folder, a store of
        another seed/kind, and a store of another config unless ``append``.
        """
        path = Path(path)
        check_target(path)
        check_dir_writable(path.parent)
        if not path.exists() or _is_blank(path):
            return False
        with cls.open(path) as store:
            store._check_compatible(seed=seed, kind=kind, config=config, append=append)
        return True

    @classmethod
    def create(cls, path, *, seed: int, name: str, kind: str, config=None, append: bool = False) -> "ResultStore":
        """Open ``path`` for writing (created if absent), bound to ``config`` (see :meth:`check`)."""
        path = Path(path)
        if cls.check(path, seed=seed, kind=kind, config=config, append=append):
            store = cls.open(path)
        else:
            try:
                conn = sqlite3.connect(path, timeout=30.0)
                _set_wal(conn)
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise QtamlError(f"cannot create result store {path}: {exc}") from None
            store = cls(conn, path)
        try:
            with store.conn:
                store.conn.executescript(_SCHEMA)
                store.conn.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                                       [("schema_version", str(SCHEMA_VERSION)), ("seed", str(seed)),
                                        ("name", name), ("kind", kind)])
                store.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
                if config is not None:
                    store.conn.execute("INSERT OR IGNORE INTO configs VALUES (?, ?, ?)",
                                       (config_hash(config), _canonical(config_identity(config)),
                                        json.dumps(_plain(config), sort_keys=True, default=str)))
        except sqlite3.Error as exc:
            store.close()
            raise QtamlError(f"cannot write result store {path}: {exc}") from None
        return store

    @classmethod
    def open(cls, path) -> "ResultStore":
        """Open an existing store (checks that it is one, of a known schema version)."""
        path = Path(path)
        if path.is_dir():
            raise QtamlError(f"{path} is a directory, not a result store")
        if not path.is_file():
            raise QtamlError(f"result store not found: {path}")
        try:
            conn = sqlite3.connect(path, timeout=30.0)
        except sqlite3.Error as exc:
            raise QtamlError(f"cannot open result store {path}: {exc}") from None
        try:  # a reader leaves the journal mode alone: changing it needs a lock a writer may hold
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise QtamlError(f"{path} is not a campaign result store") from None
        version = row[0] if row else None
        if not (isinstance(version, str) and version.isdigit() and int(version) in READABLE_VERSIONS):
            conn.close()
            raise QtamlError(f"{path}: unsupported result-store schema version {version!r} "
                             f"(this version reads {', '.join(map(str, READABLE_VERSIONS))})")
        return cls(conn, path)

    def _check_compatible(self, *, seed: int, kind: str, config, append: bool) -> None:
        meta = self.meta()
        stored_seed = meta.get("seed")
        if stored_seed != str(seed) or meta.get("kind", kind) != kind:
            raise QtamlError(f"{self.path} holds a campaign with seed {stored_seed} and kind {meta.get('kind')!r}; "
                             f"this one has seed {seed} and kind {kind!r}: choose another --out")
        if config is None or append:
            return
        stored = self.configs()
        if not stored or config_hash(config) in stored:
            return  # a store written before configs were recorded is adopted
        keys = differing_keys(list(stored.values())[-1], config_identity(config))
        shown = ", ".join(keys[:6]) + (f" (+{len(keys) - 6} more)" if len(keys) > 6 else "")
        raise QtamlError(f"{self.path} holds results of another config (differs in {shown}): choose another "
                         "--out, or give --append to add the tasks of this config to it")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def add_tasks(self, tasks) -> None:
        with self.conn:
            self.conn.executemany("INSERT OR IGNORE INTO tasks(task_id, params) VALUES (?, ?)",
                                  [(t.id, json.dumps(t.params, sort_keys=True)) for t in tasks])

    def add_chunk(self, chunk) -> int:
        """Append one :class:`~qtaml_hw.campaign.tasks.ChunkResult` in one transaction; returns rows added."""
        names = list(chunk.metrics)
        rows = [(chunk.task_id, chunk.start + i, json.dumps({n: chunk.metrics[n][i] for n in names}))
                for i in range(chunk.count)]
        with self.conn:
            before = self.conn.total_changes
            self.conn.executemany("INSERT OR IGNORE INTO trials VALUES (?, ?, ?)", rows)
            added = self.conn.total_changes - before
            if chunk.info is not None:
                self.conn.execute("UPDATE tasks SET info=? WHERE task_id=?",
                                  (json.dumps(chunk.info, sort_keys=True), chunk.task_id))
        return added

    # -- reading ---------------------------------------------------------------------------
    def meta(self) -> dict:
        return dict(self._rows("SELECT key, value FROM meta"))

    def configs(self) -> dict[str, dict]:
        """Config hash -> config identity, in the order they were recorded ({} for a version-1 store)."""
        if not self._rows("SELECT name FROM sqlite_master WHERE type='table' AND name='configs'"):
            return {}
        return {h: self._json(i, "a config") for h, i in self._rows("SELECT hash, identity FROM configs ORDER BY rowid")}

    def done_trials(self) -> dict[str, np.ndarray]:
        """Sorted trial indices already stored, per task id."""
        out: dict[str, list] = {}
        for tid, trial in self._rows("SELECT task_id, trial FROM trials ORDER BY task_id, trial"):
            out.setdefault(tid, []).append(trial)
        return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}

    def has_info(self) -> set[str]:
        return {r[0] for r in self._rows("SELECT task_id FROM tasks WHERE info IS NOT NULL")}

    def tasks(self) -> list[dict]:
        """Every task as ``{"task_id", "params", "info"}`` in insertion order."""
        rows = self._rows("SELECT task_id, params, info FROM tasks ORDER BY rowid")
        return [{"task_id": t, "params": self._json(p, f"task {t[:12]}"),
                 "info": self._json(i, f"task {t[:12]}") if i else {}} for t, p, i in rows]

    def trials(self, task_id: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(trial indices, metric name -> values) of one task, ordered by trial index."""
        rows = self._rows("SELECT trial, metrics FROM trials WHERE task_id=? ORDER BY trial", (task_id,))
        idx = np.asarray([r[0] for r in rows], dtype=np.int64)
        dicts = [self._json(r[1], f"task {task_id[:12]} trial {r[0]}") for r in rows]
        names = list(dicts[0]) if dicts else []
        try:
            return idx, {n: np.asarray([d[n] for d in dicts], dtype=np.float64) for n in names}
        except (KeyError, TypeError, ValueError):
            raise QtamlError(f"{self.path} is corrupted: task {task_id[:12]} has non-numeric or missing "
                             "metrics") from None

    def count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM trials")[0][0])

    def _rows(self, sql: str, args=()) -> list:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise QtamlError(f"cannot read result store {self.path}: {exc}") from None

    def _json(self, text, what: str):
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            raise QtamlError(f"{self.path} is corrupted: {what} is not valid JSON") from None
        if not isinstance(value, dict):
            raise QtamlError(f"{self.path} is corrupted: {what} is not a JSON object")
        return value


def _is_blank(path: Path) -> bool:
    """True for a file with no tables yet (a store whose creation was interrupted, or a 0-byte file)."""
    if path.stat().st_size == 0:
        return True
    try:
        conn = sqlite3.connect(path, timeout=30.0)
        try:
            return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False  # not SQLite at all: open() reports it


def _set_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL; the switch is refused (not queued) while another connection reads, so retry."""
    for _ in range(600):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.05)
    raise QtamlError("result store stayed locked for 30 s while switching it to WAL")
