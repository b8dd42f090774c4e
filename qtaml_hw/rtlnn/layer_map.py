"""Map one Conv2d/Linear layer of a quantized model onto ``rtl/accel_top.v`` (design.md section 6).

Integer layer (the golden model the RTL must equal bit-exactly):

* weights: the layer's int8 codes ``v`` (``QuantizedModel`` scale ``s_w``, per tensor or per
  output channel) as a matrix ``W`` (K, N_out), K = C_in * kh * kw in ``F.unfold`` order
  (channel-major, then kernel row, then kernel column), i.e. ``weight.reshape(N_out, K).T``;
* activations: per-tensor symmetric int8, ``a = clip(round(x / s_a), -127, 127)`` with
  ``s_a = max|x| / 127`` over the layer's inputs on unlabeled calibration images (the
  first images of the training split; see :func:`qtaml_hw.nn.replay.calibrate_activation_scale`);
* conv via im2col: ``A`` (M, K), M = images * H_out * W_out (rows ordered image, output row,
  output column); a Linear layer has one row per input vector;
* accumulators: ``acc = wrap_int32(A @ W)`` (int32, two's complement, as the array's
  ``p_q`` registers); output ``y = s_a * s_w * acc + bias`` (float).

Tiling onto an N x N array with ``MaxPasses = 2**PassBits`` and ``MaxRows = 2**RowBits``:

* K is padded with zero rows to ``k_pad = n_kc * ppc * N``: P = ceil(K/N) passes split into
  ``n_kc = ceil(P / MaxPasses)`` K chunks of equal length ``ppc = ceil(P / n_kc)`` passes
  (at most ``n_kc - 1`` padded passes); chunk ``kc`` covers rows ``[kc*ppc*N, (kc+1)*ppc*N)``;
* N_out is padded with zero columns to ``n_ct * N``; column tile ``ct`` = columns ``[ct*N, (ct+1)*N)``;
* M is split into row chunks of ``MaxRows`` rows (the last may be shorter).

Runs go ``for ct: for kc: load weight tile (ct, kc); for rc: run``; run ``(ct, kc, rc)``
preloads the output buffer with the result of ``(ct, kc-1, rc)`` (zeros for kc = 0), so the
array accumulates the K chunks exactly like one long reduction (wrapping once or after every
addition is the same in Z/2^32).  Padded weights multiply zero activations and padded
columns are dropped, so padding never changes a result, even when it is corrupted.

Layer memory image: all weight tiles of the layer, tile ``(ct, kc)`` at words
``(ct * n_kc + kc) * wpt .. + wpt - 1`` (``wpt = ppc * N * N / 8``), each tile in
:func:`qtaml_hw.fidelity.layout.weight_words` order.  Leakage corrupts this image once per trial
(charge loss persists), and each tile is written clean (the SECDED encoder computes its check
bits) and then XOR-corrupted in the RTL SRAM, so the RTL sees exactly the stored image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.fidelity.layout import weight_words, weights_from_words
from qtaml_hw.fidelity.schedule import FAULT_CLASSES, Fault, reference_output
from qtaml_hw.errors import QtamlError

ACT_QMAX = 127
REGISTER_CLASSES = ("weight", "act", "psum", "out")
FAULT_MODELS = ("reuse", "schedule")


def quantize_activations(x, s_a: float) -> np.ndarray:
    """``clip(round(x / s_a), -127, 127)`` as int8 (round half to even, like ``np.rint``/``torch.round``)."""
    return np.clip(np.rint(np.asarray(x, np.float64) / s_a), -ACT_QMAX, ACT_QMAX).astype(np.int8)


def im2col(x_int8: np.ndarray, *, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> np.ndarray:
    """Rows of ``F.unfold``: (images * H_out * W_out, C * kh * kw) int8, zero padding."""
    x = np.asarray(x_int8, np.int8)
    b, c, h, w = x.shape
    kh, kw = kernel
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cols = np.empty((b, c, kh, kw, ho, wo), np.int8)
    for i in range(kh):
        for j in range(kw):
            hi, wj = i * dilation[0], j * dilation[1]
            cols[:, :, i, j] = xp[:, :, hi:hi + stride[0] * (ho - 1) + 1:stride[0], wj:wj + stride[1] * (wo - 1) + 1:stride[1]]
    return cols.reshape(b, c * kh * kw, ho * wo).transpose(0, 2, 1).reshape(b * ho * wo, c * kh * kw)


@dataclass(frozen=True)
class RegisterFault:
    """A saboteur fault in one run of a layer: run ``(ct, kc, rc)`` plus a schedule :class:`Fault`.

    ``cls`` in weight/act/psum/out, ``row``/``col`` the PE (``col`` only for out),
    ``cycle`` relative to that run's start, ``mask`` XOR-ed into the register's next value.
    """

    ct: int
    kc: int
    rc: int
    cls: str
    row: int
    col: int
    cycle: int
    mask: int

    def __post_init__(self):
        if self.cls not in REGISTER_CLASSES:
            raise QtamlError(f"register fault class must be one of {', '.join(REGISTER_CLASSES)}, got {self.cls!r}")

    def schedule_fault(self) -> Fault:
        return Fault(self.cls, self.row, self.col, self.cycle, self.mask)

    def as_row(self) -> list[int]:
        return [self.ct, self.kc, self.rc, FAULT_CLASSES.index(self.cls), self.row, self.col, self.cycle,
                self.mask & 0xFFFFFFFF]

    @classmethod
    def from_row(cls, row) -> "RegisterFault":
        ct, kc, rc, code, r, c, t, m = (int(v) for v in row)
        return cls(ct, kc, rc, FAULT_CLASSES[code], r, c, t, m)


@dataclass(frozen=True)
class LayerMapping:
    """Integer layer + its tiling on an N x N array (module docstring)."""

    name: str
    kind: str                 # "conv" or "linear"
    w_int: np.ndarray         # (K, N_out) int8, F.unfold order
    weight_shape: tuple
    n: int
    max_passes: int
    max_rows: int
    conv: dict = field(default_factory=dict)   # kernel, stride, padding, dilation

    def __post_init__(self):
        if self.n not in (4, 8, 16):
            raise QtamlError(f"array size N must be 4, 8 or 16, got {self.n}")
        if self.max_passes < 1 or self.max_rows < 1:
            raise QtamlError("max_passes and max_rows must be >= 1")

    @property
    def k(self) -> int:
        return int(self.w_int.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.w_int.shape[1])

    @property
    def passes_total(self) -> int:
        return math.ceil(self.k / self.n)

    @property
    def n_kc(self) -> int:
        return math.ceil(self.passes_total / self.max_passes)

    @property
    def ppc(self) -> int:
        """Passes per K chunk."""
        return math.ceil(self.passes_total / self.n_kc)

    @property
    def kc_len(self) -> int:
        return self.ppc * self.n

    @property
    def k_pad(self) -> int:
        return self.n_kc * self.kc_len

    @property
    def n_ct(self) -> int:
        return math.ceil(self.n_out / self.n)

    @property
    def words_per_tile(self) -> int:
        return self.ppc * self.n * self.n // 8

    @property
    def image_words(self) -> int:
        return self.n_ct * self.n_kc * self.words_per_tile

    def n_rc(self, rows: int) -> int:
        return math.ceil(rows / self.max_rows)

    def rows_of(self, rc: int, rows: int) -> slice:
        return slice(rc * self.max_rows, min((rc + 1) * self.max_rows, rows))

    def runs(self, rows: int):
        """Run order ``(ct, kc, rc)`` (module docstring)."""
        for ct in range(self.n_ct):
            for kc in range(self.n_kc):
                for rc in range(self.n_rc(rows)):
                    yield ct, kc, rc

    # ---------------------------------------------------------------- weights / image
    def padded_weights(self, w_int=None) -> np.ndarray:
        w = self.w_int if w_int is None else np.asarray(w_int, np.int8)
        out = np.zeros((self.k_pad, self.n_ct * self.n), np.int8)
        out[: self.k, : self.n_out] = w
        return out

    def tile_base(self, ct: int, kc: int) -> int:
        return (ct * self.n_kc + kc) * self.words_per_tile

    def memory_image(self, w_int=None) -> np.ndarray:
        """uint64 SRAM image of the whole layer (module docstring)."""
        wp = self.padded_weights(w_int)
        tiles = [weight_words(wp[kc * self.kc_len:(kc + 1) * self.kc_len, ct * self.n:(ct + 1) * self.n], n=self.n)
                 for ct in range(self.n_ct) for kc in range(self.n_kc)]
        return np.concatenate(tiles).astype("<u8")

    def weights_from_image(self, image) -> np.ndarray:
        """(k_pad, n_ct*N) int8 padded weight matrix from a (possibly corrupted) layer image."""
        image = np.asarray(image, "<u8")
        if image.shape != (self.image_words,):
            raise QtamlError(f"layer image must have {self.image_words} words, got shape {image.shape}")
        out = np.zeros((self.k_pad, self.n_ct * self.n), np.int8)
        for ct in range(self.n_ct):
            for kc in range(self.n_kc):
                b = self.tile_base(ct, kc)
                out[kc * self.kc_len:(kc + 1) * self.kc_len, ct * self.n:(ct + 1) * self.n] = \
                    weights_from_words(image[b:b + self.words_per_tile], n=self.n)
        return out

    def layer_weights_from_image(self, image) -> np.ndarray:
        """int8 weights in the layer's weight shape as the SRAM image holds them (for ``ReplayLayer.set_weights``)."""
        w = self.weights_from_image(image)[: self.k, : self.n_out]
        return np.ascontiguousarray(w.T).reshape(self.weight_shape)

    def codes_to_image_masks(self, faulty_codes, clean_codes) -> np.ndarray:
        """XOR masks on the layer image that turn ``clean_codes`` into ``faulty_codes``.

        Both are raw 8-bit codes in the layer's weight shape (e.g. ``flip_bits`` output for
        one trial): the software model's faults expressed as SRAM corruption (paired runs).
        """
        fw = self.w_from_codes(faulty_codes)
        cw = self.w_from_codes(clean_codes)
        return self.memory_image(fw) ^ self.memory_image(cw)

    def w_from_codes(self, codes) -> np.ndarray:
        """(K, N_out) int8 matrix from raw two's complement codes in the layer's weight shape."""
        c = np.asarray(codes).astype(np.uint8).view(np.int8)
        if c.shape != tuple(self.weight_shape):
            raise QtamlError(f"codes must have the layer weight shape {self.weight_shape}, got {c.shape}")
        return np.ascontiguousarray(c.reshape(self.n_out, -1).T)

    # ---------------------------------------------------------------- activations / golden
    def activation_matrix(self, x_int8: np.ndarray) -> np.ndarray:
        """A (M, k_pad) int8: im2col for conv, flattened rows for linear, zero-padded to k_pad."""
        if self.kind == "conv":
            a = im2col(x_int8, **self.conv)
        else:
            x = np.asarray(x_int8, np.int8)
            a = x.reshape(-1, x.shape[-1])
        if a.shape[1] != self.k:
            raise QtamlError(f"layer {self.name!r} expects {self.k} inputs per row, got {a.shape[1]}")
        out = np.zeros((a.shape[0], self.k_pad), np.int8)
        out[:, : self.k] = a
        return out

    def accumulators(self, a_pad: np.ndarray, w_pad=None) -> np.ndarray:
        """Golden ``wrap_int32(A @ W)`` (M, n_ct*N) with the padded weights (default clean)."""
        w = self.padded_weights() if w_pad is None else w_pad
        return wrap_int32(np.asarray(a_pad, np.int64) @ np.asarray(w, np.int64))

    def tile_operands(self, a_pad, w_pad, ct: int, kc: int, rc: int):
        """(A tile, W tile) int8 of run (ct, kc, rc)."""
        rows = self.rows_of(rc, a_pad.shape[0])
        ks = slice(kc * self.kc_len, (kc + 1) * self.kc_len)
        return a_pad[rows, ks], w_pad[ks, ct * self.n:(ct + 1) * self.n]

    def preload_of(self, a_pad, w_pad, ct: int, kc: int, rc: int) -> np.ndarray:
        """Output buffer at the start of run (ct, kc, rc): the sum of K chunks 0..kc-1."""
        rows = self.rows_of(rc, a_pad.shape[0])
        ks = slice(0, kc * self.kc_len)
        return wrap_int32(np.asarray(a_pad[rows, ks], np.int64) @ np.asarray(w_pad[ks, ct * self.n:(ct + 1) * self.n], np.int64))

    def register_fault_delta(self, a_pad, w_pad, fault: RegisterFault, *, fault_model: str = "reuse"):
        """(row slice, column slice, int64 delta mod 2^32) that one register fault adds to the final acc.

        The faulty run's output comes from a software fault model of its tile with its
        preload: ``"reuse"`` (:func:`qtaml_hw.fidelity.reuse.fault_effect`, FIdelity-style, cost
        O(affected outputs x K)) or ``"schedule"`` (:func:`schedule.reference_output`, a
        re-evaluation of the tile with the faulty operand); later K chunks only add to it,
        so the final accumulator changes by the same amount modulo 2^32.
        """
        if fault_model not in FAULT_MODELS:
            raise QtamlError(f"unknown fault model {fault_model!r}; choose one of {', '.join(FAULT_MODELS)}")
        a_t, w_t = self.tile_operands(a_pad, w_pad, fault.ct, fault.kc, fault.rc)
        pre = self.preload_of(a_pad, w_pad, fault.ct, fault.kc, fault.rc)
        clean = wrap_int32(pre.astype(np.int64) + np.asarray(a_t, np.int64) @ np.asarray(w_t, np.int64))
        if fault_model == "reuse":
            from qtaml_hw.fidelity.reuse import fault_effect

            faulty = fault_effect(fault.schedule_fault(), a_t, w_t, n=self.n, preload=pre).apply(clean)
        else:
            faulty = reference_output(a_t, w_t, n=self.n, preload=pre, fault=fault.schedule_fault())
        delta = (faulty.astype(np.int64) - clean.astype(np.int64)) % (1 << 32)
        return self.rows_of(fault.rc, a_pad.shape[0]), slice(fault.ct * self.n, (fault.ct + 1) * self.n), delta

    def faulty_accumulators(self, a_pad, *, image=None, register_faults=(), fault_model: str = "reuse") -> np.ndarray:
        """Golden faulty acc (M, N_out): weights as read from ``image`` plus register faults."""
        w_pad = self.padded_weights() if image is None else self.weights_from_image(image)
        acc = self.accumulators(a_pad, w_pad).astype(np.int64)
        for f in register_faults:
            rs, cs, d = self.register_fault_delta(a_pad, w_pad, f, fault_model=fault_model)
            acc[rs, cs] += d
        return wrap_int32(acc)[:, : self.n_out]


def top_config_for(mapping: LayerMapping, *, ecc: bool = False, protect_bits: int = 8):
    """The ``accel_top`` build (TopConfig) that runs ``mapping``'s tiles."""
    from qtaml_hw.fidelity.driver import TopConfig

    return TopConfig(n=mapping.n, row_bits=int(math.log2(mapping.max_rows)),
                     pass_bits=int(math.log2(mapping.max_passes)), ecc=int(ecc), protect_bits=protect_bits)


def check_power_of_two(name: str, value: int, lo: int, hi: int) -> int:
    if value < lo or value > hi or value & (value - 1):
        raise QtamlError(f"{name} must be a power of two in [{lo}, {hi}], got {value}")
    return value


def map_layer(module, *, name: str, codes, n: int = 8, max_passes: int = 16, max_rows: int = 32) -> LayerMapping:
    """:class:`LayerMapping` of a Conv2d (groups=1) or Linear ``module`` with raw int8 ``codes``.

    Reads only the module's attributes (kernel_size, stride, padding, dilation, groups).
    """
    codes = np.asarray(codes)
    if codes.dtype.itemsize != 1:
        raise QtamlError(f"layer {name!r}: the RTL stores 8-bit weights; quantize with bits=8")
    check_power_of_two("max_passes", max_passes, 1, 1 << 8)
    check_power_of_two("max_rows", max_rows, 2, 64)
    if hasattr(module, "kernel_size"):
        if getattr(module, "groups", 1) != 1 or len(module.kernel_size) != 2:
            raise QtamlError(f"layer {name!r}: only 2-D convolutions with groups=1 map onto the GEMM array")
        if isinstance(module.padding, str) or getattr(module, "padding_mode", "zeros") != "zeros":
            raise QtamlError(f"layer {name!r}: only numeric zero padding is supported")
        kind = "conv"
        conv = dict(kernel=tuple(module.kernel_size), stride=tuple(module.stride), padding=tuple(module.padding),
                    dilation=tuple(module.dilation))
    else:
        kind, conv = "linear", {}
    w = codes.astype(np.uint8).view(np.int8)
    w_int = np.ascontiguousarray(w.reshape(w.shape[0], -1).T)
    return LayerMapping(name=name, kind=kind, w_int=w_int, weight_shape=tuple(codes.shape), n=n,
                        max_passes=max_passes, max_rows=max_rows, conv=conv)
