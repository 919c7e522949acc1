"""One kit protocol: every kit provides every function a registered rule calls, so an omission fails here,
not as an AttributeError at a user's run time; and the numpy and torch backends agree."""
import ast
import inspect
import tracemalloc

import numpy as np
import pytest

import graphcomp
from graphcomp.engine.dual import Dual, DualKit
from graphcomp.engine.jit import SymbolKit
from graphcomp.engine.plan import plan
from graphcomp.ops import kits, scalar, tensor
from graphcomp.ops.kits import MATH, STRUCTURE, FloatKit, Kit, numpy_kit
from graphcomp.problems import mlp

KITS = {"FloatKit": FloatKit, "numpy": numpy_kit(), "DualKit": DualKit, "SymbolKit": SymbolKit}


def _called_on_m(module):
    """Every `m.<name>` the rules in an ops module call (rules take the kit as their first argument, m)."""
    tree = ast.parse(inspect.getsource(module))
    return {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "m"}


def test_the_protocol_lists_what_the_rules_call():
    used = _called_on_m(scalar) | _called_on_m(tensor)
    assert used, "no rule calls its kit: the scan is broken"
    assert used <= set(MATH) | set(STRUCTURE), f"rules call functions the Kit protocol does not list: {used - set(MATH) - set(STRUCTURE)}"
    declared = {name for name, _ in inspect.getmembers(Kit, inspect.isfunction) if not name.startswith("_")}
    assert set(MATH) | set(STRUCTURE) == declared


@pytest.mark.parametrize("name", sorted(KITS))
def test_every_kit_provides_every_function(name):
    kit = KITS[name]
    missing = [f for f in (*MATH, *STRUCTURE, "floats", "raises") if not hasattr(kit, f)]
    if name == "SymbolKit":  # it only writes expressions: what it computes is FloatKit's
        missing = [f for f in missing if f not in STRUCTURE]
    assert not missing, f"{name} lacks {missing}"


def test_the_torch_kit_provides_every_function():
    pytest.importorskip("torch")
    kit = kits.torch_kit()
    assert not [f for f in (*MATH, *STRUCTURE) if not hasattr(kit, f)]


def test_every_math_function_has_an_op_whose_partials_give_its_derivative():
    """DualKit lifts each math function with the registry's op of the same name (power: pow and powc)."""
    for name in MATH:
        if name in ("step", "power"):
            continue
        assert graphcomp.OPS[name].partials is not None, name
    assert graphcomp.OPS["pow"].partials and graphcomp.OPS["powc"].partials


@pytest.mark.parametrize("name", ["FloatKit", "numpy", "DualKit", "torch"])
def test_mask_is_the_adjoint_times_relus_derivative_zero_at_the_kink(name):
    """relu's fused rule (Op.fused): m.mask(g, a) is g · 1[a > 0], so 0 at a = 0 as PyTorch's ReLU backward."""
    if name == "torch":
        torch = pytest.importorskip("torch")
        kit = kits.torch_kit()
        mask = lambda g, a: kit.mask(torch.tensor(g), torch.tensor(a)).numpy()  # noqa: E731
    else:
        kit = KITS[name]
        mask = kit.mask
    a, g = [-1.5, 0.0, -0.0, 1e-300, 2.0], [3.0, 4.0, 5.0, 6.0, -7.0]
    expected = [0.0, 0.0, 0.0, 6.0, -7.0]
    if name == "FloatKit":
        assert [mask(x, y) for x, y in zip(g, a)] == expected
    else:
        assert np.asarray(mask(np.array(g), np.array(a))).tolist() == expected
    if name == "DualKit":  # linear in the adjoint: its tangent part is masked alike
        out = mask(Dual(np.array(g), np.array(a)), Dual(np.array(a), np.ones(5)))
        assert out.v.tolist() == expected and out.t.tolist() == [0.0, 0.0, 0.0, 1e-300, 2.0]


def test_an_unknown_backend_or_device_is_a_one_line_error():
    g = graphcomp.load("fig1.yaml")
    with pytest.raises(graphcomp.GraphcompError, match="unknown backend 'jax'"):
        g.trace(backend="jax")
    with pytest.raises(graphcomp.GraphcompError, match="needs the torch backend"):
        g.trace(device="cuda")


def test_without_torch_the_torch_backend_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(graphcomp.GraphcompError, match=r"pip install torch==2\.13\.0"):
        graphcomp.load("fig1.yaml").trace(backend="torch")


def _random_tensor_dag(seed):
    """A random DAG of tensor ops over a few matrices and vectors, ending in halfsq: different each seed."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    inputs = [{"name": "x", "shape": [n]}, {"name": "A", "shape": [n, n]}, {"name": "B", "shape": [n, n]},
              {"name": "c", "shape": [n], "kind": "data"}]
    vectors, matrices, nodes = ["x", "c"], ["A", "B"], []
    unary = ["sin", "cos", "tanh", "sigmoid", "relu", "exp", "square", "neg"]
    for k in range(int(rng.integers(4, 10))):
        name, kind = f"v{k}", rng.integers(4)
        if kind == 0:
            nodes.append({"name": name, "op": "matmul", "inputs": [str(rng.choice(matrices)), str(rng.choice(vectors))]})
            vectors.append(name)
        elif kind == 1:
            nodes.append({"name": name, "op": str(rng.choice(["add", "mul", "sub"])),
                          "inputs": [str(rng.choice(vectors)), str(rng.choice(vectors))]})
            vectors.append(name)
        elif kind == 2:
            nodes.append({"name": name, "op": str(rng.choice(unary)), "inputs": [str(rng.choice(vectors))]})
            vectors.append(name)
        else:
            nodes.append({"name": name, "op": "matmul", "inputs": [str(rng.choice(matrices)), str(rng.choice(matrices))]})
            matrices.append(name)
    nodes.append({"name": "s", "op": "mul", "inputs": [vectors[-1], 0.5]})
    nodes.append({"name": "f", "op": "halfsq", "inputs": ["s"]})
    return graphcomp.from_dict({"name": f"dag{seed}", "inputs": inputs, "nodes": nodes, "output": "f", "seed": seed})


def _graphs():
    yield "fig1", graphcomp.load("fig1.yaml")
    yield "fig1_batch", graphcomp.load("fig1_batch.yaml")
    yield "phase", graphcomp.load("phase.yaml")
    for seed in range(8):
        yield f"dag{seed}", _random_tensor_dag(seed)


@pytest.mark.parametrize("name, graph", list(_graphs()), ids=[n for n, _ in _graphs()])
def test_torch_backend_equals_numpy_backend(name, graph):
    pytest.importorskip("torch")
    for mode in ("reverse", "forward"):
        a = graph.trace(mode=mode, seed=4)
        b = graph.trace(mode=mode, seed=4, backend="torch")
        for n in graph.nodes:
            x, y = a[n.name], b[n.name]
            assert isinstance(y.v, (float, np.ndarray, np.floating)), type(y.v)
            np.testing.assert_allclose(y.v, x.v, rtol=1e-12, atol=1e-300, err_msg=f"{name} {n.name}.v")
            if x.d is not None:
                np.testing.assert_allclose(y.d, x.d, rtol=1e-12, atol=1e-15, err_msg=f"{name} {n.name}.d ({mode})")
    reference = graph.trace(seed=4).gradient
    for backend in ("numpy", "torch"):  # the gradient that drops each .v and .d once used
        grad = graph.gradient(seed=4, backend=backend)
        assert grad.keys() == reference.keys()
        for k, ref in reference.items():
            assert isinstance(grad[k], (float, np.ndarray)), type(grad[k])
            np.testing.assert_allclose(grad[k], ref, rtol=1e-12, atol=1e-15, err_msg=f"{name} ∂f/∂{k} ({backend})")


def test_torch_backend_gradient_of_fig1_is_the_analytic_one():
    pytest.importorskip("torch")
    g = graphcomp.load("fig1.yaml")
    t = g.trace(backend="torch", seed=5)
    ins = t.inputs
    analytic = mlp.gradients(ins["W1"], ins["W2"], ins["W3"], ins["x"], ins["y"])
    for k, ref in zip(("W1", "W2", "W3"), analytic):
        np.testing.assert_allclose(t.gradient[k], ref, rtol=1e-12)


def test_torch_backend_names_the_node_of_a_domain_error():
    pytest.importorskip("torch")
    g = graphcomp.from_dict({"name": "bad", "inputs": [{"name": "x", "shape": [2]}],
                             "nodes": [{"name": "l", "op": "log", "inputs": ["x"]}, {"name": "f", "op": "sum", "inputs": ["l"]}],
                             "output": "f"})
    for backend in ("numpy", "torch"):
        with pytest.raises(graphcomp.DomainError, match="node 'l': log needs a positive argument"):
            g.trace(at={"x": [1.0, -1.0]}, backend=backend)


@pytest.mark.parametrize("scale, phase", [(1.0, "evaluating"), (1e300, "computing adjoints")])
def test_a_matmul_overflow_beside_a_zero_is_an_overflow_on_torch_as_on_numpy(scale, phase):
    """torch gives inf without raising, and the search says why: an argument 0 explains an inf only for an op with
    a domain (1/0, log 0); matmul has none, so its inf is an overflow, whatever zeros (relu's, say) its arguments hold."""
    pytest.importorskip("torch")
    g = graphcomp.from_dict({"name": "mm", "inputs": [{"name": "A", "shape": [2, 2]}, {"name": "x", "shape": [2]}],
                             "nodes": [{"name": "y", "op": "matmul", "inputs": ["A", "x"]},
                                       {"name": "m", "op": "mul", "inputs": ["y", scale]},
                                       {"name": "f", "op": "sum", "inputs": ["m"]}], "output": "f"})
    a, x = (1e200, 1e200) if phase == "evaluating" else (1e-100, 1e20)  # A's adjoint 1e300 x overflows
    at = {"A": [[a, 0.0], [0.0, 1.0]], "x": [x, 0.0]}
    messages = []
    for backend in ("numpy", "torch"):
        for run in (g.trace, g.gradient):
            what = "the result" if phase == "evaluating" else "a derivative"
            with pytest.raises(graphcomp.DomainError, match=f"node 'y': {what}.* overflows.*while {phase}") as err:
                run(at=at, backend=backend)
            messages.append(str(err.value))
    assert len(set(messages)) == 1, messages


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("cut", ["relu", "times0"])
def test_a_partial_that_overflows_times_0_is_an_overflow_not_a_domain_error(mode, cut):
    """log's partial 1/x at x = 1e-320 overflows to inf; behind a ReLU that is off (log x < 0) or a product by 0 the
    chain rule makes inf · 0 = nan. x is inside log's domain: the error is the overflow, on floats, numpy and torch."""
    pytest.importorskip("torch")
    last = {"name": "c", "op": "relu", "inputs": ["l"]} if cut == "relu" else {"name": "c", "op": "mul",
                                                                              "inputs": ["l", 0.0]}
    messages = []
    for shape, backend in (([], "numpy"), ([1], "numpy"), ([1], "torch")):
        g = graphcomp.from_dict({"name": "tiny", "inputs": [{"name": "x", "shape": shape}],
                                 "nodes": [{"name": "l", "op": "log", "inputs": ["x"]}, last,
                                           {"name": "f", "op": "sum", "inputs": ["c"]}], "output": "f"})
        with pytest.raises(graphcomp.DomainError, match=r"node 'l': a derivative \(a local partial, or its product\) "
                           "overflows") as err:
            g.trace(at={"x": np.full(shape, 1e-320) if shape else 1e-320}, mode=mode, wrt="x", backend=backend)
        messages.append(str(err.value).split(": log(")[0])
    assert len(set(messages)) == 1, messages


def _behind_relu(mode):
    """x → u = 1e200 x → r = relu(u) → m = 1e200 r → f = sum m: at x = 1e110 u overflows (then r and f hold inf);
    at x = 1e-300 the values are finite and x's adjoint 1e200 · 1e200 overflows."""
    nodes = [{"name": "u", "op": "mul", "inputs": ["x", 1e200]}, {"name": "r", "op": "relu", "inputs": ["u"]},
             {"name": "m", "op": "mul", "inputs": ["r", 1e200]}, {"name": "f", "op": "sum", "inputs": ["m"]}]
    return graphcomp.from_dict({"name": mode, "inputs": [{"name": "x", "shape": [2]}], "nodes": nodes, "output": "f"})


@pytest.mark.parametrize("x, where, phase", [(1e110, "u", "evaluating"), (1e-90, "m", "evaluating"),
                                             (1e-300, "u", "computing adjoints")])
def test_an_overflow_behind_a_finite_keeping_op_names_the_node_where_it_arose(x, where, phase):
    """The torch sweeps sum only the nodes where an inf can arise first and not show later: not relu's r (its argument
    is checked), nor m (f = sum m shows its inf), nor u's and m's adjoints (relu's contribution keeps finite; m's is
    passed on to r's): the search still names where it arose, as numpy does."""
    pytest.importorskip("torch")
    g = _behind_relu(phase)
    messages = []
    for backend in ("numpy", "torch"):
        for run in (g.trace, g.gradient):
            what = "the result" if phase == "evaluating" else "a derivative"
            with pytest.raises(graphcomp.DomainError, match=f"node '{where}': {what}.* overflows.*while {phase}") as err:
                run(at={"x": [x, x]}, backend=backend)
            messages.append(str(err.value))
    assert len(set(messages)) == 1, messages
    p = plan(g, kits.torch_kit())
    assert [g.nodes[i].name for i in p.value_checks] == ["u", "f"]
    assert [g.nodes[i].name for i in p.adjoint_checks] == ["x", "r"]


@pytest.mark.parametrize("spec, bad", [("fig1.yaml", "W2"), ("fig1.yaml", "y"), (None, "x")])
def test_an_input_array_with_an_inf_or_nan_is_the_inputs_error_on_torch_too(spec, bad):
    """torch's sweeps take float arrays unchecked and search them with the values (a matmul shows an inf in W2;
    relu would hide x's, so x is searched itself): the error is the input's, as numpy's check on the way in gives."""
    pytest.importorskip("torch")
    g = graphcomp.load(spec) if spec else graphcomp.from_dict({
        "name": "r", "inputs": [{"name": "x", "shape": [2]}], "output": "f",
        "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]}, {"name": "f", "op": "sum", "inputs": ["r"]}]})
    for x in (-np.inf, np.nan):
        at = g.defaults()
        at[bad] = at[bad].copy()
        at[bad].flat[-1] = x
        messages = []
        for backend in ("numpy", "torch"):
            for run in (g.trace, g.gradient):
                with pytest.raises(graphcomp.SpecError, match=f"node '{bad}', key 'value': .* not a finite number") as err:
                    run(at=at, backend=backend)
                messages.append(str(err.value))
        assert len(set(messages)) == 1, messages


def test_a_gradient_drops_each_intermediate_array_once_used():
    """graph.gradient keeps no Trace: at Fig. 1's width 512 its peak memory (numpy's arrays, which tracemalloc
    follows) is below a trace's, which holds every .v and .d; the drop list is every intermediate tensor node."""
    g = graphcomp.from_dict(mlp.fig1_spec((2, 512, 512, 2), 256, seed=1))
    at = g.defaults()
    peaks = []
    for run in (lambda: g.trace(at=at).gradient, lambda: g.gradient(at)):
        run()  # the plan is built once
        tracemalloc.start()
        run()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 0.8 * peaks[0], peaks  # 0.69 with numpy 2
    dropped = [g.nodes[j].name for _, nodes in plan(g, numpy_kit()).lean_vjp for j in nodes]
    assert sorted(dropped) == ["D", "V1", "V2", "V3", "V4", "V5"]


def test_a_0d_array_with_an_inf_is_the_inputs_error_on_a_scalar_graph_on_torch():
    """A scalar graph's values are searched from the first computed node on, so its inputs are checked on the way in
    on every kit: relu(x) would hide x = −inf."""
    pytest.importorskip("torch")
    g = graphcomp.parse_expr("relu(x)*2", at={"x": 1.0})
    for backend in ("numpy", "torch"):
        with pytest.raises(graphcomp.SpecError, match="node 'x', key 'value': .* not a finite number"):
            g.trace(at={"x": np.array(-np.inf)}, backend=backend)


@pytest.mark.parametrize("nodes", [
    [{"name": "h", "op": "halfsq", "inputs": ["x"]}, {"name": "f", "op": "relu", "inputs": ["h"]}],
    [{"name": "h", "op": "halfsq", "inputs": ["x"]}, {"name": "r", "op": "relu", "inputs": ["h"]},
     {"name": "f", "op": "add", "inputs": ["r", "h"]}]])
def test_a_scalar_relu_whose_adjoint_is_a_float_runs_on_torch(nodes):
    """A scalar output's seed is the float 1.0 (and add passes it on): relu's fused rule on torch takes it as well
    (torch's own ReLU backward kernel takes tensors only); found by a reviewer."""
    pytest.importorskip("torch")
    g = graphcomp.from_dict({"name": "r", "inputs": [{"name": "x", "shape": [2]}], "nodes": nodes, "output": "f"})
    grads = [g.trace(at={"x": np.array([1.0, 2.0])}, backend=b).gradient["x"] for b in ("numpy", "torch")]
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-15)
    np.testing.assert_allclose(grads[0], [1.0, 2.0] if len(nodes) == 2 else [2.0, 4.0], rtol=1e-15)


def test_forward_mode_along_a_negative_base_needs_no_partial_in_the_exponent():
    """pow(x, y) along x with a negative base: ∂p/∂y = p ln x has no value, but ẏ = 0, so it is not computed (pow's
    partials one at a time, Op.jvp_args): on numpy and torch alike, the tangent is y x^(y−1) ẋ, and along y, whose
    partial is needed, the one-line domain error (a reviewer found numpy raising and torch giving nan · 0)."""
    pytest.importorskip("torch")
    inputs = [{"name": "x", "shape": [2]}, {"name": "y", "shape": [2]}]
    g = graphcomp.from_dict({"name": "p", "output": "f", "inputs": inputs,
                             "nodes": [{"name": "p", "op": "pow", "inputs": ["x", "y"]},
                                       {"name": "f", "op": "sum", "inputs": ["p"]}]})
    x, y = np.array([-2.0, 1.0]), np.array([3.0, 2.0])
    for backend in ("numpy", "torch"):
        t = g.trace(at={"x": x, "y": y}, mode="forward", wrt="x", backend=backend)
        np.testing.assert_allclose(t.derivative, np.sum(y * x ** (y - 1) * t.direction["x"]), rtol=1e-14)
        with pytest.raises(graphcomp.DomainError, match="node 'p': a variable exponent needs a positive base"):
            g.trace(at={"x": x, "y": y}, mode="forward", wrt="y", backend=backend)


def test_cli_backend_torch_prints_the_numpy_table(capsys):
    pytest.importorskip("torch")
    from graphcomp.cli import main

    outputs = []
    for extra in ([], ["--backend", "torch"]):
        assert main(["trace", "fig1.yaml", "--mode", "reverse", "--format", "markdown", *extra]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and "W_{3}.d" in outputs[0]
    assert main(["verify", "fig1.yaml", "--backend", "torch", "--format", "json"]) == 0
    assert '"agree": true' in capsys.readouterr().out


def test_cli_device_without_a_gpu_is_a_one_line_error(capsys):
    torch = pytest.importorskip("torch")
    from graphcomp.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: --device cuda is valid here")
    assert main(["trace", "fig1.yaml", "--backend", "torch", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA GPU" in err
