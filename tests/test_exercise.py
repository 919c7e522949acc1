"""graphcomp exercise: seeded variants per student, their sheets and answer keys, read back by check."""
import csv
import hashlib
import shutil
import subprocess

import pytest

import graphcomp
from graphcomp.frontends import answers
from graphcomp.frontends.spec import load
from graphcomp.problems.check import check
from graphcomp.render import sheet
from graphcomp.render.text import tex_to_text

EQ2 = "(x1*x2*sin(x3) + exp(x1*x2))/x3"
GRAPHS = [("eq2.yaml",), ("--expr", EQ2, "--at", "x1=1,x2=1.5,x3=2"),
          ("--expr", "sqrt(x*x + 1)*exp(-y/2) - log(x) + (x - y)*sin(x)", "--at", "x=1,y=2"),
          ("--inputs", "2", "--ops", "6", "--ops-from", "mul,add,sub,sin,cos,exp,div,log,sqrt")]


def _files(folder):
    """{relative path: bytes} of every file below `folder`."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _index(folder):
    with open(folder / "index.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _exercise(cli, folder, *args, extras=False):
    """Run exercise into `folder` (without drawings and PDFs unless `extras`); the rows of its index."""
    r = cli("exercise", *args, *(() if extras else ("--no-draw", "--no-pdf")), "-o", str(folder))
    assert r.status == 0 and not r.stderr, r.stderr
    return _index(folder)


@pytest.mark.parametrize("graph", GRAPHS, ids=["eq2.yaml", "eq2-expr", "two-inputs-expr", "random"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_every_key_checks_as_all_right_in_every_format(cli, tmp_path, graph, mode):
    out = tmp_path / "out"
    rows = _exercise(cli, out, *graph, "--seed", "11", "--count", "3", "--mode", mode)
    assert [r["student"] for r in rows] == ["student01", "student02", "student03"]
    for row in rows:
        name = row["student"]
        with open(out / "keys" / f"{name}.csv", newline="", encoding="utf-8") as fh:  # the key as plain lines
            lines = "".join(f"{r['symbol']} = {r['value']}\n" for r in csv.DictReader(fh))
        (out / "keys" / f"{name}.txt").write_text(lines, encoding="utf-8")
        for key in (f"keys/{name}.csv", f"keys/{name}.md", f"keys/{name}.tex", f"keys/{name}.txt"):
            wrt = row["check"].split("--wrt ")[1].split()[0]
            r = cli("check", row["key"], "--wrt", wrt, "--mode", mode, key, cwd=out)
            assert r.status == 0, (key, r.stdout)
            right, total = r.stdout.split(" rows right")[0].split()[-3::2]
            assert right == total and int(total) > 5


@pytest.mark.parametrize("graph", [GRAPHS[0], GRAPHS[3]], ids=["eq2.yaml", "random"])
def test_mode_both_gives_a_forward_and_a_reverse_table_each_with_its_key(cli, tmp_path, graph):
    args = (*graph, "--seed", "6", "--count", "2", "--mode", "both", "--wrt", "x2")
    rows = _exercise(cli, tmp_path / "a", *args)
    _exercise(cli, tmp_path / "b", *args)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    out = tmp_path / "a"
    for row in rows:
        name = row["student"]
        commands = row["check"].split(" ; ")
        assert [c.split("--mode ")[1].split()[0] for c in commands] == ["forward", "reverse"]
        md = (out / name / "exercise.md").read_text(encoding="utf-8")
        assert "**(a) Forward mode.**" in md and "**(b) Reverse mode.**" in md and md.count("$$") == 2
        for mode, command in zip(("forward", "reverse"), commands):
            blank = out / name / f"answers_{mode}.csv"
            assert command.split()[-1] == f"{name}/answers_{mode}.csv"
            assert cli(*command.split()[1:], cwd=out).status == 1  # the blank table: rows missing
            blank.write_bytes((out / "keys" / f"{name}_{mode}.csv").read_bytes())
            ran = cli(*command.split()[1:], cwd=out)
            assert ran.status == 0, ran.stdout
            assert ("v̇" in ran.stdout) == (mode == "forward") and ("v̄" in ran.stdout) == (mode == "reverse")
        for key in (f"keys/{name}.md", f"keys/{name}.tex"):  # the key holds both tables, every number right
            for mode in ("forward", "reverse"):
                ran = cli("check", row["key"], "--wrt", "x2", "--mode", mode, key, cwd=out)
                assert "wrong" not in ran.stdout and "missing" not in ran.stdout, ran.stdout


def test_the_index_gives_the_check_command_and_the_filled_sheet_passes_it(cli, tmp_path):
    rows = _exercise(cli, tmp_path, "eq2.yaml", "--seed", "5", "--count", "2", "--wrt", "x2")
    for row in rows:
        name = row["student"]
        blank = (tmp_path / name / "answers.csv").read_text(encoding="utf-8").splitlines()
        key = (tmp_path / "keys" / f"{name}.csv").read_text(encoding="utf-8").splitlines()
        assert [b.rsplit(",", 1)[0] for b in blank] == [k.rsplit(",", 1)[0] for k in key]  # the same rows
        filled = [b if b.split(",")[0] == "primal" and not b.endswith(",") else k for b, k in zip(blank, key)]
        (tmp_path / name / "answers.csv").write_text("\n".join(filled) + "\n", encoding="utf-8")
        command = row["check"].split()
        assert command[:2] == ["graphcomp", "check"]
        assert cli(*command[1:], cwd=tmp_path).status == 0


def test_a_blank_sheet_gives_the_inputs_and_no_other_number(cli, tmp_path):
    roster = _roster(tmp_path, "alice\n")
    tmp_path = tmp_path / "out"  # a new folder: exercise refuses one that is not empty (the roster's)
    _exercise(cli, tmp_path, "eq2.yaml", "--seed", "5", "--students", roster)
    g = load(str(tmp_path / "keys" / "alice.yaml"))
    with open(tmp_path / "alice" / "answers.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    given = {r["node"]: float(r["value"]) for r in rows if r["value"]}
    assert given == {g.nodes[i].name: g.nodes[i].value for i in g.inputs}
    assert all(r["trace"] == "primal" for r in rows if r["value"])
    md = (tmp_path / "alice" / "exercise.md").read_text(encoding="utf-8")
    assert md.count(sheet.BLANK_MD) == len(rows) - len(given)
    assert sheet.function_tex(g) in md
    r = cli("check", "keys/alice.yaml", "--wrt", "x1", "alice/answers.csv", cwd=tmp_path)
    assert r.status == 1 and "missing" in r.stdout  # a blank sheet is not a right one
    # and scores 0: the inputs' values it gives are graded but not scored
    assert "score 0/15 (the 3 inputs' values, given, not scored)" in " ".join(r.stdout.split()), r.stdout  # of 18


def test_variants_differ_and_each_follows_its_own_seed(cli, tmp_path):
    a = _exercise(cli, tmp_path / "a", "eq2.yaml", "--seed", "7", "--students", _roster(tmp_path, "alice\nbob\ncarol\n"))
    assert len({r["point"] for r in a}) == 3
    keys = [(tmp_path / "a" / "keys" / f"{r['student']}.csv").read_bytes() for r in a]
    assert len(set(keys)) == 3
    for r in a:  # the documented derivation: sha256 of "BASE/NAME", its first 8 bytes
        assert int(r["seed"]) == int.from_bytes(hashlib.sha256(f"7/{r['student']}".encode()).digest()[:8], "big")
    b = _exercise(cli, tmp_path / "b", "eq2.yaml", "--seed", "7", "--roster", _roster(tmp_path, "bob\n"))
    assert b[0]["point"] == a[1]["point"]  # a student's variant does not depend on who else is on the roster
    c = _exercise(cli, tmp_path / "c", "eq2.yaml", "--seed", "8", "--students", _roster(tmp_path, "bob\n"))
    assert c[0]["point"] != b[0]["point"]


def test_the_same_command_gives_byte_identical_files(cli, tmp_path):
    args = ("--expr", EQ2, "--at", "x1=1,x2=1.5,x3=2", "--seed", "3", "--count", "4", "--mode", "forward")
    _exercise(cli, tmp_path / "one", *args)
    _exercise(cli, tmp_path / "two", *args)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(one) == 1 + 4 * 7 and one == two


def test_no_drawn_input_is_0_or_1_where_a_dropped_factor_would_go_unseen(cli, tmp_path):
    """At x1 = 1 or x3 = 1 a trace that drops the factor v₋₂ or 1/v₀ is still right: no variant gets such a point
    (the roster the review found: alice had x1 = 1, x3 = 1 at seed 7)."""
    roster = _roster(tmp_path, "".join(f"s{k}\n" for k in range(40)) + "alice\nbob\n")
    rows = _exercise(cli, tmp_path / "out", "eq2.yaml", "--seed", "7", "--students", roster)
    values = [float(v) for r in rows for v in (p.split("=")[1] for p in r["point"].split(","))]
    assert len(values) == 3 * 42 and not {abs(v) for v in values} & {0.0, 1.0}


def test_drawn_points_stay_in_every_ops_domain(cli, tmp_path):
    rows = _exercise(cli, tmp_path, "--expr", "log(x - 1) + sqrt(y)/x", "--at", "x=1.2,y=0.1", "--seed", "1",
                     "--count", "20", "--decimals", "2")
    for r in rows:
        point = dict(p.split("=") for p in r["point"].split(","))
        assert float(point["x"]) > 1 and float(point["y"]) >= 0


def test_without_a_spec_each_student_gets_a_random_function_with_fan_out(cli, tmp_path):
    rows = _exercise(cli, tmp_path / "a", "--seed", "9", "--count", "5", "--inputs", "3", "--ops", "7")
    again = _exercise(cli, tmp_path / "b", "--seed", "9", "--count", "5", "--inputs", "3", "--ops", "7")
    assert rows == again and _files(tmp_path / "a") == _files(tmp_path / "b")
    functions = set()
    for row in rows:
        g = load(str(tmp_path / "a" / row["key"]))
        assert g.input_names == ["x1", "x2", "x3"] and len(g.nodes) == 3 + 7
        assert {n.op for n in g.nodes if n.op} <= {"mul", "add", "sin", "exp", "div", "log"}
        assert all(g.reaches[i] for i in range(len(g.nodes)))  # every input and node counts towards f
        assert any(len({j for j, _ in users}) >= 2 for users in g.users)  # a node that feeds two others
        functions.add(sheet.function_tex(g))
        assert cli("check", row["key"], "--wrt", "x1", f"keys/{row['student']}.csv", cwd=tmp_path / "a").status == 0
    assert len(functions) == 5


def test_the_function_is_typeset_from_the_graph():
    assert sheet.function_tex(load("graphs/eq2.yaml")) == (
        "f(x_{1}, x_{2}, x_{3}) = \\frac{x_{1} x_{2} \\sin x_{3} + e^{x_{1} x_{2}}}{x_{3}}")


def test_a_formula_too_long_for_a_line_is_stated_by_its_trace():
    short = graphcomp.parse_expr("+".join(["sin(x)*y"] * 10), at={"x": 1.0, "y": 2.0})  # 217 characters: it fits
    assert sheet.statement_tex(short) == sheet.function_tex(short)
    long = graphcomp.parse_expr("+".join(["sin(x)*y"] * 12), at={"x": 1.0, "y": 2.0})  # 259: wider than a line
    out = long.nodes[long.output].label
    assert sheet.statement_tex(long) == f"f(x, y) = {out}\\text{{, as the rules of the evaluation trace below define it}}"


def _roster(folder, text, name="roster.txt"):
    path = folder / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


REFUSED_NAMES = [  # a roster's text, and what the message says
    ("alice\nanna maria\n", "line 2: 'anna maria' is not a usable student name: it has a space; write anna_maria"),
    ("a/b\n", "'/' may not be in it (a name is a folder name: letters and digits (of any script) and . _ @ + -, "
     "starting with a letter or digit and not ending with '.', at most 64"),
    ("a\\b\n", "'\\\\' may not be in it"),
    ("a\x07b\n", "'\\x07' may not be in it"),
    ("..\n", "starting with a letter or digit"),
    ("-rf\n", "starting with a letter or digit"),
    ("anna.\n", "not ending with '.'"),
    ("x" * 65 + "\n", "too long"),
    ("CON\n", "CON is a device name on Windows, where no folder can be called CON; write CON_"),
    ("nul.txt\n", "nul is a device name on Windows"),
    ("Com1\n", "Com1 is a device name on Windows"),
    ("LPT9\n", "LPT9 is a device name on Windows"),
    ("aux\n", "aux is a device name on Windows"),
]


@pytest.mark.parametrize("make_args, says", [
    (lambda d: ["--students", str(d / "nobody.txt")], "cannot read"),
    (lambda d: ["--students", str(d)], "directory"),
    (lambda d: ["--students", _roster(d, b"\xff\xfe\x00bad")], "UTF-8"),
    (lambda d: ["--students", _roster(d, "alice\nbob smith\n")], "line 2"),
    (lambda d: ["--students", _roster(d, "alice\nalice\n")], "twice"),
    (lambda d: ["--students", _roster(d, "# nobody\n\n")], "names no student"),
    (lambda d: ["--students", _roster(d, "keys\n")], "not a usable student name"),
    *[(lambda d, text=text: ["--students", _roster(d, text)], says) for text, says in REFUSED_NAMES],
    (lambda d: ["--count", "0"], "--count"),
    (lambda d: ["--count", "two"], "whole number"),
    (lambda d: ["--seed", "-1"], "--seed"),
    (lambda d: ["--seed", "1.5"], "whole number"),
    (lambda d: ["--wrt", "x9"], "not an input"),
    (lambda d: ["--at", "x9=1"], "not an input"),
    (lambda d: ["--decimals", "7"], "--decimals"),
])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, make_args, says):
    args = make_args(tmp_path)
    seed = [] if "--seed" in args else ["--seed", "1"]
    r = cli("exercise", "eq2.yaml", *seed, *args, "-o", str(tmp_path / "out"))
    assert r.status == 2 and says in r.stderr, r.stderr
    assert r.stderr.startswith("graphcomp: error:") and r.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, says", [
    (["eq2.yaml", "--seed", "1", "-o", "{file}"], "must name a folder"),
    (["eq2.yaml", "-o", "{dir}"], "--seed"),
    (["eq2.yaml", "--seed", "1"], "-o DIR"),
    (["fig1.yaml", "--seed", "1", "-o", "{dir}"], "scalar graphs"),
    (["--expr", "log(x)", "--at", "x=-5", "--seed", "1", "-o", "{dir}"], "domain"),
    (["--seed", "1", "--ops-from", "mul,matmul", "-o", "{dir}"], "cannot go in a random function"),
    (["--seed", "1", "--ops-from", "mul,nope", "-o", "{dir}"], "nope"),
    (["--seed", "1", "--ops-from", "sin,exp", "-o", "{dir}"], "need an op of two arguments"),
    (["--seed", "1", "--inputs", "9", "-o", "{dir}"], "at most 6 inputs"),
    (["--seed", "1", "--ops", "0", "-o", "{dir}"], "--ops"),
    (["--seed", "1", "--ops", "1", "-o", "{dir}"], "give more --ops"),
])
def test_bad_output_seed_or_graph_is_one_line_and_exit_2(cli, tmp_path, args, says):
    (tmp_path / "file.txt").write_text("keep me")
    args = [a.format(file=tmp_path / "file.txt", dir=tmp_path / "out") for a in args]
    r = cli("exercise", *args)
    assert r.status == 2 and says in r.stderr, r.stderr
    assert r.stderr.startswith("graphcomp: error:") and r.stderr.count("\n") == 1
    assert (tmp_path / "file.txt").read_text() == "keep me" and not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("dot") is None,
                    reason="needs pdflatex and Graphviz")
def test_drawings_and_pdfs_where_graphviz_and_pdflatex_are_installed(cli, tmp_path):
    args = ("--seed", "4", "--count", "2", "--inputs", "2", "--ops", "5")
    _exercise(cli, tmp_path / "a", *args, extras=True)
    _exercise(cli, tmp_path / "b", *args, extras=True)
    a = _files(tmp_path / "a")
    for name in ("student01", "student02"):
        assert a[f"{name}/graph.png"].startswith(b"\x89PNG")
        for pdf in (f"{name}/graph.pdf", f"{name}/exercise.pdf", f"keys/{name}.pdf"):
            assert a[pdf].startswith(b"%PDF")
    assert a["student01/graph.png"] != a["student02/graph.png"]  # a random function each
    assert a == _files(tmp_path / "b")  # the PDFs too


def test_without_graphviz_and_pdflatex_the_text_files_are_written_and_it_says_so(cli, tmp_path):
    r = cli("exercise", "eq2.yaml", "--seed", "1", "-o", str(tmp_path), env={"PATH": str(tmp_path / "nothing")})
    assert r.status == 0 and not r.stderr
    assert "no drawings: Graphviz's 'dot' is not on PATH" in r.stdout and "no PDFs: pdflatex" in r.stdout
    assert sorted(_files(tmp_path)) == ["index.csv", "keys/student01.csv", "keys/student01.md", "keys/student01.tex",
                                        "keys/student01.yaml", "student01/answers.csv", "student01/exercise.md",
                                        "student01/exercise.tex"]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("mode", ["reverse", "forward", "both"])
@pytest.mark.parametrize("spec", [("eq2.yaml",), ("--expr", "sin(" * 70 + "x" + ")" * 70)], ids=["eq2", "taller"])
def test_sheet_and_key_compile_without_an_overfull_box(cli, tmp_path, mode, spec):
    """Also a function of 71 nodes: its tables, taller than a page, go on in tables "(continued)", and its formula,
    70 nested sines wider than the page, is stated as the output of the evaluation trace."""
    roster = _roster(tmp_path, "a_b\n")
    tmp_path = tmp_path / "out"  # a new folder: exercise refuses one that is not empty (the roster's)
    _exercise(cli, tmp_path, *spec, "--seed", "2", "--mode", mode, "--students", roster)
    doc = ("\\documentclass[10pt]{article}\n\\usepackage[margin=1in]{geometry}\n\\usepackage{booktabs,amsmath,amssymb}\n"
           "\\begin{document}\n\\input{a_b/exercise.tex}\n\\input{keys/a_b.tex}\n\\end{document}\n")
    (tmp_path / "all.tex").write_text(doc)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "all.tex"], cwd=tmp_path,
                          capture_output=True, text=True, errors="replace", timeout=180)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Overfull" not in done.stdout and "too high" not in done.stdout, done.stdout[-3000:]


def _carried_adjoints(t, change=None, drop=None, partial=None):
    """The adjoints a student computes who makes one mistake and carries it on: `change` (node, f) writes f(v̄)
    for that node's adjoint; `drop` (i, j) leaves out the term through the edge from node j to node i; `partial`
    ((i, j), f) uses f(values) for ∂vᵢ/∂vⱼ. Names are the spec's."""
    g = t.graph
    name = [n.name for n in g.nodes]
    bar, final = {g.output: 1.0}, set()

    def settle(i):
        if i not in final:
            final.add(i)
            if change and name[i] == change[0]:
                bar[i] = change[1](bar[i])

    for i, k, j, *_ in t.contributions:
        settle(i)
        if drop == (name[i], name[j]):
            continue
        p = t.partials[(i, k)]
        if partial and partial[0] == (name[i], name[j]):
            p = partial[1]({n: t.values[m] for m, n in enumerate(name)})
        bar[j] = bar.get(j, 0.0) + bar[i] * p
    for i in g.inputs:
        settle(i)
    return {name[i]: x for i, x in bar.items()}


MUTATIONS = [  # (what the student does, the row it lands on, its verdict)
    ({"change": ("v5", lambda x: -x)}, "v5", "sign"),
    ({"drop": ("v3", "v1")}, "v1", "missing contribution"),  # the common one: v̄₁ without the term through v₃
    ({"partial": (("v6", "x3"), lambda v: -v["v6"] * v["x3"])}, "x3", "wrong local partial"),
    ({"change": ("v4", lambda x: x + 0.25)}, "v4", "wrong value"),
    ({"digits": ("v1", 2)}, "v1", "rounding"),  # v̄₁ = (sin x₃ + e^(x₁x₂))/x₃ is never 2 decimals exactly
]


@pytest.mark.parametrize("seed", ["1", "2", "3"])
@pytest.mark.parametrize("mistake, node, verdict", MUTATIONS, ids=[m[2] for m in MUTATIONS])
def test_a_key_with_one_mistake_gets_that_verdict_and_carried_after_it(cli, tmp_path, seed, mistake, node, verdict):
    """A generated key with one row wrong, the student's later rows computed from it: that verdict on that row
    (marked as the place to look), carried on every later row whose number the mistake changed, correct elsewhere."""
    roster = _roster(tmp_path, "alice\n")
    tmp_path = tmp_path / "out"  # a new folder: exercise refuses one that is not empty (the roster's)
    _exercise(cli, tmp_path, "eq2.yaml", "--seed", seed, "--students", roster)
    t = load(str(tmp_path / "keys" / "alice.yaml")).trace(wrt="x2", mode="reverse")
    truth = _carried_adjoints(t)
    assert truth == pytest.approx({n.name: x for n, x in zip(t.graph.nodes, t.adjoints)})
    mistake = dict(mistake)  # the parameters are shared by every seed
    digits = mistake.pop("digits", (None, 4))
    wrong = _carried_adjoints(t, **mistake)
    places = {n: digits[1] if n == digits[0] else 4 for n in truth}
    text = "node,value,derivative\n" + "".join(
        f"{n.name},{t.values[i]:.4f},{wrong[n.name]:.{places[n.name]}f}\n" for i, n in enumerate(t.graph.nodes))
    report = check(t, answers.parse(text, fmt="csv"))
    by_node = {t.graph.nodes[r.slot[1]].name: r for r in report.rows if r.slot[0] == "a"}
    assert (by_node[node].verdict, by_node[node].first) == (verdict, True), by_node[node].why
    for name, row in by_node.items():
        if name != node:
            changed = f"{wrong[name]:.4f}" != f"{truth[name]:.4f}"
            assert row.verdict == ("carried" if changed else "correct"), (name, row.why)
    assert all(r.verdict == "correct" for r in report.rows if r.slot[0] == "v")


def test_a_roster_past_the_cap_or_with_names_equal_but_for_case_is_one_line(cli, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("".join(f"s{k}\n" for k in range(10_001)))
    ran = cli("exercise", "eq2.yaml", "--seed", "1", "--students", roster, "--wrt", "x2", "-o", tmp_path / "a")
    assert ran.status == 2 and "line 10001: more than 10 000 students" in ran.stderr and not (tmp_path / "a").exists()
    roster.write_text("Alice\nalice\n")
    ran = cli("exercise", "eq2.yaml", "--seed", "1", "--students", roster, "--wrt", "x2", "-o", tmp_path / "b")
    assert ran.status == 2 and "'alice' is listed twice" in ran.stderr and not (tmp_path / "b").exists()


def test_running_out_of_distinct_points_says_so(cli, tmp_path):
    """At 0 decimals around (3, 1.5, 2) six points exist ({2, 3, 4} × {2} × {2, 3}: no input 0 or 1): the 7th student
    finds none left. Around x1 = 1 none exists at all (x1 would be 0 or 1), and it says so."""
    ran = cli("exercise", "eq2.yaml", "--at", "x1=3", "--seed", "1", "--count", "200", "--decimals", "0", "--wrt",
              "x2", "--no-draw", "--no-pdf", "-o", tmp_path / "c")
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "no point left for another student" in ran.stderr
    assert "(6 so far)" in ran.stderr and "more --decimals" in ran.stderr and not (tmp_path / "c").exists()
    ran = cli("exercise", "eq2.yaml", "--seed", "1", "--count", "2", "--decimals", "0", "--wrt", "x2", "--no-draw",
              "--no-pdf", "-o", tmp_path / "d")
    assert ran.status == 2 and "without an input 0 or ±1" in ran.stderr and "more --decimals" in ran.stderr


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(cli, tmp_path):
    """A second run into the folder of a first would leave the first's PDFs, drawings and dropped students' keys
    beside the new files: it is one line, exit status 2, and nothing is written or removed."""
    out = tmp_path / "sheets"
    _exercise(cli, out, "eq2.yaml", "--seed", "7", "--students", _roster(tmp_path, "alice\nbob\n"), "--wrt", "x2")
    before = _files(out)
    ran = cli("exercise", "eq2.yaml", "--seed", "8", "--students", _roster(tmp_path, "alice\n", "r2.txt"), "--wrt",
              "x2", "--no-draw", "--no-pdf", "-o", out)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "the folder is not empty" in ran.stderr
    assert "give a new folder, or remove this one first" in ran.stderr
    assert _files(out) == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    ran = cli("exercise", "eq2.yaml", "--seed", "8", "--count", "1", "--no-draw", "--no-pdf", "-o", tmp_path / "other")
    assert ran.status == 2 and "not empty" in ran.stderr and _files(tmp_path / "other") == {"notes.txt": b"mine"}
    (tmp_path / "empty").mkdir()  # an empty folder that exists is fine
    assert _exercise(cli, tmp_path / "empty", "eq2.yaml", "--seed", "8", "--count", "1")[0]["student"] == "student01"


def test_a_roster_takes_names_in_any_script(cli, tmp_path):
    """Letters and digits of any script (str.isalnum), NFC-normalised: José typed as e + combining acute is José."""
    names = ["José", "Zoë", "Σωκράτης", "Żaneta_Ölçü", "李华", "Con_", "Console", "com10"]
    roster = _roster(tmp_path, "Jose\u0301\n" + "".join(f"{n}\n" for n in names[1:]))
    out = tmp_path / "out"
    rows = _exercise(cli, out, "eq2.yaml", "--seed", "3", "--students", roster, "--wrt", "x2")
    assert [r["student"] for r in rows] == names
    for row in rows:
        assert (out / row["student"] / "answers.csv").is_file() and (out / row["key"]).is_file()
        (out / row["student"] / "answers.csv").write_bytes((out / "keys" / f"{row['student']}.csv").read_bytes())
        assert cli(*row["check"].split()[1:], cwd=out).status == 0, row["check"]


def test_the_index_gives_each_point_as_at_takes_it(cli, tmp_path):
    """x1=0.8,x2=1.1,x3=1.4 (the csv module quotes it): pasted into --at, trace evaluates that student's key."""
    rows = _exercise(cli, tmp_path / "out", "eq2.yaml", "--seed", "7", "--count", "2", "--wrt", "x2")
    raw = (tmp_path / "out" / "index.csv").read_text(encoding="utf-8").splitlines()[1]
    assert f',"{rows[0]["point"]}",' in raw and ";" not in rows[0]["point"]
    for row in rows:
        g = load(str(tmp_path / "out" / row["key"]))
        assert row["point"] == ",".join(f"{n}={g.node(n).value:g}" for n in g.input_names)  # 1.5, 1 (not 1.0)
        same = cli("trace", "eq2.yaml", "--at", row["point"], "--wrt", "x2", "--format", "csv")
        key = cli("trace", row["key"], "--wrt", "x2", "--format", "csv", cwd=tmp_path / "out")
        assert same.status == key.status == 0 and same.stdout == key.stdout, same.stderr
    big = _exercise(cli, tmp_path / "big", "--expr", "sqrt(x)", "--at", "x=5000", "--decimals", "4", "--seed", "1",
                    "--count", "3")  # x = 6123.4567, say, which %g would give as 6123.46
    for row in big:
        x = load(str(tmp_path / "big" / row["key"])).node("x").value
        assert row["point"] == f"x={x!r}" and len(row["point"]) > len(f"x={x:g}")


@pytest.mark.parametrize("mode, derivative", [("reverse", "\\bar{v}_{-1}"), ("forward", "\\dot{v}_{6}")])
def test_the_task_names_the_rows_that_hold_f_and_its_derivative(mode, derivative):
    """The answers have no row for f or ∂f/∂x₂: the task says which rows they are, in the tables' own symbols."""
    t = load("graphs/eq2.yaml").trace(wrt="x2", mode=mode)
    said = sheet.task(t, "x2")
    assert "Then give" not in said
    assert "$f$ is the value of the output, $v_{6}$" in said and "partial x_{2}$ is the" in said
    assert f"${derivative}$" in said
    assert ("seed $\\dot{v}_{-1} = 1$" in said) == (mode == "forward")
    blank = sheet.blank_csv(t)
    for symbol in ("v₆", tex_to_text(derivative)):  # rows of the table to fill
        assert f",{symbol}," in blank
    plain = sheet.task(graphcomp.parse_expr("sin(x)*y", at={"x": 1.0, "y": 2.0}).trace(wrt="y", mode=mode), "y")
    assert ("$\\bar{v}_{0}$" if mode == "reverse" else "$\\dot{v}_{2}$") in plain, plain  # y is v₀
