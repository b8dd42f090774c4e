"""Safe checkpoint loading: sha256, missing files, shape mismatch, committed models (design.md section 4)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import MODEL_NAMES, build_model, load_dataset, load_model, save_checkpoint
from qtaml_hw.nn.checkpoint import default_models_dir
from qtaml_hw.nn.train import accuracy


def _save_tiny(tmp_path, name="tiny"):
    torch.manual_seed(0)
    model = build_model("lenet5", image_size=8).eval()
    entry = save_checkpoint(model, directory=tmp_path, name=name,
                            entry={"arch": "lenet5", "config": {"image_size": 8}, "dataset": "digits"})
    return model, entry


def test_roundtrip_is_exact(tmp_path):
    model, entry = _save_tiny(tmp_path)
    loaded, got = load_model(str(tmp_path / "tiny.safetensors"))
    assert got["sha256"] == entry["sha256"] and len(entry["sha256"]) == 64
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    assert not loaded.training
    _save_tiny(tmp_path, name="lenet5")  # a named model resolves through models_dir
    by_name, _ = load_model("lenet5", models_dir=tmp_path)
    assert torch.equal(by_name.fc3.weight, model.fc3.weight)


def test_tampered_file_is_rejected(tmp_path):
    _save_tiny(tmp_path)
    path = tmp_path / "tiny.safetensors"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # flip one bit of a weight
    path.write_bytes(bytes(data))
    with pytest.raises(QtamlError, match="SHA-256"):
        load_model(str(path))


def test_missing_file_and_missing_manifest(tmp_path):
    _save_tiny(tmp_path)
    (tmp_path / "tiny.safetensors").unlink()
    with pytest.raises(QtamlError, match="does not exist"):
        load_model(str(tmp_path / "tiny.safetensors"))
    other = tmp_path / "other"
    other.mkdir()
    _save_tiny(other)
    (other / "manifest.json").unlink()
    with pytest.raises(QtamlError, match="manifest"):
        load_model(str(other / "tiny.safetensors"))
    with pytest.raises(QtamlError, match="not in"):
        load_model("vgg", models_dir=tmp_path)
    with pytest.raises(QtamlError, match="unknown model"):
        load_model("no_such_model")


def test_named_model_with_missing_file(tmp_path):
    _save_tiny(tmp_path, name="lenet5")
    (tmp_path / "lenet5.safetensors").unlink()
    with pytest.raises(QtamlError, match="missing"):
        load_model("lenet5", models_dir=tmp_path)


def test_shape_mismatch_is_rejected(tmp_path):
    _save_tiny(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["models"]["tiny"]["config"]["num_classes"] = 7  # architecture no longer matches the tensors
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(QtamlError, match="does not match architecture"):
        load_model(str(tmp_path / "tiny.safetensors"))


def test_garbage_with_matching_hash_is_not_unpickled(tmp_path):
    _save_tiny(tmp_path)
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(b"\x80\x04not a safetensors file")  # a pickle header
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    from qtaml_hw.nn.checkpoint import sha256_file

    manifest["models"]["tiny"]["sha256"] = sha256_file(path)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(QtamlError, match="cannot read safetensors"):
        load_model(str(path))


@pytest.mark.integration
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_committed_checkpoints_reproduce_manifest_accuracy(name):
    directory = default_models_dir()
    manifest = json.loads((directory / "manifest.json").read_text())
    if name not in manifest["models"]:
        pytest.fail(f"{name} checkpoint missing from models/ (run make models)")
    model, entry = load_model(name)
    assert entry["bytes"] < 1_000_000
    data = load_dataset(entry["dataset"])
    acc = accuracy(model, data.x_test, data.y_test)
    assert acc == pytest.approx(entry["float_accuracy"], abs=0.002)  # <= 2 images: kernels may differ by machine
    if name != "vit":
        assert acc >= 0.97
    else:
        assert acc >= 0.90
    assert abs(entry["int8_accuracy"] - entry["float_accuracy"]) <= 0.01


def test_user_checkpoint_copied_elsewhere_still_loads(tmp_path):
    _save_tiny(tmp_path)
    dst = tmp_path / "copy"
    dst.mkdir()
    for f in ("tiny.safetensors", "manifest.json"):
        shutil.copy(tmp_path / f, dst / f)
    model, _ = load_model(str(dst / "tiny.safetensors"))
    assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 10)
