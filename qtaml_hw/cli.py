"""`qtaml-hw` command line: thin, each subcommand lives in ``qtaml_hw.commands.<name>``.

Every subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports (torch, simulators) happen inside ``run`` so
``qtaml-hw --help`` stays fast.  Bad input raises :class:`qtaml_hw.errors.QtamlError`,
reported as one stderr line with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import subprocess
import sys

from qtaml_hw.errors import QtamlError

PROG = "qtaml-hw"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on a single stderr line, exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _command_modules():
    import qtaml_hw.commands as pkg

    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"qtaml_hw.commands.{info.name}")
        mods.append(mod)
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 100))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Quantum-tunneling weight-memory faults: physics, ECC/TAC, RTL co-simulation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _version() -> str:
    from qtaml_hw import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except QtamlError as exc:
        sys.stderr.write(f"{PROG} {args.command}: error: {exc}\n")
        return 2
    except OSError as exc:  # unwritable output, missing file, full disk: the user's to fix, one line
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"{PROG} {args.command}: error: {exc.strerror or exc}{where}\n")
        return 2
    except subprocess.SubprocessError as exc:  # a tool (yosys, iverilog, a compiler) failed or hung
        sys.stderr.write(f"{PROG} {args.command}: error: {str(exc).splitlines()[0]}\n")
        return 2
    except MemoryError:  # a size no pre-flight check caught: still one line, not a traceback
        sys.stderr.write(f"{PROG} {args.command}: error: not enough memory for this request; "
                         "lower the sizes or counts given\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130


def entry() -> None:  # pragma: no cover - console script shim
    raise SystemExit(main())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
