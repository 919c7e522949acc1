"""LaTeX → Unicode for terminal output (v_{-2} → v₋₂, \\bar{v}_{1} → v̄₁) and back to LaTeX, and number formatting."""
import csv
import functools
import io
import json
import re

import numpy as np

from graphcomp.core.labels import SUBSCRIPTS, SUPERSCRIPTS

_SUB, _SUP = str.maketrans(*SUBSCRIPTS), str.maketrans(*SUPERSCRIPTS)
_WORDS = [
    ("\\textstyle", ""), ("\\tfrac12", "½"), ("\\cdot", "·"), ("\\odot", "⊙"), ("\\times", "×"),
    ("\\top", "T"), ("\\langle", "⟨"), ("\\rangle", "⟩"), ("\\lVert", "‖"), ("\\rVert", "‖"), ("\\|", "‖"), ("\\,", " "), ("\\quad", "  "), ("\\sum", "Σ"),
    ("\\sigma", "σ"), ("\\partial ", "∂"), ("\\nabla", "∇"), ("\\mathbf{1}", "𝟙"), ("\\mathbb{R}", "ℝ"),
    ("\\tanh", "tanh"), ("\\sin", "sin"), ("\\cos", "cos"), ("\\tan", "tan"), ("\\ln", "ln"),
]


_GREEK = dict(zip(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho tau upsilon phi chi psi omega "
    "Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega".split(),
    "αβγδεζηθικλμνξπρτυφχψωΓΔΘΛΞΠΣΦΨΩ"))
_ACCENT = {"dot": "\u0307", "bar": "\u0304"}


def _accented(m):
    # a combining mark on every character: over a multi-letter name it reads as one line, like \overline
    mark = _ACCENT[m.group(1)]
    return "".join(c if c == "\0" else c + mark for c in m.group(2))


def _script(m, table, mark):
    body = m.group(1)
    if body and all(ord(c) in table for c in body):
        return body.translate(table)
    return f"{mark}({body})" if len(body) > 1 else f"{mark}{body}"


_TEXT_CMD = re.compile(r"\\(?:mathrm|text|operatorname)\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+)(?![A-Za-z])")
_ACCENT_CMD = re.compile(r"\\(dot|bar)\{([^{}]*)\}")
_SUB_GROUP = re.compile(r"_\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\{([^{}]*)\}")
_EXP = re.compile(r"\be\^\{([^{}]*)\}")
_SUP_GROUP = re.compile(r"\^\{([^{}]*)\}")
_SUP_CHAR = re.compile(r"\^(\w)")


def tex_to_text(tex):
    """Render the small LaTeX subset graphcomp's templates use as Unicode text."""
    # piece by piece between spaces, slashes and ∂ where no group spans them (every pattern is then local to a
    # piece): a symbol recurs in its users' rules, so its pieces are converted once (a 10⁶-row trace calls this
    # per cell)
    pieces = _PIECES.split(tex.replace("\\partial ", "∂"))
    words = [p if k % 2 else _word_to_text(p) for k, p in enumerate(pieces)]
    if None not in words:
        return "".join(words)
    return _to_text(tex)


_PIECES = re.compile(r"([ /∂])")


@functools.lru_cache(maxsize=2**16)
def _word_to_text(word):
    """A word converted alone, or None if a group in it spans a space (its braces do not balance)."""
    if word.count("{") != word.count("}"):
        return None
    m = _INDEXED.match(word)
    if m:  # v_{12}, \bar{v}_{12}, v_{12}), v_{12}^2): the words of most rows, at a tenth of the general path's cost
        accent, accented, letter, index, tail, power, end = m.groups()
        power = power.translate(_SUP) if power else ""
        return (accented + _ACCENT[accent] if accent else letter) + index.translate(_SUB) + tail + power + end
    return _to_text(word)


_INDEXED = re.compile(r"(?:\\(dot|bar)\{([A-Za-z])\}|([A-Za-z]))_\{(-?[0-9]+)\}([()0-9]*)(?:\^([0-9]))?([()]*)\Z")


def _to_text(tex):
    # each substitution runs only where its pattern can match
    s = tex.replace("\\_", "\0")
    if "\\" in s:
        s = _TEXT_CMD.sub(r"\1", s)
        for a, b in _WORDS:
            s = s.replace(a, b)
        s = _COMMAND.sub(lambda m: _GREEK.get(m.group(1), m.group(0)), s)
        s = _ACCENT_CMD.sub(_accented, s)
    prev = None
    while prev != s:
        prev = s
        if "_{" in s:
            s = _SUB_GROUP.sub(lambda m: _script(m, _SUB, "_"), s)
        if "\\sqrt{" in s:
            s = _SQRT.sub(r"√(\1)", s)
        if "^" in s:
            s = _EXP.sub(r"exp(\1)", s)
            s = _SUP_GROUP.sub(lambda m: _script(m, _SUP, "^"), s)
            s = _SUP_CHAR.sub(lambda m: _script(m, _SUP, "^"), s)
    return s.replace("{", "").replace("}", "").replace("\\", "").replace("\0", "_")


# ---- Unicode text → LaTeX, for the sentences and symbols of text tables pasted into LaTeX -------------------------

_UNSUB, _UNSUP = str.maketrans(*SUBSCRIPTS[::-1]), str.maketrans(*SUPERSCRIPTS[::-1])
_MATH = {**{text: tex.strip() for tex, text in _WORDS if len(text) == 1 and not text.isascii()},  # ·, ∂, ‖, ℝ…
         "−": "-", "±": "\\pm", "≤": "\\leq", "≥": "\\geq", "≈": "\\approx", "→": "\\to", "√": "\\surd",
         "▶": "\\blacktriangleright", "∞": "\\infty", "|": "|", **{c: "\\" + name for name, c in _GREEK.items()}}
_ESCAPE = str.maketrans({"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_",
                         "{": "\\{", "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}",
                         "–": "--", "µ": "$\\mu$", "<": "$<$", ">": "$>$"})  # µs: a unit, not math
_LETTERS = "".join(_GREEK.values()) + "σ"
_SYMBOL = re.compile("(?:([A-Za-z" + _LETTERS + "])([\u0304\u0305\u0307]?)|(["
                     + "".join(c for c in _MATH if c not in _LETTERS) + "]))"
                     + f"((?:[{SUBSCRIPTS[1]}]|[{SUPERSCRIPTS[1]}])*)")
_SCRIPTS = re.compile(f"[{SUBSCRIPTS[1]}]+|[{SUPERSCRIPTS[1]}]+")
_SCRIPT_RUNS = re.compile(f"((?:[{SUBSCRIPTS[1]}]|[{SUPERSCRIPTS[1]}])+)")
_TEXT_TEX = {"⋯": "$\\cdots$", "⋮": "$\\vdots$", "\u2009": "\\,", "\u202f": "\\,", "\u00a0": "~", "…": "\\dots{}"}
_JOINS = re.compile(r"[\s/()]*")  # what may stand between two symbols in one $…$
_MARK_TEX = {"\u0304": "\\bar", "\u0305": "\\bar", "\u0307": "\\dot"}


def text_to_tex(text):
    """Unicode text as LaTeX for pdflatex: v̄₋₂ → $\\bar{v}_{-2}$, ∂, ·, −, Greek in math, LaTeX's specials escaped."""
    out, math, end = [], [], 0

    def flush():
        if math:
            out.append("$" + " ".join(filter(None, math)) + "$")
            math.clear()

    for m in _SYMBOL.finditer(text):
        letter, mark, symbol, scripts = m.groups()
        if letter and letter.isascii() and not (mark or scripts) and not (
                math and m.start() == end and not text[m.end():m.end() + 1].isalpha()):
            continue  # a plain letter: text, unless it ends a symbol's run (the f of ∇f)
        gap = text[end:m.start()]
        if gap and not (math and _JOINS.fullmatch(gap)):
            flush()
            out.append(_plain_tex(gap))
        elif gap:
            math.append(gap.strip())
        letter = _MATH.get(letter, letter) or _MATH[symbol]
        math.append((f"{_MARK_TEX[mark]}{{{letter}}}" if mark else letter) + _scripts_tex(scripts))
        end = m.end()
    flush()
    out.append(_plain_tex(text[end:]))
    return "".join(out)


def _scripts_tex(scripts):
    """Unicode sub- and superscripts (₋₂, ⁽¹⁾, ᵀ, in either order) as _{-2}, ^{(1)}, ^{\\top}."""
    out = []
    for run in _SCRIPTS.findall(scripts):
        if run[0] in SUBSCRIPTS[1]:
            out.append(f"_{{{run.translate(_UNSUB)}}}")
        else:
            out.append("^{" + run.translate(_UNSUP).replace("T", "\\top") + "}")
    return "".join(out)


def _plain_tex(text):
    """Text between symbols: LaTeX's specials escaped, scripts after a digit (10⁶) in math, and no character
    pdflatex lacks (a stray combining mark is dropped, an unknown symbol is '?')."""
    out = []
    for k, piece in enumerate(_SCRIPT_RUNS.split(text)):
        if k % 2:  # a run of scripts the split kept
            out.append(f"${_scripts_tex(piece)}$")
            continue
        for c in piece:
            if c in _TEXT_TEX:
                out.append(_TEXT_TEX[c])
            elif ord(c) in _ESCAPE:
                out.append(_ESCAPE[ord(c)])
            elif c.isascii() or ("\u00c0" <= c <= "\u017f" and c not in "×÷"):  # Latin letters: pdflatex's utf8
                out.append(c)
            elif c in _MATH:
                out.append(f"${_MATH[c]}$")
            elif not "\u0300" <= c <= "\u036f":
                out.append("?")
    return "".join(out)


def fmt_number(x, digits):
    """A float to `digits` decimals, without a '-0.0000'; in scientific notation from 10¹² on (no 160-digit rows) and
    where it is not 0 but would round to 0 (2.0000e-09, not 0.0000: a derivative that is not zero)."""
    x = float(x)
    if abs(x) >= 1e12 or 0.0 < abs(x) < 0.5 * 10.0 ** -digits:
        return f"{x:.{digits}e}"
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0.0 else s


def tex_number(x, digits):
    """fmt_number in LaTeX: scientific notation as a power of ten (3.0000 \\cdot 10^{12}; 3.0000e+12 in math reads
    as e + 12)."""
    s = fmt_number(x, digits)
    mantissa, e, exponent = s.partition("e")
    return f"{mantissa} \\cdot 10^{{{int(exponent)}}}" if e else s


def tex_matrix(x, digits, *, vector="column", cut=None):
    """A scalar, vector or matrix in LaTeX (bmatrix); a vector as a 'column', a 'row', or a 'row^T' (a column).

    cut=(shown, rows, columns, every): past `shown` entries along an axis the rest is \\cdots or \\vdots, after the
    first `rows` rows and `columns` columns; \\vdots under the first column, or under `every` one."""
    a = np.asarray(x)
    if a.ndim == 0:
        return tex_number(a, digits)
    m = a.reshape(-1, 1) if a.ndim == 1 and vector == "column" else np.atleast_2d(a)
    shown, rows, cols, every = cut or (max(m.shape), *m.shape, False)
    # only an axis longer than `shown` is cut
    rows, cols = rows if len(m) > shown else len(m), cols if m.shape[1] > shown else m.shape[1]
    lines = [[tex_number(e, digits) for e in r[:cols]] + ["\\cdots"] * (m.shape[1] > shown) for r in m[:rows]]
    if len(m) > shown:
        lines.append(["\\vdots"] + ["\\vdots" if every else ""] * (len(lines[0]) - 1))
    body = " \\\\ ".join(" & ".join(r) for r in lines)
    return "\\begin{bmatrix}" + body + "\\end{bmatrix}" + ("^\\top" if a.ndim == 1 and vector == "row^T" else "")


def cut(xs, shown):
    """The first `shown` items, or the first `shown` − 1 and None (for ⋯ or ⋮) when there are more (all for None)."""
    xs = list(xs)
    return xs if shown is None or len(xs) <= shown else xs[:shown - 1] + [None]


def fmt_value(x, digits, *, row=False, shown=None, align=False):
    """A scalar, vector or matrix as text; vectors print as a row, marked ᵀ when they are columns. Past `shown`
    entries along an axis, the first shown − 1 and then ⋯ (along a row) or ⋮ (down the rows). With `align` (a
    table cell), a matrix's entries are right-aligned in their columns, its rows separated by commas."""
    if x is None:
        return "—"
    a = np.asarray(x)
    if a.ndim == 0:
        return fmt_number(a, digits)
    if a.ndim == 1:
        body = "[" + ", ".join("⋯" if e is None else fmt_number(e, digits) for e in cut(a, shown)) + "]"
        return body if row else body + "ᵀ"
    rows = [None if r is None else ["⋯" if e is None else fmt_number(e, digits) for e in cut(r, shown)]
            for r in cut(a, shown)]
    if not align:
        return "\n".join(" ⋮" if r is None else ("[[" if k == 0 else " [") + ", ".join(r) + "]"
                         for k, r in enumerate(rows)) + "]"
    return matrix_text([r or ["⋮"] * len(rows[0]) for r in rows])


def line_value(x, digits, row=True):
    """fmt_value on one line, as a Python or JSON literal: 1.5000, [1.4303, -2.7805], [[7.5913, 1.7220], [-0.9565,
    -0.2170]] (a column vector marked ᵀ unless `row`)."""
    return fmt_value(x, digits, row=row).replace("\n", ",")

def matrix_text(rows):
    """A matrix of number strings on lines of one length: each entry right-aligned in its column, each row but the
    last ended by a comma (as long as the last's closing ]])."""
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    return ",\n".join(("[[" if k == 0 else " [") + ", ".join(e.rjust(w) for e, w in zip(r, widths)) + "]"
                      for k, r in enumerate(rows)) + "]"


def point_text(values, digits):
    """'x1 = 1.5000, x2 = 0.5000': the scalar ones of {name: value}."""
    return ", ".join(f"{k} = {fmt_number(x, digits)}" for k, x in values.items() if np.ndim(x) == 0)


def csv_lines(rows):
    """Rows (lists of cells, or a generator of them) as CSV text, each line ending in \\n."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def indented_json(doc):
    """doc as indented JSON, with each list of numbers (a vector, a row of a matrix) on one line."""
    return _NUMBERS.sub(lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]",
                        json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


# a list across lines with no string, list or object in it: inside a JSON string a newline is written \n, so
# text in a string never matches
_NUMBERS = re.compile(r"\[(\s*\n[^\[\]{}\"]*)\]")
