"""The Python API's own checks: second-order calls name a bad input instead of ignoring it."""
import shutil

import numpy as np
import pytest

import graphcomp
from graphcomp.core.errors import GraphcompError


@pytest.mark.parametrize("graph, direction, words", [
    ("graphs/eq2.yaml", {"X2": 1.0}, ("'X2'", "not an input", "x1, x2, x3")),
    ("graphs/fig1.yaml", {"x": np.ones(2)}, ("'x'", "data")),
])
def test_hvp_names_a_direction_that_is_not_a_differentiable_input(graph, direction, words):
    with pytest.raises(GraphcompError) as err:
        graphcomp.load(graph).hvp(None, direction)
    assert all(w in str(err.value) for w in words), str(err.value)


@pytest.mark.parametrize("direction, words", [({"x2": float("inf")}, ("'x2'", "inf or a nan")),
                                              ({"x2": [1.0, 2.0]}, ("'x2'", "shape (2,)"))])
def test_hvp_refuses_a_direction_that_is_not_finite_or_not_the_input_shape(direction, words):
    with pytest.raises(GraphcompError) as err:
        graphcomp.load("graphs/eq2.yaml").hvp(None, direction)
    assert all(w in str(err.value) for w in words), str(err.value)


@pytest.mark.parametrize("wrt, words", [("x9", ("'x9'", "not an input")), (["x1", "x9"], ("'x9'", "not an input")),
                                        (["x1", "x1"], ("x1 twice",)), ([], ("a name or a list",)),
                                        ({"x1": 1.0}, ("a name or a list",))])
def test_hessian_names_a_wrt_that_is_not_a_list_of_inputs(wrt, words):
    with pytest.raises(GraphcompError) as err:
        graphcomp.load("graphs/eq2.yaml").hessian(None, wrt)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_hvp_along_x2_is_the_hessian_column_by_finite_differences_of_the_gradient():
    """∇²f e₂ against central differences of the reverse-mode gradient (an independent second-order reference)."""
    g = graphcomp.load("graphs/eq2.yaml")
    at, h = {"x1": 1.0, "x2": 1.5, "x3": 2.0}, 1e-5
    hv = g.hvp(at, {"x2": 1.0})
    plus, minus = g.gradient({**at, "x2": 1.5 + h}), g.gradient({**at, "x2": 1.5 - h})
    for name in at:
        assert float(hv[name]) == pytest.approx((plus[name] - minus[name]) / (2 * h), rel=1e-6)


def test_a_plot_without_matplotlib_is_a_one_line_error(monkeypatch):
    import sys

    from graphcomp.problems import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the plot extra looks like
    with pytest.raises(GraphcompError, match="pip install matplotlib"):
        plots._figure()


def _eq2_nodes():
    """Eq. 2 as Nodes in evaluation order, arguments by position (Graph(..., ordered=True))."""
    from graphcomp.core.nodes import INPUT, NODE, Node

    return [Node("x1", INPUT, "x_{1}", shape=(), value=1.0), Node("x2", INPUT, "x_{2}", shape=(), value=1.5),
            Node("x3", INPUT, "x_{3}", shape=(), value=2.0), Node("v1", NODE, "v_{1}", "mul", (0, 1)),
            Node("v2", NODE, "v_{2}", "sin", (2,)), Node("v3", NODE, "v_{3}", "exp", (3,)),
            Node("v4", NODE, "v_{4}", "mul", (3, 4)), Node("v5", NODE, "v_{5}", "add", (6, 5)),
            Node("v6", NODE, "v_{6}", "div", (7, 2))]


def test_a_graph_from_nodes_in_order_traces_as_the_spec():
    mine = graphcomp.Graph(_eq2_nodes(), "v6", ordered=True).trace()
    spec = graphcomp.load("graphs/eq2.yaml").trace()
    assert mine.value == spec.value and mine.gradient == spec.gradient


@pytest.mark.parametrize("change, words", [
    (lambda nodes: setattr(nodes[3], "args", (0, 5)), ("'v1'", "not the position of an earlier node")),
    (lambda nodes: setattr(nodes[3], "args", ("x1", "x2")), ("'v1'", "not the position")),
    (lambda nodes: setattr(nodes[4], "name", "v1"), ("duplicate name 'v1'",)),
])
def test_a_graph_from_nodes_in_order_checks_the_order_and_the_names(change, words):
    nodes = _eq2_nodes()
    change(nodes)
    with pytest.raises(GraphcompError) as err:
        graphcomp.Graph(nodes, "v6", ordered=True)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_a_trace_displays_in_jupyter_as_escaped_tables_beside_its_drawing(monkeypatch):
    g = graphcomp.from_dict({"name": "t", "inputs": [{"name": "x", "value": 2.0, "label": "<b>x</b>"}],
                             "nodes": [{"name": "f", "op": "square", "inputs": ["x"]}], "output": "f"})
    html = g.trace()._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html  # spec text is escaped
    assert html.count("<table") == 2 and "4.0000" in html  # the evaluation and the adjoint trace, f'(2) = 4
    if shutil.which("dot"):
        assert "<svg" in html
    monkeypatch.setenv("PATH", "")  # no Graphviz: the tables alone
    assert "<svg" not in g.trace()._repr_html_()
