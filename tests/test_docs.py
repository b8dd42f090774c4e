"""Documentation code runs as tests (sybil): README.md and every docs/*.md, picked up automatically.

Conventions for writers of README.md and docs/*.md
--------------------------------------------------
* A fenced block marked ```` ```python ```` RUNS. The blocks of one file run in order and share
  one namespace (a later block may use names from an earlier one), in a fresh temporary working
  directory in which the project's folders (``examples/``, ``models/``, ``rtl/``, ``docs/``, ...)
  are visible by the same relative paths; whatever a block writes lands there and is thrown away.
  ``>>>`` lines inside a python block are doctests: their printed output is compared.
* A block that is NOT meant to run (an interface sketch, a fragment with free names, a run
  that needs a simulator or minutes of CPU) gets this line right before it::

      <!-- skip: next "why it does not run" -->

  (sybil's skip directive; the quoted reason tells the reader why).
* Shell: in ```` ```bash ````/````sh````/````console```` blocks and in unlabeled blocks, every
  command line ``qtaml-hw ...`` (optionally after a ``$ `` prompt, ``\\`` continuations joined)
  is CHECKED, not run: the sub-command must exist and its arguments must parse with the real
  CLI parser (types and choices included; ``--help`` level). Everything after a ``|``, ``>``,
  ``&&`` or ``;`` is ignored, as are the output lines of a console block, lines printed by the
  tool (``qtaml-hw moments: error: ...``) and usage synopses (lines with ``[--option X]``). ``make TARGET``
  lines must name targets the Makefile declares with a recipe. Other commands are not checked.
* Inline code in the text, such as `` `qtaml-hw eval --engine loop` ``: the sub-command must exist
  and every ``--option`` named must be one of its options (a partial command is fine there).
* Keep every runnable block fast (the whole doc suite stays under ~20 s): small models, few
  trials. Numbers quoted from long runs go in comments or in text, with the command that made them.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path
from unittest import SkipTest

import pytest
from sybil import Region, Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

from qtaml_hw.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console"}
_CLI = ("qtaml-hw", ".venv/bin/qtaml-hw")
_STOP = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "&>", "<"}


def command_lines(source: str, language: str) -> list[str]:
    """The command lines of a shell block: prompt lines (``$ ``) or, in bash/sh, every non-comment line.

    Unlabeled blocks hold diagrams and printouts too: only their ``$ `` and ``qtaml-hw``/``make`` lines count.
    """
    out, pending = [], ""
    for raw in source.splitlines():
        line = raw.strip()
        if pending:
            line = pending + " " + line
            pending = ""
        elif line.startswith("$ "):
            line = line[2:].strip()
        elif language in ("bash", "sh", "shell"):
            if not line or line.startswith("#"):
                continue
        elif not line.startswith((*_CLI, "make ")):
            continue
        if line.endswith("\\"):
            pending = line[:-1].strip()
            continue
        out.append(line)
    return out


def _argv(line: str) -> list[str]:
    if re.search(r"\s\[-|\s\{", line):
        return []  # a usage synopsis (``[--opt X]``, ``{a,b}``), not a command
    words = shlex.split(line, comments=True)
    if len(words) > 1 and words[1].endswith(":"):
        return []  # printed output (``qtaml-hw physics: error: ...``), not a command
    for i, word in enumerate(words):
        if word in _STOP or word.startswith(("|", ">", "2>")):
            return words[:i]
    return words


def makefile_targets() -> set[str]:
    """Targets of the Makefile that have a recipe (a rule line followed by a tab-indented line)."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    targets = set()
    for i, line in enumerate(lines[:-1]):
        m = re.match(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", line)
        if m and lines[i + 1].startswith("\t"):
            targets.update(m.group(1).split())
    return targets


def check_command(line: str) -> None:
    """Raise AssertionError unless ``line`` is a valid ``qtaml-hw`` invocation or ``make`` target."""
    argv = _argv(line)
    if not argv:
        return
    if argv[0] in _CLI:
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                build_parser().parse_args(argv[1:])
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise AssertionError(f"`{line}` does not parse: {err.getvalue().strip()}") from None
    elif argv[0] == "make":
        missing = [t for t in argv[1:] if "=" not in t and not t.startswith("-") and t not in makefile_targets()]
        if missing:
            raise AssertionError(f"`{line}`: no Makefile target with a recipe named {', '.join(missing)}")


class ShellBlockParser:
    """Sybil parser: the ``qtaml-hw``/``make`` lines of shell and unlabeled blocks, checked by :func:`check_command`."""

    def __init__(self):
        self.lexer = RawFencedCodeBlockLexer(
            info_pattern=re.compile(r"(?P<language>[A-Za-z]*)[ \t]*$\n", re.MULTILINE),
            mapping={"language": "language", "source": "source"})

    def __call__(self, document):
        for region in self.lexer(document):
            language = region.lexemes["language"].lower()
            if language not in SHELL_LANGUAGES:
                continue
            lines = command_lines(str(region.lexemes["source"]), language)
            if lines:
                region.parsed = lines
                region.evaluator = lambda example: [check_command(c) for c in example.parsed] and None
                yield region


def _subcommands(parser) -> dict:
    """``{name: parser}`` of an argparse parser's sub-commands ({} if it has none)."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
        if isinstance(action.choices, dict) and action.option_strings == []:
            return action.choices
    return {}


def check_inline(span: str) -> None:
    """An inline ``qtaml-hw CMD [SUB] --opt ...`` mention: CMD exists and every ``--opt`` is one of its options."""
    words = shlex.split(span)
    if len(words) < 2 or not re.fullmatch(r"[a-z][a-z0-9-]*", words[1]):
        return  # `qtaml-hw COMMAND --help` and other placeholders
    parser, path = build_parser(), ["qtaml-hw"]
    for word in words[1:]:
        subs = _subcommands(parser)
        if not subs or word.startswith("-"):
            break
        if word not in subs:
            raise AssertionError(f"`{span}`: no sub-command {word!r} of {' '.join(path)}")
        parser = subs[word]
        path.append(word)
    known = {o for action in parser._actions for o in action.option_strings}  # noqa: SLF001
    unknown = [w.split("=")[0] for w in words[len(path):] if w.startswith("--") and w.split("=")[0] not in known]
    if unknown:
        raise AssertionError(f"`{span}`: {' '.join(path)} has no option {', '.join(unknown)}")


class InlineCommandParser:
    """Sybil parser: inline `` `qtaml-hw ...` `` spans outside fenced blocks, checked by :func:`check_inline`."""

    def __init__(self):
        self.fences = RawFencedCodeBlockLexer(info_pattern=re.compile(r".*$\n", re.MULTILINE))

    def __call__(self, document):
        fenced = [(r.start, r.end) for r in self.fences(document)]
        for m in re.finditer(r"(?<!`)`(qtaml-hw [^`]+)`(?!`)", document.text):
            if not any(a <= m.start() < b for a, b in fenced):
                yield Region(m.start(), m.end(), " ".join(m.group(1).split()),
                             lambda example: check_inline(example.parsed))


SYBIL = Sybil(parsers=[PythonCodeBlockParser(), ShellBlockParser(), InlineCommandParser(), SkipParser()],
              path=str(ROOT))


def run_document(path: Path) -> tuple[int, int]:
    """Evaluate every example of ``path`` in order; returns ``(run, skipped)`` (skip directives not counted)."""
    run = skipped = 0
    for example in SYBIL.parse(path):
        directive = isinstance(example.region.evaluator, Skipper)
        try:
            example.evaluate()
        except SkipTest:
            skipped += 1
            continue
        except Exception as exc:
            raise AssertionError(f"{path.name}, line {example.line}: {exc!r}") from exc
        run += not directive
    return run, skipped


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A temp working directory that sees the project's top-level folders and files by symlink."""
    for item in ROOT.iterdir():
        if item.name.startswith(".") or item.name in ("build", "out"):
            continue
        (tmp_path / item.name).symlink_to(item)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


@pytest.mark.integration
@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_doc_examples(path, sandbox):
    run_document(path)


def test_checker_rejects_bad_commands(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("```\n$ qtaml-hw no-such-command --x 1\n```\n\n"
                   "```bash\nqtaml-hw moments --bits not-a-number\n```\n\n"
                   "```console\n$ make no-such-target\n```\n\n"
                   "Text with `qtaml-hw eval --no-such-option 3` and `qtaml-hw nope --x` inline.\n")
    failures = 0
    for example in SYBIL.parse(bad):
        with pytest.raises(AssertionError, match="does not parse|no Makefile target|has no option|no sub-command"):
            example.evaluate()
        failures += 1
    assert failures == 5
    good = tmp_path / "good.md"
    good.write_text("Use `qtaml-hw eval --engine loop`, `qtaml-hw plan` or `qtaml-hw COMMAND --help`.\n")
    assert run_document(good) == (3, 0)


def test_python_blocks_run_and_skip_works(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("```python\nx = 2\n```\n\n<!-- skip: next \"sketch\" -->\n\n```python\nraise RuntimeError\n```\n\n"
                   "```python\nassert x == 2\n```\n\n"
                   "```\n$ qtaml-hw moments --bits 8 --json | head\nsome output line\n```\n"
                   "```python\nassert x == 3\n```\n")
    with pytest.raises(AssertionError, match=r"line 1\d: AssertionError"):
        run_document(doc)
    doc.write_text(doc.read_text().replace("x == 3", "x * 2 == 4"))
    assert run_document(doc) == (4, 1)
