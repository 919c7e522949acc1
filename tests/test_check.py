"""graphcomp check: hand-written answer tables for Eq. 2 at (1, 1.5, 2), graded row by row.

The right numbers come from Eq. 2's closed form (below), not from the engine; every table is typed here by
hand, each wrong one with one deliberate mistake, and its verdict is asserted on that row.
"""
import math
import re
import tracemalloc

import pytest
import yaml
from conftest import ROOT, needs_pdflatex, pdflatex_log

from graphcomp.core.errors import GraphcompError
from graphcomp.frontends import answers
from graphcomp.frontends.spec import from_dict, load
from graphcomp.problems import check, feedback

X1, X2, X3 = 1.0, 1.5, 2.0
F = (X1 * X2 * math.sin(X3) + math.exp(X1 * X2)) / X3
DF_DX2 = (X1 * math.sin(X3) + X1 * math.exp(X1 * X2)) / X3  # 2.6955
DF_DX1 = (X2 * math.sin(X3) + X2 * math.exp(X1 * X2)) / X3  # 4.0432
DF_DX3 = X1 * X2 * math.cos(X3) / X3 - F / X3  # -1.7735

VALUES = """v-2 = 1.0000
v-1 = 1.5000
v0 = 2.0000
v1 = 1.5000
v2 = 0.9093
v3 = 4.4817
v4 = 1.3639
v5 = 5.8456
v6 = 2.9228
"""
SUMMED = VALUES + """v̄6 = 1
v̄5 = 0.5000
v̄4 = 0.5000
v̄3 = 0.5000
v̄2 = 0.7500
v̄1 = 2.6955
v̄0 = −1.7735
v̄-2 = 4.0432
v̄-1 = 2.6955
"""
STEPS = VALUES + """\\bar v_{6} = 1
\\bar v_{5} = \\bar v_6 \\partial v_6/\\partial v_5 = 0.5000
\\bar v_{0} = -1.4614
\\bar v_{4} = 0.5000
\\bar v_{3} = 0.5000
\\bar v_{1} = 0.4546
\\bar v_{2} = 0.7500
\\bar v_{1} = 2.6955
\\bar v_{0} = -1.7735
\\bar v_{-2} = 4.0432
\\bar v_{-1} = 2.6955
"""
FORWARD = VALUES + """vdot-2 = 0
vdot-1 = 1
vdot0 = 0
vdot1 = 1.0000
vdot2 = 0.0000
vdot3 = 4.4817
vdot4 = 0.9093
vdot5 = 5.3910
vdot6 = 2.6955
"""


def test_the_reference_numbers_are_the_closed_form():
    assert f"{F:.4f}" == "2.9228" and f"{DF_DX2:.4f}" == "2.6955"
    assert f"{DF_DX1:.4f}" == "4.0432" and f"{DF_DX3:.4f}" == "-1.7735"


def _trace(mode):
    return load("graphs/eq2.yaml").trace(wrt="x2", mode=mode)


def _grade(text, mode="reverse", name="answers.txt", fmt=None, **kw):
    return check.check(_trace(mode), answers.parse(text, name, fmt), **kw)


def _row(report, symbol, nth=0):
    return [r for r in report.rows if r.symbol == symbol][nth]


def _swap(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("text, mode", [(SUMMED, "reverse"), (STEPS, "reverse"), (FORWARD, "forward")],
                         ids=["summed", "steps", "forward"])
def test_a_right_table_is_all_right(text, mode):
    report = _grade(text, mode)
    assert report.all_right, [(r.symbol, r.verdict, r.why) for r in report.rows if r.verdict != "correct"]
    assert report.score == (len(report.rows) - 3, len(report.rows) - 3)  # the point's x1, x2, x3 given, not scored


# one deliberate mistake per table: (table, mode, the row's symbol and which of its rows, verdict, words in the why)
MISTAKES = [
    # the common one: v̄₁ summed without the term through v₃; v̄₋₂ and v̄₋₁ then carry it
    (_swap(_swap(_swap(SUMMED, "v̄1 = 2.6955", "v̄1 = 0.4546"), "v̄-2 = 4.0432", "v̄-2 = 0.6819"),
           "v̄-1 = 2.6955", "v̄-1 = 0.4546"), "reverse", "v̄₁", 0, "missing contribution",
     "v̄₁ misses the term through v₃: v̄₃ · ∂v₃/∂v₁ = 2.2408"),
    (_swap(SUMMED, "v̄5 = 0.5000", "v̄5 = -0.5000"), "reverse", "v̄₅", 0, "sign", "0.5000"),
    (_swap(SUMMED, "v̄1 = 2.6955", "v̄1 = 2.70"), "reverse", "v̄₁", 0, "rounding", "right to 2 decimals"),
    (_swap(SUMMED, "v̄1 = 2.6955", "v̄1 = 2.6971"), "reverse", "v̄₁", 0, "rounding", "too early"),
    (_swap(SUMMED, "v̄2 = 0.7500", "v̄2 = 0.1234"), "reverse", "v̄₂", 0, "wrong value", "0.7500"),
    # ∂v₆/∂v₀ taken as −v₅/v₀ = −v₆ instead of −v₆/v₀
    (_swap(SUMMED, "v̄0 = −1.7735", f"v̄0 = {0.75 * math.cos(X3) - F:.4f}"), "reverse", "v̄₀", 0,
     "wrong local partial", "∂v₆/∂v₀ should be −v₆/v₀ = -1.4614"),
    # the slides' steps: the second v̄₁ step forgets to add, the first v̄₀ step has the wrong partial
    (_swap(STEPS, "\\bar v_{1} = 2.6955", "\\bar v_{1} = 0.4546"), "reverse", "v̄₁", 1, "missing contribution",
     "through v₃"),
    (_swap(_swap(STEPS, "\\bar v_{0} = -1.4614", "\\bar v_{0} = -2.9228"), "\\bar v_{0} = -1.7735",
           f"\\bar v_{{0}} = {-2.9228 + 0.75 * math.cos(X3):.4f}"), "reverse", "v̄₀", 0, "wrong local partial",
     "∂v₆/∂v₀ should be −v₆/v₀"),
    (_swap(VALUES, "v1 = 1.5000", "v1 = 2.5000"), "value", "v₁", 0, "wrong value", "1.5000"),
    # forward: v̇₅ without v̇₄
    (_swap(FORWARD, "vdot5 = 5.3910", "vdot5 = 4.4817"), "forward", "v̇₅", 0, "missing contribution",
     "v̇₅ misses the term through v₄: v̇₄ · ∂v₅/∂v₄ = 0.9093"),
    (_swap(FORWARD, "vdot3 = 4.4817", "vdot3 = 1.0000"), "forward", "v̇₃", 0, "wrong local partial",
     "∂v₃/∂v₁ should be v₃ = 4.4817"),
]


@pytest.mark.parametrize("text, mode, symbol, nth, verdict, why", MISTAKES)
def test_each_mistake_gets_its_verdict(text, mode, symbol, nth, verdict, why):
    report = _grade(text, mode)
    row = _row(report, symbol, nth)
    assert (row.verdict, row.first) == (verdict, True), row.why
    assert why in row.why
    assert not report.all_right
    wrong = [r for r in report.rows if r.verdict not in ("correct", "carried")]
    assert wrong == [row], [(r.symbol, r.verdict, r.why) for r in wrong]


def test_carried_errors_follow_the_students_own_numbers():
    # v₁ written as 2.5 (wrong); every value after it is computed right from it: carried, full credit
    v1 = 2.5
    v3, v4 = math.exp(v1), v1 * math.sin(X3)
    v5 = v4 + v3
    text = _swap(_swap(_swap(_swap(_swap(VALUES, "v1 = 1.5000", f"v1 = {v1:.4f}"), "v3 = 4.4817", f"v3 = {v3:.4f}"),
                             "v4 = 1.3639", f"v4 = {v4:.4f}"), "v5 = 5.8456", f"v5 = {v5:.4f}"),
                 "v6 = 2.9228", f"v6 = {v5 / X3:.4f}")
    report = _grade(text, "value")
    verdicts = {r.symbol: r.verdict for r in report.rows}
    assert verdicts["v₁"] == "wrong value" and _row(report, "v₁").first
    assert [verdicts[s] for s in ("v₃", "v₄", "v₅", "v₆")] == ["carried"] * 4
    assert _row(report, "v₃").why == f"right from your v₁ = 2.5000 (which gives {v3:.4f})"  # the student's v₁, then v₃
    assert verdicts["v₂"] == "correct"
    assert report.score == (5, 6) and report.count("correct") == 4 and not report.all_right


def test_missing_and_unknown_rows():
    text = _swap(SUMMED, "v̄3 = 0.5000\n", "") + "v̄9 = 1.0000\n"
    report = _grade(text)
    assert _row(report, "v̄₃").verdict == "missing"
    assert [u.verdict for u in report.unknown] == ["unknown"] and "names no node" in report.unknown[0].why


def test_the_outputs_adjoint_written_twice_is_graded_once():
    report = _grade(SUMMED + "v̄6 = 1.0000\n")  # the seed has one row, not one per contribution
    assert _row(report, "v̄₆").verdict == "correct"
    assert [u.verdict for u in report.unknown] == ["unknown"] and "the seed" in report.unknown[0].why


def test_rows_in_any_order_and_any_name():
    lines = SUMMED.strip().splitlines()[::-1]
    text = "\n".join(lines).replace("v-1 = 1.5000", "x2 = 1.5000").replace("v̄-2 = 4.0432", "v̄₋₂ = 4.0432")
    assert _grade(text).all_right


# ---- every reader, with the same right answers ------------------------------------------------------------

CSV_NAMES = """node,value,derivative
x1,1.0000,4.0432
x2,1.5000,2.6955
x3,2.0000,-1.7735
v1,1.5000,2.6955
v2,0.9093,0.7500
v3,4.4817,0.5000
v4,1.3639,0.5000
v5,5.8456,0.5000
v6,2.9228,1.0000
"""
CSV_INDEX = "i,v,vbar\n" + "\n".join(f"{i},{v},{d}" for i, v, d in [
    (-2, "1.0000", "4.0432"), (-1, "1.5000", "2.6955"), (0, "2.0000", "−1.7735"), (1, "1.5000", "2.6955"),
    (2, "0.9093", "0.7500"), (3, "4.4817", "0.5000"), (4, "1.3639", "0.5000"), (5, "5.8456", "0.5000"),
    (6, "2.9228", "1.0000")]) + "\n"
MARKDOWN = """My answers to 2(c):

| $i$ | $v_i$ | $\\bar v_i$ |
|---|---|---|
| -2 | 1.0000 | 4.0432 |
| -1 | 1.5000 | 2.6955 |
| 0 | 2.0000 | -1.7735 |
| 1 | 1.5000 | 2.6955 |
| 2 | 0.9093 | 0.7500 |
| 3 | 4.4817 | 0.5000 |
| 4 | 1.3639 | 0.5000 |
| 5 | 5.8456 | 0.5000 |
| 6 | 2.9228 | 1.0000 |
"""
LATEX = """\\begin{table}\\centering
\\begin{tabular}{lll|lll}
\\hline
$v_{-2}$ & $= x_1$ & $1.0000$ & $\\bar v_{6}$ & $= 1$ & $1.0000$ \\\\
$v_{-1}$ & $= x_2$ & $1.5000$ & $\\bar v_{5}$ & $= \\bar v_6 / v_0$ & $0.5000$ \\\\
$v_{0}$ & $= x_3$ & $2.0000$ & $\\bar v_{4}$ & $= \\bar v_5$ & $0.5000$ \\\\
$v_{1}$ & $= v_{-2} v_{-1}$ & $1.5000$ & $\\bar v_{3}$ & $= \\bar v_5$ & $0.5000$ \\\\
$v_{2}$ & $= \\sin v_0$ & $0.9093$ & $\\bar{v}_{2}$ & $= \\bar v_4 v_1$ & $0.7500$ \\\\
$v_{3}$ & $= e^{v_1}$ & $4.4817$ & $\\bar v_{1}$ & $= \\bar v_3 v_3 + \\bar v_4 v_2$ & $2.6955$ \\\\
$v_{4}$ & $= v_1 v_2$ & $1.3639$ & $\\bar v_{0}$ & $= \\dots$ & $-1.7735$ \\\\
$v_{5}$ & $= v_4 + v_3$ & $5.8456$ & $\\bar v_{-1}$ & $= \\bar v_1 v_{-2}$ & $2.6955$ \\\\
$v_{6}$ & $= v_5 / v_0$ & $2.9228$ & $\\bar v_{-2}$ & $= \\bar v_1 v_{-1}$ & $4.0432$ \\\\
\\hline
\\end{tabular}
\\end{table}
"""


@pytest.mark.parametrize("name, text, fmt", [
    ("a.csv", CSV_NAMES, "csv"), ("b.csv", CSV_INDEX, "csv"), ("c.md", MARKDOWN, "markdown"),
    ("d.tex", LATEX, "latex"), ("e.txt", SUMMED, "lines"), ("f.txt", STEPS, "lines"),
    ("g", CSV_NAMES, "csv"), ("h", MARKDOWN, "markdown"), ("i", LATEX, "latex")])
def test_every_reader_reads_a_right_table_as_right(name, text, fmt):
    parsed = answers.parse(text, name)
    assert parsed.format == fmt
    report = check.check(_trace("reverse"), parsed)
    assert report.all_right, [(r.symbol, r.verdict, r.why) for r in report.rows if r.verdict != "correct"]
    assert len(report.rows) == 18 + 2 * (text is STEPS)


# Eq. 2 at (1, 1.5, 2) along x2, by hand: v1 = x1 x2, v̇1 = x1; v2 = sin x3, v̇2 = 0; v3 = e^{v1}, v̇3 = v3 v̇1;
# v4 = v1 v2, v̇4 = v̇1 v2; v5 = v4 + v3; v6 = v5 / x3
_E = math.exp(1.5)
_TANGENTS = [(-2, 1.0, 0.0), (-1, 1.5, 1.0), (0, 2.0, 0.0), (1, 1.5, 1.0), (2, math.sin(2), 0.0), (3, _E, _E),
             (4, 1.5 * math.sin(2), math.sin(2)), (5, 1.5 * math.sin(2) + _E, math.sin(2) + _E),
             (6, (1.5 * math.sin(2) + _E) / 2, (math.sin(2) + _E) / 2)]


@pytest.mark.parametrize("head", ["$\\dot v_i$", "$\\dot{v}_i$", "v̇ᵢ", "v̇_i", "vdot"])
@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_a_tangent_column_headed_in_the_lectures_notation_is_read(head, fmt):
    """The forward table's header as the slides write it (\\dot v_i, or v̇ᵢ in Unicode), like \\bar v_i's."""
    if fmt == "markdown":
        text = f"| $i$ | $v_i$ | {head} |\n|---|---|---|\n" + "".join(
            f"| {i} | {v:.4f} | {t:.4f} |\n" for i, v, t in _TANGENTS)
    else:
        text = f"\\begin{{tabular}}{{lll}}\n$i$ & $v_i$ & {head} \\\\\n" + "".join(
            f"{i} & ${v:.4f}$ & ${t:.4f}$ \\\\\n" for i, v, t in _TANGENTS) + "\\end{tabular}\n"
    report = check.check(_trace("forward"), answers.parse(text, "mine." + ("md" if fmt == "markdown" else "tex")))
    assert report.all_right, [(r.symbol, r.verdict, r.why) for r in report.rows if r.verdict != "correct"]
    assert sum(r.symbol.startswith("v̇") for r in report.rows) == 9


@pytest.mark.parametrize("mode, style", [("reverse", "steps"), ("reverse", "summed"), ("forward", None)])
@pytest.mark.parametrize("fmt, suffix", [("latex", "tex"), ("markdown", "md"), ("csv", "csv")])
def test_the_tools_own_tables_read_back_as_right(cli, tmp_path, mode, style, fmt, suffix):
    args = ["trace", "eq2.yaml", "--wrt", "x2", "--mode", mode, "--format", fmt] + (["--style", style] if style else [])
    out = tmp_path / f"key.{suffix}"
    out.write_text(cli(*args).stdout, encoding="utf-8")
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--mode", mode, out, "--format", "json")
    assert ran.status == 0, ran.stdout + ran.stderr
    assert '"verdict": "correct"' in ran.stdout and '"verdict": "wrong' not in ran.stdout


@pytest.mark.parametrize("fmt, suffix", [("latex", "tex"), ("markdown", "md"), ("csv", "csv")])
def test_the_tools_own_tables_of_huge_and_tiny_numbers_read_back_as_right(cli, tmp_path, fmt, suffix):
    """3.0000 · 10¹² and 1.0000 · 10⁻⁹ (in LaTeX as a power of ten, 3.0000e+12 reads e + 12 in math)."""
    expr = ["--expr", "x*1e12 + y*1e-9", "--at", "x=3,y=2", "--wrt", "y", "--mode", "reverse"]
    out = tmp_path / f"key.{suffix}"
    out.write_text(cli("trace", *expr, "--format", fmt).stdout, encoding="utf-8")
    assert fmt != "latex" or "$3.0000 \\cdot 10^{12}$" in out.read_text()
    ran = cli("check", *expr, out)
    assert ran.status == 0 and "10 of 10 rows right" in ran.stdout, ran.stdout + ran.stderr


def test_numbers_as_written():
    assert answers.number("−1.7735") == (-1.7735, 4)
    assert answers.number("$3.0000 \\cdot 10^{12}$") == (3e12, 0) and answers.number("2.5\\times 10^{-3}") == (
        0.0025, 4)
    assert answers.number("2.6955e0") == (2.6955, 4)
    assert answers.number("$0.5$") == (0.5, 1)
    assert answers.name_key("v̄₋₁") == ("v-1", "adjoint") and answers.name_key("vbar_-1") == ("v-1", "adjoint")
    assert answers.name_key("\\dot{v}_{-2}") == ("v-2", "tangent") and answers.name_key("x2") == ("x2", "value")
    with pytest.raises(GraphcompError, match="decimal comma"):
        answers.number("1,5")


# ---- the command line ------------------------------------------------------------------------------------------


def test_cli_exit_status_and_the_first_wrong_row(cli, tmp_path):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(_swap(SUMMED, "v̄1 = 2.6955", "v̄1 = 0.4546"), encoding="utf-8")
    ran = cli("check", "eq2.yaml", "--wrt", "x2", wrong, env={"COLUMNS": "160"})
    assert ran.status == 1 and ran.stderr == ""
    assert "▶ v̄₁" in ran.stdout and "misses the term through v₃" in ran.stdout
    assert "look first at v̄₁" in ran.stdout and "score" in ran.stdout
    right = tmp_path / "right.txt"
    right.write_text(FORWARD, encoding="utf-8")
    expr = "(x1*x2*sin(x3) + exp(x1*x2))/x3"
    ran = cli("check", "--expr", expr, "--at", "x1=1,x2=1.5,x3=2", "--wrt", "x2", "--mode", "forward", right)
    assert ran.status == 0, ran.stdout
    for fmt in ("markdown", "latex", "json"):
        ran = cli("check", "eq2.yaml", "--wrt", "x2", wrong, "--format", fmt)
        assert ran.status == 1 and "missing contribution" in ran.stdout
    ran = cli("check", "eq2.yaml", "--wrt", "x2", wrong, "-o", tmp_path / "feedback.md")
    assert ran.status == 1 and (tmp_path / "feedback.md").read_text(encoding="utf-8").startswith("**check of")


def _bad(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", "", "the file is empty"),
    ("blank.csv", "\n\n  \n", "the file is empty"),
    ("garbage.bin", bytes(range(256)) * 4, "not a text file"),
    ("latin1.txt", "v1 = 1.5 \xe9\n".encode("latin-1"), "not UTF-8"),
    ("noheader.csv", "1.0,2.0\n3.0,4.0\n", "neither a header naming the columns"),
    ("prose.txt", "I did not do it.\n", "line 1: expected `name = number`"),
    ("comma.txt", "v1 = 1,5\n", "line 1: '1,5' has a decimal comma; write 1.5"),
    ("nothing.md", "no table here\n", "no Markdown table"),
    ("nothing.tex", "\\section{x}\n", "no tabular"),
])
def test_bad_answers_are_one_line_exit_2(cli, tmp_path, name, data, message):
    ran = cli("check", "eq2.yaml", "--wrt", "x2", _bad(tmp_path, name, data))
    assert ran.status == 2 and ran.stdout == ""
    assert ran.stderr.count("\n") == 1 and message in ran.stderr and name in ran.stderr, ran.stderr


def test_a_half_readable_file_reports_what_it_read(cli, tmp_path):
    path = _bad(tmp_path, "half.txt", SUMMED + "v2 = 0,9093\nwhat is this\n")
    ran = cli("check", "eq2.yaml", "--wrt", "x2", path, env={"COLUMNS": "160"})
    assert ran.status == 1
    assert "could not read '0,9093'" in ran.stdout and "could not read 'what is this'" in ran.stdout


def test_a_table_for_another_function(tmp_path, cli):
    path = _bad(tmp_path, "other.txt", "".join(f"w{i} = {i}.0000\n" for i in range(20)) + "v1 = 1.5000\n")
    ran = cli("check", "eq2.yaml", "--wrt", "x2", path, env={"COLUMNS": "160"})
    assert ran.status == 1 and "another function" in ran.stdout


def test_a_million_lines_are_graded_with_the_lists_capped(cli, tmp_path):
    """10⁶ rows naming no node and 100 unreadable lines after a right table: the right rows are graded, the rest
    counted, and only the first 50 of each are listed."""
    path = tmp_path / "huge.txt"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(SUMMED)
        fh.writelines(f"w{i} = {i}.5\n" for i in range(10**6))
        fh.write("not a row\n" * 100)
    ran = cli("check", "eq2.yaml", "--wrt", "x2", path, "--format", "markdown")
    assert ran.status == 1 and ran.stderr == ""
    assert ran.stdout.count("| correct |") == 18 and ran.stdout.count("names no node of eq2") == 50
    assert "… and 999 950 more rows not graded (unknown, repeated or of the other mode)" in ran.stdout
    assert ran.stdout.count("could not read 'not a row'") == 50 and "… and 50 more unreadable lines" in ran.stdout
    assert "another function" in ran.stdout and len(ran.stdout) < 20_000


def test_reading_and_grading_keep_no_more_than_the_lists(tmp_path):
    """The memory a check takes does not grow with the answer file (read as a stream, the lists capped)."""
    def peak(n):
        path = tmp_path / f"{n}.txt"
        path.write_text(SUMMED + "".join(f"v{i % 7} = {i}.5000\nw{i} = 1\n" for i in range(n)), encoding="utf-8")
        tracemalloc.start()
        report = check.check(_trace("reverse"), answers.read(path))
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert report.unknown_count == 2 * n and len(report.unknown) == answers.LIST_CAP
        return top
    assert peak(40_000) < peak(2_000) + 2**20


def test_a_markdown_or_latex_file_is_read_whole_within_its_limit(cli, tmp_path):
    path = _bad(tmp_path, "long.md", "| node | value |\n|---|---|\n" + "| v1 | 1.5000 |\n" * 200)
    ran = cli("check", "eq2.yaml", "--wrt", "x2", path, env={"GRAPHCOMP_MAX_MARKUP_LINES": "100"})
    assert ran.status == 2 and ran.stderr.count("\n") == 1
    assert "202 lines in a Markdown or LaTeX answer file" in ran.stderr and "GRAPHCOMP_MAX_MARKUP_LINES" in ran.stderr


def test_numbers_in_exponent_form_and_decimal_commas_from_the_command_line(cli, tmp_path):
    right = _bad(tmp_path, "e.txt", _swap(SUMMED, "v̄1 = 2.6955", "v̄1 = 2.6955e0"))
    assert cli("check", "eq2.yaml", "--wrt", "x2", right).status == 0
    commas = _bad(tmp_path, "c.csv", CSV_NAMES.replace("x2,1.5000,2.6955", "x2,1,5000,2,6955"))
    ran = cli("check", "eq2.yaml", "--wrt", "x2", commas, env={"COLUMNS": "200"})
    assert ran.status == 1 and "5 fields, the header has 3 (a decimal comma?" in ran.stdout


def test_a_list_where_a_number_is_due():
    text = _swap(_swap(SUMMED, "v1 = 1.5000", "v1 = [1,5000]"), "v2 = 0.9093", "v2 = [0.9093]")
    report = _grade(text)
    assert _row(report, "v₁").verdict == "shape" and "decimal commas?" in _row(report, "v₁").why
    assert _row(report, "v₂").verdict == "correct"
    assert [r.symbol for r in report.rows if r.verdict not in ("correct", "carried")] == ["v₁"]


def test_a_latex_row_shorter_than_its_header_leaves_the_missing_cells_blank():
    """A row that stops before the trace column is read as far as it goes, not an IndexError."""
    text = "\\begin{tabular}{lll}\nnode & value & trace \\\\\nv1 & 1.5 \\\\\n\\end{tabular}\n"
    entries = list(answers.parse(text, "short.tex"))
    assert [(e.name, e.kind, e.value) for e in entries] == [("v1", "value", 1.5)]


def test_a_list_where_a_scalar_partial_sum_goes_is_graded_shape_and_the_sum_goes_on():
    """A step-by-step adjoint written as a list ([1, 2] for v̄₁'s first partial sum) is a wrong shape, not a crash
    ('truth value of an array is ambiguous'); the next partial sum of v̄₁ is graded as usual."""
    report = _grade(STEPS.replace("\\bar v_{1} = 0.4546", "\\bar v_{1} = [1, 2]", 1))
    assert [r.verdict for r in report.rows if r.symbol == "v̄₁"] == ["shape", "correct"]
    assert [r.symbol for r in report.rows if r.verdict != "correct"] == ["v̄₁"]


# the inputs as the problem set writes them, with no decimals: a number equal to the exact one carries no rounding
EXACT_INPUTS = _swap(_swap(_swap(SUMMED, "v-2 = 1.0000", "v-2 = 1"), "v-1 = 1.5000", "v-1 = 1.5"), "v0 = 2.0000",
                     "v0 = 2")


@pytest.mark.parametrize("old, new, symbol", [("v̄-1 = 2.6955", "v̄-1 = 3.3000", "v̄₋₁"),
                                              ("v̄-2 = 4.0432", "v̄-2 = 8.5000", "v̄₋₂"),
                                              ("v1 = 1.5000", "v1 = 2.0000", "v₁")])
def test_inputs_written_without_decimals_give_a_wrong_row_no_latitude(old, new, symbol):
    """x₁ = 1 is the exact input, not 1 ± 0.5: a row computed from it is held to the rounding of its own digits."""
    assert _grade(EXACT_INPUTS).all_right
    report = _grade(_swap(EXACT_INPUTS, old, new))
    assert _row(report, symbol).verdict == "wrong value" and not report.all_right


@pytest.mark.parametrize("new", ["2.6957", "2.6953", "2.6956"])
def test_a_near_miss_beyond_the_rounding_is_not_correct(new):
    """v̄₋₁ = v̄₁ · v₋₂ with v̄₁ = 2.6955 and v₋₂ = 1 exactly: the student's own numbers give 2.6955 too, and the
    right one is 2.695493; a row 0.0001 or more away is rounded too early, not right."""
    assert abs(float(new) - DF_DX2) > 5e-5
    row = _row(_grade(_swap(SUMMED, "v̄-1 = 2.6955", f"v̄-1 = {new}")), "v̄₋₁")
    assert row.verdict == "rounding" and "too early" in row.why


def test_a_row_right_from_the_students_own_rounded_numbers_is_correct():
    """v̄₋₂ = v̄₁ · v₋₁ = 2.6955 · 1.5 = 4.04325 from the rounded v̄₁: 4.0433 is right from it (the closed form's
    4.043239 rounds to 4.0432), and the legend says so."""
    report = _grade(_swap(SUMMED, "v̄-2 = 4.0432", "v̄-2 = 4.0433"))
    assert abs(4.0433 - DF_DX1) > 5e-5 and _row(report, "v̄₋₂").verdict == "correct" and report.all_right


def test_a_derivative_check_without_derivative_rows_finds_them_missing():
    report = _grade(VALUES, "reverse")
    missing = [r.symbol for r in report.rows if r.verdict == "missing"]
    assert len(missing) == 9 and "v̄₋₁" in missing and not report.all_right and report.score == (6, 15)
    assert any("adjoint rows of a reverse-mode check are missing" in n for n in report.notes)
    forward = _grade(VALUES, "forward")
    assert sum(r.verdict == "missing" for r in forward.rows) == 9 and not forward.all_right


def test_value_mode_grades_the_values_alone():
    report = _grade(SUMMED, "value")
    assert report.all_right and report.score == (6, 6) and {r.slot[0] for r in report.rows} == {"v"}
    assert "9 derivative rows not graded (value mode)" in report.notes
    wrong = _grade(_swap(SUMMED, "v2 = 0.9093", "v2 = 0.9000"), "value")
    assert _row(wrong, "v₂").verdict == "wrong value" and not wrong.all_right


def test_a_table_of_the_other_mode_is_not_taken_for_another_function():
    report = _grade(STEPS, "forward")  # 11 adjoint rows, more than the 9 values
    assert report.unknown and all("reverse" not in r.why or "forward mode" in r.why for r in report.unknown)
    assert not any("another function" in n for n in report.notes)
    assert any("another function" in n for n in _grade("a1 = 1\nb2 = 2\nc3 = 3\n").notes)


@needs_pdflatex
def test_the_latex_feedback_compiles_with_pdflatex(tmp_path):
    """Every verdict's feedback, symbols and all, in a plain article with the packages its first line names."""
    texts = [feedback.latex(_grade(text, mode)) for text, mode, *_ in MISTAKES]
    assert all(t.splitlines()[0].endswith("\\usepackage{booktabs,amsmath,amssymb}") for t in texts)
    tables = ["\n".join(line for line in t.splitlines() if not line.startswith("%")) for t in texts]
    assert not any(c in t for t in tables for c in "₋̄∂−") and "\\bar{v}_{-1}" in tables[0]
    log = pdflatex_log(tmp_path, texts)
    assert "Missing character" not in log and "Overfull" not in log, log[-2000:]


@pytest.mark.parametrize("name, text, words", [
    ("long.csv", "i,v,vbar\n-2," + "1" * 200_000 + ",1\n", "line 2: not CSV that can be read"),
    ("deep.tex", "\\begin{tabular}{ll}\nv_1 & " + "{" * 5000 + "1" + "}" * 5000 + " \\\\\n\\end{tabular}\n",
     "nested too deep"),
    ("deep.txt", "W1.d = \\begin{bmatrix}" + "{" * 3000 + "1" + "}" * 3000 + "\\end{bmatrix}\n", "nested too deep"),
])
def test_answer_files_past_the_readers_own_limits_are_one_line(cli, tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    ran = cli("check", "eq2.yaml", "--wrt", "x2", path)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and words in ran.stderr, ran.stderr[-500:]


@needs_pdflatex
@pytest.mark.parametrize("label", ["\\sigma_{1}", "h^{(1)}_{2}", "\\hat{x}", "\\mathbf{W}_{1}", "\\varepsilon", "x_{i,j}"])
def test_the_latex_feedback_writes_each_label_as_the_spec_does(tmp_path, label):
    """The row names are the spec's own LaTeX (not its terminal text read back): any label a spec may hold compiles."""
    doc = yaml.safe_load(open("graphs/eq2.yaml", encoding="utf-8"))
    next(n for n in doc["nodes"] if n["name"] == "v2")["label"] = label
    trace = from_dict(doc).trace(wrt="x2", mode="reverse")
    tex = feedback.latex(check.check(trace, answers.parse(SUMMED.replace("v2 = ", "vx = "), "a.txt")))
    assert f"${label}$" in tex
    log = pdflatex_log(tmp_path, [tex])
    assert "Missing character" not in log and "not set up" not in log, log[-2000:]


def test_a_row_with_too_few_decimals_after_a_wrong_one_is_not_carried():
    """v₁ written 2.5 (wrong); v₃ = exp(2.5) = 12.1825 written as 12 is within ±0.5 of it, and of most numbers
    near it: no credit for the method, but rounding (give 4 decimals), as a right row with too few decimals."""
    text = _swap(_swap(VALUES, "v1 = 1.5000", "v1 = 2.5000"), "v3 = 4.4817", "v3 = 12")
    row = _row(_grade(text, "value"), "v₃")
    assert row.verdict == "rounding" and "give 4" in row.why and "12.1825" in row.why, row.why
    carried = _row(_grade(_swap(text, "v3 = 12", f"v3 = {math.exp(2.5):.4f}"), "value"), "v₃")
    assert carried.verdict == "carried"


# ---- found by an instructor's review -----------------------------------------------------------------------------


def test_the_footer_gives_the_rounding_of_the_digits_asked(cli, tmp_path):
    rows = [ln.split(" = ") for ln in SUMMED.replace("−", "-").splitlines()]
    path = _bad(tmp_path, "d2.txt", "".join(f"{name} = {float(x):.2f}\n" for name, x in rows))
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--digits", "2", path, env={"COLUMNS": "300"})
    assert "(2 decimals: ±0.005)" in ran.stdout and "4 decimals" not in ran.stdout, ran.stdout
    report = _grade(SUMMED, digits=0)
    assert "(0 decimals: ±0.5)" in feedback.render(report, "markdown")


def test_a_pdf_submission_is_one_line_asking_for_the_source(cli, tmp_path):
    path = _bad(tmp_path, "sub.pdf", b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 5 >>\nstream\n\0\0\0\n")
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--mode", "reverse", path)
    assert ran.status == 2 and ran.stdout == "" and ran.stderr.count("\n") == 1, ran.stderr
    assert "a PDF is not read" in ran.stderr and ".tex, .md or .csv" in ran.stderr and "NUL" not in ran.stderr


def test_a_number_without_its_trailing_zero_is_right():
    """At (1, 0.5, 2), v̄₁ = 1.27901: 1.279 is 1.2790 with its last zero left out; 1.28 is still too few digits."""
    trace = load("graphs/eq2.yaml").trace(at={"x1": 1, "x2": 0.5, "x3": 2}, wrt="x2", mode="reverse")
    assert f"{trace['v1'].d:.4f}" == "1.2790"
    row = _row(check.check(trace, answers.parse("v̄1 = 1.279\n")), "v̄₁")
    assert row.verdict == "correct", (row.verdict, row.why)
    row = _row(check.check(trace, answers.parse("v̄1 = 1.28\n")), "v̄₁")
    assert row.verdict == "rounding" and "right to 2 decimals" in row.why, (row.verdict, row.why)
    row = _row(check.check(trace, answers.parse("v̄1 = 1.2791\n")), "v̄₁")
    assert row.verdict != "correct"


SEMICOLONS = CSV_NAMES.replace(",", ";").replace(".", ",")  # Excel's CSV where the decimal mark is a comma


def test_a_semicolon_csv_with_decimal_commas_is_read():
    assert SEMICOLONS.startswith("node;value;derivative") and "1,5000" in SEMICOLONS
    report = _grade(SEMICOLONS, name="answers.csv")
    assert report.all_right, [(r.symbol, r.verdict, r.why) for r in report.rows if r.verdict != "correct"]
    assert _grade(SEMICOLONS, name="answers.txt").all_right  # told from its header, without the extension
    assert _grade(CSV_NAMES.replace(",", "\t"), name="answers.csv").all_right


@pytest.mark.parametrize("fmt, suffix", [("latex", "tex"), ("markdown", "md"), ("csv", "csv")])
@pytest.mark.parametrize("wrt", ["x1", "x2"])
def test_a_forward_trace_of_several_seeds_reads_back_as_right_column_by_column(cli, tmp_path, fmt, suffix, wrt):
    """trace --wrt x1,x2 writes a tangent column per seed (tangent:x1 rows in CSV, ∂/∂x₁ columns in Markdown and
    LaTeX): --wrt x2 grades x2's column, not x1's, and leaves the other out with a note."""
    out = tmp_path / f"two.{suffix}"
    out.write_text(cli("trace", "eq2.yaml", "--wrt", "x1,x2", "--mode", "forward", "--format", fmt).stdout,
                   encoding="utf-8")
    ran = cli("check", "eq2.yaml", "--wrt", wrt, "--mode", "forward", out, "--format", "json")
    assert ran.status == 0, ran.stdout + ran.stderr
    assert ran.stdout.count('"verdict": "correct"') == 18 and '"unknown_count": 0' in ran.stdout
    other = "x2" if wrt == "x1" else "x1"
    assert f"9 rows of the tangent column seeded at {other} not graded" in ran.stdout


def test_a_forward_check_of_several_seeds_at_once_is_one_line_asking_for_one_wrt_per_column(cli, tmp_path):
    out = tmp_path / "two.csv"
    out.write_text(cli("trace", "eq2.yaml", "--wrt", "x1,x2", "--mode", "forward", "--format", "csv").stdout,
                   encoding="utf-8")
    ran = cli("check", "eq2.yaml", "--wrt", "x1,x2", "--mode", "forward", out)
    assert ran.status == 2 and ran.stdout == "" and ran.stderr.count("\n") == 1, ran.stderr
    assert "give one --wrt per column (--wrt x1, then --wrt x2)" in ran.stderr


def test_a_plain_line_with_a_decimal_comma_says_so_on_its_row():
    report = _grade(_swap(SUMMED, "v2 = 0.9093", "v2 = 0,9093"))
    row = _row(report, "v₂")
    assert row.verdict == "not read" and "decimal comma" in row.why and "0.9093" in row.why, (row.verdict, row.why)
    assert row.entry.text == "0,9093" and not report.all_right
    assert _row(report, "v̄₂").verdict == "correct"  # the rows after it are graded from the right v₂


def test_contributions_added_in_another_order_say_so():
    """v̄₀ gets v̄₆ ∂v₆/∂v₀ = −v₆/v₀ · 1 first, then v̄₂ cos v₀; a student who adds v̄₂'s term first writes
    v̄₂ cos v₀ = 0.75 cos 2 for the first partial sum: wrong for the slides, and said to be the order."""
    first = 0.75 * math.cos(X3)
    report = _grade(_swap(STEPS, "\\bar v_{0} = -1.4614", f"\\bar v_{{0}} = {first:.4f}"), "reverse")
    row = next(r for r in report.rows if r.slot[0] == "s" and r.symbol == "v̄₀")
    assert row.verdict == "wrong value" and "in another order" in row.why and "v̄₆'s first" in row.why, row.why
    assert "-1.4614" in row.why  # the number the slides' order gives


def _eq2_answers(cli, tmp_path):
    """eq2's right reverse-mode answers, as trace writes them in CSV."""
    path = tmp_path / "answers.csv"
    assert cli("trace", "eq2.yaml", "--wrt", "x2", "--mode", "reverse", "--format", "csv", "-o", path).status == 0
    return path


@pytest.mark.parametrize("name, text, variable", [
    ("wide.csv", "1," * 3000 + "\n", "GRAPHCOMP_MAX_ANSWER_ENTRIES"),
    ("wide.txt", "W1.d = [" + ", ".join(["1.0"] * 3000) + "]\n", "GRAPHCOMP_MAX_ANSWER_ENTRIES"),
    ("wide.tex", "\\begin{tabular}{ll}\nv1 " + "& 1 " * 3000 + "\\\\\n\\end{tabular}\n",
     "GRAPHCOMP_MAX_MARKUP_ENTRIES"),
    ("wide.md", "| a | b |\n|---|---|\n| v1 " + "| 1 " * 3000 + "|\n", "GRAPHCOMP_MAX_MARKUP_ENTRIES"),
])
def test_an_answer_file_of_more_entries_than_the_limit_is_refused_before_it_is_parsed(cli, tmp_path, name, text,
                                                                                      variable):
    path = tmp_path / name
    path.write_text(text)
    ran = cli("check", "eq2.yaml", "--wrt", "x2", path, env={variable: "2000"})
    assert ran.status == 2 and ran.stderr.count("\n") == 1, ran.stderr[-500:]
    assert "more than 2,000 entries" in ran.stderr and variable in ran.stderr and name in ran.stderr


def test_the_entries_are_counted_on_the_raw_lines_up_to_the_limit_only(monkeypatch):
    """The count stops one past the limit: a line of millions of fields costs no more than the limit's counting."""
    monkeypatch.setenv("GRAPHCOMP_MAX_ANSWER_ENTRIES", "10")
    out = answers.Answers("a.csv", "csv", None)
    seen = []
    lines = answers._counted(iter(["a,b\n", "1," * 10**6 + "\n", "never read\n"]), out)
    with pytest.raises(GraphcompError, match="line 2: more than 10 entries"):
        seen.extend(lines)
    assert seen == ["a,b\n"]


def test_a_streamed_answer_file_is_counted_line_by_line(cli, tmp_path):
    """CSV and name = number lines are read as a stream: the limit bounds a line (a 10⁶-row trace passes)."""
    path = _eq2_answers(cli, tmp_path)  # 20 rows of 6 fields: 100 and more separators in all, under 20 a row
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--mode", "reverse", path, env={"GRAPHCOMP_MAX_ANSWER_ENTRIES": "20"})
    assert ran.status == 0, ran.stderr


def test_the_default_entry_limits_pass_a_tensor_trace(cli, tmp_path):
    """Fig. 1 with 256 data points, all its .v and .d written out in CSV, is far within the default."""
    spec = tmp_path / "fig256.yaml"
    spec.write_text((ROOT / "graphs" / "fig1_batch.yaml").read_text().replace("[2, 16]", "[2, 256]"))
    path = tmp_path / "fig256.csv"
    assert cli("trace", spec, "--mode", "reverse", "--format", "csv", "-o", path).status == 0
    assert cli("check", spec, "--mode", "reverse", path).status == 0


def test_a_csv_first_line_of_far_more_fields_than_a_header_has_is_refused_at_once(cli, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("node," * 99 + "value\nv1,1.5\n")
    ran = cli("check", "eq2.yaml", "--wrt", "x2", path)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "line 1: 100 fields" in ran.stderr, ran.stderr


@pytest.mark.parametrize("link", [False, True])
def test_the_feedback_is_not_written_over_the_answer_file(cli, tmp_path, link):
    path = _eq2_answers(cli, tmp_path)
    before = path.read_bytes()
    out = path
    if link:
        out = tmp_path / "link.csv"
        out.symlink_to(path.name)
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--mode", "reverse", path, "-o", out)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "overwrite the submission" in ran.stderr, ran.stderr
    assert path.read_bytes() == before


def test_old_mac_line_ends_are_line_ends(cli, tmp_path):
    path = _eq2_answers(cli, tmp_path)
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--mode", "reverse", path)
    assert ran.status == 0, ran.stderr


def test_a_utf16_file_is_said_to_be_utf16(cli, tmp_path):
    path = _eq2_answers(cli, tmp_path)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--mode", "reverse", path)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "UTF-16" in ran.stderr and "UTF-8" in ran.stderr


def test_the_tools_own_json_is_one_line_asking_for_a_table(cli, tmp_path):
    """trace --format json is for programs; handed to check it is refused in one line, not read line by line."""
    path = tmp_path / "mine.json"
    assert cli("trace", "eq2.yaml", "--wrt", "x2", "--format", "json", "-o", path).status == 0
    ran = cli("check", "eq2.yaml", "--wrt", "x2", "--mode", "reverse", path)
    assert ran.status == 2 and ran.stdout == "" and ran.stderr.count("\n") == 1, ran.stderr
    assert "JSON is not read" in ran.stderr and "--format csv" in ran.stderr


def test_the_adjoint_names_that_code_writes_are_read():
    """`graphcomp code` names the adjoints x2_bar, v1_bar: a student's lines in those names grade as v̄'s."""
    names = {"6": "v6", "5": "v5", "4": "v4", "3": "v3", "2": "v2", "1": "v1", "0": "x3", "-2": "x1", "-1": "x2"}
    text = VALUES + "".join(f"{names[k]}_bar = {x}\n" for k, x in re.findall(r"v̄(-?\d) = (\S+)", SUMMED))
    assert text.count("_bar") == 9
    report = _grade(text)
    assert report.all_right and sum(r.symbol.startswith("v̄") for r in report.rows) == 9
