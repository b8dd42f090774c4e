// GEMM tile controller (docs/design.md section 5): start/done handshake and the cycle schedule.
//
// A run computes P = num_passes_i passes; pass p uses weight tile p (L = N*N/G SRAM words
// at addresses p*L .. p*L+L-1) and activation rows A[m][p*N .. p*N+N-1], m < M = num_rows_i.
// Cycle u of a pass (u = 0 .. L+M+2N):
//   u in [0, L)      SRAM read of word u (data returns next cycle)
//   u in [1, L]      weight word u-1 written into the array
//   v = u - (L+1)    stream time (stream_en_o when u >= L+1); see accel_top and
//                    qtaml_hw/fidelity/schedule.py for the per-register timing.
// cycle_o counts cycles from 0 (first busy cycle) over the whole run; busy_o while running;
// done_o is high from the end of a run until the next start; start_i while busy is ignored.
// State (fault class "control", docs/design.md section 6): busy_q, done_q, cyc_q, u_q,
// pass_q, rows_q, passes_q.
`default_nettype none
module gemm_ctrl #(
  parameter N         = 4,
  parameter G         = 8,
  parameter CountBits = 16,  // rows / passes / addresses
  parameter CycleBits = 32   // cycle counters
) (
  input  wire                 clk_i,
  input  wire                 rst_i,
  input  wire                 start_i,
  input  wire [CountBits-1:0] num_rows_i,
  input  wire [CountBits-1:0] num_passes_i,
  output wire                 busy_o,
  output wire                 done_o,
  output wire [CycleBits-1:0] cycle_o,
  output wire [CountBits-1:0] pass_o,
  output wire                 sram_re_o,
  output wire [CountBits-1:0] sram_raddr_o,
  output wire                 wload_en_o,
  output wire [CountBits-1:0] wload_idx_o,
  output wire                 stream_en_o,
  output wire [CycleBits-1:0] stream_v_o
);
  localparam integer L = N * N / G;
  localparam [CountBits-1:0] LC  = L[CountBits-1:0];
  localparam [CountBits-1:0] One = 1;

  reg                 busy_q;
  reg                 done_q;
  reg [CycleBits-1:0] cyc_q;
  reg [CycleBits-1:0] u_q;
  reg [CountBits-1:0] pass_q;
  reg [CountBits-1:0] rows_q;
  reg [CountBits-1:0] passes_q;

  // Last cycle of a pass: u = L + M + 2N.
  wire [CycleBits-1:0] u_last   = L + {{(CycleBits-CountBits){1'b0}}, rows_q} + 2 * N;
  wire                 pass_end = busy_q && (u_q == u_last);
  wire                 run_end  = pass_end && (pass_q + One == passes_q);

  always @(posedge clk_i) begin
    if (rst_i) begin
      busy_q   <= 1'b0;
      done_q   <= 1'b0;
      cyc_q    <= {CycleBits{1'b0}};
      u_q      <= {CycleBits{1'b0}};
      pass_q   <= {CountBits{1'b0}};
      rows_q   <= {CountBits{1'b0}};
      passes_q <= {CountBits{1'b0}};
    end else if (!busy_q) begin
      if (start_i) begin
        busy_q   <= 1'b1;
        done_q   <= 1'b0;
        cyc_q    <= {CycleBits{1'b0}};
        u_q      <= {CycleBits{1'b0}};
        pass_q   <= {CountBits{1'b0}};
        rows_q   <= num_rows_i;
        passes_q <= num_passes_i;
      end
    end else begin
      cyc_q <= cyc_q + 1'b1;
      if (run_end) begin
        busy_q <= 1'b0;
        done_q <= 1'b1;
      end else if (pass_end) begin
        u_q    <= {CycleBits{1'b0}};
        pass_q <= pass_q + One;
      end else begin
        u_q <= u_q + 1'b1;
      end
    end
  end

  wire [CountBits-1:0] pass_base = pass_q * LC;
  assign busy_o       = busy_q;
  assign done_o       = done_q;
  assign cycle_o      = cyc_q;
  assign pass_o       = pass_q;
  assign sram_re_o    = busy_q && (u_q < L);
  assign sram_raddr_o = pass_base + u_q[CountBits-1:0];
  assign wload_en_o   = busy_q && (u_q >= 1) && (u_q <= L);
  assign wload_idx_o  = u_q[CountBits-1:0] - One;
  assign stream_en_o  = busy_q && (u_q >= L + 1);
  assign stream_v_o   = u_q - (L + 1);
endmodule
`default_nettype wire
