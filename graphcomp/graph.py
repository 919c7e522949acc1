"""The graph: validated nodes in one topological order, with shapes, built once per spec.

A Graph holds no values of any evaluation: `graph.trace(...)` returns a Trace,
so one graph evaluates many times. Ordering is Kahn's algorithm (iterative), so
a chain of 10⁶ nodes is fine.
"""
import gc
import heapq
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from graphcomp import ops
from graphcomp.errors import GraphcompError, SpecError

INPUT, DATA, CONST, NODE = "input", "data", "const", "node"


@dataclass(slots=True)
class Node:
    """One vertex: an input (differentiable), data (not differentiated), a constant, or an op node."""

    name: str
    kind: str
    label: str  # LaTeX, e.g. v_{-2}
    op: str | None = None
    args: tuple = ()  # positions of the arguments in Graph.nodes
    params: dict = field(default_factory=dict)
    shape: tuple | None = None
    value: object = None  # default value of an input, the value of a constant
    dist: str | None = None  # how a tensor input without a value is drawn


_INDEXED = re.compile(r"([A-Za-z])_?(-?\d+)")


def default_label(name):
    """LaTeX label for a node name: v1 → v_{1}, x_3 → x_{3}, W1 → W_{1}, loss → \\mathrm{loss}."""
    m = _INDEXED.fullmatch(name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    m = re.fullmatch(r"([A-Za-z])_?([A-Za-z0-9])", name)
    if m and "_" in name:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    if len(name) == 1:
        return name
    return "\\mathrm{" + name.replace("_", "\\_") + "}"


def fmt_shape(shape):
    """'3×2', '2' or 'scalar'."""
    return "scalar" if not shape else "×".join(map(str, shape))


def space(shape):
    """ℝ, ℝ^3 or ℝ^{3×2} in LaTeX."""
    if not shape:
        return "\\mathbb{R}"
    return "\\mathbb{R}^{" + "\\times ".join(map(str, shape)) + "}"


class Graph:
    """A validated computational graph; build it with graphcomp.load or graphcomp.parse_expr."""

    def __init__(self, nodes, output, *, file=None, name=None, description="", notation=None, seed=0, dist="normal"):
        with no_gc():
            self._build(nodes, output, file, name, description, notation, seed, dist)

    def _build(self, nodes, output, file, name, description, notation, seed, dist):
        self.file, self.name, self.description = file, name or "graph", description
        self.seed, self.dist = seed, dist
        self.nodes = _toposort(nodes, file)
        self.index = {n.name: i for i, n in enumerate(self.nodes)}
        if output not in self.index:
            raise SpecError(f"output '{output}' is not a defined name", file=file, key="output")
        self.output = self.index[output]
        self.nodes = _infer_shapes(self.nodes, file)
        self.inputs = [i for i, n in enumerate(self.nodes) if n.kind in (INPUT, DATA)]
        self.scalar = all(n.shape == () for n in self.nodes)
        if self.nodes[self.output].shape != ():
            shape = fmt_shape(self.nodes[self.output].shape)
            raise SpecError(
                f"the output must be a scalar to differentiate, but it is {shape}; end the graph with sum or halfsq",
                file=file, node=output, key="output",
            )
        self.notation = notation or ("bar" if self.scalar else "dot")
        self._plans = {}

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        ops_used = sorted({n.op for n in self.nodes if n.op})
        return f"<Graph {self.name}: {len(self.nodes)} nodes, inputs {self.input_names}, ops {ops_used}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter shows a graph as its diagram (graphcomp.render.dot, imported only then)."""
        from graphcomp.render.dot import digraph

        return digraph(self)._repr_mimebundle_(include, exclude)

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
        """Input values from the spec; tensor inputs without a value are drawn from a seeded generator."""
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise GraphcompError(f"a seed must be a whole number 0 or more, not {seed!r}", file=self.file)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        out = {}
        for i in self.inputs:
            n = self.nodes[i]
            if n.value is not None:
                out[n.name] = n.value
            elif n.shape:
                out[n.name] = draw(rng, dist or n.dist or self.dist, n.shape, file=self.file, node=n.name)
        return out

    def trace(self, at=None, wrt=None, mode="reverse", seed=None, data=None, dist=None, jit=False):
        """Evaluate and differentiate; returns a finished Trace.

        at:   {input name: value} overriding the spec's values.
        wrt:  an input name, a list of names, or {name: direction} (the forward-mode seed).
        mode: 'forward' (tangents v̇), 'reverse' (adjoints v̄), 'both', or 'value'.
        seed: random seed for drawn tensor inputs and random tangent directions.
        data: a path to an .npz file whose arrays override inputs by name.
        jit:  on a scalar graph, run values and adjoints as straight-line Python compiled once
              (graphcomp.codegen): several times faster per evaluation, for graphs evaluated often.
              Tensor graphs ignore it (their time goes to numpy).
        """
        from graphcomp.sweeps import run

        return run(self, at=at, wrt=wrt, mode=mode, seed=seed, data=data, dist=dist, jit=jit)

    def gradient(self, at=None, **kw):
        """{input name: ∂f/∂input} by one reverse sweep."""
        return self.trace(at=at, mode="reverse", **kw).gradient

    def hvp(self, at, direction):
        """Hessian–vector product {input: (∇²f · direction)[input]} by forward over reverse."""
        from graphcomp.dual import hvp

        return hvp(self, at, direction)

    def hessian(self, at, wrt):
        """The Hessian of f with respect to the input `wrt`, one forward-over-reverse sweep per column."""
        from graphcomp.dual import hessian

        return hessian(self, at, wrt)


@contextmanager
def no_gc():
    """Pause the cyclic garbage collector while building millions of small objects (it would rescan them all)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


DISTS = ("normal", "uniform", "rademacher")


def draw(rng, dist, shape, *, file=None, node=None):
    """Draw an array of `shape` from a named distribution."""
    if dist == "normal":
        return rng.standard_normal(shape)
    if dist == "uniform":
        return rng.uniform(-1.0, 1.0, shape)
    if dist == "rademacher":
        return rng.choice([-1.0, 1.0], shape)
    raise GraphcompError(f"unknown distribution '{dist}'; choose from {', '.join(DISTS)}", file=file, node=node, key="dist")


def _toposort(nodes, file):
    """Order nodes so that every argument precedes its use: Kahn's algorithm, no recursion.

    Among nodes ready at the same time the one declared first goes first, so a
    spec written in evaluation order keeps its order (and its v_1 … v_k numbering).
    """
    by_name = {n.name: k for k, n in enumerate(nodes)}
    look = by_name.__getitem__
    idx = [tuple(map(look, n.args)) for n in nodes]
    if all(j < k for k, args in enumerate(idx) for j in args):
        for n, args in zip(nodes, idx):
            n.args = args
        return nodes
    users = [[] for _ in nodes]
    missing = [len(args) for args in idx]
    for k, args in enumerate(idx):
        for a in args:
            users[a].append(k)
    ready = [k for k in range(len(nodes)) if missing[k] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        k = heapq.heappop(ready)
        order.append(k)
        for u in users[k]:
            missing[u] -= 1
            if missing[u] == 0:
                heapq.heappush(ready, u)
    if len(order) < len(nodes):
        raise _cycle_error(nodes, by_name, missing, file)
    pos = [0] * len(nodes)
    for p, k in enumerate(order):
        pos[k] = p
    for k in order:
        nodes[k].args = tuple(pos[a] for a in idx[k])
    return [nodes[k] for k in order]


def _cycle_error(nodes, by_name, missing, file):
    # walk argument edges inside the unresolved set until a node repeats: that is a cycle
    k = next(i for i, c in enumerate(missing) if c > 0)
    seen, path = {}, []
    while k not in seen:
        seen[k] = len(path)
        path.append(k)
        k = next(by_name[a] for a in nodes[k].args if missing[by_name[a]] > 0)
    cycle = [nodes[i].name for i in path[seen[k]:]]
    cycle = list(reversed(cycle)) + [cycle[-1]]
    return SpecError(f"the graph has a cycle: {' → '.join(cycle)}", file=file, node=cycle[0], key="inputs")


def _infer_shapes(nodes, file):
    """Shapes through the graph; a mismatch names the node, both shapes, and sizes that would fit."""
    shapes, errors, fixes = [], [], {}
    for n in nodes:
        if n.op is None:
            shapes.append(tuple(n.shape))
            continue
        op = ops.REGISTRY[n.op]
        arg_shapes = [shapes[a] for a in n.args]
        if op.elementwise and not any(arg_shapes):  # scalars in, scalar out: the common case
            shapes.append(())
            continue
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
    return nodes


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
