"""Append-only, resumable SQLite result store (design.md section 7).

Schema (version :data:`SCHEMA_VERSION`)::

    meta(key PRIMARY KEY, value)                       schema_version, seed, name, kind
    tasks(task_id PRIMARY KEY, params, info)           params/info as canonical JSON
    trials(task_id, trial, metrics, UNIQUE(task_id, trial))

WAL journal; each chunk of trials is written in one transaction, so a run killed at any
moment leaves whole chunks only, and ``UNIQUE(task_id, trial)`` (``INSERT OR IGNORE``)
makes it impossible to count a trial twice.  Only the coordinating process writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np

from qtaml_hw.errors import QtamlError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, params TEXT NOT NULL, info TEXT);
CREATE TABLE IF NOT EXISTS trials (
    task_id TEXT NOT NULL REFERENCES tasks(task_id),
    trial INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    UNIQUE (task_id, trial)
);
"""


class ResultStore:
    """A campaign's results; use :meth:`create` to start/resume a run, :meth:`open` to read one."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def create(cls, path, *, seed: int, name: str, kind: str) -> "ResultStore":
        """Open ``path`` for writing (created if absent); a store of another seed/kind is refused."""
        path = Path(path)
        if path.exists() and not _is_blank(path):
            store = cls.open(path)
            meta = store.meta()
            if int(meta.get("seed", seed)) != seed or meta.get("kind", kind) != kind:
                store.close()
                raise QtamlError(f"{path} holds a campaign with seed {meta.get('seed')} and kind {meta.get('kind')!r}; "
                                 f"this one has seed {seed} and kind {kind!r}: choose another --out")
            return store
        if not path.parent.exists():
            raise QtamlError(f"output directory does not exist: {path.parent}")
        conn = sqlite3.connect(path, timeout=30.0)
        _set_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        with conn:
            conn.executescript(_SCHEMA)
            conn.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                             [("schema_version", str(SCHEMA_VERSION)), ("seed", str(seed)), ("name", name),
                              ("kind", kind)])
        return cls(conn, path)

    @classmethod
    def open(cls, path) -> "ResultStore":
        """Open an existing store (checks that it is one, of a known schema version)."""
        path = Path(path)
        if not path.is_file():
            raise QtamlError(f"result store not found: {path}")
        conn = sqlite3.connect(path, timeout=30.0)
        try:  # a reader leaves the journal mode alone: changing it needs a lock a writer may hold
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise QtamlError(f"{path} is not a campaign result store") from None
        if row is None or int(row[0]) != SCHEMA_VERSION:
            conn.close()
            raise QtamlError(f"{path}: unsupported result-store schema version {row and row[0]} "
                             f"(this version reads {SCHEMA_VERSION})")
        return cls(conn, path)

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
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def done_trials(self) -> dict[str, np.ndarray]:
        """Sorted trial indices already stored, per task id."""
        out: dict[str, list] = {}
        for tid, trial in self.conn.execute("SELECT task_id, trial FROM trials ORDER BY task_id, trial"):
            out.setdefault(tid, []).append(trial)
        return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}

    def has_info(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT task_id FROM tasks WHERE info IS NOT NULL")}

    def tasks(self) -> list[dict]:
        """Every task as ``{"task_id", "params", "info"}`` in insertion order."""
        rows = self.conn.execute("SELECT task_id, params, info FROM tasks ORDER BY rowid").fetchall()
        return [{"task_id": t, "params": json.loads(p), "info": json.loads(i) if i else {}} for t, p, i in rows]

    def trials(self, task_id: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(trial indices, metric name -> values) of one task, ordered by trial index."""
        rows = self.conn.execute("SELECT trial, metrics FROM trials WHERE task_id=? ORDER BY trial",
                                 (task_id,)).fetchall()
        idx = np.asarray([r[0] for r in rows], dtype=np.int64)
        dicts = [json.loads(r[1]) for r in rows]
        names = list(dicts[0]) if dicts else []
        return idx, {n: np.asarray([d[n] for d in dicts], dtype=np.float64) for n in names}

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0])


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
