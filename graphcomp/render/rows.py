"""The rows of a trace table: each node's symbol, the rule that gives it, and its number.

Symbols and rules are LaTeX written with the lecture's names (v_i, \\dot v_i,
\\bar v_i, or the problem set's .v / .d fields), composed from the registry's
templates; the text, table and Graphviz renderers print the same rows.
"""
import re
import string
from dataclasses import dataclass

import numpy as np

from graphcomp import ops
from graphcomp.core.labels import default_label
from graphcomp.core.nodes import CONST, DATA


@dataclass(frozen=True)
class Row:
    """One line of a trace table: `symbol = rule = value` (symbol and rule in LaTeX)."""
    node: str
    symbol: str
    rule: str
    value: object


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
    """Forward-mode trace: v̇_i for inputs (the seed) and nodes, in evaluation order."""
    # terms in constants and data are always 0; terms in unseeded inputs stay, as in the lecture's trace
    graph, active, rows = trace.graph, trace.graph.active, []
    for i, n in enumerate(graph.nodes):
        if n.kind in (CONST, DATA):
            continue
        if n.op is None:
            seed = trace.direction.get(n.name)
            rule = "0" if seed is None else "\\text{seed}" if np.ndim(seed) else f"{seed:g}"
        else:
            terms = ops.REGISTRY[n.op].jvp_tex(_shapes(graph, n))
            f = fields(graph, i)
            rule = _sum(fill(t, f) for t, a in zip(terms, n.args) if active[a])
        rows.append(Row(n.name, deriv_sym(graph, i, "tangent"), rule, trace.tangents[i]))
    return rows


def adjoint(trace):
    """Reverse-mode trace: v̄_i from the output back to the inputs, each a sum over the node's users."""
    graph, rows, out = trace.graph, [], trace.graph.output
    # in the .v/.d notation, an adjoint that is ±(one value) or its transpose is also written
    # into its users' rules, as in Problem 3(b): V5.d = -D.d = -(D.v)^T
    plain = {out: _ONE} if graph.notation == "dot" else {}
    for i in trace.adjoint_order:
        n = graph.nodes[i]
        if i == out:
            rule = "1"
        else:
            terms, inlined = [], []
            for j, k in graph.users[i]:
                if trace.adjoints[j] is None:
                    continue
                template = ops.REGISTRY[graph.nodes[j].op].vjp_tex(_shapes(graph, graph.nodes[j]))[k]
                f = fields(graph, j)
                terms.append(fill(template, f))
                inlined.append(_inline(template, plain.get(j), f))
            rule = _sum(terms)
            if plain and terms and None not in inlined:
                if len(inlined) == 1:
                    plain[i] = _as_plain(inlined[0])
                if _sum(inlined) != rule:
                    rule += " = " + _sum(inlined)
        rows.append(Row(n.name, deriv_sym(graph, i, "adjoint"), rule, trace.adjoints[i]))
    return rows


def partial_rule(graph, j, k):
    """LaTeX of ∂v_j/∂(argument k of node j) as a rule in the arguments' symbols, or None if the op gives none."""
    n = graph.nodes[j]
    templates = ops.REGISTRY[n.op].partials_tex
    return None if templates is None else fill(templates[k], fields(graph, j))


def result_tex(trace):
    """LaTeX of the derivative asked for, e.g. '\\frac{\\partial f}{\\partial x_{2}}' — or None."""
    name = trace.wrt_name()
    return None if name is None else f"\\partial f/\\partial {default_label(name)}"


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


_ONE = (False, "1", False)  # the output's adjoint
_TRANSPOSED = re.compile(r"\((?P<core>[^() ]+)\)\^\\top")


def _inline(template, form, fields):
    """A vjp template with the user's adjoint written in values: form = (negated, value symbol, transposed)."""
    if form is None:
        return None
    neg, core, transposed = form
    if form == _ONE:
        t = template.replace("({g})^\\top", "{g}")
        for times in ("{g} \\cdot ", "{g} \\, ", "{g} "):  # 1 · x is x
            t = t.replace(times, "")
        t = t.replace("{g}", "1")
    else:
        core = core.replace("{", "{{").replace("}", "}}")
        as_t = f"({core})^\\top"
        t = template.replace("({g})^\\top", core if transposed else as_t).replace("{g}", as_t if transposed else core)
    t = fill(t, fields)
    if t.startswith("-"):
        neg, t = not neg, t[1:]
    return "-" + t if neg else t


def _as_plain(tex):
    """'-(D.v)^\\top' → (True, 'D.v', True); None unless tex is ± one value symbol, maybe transposed."""
    neg = tex.startswith("-")
    body = tex[neg:]
    m = _TRANSPOSED.fullmatch(body)
    if m:
        return neg, m["core"], True
    return (neg, body, False) if " " not in body and "(" not in body else None


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
