"""A graph compiled for one math kit: the flat step tuples each sweep loops over.

Steps off every path to the output, or on data alone, are left out of the reverse
sweep (the graph's `active` and `reaches` analysis says which).
"""
from functools import partial

from graphcomp import ops
from graphcomp.core.nodes import CONST, no_gc
from graphcomp.ops.kits import FloatKit


class Plan:
    """A graph compiled for one math kit: the step tuples of each sweep, each built on first use."""

    def __init__(self, graph, kit):
        self.graph, self.kit, self.n = graph, kit, len(graph.nodes)
        self.steps = [(i, ops.REGISTRY[n.op], n.params, *(n.args + (-1,))[:2])
                      for i, n in enumerate(graph.nodes) if n.op is not None]
        self.fwd = [(i, op.on_floats if kit is FloatKit and op.on_floats else _bind(op.fwd, kit, params), a, b)
                    for i, op, params, a, b in self.steps]
        self.consts = [(i, kit.coerce(n.value)) for i, n in enumerate(graph.nodes) if n.kind == CONST]
        self._jvp = self._vjp = None
        self.compiled = None  # the straight-line sweep of graphcomp.engine.jit, for jit=True
        self.active, self.reaches = graph.active, graph.reaches
        self.inactive = [i for i, x in enumerate(self.active) if not x]

    @property
    def jvp(self):
        """Forward-mode steps (node, tangent rule, arg, arg); on floats the rule gives the local partials."""
        if self._jvp is None:
            with no_gc():
                self._jvp = [(i, local_partials(op, self.kit, params) if self.kit is FloatKit
                              else _bind(op.jvp, self.kit, params), a, b) for i, op, params, a, b in self.steps]
        return self._jvp

    @property
    def vjp(self):
        """Reverse-mode steps in reverse order: (node, adjoint rule, arg, arg, where each arg's adjoint goes).

        On floats the rule gives the local partials (the sweep multiplies by the adjoint), one call a step.
        """
        if self._vjp is None:
            with no_gc():
                self._vjp = self._reverse_steps()
        return self._vjp

    def _reverse_steps(self):
        active, sink, out = self.active, self.n, []
        for i, op, params, a, b in reversed(self.steps):
            if not (active[i] and self.reaches[i]):
                continue  # its adjoint is none (data only) or 0 (off every path to the output)
            vjp = local_partials(op, self.kit, params) if self.kit is FloatKit else _bind(op.vjp, self.kit, params)
            if self.kit is not FloatKit and op.elementwise:
                vjp = _unbroadcasting(vjp, [self.graph.nodes[j].shape for j in (a, b) if j >= 0], self.kit)
            out.append((i, vjp, a, b, a if active[a] else sink, b if b < 0 or active[b] else sink))
        return out


def local_partials(op, kit, params):
    """The rule (y, a[, b]) -> (∂y/∂a[, ∂y/∂b]) on a scalar kit: on floats every derivative is its local partials."""
    if op.partials is not None:
        return _bind(op.partials, kit, params)
    return partial(op.vjp, kit, 1.0, **params)  # a VJP with adjoint 1 is the partial


def _bind(rule, kit, params):
    return partial(rule, kit, **params) if params else partial(rule, kit)


def _unbroadcasting(vjp, shapes, kit):
    """Sum each adjoint contribution back to its argument's shape when the op broadcast it."""
    if len(set(shapes)) == 1:
        return vjp

    def wrapped(*args):
        return tuple(kit.sum_to(g, s) for g, s in zip(vjp(*args), shapes))

    return wrapped


def plan(graph, kit):
    """The graph's compiled Plan for `kit`, built on first use."""
    p = graph._plans.get(kit)
    if p is None:
        with no_gc():
            p = graph._plans[kit] = Plan(graph, kit)
    return p
