"""The benchmarks' own pieces, run small: a bench that no longer runs (the engine's API moved under it) fails here,
not on the day someone measures. Their numbers are not asserted as timings; only that each computes what it
compares, and that the libraries it sets side by side agree."""
import sys
from pathlib import Path

import numpy as np
import pytest

import graphcomp
from graphcomp.problems import costs, mlp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_cheap_gradient  # noqa: E402
import bench_mlp  # noqa: E402
import bench_scalar  # noqa: E402


def test_bench_cheap_gradient_counts_a_gradient_at_most_three_evaluations():
    c = bench_cheap_gradient.sweep_costs(graphcomp.from_dict(costs.dense(6)), None, 1)
    (eval_ops, _), (grad_ops, _), (forward_ops, _) = c["evaluation"], c["gradient"], c["forward"]
    assert c["n"] == 6 and eval_ops < grad_ops <= 3 * eval_ops and forward_ops > grad_ops
    table = bench_cheap_gradient.hvp_against_gradient(1, [(5, 20)])
    assert table.row_count == 1


def test_bench_mlp_steps_give_the_same_gradients():
    torch = pytest.importorskip("torch")
    graph = graphcomp.from_dict(mlp.fig1_spec((2, 4, 4, 2), 8, seed=1))
    arrays = graph.defaults()
    ref = bench_mlp.numpy_step(arrays)[1]
    for grads in (bench_mlp.engine_step(graph, arrays), bench_mlp.engine_step(graph, arrays, "torch"),
                  bench_mlp.trace_step(graph, arrays), bench_mlp.torch_step(torch, arrays)):
        for k in ref:
            np.testing.assert_allclose(np.asarray(grads[k]), ref[k], rtol=1e-12)


def test_bench_scalar_libraries_agree_on_a_small_graph():
    x, blocks = bench_scalar.blueprint(200)
    results = {name: bench_scalar.MEASURE[name](x, blocks, 1) for name in bench_scalar.LIBRARIES}
    bench_scalar.check(results, x, 200)  # the same f and gradient, and Euler's identity
    assert all("error" not in r for r in results.values())
