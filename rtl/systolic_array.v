// N x N weight-stationary systolic array, int8 x int8 -> int32 (design.md section 5).
//
// PE(r,c) holds W[r][c] (r: reduction index, c: output column).  Activations enter row r
// from the west (a_west_i byte r) and move east one PE per cycle; partial sums enter
// column c from the north (psum_north_i word c) and move south one PE per cycle; the
// bottom partial sum of column c is registered in the output register o_q of column c.
// Weights are written G at a time: word i holds flattened weights r*N+c = G*i .. G*i+G-1.
// Saboteur classes: 0 weight, 1 activation, 2 partial sum (row, col), 3 output (col).
module systolic_array #(
  parameter N = 4,
  parameter G = 8
) (
  input                 clk_i,
  input                 rst_i,
  input  [N*8-1:0]      a_west_i,
  input  [N*32-1:0]     psum_north_i,
  input                 wload_en_i,
  input  [15:0]         wload_idx_i,
  input  [G*8-1:0]      wload_data_i,
  input                 sab_en_i,
  input  [2:0]          sab_class_i,
  input  [7:0]          sab_row_i,
  input  [7:0]          sab_col_i,
  input  [31:0]         sab_mask_i,
  output [N*32-1:0]     out_o
);
  // Net arrays, not flat buses: Icarus re-evaluates every reader of a vector when any
  // part of it changes, which made a flat bus quadratic in N*N.
  // a_net[r*(N+1)+c]: activation leaving PE(r,c-1) toward PE(r,c).
  wire [7:0]  a_net [0:N*(N+1)-1];
  // p_net[r*N+c]: partial sum entering row r of column c, r = 0..N.
  wire [31:0] p_net [0:(N+1)*N-1];

  genvar r, c;
  generate
    for (r = 0; r < N; r = r + 1) begin : gen_row
      assign a_net[r*(N+1)] = a_west_i[r*8 +: 8];
      for (c = 0; c < N; c = c + 1) begin : gen_col
        systolic_pe #(.N(N), .G(G), .Row(r), .Col(c)) u_pe (
          .clk_i        (clk_i),
          .rst_i        (rst_i),
          .a_i          (a_net[r*(N+1)+c]),
          .psum_i       (p_net[r*N+c]),
          .wload_en_i   (wload_en_i),
          .wload_idx_i  (wload_idx_i),
          .wload_byte_i (wload_data_i[((r*N+c)%G)*8 +: 8]),
          .sab_en_i     (sab_en_i),
          .sab_class_i  (sab_class_i),
          .sab_row_i    (sab_row_i),
          .sab_col_i    (sab_col_i),
          .sab_mask_i   (sab_mask_i),
          .a_o          (a_net[r*(N+1)+c+1]),
          .psum_o       (p_net[(r+1)*N+c])
        );
      end
    end
    for (c = 0; c < N; c = c + 1) begin : gen_out
      reg [31:0] o_q;
      wire hit = sab_en_i && (sab_class_i == 3'd3) && (sab_col_i == c[7:0]);
      assign p_net[c] = psum_north_i[c*32 +: 32];
      always @(posedge clk_i) begin
        if (rst_i) o_q <= 32'd0;
        else       o_q <= p_net[N*N+c] ^ (hit ? sab_mask_i : 32'd0);
      end
      assign out_o[c*32 +: 32] = o_q;
    end
  endgenerate

  // Activations leaving the east edge are not used.
  wire unused_east;
  generate
    if (1) begin : gen_unused
      wire [N*8-1:0] east;
      for (r = 0; r < N; r = r + 1) begin : gen_e
        assign east[r*8 +: 8] = a_net[r*(N+1)+N];
      end
      assign unused_east = ^east;
    end
  endgenerate
endmodule
