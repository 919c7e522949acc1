"""The rows of a trace table: each node's symbol, the rule that gives it, and its number.

Symbols and rules are LaTeX written with the lecture's names (v_i, \\dot v_i,
\\bar v_i, or the problem set's .v / .d fields), composed from the registry's
templates; the text, table and Graphviz renderers print the same rows.
"""
import string
from dataclasses import dataclass

import numpy as np

from graphcomp import ops
from graphcomp.core.labels import default_label
from graphcomp.core.nodes import CONST, DATA


@dataclass(frozen=True)
class Row:
    """One line of a trace table: `symbol = rule = value`, or `symbol = generic = rule = value` for an adjoint
    step as the slides write it (symbols and rules in LaTeX)."""

    node: str
    symbol: str
    rule: str
    value: object
    generic: str | None = None
    closed: str | None = None  # the same .d in the .v fields alone (Problem 3(b)'s W₃.d = −D.v (V₄.v)ᵀ)


def value_sym(graph, i):
    """LaTeX symbol of node i's value."""
    n = graph.nodes[i]
    if n.kind == CONST:
        return n.label
    return f"{n.label}.v" if graph.notation == "dot" else n.label


def deriv_sym(graph, i, kind):
    """LaTeX symbol of node i's tangent (kind 'tangent') or adjoint ('adjoint')."""
    n = graph.nodes[i]
    if graph.notation == "dot" and kind == "adjoint":
        return f"{n.label}.d"
    # a tangent is not the problem's .d (∂f/∂V): it keeps the lecture's dot in either notation
    base, sub = split_label(n.label)
    accent = "\\dot" if kind == "tangent" else "\\bar"
    return f"{accent}{{{base}}}{sub}"


def primal(trace):
    """Evaluation trace: inputs first, then every node in evaluation order."""
    graph, rows = trace.graph, []
    for i, n in enumerate(graph.nodes):
        if n.kind == CONST:
            continue
        rule = _input_name(n) if n.op is None else fill(ops.REGISTRY[n.op].tex, fields(graph, i))
        rows.append(Row(n.name, value_sym(graph, i), rule, trace.values[i]))
    return rows


def tangent(trace):
    """Forward-mode trace: v̇_i for inputs (the seed) and nodes, in evaluation order. With several inputs (a
    column each, Trace.columns) each row's value is {input: v̇_i along it}, and an input's rule is its seed."""
    # terms in constants and data are always 0; terms in unseeded inputs stay, as in the lecture's trace
    graph, active, rows = trace.graph, trace.graph.active, []
    for i, n in enumerate(graph.nodes):
        if n.kind in (CONST, DATA):
            continue
        if n.op is None and trace.columns:
            rule = "\\text{seed}"
        elif n.op is None:
            seed = trace.direction.get(n.name)
            rule = "0" if seed is None else "\\text{seed}" if np.ndim(seed) else f"{seed:g}"
        else:
            terms = ops.REGISTRY[n.op].jvp_tex(_shapes(graph, n))
            f = fields(graph, i)
            rule = _sum(fill(t, f) for t, a in zip(terms, n.args) if active[a])
        value = {k: ts[i] for k, (_, ts) in trace.columns.items()} if trace.columns else trace.tangents[i]
        rows.append(Row(n.name, deriv_sym(graph, i, "tangent"), rule, value))
    return rows


def adjoint(trace):
    """Reverse-mode trace: v̄_i from the output back to the inputs, each a sum over the node's users. With several
    outputs (a column each, Trace.adjoint_columns) each row's value is {output: v̄_i for it}.

    In the .v/.d notation each .d also gets its closed form in the .v fields alone (Row.closed), as Problem
    3(b) writes W₃.d = −D.v (V₄.v)ᵀ, and a data input a row saying it gets none (∂D/∂y = 0)."""
    graph, rows, out = trace.graph, [], trace.graph.output
    cols = trace.adjoint_columns  # several outputs: each row's value is {output: v̄_i of it}
    # outputs whose adjoint is a seed, not 1: each of several (1 in its own column, 0 in the others), a tensor's
    seeded = set(graph.outputs) if cols or any(graph.nodes[o].shape for o in graph.outputs) else ()
    closed = closed_forms(trace) if graph.notation == "dot" and not seeded else {}
    for i in trace.adjoint_order:
        n = graph.nodes[i]
        terms = [fill(ops.REGISTRY[graph.nodes[j].op].vjp_tex(_shapes(graph, graph.nodes[j]))[k], fields(graph, j))
                 for j, k in graph.users[i] if trace.adjoints[j] is not None]
        if i in seeded:
            rule = _sum(["\\text{seed}", *terms])
        else:
            rule = "1" if i == out else _sum(terms)
        form = closed.get(i)
        value = {k: ds[i] for k, (_, ds) in cols.items()} if cols else trace.adjoints[i]
        rows.append(Row(n.name, deriv_sym(graph, i, "adjoint"), rule, value,
                        closed=form if form not in (None, rule) else None))
        if graph.notation == "dot":
            for a in dict.fromkeys(n.args):
                if graph.nodes[a].kind == DATA:
                    rows.append(Row(graph.nodes[a].name, f"\\partial {n.label}/\\partial {graph.nodes[a].label}",
                                    f"0 \\quad \\text{{(}}{graph.nodes[a].label}\\text{{ is data, not a variable)}}", None))
    return rows


def adjoint_steps(trace):
    """Reverse-mode trace in the slides' convention (scalar graphs): one row per edge contribution, in reverse
    evaluation order; the first contribution to v̄ⱼ assigns it (v̄ⱼ = v̄ᵢ ∂vᵢ/∂vⱼ), each later one adds
    (v̄ⱼ = v̄ⱼ + v̄ᵢ ∂vᵢ/∂vⱼ); the value is v̄ⱼ after the step, the last of each node its adjoint."""
    graph, out = trace.graph, trace.graph.output
    rows = [Row(graph.nodes[out].name, deriv_sym(graph, out, "adjoint"), "1", trace.adjoints[out])]
    for i, k, j, _, total, first in trace.contributions:
        bar_j, bar_i = deriv_sym(graph, j, "adjoint"), deriv_sym(graph, i, "adjoint")
        partial = f"\\partial {graph.nodes[i].label}/\\partial {graph.nodes[j].label}"
        template = ops.REGISTRY[graph.nodes[i].op].vjp_tex(_shapes(graph, graph.nodes[i]))[k]
        term = fill(template, fields(graph, i))
        generic = f"{bar_i} {partial}"
        if not first:
            generic, term = f"{bar_j} + {generic}", _sum([bar_j, term])
        rows.append(Row(graph.nodes[j].name, bar_j, term, total, generic=generic))
    return rows


def partial_rule(graph, j, k):
    """LaTeX of ∂v_j/∂(argument k of node j) as a rule in the arguments' symbols, or None if the op gives none."""
    n = graph.nodes[j]
    templates = ops.REGISTRY[n.op].partials_tex
    return None if templates is None else fill(templates[k], fields(graph, j))


def result_tex(trace, f="f"):
    """LaTeX of the derivative asked for, e.g. '\\partial f/\\partial x_{2}' (of the output written `f`) — or None."""
    name = trace.wrt_name()
    return None if name is None else f"\\partial {f}/\\partial {default_label(name)}"


def _shapes(graph, n):
    return [graph.nodes[a].shape for a in n.args]


def fields(graph, i):
    """The values of a template's fields at node i (see graphcomp.ops.registry)."""
    n = graph.nodes[i]
    f = {"y": value_sym(graph, i), "g": deriv_sym(graph, i, "adjoint"), **n.params,
         **{f"{k}m1": x - 1.0 for k, x in n.params.items()},
         **{f"{k}c": f"({x:g})" if x < 0 else x for k, x in n.params.items()}}  # as a factor: 3 (-1) x, not 3 -1 x
    f = {k: (f"{x:g}" if isinstance(x, float) else x) for k, x in f.items()}
    for k, a in enumerate(n.args):
        f[str(k)] = value_sym(graph, a)
        f[f"t{k}"] = deriv_sym(graph, a, "tangent")
    return f


def _sum(terms):
    """Join LaTeX terms with + (or - for a negative term); '0' for none."""
    out = ""
    for t in terms:
        out += (" - " + t[1:]) if t.startswith("-") and out else (" + " + t if out else t)
    return out or "0"


# ---- closed forms: each .d in the .v fields alone ---------------------------------------------------------------
# An expression is (negated, LaTeX, atom?); an atom needs no parentheses as a factor. Gradients are in column form:
# a vector's .d is the transpose of its expression.

_ONE = (False, "1", True)


def closed_forms(trace):
    """{node: LaTeX of its .d written in the .v fields alone}, for the nodes whose adjoint has one (tensor ops,
    elementwise ops), built from the output back by the gradient form of each op's rule."""
    graph, grads = trace.graph, {trace.graph.output: _ONE}
    for i in trace.adjoint_order:
        n = graph.nodes[i]
        if n.op is None or grads.get(i) is None:
            continue
        for k, a in enumerate(n.args):
            if trace.adjoints[a] is None:
                continue
            term = _gradient(graph, i, k, grads[i])
            grads[a] = term if a not in grads else None if term is None or grads[a] is None else _plus(grads[a], term)
    return {i: _as_d(graph.nodes[i], g) for i, g in grads.items() if g is not None}


def _gradient(graph, i, k, g):
    """The gradient (column form) that node i passes to its argument k, given its own gradient g; None if unknown."""
    n = graph.nodes[i]
    f, shapes = fields(graph, i), _shapes(graph, n)
    op = ops.REGISTRY[n.op]
    if op.elementwise:
        partial = fill(op.partials_tex[k], f)
        if partial in ("1", "-1"):
            return _negated(g) if partial == "-1" else g
        return _times(_atom(partial), g, "\\odot" if any(shapes) else "\\,")
    factors = op.grad_tex(shapes) if op.grad_tex else None
    if factors is None:
        return None
    out = _ONE
    for factor in factors[k]:
        if factor == "{g}":
            out = _times(out, g, " ")
        elif "{g}" in factor:  # a factor of g, e.g. its transpose: g's sign comes out in front
            out = _times(out, (g[0], fill(factor, {**f, "g": g[1]}), True), " ")
        else:
            out = _times(out, (False, fill(factor, f), True), " ")
    return out


def _atom(tex):
    """tex as an expression: an atom when no space or sign stands outside its brackets (𝟙[V₃.v > 0] is one)."""
    depth, loose = 0, tex.startswith("-")
    for c in tex:
        depth += (c in "([{") - (c in ")]}")
        loose = loose or (c == " " and depth == 0)
    return (False, tex, not loose)


def _factor(e):
    return e[1] if e[2] else f"({e[1]})"


def _times(a, b, op):
    if a == _ONE:
        return b
    if b == _ONE:
        return a
    return (a[0] != b[0], f"{_factor(a)}{op if op == ' ' else f' {op} '}{_factor(b)}".replace("  ", " "), False)


def _negated(e):
    return (not e[0], e[1], e[2])


def _plus(a, b):
    text = ("-" if a[0] else "") + a[1] + (" - " if b[0] else " + ") + b[1]
    return (False, text, False)


def _as_d(node, e):
    """How the problem set writes the .d of `node`: a vector's .d is a row, the transpose of its gradient."""
    neg, tex, _ = e
    if len(node.shape) == 1:
        tex = f"({tex})^\\top"
    return ("-" if neg else "") + tex


def split_label(label):
    """The base a dot or bar goes on, and the scripts after it: 'v_{-2}' → ('v', '_{-2}'), 'h^{(1)}' → ('h', '^{(1)}').

    Only a `_` or `^` outside braces and not escaped starts the scripts: '\\mathrm{W\\_out}' is all base.
    """
    depth = 0
    for k, c in enumerate(label):
        depth += (c == "{") - (c == "}")
        if depth == 0 and c in "_^" and k > 0 and label[k - 1] != "\\":
            return label[:k], label[k:]
    return label, ""


def _input_name(n):
    kind = "data" if n.kind == DATA else "input"
    return f"\\text{{{kind}}}" if n.label == default_label(n.name) else default_label(n.name)


class _Formatter(string.Formatter):
    """str.format with one spec of its own: `{0:^{p}}` writes argument 0 to the power p, and x^1 as x."""
    def format_field(self, value, spec):
        if spec.startswith("^"):
            exponent = spec[1:]
            return value if exponent == "1" else f"{value}^{{{exponent}}}"
        return super().format_field(value, spec)


_FORMATTER = _Formatter()


def fill(template, fields):
    """A rule template with its fields: {0}, {1} the arguments' symbols, {y}, {g}, {t0}, {p}… (see graphcomp.ops)."""
    positional = [fields[str(k)] for k in range(sum(k.isdigit() for k in fields))]
    if ":^" not in template:  # no spec of _Formatter's own: str.format gives the same, in C
        return template.format(*positional, **fields)
    return _FORMATTER.vformat(template, positional, fields)
