"""`graphcomp draw`: the computational graph as a diagram (PNG, SVG, PDF, Graphviz source or TikZ)."""
import re
from pathlib import Path

import graphviz

from graphcomp.cli import common, sizes
from graphcomp.cli.drawing import RANKDIRS, failure, render
from graphcomp.cli.io import write_atomic
from graphcomp.core.errors import GraphcompError
from graphcomp.render.dot import INSTALL

FORMATS = (".png", ".svg", ".pdf", ".dot", ".tex")


def register(sub):
    p = sub.add_parser("draw", help="draw the computational graph (PNG, SVG, PDF, .dot or TikZ .tex)",
                       description="Draw a graph left to right with Graphviz; the format follows the extension of -o "
                       f"({', '.join(FORMATS)}). Example: draw eq2.yaml -o outputs/eq2.png --values --wrt x2 --mode forward")
    common.add_graph_args(p)
    common.add_backend_args(p)
    p.add_argument("-o", "--output", help="file to write (default: outputs/NAME.png)")
    p.add_argument("--values", action="store_true", help="write each node's value .v in its box")
    p.add_argument("--wrt", help="input(s) to differentiate with respect to; adds .d (v̇ or v̄) and colours "
                   "the edges the derivative flows along")
    p.add_argument("--mode", choices=("forward", "reverse"),
                   help="forward (tangents v̇) or reverse (adjoints v̄); default reverse when --wrt is given")
    p.add_argument("--edge-partials", action="store_true",
                   help="label each edge with its local partial derivative (symbol and number)")
    common.add_digits_arg(p)
    p.add_argument("--rankdir", choices=RANKDIRS, default="auto", help="LR (left to right, as the slides), TB "
                   "(top to bottom), or auto (default): LR unless TB keeps the text larger on a page")
    p.set_defaults(run=run)


def run(args):
    common.check_digits(args)
    graph, at = common.load_graph(args)
    out = Path(args.output or default_output(graph.name))
    if out.suffix.lower() not in FORMATS:
        raise GraphcompError(f"cannot tell the format of '{out}': end it in {', '.join(FORMATS)}")
    if out.suffix.lower() != ".dot" or args.rankdir == "auto":  # auto lays it out both ways to choose
        sizes.check_drawing(graph)
    t = None
    if args.wrt or args.mode:
        t = common.trace(args, graph, at, wrt=common.parse_wrt(args.wrt), mode=args.mode or "reverse")
    elif args.values or args.edge_partials:
        t = common.trace(args, graph, at, mode="value")
    write(graph, t, out, values=args.values, edge_partials=args.edge_partials, digits=args.digits,
          rankdir=args.rankdir)
    note = common.chosen_direction(args, t)
    print(f"wrote {out}" + (f" ({note})" if note else ""))


def default_output(name):
    """outputs/NAME.png, NAME kept to letters, digits, '_', '-' and '.' so that it stays inside outputs/."""
    # a spec's name is free text: '../x' or '/etc/x' must not choose where a plain `draw` writes
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")
    return Path("outputs") / f"{stem or 'graph'}.png"


def write(graph, trace, out, **options):
    """Render to `out` in the format of its extension; without Graphviz's `dot`, write the .dot source and say
    what to install (a GraphcompError)."""
    out = Path(out)
    try:
        data = render(graph, trace, out.suffix.lower()[1:], **options)
    except graphviz.ExecutableNotFound:
        source = write_atomic(out.with_suffix(".dot"), render(graph, trace, "dot", **options))
        raise GraphcompError(f"Graphviz's 'dot' program is not on PATH, so only {source} was written; {INSTALL}") from None
    except graphviz.CalledProcessError as exc:
        raise GraphcompError(f"Graphviz failed to render {out}: {failure(exc)}") from None
    write_atomic(out, data)
