"""qtaml-hw: physics-derived weight-memory faults, ECC/TAC, RTL co-simulation.

Layers (import downward only): physics -> memory -> ecc -> tac -> nn -> hdl -> fidelity -> rtlnn -> selftest -> campaign
-> reports -> cli.  See ``docs/design.md`` (the spec) and README.md.
"""

from qtaml_hw.errors import QtamlError

__version__ = "0.1.0"

__all__ = ["QtamlError", "__version__"]
