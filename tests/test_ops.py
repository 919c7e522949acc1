"""Every registered op, one row each: forward and reverse mode against central finite differences.

Each row names an op, an independent numpy forward function (the reference for
values and for the finite differences), a sampler for points inside the op's
domain and the argument shapes to try. Every shape layout runs through a graph
built with graphcomp.from_dict, so scalars exercise the float kit and arrays
(with broadcasting) the numpy kit, both through the real sweeps. To reduce an
array result to the scalar a graph must end in, the op's result y is weighted
by a random cotangent ȳ given as data: f = Σ ȳ ⊙ y. Then

    forward mode:  ḟ = ⟨ȳ, J ẋ⟩    reverse mode:  ∇f = Jᵀȳ

and the dot-product identity ⟨ȳ, J ẋ⟩ = ⟨Jᵀȳ, ẋ⟩ is ḟ = ⟨∇f, ẋ⟩.

Each row also checks second order: the Hessian–vector product (forward over reverse)
against central differences of the gradient and against PyTorch's Hessian.

To add an op: add a row to CASES (several rows per op are fine, e.g. one per parameter).
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import graphcomp
from graphcomp.ops import REGISTRY
from graphcomp.ops.kits import numpy_kit

SEEDS = range(3)
H = 1e-6  # central differences: truncation ~H², rounding ~1e-16/H, both far below RTOL
RTOL, ATOL = 1e-6, 1e-8


def normal(rng, shape):
    """Anywhere on the real line (within a few units)."""
    return rng.standard_normal(shape)


def positive(rng, shape):
    """Away from 0 on the positive side: log, sqrt, a variable exponent's base."""
    return rng.uniform(0.3, 2.0, shape)


def nonzero(rng, shape):
    """Either sign, away from 0: divisors, reciprocals, ReLU (away from its kink)."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def inside_tan(rng, shape):
    """Away from tan's poles at ±π/2."""
    return rng.uniform(-1.2, 1.2, shape)


UNARY = [((),), ((4,),), ((2, 3),)]
BINARY = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (3,)), ((2, 3), ())]


@dataclass(frozen=True)
class Case:
    """One row: the op, an independent forward function, where to sample, which shapes."""

    op: str
    ref: Callable  # numpy forward, written independently of graphcomp's rules
    layouts: list  # argument shapes to try, e.g. [((), ()), ((2, 3), (3,))]
    domain: tuple = (normal,)  # one sampler per argument (the last is reused)
    params: dict = field(default_factory=dict)

    @property
    def id(self):
        return self.op + "".join(f"-{k}={v:g}" for k, v in self.params.items())

    def sample(self, k, rng, shape):
        return self.domain[min(k, len(self.domain) - 1)](rng, shape)


CASES = [
    Case("add", np.add, BINARY),
    Case("sub", np.subtract, BINARY),
    Case("mul", np.multiply, BINARY),
    Case("div", np.divide, BINARY, (normal, nonzero)),
    Case("pow", np.power, BINARY, (positive, normal)),
    Case("powc", lambda a: a**2.5, UNARY, (positive,), {"p": 2.5}),
    Case("powc", lambda a: a**-1.5, UNARY, (positive,), {"p": -1.5}),
    Case("powc", lambda a: a**3, UNARY, (normal,), {"p": 3.0}),
    Case("neg", np.negative, UNARY),
    Case("exp", np.exp, UNARY),
    Case("log", np.log, UNARY, (positive,)),
    Case("sin", np.sin, UNARY),
    Case("cos", np.cos, UNARY),
    Case("tan", np.tan, UNARY, (inside_tan,)),
    Case("sqrt", np.sqrt, UNARY, (positive,)),
    Case("square", lambda a: a * a, UNARY),
    Case("reciprocal", lambda a: 1 / a, UNARY, (nonzero,)),
    Case("tanh", np.tanh, UNARY),
    Case("sigmoid", lambda a: 1 / (1 + np.exp(-a)), UNARY),
    Case("relu", lambda a: np.where(a > 0, a, 0.0), UNARY, (nonzero,)),
    # tensor ops
    Case("matmul", np.matmul, [((2, 3), (3,)), ((2, 3), (3, 4)), ((3,), (3, 2)), ((3,), (3,))]),
    Case("transpose", np.transpose, [((2, 3),), ((3, 1),)]),
    Case("sum", np.sum, [((),), ((4,),), ((2, 3),)]),
    Case("halfsq", lambda a: 0.5 * np.sum(a * a), [((),), ((4,),), ((2, 3),)]),
]

ROWS = [pytest.param(case, shapes, id=f"{case.id}-{'x'.join(map(str, shapes))}")
        for case in CASES for shapes in case.layouts]
# all-scalar rows run twice: through the interpreted float sweeps and through the compiled ones (jit=True)
JIT_ROWS = [pytest.param(*row.values, jit, id=f"{row.id}{'-jit' if jit else ''}")
            for row in ROWS for jit in (False, True) if jit is False or not any(row.values[1])]


def test_every_registered_op_has_a_row():
    missing = {op.name for op in REGISTRY.values()} - {case.op for case in CASES}
    assert not missing, f"ops without a row in tests/test_ops.py CASES: {sorted(missing)}"


def test_every_row_names_a_registered_op_with_its_arity():
    for case in CASES:
        assert case.op in REGISTRY, case.op
        assert all(len(shapes) == REGISTRY[case.op].arity for shapes in case.layouts), case.id


def weighted_graph(case, shapes, out_shape):
    """f = Σ ȳ ⊙ op(a, b, ...), with ȳ an input of kind data (held fixed)."""
    names = ["a", "b"][:len(shapes)]
    inputs = [{"name": n, "shape": list(s)} if s else {"name": n, "value": 0.0} for n, s in zip(names, shapes)]
    inputs.append({"name": "ybar", "kind": "data", **({"shape": list(out_shape)} if out_shape else {"value": 0.0})})
    nodes = [
        {"name": "y", "op": case.op, "inputs": names, **case.params},
        {"name": "w", "op": "mul", "inputs": ["y", "ybar"]},
        {"name": "f", "op": "sum", "inputs": ["w"]},
    ]
    return graphcomp.from_dict({"name": case.id, "inputs": inputs, "nodes": nodes, "output": "f"}), names


def inner(a, b):
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def as_input(x):
    """Scalars as Python floats (the float kit), arrays as arrays."""
    return float(x) if np.ndim(x) == 0 else x


@pytest.mark.parametrize("case, shapes, jit", JIT_ROWS)
@pytest.mark.parametrize("seed", SEEDS)
def test_op_derivatives_match_finite_differences(case, shapes, jit, seed):
    rng = np.random.default_rng([seed, len(shapes), *map(len, shapes)])
    x = [case.sample(k, rng, s) for k, s in enumerate(shapes)]
    out_shape = np.shape(case.ref(*x))
    graph, names = weighted_graph(case, shapes, out_shape)
    ybar = rng.standard_normal(out_shape)
    xdot = [rng.standard_normal(s) for s in shapes]

    def f_ref(args):
        return inner(ybar, case.ref(*args))

    at = {n: as_input(v) for n, v in zip(names, x)} | {"ybar": as_input(ybar)}
    direction = {n: as_input(v) for n, v in zip(names, xdot)}
    tr = graph.trace(at=at, wrt=direction, mode="both", jit=jit)

    assert tr["y"].v == pytest.approx(case.ref(*x), rel=1e-12, abs=1e-14)
    assert tr.value == pytest.approx(f_ref(x), rel=1e-12, abs=1e-14)

    # forward mode: ḟ = ⟨ȳ, J ẋ⟩ against a central difference along ẋ
    fd_dir = (f_ref([v + H * t for v, t in zip(x, xdot)]) - f_ref([v - H * t for v, t in zip(x, xdot)])) / (2 * H)
    assert tr.derivative == pytest.approx(fd_dir, rel=RTOL, abs=ATOL)

    # reverse mode: every component of ∇f = Jᵀȳ against a central difference along that coordinate
    for k, name in enumerate(names):
        grad = np.asarray(tr.gradient[name])
        assert grad.shape == shapes[k], f"adjoint of {name} has shape {grad.shape}, not {shapes[k]}"
        fd = np.zeros(shapes[k])
        for idx in np.ndindex(*shapes[k]):
            e = np.zeros(shapes[k])
            e[idx] = H
            plus = [v + e if j == k else v for j, v in enumerate(x)]
            minus = [v - e if j == k else v for j, v in enumerate(x)]
            fd[idx] = (f_ref(plus) - f_ref(minus)) / (2 * H)
        np.testing.assert_allclose(grad, fd, rtol=RTOL, atol=ATOL, err_msg=f"∂f/∂{name}")

    # dot-product identity ⟨ȳ, J ẋ⟩ = ⟨Jᵀȳ, ẋ⟩: exact up to rounding, no finite differences involved
    adjoint_side = sum(inner(tr.gradient[n], t) for n, t in zip(names, xdot))
    assert tr.derivative == pytest.approx(adjoint_side, rel=1e-10, abs=1e-12)


# ---- second order: forward over reverse, one row per op -----------------------------------------------

def _torch_refs(torch):
    """Each op's forward in torch, written independently of graphcomp's rules: the Hessians' reference."""
    return {
        "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
        "powc": lambda a, p: a ** p, "neg": torch.neg, "exp": torch.exp, "log": torch.log, "sin": torch.sin,
        "cos": torch.cos, "tan": torch.tan, "sqrt": torch.sqrt, "square": torch.square,
        "reciprocal": torch.reciprocal, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
        "matmul": torch.matmul, "transpose": lambda a: a.T if a.ndim == 2 else a, "sum": torch.sum,
        "halfsq": lambda a: 0.5 * torch.sum(a * a),
    }


@pytest.mark.parametrize("case, shapes", ROWS)  # every op has rows (test_every_registered_op_has_a_row)
def test_op_hessian_vector_products(case, shapes):
    """hvp (forward over reverse) against central differences of the engine's gradient, and the full Hessian
    against torch.autograd.functional.hessian of the op written in torch."""
    rng = np.random.default_rng([7, len(shapes), *map(len, shapes)])
    x = [case.sample(k, rng, s) for k, s in enumerate(shapes)]
    out_shape = np.shape(case.ref(*x))
    graph, names = weighted_graph(case, shapes, out_shape)
    ybar = rng.standard_normal(out_shape)
    xdot = [rng.standard_normal(s) for s in shapes]
    at = {n: as_input(v) for n, v in zip(names, x)} | {"ybar": as_input(ybar)}
    hv = graph.hvp(at, {n: as_input(t) for n, t in zip(names, xdot)})

    def grad(shift):
        moved = {n: as_input(np.asarray(v) + shift * t) for n, v, t in zip(names, x, xdot)}
        return graph.gradient(at | moved)

    h = 1e-5
    plus, minus = grad(h), grad(-h)
    for n in names:
        fd = (np.asarray(plus[n]) - np.asarray(minus[n])) / (2 * h)
        np.testing.assert_allclose(hv[n], fd, rtol=1e-5, atol=1e-7, err_msg=f"(∇²f ẋ)[{n}]")

    torch = pytest.importorskip("torch")
    ref = _torch_refs(torch)[case.op]
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]

    def f(flat):
        parts = torch.split(flat, sizes)
        args = [p.reshape(s) for p, s in zip(parts, shapes)]
        return torch.sum(torch.as_tensor(ybar) * ref(*args, **case.params))

    flat = torch.tensor(np.concatenate([np.ravel(v) for v in x]), dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(f, flat).numpy()
    expected = hessian @ np.concatenate([np.ravel(t) for t in xdot])
    got = np.concatenate([np.ravel(hv[n]) for n in names])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def _with(args, k, x):
    """The arguments with the first entry of argument k set to x."""
    out = [np.array(a, dtype=float) for a in args]
    out[k].flat[0] = x
    return out


@pytest.mark.parametrize("case, shapes", [row for row in ROWS if any(row.values[1])])
def test_the_flags_that_prune_the_search_for_inf_and_nan_hold(case, shapes):
    """A tensor graph's torch sweeps check for inf and nan only where the op records say one can first arise or be
    hidden (graphcomp.engine.plan: value_checks, adjoint_checks); each record's claim is checked on numpy here."""
    op, kit, p = REGISTRY[case.op], numpy_kit(), case.params
    args = [np.asarray(case.sample(k, np.random.default_rng(k), s), dtype=float) for k, s in enumerate(shapes)]
    with np.errstate(all="ignore"):
        y = op.fwd(kit, *args, **p)
        if op.propagates:  # an inf or nan in any argument shows in the value
            for k in range(len(args)):
                for bad in (np.inf, -np.inf, np.nan):
                    assert not np.isfinite(op.fwd(kit, *_with(args, k, bad), **p)).all(), (k, bad)
        if op.keeps_finite:  # finite arguments of any size give a finite value and finite contributions
            huge = [a * 1e300 for a in args]
            y_huge = op.fwd(kit, *huge, **p)
            assert np.isfinite(y_huge).all()
            assert all(np.isfinite(c).all() for c in op.vjp(kit, np.full(np.shape(y_huge), 1e300), y_huge, *huge, **p))
        if not op.fused:  # an inf in the adjoint shows in every contribution
            for c in op.vjp(kit, np.full(np.shape(y), np.inf), y, *args, **p):
                assert not np.isfinite(c).all()


def test_relu_times_x_has_hessian_2_for_positive_x_and_0_for_negative():
    """The case that raised AttributeError: the relu rule's own second derivative is 0 away from the kink."""
    for x, expected in ((1.0, 2.0), (-1.0, 0.0), (0.3, 2.0)):
        g = graphcomp.parse_expr("relu(x)*x", at={"x": x})
        np.testing.assert_allclose(g.hessian({"x": x}, "x"), [[expected]], rtol=1e-12)


def test_a_hessian_that_overflows_is_the_one_line_overflow_error_of_trace():
    g = graphcomp.parse_expr("exp(x*x)", at={"x": 30.0})
    with pytest.raises(graphcomp.DomainError) as traced:
        g.trace(at={"x": 30.0})
    with pytest.raises(graphcomp.DomainError) as second:
        g.hessian({"x": 30.0}, "x")
    assert "overflows" in str(traced.value) and "overflows" in str(second.value)
    assert str(second.value).split(":")[0] == str(traced.value).split(":")[0]  # the same node
