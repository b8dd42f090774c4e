# Source list of the accelerator (accel_top and everything it instantiates), relative to this file.
# The one place that names the RTL sources: qtaml_hw.hdl.simulators.accel_sources() reads it,
# and every launcher, lint/synthesis check and testbench builds from it (design.md section 5).
accel_top.v
gemm_ctrl.v
systolic_array.v
systolic_pe.v
weight_sram.v
secded_enc.v
secded_dec.v
