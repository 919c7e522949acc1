"""The rows of a trace table: each node's symbol, the rule that gives it, and its number.

Symbols and rules are LaTeX written with the lecture's names (v_i, \\dot v_i,
\\bar v_i, or the problem set's .v / .d fields), composed from the registry's
templates; the text, table and Graphviz renderers print the same rows.
"""
import string
from typing import NamedTuple

import numpy as np

from graphcomp import ops
from graphcomp.core.labels import default_label, number_tex
from graphcomp.core.nodes import CONST, DATA
from graphcomp.render.text import tex_to_text


class Row(NamedTuple):
    """One line of a trace table: `symbol = rule = value`, or `symbol = generic = rule = value` for an adjoint
    step as the slides write it (symbols and rules in LaTeX)."""

    node: str
    symbol: str
    rule: str
    value: object
    generic: str | None = None
    closed: str | None = None  # the same .d in the .v fields alone (Problem 3(b)'s W₃.d = −D.v (V₄.v)ᵀ)
    text: tuple | None = None  # (symbol, generic, rule) as Unicode text where composed while the row was made


def row_text(r):
    """The row's symbol, generic form ('' if none) and rule as Unicode text (tex_to_text of each)."""
    return r.text or (tex_to_text(r.symbol), tex_to_text(r.generic) if r.generic else "", tex_to_text(r.rule))


def value_sym(graph, i):
    """LaTeX symbol of node i's value."""
    n = graph.nodes[i]
    return f"{n.label}.v" if graph.notation == "dot" and n.kind != CONST else n.label


def deriv_sym(graph, i, kind):
    """LaTeX symbol of node i's tangent (kind 'tangent') or adjoint ('adjoint')."""
    n = graph.nodes[i]
    if graph.notation == "dot" and kind == "adjoint":
        return f"{n.label}.d"
    # a tangent is not the problem's .d (∂f/∂V): it keeps the lecture's dot in either notation
    base, sub = split_label(n.label)
    accent = "\\dot" if kind == "tangent" else "\\bar"
    return f"{accent}{{{base}}}{sub}"


class Symbols:
    """A graph's symbols, each made once when first asked for and kept: a 10⁶-row table reads a node's symbols
    in its own row and again in each of its users' rows."""

    def __init__(self, graph):
        self.graph = graph
        n = len(graph.nodes)
        self._value, self._tangent, self._adjoint = ([None] * n for _ in range(3))
        self._texts = [[None] * n for _ in range(4)]  # by slot: a list per slot, not one per node (10⁶ nodes: 88 MB)
        self._vjp, self._forms = {}, {}

    def value(self, i):
        """value_sym(graph, i), kept."""
        s = self._value[i]
        if s is None:
            s = self._value[i] = value_sym(self.graph, i)
        return s

    def deriv(self, i, kind):
        """deriv_sym(graph, i, kind), kept."""
        kept = self._tangent if kind == "tangent" else self._adjoint
        s = kept[i]
        if s is None:
            s = kept[i] = deriv_sym(self.graph, i, kind)
        return s

    def fill(self, template, i):
        """fill(template, fields(graph, i)), making only the fields the template names."""
        n = self.graph.nodes[i]
        named = _NAMED.get(template)
        if named is None:
            named = _NAMED[template] = _named(template)
        f = param_fields(n.params)  # a parameter may also be named inside a format spec ({0:^{p}})
        for name, kind, k in named:
            f[name] = (self.value(n.args[k]) if kind == "value" else self.deriv(n.args[k], "tangent")
                       if kind == "tangent" else self.value(i) if kind == "y" else self.deriv(i, "adjoint"))
        return fill(template, f, len(n.args))

    def text(self, i, slot):
        """Node i's label (slot 0), value (1), tangent (2) or adjoint (3) symbol as Unicode text, converted once;
        None where the label holds a space or a slash (rules in it are converted whole, see rule_text)."""
        kept = self._texts[slot]
        s = kept[i]
        if s is None:
            label = self.graph.nodes[i].label
            if " " in label or "/" in label:
                return None
            twin = self._texts[1 - slot][i] if slot < 2 and self.value(i) == label else None  # one string, once
            s = kept[i] = twin if twin is not None else tex_to_text(
                label if slot == 0 else self.value(i) if slot == 1 else self.deriv(i, ("tangent", "adjoint")[slot - 2]))
        return s

    def rule_text(self, template, i):
        """tex_to_text(fill(template, fields(graph, i))), composed from the template converted once per op and
        parameters and the symbols' text; the same string, at a fraction of a conversion per row."""
        n = self.graph.nodes[i]
        key = (template, len(n.args), *n.params.items()) if n.params else template
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _text_form(template, len(n.args), n.params)
        if form:
            nodes = (i, *n.args)
            parts = {f: self.text(nodes[node], slot) for f, node, slot in form[1]}
            if None not in parts.values():
                return form[0].translate(parts)
        return tex_to_text(self.fill(template, i))

    def vjp_tex(self, i):
        """Node i's adjoint templates, one per argument, kept per op and argument shapes."""
        n = self.graph.nodes[i]
        key = n.op if self.graph.scalar else (n.op, *(self.graph.nodes[a].shape for a in n.args))
        t = self._vjp.get(key)
        if t is None:
            t = self._vjp[key] = ops.REGISTRY[n.op].vjp_tex(_shapes(self.graph, n))
        return t


def primal(trace, syms=None):
    """Evaluation trace: inputs first, then every node in evaluation order (`syms`: a Symbols to share with the
    trace's other sections)."""
    return list(iter_primal(trace, syms))


def iter_primal(trace, syms=None):
    """primal(trace), a row at a time."""
    graph, syms = trace.graph, syms or Symbols(trace.graph)
    for i, n in enumerate(graph.nodes):
        if n.kind == CONST:
            continue
        if n.op is None:
            rule = _input_name(n)
            yield Row(n.name, syms.value(i), rule, trace.values[i])
            continue
        template = forward_tex(graph, n)
        t = syms.text(i, 1)
        yield Row(n.name, syms.value(i), syms.fill(template, i), trace.values[i],
                  text=t and (t, "", syms.rule_text(template, i)))


def tangent(trace, syms=None):
    """Forward-mode trace: v̇_i for inputs (the seed) and nodes, in evaluation order. With several inputs (a
    column each, Trace.columns) each row's value is {input: v̇_i along it}, and an input's rule is its seed
    (`syms`: as in primal)."""
    return list(iter_tangent(trace, syms))


def iter_tangent(trace, syms=None):
    """tangent(trace), a row at a time."""
    # terms in constants and data are always 0; terms in unseeded inputs stay, as in the lecture's trace
    graph, active, syms = trace.graph, trace.graph.active, syms or Symbols(trace.graph)
    for i, n in enumerate(graph.nodes):
        if n.kind in (CONST, DATA):
            continue
        text = None
        if n.op is None and trace.columns:
            rule = "\\text{seed}"
        elif n.op is None:
            seed = trace.direction.get(n.name)
            rule = "0" if seed is None else "\\text{seed}" if np.ndim(seed) else f"{seed:g}"
        else:
            terms = [t for t, a in zip(ops.REGISTRY[n.op].jvp_tex(_shapes(graph, n)), n.args) if active[a]]
            rule = sum_terms(syms.fill(t, i) for t in terms)
            symbol = syms.text(i, 2)
            text = symbol and (symbol, "", sum_terms(syms.rule_text(t, i) for t in terms))
        value = {k: ts[i] for k, (_, ts) in trace.columns.items()} if trace.columns else trace.tangents[i]
        yield Row(n.name, syms.deriv(i, "tangent"), rule, value, text=text)


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
        rule = sum_terms(["\\text{seed}", *terms]) if i in seeded else "1" if i == out else sum_terms(terms)
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


def adjoint_steps(trace, syms=None):
    """Reverse-mode trace in the slides' convention (scalar graphs): one row per edge contribution, in reverse
    evaluation order; the first contribution to v̄ⱼ assigns it (v̄ⱼ = v̄ᵢ ∂vᵢ/∂vⱼ), each later one adds
    (v̄ⱼ = v̄ⱼ + v̄ᵢ ∂vᵢ/∂vⱼ); the value is v̄ⱼ after the step, the last of each node its adjoint (`syms`: as in
    primal)."""
    return list(iter_adjoint_steps(trace, syms))


def iter_adjoint_steps(trace, syms=None):
    """adjoint_steps(trace), a row at a time."""
    graph, out, syms = trace.graph, trace.graph.output, syms or Symbols(trace.graph)
    nodes = graph.nodes
    yield Row(nodes[out].name, syms.deriv(out, "adjoint"), "1", trace.adjoints[out])
    for i, k, j, _, total, first in trace.contributions:
        bar_j, bar_i = syms.deriv(j, "adjoint"), syms.deriv(i, "adjoint")
        partial = f"\\partial {nodes[i].label}/\\partial {nodes[j].label}"
        template = syms.vjp_tex(i)[k]
        term = syms.fill(template, i)
        generic = f"{bar_i} {partial}"
        label_i, label_j = syms.text(i, 0), syms.text(j, 0)
        text = None if label_i is None or label_j is None else (
            syms.text(j, 3), f"{syms.text(i, 3)} ∂{label_i}/∂{label_j}", syms.rule_text(template, i))
        if not first:
            generic, term = f"{bar_j} + {generic}", sum_terms([bar_j, term])
            text = text and (text[0], f"{text[0]} + {text[1]}", sum_terms([text[0], text[2]]))
        yield Row(nodes[j].name, bar_j, term, total, generic=generic, text=text)


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


def forward_tex(graph, n):
    """The definition template of op node n: its op's, or its tensor form when every argument is a tensor (w ⊙ x:
    juxtaposed, w x would read as a matrix product), or its form when argument 1 is a number constant
    (Op.number_tex: x_{1} \\cdot 2, not x_{1} 2)."""
    op = ops.REGISTRY[n.op]
    if op.tensor_tex and all(graph.nodes[a].shape for a in n.args):
        return op.tensor_tex
    if op.number_tex and graph.nodes[n.args[1]].kind == CONST and not graph.nodes[n.args[1]].shape:
        return op.number_tex
    return op.tex


def fields(graph, i):
    """The values of a template's fields at node i (see graphcomp.ops.registry)."""
    n = graph.nodes[i]
    f = {"y": value_sym(graph, i), "g": deriv_sym(graph, i, "adjoint"), **param_fields(n.params)}
    for k, a in enumerate(n.args):
        f[str(k)] = value_sym(graph, a)
        f[f"t{k}"] = deriv_sym(graph, a, "tangent")
    return f


def param_fields(params):
    """The fields of a node's constant parameters ({p}, {pm1} = p − 1, {pc}: p as a factor) as LaTeX numbers."""
    if not params:
        return {}
    f = {**params, **{f"{k}m1": x - 1.0 for k, x in params.items()},
         **{f"{k}c": number_tex(x) for k, x in params.items()}}  # as a factor: 3 (-1) x, not 3 -1 x
    return {k: (number_tex(x, factor=False) if isinstance(x, float) else x) for k, x in f.items()}


# A template converted to text once: each symbol field stands in as a private-use character while it is converted,
# then is replaced by its node's text; a field is (which node: 0 the node itself, k + 1 its argument k; which of
# Symbols.text's (label, value, tangent, adjoint)).
_SENTINEL = 0xE000
_NAMED = {}  # a template → the symbol fields it names, parsed once


def _named(template):
    """[(field, kind, argument)] of the symbol fields a template names: an argument's value ({0}) or tangent
    ({t0}), the node's value ({y}) or adjoint ({g})."""
    out = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        if name.isdigit():
            out.append((name, "value", int(name)))
        elif name[0] == "t" and name[1:].isdigit():
            out.append((name, "tangent", int(name[1:])))
        elif name in ("y", "g"):
            out.append((name, name, 0))
    return out
_SCRIPTED = ("^{", "_{", "\\dot{", "\\bar{", "\\text{", "\\mathrm{", "\\operatorname{")


def _text_form(template, arity, params):
    """(text with a private-use character for each symbol field, [(the character, node, slot)] of the fields it
    uses), or False when a field sits where its conversion depends on what it holds (in a script, an accent or
    a text group)."""
    where = {"y": (0, 1), "g": (0, 3), **{str(k): (k + 1, 1) for k in range(arity)},
             **{f"t{k}": (k + 1, 2) for k in range(arity)}}
    marks = {name: chr(_SENTINEL + f) for f, name in enumerate(where)}
    latex = fill(template, {**param_fields(params), **marks})
    used = [(ord(marks[name]), *place) for name, place in where.items() if marks[name] in latex]
    opened = []
    for k, c in enumerate(latex):
        if c == "{":
            opened.append(latex[:k + 1].endswith(_SCRIPTED))
        elif c == "}" and opened:
            opened.pop()
        elif _SENTINEL <= ord(c) < _SENTINEL + len(where) and (any(opened) or latex[k - 1:k] in ("^", "_")):
            return False
    text = tex_to_text(latex)
    if any(text.count(chr(f)) != latex.count(chr(f)) for f, _, _ in used):
        return False
    return text, used



def sum_terms(terms):
    """Join LaTeX terms with + (or - for a negative term); '0' for none."""
    out = ""
    for t in terms:
        out += (" - " + t[1:]) if t.startswith("-") and out else (" + " + t if out else t)
    return out or "0"


# ---- closed forms: each .d in the .v fields alone ---------------------------------------------------------------
# An expression is (negated, LaTeX, atom?); an atom needs no parentheses as a factor. Gradients are in column form:
# a vector's .d is the transpose of its expression.

_ONE = (False, "1", True)
_ONES = "\\mathbf{1}"  # the ones vector or matrix, sum's gradient


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
        tensor = bool(ops.partial_shape(op.partials_tex[k], shapes))
        term = (_negated(g) if partial == "-1" else g) if partial in ("1", "-1") else _times(
            _atom(partial), g, "\\odot" if tensor else " ")
        out = n.shape
        if shapes[k] or not out:
            return term
        # a number broadcast over a tensor: its gradient sums the contributions, 𝟙ᵀ x for a vector
        return (term[0], f"\\mathbf{{1}}^\\top {_factor(term)}" if len(out) == 1 else
                f"\\textstyle\\sum {_factor(term)}", False)
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
    if a[1] == "1" or (op == "\\odot" and a[1] == _ONES):  # ±1 x is ±x, and 𝟙 ⊙ x is x
        return (a[0] != b[0], b[1], b[2])
    if b[1] == "1" or (op == "\\odot" and b[1] == _ONES):
        return (a[0] != b[0], a[1], a[2])
    return (a[0] != b[0], f"{_factor(a)}{op if op == ' ' else f' {op} '}{_factor(b)}".replace("  ", " "), False)


def _negated(e):
    return (not e[0], e[1], e[2])


def _plus(a, b):
    text = ("-" if a[0] else "") + a[1] + (" - " if b[0] else " + ") + b[1]
    return (False, text, False)


def _as_d(node, e):
    """How the problem set writes the .d of `node`: a vector's .d is a row, the transpose of its gradient."""
    neg, tex, atom = e
    transposed = f"{tex}^\\top" if atom and tex == _ONES else f"({tex})^\\top"  # 𝟙ᵀ, not (𝟙)ᵀ
    return ("-" if neg else "") + (transposed if len(node.shape) == 1 else tex)


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


def fill(template, fields, arity=None):
    """A rule template with its fields: {0}, {1} the arguments' symbols, {y}, {g}, {t0}, {p}… (see graphcomp.ops);
    `arity`, when given, the number of arguments (fields may then leave out those the template does not use)."""
    count = sum(k.isdigit() for k in fields) if arity is None else arity
    positional = [fields.get(str(k)) for k in range(count)]
    if ":^" not in template:  # no spec of _Formatter's own: str.format gives the same, in C
        return template.format(*positional, **fields)
    return _FORMATTER.vformat(template, positional, fields)
