"""Running pdflatex for `exercise` and `report`: bounded in time, with no shell escape, reading and writing only
within its folder (kpathsea's paranoid mode), its temporary files removed whatever happens."""
import os
import subprocess
import tempfile
from pathlib import Path

from graphcomp.cli.drawing import reproducible_pdf
from graphcomp.core.errors import GraphcompError

TIMEOUT = 60  # seconds; the report, the largest document, takes a few
# paranoid: no absolute paths, no '..', no dot files, for \input and \openin as for \openout; a fixed date for the
# same PDF bytes on every run
SAFE_ENV = {"openin_any": "p", "openout_any": "p", "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}


def pdflatex(folder, tex, what, *, timeout=TIMEOUT, after=""):
    """The PDF (bytes, reproducible) of `tex` compiled in `folder` by pdflatex, its output in a temporary folder.

    Raises a one-line GraphcompError naming `what` (with `after` appended) if pdflatex fails or runs longer than
    `timeout` seconds (it is then killed); the temporary folder is removed in every case.
    """
    env = {k: v for k, v in os.environ.items() if k != "TEXMFOUTPUT"} | SAFE_ENV  # TEXMFOUTPUT widens paranoid
    with tempfile.TemporaryDirectory() as out:
        cmd = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
               f"-output-directory={out}", tex]
        try:
            # its messages are in its log: a pipe would hold all a looping document prints
            done = subprocess.run(cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GraphcompError(f"pdflatex took more than {timeout:g} s on {what} and was stopped{after}") from None
        pdf = Path(out, Path(tex).with_suffix(".pdf").name)
        if done.returncode != 0 or not pdf.exists():
            raise GraphcompError(f"pdflatex failed on {what}: {_first_error(Path(out, Path(tex).stem + '.log'))}"
                                 f"{after}")
        return reproducible_pdf(pdf.read_bytes())


def _first_error(log):
    """The first error line of pdflatex's log ('! Undefined control sequence.'), read a line at a time."""
    try:
        with open(log, encoding="utf-8", errors="replace") as lines:
            return next((line.strip() for line in lines if line.startswith("!") or "Error" in line), "no error line in its log")
    except OSError:
        return "it wrote no log"
