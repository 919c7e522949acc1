"""The graph: validated nodes in one topological order, with shapes, built once per spec.

A Graph holds no values of any evaluation: `graph.trace(...)` returns a Trace,
so one graph evaluates many times. Ordering is Kahn's algorithm (iterative), so
a chain of 10⁶ nodes is fine.
"""
from functools import cached_property

import numpy as np

from graphcomp import ops
from graphcomp.core.errors import GraphcompError, SpecError
from graphcomp.core.labels import fmt_shape
from graphcomp.core.nodes import CONST, DATA, INPUT, no_gc, toposort
from graphcomp.core.values import draw, draw_call, generator
from graphcomp.engine import dual, sweeps
from graphcomp.engine import hessian as hessian_
from graphcomp.engine import jacobian as jacobian_


class Graph:
    """A validated computational graph; build it with graphcomp.load or graphcomp.parse_expr."""

    def __init__(self, nodes, output, *, file=None, name=None, description="", notation=None, seed=0, dist="normal",
                 rng="legacy", ordered=False):
        """nodes: Nodes whose args name their arguments, in any order (sorted here); with `ordered`, nodes already
        in evaluation order whose args are positions in the list (a program building a graph, not a spec).

        output: the name of the node that is f (a scalar), or a list of names for a function with several outputs
        (f1, f2, …, each a scalar or a tensor): `outputs` holds their positions in that order, and `output` is the
        first, the one every single-output path differentiates (verify, check, hvp)."""
        with no_gc():
            self._build(nodes, output, file, name, description, notation, seed, dist, ordered)
        self.rng = rng

    def _build(self, nodes, output, file, name, description, notation, seed, dist, ordered):
        self.file, self.name, self.description = file, name or "graph", description
        self.seed, self.dist = seed, dist
        self.nodes = nodes if ordered else toposort(nodes, file)
        self.index, self.inputs, self.active = _scan(self.nodes, file)
        self.outputs = _outputs(self.nodes, self.index, output, file)
        self.output = self.outputs[0]
        self.scalar = _infer_shapes(self.nodes, file)
        if isinstance(output, str) and self.nodes[self.output].shape != ():  # several outputs may be tensors
            shape = fmt_shape(self.nodes[self.output].shape)
            raise SpecError(f"the output must be a scalar to differentiate, but it is {shape}; end the graph "
                            "with sum or halfsq (or list it in outputs: [...], where a reverse sweep seeds a "
                            "tensor output with a random direction)", file=file, node=self.nodes[self.output].name,
                            key="output")
        self.notation = notation or ("bar" if self.scalar else "dot")
        self._plans = {}

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        ops_used = sorted({n.op for n in self.nodes if n.op})
        return f"<Graph {self.name}: {len(self.nodes)} nodes, inputs {self.input_names}, ops {ops_used}>"

    # ---- the analysis, computed once and read by the sweeps, the trace and the renderers -----------------
    # (and `active`, set while building: active[i] says node i depends on a differentiable input, so its tangent
    # or adjoint is not always 0)

    @cached_property
    def users(self):
        """users[i]: the (node, k) whose argument k is node i, in evaluation order."""
        users = [[] for _ in self.nodes]
        for j, n in enumerate(self.nodes):
            for k, a in enumerate(n.args):
                users[a].append((j, k))
        return users

    @cached_property
    def reaches(self):
        """reaches[i]: node i is on a path to the output, the first (only these pass adjoints back)."""
        return self.reaches_to(self.output)

    def reaches_to(self, output):
        """[node i is on a path to the node at position `output`], for the reverse sweep seeded there."""
        reaches = [False] * len(self.nodes)
        reaches[output] = True
        for i in range(output, -1, -1):  # nodes after the output cannot reach it
            if reaches[i]:
                for a in self.nodes[i].args:
                    reaches[a] = True
        return reaches

    @property
    def output_names(self):
        """Names of the outputs f1, f2, … in the order the spec lists them (one name for a single output)."""
        return [self.nodes[i].name for i in self.outputs]

    @property
    def input_names(self):
        """Names of the inputs (differentiable ones and data), in declaration order."""
        return [self.nodes[i].name for i in self.inputs]

    def node(self, name):
        """The Node called `name`."""
        try:
            return self.nodes[self.index[name]]
        except KeyError:
            raise GraphcompError(f"no node named '{name}'; nodes: {', '.join(self.index)}", file=self.file) from None

    def defaults(self, seed=None, dist=None):
        """Input values from the spec; tensor inputs without a value are drawn, in declaration order, from the
        generator the spec names (rng: legacy, numpy.random.seed's, the default; or pcg64) seeded with `seed`."""
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise GraphcompError(f"a seed must be a whole number 0 or more, not {seed!r}", file=self.file)
        rng, out = None, {}
        for i in self.inputs:
            n = self.nodes[i]
            if n.value is not None:
                out[n.name] = n.value
            elif n.shape:
                rng = rng or generator(self.rng, self.seed if seed is None else seed)  # made only to draw: it is slow
                out[n.name] = draw(rng, dist or n.dist or self.dist, n.shape, file=self.file, node=n.name)
        return out

    def draw_calls(self, seed=None, dist=None):
        """The lines of numpy that draw the inputs defaults() draws, for a grader to re-create them."""
        seed = self.seed if seed is None else seed
        lines = [f"numpy.random.seed({seed})" if self.rng == "legacy" else f"rng = numpy.random.default_rng({seed})"]
        for i in self.inputs:
            n = self.nodes[i]
            if n.value is None and n.shape:
                lines.append(f"{n.name} = {draw_call(self.rng, dist or n.dist or self.dist, n.shape)}")
        return lines

    def trace(self, at=None, wrt=None, mode="reverse", seed=None, data=None, dist=None, jit=False, backend=None,
              device=None):
        """Evaluate and differentiate; returns a finished Trace.

        at:   {input name: value} overriding the spec's values.
        wrt:  an input name, a list of names, or {name: direction} (the forward-mode seed).
        mode: 'forward' (tangents v̇), 'reverse' (adjoints v̄), 'both', or 'value'.
        seed: random seed for drawn tensor inputs and random tangent directions.
        data: {input name: array} overriding inputs by name (graphcomp.read_npz reads an .npz file).
        jit:  on a scalar graph, run values and adjoints as straight-line Python compiled once
              (graphcomp.engine.jit): several times faster per evaluation, for graphs evaluated often.
              Tensor graphs ignore it (their time goes to numpy).
        backend: 'numpy' (the default: Python floats for a scalar graph) or 'torch', whose tensors run the
              same sweeps in float64 on `device` ('cpu', 'cuda'); the Trace holds numpy arrays either way.
        """
        return sweeps.run(self, at=at, wrt=wrt, mode=mode, seed=seed, data=data, dist=dist, jit=jit,
                          backend=backend, device=device)

    def scalar_output(self, what):
        """The first output's position, or a GraphcompError saying that `what` needs it to be a scalar."""
        n = self.nodes[self.output]
        if n.shape:
            raise GraphcompError(f"{what} needs a scalar output, but '{n.name}' is {fmt_shape(n.shape)}; list a "
                                 "scalar output first", file=self.file, node=n.name)
        return self.output

    def gradient(self, at=None, *, seed=None, data=None, dist=None, jit=False, backend=None, device=None):
        """{input name: ∂f/∂input} by one reverse sweep, as trace(at, ...).gradient (the arguments are trace's); on
        a tensor graph each intermediate .v and .d is dropped once used, and no Trace is kept (a training loop's)."""
        return sweeps.gradient(self, at=at, seed=seed, data=data, dist=dist, jit=jit, backend=backend, device=device)

    def hvp(self, at, direction):
        """Hessian–vector product {input: (∇²f · direction)[input]} by forward over reverse."""
        return dual.hvp(self, at, direction)

    def hessian(self, at=None, wrt=None, *, blocks=False, seed=None, data=None, dist=None):
        """∇²f by forward over reverse, one Hessian–vector product per column: an N × N array over the entries
        of every differentiable input, or of the inputs `wrt` names (a name, or a list), input after input in
        that order and each tensor's entries in C order; with blocks=True, {a: {b: ∂²f/∂a∂b}} instead, each
        block of shape shape(a) + shape(b). graphcomp.engine.hessian.hessian adds f, ∇f and the eigenvalues."""
        h = hessian_.hessian(self, at, wrt, seed=seed, data=data, dist=dist)
        return hessian_.blocks(self, h.matrix, h.wrt) if blocks else h.matrix

    def jacobian(self, at=None, *, seed=None, data=None, dist=None):
        """J = ∂(f1 … fm)/∂(x1 … xn), an m × n array: a row per output entry, a column per entry of every
        differentiable input (input after input, each tensor's entries in C order). graphcomp.engine.jacobian.jacobian
        gives the record: J by both modes, whether they agree, what each cost, the rows' and columns' names."""
        return jacobian_.jacobian(self, at, seed=seed, data=data, dist=dist).matrix


def _scan(nodes, file):
    """One pass over nodes in evaluation order, whose args are positions (an op has one or two): check that every
    argument is an earlier node and every name new; return ({name: position}, the inputs' positions, active)."""
    index, inputs, active = {}, [], []
    mark = active.append
    i = n = None
    try:
        for i, n in enumerate(nodes):
            index[n.name] = i
            args = n.args
            if args:
                a, b = args[0], args[-1]  # b is a for a unary op
                if not (0 <= a < i and 0 <= b < i):
                    raise TypeError
                mark(active[a] or active[b])
            else:
                mark(n.kind == INPUT)
                if n.kind in (INPUT, DATA):
                    inputs.append(i)
    except TypeError:  # also what comparing a name (not a position) with 0 raises
        j = next((j for j in n.args if not (isinstance(j, int) and 0 <= j < i)), None)
        raise SpecError(f"argument {j!r} is not the position of an earlier node", file=file, node=n.name,
                        key="inputs") from None
    if len(index) < len(nodes):
        dup = next(n.name for i, n in enumerate(nodes) if index[n.name] != i)
        raise SpecError(f"duplicate name '{dup}'", file=file, node=dup, key="name")
    return index, inputs, active


def _outputs(nodes, index, output, file):
    """The outputs' positions: `output` a name, or a non-empty list of distinct names, none of them data or a
    constant (those are not functions of the variables)."""
    if isinstance(output, str):
        if output not in index:
            raise SpecError(f"output '{output}' is not a defined name", file=file, key="output")
        return [index[output]]
    if not isinstance(output, (list, tuple)) or not output:
        raise SpecError("'outputs' must be a non-empty list of node names", file=file, key="outputs")
    out = []
    for name in output:
        if not isinstance(name, str) or name not in index:
            raise SpecError(f"output {name!r} is not a defined name", file=file, key="outputs")
        i = index[name]
        if i in out:
            raise SpecError(f"output '{name}' is listed twice", file=file, node=name, key="outputs")
        if nodes[i].kind in (DATA, CONST):
            what = "data (kind: data)" if nodes[i].kind == DATA else "a constant"
            raise SpecError(f"output '{name}' is {what}, not a function of the variables", file=file, node=name,
                            key="outputs")
        out.append(i)
    return out


def _infer_shapes(nodes, file):
    """Set every node's shape, through the graph, and say whether all are scalars; a mismatch names the node, both
    shapes, and sizes that would fit."""
    registry = ops.REGISTRY
    if not any(n.shape for n in nodes if n.op is None) and all(
            registry[op].elementwise for op in {n.op for n in nodes} if op is not None):
        for n in nodes:  # scalar inputs and elementwise ops only: every node is a scalar
            n.shape = ()
        return True
    shapes, errors, fixes = [], [], {}
    get, scalar = shapes.__getitem__, ()
    for n in nodes:
        if n.op is None:
            shapes.append(tuple(n.shape))
            continue
        op = registry[n.op]
        if op.elementwise and not any(map(get, n.args)):  # scalars in, scalar out: the common case
            shapes.append(scalar)
            continue
        arg_shapes = [shapes[a] for a in n.args]
        try:
            shapes.append(tuple(op.shape(*arg_shapes, **n.params)))
            continue
        except ValueError as exc:
            errors.append((n, str(exc)))
        shapes.append(_repair(n, nodes, shapes, arg_shapes, op, fixes))
    if errors:
        n, msg = errors[0]
        names = ", ".join(nodes[a].name for a in n.args)
        text = f"{n.op}({names}): {msg}"
        if fixes:
            text += "; sizes that fit: " + ", ".join(f"{k} ∈ ℝ^{{{fmt_shape(s)}}}" for k, s in fixes.items())
        if len(errors) > 1:
            text += f" (and {len(errors) - 1} more shape error{'s' * (len(errors) > 2)}: " + "; ".join(
                f"node '{e.name}': {m}" for e, m in errors[1:]) + ")"
        raise SpecError(text, file=file, node=n.name, key="inputs")
    for n, s in zip(nodes, shapes):
        n.shape = s
    return not any(shapes)


def _repair(n, nodes, shapes, arg_shapes, op, fixes):
    """After a shape error, guess the intended sizes (a transposed input) so that inference can go on."""
    if n.op == "matmul":
        a, b = arg_shapes
        first = nodes[n.args[0]]
        if len(a) == 2 and first.op is None and first.kind != CONST and len(b) >= 1 and a[0] == b[0]:
            fixes[first.name] = (a[1], a[0])
            return (a[1],) + tuple(b[1:])
        if len(a) >= 1 and len(b) >= 1:
            return tuple(a[:-1]) + tuple(b[1:])
    return arg_shapes[0] if arg_shapes else ()
