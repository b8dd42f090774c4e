"""The RTL accelerator as the hardware of the calibration loop (design.md section 8; seed 002 section 2.4).

:class:`RTLDevice` holds one model layer mapped onto the array (``rtlnn.layer_map``) and the
*hidden* leakage parameters of its weight SRAM: ``p10``, ``p01 = r p10`` and optionally the
log-normal spread ``sigma_ln`` of retention.  Each memory state is one retention interval
``t`` (relative to the reference interval at which ``p10`` holds): flips drawn on the RTL's own
SRAM image (``fidelity.leakage.corrupt_weight_words``, key ``rtl-sram``, data bits), written as
saboteur XOR masks, and the layer runs on the RTL (``rtlnn.layer_job``, one Verilator/Icarus
job per request).  ``p10(t)``: ``Phi(ln t / sigma_ln + Phi^-1(p10))`` with a spread (threshold
law, design.md section 1), ``1 - (1 - p10)^t`` without (Poisson).

The calibration (``qtaml_hw.nn.calibrate``) talks to it only through :meth:`RTLDevice.run`
(integer layer outputs) and the run counters; the parameters never leave this object.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from qtaml_hw.errors import QtamlError, check_probability
from qtaml_hw.fidelity.leakage import corrupt_weight_words
from qtaml_hw.memory import FlipModel
from qtaml_hw.nn import QuantizedModel, load_model
from qtaml_hw.nn.replay import find_module, layer_names
from qtaml_hw.rtlnn.layer_job import run_layer_job
from qtaml_hw.rtlnn.layer_map import map_layer


class RTLDevice:
    """One layer on the RTL with hidden SRAM leakage (module docstring)."""

    def __init__(self, *, model: str, layer: str, p10: float, r: float, seed: int, simulator: str = "verilator",
                 n: int = 8, sigma_ln: float | None = None, models_dir=None):
        check_probability("rtl p10", p10)
        if not 0.0 <= r <= 1.0:
            raise QtamlError(f"rtl r must be in [0, 1], got {r}")
        if sigma_ln is not None and not sigma_ln > 0:
            raise QtamlError(f"rtl retention spread sigma_ln must be positive, got {sigma_ln}")
        net, _ = load_model(model, models_dir=models_dir)
        qmodel = QuantizedModel(net, bits=8)
        names = layer_names(qmodel)
        if layer not in names:
            raise QtamlError(f"model {model!r} has no array-mappable layer {layer!r}; layers: {', '.join(names)}")
        self.mapping = map_layer(find_module(qmodel.model, layer), name=layer,
                                 codes=qmodel.layer(layer).qtensor.codes, n=n)
        self.simulator = simulator
        self._p10, self._r, self._sigma, self._seed = float(p10), float(r), sigma_ln, int(seed)
        self.rtl_runs = self.jobs = self.tile_runs = 0
        self.wall_s = 0.0

    @property
    def deployed_weights(self) -> np.ndarray:
        """The int8 weights the software wrote (K, N_out): known to it, unlike their leakage."""
        return np.asarray(self.mapping.w_int, np.int8)

    def _flip_model(self, t_rel: float) -> FlipModel:
        if self._sigma is None:
            p10 = 1.0 - (1.0 - self._p10) ** t_rel
        else:
            p10 = float(stats.norm.cdf(np.log(t_rel) / self._sigma + stats.norm.ppf(self._p10)))
        return FlipModel(p10, self._r * p10)

    def run(self, probe: np.ndarray, states: int, *, t_rel: float = 1.0) -> np.ndarray:
        """Layer outputs (states, M, N_out) for calibration inputs ``probe`` (M, K int8), one fresh
        retention interval of length ``t_rel`` (x the reference) per state."""
        mp = self.mapping
        probe = np.asarray(probe, np.int8)
        if probe.ndim != 2 or probe.shape[1] != mp.k:
            raise QtamlError(f"calibration inputs must have shape (M, {mp.k}), got {probe.shape}")
        if not t_rel > 0:
            raise QtamlError(f"retention interval must be positive, got {t_rel}")
        a_pad = np.zeros((probe.shape[0], mp.k_pad), np.int8)
        a_pad[:, : mp.k] = probe
        image, fm = mp.memory_image(), self._flip_model(t_rel)
        dm = np.stack([corrupt_weight_words(image, seed=self._seed, flip_model=fm, trial=self.rtl_runs + s)[0]
                       for s in range(states)])
        res = run_layer_job(mp, a_pad, simulator=self.simulator, data_mask=dm)
        self.rtl_runs += states
        self.jobs += 1
        self.tile_runs += states * mp.n_ct * mp.n_kc * mp.n_rc(probe.shape[0])
        self.wall_s += float(res["wall_s"])
        return np.asarray(res["acc"], np.int64)

    def counters(self) -> dict:
        return {"rtl_runs": self.rtl_runs, "rtl_jobs": self.jobs, "rtl_tile_runs": self.tile_runs,
                "rtl_wall_s": round(self.wall_s, 2)}
