"""The deployed network's own tiles: the real-layer baseline and the control-fault relevance set.

:func:`layer_tiles` uses :func:`qtaml_hw.rtlnn.layer_eval.setup_layer` (int8 weights,
calibrated int8 activations of real test images, im2col, the tiling of
:mod:`qtaml_hw.rtlnn.layer_map`) on the self-test's build, so its tiles are exactly the
accelerator runs of that layer: run ``(ct, kc, rc)`` has operands
``mapping.tile_operands`` and the partial sums of the earlier K chunks as its preload.

:func:`deployed_configs` lists the tile configurations (rows, passes) the whole network
runs: per layer, K from the weights (``map_layer``), M from the layer's output size on one
forward pass of a blank image (times the number of images), chunked by the build's
MaxRows / MaxPasses exactly as ``LayerMapping`` does.  :func:`representative_tiles` gives one
real-data tile per configuration (a baseline-layer tile with that pass count, cut to the
configuration's rows).  Imports torch (network layer).
"""

from __future__ import annotations

import torch

from qtaml_hw.errors import QtamlError
from qtaml_hw.nn import QuantizedModel, load_model
from qtaml_hw.nn.replay import find_module, layer_names
from qtaml_hw.rtlnn.layer_eval import setup_layer
from qtaml_hw.rtlnn.layer_map import map_layer
from qtaml_hw.selftest.mapping import Tile

DEFAULT_MODEL = "lenet5"
DEFAULT_LAYER = "conv2"


def layer_tiles(*, model: str, layer: str, n: int, max_rows: int, max_passes: int, images: int = 1) -> list[Tile]:
    """All runs of ``layer`` on the first ``images`` test images, in the mapping's run order."""
    s = setup_layer(model=model, layer=layer, n=n, images=images, calib_images=64, max_rows=max_rows,
                    max_passes=max_passes)
    mp, a_pad = s.mapping, s.a_pad
    w_pad = mp.padded_weights()
    tiles = []
    for ct, kc, rc in mp.runs(a_pad.shape[0]):
        a_t, w_t = mp.tile_operands(a_pad, w_pad, ct, kc, rc)
        tiles.append(Tile(a_t, w_t, mp.preload_of(a_pad, w_pad, ct, kc, rc)))
    return tiles


@torch.no_grad()
def deployed_configs(*, model: str, n: int, max_rows: int, max_passes: int, images: int = 1) -> dict:
    """{layer: sorted (rows, passes) configurations of its runs} (module docstring)."""
    net, entry = load_model(model)
    qm = QuantizedModel(net, bits=8)
    size = entry.get("config", {}).get("image_size", 28)
    chans = entry.get("config", {}).get("in_channels", 1)
    out_shapes = {}
    hooks = [find_module(qm.model, name).register_forward_hook(
        lambda m, i, o, name=name: out_shapes.__setitem__(name, tuple(o.shape))) for name in layer_names(qm)]
    try:
        qm(torch.zeros(1, chans, size, size))
    finally:
        for h in hooks:
            h.remove()
    configs = {}
    for name in layer_names(qm):
        mp = map_layer(find_module(qm.model, name), name=name, codes=qm.layer(name).qtensor.codes, n=n,
                       max_passes=max_passes, max_rows=max_rows)
        shape = out_shapes[name]
        rows = images * (shape[2] * shape[3] if len(shape) == 4 else 1)
        chunks = {min(max_rows, rows - s) for s in range(0, rows, max_rows)}
        configs[name] = sorted((r, mp.ppc) for r in chunks)
    return configs


def representative_tiles(configs: dict, baseline: list[Tile]) -> list[Tile]:
    """One real-data tile per distinct configuration (module docstring)."""
    out = []
    for rows, passes in sorted({c for cs in configs.values() for c in cs}):
        src = [t for t in baseline if t.passes == passes and t.rows >= rows]
        if not src:
            raise QtamlError(f"the baseline layer has no {passes}-pass tile with >= {rows} rows")
        t = src[0]
        out.append(Tile(t.a[:rows], t.w, t.pre[:rows]))
    return out
