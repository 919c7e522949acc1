"""Several outputs: `outputs: [f1, f2, …]` in a spec, Graph.outputs (Graph.output the first), a reverse sweep per output."""
import csv
import io
import json
import math
import re

import numpy as np
import pytest
import yaml
from markdown_it import MarkdownIt

import graphcomp
from graphcomp.engine import sweeps
from graphcomp.engine.plan import plan
from graphcomp.ops.kits import FloatKit
from graphcomp.render import dot

TWO = {"name": "two", "inputs": [{"name": "x1", "value": 1.0}, {"name": "x2", "value": 1.5}, {"name": "x3", "value": 2.0}],
       "nodes": [{"name": "u", "op": "mul", "inputs": ["x1", "x2"]}, {"name": "f1", "op": "sin", "inputs": ["u"]},
                 {"name": "e3", "op": "exp", "inputs": ["x3"]}, {"name": "f2", "op": "add", "inputs": ["u", "e3"]}],
       "outputs": ["f1", "f2"]}


NOTE = "note: forward mode along W: --wrt chooses\n"  # --mode both without --wrt, on stderr alone


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
      {"name": "s", "op": "sum", "inputs": ["f"]}], "output": "f"}, ("node 'f'", "must be a scalar")),
], ids=["no such node", "twice", "empty", "not a list", "not a name", "both keys", "data", "a vector as output"])
def test_bad_outputs_are_one_line_and_status_2(cli, tmp_path, spec, words):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    r = cli("trace", path)
    assert r.status == 2 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("graphcomp: error: ")
    for w in words:
        assert w in r.stderr


def test_polar_spec_traces_every_output(cli):
    r = cli("trace", "polar.yaml", "--mode", "forward", "--wrt", "r,theta")
    rr, th = 2.0, 0.5  # x = r cos θ, y = r sin θ
    for line in (f"x = {rr * math.cos(th):.4f}", f"y = {rr * math.sin(th):.4f}", f"∂x/∂r = {math.cos(th):.4f}",
                 f"∂y/∂theta = {rr * math.cos(th):.4f}"):
        assert line in r.stdout
    assert r.status == 0


# ---- reverse mode with several outputs: an adjoint column each --------------------------------------------------

def two_closed_forms(x1=1.0, x2=1.5, x3=2.0):
    """{output: {node: ∂output/∂node}} of TWO by hand: f1 = sin u, f2 = u + e3, u = x1 x2, e3 = exp x3."""
    c = math.cos(x1 * x2)
    return {"f1": {"f1": 1.0, "f2": 0.0, "e3": 0.0, "u": c, "x1": x2 * c, "x2": x1 * c, "x3": 0.0},
            "f2": {"f1": 0.0, "f2": 1.0, "e3": 1.0, "u": 1.0, "x1": x2, "x2": x1, "x3": math.exp(x3)}}


def test_a_reverse_trace_has_an_adjoint_column_per_output():
    t = graphcomp.from_dict(TWO).trace(mode="reverse")
    want = two_closed_forms()
    assert list(t.adjoint_columns) == ["f1", "f2"]
    for out, column in want.items():
        seed, adjoints = t.adjoint_columns[out]
        assert seed == 1.0
        for name, x in column.items():
            assert adjoints[t.graph.index[name]] == pytest.approx(x, rel=1e-15, abs=1e-300), (out, name)
    assert t.adjoints == t.adjoint_columns["f1"][1]  # .d is the first output's
    assert t.derivatives["f2"] == pytest.approx({k: want["f2"][k] for k in ("x1", "x2", "x3")}, rel=1e-15)
    assert graphcomp.load("graphs/eq2.yaml").trace(mode="reverse").adjoint_columns is None  # one output: as before


def _cells(line):
    return [c for c in line.replace("│", " ").split() if c]


def test_every_format_has_an_adjoint_column_per_output(cli):
    want = two_closed_forms()
    args = ("--at", "x1=1,x2=1.5,x3=2", "--mode", "reverse", "--wrt", "x2")
    expr = ("--expr", "u = x1*x2; e3 = exp(x3); f1 = sin(u); f2 = u + e3", *args)
    text = cli("trace", *expr).stdout
    assert "∂f₁/∂·" in text and "∂f₂/∂·" in text
    row = next(_cells(line) for line in text.splitlines() if line.split()[:1] == ["u"] and "u\u0304" in line)
    assert [float(x) for x in row[-2:]] == pytest.approx([want["f1"]["u"], want["f2"]["u"]], abs=5e-5)
    assert f"∂f₂/∂x₂ = {want['f2']['x2']:.4f}" in text and f"∂f₁/∂x₂ = {want['f1']['x2']:.4f}" in text
    rows = list(csv.reader(io.StringIO(cli("trace", *expr, "--format", "csv").stdout)))
    got = {(r[0], r[1]): float(r[5]) for r in rows[1:] if r[0].startswith("adjoint")}
    for out, column in want.items():
        for name, x in column.items():
            assert got[(f"adjoint:{out}", name)] == pytest.approx(x, abs=5e-5)
    doc = json.loads(cli("trace", *expr, "--format", "json").stdout)
    assert doc["outputs"] == pytest.approx({"f1": math.sin(1.5), "f2": 1.5 + math.exp(2.0)}, rel=1e-15)
    for r in doc["adjoint"]:
        assert r["value"] == pytest.approx({out: want[out][r["node"]] for out in want}, rel=1e-15, abs=1e-300)
    md = cli("trace", *expr, "--format", "markdown").stdout
    assert "| node | symbol | rule | $\\partial f_{1}/\\partial \\cdot$ | $\\partial f_{2}/\\partial \\cdot$ |" in md
    tex = cli("trace", *expr, "--format", "latex").stdout
    assert "$\\partial f_{1}/\\partial \\cdot$ & $\\partial f_{2}/\\partial \\cdot$ \\\\" in tex
    assert f"& ${want['f2']['x3']:.4f}$ \\\\" in tex  # x3's row ends with ∂f₂/∂x₃ = e²


def test_several_outputs_of_a_tensor_graph_in_every_format(cli):
    W, x = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.3, -0.7])
    h = W @ x
    grads = {"s": np.outer(h, x), "t": np.outer(np.ones(2), x)}  # ∂(½‖Wx‖²)/∂W = (Wx) xᵀ, ∂Σ(Wx)/∂W = 𝟙 xᵀ
    doc = json.loads(cli("trace", "tests/specs/two_outputs_tensor.yaml", "--format", "json").stdout)
    assert doc["outputs"] == pytest.approx({"s": 0.5 * h @ h, "t": h.sum()}, rel=1e-15)
    W_row = next(r for r in doc["adjoint"] if r["node"] == "W")
    for out, g in grads.items():
        np.testing.assert_allclose(W_row["value"][out], g, rtol=1e-15)
    for fmt in ("rich", "latex", "markdown", "csv"):
        r = cli("trace", "tests/specs/two_outputs_tensor.yaml", "--mode", "both", "--format", fmt)
        assert r.status == 0 and r.stderr == NOTE and f"{grads['t'][0, 1]:.4f}" in r.stdout


# ---- --wrt names an input, nothing else ---------------------------------------------------------------------------

@pytest.mark.parametrize("wrt, what", [("v6", "an output"), ("v3", "an intermediate node"), ("nope", "no node of the graph"),
                                       ("x1,v6", "an output"), ("x1=1,nope=2", "no node of the graph"),
                                       ("x1,nope", "no node of the graph")])
@pytest.mark.parametrize("mode", ["forward", "reverse", "both"])
def test_wrt_naming_anything_but_an_input_is_one_line(cli, tmp_path, wrt, what, mode):
    out = tmp_path / "t.json"
    r = cli("trace", "eq2.yaml", "--mode", mode, "--wrt", wrt, "-o", out)
    assert r.status == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    bad = next(w.split("=")[0] for w in wrt.split(",") if not w.startswith("x1"))
    assert r.stderr == f"graphcomp: error: eq2.yaml: wrt '{bad}' is not an input ({what}); inputs: x1, x2, x3\n"
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize("command", ["draw", "check"])
def test_wrt_naming_an_output_of_several_is_one_line(cli, tmp_path, command):
    extra = ["-o", tmp_path / "g.dot", "--values"] if command == "draw" else ["--mode", "forward", tmp_path / "answers.csv"]
    (tmp_path / "answers.csv").write_text("node,value\nu,1.5\n", encoding="utf-8")
    r = cli(command, "--expr", "u = x1*x2; f1 = sin(u); f2 = u + exp(x3)", "--at", "x1=1,x2=1.5,x3=2",
            "--wrt", "f2", *extra)
    assert r.status == 2 and r.stderr == "graphcomp: error: --expr: wrt 'f2' is not an input (an output); " \
                                         "inputs: x1, x2, x3\n"
    assert not (tmp_path / "g.dot").exists()


# ---- tensor outputs: a scalar or a tensor each ----------------------------------------------------------------------

VEC = "tests/specs/vector_output.yaml"


def test_a_tensor_output_traces_in_every_format(cli):
    W, x = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.3, -0.7])
    h = W @ x
    doc = json.loads(cli("trace", VEC, "--format", "json").stdout)
    assert doc["outputs"]["h"] == pytest.approx(h.tolist(), rel=1e-15)
    assert doc["outputs"]["s"] == pytest.approx(0.5 * h @ h, rel=1e-15)
    rows = {r["node"]: r["value"] for r in doc["adjoint"]}
    u = np.array(rows["h"]["h"])  # h's reverse sweep is seeded with a random direction ū: it gives ∂⟨ū, h⟩/∂v
    assert np.linalg.norm(u) > 0.1 and rows["h"]["s"] == pytest.approx(h.tolist(), rel=1e-15)
    np.testing.assert_allclose(rows["W"]["h"], np.outer(u, x), rtol=1e-15)  # ∂⟨ū, Wx⟩/∂W = ū xᵀ
    np.testing.assert_allclose(rows["W"]["s"], np.outer(h, x), rtol=1e-15)  # ∂(½‖Wx‖²)/∂W = (Wx) xᵀ
    same = json.loads(cli("trace", VEC, "--format", "json").stdout)
    assert same["adjoint"] == doc["adjoint"]  # the direction is seeded: the same run gives the same numbers
    assert json.loads(cli("trace", VEC, "--format", "json", "--seed", "3").stdout)["adjoint"] != doc["adjoint"]
    for fmt in ("rich", "latex", "markdown", "csv"):
        r = cli("trace", VEC, "--mode", "both", "--format", fmt)
        assert r.status == 0 and r.stderr == NOTE and f"{h[0]:.4f}" in r.stdout
    tex = cli("trace", VEC, "--format", "latex").stdout
    assert "\\partial \\langle \\text{seed}, h \\rangle/\\partial W" in tex


def test_the_jacobian_of_a_tensor_output_has_a_row_per_entry(cli):
    x = np.array([0.3, -0.7])
    doc = json.loads(cli("jacobian", VEC, "--format", "json").stdout)
    assert doc["outputs"] == ["h[0]", "h[1]", "s"]
    J = np.array(doc["jacobian"]["reverse"])
    W = np.array([[1.0, 2.0], [0.5, -1.0]])
    want = np.vstack([np.kron(np.eye(2), x), np.outer(W @ x, x).ravel()])  # ∂(Wx)ᵢ/∂Wⱼₖ = δᵢⱼ xₖ
    np.testing.assert_allclose(J, want, rtol=1e-14)
    np.testing.assert_allclose(np.array(doc["jacobian"]["forward"]), want, rtol=1e-14)


def test_verify_needs_a_scalar_first_output(cli):
    r = cli("verify", VEC)
    assert r.status == 2 and r.stderr.count("\n") == 1
    assert "node 'h': verify needs a scalar output, but 'h' is 2; list a scalar output first" in r.stderr


def test_drawings_show_a_column_each(cli, tmp_path):
    for name, args, shown in (("v", (VEC, "--mode", "reverse"), ("∂h/∂W =", "∂s/∂W =")),
                              ("e", ("eq2.yaml", "--wrt", "x1,x2", "--mode", "forward"),
                               ("∂v<SUB>6</SUB>/∂x<SUB>1</SUB> =", "∂v<SUB>6</SUB>/∂x<SUB>2</SUB> ="))):
        out = tmp_path / f"{name}.dot"
        assert cli("draw", *args, "--values", "-o", out).status == 0
        text = out.read_text(encoding="utf-8")
        assert all(s in text for s in shown), (name, shown)


def test_an_exercise_takes_one_output(cli, tmp_path):
    r = cli("exercise", "polar.yaml", "--seed", "1", "--count", "1", "-o", tmp_path / "sheets")
    assert r.status == 2 and r.stderr == "graphcomp: error: polar.yaml: exercise takes graphs with one output; " \
                                         "this one has 2: x, y\n"
    assert not (tmp_path / "sheets").exists()


def test_latex_has_a_column_for_every_output_below_the_tangents(cli):
    tex = cli("trace", "--expr", "sin(x), cos(x), exp(x), x*x, x+1", "--at", "x=1", "--mode", "both",
              "--format", "latex").stdout
    below = tex[tex.rindex("\\begin{tabular}"):]  # the adjoint trace's own tabular, below the tangents'
    spec = below.splitlines()[0]
    columns = len(re.sub(r"@\{[^{}]*(\{\})?[^{}]*\}", "", spec.removeprefix("\\begin{tabular}"))) - 2  # l, r
    rows = [line for line in below.splitlines() if line.endswith("\\\\") and "multicolumn" not in line]
    assert max(line.count("&") for line in rows) == columns - 1 == 6  # 5 adjoint columns after symbol and rule
    last = next(line for line in rows if line.startswith("$\\bar{v}_{0}$"))
    assert [float(c.strip(" $\\")) for c in last.split("&")[2:]] == pytest.approx(
        [math.cos(1), -math.sin(1), math.e, 2.0, 1.0], abs=5e-5)


def test_jupyter_shows_a_column_per_output():
    html = graphcomp.load("graphs/polar.yaml").trace(mode="reverse")._repr_html_()
    assert "<th>rule</th><th>∂x/∂·</th><th>∂y/∂·</th>" in html
    assert f"<td>= x̄ · r</td><td>{2.0:.4f}</td><td>0.0000</td>" in html  # c̄ = x̄ r: 2 for x, 0 for y


def test_a_pipe_in_a_markdown_cell_is_escaped_so_every_row_keeps_its_cells():
    """A label's | would end a cell: escaped, every row of each table has its header's cells; halfsq's ‖D.v‖ is
    \\lVert … \\rVert, with no | (a renderer reads an escaped \\| back as |, a single bar)."""
    spec = {"name": "bars", "inputs": [{"name": "x", "shape": [2], "label": "|x|"}],
            "nodes": [{"name": "z", "op": "halfsq", "inputs": ["x"]}], "output": "z"}
    for graph in (graphcomp.load("fig1.yaml"), graphcomp.from_dict(spec)):
        text = graphcomp.render.tables.markdown(graph.trace(mode="reverse", seed=1))
        tables, cells = [], 0
        for t in MarkdownIt("commonmark").enable("table").parse(text):
            if t.type == "table_open":
                tables.append([])
            elif t.type == "tr_open":
                cells = 0
            elif t.type in ("td_open", "th_open"):
                cells += 1
            elif t.type == "tr_close":
                tables[-1].append(cells)
        assert tables and all(len(set(rows)) == 1 for rows in tables), tables
        assert "\\lVert" in text and ("\\|x\\|" in text) == (graph.name == "bars")
