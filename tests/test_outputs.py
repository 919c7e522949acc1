"""Several outputs: `outputs: [f1, f2, …]` in a spec, Graph.outputs (Graph.output the first), a reverse sweep per output."""
import math

import pytest
import yaml

import graphcomp
from graphcomp.engine import sweeps
from graphcomp.engine.plan import plan
from graphcomp.ops.kits import FloatKit
from graphcomp.render import dot

TWO = {"name": "two", "inputs": [{"name": "x1", "value": 1.0}, {"name": "x2", "value": 1.5}, {"name": "x3", "value": 2.0}],
       "nodes": [{"name": "u", "op": "mul", "inputs": ["x1", "x2"]}, {"name": "f1", "op": "sin", "inputs": ["u"]},
                 {"name": "e3", "op": "exp", "inputs": ["x3"]}, {"name": "f2", "op": "add", "inputs": ["u", "e3"]}],
       "outputs": ["f1", "f2"]}


def with_outputs(outputs, doc=TWO):
    spec = {k: v for k, v in doc.items() if k not in ("output", "outputs")}
    return {**spec, "outputs": outputs}


def test_outputs_in_order_and_output_is_the_first():
    g = graphcomp.from_dict(TWO)
    assert g.output_names == ["f1", "f2"] and g.outputs == [g.index["f1"], g.index["f2"]]
    assert g.output == g.index["f1"]
    g = graphcomp.from_dict(with_outputs(["f2", "f1"]))
    assert g.output == g.index["f2"]  # the order is the spec's, not the evaluation order


def test_a_single_output_is_a_list_of_one():
    g = graphcomp.load("graphs/eq2.yaml")
    assert g.outputs == [g.output] and g.output_names == ["v6"]


def test_a_reverse_sweep_per_output_against_closed_forms():
    g = graphcomp.from_dict(TWO)
    p = plan(g, FloatKit)
    v = sweeps.values(g, p, sweeps.input_values(g, None, FloatKit))
    x1, x2, x3 = 1.0, 1.5, 2.0
    want = {"f1": [x2 * math.cos(x1 * x2), x1 * math.cos(x1 * x2), 0.0], "f2": [x2, x1, math.exp(x3)]}
    for name, row in want.items():
        counted = []
        d = sweeps.adjoints(g, p, v, output=g.index[name], counted=counted)
        assert [d[g.index[k]] for k in ("x1", "x2", "x3")] == pytest.approx(row, rel=1e-15)
        # f1's sweep: f1 = sin u, u = x1 x2 (2 steps); f2's: f2 = u + e3, e3 = exp x3, u = x1 x2 (3 steps)
        assert counted == [{"f1": 2, "f2": 3}[name]]
    assert sweeps.adjoints(g, p, v) == sweeps.adjoints(g, p, v, output=g.index["f1"])  # the default: the first


def test_single_output_paths_take_the_first_output():
    t = graphcomp.from_dict(TWO).trace(mode="reverse")
    assert t.value == pytest.approx(math.sin(1.5))
    assert t.gradient["x3"] == 0.0 and t.gradient["x1"] == pytest.approx(1.5 * math.cos(1.5))


def test_every_output_is_drawn_as_one():
    g = graphcomp.from_dict(TWO)
    kinds = {g.nodes[i].name: b.kind for i, b in dot.boxes(g).items()}
    assert kinds["f1"] == kinds["f2"] == "output" and kinds["u"] != "output"


@pytest.mark.parametrize("spec, words", [
    (with_outputs(["f1", "nope"]), ("key 'outputs'", "'nope' is not a defined name")),
    (with_outputs(["f1", "f1"]), ("node 'f1'", "listed twice")),
    (with_outputs([]), ("key 'outputs'", "non-empty list")),
    (with_outputs("f1"), ("key 'outputs'", "non-empty list")),
    (with_outputs([["f1"]]), ("key 'outputs'", "not a defined name")),
    ({**TWO, "output": "f1"}, ("either 'output'", "not both")),
    ({"inputs": [{"name": "x", "value": 1.0}, {"name": "y", "value": 2.0, "kind": "data"}],
      "nodes": [{"name": "f", "op": "mul", "inputs": ["x", "y"]}], "outputs": ["f", "y"]},
     ("node 'y'", "is data")),
    ({"inputs": [{"name": "x", "shape": [2]}], "nodes": [{"name": "f", "op": "sin", "inputs": ["x"]},
      {"name": "s", "op": "sum", "inputs": ["f"]}], "outputs": ["s", "f"]}, ("node 'f'", "must be a scalar")),
], ids=["no such node", "twice", "empty", "not a list", "not a name", "both keys", "data", "a vector"])
def test_bad_outputs_are_one_line_and_status_2(cli, tmp_path, spec, words):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    r = cli("trace", path)
    assert r.status == 2 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("graphcomp: error: ")
    for w in words:
        assert w in r.stderr


def test_polar_spec_traces_its_first_output(cli):
    r = cli("trace", "polar.yaml", "--mode", "forward", "--wrt", "r,theta")
    assert r.status == 0 and "f = 1.7552" in r.stdout  # x = r cos θ at r = 2, θ = 0.5
