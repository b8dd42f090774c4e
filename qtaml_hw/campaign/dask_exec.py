"""Running the engine's chunks on Dask (design.md section 7).

Bounded in-flight submission, as the local executor does: at most ``2 x threads`` futures
are pending, so the scheduler never holds thousands of tasks and finished chunks stream into
the store.  Small chunks are bundled: when many chunks wait, up to :data:`BUNDLE_MAX` of them
go in one submission (:func:`qtaml_hw.campaign.engine.execute_chunks`), so per-task scheduler
overhead (a few ms each) is paid once per bundle.  Results are the same as on any executor:
trial values depend on (seed, task id, trial index) only.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings

import distributed

from qtaml_hw.campaign.dask_options import check_address
from qtaml_hw.campaign.engine import execute_chunks
from qtaml_hw.errors import QtamlError

BUNDLE_MAX = 32


class DaskExecutor:
    """The engine's executor interface (``slots``, ``bundle_max``, ``submit``, ``wait``, ``close``) on a client."""

    bundle_max = BUNDLE_MAX

    def __init__(self, client, cluster=None, *, own: bool = False):
        self.client, self.cluster, self.own = client, cluster, own
        threads = sum(client.nthreads().values()) or 1
        self.slots = 2 * threads

    def submit(self, specs):
        return self.client.submit(execute_chunks, specs, pure=False)

    def wait(self, running):
        done = distributed.wait(list(running), return_when="FIRST_COMPLETED")
        return set(done.done), set(done.not_done)

    def close(self):
        if self.own:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def _jobqueue_cluster(settings):
    try:
        import dask_jobqueue  # noqa: PLC0415 - optional dependency, imported only when a config asks for it
    except ImportError:
        raise QtamlError(f"dask.cluster = {settings.cluster!r} needs dask-jobqueue: "
                         "pip install dask-jobqueue") from None
    cls = {"slurm": dask_jobqueue.SLURMCluster, "lsf": dask_jobqueue.LSFCluster}[settings.cluster]
    cluster = cls(**dict(settings.cluster_options))
    cluster.scale(jobs=settings.jobs)
    return cluster


def _quiet_dask() -> None:
    """Dask's INFO logs (and a failing nanny's) and its port warnings would turn a one-line error into
    dozens of lines (issue 12): only errors reach stderr, here and in the worker processes, unless ``-v``."""
    if logging.getLogger().getEffectiveLevel() <= logging.INFO:
        return
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # read by the spawned worker processes
    logging.getLogger("distributed").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)


def _probe_tcp(address: str) -> None:
    """Fail at once, in one line, when nothing listens at a ``tcp://host:port`` scheduler address.

    ``distributed.Client`` retries a refused connection until its 10 s timeout; a plain TCP connect
    tells "connection refused" in milliseconds.  Other schemes (tls, inproc) go straight to Dask.
    """
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=3.0).close()
    except OSError as exc:
        raise QtamlError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from None


def open_dask(settings, address: str | None = None) -> DaskExecutor:
    """An executor for ``--dask ADDRESS`` or the ``[dask]`` section (options already allow-listed)."""
    _quiet_dask()
    address = address or (settings.address if settings is not None else None)
    if address:
        address = check_address(address)
        _probe_tcp(address)
        try:
            return DaskExecutor(distributed.Client(address, timeout="10s"), own=True)
        except (OSError, TimeoutError, ValueError) as exc:
            raise QtamlError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    if settings.cluster == "local":
        opts = {"threads_per_worker": 1, "dashboard_address": None, **dict(settings.cluster_options)}
        try:
            cluster = distributed.LocalCluster(n_workers=settings.jobs, **opts)
        except (OSError, TypeError, ValueError) as exc:
            raise QtamlError(f"cannot start a local Dask cluster: {exc}") from None
    else:
        cluster = _jobqueue_cluster(settings)
    return DaskExecutor(distributed.Client(cluster), cluster, own=True)
