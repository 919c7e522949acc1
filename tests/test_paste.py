"""LaTeX that pastes: every fragment the tool writes is one table (or one picture), or a trace's tables one below
the other with a paragraph break between them (where a page may break), and compiles in a plain article — 10 pt,
1 in margins, only the packages the fragments' first lines name — with no overfull box, wide or tall; the drawings
and a trace that fits a page fit a float with a caption too."""
import re
import shutil
import subprocess

import pytest

import graphcomp
from graphcomp.problems import report
from graphcomp.render import tables

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("dot") is None,
                                reason="needs pdflatex and Graphviz (make test installs both where it can)")

TRACES = [("eq2.yaml", "--wrt", "x2", "--mode", mode, *style) for mode in ("forward", "reverse", "both")
          for style in ((), ("--style", "summed"))]
TRACES += [("eq2.yaml", "--wrt", "x2", "--mode", "both", "--style", "steps")]  # the adjoint steps below, 4 columns
TRACES += [("fig1.yaml", "--mode", "reverse"), ("fig1.yaml", "--mode", "forward"), ("fig1_batch.yaml",),
           ("fig1.yaml", "--mode", "forward", "--wrt", "W1"),  # taller than a page: it breaks between its tables
           ("eq2.yaml", "--wrt", "x1,x2,x3", "--mode", "forward"), ("polar.yaml", "--mode", "both", "--wrt", "r,theta"),
           ("tests/specs/two_outputs_tensor.yaml", "--mode", "both"),  # an adjoint column per output
           ("tests/specs/vector_output.yaml", "--mode", "both")]
CHAIN = "sin(" * 70 + "x" + ")" * 70  # 71 rows: taller than a page, each table splits into tables that fit
TRACES += [("--expr", CHAIN, "--at", "x=1"), ("--expr", CHAIN, "--at", "x=1", "--mode", "both")]
DRAWINGS = [("eq2.yaml",), ("eq2.yaml", "--values", "--wrt", "x2", "--mode", "forward", "--edge-partials"),
            ("eq2.yaml", "--values", "--wrt", "x2", "--mode", "reverse", "--edge-partials"),
            ("fig1.yaml",), ("fig1.yaml", "--values", "--mode", "reverse")]  # the last two: taller than wide
# in a float with a caption as well: eq2's both modes (two tables) and the drawings with values
FLOATS = [f"trace{TRACES.index(('eq2.yaml', '--wrt', 'x2', '--mode', 'both'))}.tex"]
FLOATS += [f"draw{k}.tex" for k, args in enumerate(DRAWINGS) if "--values" in args]
MATRICES = [("hessian", "eq2.yaml"), ("hessian", "fig1.yaml"),  # wide numbers below: fewer columns fit
            ("hessian", "phase.yaml", "--digits", "10"), ("jacobian", "fig1.yaml", "--digits", "12")]


def _fragments(cli, folder):
    """{file name: its text} for every kind of LaTeX the command line and the report write."""
    made = []
    for k, args in enumerate(TRACES):
        made.append(folder / f"trace{k}.tex")
        assert cli("trace", *args, "--format", "latex", "-o", str(made[-1])).status == 0
    for spec in ("eq2.yaml", "polar.yaml", "fig1.yaml"):
        made.append(folder / f"jacobian_{spec[:-5]}.tex")
        assert cli("jacobian", spec, "-o", str(made[-1])).status == 0
    for k, args in enumerate(MATRICES):
        made.append(folder / f"matrix{k}.tex")
        assert cli(*args, "-o", str(made[-1])).status == 0, args
    for spec in ("fig1.yaml", "fig1_batch.yaml"):  # fig1_batch's matrices side by side would not fit a line
        made.append(folder / f"verify_{spec[:-5]}.tex")
        assert cli("verify", spec, "-o", str(made[-1])).status == 0
    made.append(folder / "solve.tex")  # three tables, one per method
    assert cli("solve", "--init", "spectral", "--n", "8", "--m", "40", "-o", str(made[-1])).status == 0
    for k, args in enumerate(DRAWINGS):
        made.append(folder / f"draw{k}.tex")
        assert cli("draw", *args, "-o", str(made[-1])).status == 0, args
    out = {p.name: p.read_text() for p in made}
    parts = report.problem1_runs(0)[0] + report.problem1_trials(0, 3)[0] + report.problem3(graphcomp.load("fig1.yaml"), 0)[0]
    parts += report.problem1_curvature(0)[0] + report.why_reverse_mode()[0]
    out.update({a.name: a.data for a in parts if a.name.endswith(".tex") and isinstance(a, report.Artifact)})
    return out


def test_every_fragment_compiles_in_a_plain_article_without_an_overfull_box(cli, tmp_path):
    fragments = _fragments(cli, tmp_path)
    packages = set()
    for name, text in fragments.items():
        assert "\n\n" not in text.strip(), f"{name} has a blank line: it would end a paragraph where it is pasted"
        pieces = text.split(tables.BREAK)
        assert all(len(re.findall(r"\\begin\{(tabular|tikzpicture|gather\*|align\*)\}", p)) == 1 for p in pieces), \
            f"{name}: not one table between breaks"
        own_line = "\n\\noindent\n\\begin{tabular}" in pieces[0]  # a trace in pieces starts a line of its own
        several = text.startswith(("% graphcomp trace", "% graphcomp solve", "% gradients of")) and own_line
        assert len(pieces) == 1 or several, f"{name}: breaks, not a trace's, solve's or verify's tables"
        needs = re.search(r"\\usepackage\{([^}]*)\}", text.splitlines()[0])
        packages |= set(needs.group(1).split(",")) if needs else set()
        (tmp_path / name).write_text(text)
    body = "\n\n\\bigskip\n".join(f"\\noindent\\input{{{name}}}\\par" for name in fragments)
    body += "".join(f"\n\\begin{{figure}}[p]\\centering\n\\input{{{name}}}\n\\caption{{{name[:-4]}, in a float}}\n"
                    f"\\end{{figure}}\\clearpage" for name in FLOATS)
    doc = (f"\\documentclass[10pt]{{article}}\n\\usepackage[margin=1in]{{geometry}}\n"
           f"\\usepackage{{{','.join(sorted(packages))}}}\n\\begin{{document}}\n{body}\n\\end{{document}}\n")
    (tmp_path / "all.tex").write_text(doc)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "all.tex"], cwd=tmp_path,
                          capture_output=True, text=True, errors="replace", timeout=180)
    assert done.returncode == 0, done.stdout[-3000:]
    overfull = [line for line in done.stdout.splitlines() if line.startswith(("Overfull \\hbox", "Overfull \\vbox"))
                or "too high" in line or "Float too large" in line]
    assert not overfull, "\n".join(overfull)
    assert {"booktabs", "amsmath", "amssymb", "tikz"} <= packages  # the first lines say what they need


def test_a_data_inputs_missing_derivative_is_a_dash_not_two_minus_signs(cli):
    tex = cli("trace", "fig1.yaml", "--mode", "reverse", "--format", "latex").stdout
    assert "$--$" not in tex and tex.count("$\\text{--}$") == 2  # ∂D/∂y and ∂V₁/∂x: y and x are data


def test_a_value_column_stands_apart_and_rows_of_matrices_have_room(cli):
    """A quad before each value (= v̄₆ · (−v₆/v₀) −1.4614 read as a difference), room under a row of matrices (their
    brackets touched), and a fragment that starts a line of its own (a scalar one was indented as a paragraph)."""
    scalar = cli("trace", "eq2.yaml", "--wrt", "x2", "--format", "latex").stdout
    assert scalar.splitlines()[1] == "\\noindent" and "l@{\\quad}r@{\\qquad}" in scalar
    tensor = cli("trace", "fig1.yaml", "--mode", "reverse", "--format", "latex").stdout
    assert "\\end{bmatrix}$ \\\\ \\addlinespace\n" in tensor
    assert "\\odot (" in tensor and "\\odot\\," not in tensor and "^\\top\\, (V_{4}.v)" in tensor  # factors spaced
