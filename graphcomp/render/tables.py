"""Trace tables: rich (terminal), LaTeX (booktabs), Markdown, CSV and JSON. They only read a finished Trace."""
import csv
import io
import json
import re

import numpy as np
from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from graphcomp.core.labels import default_label
from graphcomp.ops import REGISTRY
from graphcomp.render import rows as trace_rows
from graphcomp.render.rows import fill, result_tex
from graphcomp.render.text import fmt_number, fmt_value, tex_matrix, tex_to_text

FORMATS = ("rich", "latex", "markdown", "csv", "json")


def sections(trace):
    """[(key, title, rows)] in the lecture's order: primal trace, then tangent and/or adjoint trace."""
    return list(_sections(trace))


def _sections(trace):
    """sections(trace) one at a time, each section's rows made when it is reached (a 10⁶-row trace holds one)."""
    yield "primal", "Evaluation trace (forward pass)", trace_rows.primal(trace)
    if trace.tangents is not None:
        yield "tangent", "Forward mode: tangent trace", trace_rows.tangent(trace)
    if trace.adjoints is not None:
        yield "adjoint", "Reverse mode: adjoint trace (output back to inputs)", trace_rows.adjoint(trace)


def _is_row(trace, key):
    # in the problem set's convention a vector's .d is a row vector (the derivative ∂f/∂V); a tangent is a column
    return key == "adjoint" and trace.graph.notation == "dot"


def _spaced(trace, rule):
    """Thin spaces between juxtaposed factors: LaTeX would run `W_{1}.v x.v` together as W₁.vx.v."""
    if trace.graph.notation != "dot":
        return rule
    return re.sub(r"(?<=[\w}).])\s+(?=[\w(])", r"\\, ", rule)


def _results(trace):
    """[(LaTeX symbol, value)] of the final lines: f and the derivative asked for."""
    out = [("f", trace.value)]
    der = trace.derivative
    label = result_tex(trace)
    if isinstance(der, dict):
        out += [(f"\\partial f/\\partial {default_label(k)}", x) for k, x in der.items()]
    elif der is not None:
        if label is None:
            label = "\\dot{f} = \\langle\\nabla f, \\text{seed}\\rangle"
        out.append((label, der))
    return out


def _where(trace, digits):
    shown = [f"{k} = {fmt_number(x, digits)}" for k, x in trace.inputs.items() if np.ndim(x) == 0]
    return ", ".join(shown)


def rich_renderables(trace, digits=4):
    """A list of rich renderables (tables and a result panel) for the console."""
    where = _where(trace, digits)
    head = f"{trace.graph.name}: {trace.graph.description or ''}" + (f"\nat {where}" if where else "")
    items = [Text(head, style="bold magenta")]
    for key, title, rows in sections(trace):
        t = Table(title=title, box=box.SIMPLE_HEAD,
                  title_style="bold", header_style="bold cyan", title_justify="left")
        t.add_column("node", style="dim")
        t.add_column("symbol", style="bold")
        t.add_column("rule")
        t.add_column("value", justify="right", style="green")
        for r in rows:
            # Text(), not a str: rich would take "[v₁ > 0]" in a rule for a markup tag and drop it
            t.add_row(r.node, tex_to_text(r.symbol), Text("= " + tex_to_text(r.rule)),
                      fmt_value(r.value, digits, row=_is_row(trace, key)))
        items.append(t)
    lines = [f"{tex_to_text(s)} = {fmt_value(x, digits, row=True)}" for s, x in _results(trace)]
    items.append(Panel(Text("\n".join(lines), style="bold"), expand=False, border_style="green"))
    return items


def _tex_value(x, digits, row):
    return "--" if x is None else tex_matrix(x, digits, vector="row" if row else "column")


def latex(trace, digits=4):
    """booktabs `tabular`s (one per trace), ready to paste into a LaTeX report (needs booktabs, amsmath, amssymb)."""
    parts = [f"% graphcomp trace of {trace.graph.name} ({trace.mode} mode); needs \\usepackage{{booktabs,amsmath,amssymb}}"]
    tables = list(sections(trace))
    widest = max((np.shape(r.value)[-1] for _, _, rows in tables for r in rows if np.ndim(r.value)), default=0)
    if widest > 10:  # amsmath's matrices take 10 columns unless told more
        parts.append(f"\\setcounter{{MaxMatrixCols}}{{{widest}}}")
    for key, title, rows in tables:
        parts.append(f"% {title}")
        parts.append("\\begin{tabular}{@{}l@{\\;}l@{\\;}r@{}}")
        parts.append("\\toprule")
        head = {"primal": "Value", "tangent": "Tangent", "adjoint": "Adjoint"}[key]
        parts.append(f"\\multicolumn{{2}}{{@{{}}l}}{{{head}}} & \\\\")
        parts.append("\\midrule")
        for r in rows:
            rule = _spaced(trace, r.rule)
            parts.append(f"${r.symbol}$ & $= {rule}$ & ${_tex_value(r.value, digits, _is_row(trace, key))}$ \\\\")
        parts.append("\\bottomrule")
        parts.append("\\end{tabular}")
        parts.append("")
    for s, x in _results(trace):
        parts.append(f"% ${s} = {_tex_value(x, digits, True)}$")
    return "\n".join(parts) + "\n"


def markdown(trace, digits=4):
    """GitHub/Jupyter Markdown tables with $LaTeX$ symbols."""
    parts = []
    for key, title, rows in sections(trace):
        parts.append(f"**{title}**\n")
        parts.append("| node | symbol | rule | value |")
        parts.append("|---|---|---|---:|")
        for r in rows:
            value = _tex_value(r.value, digits, _is_row(trace, key))
            parts.append(f"| {r.node} | ${r.symbol}$ | $= {_spaced(trace, r.rule)}$ | ${value}$ |")
        parts.append("")
    parts += [f"${s} = {_tex_value(x, digits, True)}$  " for s, x in _results(trace)]
    return "\n".join(parts) + "\n"


def csv_text(trace, digits=4):
    """One CSV row per trace line: trace, node, symbol, rule (Unicode) and value."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["trace", "node", "symbol", "rule", "value"])
    for key, _, rows in sections(trace):
        for r in rows:
            w.writerow([key, r.node, tex_to_text(r.symbol), tex_to_text(r.rule),
                        fmt_value(r.value, digits, row=True).replace("\n", " ")])
    return buf.getvalue()


def _plain(x):
    return None if x is None else np.asarray(x, dtype=float).tolist()


def json_chunks(trace, digits=4):
    """The whole trace as JSON, in pieces to write one after another: full-precision numbers, LaTeX and Unicode rules.

    One trace row a line, each encoded by json's C encoder (indent would take its pure-Python one),
    so a 10⁶-row trace streams to its file without being held as one string.
    """
    head = {
        "graph": trace.graph.name,
        "mode": trace.mode,
        "inputs": {k: _plain(x) for k, x in trace.inputs.items()},
        "value": _plain(trace.value),
        "seed": {k: _plain(x) for k, x in trace.direction.items()},
        "results": [{"symbol": tex_to_text(s), "latex": s, "value": _plain(x)} for s, x in _results(trace)],
    }
    yield "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items())
    for key, _, rows in _sections(trace):
        yield f',\n  "{key}": ['
        sep = "\n    "
        for r in rows:
            yield sep + _JSON.encode({"node": r.node, "symbol": tex_to_text(r.symbol), "rule": tex_to_text(r.rule),
                                      "latex": f"{r.symbol} = {r.rule}", "value": _plain(r.value)})
            sep = ",\n    "
        del rows  # before the next section's rows are made
        yield "\n  ]"
    yield "\n}\n"


_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps with an option makes one per call


def json_text(trace, digits=4):
    """The whole trace as JSON text (json_chunks joined)."""
    return "".join(json_chunks(trace, digits))


def render(trace, fmt, digits=4):
    """The trace as text in one of FORMATS other than 'rich'."""
    return {"latex": latex, "markdown": markdown, "csv": csv_text, "json": json_text}[fmt](trace, digits)


def ops_table():
    """The op registry as a rich Table: each op's definition, the adjoint each argument receives, its notes."""
    names = {"0": "a", "1": "b", "y": "y", "g": "ȳ", "p": "p", "pm1": "p-1", "pc": "p", "t0": "ȧ", "t1": "ḃ"}
    table = Table(box=box.SIMPLE_HEAD, header_style="bold cyan", title="graphcomp ops", title_justify="left")
    for col in ("op", "kind", "y =", "adjoint of each argument", "notes"):
        table.add_column(col, overflow="fold")
    for name, op in REGISTRY.items():
        shapes = [()] * op.arity if op.elementwise else [(2,), (2,)][:op.arity]
        args = ["a", "b"][:op.arity]
        rules = ", ".join(f"{x}̄ += {tex_to_text(fill(t, names))}" for x, t in zip(args, op.vjp_tex(shapes)))
        notes = "; ".join(filter(None, (op.doc.rstrip("."), f"error: {op.domain}" if op.domain else "")))
        kind = "elementwise" if op.elementwise else "tensor"
        table.add_row(name, kind, Text(tex_to_text(fill(op.tex, names))), Text(rules), Text(notes))
    return table
