"""Nodes and their order: the vertices of a graph, kinds, and Kahn's topological sort (no recursion)."""
import gc
import heapq
from contextlib import contextmanager
from dataclasses import dataclass, field

from graphcomp.core.errors import SpecError

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
    inputs: tuple = ()  # the names of the arguments, as a spec writes them; toposort turns them into args


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


def toposort(nodes, file):
    """Order nodes so that every argument precedes its use, and set each node's args (positions) from its
    inputs (names): Kahn's algorithm, no recursion.

    Among nodes ready at the same time the one declared first goes first, so a
    spec written in evaluation order keeps its order (and its v_1 … v_k numbering).
    """
    by_name = {n.name: k for k, n in enumerate(nodes)}
    look = by_name.__getitem__
    idx = [tuple(map(look, n.inputs)) for n in nodes]
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
        k = next(by_name[a] for a in nodes[k].inputs if missing[by_name[a]] > 0)
    cycle = [nodes[i].name for i in path[seen[k]:]]
    cycle = list(reversed(cycle)) + [cycle[-1]]
    return SpecError(f"the graph has a cycle: {' → '.join(cycle)}", file=file, node=cycle[0], key="inputs")
