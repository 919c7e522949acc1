"""The compiled float sweeps (jit=True): same numbers as the interpreter, same errors, no user text in the code.

Their derivatives are checked against finite differences op by op in test_ops.py
(the -jit rows) and against PyTorch on random graphs in test_graphs.py; here:
Eq. 2 against its closed form, errors, overflow, a long chain, and the source itself.
"""
import math

import pytest

import graphcomp
from graphcomp.core.errors import DomainError
from graphcomp.engine import jit, plan
from graphcomp.ops.kits import FloatKit


def eq2_closed_form(x1, x2, x3):
    """f of Eq. 2 and its gradient, derived by hand."""
    e = math.exp(x1 * x2)
    f = (x1 * x2 * math.sin(x3) + e) / x3
    return f, {"x1": x2 * (math.sin(x3) + e) / x3, "x2": x1 * (math.sin(x3) + e) / x3,
               "x3": x1 * x2 * math.cos(x3) / x3 - f / x3}


@pytest.mark.parametrize("at", [{"x1": 1.0, "x2": 1.5, "x3": 2.0}, {"x1": -0.7, "x2": 0.4, "x3": -3.1}])
def test_eq2_compiled_matches_the_closed_form_and_the_interpreter(at):
    graph = graphcomp.load("graphs/eq2.yaml")
    jit = graph.trace(at=at, mode="reverse", jit=True)
    f, grad = eq2_closed_form(**at)
    assert jit.value == pytest.approx(f, rel=1e-14)
    for name, g in grad.items():
        assert jit.gradient[name] == pytest.approx(g, rel=1e-12)
    interpreted = graph.trace(at=at, mode="reverse")
    assert [n.v for n in jit] == [n.v for n in interpreted]  # same operations in the same order
    assert [n.d for n in jit] == [n.d for n in interpreted]


def test_value_mode_compiles_the_forward_half_only():
    graph = graphcomp.load("graphs/eq2.yaml")
    tr = graph.trace(mode="value", jit=True)
    assert tr.value == pytest.approx(eq2_closed_form(1.0, 1.5, 2.0)[0], rel=1e-14)
    assert all(n.d is None for n in tr)


def test_the_source_is_the_adjoint_program_of_eq2():
    graph = graphcomp.load("graphs/eq2.yaml")
    src = jit.source(graph, plan.plan(graph, FloatKit))
    lines = [line.strip() for line in src.splitlines()]
    assert "v3 = (v0 * v1)" in lines  # x1·x2, computed once
    assert "d8 = seed" in lines  # the output's adjoint is the seed
    assert "d3 = d3 + d5 * v5" in lines  # v3 fans out: its second contribution, through e^{v3}, is accumulated
    assert lines[-1] == f"return [{', '.join(f'v{i}' for i in range(9))}], [{', '.join(f'd{i}' for i in range(9))}]"


HOSTILE = "__import__('os').system('false')"


def test_no_spec_text_reaches_the_compiled_source():
    spec = {"name": HOSTILE, "inputs": [{"name": "x", "value": 0.5, "label": HOSTILE}],
            "nodes": [{"name": "y_" + "q" * 40, "op": "sin", "inputs": ["x"]},
                      {"name": "z", "op": "mul", "inputs": ["y_" + "q" * 40, 2.5]}],
            "output": "z"}
    graph = graphcomp.from_dict(spec)
    src = jit.source(graph, plan.plan(graph, FloatKit))
    assert "import" not in src and "system" not in src and "__" not in src and "q" * 40 not in src
    assert graph.trace(mode="reverse", jit=True).gradient["x"] == pytest.approx(2.5 * math.cos(0.5), rel=1e-15)


def test_a_domain_error_names_the_node_as_the_interpreter_does():
    graph = graphcomp.load("graphs/eq2.yaml")
    with pytest.raises(DomainError) as interpreted:
        graph.trace(at={"x3": 0.0}, mode="reverse")
    with pytest.raises(DomainError) as jit:
        graph.trace(at={"x3": 0.0}, mode="reverse", jit=True)
    assert str(jit.value) == str(interpreted.value)
    assert "divisor is 0" in str(jit.value)


@pytest.mark.parametrize("spec, where", [
    ({"inputs": [{"name": "x", "value": 1000.0}], "nodes": [{"name": "y", "op": "exp", "inputs": ["x"]}],
      "output": "y"}, "'y'"),  # math.exp raises OverflowError
    ({"inputs": [{"name": "x", "value": 1e200}], "nodes": [{"name": "y", "op": "mul", "inputs": ["x", "x"]}],
      "output": "y"}, "'y'"),  # float multiplication overflows to inf silently
])
def test_overflow_is_an_error_under_jit_too(spec, where):
    graph = graphcomp.from_dict(spec)
    with pytest.raises(DomainError, match=where):
        graph.trace(mode="reverse", jit=True)


def test_adjoints_of_constants_and_unreached_nodes():
    """A node no path joins to the output has adjoint 0; data has none, as in the interpreter."""
    spec = {"inputs": [{"name": "x", "value": 2.0}, {"name": "k", "value": 3.0, "kind": "data"}],
            "nodes": [{"name": "unused", "op": "sin", "inputs": ["x"]},
                      {"name": "y", "op": "mul", "inputs": ["x", "k"]}],
            "output": "y"}
    graph = graphcomp.from_dict(spec)
    jit, interpreted = graph.trace(jit=True), graph.trace()
    assert jit["unused"].d == 0.0 and jit["k"].d is None and jit["x"].d == 3.0
    assert [n.d for n in jit] == [n.d for n in interpreted]


def test_a_long_chain_compiles_without_recursion():
    """20 000 nodes of exp, log, mul by c, neg: ∂f/∂x = c^m with m = 5 000 cycles (as in test_graphs' 10⁶ chain)."""
    x, c, cycle = 0.3, 1 + 1e-4, ("exp", "log", "mul", "neg")
    nodes, prev = [], "x"
    for k in range(20_000):
        op = cycle[k % 4]
        nodes.append({"name": f"n{k}", "op": op, "inputs": [prev, "c"] if op == "mul" else [prev]})
        prev = f"n{k}"
    graph = graphcomp.from_dict({"inputs": [{"name": "x", "value": x}, {"name": "c", "value": c}],
                                 "nodes": nodes, "output": prev})
    tr = graph.trace(mode="reverse", jit=True)
    power = math.exp(5_000 * math.log1p(c - 1))
    assert tr.gradient["x"] == pytest.approx(power, rel=1e-9)
    assert tr.gradient["c"] == pytest.approx(5_000 * x * power / c, rel=1e-9)


def test_tensor_graphs_ignore_jit():
    graph = graphcomp.load("graphs/fig1.yaml")
    a, b = graph.gradient(), graph.trace(jit=True).gradient
    assert all((a[k] == b[k]).all() for k in a)


def test_jit_refuses_a_graph_too_big_to_compile_well(monkeypatch):
    monkeypatch.setattr(jit, "MAX_STEPS", 5)  # eq2 has 6 steps
    with pytest.raises(graphcomp.GraphcompError, match="up to 5 steps; this one has 6"):
        graphcomp.load("graphs/eq2.yaml").trace(jit=True)


@pytest.mark.parametrize("base, exponent, wrt, closed", [
    (-3.0, {"value": 2.0, "kind": "data"}, "a", 2.0 * -3.0),  # ∂/∂a = k a^(k−1); the exponent's y ln a has no value
    (0.5, {"value": -1023.5}, "k", 0.5 ** -1023.5 * math.log(0.5)),  # the base's partial would overflow
])
def test_a_partial_no_adjoint_needs_is_not_computed_compiled_or_not(base, exponent, wrt, closed):
    """pow's partials are computed one at a time: the one of a data argument, whose adjoint is dropped, is not, so
    neither sweep fails on it (the compiled one computes both, fails, and the interpreted one runs instead)."""
    data = exponent.get("kind") == "data"
    spec = {"inputs": [{"name": "a", "value": base, **({} if data else {"kind": "data"})}, {"name": "k", **exponent}],
            "nodes": [{"name": "y", "op": "pow", "inputs": ["a", "k"]}], "output": "y"}
    graph = graphcomp.from_dict(spec)
    for jit_ in (False, True):
        assert graph.trace(jit=jit_).gradient == {wrt: pytest.approx(closed, rel=1e-13)}


def test_a_spec_name_that_python_cannot_take_as_a_file_name_still_compiles():
    spec = {"name": "a\0b", "inputs": [{"name": "x", "value": 1.0}],
            "nodes": [{"name": "y", "op": "sin", "inputs": ["x"]}], "output": "y"}
    graph = graphcomp.from_dict(spec)
    assert graph.trace(jit=True).gradient["x"] == pytest.approx(math.cos(1.0), rel=1e-15)
    assert plan.plan(graph, FloatKit).compiled is not None  # compiled once, kept


def test_code_command_prints_a_program_that_computes_eq2s_gradient(cli):
    """The listing runs as Python on its own and gives the closed-form gradient of Eq. 2."""
    r = cli("code", "eq2.yaml")
    assert r.status == 0, r.stderr
    assert "v1 = (x1 * x2)" in r.stdout and "v1_bar = v1_bar + v3_bar * v3" in r.stdout
    namespace = dict(jit.NAMESPACE)
    exec(r.stdout, namespace)  # the test's own check of the printed program
    values, adjoints = namespace["sweep"]([1.0, 1.5, 2.0] + [None] * 6, True, 1.0)
    f, grad = eq2_closed_form(1.0, 1.5, 2.0)
    assert values[-1] == pytest.approx(f, rel=1e-14)
    assert adjoints[:3] == pytest.approx([grad["x1"], grad["x2"], grad["x3"]], rel=1e-12)


def test_listing_keeps_numbered_names_when_a_node_name_would_clash():
    spec = {"inputs": [{"name": "x", "value": 1.0}], "nodes": [{"name": "sin", "op": "sin", "inputs": ["x"]}],
            "output": "sin"}
    graph = graphcomp.from_dict(spec)
    text = jit.listing(graph, plan.plan(graph, FloatKit))
    assert "v1 = sin(v0)" in text and "sin =" not in text


def test_listing_of_python_keyword_names_is_python():
    spec = {"inputs": [{"name": "lambda", "value": 2.0}, {"name": "print", "value": 3.0}],
            "nodes": [{"name": "None", "op": "mul", "inputs": ["lambda", "print"]}], "output": "None"}
    graph = graphcomp.from_dict(spec)
    text = jit.listing(graph, plan.plan(graph, FloatKit))
    namespace = dict(jit.NAMESPACE)
    exec(compile(text, "<listing>", "exec"), namespace)  # a SyntaxError if a keyword were a variable
    values, adjoints = namespace["sweep"]([2.0, 3.0, None], True, 1.0)
    assert values[-1] == 6.0 and adjoints[:2] == [3.0, 2.0]


def test_listing_of_several_outputs_says_which_output_it_differentiates(cli):
    text = cli("code", "polar.yaml").stdout
    assert text.startswith("# the adjoint program is of the first output, x ")
    namespace = dict(jit.NAMESPACE)
    exec(text, namespace)
    _, adjoints = namespace["sweep"]([2.0, 0.5] + [None] * 4, True, 1.0)
    assert adjoints[:2] == pytest.approx([math.cos(0.5), -2.0 * math.sin(0.5)])  # ∂x/∂r, ∂x/∂θ of x = r cos θ


def test_code_command_refuses_a_tensor_graph(cli):
    r = cli("code", "fig1.yaml")
    assert r.status == 2 and len(r.stderr.strip().splitlines()) == 1 and "tensor" in r.stderr


def test_the_several_outputs_line_names_the_output_as_the_spec_does():
    """An output named d0 (the listing's own spelling of an adjoint) stays d0 in the first line."""
    spec = {"inputs": [{"name": "x", "value": 2.0}], "outputs": ["d0", "e"],
            "nodes": [{"name": "d0", "op": "sin", "inputs": ["x"]}, {"name": "e", "op": "exp", "inputs": ["x"]}]}
    graph = graphcomp.from_dict(spec)
    text = jit.listing(graph, plan.plan(graph, FloatKit))
    assert text.startswith("# the adjoint program is of the first output, d0 (seed = ∂f/∂d0)")
