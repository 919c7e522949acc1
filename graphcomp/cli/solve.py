"""`graphcomp solve`: Problem 1 — recover x from y_i = (a_iᵀx)² with Newton and Gauss–Newton."""
import math
import os

from rich.console import Console
from rich.progress import Progress

from graphcomp.cli import common
from graphcomp.cli.common import seed_arg
from graphcomp.cli.io import check_writable, is_stream, same_file
from graphcomp.core.errors import GraphcompError
from graphcomp.core.values import SEEDS
from graphcomp.problems import phase, plots, results
from graphcomp.render.text import csv_lines, indented_json


def register(sub):
    p = sub.add_parser(
        "solve", help="Problem 1: recover x from y_i = (a_iᵀx)² by Newton and Gauss–Newton",
        description="Minimise f(x) = ¼ Σ (y_i − (a_iᵀx)²)² on a seeded random instance and judge where each "
        "method stops. Examples: solve --method all --init spectral; solve --trials 100; "
        "solve --phase-transition --plot outputs/phase.png")
    p.add_argument("--method", default="all", help="newton, gauss-newton, lm or all (default: all)")
    p.add_argument("--n", type=int, default=20, help="unknowns (default: 20)")
    p.add_argument("--m", type=int, default=100, help="equations y_i, at least n (default: 100)")
    p.add_argument("--seed", type=seed_arg, default=0, help="instance seed; trials use seed, seed+1, … (default: 0)")
    p.add_argument("--init", default="random", help="random or spectral starting point (default: random)")
    p.add_argument("--iters", type=int, default=100, help="iteration limit per run (default: 100)")
    p.add_argument("--tol", type=float, default=1e-12, help="stop when a step is below tol·‖x‖ (default: 1e-12)")
    p.add_argument("--restarts", type=int, default=0,
                   help="restart from fresh random points when a run ends at f > 0 (default: 0)")
    p.add_argument("--trials", type=int, help="run this many seeded instances and summarise")
    p.add_argument("--phase-transition", action="store_true",
                   help="Gauss–Newton success rate against m/n = 1.5 … 8 (--trials instances each, default 20)")
    p.add_argument("--plot", help="write a PNG: f(x_k) against k, or with --phase-transition the success rates")
    p.add_argument("--derivatives", default="analytic",
                   help="analytic (hand-derived) or engine (the graph engine) (default: analytic)")
    p.add_argument("--format", choices=common.FORMATS, help="the tables' format (default: from the extension of -o, "
                   ".tex .md .csv .json, else rich)")
    p.add_argument("-o", "--output", help="write the tables to this file instead of the terminal ('-': standard "
                   "output)")
    p.set_defaults(run=run)


def _check(args):
    """Refuse bad arguments before any work; the output format (format_of's)."""
    if args.method != "all" and args.method not in phase.METHODS:
        raise GraphcompError(f"unknown method '{args.method}' (choose from {', '.join(phase.METHODS)} or all)")
    if args.init not in phase.INITS:
        raise GraphcompError(f"unknown init '{args.init}' (choose from {', '.join(phase.INITS)})")
    phase.check_size(args.n, args.n if args.phase_transition else args.m)
    for name in ("iters", "trials"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise GraphcompError(f"--{name} must be at least 1, got {value}")
    if args.trials and args.seed + args.trials > SEEDS:
        raise GraphcompError(f"--trials {args.trials} from --seed {args.seed} would use seeds past {SEEDS - 1} "
                             "(numpy.random.seed's range)")
    if args.restarts < 0:
        raise GraphcompError(f"--restarts must be at least 0, got {args.restarts}")
    if not (args.tol > 0 and math.isfinite(args.tol)):
        raise GraphcompError(f"--tol must be a positive finite number, got {args.tol}")
    fmt = common.format_of(args)  # an empty -o, or one named as a picture, is refused here
    if args.plot is not None and not args.plot.strip():
        raise GraphcompError("--plot is empty: give a file name ending in .png")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise GraphcompError(f"--plot writes a PNG; give a file name ending in .png, not '{args.plot}'")
    if args.plot:
        check_writable(args.plot)
    if args.output:
        check_writable(args.output)
    if args.plot and args.output and not is_stream(args.output) and same_file(args.plot, args.output):
        raise GraphcompError(f"--plot and -o name the same file ({args.plot}, {args.output}): give two names")
    if args.plot and args.trials and not args.phase_transition:
        raise GraphcompError("--plot draws one instance or, with --phase-transition, the success rates; "
                             "it does not combine with --trials alone")
    phase.check_source(args.derivatives)
    _check_memory(args.n, int(max(phase.PHASE_RATIOS) * args.n) if args.phase_transition else args.m)
    return fmt


def _check_memory(n, m):
    """Refuse sizes whose arrays would not fit in half of this machine's memory, before allocating any."""
    need = 8 * (4 * m * n + 2 * n * n)  # float64: about four m×n arrays (A, J, products) and two n×n (Hessian, solve)
    total = _physical_memory()
    if total is not None and need > total / 2:
        raise GraphcompError(f"--n {n} with m = {m} needs about {need / 2**30:.3g} GiB of memory, more than half of "
                             f"this machine's {total / 2**30:.3g} GiB: choose a smaller --n or --m")


def _physical_memory():
    """Bytes of RAM, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def run(args):
    """Solve, run the trials or the phase transition; running out of memory is a one-line error too."""
    fmt = _check(args)
    try:
        return _solve(args, fmt)
    except MemoryError:
        raise GraphcompError(f"out of memory with --n {args.n} --m {args.m}: choose smaller sizes") from None


def _solve(args, fmt):
    console = Console(stderr=fmt != "rich")  # progress and 'wrote' lines stay off a table written to stdout
    methods = phase.METHODS if args.method == "all" else (args.method,)
    if args.phase_transition:
        _phase_transition(console, args, fmt)
    elif args.trials:
        _trials(console, args, methods, fmt)
    else:
        instance = phase.make_instance(args.n, args.m, args.seed)
        runs = {mt: phase.recover(instance, mt, args.init, iters=args.iters, tol=args.tol, restarts=args.restarts,
                                  source=args.derivatives)
                for mt in methods}
        also = [(args.plot, plots.convergence_png({mt: r[0] for mt, r in runs.items()}, n=args.n, m=args.m,
                                                  seed=args.seed, init=args.init))] if args.plot else []
        if fmt == "rich":
            common.emit(args, renderables=[item for mt, rs in runs.items() for item in results.runs_renderables(
                mt, rs, init=args.init, n=args.n, m=args.m, seed=args.seed, source=args.derivatives)], also=also)
        else:
            named = {mt: (args.init, r) for mt, r in runs.items()}
            common.emit(args, text={
                "latex": lambda: results.runs_latex(named, n=args.n, m=args.m, seed=args.seed),
                "markdown": lambda: results.runs_markdown(named),
                "csv": lambda: csv_lines([results.RUN_COLUMNS, *results.runs_rows(named)]),
                "json": lambda: results.runs_json(named)}[fmt](), also=also)
    return 0


def _trials(console, args, methods, fmt):
    try:
        import scipy  # noqa: F401  (only to know whether the reference can run)

        methods = methods + (phase.REFERENCE,)
    except ImportError:
        console.print("scipy is not installed: the scipy least_squares reference is left out")
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"{args.trials} instances", total=args.trials)
        summaries = phase.trials(args.n, args.m, args.trials, seed=args.seed, methods=methods, iters=args.iters,
                                 tol=args.tol, restarts=args.restarts, source=args.derivatives,
                                 progress=lambda: progress.advance(task))
    if fmt == "rich":
        common.emit(args, renderables=results.trials_renderables(summaries, n=args.n, m=args.m, seed=args.seed,
                                                                 count=args.trials, restarts=args.restarts))
        return
    rows, kinds = results.trials_rows(summaries)
    head = ["method", "init", "success_pct", "success_pct_restarts", "median_iterations", *kinds]
    common.emit(args, text={
        "latex": lambda: results.trials_latex(summaries, n=args.n, m=args.m, seed=args.seed, count=args.trials,
                                              restarts=args.restarts),
        "markdown": lambda: results.trials_markdown(summaries, restarts=args.restarts),
        "csv": lambda: results.trials_csv(summaries),
        "json": lambda: indented_json([dict(zip(head, r)) for r in rows])}[fmt]())


def _phase_transition(console, args, fmt):
    count = args.trials or 20
    ratios = phase.PHASE_RATIOS
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"{len(ratios)} ratios × {count} instances", total=len(ratios) * count)
        rates = phase.phase_transition(args.n, count, ratios=ratios, seed=args.seed, iters=args.iters, tol=args.tol,
                                       source=args.derivatives, progress=lambda: progress.advance(task))
    rows = results.phase_rows(ratios, rates, n=args.n)
    also = [(args.plot, plots.phase_png(ratios, rates, n=args.n, count=count))] if args.plot else []
    if fmt == "rich":
        common.emit(args, renderables=[results.phase_table(ratios, rates, n=args.n, count=count)], also=also)
        return
    common.emit(args, text={"latex": lambda: results.phase_latex(ratios, rates, n=args.n, count=count),
                            "markdown": lambda: results.phase_markdown(ratios, rates, n=args.n),
                            "csv": lambda: csv_lines(rows),
                            "json": lambda: indented_json([dict(zip(rows[0], r)) for r in rows[1:]])}[fmt](), also=also)
