"""`graphcomp jacobian`: the full Jacobian of a graph's outputs by forward and by reverse mode, and what each cost;
with --cost, the cost of both modes over the family f: ℝⁿ → ℝᵐ of graphcomp.problems.costs."""
from graphcomp.cli.common import (
    add_graph_args,
    add_output_args,
    emit,
    load_graph,
    output_format,
    read_data,
)
from graphcomp.engine.jacobian import jacobian
from graphcomp.render import jacobian as tables


def register(sub):
    p = sub.add_parser("jacobian", help="the full Jacobian by forward and reverse mode, and the cost of each",
                       description="Compute the Jacobian (outputs × inputs) of a graph by n forward sweeps (a column "
                       "each) and by m reverse sweeps (a row each), check that they agree (exit status 1 if not) and "
                       "report each mode's sweeps, elementary operations executed and wall time. "
                       "Example: jacobian polar.yaml")
    add_graph_args(p)
    add_output_args(p)
    p.set_defaults(run=run)


def run(args):
    fmt = output_format(args)
    graph, at = load_graph(args)
    jac = jacobian(graph, at, seed=args.seed, dist=args.dist, data=read_data(args, graph))
    if fmt == "rich":
        emit(args, renderables=tables.rich_renderables(jac, args.digits))
    else:
        emit(args, text=tables.FORMATS[fmt](jac, args.digits))
    return 0 if jac.agree else 1
