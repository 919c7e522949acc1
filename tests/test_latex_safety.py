"""Spec text and LaTeX: a label is a small math-mode subset checked when the spec loads, text is escaped, and every
pdflatex run is bounded in time, without shell escape, and reads and writes only within its folder."""
import re
import tempfile
import time

import pytest
import yaml
from conftest import ROOT, needs_pdflatex

import graphcomp
from graphcomp.cli import latex
from graphcomp.core.errors import GraphcompError, SpecError
from graphcomp.core.labels import MAX_LABEL, default_label, label_problem

SECRET = "SECRETFILECONTENT"


def hostile_labels(secret):
    """(case, label) of labels that must not reach LaTeX; `secret` is a readable file."""
    return {
        "input": f"\\input{{{secret}}}",
        "input without braces": f"\\input {secret} ",
        "a macro that loops": "\\def\\l{\\l}\\l",
        "out of math mode": "}$\\immediate\\write18{touch pwned}$",
        "catcode": "\\catcode 36=11 x",
        "openin": f"\\openin 1 = {secret}",
        "write": "\\immediate\\write 16{x}",
        "an unclosed brace": "v_{1",
        "a brace closed first": "v}_{1{",
        "a dollar": "$x$",
        "a line break": "x \\\\ y",
        "a percent": "x % y",
        "a hash": "#1",
        "an ampersand": "a & b",
        "a tilde": "a~b",
        "a ^^ escape": f"x^^5cinput{{{secret}}}",
        "a letter outside ASCII": "\u03b8",
        "a newline": "a\nb",
        "too long": "x" * (MAX_LABEL + 1),
    }


CASES = sorted(hostile_labels("/x"))


def spec_with(tmp_path, label, where="input"):
    """A scalar spec whose input x2 (or node v1) carries `label`, written to tmp_path/spec.yaml."""
    x2 = {"name": "x2", "value": 1.5}
    v1 = {"name": "v1", "op": "mul", "inputs": ["x1", "x2"]}
    (x2 if where == "input" else v1)["label"] = label
    doc = {"name": "t", "inputs": [{"name": "x1", "value": 1.0}, x2], "nodes": [v1], "output": "v1"}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def assert_label_error(ran, node):
    assert ran.status == 2, ran
    assert "Traceback" not in ran.stderr and ran.stderr.count("\n") == 1, ran.stderr
    line = ran.stderr.strip()
    assert line.startswith("graphcomp: error: ") and "spec.yaml" in line, line
    assert f"node '{node}'" in line and "key 'label'" in line, line


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_label_is_a_one_line_error_in_trace(cli, tmp_path, secret, case):
    out = tmp_path / "trace.tex"
    ran = cli("trace", spec_with(tmp_path, hostile_labels(secret)[case]), "--format", "latex", "-o", out)
    assert_label_error(ran, "x2")
    assert not out.exists()


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_label_is_a_one_line_error_in_draw(cli, tmp_path, secret, case):
    out = tmp_path / "graph.tex"
    ran = cli("draw", spec_with(tmp_path, hostile_labels(secret)[case], where="node"), "-o", out)
    assert_label_error(ran, "v1")
    assert not out.exists()


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_label_is_a_one_line_error_in_exercise_and_nothing_is_written(cli, tmp_path, secret, case):
    out = tmp_path / "sheets"
    ran = cli("exercise", spec_with(tmp_path, hostile_labels(secret)[case]), "--seed", "1", "--count", "1",
              "--wrt", "x2", "-o", out)
    assert_label_error(ran, "x2")
    assert not out.exists()
    assert not (ROOT / "pwned").exists() and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("label, said", [
    ("\\input{x}", "'\\input' is not a command a label may use (allowed: \\bar, "),
    ("v_{1", "its braces do not balance"),
    ("$x$", "'$' is not allowed in a label"),
    ("x^^5c", "'^^' is not allowed in a label"),
    ("x" * (MAX_LABEL + 1), f"at most {MAX_LABEL} characters"),
])
def test_the_error_says_what_is_not_allowed(label, said):
    spec = {"inputs": [{"name": "x", "value": 1.0, "label": label}], "nodes": [], "output": "x"}
    with pytest.raises(SpecError) as exc:
        graphcomp.from_dict(spec, file="s.yaml")
    assert str(exc.value).startswith("s.yaml: node 'x', key 'label': "), str(exc.value)
    assert said in str(exc.value), str(exc.value)


def test_formulas_and_data_labels_are_checked_too():
    for spec in ({"inputs": [{"name": "x", "value": 1.0, "kind": "data", "label": "\\input{x}"}], "nodes": [],
                  "output": "x"},
                 {"inputs": [{"name": "W", "shape": [2, 2], "label": "W\\write"}],
                  "nodes": [{"name": "s", "op": "sum", "inputs": ["W"]}], "output": "s"}):
        with pytest.raises(SpecError, match="key 'label'"):
            graphcomp.from_dict(spec)


SPECS = sorted([*(ROOT / "graphs").glob("*.yaml"), *(ROOT / "tests" / "specs").glob("*.yaml")])


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_shipped_spec_still_loads(path):
    try:
        graphcomp.load(path)
    except SpecError as exc:  # fig1_problem_sizes.yaml is refused for its sizes
        assert exc.key != "label", str(exc)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    labels = [e["label"] for e in [*doc["inputs"], *doc["nodes"]] if "label" in e]
    assert all(label_problem(label) is None for label in labels), labels


# the labels of the README, the docs and the tests (test_labels, test_hostile, test_api, test_codegen)
USED = ["v_{-2}", "v_{-1}", "v_{0}", "r", "\\theta", "\\bar{v}", "W_{1}", "h^{(1)}", "\\mathrm{loss}", "\\alpha",
        "\\beta", "\\mathrm{W\\_out}", "\\theta_{2}", "\\bar{z}", "a b", "p/q", "e^{t}", "W_{1}.v", "<b>x</b>",
        "<script>alert(1)</script>", "<img src=x onerror=alert(3)>", "__import__('os').system('false')",
        "\\eta + \\beta\\,\\theta", "\\dot{h}^{(1)}", "\\bar{\\mathrm{loss}}", "x_{1}", "\\sigma(z)", "\\|x\\|",
        "\\hat{y}", "\\mathbf{W}^{[2]}", "\\sqrt{x}", "\\frac{1}{2}", "\\nabla_{\\theta} L", "f'", "|x| * 2 = y",
        "\\mathbb{E}", "\\tilde{x}_{i}", "\\ell", "\\varepsilon", "\\Omega"]


@pytest.mark.parametrize("label", USED)
def test_the_labels_in_use_are_allowed(label):
    spec = {"inputs": [{"name": "x", "value": 1.0, "label": label}],
            "nodes": [{"name": "y", "op": "sin", "inputs": ["x"], "label": label}], "output": "y"}
    assert graphcomp.from_dict(spec).node("x").label == label


@pytest.mark.parametrize("name", ["v1", "x_3", "W1", "loss", "W_out", "alpha", "a_b_c_2", "_", "x" * 60])
def test_default_labels_are_labels(name):
    assert label_problem(default_label(name)) is None


def test_readme_labels_load():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(r'label: "([^"]*)"', readme)
    assert found
    for label in found:
        assert label_problem(yaml.safe_load(f'"{label}"')) is None, label


@needs_pdflatex
def test_a_spec_name_in_an_exercise_title_is_escaped(cli, tmp_path, secret):
    path = tmp_path / "spec.yaml"
    doc = {"name": f"\\input {secret} ", "inputs": [{"name": "x1", "value": 1.0}, {"name": "x2", "value": 2.0}],
           "nodes": [{"name": "v1", "op": "mul", "inputs": ["x1", "x2"]}], "output": "v1"}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    ran = cli("exercise", path, "--seed", "1", "--count", "1", "--wrt", "x2", "-o", tmp_path / "sheets", "--no-draw")
    assert ran.status == 0, ran.stderr
    tex = (tmp_path / "sheets" / "student01" / "exercise.tex").read_text(encoding="utf-8")
    title = next(line for line in tex.splitlines() if line.startswith("\\subsection*"))
    assert "\\input" not in title and "\\textbackslash{}input" in title, title


# ---- the pdflatex runs themselves ----------------------------------------------------------------------------------

def compile_body(tmp_path, body, **options):
    """latex.pdflatex on a plain article holding `body`, with its temporary folders made under tmp_path/tmp."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "doc.tex").write_text("\\documentclass{article}\\begin{document}\n" + body + "\n\\end{document}\n",
                                 encoding="utf-8")
    return latex.pdflatex(src, "doc.tex", "the test", **options)


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """tempfile's folder, made empty under tmp_path: what a run leaves behind is left here."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@needs_pdflatex
def test_a_plain_document_compiles(tmp_path, temp_root):
    assert compile_body(tmp_path, "hello").startswith(b"%PDF")
    assert list(temp_root.iterdir()) == []


@needs_pdflatex
def test_a_run_that_loops_ends_at_the_timeout_and_leaves_no_folder(tmp_path, temp_root):
    start = time.monotonic()
    with pytest.raises(GraphcompError, match=r"pdflatex took more than 0\.5 s on the test"):
        compile_body(tmp_path, "\\def\\l{\\l}\\l", timeout=0.5)
    assert time.monotonic() - start < 10
    assert list(temp_root.iterdir()) == []


@needs_pdflatex
def test_a_file_outside_the_folder_is_not_read(tmp_path, temp_root, secret):
    with pytest.raises(GraphcompError, match="pdflatex failed on the test: ") as exc:
        compile_body(tmp_path, f"\\input{{{secret}}}")
    assert SECRET not in str(exc.value)
    assert list(temp_root.iterdir()) == []


@needs_pdflatex
def test_no_shell_escape_and_no_file_written_outside_the_folder(tmp_path, temp_root):
    target = tmp_path / "written.txt"
    body = f"x\\immediate\\write18{{touch {tmp_path / 'pwned'}}}"
    assert compile_body(tmp_path, body).startswith(b"%PDF")
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(GraphcompError, match="pdflatex failed"):
        compile_body(tmp_path, f"x\\newwrite\\f\\immediate\\openout\\f={target}\\immediate\\write\\f{{x}}")
    assert not target.exists()
    assert list(temp_root.iterdir()) == []

