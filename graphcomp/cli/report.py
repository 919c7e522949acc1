"""`graphcomp report`: every figure and table of the problem set, and report.tex / report.pdf, in one folder."""
import shutil
from pathlib import Path

import graphviz
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import graphcomp
from graphcomp.cli.common import seed_arg
from graphcomp.cli.drawing import render
from graphcomp.cli.io import write_atomic
from graphcomp.cli.latex import pdflatex
from graphcomp.core.errors import GraphcompError
from graphcomp.problems import report
from graphcomp.problems.phase import PHASE_RATIOS
from graphcomp.render.dot import INSTALL

PDFLATEX_HINT = ("pdflatex is not installed, so report.pdf was not built: install it with "
                 "'sudo apt-get install texlive-latex-base texlive-latex-recommended' (or MacTeX), then run "
                 "'pdflatex report.tex' in {out}")


def register(sub):
    p = sub.add_parser("report", help="write every figure and table of the problem set, and report.tex/.pdf",
                       description="Build the write-up: Problem 2 traces and graph, Problem 3 backward pass and "
                       "gradient check, Problem 1 runs, trials and plots, and a LaTeX document that inputs them all.")
    p.add_argument("--seed", type=seed_arg, help="seed of Problem 1's instance and trials and of Problem 3's data "
                   "(default: 0 for Problem 1, the spec's seed for Problem 3)")
    p.add_argument("--out", default="outputs", help="folder to write into (default: outputs/)")
    p.add_argument("--trials", type=int, default=100, help="instances for Problem 1's trials and per m/n (default: 100)")
    p.add_argument("--no-pdf", action="store_true", help="do not run pdflatex")
    p.set_defaults(run=run)


def run(args):
    if args.trials < 1:
        raise GraphcompError(f"--trials must be at least 1, got {args.trials}")
    out = _out_dir(args.out)
    console = Console(width=max(Console().width, 100))
    seed = 0 if args.seed is None else args.seed
    fig1 = graphcomp.load("fig1.yaml")
    p3_seed = fig1.seed if args.seed is None else args.seed
    made = []
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:

        def part(label, build, total=1):
            task = progress.add_task(label, total=total)
            try:
                result = build(lambda: progress.advance(task))
            except GraphcompError as exc:
                raise GraphcompError(f"report: {label} failed, nothing of it was written: {exc}") from None
            items = [_made(a) for a in (result[0] if isinstance(result, tuple) else result)]
            _write(out, items)
            made.extend(items)
            progress.update(task, completed=total)
            return result

        part("Problem 2: graph and traces of Eq. 2", lambda tick: report.problem2(graphcomp.load("eq2.yaml")))
        _, check = part("Problem 3: backward pass and gradient check", lambda tick: report.problem3(fig1, p3_seed))
        _, sentences = part("Problem 1: Newton and Gauss–Newton runs", lambda tick: report.problem1_runs(seed))
        _, curvature = part("Problem 1: the Hessian against Gauss–Newton's JᵀJ",
                            lambda tick: report.problem1_curvature(seed))
        _, cost = part("Why reverse mode: the cost of both modes", lambda tick: report.why_reverse_mode())
        part(f"Problem 1: {args.trials} trials and the phase transition",
             lambda tick: report.problem1_trials(seed, args.trials, progress=tick),
             total=args.trials * (1 + len(PHASE_RATIOS)))
        command = "python cli.py report" + ("" if args.seed is None else f" --seed {args.seed}") + f" --trials {args.trials}"
        doc = report.document(made, command=command, seed=seed, p3_seed=p3_seed, count=args.trials, check=check,
                              sentences=sentences, draws="\n".join(
                                  ["import numpy", *fig1.draw_calls(p3_seed)]), curvature=curvature, cost=cost)
        tex = report.Artifact("report.tex", "the whole write-up (LaTeX)", "all", doc)
        _write(out, [tex])
        made.append(tex)
        pdf_note = "report.pdf was not built (--no-pdf)"
        if not args.no_pdf:
            task = progress.add_task("LaTeX: report.pdf", total=1)
            pdf_note = _pdflatex(out)
            progress.update(task, completed=1)
    _summary(console, out, made, pdf_note)
    return 0


def _out_dir(path):
    """--out as a Path, checked before any work: it must be a directory, or not exist yet (it is then created)."""
    out = Path(path)
    try:
        existing = next(p for p in (out, *out.parents) if p.exists())  # the nearest part of it that exists
    except OSError as exc:
        raise GraphcompError(f"--out: cannot look here: {exc.strerror or exc}", file=out) from None
    if not existing.is_dir():
        what = "it is a file" if existing == out else f"{existing} is a file"
        raise GraphcompError(f"--out must be a directory (the report writes several files into it), but {what}",
                             file=out)
    return out


def _made(item):
    """An Artifact for a Diagram (drawn here, with Graphviz), or a Skipped one saying what to install."""
    if not isinstance(item, report.Diagram):
        return item
    try:
        return report.Artifact(item.name, item.what, item.part, render(item.graph, None, item.fmt))
    except graphviz.ExecutableNotFound:
        return report.Skipped(item.name, item.part, f"Graphviz's 'dot' is not installed; {INSTALL}")


def _write(out, items):
    for a in items:
        if hasattr(a, "data"):
            write_atomic(out / a.name, a.data)


def _pdflatex(out):
    """Build report.pdf beside report.tex; returns None, or a note saying why it could not (pdflatex missing)."""
    if shutil.which("pdflatex") is None:
        return PDFLATEX_HINT.format(out=out)
    try:
        pdf = pdflatex(out, "report.tex", out / "report.tex", after=" (the other files are written)")
    except GraphcompError as exc:
        raise GraphcompError(f"report: {exc}") from None
    write_atomic(out / "report.pdf", pdf)
    return None


def _summary(console, out, made, pdf_note):
    table = Table(title=f"graphcomp report → {out}/", box=box.SIMPLE_HEAD, title_justify="left", title_style="bold")
    table.add_column("part", style="cyan", no_wrap=True)
    table.add_column("file", style="bold", no_wrap=True)
    table.add_column("what")
    for a in made:
        table.add_row(a.part, a.name, a.what if hasattr(a, "data") else f"[yellow]not made: {a.why}[/]")
    if pdf_note is None:
        table.add_row("all", "report.pdf", "the write-up, compiled")
    console.print(table)
    console.print(f"[yellow]{pdf_note}[/]" if pdf_note else f"[bold green]Report: {out / 'report.pdf'}[/]")
