"""Models, data, training and (faulty) quantized evaluation (design.md section 4).

Contract API: :func:`load_dataset`, :data:`MODEL_NAMES`, :func:`load_model`,
:class:`QuantizedModel`, :class:`LayerInfo`, :func:`evaluate_faulty`, :class:`TrialResults`,
:func:`default_sampler`.
"""

from qtaml_hw.nn.checkpoint import load_model, save_checkpoint
from qtaml_hw.nn.data import DATASET_NAMES, Dataset, load_dataset, tensors_from_loader
from qtaml_hw.nn.evaluate import TrialResults, default_sampler, evaluate_faulty
from qtaml_hw.nn.models import MODEL_NAMES, build_model
from qtaml_hw.nn.quantized import LayerInfo, QuantizedModel, weight_layers

__all__ = ["DATASET_NAMES", "Dataset", "LayerInfo", "MODEL_NAMES", "QuantizedModel", "TrialResults",
           "build_model", "default_sampler", "evaluate_faulty", "load_dataset", "load_model",
           "save_checkpoint", "tensors_from_loader", "weight_layers"]

# PyTorch replay layer (design.md section 6)
from qtaml_hw.nn.replay import ReplayLayer, calibrate_activation_scale, replay_model  # noqa: E402

__all__ += ["ReplayLayer", "calibrate_activation_scale", "replay_model"]
