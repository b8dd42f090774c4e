// One processing element of the weight-stationary systolic array (design.md section 5).
//
// Registers (the fault-site classes of design.md section 6):
//   w_q  int8 weight, held until the controller writes its word again;
//   a_q  int8 activation, shifted east every cycle;
//   p_q  int32 partial sum, shifted south every cycle.
// Each cycle: a_q <= a_i ; p_q <= psum_i + a_q * w_q  (two's complement, wraps mod 2^32).
// Saboteur: the register's next value is XORed with sab_mask_i when sab_en_i selects it.
module systolic_pe #(
  parameter N   = 4,   // array size (for the weight-word index of this PE)
  parameter G   = 8,   // int8 weights per weight word
  parameter Row = 0,
  parameter Col = 0
) (
  input               clk_i,
  input               rst_i,
  input       [7:0]   a_i,
  input       [31:0]  psum_i,
  input               wload_en_i,
  input       [15:0]  wload_idx_i,
  input       [7:0]   wload_byte_i,  // byte Lane of the weight word being written
  input               sab_en_i,
  input       [2:0]   sab_class_i,
  input       [7:0]   sab_row_i,
  input       [7:0]   sab_col_i,
  input       [31:0]  sab_mask_i,
  output      [7:0]   a_o,
  output      [31:0]  psum_o
);
  localparam integer Flat = Row * N + Col;
  localparam integer Word = Flat / G;

  reg  [7:0]  w_q;
  reg  [7:0]  a_q;
  reg  [31:0] p_q;

  wire        hit   = sab_en_i && (sab_row_i == Row[7:0]) && (sab_col_i == Col[7:0]);
  wire [7:0]  w_x   = (hit && sab_class_i == 3'd0) ? sab_mask_i[7:0] : 8'd0;
  wire [7:0]  a_x   = (hit && sab_class_i == 3'd1) ? sab_mask_i[7:0] : 8'd0;
  wire [31:0] p_x   = (hit && sab_class_i == 3'd2) ? sab_mask_i : 32'd0;

  wire        w_sel = wload_en_i && (wload_idx_i == Word[15:0]);
  wire [7:0]  w_d   = w_sel ? wload_byte_i : w_q;
  wire signed [15:0] prod = $signed(a_q) * $signed(w_q);
  wire [31:0] p_d   = psum_i + {{16{prod[15]}}, prod};

  always @(posedge clk_i) begin
    if (rst_i) begin
      w_q <= 8'd0;
      a_q <= 8'd0;
      p_q <= 32'd0;
    end else begin
      w_q <= w_d ^ w_x;
      a_q <= a_i ^ a_x;
      p_q <= p_d ^ p_x;
    end
  end

  assign a_o    = a_q;
  assign psum_o = p_q;
endmodule
