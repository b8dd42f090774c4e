"""A user's own nn.Module and DataLoader through the qtaml-hw NN API (design.md section 4).

Run:  python examples/custom_model.py [--trials 32] [--p-flip 0.01]

Trains a tiny conv net on scikit-learn's 8x8 digits for a few seconds, quantizes its
Conv/Linear weights to int8, and measures accuracy under leakage bit flips with and
without ideal protection of the two most significant bits of every weight.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from qtaml_hw.nn import QuantizedModel, default_sampler, evaluate_faulty, load_dataset, tensors_from_loader
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn.train import TrainConfig, accuracy, train_model


class TinyNet(nn.Module):
    """The user's model: any module whose weights live in nn.Conv*/nn.Linear layers."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.head = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        return self.head(self.body(x))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--p-flip", type=float, default=0.01)
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)

    data = load_dataset("digits")
    model = TinyNet()
    train_model(model, data.x_train, data.y_train, cfg=TrainConfig(epochs=args.epochs, lr=1e-2, shift=0.0), seed=0)
    test_loader = DataLoader(TensorDataset(data.x_test, data.y_test), batch_size=64)  # the user's loader
    x, y = tensors_from_loader(test_loader)

    qmodel = QuantizedModel(model, bits=8)
    fm = FlipModel.symmetric(args.p_flip)
    plain = evaluate_faulty(qmodel, x, y, trials=args.trials, seed=0, weight_sampler=default_sampler(fm))
    protected = evaluate_faulty(qmodel, x, y, trials=args.trials, seed=0,
                                weight_sampler=default_sampler(fm, {layer.name: 2 for layer in qmodel.layers}))
    result = {"float_accuracy": accuracy(model, x, y), "int8_accuracy": plain.clean_accuracy,
              "faulty": plain.mean, "faulty_ci95": plain.ci95,
              "faulty_top2_protected": protected.mean, "protected_ci95": protected.ci95,
              "layers": [(layer.name, layer.shape, float(layer.scale)) for layer in qmodel.layers]}
    for key, value in result.items():
        print(f"{key:24s} {value}")
    return result


if __name__ == "__main__":
    main()
