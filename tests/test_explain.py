"""`graphcomp explain` without a browser: the steps against hand-computed numbers, the page's safety properties,
Jupyter's display, the animation frames (Pillow), and the one-line errors. The browser tests are
test_explain_browser.py."""
import base64
import hashlib
import html
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import graphcomp
from graphcomp.render import dot, explain
from graphcomp.render.dot import CLEAR
from graphcomp.render.explain import HIGHLIGHT
from graphcomp.render.steps import MAX_NODES, steps
from graphcomp.render.text import tex_to_text

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
AT = {"x1": 1.0, "x2": 1.5, "x3": 2.0}
HOSTILE = Path(__file__).parent / "specs" / "hostile_labels.yaml"  # labels and a description that are markup


def eq2_by_hand():
    """Eq. 2 at (1, 1.5, 2), Baydin et al.'s Table 3 convention: the values in evaluation order, the adjoint
    steps (node, partial sum), and the tangents along x2, every number from Python's math module."""
    x1, x2, x3 = AT.values()
    v1, v2 = x1 * x2, math.sin(x3)
    v3, v4 = math.exp(v1), v1 * v2
    v5 = v4 + v3
    v6 = v5 / x3
    values = [("x1", x1), ("x2", x2), ("x3", x3), ("v1", v1), ("v2", v2), ("v3", v3), ("v4", v4), ("v5", v5),
              ("v6", v6)]
    b5, b0 = 1 / x3, -v6 / x3
    b1, b2 = b5 * v2, b5 * v1
    adjoint = [("v6", 1.0), ("v5", b5), ("x3", b0), ("v4", b5), ("v3", b5), ("v1", b1), ("v2", b2),
               ("v1", b1 + b5 * v3), ("x3", b0 + b2 * math.cos(x3)), ("x1", (b1 + b5 * v3) * x2),
               ("x2", (b1 + b5 * v3) * x1)]
    t1, t2 = x1, 0.0
    t3, t4 = v3 * t1, t1 * v2 + v1 * t2
    tangent = [("x1", 0.0), ("x2", 1.0), ("x3", 0.0), ("v1", t1), ("v2", t2), ("v3", t3), ("v4", t4),
               ("v5", t4 + t3), ("v6", (t4 + t3) / x3)]
    return values, adjoint, tangent


def caption(step):
    return " = ".join(tex_to_text(c) for c in step.caption)


def test_eq2_reverse_steps_are_the_values_then_the_slides_adjoint_steps():
    t = graphcomp.load("eq2.yaml").trace(wrt="x2", mode="reverse")
    sweep = steps(t)
    values, adjoint, _ = eq2_by_hand()
    got = [(t.graph.nodes[s.node].name, s.value) for s in sweep]
    assert got == [(n, pytest.approx(x, rel=1e-14)) for n, x in values + adjoint]
    assert [s.line for s in sweep] == ["primal"] * 9 + ["adjoint"] * 11
    step = sweep[9 + 7]  # v̄₁'s second contribution, through v₃
    assert caption(step) == "v̄₁ = v̄₁ + v̄₃ ∂v₃/∂v₁ = v̄₁ + v̄₃ · v₃ = 0.4546 + 0.5000 · 4.4817"
    g = t.graph
    assert [(g.nodes[a].name, g.nodes[i].name) for a, i, _ in step.reads] == [("v1", "v3")]
    assert step.before == pytest.approx(adjoint[5][1]) and sweep[9 + 5].before is None  # assigned, then added to
    # the forward pass reads each node's arguments: v₄ = v₁ v₂ reads v1 → v4 and v2 → v4
    assert [(g.nodes[a].name, k) for a, _, k in sweep[6].reads] == [("v1", 0), ("v2", 1)]
    assert caption(sweep[6]) == "v₄ = v₁ v₂ = 1.5000 · 0.9093"


def test_eq2_forward_steps_are_the_tangents_along_x2():
    t = graphcomp.load("eq2.yaml").trace(wrt="x2", mode="forward")
    sweep = steps(t)
    values, _, tangent = eq2_by_hand()
    assert [(t.graph.nodes[s.node].name, s.value) for s in sweep] == [
        (n, pytest.approx(x, rel=1e-14, abs=1e-15)) for n, x in values + tangent]
    assert caption(sweep[9 + 3]) == "v̇₁ = v̇₋₂ · v₋₁ + v̇₋₁ · v₋₂ = 0.0000 · 1.5000 + 1.0000 · 1.0000"
    both = steps(graphcomp.load("eq2.yaml").trace(wrt="x2", mode="both"))
    assert [s.section for s in both] == ["primal"] * 9 + ["tangent"] * 9 + ["steps"] * 11


def _evaluate(numbers):
    """The caption's numbers form as Python arithmetic (·, functions, powers), to recompute the step's value."""
    expr = numbers.replace("·", "*").replace("−", "-").replace("²", "**2")
    expr = re.sub(r"\b(sin|cos|tanh|ln) (\(-?[\d.]+\)|[\d.]+)", r"\1(\2)", expr)
    names = {"sin": math.sin, "cos": math.cos, "tanh": math.tanh, "ln": math.log, "exp": math.exp}
    assert re.fullmatch(r"[\d.+\-*/() a-z]*", expr), expr
    return eval(expr, {"__builtins__": {}}, names)  # the test's own arithmetic on the tool's printed numbers


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_every_caption_in_numbers_recomputes_its_step(mode):
    g = graphcomp.parse_expr("tanh(x*y) - cos(x)/y + log(y)*exp(x - y) + sin(x*y)*(x*y)**2",
                             at={"x": 0.7, "y": 1.3})
    t = g.trace(wrt="y", mode=mode)
    checked = 0
    for s in steps(t, digits=10):
        if len(s.caption) > 2 and s.node not in g.inputs:
            numbers = tex_to_text(s.caption[-1])
            if re.search("[a-z]", re.sub("sin|cos|tanh|ln|exp", "", numbers)):
                continue  # no numbers form: it would be the bare value (v̄₁₄ = v̄₁₅), which the caption leaves out
            assert not re.search(r"\d \(?\d", numbers), f"two numbers side by side in {numbers!r}"
            assert _evaluate(numbers) == pytest.approx(s.value, rel=1e-7, abs=1e-8), caption(s)
            checked += 1
    assert checked >= len(g.nodes) - 2


def test_fig1_backward_steps_hold_the_problem_sets_closed_forms():
    t = graphcomp.load("fig1.yaml").trace(mode="reverse")
    sweep = {t.graph.nodes[s.node].name + s.section: s for s in steps(t)}
    rng = np.random  # Fig. 1's inputs as the spec draws them (numpy.random.seed(0), declaration order)
    rng.seed(0)
    x, w1, w2, w3, y = (rng.standard_normal(s) for s in ((2,), (3, 2), (3, 3), (2, 3), (2,)))
    v4 = np.maximum(w2 @ np.maximum(w1 @ x, 0), 0)
    d = y - w3 @ v4
    w3_d = sweep["W3adjoint"]
    np.testing.assert_allclose(w3_d.value, -np.outer(d, v4), rtol=1e-12)
    assert caption(w3_d) == "W₃.d = (V₅.d)ᵀ (V₄.v)ᵀ = -D.v (V₄.v)ᵀ"
    assert sweep["yadjoint"].line is None  # ∂D/∂y = 0: y is data, its box gets no .d


def test_over_the_limit_is_one_line_suggesting_draw(cli, tmp_path):
    spec = {"name": "chain", "inputs": [{"name": "x", "value": 0.5}],
            "nodes": [{"name": f"n{k}", "op": "sin", "inputs": [f"n{k - 1}" if k > 1 else "x"]} for k in range(1, MAX_NODES + 1)],
            "output": f"n{MAX_NODES}"}
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "chain.html"
    status, stdout, stderr = cli("explain", path, "-o", out)
    assert status == 2 and len(stderr.splitlines()) == 1
    assert "2,001 nodes" in stderr and "at most 2,000" in stderr and "graphcomp draw" in stderr
    assert not out.exists()


@pytest.mark.parametrize("out", ["eq2.html", "eq2.gif"])
def test_without_dot_is_one_line_and_writes_nothing(cli, tmp_path, out):
    status, _, stderr = cli("explain", "eq2.yaml", "--wrt", "x2", "-o", tmp_path / out, env={"PATH": str(tmp_path)})
    assert status == 2 and len(stderr.splitlines()) == 1
    assert "'dot'" in stderr and "apt-get install graphviz" in stderr
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_an_unwritable_path_is_one_line_and_writes_nothing(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, _, stderr = cli("explain", "eq2.yaml", "-o", blocker / "eq2.html")
    assert status == 2 and len(stderr.splitlines()) == 1 and "cannot write here" in stderr
    status, _, stderr = cli("explain", "eq2.yaml", "-o", blocker, "--frames", "png")
    assert status == 2 and "a folder" in stderr
    status, _, stderr = cli("explain", "eq2.yaml", "-o", tmp_path / "eq2.pdf")
    assert status == 2 and ".html, .gif, .apng" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"] and blocker.read_text() == "not a folder"


def test_several_forward_inputs_are_refused(cli, tmp_path):
    status, _, stderr = cli("explain", "eq2.yaml", "--wrt", "x1,x2", "--mode", "forward", "-o", tmp_path / "a.html")
    assert status == 2 and "one forward sweep" in stderr and not list(tmp_path.iterdir())


def test_several_outputs_in_reverse_mode_are_refused(cli, tmp_path):
    status, _, stderr = cli("explain", "polar.yaml", "-o", tmp_path / "a.html")  # reverse, the default
    assert status == 2 and "one reverse sweep" in stderr and "--mode forward" in stderr
    assert "Traceback" not in stderr and not list(tmp_path.iterdir())
    assert cli("explain", "polar.yaml", "--mode", "forward", "-o", tmp_path / "a.html").status == 0



@needs_dot
def test_the_page_is_offline_small_and_escapes_the_spec(cli, tmp_path):
    out = tmp_path / "eq2.html"
    status, stdout, _ = cli("explain", "eq2.yaml", "--wrt", "x2", "-o", out)
    assert status == 0 and "20 steps" in stdout
    page = out.read_text(encoding="utf-8")
    assert len(page.encode()) < 200_000  # well under 1 MB
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page).group(1)
    assert "default-src 'none'" in csp and "connect-src" not in csp and "'unsafe-eval'" not in csp
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 1  # the program; the steps are JSON (<script type="application/json">)
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert not re.search(r"\b(src|srcset|action)\s*=", page)  # nothing to load
    assert set(re.findall(r'href="([^"]*)"', page)) == {"#"}  # the box lines' links, for their tooltips
    # subscripts as Graphviz's PNG draws them: 0.8 of the line's size (no less than 7 pt once the drawing is scaled to
    # a page of 6.5 × 9 in), shifted down by a quarter of their own size (not a line's worth)
    scripts = re.findall(r'baseline-shift="([^"]*)"[^>]*font-size="([\d.]+)"', page)
    assert scripts and 'baseline-shift="sub"' not in page
    assert all(float(shift) == pytest.approx(-0.25 * float(size), abs=0.01) for shift, size in scripts if float(shift) < 0)
    width, height = (float(x) for x in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', page).groups())
    on_page = min(1, 468 / width, 648 / height)
    sizes = {float(size) for _, size in scripts}
    assert 11.2 in sizes and 7 <= min(sizes) * on_page < 11 * on_page  # 0.8 of the 14 pt titles; the lines' shrunk

    status, _, _ = cli("explain", HOSTILE, "-o", tmp_path / "h.html")
    page = (tmp_path / "h.html").read_text(encoding="utf-8")
    assert status == 0
    assert "<script>alert" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    blob = re.search(r'<script type="application/json" id="gc-steps">(.*?)</script>', page, flags=re.S).group(1)
    assert "<" not in blob and json.loads(blob)["steps"][0]["caption"][0] == "<script>alert(1)</script>"


@needs_dot
def test_jupyter_shows_the_same_page_in_a_sandboxed_iframe():
    g = graphcomp.load("eq2.yaml")
    stepper = g.explain(at={"x3": 2.0}, wrt="x2", mode="reverse")
    shown = stepper._repr_html_()
    assert shown.startswith("<iframe ") and 'sandbox="allow-scripts"' in shown
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', shown).group(1))
    assert srcdoc == stepper.html and "Content-Security-Policy" in srcdoc
    t = g.trace(wrt="x2")
    assert t.explain().html.count('<tr id="gc-r') == len(steps(t)) == 20


def output_box(image):
    """The bounding box of the output node's fill (dot.STYLE['output']: #fde3c4) in an RGB image."""
    a = np.asarray(image.convert("RGB")).astype(int)
    ys, xs = np.nonzero((np.abs(a - [0xfd, 0xe3, 0xc4]).sum(axis=2)) < 12)
    return xs.min(), ys.min(), xs.max(), ys.max()


@needs_dot
@pytest.mark.parametrize("suffix, source", [
    (".gif", ["eq2.yaml", "--wrt", "x2"]),
    (".apng", ["--expr", "sin(x1*x2)", "--at", "x1=1,x2=2", "--wrt", "x1"]),  # a smaller graph: fewer frames to draw
])
def test_an_animation_has_a_frame_per_step_as_large_as_draws_png(cli, tmp_path, suffix, source):
    out = tmp_path / f"anim{suffix}"
    assert cli("explain", *source, "-o", out).status == 0
    assert cli("draw", *source, "--values", "--rankdir", "LR", "-o", tmp_path / "d.png").status == 0
    graph = graphcomp.load("eq2.yaml") if source[0] == "eq2.yaml" else graphcomp.parse_expr("sin(x1*x2)")
    n = len(steps(graph.trace(at={"x1": 1.0, "x2": 2.0} if source[0] != "eq2.yaml" else None, wrt=source[-1])))
    with Image.open(out) as anim:
        assert anim.is_animated and anim.n_frames == n
        frames = []
        for k in range(n):
            anim.seek(k)
            frames.append(anim.convert("RGB"))
    for frame in frames:
        grey = np.asarray(frame.convert("L"))
        assert grey.std() > 10 and (grey < 100).mean() > 0.005  # ink on the page, not a blank frame
    assert len({f.tobytes() for f in frames}) == n  # each step shows something new
    x0, y0, x1, y1 = output_box(frames[0])
    with Image.open(tmp_path / "d.png") as drawn:
        dx0, dy0, dx1, dy1 = output_box(drawn)
    assert x1 - x0 >= dx1 - dx0 - 2 and y1 - y0 >= dy1 - dy0 - 2  # the same box, so the same text size


@needs_dot
def test_frames_are_numbered_pngs(cli, tmp_path):
    folder = tmp_path / "frames"  # a tensor graph of few steps (fig1's 24 frames take 10 s to draw)
    status, stdout, _ = cli("explain", "--expr", "halfsq(W @ x)", "--shape", "W=2x2,x=2", "--mode", "reverse",
                            "-o", f"{folder}/", "--frames", "png")
    n = len(steps(graphcomp.parse_expr("halfsq(W @ x)", shapes={"W": (2, 2), "x": (2,)}).trace(mode="reverse")))
    assert status == 0 and f"({n} steps)" in stdout
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"step-{k:03d}.png" for k in range(1, n + 1)]
    sizes = set()
    for name in names:
        with Image.open(folder / name) as im:
            sizes.add(im.size)
            assert np.asarray(im.convert("L")).std() > 10
    assert len(sizes) == 1  # one layout for every frame


def test_the_stepper_escapes_its_srcdoc():
    stepper = explain.Stepper('<p title="a&b">"x"</p>')
    assert 'srcdoc="&lt;p title=&quot;a&amp;b&quot;&gt;&quot;x&quot;&lt;/p&gt;"' in stepper._repr_html_()


@needs_dot
def test_a_frame_shows_what_is_computed_blanks_the_rest_and_marks_the_step():
    t = graphcomp.load("eq2.yaml").trace(wrt="x2")
    sweep = steps(t)
    layout = explain.graph_dot(t).pipe(format="json")
    source = explain.frame_dot(t, sweep, 9 + 6, layout).source  # v̄₁'s first contribution, through v₄
    line = {name: next(x for x in source.splitlines() if x.lstrip().startswith(f"{name} [")) for name in ("v1", "x1", "v6")}
    assert "0.4546" in line["v1"] and "2.6955" not in line["v1"] and HIGHLIGHT in line["v1"]
    assert CLEAR in line["x1"] and CLEAR not in line["v6"]  # x1 has no adjoint yet; v6 has both its numbers
    edge = next(x for x in source.splitlines() if x.lstrip().startswith("v1 -> v4"))
    assert HIGHLIGHT in edge


@needs_dot
def test_a_large_matrix_pages_with_a_short_tooltip(cli, tmp_path):
    out = tmp_path / "phase.html"  # Problem 1's graph: A ∈ ℝ¹⁰⁰ˣ²⁰, too large for a Graphviz label in full
    status, _, stderr = cli("explain", "phase.yaml", "-o", out)
    assert status == 0, stderr
    page = out.read_text(encoding="utf-8")
    assert 'xlink:title="a 100×20 array: every entry is in the table"' in page
    blob = json.loads(re.search(r'id="gc-steps">(.*?)</script>', page, flags=re.S).group(1))
    a = next(s for s in blob["steps"] if s["caption"][0] == "A.v")
    assert len(a["full"].splitlines()) == 100  # the table and the caption's hover keep every row


@needs_dot
def test_a_frame_of_the_values_pass_draws_the_derivatives_edges_plain():
    """No derivative flows in the values pass: its frames draw the flow edges (x2 → v1 here) as the others; the
    adjoint pass's in the drawing's red."""
    t = graphcomp.load("eq2.yaml").trace(wrt="x2")
    sweep, layout = steps(t), explain.graph_dot(t).pipe(format="json")
    for k, colour in ((9, dot.EDGE), (10, dot.FLOW["adjoint"])):
        source = explain.frame_dot(t, sweep, k, layout).source
        edge = next(x for x in source.splitlines() if x.lstrip().startswith("x2 -> v1"))
        assert f"color=\"{colour}\"" in edge, (k, edge)
