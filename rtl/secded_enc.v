// GENERATED FILE, do not edit: produced by `python -m qtaml_hw.ecc.verilog (or: qtaml-hw ecc-gen)`
// from the parity-check matrices of qtaml_hw/ecc/matrix.py (the Python codec's source too).
// Hsiao SECDED encoder (design.md sections 3, 5); codes (13,8), (22,16), (39,32), (72,64).
// Data bit j of the H matrix is data_i[j]; check bit i is bit i of the check word.
module secded_enc #(
  parameter DataBits  = 64,
  parameter CheckBits = 8
) (
  input  [DataBits-1:0]  data_i,
  output [CheckBits-1:0] check_o
);
  generate
    if (DataBits == 8 && CheckBits == 5) begin : gen_k8
      assign check_o[0] = data_i[0] ^ data_i[1] ^ data_i[3] ^ data_i[5] ^ data_i[6];
      assign check_o[1] = data_i[0] ^ data_i[2] ^ data_i[3] ^ data_i[5] ^ data_i[7];
      assign check_o[2] = data_i[0] ^ data_i[2] ^ data_i[4] ^ data_i[6] ^ data_i[7];
      assign check_o[3] = data_i[1] ^ data_i[2] ^ data_i[4] ^ data_i[5];
      assign check_o[4] = data_i[1] ^ data_i[3] ^ data_i[4] ^ data_i[6] ^ data_i[7];
    end else if (DataBits == 16 && CheckBits == 6) begin : gen_k16
      assign check_o[0] = data_i[0] ^ data_i[2] ^ data_i[4] ^ data_i[6] ^ data_i[8] ^ data_i[10] ^ data_i[12] ^ data_i[14];
      assign check_o[1] = data_i[0] ^ data_i[2] ^ data_i[4] ^ data_i[6] ^ data_i[9] ^ data_i[11] ^ data_i[13] ^ data_i[15];
      assign check_o[2] = data_i[0] ^ data_i[3] ^ data_i[5] ^ data_i[7] ^ data_i[8] ^ data_i[10] ^ data_i[12] ^ data_i[15];
      assign check_o[3] = data_i[1] ^ data_i[2] ^ data_i[5] ^ data_i[7] ^ data_i[8] ^ data_i[11] ^ data_i[13] ^ data_i[14];
      assign check_o[4] = data_i[1] ^ data_i[3] ^ data_i[4] ^ data_i[7] ^ data_i[9] ^ data_i[10] ^ data_i[13] ^ data_i[14];
      assign check_o[5] = data_i[1] ^ data_i[3] ^ data_i[5] ^ data_i[6] ^ data_i[9] ^ data_i[11] ^ data_i[12] ^ data_i[15];
    end else if (DataBits == 32 && CheckBits == 7) begin : gen_k32
      assign check_o[0] = data_i[0] ^ data_i[2] ^ data_i[4] ^ data_i[7] ^ data_i[9] ^ data_i[12] ^ data_i[13] ^ data_i[16] ^ data_i[18] ^ data_i[21] ^ data_i[23] ^ data_i[26] ^ data_i[27] ^ data_i[31];
      assign check_o[1] = data_i[0] ^ data_i[2] ^ data_i[5] ^ data_i[7] ^ data_i[10] ^ data_i[11] ^ data_i[14] ^ data_i[16] ^ data_i[19] ^ data_i[21] ^ data_i[24] ^ data_i[25] ^ data_i[28] ^ data_i[30];
      assign check_o[2] = data_i[0] ^ data_i[3] ^ data_i[5] ^ data_i[8] ^ data_i[9] ^ data_i[12] ^ data_i[14] ^ data_i[17] ^ data_i[19] ^ data_i[22] ^ data_i[23] ^ data_i[26] ^ data_i[29] ^ data_i[30];
      assign check_o[3] = data_i[1] ^ data_i[3] ^ data_i[5] ^ data_i[7] ^ data_i[10] ^ data_i[12] ^ data_i[15] ^ data_i[17] ^ data_i[20] ^ data_i[22] ^ data_i[24] ^ data_i[27] ^ data_i[28] ^ data_i[31];
      assign check_o[4] = data_i[1] ^ data_i[3] ^ data_i[6] ^ data_i[8] ^ data_i[10] ^ data_i[13] ^ data_i[15] ^ data_i[18] ^ data_i[19] ^ data_i[21] ^ data_i[25] ^ data_i[26] ^ data_i[29] ^ data_i[31];
      assign check_o[5] = data_i[1] ^ data_i[4] ^ data_i[6] ^ data_i[8] ^ data_i[11] ^ data_i[13] ^ data_i[16] ^ data_i[17] ^ data_i[20] ^ data_i[23] ^ data_i[24] ^ data_i[27] ^ data_i[30];
      assign check_o[6] = data_i[2] ^ data_i[4] ^ data_i[6] ^ data_i[9] ^ data_i[11] ^ data_i[14] ^ data_i[15] ^ data_i[18] ^ data_i[20] ^ data_i[22] ^ data_i[25] ^ data_i[28] ^ data_i[29];
    end else if (DataBits == 64 && CheckBits == 8) begin : gen_k64
      assign check_o[0] = data_i[0] ^ data_i[1] ^ data_i[2] ^ data_i[3] ^ data_i[4] ^ data_i[5] ^ data_i[6] ^ data_i[7] ^ data_i[8] ^ data_i[9] ^ data_i[10] ^ data_i[11] ^ data_i[12] ^ data_i[13] ^ data_i[14] ^ data_i[15] ^ data_i[16] ^ data_i[17] ^ data_i[18] ^ data_i[19] ^ data_i[20] ^ data_i[56] ^ data_i[57] ^ data_i[59] ^ data_i[60] ^ data_i[62];
      assign check_o[1] = data_i[0] ^ data_i[1] ^ data_i[2] ^ data_i[3] ^ data_i[4] ^ data_i[5] ^ data_i[21] ^ data_i[22] ^ data_i[23] ^ data_i[24] ^ data_i[25] ^ data_i[26] ^ data_i[27] ^ data_i[28] ^ data_i[29] ^ data_i[30] ^ data_i[31] ^ data_i[32] ^ data_i[33] ^ data_i[34] ^ data_i[35] ^ data_i[56] ^ data_i[57] ^ data_i[59] ^ data_i[61] ^ data_i[62];
      assign check_o[2] = data_i[0] ^ data_i[6] ^ data_i[7] ^ data_i[8] ^ data_i[9] ^ data_i[10] ^ data_i[21] ^ data_i[22] ^ data_i[23] ^ data_i[24] ^ data_i[25] ^ data_i[36] ^ data_i[37] ^ data_i[38] ^ data_i[39] ^ data_i[40] ^ data_i[41] ^ data_i[42] ^ data_i[43] ^ data_i[44] ^ data_i[45] ^ data_i[56] ^ data_i[58] ^ data_i[59] ^ data_i[61] ^ data_i[62];
      assign check_o[3] = data_i[1] ^ data_i[6] ^ data_i[11] ^ data_i[12] ^ data_i[13] ^ data_i[14] ^ data_i[21] ^ data_i[26] ^ data_i[27] ^ data_i[28] ^ data_i[29] ^ data_i[36] ^ data_i[37] ^ data_i[38] ^ data_i[39] ^ data_i[46] ^ data_i[47] ^ data_i[48] ^ data_i[49] ^ data_i[50] ^ data_i[51] ^ data_i[56] ^ data_i[58] ^ data_i[59] ^ data_i[61] ^ data_i[63];
      assign check_o[4] = data_i[2] ^ data_i[7] ^ data_i[11] ^ data_i[15] ^ data_i[16] ^ data_i[17] ^ data_i[22] ^ data_i[26] ^ data_i[30] ^ data_i[31] ^ data_i[32] ^ data_i[36] ^ data_i[40] ^ data_i[41] ^ data_i[42] ^ data_i[46] ^ data_i[47] ^ data_i[48] ^ data_i[52] ^ data_i[53] ^ data_i[54] ^ data_i[56] ^ data_i[58] ^ data_i[60] ^ data_i[61] ^ data_i[63];
      assign check_o[5] = data_i[3] ^ data_i[8] ^ data_i[12] ^ data_i[15] ^ data_i[18] ^ data_i[19] ^ data_i[23] ^ data_i[27] ^ data_i[30] ^ data_i[33] ^ data_i[34] ^ data_i[37] ^ data_i[40] ^ data_i[43] ^ data_i[44] ^ data_i[46] ^ data_i[49] ^ data_i[50] ^ data_i[52] ^ data_i[53] ^ data_i[55] ^ data_i[57] ^ data_i[58] ^ data_i[60] ^ data_i[61] ^ data_i[63];
      assign check_o[6] = data_i[4] ^ data_i[9] ^ data_i[13] ^ data_i[16] ^ data_i[18] ^ data_i[20] ^ data_i[24] ^ data_i[28] ^ data_i[31] ^ data_i[33] ^ data_i[35] ^ data_i[38] ^ data_i[41] ^ data_i[43] ^ data_i[45] ^ data_i[47] ^ data_i[49] ^ data_i[51] ^ data_i[52] ^ data_i[54] ^ data_i[55] ^ data_i[57] ^ data_i[58] ^ data_i[60] ^ data_i[62] ^ data_i[63];
      assign check_o[7] = data_i[5] ^ data_i[10] ^ data_i[14] ^ data_i[17] ^ data_i[19] ^ data_i[20] ^ data_i[25] ^ data_i[29] ^ data_i[32] ^ data_i[34] ^ data_i[35] ^ data_i[39] ^ data_i[42] ^ data_i[44] ^ data_i[45] ^ data_i[48] ^ data_i[50] ^ data_i[51] ^ data_i[53] ^ data_i[54] ^ data_i[55] ^ data_i[57] ^ data_i[59] ^ data_i[60] ^ data_i[62] ^ data_i[63];
    end else begin : gen_unsupported
      // no code for this (DataBits, CheckBits): stop elaboration here
      secded_unsupported_width u_unsupported ();
    end
  endgenerate
endmodule
