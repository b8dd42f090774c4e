"""In-field functional self-test of the accelerator (design.md section 9, seed 003; docs/selftest.md).

netlist (Yosys gate netlist of the PE's MAC) < faults (stuck-at list, collapsing) <
faultsim (bit-parallel NumPy fault simulation) < atpg (SAT miters, compaction) < mapping
(patterns -> GEMM tiles, array-level fault simulation) < control (linearly independent
control tiles, control-register faults) < program (the boot-time test program, cost) <
inject / compute_tb (faults built into the RTL, cocotb) < network (LeNet-5 tiles, torch) <
evaluate (coverage report).
"""
