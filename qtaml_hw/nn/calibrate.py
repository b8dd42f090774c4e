"""Hardware-in-the-loop calibration of the flip model (design.md section 8; seed 002 section 2.4).

The software side knows what it deployed -- the layer's int8 weights ``W`` (K x N_out) -- and
the calibration inputs it sends, and observes only what the hardware exposes: the layer's
integer outputs ``Y = A W'`` (the accelerator's int32 accumulators) for each *memory state*
(one retention interval: weights written, left to leak, read by the array).  It never sees
the hardware's flip parameters.

Identification.  With a calibration batch ``A`` (M x K) of full column rank the outputs
determine the stored weights: ``W' = A^+ Y``, exactly integer (checked: ``A W' == Y``); the
default batch is the probe ``A = I_K`` (every input channel alone, the accumulators are the
stored weights).  Then the likelihood of the outputs is the likelihood of the read bits, which
factorises over bits: each stored 1 reads 0 with ``p10``, each stored 0 reads 1 with
``p01 = r p10``.  The maximum-likelihood estimate is closed form,

    p10^ = F10 / N1,   p01^ = F01 / N0,   r^ = p01^ / p10^,

(``N1``/``N0``: observed stored 1s/0s, ``F10``/``F01``: observed 1->0 / 0->1 flips), with
binomial standard errors ``sqrt(p (1 - p) / N)`` and, by the delta method,
``se(r^) = r^ sqrt(se(p01^)^2 / p01^2 + se(p10^)^2 / p10^2)``.  :func:`calibrate` requests
memory states from the device until the 95 % half-widths are below the targets (relative for
``p10``, absolute for ``r``) or a cap, so the number of hardware runs it needed is measured, not
chosen.

Retention spread (design.md section 1).  With process variation, ``p10(t) =
Phi((ln t - mu_ln) / sigma_ln)``; from one retention interval only ``p10`` is identifiable.
With states at two or more intervals ``t_j``, :func:`fit_lognormal` maximises the binomial
likelihood of the flip counts over ``(mu_ln, sigma_ln)`` (probit regression on ``ln t``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import optimize, stats

from qtaml_hw.errors import QtamlError
from qtaml_hw.memory import FlipModel, flip_bits

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class FlipCounts:
    """Observed stored 1s/0s and their 1->0 / 0->1 flips (summed over bits and states)."""

    ones: int = 0
    zeros: int = 0
    flips10: int = 0
    flips01: int = 0
    states: int = 0

    def __add__(self, other: "FlipCounts") -> "FlipCounts":
        return FlipCounts(self.ones + other.ones, self.zeros + other.zeros, self.flips10 + other.flips10,
                          self.flips01 + other.flips01, self.states + other.states)


@dataclass(frozen=True)
class ThetaFit:
    """Closed-form MLE of the flip model with standard errors and 95 % intervals (module docstring)."""

    p10: float
    p01: float
    r: float
    se_p10: float
    se_p01: float
    se_r: float
    counts: FlipCounts

    @property
    def ci_p10(self) -> tuple[float, float]:
        return (self.p10 - Z95 * self.se_p10, self.p10 + Z95 * self.se_p10)

    @property
    def ci_r(self) -> tuple[float, float]:
        return (self.r - Z95 * self.se_r, self.r + Z95 * self.se_r)

    @property
    def flip_model(self) -> FlipModel:
        return FlipModel(float(np.clip(self.p10, 0, 1)), float(np.clip(self.p01, 0, 1)))

    def as_dict(self) -> dict:
        c = self.counts
        return {"p10_fit": self.p10, "p01_fit": self.p01, "r_fit": self.r, "se_p10": self.se_p10,
                "se_r": self.se_r, "ci95_p10": list(self.ci_p10), "ci95_r": list(self.ci_r),
                "ones_observed": c.ones, "zeros_observed": c.zeros, "flips10": c.flips10, "flips01": c.flips01}


class Device(Protocol):
    """What hardware exposes: integer layer outputs of a calibration batch, per memory state."""

    rtl_runs: int

    def run(self, probe: np.ndarray, states: int) -> np.ndarray:
        """(states, M, N_out) int outputs of ``probe`` (M, K int8), one fresh memory state each."""


def count_flips(clean: np.ndarray, read: np.ndarray) -> FlipCounts:
    """Bit counts of stored int8 weights ``clean`` (K, N) against reads ``read`` (T, K, N)."""
    c = np.unpackbits(np.asarray(clean, np.int8).view(np.uint8)[None], axis=None).astype(bool)
    r = np.asarray(read, np.int8)
    t = r.shape[0] if r.ndim == np.ndim(clean) + 1 else 1
    rb = np.unpackbits(r.reshape(t, -1).view(np.uint8), axis=1).astype(bool)
    ones = int(c.sum())
    return FlipCounts(ones=ones * t, zeros=(c.size - ones) * t, flips10=int((c & ~rb).sum()),
                      flips01=int((~c & rb).sum()), states=t)


def fit_mle(counts: FlipCounts) -> ThetaFit:
    """``p10^ = F10/N1``, ``p01^ = F01/N0``, ``r^ = p01^/p10^`` with binomial / delta-method errors."""
    if counts.ones == 0 or counts.zeros == 0:
        raise QtamlError("calibration needs stored 1s and 0s in the observed weights")
    if counts.flips10 == 0:
        raise QtamlError("no 1->0 flip observed: p10 is below what these runs resolve; take more memory states")
    p10 = counts.flips10 / counts.ones
    p01 = counts.flips01 / counts.zeros
    se10 = float(np.sqrt(p10 * (1 - p10) / counts.ones))
    se01 = float(np.sqrt(max(p01 * (1 - p01), 1.0 / counts.zeros) / counts.zeros))  # >= 1 event's worth at 0
    r = p01 / p10
    se_r = float(r * np.sqrt((se01 / max(p01, 1.0 / counts.zeros)) ** 2 + (se10 / p10) ** 2)) if p01 > 0 \
        else float(se01 / p10)
    return ThetaFit(p10=p10, p01=p01, r=r, se_p10=se10, se_p01=se01, se_r=se_r, counts=counts)


def read_weights(probe: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Stored int8 weights ``W'`` (T, K, N) from outputs ``Y = A W'`` (T, M, N); exact or an error."""
    a = np.asarray(probe, np.float64)
    y = np.asarray(outputs, np.int64)
    if np.linalg.matrix_rank(a) < a.shape[1]:
        raise QtamlError(f"the calibration batch has rank {np.linalg.matrix_rank(a)} < {a.shape[1]} inputs: "
                         "its outputs do not identify the stored weights")
    pinv = np.linalg.pinv(a)
    w = np.rint(np.einsum("km,tmn->tkn", pinv, y)).astype(np.int64)
    if not np.array_equal(np.einsum("mk,tkn->tmn", np.asarray(probe, np.int64), w), y) or \
            w.min() < -128 or w.max() > 127:
        raise QtamlError("outputs are not A W' for int8 W' (accumulator overflow, or not a linear layer read)")
    return w.astype(np.int8)


def identity_probe(k: int) -> np.ndarray:
    """The default calibration batch ``A = I_K`` (int8): output row i is stored weight row i."""
    return np.eye(k, dtype=np.int8)


def calibrate(device: Device, clean: np.ndarray, *, probe=None, rel_p10: float = 0.05, abs_r: float = 0.04,
              batch_states: int = 4, max_states: int = 96) -> tuple[ThetaFit, list[dict]]:
    """Fit theta from ``device`` outputs, requesting ``batch_states`` memory states at a time until
    the 95 % half-widths satisfy ``Z se(p10) <= rel_p10 p10`` and ``Z se(r) <= abs_r`` (or
    ``max_states``); returns the fit and the per-round trace (states so far, estimates)."""
    if not (rel_p10 > 0 and abs_r > 0 and batch_states >= 1 and max_states >= 1):
        raise QtamlError("calibration targets and state counts must be positive")
    clean = np.asarray(clean, np.int8)
    probe = identity_probe(clean.shape[0]) if probe is None else np.asarray(probe, np.int8)
    counts, trace, fit = FlipCounts(), [], None
    while counts.states < max_states:
        states = min(batch_states, max_states - counts.states)
        counts = counts + count_flips(clean, read_weights(probe, device.run(probe, states)))
        if counts.flips10 == 0:
            continue
        fit = fit_mle(counts)
        trace.append({"states": counts.states, "rtl_runs": device.rtl_runs, "p10": fit.p10, "r": fit.r,
                      "half_p10_rel": Z95 * fit.se_p10 / fit.p10, "half_r": Z95 * fit.se_r})
        if Z95 * fit.se_p10 <= rel_p10 * fit.p10 and Z95 * fit.se_r <= abs_r:
            break
    if fit is None:
        raise QtamlError(f"no 1->0 flip in {counts.states} memory states: p10 too small to calibrate")
    return fit, trace


class SimulatedDevice:
    """Software stand-in for the hardware (synthetic data with known theta): the memory model
    (:func:`qtaml_hw.memory.flip_bits`) corrupts the int8 weights, outputs are ``A W'``."""

    def __init__(self, weights: np.ndarray, *, flip_model: FlipModel, seed: int):
        self._w = np.asarray(weights, np.int8)
        self._fm, self._seed = flip_model, int(seed)
        self.rtl_runs = 0

    def run(self, probe: np.ndarray, states: int) -> np.ndarray:
        codes = flip_bits(self._w.view(np.uint8), bits=8, flip_model=self._fm, trials=states, seed=self._seed,
                          trial_offset=self.rtl_runs, key="calibration-device")
        self.rtl_runs += states
        w = codes.astype(np.uint8).view(np.int8).astype(np.int64)
        return np.einsum("mk,tkn->tmn", np.asarray(probe, np.int64), w)


def fit_lognormal(t_s, ones, flips10) -> dict:
    """MLE of ``(mu_ln, sigma_ln)`` in ``p10(t) = Phi((ln t - mu_ln) / sigma_ln)`` from flip counts at
    retention intervals ``t_s`` (binomial likelihood, probit link); needs two or more distinct t."""
    t = np.asarray(t_s, np.float64)
    n = np.asarray(ones, np.float64)
    k = np.asarray(flips10, np.float64)
    if np.unique(t).size < 2:
        return {"identifiable": False, "reason": "one retention interval identifies p10 only, not the spread"}
    lt = np.log(t)

    def nll(theta):
        mu, log_sigma = theta
        z = (lt - mu) / np.exp(log_sigma)
        return -float(np.sum(k * stats.norm.logcdf(z) + (n - k) * stats.norm.logsf(z)))

    q = np.clip(k / n, 1e-6, 1 - 1e-6)
    slope, icpt = np.polyfit(lt, stats.norm.ppf(q), 1)  # probit line: z = (ln t - mu) / sigma
    start = (-icpt / slope, np.log(1 / abs(slope))) if slope > 0 else (float(np.mean(lt)), 0.0)
    res = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10})
    mu, sigma = float(res.x[0]), float(np.exp(res.x[1]))
    return {"identifiable": True, "mu_ln": mu, "sigma_ln": sigma, "converged": bool(res.success)}
