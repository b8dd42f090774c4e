"""Checkpoints as untrusted input and atomic output (issue 12 item 4): a corrupt manifest stops a save
before anything is written, planted symlinks are refused, manifest paths stay in their folder,
and a manifest config bigger than the stored tensors is refused before allocation."""

from __future__ import annotations

import json
import os

import pytest
import torch

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import build_model, load_model, save_checkpoint


def _tiny():
    torch.manual_seed(0)
    return build_model("lenet5", image_size=8).eval()


def _save(folder, name="tiny"):
    return save_checkpoint(_tiny(), directory=folder, name=name,
                           entry={"arch": "lenet5", "config": {"image_size": 8}, "dataset": "digits"})


def _listing(folder):
    return sorted((p.name, p.stat().st_size) for p in folder.iterdir())


def test_corrupt_manifest_stops_the_save_before_any_write(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(QtamlError, match="cannot read"):
        _save(tmp_path)
    assert _listing(tmp_path) == [("manifest.json", 9)]


def test_save_leaves_no_temporary_and_refuses_a_planted_link(tmp_path):
    entry = _save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "tiny.safetensors"]
    assert entry["bytes"] == (tmp_path / "tiny.safetensors").stat().st_size
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.symlink(victim, tmp_path / "other.safetensors")
    with pytest.raises(QtamlError, match="symbolic link"):
        _save(tmp_path, name="other")
    assert victim.read_text() == "keep" and "other" not in json.loads((tmp_path / "manifest.json").read_text())["models"]


@pytest.mark.parametrize("file", ["../tiny.safetensors", "/etc/hostname", "link.safetensors"])
def test_manifest_file_outside_its_folder_is_never_opened(tmp_path, file):
    _save(tmp_path / "m", name="lenet5")
    os.symlink("/etc/hostname", tmp_path / "m" / "link.safetensors")
    doc = json.loads((tmp_path / "m" / "manifest.json").read_text())
    doc["models"]["lenet5"]["file"] = file
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(QtamlError, match="outside"):
        load_model("lenet5", models_dir=tmp_path / "m")


@pytest.mark.parametrize("change, match", [
    ({"config": {"image_size": 8, "num_classes": 10 ** 10}}, "does not match architecture"),
    ({"config": {"image_size": 8, "num_classes": 1e10}}, "bad config"),
    ({"config": "lenet"}, "must be a table"),
    ({"arch": 5}, "must be a string"),
])
def test_manifest_entry_checked_before_building(tmp_path, change, match):
    _save(tmp_path, name="lenet5")
    doc = json.loads((tmp_path / "manifest.json").read_text())
    doc["models"]["lenet5"].update(change)
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(QtamlError, match=match):
        load_model("lenet5", models_dir=tmp_path)
