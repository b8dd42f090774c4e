// One processing element of the weight-stationary systolic array (docs/design.md section 5).
//
// Registers (the fault-site classes of docs/design.md section 6):
//   w_q  DataBits weight, held until the controller writes its word again;
//   a_q  DataBits activation, shifted east every cycle;
//   p_q  AccBits partial sum, shifted south every cycle.
// Each cycle: a_q <= a_i ; p_q <= psum_i + a_q * w_q  (two's complement, wraps mod 2^AccBits).
// Fault injection: by hierarchical path (any simulator writes w_q/a_q/p_q directly).  With
// `define QTAML_SABOTEUR the optional saboteur ports XOR the register's next value with
// sab_mask_i when sab_en_i selects it; synthesis and area never define it.
`default_nettype none
module systolic_pe #(
  parameter N        = 4,   // array size (for the weight-word index of this PE)
  parameter G        = 8,   // weights per weight word
  parameter Row      = 0,
  parameter Col      = 0,
  parameter DataBits = 8,   // operand width (int8)
  parameter AccBits  = 32   // accumulator width (int32)
) (
  input  wire                clk_i,
  input  wire                rst_i,
  input  wire [DataBits-1:0] a_i,
  input  wire [AccBits-1:0]  psum_i,
  input  wire                wload_en_i,
  input  wire [15:0]         wload_idx_i,
  input  wire [DataBits-1:0] wload_byte_i,  // lane of the weight word being written
`ifdef QTAML_SABOTEUR
  input  wire                sab_en_i,
  input  wire [2:0]          sab_class_i,
  input  wire [7:0]          sab_row_i,
  input  wire [7:0]          sab_col_i,
  input  wire [AccBits-1:0]  sab_mask_i,
`endif
  output wire [DataBits-1:0] a_o,
  output wire [AccBits-1:0]  psum_o
);
  localparam integer Flat = Row * N + Col;
  localparam integer Word = Flat / G;
  localparam integer ProdBits = 2 * DataBits;

  reg  [DataBits-1:0] w_q;
  reg  [DataBits-1:0] a_q;
  reg  [AccBits-1:0]  p_q;

`ifdef QTAML_SABOTEUR
  wire                hit = sab_en_i && (sab_row_i == Row[7:0]) && (sab_col_i == Col[7:0]);
  wire [DataBits-1:0] w_x = (hit && sab_class_i == 3'd0) ? sab_mask_i[DataBits-1:0] : {DataBits{1'b0}};
  wire [DataBits-1:0] a_x = (hit && sab_class_i == 3'd1) ? sab_mask_i[DataBits-1:0] : {DataBits{1'b0}};
  wire [AccBits-1:0]  p_x = (hit && sab_class_i == 3'd2) ? sab_mask_i : {AccBits{1'b0}};
`else
  wire [DataBits-1:0] w_x = {DataBits{1'b0}};
  wire [DataBits-1:0] a_x = {DataBits{1'b0}};
  wire [AccBits-1:0]  p_x = {AccBits{1'b0}};
`endif

  wire                w_sel = wload_en_i && (wload_idx_i == Word[15:0]);
  wire [DataBits-1:0] w_d   = w_sel ? wload_byte_i : w_q;
  wire signed [ProdBits-1:0] prod = $signed(a_q) * $signed(w_q);
  wire [AccBits-1:0]  p_d = psum_i + {{(AccBits-ProdBits){prod[ProdBits-1]}}, prod};

  always @(posedge clk_i) begin
    if (rst_i) begin
      w_q <= {DataBits{1'b0}};
      a_q <= {DataBits{1'b0}};
      p_q <= {AccBits{1'b0}};
    end else begin
      w_q <= w_d ^ w_x;
      a_q <= a_i ^ a_x;
      p_q <= p_d ^ p_x;
    end
  end

  assign a_o    = a_q;
  assign psum_o = p_q;
endmodule
`default_nettype wire
