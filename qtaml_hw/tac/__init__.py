"""Tunneling-Aware Compensation: mean correction, sensitivity, allocation, baselines, rho* (design.md s.3).

The names below are loaded on first use (PEP 562), so code that needs only the read maps or the
allocator (the memory task kind, its worker processes) never imports torch, which the sensitivity
analysis needs.
"""

import importlib

_WHERE = {
    "allocate_brute_force": "allocation", "allocate_exact": "allocation", "allocate_greedy": "allocation",
    "greedy_path": "allocation", "objective": "allocation",
    "Analysis": "analysis", "analyse": "analysis",
    "STRATEGIES": "baselines", "plan": "baselines",
    "corrected_dequantize": "correction", "corrected_sampler": "correction", "corrected_variance": "correction",
    "correction_coefficients": "correction",
    "rho_table": "rho", "tac_budget_for": "rho",
    "layer_sensitivity": "sensitivity", "predicted_output_variance": "sensitivity",
    "qmodel_sensitivity": "sensitivity",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'qtaml_hw.tac' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"qtaml_hw.tac.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
