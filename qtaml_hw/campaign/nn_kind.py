"""The ``nn`` task kind: a network's accuracy and loss under faults (design.md sections 3 and 7).

Per trial: ``evaluate_faulty`` of the quantized checkpoint with the plan's weight sampler --
``nn.default_sampler`` (ideal protection of each layer's top ``m_l`` bits), TAC's
``corrected_sampler`` (mean-corrected read) or ``ecc.ECCSampler`` (a real code over the
protected planes).  Adaptive plans get their per-layer ``m_l`` from :func:`analysis`, TAC's
label-free analysis, when the tasks are expanded.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch

from qtaml_hw.campaign.config import ModelTarget
from qtaml_hw.campaign.kinds import canonical_json, register
from qtaml_hw.campaign.tasks import FlipTrialParams, combine_moments, error_moments
from qtaml_hw.ecc import ECCSampler
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn import QuantizedModel, default_sampler, evaluate_faulty, load_dataset, load_model
from qtaml_hw.tac import corrected_sampler, rho_table
from qtaml_hw.tac.analysis import analyse
from qtaml_hw.tac.correction import corrected_read


@attrs.frozen
class NNTrialParams(FlipTrialParams):
    """Parameters of an ``nn`` task (the target is a :class:`ModelTarget`)."""


_ANALYSES: dict[str, object] = {}  # per-process cache of label-free analyses (see :func:`analysis`)


def quantized_model(target: ModelTarget):
    """(the target's :class:`QuantizedModel`, its manifest entry)."""
    model, entry = load_model(target.name, models_dir=target.models_dir)
    return QuantizedModel(model, bits=target.bits, per_channel=target.per_channel, code=target.code), entry


def model_context(target: ModelTarget) -> dict:
    """A task context: the target's quantized model and its dataset's test images (the first
    ``target.test_subset`` of them when set): ``{"qmodel", "x", "y"}``."""
    qmodel, entry = quantized_model(target)
    ds = load_dataset(entry.get("dataset", "mnist"))
    x, y = ds.x_test, ds.y_test
    if target.test_subset:
        x, y = x[:target.test_subset], y[:target.test_subset]
    return {"qmodel": qmodel, "x": x, "y": y}


def analysis(target: ModelTarget, *, p10: float, p01: float, calib_samples: int, probes: int, seed: int):
    """Label-free TAC analysis of an ``nn`` target at one fault point (``qtaml_hw.tac.analysis.analyse``).

    Sensitivities ``S_l`` from ``calib_samples`` unlabeled training images and ``probes`` random
    output projections, residual curves ``R_l(m)`` of the flip model, ``n_l``, ``s_l^2`` and
    ``||W_l||^2``: everything a layer-adaptive plan and rho* need, and nothing that sees a
    label or a Monte Carlo trial (design.md section 3).  Deterministic in its arguments.
    """
    key = canonical_json({"target": repr(target), "p10": p10, "p01": p01,
                          "calib": calib_samples, "probes": probes, "seed": seed})
    if key not in _ANALYSES:
        qmodel, entry = quantized_model(target)
        data = load_dataset(entry.get("dataset", "mnist"))
        _ANALYSES[key] = analyse(qmodel, data.x_train[:calib_samples], flip_model=FlipModel(p10, p01),
                                 probes=probes, seed=seed)
    return _ANALYSES[key]


def layer_sizes(target: ModelTarget) -> list[int]:
    """Weights per memory tensor of the network."""
    return [layer.n_weights for layer in quantized_model(target)[0].layers]


def _sampler(params: NNTrialParams, protect: dict):
    fm = params.flip_model
    if params.ecc:
        return ECCSampler(fm, protect, code=params.ecc,
                          dequantize=corrected_read(fm) if params.mean_correction else None)
    return (corrected_sampler if params.mean_correction else default_sampler)(fm, protect)


class NNKind:
    """A network's accuracy and loss under faults via the NN layer's ``evaluate_faulty``."""

    name = "nn"
    params_type = NNTrialParams
    metrics = ("accuracy", "loss")
    primary = "accuracy"

    layer_sizes = staticmethod(layer_sizes)  # used by the config expansion (qtaml_hw.campaign.expand)
    analysis = staticmethod(analysis)

    def context_key(self, params: NNTrialParams) -> str:
        return repr(params.target)  # includes models_dir: where the checkpoint is read from

    def prepare(self, params: NNTrialParams) -> dict:
        return model_context(params.target)

    @staticmethod
    def clean_accuracy(ctx: dict) -> float:
        """Accuracy of the quantized network without faults on the context's test images."""
        with torch.no_grad():
            return float((ctx["qmodel"](ctx["x"]).argmax(-1) == ctx["y"]).float().mean())

    def info(self, ctx: dict, params: NNTrialParams) -> dict:
        qmodel = ctx["qmodel"]
        clean = self.clean_accuracy(ctx)
        layers = qmodel.layers
        qt0 = layers[0].qtensor
        out = {"clean_accuracy": clean, "n_test": int(len(ctx["x"])),
               "n_weights": int(sum(layer.qtensor.codes.size for layer in layers))}
        protect = params.layer_protect([layer.name for layer in layers])
        parts = [error_moments(layer.qtensor.codes, np.asarray(layer.qtensor.scale, np.float64) ** 2, bits=qt0.bits,
                               code=qt0.code, p10=params.p10, p01=params.p01,
                               protect_msb=int(protect.get(layer.name, 0))) for layer in layers]
        out.update(combine_moments(parts, [layer.n_weights for layer in layers]))
        if params.strategy == "tac" and params.analysis is not None:
            a = params.analysis
            an = analysis(params.target, p10=params.p10, p01=params.p01, calib_samples=a.calib_samples,
                          probes=a.probes, seed=a.seed)
            out["rho_table"] = rho_table(a=an.scores, n=an.n, curves=an.curves)
            out["predicted_output_variance"] = an.predicted_variance([params.protect[name] for name in an.names])
        return out

    def run(self, ctx: dict, params: NNTrialParams, *, seed: int, start: int, count: int) -> dict:
        qmodel = ctx["qmodel"]
        sampler = _sampler(params, params.layer_protect([layer.name for layer in qmodel.layers]))
        res = evaluate_faulty(qmodel, ctx["x"], ctx["y"], trials=count, seed=seed, weight_sampler=sampler,
                              batch_trials=count, trial_offset=start)
        return {"accuracy": np.asarray(res.accuracy, dtype=np.float64), "loss": np.asarray(res.loss, dtype=np.float64)}


NN = register(NNKind())
