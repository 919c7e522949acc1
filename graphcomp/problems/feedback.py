"""The feedback on a checked table (graphcomp.problems.check.Report): rich, Markdown, LaTeX or JSON."""

import re

import numpy as np
from rich.table import Table
from rich.text import Text

from graphcomp.frontends.answers import spaced
from graphcomp.problems.check import CARRIED, CORRECT, MISSING, UNKNOWN
from graphcomp.render.tables import tex_value
from graphcomp.render.text import (
    fmt_number,
    fmt_value,
    indented_json,
    line_value,
    matrix_text,
    text_to_tex,
)

FORMATS = ("rich", "markdown", "latex", "json")
_STYLE = {CORRECT: "green", CARRIED: "yellow", MISSING: "magenta", UNKNOWN: "magenta"}


SHOWN = 36  # entries of an array a cell shows in full (a 6 × 6 matrix); past, its first few and how many


def _written(entry):
    """What the student wrote: the text, or for an array its entries to the decimals each was written with."""
    if not entry.tensor:
        return entry.text
    if entry.value.size > SHOWN:
        return _cut(entry.value, entry.decimals)

    def nested(v, d):
        if v.ndim == 0:
            return _as_written(v, d)
        return "[" + ", ".join(nested(x, y) for x, y in zip(v, d)) + "]"

    return nested(entry.value, np.broadcast_to(entry.decimals, entry.value.shape))


def _as_written(v, d):
    return f"{float(v):.{int(d)}f}"


def _cut(x, decimals, number=_as_written):
    """A long array as its first entries in C order, each number(entry, decimals), its shape and its size: no cell of
    a million numbers."""
    decimals = np.broadcast_to(decimals, x.shape)
    first = ", ".join(number(v, d) for v, d in zip(x.flat[:6], decimals.flat[:6]))
    return f"[{first}, …] ({' × '.join(map(str, x.shape))}, {spaced(x.size)} entries)"


def _cells(report, r):
    yours = _written(r.entry) if r.entry is not None else "—"
    # the right numbers as every table writes them (no -0.0000; 10¹² on and not-0-but-rounding-to-0 in scientific)
    right = ("—" if r.expected is None else _cut(r.expected, report.digits, lambda v, d: fmt_number(v, int(d)))
             if np.size(r.expected) > SHOWN
             else line_value(r.expected, report.digits))
    verdict = r.verdict + (f": {r.why}" if r.why and r.verdict != CORRECT else "")
    return r.symbol, yours, right, verdict, r.rule


def _all(report):
    return list(report.rows) + list(report.unknown)


def _title(report):
    return f"check of {report.file} against {report.name} ({report.mode} mode)"


def _footer(report):
    lines = [report.summary()]
    d = report.digits
    lines.append(f"correct means within the rounding of the digits written ({d} decimal{'s' * (d != 1)}: "
                 f"±{_half_unit(d)}) of the right "
                 f"number, or of the one your own rounded rows give; {report.digits} decimals asked, plus rtol "
                 f"{report.rtol:g}")
    first = next((r for r in report.rows if r.first), None)
    if first is not None:
        lines.append(f"look first at {first.symbol}: {first.verdict}")
    lines += report.notes
    lines += [f"line {line}: could not read '{text}': {why}" for line, text, why in report.unreadable]
    if report.unreadable_count > len(report.unreadable):
        lines.append(f"… and {spaced(report.unreadable_count - len(report.unreadable))} more unreadable lines")
    return lines


def _half_unit(digits):
    """Half a unit of the last of `digits` decimals, as written: 0.00005 for 4, 0.5 for 0."""
    return f"{0.5 * 10.0 ** -digits:.{digits + 1}f}"


def _more(report):
    """The line after the unknown rows listed, when there were more than LIST_CAP."""
    rest = report.unknown_count - len(report.unknown)
    return f"… and {spaced(rest)} more rows not graded (unknown, repeated or of the other mode)" if rest > 0 else None


def _aligned(report, r, cells):
    """The row's cells with a matrix (yours as written, the right one) on lines of its own, columns aligned."""
    yours, right = cells[1:3]
    if r.entry is not None and r.entry.tensor and r.entry.value.ndim == 2 and r.entry.value.size <= SHOWN:
        d = np.broadcast_to(r.entry.decimals, r.entry.value.shape)
        yours = matrix_text([[_as_written(v, k) for v, k in zip(*row)] for row in zip(r.entry.value, d)])
    if np.ndim(r.expected) == 2 and np.size(r.expected) <= SHOWN:
        right = fmt_value(r.expected, report.digits, row=True, align=True)
    return (cells[0], yours, right, *cells[3:])


def rich_renderables(report):
    table = Table(title=_title(report), title_justify="left", box=None, header_style="bold")
    for name, justify in (("row", "left"), ("yours", "right"), ("right", "right"), ("verdict", "left"),
                          ("rule", "left")):
        table.add_column(name, justify=justify, no_wrap=name in ("yours", "right"))
    for r in _all(report):
        cells = _aligned(report, r, _cells(report, r))
        mark = " bold reverse" if r.first else ""
        table.add_row(Text(("▶ " if r.first else "") + cells[0], style="bold" if r.first else ""), *cells[1:3],
                      Text(cells[3], style=_STYLE.get(r.verdict, "red") + mark), cells[4])
    if _more(report):
        table.add_row(_more(report), "", "", Text(UNKNOWN, style=_STYLE[UNKNOWN]), "")
    return [table, *(Text(line) for line in _footer(report))]


def _marked(report, escape, bold, width=5):
    """Each row's first `width` cells, escaped, and in bold on the row to look at first."""
    return [[(bold if r.first else "{}").format(escape(c)) for c in _cells(report, r)[:width]] for r in _all(report)]


def markdown(report):
    out = [f"**{_title(report)}**", "", "| row | yours | right | verdict | rule |", "|---|---:|---:|---|---|"]
    out += ["| " + " | ".join(cells) + " |" for cells in _marked(report, lambda c: c.replace("|", "\\|"), "**{}**")]
    if _more(report):
        out.append(f"| {_more(report)} | | | {UNKNOWN} | |")
    return "\n".join(out + [""] + [line + "  " for line in _footer(report)]) + "\n"


def latex(report):
    """A booktabs tabular for pdflatex (symbols in math: $\\bar{v}_{-2}$, a tensor's .v and .d as bmatrix); the
    verdict column wraps."""
    tensor = any(isinstance(r.expected, np.ndarray) and r.expected.ndim for r in report.rows)
    out = [_comment(f"graphcomp check: {_title(report)}; needs \\usepackage{{booktabs,amsmath,amssymb}}"),
           # arrays side by side: narrow gaps and verdicts, for two 3 × 3 matrices to fit a line
           "\\begin{tabular}{@{}l@{\\;}r@{\\;}r@{\\;\\;}p{0.22\\linewidth}@{}}" if tensor else
           "\\begin{tabular}{@{}lrrp{0.45\\linewidth}@{}}", "\\toprule",
           "row & yours & right & verdict \\\\", "\\midrule"]
    # \\bfseries, not \\textbf: a matrix's & in a macro's argument breaks it
    out += [" & ".join(("{{\\bfseries\\boldmath {}}}" if r.first else "{}").format(c) for c in _tex_cells(report, r))
            + " \\\\" for r in _all(report)]
    if _more(report):
        out.append(f"\\multicolumn{{4}}{{@{{}}l}}{{{text_to_tex(_more(report))}}} \\\\")
    out += ["\\bottomrule", "\\end{tabular}"] + [_comment(line) for line in _footer(report)]
    return "\n".join(out) + "\n"


def _tex_cells(report, r):
    """A row's row, yours, right and verdict cells in LaTeX: arrays as bmatrix (the student's to the most decimals
    they wrote), past TEX_SHOWN entries an axis cut with dots."""
    symbol, yours, right, verdict, _ = _cells(report, r)
    if r.entry is not None and r.entry.tensor:
        yours = f"${tex_value(r.entry.value, int(np.max(r.entry.decimals)), True)}$"
    if isinstance(r.expected, np.ndarray) and r.expected.ndim:
        right = f"${tex_value(r.expected, report.digits, True)}$"
    return f"${r.tex}$" if r.tex else text_to_tex(symbol), _tex_cell(yours), _tex_cell(right), text_to_tex(verdict)


_NUMBER = re.compile(r"[-−+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")


def _tex_cell(text):
    """A number in math (its minus a minus sign, not a hyphen), other text through text_to_tex; LaTeX kept."""
    if text.startswith("$"):
        return text
    return f"${text.replace('−', '-')}$" if _NUMBER.fullmatch(text) else text_to_tex(text)


def _comment(text):
    """A LaTeX comment line: a line break in a file name or a student's line would end it."""
    return "% " + " ".join(text.splitlines())


def json_text(report):
    credit, total = report.score
    data = {
        "file": report.file, "graph": report.name, "mode": report.mode, "digits": report.digits,
        "rtol": report.rtol, "score": {"credit": credit, "of": total, "right": report.count(CORRECT),
                                       "carried": report.count(CARRIED)},
        "first": next((r.symbol for r in report.rows if r.first), None),
        "rows": [{"row": r.symbol, "line": r.entry.line if r.entry is not None else None,
                  "yours": _plain(r.entry.value) if r.entry is not None else None, "right": _plain(r.expected),
                  "verdict": r.verdict, "why": r.why} for r in _all(report)],
        "unknown_count": report.unknown_count,
        "unreadable": [{"line": line, "text": text, "why": why} for line, text, why in report.unreadable],
        "unreadable_count": report.unreadable_count,
        "notes": report.notes,
    }
    return indented_json(data)


def _plain(x):
    return x.tolist() if isinstance(x, np.ndarray) else x


def render(report, fmt):
    return {"markdown": markdown, "latex": latex, "json": json_text}[fmt](report)
