"""`qtaml-hw calibrate`: fit the software flip model to the RTL "hardware", then train on it (design.md section 8).

The ``--rtl-*`` values configure the hardware side only (:class:`qtaml_hw.rtlnn.hw_device.RTLDevice`);
the fit (:mod:`qtaml_hw.nn.calibrate`) sees the layer outputs of its calibration inputs and
nothing else.  They are printed next to the fit afterwards, for comparison.  With
``--finetune-epochs E`` the model is then fine-tuned noise-aware under the *calibrated* flip
model and written as ``<model>_calibrated`` to ``--out``.
"""

from __future__ import annotations

from qtaml_hw.commands._common import (add_json, add_seed, emit_json, nonneg_int, positive_float, positive_int,
                                       probability)

NAME = "calibrate"
HELP = "RTL-in-the-loop calibration: fit p10, r (and the retention spread) from RTL layer outputs"
ORDER = 41


def add_arguments(parser) -> None:
    parser.add_argument("--model", default="lenet5", help="checkpoint whose layer runs on the RTL (default lenet5)")
    parser.add_argument("--layer", default="conv2", help="layer mapped onto the array (default conv2)")
    hw = parser.add_argument_group("hardware side only (hidden from the fit)")
    hw.add_argument("--rtl-p10", type=probability, required=True, help="SRAM p10 at the reference retention interval")
    hw.add_argument("--rtl-r", type=probability, default=1.0, help="SRAM p01 = r p10 (default 1)")
    hw.add_argument("--rtl-sigma-ln", type=positive_float, default=None,
                    help="log-normal retention spread sigma_ln (default: none, Poisson in t)")
    parser.add_argument("--intervals", default="1",
                        help="retention intervals (x reference) to calibrate at, comma-separated; >= 2 fit the spread")
    parser.add_argument("--simulator", default="verilator", help="verilator (default) or icarus")
    parser.add_argument("--synthetic", action="store_true",
                        help="software stand-in device (memory model, known theta) instead of the RTL")
    parser.add_argument("--rel-p10", type=positive_float, default=0.05, help="stop at 95%% half-width <= this x p10")
    parser.add_argument("--abs-r", type=positive_float, default=0.04, help="stop at 95%% half-width of r <= this")
    parser.add_argument("--batch-states", type=positive_int, default=8, help="memory states per RTL job (default 8)")
    parser.add_argument("--max-states", type=positive_int, default=96, help="cap on memory states (default 96)")
    parser.add_argument("--finetune-epochs", type=nonneg_int, default=0,
                        help="then fine-tune noise-aware under the calibrated model for E epochs (default 0)")
    parser.add_argument("--out", default="models", help="where the calibrated checkpoint goes (default models/)")
    parser.add_argument("--train-subset", type=positive_int, default=None, help="fine-tune on the first N images")
    add_seed(parser)
    add_json(parser)


def _intervals(text: str) -> list[float]:
    from qtaml_hw.errors import QtamlError

    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise QtamlError(f"--intervals must be comma-separated positive numbers, got {text!r}") from None
    if not vals or any(not (v > 0 and v < float("inf")) for v in vals):
        raise QtamlError(f"--intervals must be comma-separated positive numbers, got {text!r}")
    if 1.0 not in vals:
        raise QtamlError("--intervals must include the reference interval 1")
    return sorted(set(vals))


def _device(args):
    from qtaml_hw.errors import QtamlError
    from qtaml_hw.memory import FlipModel
    from qtaml_hw.nn.calibrate import SimulatedDevice
    from qtaml_hw.rtlnn.hw_device import RTLDevice
    from qtaml_hw.seeding import seed_sequence

    hidden_seed = int(seed_sequence(args.seed, "rtl-hardware").generate_state(1)[0])
    dev = RTLDevice(model=args.model, layer=args.layer, p10=args.rtl_p10, r=args.rtl_r, seed=hidden_seed,
                    simulator=args.simulator, sigma_ln=args.rtl_sigma_ln)
    if args.synthetic:
        if args.rtl_sigma_ln is not None:
            raise QtamlError("--synthetic models one retention interval; drop --rtl-sigma-ln")
        return SimulatedDevice(dev.deployed_weights, flip_model=FlipModel(args.rtl_p10, args.rtl_r * args.rtl_p10),
                               seed=hidden_seed), dev.deployed_weights
    return dev, dev.deployed_weights


class _AtInterval:
    """A view of ``device`` whose memory states all have retention interval ``t_rel``."""

    def __init__(self, device, t_rel: float):
        self.device, self.t_rel = device, t_rel

    @property
    def rtl_runs(self) -> int:
        return self.device.rtl_runs

    def run(self, probe, states):
        if self.t_rel == 1.0:
            return self.device.run(probe, states)
        return self.device.run(probe, states, t_rel=self.t_rel)


def run(args) -> int:
    import sys

    from qtaml_hw.errors import QtamlError
    from qtaml_hw.nn.calibrate import calibrate, fit_lognormal

    intervals = _intervals(args.intervals)
    if len(intervals) > 1 and args.synthetic:
        raise QtamlError("--synthetic models one retention interval; give --intervals 1")
    device, clean = _device(args)
    fits = {}
    for t in intervals:
        print(f"calibrate: retention interval {t:g} x reference", file=sys.stderr, flush=True)
        fits[t], trace = calibrate(_AtInterval(device, t), clean, rel_p10=args.rel_p10, abs_r=args.abs_r,
                                   batch_states=args.batch_states, max_states=args.max_states)
    ref = fits[1.0]
    spread = fit_lognormal(intervals, [fits[t].counts.ones for t in intervals],
                           [fits[t].counts.flips10 for t in intervals])
    out = {"model": args.model, "layer": args.layer, "source": "synthetic" if args.synthetic else args.simulator,
           **ref.as_dict(), "rtl_runs": device.rtl_runs, "memory_states": ref.counts.states,
           "retention_spread": spread, "trace": trace,
           **(device.counters() if hasattr(device, "counters") else {}),
           "rtl_hidden": {"p10": args.rtl_p10, "r": args.rtl_r, "sigma_ln": args.rtl_sigma_ln},
           "error": {"p10_rel": abs(ref.p10 - args.rtl_p10) / args.rtl_p10 if args.rtl_p10 else None,
                     "r_abs": abs(ref.r - args.rtl_r)}}
    if args.finetune_epochs:
        out["finetune"] = _finetune(args, ref)
    if args.json:
        emit_json(out)
    else:
        print(f"p10_fit {ref.p10:.5f} (95% CI {ref.ci_p10[0]:.5f}-{ref.ci_p10[1]:.5f}; hidden {args.rtl_p10})")
        print(f"r_fit   {ref.r:.4f} (95% CI {ref.ci_r[0]:.4f}-{ref.ci_r[1]:.4f}; hidden {args.rtl_r})")
        print(f"rtl_runs {device.rtl_runs} memory states, retention spread: {spread}")
    return 0


def _finetune(args, fit) -> dict:
    """Continue training (noise-aware) under the calibrated flip model; writes ``<model>_calibrated``."""
    import dataclasses

    import torch

    from qtaml_hw.nn.checkpoint import load_model, save_checkpoint
    from qtaml_hw.nn.data import load_dataset
    from qtaml_hw.nn.methods import FINETUNE_LR_FACTOR, MethodSpec, train_with_method
    from qtaml_hw.nn.train import RECIPES, accuracy

    reference, entry = load_model(args.model)
    arch = entry["arch"]
    spec = MethodSpec(method="noise-aware", p10=float(fit.p10), r=float(min(max(fit.r, 0.0), 1.0)), pretrained=True)
    cfg = dataclasses.replace(RECIPES[arch], epochs=args.finetune_epochs, lr=RECIPES[arch].lr * FINETUNE_LR_FACTOR)
    data = load_dataset(entry.get("dataset", "mnist"))
    x, y = data.x_train, data.y_train
    if args.train_subset:
        x, y = x[:args.train_subset], y[:args.train_subset]
    torch.set_num_threads(2)
    model, rec = train_with_method(spec, arch=arch, config=entry["config"], cfg=cfg, x=x, y=y, seed=args.seed,
                                   reference=reference)
    acc = accuracy(model, data.x_test, data.y_test)
    name = f"{args.model}_calibrated"
    new = {**{k: v for k, v in entry.items() if k not in ("file", "sha256", "bytes")}, "float_accuracy": acc,
           "method": {**rec, "calibration": fit.as_dict()}, "seed": args.seed}
    saved = save_checkpoint(model, directory=args.out, name=name, entry=new)
    return {"checkpoint": name, "epochs": cfg.epochs, "float_accuracy": acc, "sha256": saved["sha256"],
            "seconds": rec["seconds"]}
