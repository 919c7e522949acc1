"""Whole graphs: random DAGs against float64 PyTorch, a 10⁶-node chain, and specs declared out of order.

Random specs (hypothesis, derandomized) draw every argument from any earlier
name, so nodes fan out and subexpressions are shared; constants appear as
literal arguments; nodes are declared in a shuffled order. Each graph is
evaluated and differentiated in both modes and checked against PyTorch
autograd run on the same spec (values, gradients and every node's adjoint), and
against the dot-product identity ⟨ȳ, J ẋ⟩ = ⟨Jᵀȳ, ẋ⟩ (here ȳ = 1: ḟ = ⟨∇f, ẋ⟩).
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import graphcomp

torch = pytest.importorskip("torch")

# op → PyTorch float64 counterpart; domain-restricted ops (log, sqrt, div, ...) are covered in test_ops.py
TORCH = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul,
    "neg": torch.neg, "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "exp": torch.exp, "square": torch.square, "relu": torch.relu,
    "powc": lambda a, p: torch.pow(a, p), "sum": torch.sum,
}
BINARY = ("add", "sub", "mul")
UNARY = ("neg", "sin", "cos", "tanh", "sigmoid", "exp", "square", "relu", "powc")
SHAPES = ((), (3,))
NUMBER = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def random_specs(draw):
    """(spec dict, input values, forward-mode direction, shape) of a random DAG with fan-out."""
    shape = draw(st.sampled_from(SHAPES))
    n_inputs = draw(st.integers(1, 3))
    n_nodes = draw(st.integers(1, 12))
    size = math.prod(shape)

    def vector():
        xs = draw(st.lists(NUMBER, min_size=size, max_size=size))
        return xs[0] if shape == () else xs

    names = [f"x{k}" for k in range(1, n_inputs + 1)]
    inputs = [{"name": n, **({"shape": list(shape)} if shape else {})} for n in names]
    nodes = []
    for k in range(1, n_nodes + 1):
        op = draw(st.sampled_from(BINARY + UNARY))
        args = [draw(st.sampled_from(names))]
        if op in BINARY:
            constant = draw(st.booleans()) and draw(st.booleans())
            args.append(draw(NUMBER) if constant else draw(st.sampled_from(names)))
        node = {"name": f"v{k}", "op": op, "inputs": args}
        if op == "powc":
            node["p"] = draw(st.sampled_from([2.0, 3.0]))  # defined for any base
        nodes.append(node)
        names.append(node["name"])
    if shape:
        nodes.append({"name": "f", "op": "sum", "inputs": [names[-1]]})
    order = draw(st.permutations(range(len(nodes))))
    spec = {"name": "random", "inputs": inputs, "nodes": [nodes[k] for k in order], "output": nodes[-1]["name"]}
    at = {n["name"]: vector() for n in inputs}
    direction = {n["name"]: vector() for n in inputs}
    return spec, at, direction


def in_dependency_order(spec):
    """The spec's nodes sorted so that arguments come first, found independently of graphcomp."""
    done = {n["name"] for n in spec["inputs"]}
    pending, out = list(spec["nodes"]), []
    while pending:
        ready = [n for n in pending if all(not isinstance(a, str) or a in done for a in n["inputs"])]
        assert ready, "the generator made a cycle"
        for n in ready:
            out.append(n)
            done.add(n["name"])
            pending.remove(n)
    return out


def torch_run(spec, at):
    """Every node's value and adjoint from float64 PyTorch autograd on the same spec."""
    env = {name: torch.tensor(x, dtype=torch.float64, requires_grad=True) for name, x in at.items()}
    for n in in_dependency_order(spec):
        args = [env[a] if isinstance(a, str) else torch.tensor(a, dtype=torch.float64) for a in n["inputs"]]
        extra = [n["p"]] if "p" in n else []
        env[n["name"]] = TORCH[n["op"]](*args, *extra)
        if env[n["name"]].requires_grad and n["name"] != spec["output"]:
            env[n["name"]].retain_grad()
    out = env[spec["output"]]
    out.backward()
    values = {k: t.detach().numpy() for k, t in env.items()}
    adjoints = {k: (np.zeros(t.shape) if t.grad is None else t.grad.numpy()) for k, t in env.items() if k != spec["output"]}
    adjoints[spec["output"]] = np.ones(())
    return values, adjoints


def close(got, ref, what):
    ref = np.asarray(ref, dtype=float)
    np.testing.assert_allclose(np.asarray(got, dtype=float), ref, rtol=1e-9, atol=1e-9 * (1 + np.max(np.abs(ref))),
                               err_msg=what)


@pytest.mark.parametrize("jit", [False, True], ids=["interpreted", "jit"])
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_dags_agree_with_torch_and_the_dot_product_identity(jit, case):
    spec, at, direction = case
    values, adjoints = torch_run(spec, at)
    assume(all(np.all(np.abs(v) < 1e6) for v in values.values()))  # keep away from overflow
    graph = graphcomp.from_dict(spec)
    tr = graph.trace(at=at, wrt=direction, mode="both", jit=jit)  # jit compiles the scalar graphs
    for name, ref in values.items():
        close(tr[name].v, ref, f"value of {name}")
        close(tr[name].adjoint, adjoints[name], f"adjoint of {name}")
    close(tr.value, values[spec["output"]], "f")
    ydot_side = tr.derivative  # ⟨ȳ, J ẋ⟩ with ȳ = 1
    adjoint_side = sum(float(np.sum(tr.gradient[k] * np.asarray(x))) for k, x in direction.items())
    assert ydot_side == pytest.approx(adjoint_side, rel=1e-9, abs=1e-9 * (1 + abs(adjoint_side)))
    for name in graph.input_names:
        assert np.shape(tr.gradient[name]) == np.shape(at[name])


@settings(max_examples=20, deadline=None, derandomize=True)
@given(random_specs())
def test_declaration_order_does_not_matter(case):
    spec, at, direction = case
    graph = graphcomp.from_dict(spec)
    position = {n.name: k for k, n in enumerate(graph.nodes)}
    assert all(a < k for k, n in enumerate(graph.nodes) for a in n.args), "an argument after its use"
    ordered = dict(spec, nodes=in_dependency_order(spec))
    try:
        reference = graphcomp.from_dict(ordered).trace(at=at, wrt=direction, mode="both")
    except graphcomp.DomainError:  # exp overflowed: nothing to compare
        assume(False)
    tr = graph.trace(at=at, wrt=direction, mode="both")
    for n in ordered["nodes"]:
        name = n["name"]
        assert position[name] > max(position[a] for a in n["inputs"] if isinstance(a, str))
        np.testing.assert_array_equal(tr[name].v, reference[name].v)
        np.testing.assert_array_equal(tr[name].adjoint, reference[name].adjoint)
        np.testing.assert_array_equal(tr[name].tangent, reference[name].tangent)


def test_eq2_declared_backwards_is_sorted_and_keeps_its_numbers():
    spec = graphcomp.load("eq2.yaml")
    in_order = {"inputs": [{"name": n.name, "value": n.value} for n in spec.nodes if n.op is None],
                "nodes": [{"name": n.name, "op": n.op, "inputs": [spec.nodes[a].name for a in n.args]}
                          for n in spec.nodes if n.op is not None],
                "output": "v6"}
    backwards = dict(in_order, nodes=in_order["nodes"][::-1])
    graph = graphcomp.from_dict(backwards)
    assert all(a < k for k, n in enumerate(graph.nodes) for a in n.args), "an argument after its use"
    x1, x2, x3 = 1.0, 1.5, 2.0
    f = (x1 * x2 * math.sin(x3) + math.exp(x1 * x2)) / x3
    dfdx2 = (x1 * math.sin(x3) + x1 * math.exp(x1 * x2)) / x3
    tr = graph.trace(wrt="x2", mode="both")
    assert tr.value == pytest.approx(f, rel=1e-14)
    assert tr.derivative == pytest.approx(dfdx2, rel=1e-14)
    assert tr.gradient["x2"] == pytest.approx(dfdx2, rel=1e-14)


# ---- a chain of 10⁶ nodes ------------------------------------------------------------------------

CHAIN = 10**6
CYCLE = ("exp", "log", "mul", "neg")  # per cycle: v → -(c · log e^v) = -c v


def test_million_node_chain_forward_and_reverse():
    """f(x, c) = x (-c)^m with m = 250 000 cycles of exp, log, mul by c, neg; c fans out to every mul.

    Each cycle's derivative is e^v · (1/e^v) · c · (-1) = -c, so ∂f/∂x = c^m (m even) and
    ∂f/∂c = m x c^(m-1); with c = 1 + 4·10⁻⁶ these are about e and e·m·x: no underflow, no overflow.
    """
    x, c, m = 0.3, 1 + 4e-6, CHAIN // len(CYCLE)
    nodes, prev = [], "x"
    for k in range(CHAIN):
        op = CYCLE[k % len(CYCLE)]
        nodes.append({"name": f"n{k}", "op": op, "inputs": [prev, "c"] if op == "mul" else [prev]})
        prev = f"n{k}"
    spec = {"inputs": [{"name": "x", "value": x}, {"name": "c", "value": c}], "nodes": nodes, "output": prev}
    graph = graphcomp.from_dict(spec)
    assert len(graph) == CHAIN + 2
    tr = graph.trace(wrt="x", mode="both")  # a RecursionError anywhere would fail here
    power = math.exp(m * math.log1p(c - 1))
    assert tr.value == pytest.approx(x * power, rel=1e-9)
    assert tr.derivative == pytest.approx(power, rel=1e-9)  # forward mode
    assert tr.gradient["x"] == pytest.approx(power, rel=1e-9)  # reverse mode
    assert tr.gradient["c"] == pytest.approx(m * x * power / c, rel=1e-9)  # accumulated over 250 000 uses


# ---- branches off the path to the output, and literal exponents ----------------------------------


@pytest.mark.parametrize("x_shape, w_shape", [((2,), (2, 2)), ((2, 3), (3, 2)), ((2,), (2,))])
def test_a_branch_that_misses_the_output_gets_zero_adjoints(x_shape, w_shape):
    """a = W x (or x W) is computed but unused; f = ½‖x‖²: ∂f/∂W = 0 and ∂f/∂x = x, in PyTorch's shapes."""
    args = ["x", "W"] if len(x_shape) == 2 else ["W", "x"]
    spec = {"inputs": [{"name": "W", "shape": list(w_shape)}, {"name": "x", "shape": list(x_shape)}],
            "nodes": [{"name": "a", "op": "matmul", "inputs": args}, {"name": "h", "op": "halfsq", "inputs": ["x"]}],
            "output": "h", "seed": 3}
    graph = graphcomp.from_dict(spec)
    tr = graph.trace(mode="reverse")
    np.testing.assert_array_equal(tr.gradient["W"], np.zeros(w_shape))
    np.testing.assert_array_equal(tr.gradient["x"], tr["x"].v)


@pytest.mark.parametrize("jit", [False, True])
def test_an_unused_node_at_the_edge_of_its_domain_does_not_stop_reverse_mode(jit):
    """sqrt(x) at x = 0 has no derivative, but f = sin x does not use it: ∂f/∂x = cos 0 = 1."""
    spec = {"inputs": [{"name": "x", "value": 0.0}],
            "nodes": [{"name": "a", "op": "sqrt", "inputs": ["x"]}, {"name": "s", "op": "sin", "inputs": ["x"]}],
            "output": "s"}
    assert graphcomp.from_dict(spec).trace(mode="reverse", jit=jit).gradient["x"] == 1.0


@pytest.mark.parametrize("x", [-1.5, 0.0, 2.0])
def test_pow_with_a_literal_exponent_works_for_any_base(x):
    """pow(x, 2) is x², defined for every x: d/dx = 2x; the exponent is a constant, not differentiated."""
    spec = {"inputs": [{"name": "x", "value": x}], "nodes": [{"name": "y", "op": "pow", "inputs": ["x", 2]}],
            "output": "y"}
    tr = graphcomp.from_dict(spec).trace(wrt="x", mode="both")
    assert tr.value == x * x
    assert tr.derivative == 2 * x and tr.gradient["x"] == 2 * x
