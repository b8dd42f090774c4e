"""Campaign execution: local processes by default, a Dask cluster on request (design.md section 7).

:func:`run_campaign` expands the config into tasks, asks the store which trials are
already done, splits the missing ones into chunks of at most ``batch_trials`` consecutive
trial indices, runs the chunks on an executor (in-process, a spawn ``ProcessPoolExecutor``,
or ``distributed.Client.submit``) and appends each finished chunk to the store in one
transaction.  Because trial randomness depends only on (seed, task id, trial index),
the stored numbers are the same for any worker count, any completion order and any number
of interruptions; no scheduler is written here, the executors do the scheduling.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from qtaml_hw.campaign.progress import Progress
from qtaml_hw.campaign.store import ResultStore
from qtaml_hw.campaign.tasks import execute_chunk, expand_tasks
from qtaml_hw.errors import QtamlError

log = logging.getLogger(__name__)


def plan_chunks(tasks, done: dict, *, trials: int, batch_trials: int, with_info: set) -> list[tuple]:
    """Chunks ``(task, start, count, want_info)`` covering every trial in ``0..trials-1`` not in ``done``.

    Missing indices are grouped into runs of consecutive indices, each cut into pieces of at
    most ``batch_trials``; the first chunk of a task whose info is not stored yet computes it.
    """
    chunks = []
    for task in tasks:
        missing = np.setdiff1d(np.arange(trials), done.get(task.id, np.empty(0, np.int64)))
        want_info = task.id not in with_info
        if missing.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(missing) != 1) + 1
        for run in np.split(missing, breaks):
            for s in range(0, run.size, batch_trials):
                piece = run[s:s + batch_trials]
                chunks.append((task, int(piece[0]), int(piece.size), want_info))
                want_info = False
    return chunks


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:  # coordinator gone (e.g. SIGKILL): do not linger as an orphan
            os._exit(1)


def _init_worker(parent_pid: int) -> None:
    import threading

    # one BLAS/torch thread per worker process: parallelism comes from the workers
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _dask_client(settings, address):
    """(client, cluster-or-None) for ``--dask ADDRESS`` or the ``[dask]`` section."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - distributed is a project dependency
        raise QtamlError("Dask execution needs dask[distributed]: pip install 'dask[distributed]'") from None
    address = address or settings.address
    if address:
        try:
            return Client(address, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise QtamlError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    opts = dict(settings.cluster_options)
    if settings.cluster == "local":
        cluster = LocalCluster(n_workers=settings.jobs, threads_per_worker=1, **opts)
    else:
        try:
            import dask_jobqueue
        except ImportError:
            raise QtamlError(f"dask.cluster = {settings.cluster!r} needs dask-jobqueue: "
                             "pip install dask-jobqueue") from None
        cls = {"slurm": dask_jobqueue.SLURMCluster, "lsf": dask_jobqueue.LSFCluster}[settings.cluster]
        cluster = cls(**opts)
        cluster.scale(jobs=settings.jobs)
    return Client(cluster), cluster


def run_campaign(cfg, *, out, workers: int = 1, dask_address: str | None = None, dask_client=None,
                 progress: bool = True, models_dir=None, max_chunks: int | None = None) -> dict:
    """Run every missing trial of ``cfg`` into the SQLite store ``out``; returns a summary dict.

    ``workers=0`` runs in this process, ``workers>=1`` in that many spawned processes; a
    ``dask_address``/``dask_client`` or an enabled ``cfg.dask`` runs the chunks on Dask
    instead.  ``max_chunks`` stops after that many chunks (for tests of resumption).
    """
    if workers < 0:
        raise QtamlError(f"workers must be >= 0, got {workers}")
    if models_dir is None and cfg.kind == "nn":
        models_dir = cfg.target.models_dir
    tasks = expand_tasks(cfg, models_dir=models_dir)  # validates physics and plans before any file is created
    t0 = time.perf_counter()
    with ResultStore.create(out, seed=cfg.seed, name=cfg.name, kind=cfg.kind) as store:
        store.add_tasks(tasks)
        done = store.done_trials()
        already = int(sum(np.count_nonzero(v < cfg.trials) for k, v in done.items()
                          if k in {t.id for t in tasks}))
        chunks = plan_chunks(tasks, done, trials=cfg.trials, batch_trials=cfg.batch_trials,
                             with_info=store.has_info())
        if max_chunks is not None:
            chunks = chunks[:max_chunks]
        total = len(tasks) * cfg.trials
        log.info("campaign %s: %d tasks, %d/%d trials stored, %d chunks to run", cfg.name, len(tasks), already,
                 total, len(chunks))
        added = 0
        use_dask = dask_client is not None or dask_address is not None or cfg.dask.enabled
        backend = "dask" if use_dask else ("inline" if workers == 0 else f"processes:{workers}")
        with Progress(total=total, initial=already, enabled=progress, desc=cfg.name) as bar:
            def record(result):
                nonlocal added
                n = store.add_chunk(result)
                added += n
                bar.update(n)

            args = [(t.id, t.params, cfg.seed, s, c) for t, s, c, _ in chunks]
            infos = [wi for *_, wi in chunks]
            if not chunks:
                pass
            elif use_dask:
                _run_dask(cfg, args, infos, record, dask_address, dask_client, models_dir)
            elif workers == 0:
                for a, wi in zip(args, infos):
                    record(execute_chunk(*a, models_dir=models_dir, with_info=wi))
            else:
                _run_processes(args, infos, record, workers, models_dir)
    elapsed = time.perf_counter() - t0
    return {"store": str(Path(out)), "name": cfg.name, "kind": cfg.kind, "backend": backend, "tasks": len(tasks),
            "trials_per_task": cfg.trials, "trials_total": total, "trials_stored_before": already,
            "trials_run": added, "elapsed_s": elapsed, "trials_per_s": added / elapsed if elapsed > 0 else 0.0}


def _run_processes(args, infos, record, workers, models_dir) -> None:
    ctx = get_context("spawn")
    pending = list(zip(args, infos))[::-1]
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(os.getpid(),)) as pool:
        running = set()
        while pending or running:
            while pending and len(running) < 2 * workers:  # bounded queue: results stream into the store
                a, wi = pending.pop()
                running.add(pool.submit(execute_chunk, *a, models_dir=models_dir, with_info=wi))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                record(fut.result())


def _run_dask(cfg, args, infos, record, address, client, models_dir) -> None:
    from distributed import as_completed

    own = client is None
    cluster = None
    if own:
        client, cluster = _dask_client(cfg.dask, address)
    try:
        futures = [client.submit(execute_chunk, *a, models_dir=models_dir, with_info=wi, pure=False)
                   for a, wi in zip(args, infos)]
        for fut in as_completed(futures):
            record(fut.result())
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
