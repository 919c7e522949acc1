"""A finished trace: every node's value .v and derivative .d for one evaluation, and nothing but numbers.

What the renderers need beyond the numbers is computed here once and only read
there: the order of the adjoint trace, the edges the derivative flows along,
and each edge's local partial as a number. How they print is graphcomp.render.rows.
"""
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from graphcomp import ops
from graphcomp.core.nodes import CONST, INPUT
from graphcomp.engine.plan import local_partials
from graphcomp.ops.kits import FloatKit


def _same(xs):
    return xs


def _one_partial(vjp_arg, params, y, args, needed):
    """One argument's local partial (its VJP with adjoint 1); nan for a data argument's that is undefined here."""
    try:
        return float(vjp_arg(FloatKit, 1.0, y, *args, **params))
    except (ValueError, ArithmeticError):
        if needed:
            raise
        return math.nan


def _converted(name, doc):
    """A Trace attribute as floats or numpy arrays: the sweeps' list (or dict) `name`, converted when first read."""

    def get(self):
        raw = self._raw[name]
        if raw is None or self._to_numpy is _same:
            return raw
        if isinstance(raw, dict):
            return dict(zip(raw, self._to_numpy(list(raw.values()))))
        return self._to_numpy(raw)

    get.__doc__ = doc
    return cached_property(get)


@dataclass(frozen=True)
class NodeView:
    """One node of a trace: .v its value, .d its derivative (adjoint in reverse mode, tangent in forward)."""

    name: str
    label: str
    v: object
    d: object
    tangent: object = None
    adjoint: object = None


class Trace:
    """Values and derivatives of one evaluation of a graph; `trace['v1'].v`, `trace['v1'].d`."""

    def __init__(self, graph, mode, values, tangents, adjoints, *, wrt, direction, inputs, columns=None,
                 adjoint_columns=None, to_numpy=None):
        self.graph, self.mode, self.wrt = graph, mode, wrt
        # values, tangents, adjoints and inputs as the sweeps' kit left them (torch tensors, say), each list made
        # numpy by `to_numpy` when first read: a gradient reads only the inputs' adjoints
        self._raw = {"values": values, "tangents": tangents, "adjoints": adjoints, "inputs": inputs}
        self._to_numpy = to_numpy or _same
        self.direction = direction  # {input name: its tangent seed}, of the first column when there are several
        # forward mode with several inputs: {input: (its seed, every node's tangent)}, a column each
        self.columns = columns
        # reverse mode with several outputs: {output: (its seed, every node's adjoint)}, a column each; `adjoints`
        # is the first output's
        self.adjoint_columns = adjoint_columns

    values = _converted("values", "Every node's value .v, by position.")
    tangents = _converted("tangents", "Every node's tangent v̇ by position (forward mode), else None.")
    adjoints = _converted("adjoints", "Every node's adjoint v̄ by position (reverse mode; None where none is kept).")
    inputs = _converted("inputs", "{input name: the value it was given}.")

    def _picked(self, name, positions):
        """The entries at `positions` of the list `name` in numpy, converting only those unless the whole list was."""
        whole = self.__dict__.get(name)
        if whole is not None:
            return [whole[i] for i in positions]
        return self._to_numpy([self._raw[name][i] for i in positions])

    def __getitem__(self, name):
        n = self.graph.node(name)
        i = self.graph.index[name]
        t = self.tangents[i] if self.tangents is not None else None
        d = self.adjoints[i] if self.adjoints is not None else None
        return NodeView(n.name, n.label, self.values[i], d if self.mode != "forward" else t, t, d)

    def __iter__(self):
        return (self[n.name] for n in self.graph.nodes if n.kind != CONST)

    def __repr__(self):
        return f"<Trace of {self.graph.name} ({self.mode}): f = {self.value!r}>"

    @property
    def value(self):
        """f, the output's value."""
        return self._picked("values", [self.graph.output])[0]

    @property
    def gradient(self):
        """{input name: ∂f/∂input} for every differentiable input (reverse mode)."""
        return self._gradient(self._raw["adjoints"])

    def _gradient(self, adjoints):
        if adjoints is None:
            return None
        nodes = self.graph.nodes
        picked = [i for i in self.graph.inputs if nodes[i].kind == INPUT]
        xs = self._picked("adjoints", picked) if adjoints is self._raw["adjoints"] else [adjoints[i] for i in picked]
        return dict(zip((nodes[i].name for i in picked), xs))

    @property
    def derivative(self):
        """The derivative asked for: ∂f/∂wrt, or the directional derivative along the seed; in forward mode
        with several inputs, {input: ∂f/∂input} (a column each)."""
        return self._derivative(self.graph.output, self._raw["adjoints"])

    @property
    def derivatives(self):
        """{output name: the derivative asked for (as `derivative`) of that output}, for every output."""
        cols = self.adjoint_columns or {self.graph.output_names[0]: (None, self._raw["adjoints"])}
        return {name: self._derivative(self.graph.index[name], cols[name][1] if name in cols else None)
                for name in self.graph.output_names}

    def _derivative(self, out, adjoints):
        if self.columns:
            return {name: ts[out] for name, (_, ts) in self.columns.items()}
        if self.tangents is not None:
            return self.tangents[out]
        grad = self._gradient(adjoints)
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

    # ---- the analysis the renderers read -----------------------------------------------------------

    @cached_property
    def adjoint_order(self):
        """Nodes with an adjoint, output first. The lecture's scalar traces go strictly back from v_k to
        v_{-k}; in the .v/.d notation a parameter follows as soon as its users are done (V5.d, then W3.d)."""
        nodes, d, users = self.graph.nodes, self.adjoints, self.graph.users
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

    @cached_property
    def flow_edges(self):
        """The edges (arg, node) along which the derivative flows: from the inputs it is taken with respect
        to (all of them for a gradient), on paths to an output. Empty without a derivative."""
        if self.tangents is None and self.adjoints is None:
            return frozenset()
        graph = self.graph
        if self.tangents is not None:
            sources = set(self.direction)
        elif self.wrt is None:
            sources = {n.name for n in graph.nodes if n.kind == INPUT}
        else:
            sources = {self.wrt} if isinstance(self.wrt, str) else set(self.wrt)
        reached = [n.name in sources for n in graph.nodes]
        for i, n in enumerate(graph.nodes):  # topological order: arguments come first
            reached[i] = reached[i] or any(reached[a] for a in n.args)
        reaches = graph.reaches
        if len(graph.outputs) > 1:  # on paths to any output: every output's derivatives are shown
            reaches = [any(r) for r in zip(*(graph.reaches_to(o) for o in graph.outputs))]
        return frozenset((a, i) for i, n in enumerate(graph.nodes) if reaches[i] for a in n.args if reached[a])

    @cached_property
    def partials(self):
        """{(node, k): ∂v_node/∂(its argument k)} at this trace's values, for scalar graphs ({} on tensor graphs,
        where a local derivative is a Jacobian, not a number)."""
        if not self.graph.scalar:
            return {}
        v, out, active = self.values, {}, self.graph.active
        for j, n in enumerate(self.graph.nodes):
            if n.op is None:
                continue
            op, args = ops.REGISTRY[n.op], [v[a] for a in n.args]
            if op.vjp_args and op.elementwise:  # one at a time: a data argument's may be undefined (pow's y ln x, x < 0)
                for k, a in enumerate(n.args):
                    out[(j, k)] = _one_partial(op.vjp_args[k], n.params, v[j], args, needed=active[a])
                continue
            for k, x in enumerate(local_partials(op, FloatKit, n.params)(v[j], *args)):
                out[(j, k)] = float(x)
        return out

    @cached_property
    def contributions(self):
        """The reverse sweep step by step, as the slides write it: [(node i, its argument k, that argument j,
        the term v̄ᵢ ∂vᵢ/∂vⱼ, v̄ⱼ after adding it, first?)] in reverse evaluation order, on scalar graphs
        ([] on tensor graphs or without adjoints). The last partial sum of each node is its adjoint."""
        if self.adjoints is None or not self.graph.scalar:
            return []
        graph, d, partials, out = self.graph, self.adjoints, self.partials, []
        running = {}
        for i in self.adjoint_order:
            n = graph.nodes[i]
            if n.op is None or not graph.reaches[i]:
                continue
            for k, j in enumerate(n.args):
                if d[j] is None:
                    continue  # a constant or data: its adjoint is not needed
                term = d[i] * partials[(i, k)]
                first = j not in running
                running[j] = term if first else running[j] + term
                out.append((i, k, j, term, running[j], first))
        return out
