// byo_mac: one output-stationary multiply-accumulate unit with its own weight memory
// (SystemVerilog; docs/descriptor.md).  Structure differs from accel_top on purpose:
// one MAC instead of an array, the accumulator stays in place (output stationary), weights
// are read from the memory every cycle (nothing weight-stationary), activations come from
// a small buffer, reset is asynchronous and active low.
//
// After start with count = K (1..Lanes*2**AddrBits), cycle i (i < K) computes
//   acc_q <= acc_q + x[i] * w[i],  w[i] = lane (i mod Lanes) of weight word i / Lanes,
// so acc_o = sum_i x[i] * w[i] (mod 2**AccBits) when done_o rises.
`default_nettype none
module mac_os #(
  parameter int AddrBits = 3,
  parameter int Lanes    = 4,
  parameter int AccBits  = 24
) (
  input  logic                      clk,
  input  logic                      rst_n,
  input  logic                      start_i,
  input  logic [7:0]                count_i,
  input  logic                      w_we_i,
  input  logic [AddrBits-1:0]       w_addr_i,
  input  logic [Lanes*8-1:0]        w_data_i,
  input  logic                      x_we_i,
  input  logic [AddrBits+1:0]       x_addr_i,
  input  logic [7:0]                x_data_i,
  output logic                      busy_o,
  output logic                      done_o,
  output logic [AccBits-1:0]        acc_o
);
  localparam int LaneBits = $clog2(Lanes);
  localparam int Depth    = Lanes << AddrBits;

  logic [7:0]         xbuf_q [0:Depth-1];
  logic [7:0]         idx_q;
  logic [7:0]         cnt_q;
  logic               busy_q;
  logic               done_q;
  logic [AccBits-1:0] acc_q;
  logic [Lanes*8-1:0] wword;
  logic signed [7:0]  w_cur;
  logic signed [7:0]  x_cur;
  logic signed [15:0] prod;

  wsram #(.AddrBits(AddrBits), .Width(Lanes * 8)) u_wmem (
    .clk   (clk),
    .we    (w_we_i && !busy_q),
    .waddr (w_addr_i),
    .wdata (w_data_i),
    .raddr (idx_q[LaneBits +: AddrBits]),
    .rdata (wword)
  );

  always_comb begin
    w_cur = wword[idx_q[LaneBits-1:0] * 8 +: 8];
    x_cur = xbuf_q[idx_q[AddrBits+LaneBits-1:0]];
    prod  = x_cur * w_cur;
  end

  always_ff @(posedge clk) begin
    if (x_we_i && !busy_q) xbuf_q[x_addr_i] <= x_data_i;
  end

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      busy_q <= 1'b0;
      done_q <= 1'b0;
      idx_q  <= 8'd0;
      cnt_q  <= 8'd0;
      acc_q  <= '0;
    end else if (!busy_q) begin
      if (start_i && count_i != 8'd0) begin
        busy_q <= 1'b1;
        done_q <= 1'b0;
        idx_q  <= 8'd0;
        cnt_q  <= count_i;
        acc_q  <= '0;
      end
    end else begin
      acc_q <= acc_q + {{(AccBits-16){prod[15]}}, prod};
      idx_q <= idx_q + 8'd1;
      if (idx_q + 8'd1 == cnt_q) begin
        busy_q <= 1'b0;
        done_q <= 1'b1;
      end
    end
  end

  assign busy_o = busy_q;
  assign done_o = done_q;
  assign acc_o  = acc_q;
endmodule
`default_nettype wire
