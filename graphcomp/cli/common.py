"""What the commands share: arguments naming a graph and its inputs, reading data, writing output."""
import argparse
import io
import os
import re
import sys
from pathlib import Path

import numpy as np
from rich.console import Console

from graphcomp.cli.io import is_stream, write_all
from graphcomp.core.errors import GraphcompError
from graphcomp.core.labels import shorten
from graphcomp.core.values import DISTS, SEEDS, parse_float
from graphcomp.frontends import arrays, formula, spec
from graphcomp.ops.kits import BACKENDS
from graphcomp.render.tables import FORMATS


def add_graph_args(p):
    """Arguments naming a graph (spec file or --expr) and its input values."""
    p.add_argument("spec", nargs="?", help="YAML spec file; a bare name is looked up in graphs/ (eq2.yaml)")
    p.add_argument("--expr", help='a formula instead of a spec, e.g. "(x1*x2*sin(x3) + exp(x1*x2))/x3" '
                   '(one that starts with "-" goes as --expr="-x/2")')
    p.add_argument("--order", choices=formula.ORDERS, default="level", help="how --expr numbers its intermediates: "
                   "level (as the textbooks: an op takes the next number once its arguments have theirs; the default) "
                   "or formula (the formula's post-order)")
    p.add_argument("--at", help="input values, e.g. x1=1,x2=1.5,x3=2 (override the spec's)")
    p.add_argument("--data", help=".npz file whose arrays set inputs by name (and give --expr's inputs their shapes)")
    add_formula_args(p)
    p.add_argument("--seed", type=seed_arg, help="random seed for inputs drawn at random and random directions")
    p.add_argument("--dist", choices=DISTS, help="distribution of the tensor inputs drawn at random (default: the spec's)")


def add_formula_args(p):
    """--shape and --fixed: what a formula's inputs are, beyond their names."""
    p.add_argument("--shape", help="with --expr: shapes of tensor inputs, e.g. W1=3x2,x=2 (sizes joined by x)")
    p.add_argument("--fixed", help="with --expr: inputs held fixed as data (kind: data), not differentiated, e.g. x,y")


def formula_inputs(args):
    """(shapes, fixed) of a formula's inputs from --shape, --data's arrays (their headers) and --fixed."""
    shapes = arrays.npz_shapes(args.data) if getattr(args, "data", None) else {}
    for name, shape in (parse_shapes(args.shape) if args.shape else {}).items():
        if shapes.get(name, shape) != shape:
            raise GraphcompError(f"--shape {name}={'x'.join(map(str, shape))}, but the array has shape "
                                 f"{'x'.join(map(str, shapes[name])) or 'scalar'}", file=args.data, node=name)
        shapes[name] = shape
    fixed = [s.strip() for s in args.fixed.split(",") if s.strip()] if args.fixed else None
    return shapes, fixed


def parse_shapes(text):
    """'W1=3x2,x=2' → {'W1': (3, 2), 'x': (2,)}; anything else is a GraphcompError."""
    out = {}
    for part in filter(None, (s.strip() for s in text.split(","))):
        name, eq, sizes = (s.strip() for s in part.partition("="))
        dims = sizes.split("x")
        if not eq or not name or not all(d.strip().isdigit() and int(d) > 0 for d in dims):
            raise GraphcompError(f"--shape: '{part}' is not of the form name=sizes (e.g. --shape W1=3x2,x=2)")
        if name in out:
            raise GraphcompError(f"--shape: '{name}' is given twice")
        out[name] = tuple(int(d) for d in dims)
    if not out:
        raise GraphcompError("--shape is empty; give it as name=3x2,name=2")
    return out


SUFFIXES = {".tex": "latex", ".md": "markdown", ".csv": "csv", ".json": "json"}
PICTURES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".gif")


def add_backend_args(p):
    """--backend and --device: the array library the sweeps run on."""
    p.add_argument("--backend", choices=BACKENDS, help="numpy (default) or torch: the same sweeps on torch tensors")
    p.add_argument("--device", help="with --backend torch: cpu (default), cuda, cuda:1, …")


def add_output_args(p):
    """--format, --digits and -o."""
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the extension of -o, "
                   ".tex .md .csv .json, else rich)")
    add_digits_arg(p)
    p.add_argument("-o", "--output", help="write to this file instead of the terminal ('-': standard output); "
                   "a symlink is written through")


def add_digits_arg(p):
    """--digits, the decimals every number is shown with."""
    p.add_argument("--digits", type=int, default=4, help="decimals shown (default: 4)")


def check_digits(args, most=16):
    """A one-line error unless --digits is between 0 and `most`."""
    if not 0 <= args.digits <= most:
        raise GraphcompError(f"--digits must be between 0 and {most}")


def output_format(args):
    """format_of(args), after checking --digits."""
    check_digits(args)
    return format_of(args)


def format_of(args):
    """The --format asked for, else the one the extension of -o names, else rich; an empty -o, or one named as a
    picture (a table is text), is a GraphcompError."""
    check_output(args.output)
    return args.format or SUFFIXES.get(Path(args.output or "").suffix.lower(), "rich")


def check_output(output, what="-o"):
    """A GraphcompError if `output` (a text output's -o) is empty or ends as a picture file does."""
    if output is None:
        return
    if not output.strip():
        raise GraphcompError(f"{what} is empty: give a file name, or '-' for standard output")
    suffix = Path(output).suffix.lower()
    if suffix in PICTURES:
        raise GraphcompError(f"{what} writes text, not a picture ({suffix}): give a .tex, .md, .csv or "
                             f".json file (or another name for the terminal's text), or '-' (pictures: --plot, "
                             "`draw`)", file=output)


def seed_arg(text):
    """argparse type for --seed: a whole number from 0 to 2³² − 1, as numpy.random.seed takes."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 <= value < SEEDS:
        raise argparse.ArgumentTypeError(f"a seed is from 0 to {SEEDS - 1} (numpy.random.seed's range), not {value}")
    return value


def parse_assignments(text, what="--at"):
    """'x1=1,x2=1.5' → {'x1': 1.0, 'x2': 1.5}; anything else is a GraphcompError."""
    out, before = {}, None
    parts = [s.strip() for s in text.split(",")]
    if "" in parts[:-1]:  # a trailing comma is harmless; one between items may be a value left out
        raise GraphcompError(f"{what}: an empty item between commas in '{shorten(text)}' (e.g. {what} x1=1,x2=1.5)")
    for part in filter(None, parts):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name:
            comma = (f"; if the comma is a decimal comma, write {shorten(before + '.' + part)}"
                     if part.isdigit() and before and before.strip().lstrip("+-").isdigit() else "")
            raise GraphcompError(f"{what}: '{shorten(part)}' is not of the form name=value (e.g. {what} x1=1,x2=1.5)"
                                 f"{comma}")
        if name in out:
            raise GraphcompError(f"{what}: '{shorten(name)}' is given twice")
        try:
            out[name] = parse_float(value)
        except ValueError as exc:
            semicolon = "; separate the values with commas: x1=1,x2=2" if ";" in value and "=" in value else ""
            raise GraphcompError(f"{what}: {exc} (in '{shorten(part)}'){semicolon}") from None
        before = value
        if not np.isfinite(out[name]):
            raise GraphcompError(f"{what}: '{shorten(part)}' is not a finite number")
    if not out:
        raise GraphcompError(f"{what} is empty; give it as name=value,name=value")
    return out


def parse_wrt(text):
    """'x2' → 'x2'; 'x1,x2' → ['x1', 'x2']; 'x1=1,x2=0.5' → a direction dict."""
    if text is None:
        return None
    if "=" in text:
        return parse_assignments(text, "--wrt")
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise GraphcompError("--wrt is empty")
    return names[0] if len(names) == 1 else names


_FORMULA = re.compile(r"[()*+^=]|\s")  # what a spec file's name seldom holds and a formula does


def load_graph(args):
    """The graph named by a spec argument or --expr."""
    at = parse_assignments(args.at) if args.at else None
    if args.expr is not None and not args.expr.strip():
        raise GraphcompError("--expr is empty: give a formula, e.g. --expr \"sin(x1) * x2\"")
    if args.expr and args.spec:
        raise GraphcompError("give either a spec file or --expr, not both")
    if args.expr:
        shapes, fixed = formula_inputs(args)
        return formula.parse(args.expr, at=at, order=args.order, shapes=shapes, fixed=fixed), None
    if not args.spec:
        raise GraphcompError("name a spec file (e.g. eq2.yaml) or give --expr")
    if args.shape or args.fixed:
        raise GraphcompError("--shape and --fixed describe the inputs of --expr; a spec says them itself")
    if _FORMULA.search(args.spec):  # found nowhere, such a name was meant as a formula
        try:
            spec.resolve(args.spec)
        except GraphcompError:
            raise GraphcompError(f"no spec file '{shorten(args.spec)}': it reads as a formula, which goes after "
                                 f"--expr: --expr \"{shorten(args.spec)}\"") from None
    graph = spec.load(args.spec)
    unknown = sorted(set(at or {}) - set(graph.input_names))
    if unknown:
        raise GraphcompError(f"--at: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not an input; "
                             f"inputs: {', '.join(graph.input_names)}", file=graph.file)
    return graph, at

TEXT_WIDTH = 120  # columns of a table written to a file or a pipe


def emit(args, text=None, renderables=None, also=()):
    """Write text (a str, or an iterable of str pieces) to -o FILE (atomically; '-' is standard output) or print it;
    rich renderables go to the console. `also` holds more (path, data) to write: all are written or none.
    A 'wrote FILE' line goes where the table goes, or to stderr when the table goes to standard output as text."""
    also = list(also)
    if text is None and not args.output:
        write_all(also)  # the files first: a table printed on the terminal is never half a result
        console = Console()
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(width=TEXT_WIDTH)  # `> table.txt` writes what -o table.txt does, not 80 columns
        console.on_broken_pipe = _reader_stopped
        for r in renderables:
            console.print(r)
        _wrote([path for path, _ in also], sys.stdout)
        return
    if text is None:
        console = Console(record=True, width=TEXT_WIDTH, file=io.StringIO())
        for r in renderables:
            console.print(r)
        text = console.export_text()
    out = args.output or "-"
    write_all(also + [(out, text)])
    _wrote([path for path, _ in also] + [out], sys.stderr if is_stream(out) else sys.stdout)


def _reader_stopped():
    """rich's hook for a closed pipe (it would exit with status 1): main's ending, as every format has."""
    raise BrokenPipeError

def _wrote(paths, stream):
    for path in paths:
        if not is_stream(path):
            print(f"wrote {path}", file=stream, flush=True)


def read_data(args, graph):
    """The arrays of --data as {input name: array}, or None; each checked from its header against the input it names
    (an error names the .npz file and the array)."""
    if args.data is None:
        return None
    return arrays.read_npz(args.data, {graph.nodes[i].name: graph.nodes[i].shape for i in graph.inputs})


def data_source(args, graph):
    """Where the tensor inputs came from, in words: the .npz file, or the numpy calls that drew them, a line each
    (Python to paste, never wrapped)."""
    if args.data:
        return f"from {args.data}"
    if not any(n.op is None and n.shape and n.value is None for n in graph.nodes):
        return ""
    return "drawn as\n" + "\n".join("    " + line for line in graph.draw_calls(args.seed, args.dist))


def chosen_direction(args, t):
    """'forward mode along x1: --wrt chooses' when the tangents ran along inputs no --wrt named, else ''."""
    took = list(t.direction) if t is not None and not args.wrt else []
    return f"forward mode along {', '.join(took)}: --wrt chooses" if took else ""

def trace(args, graph, at, **kw):
    """graph.trace with the inputs the command line gives (--at, --data, --seed)."""
    backend = {"backend": getattr(args, "backend", None), "device": getattr(args, "device", None)}
    return graph.trace(at=at, seed=args.seed, dist=args.dist, data=read_data(args, graph), **backend, **kw)
