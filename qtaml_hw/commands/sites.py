"""`qtaml-hw sites`: every state bit of a design (path, width, class) from its descriptor (docs/descriptor.md)."""

from __future__ import annotations

from qtaml_hw.commands._common import add_json, add_seed, emit_json, format_table

NAME = "sites"
HELP = "list every flip-flop and memory bit of a design (from its elaborated netlist) with its fault class"
DESCRIPTION = (HELP + ". The design comes from a descriptor TOML (default: rtl/accel_top.toml); exit 2 with one "
               "line for a bad descriptor (missing top, unknown memory, wrong width, unparsable source).")
ORDER = 61


def add_arguments(parser) -> None:
    parser.add_argument("--design", default=None, metavar="DESCRIPTOR.toml",
                        help="design descriptor (default: rtl/accel_top.toml, the accelerator)")
    parser.add_argument("--bits", action="store_true",
                        help="with --json: also list every state bit as path[word][bit]")
    parser.add_argument("--graph", action="store_true",
                        help="also report the register-to-register graph (nodes, edges, per-node fan-in)")
    add_seed(parser)  # accepted for a uniform CLI; enumeration draws no random numbers
    add_json(parser)


def _bit_names(site) -> list[str]:
    words = [""] if site.kind == "register" else [f"[{w}]" for w in range(site.depth)]
    return [f"{site.path}{w}[{b}]" for w in words for b in site.bits]


def run(args) -> int:
    from pathlib import Path

    from qtaml_hw.fidelity.design import design_graph, design_sites, load_design
    from qtaml_hw.hdl.simulators import RTL_DIR

    design = load_design(Path(args.design) if args.design else RTL_DIR / "accel_top.toml")
    sites = design_sites(design)
    per_class: dict[str, dict] = {}
    for s in sites:
        c = per_class.setdefault(s.cls, {"elements": 0, "state_bits": 0})
        c["elements"] += 1
        c["state_bits"] += s.state_bits
    res = {"design": design.name, "top": design.top, "descriptor": str(design.path),
           "state_bits": sum(s.state_bits for s in sites), "elements": len(sites), "per_class": per_class,
           "sites": [{"path": s.path, "width": s.width, "depth": s.depth, "kind": s.kind, "class": s.cls,
                      "state_bits": s.state_bits} | ({"bits": _bit_names(s)} if args.bits else {})
                     for s in sites]}
    if args.graph:
        g = design_graph(design)
        res["graph"] = {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
                        "fan_in": {n: sorted(g.predecessors(n)) for n in g.nodes if not n.startswith("in:")}}
    if args.json:
        emit_json(res)
        return 0
    print(f"{design.name} (top {design.top}): {res['state_bits']} state bits in {len(sites)} registers/memories")
    print(format_table([{"class": c, **v} for c, v in sorted(per_class.items())]))
    print(format_table([{"path": s.path, "kind": s.kind, "width": s.width, "depth": s.depth, "class": s.cls,
                         "state_bits": s.state_bits} for s in sites]))
    if args.graph:
        print(f"register graph: {res['graph']['nodes']} nodes, {res['graph']['edges']} edges")
    return 0
