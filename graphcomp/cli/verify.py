"""`graphcomp verify`: Problem 3(c), the gradient four ways (analytic, engine, PyTorch, finite differences) side by side."""
import json

import numpy as np
from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from graphcomp.cli.common import (
    add_backend_args,
    add_graph_args,
    add_output_args,
    emit,
    load_graph,
    output_format,
    read_data,
)
from graphcomp.core.labels import default_label
from graphcomp.core.values import DISTS
from graphcomp.problems import results
from graphcomp.problems.results import METHOD_NAMES
from graphcomp.problems.verify import EXACT_TOL, FD_TOL, verify
from graphcomp.render.text import fmt_value, tex_matrix, tex_to_text

SHOW_VALUES = 16  # print the gradients themselves when no parameter has more entries than this


def register(sub):
    """Add the `verify` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser("verify", help="compare gradients: analytic, engine reverse pass, PyTorch, finite differences",
                       description="Compute the gradient of a graph's scalar output (i) by the analytic formulas of "
                       "Problem 3(a) for Fig. 1-shaped graphs, (ii) by the engine's reverse pass, (iii) by PyTorch "
                       "autograd in float64 on the same arrays, (iv) by central finite differences, and compare every "
                       "pair. Exit status 1 when some pair disagrees. Example: verify fig1.yaml --seed 13 --dist uniform")
    add_graph_args(p)
    add_backend_args(p)
    p.add_argument("--dist", choices=DISTS, help="distribution of the inputs drawn at random (default: the spec's)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    add_output_args(p)
    p.set_defaults(run=run)


def run(args):
    """Compute and compare the gradients; exit status 0 when every pair agrees, 1 otherwise."""
    fmt = output_format(args)
    graph, at = load_graph(args)
    report = verify(graph, seed=args.seed, dist=args.dist, data=read_data(args, graph), at=at,
                    use_torch=not args.no_torch, backend=args.backend, device=args.device)
    seed, dist = graph.seed if args.seed is None else args.seed, args.dist or graph.dist
    if fmt == "rich":
        emit(args, renderables=renderables(report, seed=seed, dist=dist, digits=args.digits))
    else:
        emit(args, text=TEXT_FORMATS[fmt](report, args.digits))
    return 0 if report.ok else 1


def renderables(report, *, seed, dist, digits=4):
    """Rich tables: the gradients (when small), the differences of every pair of methods, and the verdict."""


    g = report.graph
    drawn = any(g.node(k).shape and g.node(k).value is None for k in report.inputs)
    where = f"  [tensor inputs drawn with seed {seed}, {dist}]" if drawn else ""
    items = [Text(f"{g.name}: {g.description or ''}{where}   f = {report.value:.6g}", style="bold magenta")]
    methods = list(report.gradients)
    params = list(report.gradients["engine"])
    if all(report.gradients["engine"][k].size <= SHOW_VALUES for k in params):
        t = Table(title=f"Gradients ∂f/∂(input), {digits} decimals", box=box.SIMPLE_HEAD, title_justify="left",
                  title_style="bold", header_style="bold cyan")
        t.add_column("parameter", style="bold")
        t.add_column("method")
        t.add_column("gradient", justify="right", style="green")
        for k in params:
            for m in methods:
                t.add_row(_param(g, k) if m == methods[0] else "", METHOD_NAMES[m],
                          fmt_value(report.gradients[m][k], digits, row=True), end_section=m == methods[-1])
        items.append(t)
    t = Table(title="Differences between methods (max over entries)", box=box.SIMPLE_HEAD, title_justify="left",
              title_style="bold", header_style="bold cyan")
    for col, justify in (("pair", "left"), ("parameter", "left"), ("max abs diff", "right"),
                         ("max rel diff", "right"), ("rtol", "right"), ("atol", "right"), ("", "center")):
        t.add_column(col, justify=justify)
    for c in report.comparisons:
        t.add_row(f"{c.a} – {c.b}", _param(g, c.param), f"{c.abs_diff:.2e}", f"{c.rel_diff:.2e}",
                  f"{c.tol[0]:.0e}", f"{c.tol[1]:.1e}", Text("ok", style="green") if c.ok else Text("FAIL", style="bold red"))
    items.append(t)
    items += [Text(text, style=style) for text, style in notes(report)]
    ok, text = verdict(report)
    items.append(Panel(Text(text, style="bold green" if ok else "bold red"), expand=False,
                       border_style="green" if ok else "red"))
    return items


def notes(report):
    """[(sentence, rich style)]: what makes the comparison say little, what was skipped and why, ReLU kinks."""
    out = []
    if report.constant:
        out.append(("no differentiable input reaches the output (only constants and data do), so every gradient "
                    "is 0", "bold yellow"))
    elif all(not np.any(x) for x in report.gradients["engine"].values()):
        out.append(("every gradient is 0 at these inputs (for Fig. 1: every ReLU path is dead), so the agreement "
                    "below says little; try another --seed", "bold yellow"))
    out += [(f"{METHOD_NAMES[m]}: {why}", "yellow") for m, why in report.skipped.items()]
    out += [(f"{node}: {count} ReLU input{'s' * (count > 1)} at the kink 0, where ReLU′(0) = 0 and central "
             "differences straddle it", "yellow") for node, count in report.kinks.items()]
    return out


def verdict(report):
    """(agree?, the verdict sentence followed by the tolerance rule)."""
    rule = (f"tolerance: |a − b|max ≤ atol + rtol·max(|a|max, |b|max); exact methods rtol {EXACT_TOL[0]:.0e}, "
            f"atol {EXACT_TOL[1]:.0e}; against finite differences rtol {FD_TOL[0]:.0e}, atol {FD_TOL[1]:.0e} "
            "+ their own error estimate (truncation and rounding)")
    bad = [c for c in report.comparisons if not c.ok]
    if bad:
        worst = max(bad, key=lambda c: c.rel_diff)
        return False, (f"DISAGREE: {len(bad)} of {len(report.comparisons)} comparisons out of tolerance "
                       f"(worst: {worst.a} – {worst.b} on {worst.param}, rel {worst.rel_diff:.2e})\n{rule}")
    methods = ", ".join(METHOD_NAMES[m] for m in report.gradients)
    if not report.comparisons:
        what = "one method ran" if len(report.gradients) < 2 else "the graph has no differentiable input"
        return True, f"NOTHING TO COMPARE: {what} ({methods or 'none'})\n{rule}"
    return True, f"AGREE: {methods} — all {len(report.comparisons)} comparisons within tolerance\n{rule}"


def latex(report, digits=4):
    """The gradients and the differences as booktabs tabulars; the notes and the verdict as comments."""
    lines = [f"% {text}" for text, _ in notes(report)] + [f"% {line}" for line in verdict(report)[1].splitlines()]
    return (results.gradients_latex(report, digits) + "\n" + results.verify_latex(report) + "\n"
            + "\n".join(lines) + "\n")


def markdown(report, digits=4):
    """The gradients and the differences as Markdown tables, then the notes and the verdict."""
    g = report.graph
    methods = list(report.gradients)
    out = ["| parameter | " + " | ".join(METHOD_NAMES[m] for m in methods) + " |", "|---|" + "---:|" * len(methods)]
    for k in report.gradients["engine"]:
        cells = (f"${tex_matrix(report.gradients[m][k], digits, vector='row^T')}$" for m in methods)
        out.append(f"| ${g.node(k).label}$ | " + " | ".join(cells) + " |")
    head, rule = verdict(report)[1].split("\n")
    tail = [f"{note}  " for note, _ in notes(report)] + [f"**{head}**  ", rule]
    return "\n".join(out) + "\n\n" + results.verify_markdown(report, digits) + "\n" + "\n".join(tail) + "\n"


def csv_text(report, digits=4):
    """The differences of every pair of methods as CSV (full precision; `digits` does not apply)."""
    return results.verify_csv(report)


def json_text(report, digits=4):
    """Everything as JSON at full precision: gradients by method, differences, tolerances, notes and the verdict."""
    def plain(x):
        return np.asarray(x, dtype=float).tolist()

    ok, text = verdict(report)
    doc = {
        "graph": report.graph.name,
        "value": report.value,
        "inputs": {k: plain(x) for k, x in report.inputs.items()},
        "gradients": {m: {k: plain(x) for k, x in grads.items()} for m, grads in report.gradients.items()},
        "fd_error": report.fd_error,
        "comparisons": [{"a": c.a, "b": c.b, "parameter": c.param, "max_abs_diff": c.abs_diff,
                         "max_rel_diff": c.rel_diff, "rtol": c.tol[0], "atol": c.tol[1], "ok": c.ok}
                        for c in report.comparisons],
        "skipped": report.skipped,
        "kinks": report.kinks,
        "notes": [note for note, _ in notes(report)],
        "agree": ok,
        "verdict": text,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


TEXT_FORMATS = {"latex": latex, "markdown": markdown, "csv": csv_text, "json": json_text}


def _param(graph, name):
    """'W₁' for W1; 'x1 (v₋₂)' when the spec gives the input a label of its own."""
    label = graph.node(name).label
    return tex_to_text(label) if label == default_label(name) else f"{name} ({tex_to_text(label)})"
