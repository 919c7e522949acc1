"""The cheap-gradient principle and the cost of a Hessian–vector product, measured (issue 13, point 6).

(1) f: ℝ¹⁰⁰⁰ → ℝ: what one evaluation costs, what the gradient by one reverse sweep costs (the
    evaluation it needs, then the sweep), and what forward mode's n sweeps cost (the evaluation, then a
    tangent sweep per input), in elementary operations — op steps as the sweeps execute them, counted
    as `jacobian` counts them: a float operation on a scalar graph, one numpy call on a tensor graph —
    and in wall time (the interpreted sweeps; best of R). Functions: `dense` (graphcomp.problems.costs:
    f = Σ sin(xᵢ s), s = Σ xⱼ, where every input reaches all but a few steps), the family of
    `jacobian --cost` with m = 1, and Problem 1's objective (graphs/phase.yaml) at n = 1000, m = 5000.
    Targets: the gradient ≤ 3× an evaluation; forward mode ≈ n×.
(2) Problem 1's objective at n = 20, m = 100 and n = 1000, m = 5000 (A, y data, x the variable): one
    Hessian–vector product (`graph.hvp`, forward over reverse) against one gradient (`graph.gradient`),
    from the same numpy arrays, best of R rounds, taking turns. Target: ≤ 4×.
Times on a shared machine are noisy: run it twice. Usage: python bench/bench_cheap_gradient.py [--quick]
"""
import argparse
import time

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

import graphcomp
from graphcomp.core.nodes import INPUT
from graphcomp.engine import jacobian, sweeps
from graphcomp.engine import jit as jit_
from graphcomp.engine.plan import plan
from graphcomp.ops.kits import kit_for
from graphcomp.problems import costs, phase

N = 1000
GRADIENT_TARGET, HVP_TARGET = 3.0, 4.0
SIZES = ((20, 100), (1000, 5000))


def best(fn, rounds):
    """The least wall time of `rounds` calls of fn."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def sweep_costs(graph, at, rounds):
    """{'evaluation'|'gradient'|'forward': (operations, seconds)}, and 'n' sweeps, of one graph at `at`."""
    kit = kit_for(graph.scalar)
    p = plan(graph, kit)
    inputs = sweeps.input_values(graph, at, kit)
    variables = [i for i in graph.inputs if graph.nodes[i].kind == INPUT]
    seeds = [seed for _, seed in jacobian.input_columns(graph, variables, kit)]  # one per input entry, as jacobian's
    _ = p.jvp, p.vjp  # the step lists are built before the clocks start

    def reverse_mode(counted=None):
        sweeps.adjoints(graph, p, sweeps.values(graph, p, inputs), counted=counted)

    def forward_mode(counted=None):
        v = sweeps.values(graph, p, inputs)
        for seed in seeds:
            sweeps.tangents(graph, p, v, seed, counted)

    with np.errstate(divide="raise", over="raise", invalid="raise"):
        reverse, forward = [], []
        reverse_mode(reverse)
        forward_mode(forward)
        times = [best(fn, r) for fn, r in ((lambda: sweeps.values(graph, p, inputs), rounds), (reverse_mode, rounds),
                                           (forward_mode, max(1, rounds // 3)))]
    jit = None
    if graph.scalar:  # the same two sweeps compiled to straight-line Python (jit=True)
        jit = [best(lambda: jit_.run(graph, p, inputs, reverse), rounds) for reverse in (False, True)]
    ops = len(p.steps)
    return {"evaluation": (ops, times[0]), "gradient": (ops + sum(reverse), times[1]),
            "forward": (ops + sum(forward), times[2]), "n": len(seeds), "jit": jit}


def phase_graph(n, m, seed=0):
    """Problem 1's objective graph resized to (n, m), and a point: the instance's data and a seeded x."""
    inst = phase.make_instance(n, m, seed)
    x = np.random.default_rng([seed, 3]).standard_normal(n)
    return phase.Engine(inst.A, inst.y).graph, {"A": inst.A, "y": inst.y, "x": x}


def cheap_gradient(rounds):
    table = Table(title=f"f: ℝ^{N} → ℝ — operations (op steps) and wall time, each ÷ one evaluation's",
                  box=box.SIMPLE_HEAD)
    for col in ("function", "eval ops", "grad ops", "÷ (≤ 3)", "fwd ops", "÷ (≈ n)", "eval ms", "grad ms", "÷",
                "fwd ms", "÷", "jit: eval ms", "grad ms", "÷"):
        table.add_column(col, justify="left" if col == "function" else "right", no_wrap=True)
    cases = [("dense Σ sin(xᵢ s)", graphcomp.from_dict(costs.dense(N)), None),
             ("family, m = 1", graphcomp.from_dict(costs.family(N, 1)), None),
             ("Problem 1, m = 5000", *phase_graph(N, 5000))]
    for name, graph, at in cases:
        c = sweep_costs(graph, at, rounds)
        (eo, et), (go, gt), (fo, ft) = c["evaluation"], c["gradient"], c["forward"]
        assert c["n"] == N
        jit = ["–"] * 3 if c["jit"] is None else [f"{c['jit'][0] * 1e3:.3g}", f"{c['jit'][1] * 1e3:.3g}",
                                                 f"{c['jit'][1] / c['jit'][0]:.2f}"]
        table.add_row(name, str(eo), str(go), f"{go / eo:.2f}", str(fo), f"{fo / eo:.0f}", f"{et * 1e3:.3g}",
                      f"{gt * 1e3:.3g}", f"{gt / et:.2f}", f"{ft * 1e3:.4g}", f"{ft / et:.0f}", *jit)
    return table


def hvp_against_gradient(rounds, sizes):
    table = Table(title="Problem 1's objective: one Hessian–vector product ÷ one gradient, wall time",
                  box=box.SIMPLE_HEAD)
    for col in ("n", "m", "gradient ms", "HVP ms", "HVP ÷ gradient (≤ 4)"):
        table.add_column(col, justify="right", no_wrap=True)
    for n, m in sizes:
        graph, at = phase_graph(n, m)
        direction = {"x": np.random.default_rng([0, 4]).standard_normal(n)}
        graph.gradient(at), graph.hvp(at, direction)  # warm-up: the plans are built once per graph
        grads, hvps = [], []
        for _ in range(rounds):  # taking turns, so that a burst of load hits both
            grads.append(best(lambda: graph.gradient(at), 5))
            hvps.append(best(lambda: graph.hvp(at, direction), 5))
        g, h = min(grads), min(hvps)
        table.add_row(str(n), str(m), f"{g * 1e3:.3g}", f"{h * 1e3:.3g}", f"{h / g:.2f}")
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, and (2) at n = 20, m = 100 only")
    args = parser.parse_args()
    rounds = 3 if args.quick else 10
    console = Console(width=max(Console().width, 170))  # the tables are wider than a default terminal
    console.print(cheap_gradient(rounds))
    console.print(hvp_against_gradient(rounds, SIZES[:1] if args.quick else SIZES))


if __name__ == "__main__":
    main()
