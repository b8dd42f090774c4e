"""The training comparison (design.md section 8; issue 16 item 5) as campaigns of the engine.

What training buys, what TAC buys, and both together: for every comparison checkpoint
(``<arch>_<method>`` from ``qtaml-hw train --method all``: standard, noise-aware, SRL,
Hessian, all fine-tuned the same number of epochs from the same reference) and each fault
condition of the headline (symmetric ``r = 1`` and directional ``r = 0.1`` at ``p = 0.10``
for CNNs, ``0.05`` for the ViT), one ``nn`` campaign (a TOML config, written next to its
store so ``qtaml-hw campaign run`` reproduces it) evaluates

* no protection (``none``),
* Uniform-MSP (``uniform``, ``m = 0..8`` protected top bits, ideal),
* TAC (``tac`` allocation at ``budget_bpw`` + its mean correction),

with ``trials`` Monte Carlo trials on ``test_subset`` test images.  Per (checkpoint,
condition, protection): clean quantized accuracy, faulty accuracy at ``FIXED_BPW``
protected bits per weight (mean, 95 % t-interval), and the smallest budget whose mean
accuracy reaches 95 % of clean -- linear interpolation on the budget grid, the interval from
the curves of the interval's ends (``lo`` curve crossing = upper end).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from qtaml_hw.campaign.config import load_config
from qtaml_hw.campaign.report import summarize
from qtaml_hw.campaign.runner import run_campaign
from qtaml_hw.campaign.store import ResultStore
from qtaml_hw.errors import QtamlError
from qtaml_hw.fsio import write_text
from qtaml_hw.nn import load_dataset, load_model
from qtaml_hw.nn.hessian import trace_samples
from qtaml_hw.stats import mean_ci

log = logging.getLogger(__name__)

ARCHS = ("lenet5", "resnet", "vit")
METHODS = ("standard", "noise_aware", "srl", "hessian")
CONDITIONS = (("symmetric", 1.0), ("directional", 0.1))
P_FLIP = {"vit": 0.05}  # CNNs 0.10
FIXED_BPW = 2.0
UNIFORM_M = tuple(range(7))  # 7+ protected bits: the whole budget of every method exceeds 95 % of clean
TAC_BPW = (0.5, 1.0, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class CompareSettings:
    """Size of the comparison campaigns (trials per task, test images, seed, workers)."""

    trials: int = 16
    test_subset: int = 500
    seed: int = 0
    workers: int = 1

    def __post_init__(self):
        if self.trials < 2 or self.test_subset < 1 or self.workers < 0:
            raise QtamlError("comparison needs trials >= 2, test_subset >= 1, workers >= 0")


def config_text(checkpoint: str, *, arch: str, r: float, settings: CompareSettings, models_dir: str) -> str:
    """The campaign TOML of one (checkpoint, fault condition)."""
    p = P_FLIP.get(arch, 0.1)
    return "\n".join([
        f"# training comparison: {checkpoint} at p_flip = {p}, r = {r} (qtaml_hw.campaign.training)",
        "[campaign]", f'name = "train-{checkpoint}-r{r:g}"', 'kind = "nn"', f"seed = {settings.seed}",
        f"trials = {settings.trials}", f"batch_trials = {settings.trials}", "",
        "[model]", f'name = "{Path(models_dir) / (checkpoint + ".safetensors")}"', "bits = 8", 'code = "twos"',
        f"test_subset = {settings.test_subset}", "",
        "[faults]", f"p_flip = [{p}]", f"r = {r}", "",
        "[[plans]]", 'strategy = "none"', "",
        "[[plans]]", 'strategy = "uniform"', f"protect_msb = {list(UNIFORM_M)}", "",
        "[[plans]]", 'strategy = "tac"', f"budget_bpw = {list(TAC_BPW)}", "mean_correction = true", ""])


def checkpoints(models_dir) -> list[tuple[str, str, str]]:
    """(arch, method, checkpoint) of the comparison present in ``models_dir``'s manifest."""
    manifest = json.loads((Path(models_dir) / "manifest.json").read_text())["models"]
    return [(a, m, f"{a}_{m}") for a in ARCHS for m in METHODS if f"{a}_{m}" in manifest]


def crossing(budgets, acc, target: float) -> float | None:
    """Smallest budget where the piecewise-linear curve ``acc(budget)`` reaches ``target`` (None: never)."""
    b, a = np.asarray(budgets, float), np.asarray(acc, float)
    order = np.argsort(b, kind="stable")
    b, a = b[order], a[order]
    if a[0] >= target:
        return float(b[0])
    for i in range(1, len(b)):
        if a[i] >= target:
            return float(b[i - 1] + (target - a[i - 1]) * (b[i] - b[i - 1]) / (a[i] - a[i - 1]))
    return None


def protection_rows(rows: list[dict], clean: float) -> list[dict]:
    """Per protection (none, uniform, tac): accuracy at the fixed budget and the 95 %-of-clean budget."""
    out = []
    none = [r for r in rows if r["strategy"] == "none"]
    for label, strat in (("none", "none"), ("Uniform-MSP", "uniform"), ("TAC", "tac+mc")):
        curve = sorted((r for r in rows if r["strategy"] == strat), key=lambda r: r["protect_msb"])
        if strat == "none":
            curve = none
        if not curve:
            continue
        b = [float(r["protect_msb"]) for r in curve]
        at = min(curve, key=lambda r: abs(float(r["protect_msb"]) - (0 if strat == "none" else FIXED_BPW)))
        target = 0.95 * clean
        out.append({"protection": label, "acc_fixed": at["accuracy_mean"], "acc_fixed_lo": at["accuracy_lo"],
                    "acc_fixed_hi": at["accuracy_hi"], "bpw_at_fixed": float(at["protect_msb"]),
                    "bpw95": crossing(b, [r["accuracy_mean"] for r in curve], target) if strat != "none" else None,
                    "bpw95_lo": crossing(b, [r["accuracy_hi"] for r in curve], target) if strat != "none" else None,
                    "bpw95_hi": crossing(b, [r["accuracy_lo"] for r in curve], target) if strat != "none" else None})
    return out


def run_comparison(out_dir, *, models_dir="models", settings: CompareSettings = CompareSettings(),
                   progress: bool = True, only=None) -> list[dict]:
    """Run (or resume) every comparison campaign into ``out_dir`` (``only``: these checkpoints);
    returns the table rows."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((Path(models_dir) / "manifest.json").read_text())["models"]
    found = [c for c in checkpoints(models_dir) if not only or c[2] in only]
    if not found:
        raise QtamlError(f"no comparison checkpoints in {models_dir}; run `qtaml-hw train --all --method all`")
    table = []
    for arch, method, ckpt in found:
        for cond, r in CONDITIONS:
            cfg_path = out_dir / f"{ckpt}_{cond}.toml"
            write_text(cfg_path, config_text(ckpt, arch=arch, r=r, settings=settings, models_dir=str(models_dir)))
            store = out_dir / f"{ckpt}_{cond}.sqlite"
            run_campaign(load_config(cfg_path), out=store, workers=settings.workers, progress=progress)
            with ResultStore.open(store) as st:
                rows = summarize(st)
            clean = float(rows[0]["clean_accuracy"])
            entry = manifest[ckpt]
            meth = entry.get("method") or {}
            for prow in protection_rows(rows, clean):
                table.append({"arch": arch, "method": method, "condition": cond, "p_flip": P_FLIP.get(arch, 0.1),
                              "r": r, "clean": clean, **prow, "epochs": entry["train"]["epochs"],
                              "train_s": entry["train"]["seconds"],
                              "trace": ((meth.get("hessian_trace") or {}).get("after") or {}).get("trace"),
                              "trace_ci": ((meth.get("hessian_trace") or {}).get("after") or {}).get("ci95")})
    return table


def _fmt(v, nd=3):
    return "-" if v is None else f"{v:.{nd}f}"


def markdown(table: list[dict]) -> str:
    """The comparison table (one row per arch x method x condition x protection)."""
    head = ("| model | method | fault | protection | clean | acc @ fixed budget (95% CI) | bpw for 95% clean (CI) "
            "| epochs | train s |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for t in table:
        fixed = "0" if t["protection"] == "none" else f"{t['bpw_at_fixed']:.2f}"
        b95 = "not reached" if t["bpw95"] is None and t["protection"] != "none" else _fmt(t["bpw95"], 2)
        if t["protection"] == "TAC" and t["bpw95"] is not None and t["bpw95"] <= min(TAC_BPW):
            b95 = f"<= {min(TAC_BPW):.2f} (grid start)"
        elif t["bpw95"] is not None:
            b95 += f" ({_fmt(t['bpw95_lo'], 2)}-{'>' + str(max(TAC_BPW)) if t['bpw95_hi'] is None else _fmt(t['bpw95_hi'], 2)})"
        lines.append(f"| {t['arch']} | {t['method']} | {t['condition']} p={t['p_flip']:g} r={t['r']:g} | "
                     f"{t['protection']} | {t['clean']:.3f} | {t['acc_fixed']:.3f} @ {fixed} bpw "
                     f"({t['acc_fixed_lo']:.3f}-{t['acc_fixed_hi']:.3f}) | {b95} | {t['epochs']} | {t['train_s']} |")
    return "\n".join(lines) + "\n"


def test_correct(model, x, y, *, batch_size: int = 500) -> np.ndarray:
    """Per-test-image correctness (0/1) of the float model, eval mode, for paired accuracy differences."""
    model.eval()
    with torch.no_grad():
        return np.concatenate([(model(x[i:i + batch_size]).argmax(-1) == y[i:i + batch_size]).numpy()
                               for i in range(0, len(x), batch_size)]).astype(np.float64)


def trace_comparison(models_dir="models", *, probes: int = 32, images: int = 256, seed: int = 0,
                     archs=None) -> list[dict]:
    """Measured Hessian trace (memory weights, mean cross-entropy on the first ``images`` training
    images) of ``<arch>_standard`` vs ``<arch>_hessian``: the same images and the same Rademacher
    probes for both (seeded), so the per-probe difference gives a paired 95 % t-interval; also the paired
    float-accuracy difference on the test images (``trace_accdiff*``: per-image correctness, Hessian - standard).
    ``archs``: only these architectures (default: every one with both checkpoints)."""
    found = {(a, m) for a, m, _ in checkpoints(models_dir)}
    out = []
    for arch in ARCHS:
        if (archs is not None and arch not in archs) or (arch, "standard") not in found or (arch, "hessian") not in found:
            continue
        samples, acc, correct = {}, {}, {}
        for method in ("standard", "hessian"):
            model, entry = load_model(str(Path(models_dir) / f"{arch}_{method}.safetensors"))
            data = load_dataset(entry.get("dataset", "mnist"))
            samples[method] = trace_samples(model, data.x_train[:images], data.y_train[:images], n_iter=probes,
                                            seed=seed)
            acc[method] = entry["float_accuracy"]
            correct[method] = test_correct(model, data.x_test, data.y_test)
        row = {"arch": arch, "probes": probes, "images": images, "acc_standard": acc["standard"],
               "acc_hessian": acc["hessian"]}
        for key, vals in (("standard", samples["standard"]), ("hessian", samples["hessian"]),
                          ("difference", samples["hessian"] - samples["standard"]),
                          ("accdiff", correct["hessian"] - correct["standard"])):
            m, lo, hi = mean_ci(vals, level=0.95)
            row[f"trace_{key}"], row[f"trace_{key}_lo"], row[f"trace_{key}_hi"] = m, lo, hi
        out.append(row)
    return out


def trace_markdown(rows: list[dict]) -> str:
    """Hessian trace of standard vs Hessian-regularised checkpoints, with the paired difference."""
    lines = ["| model | trace standard (95% CI) | trace Hessian-reg. (95% CI) | difference (paired 95% CI) "
             "| float acc standard / Hessian | acc difference (paired 95% CI) |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['arch']} | {r['trace_standard']:.2f} ({r['trace_standard_lo']:.2f}-{r['trace_standard_hi']:.2f}) "
                     f"| {r['trace_hessian']:.2f} ({r['trace_hessian_lo']:.2f}-{r['trace_hessian_hi']:.2f}) "
                     f"| {r['trace_difference']:+.2f} ({r['trace_difference_lo']:+.2f} to {r['trace_difference_hi']:+.2f}) "
                     f"| {r['acc_standard']:.3f} / {r['acc_hessian']:.3f} "
                     f"| {r['trace_accdiff']:+.4f} ({r['trace_accdiff_lo']:+.4f} to {r['trace_accdiff_hi']:+.4f}) |")
    return "\n".join(lines) + "\n"
