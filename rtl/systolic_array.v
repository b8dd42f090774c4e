// N x N weight-stationary systolic array, DataBits x DataBits -> AccBits (docs/design.md section 5).
//
// PE(r,c) holds W[r][c] (r: reduction index, c: output column).  Activations enter row r
// from the west (a_west_i lane r) and move east one PE per cycle; partial sums enter
// column c from the north (psum_north_i word c) and move south one PE per cycle; the
// bottom partial sum of column c is registered in the output register o_q of column c.
// Weights are written G at a time: word i holds flattened weights r*N+c = G*i .. G*i+G-1.
// Optional saboteur (`define QTAML_SABOTEUR; never in synthesis): classes 0 weight,
// 1 activation, 2 partial sum (row, col), 3 output (col).  The default injection mechanism
// writes registers by hierarchical path (docs/design.md section 6).
`default_nettype none
module systolic_array #(
  parameter N        = 4,
  parameter G        = 8,
  parameter DataBits = 8,
  parameter AccBits  = 32
) (
  input  wire                  clk_i,
  input  wire                  rst_i,
  input  wire [N*DataBits-1:0] a_west_i,
  input  wire [N*AccBits-1:0]  psum_north_i,
  input  wire                  wload_en_i,
  input  wire [15:0]           wload_idx_i,
  input  wire [G*DataBits-1:0] wload_data_i,
`ifdef QTAML_SABOTEUR
  input  wire                  sab_en_i,
  input  wire [2:0]            sab_class_i,
  input  wire [7:0]            sab_row_i,
  input  wire [7:0]            sab_col_i,
  input  wire [AccBits-1:0]    sab_mask_i,
`endif
  output wire [N*AccBits-1:0]  out_o
);
  // Net arrays, not flat buses: Icarus re-evaluates every reader of a vector when any
  // part of it changes, which made a flat bus quadratic in N*N.
  // a_net[r*(N+1)+c]: activation leaving PE(r,c-1) toward PE(r,c).
  wire [DataBits-1:0] a_net [0:N*(N+1)-1];
  // p_net[r*N+c]: partial sum entering row r of column c, r = 0..N.
  wire [AccBits-1:0]  p_net [0:(N+1)*N-1];

  genvar r, c;
  generate
    for (r = 0; r < N; r = r + 1) begin : gen_row
      assign a_net[r*(N+1)] = a_west_i[r*DataBits +: DataBits];
      for (c = 0; c < N; c = c + 1) begin : gen_col
        systolic_pe #(.N(N), .G(G), .Row(r), .Col(c), .DataBits(DataBits), .AccBits(AccBits)) u_pe (
          .clk_i        (clk_i),
          .rst_i        (rst_i),
          .a_i          (a_net[r*(N+1)+c]),
          .psum_i       (p_net[r*N+c]),
          .wload_en_i   (wload_en_i),
          .wload_idx_i  (wload_idx_i),
          .wload_byte_i (wload_data_i[((r*N+c)%G)*DataBits +: DataBits]),
`ifdef QTAML_SABOTEUR
          .sab_en_i     (sab_en_i),
          .sab_class_i  (sab_class_i),
          .sab_row_i    (sab_row_i),
          .sab_col_i    (sab_col_i),
          .sab_mask_i   (sab_mask_i),
`endif
          .a_o          (a_net[r*(N+1)+c+1]),
          .psum_o       (p_net[(r+1)*N+c])
        );
      end
    end
    for (c = 0; c < N; c = c + 1) begin : gen_out
      reg [AccBits-1:0] o_q;
`ifdef QTAML_SABOTEUR
      wire [AccBits-1:0] o_x = (sab_en_i && (sab_class_i == 3'd3) && (sab_col_i == c[7:0])) ?
                               sab_mask_i : {AccBits{1'b0}};
`else
      wire [AccBits-1:0] o_x = {AccBits{1'b0}};
`endif
      assign p_net[c] = psum_north_i[c*AccBits +: AccBits];
      always @(posedge clk_i) begin
        if (rst_i) o_q <= {AccBits{1'b0}};
        else       o_q <= p_net[N*N+c] ^ o_x;
      end
      assign out_o[c*AccBits +: AccBits] = o_q;
    end
  endgenerate

  // Activations leaving the east edge are not used.
  wire unused_east;
  generate
    if (1) begin : gen_unused
      wire [N*DataBits-1:0] east;
      for (r = 0; r < N; r = r + 1) begin : gen_e
        assign east[r*DataBits +: DataBits] = a_net[r*(N+1)+N];
      end
      assign unused_east = ^east;
    end
  endgenerate
endmodule
`default_nettype wire
