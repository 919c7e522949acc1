"""`graphcomp report`: every listed file, non-trivial, reproducible, compilable, and holding the engine's numbers."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphcomp
from graphcomp.cli.drawing import reproducible_pdf
from graphcomp.problems import phase

ROOT = Path(__file__).resolve().parents[1]
TRIALS = "3"
EXPECTED = [
    "eq2.png", "eq2.pdf", "eq2_graph.tex", "eq2.dot", "eq2_forward.tex", "eq2_forward.md", "eq2_reverse.tex", "eq2_reverse.md",
    "fig1_gradients.tex", "fig1_backward.tex", "fig1_backward.md", "fig1.png", "fig1_gradients_4ways.tex",
    "fig1_verify.tex", "fig1_verify.md", "fig1_verify.csv", "fig1_data.npz", "fig1_data.tex",
    "problem1_newton_random.tex", "problem1_newton_spectral.tex", "problem1_gauss_newton_random.tex",
    "problem1_gauss_newton_spectral.tex", "convergence.png", "problem1_trials.tex", "problem1_trials.md",
    "problem1_trials.csv", "problem1_phase.tex", "phase.png", "problem1_curvature.tex", "curvature.png", "cost.tex",
    "cost.png", "report.tex",
]
TEXT = (".tex", ".md", ".csv", ".dot")


@pytest.fixture(scope="module")
def reports(tmp_path_factory, cli):
    """Two reports built from scratch with the same seed, the second in a process of its own (started first,
    so the two overlap), so that byte-identical means across runs, each with its own hash seed and caches."""
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    other = subprocess.Popen([sys.executable, "cli.py", "report", "--out", str(b), "--trials", TRIALS, "--no-pdf"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ra = cli("report", "--out", a, "--trials", TRIALS)
        _, err_b = other.communicate(timeout=600)
    finally:
        other.kill()  # no-op once it has ended
        other.wait()
    assert ra.status == 0, ra.stderr
    assert other.returncode == 0, err_b
    return a, b, ra.stdout


def test_every_listed_file_exists_and_is_not_trivial(reports):
    out, _, stdout = reports
    for name in EXPECTED:
        path = out / name
        assert path.exists(), name
        assert path.stat().st_size > 200, name
        assert name in stdout, f"{name} missing from the summary"
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"


def test_text_outputs_are_byte_identical_for_the_same_seed(reports):
    a, b, _ = reports
    names = [n for n in EXPECTED if n.endswith((*TEXT, ".pdf"))]  # eq2.pdf: Graphviz's date is fixed
    assert names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_pngs_are_pngs(reports):
    out, _, _ = reports
    for name in ("eq2.png", "fig1.png", "convergence.png", "phase.png", "curvature.png", "cost.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_report_pdf_is_built(reports):
    out, _, stdout = reports
    pdf = out / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 50_000
    assert "report.pdf" in stdout
    data = pdf.read_bytes()
    assert b"/CreationDate (D:19700101000000" in data and b"/ModDate (D:19700101000000" in data
    assert reproducible_pdf(data) == data  # its /ID is the hash of the rest, not of a temporary folder's name


def test_no_pdf_lists_no_pdf_even_when_an_old_one_is_there(cli, tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.5 stale")
    done = cli("report", "--out", tmp_path, "--trials", TRIALS, "--no-pdf")
    assert done.status == 0, done.stderr
    assert "report.pdf was not built" in done.stdout
    assert "the write-up, compiled" not in done.stdout


def has_tikz():
    return shutil.which("kpsewhich") is not None and subprocess.run(["kpsewhich", "tikz.sty"],
                                                                     capture_output=True).returncode == 0


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("name", [n for n in EXPECTED if n.endswith(".tex") and n != "report.tex"])
def test_each_fragment_compiles_alone(reports, tmp_path, name):
    out, _, _ = reports
    tikz = name == "eq2_graph.tex"
    if tikz and not has_tikz():
        pytest.skip("TikZ (Debian: texlive-pictures) is not installed")
    shutil.copy(out / name, tmp_path / name)
    doc = (f"\\documentclass{{article}}\\usepackage{{amsmath,amssymb,booktabs{',tikz' if tikz else ''}}}"
           "\\begin{document}\n"
           f"\\input{{{name}}}\n\\end{{document}}\n")
    (tmp_path / "doc.tex").write_text(doc)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, errors="replace", timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def numbers_of(rows_tex):
    """{row symbol: [its numbers, in order]} of a LaTeX table whose rows hold `$symbol$ & … & $1.2345$` runs,
    one or two side by side."""
    out = {}
    for line in rows_tex.splitlines():
        if not line.endswith("\\\\"):
            continue
        symbol = None
        for cell in line[:-2].split(" & "):
            cell = cell.strip()
            number = re.fullmatch(r"\$(-?\d+\.\d+)\$", cell)
            if number and symbol is not None:
                out.setdefault(symbol, []).append(float(number.group(1)))
                symbol = None
            elif re.fullmatch(r"\$[^=].*\$", cell) and symbol is None:
                symbol = cell[1:-1]
    return out


def test_problem2_tables_hold_the_engines_numbers(reports):
    out, _, _ = reports
    g = graphcomp.load("eq2.yaml")
    for mode, symbol in (("forward", "\\dot{{v}}{}"), ("reverse", "\\bar{{v}}{}")):
        t = g.trace(wrt="x2", mode=mode)
        table = numbers_of((out / f"eq2_{mode}.tex").read_text())
        for node in t:
            sub = node.label[1:]
            assert table[node.label][0] == pytest.approx(node.v, abs=5e-5), node.name
            # in the slides' steps a node's adjoint is the last of its partial sums
            assert table[symbol.format(sub)][-1] == pytest.approx(node.d, abs=5e-5), node.name
    assert "2.6955" in (out / "eq2_reverse.tex").read_text()


def test_problem3_data_and_comparison_match_the_engine(reports):
    out, _, _ = reports
    g = graphcomp.load("fig1.yaml")
    with np.load(out / "fig1_data.npz") as z:
        data = {k: z[k] for k in z.files}
    assert set(data) == {"x", "W1", "W2", "W3", "y"}
    grad = g.trace(at=data, mode="reverse").gradient
    expected_w1 = " & ".join(f"{e:.4f}" for e in grad["W1"][0])
    assert expected_w1 in (out / "fig1_gradients_4ways.tex").read_text()
    csv = (out / "fig1_verify.csv").read_text().splitlines()
    assert csv[0].startswith("method_a,method_b,parameter")
    assert all(line.endswith(",True") for line in csv[1:])


def test_problem1_tables_and_verdicts(reports):
    out, _, _ = reports
    gn = (out / "problem1_gauss_newton_spectral.tex").read_text()
    assert gn.count("\\begin{tabular}") == 1 and "global minimum" in gn.splitlines()[-1]  # the verdict, a comment
    report = (out / "report.tex").read_text()
    instance = phase.make_instance(20, 100, 0)
    for method, init in (("newton", "random"), ("gauss-newton", "spectral")):
        verdict = phase.recover(instance, method, init)[0].verdict
        subject = {"newton": "Newton's method", "gauss-newton": "Gauss--Newton"}[method] + f" from the {init} start"
        said = re.search(re.escape(subject) + r" (solves|does not solve) the problem[^\n]*", report).group(0)
        assert ("does not solve" not in said) == verdict.success
        assert verdict.success or verdict.kind in said  # e.g. "it converges to a spurious local minimum"
    trials = (out / "problem1_trials.csv").read_text().splitlines()
    assert trials[0].startswith("method,init,success_pct")
    assert len(trials) == 1 + 4 * 2  # Newton, Gauss–Newton, LM and scipy, each from two inits
    order = [report.index(f"\\section*{{Problem {k}") for k in (1, 2, 3)]
    assert order == sorted(order)
    for name in EXPECTED:
        if name.endswith(".tex") and name not in ("report.tex", "eq2_graph.tex"):
            assert name in report, f"report.tex does not input {name}"


def test_bad_trials_is_a_clean_error(cli, tmp_path):
    done = cli("report", "--out", tmp_path / "r", "--trials", "0")
    assert done.status == 2
    assert "--trials" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()
