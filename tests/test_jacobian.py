"""`graphcomp jacobian`: J by n forward sweeps and by m reverse sweeps, against independent references, and their cost."""
import json
import math

import numpy as np
import pytest
import yaml

import graphcomp
from graphcomp.core.nodes import INPUT
from graphcomp.engine.jacobian import Cost, Jacobian, jacobian
from graphcomp.render import jacobian as jtables


def _descendant_steps(g, i):
    """Op nodes that depend on node i: what a forward sweep seeded at i computes (counted here by sets, apart)."""
    reached, count = {i}, 0
    for k, n in enumerate(g.nodes):
        if n.op is not None and reached & set(n.args):
            reached.add(k)
            count += 1
    return count


def _ancestor_steps(g, out):
    """Op nodes on a path to `out` that depend on some variable: what a reverse sweep seeded at out runs."""
    depends = [n.kind == INPUT for n in g.nodes]
    for k, n in enumerate(g.nodes):
        depends[k] = depends[k] or any(depends[a] for a in n.args)
    seen, stack = set(), [out]
    while stack:
        k = stack.pop()
        if k not in seen:
            seen.add(k)
            stack += list(g.nodes[k].args)
    return sum(1 for k in seen if g.nodes[k].op is not None and depends[k])


def test_polar_against_its_closed_form():
    r, th = 2.0, 0.5
    jac = jacobian(graphcomp.load("polar.yaml"))
    want = [[math.cos(th), -r * math.sin(th)], [math.sin(th), r * math.cos(th)]]
    assert jac.inputs == ("r", "theta") and jac.outputs == ("x", "y") and jac.agree
    np.testing.assert_allclose(jac.forward, want, rtol=1e-15)
    np.testing.assert_allclose(jac.reverse, want, rtol=1e-15)
    assert np.linalg.det(jac.matrix) == pytest.approx(r)  # the area element r dr dθ


@pytest.mark.parametrize("spec", ["eq2.yaml", "polar.yaml", "fig1.yaml"])
def test_both_modes_against_torch_autograd(spec):
    torch = pytest.importorskip("torch")
    g = graphcomp.load(spec)
    jac = jacobian(g)
    at = {k: torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64) for k, x in jac.at.items()}
    variables = [g.nodes[i].name for i in g.inputs if g.nodes[i].kind == INPUT]

    def f(*xs):  # the graph again, op by op in torch: an independent evaluation
        env = {**at, **dict(zip(variables, xs))}
        fns = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "sin": torch.sin,
               "cos": torch.cos, "exp": torch.exp, "matmul": torch.matmul, "relu": torch.relu,
               "halfsq": lambda a: 0.5 * (a * a).sum()}
        for n in g.nodes:
            if n.op is not None:
                env[n.name] = fns[n.op](*(env[g.nodes[a].name] for a in n.args))
        return torch.stack([env[name] for name in g.output_names])

    ref = torch.autograd.functional.jacobian(f, tuple(at[k] for k in variables))
    ref = np.concatenate([np.asarray(r.detach()).reshape(len(g.outputs), -1) for r in ref], axis=1)
    np.testing.assert_allclose(jac.forward, ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jac.reverse, ref, rtol=1e-12, atol=1e-14)


def test_against_central_differences():
    g = graphcomp.load("polar.yaml")
    jac = jacobian(g, {"r": 1.3, "theta": -2.0})
    h, base = 1e-6, {"r": 1.3, "theta": -2.0}
    for k, name in enumerate(jac.inputs):
        up, down = ({**base, name: base[name] + s} for s in (h, -h))
        fu, fd = (jacobian(g, p).values for p in (up, down))
        np.testing.assert_allclose(jac.matrix[:, k], (fu - fd) / (2 * h), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("spec", ["eq2.yaml", "polar.yaml", "fig1.yaml"])
def test_each_sweep_executes_the_steps_it_should(spec):
    g = graphcomp.load(spec)
    jac = jacobian(g)
    f, r = jac.costs["forward"], jac.costs["reverse"]
    variables = [i for i in g.inputs if g.nodes[i].kind == INPUT]
    per_input = [_descendant_steps(g, i) for i in variables]
    sizes = [max(1, int(np.prod(g.nodes[i].shape))) for i in variables]  # a sweep per entry of a tensor input
    assert f.steps == tuple(s for s, size in zip(per_input, sizes) for _ in range(size))
    assert r.steps == tuple(_ancestor_steps(g, o) for o in g.outputs)
    assert f.sweeps == len(jac.inputs) and r.sweeps == len(jac.outputs)


def test_where_every_input_reaches_every_step_the_counts_are_n_and_m_times_the_steps():
    g = graphcomp.parse_expr("sin(x1 * x2)", at={"x1": 0.5, "x2": 2.0})
    jac = jacobian(g)
    assert jac.evaluation == 2
    assert jac.costs["forward"].operations == 2 * jac.evaluation and jac.costs["reverse"].operations == 1 * jac.evaluation


def test_disagreement_is_said_and_exits_1():
    g = graphcomp.load("polar.yaml")
    good = jacobian(g)
    bad = Jacobian(g, good.inputs, good.outputs, good.at, good.values, good.forward, good.reverse + 1e-6,
                   good.evaluation, good.costs, 1e-6)
    assert good.agree and not bad.agree
    assert jtables.verdict(bad)[0] is False and jtables.verdict(bad)[1].startswith("DISAGREE")


def test_cli_rich_and_every_format(cli, tmp_path):
    r = cli("jacobian", "polar.yaml")
    assert r.status == 0 and "AGREE" in r.stdout and "forward" in r.stdout and "reverse" in r.stdout, r.stderr
    doc = json.loads(cli("jacobian", "polar.yaml", "--format", "json").stdout)
    assert doc["agree"] and doc["cost"]["forward"]["sweeps"] == 2 and doc["cost"]["reverse"]["per_sweep"] == [2, 2]
    np.testing.assert_allclose(doc["jacobian"]["reverse"][1], [math.sin(0.5), 2 * math.cos(0.5)], rtol=1e-15)
    csv_lines = cli("jacobian", "polar.yaml", "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("section,output,input,forward,reverse") and len(csv_lines) == 1 + 4 + 3
    assert "$\\partial/\\partial \\theta$" in cli("jacobian", "polar.yaml", "--format", "markdown").stdout
    out = tmp_path / "j.tex"
    assert cli("jacobian", "eq2.yaml", "-o", out).status == 0
    assert out.read_text().count("\\begin{tabular}") == 1
    r = cli("jacobian", "--expr", "sin(x*y)", "--at", "x=1,y=2", "--format", "json")
    assert json.loads(r.stdout)["jacobian"]["forward"][0] == pytest.approx([2 * math.cos(2), math.cos(2)])


def test_a_wide_latex_jacobian_is_cut():
    jac = jacobian(graphcomp.load("fig1.yaml"))
    tex = jtables.latex(jac)
    assert "\\cdots" in tex and tex.count("\\partial/\\partial") == 5


def test_no_differentiable_input_is_one_line_and_status_2(cli, tmp_path):
    spec = {"inputs": [{"name": "y", "value": 2.0, "kind": "data"}],
            "nodes": [{"name": "f", "op": "sin", "inputs": ["y"]}], "output": "f"}
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    r = cli("jacobian", path)
    assert r.status == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1
    assert "no differentiable input" in r.stderr


def test_cost_objects_sum_their_sweeps():
    c = Cost("forward", (3, 4, 5), 0.1)
    assert c.sweeps == 3 and c.operations == 12


@pytest.mark.parametrize("fmt", ["latex", "markdown", "csv", "json"])
def test_a_jacobian_file_is_the_same_bytes_each_run_and_times_only_when_asked(cli, tmp_path, fmt):
    runs = [cli("jacobian", "eq2.yaml", "--format", fmt).stdout for _ in range(2)]
    assert runs[0] == runs[1] and "µs" not in runs[0] and "seconds\": " not in runs[0]
    timed = cli("jacobian", "eq2.yaml", "--format", fmt, "--times").stdout
    if fmt == "json":
        assert all(json.loads(timed)["cost"][mode]["seconds"] > 0 for mode in ("forward", "reverse"))
    elif fmt == "csv":
        rows = [line for line in timed.splitlines() if line.startswith(("cost,,,,,forward", "cost,,,,,reverse"))]
        assert len(rows) == 2 and all(float(line.rsplit(",", 1)[1]) > 0 for line in rows)
    else:
        assert timed.count("s") > runs[0].count("s") and ("µs" in timed or "mu$s" in timed or " ms" in timed)


def test_the_terminal_matrix_names_each_input_beside_its_label(cli):
    """eq2's columns are v₋₂, v₋₁, v₀ (the lecture's) and x1, x2, x3 (the heading's); W₁[0,0] is W1[0,0] already."""
    out = cli("jacobian", "eq2.yaml", env={"COLUMNS": "120"}).stdout
    assert "∂/∂v₋₂ (x1)" in out and "∂/∂v₀ (x3)" in out and "v₆ (" not in out
    assert "W₁[0,0] " in cli("jacobian", "fig1.yaml", env={"COLUMNS": "120"}).stdout


def test_graph_jacobian_is_the_closed_form():
    g = graphcomp.parse_expr("u = x1*x2; f1 = sin(u); f2 = u + exp(x3)", at={"x1": 1.0, "x2": 1.5, "x3": 2.0})
    u = 1.5
    closed = [[1.5 * math.cos(u), math.cos(u), 0.0], [1.5, 1.0, math.exp(2.0)]]
    np.testing.assert_allclose(g.jacobian(), closed, rtol=1e-14, atol=0)
    r, t = 2.0, 0.3  # polar: (x, y) = (r cos θ, r sin θ)
    np.testing.assert_allclose(graphcomp.load("polar.yaml").jacobian({"r": r, "theta": t}),
                               [[math.cos(t), -r * math.sin(t)], [math.sin(t), r * math.cos(t)]], rtol=1e-14)


def test_cost_refuses_one_file_for_the_table_and_the_plot(cli, tmp_path):
    """-o and --plot leading to one file (here through a symlink) would leave only the last written: refused first."""
    (tmp_path / "link.csv").symlink_to(tmp_path / "cost.csv")
    ran = cli("jacobian", "--cost", "-o", str(tmp_path / "cost.csv"), "--plot", str(tmp_path / "link.csv"))
    assert ran.status == 2 and "name the same file" in ran.stderr and not (tmp_path / "cost.csv").exists()
