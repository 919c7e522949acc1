"""Matrix nodes and the network of Problem 3 (Fig. 1): shapes, the 3(b) backward pass node by node,
forward mode on tensors, many data points, ReLU at 0, and the printed trace.

References are numpy written here from the problem's formulas, never the engine's rules.
"""
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

import graphcomp
from graphcomp.core.errors import SpecError
from graphcomp.ops import REGISTRY
from graphcomp.problems import mlp
from graphcomp.render import rows as trace_rows

ROOT = Path(__file__).resolve().parent.parent
RTOL = 1e-12  # the engine and numpy do the same float64 products: only summation order may differ

# ---- shape rules: one row per tensor op ------------------------------------------------------------

SHAPES = [
    ("matmul", [(3, 2), (2,)], (3,)),
    ("matmul", [(3, 2), (2, 5)], (3, 5)),
    ("matmul", [(2,), (2, 4)], (4,)),
    ("matmul", [(2,), (2,)], ()),
    ("add", [(2, 3), (3,)], (2, 3)),
    ("sub", [(2,), (2,)], (2,)),
    ("mul", [(2, 1), (1, 4)], (2, 4)),
    ("relu", [(3, 4)], (3, 4)),
    ("sum", [(3, 4)], ()),
    ("halfsq", [(3,)], ()),
    ("transpose", [(3, 2)], (2, 3)),
    ("transpose", [(3,)], (3,)),
]
BAD_SHAPES = [
    ("matmul", [(2, 3), (2,)], ("2×3", "2")),
    ("matmul", [(3, 2), (3, 2)], ("3×2",)),
    ("add", [(2,), (3,)], ("2", "3")),
    ("sub", [(2, 3), (3, 2)], ("2×3", "3×2")),
    ("mul", [(4,), (2, 3)], ("4", "2×3")),
]


@pytest.mark.parametrize("op, shapes, expected", SHAPES)
def test_shape_rule(op, shapes, expected):
    assert REGISTRY[op].shape(*shapes) == expected


def test_every_tensor_op_has_a_shape_row():
    rows = {r[0] for r in SHAPES}
    assert {name for name, op in REGISTRY.items() if not op.elementwise} <= rows
    for arity in {op.arity for op in REGISTRY.values() if op.elementwise}:  # broadcasting (binary) and unary
        assert any(REGISTRY[name].elementwise and REGISTRY[name].arity == arity for name in rows), arity


@pytest.mark.parametrize("op, shapes, shown", BAD_SHAPES)
def test_shape_mismatch_names_the_node_and_both_shapes(op, shapes, shown):
    spec = {"inputs": [{"name": "a", "shape": list(shapes[0])}, {"name": "b", "shape": list(shapes[1])}],
            "nodes": [{"name": "c", "op": op, "inputs": ["a", "b"]}, {"name": "f", "op": "sum", "inputs": ["c"]}],
            "output": "f"}
    with pytest.raises(SpecError) as err:
        graphcomp.from_dict(spec, file="bad.yaml")
    msg = str(err.value)
    assert "node 'c'" in msg and f"{op}(a, b)" in msg
    for s in shown:
        assert s in msg


def test_the_problem_sets_own_sizes_fail_naming_sizes_that_fit():
    with pytest.raises(SpecError) as err:
        graphcomp.load(ROOT / "tests" / "specs" / "fig1_problem_sizes.yaml")
    msg = str(err.value)
    assert "node 'V1'" in msg and "matmul(W1, x)" in msg and "2×3" in msg
    assert "W1 ∈ ℝ^{3×2}" in msg and "W3 ∈ ℝ^{2×3}" in msg


def test_a_non_scalar_output_is_refused():
    spec = mlp.fig1_spec()
    spec["output"] = "D"
    with pytest.raises(SpecError, match="must be a scalar"):
        graphcomp.from_dict(spec)


# ---- Fig. 1: the default demo, and the 3(b) backward pass node by node --------------------------------------


def _numpy_forward(a):
    """Fig. 1's forward pass in numpy, from the problem's definitions."""
    V1 = a["W1"] @ a["x"]
    V2 = np.maximum(V1, 0.0)
    V3 = a["W2"] @ V2
    V4 = np.maximum(V3, 0.0)
    V5 = a["W3"] @ V4
    D = a["y"] - V5
    return {"V1": V1, "V2": V2, "V3": V3, "V4": V4, "V5": V5, "D": D, "z": 0.5 * D @ D}


def test_fig1_default_seed_keeps_relus_alive():
    t = graphcomp.load("fig1.yaml").trace()
    assert np.count_nonzero(t["V2"].v) >= 2 and np.count_nonzero(t["V4"].v) >= 2
    assert all(np.count_nonzero(g) > 0 for g in t.gradient.values())
    assert min(np.min(np.abs(t["V1"].v)), np.min(np.abs(t["V3"].v))) > 0.5  # far from the kinks


@pytest.mark.parametrize("seed", [13, 1, 4, 8])
def test_problem_3b_formulas_node_by_node(seed):
    g = graphcomp.load("fig1.yaml")
    a = g.defaults(seed)
    t = g.trace(at=a)
    v = _numpy_forward(a)
    for name, value in v.items():
        np.testing.assert_allclose(t[name].v, value, rtol=RTOL, atol=0)
    d = {"z": 1.0, "D": v["D"], "V5": -v["D"], "W3": -np.outer(v["D"], v["V4"])}  # given in 3(b)
    d["V4"] = d["V5"] @ a["W3"]
    d["V3"] = d["V4"] * (v["V3"] > 0)
    d["W2"] = np.outer(d["V3"], v["V2"])
    d["V2"] = d["V3"] @ a["W2"]
    d["V1"] = d["V2"] * (v["V1"] > 0)
    d["W1"] = np.outer(d["V1"], a["x"])
    for name, deriv in d.items():
        np.testing.assert_allclose(t[name].d, deriv, rtol=RTOL, atol=1e-15, err_msg=f"{name}.d")
        assert np.shape(t[name].d) == np.shape(t[name].v)  # .d of a vector is its row, never a Jacobian
    assert t["x"].d is None and t["y"].d is None  # data: ∂D/∂y is not needed


def test_reverse_trace_lists_the_3b_steps_in_symbols():
    full = {r.node: r for r in trace_rows.adjoint(graphcomp.load("fig1.yaml").trace()) if r.symbol.endswith(".d")}
    rows = {k: r.rule for k, r in full.items()}
    assert rows["z"] == "1"
    assert rows["D"] == "z.d (D.v)^\\top" and full["D"].closed == "(D.v)^\\top"
    assert rows["V5"] == "-D.d" and full["V5"].closed == "-(D.v)^\\top"
    assert rows["W3"] == "(V_{5}.d)^\\top (V_{4}.v)^\\top" and full["W3"].closed == "-D.v (V_{4}.v)^\\top"
    assert rows["V4"].startswith("V_{5}.d W_{3}.v")
    assert rows["V3"] == "V_{4}.d \\odot \\mathbf{1}[V_{3}.v > 0]^\\top"
    assert rows["W2"] == "(V_{3}.d)^\\top (V_{2}.v)^\\top"
    assert rows["V2"] == "V_{3}.d W_{2}.v"
    assert rows["V1"] == "V_{2}.d \\odot \\mathbf{1}[V_{1}.v > 0]^\\top"
    assert rows["W1"] == "(V_{1}.d)^\\top (x.v)^\\top"
    order = [r.node for r in trace_rows.adjoint(graphcomp.load("fig1.yaml").trace())]
    assert order.index("z") < order.index("D") < order.index("V5") < order.index("V1")


@pytest.mark.parametrize("fmt, expected", [
    ("rich", ["W₃.d", "= (V₅.d)ᵀ (V₄.v)ᵀ", "= -D.v (V₄.v)ᵀ", "𝟙[V₃.v > 0]ᵀ", "[[{W3[0][0]}, {W3[0][1]}, {W3[0][2]}]",
              "∂D/∂y", "y is data"]),
    ("latex", ["$W_{{3}}.d$ & $= (V_{{5}}.d)^\\top\\, (V_{{4}}.v)^\\top$", "{{$= -D.v\\, (V_{{4}}.v)^\\top$}}",
               "$W_{{1}}.d$ & $= (V_{{1}}.d)^\\top\\, (x.v)^\\top$",
               "\\begin{{bmatrix}}{W1[0][0]} & {W1[0][1]} \\\\ {W1[1][0]}"]),
])
def test_trace_command_prints_the_backward_pass(cli, fmt, expected):
    done = cli("trace", "fig1.yaml", "--mode", "reverse", "--format", fmt, env={"COLUMNS": "150", "PATH": ""})
    assert done.status == 0, done.stderr
    # the numbers: the hand-derived gradients of mlp.py at the data numpy.random.seed(0) draws, as the spec says
    draws = np.random.RandomState(0)
    x, W1, W2, W3, y = (draws.standard_normal(s) for s in ((2,), (3, 2), (3, 3), (2, 3), (2,)))
    grads = dict(zip(("W1", "W2", "W3"), mlp.gradients(W1, W2, W3, x, y)))
    shown = {k: [[f"{e:.4f}" for e in row] for row in g] for k, g in grads.items()}
    for text in expected:
        assert text.format(**shown) in done.stdout


# ---- forward mode on tensors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["fig1.yaml", "fig1_batch.yaml"])
@pytest.mark.parametrize("seed", [0, 7])
def test_forward_mode_along_a_seeded_direction_matches_reverse(spec, seed):
    g = graphcomp.load(spec)
    fwd = g.trace(mode="forward", seed=seed)
    rev = g.trace(mode="reverse", seed=seed)
    assert set(fwd.direction) == {"W1", "W2", "W3"}
    dot = sum(float(np.sum(rev.gradient[k] * u)) for k, u in fwd.direction.items())
    np.testing.assert_allclose(fwd.derivative, dot, rtol=1e-12)  # ⟨∇f, u⟩ = J u
    rows = {r.node: r for r in trace_rows.tangent(fwd)}
    assert rows["V1"].symbol == "\\dot{V}_{1}"  # a tangent, not the problem's .d = ∂f/∂V
    again = g.trace(mode="forward", seed=seed)
    assert all(np.array_equal(again.direction[k], u) for k, u in fwd.direction.items())


def test_forward_mode_matches_a_finite_difference_along_the_direction():
    g = graphcomp.load("fig1.yaml")
    a = g.defaults()
    fwd = g.trace(at=a, mode="forward")
    h = 1e-6
    up = {k: x + h * fwd.direction.get(k, 0.0) for k, x in a.items()}
    down = {k: x - h * fwd.direction.get(k, 0.0) for k, x in a.items()}
    fd = (_numpy_forward(up)["z"] - _numpy_forward(down)["z"]) / (2 * h)
    np.testing.assert_allclose(fwd.derivative, fd, rtol=1e-7)


# ---- many data points, other widths ------------------------------------------------------------------------------


def test_batch_gradient_is_the_sum_of_per_point_gradients():
    g = graphcomp.load("fig1_batch.yaml")
    a = g.defaults()
    batch = g.trace(at=a).gradient
    single = graphcomp.from_dict(mlp.fig1_spec((2, 4, 5, 2)))
    total = {k: 0.0 for k in batch}
    for col in range(a["X"].shape[1]):
        point = {"W1": a["W1"], "W2": a["W2"], "W3": a["W3"], "x": a["X"][:, col], "y": a["Y"][:, col]}
        for k, gk in single.trace(at=point).gradient.items():
            total[k] = total[k] + gk
    for k in batch:
        np.testing.assert_allclose(batch[k], total[k], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("widths, n", [((2, 3, 3, 2), None), ((2, 7, 1, 2), 5), ((4, 8, 6, 3), 32), ((1, 2, 2, 1), 3)])
def test_other_widths_and_batches_match_the_analytic_gradient(widths, n):
    g = graphcomp.from_dict(mlp.fig1_spec(widths, n, seed=3))
    t = g.trace()
    a = t.inputs
    x, y = ("x", "y") if n is None else ("X", "Y")
    expected = mlp.gradients(a["W1"], a["W2"], a["W3"], a[x], a[y])
    for k, e in zip(("W1", "W2", "W3"), expected):
        assert t.gradient[k].shape == g.node(k).shape
        np.testing.assert_allclose(t.gradient[k], e, rtol=1e-12, atol=1e-13)


def test_tensor_inputs_from_the_spec_and_from_npz(tmp_path):
    rng = np.random.default_rng(5)
    arrays = {"x": rng.standard_normal(2), "W1": rng.standard_normal((3, 2)), "W2": rng.standard_normal((3, 3)),
              "W3": rng.standard_normal((2, 3)), "y": rng.standard_normal(2)}
    np.savez(tmp_path / "p3.npz", **arrays)
    g = graphcomp.load("fig1.yaml")
    from_npz = g.trace(data=graphcomp.read_npz(tmp_path / "p3.npz"))
    spec = mlp.fig1_spec()
    for entry in spec["inputs"]:
        entry["value"] = arrays[entry["name"]].tolist()
    literal = graphcomp.from_dict(spec).trace()
    np.testing.assert_allclose(from_npz.value, _numpy_forward(arrays)["z"], rtol=RTOL)
    np.testing.assert_allclose(literal.value, from_npz.value, rtol=RTOL)
    for k in ("W1", "W2", "W3"):
        np.testing.assert_array_equal(literal.gradient[k], from_npz.gradient[k])


# ---- ReLU at 0 -------------------------------------------------------------------------------------------------


def test_relu_derivative_at_zero_is_zero_in_both_kits():
    a = np.array([-1.0, 0.0, 2.0])
    relu = REGISTRY["relu"]
    from graphcomp.ops.kits import FloatKit, numpy_kit

    NUMPY = numpy_kit()
    np.testing.assert_array_equal(relu.vjp(NUMPY, np.ones(3), relu.fwd(NUMPY, a), a)[0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(relu.jvp(NUMPY, relu.fwd(NUMPY, a), a, np.ones(3)), [0.0, 0.0, 1.0])
    assert relu.vjp(FloatKit, 1.0, 0.0, 0.0)[0] == 0.0


def test_relu_at_zero_in_the_network_matches_pytorch():
    torch = pytest.importorskip("torch")
    spec = mlp.fig1_spec()
    values = {"x": [1.0, 1.0], "W1": [[1.0, -1.0], [0.5, 0.25], [-2.0, 1.0]], "W2": np.eye(3).tolist(),
              "W3": [[1.0, 2.0, 3.0], [-1.0, 0.5, 1.0]], "y": [0.5, -0.5]}
    for entry in spec["inputs"]:
        entry["value"] = values[entry["name"]]
    t = graphcomp.from_dict(spec).trace()
    assert t["V1"].v[0] == 0.0  # exactly on the kink
    tt = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k.startswith("W")) for k, v in values.items()}
    D = tt["y"] - tt["W3"] @ torch.relu(tt["W2"] @ torch.relu(tt["W1"] @ tt["x"]))
    (0.5 * (D * D).sum()).backward()
    for k in ("W1", "W2", "W3"):
        np.testing.assert_allclose(t.gradient[k], tt[k].grad.numpy(), rtol=1e-14, atol=0)
    np.testing.assert_array_equal(t.gradient["W1"][0], [0.0, 0.0])  # ReLU'(0) = 0 kills row 0


# ---- Problem 3(b): every .d in closed form, in the .v fields alone ------------------------------------------------

def _evaluate(tex, values):
    """A closed form as graphcomp writes it (A.v symbols, juxtaposition for products, (…)^\\top, \\odot,
    \\mathbf{1}[A.v > 0], a leading -) evaluated with numpy: vectors as columns. A parser of its own, so
    that the check does not read the LaTeX the way the code writes it."""
    tokens = re.findall(r"\\mathbf\{1\}\[[^\]]*\]|\^\\top|\\odot|[()\-]|[A-Za-z][\w{}\\]*\.v", tex.replace("\\,", " "))
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def atom():
        tok = take()
        if tok == "(":
            x = expr()
            assert take() == ")"
        elif tok.startswith("\\mathbf{1}["):
            x = (values[tok[len("\\mathbf{1}["):-1].split(" > ")[0]] > 0).astype(float)
        else:
            x = values[tok]
        while peek() == "^\\top":
            take()
            x = x.T
        return x

    def product():
        x = atom()
        while peek() not in (None, ")", "\\odot"):
            x = x @ atom()
        return x

    def expr():
        sign = -1.0 if peek() == "-" and take() else 1.0
        x = product()
        while peek() == "\\odot":
            take()
            x = x * product()
        return sign * x

    out = expr()
    assert pos == len(tokens), tex
    return out


def test_every_closed_form_of_fig1_equals_the_reverse_pass():
    t = graphcomp.load("fig1.yaml").trace(mode="reverse", seed=11)
    g = t.graph
    columns = {f"{n.label}.v": np.asarray(t[n.name].v).reshape(-1, 1) if len(n.shape) == 1 else np.asarray(t[n.name].v)
               for n in g.nodes}
    rows = {r.node: r for r in trace_rows.adjoint(t) if r.symbol.endswith(".d")}
    assert {"W1", "W2", "W3", "V1", "V3", "V5", "D"} <= {k for k, r in rows.items() if r.closed}
    for name, r in rows.items():
        if r.closed:
            np.testing.assert_allclose(np.ravel(_evaluate(r.closed, columns)), np.ravel(t[name].d), rtol=1e-12,
                                       err_msg=f"{name}.d = {r.closed}")
    assert rows["W3"].closed == "-D.v (V_{4}.v)^\\top"  # as the problem set writes it
    data = [r for r in trace_rows.adjoint(t) if r.value is None]
    assert [r.symbol for r in data] == ["\\partial D/\\partial y", "\\partial V_{1}/\\partial x"]  # ∂D/∂y = 0


@pytest.mark.parametrize("data", ["A", "x"])
def test_forward_mode_through_a_matmul_with_a_data_argument_is_the_other_arguments_term(data):
    """With A (or x) data, the tangent of A x is A ẋ (or Ȧ x) alone: the sweep skips the data argument's term
    (Op.jvp_args) and gives the data node a tangent 0 of its shape."""
    rng = np.random.default_rng(7)
    A, x = rng.standard_normal((4, 3)), rng.standard_normal(3)
    g = graphcomp.from_dict({"name": "ax", "output": "f", "inputs": [
        {"name": "A", "shape": [4, 3], **({"kind": "data"} if data == "A" else {})},
        {"name": "x", "shape": [3], **({"kind": "data"} if data == "x" else {})}],
        "nodes": [{"name": "u", "op": "matmul", "inputs": ["A", "x"]}, {"name": "f", "op": "halfsq", "inputs": ["u"]}]})
    wrt = "x" if data == "A" else "A"
    direction = rng.standard_normal(np.shape(x if wrt == "x" else A))
    t = g.trace(at={"A": A, "x": x}, wrt={wrt: direction}, mode="forward")
    expected = A @ direction if wrt == "x" else direction @ x
    np.testing.assert_allclose(t["u"].d, expected, rtol=1e-14)
    np.testing.assert_allclose(t.derivative, (A @ x) @ expected, rtol=1e-13)
    assert np.array_equal(t[data].d, np.zeros(np.shape(A if data == "A" else x)))


def test_trace_says_how_its_tensor_inputs_were_drawn_in_lines_of_python(cli):
    ran = cli("trace", "--expr", "sum(w*x)", "--shape", "w=3,x=3", "--mode", "reverse")
    assert ran.status == 0
    tail = ran.stdout.split("tensor inputs drawn as\n")[1].splitlines()
    assert [line.strip() for line in tail] == ["numpy.random.seed(0)", "w = numpy.random.standard_normal(3)",
                                               "x = numpy.random.standard_normal(3)"]
    drawn = {}
    exec("\n".join(line.strip() for line in tail), {"numpy": np}, drawn)  # pasted into Python, they run as written
    w = drawn["w"]
    assert f"[{w[0]:.4f}, {w[1]:.4f}, {w[2]:.4f}]ᵀ" in ran.stdout  # and draw the numbers the trace shows


def test_a_matrix_in_a_terminal_table_keeps_its_columns_in_a_pipe(cli):
    """Each matrix's entries right-aligned in their columns, its lines one length (commas between the rows), never
    wrapped; written to a pipe the table is 120 columns wide, as with -o FILE (rich would make it 80)."""
    ran = cli("trace", "fig1.yaml", "--mode", "reverse", env={"COLUMNS": None})
    assert ran.status == 0
    lines = ran.stdout.splitlines()
    assert max(len(line) for line in lines) > 80
    k = next(k for k, line in enumerate(lines) if line.startswith(" W2    W₂.v"))
    block = lines[k:k + 3]
    ends = {len(line.rstrip()) for line in block}
    assert len(ends) == 1, block  # the three rows end in one column
    cells = [line[line.index("["):].strip("[], ") for line in block]
    commas = {tuple(k for k, ch in enumerate(line.rstrip().rstrip(",")) if ch == ",") for line in block}
    assert len(commas) == 1, block  # entries aligned: the commas stand in the same columns
    W2 = graphcomp.load("fig1.yaml").defaults()["W2"]
    assert [[float(x) for x in c.split(",")] for c in cells] == pytest.approx(W2, abs=5e-5)


def test_a_csv_cell_of_a_matrix_is_a_json_and_python_literal(cli):
    """Problem 3(c) copies the numbers into PyTorch: each CSV value cell reads with json.loads, to the 4 decimals."""
    ran = cli("trace", "fig1.yaml", "--mode", "reverse", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(ran.stdout)))
    W2 = graphcomp.load("fig1.yaml").defaults()["W2"]
    cell = next(r["value"] for r in rows if r["trace"] == "primal" and r["node"] == "W2")
    assert np.array(json.loads(cell)) == pytest.approx(W2, abs=5e-5)
    assert all(json.loads(r["value"]) is not None for r in rows if r["value"] not in ("—", ""))
