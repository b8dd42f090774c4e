"""Headline v2: the smallest protected-bit budget reaching 95 % of clean accuracy, Uniform-MSP vs TAC,
run as ``headline`` tasks of the campaign engine (design.md sections 3 and 7).

Per model and condition (``symmetric``: ``p10 = p01 = p``, p = 0.10 for the CNNs and 0.05 for the
ViT as in the paper; ``directional``: ``p01 = 0.1 p10``, as leakage gives), everything label-free
is computed first: per-weight sensitivities on unlabeled calibration images, per output-channel
group read-error curves (:mod:`qtaml_hw.tac.groups`), the plans of every strategy on the budget
grid, and the predicted accuracy curves (:mod:`qtaml_hw.tac.predict`) with rho*.  Then the plans
run as engine tasks (resumable SQLite store, progress, local processes or Dask, adaptive stopping:
each task stops once its accuracy interval is clear of the target, at most ``max_trials``):

* stage 1 -- every strategy on the coarse grid (``coarse_bpw``);
* stage 2 -- ``uniform``, ``uniform_posterior`` and ``tac`` on the 0.05 bit/weight grid between
  the coarse points around their crossing (mean and 5th-percentile criteria).

Strategies (plan, read map): ``uniform`` (Uniform-MSP, plain read), ``uniform_posterior`` (Uniform-MSP
+ the posterior read), ``tac`` (TAC plan made for the posterior read + that read: THE method);
ablations ``tac_plain`` (TAC plan, plain read), ``tac_unbiased`` (TAC plan + the unbiased read of
round one), ``magnitude`` (||W||^2 scores, generic curve, plain read).  Crossings, ratios and their
bootstrap intervals: :mod:`qtaml_hw.campaign.headline_stats`.  Pricing: ``bits`` -- protected bits
per weight, which is also the (72,64)-packed pricing (8 check bits per 64 protected bits, overhead
``sum n_g m_g / (8 N)``, proportional); ``word`` -- SECDED over each 8-weight word's protected
planes, ``r(8 m)`` check bits per word (:func:`qtaml_hw.ecc.plan_check_bits`), what the RTL builds.
"""

from __future__ import annotations

import logging
import time

import attrs
import numpy as np

from qtaml_hw.campaign.headline_kind import MODELS, HeadlineParams, _Context, _subset, group_accuracy
from qtaml_hw.campaign.headline_stats import Point, bootstrap_ratio, crossing, envelope_gap, ratio
from qtaml_hw.campaign.kinds import make_task
from qtaml_hw.campaign.runner import run_tasks
from qtaml_hw.campaign.stopping import Stopping
from qtaml_hw.campaign.store import ResultStore
from qtaml_hw.ecc import plan_check_bits
from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel
from qtaml_hw.tac.groups import analyse_groups, read_tables
from qtaml_hw.tac.predict import crossing_budget, finite_keep, first_order_keep, margin_data, mean_margins
from qtaml_hw.tac.sensitivity import qmodel_sensitivity

log = logging.getLogger(__name__)

P_DEFAULT = {"lenet5": 0.10, "vgg": 0.10, "resnet": 0.10, "mobilenet": 0.10, "vit": 0.05}
CONDITIONS = {"symmetric": 1.0, "directional": 0.1}  # p01 / p10
STRATEGIES = {"uniform": ("uniform", "plain"), "uniform_posterior": ("uniform", "posterior"),
              "tac": ("tac", "posterior"), "tac_plain": ("tac", "plain"), "tac_unbiased": ("tac", "unbiased"),
              "magnitude": ("magnitude", "plain")}
FINE = ("uniform", "uniform_posterior", "tac")
READ_ABLATION = ("plain", "unbiased", "perbit", "posterior")
TARGET_FRACTION = 0.95
FULL_BPW = 8.0  # every bit of an 8-bit weight protected


def _in(options):
    def check(inst, attribute, value):
        bad = [v for v in value if v not in options]
        if not value or bad:
            raise QtamlError(f"headline.{attribute.name}: unknown {bad or 'empty'}; choose from {', '.join(options)}")
    return check


def _pos(inst, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise QtamlError(f"headline.{attribute.name}: must be > 0, got {value!r}")


@attrs.frozen
class HeadlineConfig:
    """What a headline run measures (validated; its hash binds the result store)."""

    models: tuple = attrs.field(converter=tuple, validator=_in(MODELS))
    conditions: tuple = attrs.field(default=("symmetric", "directional"), converter=tuple,
                                    validator=_in(tuple(CONDITIONS)))
    strategies: tuple = attrs.field(default=tuple(STRATEGIES), converter=tuple, validator=_in(tuple(STRATEGIES)))
    test_subset: int = attrs.field(default=500, validator=_subset)
    calib_samples: int = attrs.field(default=256, validator=_pos)
    probes: int = attrs.field(default=4, validator=_pos)
    predict_samples: int = attrs.field(default=128, validator=_pos)
    predict_draws: int = attrs.field(default=8, validator=_pos)
    first_order: bool = True
    read_ablation: bool = True
    max_trials: int = attrs.field(default=32, validator=_pos)
    min_trials: int = attrs.field(default=4, validator=_pos)  # looks at 4, 8, 16, ... (docs/headline.md)
    adaptive: bool = True
    coarse_bpw: float = attrs.field(default=0.25, validator=_pos)
    fine_bpw: float = attrs.field(default=0.05, validator=_pos)
    max_bpw: float = attrs.field(default=4.0, validator=_pos)
    p_flip: float | None = None
    models_dir: str | None = attrs.field(default=None, metadata={"in_id": False})

    def __attrs_post_init__(self):
        if self.adaptive and self.min_trials < 2:
            raise QtamlError(f"headline.min_trials: an interval needs at least 2 trials, got {self.min_trials}")

    def p10(self, model: str) -> float:
        return float(self.p_flip if self.p_flip is not None else P_DEFAULT[model])


class Setup:
    """Everything label-free for one (model, condition), computed before any trial (module docstring)."""

    def __init__(self, cfg: HeadlineConfig, model: str, condition: str, *, seed: int):
        t0 = time.perf_counter()
        self.model, self.condition = model, condition
        self.p10 = cfg.p10(model)
        self.p01 = float(CONDITIONS[condition] * self.p10)
        self.fm = FlipModel(self.p10, self.p01)
        ctx = _Context(HeadlineParams(model, self.p10, self.p01, "plain", (0,), cfg.test_subset, cfg.models_dir))
        self.q, self.groups = ctx.q, ctx.groups
        self.clean_group_acc = group_accuracy(ctx.clean_correct, ctx.image_group)
        self.clean = float(ctx.clean_correct.mean())
        self.target = TARGET_FRACTION * self.clean
        x_train = np.asarray(ctx.x_train)
        sens = qmodel_sensitivity(self.q, x_train[:cfg.calib_samples], probes=cfg.probes, seed=seed)
        reads = sorted({STRATEGIES[s][1] for s in cfg.strategies} | (set(READ_ABLATION) if cfg.read_ablation else set()))
        self.ga = {r: analyse_groups(self.q, sens, flip_model=self.fm, read=r) for r in reads}
        self.x_pred = x_train[len(x_train) - cfg.predict_samples:]  # calibration inputs of the predictor
        self.margins = margin_data(self.q, self.x_pred, drift={}) if cfg.first_order else None
        self.tables = {r: read_tables(self.q, kind=r, flip_model=self.fm) for r in ("plain", "posterior")}
        self.draws = cfg.predict_draws
        self.seconds = time.perf_counter() - t0
        log.info("headline %s %s: label-free set-up %.1f s", model, condition, self.seconds)

    def plan(self, strategy: str, budget_bpw: float) -> np.ndarray:
        plan_kind, read = STRATEGIES[strategy]
        return self.ga[read].plan(plan_kind, budget_bpw)

    def overhead_word(self, m) -> float:
        return plan_check_bits(np.asarray(m), self.ga["plain"].n) / (8.0 * self.ga["plain"].total)

    def params(self, read: str, m, cfg: HeadlineConfig) -> HeadlineParams:
        return HeadlineParams(self.model, self.p10, self.p01, read, tuple(int(v) for v in m), cfg.test_subset,
                              cfg.models_dir)

    def predicted_keep(self, strategy: str, m, *, variant: str, seed: int) -> float:
        """Mean ``P(keep | x)`` on the predictor's calibration inputs (tac.predict)."""
        read = STRATEGIES[strategy][1]
        if variant == "finite":
            data = self.margins or _ClassOnly(self.q, self.x_pred)
            return float(finite_keep(self.q, self.x_pred, data, m, tables=self.tables[read], flip_model=self.fm,
                                     draws=self.draws, seed=seed).mean())
        mm = mean_margins(self.q, self.x_pred, self.margins, self.ga[read], m)
        return float(first_order_keep(self.margins, self.ga[read], m, read=read, margins=mm).mean())


class _ClassOnly:
    """The clean class of each predictor input (all the finite variant needs when no Jacobians are taken)."""

    def __init__(self, q, x):
        import torch

        with torch.no_grad():
            self.clean_class = q(torch.as_tensor(np.asarray(x), dtype=torch.float32)).argmax(-1).numpy()


def grid(lo: float, hi: float, step: float) -> list[float]:
    n = int(np.floor((hi - lo) / step + 1e-9))
    return [round(lo + k * step, 10) for k in range(n + 1)]


def predicted_crossing(setup: Setup, strategy: str, cfg: HeadlineConfig, *, variant: str, seed: int) -> tuple:
    """Crossing of the predicted accuracy curve (coarse grid, then the fine grid around it) and the curve.

    The predicted curve is not cut at the Monte Carlo's ``max_bpw``: while its last coarse point is
    below the target it goes on in coarse steps up to full protection (8 bits), so a crossing past
    the swept range is still predicted (it costs no trial)."""
    curve = {}

    def value(b):
        if b not in curve:
            m = setup.plan(strategy, b)
            curve[b] = (setup.ga["plain"].spent_bpw(m), setup.predicted_keep(strategy, m, variant=variant, seed=seed))
        return curve[b]

    coarse = grid(0.0, cfg.max_bpw, cfg.coarse_bpw)
    vals = [value(b)[1] for b in coarse]
    while vals[-1] < TARGET_FRACTION and coarse[-1] + cfg.coarse_bpw <= FULL_BPW + 1e-9:
        coarse.append(round(coarse[-1] + cfg.coarse_bpw, 10))
        vals.append(value(coarse[-1])[1])
    fail = [i for i, v in enumerate(vals) if v < TARGET_FRACTION]
    if fail and fail[-1] < len(coarse) - 1:
        for b in grid(coarse[fail[-1]], coarse[fail[-1] + 1], cfg.fine_bpw)[1:-1]:
            value(b)
    pts = sorted(curve.values())
    return crossing_budget([p[0] for p in pts], [p[1] for p in pts], TARGET_FRACTION), pts


class Sweep:
    """The tasks of a headline run and what each one is (strategy, budget) for the analysis."""

    def __init__(self, cfg: HeadlineConfig):
        self.cfg = cfg
        self.tasks: dict = {}  # id -> Task
        self.points: dict = {}  # (model, condition, strategy) -> {task id: (bpw, overhead)}

    def add(self, setup: Setup, strategy: str, budgets, *, read=None, store_as=None) -> None:
        cfg = self.cfg
        ask = (Stopping(metric="accuracy", target=setup.target, max_trials=cfg.max_trials, min_trials=cfg.min_trials,
                        resolution=1.0 / cfg.test_subset)
               if cfg.adaptive else Stopping.fixed("accuracy", cfg.max_trials))
        for b in budgets:
            m = setup.plan(strategy, b) if read is None else np.full(setup.ga["plain"].n.size, int(b))
            task = make_task("headline", setup.params(read or STRATEGIES[strategy][1], m, cfg), ask)
            self.tasks.setdefault(task.id, task)
            key = (setup.model, setup.condition, store_as or strategy)
            self.points.setdefault(key, {})[task.id] = (setup.ga["plain"].spent_bpw(m), setup.overhead_word(m))

    def run(self, *, out, seed: int, workers: int, progress: bool, dask_client=None, dask_address=None,
            max_chunks=None) -> dict:
        return run_tasks(list(self.tasks.values()), seed=seed, out=out, name="headline", kind="headline",
                         workers=workers, batch_trials=8, dask_client=dask_client, dask_address=dask_address,
                         progress=progress, max_chunks=max_chunks, config=self.cfg)


def collect(sweep: Sweep, store: ResultStore, decisions: dict, key) -> list[Point]:
    """The points of one curve, sorted by budget: trials ``0 .. n-1`` of each task (n = its decision)."""
    pts = []
    for tid, (bpw, ovh) in sorted(sweep.points.get(key, {}).items(), key=lambda kv: kv[1][0]):
        idx, metrics = store.trials(tid)
        d = decisions.get(tid)
        n = d["n"] if d else idx.size
        if n == 0 or idx.size < n:
            continue
        acc = np.stack([metrics[f"acc_g{j:02d}"][:n] for j in range(20)], axis=1)
        pts.append(Point(bpw, ovh, acc))
    uniq = {}
    for p in pts:  # the same plan reached from two budgets is one point
        uniq.setdefault(round(p.bpw, 9), p)
    return list(uniq.values())


def _stage2_budgets(points: list[Point], target: float, step: float) -> list[float]:
    """Fine budgets between the coarse points around the crossing, for both criteria."""
    out = set()
    for crit in ("mean", "p5"):
        vals = [float(np.mean(p.group_acc.mean(1))) if crit == "mean" else float(np.quantile(p.group_acc.mean(1), 0.05))
                for p in points]
        fail = [i for i, v in enumerate(vals) if v < target]
        if fail and fail[-1] < len(points) - 1:
            out.update(grid(points[fail[-1]].bpw, points[fail[-1] + 1].bpw, step)[1:-1])
    return sorted(out)


def run_headline(cfg: HeadlineConfig, *, out, seed: int = 0, workers: int = 1, progress: bool = True,
                 replicates: int = 1000, dask_client=None, dask_address=None, max_chunks=None) -> dict:
    """Run (or resume) the headline into the store ``out`` and analyse it; returns ``{"rows", "runs", ...}``.

    ``dask_client``/``dask_address``: run the trials on a Dask cluster instead of local processes.
    """
    t0 = time.perf_counter()
    setups = [Setup(cfg, m, c, seed=seed) for m in cfg.models for c in cfg.conditions]
    sweep = Sweep(cfg)
    coarse = grid(0.0, cfg.max_bpw, cfg.coarse_bpw)
    for st in setups:
        for strategy in cfg.strategies:
            sweep.add(st, strategy, coarse)
        for read in READ_ABLATION if cfg.read_ablation else ():  # every read map at uniform m = 1 and 2
            sweep.add(st, "uniform", [1, 2], read=read, store_as=f"read_{read}")
    engine = {"workers": workers, "progress": progress, "dask_client": dask_client, "dask_address": dask_address,
              "max_chunks": max_chunks}
    first = sweep.run(out=out, seed=seed, **engine)
    if max_chunks is not None and first["decided"] < first["tasks"]:
        return {"rows": [], "runs": [first], "complete": False}
    with ResultStore.open(out) as store:
        for st in setups:
            for strategy in (s for s in FINE if s in cfg.strategies):
                pts = collect(sweep, store, first["decisions"], (st.model, st.condition, strategy))
                sweep.add(st, strategy, _stage2_budgets(pts, st.target, cfg.fine_bpw))
    second = sweep.run(out=out, seed=seed, **engine)
    mc_seconds = time.perf_counter() - t0 - sum(st.seconds for st in setups)
    with ResultStore.open(out) as store:
        rows = [analyse(st, sweep, store, second["decisions"], cfg, seed=seed, replicates=replicates)
                for st in setups]
    return {"rows": rows, "runs": [first, second], "complete": second["decided"] == second["tasks"],
            "trials": second["trials_total"], "trials_cap": second["trials_cap"],
            "seconds": time.perf_counter() - t0, "monte_carlo_seconds": mc_seconds}


def _ratio_block(num, den, st: Setup, *, criterion: str, price: str, replicates: int, seed: int) -> tuple:
    value = ratio(crossing(num, st.target, criterion=criterion, price=price),
                  crossing(den, st.target, criterion=criterion, price=price))
    ci = bootstrap_ratio(num, den, clean_group_acc=st.clean_group_acc, target_fraction=TARGET_FRACTION,
                         criterion=criterion, price=price, replicates=replicates, seed=seed)
    return value, list(ci)


def analyse(st: Setup, sweep: Sweep, store, decisions, cfg: HeadlineConfig, *, seed: int, replicates: int) -> dict:
    """One headline row: crossings, ratios with bootstrap CIs, rho* predicted vs measured, ablations."""
    curves = {s: collect(sweep, store, decisions, (st.model, st.condition, s)) for s in cfg.strategies}
    row = {"model": st.model, "condition": st.condition, "p10": st.p10, "p01": st.p01,
           "clean_accuracy": st.clean, "target_accuracy": st.target, "setup_seconds": st.seconds}
    u, t = curves.get("uniform", []), curves.get("tac", [])
    for name, crit, price in (("ratio_bits", "mean", "bits"), ("ratio_bits_p5", "p5", "bits"),
                              ("ratio_overhead_word", "mean", "overhead"), ("ratio_overhead_word_p5", "p5", "overhead")):
        row[name], row[f"{name}_ci95"] = _ratio_block(u, t, st, criterion=crit, price=price, replicates=replicates,
                                                      seed=seed)
    row["ratio_overhead_packed"], row["ratio_overhead_packed_ci95"] = row["ratio_bits"], row["ratio_bits_ci95"]
    if "uniform_posterior" in curves:
        row["ratio_bits_vs_uniform_posterior"], row["ratio_bits_vs_uniform_posterior_ci95"] = _ratio_block(
            curves["uniform_posterior"], t, st, criterion="mean", price="bits", replicates=replicates, seed=seed)
    row["crossings_bpw"] = {s: {c: crossing(p, st.target, criterion=c) for c in ("mean", "p5")}
                            for s, p in curves.items()}
    row["rho_star_measured"] = row["ratio_bits"]
    pred = {}
    for variant in ("finite", "first_order") if cfg.first_order else ("finite",):
        cu, pu = predicted_crossing(st, "uniform", cfg, variant=variant, seed=seed)
        ct, pt = predicted_crossing(st, "tac", cfg, variant=variant, seed=seed)
        pred[variant] = {"rho_star": ratio(cu, ct), "crossing_uniform_bpw": cu, "crossing_tac_bpw": ct,
                         "curve_uniform": pu, "curve_tac": pt}
    row["rho_star_predicted"] = pred["finite"]["rho_star"]
    row["rho_star_predicted_first_order"] = pred.get("first_order", {}).get("rho_star")
    row["predictor"] = pred
    meas = row["rho_star_measured"]
    row["ln_rho_error"] = {v: (float(abs(np.log(p["rho_star"] / meas)))
                               if np.isfinite(p["rho_star"]) and np.isfinite(meas) and meas > 0 and p["rho_star"] > 0
                               else None) for v, p in pred.items()}
    row["curves"] = {s: [{"bpw": p.bpw, "overhead_word": p.overhead, "trials": int(p.group_acc.shape[0]),
                          "acc_mean": float(p.group_acc.mean()),
                          "acc_p5": float(np.quantile(p.group_acc.mean(1), 0.05))} for p in pts]
                     for s, pts in curves.items()}
    if "tac_plain" in curves and "magnitude" in curves:
        gap = envelope_gap(curves["tac_plain"], curves["magnitude"], max_bpw=1.25)
        row["wkb_vs_magnitude"] = {"rows": gap, "max_gap_pp": max((g["gap_pp"] for g in gap), default=None)}
    row["read_maps"] = read_map_rows(st, sweep, store, decisions) if cfg.read_ablation else []
    return row


def read_map_rows(st: Setup, sweep: Sweep, store, decisions) -> list[dict]:
    """Weight MSE (exact, per weight, in LSB^2 and in weight units) and accuracy of every read map at uniform m."""
    rows = []
    for read in READ_ABLATION:
        ga = st.ga[read]
        s2 = np.concatenate([g.scale2 for g in ga.layers])
        pts = collect(sweep, store, decisions, (st.model, st.condition, f"read_{read}"))
        for m in (0, 1, 2):
            acc = next((float(p.group_acc.mean()) for p in pts if abs(p.bpw - m) < 1e-9), None)
            rows.append({"read": read, "m": m, "weight_mse_lsb2": float(ga.n @ ga.mse[:, m] / ga.total),
                         "weight_mse": float(ga.n @ (ga.mse[:, m] * s2) / ga.total), "accuracy": acc})
    return rows
