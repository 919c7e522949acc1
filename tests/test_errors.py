"""Bad input through the CLI: one line naming the file, the node and the key or problem; exit status 2.

Each row is one class of bad input: a spec (eq2.yaml with one thing broken, or
a small spec of its own, or raw text) and/or bad arguments, and the words the
message must contain. Every case runs with -o, which must write nothing.
"""
import copy
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import graphcomp

ROOT = Path(__file__).resolve().parents[1]
EQ2 = yaml.safe_load((ROOT / "graphs" / "eq2.yaml").read_text(encoding="utf-8"))
MARKER = "PWNED"  # a file that code smuggled into a spec or formula would create


def eq2_with(change):
    """eq2.yaml as a dict, with `change(doc)` applied."""
    doc = copy.deepcopy(EQ2)
    change(doc)
    return doc


def one_node(op, value):
    """x = value, y = op(x)."""
    return {"inputs": [{"name": "x", "value": value}], "nodes": [{"name": "y", "op": op, "inputs": ["x"]}],
            "output": "y"}


@dataclass(frozen=True)
class Bad:
    """One class of bad input and the words its message must contain ('{file}' is the spec's path)."""

    id: str
    spec: object  # a dict (dumped to YAML), raw text, or None for graphs/eq2.yaml
    args: tuple = ()
    words: tuple = ()
    command: str = "trace"
    expr: str | None = None


def _set(path, value):
    def change(doc):
        *head, last = path
        target = doc
        for k in head:
            target = target[k]
        target[last] = value
    return change


def _drop_output(doc):
    del doc["output"]


CASES = [
    Bad("unknown op", eq2_with(_set(["nodes", 1, "op"], "sinn")), words=("{file}", "'v2'", "'op'", "'sinn'", "did you mean 'sin'")),
    Bad("an op in the tables' capitals", eq2_with(_set(["nodes", 1, "op"], "ReLU")),
        words=("{file}", "'v2'", "'op'", "'ReLU'", "did you mean 'relu'")),
    Bad("wrong arity", eq2_with(_set(["nodes", 0, "inputs"], ["x1"])), words=("{file}", "'v1'", "'inputs'", "takes 2", "got 1")),
    Bad("undefined name", eq2_with(_set(["nodes", 3, "inputs"], ["v1", "v9"])), words=("{file}", "'v4'", "'inputs'", "'v9'", "not defined")),
    Bad("duplicate name", eq2_with(_set(["nodes", 4, "name"], "v3")), words=("{file}", "'v3'", "'name'", "duplicate")),
    Bad("cycle", eq2_with(_set(["nodes", 0, "inputs"], ["x1", "v4"])), words=("{file}", "'inputs'", "cycle", "v1", "v4")),
    Bad("no output", eq2_with(_drop_output), words=("{file}", "'output'", "missing")),
    Bad("output undefined", eq2_with(_set(["output"], "v7")), words=("{file}", "'output'", "'v7'")),
    Bad("non-numeric value", eq2_with(_set(["inputs", 2, "value"], "two")), words=("{file}", "'x3'", "'value'", "'two'", "not a number")),
    Bad("non-numeric constant", {"inputs": [{"name": "x", "value": 1.0}],
                                 "nodes": [{"name": "y", "op": "mul", "inputs": ["x", [1, "a"]]}], "output": "y"},
        words=("{file}", "'y'", "'inputs'", "not a")),
    Bad("infinite value", eq2_with(_set(["inputs", 0, "value"], float("inf"))), words=("{file}", "'x1'", "'value'", "finite")),
    Bad("not YAML", "inputs: [x1, x2\nnodes: {\n", words=("{file}", "not valid YAML", "line")),
    Bad("not a mapping", "- just\n- a list\n", words=("{file}", "mapping")),
    Bad("unknown key", eq2_with(_set(["nodes", 2, "colour"], "red")), words=("{file}", "'v3'", "'colour'", "unknown key")),
    Bad("unknown top-level key", eq2_with(_set(["outpt"], "v6")),
        words=("{file}", "'outpt'", "unknown key", "did you mean 'output'?")),
    Bad("unsafe YAML tag", "inputs: !!python/object/apply:os.system ['touch {marker}']\nnodes: []\noutput: v1\n",
        words=("{file}", "python/object")),
    Bad("unsafe YAML object", "inputs:\n  - !!python/object:argparse.Namespace {name: x1}\nnodes: []\noutput: x1\n",
        words=("{file}", "python/object")),
    Bad("malformed --at (not a number)", None, ("--at", "x1=abc"), words=("--at", "'abc'", "x1")),
    Bad("malformed --at (no =)", None, ("--at", "x1"), words=("--at", "'x1'", "name=value")),
    Bad("--at with a decimal comma", None, ("--at", "x1=1,5"),
        words=("--at: '5' is not of the form name=value", "if the comma is a decimal comma, write 1.5")),
    Bad("--at with a negative decimal comma", None, ("--at", "x2=-1,25,x1=3"), words=("decimal comma, write -1.25",)),
    Bad("--at separated by semicolons", None, ("--at", "x1=1;x2=2"),
        words=("'1;x2=2' is not a number", "separate the values with commas: x1=1,x2=2")),
    Bad("--at names no input", None, ("--at", "x7=1"), words=("eq2.yaml", "--at", "x7")),
    Bad("--at with an empty item", None, ("--at", "x1=1,,x2=2"), words=("--at: an empty item between commas",)),
    Bad("x3 = 0: division", None, ("--at", "x1=1,x2=1.5,x3=0"), words=("eq2.yaml", "'v6'", "divisor is 0", "x3 = 0")),
    Bad("x3 = 0: division, forward mode", None, ("--at", "x3=0", "--mode", "forward", "--wrt", "x2"),
        words=("eq2.yaml", "'v6'", "divisor is 0")),
    Bad("log of a negative", one_node("log", -1.0), ("--wrt", "x"), words=("{file}", "'y'", "log", "positive", "x = -1")),
    Bad("sqrt derivative at 0 (reverse)", one_node("sqrt", 0.0), ("--wrt", "x", "--mode", "reverse"),
        words=("{file}", "'y'", "sqrt", "derivative", "reverse")),
    Bad("sqrt derivative at 0 (forward)", one_node("sqrt", 0.0), ("--wrt", "x", "--mode", "forward"),
        words=("{file}", "'y'", "sqrt", "derivative", "forward")),
    Bad("overflow in exp", one_node("exp", 800.0), ("--wrt", "x"), words=("{file}", "'y'", "exp(x = 800)", "overflows")),
    Bad("overflow in a scalar product", {"inputs": [{"name": "x", "value": 1e200}],
                                         "nodes": [{"name": "y", "op": "mul", "inputs": ["x", "x"]}], "output": "y"},
        ("--wrt", "x"), words=("{file}", "'y'", "overflow")),
    Bad("unknown --wrt", None, ("--wrt", "x9"), words=("eq2.yaml", "wrt 'x9'", "not an input")),
    Bad("unknown --wrt, forward mode", None, ("--wrt", "x9", "--mode", "forward"), words=("eq2.yaml", "wrt 'x9'")),
    Bad("no such spec file", "missing", words=("no_such_spec.yaml", "no such")),
    Bad("formula: attribute", None, expr="x1.real + x2", words=("--expr", "attribute access (a.b)", "not allowed")),
    Bad("formula: lambda", None, expr="lambda x: x", words=("--expr", "'lambda'", "not allowed")),
    Bad("formula: lambda called", None, expr="(lambda x: x)(x1)", words=("--expr", "not allowed")),
    Bad("formula: __import__", None, expr="__import__('os').system('touch {marker}')", words=("--expr", "not allowed")),
    Bad("formula: unknown function", None, expr="open(x1)", words=("--expr", "unknown function 'open'")),
    Bad("formula: a function in capitals", None, expr="Sin(x1)", words=("unknown function 'Sin' (did you mean 'sin'?)",
                                                                      "ln", "sigma")),
    Bad("formula: ^ lists the same functions", None, expr="x1^2", words=("'^' (a power is **)", "ln", "sigma")),
    Bad("formula: a function without brackets", None, expr="(x1*x2*sin x3 + exp(x1*x2))/x3",
        words=("'sin x3' at column 8", "brackets, sin(x3)")),
    Bad("formula: subscript", None, expr="x1[0] + x2", words=("--expr", "indexing (a[i])", "not allowed")),
    Bad("formula: ^ for a power", None, expr="x1^2 + x2", words=("--expr", "'^' (a power is **)", "not allowed")),
    Bad("formula: syntax", None, expr="x1 +* x2", words=("--expr", "not a formula")),
    Bad("parse: attribute", None, expr="x1.__class__", command="parse", words=("--expr", "attribute access (a.b)")),
    Bad("input starting with '#'", {"inputs": [{"name": "x", "value": 1.0}],
                                    "nodes": [{"name": "v1", "op": "add", "inputs": ["x", "#nope"]}], "output": "v1"},
        words=("{file}", "'v1'", "'inputs'", "'#nope'", "not defined")),
    Bad("input naming an internal constant", {"inputs": [{"name": "x", "value": 1.0}],
                                              "nodes": [{"name": "y", "op": "mul", "inputs": ["x", 2.0]},
                                                        {"name": "z", "op": "add", "inputs": ["y", "#y.1"]}], "output": "z"},
        words=("{file}", "'z'", "'inputs'", "'#y.1'", "not defined")),
    Bad("declared name starting with '#'", {"inputs": [{"name": "#y.1", "value": 1.0}],
                                            "nodes": [{"name": "y", "op": "mul", "inputs": ["#y.1", 2.0]}], "output": "y"},
        words=("{file}", "'#y.1'", "'name'", "not a valid identifier")),
    Bad("not a number and not a name in inputs", "inputs: [{name: x, value: 1}]\n"
        "nodes: [{name: y, op: mul, inputs: [x, 1e-3x]}]\noutput: y\n",
        words=("{file}", "'y'", "'inputs'", "'1e-3x'", "not defined")),
    Bad("list as a parameter", {"inputs": [{"name": "x", "value": 1.0}],
                                "nodes": [{"name": "y", "op": "powc", "inputs": ["x"], "p": [1, 2]}], "output": "y"},
        words=("{file}", "'y'", "key 'p'", "p must be a number")),
    Bad("number as the spec's name", eq2_with(_set(["name"], 123)), words=("{file}", "'name'", "must be a one-line string")),
    Bad("list as the spec's name, draw", eq2_with(_set(["name"], ["a", "b"])), command="draw",
        words=("{file}", "'name'", "must be a one-line string")),
    Bad("two-line spec name", eq2_with(_set(["name"], "eq2\n\\input{secret}")), words=("{file}", "'name'", "one-line")),
    Bad("mapping as the description", eq2_with(_set(["description"], {"a": 1})),
        words=("{file}", "'description'", "must be a string")),
    Bad("duplicate key in a mapping", "inputs: [{name: x, value: 1}]\nnodes: [{name: a, op: sin, op: cos, inputs: [x]}]\n"
        "output: a\n", words=("{file}", "line 2", "duplicate key 'op'")),
    Bad("duplicate top-level key", "inputs: [{name: x, value: 1}]\nnodes: []\noutput: x\noutput: x\n",
        words=("{file}", "line 4", "duplicate key 'output'")),
    Bad("formula: integer out of float range", None, ("--at", "x=1"), expr="x*" + "9" * 400,
        words=("--expr", "400 characters", "out of the range of a float")),
    Bad("formula: float literal out of range", None, ("--at", "x=1"), expr="x*1e400",
        words=("--expr", "1e400", "out of the range of a float")),
    Bad("formula: float literal that float reads as 0", None, ("--at", "x=1"), expr="x*-1e-400",
        words=("--expr", "1e-400", "too small for a float")),
    Bad("formula: over the length limit", None, ("--at", "x=1"), expr="+".join(["x"] * 500_001),
        words=("--expr", "1,000,001 characters in a formula", "GRAPHCOMP_MAX_FORMULA_CHARS=N")),
    Bad("formula: too deeply nested for the parser", None, ("--at", "x=1"), expr="x*" + "-" * 20000 + "x",
        words=("--expr", "too deeply nested or too long")),
    Bad("formula: syntax error at the end", None, expr="x +", words=("--expr", "not a formula", "at the end (column 4)")),
    Bad("formula: syntax error inside", None, expr="x1 +* x2", words=("--expr", "not a formula", "(column 5)")),
]


def materialise(case, tmp_path):
    """The spec file of a case (or eq2.yaml), and the CLI arguments."""
    marker = tmp_path / MARKER
    if case.expr is not None:
        return None, [case.command, "--expr", case.expr.replace("{marker}", str(marker)), *case.args]
    if case.spec is None:
        return "eq2.yaml", [case.command, "eq2.yaml", *case.args]
    if case.spec == "missing":
        return "no_such_spec.yaml", [case.command, str(tmp_path / "no_such_spec.yaml"), *case.args]
    path = tmp_path / "bad.yaml"
    text = yaml.safe_dump(case.spec, sort_keys=False) if isinstance(case.spec, dict) else case.spec
    path.write_text(text.replace("{marker}", str(marker)), encoding="utf-8")
    return str(path), [case.command, str(path), *case.args]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_line_and_status_2(cli, case, tmp_path):
    spec_file, args = materialise(case, tmp_path)
    out = tmp_path / "out" / "result.txt"
    res = cli(*args, "-o", str(out))
    assert res.status == 2, res
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for word in case.words:
        assert word.format(file=spec_file) in lines[0], f"{word!r} not in: {lines[0]}"
    assert res.stdout == ""
    assert not out.exists() and not out.parent.exists()
    assert not (tmp_path / MARKER).exists()
    assert not (ROOT / MARKER).exists()


def test_a_spec_whose_name_reads_like_a_formula_still_loads(cli, tmp_path):
    path = tmp_path / "my spec (1).yaml"
    path.write_text((ROOT / "graphs" / "eq2.yaml").read_text())
    ran = cli("trace", str(path), "--wrt", "x2")
    assert ran.status == 0 and "2.6955" in ran.stdout, ran.stderr


def test_a_formula_given_as_the_spec_says_to_use_expr(cli):
    ran = cli("trace", "sin(x)*y", "--at", "x=1,y=2")
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and '--expr "sin(x)*y"' in ran.stderr, ran.stderr
    ran = cli("trace", "--expr", "sin(x)*y", "--at", "x=1,y=2")
    assert ran.status == 0 and "0.8415" in ran.stdout  # f = sin(1)·2 = 1.6829, v = sin 1 = 0.8415


@pytest.mark.parametrize("argv, words", [
    (("trace", "fig1.yaml", "--seed", "-1"), "a seed is from 0 to 4294967295"),
    (("trace", "fig1.yaml", "--seed", str(2**32)), "a seed is from 0 to 4294967295"),
    (("verify", "fig1.yaml", "--seed", "abc"), "'abc' is not a whole number"),
    (("trace", "--expr", "-x"), "--expr=-x"),
    (("trace", "eq2.yaml", "--bogus"),
     "graphcomp trace: error: unrecognized arguments: --bogus (see graphcomp trace --help)"),
    (("nosuchcommand",), "invalid choice"),
    (("solve", "--trials", "5", "--seed", str(2**32 - 2)), "would use seeds past 4294967295"),
    (("trace", "eq2.yaml", "--at", "x1=" + "1" * 5000), "is not a finite number"),
    (("trace", "eq2.yaml", "--at", "x1=1e-400"), "'1e-400' is too small for a float"),  # float() reads 0
    (("trace", "eq2.yaml", "--wrt", "x1=2.5e-330"), "'2.5e-330' is too small for a float"),
    (("trace", "--expr", ""), "--expr is empty"),
    (("trace", "--expr", "sin(x)", "--fixed", "x", "--at", "x=2", "--mode", "forward"), "nothing to differentiate"),
    (("trace", "--expr", "sin(x)", "--fixed", "x", "--at", "x=2"), "nothing to differentiate"),
    (("trace", "--expr", "None*y", "--at", "y=1"), "a constant that is not a number"),
])
def test_argument_errors_are_one_line_and_status_2(cli, argv, words):
    ran = cli(*argv)
    assert ran.status == 2 and ran.stdout == "" and ran.stderr.count("\n") == 1 and words in ran.stderr, ran.stderr
    assert len(ran.stderr) < 400  # a long value is quoted cut


def test_a_spec_seed_past_numpys_range_is_the_specs_error(cli, tmp_path):
    path = tmp_path / "big_seed.yaml"
    path.write_text("seed: 4294967296\ninputs: [{name: W, shape: [2, 2]}]\nnodes: [{name: f, op: halfsq, inputs: [W]}]\n"
                    "output: f\n")
    ran = cli("trace", path)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "'seed'" in ran.stderr and "4294967295" in ran.stderr


def test_a_device_without_numbers_and_a_delay_past_a_gifs_are_one_line(cli, tmp_path):
    pytest.importorskip("torch")
    ran = cli("trace", "fig1.yaml", "--backend", "torch", "--device", "meta")
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "device 'meta'" in ran.stderr, ran.stderr
    out = tmp_path / "e.gif"
    ran = cli("explain", "eq2.yaml", "--wrt", "x2", "--delay", "99999999999", "-o", out)
    assert ran.status == 2 and ran.stderr.count("\n") == 1 and "--delay" in ran.stderr and not out.exists()


@pytest.mark.parametrize("argv", [("solve", "--plot"), ("jacobian", "--cost", "--plot")])
def test_a_plot_that_cannot_be_written_fails_before_the_work(cli, tmp_path, argv):
    (tmp_path / "afile").write_text("")
    ran = cli(*argv, tmp_path / "afile" / "sub" / "x.png")
    assert ran.status == 2 and ran.stdout == "" and ran.stderr.count("\n") == 1 and "cannot write here" in ran.stderr


def test_trace_mode_value_prints_the_evaluation_trace_alone(cli):
    ran = cli("trace", "--expr", "sin(x)*y", "--fixed", "x,y", "--at", "x=1,y=2", "--mode", "value", "--format", "csv")
    assert ran.status == 0, ran.stderr
    rows = ran.stdout.splitlines()
    assert rows[0] == "trace,node,symbol,step,rule,value" and all(r.startswith("primal,") for r in rows[1:])
    assert rows[-1].endswith(f",{2 * math.sin(1):.4f}") and len(rows) == 5  # x, y, sin x, f


def test_a_graph_of_data_only_evaluates_but_has_nothing_to_differentiate():
    g = graphcomp.parse_expr("sin(x)", at={"x": 2.0}, fixed=["x"])
    assert g.trace(mode="value").value == pytest.approx(math.sin(2.0), rel=1e-15)
    for mode in ("forward", "reverse", "both"):
        with pytest.raises(graphcomp.GraphcompError, match="nothing to differentiate: every input of the graph is data"):
            g.trace(mode=mode)


def test_a_powers_domain_error_names_its_exponent_and_the_derivatives_case(cli):
    ran = cli("trace", "--expr", "x**0.5", "--at", "x=0", "--mode", "both")  # 0.5 · 0^(-0.5): the derivative
    assert ran.status == 2 and "powc(x = 0, p = 0.5)" in ran.stderr and "0 to a power below 1" in ran.stderr
    ran = cli("trace", "--expr", "sin(x)", "--fixed", "x")  # no value first: then there would be nothing to differentiate
    assert ran.status == 2 and "input 'x' has no value" in ran.stderr
    assert cli("trace", "--expr", "sin(x)", "--fixed", "x", "--at", "x=1", "--mode", "value", "--wrt", "x").status == 0
    assert cli("trace", "eq2.yaml", "--mode", "value", "--wrt", "zz").status == 0  # wrt is not read in value mode
