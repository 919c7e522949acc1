"""`graphcomp trace`: evaluate a spec or a formula and print its evaluation, tangent and adjoint traces."""
import sys

from rich.text import Text

from graphcomp.cli import common
from graphcomp.frontends.limits import limit
from graphcomp.render import tables
from graphcomp.render.tables import STYLES


def register(sub):
    p = sub.add_parser("trace", help="print the forward/reverse-mode evaluation traces of a graph",
                       description="Evaluate a graph and print its traces: values v_i, tangents v̇_i (forward mode) "
                       "and/or adjoints v̄_i (reverse mode). Example: trace eq2.yaml --wrt x2 --mode reverse")
    common.add_graph_args(p)
    common.add_backend_args(p)
    p.add_argument("--wrt", help="input(s) to differentiate with respect to: x2, or x1,x2, "
                   "or a forward-mode direction x1=1,x2=0.5 (forward mode's default: the first input; a tensor "
                   "graph's, a seeded random direction)")
    p.add_argument("--mode", choices=("forward", "reverse", "both", "value"), default="reverse",
                   help="forward (tangents), reverse (adjoints), both, or value (the evaluation trace alone; "
                   "default: reverse)")
    p.add_argument("--style", choices=STYLES, help="the adjoint trace: steps (one row per edge contribution, "
                   "as in the slides; the default for a scalar reverse trace) or summed (one row per node)")
    common.add_output_args(p)
    p.set_defaults(run=run)


def run(args):
    fmt = common.output_format(args)
    graph, at = common.load_graph(args)
    t = common.trace(args, graph, at, wrt=common.parse_wrt(args.wrt), mode=args.mode)
    note = common.chosen_direction(args, t)
    if note:  # on stderr: the table may be going to standard output
        print(f"note: {note}", file=sys.stderr)
    if fmt == "rich":
        rows = limit("GRAPHCOMP_MAX_TERMINAL_ROWS")
        drawn = common.data_source(args, graph)  # the tensor inputs' numbers, that the header does not show
        common.emit(args, renderables=tables.rich_renderables(t, args.digits, args.style, rows=rows)
                    + ([Text(f"tensor inputs {drawn}", style="dim")] if drawn else []))
    elif fmt == "json":
        # streamed: a 10⁶-row trace is never one string
        common.emit(args, text=tables.json_chunks(t, args.digits, args.style))
    else:
        common.emit(args, text=tables.render(t, fmt, args.digits, args.style))
