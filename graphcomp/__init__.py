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
from graphcomp.render import dot, tables

__all__ = ["load", "from_dict", "parse_expr", "Graph", "Trace", "OPS", "read_npz", "GraphcompError", "SpecError", "DomainError"]


# Jupyter shows a graph as its diagram and a trace as its tables beside its drawing; hooked here, so the engine
# never imports a renderer
Graph._repr_mimebundle_ = lambda self, include=None, exclude=None: dot.digraph(self)._repr_mimebundle_(include, exclude)
Trace._repr_markdown_ = tables.markdown


def _trace_html(trace):
    try:
        drawing = dot.digraph(trace.graph, trace, values=True).pipe(format="svg").decode()
    except (OSError, RuntimeError):  # no Graphviz here (graphviz.ExecutableNotFound): the tables alone
        drawing = None
    return tables.html_text(trace, drawing=drawing)


Trace._repr_html_ = _trace_html
