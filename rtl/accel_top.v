// GEMM accelerator top (docs/design.md section 5): weight SRAM (+SECDED), activation buffer,
// output/partial-sum buffer, N x N systolic array and controller.
//
// Computes  O[m][c] = Pre[m][c] + sum_k A[m][k] * W[k][c]  (mod 2^AccBits), m < M, k < P*N,
// c < N, where Pre is what the output buffer held at start (preloaded partial sums) and the
// result is left in the output buffer.  Weight tile p (W[p*N + r][c], flattened r*N+c,
// G weights per word) lives at SRAM words p*L .. p*L+L-1, L = N*N/G.  Activation row word
// (p*MaxRows + m) holds A[m][p*N + r] in lane r.  The exact cycle schedule is documented in
// docs/rtl.md and qtaml_hw/fidelity/schedule.py.
//
// A start with num_rows_i outside [1, MaxRows] or num_passes_i outside [1, MaxPasses] is
// refused (cfg_error_o high, nothing starts); a start while busy is ignored.
//
// Fault injection (docs/design.md section 6) writes any register or memory word by
// hierarchical path; no port is needed.  With `define QTAML_SABOTEUR (simulation only; never
// in synthesis or area) the optional saboteur ports exist: with sab_arm_i set, at the clock
// edge that ends run cycle sab_cycle_i the register selected by sab_class_i (0 weight,
// 1 activation, 2 partial sum, 3 output register, 4 SRAM word sram_sab_addr_i) is XORed with
// its mask (sab_mask_i, or the SRAM masks for class 4); sram_sab_en_i applies the SRAM masks
// at once (any time).
`default_nettype none
module accel_top #(
  parameter N           = 4,
  parameter RowBits     = 2,   // MaxRows   = 2**RowBits activation rows per tile
  parameter PassBits    = 2,   // MaxPasses = 2**PassBits reduction passes (K <= N*MaxPasses)
  parameter EccEnable   = 0,
  parameter ProtectBits = 8,
  parameter G           = 8,   // weights per SRAM word
  parameter DataBits    = 8,   // operand width (int8)
  parameter AccBits     = 32,  // accumulator width (int32)
  parameter CountBits   = 16,  // row / pass counts and ECC event counters
  parameter CycleBits   = 32,  // cycle counter
  parameter CheckBits   = (G * ProtectBits <= 8) ? 5 : (G * ProtectBits <= 16) ? 6 :
                          (G * ProtectBits <= 32) ? 7 : 8
) (
  input  wire                 clk_i,
  input  wire                 rst_i,
  input  wire                 start_i,
  input  wire [CountBits-1:0] num_rows_i,
  input  wire [CountBits-1:0] num_passes_i,
  output wire                 busy_o,
  output wire                 done_o,
  output wire                 cfg_error_o,
  output wire [CycleBits-1:0] cycles_o,
  // activation buffer write port (row words)
  input  wire                 abuf_we_i,
  input  wire [PassBits+RowBits-1:0] abuf_addr_i,
  input  wire [N*DataBits-1:0] abuf_wdata_i,
  // output / partial-sum buffer ports (row words of N accumulators)
  input  wire                 obuf_we_i,
  input  wire [RowBits-1:0]   obuf_addr_i,
  input  wire [N*AccBits-1:0] obuf_wdata_i,
  input  wire [RowBits-1:0]   obuf_raddr_i,
  output wire [N*AccBits-1:0] obuf_rdata_o,
  // weight SRAM port (writes and reads while idle)
  input  wire                 sram_we_i,
  input  wire [PassBits+$clog2(N*N/G)-1:0] sram_addr_i,
  input  wire [G*DataBits-1:0] sram_wdata_i,
  output wire [G*DataBits-1:0] sram_rdata_o,
  output wire                 sram_corrected_o,
  output wire                 sram_uncorrectable_o,
`ifdef QTAML_SABOTEUR
  input  wire                 sram_sab_en_i,
  input  wire [PassBits+$clog2(N*N/G)-1:0] sram_sab_addr_i,
  input  wire [G*DataBits-1:0] sram_sab_data_mask_i,
  input  wire [CheckBits-1:0] sram_sab_check_mask_i,
  input  wire                 sab_arm_i,
  input  wire [CycleBits-1:0] sab_cycle_i,
  input  wire [2:0]           sab_class_i,
  input  wire [7:0]           sab_row_i,
  input  wire [7:0]           sab_col_i,
  input  wire [AccBits-1:0]   sab_mask_i,
`endif
  // ECC status counts over the weight reads of the last run
  output wire [CountBits-1:0] ecc_corrected_count_o,
  output wire [CountBits-1:0] ecc_uncorrectable_count_o
);
  localparam integer NBits  = $clog2(N);
  localparam integer LBits  = $clog2(N * N / G);
  localparam integer SramAB = PassBits + LBits;
  localparam integer MaxRows   = 1 << RowBits;
  localparam integer MaxPasses = 1 << PassBits;
  localparam [CountBits-1:0] CountOne = 1;

  // ---------------------------------------------------------------- controller
  wire                 busy, stream_en, sram_re, wload_en;
  wire [CycleBits-1:0] cycle, stream_v;
  wire [CountBits-1:0] pass, sram_raddr, wload_idx;
  wire                 cfg_ok = (num_rows_i >= CountOne) && (num_rows_i <= MaxRows[CountBits-1:0]) &&
                                (num_passes_i >= CountOne) && (num_passes_i <= MaxPasses[CountBits-1:0]);

  gemm_ctrl #(.N(N), .G(G), .CountBits(CountBits), .CycleBits(CycleBits)) u_ctrl (
    .clk_i        (clk_i),
    .rst_i        (rst_i),
    .start_i      (start_i && cfg_ok),
    .num_rows_i   (num_rows_i),
    .num_passes_i (num_passes_i),
    .busy_o       (busy),
    .done_o       (done_o),
    .cycle_o      (cycle),
    .pass_o       (pass),
    .sram_re_o    (sram_re),
    .sram_raddr_o (sram_raddr),
    .wload_en_o   (wload_en),
    .wload_idx_o  (wload_idx),
    .stream_en_o  (stream_en),
    .stream_v_o   (stream_v)
  );
  assign busy_o      = busy;
  assign cfg_error_o = !cfg_ok;
  assign cycles_o    = cycle;

  reg [CountBits-1:0] rows_q;
  always @(posedge clk_i) begin
    if (rst_i) rows_q <= {CountBits{1'b0}};
    else if (start_i && !busy && cfg_ok) rows_q <= num_rows_i;
  end

  // ---------------------------------------------------------------- optional saboteur
`ifdef QTAML_SABOTEUR
  wire fire     = sab_arm_i && busy && (cycle == sab_cycle_i);
  wire sab_arr  = fire && (sab_class_i != 3'd4);
  wire sab_sram = sram_sab_en_i || (fire && sab_class_i == 3'd4);
`endif

  // ---------------------------------------------------------------- weight SRAM
  wire [G*DataBits-1:0] wdata;
  wire                  corrected, uncorrectable;
  weight_sram #(.AddrBits(SramAB), .G(G), .WeightBits(DataBits), .EccEnable(EccEnable),
                .ProtectBits(ProtectBits), .CheckBits(CheckBits)) u_sram (
    .clk_i            (clk_i),
    .we_i             (sram_we_i && !busy),
    .waddr_i          (sram_addr_i),
    .wdata_i          (sram_wdata_i),
    .raddr_i          (busy ? sram_raddr[SramAB-1:0] : sram_addr_i),
    .rdata_o          (wdata),
    .corrected_o      (corrected),
`ifdef QTAML_SABOTEUR
    .uncorrectable_o  (uncorrectable),
    .sab_en_i         (sab_sram),
    .sab_addr_i       (sram_sab_addr_i),
    .sab_data_mask_i  (sram_sab_data_mask_i),
    .sab_check_mask_i (sram_sab_check_mask_i)
`else
    .uncorrectable_o  (uncorrectable)
`endif
  );
  assign sram_rdata_o         = wdata;
  assign sram_corrected_o     = corrected;
  assign sram_uncorrectable_o = uncorrectable;

  reg [CountBits-1:0] n_corr_q, n_unc_q;
  always @(posedge clk_i) begin
    if (rst_i || (start_i && !busy && cfg_ok)) begin
      n_corr_q <= {CountBits{1'b0}};
      n_unc_q  <= {CountBits{1'b0}};
    end else if (wload_en) begin
      n_corr_q <= n_corr_q + {{(CountBits-1){1'b0}}, corrected};
      n_unc_q  <= n_unc_q + {{(CountBits-1){1'b0}}, uncorrectable};
    end
  end
  assign ecc_corrected_count_o     = n_corr_q;
  assign ecc_uncorrectable_count_o = n_unc_q;

  // ---------------------------------------------------------------- buffers
  reg [DataBits-1:0] abuf_q [0:(1 << (PassBits + RowBits + NBits)) - 1];
  reg [AccBits-1:0]  obuf_q [0:(1 << (RowBits + NBits)) - 1];

  wire [N*DataBits-1:0] a_west;
  wire [N*AccBits-1:0]  psum_north;
  wire [N*AccBits-1:0]  array_out;
  wire [N-1:0]          out_we;
  wire [N*RowBits-1:0]  out_row;
  localparam [CycleBits-1:0] CycOne = 1;
  wire [CycleBits-1:0] rows_c = {{(CycleBits-CountBits){1'b0}}, rows_q};

  genvar gi;
  generate
    for (gi = 0; gi < N; gi = gi + 1) begin : gen_lane
      // Row gi of the array gets A[m][p*N+gi] in cycle v = m + gi - 1 of the stream.
      wire [CycleBits-1:0] m_a = stream_v + CycOne - gi;
      wire                 a_ok = busy && !m_a[CycleBits-1] && (m_a < rows_c);
      assign a_west[gi*DataBits +: DataBits] =
        a_ok ? abuf_q[{pass[PassBits-1:0], m_a[RowBits-1:0], gi[NBits-1:0]}] : {DataBits{1'b0}};
      // Column gi reads partial sum row m in cycle v = m + gi.
      wire [CycleBits-1:0] m_p = stream_v - gi;
      wire                 p_ok = stream_en && !m_p[CycleBits-1] && (m_p < rows_c);
      assign psum_north[gi*AccBits +: AccBits] = p_ok ? obuf_q[{m_p[RowBits-1:0], gi[NBits-1:0]}] : {AccBits{1'b0}};
      // Output register of column gi holds row m in cycle v = m + N + gi + 1.
      wire [CycleBits-1:0] m_o = stream_v - (N + 1) - gi;
      assign out_we[gi] = stream_en && !m_o[CycleBits-1] && (m_o < rows_c);
      assign out_row[gi*RowBits +: RowBits] = m_o[RowBits-1:0];
      assign obuf_rdata_o[gi*AccBits +: AccBits] = obuf_q[{obuf_raddr_i, gi[NBits-1:0]}];
    end
  endgenerate

  integer i;
  always @(posedge clk_i) begin
    for (i = 0; i < N; i = i + 1) begin
      if (abuf_we_i && !busy)
        abuf_q[{abuf_addr_i, i[NBits-1:0]}] <= abuf_wdata_i[i*DataBits +: DataBits];
      if (obuf_we_i && !busy)
        obuf_q[{obuf_addr_i, i[NBits-1:0]}] <= obuf_wdata_i[i*AccBits +: AccBits];
      if (out_we[i])
        obuf_q[{out_row[i*RowBits +: RowBits], i[NBits-1:0]}] <= array_out[i*AccBits +: AccBits];
    end
  end

  // ---------------------------------------------------------------- array
  systolic_array #(.N(N), .G(G), .DataBits(DataBits), .AccBits(AccBits)) u_array (
    .clk_i        (clk_i),
    .rst_i        (rst_i),
    .a_west_i     (a_west),
    .psum_north_i (psum_north),
    .wload_en_i   (wload_en),
    .wload_idx_i  (wload_idx),
    .wload_data_i (wdata),
`ifdef QTAML_SABOTEUR
    .sab_en_i     (sab_arr),
    .sab_class_i  (sab_class_i),
    .sab_row_i    (sab_row_i),
    .sab_col_i    (sab_col_i),
    .sab_mask_i   (sab_mask_i),
`endif
    .out_o        (array_out)
  );

  wire unused_ok = ^{sram_re, pass[CountBits-1:PassBits], sram_raddr[CountBits-1:SramAB]};
endmodule
`default_nettype wire
