"""What the test files share: the command line run inside the test process, and a plain article to compile."""
import contextlib
import io
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

import pytest

from graphcomp.cli import main

ROOT = Path(__file__).resolve().parents[1]


class Ran(NamedTuple):
    """What a run of the command line gave: its exit status and everything it wrote to stdout and stderr."""
    status: int
    stdout: str
    stderr: str


def _stream():
    """A text stream like a pipe's: UTF-8, with a .buffer for bytes written to standard output."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def _warn_to_stderr(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_cli(*args, cwd=ROOT, env=None):
    """`python cli.py ARGS` without a new interpreter: graphcomp.cli.main(ARGS) in this process.

    Runs in `cwd` (the project root by default, as `cwd=ROOT` did) with the variables of `env` set (None: unset),
    both put back afterwards. sys.stdout and sys.stderr are captured for this call alone (rich's
    Console is made inside the call, so it writes to them too), and warnings are written to stderr
    under Python's default filters, as the process would, so that "one line on stderr" still means it.
    An exit by SystemExit (argparse's --help and usage errors) gives its code as the status.
    """
    out, err = _stream(), _stream()
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        mp.chdir(cwd)
        for name, value in (env or {}).items():
            if value is None:
                mp.delenv(name, raising=False)  # pytest-xdist's workers set COLUMNS=80, say
            else:
                mp.setenv(name, value)
        warnings.resetwarnings()  # Python's defaults with no -W: DeprecationWarning and the like are not shown
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.showwarning = _warn_to_stderr
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main([str(a) for a in args])
            except SystemExit as exc:
                status = 0 if exc.code is None else exc.code
    return Ran(status, out.buffer.getvalue().decode("utf-8"), err.buffer.getvalue().decode("utf-8"))


@pytest.fixture(scope="session")
def cli():
    """run_cli: call it as cli("trace", "eq2.yaml", cwd=..., env={"COLUMNS": "120"}) → (status, stdout, stderr)."""
    return run_cli


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="needs pdflatex (make test installs it where it can)")


def pdflatex_log(folder, fragments, packages="booktabs,amsmath,amssymb"):
    """Compile the LaTeX fragments, one after another, in a plain article (10 pt, 1 in margins, `packages`);
    returns pdflatex's log, after asserting that it made a PDF."""
    body = "\n\\bigskip\n".join(f"\\noindent {t}\\par" for t in fragments)
    (folder / "doc.tex").write_text("\\documentclass[10pt]{article}\\usepackage[margin=1in]{geometry}"
                                    f"\\usepackage{{{packages}}}\\begin{{document}}\n{body}\n\\end{{document}}\n",
                                    encoding="utf-8")
    ran = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=folder,
                         capture_output=True, text=True, timeout=120)
    log = (folder / "doc.log").read_text(errors="replace")
    assert ran.returncode == 0, log[-2000:]
    return log
