"""Why reverse mode: what forward and reverse mode cost on a family f: ℝⁿ → ℝᵐ, as n and m grow.

The family: inputs x_1 … x_n; s = x_1 + … + x_n, added pairwise level by level (n − 1 adds, ⌈log₂ n⌉
deep); a shared core of DEPTH steps, p_0 = s, p_k = sin(p_{k−1}); outputs f_j = j · p_DEPTH for j = 1 … m.
Every input reaches every output through the core, so a forward sweep (seeded at one input) runs its
⌈log₂ n⌉ adds, the core and every output, and a reverse sweep (from one output) runs the core and every
add: forward mode costs about n · (DEPTH + m + log₂ n) operations, reverse mode about m · (DEPTH + n),
and the cheaper mode changes where n and m cross. The operations are
the steps the sweeps execute (engine.jacobian counts them); the times are their wall time.
"""
from dataclasses import dataclass

from graphcomp.engine.jacobian import jacobian
from graphcomp.frontends.spec import from_dict

DEPTH = 50
SIZES = (1, 3, 10, 30, 100, 300, 1000)


def family(n, m, depth=DEPTH):
    """The spec of f: ℝⁿ → ℝᵐ (see the module), its inputs at 0.1, 0.2, …"""
    inputs = [{"name": f"x{i}", "value": round(0.1 * i, 6)} for i in range(1, n + 1)]
    nodes = []
    last = _pairwise_sum([f"x{i}" for i in range(1, n + 1)], nodes, "s")
    for k in range(1, depth + 1):
        nodes.append({"name": f"p{k}", "op": "sin", "inputs": [last]})
        last = f"p{k}"
    outputs = [f"f{j}" for j in range(1, m + 1)]
    nodes += [{"name": f, "op": "mul", "inputs": [last, float(j)]} for j, f in enumerate(outputs, 1)]
    return {"name": f"family_{n}x{m}", "description": f"f: R^{n} -> R^{m}", "inputs": inputs, "nodes": nodes,
            "outputs": outputs}


def dense(n):
    """The spec of f(x) = Σᵢ sin(xᵢ s) with s = x₁ + … + xₙ (added pairwise): f: ℝⁿ → ℝ in 4n − 2 steps, of which
    every input reaches the 3n − 1 after s and its ⌈log₂ n⌉ adds into s, so that a forward sweep costs nearly an
    evaluation (the textbook's n× for forward mode) while one reverse sweep gives the whole gradient. Inputs at
    1/n, 2/n, …, 1."""
    names = [f"x{i}" for i in range(1, n + 1)]
    inputs = [{"name": x, "value": i / n} for i, x in enumerate(names, 1)]
    nodes = []
    s = _pairwise_sum(names, nodes, "s")
    for i, x in enumerate(names, 1):
        nodes += [{"name": f"u{i}", "op": "mul", "inputs": [x, s]}, {"name": f"w{i}", "op": "sin", "inputs": [f"u{i}"]}]
    f = _pairwise_sum([f"w{i}" for i in range(1, n + 1)], nodes, "t")
    return {"name": f"dense_{n}", "description": f"f(x) = sum_i sin(x_i (x_1 + ... + x_{n})), x in R^{n}",
            "inputs": inputs, "nodes": nodes, "output": f}


def _pairwise_sum(names, nodes, prefix):
    """Append to `nodes` the adds of `names` summed pairwise, level by level (so that each name reaches the sum
    through ⌈log₂ n⌉ adds, not up to n), named prefix0, prefix1, …; returns the sum's name."""
    level, made = list(names), 0
    while len(level) > 1:
        pairs = [level[k:k + 2] for k in range(0, len(level), 2)]
        level = []
        for pair in pairs:
            if len(pair) == 2:
                nodes.append({"name": f"{prefix}{made}", "op": "add", "inputs": pair})
                pair, made = [nodes[-1]["name"]], made + 1
            level.append(pair[0])
    return level[0]


@dataclass(frozen=True)
class Point:
    """Both modes' cost at one (n, m): operations and seconds, and whether their Jacobians agree."""

    n: int
    m: int
    forward_ops: int
    reverse_ops: int
    forward_s: float
    reverse_s: float
    agree: bool


def measure(n, m):
    """The cost of both modes for the family's f: ℝⁿ → ℝᵐ."""
    jac = jacobian(from_dict(family(n, m)))
    f, r = jac.costs["forward"], jac.costs["reverse"]
    return Point(n, m, f.operations, r.operations, f.seconds, r.seconds, jac.agree)


def sweep(sizes=SIZES, fixed=1):
    """Two series: n over `sizes` with m = `fixed` (f: ℝⁿ → ℝ, a loss), and m over `sizes` with n = `fixed`."""
    return [measure(n, fixed) for n in sizes], [measure(fixed, m) for m in sizes]


def crossover(points, along, mode):
    """The first size along `along` ('n' or 'm') at which `mode`'s operations exceed the other mode's, or None."""
    return next((getattr(p, along) for p in points
                 if (p.forward_ops > p.reverse_ops if mode == "forward" else p.reverse_ops > p.forward_ops)), None)
