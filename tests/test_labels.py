"""Names and labels a student may choose (W_out, \\alpha, h^{(1)}): accents in text and LaTeX, and overflow messages."""
import json
import shutil
import subprocess

import numpy as np
import pytest
from conftest import needs_pdflatex, pdflatex_log

import graphcomp
from graphcomp.core.errors import DomainError
from graphcomp.render import dot, sheet, tables
from graphcomp.render import rows as trace_rows
from graphcomp.render.text import indented_json, tex_to_text, text_to_tex

LABELLED = {
    "name": "labels",
    "inputs": [{"name": "W_out", "value": 0.5, "label": "\\mathrm{W\\_out}"}, {"name": "alpha", "value": 2.0, "label": "\\alpha"},
               {"name": "h", "value": 1.5, "label": "h^{(1)}"}],
    "nodes": [{"name": "p", "op": "mul", "inputs": ["W_out", "alpha"]},
              {"name": "loss", "op": "mul", "inputs": ["p", "h"]}],
    "output": "loss",
}


@pytest.mark.parametrize("tex, text", [
    ("\\bar{v}_{1}", "v\u0304\u2081"),
    ("\\dot{v}_{-2}", "v\u0307\u208b\u2082"),
    ("\\bar{\\alpha}", "\u03b1\u0304"),
    ("\\dot{h}^{(1)}", "h\u0307\u207d\u00b9\u207e"),
    ("\\bar{\\mathrm{loss}}", "l\u0304o\u0304s\u0304s\u0304"),
    ("\\bar{\\mathrm{W\\_out}}", "W\u0304_o\u0304u\u0304t\u0304"),
    ("\\eta + \\beta\\,\\theta", "\u03b7 + \u03b2 \u03b8"),
])
def test_accents_and_greek_in_text(tex, text):
    assert tex_to_text(tex) == text


@pytest.mark.parametrize("text, tex", [
    ("v\u0304\u208b\u2082", "$\\bar{v}_{-2}$"),
    ("\u2202v\u2086/\u2202v\u2080 should be \u2212v\u2086/v\u2080 = -1.4614",
     "$\\partial v_{6} / \\partial v_{0}$ should be $- v_{6} / v_{0}$ = -1.4614"),
    ("v\u0304\u2083 \u00b7 \u2202v\u2083", "$\\bar{v}_{3} \\cdot \\partial v_{3}$"),
    ("W\u2082.d[2, 2]", "$W_{2}$.d[2, 2]"),
    ("\u03b8\u0304 and \u03c3", "$\\bar{\\theta}$ and $\\sigma$"),
    ("V\u1d40 h\u00b2", "$V^{\\top} h^{2}$"),
    ("x_1 & 50% #{}~^\\", "x\\_1 \\& 50\\% \\#\\{\\}\\textasciitilde{}\\textasciicircum{}\\textbackslash{}"),
    ("plain words, 24.7 \u00b5s \u2013 3", "plain words, 24.7 $\\mu$s -- 3"),
])
def test_unicode_text_as_latex(text, tex):
    assert text_to_tex(text) == tex


ODD_TEXT = ["σ̄₁", "h̄⁽¹⁾₂", "10⁶ entries", "2₁", "1.5·10⁻³", "₋₂ at start", "⁽ᵀ⁾", "v̄̄₁", "ẋ", "⋯ and ⋮", "a\u2009b\u202fc",
            "é à ü", "x ← y ⇒ z", "[1.0, 2.0, …] (3 × 2, 6 entries)", "$5 & 10% #1 ~ ^ _ { } \\"]


@needs_pdflatex
def test_any_unicode_text_as_latex_compiles(tmp_path):
    """What a student writes or the tool says, whatever its characters: LaTeX that pdflatex sets, no character lost
    to an error (an unknown one is '?')."""
    log = pdflatex_log(tmp_path, [text_to_tex(s) for s in ODD_TEXT])
    assert "Missing character" not in log and "not set up" not in log, log[-2000:]
    assert text_to_tex("σ̄₁") == "$\\bar{\\sigma}_{1}$" and text_to_tex("h̄⁽¹⁾₂") == "$\\bar{h}^{(1)}_{2}$"


def test_symbols_put_the_accent_on_the_base_only():
    tr = graphcomp.from_dict(LABELLED).trace(mode="both", wrt="alpha")
    i = {n.name: k for k, n in enumerate(tr.graph.nodes)}
    assert trace_rows.deriv_sym(tr.graph, i["W_out"], "adjoint") == "\\bar{\\mathrm{W\\_out}}"
    assert trace_rows.deriv_sym(tr.graph, i["alpha"], "tangent") == "\\dot{\\alpha}"
    assert trace_rows.deriv_sym(tr.graph, i["h"], "adjoint") == "\\bar{h}^{(1)}"
    assert tr.gradient == {"W_out": 3.0, "alpha": 0.75, "h": 1.0}  # ∂(W·α·h): α h, W h, W α


def pdflatex(tmp_path, body):
    """Compile `body` in a minimal article with the packages graphcomp's LaTeX output names; the log tail on failure."""
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\\usepackage{booktabs,amsmath,amssymb}"
                                      "\\begin{document}\n" + body + "\n\\end{document}\n", encoding="utf-8")
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                       cwd=tmp_path, capture_output=True, text=True)
    return r.returncode, r.stdout[-1500:]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("graph", [
    pytest.param(lambda: graphcomp.from_dict(LABELLED), id="underscores-greek-superscripts"),
    pytest.param(lambda: graphcomp.load("graphs/fig1_batch.yaml"), id="fig1_batch-16-columns"),
])
def test_latex_tables_compile(tmp_path, graph):
    g = graph()
    wrt = "alpha" if g.scalar else None
    code, log = pdflatex(tmp_path, tables.latex(g.trace(mode="both", wrt=wrt)))
    assert code == 0, log


@pytest.mark.parametrize("spec, at", [
    ({"inputs": [{"name": "x"}, {"name": "y"}], "nodes": [{"name": "p", "op": "pow", "inputs": ["x", "y"]}],
      "output": "p"}, {"x": 10.0, "y": 400.0}),
    ({"inputs": [{"name": "x"}], "nodes": [{"name": "p", "op": "powc", "inputs": ["x"], "p": 400}],
      "output": "p"}, {"x": 10.0}),
    ({"inputs": [{"name": "a", "shape": [1]}, {"name": "b", "shape": [1]}],
      "nodes": [{"name": "q", "op": "div", "inputs": ["a", "b"]}, {"name": "p", "op": "sum", "inputs": ["q"]}],
      "output": "p"}, {"a": [1e300], "b": [1e-300]}),
])
def test_overflow_is_called_overflow_not_the_ops_domain(spec, at):
    graph = graphcomp.from_dict(spec)
    with pytest.raises(DomainError, match="overflows") as err:
        graph.trace(at=at)
    assert "positive base" not in str(err.value) and "divisor is 0" not in str(err.value)


@pytest.mark.parametrize("x, digits, text", [
    (2.69549324858, 4, "2.6955"), (-0.0, 4, "0.0000"), (0.0, 2, "0.00"), (999999999999.0, 2, "999999999999.00"),
    (1e12, 4, "1.0000e+12"), (-16331239353195370.0, 4, "-1.6331e+16"), (5e159, 2, "5.00e+159"),
    # not 0, but 0 to the decimals asked: scientific, so that a derivative 10⁻⁹ does not read as 0
    (-0.00001, 4, "-1.0000e-05"), (2e-9, 4, "2.0000e-09"), (0.004, 2, "4.00e-03"), (0.00006, 4, "0.0001"),
])
def test_numbers_to_fixed_decimals_and_huge_or_tiny_ones_in_scientific_notation(x, digits, text):
    from graphcomp.render.text import fmt_number

    assert fmt_number(x, digits) == text


def test_a_negative_exponent_prints_in_parentheses_as_a_factor():
    spec = {"inputs": [{"name": "x", "value": 2.0}], "nodes": [{"name": "y", "op": "powc", "inputs": ["x"], "p": -1}],
            "output": "y"}
    tr = graphcomp.from_dict(spec).trace(mode="both", wrt="x")
    adjoint = {r.node: r.rule for r in trace_rows.adjoint(tr)}["x"]
    assert "(-1)" in adjoint and "\\cdot -1" not in adjoint
    assert tr.gradient["x"] == -0.25  # d/dx x⁻¹ = -x⁻² at 2


def test_json_keeps_each_row_of_numbers_on_one_line():
    doc = {"H": [[1.0, -2.5], [3e-07, None]], "why": "a [1,\n 2] list in text", "rows": [{"a": [1, 2], "b": []}]}
    text = indented_json(doc)
    assert json.loads(text) == doc
    assert "[1.0, -2.5]" in text and "[3e-07, null]" in text and '"a": [1, 2]' in text
    assert '"why": "a [1,\\n 2] list in text"' in text  # a string's text is left as it is
    assert '"H": [\n    [1.0' in text  # the matrix is still a row a line



@pytest.mark.parametrize("shape", [(7, 6), (6, 7), (7, 7), (6, 6), (3, 9)])
def test_a_latex_table_cuts_only_the_axis_longer_than_it_shows(shape):
    """Past six entries along an axis a trace table shows five and \\cdots or \\vdots; an axis of six or fewer is
    shown whole (a 7×6 matrix kept 5 of its 6 columns, with no \\cdots to say one was left out)."""
    x = np.arange(np.prod(shape), dtype=float).reshape(shape)
    body = tables.tex_value(x, 2, row=False).removeprefix("\\begin{bmatrix}").removesuffix("\\end{bmatrix}")
    lines = [line.split(" & ") for line in body.split(" \\\\ ")]
    numbers = [r for r in lines if r[0] != "\\vdots"]
    assert len(numbers) == (5 if shape[0] > 6 else shape[0])
    assert {len(r) for r in lines} == {6 if shape[1] > 6 else shape[1]}
    assert all((r[-1] == "\\cdots") == (shape[1] > 6) for r in numbers)
    assert (lines[-1][0] == "\\vdots") == (shape[0] > 6)
    assert numbers[0][:2] == ["0.00", "1.00"] and numbers[1][0] == f"{shape[1]:.2f}"


def _rules(graph, mode="reverse"):
    """{(section, node): (rule, closed form)} of a trace's rows, in LaTeX."""
    return {(key, r.node): (r.rule, r.closed) for key, _, rows in tables.sections(graph.trace(mode=mode))
            for r in rows}


def test_a_negative_constant_is_a_factor_in_parentheses_not_a_difference():
    g = graphcomp.parse_expr("x1*(-2) + x2*2 + x1*1e12 - (-0.5)*x2", at={"x1": 1.0, "x2": 2.0})
    rules = _rules(g)
    assert rules[("primal", "v1")][0] == "v_{-1} \\cdot (-2)"  # v₋₁ -2 read as v₋₁ − 2
    assert rules[("primal", "v2")][0] == "v_{0} \\cdot 2"  # not v₀ 2
    assert rules[("primal", "v3")][0] == "v_{-1} \\cdot {10^{12}}"  # not 1e+12
    assert rules[("primal", "v4")][0] == "(-0.5) v_{0}"
    steps = [r.rule for key, _, rows in tables.sections(g.trace()) if key == "steps" for r in rows if r.node == "x1"]
    assert sorted(steps) == ["\\bar{v}_{-1} + \\bar{v}_{1} \\cdot (-2)", "\\bar{v}_{3} \\cdot {10^{12}}"], steps
    assert sheet.function_tex(graphcomp.parse_expr("x1*(-2) + x2", at={"x1": 1.0, "x2": 2.0})) == (
        "f(x_{1}, x_{2}) = x_{1} \\cdot (-2) + x_{2}")
    assert "= v<SUB>−1</SUB> · (−2)" in dot.digraph(g).source.replace("-", "−")  # the drawing's box too


def test_tensor_rules_write_entrywise_products_and_the_sum_of_a_broadcast_number():
    vectors = _rules(graphcomp.parse_expr("sum(w*x)", at={}, shapes={"w": (2,), "x": (2,)}))
    assert vectors[("primal", "v1")][0] == "w.v \\odot x.v"  # w.v x.v reads as a matrix product
    assert vectors[("adjoint", "w")] == ("v_{1}.d \\odot (x.v)^\\top", "(x.v)^\\top")  # (x.v)ᵀ, as closed forms
    assert vectors[("adjoint", "v1")] == ("v_{2}.d \\mathbf{1}^\\top", "\\mathbf{1}^\\top")  # not (𝟙)ᵀ
    scaled = _rules(graphcomp.parse_expr("sum(c*w)", at={"c": 3.0}, shapes={"w": (2,)}))
    assert scaled[("primal", "v1")][0] == "c.v w.v"
    # c is a number broadcast over w: its .d sums the contributions, the row v₁.d times the column w.v
    assert scaled[("adjoint", "c")] == ("v_{1}.d w.v", "\\mathbf{1}^\\top w.v")
    assert scaled[("adjoint", "w")] == ("v_{1}.d \\cdot c.v", "(c.v \\mathbf{1})^\\top")


def test_closed_forms_drop_a_factor_of_minus_one():
    g = graphcomp.parse_expr("p = sigmoid(sum(w*x) + b); L = -(y*log(p) + (1-y)*log(1-p))",
                             at={"b": 0.1, "y": 1.0, "w": [0.5, -1.0], "x": [1.0, 2.0]}, fixed=["x", "y"])
    closed = {node: c for (key, node), (_, c) in _rules(g).items() if key == "adjoint" and c}
    assert closed["v8"] == "-v_{2}.v" and closed["v5"] == "-y.v"  # was -v₂.v 1, a stray factor 1
    assert not any(c.endswith(" 1") or " 1)" in c for c in closed.values()), closed


def test_a_constant_exponent_is_written_as_a_number_not_in_e_notation():
    g = graphcomp.parse_expr("x**-1e-5 + x*-0.0 + x**2.5e-7", at={"x": 1.5})
    rules = {(key, r.node): r.rule for key, _, rows in tables.sections(g.trace()) for r in rows}
    assert rules[("primal", "v1")] == "v_{0}^{-10^{-5}}"  # was v_{0}^{-1e-05}
    assert rules[("primal", "v2")] == "v_{0} \\cdot 0"  # -0.0 is 0, not (-0)
    assert rules[("primal", "v3")] == "v_{0}^{2.5 \\cdot 10^{-7}}"
    steps = [r.rule for key, _, rows in tables.sections(g.trace()) if key == "steps" for r in rows if r.node == "x"]
    assert any(s.endswith("(2.5 \\cdot 10^{-7})\\,v_{0}^{-0.99999975}") for s in steps), steps  # p x^(p-1), 12 digits
