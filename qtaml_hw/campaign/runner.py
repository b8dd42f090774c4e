"""Campaign execution: a config or a list of tasks -> the result store (design.md section 7).

:func:`run_tasks` is the engine's entry point for any task kind (see docs/campaign.md,
"Adding a task kind"); :func:`run_campaign` expands a :class:`~qtaml_hw.campaign.config.CampaignConfig`
into tasks and calls it.  Order of work: every check that can fail (workers, Dask address and
connection, the store's seed/kind/config, the writer lock) runs before the store file is
created; then the missing trials run on the chosen executor (:mod:`.engine`) until each
task's stopping question is decided.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import attrs

from qtaml_hw.campaign.dask_options import check_address
from qtaml_hw.campaign.engine import decision_dict, make_executor, run_loop, stored_rows
from qtaml_hw.campaign.expand import expand_tasks
from qtaml_hw.campaign.lock import StoreLock
from qtaml_hw.campaign.preflight import preflight_campaign
from qtaml_hw.campaign.progress import Progress
from qtaml_hw.campaign.store import ResultStore
from qtaml_hw.errors import QtamlError

log = logging.getLogger(__name__)


def run_tasks(tasks, *, seed: int, out, name: str, kind: str | None = None, workers: int = 1,
              batch_trials: int = 64, dask_client=None, dask_settings=None, dask_address: str | None = None,
              progress: bool = True, max_chunks: int | None = None, config=None, append: bool = False) -> dict:
    """Run every missing trial of ``tasks`` into the store ``out`` until each task's question is decided.

    ``workers=0`` runs in this process, ``workers>=1`` in that many spawned processes;
    ``dask_client``, ``dask_address`` or enabled ``dask_settings`` run on Dask instead.
    ``max_chunks`` stops after that many chunks (for tests of resumption).  Returns a summary
    with ``decisions``: task id -> ``{outcome, n, mean, lo, hi}`` (None if not decided yet).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise QtamlError(f"workers must be an integer >= 0, got {workers!r}")
    if batch_trials <= 0:
        raise QtamlError(f"batch_trials must be positive, got {batch_trials!r}")
    kind = kind or ",".join(sorted({t.kind for t in tasks}))
    out = Path(out)
    ResultStore.check(out, seed=seed, kind=kind, config=config, append=append)
    use_dask = dask_client is not None or dask_address is not None or (dask_settings is not None
                                                                        and dask_settings.enabled)
    if dask_address is not None:
        check_address(dask_address)  # before the lock file or the store exist
    t0 = time.perf_counter()
    with StoreLock(out):
        if use_dask:  # distributed is heavy: imported only for Dask runs (the local path stays light)
            from qtaml_hw.campaign import dask_exec  # noqa: PLC0415

            executor = (dask_exec.DaskExecutor(dask_client) if dask_client is not None
                        else dask_exec.open_dask(dask_settings, dask_address))
        else:
            executor = make_executor(workers)
        summary = _run_store(tasks, out=out, seed=seed, name=name, kind=kind, executor=executor,
                             batch_trials=batch_trials, progress=progress, max_chunks=max_chunks,
                             config=config, append=append)
    elapsed = time.perf_counter() - t0
    backend = "dask" if use_dask else ("inline" if workers == 0 else f"processes:{workers}")
    return {"store": str(out), "name": name, "kind": kind, "backend": backend, **summary, "elapsed_s": elapsed,
            "trials_per_s": summary["trials_run"] / elapsed if elapsed > 0 else 0.0}


def _run_store(tasks, *, out, seed, name, kind, executor, batch_trials, progress, max_chunks, config,
               append) -> dict:
    try:
        with ResultStore.create(out, seed=seed, name=name, kind=kind, config=config, append=append) as store:
            store.add_tasks(stored_rows(tasks))
            cap = sum(t.stopping.max_trials for t in tasks)
            ids = {t.id: t.stopping.max_trials for t in tasks}
            before = sum(int((idx < ids[tid]).sum()) for tid, idx in store.done_trials().items() if tid in ids)
            with Progress(total=cap, initial=before, enabled=progress, desc=name) as bar:
                added, runs = run_loop(store, tasks, seed=seed, executor=executor, batch_trials=batch_trials,
                                       bar=bar, max_chunks=max_chunks)
    finally:
        executor.close()
    decisions = {r.task.id: decision_dict(r) for r in runs}
    needed = sum(d["n"] if d else r.task.stopping.max_trials for d, r in zip(decisions.values(), runs))
    log.info("%s: %d tasks, %d trials stored before, %d run", name, len(tasks), before, added)
    return {"tasks": len(tasks), "trials_per_task": max((t.stopping.max_trials for t in tasks), default=0),
            "trials_cap": cap, "trials_total": needed, "trials_stored_before": before, "trials_run": added,
            "decided": sum(d is not None for d in decisions.values()),
            "early_stops": sum(d is not None and d["n"] < r.task.stopping.max_trials
                               for d, r in zip(decisions.values(), runs)),
            "decisions": decisions}


def run_campaign(cfg, *, out, workers: int = 1, dask_address: str | None = None, dask_client=None,
                 progress: bool = True, models_dir=None, max_chunks: int | None = None, append: bool = False,
                 limits=None, force_workers: bool = False) -> dict:
    """Run (or resume) the campaign ``cfg`` into the SQLite store ``out``; returns a summary dict.

    ``models_dir`` overrides ``[model] models_dir`` (where checkpoints live; not part of any id).
    ``limits`` (:class:`~qtaml_hw.campaign.preflight.Limits`, default: this machine's): the
    pre-flight caps on tasks, RAM and disk, checked from the config before anything is expanded
    or written; ``workers`` is capped at the usable cores unless ``force_workers``.
    """
    if models_dir is not None and cfg.kind == "nn":
        cfg = attrs.evolve(cfg, target=attrs.evolve(cfg.target, models_dir=str(models_dir)))
    ResultStore.check(out, seed=cfg.seed, kind=cfg.kind, config=cfg, append=append)  # before any expensive step
    use_dask = dask_client is not None or dask_address is not None or cfg.dask.enabled
    _, workers = preflight_campaign(cfg, out=out, workers=workers, dask=use_dask, limits=limits,
                                    force_workers=force_workers, models_dir=models_dir)
    tasks = expand_tasks(cfg)  # validates physics and plans before any file is created
    return run_tasks(tasks, seed=cfg.seed, out=out, name=cfg.name, kind=cfg.kind, workers=workers,
                     batch_trials=cfg.batch_trials, dask_client=dask_client, dask_settings=cfg.dask,
                     dask_address=dask_address, progress=progress, max_chunks=max_chunks, config=cfg, append=append)
