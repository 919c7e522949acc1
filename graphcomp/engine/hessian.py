"""The full Hessian ∇²f of a scalar graph by forward over reverse: one Hessian–vector product per column.

The rows and columns are the entries of the inputs differentiated with respect to (every
differentiable input by default, or those `wrt` names), input after input in that order — the
spec's order by default — and each tensor input's entries in C (row-major) order: x, then
W[0,0], W[0,1], …, W[1,0], …. Column k is ∇²f eₖ (graphcomp.engine.dual), so H is symmetric to
round-off only; `blocks` reshapes it into one block per pair of inputs, of shape
shape(a) + shape(b) (as torch.autograd.functional.hessian returns). Numbers only:
graphcomp.render.hessian prints them.
"""
from dataclasses import dataclass

import numpy as np

from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import INPUT
from graphcomp.engine import dual, jacobian, sweeps

ZERO_RTOL = 1e-10  # an eigenvalue within this of 0, relative to the largest |eigenvalue|, counts as 0


@dataclass(frozen=True)
class Hessian:
    """∇²f over the entries of `wrt`, with f and ∇f there, and its eigenvalues."""

    graph: object
    wrt: tuple  # the inputs, in the order of the rows
    inputs: tuple  # a row's (and column's) name: the input's, or 'W[0,1]' for an entry of a tensor input
    at: dict  # {input name: value} the Hessian is taken at
    value: float  # f there
    gradient: np.ndarray  # ∇f over the same entries
    matrix: np.ndarray  # H (N × N), column k = ∇²f eₖ
    eigenvalues: np.ndarray  # of ½(H + Hᵀ), ascending (numpy.linalg.eigvalsh)

    @property
    def products(self):
        """Hessian–vector products run: one per column."""
        return len(self.inputs)

    @property
    def asymmetry(self):
        """max |H − Hᵀ|: 0 but for round-off."""
        return float(np.abs(self.matrix - self.matrix.T).max(initial=0.0))

    @property
    def inertia(self):
        """(negative, zero, positive) eigenvalues, 0 meaning within ZERO_RTOL of the largest |eigenvalue|."""
        eps = ZERO_RTOL * float(np.abs(self.eigenvalues).max(initial=0.0))
        neg, pos = int(np.sum(self.eigenvalues < -eps)), int(np.sum(self.eigenvalues > eps))
        return neg, len(self.eigenvalues) - neg - pos, pos

    def block(self, a, b):
        """The block ∂²f/∂a∂b of inputs a and b, of shape shape(a) + shape(b)."""
        return blocks(self.graph, self.matrix, self.wrt)[a][b]


def wrt_positions(graph, wrt):
    """The positions of the inputs a Hessian is taken with respect to: every differentiable input for None,
    else the one name or the names listed, in that order (each once)."""
    if wrt is None:
        positions = [i for i in graph.inputs if graph.nodes[i].kind == INPUT]
        if not positions:
            raise GraphcompError("the graph has no differentiable input (every input is data), so there is no "
                                 "Hessian to compute", file=graph.file)
        return positions
    names = [wrt] if isinstance(wrt, str) else wrt
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
        raise GraphcompError(f"wrt names inputs: a name or a list of names, not {wrt!r}", file=graph.file)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise GraphcompError(f"wrt names {', '.join(twice)} twice", file=graph.file)
    return [sweeps.wrt_input(graph, n) for n in names]


def hessian(graph, at=None, wrt=None, *, seed=None, data=None, dist=None):
    """The Hessian record (H, its eigenvalues, f and ∇f) of graph's f with respect to `wrt` (see the module)."""
    dual.scalar_output(graph, "a Hessian")
    positions = wrt_positions(graph, wrt)
    inputs = sweeps.input_values(graph, at, dual.DualKit, seed=seed, data=data, dist=dist)
    columns = list(jacobian.input_columns(graph, positions, dual.DualKit))  # the Jacobian's columns: one order, one code
    done = dual.products(graph, inputs, [seeds for _, seeds in columns])

    def flat(part):
        return np.concatenate([np.ravel(part[i]) for i in positions])

    H = np.stack([flat(hv) for _, _, hv in done], axis=1)
    return Hessian(graph, tuple(graph.nodes[i].name for i in positions), tuple(name for name, _ in columns),
                   {graph.nodes[i].name: np.asarray(x, dtype=float) for i, x in inputs.items()}, done[0][0],
                   flat(done[0][1]), H, np.linalg.eigvalsh(0.5 * (H + H.T)))


def blocks(graph, H, wrt):
    """H cut into {a: {b: ∂²f/∂a∂b}} for the inputs named in `wrt` (in the order of H's rows), each block of
    shape shape(a) + shape(b)."""
    shapes = [tuple(graph.nodes[graph.index[name]].shape) for name in wrt]
    ends = np.cumsum([0] + [int(np.prod(s, dtype=int)) for s in shapes])
    return {a: {b: H[ends[j]:ends[j + 1], ends[k]:ends[k + 1]].reshape(sa + sb)
                for k, (b, sb) in enumerate(zip(wrt, shapes))}
            for j, (a, sa) in enumerate(zip(wrt, shapes))}
