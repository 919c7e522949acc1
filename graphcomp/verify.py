"""Problem 3(c): the gradient of a scalar-output graph computed four ways, and how far apart they are.

(i)   analytic: the hand-derived formulas of graphcomp.mlp (only for graphs shaped like Fig. 1);
(ii)  engine: graphcomp's reverse pass;
(iii) torch: PyTorch autograd on float64 tensors copied from the same numpy arrays
      (the graph's forward functions run on torch tensors; torch differentiates them);
(iv)  fd: central finite differences of the engine's forward pass, entry by entry.

Every input value comes from one place (the spec, its seeded draws, --data, --at),
so the four methods see the same numbers. torch is imported only here, and only
when asked for; without it the other three still run.
"""
from dataclasses import dataclass, field

import numpy as np

from graphcomp import mlp, ops
from graphcomp.graph import CONST, INPUT
from graphcomp.kits import ArrayKit, FloatKit
from graphcomp.sweeps import plan, values

METHODS = ("analytic", "engine", "torch", "fd")
TORCH_HINT = "pip install torch==2.13.0"
# (rtol, atol), normwise per parameter: |a - b|_max <= atol + rtol * max(|a|_max, |b|_max)
EXACT_TOL = (1e-10, 1e-12)  # between exact methods: only rounding differs
FD_TOL = (1e-6, 1e-8)  # central differences: O(h²) truncation plus O(eps/h) rounding, h ≈ eps^(1/3)


@dataclass(frozen=True)
class Comparison:
    """How far method `a`'s gradient is from method `b`'s, for one parameter."""

    a: str
    b: str
    param: str
    abs_diff: float  # max |a - b| over the entries
    scale: float  # the larger of max |a| and max |b|
    tol: tuple  # (rtol, atol)

    @property
    def rel_diff(self):
        """abs_diff / scale (0 when both gradients are 0)."""
        return self.abs_diff / self.scale if self.scale else 0.0

    @property
    def ok(self):
        """Within tolerance: abs_diff ≤ atol + rtol · scale."""
        rtol, atol = self.tol
        return self.abs_diff <= atol + rtol * self.scale


@dataclass
class Report:
    """Gradients by method ({method: {param: array}}), their pairwise comparisons, and what was skipped and why."""

    graph: object
    value: float
    inputs: dict
    gradients: dict
    skipped: dict = field(default_factory=dict)
    comparisons: list = field(default_factory=list)
    kinks: dict = field(default_factory=dict)  # {ReLU node: how many of its inputs sit at the kink 0}

    @property
    def ok(self):
        """True when every comparison is within its tolerance."""
        return all(c.ok for c in self.comparisons)


def verify(graph, *, seed=None, dist=None, data=None, at=None, use_torch=True):
    """Compute the gradient of `graph`'s output every available way and compare each pair of methods."""
    t = graph.trace(at=at, mode="reverse", seed=seed, data=data, dist=dist)
    inputs = t.inputs
    report = Report(graph, float(t.value), inputs, {}, kinks=relu_kinks(graph, t.values))
    analytic = analytic_gradients(graph, inputs, t.value)
    if analytic is None:
        report.skipped["analytic"] = "skipped, the graph is not Fig. 1's network (inputs x, W1, W2, W3, y and its value)"
    else:
        report.gradients["analytic"] = analytic
    report.gradients["engine"] = {k: np.asarray(g, dtype=float) for k, g in t.gradient.items()}
    torch_grads = torch_gradients(graph, inputs) if use_torch else None
    if torch_grads is None:
        report.skipped["torch"] = f"not installed; {TORCH_HINT}" if use_torch else "skipped (--no-torch)"
    else:
        report.gradients["torch"] = torch_grads
    report.gradients["fd"] = finite_differences(graph, inputs)
    names = [m for m in METHODS if m in report.gradients]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            tol = FD_TOL if "fd" in (a, b) else EXACT_TOL
            for param, ga in report.gradients[a].items():
                report.comparisons.append(_compare(a, b, param, ga, report.gradients[b][param], tol))
    return report


def relu_kinks(graph, values, rel=1e-5):
    """{ReLU node: number of its input entries within rel·max(1, |input|max) of 0}: there the
    one-sided derivatives differ, central differences straddle the kink, and only fd can disagree."""
    out = {}
    for n in graph.nodes:
        if n.op == "relu":
            pre = np.abs(np.asarray(values[n.args[0]], dtype=float))
            count = int(np.count_nonzero(pre <= rel * max(1.0, float(np.max(pre, initial=0.0)))))
            if count:
                out[n.name] = count
    return out


def _compare(a, b, param, ga, gb, tol):
    diff = float(np.max(np.abs(ga - gb), initial=0.0))
    scale = max(float(np.max(np.abs(ga), initial=0.0)), float(np.max(np.abs(gb), initial=0.0)))
    return Comparison(a, b, param, diff, scale, tol)


def analytic_gradients(graph, inputs, value):
    """(i) graphcomp.mlp's formulas when the graph is Fig. 1's network (checked by name and by value), else None."""
    variables = {graph.nodes[i].name for i in graph.inputs if graph.nodes[i].kind == INPUT}
    x = next((k for k in ("x", "X") if k in inputs), None)
    y = next((k for k in ("y", "Y") if k in inputs), None)
    if variables != {"W1", "W2", "W3"} or x is None or y is None:
        return None
    args = [np.asarray(inputs[k], dtype=float) for k in ("W1", "W2", "W3", x, y)]
    try:
        same = np.isclose(mlp.loss(*args), value, rtol=1e-12, atol=0.0)
    except ValueError:  # shapes that do not multiply: another network
        return None
    if not same:
        return None
    return dict(zip(("W1", "W2", "W3"), mlp.gradients(*args)))


class _TorchKit:
    """The math-kit functions the forward rules call, as torch functions."""

    def __init__(self, torch):
        self.sin, self.cos, self.tan, self.exp, self.log = torch.sin, torch.cos, torch.tan, torch.exp, torch.log
        self.sqrt, self.tanh, self.sigmoid, self.relu = torch.sqrt, torch.tanh, torch.sigmoid, torch.relu
        self.power, self.total = torch.pow, torch.sum


def torch_gradients(graph, inputs):
    """(iii) PyTorch autograd (float64) of the graph's forward functions at `inputs`, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    kit = _TorchKit(torch)
    v, leaves = [], {}
    for n in graph.nodes:
        if n.op is not None:
            v.append(ops.REGISTRY[n.op].fwd(kit, *(v[a] for a in n.args), **n.params))
            continue
        x = np.array(n.value if n.kind == CONST else inputs[n.name], dtype=np.float64)  # a copy torch may own
        v.append(torch.tensor(x, dtype=torch.float64, requires_grad=n.kind == INPUT))
        if n.kind == INPUT:
            leaves[n.name] = v[-1]
    v[graph.output].backward()
    return {k: (t.grad.numpy() if t.grad is not None else np.zeros(t.shape)) for k, t in leaves.items()}


def finite_differences(graph, inputs, h=None):
    """(iv) Central differences (f(x + hₖ eₖ) − f(x − hₖ eₖ)) / 2hₖ for every entry of every variable input.

    hₖ = h·max(1, |xₖ|) with h = eps^(1/3) ≈ 6e-6 by default, which balances truncation (h²) and rounding (eps/h).
    Near a ReLU kink (a pre-activation within hₖ of 0) the difference straddles it and is wrong.
    """
    h = np.finfo(float).eps ** (1 / 3) if h is None else h
    kit = FloatKit if graph.scalar else ArrayKit
    p = plan(graph, kit)
    base = {i: kit.coerce(inputs[graph.nodes[i].name]) for i in graph.inputs}

    def f(i, x):
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            return float(values(graph, p, {**base, i: x})[graph.output])

    out = {}
    for i in graph.inputs:
        n = graph.nodes[i]
        if n.kind != INPUT:
            continue
        x0 = base[i]
        if not n.shape:
            step = h * max(1.0, abs(x0))
            out[n.name] = np.float64((f(i, x0 + step) - f(i, x0 - step)) / (2 * step))
            continue
        grad = np.empty(n.shape)
        for k in np.ndindex(*n.shape):
            step = h * max(1.0, abs(x0[k]))
            up, down = x0.copy(), x0.copy()
            up[k] += step
            down[k] -= step
            grad[k] = (f(i, up) - f(i, down)) / (2 * step)
        out[n.name] = grad
    return out
