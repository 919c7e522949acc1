"""A graph compiled for one math kit: the flat step tuples each sweep loops over.

Steps off every path to the output, or on data alone, are left out of the reverse
sweep (the graph's `active` and `reaches` analysis says which).
"""
from functools import cached_property, partial
from itertools import compress, count
from operator import not_

from graphcomp import ops
from graphcomp.core.nodes import CONST, no_gc

_NO_PARAMS = {}  # shared by every step without parameters; never written to


class Plan:
    """A graph compiled for one math kit: the step tuples of each sweep, each built on first use."""

    def __init__(self, graph, kit):
        self.graph, self.kit, self.n = graph, kit, len(graph.nodes)
        self._bound = {}  # a rule bound to the kit once per parameter values, shared by its steps
        registry, nodes, floats = ops.REGISTRY, graph.nodes, kit.floats
        # steps: (node, forward rule, arg, arg (-1 for none), op record, parameters), in evaluation order; the
        # forward sweep reads the first four
        self.steps, self.consts = steps, consts = [], []
        add = steps.append
        known = {}  # (op name, parameter values) → (its forward function on this kit, its record)
        for i, n in enumerate(nodes):
            if n.op is None:
                if n.kind == CONST:
                    consts.append((i, kit.coerce(n.value)))
                continue
            params, args = n.params, n.args
            key = (n.op, *params.items()) if params else n.op
            rule = known.get(key)
            if rule is None:
                op = registry[n.op]
                rule = known[key] = op.on_floats if floats and op.on_floats else self._bind(op.fwd, params), op
            a, b = args if len(args) == 2 else (args[0], -1)
            # no parameters: one shared empty dict, not the node's own (a sweep unpacking a step touches each item,
            # and a million scattered dicts cost the forward sweep 70 % more at 10⁶ nodes)
            add((i, rule[0], a, b, rule[1], params or _NO_PARAMS))
        self._jvp = None
        self._vjp = {}  # output position → its reverse steps
        self.compiled = None  # the straight-line sweep of graphcomp.engine.jit, for jit=True
        self.active = graph.active
        self.inactive = list(compress(count(), map(not_, self.active)))
        self.tensors = [] if graph.scalar else [(i, n.shape) for i, n in enumerate(nodes) if n.shape]
        # inputs and constants were checked for inf and nan on the way in; when they all come first (as a spec
        # lists them), the values the forward sweep must check are the tail v[computed:]
        first = self.steps[0][0] if self.steps else self.n
        self.computed = first if len(self.steps) == self.n - first else 0

    @property
    def jvp(self):
        """Forward-mode steps (node, rule, arg, arg, local, sides): rule(y, a[, b]) -> the local partials when `local`
        (an elementwise op: the sweep forms ẏ = Σ ∂y/∂a ȧ), else rule(y, a[, b], ȧ[, ḃ]) -> ẏ; `sides`, for an op with
        Op.jvp_args, the rules (y, a, b, ȧ) and (y, a, b, ḃ) of one argument's term, else None."""
        if self._jvp is None:
            with no_gc():
                self._jvp = [(i, f, a, b, local, op.jvp_args and tuple(self._bind(r, params) for r in op.jvp_args))
                             for i, _, a, b, op, params in self.steps
                             for f, local in [self._rule(op, params, a, b, op.jvp)]]
        return self._jvp

    @property
    def vjp(self):
        """Reverse-mode steps in reverse order: (node, rule, arg, arg, where each arg's adjoint goes, local):
        rule(y, a[, b]) -> the local partials when `local` (the sweep multiplies them by ȳ), else
        rule(ȳ, y, a[, b]) -> one contribution per argument, summed back to its shape where the op broadcast.
        These are the steps back from the graph's output (the first); vjp_for(j) those back from output j."""
        return self.vjp_for(self.graph.output)

    def vjp_for(self, output):
        """The reverse-mode steps (as in vjp) of the sweep seeded at the node at position `output`: the steps
        on a path to it."""
        steps = self._vjp.get(output)
        if steps is None:
            with no_gc():
                steps = self._vjp[output] = self._reverse_steps(output)
        return steps

    @cached_property
    def lean_vjp(self):
        """The reverse steps of vjp cut into runs, each with the nodes whose .v and .d no later step reads (a
        node's own step reads them last): a gradient drops those arrays after the run. Inputs are kept, and so
        are the adjoints a kit that does not raise searches for inf and nan (adjoint_checks)."""
        kept = set(self.graph.inputs).union(() if self.kit.raises else self.adjoint_checks)
        nodes, runs, start = self.graph.nodes, [], 0
        steps = self.vjp
        for k, step in enumerate(steps):
            if step[0] not in kept and nodes[step[0]].shape:
                runs.append((steps[start:k + 1], [step[0]]))
                start = k + 1
        return runs + [(steps[start:], [])] if start < len(steps) else runs

    def _reverse_steps(self, output):
        # the path back to the output is found on the way (graph.reaches_to's walk): a step is kept when its node
        # is active and the seed or a kept step reads it
        active, sink, out = self.active, self.n, []
        reach = [False] * (self.n + 1)  # reach[-1]: a unary step's missing argument
        reach[output] = True
        nodes, scalar, bound = self.graph.nodes, self.graph.scalar, self._bound
        for i, _, a, b, op, params in reversed(self.steps):
            if not (active[i] and reach[i]):
                continue  # its adjoint is none (data only) or 0 (off every path to the output)
            reach[a] = reach[b] = True
            if scalar and op.partials is not None:  # the common case of a scalar graph, without _rule's shape test
                rule, local = bound.get((op.partials, *params.items()) if params else op.partials) or self._bind(
                    op.partials, params), True
            else:
                rule, local = self._rule(op, params, a, b, op.vjp)
            if op.elementwise and not local:
                rule = _unbroadcasting(rule, [nodes[j].shape for j in (a, b) if j >= 0], self.kit)
            ta, tb = a if active[a] else sink, b if b < 0 or active[b] else sink
            one_sided = op.vjp_args and not (op.elementwise and nodes[a].shape != nodes[b].shape)  # no broadcast
            if sink in (ta, tb) and (not scalar or one_sided):  # one argument is data: only the other's contribution
                if one_sided:
                    rule, local = _one_side(self._bind(op.vjp_args[ta == sink], params), ta == sink), False
                elif local:
                    rule, local = _one_side(_times(rule, int(ta == sink)), ta == sink), False
            out.append((i, rule, a, b, ta, tb, local))
        return out

    @cached_property
    def value_checks(self):
        """The nodes a tensor graph's forward sweep searches for inf and nan: an inf or nan is first in an input (one
        the kit was given unchecked) or arises first at a computed node but a keeps-finite op's (Op.keeps_finite), and
        is seen at a checked node or at a user that propagates it (Op.propagates) and is seen; so from the output
        back, such a node is checked unless a user shows its inf."""
        registry, nodes, users = ops.REGISTRY, self.graph.nodes, self.graph.users
        seen, out = [False] * self.n, []
        for i in range(self.n - 1, -1, -1):
            n = nodes[i]
            seen[i] = any(seen[u] and registry[nodes[u].op].propagates for u, _ in users[i])
            if not seen[i] and n.kind != CONST and (n.op is None or not registry[n.op].keeps_finite):
                seen[i] = True
                out.append(i)
        return out[::-1]

    @cached_property
    def adjoint_checks(self):
        """The nodes a tensor graph's reverse sweeps search for inf and nan: an inf or nan arises first in an active
        node's adjoint when it adds two contributions or takes one from a user that is not keeps-finite, and is seen
        where checked or in an active argument's adjoint (every VJP but a fused one, relu's mask, passes it on); so
        from the inputs on, such a node is checked unless an argument shows its inf."""
        registry, nodes, users, active = ops.REGISTRY, self.graph.nodes, self.graph.users, self.active
        seen, out = [False] * self.n, []
        for j, n in enumerate(nodes):
            if not active[j]:
                continue
            fused = n.op is not None and registry[n.op].fused
            seen[j] = not fused and any(active[a] and seen[a] for a in n.args)
            one = users[j] and not registry[nodes[users[j][0][0]].op].keeps_finite
            if not seen[j] and (len(users[j]) > 1 or one):
                seen[j] = True
                out.append(j)
        return out

    def _rule(self, op, params, a, b, rule):
        """(the local partials, True) for an elementwise op whose arguments all have its shape, else (rule, False)."""
        shapes = {self.graph.nodes[j].shape for j in (a, b) if j >= 0}
        if op.partials is not None and len(shapes) == 1 and not (op.fused and not self.kit.floats):
            return self._bind(op.partials, params), True
        return self._bind(rule, params), False

    def _bind(self, rule, params):
        """rule with this plan's kit (and the node's parameters) bound; one object per rule and parameter values."""
        key = (rule, *params.items()) if params else rule
        bound = self._bound.get(key)
        if bound is None:
            bound = self._bound[key] = partial(rule, self.kit, **params)
        return bound


def local_partials(op, kit, params):
    """The rule (y, a[, b]) -> (∂y/∂a[, ∂y/∂b]) on a scalar kit: on floats every derivative is its local partials."""
    if op.partials is not None:
        return _bind(op.partials, kit, params)
    return partial(op.vjp, kit, 1.0, **params)  # a VJP with adjoint 1 is the partial


def _bind(rule, kit, params):
    return partial(rule, kit, **params) if params else partial(rule, kit)


def _unbroadcasting(vjp, shapes, kit):
    """Sum each adjoint contribution back to its argument's shape when the op broadcast it."""
    if len(set(shapes)) <= 1:
        return vjp

    def wrapped(*args):
        return tuple(kit.sum_to(g, s) for g, s in zip(vjp(*args), shapes))

    return wrapped


def _times(partials, k):
    """The VJP ȳ · ∂y/∂(argument k) of an op given by its local partials."""
    return lambda g, *args: g * partials(*args)[k]


def _one_side(vjp, second):
    """A binary op's VJP that computes only argument 0's contribution (or 1's, `second`); the other, None, goes to
    the sink."""
    if second:
        return lambda *args: (None, vjp(*args))
    return lambda *args: (vjp(*args), None)


def plan(graph, kit):
    """The graph's compiled Plan for `kit`, built on first use."""
    p = graph._plans.get(kit)
    if p is None:
        with no_gc():
            p = graph._plans[kit] = Plan(graph, kit)
    return p
