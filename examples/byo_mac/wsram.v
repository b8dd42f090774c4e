// Weight memory of the byo_mac example (docs/descriptor.md): Depth words of Width bits,
// one write port, one asynchronous read port.  Plain Verilog-2005, written independently
// of rtl/ to show a second design going through the same commands.
`default_nettype none
module wsram #(
  parameter AddrBits = 3,
  parameter Width    = 32
) (
  input  wire                clk,
  input  wire                we,
  input  wire [AddrBits-1:0] waddr,
  input  wire [Width-1:0]    wdata,
  input  wire [AddrBits-1:0] raddr,
  output wire [Width-1:0]    rdata
);
  reg [Width-1:0] mem_q [0:(1 << AddrBits) - 1];
  always @(posedge clk) begin
    if (we) mem_q[waddr] <= wdata;
  end
  assign rdata = mem_q[raddr];
endmodule
`default_nettype wire
