"""Problem 1: recover x from y_i = (a_iᵀx)² by Newton, Gauss–Newton and Levenberg–Marquardt.

The objective is f(x) = ¼ Σ (y_i − (a_iᵀx)²)², i.e. ¼‖r(x)‖² with residual
r_i(x) = (a_iᵀx)² − y_i. numpy only and no printing: `graphcomp.commands.solve`
does the I/O (scipy is imported only by the reference solver). The methods read
derivatives from any object with the callables f, grad, hess, residual and jac:
`Analytic` (hand-derived formulas) or `Engine` (the graph engine on graphs/phase.yaml).
"""
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from graphcomp.core.errors import GraphcompError
from graphcomp.core.values import generator
from graphcomp.frontends.spec import from_dict, resolve, safe_load

METHODS = ("newton", "gauss-newton", "lm")
REFERENCE = "scipy-lm"
INITS = ("random", "spectral")
SOURCES = ("analytic", "engine")
GLOBAL, SPURIOUS, SADDLE, MAXIMUM, NO_CONVERGENCE = (
    "global minimum",
    "spurious local minimum",
    "saddle point",
    "local maximum",
    "no convergence",
)
FAILURES = (SPURIOUS, SADDLE, MAXIMUM, NO_CONVERGENCE)
PHASE_RATIOS = tuple(1.5 + 0.5 * k for k in range(14))  # m/n = 1.5, 2, …, 8

# Classifier thresholds, relative to the scales of f, ∇f and ∇²f at the origin (see `Scales`).
F_ZERO = 1e-14
G_ZERO = 1e-6
EIG_ZERO = 1e-9
RECOVERED = 1e-6


@dataclass(frozen=True)
class Instance:
    """One seeded problem: A (m×n, iid N(0,1)), the hidden x_true ~ N(0, I) and y = (A x_true)²."""

    A: np.ndarray
    x_true: np.ndarray
    y: np.ndarray
    seed: int

    @property
    def n(self):
        return self.A.shape[1]

    @property
    def m(self):
        return self.A.shape[0]


def make_instance(n, m, seed):
    """The instance of size (n, m), drawn as numpy.random.seed(seed); A = numpy.random.standard_normal((m, n));
    x = numpy.random.standard_normal(n) draw it (with a generator of its own: numpy's global one is left alone)."""
    check_size(n, m)
    rng = generator("legacy", seed)
    A = rng.standard_normal((m, n))
    x_true = rng.standard_normal(n)
    return Instance(A, x_true, (A @ x_true) ** 2, seed)


def check_size(n, m):
    """Raise GraphcompError unless 0 < n ≤ m (with m < n the signal is not determined by y)."""
    if n <= 0:
        raise GraphcompError(f"--n must be positive, got {n}")
    if m < n:
        raise GraphcompError(f"--m must be at least --n (m={m} < n={n}): fewer equations than unknowns")


class Analytic:
    """f, ∇f, ∇²f, r and J of f(x) = ¼ Σ (y_i − (a_iᵀx)²)² from the hand-derived formulas.

    Any y is accepted (not only y = (A x)²), so small instances with known
    stationary points can be built by hand.
    """
    def __init__(self, A, y):
        self.A = np.asarray(A, dtype=float)
        self.y = np.asarray(y, dtype=float)

    def f(self, x):
        """¼ Σ (y_i − (a_iᵀx)²)²."""
        r = self.residual(x)
        return 0.25 * float(r @ r)

    def grad(self, x):
        """Σ ((a_iᵀx)² − y_i)(a_iᵀx) a_i."""
        z = self.A @ x
        return self.A.T @ ((z * z - self.y) * z)

    def hess(self, x):
        """Σ (3(a_iᵀx)² − y_i) a_i a_iᵀ."""
        z = self.A @ x
        return (self.A.T * (3 * z * z - self.y)) @ self.A

    def residual(self, x):
        """r_i = (a_iᵀx)² − y_i."""
        z = self.A @ x
        return z * z - self.y

    def jac(self, x):
        """The m×n Jacobian of r, rows 2(a_iᵀx) a_iᵀ."""
        return 2 * (self.A @ x)[:, None] * self.A


class Engine:
    """The same five callables computed by the graph engine from graphs/phase.yaml.

    f is a value sweep, ∇f one reverse sweep, ∇²f forward over reverse (one
    Hessian–vector product per column). The spec's node 'r' is y − (Ax)², so
    the residual is its negative and J's columns are the negated forward-mode
    tangents of 'r' along the unit vectors.
    """
    SPEC = "phase.yaml"

    def __init__(self, A, y):
        path = resolve(self.SPEC)
        doc = safe_load(path.read_text(encoding="utf-8"))
        m, n = np.shape(A)
        shapes = {"A": [m, n], "y": [m], "x": [n]}
        for entry in doc["inputs"]:
            entry["shape"] = shapes[entry["name"]]  # the spec is written for n=20, m=100
        self.graph = from_dict(doc, file=str(path))
        self.graph.node("r")  # the residual is read from this node: fail now, naming the spec, if it is gone
        self.data = {"A": np.asarray(A, dtype=float), "y": np.asarray(y, dtype=float)}

    def _at(self, x):
        return {**self.data, "x": np.asarray(x, dtype=float)}

    def f(self, x):
        """f by a value sweep."""
        return float(self.graph.trace(at=self._at(x), mode="value").value)

    def grad(self, x):
        """∇f by one reverse sweep."""
        return np.asarray(self.graph.gradient(at=self._at(x))["x"], dtype=float)

    def hess(self, x):
        """∇²f by forward over reverse."""
        return self.graph.hessian(self._at(x), "x")

    def residual(self, x):
        """r = (Ax)² − y, the negated value of the spec's node 'r'."""
        return -np.asarray(self.graph.trace(at=self._at(x), mode="value")["r"].v, dtype=float)

    def jac(self, x):
        """J by forward mode, one sweep per column."""
        at = self._at(x)
        cols = [self.graph.trace(at=at, wrt={"x": e}, mode="forward")["r"].d for e in np.eye(np.size(x))]
        return -np.column_stack(cols)


def check_source(source):
    """Raise GraphcompError unless `source` is one of SOURCES."""
    if source not in SOURCES:
        raise GraphcompError(f"unknown derivative source '{source}' (choose from {', '.join(SOURCES)})")


def derivatives(instance, source="analytic"):
    """The derivative provider for `instance`: 'analytic' (hand-derived) or 'engine' (the graph engine)."""
    check_source(source)
    return (Analytic if source == "analytic" else Engine)(instance.A, instance.y)


def random_init(y, n, rng):
    """A uniformly random direction scaled to √mean(y), the expected ‖x_true‖."""
    v = rng.standard_normal(n)
    return np.sqrt(np.mean(y)) * v / np.linalg.norm(v)


def spectral_init(A, y):
    """Top eigenvector of (1/m) Σ y_i a_i a_iᵀ scaled by √mean(y)."""
    M = (A.T * y) @ A / len(y)
    _, vecs = np.linalg.eigh(M)
    return np.sqrt(np.mean(y)) * vecs[:, -1]


def initial_point(instance, init):
    """The seeded starting point of `instance` for init 'random' or 'spectral'."""
    if init == "random":
        return random_init(instance.y, instance.n, np.random.default_rng([instance.seed, 1]))
    if init == "spectral":
        return spectral_init(instance.A, instance.y)
    raise GraphcompError(f"unknown init '{init}' (choose from {', '.join(INITS)})")


def rel_error(x, x_true):
    """Distance from x to the nearer of ±x_true, relative to ‖x_true‖ (y cannot tell the sign)."""
    if x_true is None:
        return float("nan")
    return min(np.linalg.norm(x - x_true), np.linalg.norm(x + x_true)) / np.linalg.norm(x_true)


@dataclass(frozen=True)
class Scales:
    """Units of f, ∇f and ∇²f, taken at the origin where f = ¼Σy² and ∇²f = −Σ y_i a_i a_iᵀ."""

    f: float
    hess: float

    @property
    def grad(self):
        # f ~ m s², ∇²f ~ m s with s = ‖x‖², so ∇f ~ m s^{3/2} = √(f·∇²f).
        return np.sqrt(self.f * self.hess)

    @classmethod
    def at_origin(cls, deriv, n):
        """The scales of `deriv` measured at x = 0."""
        zero = np.zeros(n)
        f0 = deriv.f(zero)
        h0 = np.max(np.abs(np.linalg.eigvalsh(deriv.hess(zero))))
        tiny = np.finfo(float).tiny
        return cls(max(f0, tiny), max(h0, tiny))


@dataclass(frozen=True)
class Verdict:
    """What a point is: one of the kinds GLOBAL … NO_CONVERGENCE, with the evidence."""

    kind: str
    f: float
    grad_norm: float
    eig_min: float
    eig_max: float
    rel_error: float
    recovered: bool

    @property
    def success(self):
        """Global minimum with x_true recovered up to sign (or x_true unknown)."""
        return self.kind == GLOBAL and self.recovered


def classify(deriv, x, *, x_true=None, scales=None):
    """Judge the end point x from f, ‖∇f‖ and the eigenvalues of ∇²f.

    f ≈ 0 is the global minimum; otherwise a stationary point (‖∇f‖ ≈ 0) is a
    spurious local minimum (no negative eigenvalue), a local maximum (no positive
    one) or a saddle point, and a non-stationary point is 'no convergence'.
    """
    scales = scales or Scales.at_origin(deriv, x.size)
    fx, g = deriv.f(x), np.linalg.norm(deriv.grad(x))
    eig = np.linalg.eigvalsh(deriv.hess(x))
    err = rel_error(x, x_true)
    recovered = x_true is None or err <= RECOVERED
    eps = EIG_ZERO * scales.hess
    if fx <= F_ZERO * scales.f:
        kind = GLOBAL
    elif g > G_ZERO * scales.grad:
        kind = NO_CONVERGENCE
    elif eig[0] >= -eps:
        kind = SPURIOUS
    elif eig[-1] <= eps:
        kind = MAXIMUM
    else:
        kind = SADDLE
    return Verdict(kind, fx, float(g), float(eig[0]), float(eig[-1]), err, bool(recovered))


def curvature(deriv, x):
    """(∇²f, ½JᵀJ) at x: the matrix Newton's step solves with, and the one Gauss–Newton puts in its place
    (f = ¼‖r‖² makes ∇²f = ½JᵀJ + Σ rᵢ ∇²rᵢ, so ½JᵀJ is on the same scale, and equal where r = 0)."""
    J = deriv.jac(x)
    return deriv.hess(x), 0.5 * (J.T @ J)


def first_instance(n, m, seed, *, method="newton", kind=SADDLE, init="random", limit=50):
    """The first instance of seeds seed, seed + 1, …, seed + limit − 1 on which `method` from `init` ends at a
    point of `kind` (a saddle point: where Newton's method fails and Gauss–Newton's does not), or the instance of
    `seed` when none of them does."""
    for s in range(seed, seed + limit):
        instance = make_instance(n, m, s)
        if recover(instance, method, init)[0].verdict.kind == kind:
            return instance
    return make_instance(n, m, seed)


@dataclass(frozen=True)
class Step:
    """One row of a run's history; step is ‖x_k − x_{k−1}‖ and time is seconds since the start."""

    k: int
    f: float
    grad_norm: float
    step: float
    rel_error: float
    time: float


@dataclass
class Run:
    """One run of a method from one starting point, and the verdict at its end point."""

    method: str
    x: np.ndarray
    iterations: int
    time: float
    status: str  # 'converged', 'max iterations' or 'diverged'
    verdict: Verdict | None  # None when run with judge=False
    history: list = field(default_factory=list)


def lstsq(J, b):
    """argmin_d ‖J d − b‖ by Householder QR of [J | b]: R's last column is Qᵀb, so Q is never formed.

    Falls back to the SVD (np.linalg.lstsq, minimum-norm solution) when R is
    numerically singular. JᵀJ is never formed: it would square J's condition number.
    """
    m, n = J.shape
    R = np.linalg.qr(np.column_stack([J, b]), mode="r")
    diag = np.abs(np.diagonal(R)[:n])
    if m >= n and diag.min() > np.finfo(float).eps * max(m, n) * diag.max():
        return np.linalg.solve(R[:n, :n], R[:n, n])
    return np.linalg.lstsq(J, b, rcond=None)[0]


# A step of each method: step(deriv, x) → (the step d, f(x), ∇f(x)); a new stepper for each run.
def _newton(deriv, x):
    g, H = deriv.grad(x), deriv.hess(x)
    try:
        d = np.linalg.solve(H, -g)
    except np.linalg.LinAlgError:  # singular Hessian: take the minimum-norm step instead
        d = np.linalg.lstsq(H, -g, rcond=None)[0]
    return d, deriv.f(x), g


def _gauss_newton(deriv, x):
    r, J = deriv.residual(x), deriv.jac(x)
    # f = ¼‖r‖² gives f and ∇f = ½Jᵀr for the history at no extra cost.
    return lstsq(J, -r), 0.25 * (r @ r), 0.5 * (J.T @ r)


class _LevenbergMarquardt:
    """Gauss–Newton with damping λ: solves [J; √λ I] d ≈ [−r; 0], λ updated by Nielsen's rule."""
    lam, nu = None, 2.0

    def __call__(self, deriv, x):
        r, J = deriv.residual(x), deriv.jac(x)
        cost = r @ r
        if self.lam is None:
            self.lam = 1e-3 * max(np.max(np.einsum("ij,ij->j", J, J)), np.finfo(float).tiny)
        rhs = np.concatenate([-r, np.zeros(x.size)])
        eye = np.eye(x.size)
        while True:
            d = lstsq(np.vstack([J, np.sqrt(self.lam) * eye]), rhs)
            if np.linalg.norm(d) <= np.finfo(float).eps * np.linalg.norm(x):
                break  # damping has shrunk the step to rounding: x is stationary
            r_new = deriv.residual(x + d)
            model = r + J @ d
            predicted, actual = cost - model @ model, cost - r_new @ r_new
            if predicted > 0 and actual > 0:
                self.lam *= max(1 / 3, 1 - (2 * actual / predicted - 1) ** 3)
                self.nu = 2.0
                break
            self.lam *= self.nu
            self.nu *= 2
        return d, 0.25 * cost, 0.5 * (J.T @ r)


STEPPERS = {"newton": lambda: _newton, "gauss-newton": lambda: _gauss_newton, "lm": _LevenbergMarquardt}


def run(deriv, method, x0, *, iters=100, tol=1e-12, x_true=None, scales=None, judge=True):
    """Iterate `method` from x0 until a step is below tol·‖x‖, or `iters` steps.

    `method` is one of METHODS or REFERENCE (scipy's least_squares 'lm').
    Newton and Gauss–Newton take full steps, as the problem asks. With
    judge=False the end point is not classified (verdict None), which saves
    two Hessian eigen-decompositions on large problems.
    """
    if method == REFERENCE:
        return _run_scipy(deriv, x0, tol=tol, x_true=x_true, scales=scales, judge=judge)
    if method not in STEPPERS:
        raise GraphcompError(f"unknown method '{method}' (choose from {', '.join(METHODS)})")
    step = STEPPERS[method]()
    x = np.array(x0, dtype=float)
    start = time.perf_counter()
    d, fx, g = step(deriv, x)
    history = [Step(0, fx, float(np.linalg.norm(g)), float("nan"), rel_error(x, x_true), 0.0)]
    status = "max iterations"
    for k in range(1, iters + 1):
        length = float(np.linalg.norm(d))
        if not np.isfinite(length):
            status = "diverged"
            break
        x, now = x + d, time.perf_counter() - start
        done = length <= tol * np.linalg.norm(x)
        if done or k == iters:
            fx, g = deriv.f(x), deriv.grad(x)
        else:
            d, fx, g = step(deriv, x)
        history.append(Step(k, fx, float(np.linalg.norm(g)), length, rel_error(x, x_true), now))
        if done:
            status = "converged"
            break
    elapsed = time.perf_counter() - start
    verdict = classify(deriv, x, x_true=x_true, scales=scales) if judge else None
    return Run(method, x, len(history) - 1, elapsed, status, verdict, history)


def _run_scipy(deriv, x0, *, tol, x_true, scales, judge):
    from scipy.optimize import least_squares

    x0 = np.array(x0, dtype=float)
    start = time.perf_counter()
    res = least_squares(deriv.residual, x0, jac=deriv.jac, method="lm", xtol=tol, ftol=tol, gtol=tol)
    elapsed = time.perf_counter() - start
    verdict = classify(deriv, res.x, x_true=x_true, scales=scales) if judge else None
    iterations = res.njev if res.njev is not None else res.nfev
    history = [
        Step(0, deriv.f(x0), float(np.linalg.norm(deriv.grad(x0))), float("nan"), rel_error(x0, x_true), 0.0),
        Step(iterations, deriv.f(res.x), float(np.linalg.norm(deriv.grad(res.x))),
             float(np.linalg.norm(res.x - x0)), rel_error(res.x, x_true), elapsed),
    ]
    status = "converged" if res.status > 0 else "max iterations"
    return Run(REFERENCE, res.x, iterations, elapsed, status, verdict, history)


def recover(instance, method, init, *, iters=100, tol=1e-12, restarts=0, source="analytic"):
    """Runs of `method` on `instance`: from `init`, then up to `restarts` fresh random points.

    Restarting stops at the first success (the global minimum value 0 is known,
    so a run ending at f > 0 is known to have failed). runs[0] is the run
    without restarts; runs[-1].verdict.success is the result with them.
    """
    deriv = derivatives(instance, source)
    scales = Scales.at_origin(deriv, instance.n)
    rng = np.random.default_rng([instance.seed, 2])
    options = dict(iters=iters, tol=tol, x_true=instance.x_true, scales=scales)
    runs = [run(deriv, method, initial_point(instance, init), **options)]
    while not runs[-1].verdict.success and len(runs) <= restarts:
        runs.append(run(deriv, method, random_init(instance.y, instance.n, rng), **options))
    return runs


@dataclass
class Summary:
    """Trials of one (method, init): success without and with restarts, medians, failure counts."""

    method: str
    init: str
    trials: int = 0
    successes: int = 0
    successes_restarts: int = 0
    iterations: list = field(default_factory=list)
    times: list = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)

    @property
    def success_rate(self):
        return self.successes / self.trials

    @property
    def success_rate_restarts(self):
        return self.successes_restarts / self.trials

    @property
    def median_iterations(self):
        return float(np.median(self.iterations))

    @property
    def median_time(self):
        return float(np.median(self.times))

    def add(self, runs):
        """Count one instance's runs (from `recover`)."""
        first = runs[0]
        self.trials += 1
        self.successes += first.verdict.success
        self.successes_restarts += runs[-1].verdict.success
        self.iterations.append(first.iterations)
        self.times.append(first.time)
        if not first.verdict.success:
            self.failures[first.verdict.kind] += 1  # GLOBAL here means f = 0 at a point other than ±x_true


def trials(n, m, count, *, seed=0, methods=METHODS + (REFERENCE,), inits=INITS, iters=100, tol=1e-12,
           restarts=0, source="analytic", progress=None):
    """Run every (method, init) on `count` instances with seeds seed, seed+1, …

    Returns a list of Summary in (method, init) order; `progress()` is called
    after each instance.
    """
    check_size(n, m)
    summaries = {(mt, it): Summary(mt, it) for mt in methods for it in inits}
    for k in range(count):
        instance = make_instance(n, m, seed + k)
        for (mt, it), summary in summaries.items():
            summary.add(recover(instance, mt, it, iters=iters, tol=tol, restarts=restarts, source=source))
        if progress:
            progress()
    return list(summaries.values())


def phase_transition(n, count, *, ratios=PHASE_RATIOS, seed=0, inits=INITS, iters=100, tol=1e-12,
                     source="analytic", progress=None):
    """Gauss–Newton success rate against m/n: {init: array of rates, one per ratio}.

    Instance k at every ratio uses seed seed+k; `progress()` is called after each instance.
    """
    rates = {it: np.zeros(len(ratios)) for it in inits}
    for j, ratio in enumerate(ratios):
        m = int(round(ratio * n))
        for k in range(count):
            instance = make_instance(n, m, seed + k)
            for it in inits:
                runs = recover(instance, "gauss-newton", it, iters=iters, tol=tol, source=source)
                rates[it][j] += runs[0].verdict.success / count
            if progress:
                progress()
    return rates
