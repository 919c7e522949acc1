"""The limits every way in enforces before doing the work, and reading a file within them.

Each limit is a number here and an environment variable that raises it (README, "Limits").
A file is read only when it is a regular file, and never past its limit: a FIFO, a device
(/dev/zero) or a file over the limit is refused before a byte is read.
"""
import math
import os
import stat

from graphcomp.core.errors import GraphcompError

MB = 2**20
LIMITS = {  # name: (default, what it bounds)
    "GRAPHCOMP_MAX_SPEC_MB": (128, "MiB in a spec file"),
    "GRAPHCOMP_MAX_VALUES": (10_000_000, "scalar values in a spec, aliases expanded"),
    "GRAPHCOMP_MAX_ENTRIES": (10_000_000, "entries in one array"),
    "GRAPHCOMP_MAX_NPZ_MB": (1024, "MiB in an .npz file or in the arrays it declares"),
    "GRAPHCOMP_MAX_FORMULA_CHARS": (1_000_000, "characters in a formula"),
    "GRAPHCOMP_MAX_ANSWERS_MB": (256, "MiB in an answer file"),
    "GRAPHCOMP_MAX_MARKUP_LINES": (5_000, "lines in a Markdown or LaTeX answer file (read whole; CSV and "
                                   "name = number lines are read as a stream, with no such limit)"),
    "GRAPHCOMP_MAX_ANSWER_ENTRIES": (5_000_000, "entries (fields, numbers) in one line of a CSV or name = number "
                                     "answer file, counted as the separators between them"),
    "GRAPHCOMP_MAX_MARKUP_ENTRIES": (200_000, "entries (cells, numbers) in a Markdown or LaTeX answer file, counted "
                                     "as the separators between them (a parsed cell costs far more than a CSV field)"),
    # a command's work, estimated from the graph before it runs (graphcomp.cli.sizes, where the measurements are)
    "GRAPHCOMP_MAX_JACOBIAN_WORK": (10_000_000, "node entries swept (jacobian: n + m sweeps, each over every node)"),
    "GRAPHCOMP_MAX_HESSIAN_WORK": (1_000_000, "node entries swept on dual numbers (hessian: a sweep pair per column)"),
    "GRAPHCOMP_MAX_FD_WORK": (30_000_000, "node entries evaluated by finite differences (verify: about 6 "
                              "evaluations per input entry)"),
    "GRAPHCOMP_MAX_MATRIX_ENTRIES": (1_000_000, "entries in a dense Jacobian or Hessian"),
    "GRAPHCOMP_MAX_DRAW_NODES": (8_000, "boxes and edge bends for Graphviz to lay out (the nodes, plus a bend for "
                                 "each layer an edge crosses)"),
    "GRAPHCOMP_MAX_FRAME_NODES": (600, "node drawings in an animation (nodes × frames)"),
    "GRAPHCOMP_MAX_TERMINAL_ROWS": (1_000, "rows of a trace table printed in the terminal"),
}
MAX_DEPTH = 32  # nesting levels in a spec; the deepest one needs is 5 (top, nodes, a node, value, a row)
MAX_RANK = 2  # tensors are shown as scalars, vectors and matrices: in text, LaTeX and drawings alike


def limit(name):
    """The limit `name` (a key of LIMITS): its environment variable if set to a positive integer, else the default."""
    default, _ = LIMITS[name]
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise GraphcompError(f"{name}={text!r} must be a positive whole number")
    return value


def over(name, amount, *, file=None, node=None, key=None, asked=None, instead=None):
    """The one-line GraphcompError for `amount` over the limit `name`, saying how to raise it (after what was
    `asked` and what to do `instead`, when given)."""
    _, what = LIMITS[name]
    head = f"{asked}: " if asked else ""
    tail = f"{instead}, or raise the limit with {name}=N" if instead else f"raise it with {name}=N if this is meant"
    return GraphcompError(f"{head}{amount:,} {what}, over the limit of {limit(name):,}; {tail}", file=file, node=node,
                          key=key)


def check_work(name, amount, asked, instead, *, file=None):
    """Refuse `amount` over the limit `name`: a GraphcompError saying what was `asked`, the limit, and `instead`."""
    if amount > limit(name):
        raise over(name, amount, file=file, asked=asked, instead=instead)


def check_entries(shape, *, file=None, node=None, key=None):
    """Refuse an array shape with more than MAX_RANK dimensions or more entries than GRAPHCOMP_MAX_ENTRIES."""
    if len(shape) > MAX_RANK:
        raise GraphcompError(f"an array of {len(shape)} dimensions {list(shape)}; graphcomp supports scalars, vectors "
                             f"and matrices (0 to {MAX_RANK} dimensions)", file=file, node=node, key=key)
    entries = math.prod(shape)
    if entries > limit("GRAPHCOMP_MAX_ENTRIES"):
        raise over("GRAPHCOMP_MAX_ENTRIES", entries, file=file, node=node, key=key)


def regular_file(path, limit_name, *, shown=None):
    """An open binary file object for `path`, checked to be a regular file within the size limit `limit_name` (MiB).

    Opened without blocking (a FIFO with no writer would hang the open itself); a directory, FIFO,
    device or socket, a missing or unreadable file, and one over the limit are GraphcompErrors.
    """
    shown = path if shown is None else shown
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise GraphcompError(f"cannot read: {exc.strerror or exc}", file=shown) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, pipe or socket)"
            raise GraphcompError(f"cannot read: it is {kind}; only regular files are read", file=shown)
        if st.st_size > limit(limit_name) * MB:
            raise over(limit_name, -(-st.st_size // MB), file=shown)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path, limit_name, *, shown=None):
    """The bytes of the regular file `path`, within the limit `limit_name` (a file that grows as it is read is refused)."""
    with regular_file(path, limit_name, shown=shown) as fh:
        size = os.fstat(fh.fileno()).st_size  # within the limit: regular_file checked it
        data = fh.read(size + 1)  # not read(limit): that would set the whole limit aside first
    if len(data) > size:
        raise GraphcompError("cannot read: the file grew while it was read", file=path if shown is None else shown)
    return data


def read_text(path, limit_name, *, shown=None, encoding="utf-8", error=GraphcompError):
    """read_bytes decoded; bytes that do not decode are an `error` (GraphcompError or a subclass) saying which."""
    try:
        return read_bytes(path, limit_name, shown=shown).decode(encoding)
    except UnicodeDecodeError as exc:
        where = path if shown is None else shown
        raise error(f"not UTF-8 text (byte {exc.start + 1} cannot be decoded)", file=where) from None
