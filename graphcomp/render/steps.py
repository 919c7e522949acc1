"""The steps of `graphcomp explain`: a finished trace's sweeps one step at a time, as data.

A step is one row of the trace tables (render.tables.sections; on scalar graphs the adjoint trace in the
slides' convention, one step per edge contribution): the node whose field it computes, the edges it reads,
the number its box shows after it (and before it), and its caption as the slides write it — the generic
form, the rule, the rule with the numbers in it — all in LaTeX, from the same rows and templates as the
tables. The HTML stepper and the animation frames (render.explain) only read the steps.
"""
import re
from dataclasses import dataclass

import numpy as np

from graphcomp import ops
from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import CONST, DATA
from graphcomp.render import rows as trace_rows
from graphcomp.render import tables
from graphcomp.render.rows import Row, fill
from graphcomp.render.text import fmt_number

MAX_NODES = 2000  # a stepper over more nodes would be a drawing no one can follow: `draw` it instead
LINE = {"primal": "primal", "tangent": "tangent", "steps": "adjoint", "adjoint": "adjoint"}  # section → box line


@dataclass(frozen=True)
class Step:
    """One step of a sweep: row `row` of table `section` computes line `line` of node `node`'s box.

    value:   the line's number after the step (an adjoint step's partial sum); before: the number it had,
             None where the line was blank. A data input's "∂D/∂y = 0" row fills no line (line None).
    reads:   the edges (argument, node, k) the step reads.
    caption: LaTeX: the symbol, then the right-hand sides in order (generic form, rule, rule in numbers),
             each shown once; the value follows them.
    """

    section: str
    row: Row
    node: int
    line: str | None
    value: object
    before: object
    reads: tuple
    caption: tuple


def check_size(graph):
    """Refuse a graph over MAX_NODES nodes (a GraphcompError suggesting `draw`)."""
    if len(graph.nodes) > MAX_NODES:
        raise GraphcompError(f"{len(graph.nodes):,} nodes: explain steps through at most {MAX_NODES:,}; "
                             "draw the graph instead (graphcomp draw)", file=graph.file)


def check_one_value(trace):
    """Refuse a trace with a reverse sweep per output (a GraphcompError suggesting --mode forward): a box line, a
    table cell and a caption show one value, and each node's .d would be one per output."""
    if trace.adjoint_columns:
        graph = trace.graph
        raise GraphcompError(f"explain steps through one reverse sweep, and {graph.name} has {len(graph.outputs)} "
                             "outputs: --mode forward steps through them in one sweep", file=graph.file)


def steps(trace, digits=4):
    """[Step] of the trace: the forward pass (each node's value), then the tangent pass and/or the adjoint pass."""
    graph = trace.graph
    check_size(graph)
    if trace.columns:
        raise GraphcompError("explain steps through one forward sweep: give --wrt one input or a direction")
    out, running, syms = [], {}, trace_rows.Symbols(graph)
    contributions = iter(trace.contributions)
    for key, _, rows in tables.sections(trace, "steps"):
        user = None  # in the .v/.d trace, the node whose data inputs' rows follow it
        for r in rows:
            i = graph.index[r.node]
            n = graph.nodes[i]
            line, before, numbers = LINE[key], None, None
            if key == "primal":
                reads = tuple((a, i, k) for k, a in enumerate(n.args))
                numbers = n.op and _filled(trace, i, trace_rows.forward_tex(graph, n), digits)
            elif key == "tangent":
                reads = tuple((a, i, k) for k, a in enumerate(n.args) if graph.active[a])
                if n.op:
                    terms = ops.REGISTRY[n.op].jvp_tex([graph.nodes[a].shape for a in n.args])
                    numbers = _joined(_filled(trace, i, terms[k], digits) for _, _, k in reads)
            elif key == "steps" and r.generic is None:  # the seed: v̄ of the output is 1
                reads = ()
            elif key == "steps":
                j_user, k, j, _, total, first = next(contributions)
                reads = ((j, j_user, k),)
                term = _filled(trace, j_user, syms.vjp_tex(j_user)[k], digits)
                before = None if first else running[j]
                numbers = term if first else _joined([fmt_number(before, digits), term])
                running[j] = total
            elif n.kind == DATA and user is not None:  # ∂D/∂y = 0: y is data
                reads, line = tuple((i, user, k) for k, a in enumerate(graph.nodes[user].args) if a == i), None
            else:
                user = i
                reads = tuple((i, j, k) for j, k in graph.users[i] if trace.adjoints[j] is not None)
            out.append(Step(key, r, i, line, r.value, before, reads, _caption(r, numbers)))
    return out


def _caption(r, numbers):
    """The symbol and each distinct right-hand side; a kind of input ('input', 'seed') and a bare number are not
    forms of it."""
    forms = []
    for form in (r.generic, r.rule, r.closed, numbers):
        if form and form not in forms and not form.startswith("\\text{") and not _NUMBER.fullmatch(form):
            forms.append(form)
    return (r.symbol, *forms)


_NUMBER = re.compile(r"-?[\d.]+")
_OPEN, _CLOSE = "\x05", "\x06"  # around a number put in a template, until the products between numbers are marked
_AFTER_NUMBER = re.compile(_CLOSE + r"(?:\s|\\,)*(?=[" + _OPEN + r"(\d])")
_BEFORE_NUMBER = re.compile(r"(?<=[\d)])(?:\s|\\,)+(?=" + _OPEN + ")")


def _filled(trace, i, template, digits):
    """A template of node i's op (its definition, a tangent term, an adjoint contribution) with the numbers of
    this trace in place of the symbols, or None on a tensor graph (its numbers are matrices)."""
    graph = trace.graph
    if not graph.scalar:
        return None
    n, f = graph.nodes[i], trace_rows.fields(graph, i)

    def number(x):
        text = fmt_number(x, digits)
        return _OPEN + (f"({text})" if text.startswith("-") else text) + _CLOSE

    f["y"] = number(trace.values[i])
    if trace.adjoints is not None and trace.adjoints[i] is not None:
        f["g"] = number(trace.adjoints[i])
    for k, a in enumerate(n.args):
        if graph.nodes[a].kind == CONST:
            continue  # a constant is its own number
        f[str(k)] = number(trace.values[a])
        if trace.tangents is not None:
            f[f"t{k}"] = number(trace.tangents[a])
    # juxtaposed numbers are a product: v₋₂ v₋₁ is 1.0000 · 1.5000, not 1.0000 1.5000
    tex = _BEFORE_NUMBER.sub(r" \\cdot ", _AFTER_NUMBER.sub(_CLOSE + r" \\cdot ", fill(template, f)))
    return tex.replace(_OPEN, "").replace(_CLOSE, "")


def _joined(terms):
    """rows.sum_terms of the terms, or None if a term is None (a tensor graph)."""
    terms = list(terms)
    return None if None in terms else trace_rows.sum_terms(terms)


def compact(x, digits, entries=3, lines=2):
    """A value in one short line: a scalar's number; a vector's or matrix's first `entries` entries of its first
    `lines` rows, … for the rest."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return fmt_number(a, digits)
    rows = np.atleast_2d(a)
    shown = [", ".join(fmt_number(e, digits) for e in r[:entries]) + (", …" if r.size > entries else "")
             for r in rows[:lines]]
    if a.ndim == 1:
        return f"[{shown[0]}]"
    return "[[" + "], [".join(shown) + ("], …]" if len(rows) > lines else "]]")
