"""A finished trace: every node's value .v and derivative .d for one evaluation, and its rows.

The rows are what the renderers print: for each node its symbol, the rule that
gives it (LaTeX, with the lecture's names: v_i, \\dot v_i, \\bar v_i, or the
problem set's .v / .d fields) and its number. Renderers only read them.
"""
import re
import string
from dataclasses import dataclass

import numpy as np

from graphcomp import ops
from graphcomp.graph import CONST, DATA, INPUT, default_label


@dataclass(frozen=True)
class NodeView:
    """One node of a trace: .v its value, .d its derivative (adjoint in reverse mode, tangent in forward)."""

    name: str
    label: str
    v: object
    d: object
    tangent: object = None
    adjoint: object = None


@dataclass(frozen=True)
class Row:
    """One line of a trace table: `symbol = rule = value` (symbol and rule in LaTeX)."""

    node: str
    symbol: str
    rule: str
    value: object


class Trace:
    """Values and derivatives of one evaluation of a graph; `trace['v1'].v`, `trace['v1'].d`."""

    def __init__(self, graph, mode, values, tangents, adjoints, *, wrt, direction, inputs):
        self.graph, self.mode, self.wrt, self.inputs = graph, mode, wrt, inputs
        self.values, self.tangents, self.adjoints = values, tangents, adjoints
        self.direction = {graph.nodes[i].name: x for i, x in direction.items()}

    def __getitem__(self, name):
        n = self.graph.node(name)
        i = self.graph.index[name]
        t = self.tangents[i] if self.tangents is not None else None
        d = self.adjoints[i] if self.adjoints is not None else None
        return NodeView(n.name, n.label, self.values[i], d if self.mode != "forward" else t, t, d)

    def __iter__(self):
        return (self[n.name] for n in self.graph.nodes if n.kind != CONST)

    @property
    def value(self):
        """f, the output's value."""
        return self.values[self.graph.output]

    @property
    def gradient(self):
        """{input name: ∂f/∂input} for every differentiable input (reverse mode)."""
        if self.adjoints is None:
            return None
        return {self.graph.nodes[i].name: self.adjoints[i] for i in self.graph.inputs
                if self.graph.nodes[i].kind == INPUT}

    @property
    def derivative(self):
        """The derivative asked for: ∂f/∂wrt, or the directional derivative along the seed."""
        if self.tangents is not None:
            return self.tangents[self.graph.output]
        grad = self.gradient
        if grad is None:
            return None
        if isinstance(self.wrt, str):
            return grad[self.wrt]
        if isinstance(self.wrt, dict):
            return sum(float(np.sum(np.asarray(grad[k]) * np.asarray(x))) for k, x in self.wrt.items())
        if self.wrt:
            return {k: grad[k] for k in self.wrt}
        return grad

    def wrt_name(self):
        """The one scalar input the derivative is taken with respect to, or None (a direction, a gradient)."""
        names = list(self.direction) if self.direction else (
            [self.wrt] if isinstance(self.wrt, str) else list(self.wrt or []))
        if len(names) == 1 and not isinstance(self.wrt, dict) and not self.graph.node(names[0]).shape:
            return names[0]
        return None

    # ---- the rows the renderers print ------------------------------------------------------------

    def value_sym(self, i):
        """LaTeX symbol of node i's value."""
        n = self.graph.nodes[i]
        if n.kind == CONST:
            return n.label
        return f"{n.label}.v" if self.graph.notation == "dot" else n.label

    def deriv_sym(self, i, kind):
        """LaTeX symbol of node i's tangent (kind 'tangent') or adjoint ('adjoint')."""
        n = self.graph.nodes[i]
        if self.graph.notation == "dot" and kind == "adjoint":
            return f"{n.label}.d"
        # a tangent is not the problem's .d (∂f/∂V): it keeps the lecture's dot in either notation
        base, sub = _split(n.label)
        accent = "\\dot" if kind == "tangent" else "\\bar"
        return f"{accent}{{{base}}}{sub}"

    def primal_rows(self):
        """Evaluation trace: inputs first, then every node in evaluation order."""
        rows = []
        for i, n in enumerate(self.graph.nodes):
            if n.kind == CONST:
                continue
            if n.op is None:
                rule = _input_name(n)
            else:
                rule = _fill(ops.REGISTRY[n.op].tex, self._fields(i))
            rows.append(Row(n.name, self.value_sym(i), rule, self.values[i]))
        return rows

    def tangent_rows(self):
        """Forward-mode trace: v̇_i for inputs (the seed) and nodes, in evaluation order."""
        # terms in constants and data are always 0; terms in unseeded inputs stay, as in the lecture's trace
        varies = [n.kind == INPUT for n in self.graph.nodes]
        for i, n in enumerate(self.graph.nodes):
            varies[i] = varies[i] or any(varies[a] for a in n.args)
        rows = []
        for i, n in enumerate(self.graph.nodes):
            if n.kind in (CONST, DATA):
                continue
            if n.op is None:
                seed = self.direction.get(n.name)
                rule = "0" if seed is None else "\\text{seed}" if np.ndim(seed) else f"{seed:g}"
            else:
                terms = ops.REGISTRY[n.op].jvp_tex(self._shapes(n))
                fields = self._fields(i)
                rule = _sum(_fill(t, fields) for t, a in zip(terms, n.args) if varies[a])
            rows.append(Row(n.name, self.deriv_sym(i, "tangent"), rule, self.tangents[i]))
        return rows

    def adjoint_rows(self):
        """Reverse-mode trace: v̄_i from the output back to the inputs, each a sum over the node's users."""
        users = [[] for _ in self.graph.nodes]
        for j, n in enumerate(self.graph.nodes):
            for k, a in enumerate(n.args):
                users[a].append((j, k))
        rows = []
        out = self.graph.output
        # in the .v/.d notation, an adjoint that is ±(one value) or its transpose is also written
        # into its users' rules, as in Problem 3(b): V5.d = -D.d = -(D.v)^T
        plain = {out: _ONE} if self.graph.notation == "dot" else {}
        for i in self._reverse_order(users):
            n = self.graph.nodes[i]
            if i == out:
                rule = "1"
            else:
                terms, inlined = [], []
                for j, k in users[i]:
                    if self.adjoints[j] is None:
                        continue
                    op = ops.REGISTRY[self.graph.nodes[j].op]
                    template = op.vjp_tex(self._shapes(self.graph.nodes[j]))[k]
                    terms.append(_fill(template, self._fields(j)))
                    inlined.append(_inline(template, plain.get(j), self._fields(j)))
                rule = _sum(terms)
                if plain and terms and None not in inlined:
                    if len(inlined) == 1:
                        plain[i] = _as_plain(inlined[0])
                    if _sum(inlined) != rule:
                        rule += " = " + _sum(inlined)
            rows.append(Row(n.name, self.deriv_sym(i, "adjoint"), rule, self.adjoints[i]))
        return rows

    def _reverse_order(self, users):
        """Nodes with an adjoint, output first. The lecture's scalar traces go strictly back from v_k to
        v_{-k}; in the .v/.d notation a parameter follows as soon as its users are done (V5.d, then W3.d)."""
        nodes, d = self.graph.nodes, self.adjoints
        order = [i for i in range(len(nodes) - 1, -1, -1) if d[i] is not None and nodes[i].kind != CONST]
        if self.graph.notation != "dot":
            return order
        waiting = {i: sum(d[j] is not None for j, _ in users[i]) for i in order if nodes[i].op is None}
        out = [i for i, left in waiting.items() if left == 0 and i == self.graph.output]
        for i in order:
            if nodes[i].op is None:
                continue
            out.append(i)
            for a in nodes[i].args:
                if a in waiting:
                    waiting[a] -= 1
                    if waiting[a] == 0:
                        out.append(a)
        return out + [i for i, left in waiting.items() if left == 0 and i != self.graph.output and not users[i]]

    def _shapes(self, n):
        return [self.graph.nodes[a].shape for a in n.args]

    def _fields(self, i):
        n = self.graph.nodes[i]
        f = {"y": self.value_sym(i), "g": self.deriv_sym(i, "adjoint"), **n.params,
             **{f"{k}m1": x - 1.0 for k, x in n.params.items()},
             **{f"{k}c": f"({x:g})" if x < 0 else x for k, x in n.params.items()}}  # as a factor: 3 (-1) x, not 3 -1 x
        f = {k: (f"{x:g}" if isinstance(x, float) else x) for k, x in f.items()}
        for k, a in enumerate(n.args):
            f[str(k)] = self.value_sym(a)
            f[f"t{k}"] = self.deriv_sym(a, "tangent")
        return f

    # ---- local partials, for the edges of a diagram -----------------------------------------------

    def local_partial(self, j, k):
        """∂v_j/∂(argument k of node j) at this trace's values: (LaTeX rule, number); None on a tensor graph."""
        if not self.graph.scalar:
            return None  # a Jacobian there, not a number
        from graphcomp.kits import FloatKit

        n = self.graph.nodes[j]
        op = ops.REGISTRY[n.op]
        number = op.vjp(FloatKit, 1.0, self.values[j], *(self.values[a] for a in n.args), **n.params)[k]
        # the tangent term of argument k with a blank tangent is the partial itself: "", "-" or " \cdot P"
        term = _fill(op.jvp_tex(self._shapes(n))[k], {**self._fields(j), f"t{k}": "\0"})
        rule = term.replace("\0 \\cdot ", "").replace("\0", "1")
        return rule, float(number)

    def _repr_markdown_(self):
        from graphcomp.render.tables import markdown

        return markdown(self)

    def __repr__(self):
        return f"<Trace of {self.graph.name} ({self.mode}): f = {self.value!r}>"


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
    t = _fill(t, fields)
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


def _split(label):
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


def _fill(template, fields):
    positional = [fields[str(k)] for k in range(sum(k.isdigit() for k in fields))]
    return _FORMATTER.vformat(template, positional, fields).replace("^{1}", "")  # x^{1} (powc at p = 2) is x


_FORMATTER = string.Formatter()
