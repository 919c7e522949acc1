"""`graphcomp hessian`: the full Hessian ∇²f of a graph by forward over reverse, and its eigenvalues."""
from graphcomp.cli import common, sizes
from graphcomp.core.errors import GraphcompError
from graphcomp.engine.hessian import hessian, wrt_positions
from graphcomp.render import hessian as tables


def register(sub):
    p = sub.add_parser("hessian", help="the full Hessian by forward over reverse, with its eigenvalues",
                       description="Compute the Hessian of a graph's scalar output f by one Hessian-vector product "
                       "(forward over reverse) per column, over every differentiable input or those --wrt names "
                       "(in that order; a tensor's entries in row-major order), and print it with its eigenvalues "
                       "(numpy.linalg.eigvalsh of its symmetric part). Example: hessian eq2.yaml --wrt x1,x3")
    common.add_graph_args(p)
    p.add_argument("--wrt", help="inputs to differentiate with respect to, e.g. x1,x3 (default: every "
                   "differentiable input, in the spec's order)")
    common.add_output_args(p)
    p.set_defaults(run=run)


def run(args):
    fmt = common.output_format(args)
    graph, at = common.load_graph(args)
    wrt = common.parse_wrt(args.wrt)
    if isinstance(wrt, dict):
        raise GraphcompError(f"--wrt names the inputs of the Hessian (e.g. --wrt x1,x3), not a direction: "
                             f"'{args.wrt}'", file=graph.file)
    sizes.check_hessian(graph, wrt_positions(graph, wrt))
    hess = hessian(graph, at, wrt, seed=args.seed, dist=args.dist, data=common.read_data(args, graph))
    if fmt == "rich":
        common.emit(args, renderables=tables.rich_renderables(hess, args.digits))
    else:
        common.emit(args, text=tables.FORMATS[fmt](hess, args.digits))
    return 0
