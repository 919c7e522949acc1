"""Inputs that are valid but were once mishandled: formula names, number strings, YAML merge keys, draw's default path."""
import math
import shutil
from pathlib import Path

import pytest
import yaml

import graphcomp
from graphcomp.cli.draw import default_output
from graphcomp.frontends.formula import parse, to_spec
from graphcomp.frontends.spec import load, safe_load


def write_spec(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("expr", ["v1*sin(x)", "v2*sin(x)", "v1*v2 + sin(v3)"])
def test_formula_node_names_skip_the_input_names(expr):
    spec = to_spec(expr)
    inputs = {i["name"] for i in spec["inputs"]}
    nodes = [n["name"] for n in spec["nodes"]]
    assert not inputs & set(nodes), (inputs, nodes)
    assert len(set(nodes)) == len(nodes)


def test_formula_with_lecture_input_names_evaluates():
    trace = parse("v2*sin(x)", at={"v2": 2.0, "x": 1.0}).trace(wrt="x")
    assert trace.value == pytest.approx(2 * math.sin(1.0))
    assert trace.gradient["x"] == pytest.approx(2 * math.cos(1.0))


def test_formula_with_lecture_input_names_through_the_cli(cli):
    res = cli("trace", "--expr", "v1*sin(x)", "--at", "v1=2,x=1", "--wrt", "x", "--format", "json")
    assert res.status == 0, res.stderr
    assert f"{2 * math.sin(1.0):.4f}" in res.stdout


def test_exponent_without_dot_in_inputs_is_a_number(tmp_path):
    # YAML 1.1 reads 1e-3 as the string '1e-3'
    path = write_spec(tmp_path, "inputs: [{name: x, value: 2}]\nnodes: [{name: y, op: mul, inputs: [x, 1e-3]},"
                                " {name: z, op: pow, inputs: [y, 2e0]}]\noutput: z\n")
    graph = load(path)
    assert graph.trace().value == pytest.approx((2 * 1e-3) ** 2)
    assert graph.node("z").op == "powc"  # a literal exponent, even from a string


def test_declared_name_wins_over_a_number_string(tmp_path):
    # 'inf' reads as a float, but here it names an input
    path = write_spec(tmp_path, "inputs: [{name: x, value: 2}, {name: inf, value: 3}]\n"
                                "nodes: [{name: y, op: mul, inputs: [x, inf]}]\noutput: y\n")
    assert load(path).trace().value == pytest.approx(6.0)


def test_merge_keys_may_be_overridden():
    doc = safe_load("a: &a {p: 1, q: 2}\nb: {<<: *a, q: 3}\n")
    assert doc["b"] == {"p": 1, "q": 3}


def test_duplicate_keys_are_found_however_spelled():
    with pytest.raises(yaml.YAMLError, match="duplicate key"):
        safe_load("m: {1: a, 1.0: b}\n")


def test_unique_key_loader_stays_safe():
    with pytest.raises(yaml.YAMLError, match="python/object"):
        safe_load("x: !!python/object/apply:os.system [echo]\n")


@pytest.mark.parametrize("name, expected", [("eq2", "eq2"), ("../../../tmp/x", "tmp_x"), ("/etc/passwd", "etc_passwd"),
                                            ("..", "graph"), ("my graph (v2)", "my_graph_v2")])
def test_default_draw_output_stays_in_outputs(name, expected):
    assert default_output(name) == Path("outputs") / f"{expected}.png"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_without_o_writes_inside_outputs(cli, tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    spec = write_spec(tmp_path, "name: ../../escaped\ninputs: [{name: x, value: 1}]\n"
                                "nodes: [{name: y, op: sin, inputs: [x]}]\noutput: y\n")
    res = cli("draw", spec, cwd=work)
    assert res.status == 0, res.stderr
    assert (work / "outputs" / "escaped.png").is_file()
    assert not list(tmp_path.glob("escaped*")) and not list((tmp_path / "a").glob("escaped*"))


def test_parse_header_survives_a_newline_in_at(cli, tmp_path):
    out = tmp_path / "mine.yaml"
    res = cli("parse", "--expr", "x*2", "--at", "x=\n1", "-o", out)
    assert res.status == 0, res.stderr
    assert load(out).trace().value == pytest.approx(2.0)


def test_a_formula_is_numbered_as_the_textbook_numbers_it():
    """Eq. 2 typed as a formula gets eq2.yaml's numbering (Baydin et al. 2018, Table 2): v3 = exp(v1), v4 = v1 v2."""
    def steps(g):
        return [(n.name, n.op, [g.nodes[a].name for a in n.args]) for n in g.nodes if n.op]

    expr = "(x1*x2*sin(x3) + exp(x1*x2))/x3"
    assert steps(parse(expr)) == steps(load("eq2.yaml"))
    post = steps(parse(expr, order="formula"))
    assert post[2] == ("v3", "mul", ["v1", "v2"]) and post[3] == ("v4", "exp", ["v1"])  # post-order, on request
    # an op takes its number once its arguments have theirs: a deep left branch does not hold up a ready right one
    assert steps(parse("sin(cos(tan(x))) + exp(y)"))[:2] == [("v1", "tan", ["x"]), ("v2", "exp", ["y"])]


def test_order_on_the_command_line(cli):
    for order, third in (("level", "exp(v₁)"), ("formula", "v₁ v₂")):
        res = cli("trace", "--expr", "(x1*x2*sin(x3) + exp(x1*x2))/x3", "--at", "x1=1,x2=1.5,x3=2", "--order", order,
                  "--format", "csv")
        assert res.status == 0 and f"primal,v3,v₃,,{third}," in res.stdout


def test_e_and_pi_are_numbers_in_a_formula_and_e_to_a_power_is_exp():
    g = parse("(x1*x2*sin(x3) + e**(x1*x2))/x3", at={"x1": 1.0, "x2": 1.5, "x3": 2.0})
    assert [n.op for n in g.nodes if n.op] == ["mul", "sin", "exp", "mul", "add", "div"]  # Eq. 2 exactly
    assert g.input_names == ["x1", "x2", "x3"]  # e is not an input
    assert parse("pi*r*r", at={"r": 2.0}).trace().value == pytest.approx(4 * math.pi, rel=1e-15)


def test_a_scalar_spec_without_labels_numbers_its_inputs_as_the_lecture():
    spec = {"name": "s", "inputs": [{"name": "a", "value": 1.0}, {"name": "b", "value": 2.0, "label": "\\beta"},
                                    {"name": "c", "value": 3.0}],
            "nodes": [{"name": "f", "op": "mul", "inputs": ["a", "c"]}], "output": "f"}
    g = graphcomp.from_dict(spec)
    assert [n.label for n in g.nodes if n.op is None] == ["v_{-2}", "\\beta", "v_{0}"]
    tensor = graphcomp.load("fig1.yaml")  # tensor graphs keep their names, as Problem 3 writes them
    assert tensor.node("W1").label == "W_{1}"
