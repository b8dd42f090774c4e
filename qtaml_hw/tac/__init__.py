"""Tunneling-Aware Compensation: mean correction, sensitivity, allocation, baselines, rho* (design.md s.3)."""

from qtaml_hw.tac.allocation import allocate_brute_force, allocate_exact, allocate_greedy, greedy_path, objective
from qtaml_hw.tac.analysis import Analysis, analyse
from qtaml_hw.tac.baselines import STRATEGIES, plan
from qtaml_hw.tac.correction import (corrected_dequantize, corrected_sampler, corrected_variance,
                                     correction_coefficients)
from qtaml_hw.tac.rho import rho_table, tac_budget_for
from qtaml_hw.tac.sensitivity import layer_sensitivity, predicted_output_variance, qmodel_sensitivity

__all__ = ["Analysis", "STRATEGIES", "allocate_brute_force", "allocate_exact", "allocate_greedy", "analyse",
           "corrected_dequantize", "corrected_sampler", "corrected_variance", "correction_coefficients",
           "greedy_path", "layer_sensitivity", "objective", "plan", "predicted_output_variance",
           "qmodel_sensitivity", "rho_table", "tac_budget_for"]
