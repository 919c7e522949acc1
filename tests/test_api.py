"""The Python API's own checks: second-order calls name a bad input instead of ignoring it."""
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


@pytest.mark.parametrize("wrt, words", [(["x1", "x2"], ("one input's name",)), ("x9", ("'x9'", "not an input"))])
def test_hessian_takes_one_input_name(wrt, words):
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
