"""Safe checkpoints: safetensors weights + a JSON manifest (design.md section 4).

A checkpoint directory holds ``<name>.safetensors`` files and one ``manifest.json``::

    {"schema": 1, "models": {"<name>": {"file": ..., "arch": ..., "config": {...},
      "dataset": ..., "split": ..., "seed": ..., "train": {...}, "float_accuracy": ...,
      "int8_accuracy": ..., "sha256": ..., "n_params": ...}}}

Loading never unpickles: the architecture is rebuilt from ``arch``/``config``, the tensors
are read with ``safetensors`` after the file's SHA-256 matches the manifest, and
``load_state_dict(strict=True)`` rejects missing, unexpected or mis-shaped tensors.  A
manifest is untrusted input: every entry must be a table with string ``arch``/``file``/
``sha256`` and a table ``config``; ``file`` must name a file inside the manifest's folder
(:func:`qtaml_hw.fsio.confined`: no absolute path, ``..`` or escaping symlink); and the
architecture is first built on the ``meta`` device, so a config whose tensors could not fit
in the checkpoint file (``num_classes = 1e10``) is refused before any memory is allocated.
Writing goes through :mod:`qtaml_hw.fsio` (unique temporary names, ``os.replace``, no
symlink followed), the manifest being read and checked before the first byte is written.
Every failure is a one-line :class:`~qtaml_hw.errors.QtamlError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import check_target, confined, make_dirs, read_limited, write_bytes, write_text
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
    """The manifest of ``directory``, every entry checked (see the module docstring); one-line errors."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise QtamlError(f"no {MANIFEST} in {directory}; a checkpoint needs its manifest next to it")
    raw = read_limited(path, what="model manifest")  # a regular file of at most 16 MiB
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise QtamlError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise QtamlError(f"{path} is not a qtaml-hw model manifest (missing 'models')")
    for name, entry in data["models"].items():
        _check_entry(path, name, entry)
    return data


def _check_entry(path: Path, name: str, entry) -> None:
    if not isinstance(entry, dict):
        raise QtamlError(f"{path}: entry {name!r} is not a table")
    for key in ("arch", "file", "sha256", "dataset"):
        if key in entry and not isinstance(entry[key], str):
            raise QtamlError(f"{path}: {name}.{key} must be a string, got {entry[key]!r}")
    if not isinstance(entry.get("config", {}), dict):
        raise QtamlError(f"{path}: {name}.config must be a table, got {entry['config']!r}")
    if "file" in entry:
        try:
            confined(path.parent, entry["file"])
        except QtamlError as exc:
            raise QtamlError(f"{path}: {name}.file: {exc}") from None


def check_checkpoint_dir(directory) -> Path:
    """Check, writing nothing, that checkpoints can be saved in ``directory`` (its manifest readable).

    For ``train --out DIR``: a corrupt manifest or a file in the way fails before any training.
    """
    directory = check_target(directory, directory=True)
    if (directory / MANIFEST).exists() or (directory / MANIFEST).is_symlink():
        check_target(directory / MANIFEST)
        read_manifest(directory)
    return directory


def save_checkpoint(model: nn.Module, *, directory: Path, name: str, entry: dict) -> dict:
    """Write ``<name>.safetensors`` and add/replace ``name`` in the directory's manifest.

    The existing manifest is read and checked first: nothing is written if it is corrupt.
    Both files are replaced atomically (:func:`qtaml_hw.fsio.write_bytes`).
    """
    from safetensors.torch import save

    directory = check_checkpoint_dir(directory)
    manifest = read_manifest(directory) if (directory / MANIFEST).exists() else {"schema": SCHEMA, "models": {}}
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    data = save(state, metadata={"arch": str(entry.get("arch", "")), "name": name})
    path = make_dirs(directory) / f"{name}.safetensors"
    write_bytes(path, data)
    entry = {**entry, "file": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    manifest["models"][name] = entry
    manifest["models"] = dict(sorted(manifest["models"].items()))
    write_text(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return entry


def _resolve(name_or_path: str, models_dir) -> tuple[Path, dict]:
    text = str(name_or_path)
    if text in MODEL_NAMES and not Path(text).exists():
        directory = Path(models_dir) if models_dir else default_models_dir()
        manifest = read_manifest(directory)
        if text not in manifest["models"]:
            raise QtamlError(f"model {text!r} is not in {directory / MANIFEST}; run `qtaml-hw train --all`")
        entry = manifest["models"][text]
        return confined(directory, entry.get("file", f"{text}.safetensors")), entry
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
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise QtamlError(f"cannot read safetensors file {path}: {exc}") from None
    model = _build_checked(entry, path, sum(t.numel() * t.element_size() for t in state.values()))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise QtamlError(f"checkpoint {path} does not match architecture {entry.get('arch')!r}: {first}") from None
    return model.eval(), entry


def _build_checked(entry: dict, path: Path, stored_bytes: int) -> nn.Module:
    """Build ``entry``'s architecture, first on the ``meta`` device: a config whose tensors need
    more bytes than the checkpoint stores is refused before any memory is allocated."""
    arch, config = entry.get("arch", ""), entry.get("config", {})
    try:
        with torch.device("meta"):
            shell = build_model(arch, **config)
        need = sum(t.numel() * t.element_size() for t in shell.state_dict().values())
    except QtamlError:
        raise
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        first = " ".join(str(exc).split())[:200]
        raise QtamlError(f"checkpoint {path}: bad config for architecture {arch!r}: {first}") from None
    if need > stored_bytes:
        raise QtamlError(f"checkpoint {path} does not match architecture {arch!r}: its manifest config {config} "
                         f"needs {need:,} bytes of tensors, the file stores {stored_bytes:,}")
    return build_model(arch, **config)
