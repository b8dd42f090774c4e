"""Why the label-free rho* predictor misses: its inputs varied one at a time, no result store (design.md section 3).

The finite predictor (:func:`qtaml_hw.tac.predict.finite_keep`) reads rho* from the *keep rate*
``E_x P(argmax faulty = argmax clean)`` on calibration images (the tail of the training split),
while the measurement reads it from ``accuracy / clean accuracy`` on the first ``test_subset`` test
images.  :func:`decompose` evaluates, for the same plans and the same fault draws, the three steps
between them:

* ``keep_calib`` -- what the predictor uses (calibration images, no labels);
* ``keep_test``  -- the same label-free keep rate on the test images (image-set effect);
* ``acc_ratio_test`` -- faulty / clean accuracy on the test images (labels; what the Monte Carlo
  measures): it differs from ``keep_test`` because a clean-wrong image that changes class costs
  no accuracy and may even become right.

:func:`repredict` re-runs only the predictor (no trial) with several calibration-set sizes, to
separate its sampling error from its bias.  Command line::

    python -m qtaml_hw.campaign.headline_diag lenet5 --test-subset 200 --predict-samples 64 128 512
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from qtaml_hw.campaign.headline import STRATEGIES, HeadlineConfig, Setup, predicted_crossing
from qtaml_hw.campaign.headline_kind import HeadlineParams, _Context
from qtaml_hw.tac.groups import faulty_weights


def _classes(setup: Setup, weights: dict, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return setup.q.forward_each({k: torch.from_numpy(v) for k, v in weights.items()}, x).argmax(-1).numpy()


def decompose(setup: Setup, test_subset: int, strategy: str, budgets, *, draws: int = 16, seed: int = 0) -> list[dict]:
    """Per budget: ``keep_calib``, ``keep_test``, ``acc_ratio_test`` (module docstring), same draws for all."""
    ctx = _Context(HeadlineParams(setup.model, setup.p10, setup.p01, "plain", (0,), test_subset))
    x_cal = torch.as_tensor(np.asarray(setup.x_pred), dtype=torch.float32)
    with torch.no_grad():
        c_cal, c_test = setup.q(x_cal).argmax(-1).numpy(), setup.q(ctx.x).argmax(-1).numpy()
    y = ctx.y.numpy()
    read = STRATEGIES[strategy][1]
    rows = []
    for b in budgets:
        m = setup.plan(strategy, b)
        w = faulty_weights(setup.q, m, tables=setup.tables[read], flip_model=setup.fm, trials=draws, seed=seed)
        f_cal, f_test = _classes(setup, w, x_cal), _classes(setup, w, ctx.x)
        rows.append({"strategy": strategy, "bpw": setup.ga["plain"].spent_bpw(m),
                     "keep_calib": float((f_cal == c_cal).mean()), "keep_test": float((f_test == c_test).mean()),
                     "acc_ratio_test": float((f_test == y).mean() / (c_test == y).mean())})
    return rows


def repredict(model: str, condition: str, *, test_subset: int, predict_samples: int, seed: int = 0,
              max_bpw: float = 3.0) -> dict:
    """The finite predictor's crossings and rho* with ``predict_samples`` calibration images (no Monte Carlo)."""
    cfg = HeadlineConfig(models=(model,), test_subset=test_subset, calib_samples=128, predict_samples=predict_samples,
                         first_order=False, read_ablation=False, strategies=("uniform", "tac"), coarse_bpw=0.5,
                         max_bpw=max_bpw)
    st = Setup(cfg, model, condition, seed=seed)
    cu, _ = predicted_crossing(st, "uniform", cfg, variant="finite", seed=seed)
    ct, _ = predicted_crossing(st, "tac", cfg, variant="finite", seed=seed)
    return {"model": model, "condition": condition, "predict_samples": predict_samples, "crossing_uniform_bpw": cu,
            "crossing_tac_bpw": ct, "rho_star": cu / ct}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="decompose the rho* predictor's miss (see the module docstring)")
    ap.add_argument("model")
    ap.add_argument("--conditions", nargs="+", default=["symmetric", "directional"])
    ap.add_argument("--test-subset", type=int, default=200)
    ap.add_argument("--predict-samples", type=int, nargs="+", default=[64, 128, 512])
    ap.add_argument("--tac-bpw", type=float, nargs="+", default=[0.1, 0.15, 0.2, 0.25, 0.3, 0.4])
    ap.add_argument("--uniform-bpw", type=float, nargs="+", default=[2.0, 2.2, 2.4, 2.6])
    ap.add_argument("--draws", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    for cond in args.conditions:
        for p in args.predict_samples:
            r = repredict(args.model, cond, test_subset=args.test_subset, predict_samples=p, seed=args.seed)
            print(f"{args.model} {cond} predict_samples={p}: crossing Uniform {r['crossing_uniform_bpw']:.3f} "
                  f"TAC {r['crossing_tac_bpw']:.3f} bits/weight, rho* {r['rho_star']:.2f}")
        cfg = HeadlineConfig(models=(args.model,), test_subset=args.test_subset, calib_samples=128,
                             predict_samples=max(args.predict_samples), first_order=False, read_ablation=False,
                             strategies=("uniform", "tac"))
        st = Setup(cfg, args.model, cond, seed=args.seed)
        print(f"| {cond} | plan | bits/weight | keep, {len(st.x_pred)} calibration images | keep, "
              f"{args.test_subset} test images | accuracy / clean, test images |\n|---|---|---|---|---|---|")
        for strategy, budgets in (("tac", args.tac_bpw), ("uniform", args.uniform_bpw)):
            for r in decompose(st, args.test_subset, strategy, budgets, draws=args.draws, seed=args.seed):
                print(f"| {cond} | {strategy} | {r['bpw']:.2f} | {r['keep_calib']:.3f} | {r['keep_test']:.3f} | "
                      f"{r['acc_ratio_test']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
