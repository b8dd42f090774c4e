"""Every "design.md section N" cited in the project resolves to a section of docs/design.md.

Scans Python (package, tests, testbenches, benchmarks), Verilog and descriptor files, Markdown
docs, examples and the Makefile for citations such as ``design.md section 3``, ``design.md
sections 2 and 3``, ``design.md sections 1-7`` or ``design.md s.3`` (line breaks and comment
markers between the words allowed) and checks each number against the ``## N.`` headings of
docs/design.md, the project's copy of the spec. A citation of the spec outside the project
(``shared/design.md``) is an error too: the copy in docs/ is the one to cite.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
SCAN = {"qtaml_hw": ("*.py",), "tests": ("*.py",), "testbenches": ("*.py", "*.v", "*.sv"),
        "benchmarks": ("*.py",), "rtl": ("*.v", "*.sv", "*.vh", "*.f", "*.toml"), "sim": ("*.md", "*.toml"),
        "docs": ("*.md",), "examples": ("*.toml", "*.md", "*.py"), ".": ("README.md", "Makefile", "pyproject.toml")}
SKIP_DIRS = {".venv", ".git", "build", "__pycache__", "out"}

_GAP = r"[\s#/*;`'\"(,]*"  # what may sit between the words: spaces, newlines, comment markers, quotes
_NUMS = r"\d+(?:\s*(?:,|and|&|-|\u2013|to)\s*\d+)*"  # 2 | 2, 3 | 3 and 7 | 1-7 (hyphen or en dash)
CITATION = re.compile(r"design\.md" + _GAP + r"(?:sections?|s\.|\u00a7)\s*(" + _NUMS + ")", re.IGNORECASE)


def cited_sections(text: str) -> list[tuple[int, str]]:
    """``(section number, citation text)`` for every design.md citation in ``text`` (ranges expanded)."""
    out = []
    for match in CITATION.finditer(text):
        spec = match.group(1)
        for part in re.split(r"\s*(?:,|and|&)\s*", spec):
            bounds = [int(x) for x in re.split(r"\s*(?:-|\u2013|to)\s*", part)]
            out.extend((n, match.group(0)) for n in range(bounds[0], bounds[-1] + 1))
    return out


def design_sections() -> set[int]:
    """Section numbers of docs/design.md (``## N. Title`` headings)."""
    return {int(m) for m in re.findall(r"(?m)^##\s+(\d+)\.\s", DESIGN.read_text(encoding="utf-8"))}


def project_files():
    for folder, patterns in SCAN.items():
        base = ROOT / folder
        for pattern in patterns:
            paths = [base / pattern] if folder == "." else base.rglob(pattern)
            for path in paths:
                if path.is_file() and not SKIP_DIRS & set(path.relative_to(ROOT).parts):
                    yield path


def test_parser_reads_every_citation_form():
    text = ("(design.md section 2, property 1) design.md sections 3 and 7; design.md sections 1-3, 6\n"
            "// see design.md\n// section 5 ... design.md s.4 ... design.md section 12.")
    assert [n for n, _ in cited_sections(text)] == [2, 3, 7, 1, 2, 3, 6, 5, 4, 12]


def test_design_copy_has_the_spec_sections():
    assert set(range(1, 10)) <= design_sections()


def test_every_design_reference_resolves():
    sections = design_sections()
    bad, seen = [], 0
    for path in project_files():
        if path == Path(__file__).resolve():
            continue  # this file's own examples
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(ROOT)
        for n, cite in cited_sections(text):
            seen += 1
            if n not in sections:
                bad.append(f"{rel}: {' '.join(cite.split())!r} -> no section {n} in docs/design.md")
        if "shared/design.md" in text and rel != Path("docs/design.md"):
            bad.append(f"{rel}: cites shared/design.md (outside the project); cite docs/design.md")
    assert seen > 100, f"only {seen} citations found: the scanner is broken"
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("heading", sorted(design_sections()))
def test_sections_are_numbered_once(heading):
    text = DESIGN.read_text(encoding="utf-8")
    assert len(re.findall(rf"(?m)^##\s+{heading}\.\s", text)) == 1
