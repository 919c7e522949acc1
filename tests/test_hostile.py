"""Hostile input: every bad spec, array file and path is one line on stderr, exit status 2, nothing written."""
import io
import json
import math
import os
import zipfile

import numpy as np
import pytest
import yaml

import graphcomp
from graphcomp.cli.io import write_atomic
from graphcomp.frontends.spec import parse_text, safe_load
from graphcomp.render import tables, text
from graphcomp.render.rows import fill, row_text

CHAIN = "nodes:\n  - {name: y, op: sin, inputs: [x]}\noutput: y\n"


def _bomb(levels, width=9):
    lines = [f"a0: &a0 [{', '.join(['1'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\ninputs:\n  - {{name: x, value: *a{levels}}}\n" + CHAIN


CASES = {  # spec text → words the one line must hold
    "3-D tensor": ("inputs:\n  - {name: x, shape: [2, 2, 2]}\n" + CHAIN, ["node 'x'", "key 'shape'", "3 dimensions",
                                                                         "0 to 2"]),
    "3-D value": ("inputs:\n  - {name: x, value: [[[1, 2]], [[3, 4]]]}\n" + CHAIN, ["node 'x'", "3 dimensions"]),
    "70 dimensions": ("inputs:\n  - {name: x, shape: [" + ", ".join(["1"] * 70) + "]}\n" + CHAIN, ["70 dimensions"]),
    "10^11 entries": ("inputs:\n  - {name: x, shape: [100000000000]}\n" + CHAIN, ["GRAPHCOMP_MAX_ENTRIES",
                                                                                  "100,000,000,000"]),
    "10^12 entries": ("inputs:\n  - {name: x, shape: [1000000, 1000000]}\n" + CHAIN, ["GRAPHCOMP_MAX_ENTRIES"]),
    "400 digits": ("inputs:\n  - {name: x, value: " + "9" * 400 + "}\n" + CHAIN, ["node 'x'", "range of a float"]),
    "alias bomb": (_bomb(8), ["GRAPHCOMP_MAX_VALUES", "43,046,721"]),
    "deep nesting": ("inputs: " + "[" * 600 + "]" * 600 + "\n", ["nested more than 32 levels"]),
    "deep block nesting": ("".join(" " * i + "a:\n" for i in range(40)) + " " * 40 + "x\n", ["nested more than"]),
    "recursive alias": ("a: &x [1, *x]\ninputs: []\n", ["line 1", "contains it"]),
    "bad date": ("name: 2024-02-30\ninputs:\n  - {name: x, value: 1}\n" + CHAIN, ["line 1", "day is out of range"]),
    "!!float abc": ("inputs:\n  - {name: x, value: !!float abc}\n" + CHAIN, ["line 2", "'abc'"]),
    "!!int abc": ("inputs:\n  - {name: x, value: !!int abc}\n" + CHAIN, ["line 2", "'abc'"]),
    "!!timestamp": ("inputs:\n  - {name: x, value: !!timestamp 2024-13-45}\n" + CHAIN, ["line 2", "timestamp"]),
    "NUL byte": ("name: a\x00b\ninputs:\n  - {name: x, value: 1}\n" + CHAIN, ["line 1, column 8", "U+0000"]),
    "BEL byte": ("inputs:\n  - {name: x, value: 1}\n\x07" + CHAIN, ["line 3", "U+0007"]),
    "name with a newline": ('inputs:\n  - {name: x, value: 1}\nnodes: []\noutput: "y\\n"\n', ["'y\\n'"]),
    "node named y newline": ('inputs:\n  - {name: "y\\n", value: 1}\n' + CHAIN, ["'y\\n'"]),
    "lone surrogate, YAML": ('inputs:\n  - {name: x, value: 1, label: "\\ud800"}\n' + CHAIN, ["line 2"]),
    "lone surrogate, JSON": ('{"inputs": [{"name": "x", "value": 1, "label": "\\ud800"}], "nodes": '
                             '[{"name": "y", "op": "sin", "inputs": ["x"]}], "output": "y"}', ["surrogate"]),
    "duplicate key, JSON": ('{"inputs": [{"name": "x", "value": 1, "value": 2}], "nodes": [], "output": "x"}',
                            ["line 1, column 39", "duplicate key 'value'"]),
    "underflow": ("inputs:\n  - {name: x, value: 1e-400}\n" + CHAIN, ["node 'x'", "key 'value'", "too small"]),
    "underflow, a YAML float": ("inputs:\n  - {name: x, value: 1.0e-400}\n" + CHAIN, ["line 2", "too small"]),
    "underflow, !!float": ("inputs:\n  - {name: x, value: !!float 1e-400}\n" + CHAIN, ["line 2", "too small"]),
    "underflow, JSON": ('{"inputs": [{"name": "x", "value": 1e-400}], "nodes": [], "output": "x"}', ["too small"]),
    "base 60": ("inputs:\n  - {name: x, value: 1:30}\n" + CHAIN, ["line 2", "as 90", "in decimal"]),
    "hexadecimal": ("inputs:\n  - {name: x, value: 0x10}\n" + CHAIN, ["line 2", "as 16", "in decimal"]),
    "octal": ("inputs:\n  - {name: x, value: 017}\n" + CHAIN, ["line 2", "as 15", "in decimal"]),
    "NaN, JSON": ('{"inputs": [{"name": "x", "value": NaN}], "nodes": [], "output": "x"}', ["node 'x'", "not a finite number"]),
}


def assert_one_line(ran, *words):
    """Exit status 2, one line on stderr holding every word, no traceback."""
    assert ran.status == 2, ran
    lines = ran.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphcomp: error: "), ran.stderr
    assert "Traceback" not in ran.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("case", CASES)
def test_a_bad_spec_is_one_line_naming_it_and_nothing_is_written(cli, tmp_path, case):
    text, words = CASES[case]
    path = tmp_path / ("spec.json" if text.startswith("{") else "spec.yaml")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    ran = cli("trace", path, "--format", "json", "-o", tmp_path / "out.json")
    assert_one_line(ran, str(path), *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_only_regular_files_are_read(cli, tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block for ever
    for path in (fifo, "/dev/zero", tmp_path):
        assert_one_line(cli("trace", path), str(path), "cannot read")
    assert_one_line(cli("trace", "/dev/zero"), "only regular files")


def test_a_spec_over_the_size_limit_is_refused_before_it_is_read(cli, tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as fh:
        fh.truncate(3 * 2**20)  # sparse: three MiB of zeros that are never parsed
    ran = cli("trace", path, env={"GRAPHCOMP_MAX_SPEC_MB": "2"})
    assert_one_line(ran, "3 MiB in a spec file, over the limit of 2", "GRAPHCOMP_MAX_SPEC_MB=N")


def test_a_limit_is_raised_by_its_variable(cli, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(_bomb(1, width=4), encoding="utf-8")  # 16 values
    assert_one_line(cli("trace", path, env={"GRAPHCOMP_MAX_VALUES": "15"}), "16 scalar values")
    ran = cli("trace", path, "--format", "json", env={"GRAPHCOMP_MAX_VALUES": "1000"})
    assert ran.status == 2 and "value has shape" not in ran.stderr  # past the limit: the shape rule speaks
    assert_one_line(cli("trace", path, env={"GRAPHCOMP_MAX_VALUES": "lots"}), "GRAPHCOMP_MAX_VALUES='lots'")


def test_json_and_yaml_give_the_same_document():
    text = '{"name": "n", "inputs": [{"name": "x", "value": [1.5, -2, 3e-3]}], "nodes": [], "output": "x"}'
    via_json = parse_text(text)
    via_yaml = parse_text(" " + text.replace('"name": "n",', '"name": "n" ,'))  # not JSON's spacing: same document
    assert via_json == via_yaml == {"name": "n", "inputs": [{"name": "x", "value": [1.5, -2, 3e-3]}], "nodes": [],
                                    "output": "x"}


def test_a_tiny_divisor_overflows_rather_than_divides_by_zero(cli):
    ran = cli("trace", "--expr", "x/y", "--at", "x=1,y=1e-200")
    assert_one_line(ran, "overflows", "div(x = 1, y = 1e-200)")
    assert "divisor is 0" not in ran.stderr
    assert_one_line(cli("trace", "--expr", "x/y", "--at", "x=1,y=0"), "the divisor is 0")


def test_a_3d_array_in_python_is_refused_by_the_declared_shape():
    g = graphcomp.from_dict({"inputs": [{"name": "x", "shape": [2, 2]}],
                             "nodes": [{"name": "y", "op": "halfsq", "inputs": ["x"]}], "output": "y"})
    with pytest.raises(graphcomp.GraphcompError, match="shape"):
        g.trace(at={"x": np.ones((2, 2, 2))})


@pytest.mark.parametrize("text, words", [("a: " + "[" * 40 + "]" * 40, "nested more than 32"),
                                         ("a: " + "[" * 3000 + "]" * 3000, "nested more than 32"),
                                         ("a: &x [*x]", "contains it"), ("a: !!int abc", "'abc'")])
def test_the_pure_python_loader_keeps_the_same_checks(text, words):
    with pytest.raises(yaml.YAMLError, match=words):
        safe_load(text, loader_class=yaml.SafeLoader)
    with pytest.raises(graphcomp.SpecError, match=words):
        parse_text(text)  # libyaml's loader, with its own depth limit (1000) said the same way


def _huge_header(path):
    """An .npz whose one member's header claims 10¹² float64 entries, with 64 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("W1.npy", buf.getvalue() + bytes(64))


NPZ = {  # how to write the file → words the one line must hold
    "compressed zeros": (lambda p: np.savez_compressed(p, W1=np.zeros((3000, 750))), ["node 'W1'", "[3000, 750]",
                                                                                      "[3, 2]"]),
    "10^12 entries declared": (_huge_header, ["node 'W1'", "[1000000, 1000000]"]),
    "nan": (lambda p: np.savez(p, W1=np.full((3, 2), np.nan)), ["node 'W1'", "not a finite number"]),
    "transposed": (lambda p: np.savez(p, W1=np.ones((2, 3))), ["node 'W1'", "shape [2, 3]"]),
    "not an input": (lambda p: np.savez(p, Q=np.ones(2)), ["node 'Q'", "not an input"]),
    "truncated": (lambda p: p.write_bytes(b"PK\x03\x04" + bytes(40)), ["not an .npz file"]),
}


@pytest.mark.parametrize("case", NPZ)
def test_bad_data_is_one_line_naming_the_npz_not_the_spec(cli, tmp_path, case):
    make, words = NPZ[case]
    path = tmp_path / "d.npz"
    make(path)
    ran = cli("trace", "fig1.yaml", "--data", path, "-o", tmp_path / "out.json")
    assert_one_line(ran, f"{path}: ", *words)
    assert "fig1.yaml" not in ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]


def test_an_npz_is_checked_from_its_headers_before_its_data_is_read(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    np.savez_compressed(path, W1=np.zeros((3000, 750)))
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("the data was read"))
    monkeypatch.setenv("GRAPHCOMP_MAX_ENTRIES", "1000000")
    with pytest.raises(graphcomp.GraphcompError, match="GRAPHCOMP_MAX_ENTRIES"):
        graphcomp.read_npz(path)  # no shapes to check against: the entry limit speaks
    with pytest.raises(graphcomp.GraphcompError, match=r"\[3000, 750\], but the input has shape \[3, 2\]"):
        graphcomp.read_npz(path, {"W1": (3, 2)})


@pytest.mark.parametrize("target", ["results/", "results/sub/"])
def test_an_output_ending_in_a_slash_is_a_folder_and_nothing_is_written(cli, tmp_path, target):
    ran = cli("trace", "eq2.yaml", "-o", target, cwd=tmp_path)
    assert_one_line(ran, "names a folder")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["eq2.yaml", "fig1.yaml", "fig1_batch.yaml", "phase.yaml"])
def test_text_converted_word_by_word_is_the_text_converted_whole(spec):
    trace = graphcomp.load(spec).trace(mode="both", seed=1)
    cells = [cell for _, _, rows in tables.sections(trace) for r in rows for cell in (r.symbol, r.rule)]
    cells += [fill(op.tex, {"0": "a_{1}", "1": "\\bar{b}", "y": "y", "g": "\\bar{y}", "p": "2", "pm1": "1", "pc": "2"})
              for op in graphcomp.OPS.values()]
    cells += [f"{a}_{{{k}}}" for a in ("v", "x", "\\bar{v}", "\\dot{W}", "\\bar{\\alpha}") for k in (0, -2, 12, 1234)]
    cells += ["v_{12})", "v_{12}(1", "v_{3}^2)", "v_{3}^23", "v_{3}^{2}", "\\bar{v}_{4})", "x_{1}2^3((", "v_{1}^x"]
    assert len(cells) > 50
    for cell in cells:
        assert text.tex_to_text(cell) == text._to_text(cell), cell


LABELS = ["v_{1}", "x", "h^{(1)}", "\\mathrm{W\\_out}", "\\theta_{2}", "\\bar{z}", "a b", "p/q", "e^{t}", "W_{1}.v"]


@pytest.mark.parametrize("op", sorted(k for k, o in graphcomp.OPS.items() if o.elementwise))
def test_rows_composed_as_text_are_the_rows_converted_whole(op):
    """Each row's Unicode, composed from templates and symbols converted once, is tex_to_text of its LaTeX (the
    scalar ops: tensor traces are summed and converted whole)."""
    o = graphcomp.OPS[op]
    seen = 0
    for k, (la, lb) in enumerate(zip(LABELS, LABELS[3:] + LABELS[:3])):
        inputs = [{"name": "a", "value": 0.7, "label": la}, {"name": "b", "value": 1.3, "label": lb}][:o.arity]
        node = {"name": "y", "op": op, "inputs": [x["name"] for x in inputs], **({"p": 3.0 - k} if o.params else {})}
        spec = {"inputs": inputs, "nodes": [node, {"name": "z", "op": "mul", "inputs": ["y", "a"]}], "output": "z"}
        graph = graphcomp.from_dict(spec)
        for _, _, rows in [*tables.sections(graph.trace(mode="forward")), *tables.sections(graph.trace(mode="reverse"))]:
            for r in rows:
                whole = (text.tex_to_text(r.symbol), text.tex_to_text(r.generic) if r.generic else "",
                         text.tex_to_text(r.rule))
                assert row_text(r) == whole, (la, lb, r)
                seen += r.text is not None
    assert seen > 40  # most rows were composed, not converted whole


def test_a_formula_of_20000_terms_traces():
    # eight times past Python's parser limit (about 2 500 terms); the sum is checked against math.fsum of the same
    # terms (the command line's reading of a formula is parse_expr's, tested on short ones)
    n, at = 2 * 10**4, {f"x{k}": 0.1 * (k + 1) for k in range(7)}
    formula = "+".join(f"sin(x{i % 7})" for i in range(n))
    graph = graphcomp.parse_expr(formula, at=at)
    assert len(graph) == n + 7 + 6  # the inputs, n - 1 sums and 7 sines
    tr = graph.trace(wrt="x0", mode="both")
    assert tr.value == pytest.approx(math.fsum(math.sin(at[f"x{i % 7}"]) for i in range(n)), rel=1e-12)
    assert tr.derivative == pytest.approx(len(range(0, n, 7)) * math.cos(0.1), rel=1e-12)
    assert tr.gradient["x0"] == pytest.approx(len(range(0, n, 7)) * math.cos(0.1), rel=1e-12)


def test_a_drawn_pdf_carries_a_fixed_date_not_the_clock(cli, tmp_path, monkeypatch):
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert cli("draw", "eq2.yaml", "-o", first).status == 0
    assert b"/CreationDate (D:19700101000000" in first.read_bytes()  # cairo wrote today's date
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert cli("draw", "eq2.yaml", "-o", second).status == 0
    assert b"/CreationDate (D:19700102000000" in second.read_bytes()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert cli("draw", "eq2.yaml", "-o", second).status == 0
    assert first.read_bytes() == second.read_bytes()



def test_a_lone_surrogate_made_in_python_is_one_error_when_written_and_leaves_no_file(tmp_path):
    with pytest.raises(graphcomp.GraphcompError, match="lone surrogate"):
        write_atomic(tmp_path / "t.json", iter(['{"label": "', "\ud800", '"}']))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec, mode", [("eq2.yaml", "reverse"), ("eq2.yaml", "both"), ("fig1.yaml", "reverse"),
                                        ("polar.yaml", "forward")])
def test_json_rows_hold_each_row_as_written(spec, mode):
    """Every JSON row, however it was encoded, reads back as the row's own fields."""
    trace = graphcomp.load(spec).trace(mode=mode)
    doc = json.loads(tables.json_text(trace))
    for key, _, rows in tables.sections(trace):
        assert len(doc[key]) == len(rows)
        for got, r in zip(doc[key], rows):
            symbol, generic, rule = row_text(r)
            assert (got["node"], got["symbol"], got.get("step", ""), got["rule"]) == (r.node, symbol, generic, rule)
            assert got["latex"] == " = ".join(filter(None, (r.symbol, r.generic, r.rule)))
            value = r.value if not isinstance(r.value, dict) else r.value[next(iter(r.value))]
            got_value = got["value"] if not isinstance(got["value"], dict) else next(iter(got["value"].values()))
            np.testing.assert_array_equal(np.asarray(got_value, dtype=float), np.asarray(value, dtype=float))
