"""Why reverse mode (`jacobian --cost`): the family f: ℝⁿ → ℝᵐ, its Jacobian, and what each mode costs on it."""
import math

import numpy as np
import pytest

import graphcomp
from graphcomp.engine.jacobian import jacobian
from graphcomp.problems import costs


def test_the_family_computes_what_its_docstring_says():
    n, m = 5, 3
    jac = jacobian(graphcomp.from_dict(costs.family(n, m)))
    x = np.array([0.1 * i for i in range(1, n + 1)])
    p, slope = float(np.sum(x)), 1.0
    for _ in range(costs.DEPTH):  # p_k = sin(p_{k-1}): dp/ds is the product of the cosines on the way
        p, slope = math.sin(p), slope * math.cos(p)
    np.testing.assert_allclose(jac.values, [j * p for j in range(1, m + 1)], rtol=1e-13)
    np.testing.assert_allclose(jac.matrix, np.outer(np.arange(1, m + 1), np.full(n, slope)), rtol=1e-12)
    assert jac.agree


def test_forward_costs_a_sweep_per_input_and_reverse_a_sweep_per_output():
    n, m, depth = 8, 4, costs.DEPTH
    point = costs.measure(n, m)
    # pairwise adds: each input reaches the sum through log2(8) = 3 adds; a reverse sweep runs all 7 of them
    assert point.forward_ops == n * (3 + depth + m)
    assert point.reverse_ops == m * ((n - 1) + depth + 1)
    by_n, by_m = costs.sweep(sizes=(1, 10, 100), fixed=1)
    assert [p.forward_ops > p.reverse_ops for p in by_n] == [False, True, True]  # f: ℝⁿ → ℝ: reverse wins
    assert [p.reverse_ops > p.forward_ops for p in by_m] == [False, True, True]  # f: ℝ → ℝᵐ: forward wins
    assert costs.crossover(by_n, "n", "forward") == 10 and costs.crossover(by_m, "m", "reverse") == 10


def test_cost_on_the_command_line(cli, tmp_path):
    res = cli("jacobian", "--cost", "--format", "csv")
    assert res.status == 0, res.stderr
    rows = res.stdout.splitlines()
    assert rows[0] == "n,m,forward_ops,reverse_ops,forward_s,reverse_s,cheaper" and len(rows) == 1 + 2 * len(costs.SIZES)
    assert rows[-1].startswith("1,1000,") and rows[-1].endswith(",forward")
    pytest.importorskip("matplotlib")
    png = tmp_path / "cost.png"
    assert cli("jacobian", "--cost", "--plot", str(png)).status == 0 and png.read_bytes()[:4] == b"\x89PNG"
    for args, words in ((("jacobian", "--plot", str(png)), "--cost"), (("jacobian", "eq2.yaml", "--cost"), "no spec"),
                        (("jacobian", "--cost", "--shape", "x=3"), "or --shape")):
        bad = cli(*args)
        assert bad.status == 2 and words in bad.stderr and bad.stderr.count("\n") == 1
