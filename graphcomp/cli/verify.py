"""`graphcomp verify`: Problem 3(c), the gradient four ways (analytic, engine, PyTorch, finite differences) side by side."""
from graphcomp.cli import common, sizes
from graphcomp.problems import results
from graphcomp.problems.verify import verify


def register(sub):
    """Add the `verify` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser("verify", help="compare gradients: analytic, engine reverse pass, PyTorch, finite differences",
                       description="Compute the gradient of a graph's scalar output (i) by the analytic formulas of "
                       "Problem 3(a) for Fig. 1-shaped graphs, (ii) by the engine's reverse pass, (iii) by PyTorch "
                       "autograd in float64 on the same arrays, (iv) by central finite differences, and compare every "
                       "pair. Exit status 1 when some pair disagrees. Example: verify fig1.yaml --seed 13 --dist uniform")
    common.add_graph_args(p)
    common.add_backend_args(p)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    common.add_output_args(p)
    p.set_defaults(run=run)


def run(args):
    """Compute and compare the gradients; exit status 0 when every pair agrees, 1 otherwise."""
    fmt = common.output_format(args)
    graph, at = common.load_graph(args)
    sizes.check_fd(graph)
    report = verify(graph, seed=args.seed, dist=args.dist, data=common.read_data(args, graph), at=at,
                    use_torch=not args.no_torch, backend=args.backend, device=args.device)
    if fmt == "rich":
        source = common.data_source(args, graph)
        common.emit(args, renderables=results.verify_renderables(report, source=source, digits=args.digits))
    else:
        common.emit(args, text=results.VERIFY_FORMATS[fmt](report, args.digits))
    return 0 if report.ok else 1
