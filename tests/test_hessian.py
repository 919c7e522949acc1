"""Full Hessians (`graph.hessian`, `graphcomp hessian`): against closed forms, torch.autograd.functional.hessian and
central differences of the reverse-mode gradient; the order of the rows, the blocks, and the one-line errors."""
import json
import math

import numpy as np
import pytest
import yaml

import graphcomp
from graphcomp.core.errors import GraphcompError
from graphcomp.engine.hessian import hessian
from graphcomp.problems import phase

EQ2_AT = {"x1": 1.0, "x2": 1.5, "x3": 2.0}
# inputs a matrix, a scalar and a vector, in that order: the rows are W[0,0] … W[1,2], c, v[0] … v[2]
MIXED = {"name": "mixed", "inputs": [{"name": "W", "shape": [2, 3]}, {"name": "c", "value": 0.7},
                                     {"name": "v", "shape": [3]}, {"name": "y", "shape": [2], "kind": "data"}],
         "nodes": [{"name": "u", "op": "matmul", "inputs": ["W", "v"]}, {"name": "s", "op": "sin", "inputs": ["u"]},
                   {"name": "p", "op": "mul", "inputs": ["s", "c"]}, {"name": "r", "op": "sub", "inputs": ["p", "y"]},
                   {"name": "e", "op": "exp", "inputs": ["c"]}, {"name": "h", "op": "halfsq", "inputs": ["r"]},
                   {"name": "f", "op": "mul", "inputs": ["h", "e"]}],
         "output": "f", "seed": 3}


def eq2_hessian(x1, x2, x3):
    """∇²f of Eq. 2, f = (u sin x3 + e^u)/x3 with u = x1 x2, differentiated by hand."""
    u, s, c, e = x1 * x2, math.sin(x3), math.cos(x3), math.exp(x1 * x2)
    h12 = (s + e * (1 + u)) / x3
    h13 = x2 * c / x3 - x2 * (s + e) / x3 ** 2
    h23 = x1 * c / x3 - x1 * (s + e) / x3 ** 2
    h33 = -u * s / x3 - 2 * u * c / x3 ** 2 + 2 * (u * s + e) / x3 ** 3
    return np.array([[x2 ** 2 * e / x3, h12, h13], [h12, x1 ** 2 * e / x3, h23], [h13, h23, h33]])


def test_eq2_every_input_against_its_closed_form():
    H = graphcomp.load("eq2.yaml").hessian(EQ2_AT)
    np.testing.assert_allclose(H, eq2_hessian(1.0, 1.5, 2.0), rtol=1e-13)
    H = graphcomp.load("eq2.yaml").hessian({"x1": -0.5, "x2": 2.0, "x3": 0.3})
    np.testing.assert_allclose(H, eq2_hessian(-0.5, 2.0, 0.3), rtol=1e-12)


def test_wrt_picks_the_rows_in_its_order_and_one_name_is_its_block():
    g, full = graphcomp.load("eq2.yaml"), eq2_hessian(1.0, 1.5, 2.0)
    np.testing.assert_allclose(g.hessian(EQ2_AT, ["x3", "x1"]), full[np.ix_([2, 0], [2, 0])], rtol=1e-13)
    np.testing.assert_allclose(g.hessian(EQ2_AT, wrt="x2"), [[full[1, 1]]], rtol=1e-13)
    assert hessian(g, EQ2_AT, ["x3", "x1"]).inputs == ("x3", "x1")


def _torch_mixed(torch, at):
    """f of MIXED in torch, on the flat vector [W in C order, c, v]: an independent evaluation."""
    y = torch.tensor(at["y"], dtype=torch.float64)

    def f(flat):
        W, c, v = flat[:6].reshape(2, 3), flat[6], flat[7:]
        return 0.5 * torch.sum((torch.sin(W @ v) * c - y) ** 2) * torch.exp(c)

    return f


def test_tensor_inputs_in_spec_order_and_c_order_against_torch():
    torch = pytest.importorskip("torch")
    g = graphcomp.from_dict(MIXED)
    h = hessian(g)
    assert h.inputs == ("W[0,0]", "W[0,1]", "W[0,2]", "W[1,0]", "W[1,1]", "W[1,2]", "c", "v[0]", "v[1]", "v[2]")
    flat = np.concatenate([np.ravel(h.at["W"]), [h.at["c"]], h.at["v"]])
    ref = torch.autograd.functional.hessian(_torch_mixed(torch, h.at), torch.tensor(flat, dtype=torch.float64))
    np.testing.assert_allclose(h.matrix, ref.numpy(), rtol=1e-11, atol=1e-13)


def test_fig1_against_torch():
    torch = pytest.importorskip("torch")
    g = graphcomp.load("fig1.yaml")
    h = hessian(g)
    x, y = (torch.tensor(h.at[k], dtype=torch.float64) for k in ("x", "y"))
    sizes = [h.at[k].size for k in h.wrt]

    def f(flat):
        W1, W2, W3 = (p.reshape(h.at[k].shape) for p, k in zip(torch.split(flat, sizes), h.wrt))
        return 0.5 * torch.sum((y - W3 @ torch.relu(W2 @ torch.relu(W1 @ x))) ** 2)

    flat = torch.tensor(np.concatenate([np.ravel(h.at[k]) for k in h.wrt]), dtype=torch.float64)
    np.testing.assert_allclose(h.matrix, torch.autograd.functional.hessian(f, flat).numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("spec", ["eq2.yaml", "fig1.yaml", "mixed"])
def test_each_column_against_central_differences_of_the_gradient(spec):
    g = graphcomp.from_dict(MIXED) if spec == "mixed" else graphcomp.load(spec)
    h = hessian(g)
    h_step = 1e-6
    for k, name in enumerate(h.inputs):
        base, bracket, index = name.partition("[")
        cols = []
        for sign in (1, -1):
            x = np.array(h.at[base], dtype=float)
            if bracket:
                x[tuple(int(i) for i in index[:-1].split(","))] += sign * h_step
            else:
                x = x + sign * h_step
            grad = g.gradient({**h.at, base: float(x) if x.ndim == 0 else x})
            cols.append(np.concatenate([np.ravel(grad[w]) for w in h.wrt]))
        fd = (cols[0] - cols[1]) / (2 * h_step)
        np.testing.assert_allclose(h.matrix[:, k], fd, rtol=1e-5, atol=1e-6 * np.abs(h.matrix).max(), err_msg=name)


@pytest.mark.parametrize("seed", [0, 1])
def test_problem1_against_its_hand_derived_hessian_and_symmetric_to_round_off(seed):
    inst = phase.make_instance(5, 12, seed)
    x = np.random.default_rng(seed).standard_normal(5)
    h = hessian(phase.Engine(inst.A, inst.y).graph, {"A": inst.A, "y": inst.y, "x": x})
    want = phase.Analytic(inst.A, inst.y).hess(x)
    np.testing.assert_allclose(h.matrix, want, rtol=1e-11, atol=1e-12 * np.abs(want).max())
    assert 0 < h.asymmetry <= 1e-13 * np.abs(want).max() or h.asymmetry == 0.0
    np.testing.assert_allclose(h.eigenvalues, np.linalg.eigvalsh(want), rtol=1e-10, atol=1e-10 * np.abs(want).max())
    np.testing.assert_allclose(h.gradient, phase.Analytic(inst.A, inst.y).grad(x), rtol=1e-12)


def test_the_record_holds_f_and_the_reverse_mode_gradient():
    g = graphcomp.from_dict(MIXED)
    h, t = hessian(g), g.trace(mode="reverse")
    assert h.value == pytest.approx(t.value, rel=1e-15)
    np.testing.assert_allclose(h.gradient, np.concatenate([np.ravel(t.gradient[w]) for w in ("W", "c", "v")]),
                               rtol=1e-14)
    assert h.products == 10 and h.inertia[0] + h.inertia[1] + h.inertia[2] == 10


def test_blocks_are_the_matrix_reshaped_in_c_order():
    g = graphcomp.from_dict(MIXED)
    H, B = g.hessian(), g.hessian(blocks=True)
    assert list(B) == ["W", "c", "v"] and B["W"]["v"].shape == (2, 3, 3) and B["c"]["c"].shape == ()
    assert B["W"]["v"][1, 2, 0] == H[5, 7] and B["v"]["W"][0, 1, 2] == H[7, 5] and B["c"]["W"][0, 1] == H[6, 1]
    assert hessian(g).block("W", "W")[0, 1, 1, 0] == H[1, 3]


def test_inertia_counts_signs():
    h = hessian(graphcomp.load("eq2.yaml"), EQ2_AT)
    assert h.inertia == (1, 0, 2)  # eq2's Hessian at (1, 1.5, 2) is indefinite (its closed form's eigenvalues)
    assert (np.linalg.eigvalsh(eq2_hessian(1.0, 1.5, 2.0)) < 0).sum() == 1


@pytest.mark.parametrize("args, words", [
    (("polar.yaml",), ("polar.yaml: ", "needs one scalar output f", "2 outputs (x, y)")),
    (("eq2.yaml", "--wrt", "v6"), ("'v6' is not an input",)),
    (("eq2.yaml", "--wrt", "x1,x1"), ("x1 twice",)),
    (("eq2.yaml", "--wrt", "x1=1"), ("not a direction",)),
    (("fig1.yaml", "--wrt", "x"), ("node 'x'", "data")),
])
def test_bad_input_is_one_line_and_status_2(cli, args, words):
    r = cli("hessian", *args)
    assert r.status == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("graphcomp: error: ") and all(w in r.stderr for w in words), r.stderr


@pytest.mark.parametrize("command", ["hessian", "jacobian"])
def test_no_differentiable_input_is_one_line_naming_the_file(cli, tmp_path, command):
    spec = {"inputs": [{"name": "y", "value": 2.0, "kind": "data"}],
            "nodes": [{"name": "f", "op": "sin", "inputs": ["y"]}], "output": "f"}
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "out.json"
    r = cli(command, path, "-o", out)
    assert r.status == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith(f"graphcomp: error: {path}: ") and "no differentiable input" in r.stderr
    assert not out.exists()


def test_a_tensor_output_is_one_line_and_status_2(cli, tmp_path):
    """f ∈ ℝ² listed in outputs: refused when the spec loads, or (where outputs may be tensors) by hessian."""
    spec = {"inputs": [{"name": "x", "value": [1.0, 2.0]}], "nodes": [{"name": "s", "op": "sin", "inputs": ["x"]}],
            "outputs": ["s"]}
    path = tmp_path / "vector.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    r = cli("hessian", path)
    assert r.status == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr
    assert "node 's'" in r.stderr and "scalar" in r.stderr and "sum or halfsq" in r.stderr


def test_the_api_refuses_several_outputs():
    with pytest.raises(GraphcompError, match="needs one scalar output"):
        graphcomp.load("polar.yaml").hessian()
    with pytest.raises(GraphcompError, match="needs one scalar output"):
        graphcomp.load("polar.yaml").hvp(None, {"r": 1.0})


def test_cli_every_format(cli, tmp_path):
    want = eq2_hessian(1.0, 1.5, 2.0)
    r = cli("hessian", "eq2.yaml")
    assert r.status == 0 and "eigenvalues" in r.stdout and "indefinite" in r.stdout, r.stderr
    assert f"{np.linalg.eigvalsh(want)[0]:.4f}" in r.stdout
    doc = json.loads(cli("hessian", "eq2.yaml", "--format", "json").stdout)
    np.testing.assert_allclose(doc["hessian"], want, rtol=1e-13)
    np.testing.assert_allclose(doc["eigenvalues"], np.linalg.eigvalsh(want), rtol=1e-12)
    assert doc["inputs"] == ["x1", "x2", "x3"] and doc["inertia"] == {"negative": 1, "zero": 0, "positive": 2}
    lines = cli("hessian", "eq2.yaml", "--wrt", "x1,x3", "--format", "csv").stdout.splitlines()
    assert lines[0] == "section,row,column,value" and len(lines) == 1 + 4 + 2
    assert float(lines[2].split(",")[3]) == pytest.approx(want[0, 2], rel=1e-13)  # row x1, column x3
    assert "| $v_{-2}$ |" in cli("hessian", "eq2.yaml", "--format", "markdown").stdout
    out = tmp_path / "h.tex"
    assert cli("hessian", "fig1.yaml", "-o", out).status == 0
    tex = out.read_text()
    assert tex.count("\\begin{tabular}") == 1 and "\\cdots" in tex and "\\vdots" in tex
    r = cli("hessian", "--expr", "x*x*y + sin(y)", "--at", "x=1,y=2", "--format", "json")
    np.testing.assert_allclose(json.loads(r.stdout)["hessian"], [[4, 2], [2, -math.sin(2)]], rtol=1e-14)


def test_cli_on_problem1_with_data_against_the_hand_derived_hessian(cli, tmp_path):
    inst = phase.make_instance(20, 100, 7)
    x = phase.initial_point(inst, "random")
    np.savez(tmp_path / "mine.npz", A=inst.A, y=inst.y, x=x)
    r = cli("hessian", "phase.yaml", "--data", tmp_path / "mine.npz", "--format", "json")
    assert r.status == 0, r.stderr
    doc, want = json.loads(r.stdout), phase.Analytic(inst.A, inst.y).hess(x)
    np.testing.assert_allclose(doc["hessian"], want, rtol=1e-10, atol=1e-11 * np.abs(want).max())
    np.testing.assert_allclose(doc["eigenvalues"], np.linalg.eigvalsh(want), rtol=1e-9)
    assert doc["inertia"]["negative"] == int(np.sum(np.linalg.eigvalsh(want) < 0)) == 3
