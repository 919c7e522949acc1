"""The limits on a command's work (graphcomp.cli.sizes): each huge case is refused in well under 5 s with one line
and exit status 2, nothing written; a graph at the limit still runs; the environment variable raises it."""
import json
import random
from pathlib import Path

import graphviz
import pytest

import graphcomp
from graphcomp.cli import sizes
from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import INPUT
from graphcomp.frontends.limits import LIMITS
from graphcomp.render import tables
from graphcomp.render.steps import steps

ROOT = Path(__file__).resolve().parents[1]

GRAPHS = ["graphs/eq2.yaml", "graphs/fig1.yaml", "graphs/fig1_batch.yaml", "graphs/phase.yaml", "graphs/polar.yaml"]


def _spec(tmp_path, doc, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _halfsq(tmp_path, rows, cols):
    """The reviewer's f(W, x) = ½‖W‖² with W rows × cols and an unused x ∈ ℝ³."""
    inputs = [{"name": "W", "shape": [rows, cols]}, {"name": "x", "shape": [3]}]
    return _spec(tmp_path, {"name": "sh", "inputs": inputs, "nodes": [{"name": "y", "op": "halfsq", "inputs": ["W"]}],
                            "output": "y"})


def _chain(tmp_path, n):
    """sin(sin(… sin(x))) with n sines: n + 1 nodes."""
    return _spec(tmp_path, {"name": "chain", "inputs": [{"name": "x", "value": 0.5}],
                            "nodes": [{"name": f"n{k}", "op": "sin", "inputs": [f"n{k - 1}" if k > 1 else "x"]}
                                      for k in range(1, n + 1)], "output": f"n{n}"})


def _refused(cli, *args, limit, folder=None, env=None):
    """Run the command, check it refused in one line naming `limit`, exit status 2, writing nothing (before the
    work: a refusal after it would take minutes, the cases' own cost)."""
    before = sorted(folder.iterdir()) if folder else None
    ran = cli(*args, env=env)
    assert ran.status == 2, ran
    assert ran.stdout == "" and ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert limit in ran.stderr and "over the limit of" in ran.stderr, ran.stderr
    if folder:
        assert sorted(folder.iterdir()) == before
    return ran.stderr


def test_every_limit_is_documented():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name in LIMITS if f"`{name}`" not in text] == []


def test_jacobian_of_a_huge_input_is_refused(cli, tmp_path):
    spec = _halfsq(tmp_path, 1000, 1000)
    err = _refused(cli, "jacobian", spec, "-o", tmp_path / "j.json", limit="GRAPHCOMP_MAX_MATRIX_ENTRIES",
                   folder=tmp_path)
    assert "1 × 1,000,003" in err and "1 reverse sweep" in err and "1,000,003 forward sweeps" in err
    assert "gives the gradient" in err  # what to do instead
    # the matrix allowed, the sweeps are still refused: 10⁶ forward sweeps over 10⁶ entries each
    _refused(cli, "jacobian", spec, limit="GRAPHCOMP_MAX_JACOBIAN_WORK",
             env={"GRAPHCOMP_MAX_MATRIX_ENTRIES": "2000000"})


def test_jacobian_at_its_limits_runs(cli):
    # eq2: n = 3 inputs, m = 1 output, 9 nodes: a 1 × 3 matrix by 3 + 1 sweeps over 9 entries = 36
    for env, ok in [({"GRAPHCOMP_MAX_JACOBIAN_WORK": "36"}, 0), ({"GRAPHCOMP_MAX_JACOBIAN_WORK": "35"}, 2),
                    ({"GRAPHCOMP_MAX_MATRIX_ENTRIES": "3"}, 0), ({"GRAPHCOMP_MAX_MATRIX_ENTRIES": "2"}, 2)]:
        assert cli("jacobian", "graphs/eq2.yaml", "--format", "json", env=env).status == ok, env


def test_jacobian_limit_is_raised_by_its_variable(cli, tmp_path):
    spec = _halfsq(tmp_path, 30, 30)  # 903 columns over 904 entries: 817 216 entries swept
    _refused(cli, "jacobian", spec, limit="GRAPHCOMP_MAX_JACOBIAN_WORK", env={"GRAPHCOMP_MAX_JACOBIAN_WORK": "800000"})
    assert cli("jacobian", spec, "--format", "json", env={"GRAPHCOMP_MAX_JACOBIAN_WORK": "817216"}).status == 0


def test_hessian_of_a_large_input_is_refused(cli, tmp_path):
    spec = _halfsq(tmp_path, 100, 100)
    err = _refused(cli, "hessian", spec, "-o", tmp_path / "h.json", limit="GRAPHCOMP_MAX_MATRIX_ENTRIES",
                   folder=tmp_path)
    assert "10,003 × 10,003" in err and "10,003 Hessian–vector products" in err and "--wrt" in err
    _refused(cli, "hessian", spec, limit="GRAPHCOMP_MAX_HESSIAN_WORK",
             env={"GRAPHCOMP_MAX_MATRIX_ENTRIES": "1000000000"})


def test_hessian_at_its_limits_runs(cli):
    # eq2: N = 3, 9 nodes: 3 products over 9 entries = 27, a 3 × 3 matrix; --wrt x1 is 1 product
    work, entries = "GRAPHCOMP_MAX_HESSIAN_WORK", "GRAPHCOMP_MAX_MATRIX_ENTRIES"
    for args, env, ok in [((), {work: "27"}, 0), ((), {work: "26"}, 2), ((), {entries: "9"}, 0),
                          ((), {entries: "8"}, 2), (("--wrt", "x1"), {work: "9"}, 0)]:
        assert cli("hessian", "graphs/eq2.yaml", *args, "--format", "json", env=env).status == ok, (args, env)


@pytest.mark.parametrize("side", [300, 1000])
def test_verify_of_a_large_input_is_refused(cli, tmp_path, side):
    err = _refused(cli, "verify", _halfsq(tmp_path, side, side), "--no-torch", "-o", tmp_path / "v.json",
                   limit="GRAPHCOMP_MAX_FD_WORK", folder=tmp_path)
    assert f"{side * side + 3:,} input entries" in err and "evaluations" in err


def test_verify_at_its_limit_runs(cli):
    # eq2: 3 input entries, 6 evaluations each, of 9 nodes: 162
    assert cli("verify", "graphs/eq2.yaml", "--no-torch", "--format", "json",
               env={"GRAPHCOMP_MAX_FD_WORK": "162"}).status == 0
    assert cli("verify", "graphs/eq2.yaml", "--no-torch", env={"GRAPHCOMP_MAX_FD_WORK": "161"}).status == 2


@pytest.mark.parametrize("out", ["chain.gif", "chain.apng", "frames/"])
def test_explain_animation_of_a_long_chain_is_refused(cli, tmp_path, out):
    args = ("--frames", "png") if out.endswith("/") else ()
    err = _refused(cli, "explain", _chain(tmp_path, 300), "-o", str(tmp_path / out), *args,
                   limit="GRAPHCOMP_MAX_FRAME_NODES", folder=tmp_path)
    assert "602 frames of a 301-node graph" in err and ".html" in err


def test_explain_animation_at_its_limit_runs(cli, tmp_path):
    g = graphcomp.load(_chain(tmp_path, 2))  # 3 nodes, 6 steps in reverse mode: 18 node drawings
    product = len(g.nodes) * len(steps(g.trace(mode="reverse")))
    assert product == 18
    out = tmp_path / "c.gif"
    assert cli("explain", tmp_path / "spec.json", "-o", out, env={"GRAPHCOMP_MAX_FRAME_NODES": "17"}).status == 2
    assert not out.exists()
    assert cli("explain", tmp_path / "spec.json", "-o", out, env={"GRAPHCOMP_MAX_FRAME_NODES": "18"}).status == 0
    assert out.stat().st_size > 0


def test_draw_of_a_huge_chain_is_refused(cli, tmp_path):
    spec = _chain(tmp_path, 20_000)
    err = _refused(cli, "draw", spec, "-o", tmp_path / "c.png", limit="GRAPHCOMP_MAX_DRAW_NODES", folder=tmp_path)
    assert "20,001 nodes and 20,000 edges" in err and ".dot" in err
    # what the error suggests runs without Graphviz laying anything out
    assert cli("draw", spec, "-o", tmp_path / "c.dot", "--rankdir", "LR").status == 0


def test_draw_counts_the_layers_long_edges_cross(cli, tmp_path):
    # 1 000 nodes, but edges from anywhere: Graphviz ran past 120 s on it
    rng, names, nodes = random.Random(1), ["x", "y"], []
    for k in range(1000):
        nodes.append({"name": f"n{k}", "op": "add", "inputs": [rng.choice(names), rng.choice(names[-20:])]})
        names.append(f"n{k}")
    spec = _spec(tmp_path, {"name": "r", "inputs": [{"name": "x", "value": 1.0}, {"name": "y", "value": 2.0}],
                            "nodes": nodes, "output": names[-1]})
    assert sizes.layout_size(graphcomp.load(spec)) > 8000
    _refused(cli, "draw", spec, "-o", tmp_path / "r.svg", limit="GRAPHCOMP_MAX_DRAW_NODES", folder=tmp_path)
    _refused(cli, "explain", spec, "-o", tmp_path / "r.html", limit="GRAPHCOMP_MAX_DRAW_NODES", folder=tmp_path)


def test_draw_at_its_limit_runs(cli, tmp_path):
    size = sizes.layout_size(graphcomp.load("graphs/eq2.yaml"))
    assert size == 9 + 3  # x3 (layer 0) → v6 (layer 4) crosses 3 layers
    out = tmp_path / "eq2.svg"
    assert cli("draw", "graphs/eq2.yaml", "-o", out, env={"GRAPHCOMP_MAX_DRAW_NODES": str(size - 1)}).status == 2
    assert not out.exists()
    assert cli("draw", "graphs/eq2.yaml", "-o", out, env={"GRAPHCOMP_MAX_DRAW_NODES": str(size)}).status == 0


def test_a_graphviz_crash_is_one_clear_line(cli, tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise graphviz.CalledProcessError(-11, ["dot", "-Tpng"], output=b"", stderr=b"")

    monkeypatch.setattr(graphviz.Digraph, "pipe", crash)
    ran = cli("draw", "graphs/eq2.yaml", "-o", tmp_path / "eq2.png")
    assert ran.status == 2 and ran.stderr.count("\n") == 1
    assert "dot crashed (Segmentation fault) and said nothing" in ran.stderr, ran.stderr
    assert "PosixPath" not in ran.stderr and "b''" not in ran.stderr
    assert list(tmp_path.iterdir()) == []


def test_trace_in_the_terminal_cuts_big_matrices(cli, tmp_path):
    ran = cli("trace", _halfsq(tmp_path, 1000, 1000), env={"COLUMNS": "120"})
    assert ran.status == 0 and len(ran.stdout) < 10_000, len(ran.stdout)
    assert "⋯" in ran.stdout and "⋮" in ran.stdout


def test_trace_in_the_terminal_cuts_long_tables(cli, tmp_path):
    spec = _chain(tmp_path, 5_000)  # the reviewer's 200 000 took 56 s and 808 MB; rows past the cut are not made
    ran = cli("trace", spec, env={"COLUMNS": "200"})
    assert ran.status == 0 and ran.stdout.count("\n") < 2 * 1000 + 100
    # the primal table has 5 001 rows, the adjoint steps 5 001: 1 000 of each are shown
    assert ran.stdout.count("4,001 more rows not shown") == 2 and "--format csv" in ran.stdout


def test_the_terminal_rows_are_raised_by_their_variable(cli, tmp_path):
    spec = _chain(tmp_path, 1500)
    assert cli("trace", spec, env={"COLUMNS": "200"}).stdout.count("501 more rows not shown") == 2
    more = cli("trace", spec, env={"COLUMNS": "200", "GRAPHCOMP_MAX_TERMINAL_ROWS": "1501"})
    assert "more rows not shown" not in more.stdout and "n1500" in more.stdout
    assert cli("trace", spec, "--format", "csv").stdout.count("n1500") >= 2  # every row, without a limit


@pytest.mark.parametrize("path", GRAPHS + ["tests/specs/two_outputs_tensor.yaml", "tests/specs/vector_output.yaml"])
@pytest.mark.parametrize("mode", ["forward", "reverse", "both"])
def test_counted_rows_are_the_rows(path, mode):
    g = graphcomp.load(path)
    try:
        t = g.trace(mode=mode)
    except GraphcompError:
        pytest.skip("no trace in this mode")
    for key, _, rows in tables.sections(t):  # the summed adjoint trace is made as a list, the rest as streams
        assert tables._row_count(t, key, rows if key == "adjoint" else iter(rows)) == len(rows), key


@pytest.mark.parametrize("path", GRAPHS)
def test_the_problem_sets_graphs_are_within_every_limit(path):
    g = graphcomp.load(path)
    sizes.check_jacobian(g)
    sizes.check_drawing(g)
    if len(g.outputs) == 1 and not g.nodes[g.output].shape:
        sizes.check_hessian(g, [i for i in g.inputs if g.nodes[i].kind == INPUT])
        sizes.check_fd(g)
    for mode in ("forward", "reverse", "both"):
        wrt = g.nodes[g.inputs[0]].name if g.scalar else None
        try:
            t = g.trace(mode=mode, wrt=wrt)
        except GraphcompError:
            continue
        sizes.check_frames(g, len(steps(t)))


def test_the_problem_sets_graphs_still_run(cli):
    for args in [("jacobian", "graphs/fig1_batch.yaml"), ("hessian", "graphs/fig1.yaml"),
                 ("verify", "graphs/fig1.yaml", "--no-torch"), ("hessian", "graphs/phase.yaml"),
                 ("trace", "graphs/fig1_batch.yaml")]:
        ran = cli(*args, "--format", "json")
        assert ran.status == 0, (args, ran.stderr)
