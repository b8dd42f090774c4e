"""Resource-cap options shared by `campaign run` and `eval` (issue 12 item 3; qtaml_hw.campaign.preflight)."""

from __future__ import annotations

import argparse

from qtaml_hw.commands._common import positive_float, positive_int


def add_limit_args(parser: argparse.ArgumentParser, *, disk: bool = True, tasks: bool = True) -> None:
    """``--max-memory-gb`` (and ``--max-disk-gb``, ``--max-tasks``): the pre-flight caps, default sized to the machine."""
    grp = parser.add_argument_group("resource caps (checked before anything runs or is written)")
    grp.add_argument("--max-memory-gb", type=positive_float, default=None,
                     help="refuse a run whose estimated peak RAM is above this (default: 75%% of this machine's RAM)")
    if disk:
        grp.add_argument("--max-disk-gb", type=positive_float, default=None,
                         help="refuse a run whose store would grow by more (default: 90%% of the free disk)")
    if tasks:
        grp.add_argument("--max-tasks", type=positive_int, default=None,
                         help="refuse a sweep of more tasks (default 200000)")


def limits_from_args(args, out):
    """The :class:`~qtaml_hw.campaign.preflight.Limits` of :func:`add_limit_args`' options for the store ``out``."""
    from qtaml_hw.campaign.preflight import Limits

    return Limits.for_machine(out, memory_gb=args.max_memory_gb, disk_gb=getattr(args, "max_disk_gb", None),
                              max_tasks=getattr(args, "max_tasks", None))
