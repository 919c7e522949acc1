"""A student's hand-filled trace table, read from CSV, Markdown, LaTeX or plain lines: (row name, number) pairs.

Reading knows nothing of graphs: each entry keeps the name as written, normalised to a key (x2, v-1, and the
accent that makes it a tangent or an adjoint), the number, and how many decimals were written. Matching names
to nodes and grading is graphcomp.problems.check. Documents are parsed by the csv module, markdown-it-py and
pylatexenc (whose LaTeX-to-Unicode conversion turns \\bar{v}_{1} into v̅_1); the regular expressions here
only read one name or one number.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import (
    LatexEnvironmentNode,
    LatexMacroNode,
    LatexSpecialsNode,
    LatexWalker,
)

from graphcomp.core.errors import GraphcompError

FORMATS = ("csv", "markdown", "latex", "lines")
SUFFIXES = {".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".tex": "latex"}

VALUE, TANGENT, ADJOINT, DERIVATIVE = "value", "tangent", "adjoint", "derivative"  # DERIVATIVE: the mode's


@dataclass(frozen=True)
class Entry:
    """One number the student wrote: the row's name as written, its key (e.g. 'v-1'), its kind, the number."""

    line: int
    name: str
    key: str
    kind: str
    text: str
    value: float
    decimals: int


@dataclass
class Answers:
    """What could be read from an answer file, and the lines that could not (line, text, why)."""

    file: str
    format: str
    entries: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)


# ---- one name, one number ----------------------------------------------------------------------------------

_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉₋₊⁰¹²³⁴⁵⁶⁷⁸⁹⁻−–", "0123456789-+0123456789---")
_ACCENTS = {"\u0304": ADJOINT, "\u0305": ADJOINT, "\u0307": TANGENT}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-?\d+)?|-?\d+")
_WORDED = re.compile(r"([A-Za-z])(bar|dot)(-?\d+)")  # vbar-1, vdot1 (after _ and braces are gone)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?")
_COMMA = re.compile(r"[+-]?\d+,\d+")
_LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


def latex_text(tex):
    """LaTeX → Unicode by pylatexenc (\\bar{v}_{1} → v̅_1, $-1.5$ → -1.5); plain text passes through."""
    if "\\" not in tex and "$" not in tex:
        return tex
    try:
        return _LATEX.latex_to_text(tex)
    except Exception:  # pylatexenc raises on malformed input; the text as written is then read as it is
        return tex.replace("$", "")


def name_key(text):
    """(key, kind) of a row's name, or None if it is not a name: 'v̄₋₁' → ('v-1', 'adjoint'),
    'vdot1' → ('v1', 'tangent'), 'v_{-2}' → ('v-2', 'value'), 'W1.d' → ('W1', 'derivative'), '-2' → ('-2', 'value')."""
    s = text.strip().translate(_SUBSCRIPTS)
    kind = VALUE
    for mark, k in _ACCENTS.items():
        if mark in s:
            s, kind = s.replace(mark, ""), k
    for cmd, k in (("\\bar", ADJOINT), ("\\overline", ADJOINT), ("\\dot", TANGENT)):
        if cmd in s:
            s, kind = s.replace(cmd, ""), k
    if s.endswith(".d"):
        s, kind = s[:-2], DERIVATIVE
    elif s.endswith(".v"):
        s = s[:-2]
    s = re.sub(r"[\s_{}$\\]", "", s)
    m = _WORDED.fullmatch(s)
    if m and kind == VALUE:
        s, kind = m.group(1) + m.group(3), ADJOINT if m.group(2) == "bar" else TANGENT
    return (s, kind) if _NAME.fullmatch(s) else None


def number(text):
    """(value, decimals written) of a number as written ('−1.7735', '2.6955e0', '.5'), None if it is not one;
    a decimal comma ('1,5') is a GraphcompError saying so."""
    s = re.sub(r"[\s$]", "", text).translate(_SUBSCRIPTS).lstrip("=≈").replace("\\approx", "")
    m = _NUMBER.fullmatch(s)
    if m:
        decimals = len(m.group(1) or m.group(2) or "") - int(m.group(3) or 0)
        return float(s), max(decimals, 0)
    if _COMMA.fullmatch(s):
        raise GraphcompError(f"'{text.strip()}' has a decimal comma; write {s.replace(',', '.')}")
    return None


def _looks_numeric(text):
    s = re.sub(r"[\s$]", "", text).translate(_SUBSCRIPTS)
    return bool(s) and any(c.isdigit() for c in s) and not re.search(r"[A-DF-Za-df-z]", s)


# ---- the formats ---------------------------------------------------------------------------------------------

_NAME_COLUMNS = ("node", "name", "i", "row", "variable", "var", "symbol")
_VALUE_COLUMNS = {"value": VALUE, "v": VALUE, "vi": VALUE, "primal": VALUE, "number": VALUE}
_DERIV_COLUMNS = {"derivative": DERIVATIVE, "deriv": DERIVATIVE, "d": DERIVATIVE, "tangent": TANGENT,
                  "vdot": TANGENT, "dot": TANGENT, "v̇": TANGENT, "vdoti": TANGENT, "adjoint": ADJOINT,
                  "vbar": ADJOINT, "bar": ADJOINT, "v̄": ADJOINT, "v̅": ADJOINT, "vbari": ADJOINT, "grad": ADJOINT,
                  "gradient": ADJOINT}
_TRACE_KINDS = {"tangent": TANGENT, "forward": TANGENT, "steps": ADJOINT, "adjoint": ADJOINT, "reverse": ADJOINT,
                "summed": ADJOINT, "derivative": DERIVATIVE}


def _column(text):
    return re.sub(r"[\s_{}$\\]", "", latex_text(text)).lower().replace("\u0305", "\u0304")


class _Header:
    """The columns a header names: where the row's name is, its symbol (for the accent), the numbers."""

    def __init__(self, cells):
        names = [_column(c) for c in cells]
        self.width = len(cells)
        self.name = next((names.index(c) for c in _NAME_COLUMNS if c in names), None)
        self.symbol = names.index("symbol") if "symbol" in names else None
        self.trace = names.index("trace") if "trace" in names else None
        self.numbers = [(k, _VALUE_COLUMNS.get(c) or _DERIV_COLUMNS.get(c.replace("\u0304", "bar")))
                        for k, c in enumerate(names)]
        self.numbers = [(k, kind) for k, kind in self.numbers if kind is not None and k != self.name]
        self.ok = self.name is not None and bool(self.numbers) and len(set(names)) == len(names)

    def read(self, cells, line, out):
        label = cells[self.name] if self.name < len(cells) else ""
        named = name_key(latex_text(label)) if label.strip() else None
        symbol = name_key(latex_text(cells[self.symbol])) if self.symbol is not None and self.symbol < len(cells) else None
        trace = _TRACE_KINDS.get(cells[self.trace].strip().lower()) if self.trace is not None else None
        if named is None:
            if label.strip() or any(cells[k].strip() for k, _ in self.numbers if k < len(cells)):
                out.unreadable.append((line, ",".join(cells), f"'{label.strip()}' is not a row name"))
            return
        for k, kind in self.numbers:
            text = cells[k] if k < len(cells) else ""
            if not text.strip():
                continue  # a blank cell of the table to fill
            if kind == VALUE and (trace or (symbol and symbol[1] != VALUE and self.symbol != self.name)):
                kind = trace or symbol[1]
            if kind == VALUE and named[1] != VALUE:
                kind = named[1]
            _add(out, line, label.strip(), named[0], kind, text)


def _add(out, line, name, key, kind, text):
    try:
        parsed = number(text)
    except GraphcompError as exc:
        out.unreadable.append((line, text.strip(), exc.message))
        return
    if parsed is None:
        out.unreadable.append((line, text.strip(), f"'{text.strip()}' is not a number"))
    else:
        out.entries.append(Entry(line, name, key, kind, text.strip(), *parsed))


def _scan(cells, line, out):
    """A table row without a header to go by: each name cell starts an entry (the last one before a number
    wins: 'x1 | v₋₂ | = x₁ | 1.0000'), the next number is its value; cells starting with '=' are rules."""
    pending = None
    for cell in cells:
        text = latex_text(cell).strip()
        if not text or text.startswith(("=", "≈")):
            continue
        named = name_key(text)
        if named is not None and not _NUMBER.fullmatch(text.translate(_SUBSCRIPTS)):
            pending = (text, named)
        elif pending is not None and _looks_numeric(text):
            _add(out, line, pending[0], pending[1][0], pending[1][1], text)
            pending = None


def _rows(table_rows, out):
    """Rows of cells [(line, cells)]: by the header's columns where a header names them, else cell by cell."""
    header = None
    for line, cells in table_rows:
        if header is None and not any(_looks_numeric(c) for c in cells):
            h = _Header(cells)
            if h.ok:
                header = h
                continue
        if header is not None:
            header.read(cells, line, out)
        else:
            _scan(cells, line, out)


def _csv(text, out):
    rows = csv.reader(io.StringIO(text, newline=""))
    header = None
    for cells in rows:
        line = rows.line_num
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = _Header(cells)
            if not header.ok:
                raise GraphcompError(f"line {line}: the first line is not a header naming the columns "
                                     "(e.g. node,value,derivative or i,v,vbar)", file=out.file)
            continue
        if len(cells) != header.width:
            hint = " (a decimal comma? write 1.5, or quote the field)" if len(cells) > header.width else ""
            out.unreadable.append((line, ",".join(cells), f"{len(cells)} fields, the header has {header.width}{hint}"))
            continue
        header.read(cells, line, out)


_MD = MarkdownIt("commonmark").enable("table")


def _markdown(text, out):
    tokens = _MD.parse(text)
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
        _rows(table, out)


_RULES = {"toprule", "midrule", "bottomrule", "hline", "cline", "cmidrule", "addlinespace"}


def _latex(text, out):
    walker = LatexWalker(text, tolerant_parsing=True)
    nodes, _, _ = walker.get_latex_nodes()
    tables, stack = [], list(nodes)
    while stack:  # every tabular, also inside other environments (table, center)
        n = stack.pop(0)
        if isinstance(n, LatexEnvironmentNode):
            if n.environmentname.rstrip("*") in ("tabular", "array", "tabularx", "longtable"):
                tables.append(n)
            else:
                stack[:0] = n.nodelist
    if not tables:
        raise GraphcompError("no tabular environment found (\\begin{tabular}...\\end{tabular})", file=out.file)
    for env in tables:
        rows, cells, cell, start = [], [], [], None

        def close_cell():
            cells.append("".join(x.latex_verbatim() for x in cell))
            cell.clear()

        for n in env.nodelist:
            if isinstance(n, LatexSpecialsNode) and n.specials_chars == "&":
                close_cell()
            elif isinstance(n, LatexMacroNode) and n.macroname == "\\":
                close_cell()
                rows.append((start, list(cells)))
                cells.clear()
                start = None
            elif isinstance(n, LatexMacroNode) and n.macroname in _RULES:
                continue
            elif n.isNodeType(type(None)) or n.__class__.__name__ == "LatexCommentNode":
                continue
            else:
                if start is None and n.latex_verbatim().strip():
                    start = walker.pos_to_lineno_colno(n.pos)[0]
                cell.append(n)
        close_cell()
        if any(c.strip() for c in cells):
            rows.append((start, list(cells)))
        _rows([(line or 0, cs) for line, cs in rows], out)


def _lines(text, out):
    """One row a line: `name = number`, or `name = rule = number` (the last part is the number)."""
    for line, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith(("#", "%", "//")):
            continue
        s = latex_text(s) if "\\" in s or "$" in s else s
        parts = re.split(r"=|:", s)
        named = name_key(parts[0]) if len(parts) >= 2 else None
        if named is None:
            out.unreadable.append((line, raw.strip()[:80], "expected `name = number`, e.g. v1 = 1.5000"))
            continue
        _add(out, line, parts[0].strip(), named[0], named[1], parts[-1])


def detect(path, text):
    """The format of an answer file: from its extension, else from its first lines."""
    fmt = SUFFIXES.get(Path(path).suffix.lower())
    if fmt:
        return fmt
    if "\\begin{tabular" in text or "\\begin{array" in text:
        return "latex"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first.startswith("|") or _MD_RULE.search(text):
        return "markdown"
    if "," in first and "=" not in first and _Header(next(csv.reader([first]))).ok:
        return "csv"
    return "lines"


_MD_RULE = re.compile(r"^[ \t]*\|[^\n]*\n[ \t]*\|?[ \t]*:?-{3,}", re.M)  # a table's header and |---| line
_READERS = {"csv": _csv, "markdown": _markdown, "latex": _latex, "lines": _lines}


def parse(text, file="<answers>", fmt=None):
    """Answers read from `text`; fmt one of FORMATS, or None to detect it from the file name and the text."""
    fmt = fmt or detect(file, text)
    out = Answers(str(file), fmt)
    _READERS[fmt](text, out)
    if not out.entries:
        if out.unreadable:
            line, shown, why = out.unreadable[0]
            more = f" (and {len(out.unreadable) - 1} more unreadable lines)" if len(out.unreadable) > 1 else ""
            raise GraphcompError(f"line {line}: {why}: '{shown}'{more}", file=file)
        raise GraphcompError(f"no answers found (read as {fmt})", file=file)
    return out


def read(path, fmt=None):
    """Answers from a file; an empty, binary or unreadable file is a GraphcompError naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GraphcompError(f"cannot read: {exc.strerror or exc}", file=path) from None
    if not data.strip():
        raise GraphcompError("the file is empty", file=path)
    if b"\0" in data[:65536]:
        raise GraphcompError("not a text file (it holds NUL bytes)", file=path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise GraphcompError(f"line {line}: not UTF-8 text (byte {exc.start})", file=path) from None
    return parse(text, path, fmt)
