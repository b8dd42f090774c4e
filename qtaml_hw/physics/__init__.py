"""PHYSICS layer: WKB tunnelling -> retention -> directional per-bit flip probabilities (design.md section 1).

``flip_probabilities(t_ox_nm=..., ...)`` is the cross-team entry point; ``timeline`` turns a
schedule of writes/reads/scrubs into per-word retention intervals and ``p10``.
"""

from qtaml_hw.physics import timeline
from qtaml_hw.physics.cells import (ATTEMPT_RANGE_S, CELLS, DEFAULT_CELL, LAWS, MAX_TIME_S, Calibration, CellPreset,
                                    calibrate, custom_cell, get_cell, operating_point, oxide_voltage)
from qtaml_hw.physics.flips import directional, flip_probabilities, per_bit_override
from qtaml_hw.physics.retention import (DEFAULT_TAU0_S, lognormal_params, p_flip_lognormal,
                                        p_flip_lognormal_refined, p_flip_poisson, p_flip_population,
                                        p_flip_population_sampled, retention_time, sample_thickness)
from qtaml_hw.physics.timeline import Schedule, TimelineResult, scrub_retention, simulate
from qtaml_hw.physics.wkb import (BARRIERS, barrier_kind, kappa_avg_per_nm, transmission, transmission_numeric,
                                  wkb_exponent, wkb_exponent_numeric)

__all__ = ["ATTEMPT_RANGE_S", "CELLS", "Calibration", "CellPreset", "DEFAULT_CELL", "LAWS", "MAX_TIME_S",
           "calibrate", "custom_cell", "get_cell", "operating_point", "oxide_voltage", "BARRIERS", "DEFAULT_TAU0_S", "Schedule", "TimelineResult", "barrier_kind", "directional",
           "flip_probabilities", "kappa_avg_per_nm", "lognormal_params", "p_flip_lognormal",
           "p_flip_lognormal_refined", "p_flip_poisson", "p_flip_population", "p_flip_population_sampled",
           "per_bit_override", "retention_time", "sample_thickness", "scrub_retention", "simulate", "timeline",
           "transmission", "transmission_numeric", "wkb_exponent", "wkb_exponent_numeric"]
