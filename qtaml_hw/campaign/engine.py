"""The experiment engine: tasks -> seeded chunks -> executor -> store, with adaptive stopping
(design.md section 7).

:func:`run_tasks` reads which trials each task has stored, walks its stopping checkpoints
(:meth:`~qtaml_hw.campaign.stopping.Stopping.settle`) and submits the chunks that fill the
next checkpoint; whenever a task's trials ``0 .. c-1`` are all stored it looks again, and
either stops the task or asks for the next checkpoint.  Chunks run in this process
(``workers=0``), in spawned processes (at most ``2 x workers`` in flight) or on Dask (at most
``2 x threads`` submissions in flight, small chunks bundled into one submission).  Only this
process writes the store, one transaction per chunk.  Trial values depend on (seed, task id,
trial index) only and decisions are taken on index prefixes, so the stored trials and the
decisions are the same for any executor, worker count, chunking or interruption.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from types import SimpleNamespace

import attrs
import numpy as np

from qtaml_hw.campaign.kinds import Task, get_kind, task_seed
from qtaml_hw.campaign.progress import Progress
from qtaml_hw.campaign.stopping import Decision

log = logging.getLogger(__name__)


@attrs.frozen
class ChunkResult:
    """Frozen record of trials ``start .. start+count-1`` of one task (they add up in the store)."""

    task_id: str
    start: int
    metrics: dict  # name -> list of floats, one per trial
    info: dict | None = None

    @property
    def count(self) -> int:
        return len(next(iter(self.metrics.values())))


_CONTEXTS: dict[tuple, object] = {}  # per-process cache: (kind, context key) -> prepared context
_CONTEXT_LOCK = threading.Lock()  # Dask may run chunks in threads of one process


def _context(kind, params):
    key = (kind.name, kind.context_key(params))
    with _CONTEXT_LOCK:
        if key not in _CONTEXTS:
            _CONTEXTS.clear()  # one context at a time per worker keeps memory bounded
            _CONTEXTS[key] = kind.prepare(params)
        return _CONTEXTS[key]


def execute_chunk(task: Task, seed: int, start: int, count: int, *, with_info: bool = False) -> ChunkResult:
    """Run trials ``start .. start+count-1`` of ``task``; picklable entry point for any executor."""
    kind = get_kind(task.kind)
    ctx = _context(kind, task.params)
    out = kind.run(ctx, task.params, seed=task_seed(seed, task.id), start=start, count=count)
    metrics = {}
    for name in kind.metrics:
        values = np.asarray(out[name], dtype=np.float64).ravel()
        if values.size != count:
            raise ValueError(f"task kind {kind.name!r} returned {values.size} values of {name!r} for {count} trials")
        metrics[name] = values.tolist()
    return ChunkResult(task.id, int(start), metrics, kind.info(ctx, task.params) if with_info else None)


def execute_chunks(specs: list[tuple]) -> list[ChunkResult]:
    """Several chunks in one submission: ``[(task, seed, start, count, with_info), ...]``."""
    return [execute_chunk(t, s, a, c, with_info=wi) for t, s, a, c, wi in specs]


# -- per-task progress and stopping ---------------------------------------------------------

@attrs.define
class _TaskRun:
    """Mutable bookkeeping of one task during a run (never stored)."""

    task: Task
    values: dict  # trial index -> value of the stopping metric (stored or just run)
    need_info: bool
    inflight: set = attrs.field(factory=set)
    prefix: int = 0  # trials 0 .. prefix-1 are all stored
    goal: int | None = None  # the checkpoint being filled
    decision: Decision | None = None

    def advance(self, batch_trials: int) -> list[tuple[int, int]]:
        """Chunks ``(start, count)`` still needed, or [] once the task's question is decided."""
        while self.prefix in self.values:
            self.prefix += 1
        if self.goal is not None and self.prefix < self.goal:
            return []  # still filling the current checkpoint
        prefix_values = [self.values[i] for i in range(self.prefix)]
        decision, goal = self.task.stopping.settle(prefix_values)
        self.decision, self.goal = decision, goal
        if goal is None:
            return []
        missing = [i for i in range(self.prefix, goal) if i not in self.values and i not in self.inflight]
        chunks, i = [], 0
        while i < len(missing):
            j = i
            while j + 1 < len(missing) and missing[j + 1] == missing[j] + 1 and j + 1 - i < batch_trials:
                j += 1
            chunks.append((missing[i], j - i + 1))
            i = j + 1
        self.inflight.update(missing)
        return chunks


# -- executors -------------------------------------------------------------------------------

def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:  # coordinator gone (e.g. SIGKILL): do not linger as an orphan
            os._exit(1)


def _init_worker(parent_pid: int) -> None:
    # one BLAS/torch thread per worker process: parallelism comes from the workers
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


class _Inline:
    slots, bundle_max = 1, 1

    def submit(self, specs):
        fut = Future()
        fut.set_result(execute_chunks(specs))
        return fut

    def wait(self, running):
        return set(running), set()

    def close(self):
        pass


class _Processes:
    bundle_max = 1

    def __init__(self, workers: int):
        self.slots = 2 * workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                        initializer=_init_worker, initargs=(os.getpid(),))

    def submit(self, specs):
        return self.pool.submit(execute_chunks, specs)

    def wait(self, running):
        return wait(running, return_when=FIRST_COMPLETED)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def make_executor(workers: int):
    """In this process (``workers=0``) or ``workers`` spawned processes; Dask: :mod:`.dask_exec`."""
    return _Inline() if workers == 0 else _Processes(workers)


# -- the loop ---------------------------------------------------------------------------------

def _load_runs(store, tasks) -> list[_TaskRun]:
    have_info = store.has_info()
    runs = []
    for t in tasks:
        idx, metrics = store.trials(t.id)
        vals = metrics.get(t.stopping.metric, np.empty(0))
        runs.append(_TaskRun(t, dict(zip(idx.tolist(), vals.tolist())), t.id not in have_info))
    return runs


def _schedule(runs, batch_trials: int, seed: int) -> list[tuple]:
    specs = []
    for run in runs:
        for start, count in run.advance(batch_trials):
            specs.append((run.task, seed, start, count, run.need_info))
            run.need_info = False
    return specs


def run_loop(store, tasks, *, seed: int, executor, batch_trials: int, bar: Progress,
             max_chunks: int | None = None) -> tuple[int, list]:
    """Run until every task is decided (or ``max_chunks`` chunks ran); returns (trials added, runs)."""
    runs = _load_runs(store, tasks)
    by_id = {r.task.id: r for r in runs}
    pending = _schedule(runs, batch_trials, seed)
    for run in runs:
        if run.goal is None and run.decision is not None:  # decided by what was stored already
            bar.shrink(run.task.stopping.max_trials - run.decision.n)
    running, added, submitted = set(), 0, 0
    while pending or running:
        while pending and len(running) < executor.slots and (max_chunks is None or submitted < max_chunks):
            k = max(1, min(executor.bundle_max, len(pending) // (2 * executor.slots)))
            if max_chunks is not None:
                k = min(k, max_chunks - submitted)
            bundle, pending = pending[:k], pending[k:]
            running.add(executor.submit(bundle))
            submitted += len(bundle)
        if not running:
            break
        finished, running = executor.wait(running)
        touched = {}
        for fut in finished:
            for chunk in fut.result():
                added += _record(store, by_id[chunk.task_id], chunk, bar)
                touched[chunk.task_id] = by_id[chunk.task_id]
        for run in touched.values():
            pending.extend(_schedule([run], batch_trials, seed))
            if run.goal is None and run.decision is not None:
                bar.shrink(run.task.stopping.max_trials - run.decision.n)
    return added, runs


def _record(store, run: _TaskRun, chunk: ChunkResult, bar: Progress) -> int:
    n = store.add_chunk(chunk)
    metric = chunk.metrics[run.task.stopping.metric]
    for i, v in enumerate(metric):
        run.values[chunk.start + i] = v
        run.inflight.discard(chunk.start + i)
    bar.update(n)
    return n


def stored_rows(tasks) -> list:
    """What the store keeps of each task: its id and JSON parameters."""
    return [SimpleNamespace(id=t.id, params=t.params_dict()) for t in tasks]


def decision_dict(run: _TaskRun) -> dict | None:
    d = run.decision
    if d is None or not d.decided:
        return None
    return {"outcome": d.outcome, "n": d.n, "mean": d.mean, "lo": d.lo, "hi": d.hi}
