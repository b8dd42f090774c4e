"""One module per `qtaml-hw` subcommand (discovered automatically by ``qtaml_hw.cli``).

Contract: ``NAME``, ``HELP``, optional ``ORDER`` (sort key in --help), ``add_arguments``
and ``run(args) -> int``.  Shared option helpers are in :mod:`qtaml_hw.commands._common`.
"""
