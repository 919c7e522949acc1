"""`graphcomp check`: grade a student's hand-filled trace table, row by row, with the likely cause of each mistake."""

from graphcomp.cli import common
from graphcomp.cli.io import same_file
from graphcomp.core.errors import GraphcompError
from graphcomp.frontends import answers
from graphcomp.problems import feedback
from graphcomp.problems.check import TENSOR_MODES, check


def register(sub):
    """Add the `check` sub-command to the CLI's sub-parsers."""
    p = sub.add_parser("check", help="grade a hand-filled trace table (CSV, Markdown, LaTeX or name = number lines)",
                       description="Read a student's trace table and grade every row: correct (within the rounding "
                       "of the digits written, plus --rtol), or the likely cause: carried (right from the student's "
                       "own earlier numbers), rounding, sign, missing contribution, wrong local partial, wrong value; "
                       "and missing or unknown rows. On a tensor graph (fig1.yaml) each node's .v and .d is checked entry "
                       "by entry, given as nested lists, bmatrix/pmatrix or CSV blocks, with the verdicts transposed and "
                       "shape besides. Exit status 0 when every row is right, 1 otherwise, 2 when the "
                       "answers cannot be read. Example: check eq2.yaml --wrt x2 --mode reverse answers.csv")
    common.add_graph_args(p)
    p.add_argument("answers", nargs="?", help="the answer file (.csv, .md, .tex, or name = number lines)")
    p.add_argument("--wrt", help="the input the derivative is taken with respect to (x2)")
    p.add_argument("--mode", choices=("forward", "reverse", "value"), default="reverse",
                   help="forward (tangents v̇), reverse (adjoints v̄, or a tensor graph's .d; the default), or value "
                   "(the evaluation trace's values alone)")
    p.add_argument("--answers-format", choices=answers.FORMATS, help="how to read the answers (default: from the "
                   "extension, else from the first lines)")
    p.add_argument("--rtol", type=float, default=0.0, help="relative tolerance on top of the digits' rounding "
                   "(default: 0)")
    p.add_argument("--digits", type=int, default=4, help="decimals a row should give (default: 4)")
    p.add_argument("--format", choices=feedback.FORMATS, help="rich (the default), markdown, latex or json")
    p.add_argument("-o", "--output", help="write the feedback to this file ('-': standard output)")
    p.set_defaults(run=run, late_positional="answers")


def run(args):
    """Grade the answers; exit status 0 when every row is right, 1 otherwise."""
    if args.answers is None and args.expr and args.spec:
        args.spec, args.answers = None, args.spec  # check --expr "…" ANSWERS
    if args.answers is None:
        raise GraphcompError("name the answer file: check SPEC ANSWERS (or check --expr FORMULA ANSWERS)")
    common.check_digits(args, 12)
    if args.output and args.output != "-" and same_file(args.output, args.answers):
        raise GraphcompError("-o names the answer file itself: the feedback would overwrite the submission; write it "
                             "to another file", file=args.output)
    fmt = common.format_of(args)
    fmt = fmt if fmt in feedback.FORMATS else "rich"  # feedback has no csv: a .csv -o gets the rich table's text
    graph, at = common.load_graph(args)
    if args.mode == "forward" and not graph.scalar:  # said before --wrt is asked for: no --wrt would do
        raise GraphcompError(TENSOR_MODES, file=graph.file)
    if args.mode == "forward" and not args.wrt:
        raise GraphcompError("--mode forward needs --wrt: the input whose tangent is seeded with 1")
    if args.mode == "reverse" and len(graph.outputs) > 1:  # an adjoint trace is of one output; trace gives a column each
        raise GraphcompError(f"check grades the adjoint trace of one output, and this graph has {len(graph.outputs)} "
                             f"({', '.join(graph.output_names)}); grade its forward mode (--mode forward)",
                             file=graph.file)
    t = common.trace(args, graph, at, wrt=common.parse_wrt(args.wrt), mode=args.mode)
    report = check(t, answers.read(args.answers, args.answers_format), digits=args.digits, rtol=args.rtol)
    if fmt == "rich":
        common.emit(args, renderables=feedback.rich_renderables(report))
    else:
        common.emit(args, text=feedback.render(report, fmt))
    return 0 if report.all_right else 1
