// GEMM accelerator top (design.md section 5): weight SRAM (+SECDED), activation buffer,
// output/partial-sum buffer, N x N systolic array, controller and saboteur ports.
//
// Computes  O[m][c] = Pre[m][c] + sum_k A[m][k] * W[k][c]  (mod 2^32), m < M, k < P*N, c < N,
// where Pre is what the output buffer held at start (preloaded partial sums) and the
// result is left in the output buffer.  Weight tile p (W[p*N + r][c], flattened r*N+c,
// G = 8 weights per word) lives at SRAM words p*L .. p*L+L-1, L = N*N/8.  Activation
// row word (p*MaxRows + m) holds A[m][p*N + r] in byte r.  The exact cycle schedule is
// documented in docs/rtl.md and qtaml_hw/cosim/schedule.py.
//
// Saboteur: with sab_arm_i set, at the clock edge that ends run cycle sab_cycle_i the
// register selected by sab_class_i (0 weight, 1 activation, 2 partial sum, 3 output
// register, 4 SRAM word sram_sab_addr_i) is XORed with its mask (sab_mask_i, or the SRAM
// masks for class 4).  sram_sab_en_i applies the SRAM masks at once (any time).
module accel_top #(
  parameter N           = 4,
  parameter RowBits     = 2,   // MaxRows   = 2**RowBits activation rows per tile
  parameter PassBits    = 2,   // MaxPasses = 2**PassBits reduction passes (K <= N*MaxPasses)
  parameter EccEnable   = 0,
  parameter ProtectBits = 8
) (
  input                          clk_i,
  input                          rst_i,
  input                          start_i,
  input      [15:0]              num_rows_i,
  input      [15:0]              num_passes_i,
  output                         busy_o,
  output                         done_o,
  output                         cfg_error_o,
  output     [31:0]              cycles_o,
  // activation buffer write port (row words)
  input                          abuf_we_i,
  input      [PassBits+RowBits-1:0] abuf_addr_i,
  input      [N*8-1:0]           abuf_wdata_i,
  // output / partial-sum buffer ports (row words of N int32)
  input                          obuf_we_i,
  input      [RowBits-1:0]       obuf_addr_i,
  input      [N*32-1:0]          obuf_wdata_i,
  input      [RowBits-1:0]       obuf_raddr_i,
  output     [N*32-1:0]          obuf_rdata_o,
  // weight SRAM port (writes and reads while idle)
  input                          sram_we_i,
  input      [PassBits+$clog2(N*N/8)-1:0] sram_addr_i,
  input      [63:0]              sram_wdata_i,
  output     [63:0]              sram_rdata_o,
  output                         sram_corrected_o,
  output                         sram_uncorrectable_o,
  // saboteur
  input                          sram_sab_en_i,
  input      [PassBits+$clog2(N*N/8)-1:0] sram_sab_addr_i,
  input      [63:0]              sram_sab_data_mask_i,
  input      [7:0]               sram_sab_check_mask_i,
  input                          sab_arm_i,
  input      [31:0]              sab_cycle_i,
  input      [2:0]               sab_class_i,
  input      [7:0]               sab_row_i,
  input      [7:0]               sab_col_i,
  input      [31:0]              sab_mask_i,
  // ECC status counts over the weight reads of the last run
  output     [15:0]              ecc_corrected_count_o,
  output     [15:0]              ecc_uncorrectable_count_o
);
  localparam integer G      = 8;
  localparam integer NBits  = $clog2(N);
  localparam integer LBits  = $clog2(N * N / G);
  localparam integer SramAB = PassBits + LBits;
  localparam integer MaxRows   = 1 << RowBits;
  localparam integer MaxPasses = 1 << PassBits;

  // ---------------------------------------------------------------- controller
  wire        busy, stream_en, sram_re, wload_en;
  wire [31:0] cycle, stream_v;
  wire [15:0] pass, sram_raddr, wload_idx;
  wire        cfg_ok = (num_rows_i >= 16'd1) && (num_rows_i <= MaxRows[15:0]) &&
                       (num_passes_i >= 16'd1) && (num_passes_i <= MaxPasses[15:0]);

  gemm_ctrl #(.N(N), .G(G)) u_ctrl (
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

  reg [15:0] rows_q;
  always @(posedge clk_i) begin
    if (rst_i) rows_q <= 16'd0;
    else if (start_i && !busy && cfg_ok) rows_q <= num_rows_i;
  end

  // ---------------------------------------------------------------- saboteur trigger
  wire fire     = sab_arm_i && busy && (cycle == sab_cycle_i);
  wire sab_arr  = fire && (sab_class_i != 3'd4);
  wire sab_sram = sram_sab_en_i || (fire && sab_class_i == 3'd4);

  // ---------------------------------------------------------------- weight SRAM
  wire [63:0] wdata;
  wire        corrected, uncorrectable;
  weight_sram #(.AddrBits(SramAB), .G(G), .WeightBits(8), .EccEnable(EccEnable),
                .ProtectBits(ProtectBits)) u_sram (
    .clk_i            (clk_i),
    .we_i             (sram_we_i && !busy),
    .waddr_i          (sram_addr_i),
    .wdata_i          (sram_wdata_i),
    .raddr_i          (busy ? sram_raddr[SramAB-1:0] : sram_addr_i),
    .rdata_o          (wdata),
    .corrected_o      (corrected),
    .uncorrectable_o  (uncorrectable),
    .sab_en_i         (sab_sram),
    .sab_addr_i       (sram_sab_addr_i),
    .sab_data_mask_i  (sram_sab_data_mask_i),
    .sab_check_mask_i (sram_sab_check_mask_i)
  );
  assign sram_rdata_o         = wdata;
  assign sram_corrected_o     = corrected;
  assign sram_uncorrectable_o = uncorrectable;

  reg [15:0] n_corr_q, n_unc_q;
  always @(posedge clk_i) begin
    if (rst_i || (start_i && !busy && cfg_ok)) begin
      n_corr_q <= 16'd0;
      n_unc_q  <= 16'd0;
    end else if (wload_en) begin
      n_corr_q <= n_corr_q + {15'd0, corrected};
      n_unc_q  <= n_unc_q + {15'd0, uncorrectable};
    end
  end
  assign ecc_corrected_count_o     = n_corr_q;
  assign ecc_uncorrectable_count_o = n_unc_q;

  // ---------------------------------------------------------------- buffers
  reg [7:0]  abuf_q [0:(1 << (PassBits + RowBits + NBits)) - 1];
  reg [31:0] obuf_q [0:(1 << (RowBits + NBits)) - 1];

  wire [N*8-1:0]  a_west;
  wire [N*32-1:0] psum_north;
  wire [N*32-1:0] array_out;
  wire [N-1:0]    out_we;
  wire [N*RowBits-1:0] out_row;

  genvar gi;
  generate
    for (gi = 0; gi < N; gi = gi + 1) begin : gen_lane
      // Row gi of the array gets A[m][p*N+gi] in cycle v = m + gi - 1 of the stream.
      wire [31:0] m_a = stream_v + 32'd1 - gi;
      wire        a_ok = busy && !m_a[31] && (m_a < {16'd0, rows_q});
      assign a_west[gi*8 +: 8] =
        a_ok ? abuf_q[{pass[PassBits-1:0], m_a[RowBits-1:0], gi[NBits-1:0]}] : 8'd0;
      // Column gi reads partial sum row m in cycle v = m + gi.
      wire [31:0] m_p = stream_v - gi;
      wire        p_ok = stream_en && !m_p[31] && (m_p < {16'd0, rows_q});
      assign psum_north[gi*32 +: 32] = p_ok ? obuf_q[{m_p[RowBits-1:0], gi[NBits-1:0]}] : 32'd0;
      // Output register of column gi holds row m in cycle v = m + N + gi + 1.
      wire [31:0] m_o = stream_v - (N + 1) - gi;
      assign out_we[gi] = stream_en && !m_o[31] && (m_o < {16'd0, rows_q});
      assign out_row[gi*RowBits +: RowBits] = m_o[RowBits-1:0];
      assign obuf_rdata_o[gi*32 +: 32] = obuf_q[{obuf_raddr_i, gi[NBits-1:0]}];
    end
  endgenerate

  integer i;
  always @(posedge clk_i) begin
    for (i = 0; i < N; i = i + 1) begin
      if (abuf_we_i && !busy)
        abuf_q[{abuf_addr_i, i[NBits-1:0]}] <= abuf_wdata_i[i*8 +: 8];
      if (obuf_we_i && !busy)
        obuf_q[{obuf_addr_i, i[NBits-1:0]}] <= obuf_wdata_i[i*32 +: 32];
      if (out_we[i])
        obuf_q[{out_row[i*RowBits +: RowBits], i[NBits-1:0]}] <= array_out[i*32 +: 32];
    end
  end

  // ---------------------------------------------------------------- array
  systolic_array #(.N(N), .G(G)) u_array (
    .clk_i        (clk_i),
    .rst_i        (rst_i),
    .a_west_i     (a_west),
    .psum_north_i (psum_north),
    .wload_en_i   (wload_en),
    .wload_idx_i  (wload_idx),
    .wload_data_i (wdata),
    .sab_en_i     (sab_arr),
    .sab_class_i  (sab_class_i),
    .sab_row_i    (sab_row_i),
    .sab_col_i    (sab_col_i),
    .sab_mask_i   (sab_mask_i),
    .out_o        (array_out)
  );

  wire unused_ok = ^{sram_re, pass[15:PassBits], sram_raddr[15:SramAB]};
endmodule
