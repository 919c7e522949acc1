"""Scalar benchmark: forward + reverse time per node, graphcomp vs micrograd vs PyTorch scalar autograd.

    .venv/bin/python bench/bench_scalar.py             # 10³ … 10⁶ nodes, and the CLI's wall time
    .venv/bin/python bench/bench_scalar.py --max 1e5   # a quicker run

The function is the same for all three: blocks of five scalar ops on positive
numbers, m = a·b, s = m^0.5, t = s + c, h = 0.5·t, r = relu(h), where a is the
previous block's result and b, c are drawn (seeded) from the inputs and the last
64 block results, so values fan out to several later uses. The graph is positively homogeneous
of degree 1, so its values stay in range at any depth and Euler's identity
Σ x_i ∂f/∂x_i = f checks every gradient.

What is timed:
  graphcomp  one-shot: building the Nodes from the blueprint and the Graph (`Graph(nodes, output,
             ordered=True)`, nodes already in evaluation order) plus one `trace(mode="reverse")`, the
             whole time of a graph evaluated once, as micrograd's build plus backward;
             then `graph.trace(mode="reverse")` (values, then adjoints) on a graph built
             and compiled once, two ways: interpreted (the flat-loop sweeps) and
             `jit=True` (the sweeps compiled to straight-line Python, graphcomp.engine.jit;
             up to codegen.MAX_STEPS steps). The one-time costs are reported apart:
             build (from_dict), compile (the first interpreted trace's extra time) and
             jit (the first jit trace's extra time: generating and compiling the code).
  micrograd  building the Value graph (its forward pass) and `backward()`.
  PyTorch    the forward pass on 0-d float64 tensors and `backward()`.
Each (library, size) runs in a fresh subprocess, so that one's memory or crash
does not touch the others; the best of a few repetitions is kept.
micrograd's `backward` sorts the graph recursively: its recursion limit is raised
for micrograd's runs only (to a little above the graph's depth); a size where it
still fails is reported as such.
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N_INPUTS = 8
BLOCK = 5  # ops per block
WINDOW = 64  # how many recent block results a block's extra arguments are drawn from
SIZES = (10**3, 10**4, 10**5, 10**6)
LIBRARIES = ("graphcomp", "micrograd", "torch")


def blueprint(n, seed=0):
    """The function as data: input values and, per block, the positions of its three arguments."""
    rng = random.Random(seed)
    x = [rng.uniform(0.5, 1.5) for _ in range(N_INPUTS)]
    outputs = list(range(N_INPUTS))  # positions of the inputs and of each block's result r
    blocks = []
    for _ in range(n // BLOCK):
        recent = outputs[-WINDOW:]  # only degree-1 values, so that the whole stays homogeneous
        blocks.append((outputs[-1], rng.choice(recent), rng.choice(recent)))
        outputs.append(N_INPUTS + BLOCK * len(blocks) - 1)
    return x, blocks


def graphcomp_spec(x, blocks):
    """The blueprint as a graphcomp spec dict."""
    names = [f"x{k}" for k in range(len(x))]
    nodes = []
    for a, b, c in blocks:
        k = len(names)
        m, s, t, h, r = (f"v{k + j}" for j in range(BLOCK))
        nodes += [
            {"name": m, "op": "mul", "inputs": [names[a], names[b]]},
            {"name": s, "op": "powc", "inputs": [m], "p": 0.5},
            {"name": t, "op": "add", "inputs": [s, names[c]]},
            {"name": h, "op": "mul", "inputs": [t, 0.5]},
            {"name": r, "op": "relu", "inputs": [h]},
        ]
        names += [m, s, t, h, r]
    inputs = [{"name": nm, "value": v} for nm, v in zip(names, x)]
    return {"name": "bench", "inputs": inputs, "nodes": nodes, "output": names[-1]}


def graphcomp_nodes(x, blocks):
    """The blueprint as graphcomp Nodes in evaluation order, arguments by position (Graph(..., ordered=True)):
    how a program builds a graph to evaluate once, as micrograd's user builds Values. One constant node 0.5
    comes first, so blueprint position p is node p + 1."""
    from graphcomp.core.nodes import CONST, INPUT, NODE, Node

    nodes = [Node("half", CONST, "0.5", shape=(), value=0.5)]
    nodes += [Node(f"x{k}", INPUT, f"x_{{{k}}}", shape=(), value=v) for k, v in enumerate(x)]
    sqrt = {"p": 0.5}
    for a, b, c in blocks:
        k = len(nodes)
        nodes += [
            Node(f"v{k}", NODE, f"v_{{{k}}}", "mul", (a + 1, b + 1)),
            Node(f"v{k + 1}", NODE, f"v_{{{k + 1}}}", "powc", (k,), sqrt),
            Node(f"v{k + 2}", NODE, f"v_{{{k + 2}}}", "add", (k + 1, c + 1)),
            Node(f"v{k + 3}", NODE, f"v_{{{k + 3}}}", "mul", (k + 2, 0)),
            Node(f"v{k + 4}", NODE, f"v_{{{k + 4}}}", "relu", (k + 3,)),
        ]
    return nodes


def eager(x_leaves, blocks):
    """Run the blueprint on any scalar type with * + ** and .relu() (micrograd's Value, a torch tensor)."""
    vals = list(x_leaves)
    for a, b, c in blocks:
        m = vals[a] * vals[b]
        s = m**0.5
        t = s + vals[c]
        h = t * 0.5
        vals += [m, s, t, h, h.relu()]
    return vals[-1]


def best_of(repeats, run):
    """(shortest time, last result) over `repeats` calls of run()."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return min(times), result


def measure_graphcomp(x, blocks, repeats):
    import graphcomp
    from graphcomp.engine import jit as codegen
    from graphcomp.engine.graph import Graph

    def one_shot(x, blocks):  # build from the blueprint, then one forward and reverse sweep: micrograd's run
        nodes = graphcomp_nodes(x, blocks)
        tr = Graph(nodes, nodes[-1].name, name="bench", ordered=True).trace(mode="reverse")
        return tr.value, tr.gradient

    one_shot(*blueprint(100))  # first-use costs (imports, caches) are not per node
    once, (f1, g1) = best_of(repeats, lambda: one_shot(x, blocks))
    spec = graphcomp_spec(x, blocks)
    t0 = time.perf_counter()
    graph = graphcomp.from_dict(spec)
    build = time.perf_counter() - t0
    first, _ = best_of(1, lambda: graph.trace(mode="reverse"))
    run, tr = best_of(repeats, lambda: graph.trace(mode="reverse"))
    grad = tr.gradient
    out = {"run": run, "build": build, "compile": max(first - run, 0.0), "once": once,
           "f": tr.value, "grad": [grad[f"x{k}"] for k in range(len(x))]}
    assert f1 == out["f"] and [g1[f"x{k}"] for k in range(len(x))] == out["grad"]
    if len(graph) <= codegen.MAX_STEPS:
        first, _ = best_of(1, lambda: graph.trace(mode="reverse", jit=True))
        out["jit"], tr = best_of(repeats, lambda: graph.trace(mode="reverse", jit=True))
        out["jit_compile"] = max(first - out["jit"], 0.0)
        assert tr.value == out["f"] and [tr.gradient[f"x{k}"] for k in range(len(x))] == out["grad"]
    return out


def measure_micrograd(x, blocks, repeats):
    from micrograd.engine import Value

    def run():
        leaves = [Value(v) for v in x]
        out = eager(leaves, blocks)
        out.backward()
        return out, leaves

    # micrograd's topological sort recurses once per level of the graph: raise the limit for it alone
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 2 * BLOCK * len(blocks) + 1000))
    try:
        t, (out, leaves) = best_of(repeats, run)
    finally:
        sys.setrecursionlimit(old)
    return {"run": t, "f": out.data, "grad": [v.grad for v in leaves]}


def measure_torch(x, blocks, repeats):
    import torch

    torch.set_num_threads(1)  # scalar ops: threads only add overhead

    def run():
        leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in x]
        out = eager(leaves, blocks)
        out.backward()
        return out, leaves

    t, (out, leaves) = best_of(repeats, run)
    return {"run": t, "f": out.item(), "grad": [v.grad.item() for v in leaves]}


MEASURE = {"graphcomp": measure_graphcomp, "micrograd": measure_micrograd, "torch": measure_torch}


def one(library, n):
    """Measure one library at one size in this process; prints a JSON line."""
    x, blocks = blueprint(n)
    repeats = max(1, min(5, 10**5 // n))
    result = MEASURE[library](x, blocks, repeats)
    print(json.dumps(result))


def child(library, n):
    """Run `one` in a fresh interpreter; returns its result dict, or {'error': ...}."""
    cmd = [sys.executable, __file__, "--one", library, str(n)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 30 min"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        if proc.returncode < 0:
            tail = f"killed by signal {-proc.returncode} (a crash: C stack overflow?)"
        return {"error": tail[:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check(results, x, n):
    """The three libraries computed the same f and gradient, and Euler's identity holds."""
    ok = [r for r in results.values() if "error" not in r]
    ref = ok[0]
    for r in ok[1:]:
        assert abs(r["f"] - ref["f"]) <= 1e-9 * abs(ref["f"]), (n, r["f"], ref["f"])
        assert all(abs(g - h) <= 1e-9 * (abs(h) + 1e-12) for g, h in zip(r["grad"], ref["grad"])), n
    euler = sum(xi * gi for xi, gi in zip(x, ref["grad"]))
    assert abs(euler - ref["f"]) <= 1e-9 * abs(ref["f"]), (n, euler, ref["f"])


def us_per_node(seconds, n):
    return 1e6 * seconds / n


def cli_wall(repeats=7):
    """Wall times of `python cli.py trace eq2.yaml --wrt x2 --mode reverse`, in seconds."""
    cmd = [sys.executable, "cli.py", "trace", "eq2.yaml", "--wrt", "x2", "--mode", "reverse"]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max", type=float, default=1e6, help="largest graph size (default 1e6)")
    ap.add_argument("--one", nargs=2, metavar=("LIBRARY", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]))
        return

    print(f"forward + reverse, µs per node (best of up to 5); python {sys.version.split()[0]}")
    head = (f"{'nodes':>9} | {'jit':>6} | {'interp.':>7} | {'micrograd':>9} | {'torch':>6} | "
            f"{'micrograd ÷ jit':>15} | {'torch ÷ jit':>11} | {'micrograd ÷ interp.':>19} | {'torch ÷ interp.':>15} | "
            f"{'build':>6} | {'compile':>7} | {'jit once':>8} | {'one-shot':>8} | {'micrograd ÷ one-shot':>20}")
    print(head)
    print("-" * len(head))
    for n in (s for s in SIZES if s <= args.max):
        results = {lib: child(lib, n) for lib in LIBRARIES}
        check(results, blueprint(n)[0], n)
        gc = results["graphcomp"]

        def us(seconds, width):
            return f"{'–':>{width}}" if seconds is None else f"{us_per_node(seconds, n):>{width}.2f}"

        def ratio(lib, key, width, digits=1):
            r = results[lib]
            return f"{'–':>{width}}" if "error" in r or key not in gc else f"{r['run'] / gc[key]:>{width - 1}.{digits}f}×"

        def run(lib):
            return None if "error" in results[lib] else results[lib]["run"]

        print(f"{n:>9,} | {us(gc.get('jit'), 6)} | {us(gc['run'], 7)} | {us(run('micrograd'), 9)} | "
              f"{us(run('torch'), 6)} | {ratio('micrograd', 'jit', 15)} | {ratio('torch', 'jit', 11)} | "
              f"{ratio('micrograd', 'run', 19)} | {ratio('torch', 'run', 15)} | {us(gc['build'], 6)} | "
              f"{us(gc['compile'], 7)} | {us(gc.get('jit_compile'), 8)} | {us(gc['once'], 8)} | "
              f"{ratio('micrograd', 'once', 20, 2)}", flush=True)
        for lib in LIBRARIES:
            if "error" in results[lib]:
                print(f"{'':>9}   {lib} failed at {n:,} nodes: {results[lib]['error']}")
    print("graphcomp: jit = trace(jit=True), interp. = the interpreted sweeps; one-time costs in µs per node: "
          "build = from_dict, compile = the first trace's extra time, jit once = generating and compiling the "
          "straight-line code (jit stops at codegen.MAX_STEPS steps: '–'); one-shot = building the graph from the "
          "blueprint (Graph(nodes, ordered=True)) plus one forward and reverse trace, against micrograd's build "
          "plus backward (target: micrograd ÷ one-shot ≥ 1)")

    times = cli_wall()
    print(f"\npython cli.py trace eq2.yaml --wrt x2 --mode reverse: wall {min(times):.3f} s best, "
          f"{statistics.median(times):.3f} s median of {len(times)} (target < 0.4 s)")


if __name__ == "__main__":
    main()
