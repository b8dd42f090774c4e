"""Neural-network layers on the RTL (design.md section 6): layer -> tile mapping, running a
mapped layer on ``accel_top`` and replaying it in torch.  Imports :mod:`qtaml_hw.fidelity`
and :mod:`qtaml_hw.hdl` below it, and :mod:`qtaml_hw.nn`."""
