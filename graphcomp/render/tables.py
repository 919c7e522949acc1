"""Trace tables: rich (terminal), LaTeX (booktabs), Markdown, CSV and JSON. They only read a finished Trace."""
import html
import itertools
import json
import re

import numpy as np
from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from graphcomp.core.labels import default_label
from graphcomp.core.nodes import CONST, DATA
from graphcomp.ops import REGISTRY
from graphcomp.render import rows as trace_rows
from graphcomp.render.rows import fill, result_tex, row_text
from graphcomp.render.text import (
    csv_lines,
    fmt_value,
    line_value,
    point_text,
    tex_matrix,
    tex_to_text,
)

FORMATS = ("rich", "latex", "markdown", "csv", "json")


STYLES = ("steps", "summed")
TITLES = {"primal": "Evaluation trace (forward pass)", "tangent": "Forward mode: tangent trace",
          "adjoint": "Reverse mode: adjoint trace (output back to inputs)",
          "steps": "Reverse mode: adjoint trace, one step per edge"}
HEADS = {"primal": "Evaluation trace", "tangent": "Forward mode: tangent trace",  # TITLES', shorter for a column
         "adjoint": "Reverse mode: adjoint trace", "steps": "Reverse mode: adjoint trace"}


def style_of(trace, style=None):
    """'steps' (the slides' one row per edge contribution) or 'summed' (one row per node). The default is
    steps for a scalar reverse trace; a tensor trace is always summed (Problem 3(b) lists one .d per node)."""
    if style not in (None, *STYLES):
        raise ValueError(f"unknown style {style!r}; choose {' or '.join(STYLES)}")
    if not trace.graph.scalar or trace.adjoints is None or trace.adjoint_columns:
        return "summed"  # several outputs too: a column each, one row per node
    return style or ("steps" if trace.mode == "reverse" else "summed")


def sections(trace, style=None):
    """[(key, title, rows)] in the lecture's order: primal trace, then tangent and/or adjoint trace
    (key 'steps' for the adjoint trace step by step)."""
    return list(_sections(trace, style))


def _sections(trace, style=None, stream=False):
    """sections(trace) one at a time, each section's rows made when it is reached (a 10⁶-row trace holds one);
    with `stream`, the scalar sections' rows are made one at a time as they are read, and none is held."""
    syms = trace_rows.Symbols(trace.graph)  # each symbol made once for every section
    primal, tangent, steps = ((trace_rows.iter_primal, trace_rows.iter_tangent, trace_rows.iter_adjoint_steps)
                              if stream else (trace_rows.primal, trace_rows.tangent, trace_rows.adjoint_steps))
    made = {"primal": primal, "tangent": tangent, "steps": steps, "adjoint": lambda t, _: trace_rows.adjoint(t)}
    for key in section_keys(trace, style):
        yield key, TITLES[key], made[key](trace, syms)


def section_keys(trace, style=None):
    """The keys of sections(trace, style) in order, without making their rows."""
    keys = ["primal"] + ["tangent"] * (trace.tangents is not None)
    if trace.adjoints is not None:
        keys.append("steps" if style_of(trace, style) == "steps" else "adjoint")
    return keys


def side_by_side(trace, sects):
    """[(left rows, right rows)] of the primal trace and the next one side by side, row by row (a tangent row
    beside its node's value; an adjoint step beside the primal row of the same rank); [] if they do not fit
    side by side (tensor traces)."""
    if not trace.graph.scalar or len(sects) < 2:
        return []
    (_, _, left), (key, _, right) = sects[0], sects[1]
    if key == "tangent":
        by_node = {r.node: r for r in right}
        return [(r, by_node.get(r.node)) for r in left]
    pad = max(len(left), len(right))
    return [(left[k] if k < len(left) else None, right[k] if k < len(right) else None) for k in range(pad)]


def _is_row(trace, key):
    # in the problem set's convention a vector's .d is a row vector (the derivative ∂f/∂V); a tangent is a column
    return key in ("adjoint", "steps") and trace.graph.notation == "dot"


_FACTORS = re.compile(r"(\\(?:odot|cdot|times)\s+)|(?<=[\w}).])\s+(?=[\w(]|\\mathbf)")


def _spaced(trace, rule):
    """Thin spaces between juxtaposed factors: LaTeX would run `W_{1}.v x.v` together as W₁.vx.v."""
    if trace.graph.notation != "dot":
        return rule
    # an operator and its space are kept (\odot x, not \odot\, x); between juxtaposed factors, a thin space
    return _FACTORS.sub(lambda m: m.group(1) or "\\, ", rule)


def _results(trace):
    """[(LaTeX symbol, value)] of the final lines: f and the derivative asked for; with several outputs, each
    output (by its label) and its derivative."""
    graph = trace.graph
    if len(graph.outputs) == 1:
        return _results_of(trace, "f", trace.value, trace.derivative)
    return [line for name, der in trace.derivatives.items() for line in _results_of(
        trace, graph.node(name).label, trace.values[graph.index[name]], der)]


def _results_of(trace, f, value, der):
    out = [(f, value)]
    tensor = np.ndim(value) > 0
    # a tensor output's reverse sweep is seeded with a direction: its derivative is that of ⟨seed, f⟩
    of = f"\\langle \\text{{seed}}, {f} \\rangle" if tensor and trace.tangents is None else f
    label = result_tex(trace, of)
    if isinstance(der, dict):
        out += [(f"\\partial {of}/\\partial {default_label(k)}", x) for k, x in der.items()]
    elif der is not None:
        if label is None:
            label = f"\\dot{{{f}}}" if tensor else f"\\dot{{{f}}} = \\langle\\nabla {f}, \\text{{seed}}\\rangle"
        out.append((label, der))
    return out


def rich_renderables(trace, digits=4, style=None, rows=None):
    """A list of rich renderables (tables and a result panel) for the console: a forward trace beside its
    evaluation trace, row by row, as the slides set it; other traces one below the other. With `rows`, each
    table stops after that many rows, a line saying how many were left out; matrices show TEX_SHOWN entries
    per axis, as in LaTeX."""
    where = point_text(trace.inputs, digits)
    head = f"{trace.graph.name}: {trace.graph.description or ''}" + (f"\nat {where}" if where else "")
    items = [Text(head, style="bold magenta")]
    # a cut table reads only its first rows, one at a time: a 10⁶-node trace makes no more
    sects, total = [], {}
    for key, title, made in _sections(trace, style, stream=rows is not None):
        total[key] = _row_count(trace, key, made)
        sects.append((key, title, list(itertools.islice(made, rows) if rows else made)))
    if sects[1:] and sects[1][0] == "tangent" and trace.graph.scalar:
        t = _rich_table("Forward mode: evaluation trace | tangent trace")
        for name in ("node", "symbol", "rule", "value", "tangent", "rule "):
            t.add_column(name, **_RICH_COLUMNS[name.strip()])
        for label in _column_labels(trace):
            t.add_column(tex_to_text(label) if trace.columns else "value ", **_RICH_COLUMNS["value"])
        for left, right in side_by_side(trace, sects)[:rows]:
            t.add_row(left.node, *_rich_cells(trace, "primal", left, digits), *_rich_cells(trace, "tangent", right, digits))
        items += [t, *_left_out(total.get("primal", 0), rows)]
        sects = sects[2:]
    for key, title, shown in sects:
        t = _rich_table(title)
        steps = key == "steps"
        for name in ("node", "symbol", *(("step",) if steps else ()), "rule"):
            t.add_column(name, **_RICH_COLUMNS[name])
        for label in _column_labels(trace, key):
            t.add_column(tex_to_text(label) if label else "value", **_RICH_COLUMNS["value"])
        for r in shown[:rows]:
            t.add_row(r.node, *_rich_cells(trace, key, r, digits))
            if r.closed:  # the same .d in the .v fields alone, on a line of its own
                t.add_row("", "", Text("= " + tex_to_text(r.closed)), "")
        items += [t, *_left_out(total.get(key, 0), rows)]
    lines = [_hanging(f"{tex_to_text(s)} = ", fmt_value(x, digits, row=True, shown=TEX_SHOWN, align=True))
             for s, x in _results(trace)]
    items.append(Panel(Text("\n".join(lines), style="bold"), expand=False, border_style="green"))
    return items


def _hanging(head, value):
    """head + value, a matrix's later rows indented under its first."""
    return head + value.replace("\n", "\n" + " " * len(head))


def _row_count(trace, key, made):
    """How many rows section `key` has (`made`: its rows, a list or a stream), counted without making them: as
    render.rows makes them, a primal row per node but constants, a tangent row per node but constants and data,
    an adjoint step for the output and for each edge contribution."""
    if isinstance(made, list):
        return len(made)
    if key == "steps":
        return 1 + len(trace.contributions)
    skipped = (CONST,) if key == "primal" else (CONST, DATA)
    return sum(n.kind not in skipped for n in trace.graph.nodes)


def _left_out(total, rows):
    """The line under a table cut after `rows` of its `total` rows ([] when it was not cut)."""
    if not rows or total <= rows:
        return []
    return [Text(f"… {total - rows:,} more rows not shown (GRAPHCOMP_MAX_TERMINAL_ROWS={rows:,}): --format csv or "
                 "json, or -o FILE.csv, .json, .md or .tex, has every row", style="yellow")]


_RICH_COLUMNS = {"node": {"style": "dim"}, "symbol": {"style": "bold"}, "tangent": {"style": "bold"},
                 "step": {}, "rule": {}, "value": {"justify": "right", "style": "green", "no_wrap": True}}  # a matrix row is never broken


def _rich_table(title):
    return Table(title=title, box=box.SIMPLE_HEAD, title_style="bold", header_style="bold cyan", title_justify="left",
                 pad_edge=False, collapse_padding=True)


def _rich_cells(trace, key, r, digits):
    if r is None:
        return ("", "", *[""] * len(_column_labels(trace, key)))
    # Text(), not a str: rich would take "[v₁ > 0]" in a rule for a markup tag and drop it
    symbol, generic, rule = row_text(r)
    step = (Text("= " + generic) if r.generic else "",) if key == "steps" else ()
    return (symbol, *step, Text("= " + rule),
            *(fmt_value(x, digits, row=_is_row(trace, key), shown=TEX_SHOWN, align=True) for x in _values(r)))


def _values(r):
    """A row's values: one, or one per input when a forward trace has a column for each (Trace.columns), or one
    per output when a reverse trace has (Trace.adjoint_columns)."""
    return list(r.value.values()) if isinstance(r.value, dict) else [r.value]


def _column_labels(trace, key="tangent"):
    """LaTeX headers of a section's values: ∂/∂x₁, ∂/∂x₂, … when forward mode ran a column per input, ∂f₁/∂·,
    ∂f₂/∂·, … when reverse mode ran one per output; [None] for one column."""
    if key == "tangent" and trace.columns:
        return [f"\\partial /\\partial {default_label(name)}" for name in trace.columns]
    if key == "adjoint" and trace.adjoint_columns:
        return [f"\\partial {trace.graph.node(name).label}/\\partial \\cdot" for name in trace.adjoint_columns]
    return [None]


TEX_SHOWN = 6  # entries per axis of a matrix in a LaTeX table: more would not fit a page (JSON has them all)


def tex_value(x, digits, row, vector=None):
    """A number, vector or matrix in LaTeX (a vector as a row, else a column; or as tex_matrix's `vector` says);
    past TEX_SHOWN entries along an axis the rest is \\cdots or \\vdots."""
    if x is None:
        return "\\text{--}"  # the terminal's dash for no derivative (in math, -- would be two minus signs)
    cut = (TEX_SHOWN, TEX_SHOWN - 1, TEX_SHOWN - 1, False) if max(np.shape(x), default=0) > TEX_SHOWN else None
    return tex_matrix(x, digits, vector=vector or ("row" if row else "column"), cut=cut)


BREAK = "\\par\\medskip\\noindent"  # between a trace's tabulars: a line of its own, where a page may break


def latex(trace, digits=4, style=None):
    """Booktabs `tabular`s to paste into a LaTeX report (its first line names the packages it needs): the
    evaluation trace with the tangent or adjoint trace beside it, row by row, as in the slides; each section below
    it (all of a tensor trace's) a tabular of its own after a BREAK, so that a trace taller than a page breaks
    between its sections; a table taller than TEX_LINES goes on in a tabular headed "(continued)". With several,
    the first starts a line of its own (\\noindent) too."""
    sects = sections(trace, style)
    parts = [f"% graphcomp trace of {trace.graph.name} (mode {trace.mode}); needs \\usepackage{{booktabs,amsmath,amssymb}}"]
    widest = max((np.shape(x)[-1] for _, _, rows in sects for r in rows for x in _values(r) if np.ndim(x)), default=0)
    if widest > 10:  # amsmath's matrices take 10 columns unless told more
        parts.append(f"\\setcounter{{MaxMatrixCols}}{{{widest}}}")
    beside = side_by_side(trace, sects)
    blocks = [latex_beside(trace, digits, sects=sects)] if beside else []
    blocks += [_tex_section(trace, key, rows, digits) for key, _, rows in sects[2 if beside else 0:]]
    body = f"\n{BREAK}\n".join(blocks)
    parts += ["\\noindent", body]  # a line of its own, not indented as a paragraph's start
    parts += [f"% ${s} = {tex_value(x, digits, True)}$" for s, x in _results(trace)]
    return "\n".join(parts) + "\n"


def latex_beside(trace, digits=4, value=None, gap="", sects=None):
    """The tabular of a scalar trace's evaluation trace with its tangent or adjoint trace beside it, row by row
    (side_by_side's pairs), split as tabulars splits; value(key, r, x) writes each number (a blank to fill in, say)
    and `gap` (\\[2pt]) ends each row."""
    sects = sects or sections(trace)
    key = sects[1][0]
    steps = key == "steps"
    right = 4 if steps else 2 + len(_column_labels(trace, key))
    cols = "l@{\\;}" * (1 + steps) + "l" + _NUMBERS + _NUMBERS.join("r" * (right - 2 - steps))
    labels = _column_labels(trace, key)

    def head(more):
        parts = [f"\\begin{{tabular}}{{@{{}}l@{{\\;}}l{_NUMBERS}r@{{\\qquad}}{cols}@{{}}}}", "\\toprule",
                 f"\\multicolumn{{3}}{{@{{}}l}}{{{HEADS['primal']}{more}}} & "
                 f"\\multicolumn{{{right}}}{{l@{{}}}}{{{HEADS[key]}{more}}} \\\\", "\\midrule"]
        if labels != [None]:
            parts += [" & " * 5 + " & ".join(f"${label}$" for label in labels) + " \\\\", "\\midrule"]
        return parts

    rows = [([" & ".join(_tex_cells(trace, "primal", left, digits, value) + _tex_cells(trace, key, r, digits, value))
              + _end(h, gap)], h) for left, r in side_by_side(trace, sects)
            for h in [max(_height(trace, "primal", left), _height(trace, key, r))]]
    return tabulars(head, rows)


_NUMBERS = "@{\\quad}"  # before a value column: a rule's last term and its value, −1.7735, would read as one


_ROOM = " \\addlinespace"  # booktabs' space under a row (0.5em): \\[3pt] adds none under one deeper than a strut


def _end(height, gap=""):
    """A row's end: a row of matrices taller than a line gets room below, so that their brackets do not touch."""
    return " \\\\" + (gap or (_ROOM if height > 1 else ""))


def _tex_section(trace, key, rows, digits):
    """The tabular of one section: its heading, its value columns' labels if it has several, its rows."""
    labels = _column_labels(trace, key)
    steps = key == "steps"  # a column more: the step, then the rule (as latex_beside's)
    width = 2 + steps + len(labels)

    def head(more):
        parts = ["\\begin{tabular}{@{}" + "l@{\\;}" * (1 + steps) + "l" + _NUMBERS + _NUMBERS.join("r" * len(labels))
                 + "@{}}", "\\toprule", f"\\multicolumn{{{width}}}{{@{{}}l}}{{{HEADS[key]}{more}}} \\\\", "\\midrule"]
        if labels != [None]:
            parts += [" & ".join(["", "", *[""] * steps, *(f"${label}$" for label in labels)]) + " \\\\", "\\midrule"]
        return parts

    lines = []
    for r in rows:
        h = _height(trace, key, r)
        lines.append(([" & ".join(_tex_cells(trace, key, r, digits)) + _end(h)], h))
        if r.closed:  # the same .d in the .v fields alone, on a line of its own
            closed = f"\\multicolumn{{2}}{{l@{{}}}}{{$= {_spaced(trace, r.closed)}$}}"  # the value column is free
            lines[-1][0].append(" & ".join(["", *[""] * steps, closed] + [""] * (width - 3 - steps)) + " \\\\" + _ROOM)
            lines[-1] = (lines[-1][0], lines[-1][1] + 1)
    return tabulars(head, lines)


TEX_LINES = 40  # lines of numbers a tabular holds: an article's page (10 pt) holds about 50 with the headings


def tabulars(head, rows):
    """The tabulars of a table's rows [(its lines, its height in lines)], as many as keep each within TEX_LINES,
    BREAK between them; head(more) gives a tabular's opening lines, more naming a continued one."""
    chunks, height = [[]], 0
    for lines, h in rows:
        if chunks[-1] and height + h > TEX_LINES:
            chunks.append([])
            height = 0
        chunks[-1] += lines
        height += h
    return f"\n{BREAK}\n".join("\n".join(head(" (continued)" if k else "") + chunk + ["\\bottomrule", "\\end{tabular}"])
                                for k, chunk in enumerate(chunks))


def _height(trace, key, r):
    """A row's height in lines: a matrix or column vector among its values as tall as its rows shown."""
    if r is None:
        return 1
    row = _is_row(trace, key)
    return max([1] + [min(np.shape(x)[0], TEX_SHOWN + 1) for x in _values(r) if np.ndim(x) == 2 or (np.ndim(x) == 1
                                                                                                   and not row)])


def _tex_cells(trace, key, r, digits, value=None):
    """A row's cells in LaTeX: symbol, [= generic,] = rule, values (or value(key, r, x) for each); blanks where there
    is no row."""
    if r is None:
        return [""] * (2 + (key == "steps") + len(_column_labels(trace, key)))
    cells = [f"${r.symbol}$", f"$= {_spaced(trace, r.rule)}$",
             *(value(key, r, x) if value else f"${tex_value(x, digits, _is_row(trace, key))}$" for x in _values(r))]
    if key == "steps":
        cells.insert(1, f"$= {r.generic}$" if r.generic else "")
    return cells


def markdown(trace, digits=4, style=None, value=None, results=True):
    """GitHub/Jupyter Markdown tables with $LaTeX$ symbols; a forward trace beside its evaluation trace.

    value(key, row, x) writes a value's cell instead ($x$ to `digits` decimals), as an exercise sheet leaves
    blanks; without `results`, the final lines (f, the derivative) are left out."""
    parts, sects = [], sections(trace, style)

    def cells(key, r):  # a | in a cell ends it, unless escaped: \\| reads back as LaTeX's \|, ‖
        return [c.replace("|", "\\|") for c in _tex_cells(trace, key, r, digits=digits, value=value)]

    if sects[1:] and sects[1][0] == "tangent" and trace.graph.scalar:
        heads = [f"${label}$" for label in _column_labels(trace)] if trace.columns else ["value"]
        parts += ["**Forward mode: evaluation trace and tangent trace, row by row**\n",
                  "| node | symbol | rule | value | tangent | rule | " + " | ".join(heads) + " |",
                  "|---|---|---|---:|---|---|" + "---:|" * len(heads)]
        parts += [f"| {left.node} | " + " | ".join(cells("primal", left) + cells("tangent", right)) + " |"
                  for left, right in side_by_side(trace, sects)]
        parts.append("")
        sects = sects[2:]
    for key, title, rows in sects:
        steps = key == "steps"
        heads = [f"${label}$" if label else "value" for label in _column_labels(trace, key)]
        parts += [f"**{title}**\n", "| node | symbol |" + (" step |" if steps else "") + " rule | " + " | ".join(heads)
                  + " |", "|---|---|" + ("---|" if steps else "") + "---|" + "---:|" * len(heads)]
        for r in rows:
            parts.append(f"| {r.node} | " + " | ".join(cells(key, r)) + " |")
            if r.closed:
                closed = _spaced(trace, r.closed).replace("|", "\\|")
                parts.append("| | | " + " | ".join([""] if steps else []) + f"$= {closed}$ | |")
        parts.append("")
    parts += [f"${s} = {tex_value(x, digits, True)}$  " for s, x in _results(trace)] if results else []
    return "\n".join(parts) + "\n"


def csv_text(trace, digits=4, style=None):
    """One CSV row per trace line: trace, node, symbol, step (the generic form of an adjoint step), rule
    (Unicode) and value."""
    def lines():  # a row at a time, into the text
        yield ["trace", "node", "symbol", "step", "rule", "value"]
        for key, _, rows in sections(trace, style):
            for r in rows:
                # a forward trace with a column per input: a row per input, its trace named tangent:x1, tangent:x2…
                values = r.value.items() if isinstance(r.value, dict) else [(None, r.value)]
                symbol, generic, text = row_text(r)
                text += f" = {tex_to_text(r.closed)}" if r.closed else ""
                yield from ([key if name is None else f"{key}:{name}", r.node, symbol, generic, text,
                             line_value(x, digits)] for name, x in values)

    return csv_lines(lines())


def _plain(x):
    if type(x) is float:  # a scalar trace's every number: no array made per row
        return x
    return None if x is None else np.asarray(x, dtype=float).tolist()


def json_chunks(trace, digits=4, style=None):
    """The whole trace as JSON, in pieces to write one after another: full-precision numbers, LaTeX and Unicode rules.

    One trace row a line, each encoded by json's C encoder (indent would take its pure-Python one),
    so a 10⁶-row trace streams to its file without being held as one string.
    """
    head = {
        "graph": trace.graph.name,
        "mode": trace.mode,
        "inputs": {k: _plain(x) for k, x in trace.inputs.items()},
        "value": _plain(trace.value),
        **({"outputs": {name: _plain(trace.values[trace.graph.index[name]]) for name in trace.graph.output_names}}
           if len(trace.graph.outputs) > 1 else {}),  # f1, f2, …: `value` is the first's
        "seed": {k: _plain(x) for k, x in trace.direction.items()},
        "results": [{"symbol": tex_to_text(s), "latex": s, "value": _plain(x)} for s, x in _results(trace)],
    }
    yield "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items())
    for key, _, rows in _sections(trace, style, stream=True):
        yield f',\n  "{key}": ['
        sep, lines = "\n    ", []
        for r in rows:
            symbol, generic, rule = row_text(r)
            lines.append(_json_row(r, symbol, generic, rule))
            if len(lines) == 1024:  # a thousand rows a piece: fewer writes, and still no whole-file string
                yield sep + ",\n    ".join(lines)
                sep, lines = ",\n    ", []
        del rows  # before the next section's rows are made
        yield (sep + ",\n    ".join(lines) if lines else "") + "\n  ]"
    yield "\n}\n"


_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps with an option makes one per call
_STR = json.encoder.encode_basestring  # json's own string encoder (in C)


def _json_row(r, symbol, generic, rule):
    """One trace row as a JSON object: what _JSON.encode writes, composed directly for a scalar row with a
    finite value (most rows of a huge trace), where building a dict to encode would cost twice as much."""
    latex = " = ".join(filter(None, (r.symbol, r.generic, r.rule)))
    v = r.value
    if type(v) is float and v - v == 0.0 and not r.closed:
        step = f'"step": {_STR(generic)}, ' if r.generic else ""
        return (f'{{"node": {_STR(r.node)}, "symbol": {_STR(symbol)}, {step}"rule": {_STR(rule)}, '
                f'"latex": {_STR(latex)}, "value": {v!r}}}')
    return _JSON.encode({"node": r.node, "symbol": symbol, **({"step": generic} if r.generic else {}),
                         **({"closed": tex_to_text(r.closed), "closed_latex": r.closed} if r.closed else {}),
                         "rule": rule, "latex": latex,
                         "value": {k: _plain(x) for k, x in v.items()} if isinstance(v, dict) else _plain(v)})


def json_text(trace, digits=4, style=None):
    """The whole trace as JSON text (json_chunks joined)."""
    return "".join(json_chunks(trace, digits, style))


def html_text(trace, digits=4, style=None, drawing=None):
    """The trace as HTML for Jupyter: its tables (text escaped) beside `drawing`, an SVG of the graph, if given."""
    blocks = []
    for key, title, rows in sections(trace, style):
        cells = ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in (
            r.node, symbol, "= " + generic if r.generic else "",
            "= " + rule + (f" = {tex_to_text(r.closed)}" if r.closed else ""),
            *(fmt_value(x, digits, row=_is_row(trace, key)) for x in _values(r)))) + "</tr>"
            for r in rows for symbol, generic, rule in [row_text(r)]]
        heads = "".join(f"<th>{html.escape(tex_to_text(label)) if label else 'value'}</th>"
                        for label in _column_labels(trace, key))  # a column per input or output when there are several
        blocks.append(f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>"
                      f"<tr><th>node</th><th>symbol</th><th></th><th>rule</th>{heads}</tr>"
                      + "".join(cells) + "</table>")
    results = "<br>".join(html.escape(f"{tex_to_text(s)} = {fmt_value(x, digits, row=True)}") for s, x in _results(trace))
    tables = "".join(blocks) + f"<p><b>{results}</b></p>"
    beside = f"<div style='flex:1 1 40%;min-width:20em'>{drawing}</div>" if drawing else ""
    return f"<div style='display:flex;gap:2em;flex-wrap:wrap'><div>{tables}</div>{beside}</div>"


def render(trace, fmt, digits=4, style=None):
    """The trace as text in one of FORMATS other than 'rich'."""
    return {"latex": latex, "markdown": markdown, "csv": csv_text, "json": json_text}[fmt](trace, digits, style)


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
