"""The accelerator's fault model and its cross-validation against the RTL (design.md section 6):
golden GEMM, SRAM word layout, cycle schedule, fault sites, reuse-factor model, dataflow graph,
leakage into the weight SRAM, cocotb drivers/testbenches and the crossval campaign.
Imports :mod:`qtaml_hw.hdl` below it; no torch."""
