"""PyTorch replay layer: the accelerator's integer layer plus fault records, exactly (design.md section 6).

:class:`ReplayLayer` replaces one ``nn.Conv2d``/``nn.Linear`` of a quantized model by the
integer layer the RTL computes:

    a   = clip(round(x / s_a), -127, 127)                  (int8 activations, per tensor)
    acc = wrap_int32(conv_or_matmul(a, v))                  (int8 weight codes v, int32 acc)
    y   = s_a * s_w * acc + bias                           (dequantization)

The integer convolution runs in float64, which is exact here: every partial sum is an
integer of magnitude at most K * 128 * 128 < 2^53.  Fault records change ``acc`` exactly:

* weight-memory (SRAM) faults: the weights the SRAM returns (``set_weights``, int8 codes
  decoded from a corrupted memory image, through ECC when on) replace ``v``;
* register faults (saboteur site, cycle, mask in one run of a tile): each adds an exact
  int32 delta to a block of ``acc``; the deltas come from a *tiling* object (the rtlnn
  layer's ``LayerMapping.register_fault_delta``, built on the RTL's cycle schedule), passed in
  so this module depends on nothing above ``nn``;
* RTL accumulators (``set_accumulators``): the layer outputs an RTL run produced, so the
  rest of the network runs in PyTorch on them.

An optional mean correction (TAC, design.md section 3) is a per-bit-field dequantization
``w_hat = s_w (v'_prot + (v'_unprot - c_u) / a)`` folded into the output dequantization
(:meth:`ReplayLayer.set_mean_correction`).

Activation scale: :func:`calibrate_activation_scale` takes ``s_a = max |x| / 127`` over the
layer's inputs on unlabeled calibration images (labels are never used).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn.quantized import QuantizedModel

ACT_QMAX = 127
_MOD = 1 << 32


def _wrap_int32_t(x: torch.Tensor) -> torch.Tensor:
    return torch.remainder(x + (1 << 31), _MOD) - (1 << 31)


def find_module(model: nn.Module, name: str) -> nn.Module:
    mods = dict(model.named_modules())
    if name not in mods:
        raise QtamlError(f"no module named {name!r}")
    return mods[name]


def layer_names(qmodel: QuantizedModel) -> list[str]:
    """Names of the Conv2d/Linear (groups=1) layers that map onto the array."""
    out = []
    for info in qmodel.layers:
        mod = find_module(qmodel.model, info.name)
        if isinstance(mod, nn.Linear) or (isinstance(mod, nn.Conv2d) and mod.groups == 1):
            out.append(info.name)
    return out


@torch.no_grad()
def layer_inputs(qmodel: QuantizedModel, name: str, x: torch.Tensor) -> torch.Tensor:
    """The float inputs of layer ``name`` when the clean quantized model runs on ``x``."""
    mod = find_module(qmodel.model, name)
    got = []
    handle = mod.register_forward_hook(lambda m, inp, out: got.append(inp[0].detach()))
    try:
        qmodel(x)
    finally:
        handle.remove()
    return torch.cat(got) if len(got) > 1 and got[0].dim() > 0 else got[0]


@torch.no_grad()
def calibrate_activation_scale(qmodel: QuantizedModel, name: str, x_calib: torch.Tensor) -> float:
    """``s_a = max |x| / 127`` of layer ``name``'s inputs over unlabeled images ``x_calib``."""
    m = float(layer_inputs(qmodel, name, x_calib).abs().max())
    return m / ACT_QMAX if m > 0 else 1.0


class ReplayLayer(nn.Module):
    """Integer replay of one Conv2d/Linear layer (module docstring)."""

    def __init__(self, module: nn.Module, *, codes: np.ndarray, scale, s_a: float, tiling=None):
        super().__init__()
        if isinstance(module, nn.Conv2d):
            if module.groups != 1:
                raise QtamlError("grouped/depthwise convolutions do not map onto the GEMM array")
            if module.padding_mode != "zeros" or isinstance(module.padding, str):
                raise QtamlError("only numeric zero padding is supported")
            self.kind = "conv"
            self.conv = dict(stride=module.stride, padding=module.padding, dilation=module.dilation)
        elif isinstance(module, nn.Linear):
            self.kind = "linear"
            self.conv = {}
        else:
            raise QtamlError(f"ReplayLayer replaces nn.Conv2d or nn.Linear, not {type(module).__name__}")
        self.weight_shape = tuple(module.weight.shape)
        self.s_a = float(s_a)
        s_w = np.asarray(scale, np.float64).reshape(-1)
        self.register_buffer("s_w", torch.as_tensor(s_w if s_w.size > 1 else s_w[:1], dtype=torch.float64))
        bias = module.bias.detach().double() if module.bias is not None else None
        self.register_buffer("bias", bias)
        self.tiling = tiling
        self.clean_codes = np.asarray(codes)
        self.set_weights(None)
        self.register_faults = ()
        self._acc_override = None
        self._correction = None
        self.last_acc: torch.Tensor | None = None
        self.last_a: torch.Tensor | None = None

    # ------------------------------------------------------------ fault records
    def set_weights(self, w_int) -> None:
        """Weight codes the memory returns: int8 values in the layer's weight shape (None: clean)."""
        w = self.clean_codes.astype(np.uint8).view(np.int8) if w_int is None else np.asarray(w_int)
        if w.shape != self.weight_shape:
            raise QtamlError(f"weights must have shape {self.weight_shape}, got {w.shape}")
        self.w_int = torch.as_tensor(np.asarray(w, np.float64))

    def set_register_faults(self, faults, *, fault_model: str = "reuse") -> None:
        """Register fault records (``LayerMapping``'s ``RegisterFault``); needs a ``tiling``.

        ``fault_model`` names the tiling's software fault model that turns a record into its
        exact accumulator delta (``"reuse"``: FIdelity-style; ``"schedule"``: tile re-evaluation).
        """
        faults = tuple(faults)
        if faults and self.tiling is None:
            raise QtamlError("register fault records need the layer's tiling (LayerMapping)")
        self.register_faults = faults
        self.fault_model = fault_model

    def set_accumulators(self, acc) -> None:
        """Use these int32 accumulators (M, N_out), e.g. from an RTL run, for the next forward."""
        self._acc_override = None if acc is None else torch.as_tensor(np.asarray(acc, np.int64))

    def set_mean_correction(self, *, a: float, c_unprot: float, protect_bits: int, bits: int = 8) -> None:
        """TAC mean correction as a dequantization change (module docstring); ``a == 1`` disables.

        With ``acc'`` the array's result, ``acc_p`` the same GEMM over the protected top
        ``m`` bits of the read weights and ``rowsum = sum_k a_k``:
        ``y = s_a s_w ((acc' - acc_p) / a + acc_p - c_u rowsum / a) + bias``.
        """
        self._correction = None if a == 1.0 and c_unprot == 0.0 else (float(a), float(c_unprot), int(protect_bits), bits)

    def clear_faults(self) -> None:
        self.set_weights(None)
        self.register_faults = ()
        self._acc_override = None

    # ------------------------------------------------------------ integer core
    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(torch.round(x.double() / self.s_a), -ACT_QMAX, ACT_QMAX)

    def _gemm(self, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.kind == "conv":
            return F.conv2d(a, w, None, **self.conv)
        return a @ w.reshape(w.shape[0], -1).T

    def to_rows(self, out: torch.Tensor) -> torch.Tensor:
        """(M, N_out) view in the RTL's row order (image, output row, output column)."""
        if self.kind == "conv":
            return out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])
        return out.reshape(-1, out.shape[-1])

    def from_rows(self, flat: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        if self.kind == "conv":
            b, c, h, w = like.shape
            return flat.reshape(b, h, w, c).permute(0, 3, 1, 2)
        return flat.reshape(like.shape)

    def accumulators(self, x: torch.Tensor) -> torch.Tensor:
        """int64 tensor of the int32 accumulators in the layer's output layout (faults applied)."""
        a = self.quantize_input(x)
        self.last_a = a
        acc = _wrap_int32_t(self._gemm(a, self.w_int).round().long())
        if self._acc_override is not None:
            flat = self._acc_override
            if flat.shape != self.to_rows(acc).shape:
                raise QtamlError(f"accumulators must have shape {tuple(self.to_rows(acc).shape)}, got {tuple(flat.shape)}")
            acc = self.from_rows(flat, acc)
        elif self.register_faults:
            flat = self.to_rows(acc).clone()
            a_pad = self.tiling.activation_matrix(a.numpy().astype(np.int8))
            w_pad = self.tiling.padded_weights(self.tiling.w_from_codes(self.w_int.numpy().astype(np.int8).view(np.uint8)))
            for f in self.register_faults:
                rs, cs, d = self.tiling.register_fault_delta(a_pad, w_pad, f, fault_model=self.fault_model)
                ncols = min(cs.stop, flat.shape[1]) - cs.start
                if ncols > 0:
                    blk = flat[rs, cs.start:cs.start + ncols] + torch.as_tensor(d[:, :ncols])
                    flat[rs, cs.start:cs.start + ncols] = _wrap_int32_t(blk)
            acc = self.from_rows(flat, acc)
        return acc

    def dequantize(self, acc: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        shape = [1, -1, 1, 1] if self.kind == "conv" else [-1]
        s_w = self.s_w.reshape(shape) if self.s_w.numel() > 1 else self.s_w
        accf = acc.double()
        if self._correction is not None:
            alpha, c_u, m, bits = self._correction
            v = self.w_int.long()
            prot = (((v & 0xFF) >> (bits - m)) << (bits - m)).double()   # top m bits, unsigned pattern
            prot = torch.where(prot >= 128, prot - 256, prot)             # two's complement sign bit weight -128
            acc_p = self._gemm(a, prot)
            rowsum = self._gemm(a, torch.ones_like(self.w_int))
            accf = (accf - acc_p) / alpha + acc_p - c_u * rowsum / alpha
        y = self.s_a * s_w * accf
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acc = self.accumulators(x)
        self.last_acc = acc
        return self.dequantize(acc, self.last_a).to(x.dtype)


def replay_model(qmodel: QuantizedModel, name: str, *, s_a: float, tiling=None) -> tuple[nn.Module, ReplayLayer]:
    """A copy of the clean quantized model with layer ``name`` replaced by a :class:`ReplayLayer`."""
    model = copy.deepcopy(qmodel.model).eval()
    params = dict(model.named_parameters())
    with torch.no_grad():
        for info in qmodel.layers:
            params[info.param_name].copy_(qmodel._clean[info.param_name])
    info = qmodel.layer(name)
    module = find_module(model, name)
    layer = ReplayLayer(module, codes=info.qtensor.codes, scale=info.qtensor.scale, s_a=s_a, tiling=tiling)
    parent_name, _, child = name.rpartition(".")
    parent = find_module(model, parent_name) if parent_name else model
    setattr(parent, child, layer)
    return model, layer


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(-1) == y).float().mean())
