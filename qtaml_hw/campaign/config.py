"""Campaign configuration: a TOML file validated into frozen ``attrs`` classes (design.md section 7).

A campaign file names *what* to run (a trial kind and its target: a network checkpoint or
a synthetic weight tensor), the fault points (``p_flip`` values, physics parameters turned
into ``p10``/``p01`` by ``qtaml_hw.physics.flip_probabilities``, or scrub periods), the
protection plans, the trial budget and stopping question (``trials``, ``[stopping]``), and
optionally where to run it (``[dask]``).  Lists in ``[faults]`` and ``[[plans]]`` are swept:
the campaign's tasks are their Cartesian product (see :mod:`qtaml_hw.campaign.tasks`).

Every class validates itself on construction (``attrs`` validators); :func:`parse_config`
only maps TOML tables onto the classes (:mod:`qtaml_hw.campaign.structure`).  Every
malformed or inconsistent entry raises :class:`~qtaml_hw.errors.QtamlError` with a one-line
message naming the offending key, before any output file is created.

Why ``attrs`` (not pydantic): frozen slotted classes with per-field validators that raise
our own one-line errors, no compiled core and no second error format to translate
(pydantic's errors are multi-line ``ValidationError`` lists); the TOML -> class mapping is
60 lines in :mod:`qtaml_hw.campaign.structure`.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import attrs

from qtaml_hw.campaign.dask_options import DaskSettings
from qtaml_hw.campaign.structure import (at_least, canonical, canonical_json, in_range, non_negative, one_of,
                                         optional, positive, structure)
from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import read_limited
from qtaml_hw.memory import CODES, check_bits_code

KINDS = ("memory", "nn")
STRATEGIES = ("none", "uniform", "tac", "magnitude", "gaussian")
ADAPTIVE = ("tac", "magnitude", "gaussian")  # layer-adaptive: swept over budget_bpw, need kind = "nn"
ECC_MODELS = ("ideal", "secded", "sec")  # ideal MSB protection, or a real code over the protected bit planes
PHYSICS_KEYS = ("t_ox_nm", "phi_b_ev", "m_ox", "v_ox", "tau0_s", "t_s", "r")
_PHYSICS_REQUIRED = ("t_ox_nm", "phi_b_ev", "tau0_s", "t_s")


def _shape(inst, attribute, value) -> None:
    if not value or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in value):
        raise QtamlError(f"memory.shape: expected a list of positive integers, got {list(value)!r}")
    if any(s >= 2 ** 31 for s in value):
        raise QtamlError(f"memory.shape: every size must be below 2**31, got {list(value)!r}")


@attrs.frozen
class MemoryTarget:
    """Synthetic weight tensor ``W ~ N(0, 1)`` (seeded by ``weight_seed``), quantized to ``bits``."""

    shape: tuple[int, ...] = attrs.field(default=(64, 64), converter=tuple, validator=_shape)
    bits: int = 8
    code: str = "twos"
    per_channel: bool = False
    weight_seed: int = attrs.field(default=0, validator=non_negative("memory.weight_seed"))

    def __attrs_post_init__(self):
        check_bits_code(self.bits, self.code, name="memory.bits", code_name="memory.code")


@attrs.frozen
class ModelTarget:
    """A named checkpoint (or a .safetensors path) evaluated on the first ``test_subset`` test images.

    ``models_dir`` says where the checkpoint lives; it is not part of a task's identity.
    """

    name: str = "lenet5"
    bits: int = 8
    code: str = "twos"
    per_channel: bool = False
    test_subset: int | None = attrs.field(default=None, validator=optional(positive("model.test_subset")))
    models_dir: str | None = attrs.field(default=None, metadata={"in_id": False})

    def __attrs_post_init__(self):
        check_bits_code(self.bits, self.code, name="model.bits", code_name="model.code")


def _physics(inst, attribute, value) -> None:
    names = [k for k, _ in value]
    for key in names:
        if key not in PHYSICS_KEYS:
            raise QtamlError(f"faults.physics.{key}: unknown key (allowed: {', '.join(sorted(PHYSICS_KEYS))})")
    for key in _PHYSICS_REQUIRED:
        if value and key not in names:
            raise QtamlError(f"faults.physics.{key}: missing required key")


@attrs.frozen
class Faults:
    """Fault points: either ``p_flip`` values (``p10 = p``, ``p01 = r p``), physics parameters or scrub periods.

    With ``physics`` set, every combination of its list-valued entries is one fault point,
    turned into ``p10``/``p01`` by ``qtaml_hw.physics.flip_probabilities`` (design.md section 1).
    With ``[faults.scrub]`` (``tau_s``, ``period_s``, ``interval``) each scrub period ``T`` is a
    point: the PHYSICS layer's simpy timeline (``physics.timeline.scrub_retention``: words written
    at 0, scrubbed every ``T``, read 400 times spread over 4 periods) gives the worst (default) or
    mean per-read ``p10 = 1 - exp(-interval / tau)`` (Poisson retention).
    """

    p_flip: tuple[float, ...] = attrs.field(default=(), validator=in_range("faults.p_flip", 0.0, 1.0))
    r: float = attrs.field(default=1.0, validator=in_range("faults.r", 0.0, 1.0))
    physics: tuple[tuple[str, tuple[float, ...]], ...] = attrs.field(default=(), validator=_physics)
    scrub_tau_s: float | None = attrs.field(default=None,
                                            validator=optional(in_range("faults.scrub.tau_s", 1e-12, 1e18)))
    scrub_period_s: tuple[float, ...] = attrs.field(default=(),
                                                    validator=in_range("faults.scrub.period_s", 1e-12, 1e18))
    scrub_interval: str = attrs.field(default="worst",
                                      validator=one_of("faults.scrub.interval", ("worst", "mean"), "interval"))

    def __attrs_post_init__(self):
        if bool(self.p_flip) + bool(self.physics) + bool(self.scrub_period_s) != 1:
            raise QtamlError("faults: give exactly one of faults.p_flip, [faults.physics] or [faults.scrub]")
        if self.scrub_period_s and self.scrub_tau_s is None:
            raise QtamlError("faults.scrub.tau_s: missing required key")
        for key, values in self.physics:
            if any(v < 0 for v in values):
                raise QtamlError(f"faults.physics.{key}: expected a non-negative number (or a list of them), "
                                 f"got {list(values)!r}")


@attrs.frozen
class Plan:
    """A protection strategy and its budgets (design.md section 3).

    ``uniform``: ideal MSB protection, the same ``protect_msb`` top bits of every weight of
    every layer kept fault-free.  ``none``: unprotected.  Price: by default the check bits the
    project's placement really stores -- SECDED over the protected planes of each 8-weight
    word, ``qtaml_hw.ecc.plan_check_bits`` (m = 1, 2, 4, 8 -> 5/8, 6/8, 7/8, 8/8 check bits per
    weight); an explicit ``overhead_factor`` prices ``protect_msb * overhead_factor`` instead.
    ``mean_correction``: read the weights through TAC's closed-form mean-corrected
    dequantization (``qtaml_hw.tac.corrected_dequantize``), which costs no check bits.
    ``tac`` / ``magnitude`` / ``gaussian`` (kind ``nn`` only): layer-adaptive protection,
    one task per entry of ``budget_bpw`` (protected bits per weight averaged over the model);
    the per-layer counts ``m_l`` come from ``qtaml_hw.tac.plan`` on a label-free analysis
    (``calib_samples`` unlabeled training images, ``probes`` random output projections).
    ``ecc``: ``"ideal"`` (default) keeps protected bits fault-free; ``"secded"`` / ``"sec"`` store
    the protected bit planes of each group of 8 weights in a real Hsiao SECDED / Hamming SEC
    codeword (``qtaml_hw.ecc.ECCSampler``) priced with the code's real check bits.
    """

    strategy: str = attrs.field(default="uniform", validator=one_of("plans.strategy", STRATEGIES, "strategy"))
    protect_msb: tuple[int, ...] = attrs.field(default=(0,), validator=non_negative("plans.protect_msb"))
    overhead_factor: float | None = attrs.field(default=None,
                                                validator=optional(non_negative("plans.overhead_factor")))
    mean_correction: bool = False
    budget_bpw: tuple[float, ...] = attrs.field(default=(), validator=non_negative("plans.budget_bpw"))
    calib_samples: int = attrs.field(default=256, validator=positive("plans.calib_samples"))
    probes: int = attrs.field(default=4, validator=positive("plans.probes"))
    ecc: str = attrs.field(default="ideal", validator=one_of("plans.ecc", ECC_MODELS, "ECC model"))

    def __attrs_post_init__(self):
        if self.strategy == "none" and any(self.protect_msb):
            raise QtamlError("plans.protect_msb: strategy \"none\" protects nothing; remove protect_msb")
        if self.adaptive and not self.budget_bpw:
            raise QtamlError(f"plans.budget_bpw: strategy {self.strategy!r} needs budget_bpw "
                             "(protected bits per weight, averaged over the model)")
        if self.adaptive and self.protect_msb != (0,):
            raise QtamlError(f"plans.protect_msb: strategy {self.strategy!r} allocates per-layer bits from "
                             "budget_bpw; remove protect_msb")
        if not self.adaptive and self.budget_bpw:
            raise QtamlError(f"plans.budget_bpw: only for {', '.join(ADAPTIVE)}; "
                             f"strategy {self.strategy!r} takes protect_msb")

    @property
    def adaptive(self) -> bool:
        """Layer-adaptive plans (TAC and its baselines) allocate per-layer protected bits from a budget."""
        return self.strategy in ADAPTIVE


@attrs.frozen
class StoppingSettings:
    """``[stopping]``: the question every task of the campaign asks (:mod:`qtaml_hw.campaign.stopping`).

    ``campaign.trials`` is the per-task cap.  ``target``: stop when the Student-t interval of
    ``metric`` is clear of it; ``tolerance``: stop when its half-width is at most this; neither:
    exactly ``campaign.trials`` trials.  ``metric`` defaults to the kind's primary metric
    (``mse`` for memory, ``accuracy`` for nn).  ``resolution``: the metric's step (1/N for accuracy
    on N images); the standard deviation of a look is floored at ``resolution / sqrt(12)``.
    """

    metric: str | None = None
    target: float | None = None
    tolerance: float | None = attrs.field(default=None, validator=optional(positive("stopping.tolerance")))
    min_trials: int = attrs.field(default=8, validator=at_least("stopping.min_trials", 2))
    level: float = attrs.field(default=0.95, validator=in_range("stopping.level", 0.5, 0.9999))
    resolution: float | None = attrs.field(default=None, validator=optional(positive("stopping.resolution")))


@attrs.frozen
class CampaignConfig:
    """A validated campaign; build it with :func:`load_config` or :func:`parse_config`."""

    name: str = "campaign"
    kind: str = attrs.field(default="nn", validator=one_of("campaign.kind", KINDS, "kind"))
    seed: int = attrs.field(default=0, validator=non_negative("campaign.seed"))
    trials: int = attrs.field(default=1, validator=positive("campaign.trials"))
    batch_trials: int = attrs.field(default=64, validator=positive("campaign.batch_trials"))
    target: MemoryTarget | ModelTarget = attrs.field(factory=MemoryTarget)
    faults: Faults = attrs.field(factory=lambda: Faults(p_flip=(0.01,)))
    plans: tuple[Plan, ...] = (Plan(strategy="none"),)
    stopping: StoppingSettings = attrs.field(factory=StoppingSettings)
    dask: DaskSettings = attrs.field(factory=DaskSettings)

    def __attrs_post_init__(self):
        for plan in self.plans:
            if plan.adaptive and self.kind != "nn":
                raise QtamlError(f"plans.strategy: {plan.strategy!r} allocates bits across the layers of a "
                                 "network; it needs kind = \"nn\"")
            over = [b for b in plan.budget_bpw if b > self.target.bits]
            if over:
                raise QtamlError(f"plans.budget_bpw: {over[0]:g} is more than the {self.target.bits} bits of a weight")
            bad = [m for m in plan.protect_msb if not 0 <= m <= self.target.bits]
            if bad:
                raise QtamlError(f"plans.protect_msb: {bad[0]} is outside 0..{self.target.bits} "
                                 f"(the target has {self.target.bits}-bit weights)")

    def canonical_dict(self) -> dict:
        """What defines the campaign's tasks and trial values, as plain JSON types.

        Kind, seed, target, faults and plans.  Left out, because they change how many trials
        run or where, never what a trial is: ``name``, ``trials``, ``batch_trials``,
        ``[stopping]``, ``[dask]`` and ``model.models_dir``.
        """
        return canonical({"kind": self.kind, "seed": self.seed, "target": self.target, "faults": self.faults,
                          "plans": list(self.plans)})

    def canonical_hash(self) -> str:
        """sha256 hex of the canonical JSON of :meth:`canonical_dict` (recorded by the result store)."""
        return hashlib.sha256(canonical_json(self.canonical_dict()).encode("utf-8")).hexdigest()


_TOP = {"campaign", "memory", "model", "faults", "plans", "stopping", "dask"}
_DEFAULT_PLANS = [{"strategy": "none"}]


def parse_config(doc: dict) -> CampaignConfig:
    """Validate a parsed TOML document (a dict) into a :class:`CampaignConfig`.

    Dask options that load code or run shell are refused here (see :mod:`.dask_options`).
    """
    _table_keys(doc, _TOP, "config")
    camp = doc.get("campaign")
    if not isinstance(camp, dict):
        raise QtamlError("campaign: missing [campaign] table")
    head = structure(CampaignConfig, camp, "campaign",
                     only=("name", "kind", "seed", "trials", "batch_trials"), required=("trials",))
    kind = head["kind"] if "kind" in head else "nn"
    if kind not in KINDS:
        raise QtamlError(f"campaign.kind: unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    target = _target(doc, kind)
    faults = _faults(doc.get("faults"))
    raw_plans = doc.get("plans", _DEFAULT_PLANS)
    if not isinstance(raw_plans, list) or not raw_plans or not all(isinstance(p, dict) for p in raw_plans):
        raise QtamlError("plans: expected one or more [[plans]] tables")
    plans = tuple(Plan(**structure(Plan, p, "plans")) for p in raw_plans)
    stopping = StoppingSettings(**structure(StoppingSettings, _table(doc, "stopping"), "stopping"))
    dask = DaskSettings.from_table(_table(doc, "dask"))
    return CampaignConfig(**head, target=target, faults=faults, plans=plans, stopping=stopping, dask=dask)


def _table(doc: dict, key: str, default=None) -> dict:
    sec = doc.get(key, {} if default is None else default)
    if not isinstance(sec, dict):
        raise QtamlError(f"{key}: expected a table")
    return sec


def _table_keys(doc: dict, allowed, where: str) -> None:
    for key in doc:
        if key not in allowed:
            raise QtamlError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _target(doc: dict, kind: str) -> MemoryTarget | ModelTarget:
    if kind == "memory":
        if "model" in doc:
            raise QtamlError("model: [model] is for kind = \"nn\"; this campaign has kind = \"memory\"")
        return MemoryTarget(**structure(MemoryTarget, _table(doc, "memory"), "memory"))
    if "memory" in doc:
        raise QtamlError("memory: [memory] is for kind = \"memory\"; this campaign has kind = \"nn\"")
    if not isinstance(doc.get("model"), dict):
        raise QtamlError("model: missing [model] table (kind = \"nn\")")
    return ModelTarget(**structure(ModelTarget, doc["model"], "model", required=("name",)))


def _faults(fsec) -> Faults:
    if not isinstance(fsec, dict):
        raise QtamlError("faults: missing [faults] table")
    _table_keys(fsec, {"p_flip", "r", "physics", "scrub"}, "faults")
    kw = structure(Faults, {k: v for k, v in fsec.items() if k in ("p_flip", "r")}, "faults", only=("p_flip", "r"))
    if "physics" in fsec:
        psec = _table(fsec, "physics")
        _table_keys(psec, set(PHYSICS_KEYS), "faults.physics")
        defaults = {"m_ox": 0.42, "v_ox": 0.0, "r": kw.get("r", 1.0)}
        kw["physics"] = tuple((k, structure_axis(psec, k, defaults)) for k in PHYSICS_KEYS
                              if k in psec or k in defaults)
    if "scrub" in fsec:
        ssec = _table(fsec, "scrub")
        _table_keys(ssec, {"tau_s", "period_s", "interval"}, "faults.scrub")
        sub = structure(Faults, ssec, "faults.scrub", only=("scrub_tau_s", "scrub_period_s", "scrub_interval"),
                        required=("scrub_tau_s", "scrub_period_s"), strip="scrub_")
        kw.update(sub)
    return Faults(**kw)


def structure_axis(section: dict, key: str, defaults: dict) -> tuple[float, ...]:
    """One physics sweep axis: a number or a non-empty list of numbers (default from ``defaults``)."""
    if key not in section:
        return (float(defaults[key]),)
    template = {"p_flip": section[key]}
    try:
        return structure(Faults, template, "faults.physics", only=("p_flip",))["p_flip"]
    except QtamlError as exc:
        raise QtamlError(str(exc).replace("faults.physics.p_flip", f"faults.physics.{key}")) from None


def load_config(path) -> CampaignConfig:
    """Read and validate a campaign TOML file (one-line :class:`QtamlError` on any problem)."""
    path = Path(path)
    try:  # a regular file of at most 16 MiB (not /dev/zero, not a FIFO)
        text = read_limited(path, what="campaign file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QtamlError(f"cannot read campaign file {path}: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QtamlError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(doc)


__all__ = ["ADAPTIVE", "CODES", "ECC_MODELS", "KINDS", "STRATEGIES", "CampaignConfig", "DaskSettings", "Faults",
           "MemoryTarget", "ModelTarget", "Plan", "StoppingSettings", "load_config", "parse_config"]
