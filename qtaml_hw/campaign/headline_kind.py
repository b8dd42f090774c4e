"""The ``headline`` task kind: one network, one flip model, one group protection plan, one read map
(design.md sections 3 and 7).

One trial is one chip: every bit of every memory layer flips independently (``p10``/``p01``),
the top ``m_g`` bits of each output-channel group ``g`` are ideally protected (``protect``, one
entry per group in layer order, :mod:`qtaml_hw.tac.groups`), the words are read through the
``read`` map (:mod:`qtaml_hw.tac.readmaps`) and the network classifies the first ``test_subset``
test images.  Trial ``i`` draws from ``(task seed, "inject/<layer>", i)`` only
(``tac.groups.faulty_weights`` with ``trial_offset``), so any chunking, worker count or resume
gives the same numbers.

Metrics: ``accuracy`` and ``acc_g00 .. acc_g19``, the accuracy on each of 20 fixed, seeded,
equal groups of the test images (for the bootstrap over images,
:mod:`qtaml_hw.campaign.headline_stats`).
"""

from __future__ import annotations

import functools

import attrs
import numpy as np
import torch

from qtaml_hw.campaign.kinds import register
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn import QuantizedModel, load_dataset, load_model
from qtaml_hw.seeding import rng
from qtaml_hw.tac.groups import faulty_weights, layer_groups, read_tables
from qtaml_hw.tac.readmaps import READ_MAPS

IMAGE_GROUPS = 20
MODELS = ("lenet5", "vgg", "resnet", "mobilenet", "vit")


def _model(inst, attribute, value):
    if value not in MODELS:
        raise QtamlError(f"headline.{attribute.name}: unknown model {value!r}; choose from {', '.join(MODELS)}")


def _prob(inst, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise QtamlError(f"headline.{attribute.name}: must be a probability in [0, 1], got {value!r}")


def _read(inst, attribute, value):
    if value not in READ_MAPS:
        raise QtamlError(f"headline.{attribute.name}: unknown read map {value!r}; choose from {', '.join(READ_MAPS)}")


def _subset(inst, attribute, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % IMAGE_GROUPS:
        raise QtamlError(f"headline.{attribute.name}: must be a positive multiple of {IMAGE_GROUPS}, got {value!r}")


def _protect(inst, attribute, value):
    if not value or any(isinstance(m, bool) or not isinstance(m, int) or not 0 <= m <= 8 for m in value):
        raise QtamlError(f"headline.{attribute.name}: one protected-MSB count in 0..8 per group")


@attrs.frozen
class HeadlineParams:
    """One point of the headline sweep (see the module docstring); 8-bit two's complement, per-tensor scale."""

    model: str = attrs.field(validator=_model)
    p10: float = attrs.field(validator=_prob)
    p01: float = attrs.field(validator=_prob)
    read: str = attrs.field(validator=_read)
    protect: tuple = attrs.field(converter=lambda v: tuple(int(m) for m in v), validator=_protect)
    test_subset: int = attrs.field(validator=_subset)
    models_dir: str | None = attrs.field(default=None, metadata={"in_id": False})


@functools.lru_cache(maxsize=2)
def dataset(name: str):
    """``nn.load_dataset`` once per process (parsing the bundled MNIST takes seconds)."""
    return load_dataset(name)


class _Context:
    """A loaded model, its test images and image groups; read tables built on first use."""

    def __init__(self, params: HeadlineParams):
        model, entry = load_model(params.model, models_dir=params.models_dir)
        data = dataset(entry.get("dataset", "mnist"))
        self.x_train = data.x_train
        if params.test_subset > len(data.x_test):
            raise QtamlError(f"headline.test_subset: {params.model} has only {len(data.x_test)} test images")
        self.q = QuantizedModel(model, bits=8)
        self.x = torch.as_tensor(np.asarray(data.x_test[:params.test_subset]), dtype=torch.float32)
        self.y = torch.as_tensor(np.asarray(data.y_test[:params.test_subset]))
        self.image_group = image_groups(params.test_subset)
        self.groups = layer_groups(self.q)
        self.tables: dict = {}
        self.clean_correct = (self.q(self.x).argmax(-1) == self.y).numpy()

    def table(self, read: str, fm: FlipModel):
        key = (read, float(fm.p10), float(fm.p01))
        if key not in self.tables:
            self.tables[key] = read_tables(self.q, kind=read, flip_model=fm)
        return self.tables[key]


def image_groups(n: int) -> np.ndarray:
    """The fixed, seeded partition of ``n`` test images into :data:`IMAGE_GROUPS` equal groups."""
    group = np.empty(n, dtype=np.int64)
    group[rng(0, "headline", "image-groups", n).permutation(n)] = np.arange(n) % IMAGE_GROUPS
    return group


def group_accuracy(correct: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per-group accuracy of a (..., N) 0/1 array: (..., G)."""
    sizes = np.bincount(group, minlength=IMAGE_GROUPS)
    flat = correct.reshape(-1, correct.shape[-1]).astype(np.float64)
    out = np.stack([np.bincount(group, weights=row, minlength=IMAGE_GROUPS) for row in flat]) / sizes
    return out.reshape(*correct.shape[:-1], IMAGE_GROUPS)


class HeadlineKind:
    name = "headline"
    params_type = HeadlineParams
    metrics = ("accuracy", *(f"acc_g{j:02d}" for j in range(IMAGE_GROUPS)))

    def context_key(self, params: HeadlineParams) -> str:
        return f"{params.model}|{params.test_subset}|{params.models_dir}"

    def prepare(self, params: HeadlineParams) -> _Context:
        return _Context(params)

    def run(self, ctx: _Context, params: HeadlineParams, *, seed: int, start: int, count: int) -> dict:
        fm = FlipModel(params.p10, params.p01)
        if len(params.protect) != sum(g.rows for g in ctx.groups):
            raise QtamlError(f"headline.protect: {params.model} has {sum(g.rows for g in ctx.groups)} groups, "
                             f"got {len(params.protect)} entries")
        w = faulty_weights(ctx.q, params.protect, tables=ctx.table(params.read, fm), flip_model=fm, trials=count,
                           seed=seed, trial_offset=start, layers=ctx.groups)
        with torch.no_grad():
            logits = ctx.q.forward_each({k: torch.from_numpy(v) for k, v in w.items()}, ctx.x)
        correct = (logits.argmax(-1) == ctx.y).numpy()  # (count, N)
        groups = group_accuracy(correct, ctx.image_group)
        out = {"accuracy": correct.mean(axis=1).astype(np.float64)}
        out.update({f"acc_g{j:02d}": groups[:, j] for j in range(IMAGE_GROUPS)})
        return out

    def info(self, ctx: _Context, params: HeadlineParams) -> dict:
        n = np.array([g.n for g in ctx.groups], dtype=object)
        spent = float(np.dot(np.concatenate(list(n)), np.asarray(params.protect))) / ctx.q.n_weights
        return {"clean_accuracy": float(ctx.clean_correct.mean()), "spent_bpw": spent,
                "clean_group_accuracy": group_accuracy(ctx.clean_correct, ctx.image_group).tolist()}


KIND = register(HeadlineKind())
