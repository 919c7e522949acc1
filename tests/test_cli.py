"""The CLI's listing commands."""
import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from graphcomp.cli.app import COMMANDS
from graphcomp.ops import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_ops_lists_every_registered_op_with_its_rules(cli):
    done = cli("ops", env={"COLUMNS": "200"})
    assert done.status == 0, done.stderr
    for name in REGISTRY:
        assert f"\n  {name} " in done.stdout, name
    assert "a\u0304 += ȳ · cos a" in done.stdout
    assert "0 is taken to be 0" in done.stdout  # ReLU's convention at 0


def test_help_lists_every_command(cli):
    done = cli("--help")
    assert done.status == 0 and done.stderr == "", done.stderr
    listed = re.findall(r"^ {4}(\w+) ", done.stdout, re.M)  # the rows under COMMAND, not words of the description
    assert listed == list(COMMANDS)
    assert {"trace", "parse", "draw", "code", "verify", "solve", "report", "ops"} <= set(listed)


COLUMNS = {"COLUMNS": "120"}


def _one_line_error(done, *words):
    status, stdout, stderr = done
    assert status == 2 and stdout == "", stdout
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    for w in words:
        assert w in stderr, stderr


DX2 = f"{(math.sin(2) + math.exp(1.5)) / 2:.4f}"  # Eq. 2's ∂f/∂x2 at (1, 1.5, 2) by hand: (x1 sin x3 + x1 e^(x1 x2)) / x3


def test_trace_writes_through_a_symlink(cli, tmp_path):
    target = tmp_path / "notes.md"
    target.write_text("old")
    (tmp_path / "link.md").symlink_to("notes.md")
    done = cli("trace", "eq2.yaml", "--wrt", "x2", "-o", "link.md", cwd=tmp_path, env=COLUMNS)
    assert done.status == 0, done.stderr
    assert (tmp_path / "link.md").is_symlink() and os.readlink(tmp_path / "link.md") == "notes.md"
    assert "| node | symbol | rule | value |" in target.read_text() and f"${DX2}$" in target.read_text()


def test_dash_is_standard_output(cli, tmp_path):
    done = cli("trace", "eq2.yaml", "--wrt", "x2", "--format", "csv", "-o", "-", cwd=tmp_path, env=COLUMNS)
    assert done.status == 0, done.stderr
    assert done.stdout.startswith("trace,node,symbol,step,rule,value\n") and DX2 in done.stdout
    assert "wrote" not in done.stdout and not (tmp_path / "-").exists()
    verify = cli("verify", "eq2.yaml", "--no-torch", "--format", "json", "-o", "-", cwd=tmp_path, env=COLUMNS)
    assert json.loads(verify.stdout)["agree"] is True and not (tmp_path / "-").exists()
    _one_line_error(cli("draw", "eq2.yaml", "-o", "-", cwd=tmp_path, env=COLUMNS), "'-'")  # a picture has no text form
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("kind, words", [("dir", "it is a directory"), ("fifo", "it is a pipe")])
def test_output_that_is_not_a_regular_file_is_one_line(cli, tmp_path, kind, words):
    out = tmp_path / "out"
    out.mkdir() if kind == "dir" else os.mkfifo(out)
    _one_line_error(cli("trace", "eq2.yaml", "-o", str(out), env=COLUMNS), str(out), words)
    _one_line_error(cli("verify", "eq2.yaml", "--no-torch", "-o", str(out), env=COLUMNS), str(out), words)


def test_verify_output_format_follows_the_extension(cli, tmp_path):
    for name in ("v.tex", "v.md", "v.csv", "v.json", "v.txt"):
        done = cli("verify", "eq2.yaml", "--no-torch", "-o", str(tmp_path / name), env=COLUMNS)
        assert done.status == 0 and done.stdout == f"wrote {tmp_path / name}\n", done.stderr
    tex = (tmp_path / "v.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\toprule" in tex and f"${DX2}$" in tex and "% AGREE" in tex
    md = (tmp_path / "v.md").read_text()
    assert "| methods | parameter |" in md and f"${DX2}$" in md and "**AGREE" in md
    rows = list(csv.DictReader(io.StringIO((tmp_path / "v.csv").read_text())))
    assert {(r["method_a"], r["method_b"]) for r in rows} == {("engine", "fd")} and all(r["ok"] == "True" for r in rows)
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["gradients"]["engine"]["x2"] == pytest.approx((math.sin(2) + math.exp(1.5)) / 2, rel=1e-14)
    assert doc["agree"] is True and "torch" in doc["skipped"]
    assert "AGREE" in (tmp_path / "v.txt").read_text() and "\\begin" not in (tmp_path / "v.txt").read_text()


def test_verify_format_and_digits(cli, tmp_path):
    done = cli("verify", "eq2.yaml", "--no-torch", "--format", "markdown", "--digits", "6", env=COLUMNS)
    assert done.status == 0, done.stderr
    assert f"${(math.sin(2) + math.exp(1.5)) / 2:.6f}$" in done.stdout and done.stdout.startswith("| parameter |")
    rich = cli("verify", "eq2.yaml", "--no-torch", "--digits", "2", env=COLUMNS)
    assert "2 decimals" in rich.stdout and f"{(math.sin(2) + math.exp(1.5)) / 2:.2f}" in rich.stdout
    _one_line_error(cli("verify", "eq2.yaml", "--digits", "40", env=COLUMNS), "--digits")


def test_verify_writes_the_file_and_still_says_disagree(cli, tmp_path):
    pytest.importorskip("torch")
    # ±1 entries put ReLU inputs exactly at the kink 0, where central differences straddle it
    done = cli("verify", "fig1.yaml", "--seed", "3", "--dist", "rademacher", "-o", str(tmp_path / "v.json"),
               env=COLUMNS)
    assert done.status == 1, done.stderr
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["agree"] is False and doc["kinks"]
    assert all(c["ok"] for c in doc["comparisons"] if "fd" not in (c["a"], c["b"]))


def test_report_out_must_be_a_directory(cli, tmp_path):
    out = tmp_path / "eq2.png"
    out.write_bytes(b"a picture")
    _one_line_error(cli("report", "--out", str(out), "--no-pdf", "--trials", "1", env=COLUMNS), str(out),
                    "--out must be a directory")
    _one_line_error(cli("report", "--out", str(out / "sub"), "--no-pdf", "--trials", "1", env=COLUMNS),
                    f"{out} is a file")
    assert out.read_bytes() == b"a picture"


def test_solve_refuses_sizes_that_do_not_fit_in_memory():
    # A alone is 10^10 float64 entries, 80 GB
    # a process of its own: were the size check to break, the allocation would take down the child, not pytest
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "solve", "--n", "100000", "--m", "100000"],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, **COLUMNS}, timeout=120)
    _one_line_error((done.returncode, done.stdout, done.stderr), "--n 100000")


@pytest.mark.parametrize("fmt", ["rich", "json", "csv"])
def test_a_reader_that_stops_reading_ends_it_quietly_with_sigpipes_status(fmt):
    """`trace ... | head`: a process, since the pipe is the point. Every format ends the same way: nothing on
    stderr (no 'cannot write here: Broken pipe', no traceback), and the status a shell gives for SIGPIPE, 141."""
    formula = "+".join(f"sin(x*{k})" for k in range(1, 1500))  # far more than a pipe's buffer in every format
    proc = subprocess.Popen([sys.executable, "cli.py", "trace", "--expr", formula, "--at", "x=1", "--format", fmt],
                            cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()
    err = proc.stderr.read().decode()
    # CSV is one write(2) of the whole text: the kernel ends it short when the reader goes, and Python reports no
    # error, so it ends with 0; rich and JSON write in pieces, and the next piece finds the pipe closed
    assert proc.wait(timeout=60) in ({0, 141} if fmt == "csv" else {141}) and err == "", err
