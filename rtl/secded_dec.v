// GENERATED FILE, do not edit: produced by `python -m qtaml_hw.ecc.verilog (or: qtaml-hw ecc-gen)`
// from the parity-check matrices of qtaml_hw/ecc/matrix.py (the Python codec's source too).
// Hsiao SECDED decoder (design.md sections 3, 5); codes (13,8), (22,16), (39,32), (72,64).
// Data bit j of the H matrix is data_i[j]; check bit i is bit i of the check word.
// syndrome = check_i ^ enc(data_i); a syndrome equal to data column j flips data bit j;
// corrected_o: the syndrome equals a column (data or check bit); uncorrectable_o: nonzero, no column.
// An uncorrectable word passes data_i through unchanged.
module secded_dec #(
  parameter DataBits  = 64,
  parameter CheckBits = 8
) (
  input  [DataBits-1:0]  data_i,
  input  [CheckBits-1:0] check_i,
  output [DataBits-1:0]  data_o,
  output [CheckBits-1:0] syndrome_o,
  output                 corrected_o,
  output                 uncorrectable_o
);
  wire [CheckBits-1:0] expected;
  wire [DataBits-1:0]  flip;
  wire                 check_hit;
  secded_enc #(.DataBits(DataBits), .CheckBits(CheckBits)) u_enc (
    .data_i  (data_i),
    .check_o (expected)
  );
  assign syndrome_o      = check_i ^ expected;
  assign data_o          = data_i ^ flip;
  assign corrected_o     = (|flip) | check_hit;
  assign uncorrectable_o = (|syndrome_o) & ~corrected_o;
  generate
    if (DataBits == 8 && CheckBits == 5) begin : gen_k8
      assign flip[0] = (syndrome_o == 5'b00111);
      assign flip[1] = (syndrome_o == 5'b11001);
      assign flip[2] = (syndrome_o == 5'b01110);
      assign flip[3] = (syndrome_o == 5'b10011);
      assign flip[4] = (syndrome_o == 5'b11100);
      assign flip[5] = (syndrome_o == 5'b01011);
      assign flip[6] = (syndrome_o == 5'b10101);
      assign flip[7] = (syndrome_o == 5'b10110);
      assign check_hit = (syndrome_o == 5'b00001) | (syndrome_o == 5'b00010) | (syndrome_o == 5'b00100) | (syndrome_o == 5'b01000) | (syndrome_o == 5'b10000);
    end else if (DataBits == 16 && CheckBits == 6) begin : gen_k16
      assign flip[0] = (syndrome_o == 6'b000111);
      assign flip[1] = (syndrome_o == 6'b111000);
      assign flip[2] = (syndrome_o == 6'b001011);
      assign flip[3] = (syndrome_o == 6'b110100);
      assign flip[4] = (syndrome_o == 6'b010011);
      assign flip[5] = (syndrome_o == 6'b101100);
      assign flip[6] = (syndrome_o == 6'b100011);
      assign flip[7] = (syndrome_o == 6'b011100);
      assign flip[8] = (syndrome_o == 6'b001101);
      assign flip[9] = (syndrome_o == 6'b110010);
      assign flip[10] = (syndrome_o == 6'b010101);
      assign flip[11] = (syndrome_o == 6'b101010);
      assign flip[12] = (syndrome_o == 6'b100101);
      assign flip[13] = (syndrome_o == 6'b011010);
      assign flip[14] = (syndrome_o == 6'b011001);
      assign flip[15] = (syndrome_o == 6'b100110);
      assign check_hit = (syndrome_o == 6'b000001) | (syndrome_o == 6'b000010) | (syndrome_o == 6'b000100) | (syndrome_o == 6'b001000) | (syndrome_o == 6'b010000) | (syndrome_o == 6'b100000);
    end else if (DataBits == 32 && CheckBits == 7) begin : gen_k32
      assign flip[0] = (syndrome_o == 7'b0000111);
      assign flip[1] = (syndrome_o == 7'b0111000);
      assign flip[2] = (syndrome_o == 7'b1000011);
      assign flip[3] = (syndrome_o == 7'b0011100);
      assign flip[4] = (syndrome_o == 7'b1100001);
      assign flip[5] = (syndrome_o == 7'b0001110);
      assign flip[6] = (syndrome_o == 7'b1110000);
      assign flip[7] = (syndrome_o == 7'b0001011);
      assign flip[8] = (syndrome_o == 7'b0110100);
      assign flip[9] = (syndrome_o == 7'b1000101);
      assign flip[10] = (syndrome_o == 7'b0011010);
      assign flip[11] = (syndrome_o == 7'b1100010);
      assign flip[12] = (syndrome_o == 7'b0001101);
      assign flip[13] = (syndrome_o == 7'b0110001);
      assign flip[14] = (syndrome_o == 7'b1000110);
      assign flip[15] = (syndrome_o == 7'b1011000);
      assign flip[16] = (syndrome_o == 7'b0100011);
      assign flip[17] = (syndrome_o == 7'b0101100);
      assign flip[18] = (syndrome_o == 7'b1010001);
      assign flip[19] = (syndrome_o == 7'b0010110);
      assign flip[20] = (syndrome_o == 7'b1101000);
      assign flip[21] = (syndrome_o == 7'b0010011);
      assign flip[22] = (syndrome_o == 7'b1001100);
      assign flip[23] = (syndrome_o == 7'b0100101);
      assign flip[24] = (syndrome_o == 7'b0101010);
      assign flip[25] = (syndrome_o == 7'b1010010);
      assign flip[26] = (syndrome_o == 7'b0010101);
      assign flip[27] = (syndrome_o == 7'b0101001);
      assign flip[28] = (syndrome_o == 7'b1001010);
      assign flip[29] = (syndrome_o == 7'b1010100);
      assign flip[30] = (syndrome_o == 7'b0100110);
      assign flip[31] = (syndrome_o == 7'b0011001);
      assign check_hit = (syndrome_o == 7'b0000001) | (syndrome_o == 7'b0000010) | (syndrome_o == 7'b0000100) | (syndrome_o == 7'b0001000) | (syndrome_o == 7'b0010000) | (syndrome_o == 7'b0100000) | (syndrome_o == 7'b1000000);
    end else if (DataBits == 64 && CheckBits == 8) begin : gen_k64
      assign flip[0] = (syndrome_o == 8'b00000111);
      assign flip[1] = (syndrome_o == 8'b00001011);
      assign flip[2] = (syndrome_o == 8'b00010011);
      assign flip[3] = (syndrome_o == 8'b00100011);
      assign flip[4] = (syndrome_o == 8'b01000011);
      assign flip[5] = (syndrome_o == 8'b10000011);
      assign flip[6] = (syndrome_o == 8'b00001101);
      assign flip[7] = (syndrome_o == 8'b00010101);
      assign flip[8] = (syndrome_o == 8'b00100101);
      assign flip[9] = (syndrome_o == 8'b01000101);
      assign flip[10] = (syndrome_o == 8'b10000101);
      assign flip[11] = (syndrome_o == 8'b00011001);
      assign flip[12] = (syndrome_o == 8'b00101001);
      assign flip[13] = (syndrome_o == 8'b01001001);
      assign flip[14] = (syndrome_o == 8'b10001001);
      assign flip[15] = (syndrome_o == 8'b00110001);
      assign flip[16] = (syndrome_o == 8'b01010001);
      assign flip[17] = (syndrome_o == 8'b10010001);
      assign flip[18] = (syndrome_o == 8'b01100001);
      assign flip[19] = (syndrome_o == 8'b10100001);
      assign flip[20] = (syndrome_o == 8'b11000001);
      assign flip[21] = (syndrome_o == 8'b00001110);
      assign flip[22] = (syndrome_o == 8'b00010110);
      assign flip[23] = (syndrome_o == 8'b00100110);
      assign flip[24] = (syndrome_o == 8'b01000110);
      assign flip[25] = (syndrome_o == 8'b10000110);
      assign flip[26] = (syndrome_o == 8'b00011010);
      assign flip[27] = (syndrome_o == 8'b00101010);
      assign flip[28] = (syndrome_o == 8'b01001010);
      assign flip[29] = (syndrome_o == 8'b10001010);
      assign flip[30] = (syndrome_o == 8'b00110010);
      assign flip[31] = (syndrome_o == 8'b01010010);
      assign flip[32] = (syndrome_o == 8'b10010010);
      assign flip[33] = (syndrome_o == 8'b01100010);
      assign flip[34] = (syndrome_o == 8'b10100010);
      assign flip[35] = (syndrome_o == 8'b11000010);
      assign flip[36] = (syndrome_o == 8'b00011100);
      assign flip[37] = (syndrome_o == 8'b00101100);
      assign flip[38] = (syndrome_o == 8'b01001100);
      assign flip[39] = (syndrome_o == 8'b10001100);
      assign flip[40] = (syndrome_o == 8'b00110100);
      assign flip[41] = (syndrome_o == 8'b01010100);
      assign flip[42] = (syndrome_o == 8'b10010100);
      assign flip[43] = (syndrome_o == 8'b01100100);
      assign flip[44] = (syndrome_o == 8'b10100100);
      assign flip[45] = (syndrome_o == 8'b11000100);
      assign flip[46] = (syndrome_o == 8'b00111000);
      assign flip[47] = (syndrome_o == 8'b01011000);
      assign flip[48] = (syndrome_o == 8'b10011000);
      assign flip[49] = (syndrome_o == 8'b01101000);
      assign flip[50] = (syndrome_o == 8'b10101000);
      assign flip[51] = (syndrome_o == 8'b11001000);
      assign flip[52] = (syndrome_o == 8'b01110000);
      assign flip[53] = (syndrome_o == 8'b10110000);
      assign flip[54] = (syndrome_o == 8'b11010000);
      assign flip[55] = (syndrome_o == 8'b11100000);
      assign flip[56] = (syndrome_o == 8'b00011111);
      assign flip[57] = (syndrome_o == 8'b11100011);
      assign flip[58] = (syndrome_o == 8'b01111100);
      assign flip[59] = (syndrome_o == 8'b10001111);
      assign flip[60] = (syndrome_o == 8'b11110001);
      assign flip[61] = (syndrome_o == 8'b00111110);
      assign flip[62] = (syndrome_o == 8'b11000111);
      assign flip[63] = (syndrome_o == 8'b11111000);
      assign check_hit = (syndrome_o == 8'b00000001) | (syndrome_o == 8'b00000010) | (syndrome_o == 8'b00000100) | (syndrome_o == 8'b00001000) | (syndrome_o == 8'b00010000) | (syndrome_o == 8'b00100000) | (syndrome_o == 8'b01000000) | (syndrome_o == 8'b10000000);
    end else begin : gen_unsupported
      // no code for this (DataBits, CheckBits): stop elaboration here
      secded_unsupported_width u_unsupported ();
    end
  endgenerate
endmodule
