"""`graphcomp verify`: Problem 3(c), the gradient four ways (analytic, engine, PyTorch, finite differences) side by side."""
from graphcomp.commands.trace import add_graph_args, emit, load_graph
from graphcomp.graph import DISTS
from graphcomp.render.results import METHOD_NAMES
SHOW_VALUES = 16  # print the gradients themselves when no parameter has more entries than this


def register(sub):
    """Add the `verify` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser("verify", help="compare gradients: analytic, engine reverse pass, PyTorch, finite differences",
                       description="Compute the gradient of a graph's scalar output (i) by the analytic formulas of "
                       "Problem 3(a) for Fig. 1-shaped graphs, (ii) by the engine's reverse pass, (iii) by PyTorch "
                       "autograd in float64 on the same arrays, (iv) by central finite differences, and compare every "
                       "pair. Exit status 1 when some pair disagrees. Example: verify fig1.yaml --seed 13 --dist uniform")
    add_graph_args(p)
    p.add_argument("--dist", choices=DISTS, help="distribution of the inputs drawn at random (default: the spec's)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    p.add_argument("-o", "--output", help="write the tables to this file instead of the terminal")
    p.set_defaults(run=run)


def run(args):
    """Compute and compare the gradients; exit status 0 when every pair agrees, 1 otherwise."""
    from graphcomp.verify import verify

    graph, at = load_graph(args)
    report = verify(graph, seed=args.seed, dist=args.dist, data=args.data, at=at, use_torch=not args.no_torch)
    emit(args, renderables=renderables(report, seed=graph.seed if args.seed is None else args.seed,
                                       dist=args.dist or graph.dist))
    return 0 if report.ok else 1


def renderables(report, *, seed, dist):
    """Rich tables: the gradients (when small), the differences of every pair of methods, and the verdict."""
    import numpy as np
    from rich import box
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from graphcomp.render.text import fmt_value
    from graphcomp.verify import EXACT_TOL, FD_TOL

    g = report.graph
    drawn = any(g.node(k).shape and g.node(k).value is None for k in report.inputs)
    where = f"  [tensor inputs drawn with seed {seed}, {dist}]" if drawn else ""
    items = [Text(f"{g.name}: {g.description or ''}{where}   f = {report.value:.6g}", style="bold magenta")]
    methods = list(report.gradients)
    params = list(report.gradients["engine"])
    if all(report.gradients["engine"][k].size <= SHOW_VALUES for k in params):
        t = Table(title="Gradients ∂f/∂(input), 4 decimals", box=box.SIMPLE_HEAD, title_justify="left",
                  title_style="bold", header_style="bold cyan")
        t.add_column("parameter", style="bold")
        t.add_column("method")
        t.add_column("gradient", justify="right", style="green")
        for k in params:
            for m in methods:
                t.add_row(_param(g, k) if m == methods[0] else "", METHOD_NAMES[m],
                          fmt_value(report.gradients[m][k], 4, row=True), end_section=m == methods[-1])
        items.append(t)
    t = Table(title="Differences between methods (max over entries)", box=box.SIMPLE_HEAD, title_justify="left",
              title_style="bold", header_style="bold cyan")
    for col, justify in (("pair", "left"), ("parameter", "left"), ("max abs diff", "right"),
                         ("max rel diff", "right"), ("rtol", "right"), ("", "center")):
        t.add_column(col, justify=justify)
    for c in report.comparisons:
        t.add_row(f"{c.a} – {c.b}", _param(g, c.param), f"{c.abs_diff:.2e}", f"{c.rel_diff:.2e}",
                  f"{c.tol[0]:.0e}", Text("ok", style="green") if c.ok else Text("FAIL", style="bold red"))
    items.append(t)
    if all(not np.any(x) for x in report.gradients["engine"].values()):
        items.append(Text("every gradient is 0 at these inputs (for Fig. 1: every ReLU path is dead), so the "
                          "agreement below says little; try another --seed", style="bold yellow"))
    for m, why in report.skipped.items():
        items.append(Text(f"{METHOD_NAMES[m]}: {why}", style="yellow"))
    for node, count in report.kinks.items():
        items.append(Text(f"{node}: {count} ReLU input{'s' * (count > 1)} at the kink 0, where ReLU′(0) = 0 "
                          "and central differences straddle it", style="yellow"))
    bad = [c for c in report.comparisons if not c.ok]
    rule = (f"tolerance: |a − b|max ≤ atol + rtol·max(|a|max, |b|max); exact methods rtol {EXACT_TOL[0]:.0e}, "
            f"atol {EXACT_TOL[1]:.0e}; against finite differences rtol {FD_TOL[0]:.0e}, atol {FD_TOL[1]:.0e}")
    if bad:
        worst = max(bad, key=lambda c: c.rel_diff)
        verdict = Text(f"DISAGREE: {len(bad)} of {len(report.comparisons)} comparisons out of tolerance "
                       f"(worst: {worst.a} – {worst.b} on {worst.param}, rel {worst.rel_diff:.2e})\n{rule}",
                       style="bold red")
    else:
        verdict = Text(f"AGREE: {', '.join(METHOD_NAMES[m] for m in methods)} — all {len(report.comparisons)} "
                       f"comparisons within tolerance\n{rule}", style="bold green")
    items.append(Panel(verdict, expand=False, border_style="red" if bad else "green"))
    return items


def _param(graph, name):
    """'W₁' for W1; 'x1 (v₋₂)' when the spec gives the input a label of its own."""
    from graphcomp.graph import default_label
    from graphcomp.render.text import tex_to_text

    label = graph.node(name).label
    return tex_to_text(label) if label == default_label(name) else f"{name} ({tex_to_text(label)})"
