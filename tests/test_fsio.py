"""qtaml_hw.fsio: atomic writes, no write through a symlink, whole-folder swaps, confined paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qtaml_hw import fsio
from qtaml_hw.errors import QtamlError


def _names(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


def test_write_replaces_atomically_and_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "summary.md"
    fsio.write_text(target, "old\n")
    assert target.read_text() == "old\n" and oct(target.stat().st_mode & 0o777) == oct(0o666 & ~fsio._umask())
    with pytest.raises(RuntimeError):
        with fsio.open_atomic(target) as fh:
            fh.write(b"half of the new cont")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert _names(tmp_path) == {"summary.md"}  # no temporary left


def test_symlink_at_the_target_is_refused_and_its_victim_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, tmp_path / "summary.md")
    with pytest.raises(QtamlError, match="symbolic link"):
        fsio.write_text(tmp_path / "summary.md", "evil")
    assert victim.read_text() == "precious\n" and (tmp_path / "summary.md").is_symlink()


def test_planted_link_at_a_predictable_temp_name_is_never_opened(tmp_path):
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"keep")
    os.symlink(victim, tmp_path / "lenet5.safetensors.tmp")  # the old fixed temp name
    fsio.write_bytes(tmp_path / "lenet5.safetensors", b"weights")
    assert victim.read_bytes() == b"keep" and (tmp_path / "lenet5.safetensors").read_bytes() == b"weights"


def test_directory_at_a_file_target_and_missing_folder_are_one_line(tmp_path):
    (tmp_path / "out.json").mkdir()
    with pytest.raises(QtamlError, match="is a directory"):
        fsio.write_json(tmp_path / "out.json", {})
    with pytest.raises(QtamlError, match="does not exist"):
        fsio.write_json(tmp_path / "no" / "out.json", {})


def test_atomic_dir_swaps_the_whole_folder_or_nothing(tmp_path):
    rep = tmp_path / "rep"
    with fsio.atomic_dir(rep) as d:
        (d / "a.md").write_text("1")
        (d / "b.csv").write_text("1")
    with pytest.raises(RuntimeError):
        with fsio.atomic_dir(rep) as d:
            (d / "a.md").write_text("2")
            raise RuntimeError("killed while building")
    assert {p.name: p.read_text() for p in rep.iterdir()} == {"a.md": "1", "b.csv": "1"}
    with fsio.atomic_dir(rep) as d:
        (d / "c.png").write_bytes(b"2")
    assert _names(rep) == {"c.png"}  # the new report replaces the old one as a whole
    assert _names(tmp_path) == {"rep"}


def test_atomic_dir_refuses_a_users_folder_and_a_symlink(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(QtamlError, match="thesis.tex"):
        with fsio.atomic_dir(tmp_path / "mine"):
            pass
    os.symlink(tmp_path / "mine", tmp_path / "link")
    with pytest.raises(QtamlError, match="symbolic link"):
        with fsio.atomic_dir(tmp_path / "link"):
            pass
    assert _names(tmp_path / "mine") == {"thesis.tex"} and _names(tmp_path) == {"mine", "link"}


def test_exchange_fallback_without_renameat2(tmp_path, monkeypatch):
    class NoLibc:
        def __getattr__(self, name):
            raise AttributeError(name)

    monkeypatch.setattr(fsio.ctypes, "CDLL", lambda *a, **k: NoLibc())
    rep = tmp_path / "rep"
    for text in ("1", "2"):
        with fsio.atomic_dir(rep) as d:
            (d / "a.md").write_text(text)
    assert (rep / "a.md").read_text() == "2" and _names(tmp_path) == {"rep"}


def test_stale_temporaries_of_dead_writers_are_swept(tmp_path):
    dead = 2 ** 22 + 12345  # above any pid_max default: no such process
    stale = tmp_path / f".summary.md.{dead}.{fsio.TMP_TAG}abc"
    live = tmp_path / f".summary.md.{os.getpid()}.{fsio.TMP_TAG}xyz"
    stale.write_text("x")
    live.write_text("y")
    fsio.write_text(tmp_path / "summary.md", "z")
    assert not stale.exists() and live.exists()


@pytest.mark.parametrize("name", ["../escape", "/etc/hostname", "a/../../b", "", 7, "x\x00y"])
def test_confined_refuses_names_outside_the_folder(tmp_path, name):
    with pytest.raises(QtamlError):
        fsio.confined(tmp_path, name)


def test_confined_follows_links_only_inside(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(b"1")
    os.symlink(tmp_path / "w.safetensors", tmp_path / "alias.safetensors")
    os.symlink("/etc/hostname", tmp_path / "out.safetensors")
    assert fsio.confined(tmp_path, "alias.safetensors") == tmp_path / "alias.safetensors"
    with pytest.raises(QtamlError, match="leads outside"):
        fsio.confined(tmp_path, "out.safetensors")
