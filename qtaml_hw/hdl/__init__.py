"""HDL tool glue (design.md section 5): find simulators, the RTL source list (``rtl/files.f``),
the one simulator-job launcher (:mod:`qtaml_hw.hdl.job`), lint and Yosys synthesis
(:mod:`qtaml_hw.hdl.synth`).  Knows nothing about the accelerator's fault model; no torch."""
