"""The reverse trace in the slides' convention: one row per edge contribution, in reverse evaluation order, the
first assigning v̄ⱼ and each later one adding to it; partial sums checked against independent numbers."""
import math
import re

import numpy as np
import pytest

import graphcomp
from graphcomp.render import rows as trace_rows
from graphcomp.render import tables
from graphcomp.render.text import tex_to_text

AT = {"x1": 1.0, "x2": 1.5, "x3": 2.0}


def eq2_steps():
    """Eq. 2's adjoint steps by hand (Baydin et al. 2018, Table 3's convention): (v̄ⱼ's name, partial sum)."""
    x1, x2, x3 = AT.values()
    v1, v2 = x1 * x2, math.sin(x3)
    v3, v4 = math.exp(v1), v1 * v2
    v5 = v4 + v3
    v6 = v5 / x3
    b6 = 1.0
    b5, b0 = b6 / x3, b6 * (-v6 / x3)
    b4 = b3 = b5
    b1, b2 = b4 * v2, b4 * v1
    b1_total, b0_total = b1 + b3 * v3, b0 + b2 * math.cos(x3)
    return [("v6", b6), ("v5", b5), ("x3", b0), ("v4", b4), ("v3", b3), ("v1", b1), ("v2", b2), ("v1", b1_total),
            ("x3", b0_total), ("x1", b1_total * x2), ("x2", b1_total * x1)]


def test_eq2_steps_are_the_slides_partial_sums():
    rows = trace_rows.adjoint_steps(graphcomp.load("eq2.yaml").trace(wrt="x2"))
    assert [(r.node, r.value) for r in rows] == [(n, pytest.approx(x, rel=1e-15)) for n, x in eq2_steps()]
    text = [(tex_to_text(r.generic or ""), tex_to_text(r.rule)) for r in rows]
    assert text[0] == ("", "1")
    assert text[2] == ("v̄₆ ∂v₆/∂v₀", "v̄₆ · (-v₆/v₀)")  # the first contribution to v̄₀ assigns it
    assert text[7] == ("v̄₁ + v̄₃ ∂v₃/∂v₁", "v̄₁ + v̄₃ · v₃")  # a later one adds: 0.4546 + 0.5 · 4.4817
    assert f"{rows[7].value:.4f}" == "2.6955" and f"{rows[5].value:.4f}" == "0.4546"


def test_a_node_feeding_three_others_collects_three_steps():
    torch = pytest.importorskip("torch")
    g = graphcomp.parse_expr("sin(x*y) + x*y*y + exp(x*y)", at={"x": 0.7, "y": -1.3})
    t = g.trace()
    u = next(n for n in g.nodes if n.op == "mul" and [g.nodes[a].name for a in n.args] == ["x", "y"])
    steps = [r for r in trace_rows.adjoint_steps(t) if r.node == u.name]
    assert len(steps) == 3 and steps[0].generic.count("+") == 0 and all("+" in r.generic for r in steps[1:])
    # independent numbers: float64 torch, every node's adjoint by autograd, every local partial on its own
    v = {}
    for n in g.nodes:
        if n.op is None:
            v[n.name] = torch.tensor(t[n.name].v, dtype=torch.float64, requires_grad=True)
        else:
            v[n.name] = graphcomp.OPS[n.op].fwd(torch, *(v[g.nodes[a].name] for a in n.args))
            v[n.name].retain_grad()
    v[g.nodes[g.output].name].backward()
    running = {}
    for i in range(len(g.nodes) - 1, -1, -1):  # reverse evaluation order, arguments in order
        n = g.nodes[i]
        for a in n.args:
            name = g.nodes[a].name
            leaf = v[name].detach().clone().requires_grad_()
            args = [leaf if b == a else v[g.nodes[b].name].detach() for b in n.args]
            (local,) = torch.autograd.grad(graphcomp.OPS[n.op].fwd(torch, *args), leaf)
            running.setdefault(name, []).append(float(v[n.name].grad) * float(local))
    for name, terms in running.items():
        got = [r.value for r in trace_rows.adjoint_steps(t) if r.node == name]
        np.testing.assert_allclose(got, np.cumsum(terms), rtol=1e-13)
        assert got[-1] == t[name].d  # the last partial sum is the adjoint, to the last bit


def test_steps_are_the_default_for_scalar_reverse_traces_and_summed_is_one_row_per_node(cli):
    steps = cli("trace", "eq2.yaml", "--wrt", "x2", "--format", "csv")
    summed = cli("trace", "eq2.yaml", "--wrt", "x2", "--format", "csv", "--style", "summed")
    assert steps.status == summed.status == 0
    assert steps.stdout.count("\nsteps,") == 11 and "\nadjoint," not in steps.stdout
    assert summed.stdout.count("\nadjoint,") == 9 and "\nsteps," not in summed.stdout
    both = cli("trace", "eq2.yaml", "--wrt", "x2", "--mode", "both", "--format", "csv")
    assert both.stdout.count("\nadjoint,") == 9  # beside the tangent trace, one row per node


@pytest.mark.parametrize("fmt", ["rich", "latex", "markdown", "csv", "json"])
def test_every_format_shows_the_three_parts_of_a_step(cli, fmt):
    res = cli("trace", "eq2.yaml", "--wrt", "x2", "--format", fmt, env={"COLUMNS": "200"})
    assert res.status == 0, res.stderr
    out = res.stdout
    if fmt in ("latex", "markdown"):
        assert re.search(r"\\bar\{v\}_\{1\} \+ \\bar\{v\}_\{3\} \\partial v_\{3\}/\\partial v_\{1\}\$.*"
                         r"\\bar\{v\}_\{1\} \+ \\bar\{v\}_\{3\} \\cdot v_\{3\}\$.*2\.6955", out)
    else:
        number = r"2\.69549324858187" if fmt == "json" else r"2\.6955"  # JSON keeps full precision
        assert re.search(r"v̄₁ \+ v̄₃ ∂v₃/∂v₁.*v̄₁ \+ v̄₃ · v₃.*" + number, out, re.S if fmt == "json" else 0)


def test_a_forward_trace_is_beside_its_evaluation_trace_row_by_row():
    t = graphcomp.load("eq2.yaml").trace(wrt="x2", mode="forward")
    tex = tables.latex(t)
    rows = [line for line in tex.splitlines() if line.endswith("\\\\") and "multicolumn" not in line]
    assert len(rows) == 9 and rows[3].startswith("$v_{1}$ & $= v_{-2} v_{-1}$ & $1.5000$ & $\\dot{v}_{1}$")
    assert tex.count("\\begin{tabular}") == 1


def test_forward_mode_with_several_inputs_has_a_tangent_column_each(cli):
    """--wrt x1,x2 in forward mode: one sweep per input, the textbook's columns (not their sum, as before)."""
    x1, x2, x3 = AT.values()
    v1, v2 = x1 * x2, math.sin(x3)
    v3 = math.exp(v1)
    columns = {}
    for name, dv1 in (("x1", x2), ("x2", x1)):  # ∂v₁ along each input; v₂ depends on x₃ alone
        dv3, dv4 = v3 * dv1, v2 * dv1
        columns[name] = {"v1": dv1, "v2": 0.0, "v3": dv3, "v4": dv4, "v5": dv3 + dv4, "v6": (dv3 + dv4) / x3}
    t = graphcomp.load("eq2.yaml").trace(wrt=["x1", "x2"], mode="forward")
    assert t.derivative == {"x1": pytest.approx(columns["x1"]["v6"]), "x2": pytest.approx(columns["x2"]["v6"])}
    for name, ref in columns.items():
        assert {k: t.columns[name][1][t.graph.index[k]] for k in ref} == pytest.approx(ref, rel=1e-14)
    res = cli("trace", "eq2.yaml", "--wrt", "x1,x2", "--mode", "forward", "--format", "csv")
    assert res.status == 0 and res.stdout.count("\ntangent:x1,") == res.stdout.count("\ntangent:x2,") == 9
    tex = cli("trace", "eq2.yaml", "--wrt", "x1,x2", "--mode", "forward", "--format", "latex").stdout
    assert "$\\partial /\\partial x_{1}$ & $\\partial /\\partial x_{2}$" in tex and tex.count("\\begin{tabular}") == 1
    assert f"${columns['x1']['v6']:.4f}$ & ${columns['x2']['v6']:.4f}$ \\\\" in tex
    direction = graphcomp.load("eq2.yaml").trace(wrt={"x1": 1.0, "x2": 0.5}, mode="forward")
    assert direction.columns is None and direction.derivative == pytest.approx(columns["x1"]["v6"] + 0.5 * columns["x2"]["v6"])
