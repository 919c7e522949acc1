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

from graphcomp import ops
from graphcomp.core.errors import DomainError, GraphcompError
from graphcomp.core.nodes import CONST, INPUT
from graphcomp.engine.plan import plan
from graphcomp.engine.sweeps import values
from graphcomp.ops.kits import TORCH_HINT, kit_for, torch_kit
from graphcomp.problems import mlp

METHODS = ("analytic", "engine", "torch", "fd")
# (rtol, atol), normwise per parameter: |a - b|_max <= atol + rtol * max(|a|_max, |b|_max)
EXACT_TOL = (1e-10, 1e-12)  # between exact methods: only rounding differs
# against finite differences the atol also gets their own error estimate (truncation and rounding, per parameter)
FD_TOL = (1e-6, 1e-8)
FD_MAX_REL = 1e-4  # an fd estimate less accurate than this (relative to the gradient) is not compared: it would pass anything
EPS = np.finfo(float).eps
FD_STEP = EPS ** (1 / 3)  # the step that balances truncation (h²) and rounding (eps/h) for a function on scale 1
FD_STEPS = 60  # at most this many step sizes per entry
FD_PATIENCE = 2  # below the smallest natural step, stop after this many steps without a better estimate


class FDUnavailable(Exception):
    """Finite differences cannot check the gradient here (a probe leaves a domain, or no step is accurate)."""


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
    fd_error: dict = field(default_factory=dict)  # {param: the largest error estimate of its finite differences}

    @property
    def ok(self):
        """True when every comparison is within its tolerance."""
        return all(c.ok for c in self.comparisons)

    @property
    def constant(self):
        """True when no differentiable input reaches the output (only constants and data do): every gradient is 0."""
        return not self.graph.active[self.graph.output]

    @property
    def all_zero(self):
        """True when every gradient the engine computed is 0 (for Fig. 1: every ReLU path is dead)."""
        return all(not np.any(x) for x in self.gradients["engine"].values())


def verify(graph, *, seed=None, dist=None, data=None, at=None, use_torch=True, backend=None, device=None):
    """Compute the gradient of `graph`'s output every available way and compare each pair of methods
    (the engine's reverse sweep on `backend`, numpy or torch)."""
    graph.scalar_output("verify")
    t = graph.trace(at=at, mode="reverse", seed=seed, data=data, dist=dist, backend=backend, device=device)
    inputs = t.inputs
    report = Report(graph, float(t.value), inputs, {}, kinks=relu_kinks(graph, t.values))
    analytic = analytic_gradients(graph, inputs, t.value)
    if analytic is None:
        report.skipped["analytic"] = "skipped, the graph is not Fig. 1's network (inputs x or X, W1, W2, W3, y or Y, and its value)"
    else:
        report.gradients["analytic"] = analytic
    report.gradients["engine"] = {k: np.asarray(g, dtype=float) for k, g in t.gradient.items()}
    torch_grads = torch_gradients(graph, inputs) if use_torch else None
    if torch_grads is None:
        report.skipped["torch"] = f"not installed; {TORCH_HINT}" if use_torch else "skipped (--no-torch)"
    else:
        report.gradients["torch"] = torch_grads
    try:
        report.gradients["fd"], report.fd_error = _fd_column(graph, inputs)
    except FDUnavailable as exc:
        report.skipped["fd"] = str(exc)
    names = [m for m in METHODS if m in report.gradients]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for param, ga in report.gradients[a].items():
                tol = (FD_TOL[0], FD_TOL[1] + report.fd_error[param]) if "fd" in (a, b) else EXACT_TOL
                report.comparisons.append(_compare(a, b, param, ga, report.gradients[b][param], tol))
    return report


def _fd_column(graph, inputs):
    """({param: fd gradient}, {param: its largest error estimate}), or FDUnavailable when they would say nothing."""
    grads, errors = finite_differences_with_errors(graph, inputs)
    worst = {k: float(np.max(e, initial=0.0)) for k, e in errors.items()}
    for k, err in worst.items():
        scale = float(np.max(np.abs(grads[k]), initial=0.0))
        if np.isinf(err):
            raise FDUnavailable(f"not compared: no usable step h in {k} at this point (x ± h rounds back to x "
                                "before two estimates agree)")
        if not err <= FD_MAX_REL * scale + FD_TOL[1]:
            raise FDUnavailable(f"not compared: at this point no step h estimates the derivative in {k} to better than "
                                f"±{err:.1e} (rounding or curvature swamps f(x + h) − f(x − h))")
    return grads, worst


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


def torch_gradients(graph, inputs):
    """(iii) PyTorch autograd (float64) of the graph's forward functions at `inputs`, or None without torch."""
    try:
        kit = torch_kit()
    except GraphcompError:
        return None
    v, leaves = [], {}
    for n in graph.nodes:
        if n.op is not None:
            v.append(ops.REGISTRY[n.op].fwd(kit, *(v[a] for a in n.args), **n.params))
            continue
        v.append(kit.coerce(n.value if n.kind == CONST else inputs[n.name]).clone())  # a copy torch may own
        if n.kind == INPUT:
            leaves[n.name] = v[-1].requires_grad_()
    if v[graph.output].requires_grad:  # else no differentiable input reaches the output: every gradient is 0
        v[graph.output].backward()
    return {k: (t.grad.numpy() if t.grad is not None else np.zeros(tuple(t.shape))) for k, t in leaves.items()}


def finite_differences_with_errors(graph, inputs):
    """(iv) Central differences entry by entry: ({param: gradient}, {param: error estimate per entry}).

    Each entry xₖ gets its own step (see _derivative). A probe that leaves an op's domain at every step
    raises FDUnavailable: a limit of the check, not an error in the inputs.
    """
    kit = kit_for(graph.scalar)
    p = plan(graph, kit)
    base = {i: kit.coerce(inputs[graph.nodes[i].name]) for i in graph.inputs}
    grads, errors = {}, {}
    for i in graph.inputs:
        n = graph.nodes[i]
        if n.kind != INPUT:
            continue
        x0 = base[i]
        if not n.shape:
            d, err = _entry(graph, p, base, i, n.name, x0, lambda x: x)
            grads[n.name], errors[n.name] = np.float64(d), np.float64(err)
            continue
        grads[n.name], errors[n.name] = np.empty(n.shape), np.empty(n.shape)
        for k in np.ndindex(*n.shape):
            def at(x, k=k):
                moved = x0.copy()
                moved[k] = x
                return moved

            grads[n.name][k], errors[n.name][k] = _entry(graph, p, base, i, f"{n.name}{list(k)}", float(x0[k]), at)
    return grads, errors


def _entry(graph, p, base, i, where, x, at):
    """(df/dxₖ, error estimate) at xₖ = x for one entry of input i; `at(xₖ)` gives the input with that entry set."""
    def f(xk):
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            return float(values(graph, p, {**base, i: at(xk)})[graph.output])

    try:
        return _derivative(f, x)
    except DomainError as exc:
        raise FDUnavailable(f"could not run at {where} = {x!r}: the probes x ± h leave an op's domain (node "
                            f"'{exc.node}': {exc.message}); a limit of the check, not an error in the input") from None


def _derivative(f, x):
    """(f'(x), error estimate) by central differences D(h) = (f(x+h) − f(x−h)) / 2h over shrinking steps h.

    A fixed h·max(1, |x|) fails both ways: too coarse for log near 0 (the function's scale is |x|), too
    coarse for sin(x) at x = 1e6 (its scale is 1). So h starts at eps^(1/3)·max(1, |x|) and shrinks past
    eps^(1/3)·min(1, |x|), by 4 per step (more when that range is huge). The error of D(h) is estimated as
    |D(h) − D(previous h)| (truncation is O(h²), so this bounds it) plus eps·|f|/h (rounding); the estimate
    with the smallest error is returned. Steps stop once rounding alone exceeds the best error, or when the
    error has stopped falling below the small end. A probe outside an op's domain skips that step; when
    no two steps in a row succeed, the last DomainError is raised.
    """
    hi = FD_STEP * max(1.0, abs(x))
    lo = FD_STEP * max(min(1.0, abs(x)), np.finfo(float).tiny) if x else hi  # no subnormal steps: they lose digits
    ratio = max(4.0, (hi / lo) ** (1 / 20))  # at most 20 steps to go from hi to lo
    best, prev, stale, failure, h = (np.inf, np.nan), None, 0, None, hi
    for _ in range(FD_STEPS):
        up, down = x + h, x - h
        if up == down:
            break  # h is below x's precision
        try:
            fu, fd = f(up), f(down)
        except DomainError as exc:
            failure, prev = exc, None
        else:
            width = up - down  # the step as represented, not 2h: x ± h are rounded
            d, rounding = (fu - fd) / width, 2 * EPS * max(abs(fu), abs(fd)) / width
            if prev is not None:
                err = abs(d - prev) + rounding
                stale = 0 if err < best[0] else stale + 1
                if not stale:
                    best = (err, d)
            if rounding > best[0] or (h < lo and stale >= FD_PATIENCE):
                break
            prev = d
        h /= ratio if h > lo else 4.0
    if np.isinf(best[0]) and failure is not None:
        raise failure
    return best[1], best[0]
