"""graphcomp: explicit computational graphs for learning, doing and checking automatic differentiation.

    >>> import graphcomp
    >>> g = graphcomp.load("graphs/eq2.yaml")
    >>> t = g.trace(wrt="x2", mode="reverse")
    >>> round(t.derivative, 4)
    2.6955
"""
from graphcomp.core.errors import DomainError, GraphcompError, SpecError
from graphcomp.engine.graph import Graph
from graphcomp.engine.trace import Trace
from graphcomp.frontends.arrays import read_npz
from graphcomp.frontends.formula import parse as parse_expr
from graphcomp.frontends.spec import from_dict, load
from graphcomp.ops import REGISTRY as OPS
from graphcomp.render import dot, explain, steps, tables

__all__ = ["load", "from_dict", "parse_expr", "Graph", "Trace", "OPS", "read_npz", "GraphcompError", "SpecError", "DomainError"]


# Jupyter shows a graph as its diagram and a trace as its tables beside its drawing; hooked here, so the engine
# never imports a renderer
Graph._repr_svg_ = lambda self: dot.svg_scripts(dot.digraph(self).pipe(format="svg").decode())
Trace._repr_markdown_ = tables.markdown


def _trace_html(trace):
    try:
        drawing = dot.svg_scripts(dot.digraph(trace.graph, trace, values=True).pipe(format="svg").decode())
    except (OSError, RuntimeError):  # no Graphviz here (graphviz.ExecutableNotFound): the tables alone
        drawing = None
    return tables.html_text(trace, drawing=drawing)


Trace._repr_html_ = _trace_html


def _explain(trace, digits=4, rankdir="auto"):
    """The trace's sweeps one step at a time: a Stepper, which Jupyter shows inline (its .html is the page that
    `graphcomp explain` writes). Graphviz draws the graph through the graphviz package, as for a trace's display."""
    steps.check_one_value(trace)
    try:
        svg = explain.laid_out(trace, digits, rankdir, lambda g: g.pipe(format="svg").decode())
    except (OSError, RuntimeError):  # no Graphviz here: the stepper walks the tables alone
        svg = None
    sweep = steps.steps(trace, digits)
    return explain.Stepper(explain.page(trace, sweep, svg, digits), height=min(1000, 320 + 24 * len(sweep)))


def _graph_explain(self, at=None, wrt=None, mode="reverse", digits=4, rankdir="auto", **trace_options):
    """Step through this graph's sweeps at `at` (forward pass, then the tangent or adjoint pass, or both):
    graph.explain(at={"x3": 2.5}, wrt="x2", mode="reverse") returns a Stepper that Jupyter shows inline."""
    return _explain(self.trace(at=at, wrt=wrt, mode=mode, **trace_options), digits, rankdir)


Graph.explain = _graph_explain
Trace.explain = _explain
