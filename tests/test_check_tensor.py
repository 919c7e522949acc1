"""graphcomp check on tensor graphs (Problem 3(b)): each node's .v and .d, entry by entry.

The right numbers are computed here by hand in numpy (the forward pass and the backward pass of Fig. 1 written
out, checked against torch autograd), never taken from graphcomp; each answer file is typed from them, in every
form a tensor can be written, and each wrong one has one deliberate mistake.
"""
import re

import numpy as np
import pytest
import torch
import yaml
from conftest import needs_pdflatex, pdflatex_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphcomp.frontends import answers
from graphcomp.frontends.spec import from_dict, load
from graphcomp.problems import check, feedback


def _fig1(seed=0, delta=None):
    """Fig. 1's values and .d fields, by hand: numpy.random.seed(0), then standard_normal in declaration order.
    `delta` (node, array) adds a mistake to that node's .d, and every later .d is computed from it (carried)."""
    np.random.seed(seed)
    x, W1, W2, W3, y = (np.random.standard_normal(s) for s in [(2,), (3, 2), (3, 3), (2, 3), (2,)])
    V1 = W1 @ x
    V2 = np.maximum(V1, 0)
    V3 = W2 @ V2
    V4 = np.maximum(V3, 0)
    V5 = W3 @ V4
    D = y - V5
    v = dict(x=x, W1=W1, W2=W2, W3=W3, y=y, V1=V1, V2=V2, V3=V3, V4=V4, V5=V5, D=D, z=0.5 * D @ D)
    d = {"z": 1.0, "D": D}

    def settle(name, value):
        d[name] = value + (delta[1] if delta and delta[0] == name else 0)

    settle("D", D)
    settle("V5", -d["D"])
    settle("W3", np.outer(d["V5"], V4))
    settle("V4", d["V5"] @ W3)
    settle("V3", d["V4"] * (V3 > 0))
    settle("W2", np.outer(d["V3"], V2))
    settle("V2", d["V3"] @ W2)
    settle("V1", d["V2"] * (V1 > 0))
    settle("W1", np.outer(d["V1"], x))
    return v, d


def test_the_hand_backward_pass_is_torchs():
    v, d = _fig1()
    Ws = [torch.tensor(v[k], dtype=torch.float64, requires_grad=True) for k in ("W1", "W2", "W3")]
    x, y = torch.tensor(v["x"]), torch.tensor(v["y"])
    z = 0.5 * torch.sum((y - Ws[2] @ torch.relu(Ws[1] @ torch.relu(Ws[0] @ x))) ** 2)
    z.backward()
    assert float(z.detach()) == pytest.approx(v["z"], rel=1e-12)
    for W, k in zip(Ws, ("W1", "W2", "W3")):
        np.testing.assert_allclose(W.grad.numpy(), d[k], rtol=1e-12)


def _n(x, places=4):
    return f"{x:.{places}f}"


def nested(a, places=4, sep=", "):
    """An array as a nested list, typed to `places` decimals."""
    a = np.asarray(a)
    if a.ndim == 0:
        return _n(a, places)
    return "[" + sep.join(nested(r, places, sep) for r in a) + "]"


def bmatrix(a, env="bmatrix"):
    rows = np.atleast_2d(a)
    return f"\\begin{{{env}}} " + " \\\\ ".join(" & ".join(_n(e) for e in r) for r in rows) + f" \\end{{{env}}}"


DS = ["z", "D", "V5", "W3", "V4", "V3", "W2", "V2", "V1", "W1"]


def _lines(d, fmt=nested, skip=()):
    return "".join(f"{k}.d = {fmt(d[k])}\n" for k in DS if k not in skip)


def _grade(text, name="answers.txt", spec="graphs/fig1.yaml"):
    return check.check(load(spec).trace(mode="reverse"), answers.parse(text, name))


def _rows(report):
    return {r.symbol: r for r in report.rows}


def _all_right(report):
    assert report.all_right, [(r.symbol, r.verdict, r.why) for r in report.rows if r.verdict != "correct"]


V, D = _fig1()
CSV_BLOCKS = "# Problem 3(b): a line naming the field, then the rows of its value\n" + "".join(
    f"{k}.d\n" + "".join(",".join(_n(e) for e in r) + "\n" for r in np.atleast_2d(D[k])) + "\n" for k in DS)
LATEX_DOC = ("\\documentclass{article}\n\\begin{document}\nThe backward pass:\n\\begin{align*}\n" + "".join(
    f"{k[0]}_{{{k[1:]}}}.d &= \\dots = {bmatrix(D[k], 'pmatrix')} \\\\\n" if len(k) > 1 else
    f"{k}.d &= {bmatrix(D[k])} \\\\\n" for k in DS) + "\\end{align*}\n\\end{document}\n")
MARKDOWN = "| node | .d |\n|---|---|\n" + "".join(f"| {k} | ${bmatrix(D[k])}$ |\n" for k in DS)
SPACED = "".join(f"{k}.d = {nested(D[k], sep=' ')}\n" for k in DS)  # numpy's print: [[1 2]\n [3 4]]
SPACED = SPACED.replace("] [", "]\n [")
DISPLAYS = "".join(f"$$\n{k}.d =\n" + bmatrix(D[k]).replace(" \\\\ ", " \\\\\n") + "\n$$\n" for k in DS)


@pytest.mark.parametrize("text, name", [
    (_lines(D), "lists.txt"), (_lines(D, bmatrix), "bmatrix.txt"), (CSV_BLOCKS, "blocks.csv"),
    (LATEX_DOC, "doc.tex"), (MARKDOWN, "table.md"), (SPACED, "spaced.txt"), (DISPLAYS, "displays.txt"),
    ("".join(f"{k}.v = {nested(x)}\n" for k, x in V.items()) + _lines(D), "values.txt")],
    ids=["lists", "bmatrix-lines", "csv-blocks", "latex-align", "markdown", "numpy-spaces", "displays", "values"])
def test_every_form_of_a_right_backward_pass_is_all_right(text, name):
    report = _grade(text, name)
    _all_right(report)
    assert len(report.rows) == len(DS) + (12 if name == "values.txt" else 0)


def test_vectors_may_be_rows_or_columns_and_numbers_lists():
    text = _lines(D).replace(f"V1.d = {nested(D['V1'])}", "V1.d = " + nested(D["V1"].reshape(-1, 1)))
    text = text.replace("z.d = 1.0000", "z.d = [1.0000]")
    column = "V2.d\n" + "".join(_n(e) + "\n" for e in D["V2"])
    blocks = CSV_BLOCKS.replace("V2.d\n" + ",".join(_n(e) for e in D["V2"]) + "\n", column)
    _all_right(_grade(text))
    _all_right(_grade(blocks, "b.csv"))


# one mistake per file: (the .d lines changed, the row, its verdict, words in the why)
_T = {k: nested(D[k]) for k in DS}
MISTAKES = [
    ({"W3": nested(-D["W3"])}, "W₃.d", "sign", "sign is wrong"),
    ({"W1": nested(D["W1"].T)}, "W₁.d", "transposed", "W₁.d is a 3×2 matrix, the shape of W₁, not a 2×3 matrix"),
    ({"W2": nested(D["W2"].T)}, "W₂.d", "transposed", "the right matrix transposed"),  # square: only the numbers tell
    ({"V4": nested(D["V4"][:2])}, "V₄.d", "shape", "a vector of 2 entries, but V₄.d is a vector of 3 entries"),
    ({"W1": nested(D["W1"][:2])}, "W₁.d", "shape", "a 2×2 matrix, but W₁.d is a 3×2 matrix"),
    ({"V2": nested(D["V2"], 2)}, "V₂.d", "rounding", "right to 2 decimals"),
    ({"W2": nested(D["W2"] + np.eye(3) * [0, 0, 0.25])}, "W₂.d", "wrong value",
     f"1 of 9 entries wrong; the first, W₂.d[2, 2]: yours {_n(D['W2'][2, 2] + 0.25)}, right {_n(D['W2'][2, 2])}"),
]


@pytest.mark.parametrize("changed, symbol, verdict, why", MISTAKES)
def test_each_tensor_mistake_gets_its_verdict(changed, symbol, verdict, why):
    text = "".join(f"{k}.d = {changed.get(k, _T[k])}\n" for k in DS)
    report = _grade(text)
    rows = _rows(report)
    assert (rows[symbol].verdict, rows[symbol].first) == (verdict, True), rows[symbol].why
    assert why in rows[symbol].why
    assert [r.symbol for r in report.rows if r.verdict != "correct"] == [symbol]


def test_a_wrong_d_is_carried_into_every_later_d():
    _, wrong = _fig1(delta=("V5", np.array([0.5, 0.0])))
    report = _grade(_lines(wrong))
    rows = _rows(report)
    assert rows["V₅.d"].verdict == "wrong value" and rows["V₅.d"].first
    later = ["W₃.d", "V₄.d", "V₃.d", "W₂.d", "V₂.d", "V₁.d", "W₁.d"]
    assert [rows[s].verdict for s in later] == ["carried"] * 7, [(s, rows[s].why) for s in later]
    assert "right from your V₄.d" in rows["V₃.d"].why
    assert report.score == (9, 10) and report.count("correct") == 2


# a tensor graph with fan-out: a = W x feeds b = sin(a) and c = a + b, so ā gets two terms
FAN = {"name": "fan", "seed": 3, "dist": "normal",
       "inputs": [{"name": "x", "shape": [2], "kind": "data"}, {"name": "W", "shape": [2, 2]}],
       "nodes": [{"name": "a", "op": "matmul", "inputs": ["W", "x"]}, {"name": "b", "op": "sin", "inputs": ["a"]},
                 {"name": "c", "op": "add", "inputs": ["a", "b"]}, {"name": "z", "op": "halfsq", "inputs": ["c"]}],
       "output": "z"}


def test_a_d_without_one_users_term_is_a_missing_contribution():
    np.random.seed(3)
    x, W = np.random.standard_normal(2), np.random.standard_normal((2, 2))
    a = W @ x
    c = a + np.sin(a)
    cd = c
    bd = cd
    right_ad = cd + bd * np.cos(a)
    t = from_dict(FAN, file="fan").trace(mode="reverse")
    text = (f"z.d = 1\nc.d = {nested(cd)}\nb.d = {nested(bd)}\na.d = {nested(cd)}\n"
            f"W.d = {nested(np.outer(cd, x))}\n")  # ā without the term through b; W̄ carries it
    report = check.check(t, answers.parse(text))
    rows = _rows(report)
    assert rows["a.d"].verdict == "missing contribution" and "misses the term through b" in rows["a.d"].why
    assert nested(bd * np.cos(a)) in rows["a.d"].why
    assert rows["W.d"].verdict == "carried"
    right = text.replace(f"a.d = {nested(cd)}", f"a.d = {nested(right_ad)}").replace(
        f"W.d = {nested(np.outer(cd, x))}", f"W.d = {nested(np.outer(right_ad, x))}")
    _all_right(check.check(t, answers.parse(right)))


def test_carried_on_matrices_too_large_to_bump_entry_by_entry():
    """30×30 matrices (over SPREAD_ENTRIES): the rounding spread is found with each matrix bumped as a whole."""
    spec = {"name": "wide", "seed": 1, "dist": "normal",
            "inputs": [{"name": "X", "shape": [30, 30], "kind": "data"}, {"name": "W", "shape": [30, 30]}],
            "nodes": [{"name": "a", "op": "matmul", "inputs": ["W", "X"]}, {"name": "z", "op": "halfsq", "inputs": ["a"]}],
            "output": "z"}
    np.random.seed(1)
    X, W = np.random.standard_normal((30, 30)), np.random.standard_normal((30, 30))
    ad = W @ X + np.eye(30) * 0.5  # one mistake: 0.5 added on the diagonal of ā
    report = check.check(from_dict(spec, file="wide").trace(mode="reverse"),
                         answers.parse(f"z.d = 1\na.d = {nested(ad)}\nW.d = {nested(ad @ X.T)}\n"))
    rows = _rows(report)
    assert rows["a.d"].verdict == "wrong value" and "30 of 900 entries wrong" in rows["a.d"].why
    assert rows["W.d"].verdict == "carried"
    assert 900 > check.SPREAD_ENTRIES
    off = ad @ X.T + np.eye(30)[0] * 0.01  # and 0.01 off in W̄'s first column besides: wrong, not carried
    report = check.check(from_dict(spec, file="wide").trace(mode="reverse"),
                         answers.parse(f"z.d = 1\na.d = {nested(ad)}\nW.d = {nested(off)}\n"))
    assert _rows(report)["W.d"].verdict == "wrong value"


def test_the_batch_graph_many_data_points():
    """fig1_batch: X, Y ∈ ℝ^{2×16}, by hand in numpy as above (seed 2)."""
    np.random.seed(2)
    X, W1, W2, W3, Y = (np.random.standard_normal(s) for s in [(2, 16), (4, 2), (5, 4), (2, 5), (2, 16)])
    V1 = W1 @ X
    V3 = W2 @ np.maximum(V1, 0)
    Dv = Y - W3 @ np.maximum(V3, 0)
    V3d = (-W3.T @ Dv) * (V3 > 0)
    W2d = V3d @ np.maximum(V1, 0).T
    W1d = ((W2.T @ V3d) * (V1 > 0)) @ X.T
    text = f"W1.d = {nested(W1d)}\nW2.d = {nested(W2d)}\nW3.d = {nested(-Dv @ np.maximum(V3, 0).T)}\n"
    rows = _rows(_grade(text, spec="graphs/fig1_batch.yaml"))
    assert [rows[s].verdict for s in ("W₁.d", "W₂.d", "W₃.d")] == ["correct"] * 3
    assert {r.verdict for s, r in rows.items() if s[0] != "W"} == {"missing"}  # the .d of z, D, V₁ … not given
    wrong = _grade(text.replace(f"W1.d = {nested(W1d)}", f"W1.d = {nested(W1d.T)}"), spec="graphs/fig1_batch.yaml")
    assert _rows(wrong)["W₁.d"].verdict == "transposed"


def test_matrices_that_cannot_be_read_are_listed():
    text = _lines(D) + "W9.d = [[1, 2], [3]]\nV1.d = [1, 2\nz.d = \\begin{bmatrix} 1 & 2 \\\\ 3 \\end{bmatrix}\n"
    parsed = answers.parse(text)
    entries = list(parsed)
    assert len(entries) == len(DS)
    whys = [why for _, _, why in parsed.unreadable]
    assert len(whys) == 3 and "rows of 1 and 2 entries" in whys[0] and "unclosed" in whys[1]


def test_csv_blocks_that_cannot_be_read_are_listed():
    text = CSV_BLOCKS + "\n9,9\nW3.d\n1,2,3\n4,5\nV1.d\n"
    parsed = answers.parse(text, "b.csv")
    assert len(list(parsed)) == len(DS)
    assert [why for _, _, why in parsed.unreadable] == [
        "a row of numbers with no name line (W1.d) before its block", "rows of 2 and 3 entries in '[[1, 2, 3], [4, 5]]'",
        "no rows of numbers follow 'V1.d'"]


# ---- the command line ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, suffix", [("latex", "tex"), ("markdown", "md"), ("csv", "csv")])
def test_the_tools_own_tensor_trace_reads_back_as_right(cli, tmp_path, fmt, suffix):
    out = tmp_path / f"key.{suffix}"
    out.write_text(cli("trace", "fig1.yaml", "--mode", "reverse", "--format", fmt).stdout, encoding="utf-8")
    ran = cli("check", "fig1.yaml", "--mode", "reverse", out, "--format", "json")
    assert ran.status == 0, ran.stdout + ran.stderr
    assert ran.stdout.count('"verdict": "correct"') == 22  # 12 values, 10 .d fields


def test_cli_tensor_check_exit_status_and_feedback(cli, tmp_path):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(_lines(D).replace(_T["W1"], nested(D["W1"].T)), encoding="utf-8")
    ran = cli("check", "fig1.yaml", "--mode", "reverse", wrong, env={"COLUMNS": "200"})
    assert ran.status == 1 and ran.stderr == ""
    assert "▶ W₁.d" in ran.stdout and "transposed" in ran.stdout and "look first at W₁.d" in ran.stdout
    for fmt in ("markdown", "latex", "json"):
        ran = cli("check", "fig1.yaml", wrong, "--format", fmt)
        assert ran.status == 1 and "transposed" in ran.stdout
    right = tmp_path / "right.csv"
    right.write_text(CSV_BLOCKS, encoding="utf-8")
    assert cli("check", "fig1.yaml", "--mode", "reverse", right).status == 0


@needs_pdflatex
def test_the_latex_feedback_of_a_tensor_check_compiles_on_one_line_width(tmp_path):
    """Each .v and .d as a bmatrix (two 3 × 3 side by side fit a line), the row to look at first in bold."""
    wrong = _grade(_lines(D).replace(_T["W1"], nested(D["W1"].T)))
    texts = [feedback.latex(_grade(CSV_BLOCKS, "right.csv")), feedback.latex(wrong)]
    assert "\\begin{bmatrix}" in texts[1] and "{\\bfseries\\boldmath $W_{1}.d$}" in texts[1]
    log = pdflatex_log(tmp_path, texts)
    assert "Missing character" not in log and "Overfull" not in log, log[-2000:]


def test_cli_tensor_graphs_are_checked_in_reverse_mode(cli, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(_lines(D), encoding="utf-8")
    ran = cli("check", "fig1.yaml", "--mode", "forward", "--wrt", "W1", path)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "--mode reverse" in ran.stderr, ran.stderr


TOKENS = list("[](){}$\\&,;=:.-+e019 \n|#%^_vdWzᵀ−₁") + [
    "\\begin{bmatrix}", "\\end{bmatrix}", "\\\\", "nan", "1e999", "1,5", "\\begin{tabular}{ll}", "\\end{tabular}", "\x00"]
EDIT = st.tuples(st.floats(0, 1), st.sampled_from(["insert", "delete", "replace"]), st.sampled_from(TOKENS))
FORMS = [("lists.txt", _lines(D)), ("blocks.csv", CSV_BLOCKS), ("doc.tex", LATEX_DOC), ("table.md", MARKDOWN)]


@settings(max_examples=150, derandomize=True, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(form=st.sampled_from(FORMS), edits=st.lists(EDIT, min_size=1, max_size=8), graph=st.sampled_from(
    ["fig1.yaml", "eq2.yaml"]))
def test_damaged_answer_files_get_a_verdict_or_one_line(cli, tmp_path_factory, form, edits, graph):
    """Any damage to an answer file: exit status 0, 1 (a verdict) or 2 with one line on stderr; never a traceback."""
    name, text = form
    chars = list(text)
    for where, how, token in edits:
        k = int(where * len(chars))
        if how == "insert":
            chars.insert(k, token)
        elif chars:
            chars[min(k, len(chars) - 1):min(k, len(chars) - 1) + 1] = [] if how == "delete" else [token]
    path = tmp_path_factory.mktemp("damaged") / name
    path.write_text("".join(chars), encoding="utf-8")
    ran = cli("check", graph, *(["--wrt", "x2"] if graph == "eq2.yaml" else []), path, "--format", "json")
    assert ran.status in (0, 1, 2) and "Traceback" not in ran.stderr
    assert ran.stderr.count("\n") == (1 if ran.status == 2 else 0), ran.stderr



def test_a_huge_array_answer_is_cut_in_the_feedback(cli, tmp_path):
    """A row of 200 000 entries for W1.d (3 × 2): graded as the wrong shape, shown as its first entries and size."""
    path = tmp_path / "wide.txt"
    path.write_text("W1.d = [" + ", ".join(["1.0"] * 200_000) + "]\n", encoding="utf-8")
    for fmt, shown in (("markdown", "200 000 entries"), ("latex", "1.0 & 1.0 & 1.0 & 1.0 & 1.0 & \\cdots")):
        ran = cli("check", "fig1.yaml", path, "--format", fmt)
        assert ran.status == 1 and "shape" in ran.stdout and shown in ran.stdout and len(ran.stdout) < 20_000


def test_a_forward_check_of_a_tensor_graph_says_so_before_asking_for_wrt(cli, tmp_path):
    path = tmp_path / "answers.txt"
    path.write_text(_lines(D), encoding="utf-8")
    ran = cli("check", "fig1.yaml", "--mode", "forward", path)
    assert ran.status == 2 and ran.stderr.count("\n") == 1, ran.stderr
    assert "a tensor graph is checked in reverse mode" in ran.stderr and "needs --wrt" not in ran.stderr


def test_a_cut_right_column_writes_numbers_as_the_tables_do(cli, tmp_path):
    """Past 36 entries the right column is cut; its numbers are still fmt_number's: no -0.0000, and 10¹² on (or
    not 0 but rounding to 0) in scientific notation, as in a cell of a smaller array."""
    w = np.ones((7, 7))
    w[0, 0], w[0, 1] = -1e-7, 2e13
    spec = tmp_path / "big.yaml"
    spec.write_text(yaml.safe_dump({"name": "big", "inputs": [{"name": "W", "value": w.tolist()}],
                                    "nodes": [{"name": "f", "op": "halfsq", "inputs": ["W"]}], "output": "f"}))
    answers = tmp_path / "answers.txt"
    answers.write_text("W.d = " + nested(np.zeros((7, 7))) + "\n", encoding="utf-8")
    ran = cli("check", spec, answers, "--format", "markdown")
    assert ran.status == 1 and "[-1.0000e-07, 2.0000e+13, 1.0000," in ran.stdout, ran.stdout
    assert "-0.0000" not in ran.stdout.split("W.d")[-1]


def test_a_matrix_copied_from_the_terminal_table_reads_and_shows_aligned(cli, tmp_path):
    """W₁.d as the terminal table prints it (rows ended by commas, entries padded to their column) is read as typed;
    check's own table shows yours and the right one a row per line, columns aligned, not wrapped."""
    W1 = D["W1"]
    rows = [[f"{x:.4f}" for x in r] for r in W1]
    width = [max(len(r[k]) for r in rows) for k in range(2)]
    typed = ",\n".join(("W1.d = [[" if k == 0 else "        [") + ", ".join(e.rjust(w) for e, w in zip(r, width)) + "]"
                       for k, r in enumerate(rows)) + "]\n"
    path = tmp_path / "mine.txt"
    path.write_text(typed, encoding="utf-8")
    ran = cli("check", "fig1.yaml", "--mode", "reverse", path, env={"COLUMNS": "200"})
    line = next(k for k, text in enumerate(ran.stdout.splitlines()) if text.startswith(" W₁.d"))
    block = ran.stdout.splitlines()[line:line + 3]
    assert "correct" in block[0], block
    points = {tuple(m.start() for m in re.finditer(r"(?<=[0-9])\.(?=[0-9])", text)) for text in block}
    assert len(points) == 1 and len(points.pop()) == 4, block  # yours, then right: decimal points in columns
    numbers = [[float(x) for x in re.findall(r"-?\d+\.\d+", text)] for text in block]
    assert numbers[0][:2] == pytest.approx(W1[0], abs=5e-5) and numbers[2][2:4] == pytest.approx(W1[2], abs=5e-5)
