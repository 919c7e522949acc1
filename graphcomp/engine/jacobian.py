"""The full Jacobian J = ∂(f1 … fm)/∂(x1 … xn) of a graph, computed both ways, with what each way costs.

Forward mode runs one tangent sweep per input entry (seed eₖ: column k of J), reverse
mode one adjoint sweep per output entry (seed eⱼ on fⱼ: row j of J; an output may be a tensor,
flattened row-major as the inputs are), both on the values of one
evaluation, which they share. Each sweep counts the elementary operations it executes
as it runs them (one op step each: a float operation on a scalar graph, one numpy call
on a tensor): a forward sweep skips the steps whose arguments' tangents are all 0, so it
executes the steps that depend on its input; a reverse sweep executes the steps on a path
to its output. Numbers only: graphcomp.problems.jacobian prints them.
"""
import time
from dataclasses import dataclass

import numpy as np

from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import INPUT
from graphcomp.engine import sweeps
from graphcomp.engine.plan import plan
from graphcomp.ops.kits import kit_for

EXACT_TOL = (1e-10, 1e-12)  # (rtol, atol) between the two modes: exact both, only their rounding differs


@dataclass(frozen=True)
class Cost:
    """What one mode cost: its sweeps, the elementary operations each executed, and their wall time."""

    mode: str  # 'forward' or 'reverse'
    steps: tuple  # operations executed by each sweep, in order (a column, or a row, each)
    seconds: float  # wall time of the sweeps alone (not the evaluation both modes share)

    @property
    def sweeps(self):
        return len(self.steps)

    @property
    def operations(self):
        return sum(self.steps)


@dataclass(frozen=True)
class Jacobian:
    """J (outputs × inputs) by forward mode and by reverse mode, whether they agree, and each mode's Cost."""

    graph: object
    inputs: tuple  # a column's name: the input's, or 'W[0,1]' for an entry of a tensor input (row-major order)
    outputs: tuple  # a row's name: the output's
    at: dict  # {input name: value} the Jacobian is taken at
    values: np.ndarray  # (f1, …, fm) there
    forward: np.ndarray  # m × n, a column per forward sweep
    reverse: np.ndarray  # m × n, a row per reverse sweep
    evaluation: int  # operations of the one evaluation (the values sweep) both modes share
    costs: dict  # {'forward': Cost, 'reverse': Cost}
    abs_diff: float  # max |forward − reverse|
    tol: tuple = EXACT_TOL

    @property
    def scale(self):
        return float(max(np.abs(self.forward).max(initial=0.0), np.abs(self.reverse).max(initial=0.0)))

    @property
    def agree(self):
        """|forward − reverse|max ≤ atol + rtol · max(|forward|max, |reverse|max)."""
        return bool(self.abs_diff <= self.tol[1] + self.tol[0] * self.scale)

    @property
    def matrix(self):
        """J (the reverse-mode one; forward's agrees when `agree`)."""
        return self.reverse


def jacobian(graph, at=None, *, seed=None, data=None, dist=None):
    """The Jacobian of graph.outputs with respect to every differentiable input, by both modes (see the module)."""
    variables = [i for i in graph.inputs if graph.nodes[i].kind == INPUT]
    if not variables:
        raise GraphcompError("the graph has no differentiable input (every input is data), so there is no "
                             "Jacobian to compute", file=graph.file)
    kit = kit_for(graph.scalar)
    p = plan(graph, kit)
    inputs = sweeps.input_values(graph, at, kit, seed=seed, data=data, dist=dist)
    columns = list(input_columns(graph, variables, kit))
    rows = list(_rows(graph, kit))
    outputs = graph.outputs
    for o in outputs:  # the step lists are built (on first use) before the clocks start
        p.vjp_for(o)
    _ = p.jvp
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        v = sweeps.values(graph, p, inputs)
        forward, f_steps, f_time = _forward(graph, p, v, columns, outputs, kit)
        reverse, r_steps, r_time = _reverse(graph, p, v, variables, rows, kit)
    diff = float(np.abs(forward - reverse).max(initial=0.0))
    named = {graph.nodes[i].name: x for i, x in zip(inputs, kit.to_numpy(list(inputs.values())))}
    return Jacobian(graph, tuple(name for name, _ in columns), tuple(name for name, _, _ in rows), named,
                    _flat(kit.to_numpy([v[o] for o in outputs])), forward, reverse,
                    len(p.steps), {"forward": Cost("forward", tuple(f_steps), f_time),
                                 "reverse": Cost("reverse", tuple(r_steps), r_time)}, diff)


def input_columns(graph, variables, kit):
    """(column name, forward-mode seed {input position: eₖ}) for every entry of every differentiable input."""
    for i in variables:
        for name, seed in _entries(graph.nodes[i], kit):
            yield name, {i: seed}


def _rows(graph, kit):
    """(row name, output position, reverse-mode seed eⱼ) for every entry of every output, as input_columns for inputs."""
    for o in graph.outputs:
        n = graph.nodes[o]
        for name, seed in _entries(n, kit):
            yield name, o, seed


def _entries(n, kit):
    """(name, unit array) for each entry of node n, row-major: (n.name, 1) for a scalar, ('W[0,1]', e₀₁)…"""
    if not n.shape:
        yield n.name, kit.coerce(1.0)
        return
    for k in np.ndindex(*n.shape):
        e = np.zeros(n.shape)
        e[k] = 1.0
        yield f"{n.name}[{','.join(map(str, k))}]", kit.coerce(e)


def _flat(xs):
    """Numbers and arrays as one flat float vector, row-major."""
    return np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in xs])


def _forward(graph, p, v, columns, outputs, kit):
    """J by forward mode: a tangent sweep per column; (J, operations per sweep, seconds)."""
    counted, cols = [], []
    start = time.perf_counter()
    for _, seed in columns:
        t = sweeps.tangents(graph, p, v, seed, counted)
        cols.append([t[o] for o in outputs])
    seconds = time.perf_counter() - start
    J = np.array([_flat(kit.to_numpy(col)) for col in cols]).reshape(len(columns), -1).T
    return J, counted, seconds


def _reverse(graph, p, v, variables, rows, kit):
    """J by reverse mode: an adjoint sweep per output entry, seeded eⱼ there; (J, operations per sweep, seconds)."""
    counted, out = [], []
    start = time.perf_counter()
    for _, o, seed in rows:
        d = sweeps.adjoints(graph, p, v, seed, output=o, counted=counted)
        out.append([d[i] for i in variables])
    seconds = time.perf_counter() - start
    J = np.array([_flat(kit.to_numpy(row)) for row in out])
    return J.reshape(len(rows), -1), counted, seconds
