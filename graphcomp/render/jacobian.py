"""A finished engine.jacobian.Jacobian as tables: rich (terminal), LaTeX (one booktabs tabular), Markdown, CSV, JSON.

They only read the numbers: J by each mode, whether the modes agree, and what each cost
(sweeps, elementary operations executed, wall time). Times differ from run to run, so these
tables are not byte-identical between runs (the report's tables hold no timings).
"""
import numpy as np
from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from graphcomp.core.labels import SUBSCRIPTS
from graphcomp.render.tables import TEX_SHOWN
from graphcomp.render.text import (
    csv_lines,
    cut,
    fmt_number,
    indented_json,
    point_text,
    tex_to_text,
    text_to_tex,
)

PER = {"forward": "input", "reverse": "output"}


def entry_label(graph, name):
    """The LaTeX name of a row or column: the node's label, or W_{1}[0,1] for an entry of a tensor input."""
    base, bracket, rest = name.partition("[")
    return graph.node(base).label + (f"[{rest}" if bracket else "")


def seconds_text(s):
    """A wall time in s, ms or µs, three significant digits."""
    return f"{s:.3g} s" if s >= 1 else f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} µs"


def cost_sentences(jac, times=True):
    """[(mode, one sentence: its sweeps, operations and, with `times`, wall time)], then the evaluation both
    share."""
    return [(mode, f"{mode} mode: {c.sweeps} sweep{'s' * (c.sweeps != 1)} (one per {PER[mode]}), "
                   f"{c.operations} operations ({_per_sweep(c)} a sweep)" + (f", {seconds_text(c.seconds)}" * times))
            for mode, c in jac.costs.items()] + [
        ("evaluation", f"one evaluation, shared by both: {jac.evaluation} operations")]


def _per_sweep(c):
    """The operations of a sweep, or their range: '7', '4–5'."""
    lo, hi = min(c.steps, default=0), max(c.steps, default=0)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def verdict(jac):
    """(agree?, one sentence)."""
    rule = f"|forward − reverse|max = {jac.abs_diff:.2e}, tolerance {jac.tol[1]:.0e} + {jac.tol[0]:.0e}·{jac.scale:.3g}"
    if jac.agree:
        return True, f"AGREE: forward and reverse mode give the same Jacobian ({rule})"
    return False, f"DISAGREE: forward and reverse mode give different Jacobians ({rule})"


def heading(graph, what, at):
    """Two rich Text lines: the graph's name (and description), then `what` at the point's scalar inputs."""
    at = point_text(at, 4)
    return [Text(f"{graph.name}: {graph.description}" if graph.description else graph.name, style="bold magenta"),
            Text(what + (f" at {at}" if at else ""), style="magenta")]


WIDE = 8  # past this many inputs (and more inputs than outputs) the terminal shows Jᵀ, a row per input


def matrix_table(graph, title, rows, cols, M, digits, head="∂/∂{}", shown=None):
    """A rich table of the matrix M: a row per name in `rows`, a column per name in `cols` (headed `head`
    with the name's label), every entry to `digits` decimals; past `shown` rows or columns cut with ⋯ and ⋮."""
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold", header_style="bold cyan")
    t.add_column("")
    keep = cut(range(len(cols)), shown)
    for k in keep:
        t.add_column("⋯" if k is None else head.format(_named(graph, cols[k])), justify="right", style="green")
    for j in cut(range(len(rows)), shown):
        if j is None:
            t.add_row("⋮", *([""] * len(keep)))
            continue
        t.add_row(_named(graph, rows[j]), *("⋯" if k is None else fmt_number(M[j, k], digits) for k in keep))
    return t


_DIGITS = str.maketrans(SUBSCRIPTS[1][:10], SUBSCRIPTS[0][:10])


def _named(graph, name):
    """A row's or column's label as text, with the node's name beside it where the label is another (v₋₂ (x1)),
    as the headings and `trace` name the inputs."""
    label = tex_to_text(entry_label(graph, name))
    return label if label.translate(_DIGITS) == name else f"{label} ({name})"


def rich_renderables(jac, digits=4):
    """The title, J (both modes when they disagree), each mode's cost, and the verdict."""
    g, (m, n) = jac.graph, jac.forward.shape
    items = heading(g, f"J ∈ ℝ^{{{m}×{n}}} (outputs × inputs)", jac.at)
    shown = {"J": jac.matrix} if jac.agree else {"J by forward mode": jac.forward, "J by reverse mode": jac.reverse}
    flip = len(jac.inputs) > WIDE and len(jac.inputs) > len(jac.outputs)
    for title, J in shown.items():
        rows, cols, M = (jac.inputs, jac.outputs, J.T) if flip else (jac.outputs, jac.inputs, J)
        items.append(matrix_table(g, f"{title}ᵀ: a row per input" if flip else
                                  f"{title}: a row per output, a column per input", rows, cols, M, digits,
                                  head="∂{}" if flip else "∂/∂{}"))
    t = Table(title="Cost of each mode", box=box.SIMPLE_HEAD, title_justify="left", title_style="bold",
              header_style="bold cyan")
    for col in ("mode", "sweeps", "one per", "operations", "a sweep", "time"):
        t.add_column(col, justify="left" if col in ("mode", "one per") else "right")
    for mode, c in jac.costs.items():
        t.add_row(mode, str(c.sweeps), PER[mode], str(c.operations), _per_sweep(c), seconds_text(c.seconds))
    items.append(t)
    what = "a float operation" if g.scalar else "one numpy operation on a scalar, vector or matrix"
    items.append(Text(f"{cost_sentences(jac)[-1][1]}; an operation is one op step ({what})", style="dim"))
    ok, text = verdict(jac)
    items.append(Panel(Text(text, style="bold green" if ok else "bold red"), expand=False,
                       border_style="green" if ok else "red"))
    return items


LINE_PT, LABEL_PT, CHAR_PT, GAP_PT = 469, 40, 5, 12  # 10 pt article, 1 in margins: its line, a row label, a digit


def tex_columns(digits, *arrays):
    """How many columns of numbers fit the line: TEX_SHOWN, or fewer when the numbers are wide (--digits 10 on
    entries of 10⁴), at about CHAR_PT a character and GAP_PT between columns after a row label."""
    shown = [np.asarray(a)[..., :TEX_SHOWN][:TEX_SHOWN] for a in arrays]
    widest = max((len(fmt_number(x, digits)) for a in shown for x in np.ravel(a)), default=1)
    return max(2, min(TEX_SHOWN, (LINE_PT - LABEL_PT) // (CHAR_PT * widest + GAP_PT)))


def latex_matrix(graph, rows, cols, M, digits, head="\\partial/\\partial {}", shown=None):
    """The lines of a booktabs tabular of M up to its \\midrule after the entries: a row per name in `rows`, a
    column per name in `cols` (headed `head` with the name's label), past TEX_SHOWN rows or `shown` columns (by
    default as many as fit the line) cut with ⋯ and ⋮. Returns (lines, columns of the tabular)."""
    shown = cut(range(len(cols)), shown or tex_columns(digits, M))
    heads = ["$\\cdots$" if k is None else f"${head.format(entry_label(graph, cols[k]))}$" for k in shown]
    out = [f"\\begin{{tabular}}{{@{{}}l{'r' * len(heads)}@{{}}}}", "\\toprule",
           " & ".join([""] + heads) + " \\\\", "\\midrule"]
    for j in cut(range(len(rows)), TEX_SHOWN):
        if j is None:
            out.append(" & ".join(["$\\vdots$"] + [""] * len(heads)) + " \\\\")
            continue
        cells = ["$\\cdots$" if k is None else f"${fmt_number(M[j, k], digits)}$" for k in shown]
        out.append(" & ".join([f"${entry_label(graph, rows[j])}$"] + cells) + " \\\\")
    out.append("\\midrule")
    return out, 1 + len(heads)


def latex(jac, digits=4, times=False):
    """One booktabs tabular: J (past TEX_SHOWN rows or columns cut with ⋯ and ⋮), then each mode's cost (its wall
    time with `times`: the file formats are the same bytes each run without)."""
    g = jac.graph
    ok, text = verdict(jac)
    body, width = latex_matrix(g, jac.outputs, jac.inputs, jac.matrix, digits)
    out = [f"% graphcomp jacobian of {g.name}; needs \\usepackage{{booktabs,amsmath}}", *body]
    for _, sentence in cost_sentences(jac, times):
        out.append(f"\\multicolumn{{{width}}}{{@{{}}l@{{}}}}{{\\footnotesize {text_to_tex(sentence)}}} \\\\")
    out += ["\\bottomrule", "\\end{tabular}", f"% {text}"]
    return "\n".join(out) + "\n"


def markdown_matrix(graph, rows, cols, M, digits, head="\\partial/\\partial {}"):
    """M as Markdown table lines, $LaTeX$ names: a row per name in `rows`, a column per name in `cols`."""
    out = ["| | " + " | ".join(f"${head.format(entry_label(graph, n))}$" for n in cols) + " |",
           "|---|" + "---:|" * len(cols)]
    for name, row in zip(rows, M):
        out.append(f"| ${entry_label(graph, name)}$ | " + " | ".join(fmt_number(x, digits) for x in row) + " |")
    return out


def markdown(jac, digits=4, times=False):
    """J as a Markdown table with $LaTeX$ names, then each mode's cost (as latex's) and the verdict."""
    ok, text = verdict(jac)
    out = markdown_matrix(jac.graph, jac.outputs, jac.inputs, jac.matrix, digits)
    costs = "\n".join(f"- {s}" for _, s in cost_sentences(jac, times))
    return "\n".join(out) + "\n\n" + costs + f"\n\n**{text}**\n"


def csv_text(jac, digits=4, times=False):
    """Full precision: a row per entry of J (section 'jacobian': output, input, forward, reverse), then a row per
    mode (section 'cost': mode, sweeps, operations executed, and with `times` seconds)."""
    entries = (["jacobian", out, inp, repr(float(jac.forward[j, k])), repr(float(jac.reverse[j, k])), "", "", "", ""]
               for j, out in enumerate(jac.outputs) for k, inp in enumerate(jac.inputs))
    costs = (["cost", "", "", "", "", mode, c.sweeps, c.operations, f"{c.seconds:.6e}" if times else ""]
             for mode, c in jac.costs.items())
    return csv_lines([["section", "output", "input", "forward", "reverse", "mode", "sweeps", "operations", "seconds"],
                      *entries, *costs, ["cost", "", "", "", "", "evaluation", 1, jac.evaluation, ""]])


def as_dict(jac, times=False):
    """Everything at full precision, for JSON (each mode's seconds with `times`)."""
    ok, text = verdict(jac)
    return {
        "graph": jac.graph.name,
        "inputs": list(jac.inputs),
        "outputs": list(jac.outputs),
        "at": {k: np.asarray(x, dtype=float).tolist() for k, x in jac.at.items()},
        "values": jac.values.tolist(),
        "jacobian": {"forward": jac.forward.tolist(), "reverse": jac.reverse.tolist()},
        "max_abs_diff": jac.abs_diff,
        "rtol": jac.tol[0], "atol": jac.tol[1],
        "agree": ok,
        "verdict": text,
        "evaluation_operations": jac.evaluation,
        "cost": {mode: {"sweeps": c.sweeps, "operations": c.operations, "per_sweep": list(c.steps),
                        **({"seconds": c.seconds} if times else {})} for mode, c in jac.costs.items()},
    }


FORMATS = {"latex": latex, "markdown": markdown, "csv": csv_text,
           "json": lambda jac, digits=4, times=False: indented_json(as_dict(jac, times))}
