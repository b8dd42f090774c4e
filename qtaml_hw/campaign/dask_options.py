"""``[dask]``: where a campaign runs, and the allow-list its cluster options must pass (design.md section 7).

A config file is data, never code.  ``[dask.cluster_options]`` is passed to
``distributed.LocalCluster`` or ``dask_jobqueue.SLURMCluster``/``LSFCluster``, several of whose
options load code into the workers (``preload``, ``worker_extra_args = ["--preload", ...]``,
``scheduler_options``) or put lines into the batch script that the cluster's shell runs
(``job_script_prologue``, ``job_extra_directives`` -- on LSF ``#BSUB -E cmd`` runs ``cmd``),
or choose the interpreter (``python``, ``shebang``).  So only the options in :data:`ALLOWED`
are accepted from a file; those in :data:`CODE_OPTIONS` are refused with one line, and can
be given only on the command line, ``--dask-option KEY=VALUE`` together with the explicit
``--allow-dask-code`` flag.  Every other key is refused as unknown.
"""

from __future__ import annotations

import re
import tomllib

import attrs
from dask.utils import parse_bytes

from qtaml_hw.campaign.structure import convert, positive, structure
from qtaml_hw.errors import QtamlError

CLUSTERS = ("local", "slurm", "lsf")

_JOBQUEUE = {"cores": int, "memory": str, "processes": int, "walltime": str, "queue": str, "account": str,
             "project": str, "interface": str, "local_directory": str, "log_directory": str, "job_name": str,
             "name": str, "death_timeout": float, "job_cpu": int, "job_mem": str, "nanny": bool}
ALLOWED: dict[str, dict[str, type]] = {
    "local": {"processes": bool, "threads_per_worker": int, "memory_limit": str, "dashboard_address": str},
    "slurm": _JOBQUEUE,
    "lsf": {**_JOBQUEUE, "ncpus": int, "mem": int, "use_stdin": bool},
}
CODE_OPTIONS = frozenset({
    "preload", "preload_argv", "preload_nanny", "worker_extra_args", "extra", "scheduler_options", "worker_options",
    "worker_kwargs", "scheduler_kwargs", "plugins", "worker_class", "scheduler_cls", "worker_command",
    "job_script_prologue", "env_extra", "job_extra", "job_extra_directives", "job_directives_skip", "python",
    "shebang", "submit_command_extra", "cancel_command_extra", "security", "protocol",
})
_ADDRESS = re.compile(r"^(((tcp|tls|ws|wss|ucx)://)?\[?[A-Za-z0-9_.\-:]+\]?:\d{1,5}|inproc://[A-Za-z0-9_.\-/]+)$")


def check_address(address: str, where: str = "--dask") -> str:
    """A scheduler address ``[proto://]host:port``; anything else is one line, before any connection."""
    if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
        raise QtamlError(f"{where}: not a Dask scheduler address (expected tcp://HOST:PORT), got {address!r}")
    return address.strip()


def check_option(cluster: str, key: str, value, *, where: str, allow_code: bool):
    """One cluster option through the allow-list; returns the checked value."""
    if key in CODE_OPTIONS:
        if not allow_code:
            raise QtamlError(f"{where}.{key}: loads code or runs shell commands on the cluster; refused from a "
                             f"config file (on the command line: --dask-option {key}=... --allow-dask-code)")
        return value
    allowed = ALLOWED[cluster]
    if key not in allowed:
        raise QtamlError(f"{where}.{key}: unknown option for cluster {cluster!r} "
                         f"(allowed: {', '.join(sorted(allowed))})")
    value = convert(value, allowed[key], f"{where}.{key}")
    if allowed[key] in (int, float) and value <= 0:
        raise QtamlError(f"{where}.{key}: expected a positive number, got {value!r}")
    if key in ("memory_limit", "memory", "job_mem") and value != "auto":
        try:  # checked here, not by a half-started cluster (which leaves its scratch folder behind)
            parse_bytes(value)
        except (ValueError, TypeError):
            raise QtamlError(f"{where}.{key}: not a memory size (such as \"4GB\"), got {value!r}") from None
    return value


def _cluster(inst, attribute, value) -> None:
    if value is not None and value not in CLUSTERS:
        raise QtamlError(f"dask.cluster: unknown cluster {value!r}; choose one of {', '.join(CLUSTERS)}")


@attrs.frozen
class DaskSettings:
    """Where to run: an existing scheduler ``address``, or a ``cluster`` to start.

    ``cluster = "local"`` starts a ``distributed.LocalCluster`` with ``jobs`` workers;
    ``"slurm"``/``"lsf"`` start a ``dask_jobqueue.SLURMCluster``/``LSFCluster`` with
    ``cluster_options`` (allow-listed: cores, memory, queue, walltime, ...) scaled to ``jobs`` jobs.
    """

    address: str | None = None
    cluster: str | None = attrs.field(default=None, validator=_cluster)
    jobs: int = attrs.field(default=1, validator=positive("dask.jobs"))
    cluster_options: tuple[tuple[str, object], ...] = ()

    def __attrs_post_init__(self):
        if self.address and self.cluster:
            raise QtamlError("dask: give dask.address or dask.cluster, not both")
        if self.address is not None:
            check_address(self.address, "dask.address")
        if self.cluster_options and self.cluster is None:
            raise QtamlError("dask.cluster_options: only with dask.cluster")

    @property
    def enabled(self) -> bool:
        return bool(self.address or self.cluster)

    @classmethod
    def from_table(cls, section: dict) -> "DaskSettings":
        """``[dask]`` of a config file: code-loading options are always refused here."""
        opts = section.get("cluster_options", {})
        if not isinstance(opts, dict):
            raise QtamlError(f"dask.cluster_options: expected a table, got {opts!r}")
        kw = structure(cls, {k: v for k, v in section.items() if k != "cluster_options"}, "dask",
                       only=("address", "cluster", "jobs"))
        base = cls(**kw)
        if opts and base.cluster is None:
            raise QtamlError("dask.cluster_options: only with dask.cluster")
        checked = {k: check_option(base.cluster, k, v, where="dask.cluster_options", allow_code=False)
                   for k, v in opts.items()}
        return attrs.evolve(base, cluster_options=tuple(sorted(checked.items())))

    def with_cli_options(self, pairs, *, allow_code: bool) -> "DaskSettings":
        """Add ``--dask-option KEY=VALUE`` pairs (TOML values, or bare strings) from the command line."""
        if not pairs:
            return self
        if self.cluster is None:
            raise QtamlError("--dask-option: needs a [dask] cluster in the config")
        opts = dict(self.cluster_options)
        for pair in pairs:
            key, sep, text = pair.partition("=")
            if not sep or not key.strip():
                raise QtamlError(f"--dask-option: expected KEY=VALUE, got {pair!r}")
            opts[key.strip()] = check_option(self.cluster, key.strip(), _toml_value(text), where="--dask-option",
                                             allow_code=allow_code)
        return attrs.evolve(self, cluster_options=tuple(sorted(opts.items())))


def _toml_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


__all__ = ["ALLOWED", "CLUSTERS", "CODE_OPTIONS", "DaskSettings", "check_address", "check_option"]
