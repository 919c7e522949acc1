"""The order of the adjoint trace: the lecture's strict v_k … v_{-k} for scalars, Problem 3(b)'s for .v/.d graphs."""
import graphcomp
from graphcomp.render import rows as trace_rows


def test_scalar_adjoint_trace_runs_from_the_output_back_to_v_minus_2():
    rows = trace_rows.adjoint(graphcomp.load("eq2.yaml").trace(wrt="x2"))
    assert [r.node for r in rows] == ["v6", "v5", "v4", "v3", "v2", "v1", "x3", "x2", "x1"]


def test_problem3_backward_pass_takes_each_weight_right_after_its_layer():
    rows = trace_rows.adjoint(graphcomp.load("fig1.yaml").trace(mode="reverse"))
    assert [r.node for r in rows] == ["z", "D", "y", "V5", "W3", "V4", "V3", "W2", "V2", "V1", "x", "W1"]
    assert [r.symbol for r in rows if r.value is None] == ["\\partial D/\\partial y", "\\partial V_{1}/\\partial x"]


def test_an_unused_input_still_gets_its_zero_adjoint_row():
    g = graphcomp.from_dict({"notation": "dot", "inputs": [{"name": "a", "value": 2.0}, {"name": "b", "value": 1.0}],
                             "nodes": [{"name": "f", "op": "square", "inputs": ["a"]}], "output": "f"})
    rows = trace_rows.adjoint(g.trace())
    assert [r.node for r in rows] == ["f", "a", "b"]
    assert rows[-1].value == 0.0
