"""A student's hand-filled trace table, read from CSV, Markdown, LaTeX or plain lines: (row name, number) pairs.

Reading knows nothing of graphs: each entry keeps the name as written, normalised to a key (x2, v-1, and the
accent that makes it a tangent or an adjoint), the number — or, for a tensor node's .v or .d, the array —, and
how many decimals were written. Matching names to nodes and grading is graphcomp.problems.check. Documents are
parsed by the csv module, markdown-it-py and pylatexenc (whose LaTeX-to-Unicode conversion turns \\bar{v}_{1}
into v̅_1; its walker splits a bmatrix or pmatrix into entries); the regular expressions here only read one
name or one number, and a nested list is read by a tokenizer.

An answer file is read as a stream: CSV and plain lines line by line, in time linear in the file's size and in
memory that does not grow with it; Markdown and LaTeX whole (up to GRAPHCOMP_MAX_MARKUP_LINES lines). Iterating
an Answers gives its entries; the lines that could not be read are counted, the first LIST_CAP of them kept.

Tensors are written as nested lists (`W1.d = [[0.1, 0.2], [0.3, 0.4]]`, commas or spaces between entries, over
several lines if need be), a bmatrix or pmatrix (`W_1.d = \\begin{bmatrix} 0.1 & 0.2 \\\\ 0.3 & 0.4
\\end{bmatrix}`, in plain lines, in a table's cell or in a LaTeX document's math), or in CSV as blocks: a line
holding only the node's name and field (`W1.d`), then one line per matrix row (a vector: one line, or one entry
a line; a scalar: one number); a blank line or the next name ends the block.
"""
import csv
import io
import itertools
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
from markdown_it import MarkdownIt
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import (
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexSpecialsNode,
    LatexWalker,
    get_default_latex_context_db,
)

from graphcomp.core.errors import GraphcompError
from graphcomp.core.labels import SUBSCRIPTS, SUPERSCRIPTS, shorten
from graphcomp.frontends.limits import check_entries, limit, over, regular_file

FORMATS = ("csv", "markdown", "latex", "lines")
SUFFIXES = {".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".tex": "latex"}

VALUE, TANGENT, ADJOINT, DERIVATIVE = "value", "tangent", "adjoint", "derivative"  # DERIVATIVE: the mode's
LIST_CAP = 50  # unreadable lines (and, in check, unknown rows) listed; the rest are counted
MAX_COLUMNS = 64  # columns a CSV header may name: the formats have at most 8 (a tensor's numbers are in one field)
HEAD = 65536  # bytes looked at to tell the format, binary data and an empty file


class Entry(NamedTuple):
    """One number (or array) the student wrote: the row's name as written, its key (e.g. 'v-1'), its kind, the
    text, the value (a float, or a numpy array shaped as written), and the decimals written (an int, or an array
    of ints beside the value's entries); `seed`, the input whose tangent column it is in when a table has one per
    seed (tangent:x1, ∂/∂x₁), else None; `unread`, why a number with a decimal comma could not be read (value and
    decimals None)."""

    line: int
    name: str
    key: str
    kind: str
    text: str
    value: object
    decimals: object
    seed: str | None = None
    unread: str = ""

    @property
    def tensor(self):
        """Whether the student wrote an array (a list or a matrix), not a number."""
        return isinstance(self.value, np.ndarray)


class Answers:
    """What an answer file holds, read as it is iterated: iterating gives its entries (and raises a
    GraphcompError at the end if there were none); `unreadable` then lists the first LIST_CAP lines that could
    not be read [(line, text, why)] and `unreadable_count` counts them all."""

    def __init__(self, file, fmt, lines):
        self.file, self.format, self._lines = str(file), fmt, lines
        self.unreadable, self.unreadable_count = [], 0

    def bad(self, line, text, why):
        """Note a line that could not be read."""
        self.unreadable_count += 1
        if len(self.unreadable) < LIST_CAP:
            self.unreadable.append((line, text.strip()[:80], why))

    def __iter__(self):
        self.unreadable, self.unreadable_count, n = [], 0, 0
        try:
            for entry in _READERS[self.format](_counted(self._lines(), self), self):
                n += not entry.unread  # a file of decimal commas alone is one that cannot be read
                yield entry
        except RecursionError:  # pylatexenc's parser recurses once per level of nesting
            raise GraphcompError("LaTeX nested too deep to read (braces or environments hundreds of levels deep)",
                                 file=self.file) from None
        if n == 0:
            if self.unreadable:
                line, shown, why = self.unreadable[0]
                rest = self.unreadable_count - 1
                more = f" (and {spaced(rest)} more unreadable line{'s' * (rest != 1)})" if rest else ""
                raise GraphcompError(f"line {line}: {why}: '{shown}'{more}", file=self.file)
            raise GraphcompError(f"no answers found (read as {self.format})", file=self.file)


# what separates entries: a comma, semicolon, &, |, [ or ( (with the spaces around it), LaTeX's \\\\, or spaces;
# possessive, so that a long run of spaces is matched once, in linear time
_SEPARATORS = re.compile(r"\s*+(?:[,;&|\[(]|\\\\)\s*|\s+")


def _counted(lines, out):
    """The lines, each passed on once its entries are counted within GRAPHCOMP_MAX_ANSWER_ENTRIES (CSV and name =
    number lines, read as a stream: a line's) or those of the file so far within GRAPHCOMP_MAX_MARKUP_ENTRIES
    (Markdown and LaTeX, read whole); separators counted on the raw text, before a reader builds a list of its
    fields or cells, at most the limit's count of them, so a line of millions of fields costs no more than that."""
    whole = out.format in ("markdown", "latex")
    name = "GRAPHCOMP_MAX_MARKUP_ENTRIES" if whole else "GRAPHCOMP_MAX_ANSWER_ENTRIES"
    cap, n = limit(name), 0
    for k, line in enumerate(lines, 1):
        n = n if whole else 0
        n += sum(1 for _ in itertools.islice(_SEPARATORS.finditer(line), cap - n + 1))
        if n > cap:
            where = "by this line" if whole else "in this line"
            raise GraphcompError(f"line {k}: more than {cap:,} entries (fields, cells, numbers) {where}, over the "
                                 f"limit; raise it with {name}=N if this is meant", file=out.file)
        yield line


def spaced(n):
    """A count with its thousands spaced: 999 950."""
    return f"{n:,}".replace(",", " ")


# ---- one name, one number, one array --------------------------------------------------------------------------

# a subscript or superscript digit or sign as its plain one, and the minus and dash as '-'
_SUBSCRIPTS = str.maketrans(SUBSCRIPTS[1][:12] + SUPERSCRIPTS[1][:11] + "−–",
                            SUBSCRIPTS[0][:12] + SUPERSCRIPTS[0][:11] + "--")
_MARKS = (("\u0304", ADJOINT), ("\u0305", ADJOINT), ("\u0307", TANGENT),  # accents, then LaTeX's commands
          ("\\bar", ADJOINT), ("\\overline", ADJOINT), ("\\dot", TANGENT))
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-?\d+)?|-?\d+")
_WORDED = re.compile(r"([A-Za-z])(bar|dot)(-?\d+)")  # vbar-1, vdot1 (after _ and braces are gone)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?")
_COMMA = re.compile(r"[+-]?\d+,\d+")
# a × 10^b as LaTeX writes it (3.0000 \cdot 10^{12}, the tool's own; pylatexenc's text 3.0000 ·10^12), or with
# \times, × or ⋅, its noise (spaces, $) removed
_SCI = re.compile(r"([+-]?(?:\d+(?:\.(\d*))?|\.(\d+)))(?:\\cdot|\\times|[·⋅×])10\^(?:\{([+-]?\d+)\}|([+-]?\d+))")
_NAME_NOISE = re.compile(r"[\s_{}$\\]")
_NUMBER_NOISE = re.compile(r"[\s$]")
_LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)
_CONTEXT = get_default_latex_context_db()  # built once: pylatexenc builds it again for every walker otherwise


def _walker(tex):
    return LatexWalker(tex, latex_context=_CONTEXT, tolerant_parsing=True)
# a cell that holds no number: blank, or the tool's dash for data
NONE = ("", "—", "–", "-", "--", "$--$", "$-$", "$\\text{--}$")


def latex_text(tex):
    """LaTeX → Unicode by pylatexenc (\\bar{v}_{1} → v̅_1, $-1.5$ → -1.5); plain text passes through."""
    if "\\" not in tex and "$" not in tex:
        return tex
    try:
        return _LATEX.nodelist_to_text(_walker(tex).get_latex_nodes()[0])
    except Exception:  # pylatexenc raises on malformed input; the text as written is then read as it is
        return tex.replace("$", "")


def _worded(s, kind):
    m = _WORDED.fullmatch(s)
    if m and kind == VALUE:
        return m.group(1) + m.group(3), ADJOINT if m.group(2) == "bar" else TANGENT
    return s, kind


def name_key(text):
    """(key, kind) of a row's name, or None if it is not a name: 'v̄₋₁' → ('v-1', 'adjoint'),
    'vdot1' → ('v1', 'tangent'), 'v_{-2}' → ('v-2', 'value'), 'W1.d' → ('W1', 'derivative'), '-2' → ('-2', 'value'),
    'x2_bar' → ('x2', 'adjoint')."""
    s = text.strip()
    if _NAME.fullmatch(s):  # the common case, v1 or x2, without the work below
        return _worded(s, VALUE)
    s = s.translate(_SUBSCRIPTS)
    kind = VALUE
    for mark, k in _MARKS:
        if mark in s:
            s, kind = s.replace(mark, ""), k
    if s.endswith(".d"):
        s, kind = s[:-2], DERIVATIVE
    elif s.endswith(".v"):
        s = s[:-2]
    elif s.endswith(("_bar", "_dot")) and kind == VALUE:  # the names `graphcomp code` gives: x2_bar, v1_dot
        s, kind = s[:-4], ADJOINT if s.endswith("_bar") else TANGENT
    s, kind = _worded(_NAME_NOISE.sub("", s), kind)
    return (s, kind) if _NAME.fullmatch(s) else None


def _decimals(m):
    after, bare, exponent = m.groups()
    written = len(after or bare or "")
    return written if exponent is None else max(written - int(exponent), 0)


def number(text):
    """(value, decimals written) of a number as written ('−1.7735', '2.6955e0', '.5'), None if it is not one;
    a decimal comma ('1,5') is a GraphcompError saying so."""
    m = _NUMBER.fullmatch(text.strip())
    if m:  # the common case, 1.5000, without the work below
        return float(m.group(0)), _decimals(m)
    s = _NUMBER_NOISE.sub("", text).translate(_SUBSCRIPTS).lstrip("=≈").replace("\\approx", "")
    m = _NUMBER.fullmatch(s)
    if m:
        return float(s), _decimals(m)
    sci = _SCI.fullmatch(s)
    if sci:
        mantissa, after, bare, exponent, digit = sci.groups()
        power = int(exponent if exponent is not None else digit)
        return float(f"{mantissa}e{power}"), max(len(after or bare or "") - power, 0)
    if _COMMA.fullmatch(s):
        raise GraphcompError(f"'{text.strip()}' has a decimal comma; write {s.replace(',', '.')}")
    return None


def _looks_numeric(text):
    s = _NUMBER_NOISE.sub("", text).translate(_SUBSCRIPTS)
    return bool(s) and any(c.isdigit() for c in s) and (not re.search(r"[A-DF-Za-df-z]", s) or bool(_SCI.fullmatch(s)))


_MATRICES = ("bmatrix", "pmatrix", "matrix", "Bmatrix", "vmatrix", "smallmatrix")
_TRANSPOSED = re.compile(r"\s*(?:\^\s*(?:\{\s*)?(?:\\top|\\intercal|T|\\mathsf\{T\}|\\mathrm\{T\})\s*\}?|ᵀ)\s*")
_TOKENS = re.compile(r"[\[\](),;]|[^\s\[\](),;]+")


def _array(rows, text):
    """(array, decimals) from rows of number texts, checked to be a rectangle within the limits."""
    widths = {len(r) for r in rows}
    if not rows or not max(widths):
        raise GraphcompError(f"an empty matrix in '{shorten(text)}'")
    if len(widths) > 1:
        raise GraphcompError(f"rows of {' and '.join(map(str, sorted(widths)))} entries in '{shorten(text)}'")
    check_entries((len(rows), max(widths)))
    parsed = [[number(x) for x in r] for r in rows]
    bad = next((x for r, row in zip(rows, parsed) for x, p in zip(r, row) if p is None), None)
    if bad is not None:
        raise GraphcompError(f"'{shorten(bad)}' is not a number")
    return np.array([[p[0] for p in row] for row in parsed], float), np.array([[p[1] for p in row] for row in parsed])


def _nested(text):
    """(array, decimals) of a nested list as written: [1, 2], [[1, 2], [3, 4]], numpy's [[1 2] [3 4]]; ᵀ after it
    transposes."""
    body = text.strip()
    m = _TRANSPOSED.search(body)
    transposed = bool(m) and m.end() == len(body)
    body = body[:m.start()] if transposed else body
    stack, top = [], None
    for tok in _TOKENS.findall(body):
        if tok in "[(":
            stack.append([])
        elif tok in "])":
            if not stack:
                raise GraphcompError(f"a ']' with no '[' in '{shorten(text)}'")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            elif top is None:
                top = done
            else:
                raise GraphcompError(f"more than one list in '{shorten(text)}'")
        elif tok in ",;":
            continue
        elif not stack or top is not None:
            raise GraphcompError(f"'{shorten(tok)}' outside the brackets of '{shorten(text)}'")
        else:
            stack[-1].append(tok)
    if stack or top is None:
        raise GraphcompError(f"an unclosed '[' in '{shorten(text)}'")
    if not top:
        raise GraphcompError(f"an empty list in '{shorten(text)}'")
    if all(isinstance(x, str) for x in top):
        value, decimals = (a[0] for a in _array([top], text))
    elif all(isinstance(x, list) and x and all(isinstance(y, str) for y in x) for x in top):
        value, decimals = _array(top, text)
    else:
        raise GraphcompError(f"'{shorten(text)}' is neither a list of numbers nor a list of rows "
                             "(vectors and matrices only)")
    return (value.T, decimals.T) if transposed else (value, decimals)


def _find_matrix(nodes):
    """The first matrix environment among pylatexenc nodes (searched depth first) and what follows it."""
    for k, n in enumerate(nodes):
        if isinstance(n, LatexEnvironmentNode) and n.environmentname in _MATRICES:
            return n, "".join(x.latex_verbatim() for x in nodes[k + 1:])
        if getattr(n, "nodelist", None):
            found = _find_matrix(n.nodelist)
            if found:
                return found
    return None


def _cells_of(env, walker=None, skip=()):
    """The rows of cells (LaTeX text) of a tabular or matrix environment, split at & and \\\\: [(line, cells)], the
    line (with a walker, else None) where the row's first text is; comments and the macros in `skip` left out."""
    rows, cells, cell, start = [], [], [], None
    for n in env.nodelist:
        if isinstance(n, LatexSpecialsNode) and n.specials_chars == "&":
            cells.append("".join(cell))
            cell = []
        elif isinstance(n, LatexMacroNode) and n.macroname == "\\":
            rows.append((start, [*cells, "".join(cell)]))
            cells, cell, start = [], [], None
        elif n.__class__.__name__ != "LatexCommentNode" and not (isinstance(n, LatexMacroNode) and n.macroname in skip):
            if walker is not None and start is None and n.latex_verbatim().strip():
                start = walker.pos_to_lineno_colno(n.pos)[0]
            cell.append(n.latex_verbatim())
    if cells or "".join(cell).strip():
        rows.append((start, [*cells, "".join(cell)]))
    return rows


def _latex_matrix(text):
    """(array, decimals) of the first bmatrix (pmatrix, …) in LaTeX text, read by pylatexenc; ^\\top transposes."""
    nodes, _, _ = _walker(text).get_latex_nodes()
    found = _find_matrix(nodes)
    if found is None:
        return None
    env, after = found
    rows = [[c.strip() for c in r] for _, r in _cells_of(env)]
    value, decimals = _array(rows, env.latex_verbatim())
    m = _TRANSPOSED.match(after.replace("$", ""))
    return (value.T, decimals.T) if m and m.group(0).strip() else (value, decimals)


def _is_matrix(text):
    return "\\begin{" in text and any(f"{{{m}}}" in text for m in _MATRICES)


def value_of(text):
    """(value, decimals) of a cell or a line's value: a number, a nested list, or a bmatrix/pmatrix; None if it is
    none of these. A decimal comma or a ragged matrix is a GraphcompError saying so."""
    m = _NUMBER.fullmatch(text.strip())
    if m:  # the common case, 1.5000
        return float(m.group(0)), _decimals(m)
    if _is_matrix(text):
        return _latex_matrix(text)
    s = text.strip().strip("$").strip()
    if s.startswith(("[", "(")) and any(c.isdigit() for c in s):
        return _nested(s)
    return number(text)


def _value_like(text):
    s = text.strip().strip("$").strip()
    return _is_matrix(text) or (s.startswith("[") and any(c.isdigit() for c in s)) or _looks_numeric(text)


# ---- the formats ---------------------------------------------------------------------------------------------

_NAME_COLUMNS = ("node", "name", "i", "row", "variable", "var", "symbol")
_VALUE_COLUMNS = {"value": VALUE, "v": VALUE, ".v": VALUE, "vi": VALUE, "primal": VALUE, "number": VALUE}
_DERIV_COLUMNS = {"derivative": DERIVATIVE, "deriv": DERIVATIVE, "d": DERIVATIVE, ".d": DERIVATIVE, "tangent": TANGENT,
                  "vdot": TANGENT, "dot": TANGENT, "v̇": TANGENT, "vdoti": TANGENT, "adjoint": ADJOINT,
                  "vbar": ADJOINT, "bar": ADJOINT, "v̄": ADJOINT, "v̅": ADJOINT, "vbari": ADJOINT, "grad": ADJOINT,
                  "gradient": ADJOINT}
_TRACE_KINDS = {"tangent": TANGENT, "forward": TANGENT, "steps": ADJOINT, "adjoint": ADJOINT, "reverse": ADJOINT,
                "summed": ADJOINT, "derivative": DERIVATIVE}


def _column(text):
    return _NAME_NOISE.sub("", latex_text(text)).lower().replace("\u0305", "\u0304").replace("ᵢ", "i")


class _Header:
    """The columns a header names: where the row's name is, its symbol (for the accent), the numbers."""

    def __init__(self, cells):
        names = [_column(c) for c in cells]
        self.width = len(cells)
        self.name = next((names.index(c) for c in _NAME_COLUMNS if c in names), None)
        self.symbol = names.index("symbol") if "symbol" in names else None
        self.trace = names.index("trace") if "trace" in names else None
        self.numbers = [(k, _VALUE_COLUMNS.get(c) or _DERIV_COLUMNS.get(c.replace("\u0304", "bar").replace("\u0307", "dot")))
                        for k, c in enumerate(names)]
        self.numbers = [(k, kind) for k, kind in self.numbers if kind is not None and k != self.name]
        self.ok = self.name is not None and bool(self.numbers) and len(set(names)) == len(names)

    def read(self, cells, line, out):
        """The entries of one row of the table (a list)."""
        label = cells[self.name] if self.name < len(cells) else ""
        named = name_key(latex_text(label)) if label.strip() else None
        symbol = name_key(latex_text(cells[self.symbol])) if self.symbol is not None and self.symbol < len(cells) else None
        # a short row leaves its trace cell blank; tangent:x1 is x1's column of a trace seeded several ways
        trace_cell = cells[self.trace] if self.trace is not None and self.trace < len(cells) else ""
        kind_text, _, seed = trace_cell.partition(":")
        trace = _TRACE_KINDS.get(kind_text.strip().lower())
        seed = _seed_key(seed)
        if named is None:
            if label.strip() or any(cells[k].strip() not in NONE for k, _ in self.numbers if k < len(cells)):
                out.bad(line, ",".join(cells), f"'{label.strip()}' is not a row name")
            return []
        entries = []
        for k, kind in self.numbers:
            text = cells[k] if k < len(cells) else ""
            if text.strip() in NONE:
                continue  # a blank cell of the table to fill
            if kind == VALUE and (trace or (symbol and symbol[1] != VALUE and self.symbol != self.name)):
                kind = trace or symbol[1]
            if kind == VALUE and named[1] != VALUE:
                kind = named[1]
            entries += _entry(out, line, label.strip(), named[0], kind, text, seed)
        return entries


def _seed_key(text):
    """The key of the input a tangent column is seeded at ('x1' of 'x1', 'x_{1}'), or None."""
    named = name_key(latex_text(text)) if text.strip() else None
    return named[0] if named else None


_SEED_HEAD = re.compile(r"∂/∂(.+)")  # a column per seed: ∂/∂x₁, as trace --wrt x1,x2 heads them


def _seed_columns(cells):
    """{column: the key of its seed's input} of a header row heading a tangent column per seed, else {}."""
    seeds = {}
    for k, c in enumerate(cells):
        m = _SEED_HEAD.fullmatch(_column(c))
        if m and _seed_key(m.group(1)):
            seeds[k] = _seed_key(m.group(1))
    return seeds


def _entry(out, line, name, key, kind, text, seed=None):
    """[the Entry of one number (or array) as written], or [] when it cannot be read (noted in `out`); a number with a
    decimal comma is noted and is an Entry that says so too (`unread`), for its row to tell why it was not read."""
    try:
        parsed = value_of(text)
    except GraphcompError as exc:
        out.bad(line, text, exc.message)
        if _COMMA.fullmatch(_NUMBER_NOISE.sub("", text).translate(_SUBSCRIPTS).lstrip("=≈")):
            return [Entry(line, name, key, kind, text.strip().strip("$").strip(), None, None, seed, exc.message)]
        return []
    if parsed is None:
        out.bad(line, text, f"'{shorten(text)}' is not a number")
        return []
    shown = text.strip().strip("$").strip()  # the number as written, without its math shift
    return [Entry(line, name, key, kind, shown if len(shown) < 60 and "\n" not in shown else shorten(shown, 200),
                  *parsed, seed)]


def _scan(cells, line, out, seeds=None):
    """A table row without a header to go by: each name cell starts an entry (the last one before a number
    wins: 'x1 | v₋₂ | = x₁ | 1.0000'), the next number (or matrix) is its value; cells starting with '=' are rules.
    In the columns `seeds` heads ({column: input}, a tangent column per seed) each number is the name's along it."""
    pending, seeds = None, seeds or {}
    for k, cell in enumerate(cells):
        if pending is not None and k in seeds and _value_like(cell):
            yield from _entry(out, line, pending[0], *pending[1], cell, seeds[k])
            continue  # the name goes on to the next seed's column
        if cell.strip() in NONE:
            continue
        if pending is not None and _is_matrix(cell):
            yield from _entry(out, line, pending[0], *pending[1], cell)
            pending = None
            continue
        text = latex_text(cell).strip()
        if not text or text.startswith(("=", "≈")):
            continue
        named = name_key(text)
        if named is not None and not _NUMBER.fullmatch(text.translate(_SUBSCRIPTS)):
            pending = (text, named)
        elif pending is not None and _value_like(cell):
            yield from _entry(out, line, pending[0], *pending[1], cell)
            pending = None


def _rows(table_rows, out):
    """Rows of cells [(line, cells)]: by the header's columns where a header names them, else cell by cell (a
    header row of ∂/∂x₁, ∂/∂x₂ telling which seed's tangents each column holds)."""
    header, seeds = None, {}
    for line, cells in table_rows:
        if header is None and not any(_value_like(c) for c in cells):
            seeds = _seed_columns(cells) or seeds
            h = _Header(cells)
            if h.ok:
                header = h
                continue
        yield from (header.read(cells, line, out) if header is not None else _scan(cells, line, out, seeds))


def _csv(lines, out):
    lines, delimiter = _dialect(lines)
    rows = csv.reader(lines, delimiter=delimiter)
    header, block, blocks = None, None, False
    for cells in _csv_rows(rows, out):
        line = rows.line_num
        if delimiter == ";":  # Excel's CSV where the decimal mark is a comma: 0,8800 is 0.8800
            cells = [c.replace(",", ".") if _COMMA.fullmatch(c.strip()) else c for c in cells]
        if not any(c.strip() for c in cells):
            if block:
                yield from _block(block, out)
            block = None
            continue
        if cells[0].lstrip().startswith("#"):
            continue
        if header is None and block is None and not blocks:
            if len(cells) > MAX_COLUMNS:  # refused before a header is made of them
                raise GraphcompError(f"line {line}: {len(cells):,} fields; the first line is a header (at most "
                                     f"{MAX_COLUMNS} columns) or a node's name starting a block (W1.d)", file=out.file)
            header = _Header(cells)
            if header.ok:
                continue
            header = None
        filled = [c for c in cells if c.strip()]
        if header is None and len(filled) == 1 and cells[0].strip() and not _value_like(cells[0]):
            if block:
                yield from _block(block, out)
            block, blocks = (line, cells[0].strip(), []), True
            continue
        if block is not None:
            block[2].append((line, cells))
            continue
        if header is None and blocks:
            out.bad(line, ",".join(cells), "a row of numbers with no name line (W1.d) before its block")
            continue
        if header is None:
            raise GraphcompError(f"line {line}: the first line is neither a header naming the columns (e.g. "
                                 "node,value,derivative or i,v,vbar) nor a node's name starting a block of rows "
                                 "(W1.d)", file=out.file)
        if len(cells) != header.width:
            hint = " (a decimal comma? write 1.5, or quote the field)" if len(cells) > header.width else ""
            out.bad(line, ",".join(cells), f"{len(cells)} fields, the header has {header.width}{hint}")
            continue
        yield from header.read(cells, line, out)
    if block:
        yield from _block(block, out)


def _dialect(lines):
    """(the lines, read again from the start, and their delimiter): ',', or ';' or a tab where the first line that
    is not blank or a comment is split by it (csv.Sniffer, restricted to these three)."""
    lines, head = iter(lines), []
    for raw in lines:
        head.append(raw)
        if raw.strip() and not raw.lstrip().startswith("#"):
            break
    try:
        delimiter = csv.Sniffer().sniff(head[-1], delimiters=",;\t").delimiter if head else ","
    except csv.Error:  # one field: a block's name line, W1.d
        delimiter = ","
    return itertools.chain(head, lines), delimiter


def _csv_rows(rows, out):
    """The csv reader's rows; what it cannot read (a field past csv.field_size_limit(), a NUL) is a one-line error."""
    while True:
        try:
            yield next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise GraphcompError(f"line {rows.line_num}: not CSV that can be read ({exc})", file=out.file) from None


def _block(block, out):
    """The entry of one CSV block: a name line, then its rows of numbers."""
    line, label, rows = block
    named = name_key(latex_text(label))
    if named is None:
        out.bad(line, label, f"'{shorten(label)}' is not a row name")
        return
    if not rows:
        out.bad(line, label, f"no rows of numbers follow '{shorten(label)}'")
        return
    cells = [[c.strip() for c in r if c.strip()] for _, r in rows]
    text = "[" + ", ".join("[" + ", ".join(r) + "]" for r in cells) + "]"
    try:
        value, decimals = _array(cells, text)
    except GraphcompError as exc:
        out.bad(line, label, exc.message)
        return
    if value.size == 1:
        value, decimals = float(value[0, 0]), int(decimals[0, 0])
    yield Entry(line, label, named[0], named[1], shorten(text, 200), value, decimals)


_MD = MarkdownIt("commonmark").enable("table")


def _whole(lines, out):
    """The text of a Markdown or LaTeX file, read whole: within GRAPHCOMP_MAX_MARKUP_LINES lines."""
    cap, kept = limit("GRAPHCOMP_MAX_MARKUP_LINES"), []
    for n, line in enumerate(lines, 1):
        if n > cap:
            raise over("GRAPHCOMP_MAX_MARKUP_LINES", n + sum(1 for _ in lines), file=out.file)
        kept.append(line)
    return "".join(kept)


def _markdown(lines, out):
    tokens = _MD.parse(_whole(lines, out))
    tables, line, cells = [], None, None
    for tok in tokens:
        if tok.type == "table_open":
            tables.append([])
        elif tok.type == "tr_open":
            line, cells = tok.map[0] + 1, []
        elif tok.type == "inline" and cells is not None:
            cells.append(tok.content)
        elif tok.type == "tr_close":
            tables[-1].append((line, cells))
            cells = None
    if not tables:
        raise GraphcompError("no Markdown table found (a header line, a |---| line, then one row per line)",
                             file=out.file)
    for table in tables:
        yield from _rows(table, out)


_RULES = {"toprule", "midrule", "bottomrule", "hline", "cline", "cmidrule", "addlinespace"}
_TABULARS = ("tabular", "array", "tabularx", "longtable")


def _latex(lines, out):
    walker = _walker(_whole(lines, out))
    nodes, _, _ = walker.get_latex_nodes()
    tables, maths, stack = [], [], list(nodes)
    while stack:  # every tabular, also inside other environments (table, center); math outside them
        n = stack.pop(0)
        if isinstance(n, LatexEnvironmentNode) and n.environmentname.rstrip("*") in _TABULARS:
            tables.append(n)
        elif isinstance(n, (LatexMathNode, LatexEnvironmentNode)) and any(
                isinstance(c, LatexEnvironmentNode) and c.environmentname in _MATRICES for c in n.nodelist):
            maths.append(n)  # $…$, \[…\], align, equation: whatever holds a matrix itself
        elif isinstance(n, (LatexEnvironmentNode, LatexGroupNode, LatexMathNode)):
            stack[:0] = n.nodelist
    if not tables and not any(_find_matrix(m.nodelist) for m in maths):
        raise GraphcompError("no tabular environment found (\\begin{tabular}...\\end{tabular}), and no matrix "
                             "written as NAME = \\begin{bmatrix}...\\end{bmatrix}", file=out.file)
    for env in tables:
        yield from _rows([(line or 0, cs) for line, cs in _cells_of(env, walker, _RULES)], out)
    for math in maths:
        yield from _math_matrices(math, walker, out)


def _math_matrices(math, walker, out):
    """`NAME = … = \\begin{bmatrix}…\\end{bmatrix}` in display or inline math outside a tabular (align's & and the
    rule between are skipped: the name is what comes before the first =)."""
    before = []
    for n in math.nodelist:
        if isinstance(n, LatexMacroNode) and n.macroname == "\\":
            before = []
        elif isinstance(n, LatexEnvironmentNode) and n.environmentname in _MATRICES:
            line = walker.pos_to_lineno_colno(n.pos)[0]
            label = "".join(before).split("=")[0].replace("&", "").strip()
            named = name_key(latex_text(label)) if label else None
            if named is None:
                out.bad(line, label or n.latex_verbatim(), f"no name before the matrix ('{shorten(label)}')")
            else:
                yield from _entry(out, line, label, *named, n.latex_verbatim())
            before = []
        else:
            before.append(n.latex_verbatim())


_SPLIT = re.compile(r"=|:")
_WRAP = re.compile(r"^\s*(?:\\\[|\$\$|\\\(|\$)|(?:\\\]|\$\$|\\\)|\$)\s*[,.;]?\s*$")
MAX_CONTINUED = 10_000  # lines one array may run over in plain lines
_DELIMITERS = ("$$", "$", "\\[", "\\]")  # a display's own lines, around `name = matrix`


def _open(text):
    """Whether a line's value goes on: an unclosed [ or a \\begin{bmatrix} not yet ended."""
    if _is_matrix(text):
        return text.count("\\begin{") > text.count("\\end{")
    return text.count("[") - text.count("\\[") > text.count("]") - text.count("\\]")


def _lines(lines, out):
    """One row a line: `name = number`, or `name = rule = number` (the last part is the number); an array may
    run over several lines."""
    pending = None  # (first line, text so far, how many lines) of an array that goes on
    for line, raw in enumerate(lines, 1):
        if pending is not None and "=" in raw:  # the next row: the array before it was never closed
            yield from _line(*pending[:2], out)
            pending = None
        if pending is not None:
            start, text, count = pending
            text += raw
            pending = (start, text, count + 1) if _open(text) and count < MAX_CONTINUED else None
            if pending is None:
                yield from _line(start, text, out)
            continue
        s = raw.strip()
        if not s or s.startswith(("#", "%", "//")) or s in _DELIMITERS:
            continue
        if (("[" in s or "\\begin{" in s) and _open(s)) or s.endswith("="):  # the value goes on below
            pending = (line, s + "\n", 1)
            continue
        yield from _line(line, s, out)
    if pending is not None:
        yield from _line(*pending[:2], out)


def _line(line, s, out):
    """[the entry of one row] (an array's may span lines), or [] when it cannot be read (noted in `out`)."""
    array = "\\begin{" in s or ("[" in s and "[" in _WRAP.sub("", s))
    s = _WRAP.sub("", s) if array else latex_text(s)
    parts = _SPLIT.split(s)
    named = name_key(latex_text(parts[0]) if array else parts[0]) if len(parts) >= 2 else None
    if named is None:
        out.bad(line, s, "expected `name = number`, e.g. v1 = 1.5000")
        return []
    return _entry(out, line, parts[0].strip(), *named, parts[-1])


def detect(path, text):
    """The format of an answer file: from its extension, else from its first lines (`text`)."""
    fmt = SUFFIXES.get(Path(path).suffix.lower())
    if fmt:
        return fmt
    if "\\begin{tabular" in text or "\\begin{array" in text:
        return "latex"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first.startswith("|") or _MD_RULE.search(text):
        return "markdown"
    if "=" not in first and any(d in first and _Header(next(csv.reader([first], delimiter=d))).ok for d in ",;\t"):
        return "csv"
    return "lines"


_MD_RULE = re.compile(r"^[ \t]*\|[^\n]*\n[ \t]*\|?[ \t]*:?-{3,}", re.M)  # a table's header and |---| line
_READERS = {"csv": _csv, "markdown": _markdown, "latex": _latex, "lines": _lines}


def parse(text, file="<answers>", fmt=None):
    """Answers read from `text`; fmt one of FORMATS, or None to detect it from the file name and the text."""
    return Answers(file, fmt or detect(file, text[:HEAD]), lambda: io.StringIO(text, newline=None))


def read(path, fmt=None):
    """Answers from a file, read as they are iterated (see Answers); an empty, binary or unreadable file, or one
    over GRAPHCOMP_MAX_ANSWERS_MB, is a GraphcompError naming it."""
    with regular_file(path, "GRAPHCOMP_MAX_ANSWERS_MB") as fh:
        head = fh.read(HEAD)
        whole = not fh.read(1)
    if not head.strip() and whole:
        raise GraphcompError("the file is empty", file=path)
    if head.startswith(b"%PDF"):
        raise GraphcompError("a PDF is not read: give the .tex, .md or .csv the answers were written in", file=path)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):  # trace --format json's, say
        raise GraphcompError("JSON is not read: give the .csv, .md or .tex the answers were written in (trace "
                             "--format csv writes one to fill in)", file=path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise GraphcompError("UTF-16 text (Excel's \"Unicode Text\"); save it as UTF-8 (CSV UTF-8) and check that",
                             file=path)
    if b"\0" in head:
        raise GraphcompError("not a text file (it holds NUL bytes)", file=path)
    return Answers(path, fmt or detect(path, head.decode("utf-8-sig", errors="replace")), lambda: _decoded(path))


def _line_ends(fh):
    """The lines of a binary file, ended by \\n, \\r\\n or an old Mac's \\r alone."""
    for raw in fh:
        if b"\r" in raw[:-2]:
            yield from raw.splitlines(keepends=True)
        else:
            yield raw


def _decoded(path):
    """The lines of a file as text, one at a time; a line that is not UTF-8 is a GraphcompError naming it."""
    with regular_file(path, "GRAPHCOMP_MAX_ANSWERS_MB") as fh:
        for line, raw in enumerate(_line_ends(fh), 1):
            try:
                yield raw.decode("utf-8-sig" if line == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise GraphcompError(f"line {line}: not UTF-8 text (byte {exc.start + 1} of the line)",
                                     file=path) from None
