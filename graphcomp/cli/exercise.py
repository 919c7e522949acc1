"""`graphcomp exercise`: a seeded variant of a function per student, each with its sheet and its answer key.

DIR/<student>/ holds what is handed out (exercise.md, exercise.tex, answers.csv to fill in, and where Graphviz and
pdflatex are installed graph.png, graph.pdf and exercise.pdf); DIR/keys/ what is kept (<student>.yaml, the spec
`check` grades with, and the filled tables <student>.md, .tex, .csv, .pdf); DIR/index.csv the seed, the point (as
--at takes it: x1=0.8,x2=1.1) and the check command of every student. How the points are drawn:
graphcomp.problems.exercise.
"""
import shutil
import tempfile
from pathlib import Path

import graphviz
import yaml

from graphcomp.cli.common import parse_assignments
from graphcomp.cli.drawing import render
from graphcomp.cli.io import write_atomic
from graphcomp.cli.latex import pdflatex
from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import INPUT
from graphcomp.frontends import formula
from graphcomp.frontends import spec as spec_io
from graphcomp.frontends.limits import read_text
from graphcomp.problems import exercise
from graphcomp.render import sheet, tables
from graphcomp.render.text import csv_lines


def register(sub):
    """Add the `exercise` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser("exercise", help="write a seeded variant of a trace exercise per student, with answer keys",
                       description="For each student (--students FILE, one name a line, or --count N) draw a point "
                       "from a seed derived from --seed and the name, and write the exercise sheet (DIR/NAME/: "
                       "exercise.md, exercise.tex, answers.csv to fill in) and the answer key (DIR/keys/: NAME.yaml, "
                       "the spec to grade with, and the filled tables NAME.md, NAME.tex, NAME.csv), and DIR/index.csv. "
                       "The same command gives byte-identical files. Example: exercise eq2.yaml --seed 7 --students "
                       "roster.txt --wrt x2 -o sheets/; then check sheets/keys/alice.yaml --wrt x2 --mode reverse "
                       "alice_answers.csv")
    p.add_argument("spec", nargs="?", help="YAML spec file; a bare name is looked up in graphs/ (eq2.yaml)")
    p.add_argument("--expr", help='a formula instead of a spec, e.g. "(x1*x2*sin(x3) + exp(x1*x2))/x3"')
    p.add_argument("--order", choices=formula.ORDERS, default="level", help="how --expr numbers its intermediates")
    p.add_argument("--at", help="the base point the variants are drawn around (default: the spec's values, else 1)")
    p.add_argument("--seed", help="the base seed (a whole number, 0 or more); required")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--students", "--roster", dest="students", metavar="FILE",
                     help="the roster: one student name a line (# comments and blank lines skipped)")
    who.add_argument("--count", help="N students, named student01 … studentNN (default: 1)")
    p.add_argument("--inputs", default="3", help="without a spec or --expr, each student gets a random function: "
                   "of this many inputs x1, x2, … (1 to 6; default 3)")
    p.add_argument("--ops", default="8", help="with how many ops (1 to 40; default 8)")
    p.add_argument("--ops-from", default=",".join(exercise.OPS_FROM),
                   help=f"drawn from these (default: {','.join(exercise.OPS_FROM)})")
    p.add_argument("--wrt", help="the input whose derivative is asked for (default: the first input)")
    p.add_argument("--mode", choices=("forward", "reverse", "both"), default="reverse",
                   help="forward (the tangent trace), reverse (the adjoint trace, one step per edge; the default), or "
                   "both: parts (a) and (b) of one sheet, with a table to fill and a key for each")
    p.add_argument("--decimals", default="1", help="decimals of the drawn input values, 0 to 4 (default: 1)")
    p.add_argument("--no-draw", action="store_true", help="do not draw the graph (graph.png, graph.pdf)")
    p.add_argument("--no-pdf", action="store_true", help="do not build exercise.pdf and the keys' PDFs")
    p.add_argument("-o", "--output", help="the folder to write into: a new or empty one (made if missing); required")
    p.set_defaults(run=run)


def _whole(text, what, least):
    try:
        value = int(text)
    except ValueError:
        raise GraphcompError(f"{what}: '{text}' is not a whole number") from None
    if value < least:
        raise GraphcompError(f"{what} must be {least} or more, not {value}")
    return value


def _students(args):
    if args.students is None:
        count = 1 if args.count is None else _whole(args.count, "--count", 1)
        if count > exercise.MAX_STUDENTS:
            raise GraphcompError(f"--count {count}: at most {exercise.MAX_STUDENTS:,} students".replace(",", " "))
        return exercise.count_names(count)
    text = read_text(args.students, "GRAPHCOMP_MAX_SPEC_MB", encoding="utf-8-sig")
    return exercise.roster_names(text, args.students)


def _base(args):
    """The base spec document, its graph and the base point; (None, None, {}) for random functions."""
    at = parse_assignments(args.at) if args.at else {}
    if args.expr and args.spec:
        raise GraphcompError("give either a spec file or --expr, not both")
    if args.expr:
        doc = formula.to_spec(args.expr, at or None, "formula", args.order)
        graph = spec_io.from_dict(doc, file="--expr")
    elif args.spec:
        text = read_text(spec_io.resolve(args.spec), "GRAPHCOMP_MAX_SPEC_MB", shown=args.spec)
        doc = spec_io.parse_text(text, file=args.spec)
        graph = spec_io.from_dict(doc, file=args.spec)
    else:
        return None, None, {}
    where = args.spec or "--expr"
    if not graph.scalar or len(graph.inputs) != len(graph.input_names) or any(
            graph.nodes[i].kind != INPUT for i in graph.inputs):
        raise GraphcompError("exercise takes scalar graphs with scalar inputs only", file=where)
    if len(graph.outputs) > 1:  # its sheet asks for f and ∂f/∂x, and check grades the first output
        raise GraphcompError(f"exercise takes graphs with one output; this one has {len(graph.outputs)}: "
                             f"{', '.join(graph.output_names)}", file=where)
    unknown = sorted(set(at) - set(graph.input_names))
    if unknown:
        raise GraphcompError(f"--at: {', '.join(unknown)} not an input; inputs: {', '.join(graph.input_names)}",
                             file=where)
    values = {graph.nodes[i].name: graph.nodes[i].value for i in graph.inputs}
    base = {k: float(v) for k, v in values.items() if v is not None} | at
    return doc, graph, base


def _folder(path):
    if path is None:
        raise GraphcompError("name the folder to write into: -o DIR")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise GraphcompError("-o must name a folder (it is made if missing), not a file", file=path)
    try:
        full = p.is_dir() and any(p.iterdir())
    except OSError as exc:
        raise GraphcompError(f"cannot read the folder: {exc.strerror or exc}", file=path) from None
    if full:  # a run into it would leave an earlier run's sheets, keys and students beside the new ones
        raise GraphcompError("-o: the folder is not empty (an earlier run's sheets and keys would stay beside the "
                             "new ones); give a new folder, or remove this one first", file=path)
    return p


def _random_shape(args):
    """(inputs, ops, ops_from) of the random functions, checked."""
    n_inputs, n_ops = _whole(args.inputs, "--inputs", 1), _whole(args.ops, "--ops", 1)
    if n_inputs > 6 or n_ops > 40:
        raise GraphcompError("a random function has at most 6 inputs (--inputs) and 40 ops (--ops)")
    ops_from = exercise.random_ops([s.strip() for s in args.ops_from.split(",") if s.strip()])
    if n_inputs > 1 and all(exercise.REGISTRY[op].arity == 1 for op in ops_from):
        raise GraphcompError(f"--ops-from {','.join(ops_from)}: {n_inputs} inputs need an op of two arguments")
    return n_inputs, n_ops, ops_from


def _number(x):
    """x as index.csv gives it: as short as %g, or every digit where %g would round it (a point pastes into --at)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


def _modes(mode):
    return ("forward", "reverse") if mode == "both" else (mode,)


def _answers(name, mode, modes):
    """Where a student's table to fill is: NAME/answers.csv, or NAME/answers_MODE.csv for --mode both."""
    return f"{name}/answers.csv" if len(modes) == 1 else f"{name}/answers_{mode}.csv"


def _variant(args, name, own, decimals, taken, shape, graph, doc, base, wrt):
    """(spec text, its traces as check reads them, one per mode, the point) of one student."""
    if graph is None:
        doc, graph, point = exercise.random_variant(own, *shape, args.mode, decimals, taken, wrt)
        source = f"a random function (--inputs {shape[0]} --ops {shape[1]} --ops-from {','.join(shape[2])})"
    else:
        point, _ = exercise.draw_point(graph, base, own, wrt, args.mode, decimals, taken)
        source = f"--expr {args.expr!r}" if args.expr else args.spec
    modes = _modes(args.mode)
    text = (f"# graphcomp exercise: the variant of {source} for {name} (student seed {own}, from --seed {args.seed})\n"
            + "".join(f"# grade with: graphcomp check keys/{name}.yaml --wrt {wrt} --mode {m} "
                      f"{'ANSWERS' if len(modes) == 1 else _answers(name, m, modes)}\n" for m in modes)
            + yaml.safe_dump(exercise.spec_doc(graph, doc, point, name), sort_keys=False,
                             default_flow_style=None, allow_unicode=True, width=100))
    variant = exercise.load_variant(text, f"keys/{name}.yaml")
    return text, [variant.trace(wrt=wrt, mode=m) for m in modes], point


PREAMBLE = ("\\documentclass[10pt]{article}\n\\usepackage[margin=1in]{geometry}\n"
            "\\usepackage{booktabs,amsmath,amssymb,graphicx}\n\\pagestyle{empty}\n\\begin{document}\n")
NO_DOT = "no drawings: Graphviz's 'dot' is not on PATH (Debian: apt-get install graphviz)"
NO_PDFLATEX = "no PDFs: pdflatex is not installed (Debian: apt-get install texlive-latex-base texlive-latex-recommended)"


def _drawings(graph, cache):
    """{file name: bytes} of the graph's drawing without numbers (PNG and PDF), or None without Graphviz."""
    key = tuple((n.name, n.op, tuple(n.args)) for n in graph.nodes)
    if key not in cache:
        try:
            cache[key] = {f"graph.{fmt}": render(graph, None, fmt) for fmt in ("png", "pdf")}
        except graphviz.ExecutableNotFound:
            cache[key] = None
    return cache[key]


def _pdf(body, extra, what):
    """The PDF of `body` (LaTeX) set in a plain article, with the files of `extra` beside it; same bytes each run."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in extra.items():
            Path(tmp, name).write_bytes(data)
        Path(tmp, "doc.tex").write_text(PREAMBLE + body + "\n\\end{document}\n", encoding="utf-8")
        return pdflatex(tmp, "doc.tex", what, after="; nothing was written")


def _extras(args, name, traces, wrt, title, cache, notes):
    """The drawings and PDFs of one student, as far as Graphviz and pdflatex are installed and asked for."""
    out = Path(args.output)
    files, drawn = {}, None
    if not args.no_draw:
        drawn = _drawings(traces[0].graph, cache)
        if drawn is None:
            notes.add(NO_DOT)
        else:
            files |= {out / name / f: data for f, data in drawn.items()}
    if args.no_pdf:
        return files
    if shutil.which("pdflatex") is None:
        notes.add(NO_PDFLATEX)
        return files
    figure = ("\n\n\\medskip\\noindent\\includegraphics[width=\\linewidth,height=0.3\\textheight,"
              "keepaspectratio]{graph.pdf}\n") if drawn else ""
    files[out / name / "exercise.pdf"] = _pdf(sheet.sheet_latex(traces, wrt, title) + figure, drawn or {},
                                              f"{name}'s exercise")
    files[out / "keys" / f"{name}.pdf"] = _pdf(sheet.key_latex(traces, wrt, title), {}, f"{name}'s key")
    return files


def run(args):
    """Write every student's sheet and key, and the index (all drawn before anything is written); exit status 0."""
    if args.seed is None:
        raise GraphcompError("give the base seed: --seed S (a whole number; keep it to regenerate the same files)")
    seed = args.seed = _whole(args.seed, "--seed", 0)
    decimals = _whole(args.decimals, "--decimals", 0)
    if decimals > 4:
        raise GraphcompError(f"--decimals must be 4 or less, not {decimals}")
    out = _folder(args.output)
    names = _students(args)
    doc, graph, base = _base(args)
    shape = _random_shape(args) if graph is None else None
    inputs = [f"x{k}" for k in range(1, shape[0] + 1)] if graph is None else graph.input_names
    wrt = args.wrt or inputs[0]
    if wrt not in inputs:
        raise GraphcompError(f"--wrt: '{wrt}' is not an input; inputs: {', '.join(inputs)}")
    files, index, taken, cache, notes = {}, [], set(), {}, set()
    modes = _modes(args.mode)
    for name in names:
        own = exercise.student_seed(seed, name)
        text, traces, point = _variant(args, name, own, decimals, taken, shape, graph, doc, base, wrt)
        taken.add(tuple(point.values()))
        title = f"Exercise {(graph or traces[0].graph).name}: {name}"
        files |= {out / name / "exercise.md": sheet.sheet_markdown(traces, wrt, title),
                  out / name / "exercise.tex": sheet.sheet_latex(traces, wrt, title),
                  out / "keys" / f"{name}.yaml": text,
                  out / "keys" / f"{name}.md": sheet.key_markdown(traces, wrt, title),
                  out / "keys" / f"{name}.tex": sheet.key_latex(traces, wrt, title)}
        for m, t in zip(modes, traces):  # a table to fill and its key per mode
            files[out / _answers(name, m, modes)] = sheet.blank_csv(t)
            files[out / "keys" / (f"{name}.csv" if len(modes) == 1 else f"{name}_{m}.csv")] = tables.csv_text(t)
        files |= _extras(args, name, traces, wrt, title, cache, notes)
        check = " ; ".join(f"graphcomp check keys/{name}.yaml --wrt {wrt} --mode {m} {_answers(name, m, modes)}"
                           for m in modes)
        index.append([name, own, ",".join(f"{k}={_number(v)}" for k, v in point.items()), f"{name}/",
                      f"keys/{name}.yaml", check])
    files[out / "index.csv"] = csv_lines([["student", "seed", "point", "sheet", "key", "check"], *index])
    for path, content in files.items():
        write_atomic(path, content)
    what = graph.name if graph else "a random function"
    print(f"wrote {len(names)} variant{'s' if len(names) != 1 else ''} of {what} to {out}/ "
          f"(sheets in {out}/NAME/, keys in {out}/keys/, seeds in {out}/index.csv)")
    for note in sorted(notes):
        print(note)
    return 0
