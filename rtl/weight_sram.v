// Weight SRAM with optional SECDED protection of the top bits (docs/design.md sections 3, 5).
//
// A word holds G weights of WeightBits bits (weight g in bits [g*WeightBits +: WeightBits]).
// With EccEnable, the top ProtectBits bits of every weight form the SECDED data word in the
// contract's bit-plane order: data bit g*m + j = bit (WeightBits-m+j) of weight g (m =
// ProtectBits); the check bits (gen_ecc.check_q) are stored beside the data (mem_q).
// Reads are synchronous: the word addressed in cycle t is registered (rdata_q, rcheck_q)
// and appears decoded on rdata_o in cycle t+1 with corrected_o / uncorrectable_o.
// The low WeightBits-m bits are stored unprotected.
// Fault injection (docs/design.md section 6): by hierarchical path into mem_q[a],
// gen_ecc.check_q[a], rdata_q, gen_ecc.rcheck_q.  The optional saboteur (`define
// QTAML_SABOTEUR; never in synthesis) XORs stored word sab_addr_i (data and check bits) with
// the masks at the clock edge, so a fault persists until the word is rewritten; it wins over
// a write to the same address in the same cycle.
`default_nettype none
module weight_sram #(
  parameter AddrBits    = 6,   // Depth = 2**AddrBits words
  parameter G           = 8,
  parameter WeightBits  = 8,
  parameter EccEnable   = 0,
  parameter ProtectBits = 8,
  // Hsiao SECDED check bits of a G*ProtectBits-bit data word
  parameter CheckBits   = (G * ProtectBits <= 8) ? 5 : (G * ProtectBits <= 16) ? 6 :
                          (G * ProtectBits <= 32) ? 7 : 8
) (
  input  wire                    clk_i,
  input  wire                    we_i,
  input  wire [AddrBits-1:0]     waddr_i,
  input  wire [G*WeightBits-1:0] wdata_i,
  input  wire [AddrBits-1:0]     raddr_i,
  output wire [G*WeightBits-1:0] rdata_o,
  output wire                    corrected_o,
`ifdef QTAML_SABOTEUR
  output wire                    uncorrectable_o,
  input  wire                    sab_en_i,
  input  wire [AddrBits-1:0]     sab_addr_i,
  input  wire [G*WeightBits-1:0] sab_data_mask_i,
  input  wire [CheckBits-1:0]    sab_check_mask_i
`else
  output wire                    uncorrectable_o
`endif
);
  localparam integer Depth = 1 << AddrBits;
  localparam integer W  = G * WeightBits;
  localparam integer M  = ProtectBits;
  localparam integer DB = G * ProtectBits;

  reg [W-1:0] mem_q [0:Depth-1];
  reg [W-1:0] rdata_q;

  always @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
`ifdef QTAML_SABOTEUR
    if (sab_en_i) mem_q[sab_addr_i] <= mem_q[sab_addr_i] ^ sab_data_mask_i;
`endif
    rdata_q <= mem_q[raddr_i];
  end

  generate
    if (EccEnable != 0) begin : gen_ecc
      reg  [CheckBits-1:0] check_q [0:Depth-1];
      reg  [CheckBits-1:0] rcheck_q;
      wire [DB-1:0]        wplane;
      wire [DB-1:0]        rplane;
      wire [DB-1:0]        fixed;
      wire [CheckBits-1:0] wcheck;
      /* verilator lint_off UNUSEDSIGNAL */
      wire [CheckBits-1:0] syndrome;
      /* verilator lint_on UNUSEDSIGNAL */
      genvar g, j;
      for (g = 0; g < G; g = g + 1) begin : gen_w
        for (j = 0; j < M; j = j + 1) begin : gen_b
          assign wplane[g*M + j] = wdata_i[g*WeightBits + WeightBits - M + j];
          assign rplane[g*M + j] = rdata_q[g*WeightBits + WeightBits - M + j];
          assign rdata_o[g*WeightBits + WeightBits - M + j] = fixed[g*M + j];
        end
        if (M < WeightBits) begin : gen_low
          assign rdata_o[g*WeightBits +: WeightBits - M] = rdata_q[g*WeightBits +: WeightBits - M];
        end
      end
      secded_enc #(.DataBits(DB), .CheckBits(CheckBits)) u_enc (
        .data_i  (wplane),
        .check_o (wcheck)
      );
      secded_dec #(.DataBits(DB), .CheckBits(CheckBits)) u_dec (
        .data_i          (rplane),
        .check_i         (rcheck_q),
        .data_o          (fixed),
        .syndrome_o      (syndrome),
        .corrected_o     (corrected_o),
        .uncorrectable_o (uncorrectable_o)
      );
      always @(posedge clk_i) begin
        if (we_i) check_q[waddr_i] <= wcheck;
`ifdef QTAML_SABOTEUR
        if (sab_en_i) check_q[sab_addr_i] <= check_q[sab_addr_i] ^ sab_check_mask_i;
`endif
        rcheck_q <= check_q[raddr_i];
      end
    end else begin : gen_plain
      assign rdata_o         = rdata_q;
      assign corrected_o     = 1'b0;
      assign uncorrectable_o = 1'b0;
    end
  endgenerate
endmodule
`default_nettype wire
