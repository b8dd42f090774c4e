"""Pre-flight resource estimate of a campaign or an evaluation, checked before any file exists (issue 12 item 3).

A campaign's cost is known from its config alone: ``tasks = fault points x sum over plans of
their budgets`` (an upper bound: identical points are merged when expanded), ``trials = tasks x
campaign.trials`` (the per-task cap; a stopping rule can only stop earlier), and per trial chunk
the kind's working set.  The constants below are measured on this code (the command that
measures them is in docs/campaign.md, "Resource limits"):

* store: ~235 B per trial row (metrics JSON + the ``UNIQUE(task_id, trial)`` index) and ~900 B
  per task row with its info; the task rows are written in one transaction, so the WAL briefly
  holds them twice;
* ``memory`` kind: ``MemoryKind.run`` peaks at ~27 B per weight per trial of a chunk (faulty
  codes, dequantized copy, error), plus ~40 B + 24 B x bits per weight for the clean tensor and
  the closed-form per-bit moments;
* ``nn`` kind: the fault sampler holds ~16 B per weight per trial of a chunk;
* the coordinator holds ~6 kB per task (parameters, chunk list) and ~60 B per trial index read
  back from the store.

The caps default to the machine: 75 % of physical RAM, 90 % of the free space of the store's
file system, 200,000 tasks, the usable cores for ``--workers``.  Above a cap the run is refused
with one line naming the number, the cap and the option that raises it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from qtaml_hw.errors import QtamlError

log = logging.getLogger(__name__)

TRIAL_ROW_BYTES = 250.0
STORE_BASE_BYTES = 64e3  # schema pages and the WAL header of an empty store
TASK_ROW_BYTES = 1600.0  # ~900 B row + info, and its copy in the WAL of the add_tasks transaction
COORDINATOR_TASK_BYTES = 6000.0
COORDINATOR_TRIAL_BYTES = 60.0
PROCESS_BYTES = {"memory": 250e6, "nn": 700e6}  # an interpreter with numpy (+ torch for nn)
MEMORY_KIND_TRIAL_BYTES = 28.0
NN_KIND_TRIAL_BYTES = 16.0
NN_DEFAULT_WEIGHTS = 1_000_000  # when the checkpoint's manifest does not say
DEFAULT_MEMORY_FRACTION = 0.75
DEFAULT_DISK_FRACTION = 0.90
DEFAULT_MAX_TASKS = 200_000


def physical_memory_bytes() -> int:
    """Physical RAM of this machine (``os.sysconf``; psutil where sysconf is missing)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        import psutil

        return int(psutil.virtual_memory().total)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def free_disk_bytes(path) -> tuple[int, Path]:
    """(free bytes, folder) of the file system that holds ``path`` (its nearest existing folder)."""
    p = Path(os.path.abspath(path))
    while not p.is_dir() and p != p.parent:
        p = p.parent
    return int(shutil.disk_usage(p).free), p


@dataclass(frozen=True)
class Limits:
    """Caps a run must fit: peak RAM and disk growth in bytes, task count, worker processes."""

    memory_bytes: float
    disk_bytes: float
    max_tasks: int
    cores: int
    memory_note: str = ""
    disk_note: str = ""

    @classmethod
    def for_machine(cls, out=".", *, memory_gb: float | None = None, disk_gb: float | None = None,
                    max_tasks: int | None = None) -> "Limits":
        """Caps sized to this machine unless given: 75 % of RAM, 90 % of the free disk under ``out``."""
        for name, v in (("--max-memory-gb", memory_gb), ("--max-disk-gb", disk_gb)):
            if v is not None and not (math.isfinite(v) and v > 0):
                raise QtamlError(f"{name} must be a positive number, got {v!r}")
        if max_tasks is not None and max_tasks <= 0:
            raise QtamlError(f"--max-tasks must be a positive integer, got {max_tasks!r}")
        if memory_gb is None:
            mem, mem_note = DEFAULT_MEMORY_FRACTION * physical_memory_bytes(), "75% of the RAM of this machine"
        else:
            mem, mem_note = memory_gb * 1e9, "--max-memory-gb"
        if disk_gb is None:
            free, where = free_disk_bytes(out)
            disk, disk_note = DEFAULT_DISK_FRACTION * free, f"90% of the free space under {where}"
        else:
            disk, disk_note = disk_gb * 1e9, "--max-disk-gb"
        return cls(memory_bytes=mem, disk_bytes=disk, max_tasks=max_tasks or DEFAULT_MAX_TASKS,
                   cores=usable_cores(), memory_note=mem_note, disk_note=disk_note)


@dataclass(frozen=True)
class Estimate:
    """What a run will need: task and trial counts, peak RAM of this machine, disk growth (bytes)."""

    what: str
    tasks: int
    trials: int
    memory_bytes: float
    disk_bytes: float
    memory_hint: str = "lower the trials, shape, batch_trials or workers"

    def as_dict(self) -> dict:
        return asdict(self)


def human_bytes(n: float) -> str:
    """``1.2 GB`` style (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000.0
    return f"{n:.3g} PB"  # pragma: no cover


def check(est: Estimate, limits: Limits) -> Estimate:
    """Raise a one-line :class:`QtamlError` if ``est`` exceeds a cap of ``limits``; else return it."""
    if est.tasks > limits.max_tasks:
        raise QtamlError(f"{est.what} has {est.tasks:,} tasks, more than the cap of {limits.max_tasks:,}: "
                         "sweep fewer points, or raise --max-tasks")
    if est.disk_bytes > limits.disk_bytes:
        raise QtamlError(f"{est.what} needs about {human_bytes(est.disk_bytes)} of disk for {est.trials:.3g} trial "
                         f"rows, more than the cap of {human_bytes(limits.disk_bytes)} ({limits.disk_note}): "
                         "lower the trials or the sweep, or raise --max-disk-gb")
    if est.memory_bytes > limits.memory_bytes:
        raise QtamlError(f"{est.what} needs about {human_bytes(est.memory_bytes)} of memory, more than the cap of "
                         f"{human_bytes(limits.memory_bytes)} ({limits.memory_note}): {est.memory_hint}, "
                         "or raise --max-memory-gb")
    return est


def check_workers(workers: int, *, force: bool = False, cores: int | None = None) -> int:
    """``workers`` capped at the usable cores unless ``force``; trial values do not depend on it."""
    cores = cores or usable_cores()
    return cores if workers > cores and not force else workers


# -- campaigns ---------------------------------------------------------------------------------

def count_tasks(cfg) -> int:
    """Upper bound of the tasks of a campaign config: fault points x sum over plans of their budgets."""
    f = cfg.faults
    if f.p_flip:
        points = len(f.p_flip)
    elif f.scrub_period_s:
        points = len(f.scrub_period_s)
    else:
        points = math.prod(len(v) for _, v in f.physics)
    return points * sum(len(p.budget_bpw) if p.adaptive else len(p.protect_msb) for p in cfg.plans)


def _manifest_weights(target, models_dir) -> int:
    """Weights of an ``nn`` target from its manifest's ``n_params`` (no torch import); a default if unknown."""
    name = str(target.name)
    if name.endswith(".safetensors"):
        manifest, key = Path(name).parent / "manifest.json", None
    else:
        folder = models_dir or target.models_dir or os.environ.get("QTAML_MODELS_DIR")
        folder = Path(folder) if folder else Path(__file__).resolve().parents[2] / "models"
        manifest, key = folder / "manifest.json", name
    try:
        models = json.loads(manifest.read_text()).get("models", {})
        entry = models.get(key) if key else next((e for e in models.values()
                                                  if isinstance(e, dict) and e.get("file") == Path(name).name), None)
        n = int(entry["n_params"])
        return n if n > 0 else NN_DEFAULT_WEIGHTS
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return NN_DEFAULT_WEIGHTS  # the load itself reports a bad manifest, one line


def worker_bytes(cfg, *, models_dir=None) -> float:
    """Peak RAM of one process running one chunk of ``cfg`` (see the module docstring)."""
    t = cfg.target
    batch = min(cfg.batch_trials, cfg.trials)
    if cfg.kind == "memory":
        n = float(math.prod(t.shape))
        return PROCESS_BYTES["memory"] + n * (MEMORY_KIND_TRIAL_BYTES * batch + 40.0 + 24.0 * t.bits)
    n = float(_manifest_weights(t, models_dir))
    return PROCESS_BYTES.get(cfg.kind, PROCESS_BYTES["nn"]) + n * (NN_KIND_TRIAL_BYTES * batch + 64.0)


def estimate_campaign(cfg, *, workers: int, dask: bool = False, models_dir=None, stored_bytes: int = 0) -> Estimate:
    """Tasks, trials, peak RAM (coordinator + concurrent workers here) and store growth of ``cfg``.

    ``workers`` local processes run one chunk each at a time (``0``: in this process); on Dask
    the workers are elsewhere, so one worker's need is checked.  ``stored_bytes``: size of the
    store already on disk (its rows are not written again).
    """
    tasks = count_tasks(cfg)
    trials = tasks * cfg.trials
    coordinator = (PROCESS_BYTES["memory"] + COORDINATOR_TASK_BYTES * tasks + COORDINATOR_TRIAL_BYTES * trials
                   + 32.0 * cfg.trials)
    per_worker = worker_bytes(cfg, models_dir=models_dir)
    memory = coordinator + (1 if dask else max(workers, 1)) * per_worker
    if workers == 0 and not dask:
        memory -= PROCESS_BYTES["memory"]  # the chunks run in this process
    disk = max(0.0, STORE_BASE_BYTES + TASK_ROW_BYTES * tasks + TRIAL_ROW_BYTES * trials - stored_bytes)
    return Estimate(what=f"campaign {cfg.name!r}", tasks=tasks, trials=trials, memory_bytes=memory, disk_bytes=disk)


def preflight_campaign(cfg, *, out, workers: int, dask: bool = False, limits: Limits | None = None,
                       force_workers: bool = False, models_dir=None) -> tuple[Estimate, int]:
    """Check ``cfg`` against ``limits`` (default: this machine's) before any file is created.

    Returns the estimate and the worker count to use (capped at the cores unless forced).
    """
    if workers < 0:
        raise QtamlError(f"--workers must be >= 0, got {workers}")
    limits = limits or Limits.for_machine(out)
    capped = check_workers(workers, force=force_workers, cores=limits.cores)
    local_jobs = int(cfg.dask.jobs) if dask and getattr(cfg.dask, "cluster", None) == "local" else 0
    if local_jobs > limits.cores and not force_workers:  # a LocalCluster's workers are processes here
        raise QtamlError(f"dask.jobs = {local_jobs} local Dask workers is more than the {limits.cores} usable "
                         "cores of this machine: lower dask.jobs, or give --force-workers")
    stored = Path(out).stat().st_size if Path(out).is_file() else 0
    est = estimate_campaign(cfg, workers=local_jobs or capped, dask=dask and not local_jobs, models_dir=models_dir,
                            stored_bytes=stored)
    est = check(est, limits)
    if capped != workers:
        log.warning("--workers %d capped at the %d usable cores of this machine (--force-workers to override)",
                    workers, capped)
    log.info("preflight: %d tasks, %d trials, ~%s RAM, ~%s disk", est.tasks, est.trials,
             human_bytes(est.memory_bytes), human_bytes(est.disk_bytes))
    return est, capped


# -- eval --------------------------------------------------------------------------------------

def estimate_eval(*, n_weights: int, trials: int, batch_trials: int, n_test: int, input_numel: int) -> Estimate:
    """Peak RAM of ``qtaml-hw eval``: the sampler's faulty weights of one batch of trials, the
    per-trial results (~48 B per trial) and the test inputs (three float32 copies)."""
    memory = (PROCESS_BYTES["nn"] + float(n_weights) * (NN_KIND_TRIAL_BYTES * min(batch_trials, trials) + 64.0)
              + 48.0 * trials + 12.0 * n_test * input_numel)
    return Estimate(what="eval", tasks=1, trials=int(trials), memory_bytes=memory, disk_bytes=0.0,
                    memory_hint="lower --trials, --batch-trials or --test-subset")


def preflight_eval(*, n_weights: int, trials: int, batch_trials: int, n_test: int, input_numel: int,
                   memory_gb: float | None = None) -> Estimate:
    """:func:`estimate_eval` checked against the memory cap (default 75 % of RAM); one-line refusal above it."""
    limits = Limits.for_machine(".", memory_gb=memory_gb)
    return check(estimate_eval(n_weights=n_weights, trials=trials, batch_trials=batch_trials, n_test=n_test,
                               input_numel=input_numel), limits)
