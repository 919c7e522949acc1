"""Diagrams (graphcomp.render.dot and `cli.py draw`): golden source, valid files, options, determinism, no `dot`."""
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import graphcomp
from graphcomp.render import dot

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "eq2.dot"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@pytest.fixture
def draw(cli):
    """`cli.py draw ARGS` in this process: draw(*ARGS, env=...) → (status, stdout, stderr)."""
    return lambda *args, env=None: cli("draw", *args, env=env)


def draw_in_a_new_process(*args):
    """`python cli.py draw ARGS` as a process of its own; returns the finished process."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "draw", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)


def source(spec="eq2.yaml", **trace_args):
    """The .dot source of a spec, with a trace when trace_args are given."""
    g = graphcomp.load(spec)
    options = {k: trace_args.pop(k) for k in ("values", "edge_partials", "digits") if k in trace_args}
    trace = g.trace(**trace_args) if trace_args else None
    return dot.digraph(g, trace, **options).source


def plain(html):
    """The text a reader sees in an HTML-like label."""
    return re.sub(r"<[^>]*>", "", html)


def test_golden_eq2_dot():
    # reviewed by eye once; after an intended change: python cli.py draw eq2.yaml -o tests/golden/eq2.dot
    assert source() == GOLDEN.read_text(encoding="utf-8")


def test_cli_dot_output_is_the_golden_source(draw, tmp_path):
    r = draw("eq2.yaml", "-o", tmp_path / "eq2.dot")
    assert r.status == 0, r.stderr
    assert (tmp_path / "eq2.dot").read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")


@pytest.mark.parametrize("tex, html", [
    ("v_{-2}", "v<SUB>−2</SUB>"),
    ("e^{v_{1}}", "e<SUP>v₁</SUP>"),  # no <SUB> inside <SUP>: Graphviz's SVG would be invalid
    ("W_{1} \\in \\mathbb{R}^{3\\times 2}", "W<SUB>1</SUB> ∈ ℝ<SUP>3×2</SUP>"),
    ("\\bar{v}_{0}", "v̄<SUB>0</SUB>"),
    ("\\mathbf{1}[V_{3} > 0]", "𝟙[V<SUB>3</SUB> &gt; 0]"),
    ("\\mathrm{loss\\_fn}", "loss_fn"),
])
def test_tex_to_html(tex, html):
    assert dot.tex_to_html(tex) == html


def test_nodes_show_subscripts_ops_and_kinds():
    g = graphcomp.load("eq2.yaml")
    d = dot.digraph(g)
    assert "rankdir=LR" in d.source
    lines = {n.name: next(line for line in d.body if line.strip().startswith(f"{n.name} [")) for n in g.nodes}
    assert "v<SUB>−2</SUB>" in lines["x1"] and "= x<SUB>1</SUB>" in lines["x1"]
    assert "= sin v<SUB>0</SUB>" in lines["v2"]
    assert "= e<SUP>v₁</SUP>" in lines["v3"]
    styles = {name: re.search(r'fillcolor="([^"]+)"', line).group(1) for name, line in lines.items()}
    assert styles["x1"] != styles["v1"] != styles["v6"] != styles["x1"]  # inputs, intermediates, output


def test_tensor_nodes_show_shapes_and_parameters_differ_from_data():
    g = graphcomp.load("fig1.yaml")
    boxes = dot.boxes(g)
    assert dot.tex_to_html(boxes[g.index["W1"]].title) == "W<SUB>1</SUB> ∈ ℝ<SUP>3×2</SUP>"
    assert dot.tex_to_html(boxes[g.index["V1"]].title) == "V<SUB>1</SUB> ∈ ℝ<SUP>3</SUP>"
    src = dot.digraph(g).source
    style = {name: re.search(rf'^\s*{name} \[.*style="?([a-z,]+)', src, re.M).group(1) for name in ("x", "W1", "V1", "z")}
    assert style["x"] != style["W1"] and "dashed" in style["x"]


def test_constants_are_small_and_feed_their_node():
    g = graphcomp.parse_expr("2*x + x**3", at={"x": 1.0})
    src = dot.digraph(g).source
    consts = [n for n in g.nodes if n.kind == "const"]
    assert consts
    for n in consts:
        assert re.search(rf'"{re.escape(n.name)}" \[label=<[^>]*> .*shape=plaintext', src)


def test_values_and_digits_change_the_boxes():
    bare, values = source(), source(values=True, mode="value")
    assert "1.5000" not in bare and "v<SUB>1</SUB> = 1.5000" in values
    assert "v<SUB>6</SUB> = 2.92<" in source(values=True, digits=2, mode="value")
    assert "v<SUB>−1</SUB> = 2.5000" in source(values=True, mode="value", at={"x2": 2.5})
    drawn = [source("fig1.yaml", values=True, mode="value", seed=seed) for seed in (1, 1, 2)]
    assert drawn[0] == drawn[1] != drawn[2]  # --seed draws the tensor inputs


def test_big_tensors_are_cut_with_an_ellipsis():
    import numpy as np

    assert dot._value_text(np.arange(3.0), 1, False) == "[0.0, 1.0, 2.0]ᵀ"
    assert dot._value_text(np.arange(20.0), 0, True) == "[0, 1, 2, 3, 4, 5, …]"
    lines = dot._value_text(np.zeros((40, 30)), 0, False).split("\n")
    assert len(lines) == dot.SHOWN and lines[0] == "[[0, 0, 0, 0, 0, 0, …]" and lines[-1] == " …]"


def test_forward_mode_adds_tangents_and_colours_the_path_from_x2():
    src = source(wrt="x2", mode="forward")
    assert "v̇<SUB>6</SUB> = 2.6955" in src and "v̄" not in src
    blue = dot.FLOW["tangent"]
    coloured = set(re.findall(rf'^\s*(\w+) -> (\w+) \[color="{blue}"', src, re.M))
    assert coloured == {("x2", "v1"), ("v1", "v3"), ("v1", "v4"), ("v3", "v5"), ("v4", "v5"), ("v5", "v6")}
    assert "Forward mode: ∂f/∂x<SUB>2</SUB> = 2.6955" in src


def test_reverse_mode_adds_adjoints_in_red():
    src = source(wrt="x2", mode="reverse")
    assert "v̄<SUB>−2</SUB> = 4.0432" in src and "v̄<SUB>0</SUB> = -1.7735" in src and "v̇" not in src
    red = dot.FLOW["adjoint"]
    assert f'x2 -> v1 [color="{red}"' in src and "x1 -> v1\n" in src  # only the path from x2 is coloured
    gradient = source(mode="reverse")  # no --wrt: the whole gradient flows back to every input
    assert f'x1 -> v1 [color="{red}"' in gradient and f'x3 -> v6 [color="{red}"' in gradient


def test_edge_partials_symbol_rule_and_number():
    g = graphcomp.load("eq2.yaml")
    labels = {(g.nodes[i].name, k): text for (i, k), text in dot.edge_labels(g, g.trace(mode="value")).items()}
    assert labels[("v6", 1)] == "\\partial v_{6}/\\partial v_{0} = -v_{6}/v_{0} = -1.4614"
    assert labels[("v6", 0)] == "\\partial v_{6}/\\partial v_{5} = 1/v_{0} = 0.5000"
    assert labels[("v2", 0)] == "\\partial v_{2}/\\partial v_{0} = \\cos v_{0} = -0.4161"
    assert labels[("v5", 0)] == "\\partial v_{5}/\\partial v_{4} = 1.0000"
    src = source(edge_partials=True, mode="value")
    assert "∂v<SUB>1</SUB>/∂v<SUB>−2</SUB><BR/>= v<SUB>−1</SUB><BR/>= 1.5000" in src  # one part a line


def test_local_partials_match_finite_differences_of_the_op():
    from graphcomp.ops.kits import FloatKit

    g = graphcomp.load("eq2.yaml")
    t = g.trace(mode="value")
    h = 1e-6
    for i, n in enumerate(g.nodes):
        for k in range(len(n.args)):
            args = [t.values[a] for a in n.args]
            bumped = [x + h * (j == k) for j, x in enumerate(args)]
            op = graphcomp.OPS[n.op]
            slope = (op.fwd(FloatKit, *bumped) - op.fwd(FloatKit, *args)) / h
            assert t.partials[(i, k)] == pytest.approx(slope, rel=1e-4, abs=1e-6)


def test_tensor_edge_partials_are_symbols():
    g = graphcomp.load("fig1.yaml")
    labels = dot.edge_labels(g, g.trace(mode="value"))
    assert labels[(g.index["V5"], 0)] == "\\partial V_{5}/\\partial W_{3}"


@needs_dot
def test_a_multi_line_description_stays_a_comment(draw, tmp_path):
    spec = tmp_path / "two.yaml"
    spec.write_text("description: |\n  first line\n  second line\ninputs: [{name: x, value: 1.0}]\n"
                    "nodes: [{name: y, op: sin, inputs: [x]}]\noutput: y\n")
    r = draw(spec, "-o", tmp_path / "two.svg")
    assert r.status == 0, r.stderr
    assert "// first line second line\n" in source(spec)


@needs_dot
def test_png_is_a_png_of_a_sensible_size(draw, tmp_path):
    out = tmp_path / "eq2.png"
    r = draw("eq2.yaml", "-o", out)
    assert r.status == 0, r.stderr
    assert r.stdout.strip() == f"wrote {out}"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 800 < width < 4000 and 300 < height < 2000


@needs_dot
@pytest.mark.parametrize("spec, extra", [("eq2.yaml", ["--values", "--wrt", "x2"]), ("fig1.yaml", ["--values"])])
def test_svg_parses_and_holds_every_label(draw, tmp_path, spec, extra):
    out = tmp_path / "g.svg"
    assert draw(spec, "-o", out, *extra).status == 0
    root = ET.parse(out).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    g = graphcomp.load(spec)
    shown = {}
    for group in root.iterfind(".//s:g[@class='node']", ns):
        shown[group.find("s:title", ns).text] = "".join(t.text or "" for t in group.iterfind(".//s:text", ns))
    assert set(shown) == {n.name for n in g.nodes}
    for n in g.nodes:
        assert plain(dot.tex_to_html(n.label)) in shown[n.name]
    assert "id=" in out.read_text() and not re.search(r"\d{4}-\d\d-\d\d", out.read_text())  # no dates


@needs_dot
def test_pdf_header(draw, tmp_path):
    out = tmp_path / "eq2.pdf"
    assert draw("eq2.yaml", "-o", out, "--values").status == 0
    assert out.read_bytes()[:5] == b"%PDF-"


@needs_dot
@pytest.mark.parametrize("ext", ["dot", "svg"])
def test_byte_identical_on_repeated_runs(draw, tmp_path, ext):
    outs = [tmp_path / f"{k}.{ext}" for k in range(2)]
    args = ("fig1.yaml", "--values", "--mode", "reverse", "--edge-partials")
    assert draw(*args, "-o", outs[0]).status == 0
    # the second run in a process of its own, with its own hash seed: identical across runs, not only within one
    done = draw_in_a_new_process(*args, "-o", outs[1])
    assert done.returncode == 0, done.stderr
    assert outs[0].read_bytes() == outs[1].read_bytes()


@needs_dot
def test_tikz_has_every_node_and_edge(draw, tmp_path):
    out = tmp_path / "eq2.tex"
    assert draw("eq2.yaml", "-o", out, "--values", "--wrt", "x2", "--mode", "forward", "--edge-partials").status == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("\\begin{tikzpicture}") == 1 and text.rstrip().endswith("\\end{tikzpicture}")
    g = graphcomp.load("eq2.yaml")
    for n in g.nodes:
        assert f"{{${n.label}$" in text
    assert text.count("\\draw[") == sum(len(n.args) for n in g.nodes)
    assert "$\\partial v_{6}/\\partial v_{5}$ \\\\ $= 1/v_{0}$ \\\\ $= 0.5000$" in text
    assert text.count("{") == text.count("}")


def has_tikz():
    """pdflatex with TikZ (Debian: texlive-pictures) is on this machine."""
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return False
    return bool(subprocess.run(["kpsewhich", "tikz.sty"], capture_output=True, text=True).stdout.strip())


@needs_dot
@pytest.mark.skipif(not has_tikz(), reason="needs pdflatex with TikZ")
def test_tikz_compiles(draw, tmp_path):
    assert draw("fig1.yaml", "-o", tmp_path / "fig1.tex", "--values", "--mode", "reverse").status == 0
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage{tikz,amsmath,amssymb}\\usetikzlibrary{shapes.geometric}"
        "\\begin{document}\\resizebox{\\linewidth}{!}{\\input{fig1.tex}}\\end{document}\n")
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:]


def test_without_dot_the_source_is_written_and_one_line_says_what_to_install(draw, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    r = draw("eq2.yaml", "-o", tmp_path / "out" / "eq2.png", env={"PATH": str(empty)})
    assert r.status == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert all(word in lines[0] for word in ("apt-get install graphviz", "brew install graphviz", "conda install"))
    assert (tmp_path / "out" / "eq2.dot").read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")
    assert not (tmp_path / "out" / "eq2.png").exists()


@pytest.mark.parametrize("args, message", [
    (["eq2.yaml", "-o", "x.jpg"], "cannot tell the format"),
    (["eq2.yaml", "--digits", "40", "-o", "x.dot"], "--digits"),
    (["eq2.yaml", "--wrt", "x9", "-o", "x.dot"], "x9"),
])
def test_user_errors_are_one_line(draw, args, message, tmp_path):
    r = draw(*args)
    assert r.status == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_trace_command_does_not_import_graphviz():
    r = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "cli.py"), "trace", "eq2.yaml"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0
    assert not re.search(r"\|\s+(graphviz|torch|scipy)\b", r.stderr)


@needs_dot
def test_graph_displays_in_jupyter():
    svg = graphcomp.load("eq2.yaml")._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and 'baseline-shift="sub"' not in svg


def _smallest_text_on_a_page(svg):
    """The smallest font size in an SVG drawing, in points, once the drawing is scaled to fit 6.5 × 9 in."""
    width, height = (float(x) for x in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    return min(float(x) for x in re.findall(r'font-size="([\d.]+)"', svg)) * min(1, 468 / width, 648 / height)


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
@pytest.mark.parametrize("args", [("eq2.yaml",), ("eq2.yaml", "--values", "--wrt", "x2", "--mode", "forward"),
                                  ("eq2.yaml", "--values", "--wrt", "x2", "--mode", "reverse", "--edge-partials"),
                                  ("fig1.yaml",), ("fig1.yaml", "--values"), ("fig1.yaml", "--values", "--mode", "forward"),
                                  ("fig1.yaml", "--values", "--mode", "reverse")], ids="-".join)
def test_drawings_read_on_a_page(cli, tmp_path, args):
    out = tmp_path / "d.svg"
    assert cli("draw", *args, "-o", str(out)).status == 0
    assert _smallest_text_on_a_page(out.read_text()) >= 7.0


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_rankdir_is_obeyed_and_auto_picks_top_to_bottom_for_fig1(cli, tmp_path):
    for rankdir in ("LR", "TB", "auto"):
        assert cli("draw", "fig1.yaml", "--rankdir", rankdir, "-o", str(tmp_path / f"{rankdir}.dot")).status == 0
    assert "rankdir=LR" in (tmp_path / "LR.dot").read_text()
    assert "rankdir=TB" in (tmp_path / "TB.dot").read_text() == (tmp_path / "auto.dot").read_text()
    assert cli("draw", "eq2.yaml", "-o", str(tmp_path / "eq2.dot")).status == 0
    assert "rankdir=LR" in (tmp_path / "eq2.dot").read_text()  # it reads well as the slides lay it out
