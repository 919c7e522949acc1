"""Formulas of several lines (names kept, several outputs) and matrix formulas (shapes from arrays or --shape)."""
import json
import math

import numpy as np
import pytest
import yaml

import graphcomp
from graphcomp.core.errors import SpecError
from graphcomp.frontends.formula import to_spec

TWO = "u = x1*x2; f1 = sin(u); f2 = u + exp(x3)"
AT = {"x1": 1.0, "x2": 1.5, "x3": 2.0}


def signature(g, i):
    """Node i as a canonical expression over the input names (names of intermediates left out)."""
    n = g.nodes[i]
    if n.op is None:
        return n.name if n.kind != "const" else repr(float(n.value))
    return f"{n.op}({','.join(signature(g, a) for a in n.args)})"


def test_assigned_names_become_nodes_and_unused_ones_the_outputs():
    g = graphcomp.parse_expr(TWO, at=AT)
    assert g.output_names == ["f1", "f2"]
    assert {"u", "f1", "f2"} <= set(g.index)
    assert signature(g, g.index["f2"]) == "add(mul(x1,x2),exp(x3))"
    assert g.nodes[g.index["f1"]].args == (g.index["u"],)  # u is one node, used by both outputs


def test_newlines_and_semicolons_give_the_same_graph():
    a = graphcomp.parse_expr(TWO, at=AT)
    b = graphcomp.parse_expr(TWO.replace("; ", "\n"), at=AT)
    assert [signature(a, i) for i in range(len(a))] == [signature(b, i) for i in range(len(b))]
    assert a.output_names == b.output_names


@pytest.mark.parametrize("expr, outputs", [
    ("u = x1*x2\nf1 = sin(u)\nf2 = u + f1\nf1, f2", ["f1", "f2"]),  # a bare last line lists them
    ("u = x1*x2; f1 = sin(u); u, f1", ["u", "f1"]),  # a name used later may be listed
    ("u = x1*x2; sin(u) + x3", None),  # a bare last expression: one unnamed output
    ("sin(x1), cos(x1)", None),
])
def test_the_outputs_rule(expr, outputs):
    spec = to_spec(expr)
    got = spec["outputs"] if "outputs" in spec else [spec["output"]]
    if outputs is not None:
        assert got == outputs
    else:
        assert len(got) == expr.count(",") + 1 and all(name.startswith("v") for name in got)


def test_several_outputs_trace_against_closed_forms():
    g = graphcomp.parse_expr(TWO, at=AT)
    t = g.trace(mode="reverse")
    x1, x2, x3 = AT.values()
    assert t["f1"].v == pytest.approx(math.sin(x1 * x2), rel=1e-15)
    assert t["f2"].v == pytest.approx(x1 * x2 + math.exp(x3), rel=1e-15)
    assert t.gradient["x1"] == pytest.approx(x2 * math.cos(x1 * x2), rel=1e-15)


def test_a_single_expression_keeps_its_spec():
    spec = to_spec("(x1*x2*sin(x3) + exp(x1*x2))/x3")
    assert "outputs" not in spec and spec["output"] == "v6"
    assert [n["name"] for n in spec["nodes"]] == [f"v{k}" for k in range(1, 7)]


def test_named_and_unnamed_nodes_are_numbered_apart():
    spec = to_spec("f = exp(x*y) + sin(x); u = x*y; g = u*2")
    names = [n["name"] for n in spec["nodes"]]
    assert "u" in names and "f" in names and "g" in names
    assert sorted(n for n in names if n not in ("u", "f", "g")) == ["v1", "v2"]  # no gap where u took a number


@pytest.mark.parametrize("expr, words", [
    ("u = x; f = u*2", "'u = ...' must compute something"),
    ("a = sin(x); b = sin(x)", "'b' computes what 'a' does"),
    ("f = u*2; u = x*3", "'u' is used before the line that assigns it"),
    ("u = x*2; u = x*3", "'u' is assigned twice in 'u = x*3'"),
    ("sin(x); f = cos(x)", "may only be the last line"),
    ("import os", "'Import' is not allowed"),
    ("u = x*2\nimport os", "'Import' in 'import os' is not allowed"),
    ("a = b = sin(x)", "must give one name"),
    ("x, y = sin(z), cos(z)", "must give one name"),
    ("u = x; u += 1", "'AugAssign'"),
    ("e = x*2; f = e", "'e' is a constant"),
    ("sin = x*2; f = sin", "'sin' is a function"),
    ("u = x1*x2; f1 = sin(u", "not a formula"),
])
def test_bad_statements_are_one_line_errors(cli, expr, words):
    with pytest.raises(SpecError, match="^--expr: ") as info:
        to_spec(expr)
    assert words in str(info.value)
    r = cli("trace", "--expr", expr)
    assert r.status == 2 and r.stdout == "" and r.stderr.count("\n") == 1 and words in r.stderr


def test_an_output_listed_twice_is_an_error(cli):
    r = cli("trace", "--expr", "f = sin(x); f, f", "--at", "x=1")
    assert r.status == 2 and "listed twice" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["trace", "draw", "jacobian", "check"])
def test_every_command_takes_a_formula_of_several_lines(cli, tmp_path, command):
    extra = {"draw": ["-o", tmp_path / "g.dot"], "check": ["--mode", "forward", "--wrt", "x2", tmp_path / "a.csv"],
             "trace": ["--format", "json"], "jacobian": ["--format", "json"]}[command]
    if command == "check":  # forward mode along x2, by hand: u̇ = x1, ḟ1 = cos(u) u̇, ḟ2 = u̇
        x1, x2, x3 = AT.values()
        u = x1 * x2
        rows = [("x1", x1, 0), ("x2", x2, 1), ("x3", x3, 0), ("u", u, x1), ("v1", math.exp(x3), 0),
                ("f1", math.sin(u), math.cos(u) * x1), ("f2", u + math.exp(x3), x1)]
        (tmp_path / "a.csv").write_text("node,value,derivative\n" + "".join(
            f"{n},{v:.4f},{d:.4f}\n" for n, v, d in rows), encoding="utf-8")
    r = cli(command, "--expr", TWO, "--at", "x1=1,x2=1.5,x3=2", *extra)
    assert r.status == 0 and r.stderr == "", r.stderr  # check: 0 means every row is right
    if command == "draw":
        dot = (tmp_path / "g.dot").read_text(encoding="utf-8")
        assert dot.count("#fde3c4") == 2  # both outputs drawn as outputs
    if command == "jacobian":
        J = np.array(json.loads(r.stdout)["jacobian"]["reverse"])
        x1, x2, x3 = AT.values()
        c = math.cos(x1 * x2)
        assert J == pytest.approx(np.array([[x2 * c, x1 * c, 0.0], [x2, x1, math.exp(x3)]]), rel=1e-12)


def test_check_refuses_the_adjoints_of_several_outputs(cli, tmp_path):
    (tmp_path / "a.csv").write_text("node,value\nu,1.5\n", encoding="utf-8")
    r = cli("check", "--expr", TWO, "--at", "x1=1,x2=1.5,x3=2", "--mode", "reverse", tmp_path / "a.csv")
    assert r.status == 2 and r.stderr == ("graphcomp: error: --expr: check grades the adjoint trace of one output, and "
                                          "this graph has 2 (f1, f2); grade its forward mode (--mode forward)\n")


def test_parse_writes_several_outputs_that_load_back(cli, tmp_path):
    out = tmp_path / "two.yaml"
    r = cli("parse", "--expr", TWO, "--at", "x1=1,x2=1.5,x3=2", "-o", out)
    assert r.status == 0
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert doc["outputs"] == ["f1", "f2"]
    g = graphcomp.load(out)
    assert g.output_names == ["f1", "f2"]
    assert g.trace(mode="value")["f2"].v == pytest.approx(1.5 + math.exp(2.0), rel=1e-15)


# ---- matrix formulas: Problem 3's objective as the one line it is ---------------------------------------------

FIG1 = "halfsq(y - W3 @ relu(W2 @ relu(W1 @ x)))"


@pytest.fixture
def fig1_npz(tmp_path):
    """graphs/fig1.yaml's values (its seeded draws) in an .npz file, and those values."""
    values = graphcomp.load("graphs/fig1.yaml").defaults()
    path = tmp_path / "fig1_data.npz"
    np.savez(path, **values)
    return path, values


def structure(g):
    """The graph node for node up to names: each node's op, its arguments' signatures, its shape and kind."""
    return sorted((signature(g, i), n.shape, n.kind) for i, n in enumerate(g.nodes))


def by_hand(values):
    """Fig. 1's gradients in numpy by hand (Problem 3(a)): f = ½‖y − W3 σ(W2 σ(W1 x))‖²."""
    x, W1, W2, W3, y = (values[k] for k in ("x", "W1", "W2", "W3", "y"))
    a1 = W1 @ x
    h1 = np.maximum(a1, 0)
    a2 = W2 @ h1
    h2 = np.maximum(a2, 0)
    D = y - W3 @ h2
    g2 = (a2 > 0) * (W3.T @ -D)
    g1 = (a1 > 0) * (W2.T @ g2)
    return 0.5 * D @ D, {"W3": np.outer(-D, h2), "W2": np.outer(g2, h1), "W1": np.outer(g1, x)}


def test_the_formula_builds_fig1_node_for_node(fig1_npz):
    path, values = fig1_npz
    shapes = {k: v.shape for k, v in values.items()}
    g = graphcomp.parse_expr(FIG1, shapes=shapes, fixed=["x", "y"])
    assert structure(g) == structure(graphcomp.load("graphs/fig1.yaml"))
    free = graphcomp.parse_expr(FIG1, shapes=shapes)  # without fixed, x and y are variables: only kinds differ
    assert [s[:2] for s in structure(free)] == [s[:2] for s in structure(g)]


def test_parse_expr_takes_arrays_in_at(fig1_npz):
    _, values = fig1_npz
    g = graphcomp.parse_expr(FIG1, at=values)
    f, grads = by_hand(values)
    t = g.trace(mode="reverse")
    assert t.value == pytest.approx(f, rel=1e-14)
    for k, want in grads.items():
        np.testing.assert_allclose(t[k].d, want, rtol=1e-13)


def test_cli_trace_of_the_formula_prints_fig1s_backward_pass(cli, fig1_npz):
    path, values = fig1_npz
    spec = json.loads(cli("trace", "fig1.yaml", "--data", path, "--mode", "reverse", "--format", "json").stdout)
    r = cli("trace", "--expr", FIG1, "--data", path, "--mode", "reverse", "--fixed", "x,y", "--format", "json")
    assert r.status == 0, r.stderr
    mine = json.loads(r.stdout)
    assert [row["value"] for row in mine["adjoint"]] == [row["value"] for row in spec["adjoint"]]
    f, grads = by_hand(values)
    got = {row["node"]: row["value"] for row in mine["adjoint"]}
    assert mine["value"] == pytest.approx(f, rel=1e-14)
    for k, want in grads.items():
        np.testing.assert_allclose(got[k], want, rtol=1e-13)
    # the command of the issue, without --fixed: x and y get a .d too, and every other number is the same
    free = json.loads(cli("trace", "--expr", FIG1, "--data", path, "--mode", "reverse", "--format", "json").stdout)
    values_free = [row["value"] for row in free["adjoint"] if row["node"] not in ("x", "y")]
    assert values_free == [row["value"] for row in spec["adjoint"] if row["value"] is not None]


def test_parse_writes_a_spec_with_shapes_that_loads_back(cli, fig1_npz, tmp_path):
    path, values = fig1_npz
    out = tmp_path / "mine.yaml"
    r = cli("parse", "--expr", FIG1, "--data", path, "--fixed", "x,y", "-o", out)
    assert r.status == 0, r.stderr
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert {e["name"]: e["shape"] for e in doc["inputs"]} == {k: list(v.shape) for k, v in values.items()}
    assert structure(graphcomp.load(out)) == structure(graphcomp.load("graphs/fig1.yaml"))
    r = cli("parse", "--expr", FIG1, "--shape", "W1=3x2,W2=3x3,W3=2x3,x=2,y=2", "-o", tmp_path / "shaped.yaml")
    assert r.status == 0 and [s[:2] for s in structure(graphcomp.load(tmp_path / "shaped.yaml"))] == \
        [s[:2] for s in structure(graphcomp.load(out))]


def one_line(r):
    assert r.status == 2 and r.stdout == "" and r.stderr.count("\n") == 1 and r.stderr.startswith("graphcomp: error: ")
    return r.stderr


def test_a_shape_that_does_not_fit_is_the_error_a_spec_gives(cli, tmp_path):
    doc = yaml.safe_load(open("graphs/fig1.yaml", encoding="utf-8"))
    for entry in doc["inputs"]:
        if entry["name"] == "W1":
            entry["shape"] = [2, 3]  # the problem set's sizes, which do not fit W1 x
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    from_spec = one_line(cli("trace", tmp_path / "bad.yaml"))
    from_formula = one_line(cli("trace", "--expr", FIG1, "--shape", "W1=2x3,W2=3x3,W3=2x3,x=2,y=2"))
    assert "node 'v1', key 'inputs': matmul(W1, x):" in from_formula
    assert from_formula.split("matmul(W1, x)")[1] == from_spec.split("matmul(W1, x)")[1]


def test_a_shape_that_contradicts_an_array_is_one_line(cli, fig1_npz):
    path, _ = fig1_npz
    err = one_line(cli("trace", "--expr", FIG1, "--data", path, "--shape", "W1=2x3"))
    assert f"{path}: node 'W1': --shape W1=2x3, but the array has shape 3x2" in err
    with pytest.raises(SpecError, match="node 'x', key 'value': value has shape \\[2\\] but shape says \\[3\\]"):
        graphcomp.parse_expr("sum(x)", at={"x": np.ones(2)}, shapes={"x": (3,)})


@pytest.mark.parametrize("args, words", [
    (("--shape", "W1=3x"), "not of the form name=sizes"),
    (("--shape", "W1=3x2,W1=3x2"), "'W1' is given twice"),
    (("--shape", "W9=3x2"), "shapes are given for W9, which the formula does not use"),
    (("--fixed", "q"), "--fixed names q, which the formula does not use"),
    ((), "the formula's inputs are all scalars: give their shapes"),
])
def test_bad_shapes_are_one_line(cli, args, words):
    assert words in one_line(cli("trace", "--expr", FIG1, *args))


def test_shape_and_fixed_belong_to_formulas(cli):
    assert "describe the inputs of --expr" in one_line(cli("trace", "fig1.yaml", "--shape", "W1=3x2"))
