"""Campaign configuration: a TOML file validated into frozen dataclasses (design.md section 7).

A campaign file names *what* to run (a trial kind and its target: a network checkpoint or
a synthetic weight tensor), the fault points (``p_flip`` values, or physics parameters
turned into ``p10``/``p01`` by ``qtaml_hw.physics.flip_probabilities``), the protection
plans and the budgets (``trials``, ``batch_trials``, ``seed``), and optionally where to run
it (``[dask]``).  Lists in ``[faults]`` and ``[[plans]]`` are swept: the campaign's tasks
are their Cartesian product (see :mod:`qtaml_hw.campaign.tasks`).

Every malformed or inconsistent entry raises :class:`~qtaml_hw.errors.QtamlError` with a
one-line message naming the offending key, before any output file is created.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from qtaml_hw.errors import QtamlError

KINDS = ("memory", "nn")
CODES = ("twos", "offset", "signmag")
STRATEGIES = ("none", "uniform", "tac", "magnitude", "gaussian")
ADAPTIVE = ("tac", "magnitude", "gaussian")
ECC_MODELS = ("ideal", "secded", "sec")  # ideal MSB protection, or a real code over the protected bit planes  # layer-adaptive: swept over budget_bpw, need kind = "nn"
CLUSTERS = ("local", "slurm", "lsf")
PHYSICS_KEYS = ("t_ox_nm", "phi_b_ev", "m_ox", "v_ox", "tau0_s", "t_s", "r")


def _check_keys(section: dict, allowed, where: str) -> None:
    for key in section:
        if key not in allowed:
            raise QtamlError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _get(section: dict, key: str, where: str, kind, default=..., check=None, what=""):
    """Fetch ``section[key]`` with a type check; messages name ``where.key``."""
    if key not in section:
        if default is ...:
            raise QtamlError(f"{where}.{key}: missing required key")
        return default
    value = section[key]
    ok_types = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in ok_types:
        raise QtamlError(f"{where}.{key}: expected {what or ok_types[0].__name__}, got {value!r}")
    if not isinstance(value, ok_types):
        raise QtamlError(f"{where}.{key}: expected {what or ok_types[0].__name__}, got {value!r}")
    if float in ok_types and isinstance(value, (int, float)):
        value = float(value) if not isinstance(value, bool) else value
        if not math.isfinite(value):
            raise QtamlError(f"{where}.{key}: must be finite, got {value!r}")
    if check is not None and not check(value):
        raise QtamlError(f"{where}.{key}: expected {what}, got {value!r}")
    return value


def _number_list(section: dict, key: str, where: str, check, what: str, default=...) -> tuple[float, ...]:
    """A scalar or a non-empty list of numbers, returned as a tuple (a sweep axis)."""
    if key not in section:
        if default is ...:
            raise QtamlError(f"{where}.{key}: missing required key")
        return default
    raw = section[key]
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise QtamlError(f"{where}.{key}: empty list")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not check(v):
            raise QtamlError(f"{where}.{key}: expected {what} (or a list of them), got {raw!r}")
        out.append(float(v))
    return tuple(out)


@dataclass(frozen=True)
class MemoryTarget:
    """Synthetic weight tensor ``W ~ N(0, 1)`` (seeded by ``weight_seed``), quantized to ``bits``."""

    shape: tuple[int, ...] = (64, 64)
    bits: int = 8
    code: str = "twos"
    per_channel: bool = False
    weight_seed: int = 0

    def __post_init__(self):
        if not self.shape or any(int(s) <= 0 for s in self.shape):
            raise QtamlError(f"memory.shape: expected a list of positive integers, got {list(self.shape)}")
        _check_bits_code(self.bits, self.code, "memory")


@dataclass(frozen=True)
class ModelTarget:
    """A named checkpoint (or a .safetensors path) evaluated on the first ``test_subset`` test images."""

    name: str = "lenet5"
    bits: int = 8
    code: str = "twos"
    per_channel: bool = False
    test_subset: int | None = None
    models_dir: str | None = None

    def __post_init__(self):
        _check_bits_code(self.bits, self.code, "model")
        if self.test_subset is not None and self.test_subset <= 0:
            raise QtamlError(f"model.test_subset: expected a positive integer, got {self.test_subset}")


def _optional_float(v):
    return None if v is None else float(v)


def _check_bits_code(bits: int, code: str, where: str) -> None:
    if not 2 <= bits <= 16:
        raise QtamlError(f"{where}.bits: must be in 2..16, got {bits}")
    if code not in CODES:
        raise QtamlError(f"{where}.code: unknown code {code!r}; choose one of {', '.join(CODES)}")


@dataclass(frozen=True)
class Faults:
    """Fault points: either ``p_flip`` values (``p10 = p``, ``p01 = r p``) or physics parameters.

    With ``physics`` set, every combination of its list-valued entries is one fault point,
    turned into ``p10``/``p01`` by ``qtaml_hw.physics.flip_probabilities`` (design.md section 1).
    With ``[faults.scrub]`` (``tau_s``, ``period_s``, ``interval``) each scrub period ``T`` is a
    point: the PHYSICS layer's simpy timeline (``physics.timeline.scrub_retention``: words written
    at 0, scrubbed every ``T``, read 400 times spread over 4 periods) gives the worst (default) or
    mean per-read ``p10 = 1 - exp(-interval / tau)`` (Poisson retention).
    """

    p_flip: tuple[float, ...] = ()
    r: float = 1.0
    physics: tuple[tuple[str, tuple[float, ...]], ...] = ()
    scrub_tau_s: float | None = None
    scrub_period_s: tuple[float, ...] = ()
    scrub_interval: str = "worst"

    def __post_init__(self):
        if bool(self.p_flip) + bool(self.physics) + bool(self.scrub_period_s) != 1:
            raise QtamlError("faults: give exactly one of faults.p_flip, [faults.physics] or [faults.scrub]")
        if not 0.0 <= self.r <= 1.0:
            raise QtamlError(f"faults.r: must be in [0, 1], got {self.r}")


@dataclass(frozen=True)
class Plan:
    """A protection strategy and its budgets (design.md section 3).

    ``uniform``: ideal MSB protection, the same ``protect_msb`` top bits of every weight of
    every layer kept fault-free.  ``none``: unprotected.  Price: by default the check bits the
    project's placement really stores -- SECDED over the protected planes of each 8-weight
    word, ``qtaml_hw.ecc.plan_check_bits`` (m = 1, 2, 4, 8 -> 5/8, 6/8, 7/8, 8/8 check bits per
    weight), the same accounting as the headline and the RTL; an explicit ``overhead_factor``
    prices ``protect_msb * overhead_factor`` instead (e.g. 0.125 for a (72,64) word over 64
    weights' MSBs).
    ``mean_correction``: read the weights through TAC's closed-form mean-corrected
    dequantization (``qtaml_hw.tac.corrected_dequantize``), which costs no check bits.
    ``tac`` / ``magnitude`` / ``gaussian`` (kind ``nn`` only): layer-adaptive protection,
    one task per entry of ``budget_bpw`` (protected bits per weight averaged over the model);
    the per-layer counts ``m_l`` come from ``qtaml_hw.tac.plan`` on a label-free analysis
    (``calib_samples`` unlabeled training images, ``probes`` random output projections),
    computed when the tasks are expanded, before any Monte Carlo.
    ``ecc``: ``"ideal"`` (default) keeps protected bits fault-free; ``"secded"`` / ``"sec"`` store the protected bit planes of each group of
    8 weights in a real Hsiao SECDED / Hamming SEC codeword (``qtaml_hw.ecc.ECCSampler``: check
    bits leak too, miscorrections kept) and price the plan with the code's real check bits
    (``qtaml_hw.ecc.plan_check_bits``), ignoring ``overhead_factor``.
    """

    strategy: str = "uniform"
    protect_msb: tuple[int, ...] = (0,)
    overhead_factor: float | None = None
    mean_correction: bool = False
    budget_bpw: tuple[float, ...] = ()
    calib_samples: int = 256
    probes: int = 4
    ecc: str = "ideal"

    def __post_init__(self):
        if self.ecc not in ECC_MODELS:
            raise QtamlError(f"plans.ecc: unknown ECC model {self.ecc!r}; choose one of {', '.join(ECC_MODELS)}")
        if self.strategy not in STRATEGIES:
            raise QtamlError(f"plans.strategy: unknown strategy {self.strategy!r}; "
                             f"choose one of {', '.join(STRATEGIES)}")
        if self.overhead_factor is not None and self.overhead_factor < 0:
            raise QtamlError(f"plans.overhead_factor: must be >= 0, got {self.overhead_factor}")
        if self.adaptive and not self.budget_bpw:
            raise QtamlError(f"plans.budget_bpw: strategy {self.strategy!r} needs budget_bpw "
                             "(protected bits per weight, averaged over the model)")
        if not self.adaptive and self.budget_bpw:
            raise QtamlError(f"plans.budget_bpw: only for {', '.join(ADAPTIVE)}; "
                             f"strategy {self.strategy!r} takes protect_msb")
        if self.calib_samples <= 0 or self.probes <= 0:
            raise QtamlError("plans.calib_samples / plans.probes: expected positive integers")

    @property
    def adaptive(self) -> bool:
        """Layer-adaptive plans (TAC and its baselines) allocate per-layer protected bits from a budget."""
        return self.strategy in ADAPTIVE


@dataclass(frozen=True)
class DaskSettings:
    """Where to run: an existing scheduler ``address``, or a ``cluster`` to start.

    ``cluster = "local"`` starts a ``distributed.LocalCluster`` with ``jobs`` workers;
    ``"slurm"``/``"lsf"`` start a ``dask_jobqueue.SLURMCluster``/``LSFCluster`` with
    ``cluster_options`` (cores, memory, queue, walltime, ...) scaled to ``jobs`` jobs.
    """

    address: str | None = None
    cluster: str | None = None
    jobs: int = 1
    cluster_options: tuple[tuple[str, object], ...] = ()

    def __post_init__(self):
        if self.address and self.cluster:
            raise QtamlError("dask: give dask.address or dask.cluster, not both")
        if self.cluster is not None and self.cluster not in CLUSTERS:
            raise QtamlError(f"dask.cluster: unknown cluster {self.cluster!r}; choose one of {', '.join(CLUSTERS)}")
        if self.jobs <= 0:
            raise QtamlError(f"dask.jobs: expected a positive integer, got {self.jobs}")

    @property
    def enabled(self) -> bool:
        return bool(self.address or self.cluster)


@dataclass(frozen=True)
class CampaignConfig:
    """A validated campaign; build it with :func:`load_config` or :func:`parse_config`."""

    name: str
    kind: str
    seed: int
    trials: int
    batch_trials: int
    target: MemoryTarget | ModelTarget
    faults: Faults
    plans: tuple[Plan, ...]
    dask: DaskSettings = field(default_factory=DaskSettings)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise QtamlError(f"campaign.kind: unknown kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        for plan in self.plans:
            if plan.adaptive and self.kind != "nn":
                raise QtamlError(f"plans.strategy: {plan.strategy!r} allocates bits across the layers of a "
                                 "network; it needs kind = \"nn\"")
        for plan in self.plans:
            over = [b for b in plan.budget_bpw if b > self.target.bits]
            if over:
                raise QtamlError(f"plans.budget_bpw: {over[0]:g} is more than the {self.target.bits} bits of a weight")
            bad = [m for m in plan.protect_msb if not 0 <= m <= self.target.bits]
            if bad:
                raise QtamlError(f"plans.protect_msb: {bad[0]} is outside 0..{self.target.bits} "
                                 f"(the target has {self.target.bits}-bit weights)")


_TOP = {"campaign", "memory", "model", "faults", "plans", "dask"}


def parse_config(doc: dict) -> CampaignConfig:
    """Validate a parsed TOML document (a dict) into a :class:`CampaignConfig`."""
    _check_keys(doc, _TOP, "config")
    camp = doc.get("campaign")
    if not isinstance(camp, dict):
        raise QtamlError("campaign: missing [campaign] table")
    _check_keys(camp, {"name", "kind", "seed", "trials", "batch_trials"}, "campaign")
    kind = _get(camp, "kind", "campaign", str, "nn")
    name = _get(camp, "name", "campaign", str, "campaign")
    seed = _get(camp, "seed", "campaign", int, 0, lambda v: v >= 0, "a non-negative integer")
    trials = _get(camp, "trials", "campaign", int, check=lambda v: v > 0, what="a positive integer")
    batch = _get(camp, "batch_trials", "campaign", int, 64, lambda v: v > 0, "a positive integer")

    if kind == "memory":
        if "model" in doc:
            raise QtamlError("model: [model] is for kind = \"nn\"; this campaign has kind = \"memory\"")
        sec = doc.get("memory", {})
        _check_keys(sec, {"shape", "bits", "code", "per_channel", "weight_seed"}, "memory")
        shape = _get(sec, "shape", "memory", list, [64, 64])
        if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
            raise QtamlError(f"memory.shape: expected a list of positive integers, got {shape!r}")
        target = MemoryTarget(shape=tuple(shape), bits=_get(sec, "bits", "memory", int, 8),
                              code=_get(sec, "code", "memory", str, "twos"),
                              per_channel=_get(sec, "per_channel", "memory", bool, False),
                              weight_seed=_get(sec, "weight_seed", "memory", int, 0, lambda v: v >= 0,
                                               "a non-negative integer"))
    elif kind == "nn":
        if "memory" in doc:
            raise QtamlError("memory: [memory] is for kind = \"memory\"; this campaign has kind = \"nn\"")
        sec = doc.get("model")
        if not isinstance(sec, dict):
            raise QtamlError("model: missing [model] table (kind = \"nn\")")
        _check_keys(sec, {"name", "bits", "code", "per_channel", "test_subset", "models_dir"}, "model")
        target = ModelTarget(name=_get(sec, "name", "model", str), bits=_get(sec, "bits", "model", int, 8),
                             code=_get(sec, "code", "model", str, "twos"),
                             per_channel=_get(sec, "per_channel", "model", bool, False),
                             test_subset=_get(sec, "test_subset", "model", int, None),
                             models_dir=_get(sec, "models_dir", "model", str, None))
    else:
        raise QtamlError(f"campaign.kind: unknown kind {kind!r}; choose one of {', '.join(KINDS)}")

    fsec = doc.get("faults")
    if not isinstance(fsec, dict):
        raise QtamlError("faults: missing [faults] table")
    _check_keys(fsec, {"p_flip", "r", "physics", "scrub"}, "faults")
    p_flip = _number_list(fsec, "p_flip", "faults", lambda v: 0 <= v <= 1, "a probability in [0, 1]", ())
    r = _get(fsec, "r", "faults", (float, int), 1.0)
    physics = ()
    if "physics" in fsec:
        psec = fsec["physics"]
        if not isinstance(psec, dict):
            raise QtamlError("faults.physics: expected a table")
        _check_keys(psec, set(PHYSICS_KEYS), "faults.physics")
        for key in ("t_ox_nm", "phi_b_ev", "tau0_s", "t_s"):
            if key not in psec:
                raise QtamlError(f"faults.physics.{key}: missing required key")
        defaults = {"m_ox": 0.42, "v_ox": 0.0, "r": float(r)}
        physics = tuple((k, _number_list(psec, k, "faults.physics", lambda v: v >= 0, "a non-negative number",
                                         (defaults[k],) if k in defaults else ...))
                        for k in PHYSICS_KEYS)
    tau, periods, interval = None, (), "worst"
    if "scrub" in fsec:
        ssec = fsec["scrub"]
        if not isinstance(ssec, dict):
            raise QtamlError("faults.scrub: expected a table")
        _check_keys(ssec, {"tau_s", "period_s", "interval"}, "faults.scrub")
        interval = _get(ssec, "interval", "faults.scrub", str, "worst", lambda v: v in ("worst", "mean"),
                        "\"worst\" or \"mean\"")
        tau = _get(ssec, "tau_s", "faults.scrub", (float, int), check=lambda v: v > 0, what="a positive number")
        periods = _number_list(ssec, "period_s", "faults.scrub", lambda v: v > 0, "a positive number")
    faults = Faults(p_flip=p_flip, r=float(r), physics=physics, scrub_tau_s=tau, scrub_period_s=periods,
                    scrub_interval=interval)

    raw_plans = doc.get("plans", [{"strategy": "none", "protect_msb": 0}])
    if not isinstance(raw_plans, list) or not raw_plans or not all(isinstance(p, dict) for p in raw_plans):
        raise QtamlError("plans: expected one or more [[plans]] tables")
    plans = []
    for p in raw_plans:
        _check_keys(p, {"strategy", "protect_msb", "overhead_factor", "mean_correction", "budget_bpw",
                        "calib_samples", "probes", "ecc"}, "plans")
        strategy = _get(p, "strategy", "plans", str, "uniform")
        protect = _number_list(p, "protect_msb", "plans", lambda v: float(v).is_integer() and v >= 0,
                               "a non-negative integer", (0.0,))
        if strategy == "none" and any(protect):
            raise QtamlError("plans.protect_msb: strategy \"none\" protects nothing; remove protect_msb")
        if strategy in ADAPTIVE and "protect_msb" in p:
            raise QtamlError(f"plans.protect_msb: strategy {strategy!r} allocates per-layer bits from "
                             "budget_bpw; remove protect_msb")
        budgets = _number_list(p, "budget_bpw", "plans", lambda v: v >= 0, "a non-negative number", ())
        plans.append(Plan(strategy=strategy, protect_msb=(0,) if strategy in ADAPTIVE else tuple(int(m) for m in protect),
                          overhead_factor=_optional_float(_get(p, "overhead_factor", "plans", (float, int), None)),
                          mean_correction=_get(p, "mean_correction", "plans", bool, False),
                          budget_bpw=budgets,
                          calib_samples=_get(p, "calib_samples", "plans", int, 256),
                          probes=_get(p, "probes", "plans", int, 4),
                          ecc=_get(p, "ecc", "plans", str, "ideal")))

    dsec = doc.get("dask", {})
    if not isinstance(dsec, dict):
        raise QtamlError("dask: expected a table")
    _check_keys(dsec, {"address", "cluster", "jobs", "cluster_options"}, "dask")
    opts = _get(dsec, "cluster_options", "dask", dict, {})
    dask = DaskSettings(address=_get(dsec, "address", "dask", str, None),
                        cluster=_get(dsec, "cluster", "dask", str, None),
                        jobs=_get(dsec, "jobs", "dask", int, 1),
                        cluster_options=tuple(sorted(opts.items())))
    return CampaignConfig(name=name, kind=kind, seed=seed, trials=trials, batch_trials=batch, target=target,
                          faults=faults, plans=tuple(plans), dask=dask)


def load_config(path) -> CampaignConfig:
    """Read and validate a campaign TOML file (one-line :class:`QtamlError` on any problem)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise QtamlError(f"campaign file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QtamlError(f"cannot read campaign file {path}: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QtamlError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(doc)
