"""One model layer on the RTL, end to end through the PyTorch replay layer (design.md sections 3, 6).

:func:`setup_layer` quantizes a checkpoint (int8 weights), calibrates the layer's activation
scale on unlabeled training images, maps the layer onto the array
(:mod:`qtaml_hw.rtlnn.layer_map`) and replaces it by a :class:`~qtaml_hw.nn.replay.ReplayLayer`.

:func:`leakage_trials` draws weight-memory (SRAM) leakage per trial, runs the layer on the RTL
for every trial in one simulator job, and for each trial checks

* RTL accumulators == replay layer accumulators on the weights the SRAM returns
  (corrupted storage, SECDED-decoded by the Python codec when ECC is on), bit-exactly;
* RTL ECC corrected/uncorrectable counts, run by run == the codec's counts;
* accuracy of the whole network with the layer's outputs from the RTL vs from the replay layer.

Fault sources (``source``): ``"rtl"`` draws flips on the RTL's own memory image (data and,
with ECC, check bits; ``leakage.corrupt_weight_words``, key ``rtl-sram``); ``"software"``
takes the software model's flips (``memory.flip_bits`` on the layer's codes, key
``inject/<layer>``, exactly what ``nn.default_sampler`` draws) and writes them into the SRAM
as XOR masks (paired runs: same seed -> the same faults on both paths).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from qtaml_hw.rtlnn.layer_job import run_layer_job
from qtaml_hw.rtlnn.layer_map import LayerMapping, map_layer
from qtaml_hw.fidelity.leakage import corrupt_weight_words, ecc_expected_words
from qtaml_hw.errors import QtamlError

log = logging.getLogger(__name__)
PROTECT_CHOICES = (1, 2, 4, 8)


@dataclass
class LayerSetup:
    """A model with one layer replaced by its replay layer, and the images it runs on."""

    model_name: str
    name: str
    qmodel: object
    mapping: LayerMapping
    s_a: float
    model: torch.nn.Module
    layer: object
    x: torch.Tensor
    y: torch.Tensor
    a_pad: np.ndarray
    clean_acc: np.ndarray
    dataset: str

    @property
    def rows(self) -> int:
        return int(self.a_pad.shape[0])

    def accuracy(self, *, weights=None, acc=None) -> float:
        """Network accuracy on (x, y) with the layer's read weights (int8, weight shape) and/or accumulators."""
        self.layer.set_weights(weights)
        self.layer.set_accumulators(acc)
        try:
            with torch.no_grad():
                return float((self.model(self.x).argmax(-1) == self.y).float().mean())
        finally:
            self.layer.clear_faults()

    def replay_acc(self, weights=None, register_faults=(), fault_model: str = "reuse") -> np.ndarray:
        """Replay layer accumulators (M, N_out) int32 in the RTL's row order."""
        from qtaml_hw.nn.replay import layer_inputs

        self.layer.set_weights(weights)
        self.layer.set_register_faults(register_faults, fault_model=fault_model)
        try:
            acc = self.layer.accumulators(layer_inputs(self.qmodel, self.name, self.x))
            return self.layer.to_rows(acc).numpy().astype(np.int32)
        finally:
            self.layer.clear_faults()


def setup_layer(*, model: str, layer: str, n: int = 8, images: int = 10, calib_images: int = 256,
                max_rows: int = 32, max_passes: int = 16) -> LayerSetup:
    """Load ``model``, map ``layer`` onto an ``n`` x ``n`` array, use the first ``images`` test images."""
    from qtaml_hw.nn import QuantizedModel, load_dataset, load_model
    from qtaml_hw.nn.replay import calibrate_activation_scale, find_module, layer_inputs, layer_names, replay_model

    if n not in (4, 8, 16):
        raise QtamlError(f"array size N must be 4, 8 or 16, got {n}")
    net, entry = load_model(model)
    qmodel = QuantizedModel(net, bits=8)
    names = layer_names(qmodel)
    if layer not in names:
        raise QtamlError(f"model {model!r} has no array-mappable layer {layer!r}; layers: {', '.join(names)}")
    data = load_dataset(entry.get("dataset", "mnist"))
    if not 1 <= images <= len(data.x_test):
        raise QtamlError(f"images must be in [1, {len(data.x_test)}], got {images}")
    x, y = data.x_test[:images], data.y_test[:images]
    s_a = calibrate_activation_scale(qmodel, layer, data.x_train[:calib_images])
    info = qmodel.layer(layer)
    mapping = map_layer(find_module(qmodel.model, layer), name=layer, codes=info.qtensor.codes, n=n,
                        max_passes=max_passes, max_rows=max_rows)
    rmodel, rlayer = replay_model(qmodel, layer, s_a=s_a, tiling=mapping)
    a_pad = mapping.activation_matrix(rlayer.quantize_input(layer_inputs(qmodel, layer, x)).numpy().astype(np.int8))
    clean = mapping.accumulators(a_pad)[:, : mapping.n_out]
    return LayerSetup(model, layer, qmodel, mapping, s_a, rmodel, rlayer, x, y, a_pad, clean,
                      entry.get("dataset", "mnist"))


def software_codes(setup: LayerSetup, *, flip_model, seed: int, trials: int, trial_offset: int = 0) -> np.ndarray:
    """The software model's faulty codes (trials, *weight shape): ``nn.default_sampler``'s draws."""
    from qtaml_hw.memory import flip_bits

    qt = setup.qmodel.layer(setup.name).qtensor
    return flip_bits(qt.codes, bits=qt.bits, flip_model=flip_model, trials=trials, seed=seed,
                     trial_offset=trial_offset, key=f"inject/{setup.name}")


def software_accuracies(setup: LayerSetup, *, flip_model, seed: int, trials: int, trial_offset: int = 0) -> np.ndarray:
    """Per-trial network accuracy, software-model faults in the layer's weight memory, replay layer."""
    codes = software_codes(setup, flip_model=flip_model, seed=seed, trials=trials, trial_offset=trial_offset)
    return np.array([setup.accuracy(weights=c.astype(np.uint8).view(np.int8)) for c in codes])


def draw_masks(setup: LayerSetup, *, source: str, flip_model, seed: int, trials: int, trial_offset: int = 0,
               ecc: bool = False, protect_bits: int = 8):
    """(data masks (T, words), check masks (T, words)) of the layer image for each trial."""
    image = setup.mapping.memory_image()
    if source == "rtl":
        pairs = [corrupt_weight_words(image, seed=seed, flip_model=flip_model, ecc=ecc, protect_bits=protect_bits,
                                      trial=trial_offset + t) for t in range(trials)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    if source == "software":
        if ecc:
            raise QtamlError("software-sourced faults model the plain weight memory (no check bits); drop --ecc")
        qt = setup.qmodel.layer(setup.name).qtensor
        codes = software_codes(setup, flip_model=flip_model, seed=seed, trials=trials, trial_offset=trial_offset)
        dm = np.stack([setup.mapping.codes_to_image_masks(c, qt.codes) for c in codes])
        return dm, np.zeros(dm.shape, np.uint8)
    raise QtamlError(f"unknown fault source {source!r}; choose rtl or software")


def expected_reads(setup: LayerSetup, data_mask, check_mask, *, ecc: bool, protect_bits: int):
    """(words the SRAM returns, per-run corrected counts, per-run uncorrectable counts) by the Python codec."""
    mp = setup.mapping
    image = mp.memory_image()
    if not ecc:
        runs = mp.n_ct * mp.n_kc * mp.n_rc(setup.rows)
        return image ^ data_mask, np.zeros(runs, np.int64), np.zeros(runs, np.int64)
    seen = np.empty_like(image)
    corr, unc = [], []
    for ct in range(mp.n_ct):
        for kc in range(mp.n_kc):
            sl = slice(mp.tile_base(ct, kc), mp.tile_base(ct, kc) + mp.words_per_tile)
            seen[sl], c, u = ecc_expected_words(image[sl], data_mask[sl], check_mask[sl], protect_bits=protect_bits)
            corr += [c] * mp.n_rc(setup.rows)
            unc += [u] * mp.n_rc(setup.rows)
    return seen, np.array(corr, np.int64), np.array(unc, np.int64)


def leakage_trials(setup: LayerSetup, *, simulator: str, flip_model, seed: int, trials: int = 1,
                   source: str = "rtl", ecc: bool = False, protect_bits: int = 8, trial_offset: int = 0,
                   correction=None) -> dict:
    """Run ``trials`` leakage trials of the layer on the RTL and compare with the replay layer.

    ``correction``: optional ``(a, c_u)`` TAC mean correction folded into the dequantization
    (same on both paths; :meth:`ReplayLayer.set_mean_correction`).
    """
    if ecc and protect_bits not in PROTECT_CHOICES:
        raise QtamlError(f"--protect-bits must be one of {PROTECT_CHOICES}, got {protect_bits}")
    dm, cm = draw_masks(setup, source=source, flip_model=flip_model, seed=seed, trials=trials,
                        trial_offset=trial_offset, ecc=ecc, protect_bits=protect_bits)
    rtl = run_layer_job(setup.mapping, setup.a_pad, simulator=simulator, data_mask=dm, check_mask=cm, ecc=ecc,
                        protect_bits=protect_bits, readback=correction is not None)
    if correction is not None:
        setup.layer.set_mean_correction(a=correction[0], c_unprot=correction[1], protect_bits=protect_bits if ecc else 0)
    try:
        per = [_compare_trial(setup, rtl, t, dm[t], cm[t], ecc=ecc, protect_bits=protect_bits,
                              readback=correction is not None) for t in range(trials)]
        clean_replay = setup.accuracy()
    finally:
        setup.layer.set_mean_correction(a=1.0, c_unprot=0.0, protect_bits=0)
    return {"trials": per, "clean_replay_accuracy": clean_replay, "rtl": {k: rtl[k] for k in
            ("cycles", "crossings", "run_s", "job_s", "wall_s")}}


def trials_agree(per: list[dict]) -> bool:
    """Every trial bit-exact RTL == replay, ECC counts equal to the codec's, and equal accuracies."""
    return all(t["bit_exact"] and t["ecc_counts_match"] and t["accuracy_rtl"] == t["accuracy_replay"]
               and t.get("readback_matches_codec", True) for t in per)


def protected_layer_check(*, model: str, layer: str, simulator: str, flip_model, budget_bpw: float, seed: int,
                          trials: int = 2, images: int = 20, n: int = 8) -> dict:
    """A model layer under its TAC plan on the RTL (design.md section 6, last bullet).

    The label-free TAC plan at ``budget_bpw`` gives the layer's protected bits (rounded to the
    RTL's {1, 2, 4, 8}) and its mean correction; leakage flips drawn with ``flip_model`` hit
    data and check bits of the layer's SRAM image; the RTL runs every tile; the result is
    compared with the replay layer fed by the Python SECDED codec on the same flips.
    """
    setup = setup_layer(model=model, layer=layer, n=n, images=images)
    tac = tac_plan(setup, flip_model=flip_model, budget_bpw=budget_bpw, seed=seed)
    res = leakage_trials(setup, simulator=simulator, flip_model=flip_model, seed=seed, trials=trials, source="rtl",
                         ecc=True, protect_bits=tac["protect_bits"], correction=(tac["a"], tac["c_unprot"]))
    per = res["trials"]
    mp = setup.mapping
    return {"model": model, "layer": layer, "simulator": simulator, "n": n, "images": images,
            "runs_per_trial": mp.n_ct * mp.n_kc * mp.n_rc(setup.rows), "tac": tac, "trials": per,
            "clean_replay_accuracy": res["clean_replay_accuracy"], "rtl": res["rtl"], "agree": trials_agree(per)}


def _compare_trial(setup, rtl, t, dm, cm, *, ecc, protect_bits, readback) -> dict:
    mp = setup.mapping
    seen, corr, unc = expected_reads(setup, dm, cm, ecc=ecc, protect_bits=protect_bits)
    w_seen = mp.layer_weights_from_image(seen)
    replay = setup.replay_acc(w_seen)
    rtl_acc = rtl["acc"][t]
    row = {
        "trial": t,
        "bits_flipped": int(np.unpackbits(dm.view(np.uint8)).sum() + np.unpackbits(cm).sum()),
        "weights_changed": int(np.count_nonzero(w_seen != mp.layer_weights_from_image(mp.memory_image()))),
        "bit_exact": bool(np.array_equal(rtl_acc, replay)),
        "outputs_mismatch": int(np.count_nonzero(rtl_acc != replay)),
        "outputs_differing_from_clean": int(np.count_nonzero(rtl_acc != setup.clean_acc)),
        "ecc_corrected": int(rtl["corrected"][t].sum()), "codec_corrected": int(corr.sum()),
        "ecc_uncorrectable": int(rtl["uncorrectable"][t].sum()), "codec_uncorrectable": int(unc.sum()),
        "ecc_counts_match": bool(np.array_equal(rtl["corrected"][t], corr)
                                 and np.array_equal(rtl["uncorrectable"][t], unc)),
        # the RTL path dequantizes with the weights its own SRAM read port returns (TAC field term)
        "accuracy_rtl": setup.accuracy(weights=mp.layer_weights_from_image(rtl["seen"][t]) if readback else w_seen,
                                       acc=rtl_acc),
        "accuracy_replay": setup.accuracy(weights=w_seen),
    }
    if readback:
        row["readback_matches_codec"] = bool(np.array_equal(rtl["seen"][t], seen))
    return row


def two_sample_comparison(rtl_acc, sw_acc, *, alpha: float = 0.05, delta: float | None = None,
                          power_target: float = 0.8) -> dict:
    """Are RTL-sourced and software-sourced accuracy samples from one distribution?

    Tests (two-sided): Welch's t-test on the means, Mann-Whitney U and two-sample
    Kolmogorov-Smirnov on the distributions.  Power of the Welch test against a true mean
    difference ``delta`` (default: one pooled standard deviation), by the normal
    approximation with the observed variances,
    ``power = Phi(delta / se - z) + Phi(-delta / se - z)``, ``se = sqrt(s1^2/n1 + s2^2/n2)``,
    ``z = z_{1 - alpha/2}``; ``mdd`` is the smallest difference detected with probability
    ``power_target``: ``(z + z_{power_target}) * se``.
    """
    from scipy import stats

    a = np.asarray(rtl_acc, np.float64)
    b = np.asarray(sw_acc, np.float64)
    if a.size < 2 or b.size < 2:
        raise QtamlError("the two-sample test needs at least 2 trials per source")
    se = float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))
    sd = float(np.sqrt((a.var(ddof=1) * (a.size - 1) + b.var(ddof=1) * (b.size - 1)) / (a.size + b.size - 2)))
    delta = sd if delta is None else float(delta)
    z = float(stats.norm.ppf(1 - alpha / 2))
    if se > 0:
        power = float(stats.norm.cdf(delta / se - z) + stats.norm.cdf(-delta / se - z))
        welch_p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    else:  # both samples constant
        power, welch_p = 1.0, 1.0 if a[0] == b[0] else 0.0
    return {
        "n_rtl": int(a.size), "n_software": int(b.size),
        "mean_rtl": float(a.mean()), "mean_software": float(b.mean()),
        "sd_rtl": float(a.std(ddof=1)), "sd_software": float(b.std(ddof=1)),
        "welch_p": welch_p,
        "mannwhitney_p": float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue) if se > 0 else 1.0,
        "ks_p": float(stats.ks_2samp(a, b).pvalue),
        "alpha": alpha, "delta": delta, "power_at_delta": power,
        "mdd_at_power": float((z + stats.norm.ppf(power_target)) * se), "power_target": power_target,
        "same_distribution_not_rejected": bool(welch_p >= alpha),
    }


def round_protect_bits(m: int) -> int:
    """The RTL's ProtectBits for a TAC plan's m_l: the smallest of {1, 2, 4, 8} that is >= m_l.

    (m_l = 0 becomes 1: the RTL has no ECC-on build without protected bits; rounding up never
    protects less than the plan asked for.)
    """
    for c in PROTECT_CHOICES:
        if c >= m:
            return c
    raise QtamlError(f"protected bit count {m} exceeds 8")


def tac_plan(setup: LayerSetup, *, flip_model, budget_bpw: float, calib_images: int = 256, seed: int = 0) -> dict:
    """TAC plan (design.md section 3) of the whole model; this layer's m_l, rounded, and its mean correction.

    Allocation: ``tac.analysis.analyse`` (label-free Jacobian sensitivity, physics residual
    curves) and greedy ``plan("tac", budget)`` with ``budget = budget_bpw * sum_l n_l`` bits.
    Mean correction of the layer (``tac.correction_coefficients`` with the rounded m): the
    unprotected bits share ``a = 1 - p10 - p01``, ``c_u = sum_unprot c_k p01_k``, so
    ``E[v'] = v_prot + a v_unprot + c_u`` and the dequantization becomes
    ``s_w (v'_prot + (v'_unprot - c_u) / a)``.
    """
    from qtaml_hw.nn import load_dataset
    from qtaml_hw.tac import correction_coefficients
    from qtaml_hw.tac.analysis import analyse

    if not np.isfinite(budget_bpw) or budget_bpw < 0:
        raise QtamlError(f"budget must be a non-negative number of bits per weight, got {budget_bpw}")
    data = load_dataset(setup.dataset)
    an = analyse(setup.qmodel, data.x_train[:calib_images], flip_model=flip_model, seed=seed)
    plan = an.plan("tac", budget_bpw * float(np.sum(an.n)))
    m_plan = int(plan[an.names.index(setup.name)])
    m = round_protect_bits(m_plan)
    g, z, _ = correction_coefficients(bits=8, code="twos", flip_model=flip_model, protect_msb=m)
    unprot = g[: 8 - m] / (2.0 ** np.arange(8 - m))
    if m < 8 and not np.allclose(unprot, unprot[0], rtol=1e-12):
        raise QtamlError("mean correction as one dequantization change needs equal p10 + p01 on the unprotected bits")
    a = 1.0 / float(unprot[0]) if m < 8 else 1.0
    return {"plan": dict(zip(an.names, (int(v) for v in plan))), "m_plan": m_plan, "protect_bits": m,
            "a": a, "c_unprot": -z * a, "budget_bpw": budget_bpw}
