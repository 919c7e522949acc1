"""The cheap-gradient principle in operation counts (bench/bench_cheap_gradient.py times it): one reverse sweep
gives the gradient for at most 3× an evaluation's operations, forward mode's n sweeps cost about n×; and a reverse
sweep does not compute the adjoint of data (A in A x), which would cost as much as the rest of it."""
import math

import numpy as np
import pytest

import graphcomp
from graphcomp.core.nodes import INPUT
from graphcomp.engine import dual, sweeps
from graphcomp.engine.jacobian import jacobian
from graphcomp.engine.plan import plan
from graphcomp.ops.kits import ArrayKit
from graphcomp.problems import costs, phase


def test_dense_computes_what_its_docstring_says():
    n = 7
    g = graphcomp.from_dict(costs.dense(n))
    x = np.arange(1, n + 1) / n
    s = x.sum()
    t = g.trace(mode="reverse")
    assert t.value == pytest.approx(np.sum(np.sin(x * s)), rel=1e-14)
    grad = s * np.cos(x * s) + np.sum(x * np.cos(x * s))  # ∂/∂x_k of Σ sin(x_i s): the direct term and via s
    np.testing.assert_allclose([t.gradient[f"x{k}"] for k in range(1, n + 1)], grad, rtol=1e-13)


@pytest.mark.parametrize("n", [64, 1000])
def test_one_reverse_sweep_costs_at_most_3_evaluations_and_forward_mode_about_n(n):
    jac = jacobian(graphcomp.from_dict(costs.dense(n)))
    evaluation, reverse, forward = jac.evaluation, jac.costs["reverse"], jac.costs["forward"]
    depth = math.ceil(math.log2(n))
    assert evaluation == 4 * n - 2 and reverse.operations == 4 * n - 2  # every step is on the path to f
    assert (evaluation + reverse.operations) / evaluation <= 3
    assert forward.sweeps == n
    # each sweep skips the adds into s that do not depend on its input: it runs 3n − 1 steps after s and at most
    # ⌈log₂ n⌉ (exactly log₂ n for n a power of 2) adds into s
    assert all(3 * n - 1 < k <= 3 * n - 1 + depth for k in forward.steps)
    assert (evaluation + forward.operations) / evaluation >= 0.75 * n


class _NoOuter(ArrayKit):
    """numpy, but an outer product fails the test: the data side of Problem 1's A x is an outer product."""

    def outer(self, a, b):
        raise AssertionError("the reverse sweep computed an outer product: the adjoint of data")


def test_a_reverse_sweep_and_an_hvp_leave_the_data_side_of_matmul_alone(monkeypatch):
    inst = phase.make_instance(6, 15, 0)
    deriv = phase.Engine(inst.A, inst.y)
    x = np.linspace(-1, 1, 6)
    kit = _NoOuter(np)
    p = plan(deriv.graph, kit)
    with np.errstate(all="raise"):
        v = sweeps.values(deriv.graph, p, sweeps.input_values(deriv.graph, deriv._at(x), kit))
        d = sweeps.adjoints(deriv.graph, p, v)
    np.testing.assert_allclose(d[deriv.graph.index["x"]], phase.Analytic(inst.A, inst.y).grad(x), rtol=1e-12)
    assert all(d[i] is None for i in deriv.graph.inputs if deriv.graph.nodes[i].kind != INPUT)
    monkeypatch.setattr(dual.DualKit, "outer", _NoOuter.outer.__get__(kit))  # the same on dual numbers
    np.testing.assert_allclose(deriv.hess(x), phase.Analytic(inst.A, inst.y).hess(x), rtol=1e-11)
