"""`graphcomp jacobian`: the full Jacobian of a graph's outputs by forward and by reverse mode, and what each cost;
with --cost, the cost of both modes over the family f: ℝⁿ → ℝᵐ of graphcomp.problems.costs (and --plot)."""
from graphcomp.cli import common, sizes
from graphcomp.cli.io import check_writable, is_stream, same_file
from graphcomp.core.errors import GraphcompError
from graphcomp.engine.jacobian import jacobian
from graphcomp.problems import costs, plots, results
from graphcomp.render import jacobian as tables


def register(sub):
    p = sub.add_parser("jacobian", help="the full Jacobian by forward and reverse mode, and the cost of each",
                       description="Compute the Jacobian (outputs × inputs) of a graph by n forward sweeps (a column "
                       "each) and by m reverse sweeps (a row each), check that they agree (exit status 1 if not) and "
                       "report each mode's sweeps, elementary operations executed and wall time. "
                       "Example: jacobian polar.yaml")
    common.add_graph_args(p)
    p.add_argument("--cost", action="store_true", help="instead of one graph: both modes' cost over the family "
                   "f: R^n -> R^m of graphcomp.problems.costs, n and m from 1 to 1000")
    p.add_argument("--plot", help="with --cost: write the operations against n and m to this PNG (matplotlib)")
    p.add_argument("--times", action="store_true", help="the sweeps' wall times in --format latex, markdown, csv "
                   "and json too (the terminal shows them always; without, a file is the same bytes each run)")
    common.add_output_args(p)
    p.set_defaults(run=run)


def run(args):
    fmt = common.output_format(args)
    if args.cost:
        return _cost(args, fmt)
    if args.plot:
        raise GraphcompError("--plot draws the cost over the family: give --cost too")
    graph, at = common.load_graph(args)
    sizes.check_jacobian(graph)
    jac = jacobian(graph, at, seed=args.seed, dist=args.dist, data=common.read_data(args, graph))
    if fmt == "rich":
        common.emit(args, renderables=tables.rich_renderables(jac, args.digits))
    else:
        common.emit(args, text=tables.FORMATS[fmt](jac, args.digits, times=args.times))
    return 0 if jac.agree else 1


def _cost(args, fmt):
    if fmt not in ("rich", "csv"):
        raise GraphcompError("jacobian --cost prints a table (rich) or CSV (--format csv)")
    given = [f"--{k}" for k in ("at", "data", "shape", "fixed") if getattr(args, k, None)]
    if args.spec or args.expr or given:
        raise GraphcompError("jacobian --cost measures its own family of functions: give no spec, --expr"
                             + "".join(f" or {k}" for k in given))
    if args.plot:
        check_writable(args.plot)
        if args.output and not is_stream(args.output) and same_file(args.plot, args.output):
            raise GraphcompError(f"--plot and -o name the same file ({args.plot}, {args.output}): give two names")
    by_n, by_m = costs.sweep()
    also = [(args.plot, plots.cost_png(by_n, by_m))] if args.plot else []  # the table and the plot, or neither
    if fmt == "rich":
        common.emit(args, renderables=results.cost_renderables(by_n, by_m, costs.crossover), also=also)
    else:
        common.emit(args, text=results.cost_csv(by_n, by_m), also=also)
    return 0 if all(p.agree for p in by_n + by_m) else 1
