"""Layer -> array mapping (design.md section 6): im2col, tiling, K-chunk preload chaining, fault deltas.

The chained-run emulation below replays the testbench's exact run order with the RTL's
cycle-level model (``schedule.reference_output``, checked against the RTL elsewhere), so
the tiling algebra is tested without a simulator; ``testbenches/layer`` runs it on the RTL.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from qtaml_hw.fidelity.golden import wrap_int32
from qtaml_hw.rtlnn.layer_map import RegisterFault, im2col, map_layer, quantize_activations
from qtaml_hw.fidelity.schedule import Fault, GemmSchedule, reference_output
from qtaml_hw.errors import QtamlError
from qtaml_hw.seeding import rng


def _codes(shape, gen):
    return gen.integers(-127, 128, shape).astype(np.int8).view(np.uint8)


@pytest.mark.parametrize("kernel,stride,padding,dilation", [((5, 5), (1, 1), (0, 0), (1, 1)),
                                                            ((3, 3), (2, 2), (1, 1), (1, 1)),
                                                            ((3, 2), (1, 2), (2, 0), (2, 1))])
def test_im2col_equals_unfold(kernel, stride, padding, dilation):
    gen = rng(0, "im2col")
    x = gen.integers(-127, 128, (2, 3, 9, 8)).astype(np.int8)
    got = im2col(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    ref = F.unfold(torch.from_numpy(x).double(), kernel, dilation=dilation, padding=padding, stride=stride)
    ref = ref.transpose(1, 2).reshape(-1, ref.shape[1]).numpy()
    assert np.array_equal(got.astype(np.float64), ref)


def test_activation_quantization_rounds_half_even_and_clips():
    got = quantize_activations(np.array([0.5, 1.5, -2.5, 300.0, -300.0]), 1.0)
    assert got.tolist() == [0, 2, -2, 127, -127]


def _conv_mapping(n=4, max_passes=4, max_rows=8, seed=1):
    conv = nn.Conv2d(6, 10, 3, padding=1)
    codes = _codes(tuple(conv.weight.shape), rng(seed, "w"))
    return conv, codes, map_layer(conv, name="c", codes=codes, n=n, max_passes=max_passes, max_rows=max_rows)


def test_geometry_and_image_round_trip():
    conv, codes, mp = _conv_mapping()
    assert (mp.k, mp.n_out, mp.passes_total) == (54, 10, 14)
    assert (mp.n_kc, mp.ppc, mp.k_pad, mp.n_ct) == (4, 4, 64, 3)   # 14 passes -> 4 chunks of 4 (2 padded)
    img = mp.memory_image()
    assert img.shape == (mp.image_words,) == (3 * 4 * 4 * 2,)
    assert np.array_equal(mp.weights_from_image(img), mp.padded_weights())
    assert np.array_equal(mp.layer_weights_from_image(img), codes.view(np.int8))


def test_golden_equals_torch_conv():
    conv, codes, mp = _conv_mapping()
    x = rng(2, "x").integers(-127, 128, (3, 6, 5, 7)).astype(np.int8)
    acc = mp.accumulators(mp.activation_matrix(x))[:, : mp.n_out]
    ref = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(codes.view(np.int8)).double(), padding=1)
    assert np.array_equal(acc, ref.permute(0, 2, 3, 1).reshape(-1, 10).numpy().astype(np.int32))


def _emulate_runs(mp, a_pad, w_pad, faults=()):
    """The testbench's run order with the cycle-level RTL model; one fault per run."""
    by_run = {(f.ct, f.kc, f.rc): f.schedule_fault() for f in faults}
    acc = np.zeros((a_pad.shape[0], mp.n_ct * mp.n), np.int32)
    for ct, kc, rc in mp.runs(a_pad.shape[0]):
        rows = mp.rows_of(rc, a_pad.shape[0])
        a_t, w_t = mp.tile_operands(a_pad, w_pad, ct, kc, rc)
        cols = slice(ct * mp.n, (ct + 1) * mp.n)
        acc[rows, cols] = reference_output(a_t, w_t, n=mp.n, preload=acc[rows, cols], fault=by_run.get((ct, kc, rc)))
    return acc[:, : mp.n_out]


def _random_faults(mp, rows, gen, count):
    sched = GemmSchedule(n=mp.n, rows=mp.max_rows, passes=mp.ppc)
    runs = list(mp.runs(rows))
    picked = gen.choice(len(runs), size=count, replace=False)
    out = []
    for j, i in enumerate(picked):
        cls = ("weight", "act", "psum", "out")[j % 4]
        width = 8 if cls in ("weight", "act") else 32
        ct, kc, rc = runs[i]
        out.append(RegisterFault(ct, kc, rc, cls, int(gen.integers(0, mp.n)), int(gen.integers(0, mp.n)),
                                 int(gen.integers(0, sched.total_cycles)), 1 << int(gen.integers(0, width))))
    return out


def test_chained_runs_equal_golden_with_leakage_and_register_faults():
    conv, codes, mp = _conv_mapping()
    gen = rng(3, "chain")
    x = gen.integers(-127, 128, (1, 6, 5, 6)).astype(np.int8)   # 30 rows -> 4 row chunks, last of 6
    a_pad = mp.activation_matrix(x)
    img = mp.memory_image()
    hit = gen.integers(0, 2, img.shape).astype(np.uint64)
    corrupted = img ^ (hit << gen.integers(0, 64, img.shape).astype(np.uint64))
    w_pad = mp.weights_from_image(corrupted)
    assert np.array_equal(_emulate_runs(mp, a_pad, w_pad), mp.faulty_accumulators(a_pad, image=corrupted))
    faults = _random_faults(mp, a_pad.shape[0], gen, 24)
    emulated = _emulate_runs(mp, a_pad, w_pad, faults)
    for model in ("reuse", "schedule"):
        assert np.array_equal(emulated, mp.faulty_accumulators(a_pad, image=corrupted, register_faults=faults,
                                                               fault_model=model))
    assert not np.array_equal(emulated, mp.faulty_accumulators(a_pad, image=corrupted))  # the faults do something


def test_int32_wrap_across_k_chunks():
    lin = nn.Linear(64, 4)
    codes = np.full((4, 64), -128, np.int8).view(np.uint8)
    mp = map_layer(lin, name="l", codes=codes, n=4, max_passes=2, max_rows=2)
    a_pad = mp.activation_matrix(np.full((3, 64), -127, np.int8))
    assert mp.n_kc == 8
    acc = mp.accumulators(a_pad)
    assert np.array_equal(acc[:, :4], wrap_int32(np.full((3, 4), 64 * 127 * 128)))
    assert np.array_equal(_emulate_runs(mp, a_pad, mp.padded_weights()), acc[:, :4])


def test_software_codes_become_image_masks():
    conv, codes, mp = _conv_mapping()
    faulty = codes ^ rng(4, "m").integers(0, 256, codes.shape).astype(np.uint8)
    masks = mp.codes_to_image_masks(faulty, codes)
    assert np.array_equal(mp.layer_weights_from_image(mp.memory_image() ^ masks), faulty.view(np.int8))


def test_bad_layers_and_faults_rejected():
    dw = nn.Conv2d(4, 4, 3, groups=4)
    with pytest.raises(QtamlError, match="groups=1"):
        map_layer(dw, name="dw", codes=np.zeros((4, 1, 3, 3), np.uint8))
    with pytest.raises(QtamlError, match="power of two"):
        map_layer(nn.Linear(8, 8), name="l", codes=np.zeros((8, 8), np.uint8), max_rows=48)
    with pytest.raises(QtamlError, match="register fault class"):
        RegisterFault(0, 0, 0, "sram", 0, 0, 0, 1)
    conv, codes, mp = _conv_mapping()
    with pytest.raises(QtamlError, match="fault model"):
        mp.register_fault_delta(mp.activation_matrix(np.zeros((1, 6, 3, 3), np.int8)), mp.padded_weights(),
                                RegisterFault(0, 0, 0, "act", 0, 0, 5, 1), fault_model="magic")


def test_fault_round_trips_through_job_rows():
    f = RegisterFault(2, 1, 3, "psum", 1, 2, 77, 1 << 31)
    assert RegisterFault.from_row(f.as_row()) == f
    assert isinstance(f.schedule_fault(), Fault)


@pytest.mark.parametrize("argv,needle", [
    (["--sim", "modelsim"], "unknown simulator"),
    (["--model", "nope"], "unknown model"),
    (["--layer", "conv9"], "layers: conv1, conv2, fc1, fc2, fc3"),
    (["--n", "5"], "array size N"),
    (["--ecc", "--protect-bits", "3"], "--protect-bits"),
    (["--protect-bits", "4"], "needs --ecc"),
    (["--tac", "--ecc"], "--tac chooses"),
    (["--p-flip", "0.1", "--t-ox-nm", "2"], "either --p-flip"),
    (["--p-flip", "1.5"], "probability"),
    (["--max-rows", "48"], "power of two"),
    (["--images", "5000"], "images must be in"),
    (["--source", "software", "--ecc"], "plain weight memory"),
])
def test_rtl_run_bad_input_one_line(cli, argv, needle):
    code, out, err = cli("rtl-run", *argv)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
