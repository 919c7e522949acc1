"""What a command's work will cost, estimated from the graph before any of it runs, held to its limit.

A sweep passes over every node once, so its cost is counted in node entries: a scalar node is 1, a
tensor node its number of entries (a scalar graph's count is its number of nodes). Measured on the
development machine (README, "Tensor ranks and limits"): a float sweep of `jacobian` took about 0.25 µs
per node, a Hessian–vector product on dual numbers 2–4 µs, a finite-difference evaluation 0.1 µs; numpy
sweeps cost far less per entry, so each default is a few seconds of a scalar graph. Graphviz's time grows with
the boxes and edge bends it lays out (a 2 000-node chain drew in 2.7 s, a 1 000-node graph whose edges
cross 24 000 layers ran past 120 s).
"""
import math

from graphcomp.core.nodes import INPUT
from graphcomp.frontends.limits import check_work

FD_EVALUATIONS = 6  # per input entry: verify's central differences settle after 3 step sizes, 2 evaluations each


def entries(node):
    """The number of entries of a node's value (1 for a scalar)."""
    return math.prod(node.shape or ())


def swept(graph):
    """The node entries one sweep passes over."""
    return sum(entries(n) for n in graph.nodes)


def _differentiable(graph, positions=None):
    """The entries of the inputs at `positions` (every differentiable input by default)."""
    if positions is None:
        positions = [i for i in graph.inputs if graph.nodes[i].kind == INPUT]
    return sum(entries(graph.nodes[i]) for i in positions)


def check_jacobian(graph):
    """Refuse a Jacobian whose dense matrix or whose n + m sweeps (both modes run, to compare) are over their limits."""
    n, m = _differentiable(graph), sum(entries(graph.nodes[o]) for o in graph.outputs)
    if not n:
        return  # the Jacobian's own error says there is nothing to compute
    (few, cheap), (many, dear) = sorted([(n, "forward"), (m, "reverse")])
    asked = (f"the Jacobian is {m:,} × {n:,}: {few:,} {cheap} sweep{'s' * (few != 1)}, but jacobian runs "
             f"{many:,} {dear} sweeps too, to compare them, each over the graph's {swept(graph):,} node entries")
    one = {"reverse": "trace (reverse mode) gives the gradient", "forward": "trace --mode forward gives the derivative"}
    instead = (f"{one[cheap]} by that one sweep, every entry with --format json" if few == 1
               else "trace gives one sweep's derivatives (--mode forward --wrt an input, or reverse mode)")
    check_work("GRAPHCOMP_MAX_MATRIX_ENTRIES", n * m, asked, instead, file=graph.file)
    check_work("GRAPHCOMP_MAX_JACOBIAN_WORK", (n + m) * swept(graph), asked, instead, file=graph.file)


def check_hessian(graph, positions):
    """Refuse a Hessian over the entries at `positions` whose N × N matrix or N products are over their limits."""
    N = _differentiable(graph, positions)
    asked = (f"the Hessian is {N:,} × {N:,}: {N:,} Hessian–vector products, each a value and an adjoint sweep "
             f"on dual numbers over the graph's {swept(graph):,} node entries")
    instead = "--wrt fewer inputs gives a block of it, and trace the gradient alone"
    check_work("GRAPHCOMP_MAX_MATRIX_ENTRIES", N * N, asked, instead, file=graph.file)
    check_work("GRAPHCOMP_MAX_HESSIAN_WORK", N * swept(graph), asked, instead, file=graph.file)


def check_fd(graph):
    """Refuse finite differences of every input entry when their evaluations of the graph are over the limit."""
    n = _differentiable(graph)
    asked = (f"verify's finite differences over {n:,} input entries: about {FD_EVALUATIONS * n:,} evaluations "
             f"of the graph's {swept(graph):,} node entries")
    instead = "verify the same graph with smaller shapes, or trace for the engine's gradient alone"
    check_work("GRAPHCOMP_MAX_FD_WORK", FD_EVALUATIONS * n * swept(graph), asked, instead, file=graph.file)


def layout_size(graph):
    """The boxes and edge bends Graphviz's dot lays out: a box per node, and a bend (dot's virtual node) for
    each layer an edge crosses, a node's layer being its longest path from an input."""
    layer = []
    for n in graph.nodes:  # in topological order: every argument's layer is known
        layer.append(1 + max((layer[a] for a in n.args), default=-1))
    bends = sum(layer[k] - layer[a] - 1 for k, n in enumerate(graph.nodes) for a in n.args)
    return len(graph.nodes) + bends


def check_drawing(graph, what="a drawing"):
    """Refuse a graph too large for Graphviz to lay out in bounded time."""
    edges = sum(len(n.args) for n in graph.nodes)
    check_work("GRAPHCOMP_MAX_DRAW_NODES", layout_size(graph),
               f"{what} of {len(graph.nodes):,} nodes and {edges:,} edges", "-o NAME.dot --rankdir LR writes the "
               "Graphviz source without laying it out" if what == "a drawing" else "trace prints its steps",
               file=graph.file)


def check_frames(graph, frames):
    """Refuse an animation (or PNG frames) whose frames, each a drawing of the whole graph, are over the limit."""
    check_work("GRAPHCOMP_MAX_FRAME_NODES", len(graph.nodes) * frames,
               f"{frames:,} frames of a {len(graph.nodes):,}-node graph", "-o NAME.html writes the same steps "
               "as a page Graphviz draws once", file=graph.file)
