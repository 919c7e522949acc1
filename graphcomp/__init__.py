"""graphcomp: explicit computational graphs for learning, doing and checking automatic differentiation.

    >>> import graphcomp
    >>> g = graphcomp.load("graphs/eq2.yaml")
    >>> t = g.trace(wrt="x2", mode="reverse")
    >>> round(t.derivative, 4)
    2.6955
"""
from graphcomp.errors import DomainError, GraphcompError, SpecError
from graphcomp.graph import Graph
from graphcomp.ops import REGISTRY as OPS
from graphcomp.spec import from_dict, load
from graphcomp.trace import Trace

__all__ = ["load", "from_dict", "parse_expr", "Graph", "Trace", "OPS", "GraphcompError", "SpecError", "DomainError"]


def parse_expr(expr, at=None, **kw):
    """Build a Graph from a formula such as "(x1*x2*sin(x3) + exp(x1*x2))/x3" (see graphcomp.formula)."""
    from graphcomp.formula import parse

    return parse(expr, at=at, **kw)
