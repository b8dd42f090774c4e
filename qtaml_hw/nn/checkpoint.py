"""Safe checkpoints: safetensors weights + a JSON manifest (design.md section 4).

A checkpoint directory holds ``<name>.safetensors`` files and one ``manifest.json``::

    {"schema": 1, "models": {"<name>": {"file": ..., "arch": ..., "config": {...},
      "dataset": ..., "split": ..., "seed": ..., "train": {...}, "float_accuracy": ...,
      "int8_accuracy": ..., "sha256": ..., "n_params": ...}}}

Loading never unpickles: the architecture is rebuilt from ``arch``/``config``, the tensors
are read with ``safetensors`` after the file's SHA-256 matches the manifest, and
``load_state_dict(strict=True)`` rejects missing, unexpected or mis-shaped tensors.
Every failure is a one-line :class:`~qtaml_hw.errors.QtamlError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn.models import MODEL_NAMES, build_model

MANIFEST = "manifest.json"
SCHEMA = 1


def default_models_dir() -> Path:
    """``$QTAML_MODELS_DIR`` or the repository's ``models/`` folder."""
    env = os.environ.get("QTAML_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise QtamlError(f"no {MANIFEST} in {directory}; a checkpoint needs its manifest next to it")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise QtamlError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise QtamlError(f"{path} is not a qtaml-hw model manifest (missing 'models')")
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_checkpoint(model: nn.Module, *, directory: Path, name: str, entry: dict) -> dict:
    """Write ``<name>.safetensors`` and add/replace ``name`` in the directory's manifest."""
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    path = directory / f"{name}.safetensors"
    _write_atomic(path, save(state, metadata={"arch": str(entry.get("arch", "")), "name": name}))
    entry = {**entry, "file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = read_manifest(directory) if (directory / MANIFEST).is_file() else {"schema": SCHEMA, "models": {}}
    manifest["models"][name] = entry
    manifest["models"] = dict(sorted(manifest["models"].items()))
    _write_atomic(directory / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return entry


def _resolve(name_or_path: str, models_dir) -> tuple[Path, dict]:
    text = str(name_or_path)
    if text in MODEL_NAMES and not Path(text).exists():
        directory = Path(models_dir) if models_dir else default_models_dir()
        manifest = read_manifest(directory)
        if text not in manifest["models"]:
            raise QtamlError(f"model {text!r} is not in {directory / MANIFEST}; run `qtaml-hw train --all`")
        entry = manifest["models"][text]
        return directory / entry.get("file", f"{text}.safetensors"), entry
    path = Path(text)
    if path.suffix != ".safetensors":
        raise QtamlError(f"unknown model {text!r}: give one of {', '.join(MODEL_NAMES)} or a .safetensors path")
    if not path.is_file():
        raise QtamlError(f"checkpoint {path} does not exist")
    manifest = read_manifest(path.parent)
    for entry in manifest["models"].values():
        if entry.get("file") == path.name:
            return path, entry
    raise QtamlError(f"{path.name} is not listed in {path.parent / MANIFEST}")


def load_model(name_or_path: str, *, models_dir=None) -> tuple[nn.Module, dict]:
    """Build the architecture from the manifest and load verified weights; returns (model, entry)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path, entry = _resolve(name_or_path, models_dir)
    if not path.is_file():
        raise QtamlError(f"checkpoint file {path} is missing")
    if "sha256" not in entry or sha256_file(path) != entry["sha256"]:
        raise QtamlError(f"checkpoint {path} fails its SHA-256 check (corrupted or tampered); rebuild with `make models`")
    model = build_model(entry.get("arch", ""), **entry.get("config", {}))
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise QtamlError(f"cannot read safetensors file {path}: {exc}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise QtamlError(f"checkpoint {path} does not match architecture {entry.get('arch')!r}: {first}") from None
    return model.eval(), entry
