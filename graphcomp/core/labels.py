"""Labels: how a node's name is written in LaTeX, what a spec's label may hold, the spaces and shapes it lives
in, and text shortened to show."""
import re
import string

_INDEXED = re.compile(r"([A-Za-z])_?(-?\d+)")


# the Unicode sub- and superscripts terminal text writes (v₋₂, h⁽¹⁾, Vᵀ), as (plain, scripted) strings
SUBSCRIPTS = ("0123456789-+()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₋₊₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
SUPERSCRIPTS = ("0123456789-+()nT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾ⁿᵀ")


def default_label(name):
    """LaTeX label for a node name: v1 → v_{1}, x_3 → x_{3}, W1 → W_{1}, loss → \\mathrm{loss}."""
    m = _INDEXED.fullmatch(name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    m = re.fullmatch(r"([A-Za-z])_?([A-Za-z0-9])", name)
    if m and "_" in name:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    if len(name) == 1:
        return name
    return "\\mathrm{" + name.replace("_", "\\_") + "}"


MAX_LABEL = 100  # characters: a label names a node, it is not a formula
PUNCTUATION = "_^{}()[],.'+-*/=|<>"
LABEL_CHARS = frozenset(string.ascii_letters + string.digits + " " + PUNCTUATION)
# the commands a label may use, in math mode: none reads or writes a file, defines a macro or leaves math mode
ACCENTS = ("bar", "dot", "ddot", "hat", "tilde", "vec", "overline", "underline")
FONTS = ("mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "boldsymbol", "operatorname", "text")
GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi rho "
         "varrho sigma varsigma tau upsilon phi varphi chi psi omega "
         "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega").split()
SYMBOLS = ("times", "cdot", "odot", "top", "partial", "nabla", "prime", "ell", "infty", "star", "ast", "circ", "pm",
           "sum", "prod", "sqrt", "frac", "tfrac", "langle", "rangle", "quad", "sin", "cos", "tan", "tanh", "exp",
           "ln", "log")
COMMANDS = frozenset((*ACCENTS, *FONTS, *GREEK, *SYMBOLS))
CONTROL_SYMBOLS = ("_", ",", ";", "!", "|")  # \_ (an underscore, as default_label writes it), \, \; \! (spaces), \| (a norm)
_ALLOWED = (", ".join("\\" + c for c in (*ACCENTS, *FONTS)) + ", the Greek letters \\alpha … \\Omega, "
            + ", ".join("\\" + c for c in SYMBOLS) + " and " + " ".join("\\" + c for c in CONTROL_SYMBOLS))


def label_problem(label):
    """Why `label` is not a label a spec may give (a one-line message), or None if it is one.

    A label is math-mode LaTeX of a small subset: ASCII letters and digits, spaces, _ ^ { } ( ) [ ] , . ' + - * / = |
    < >, and a backslash before a command of COMMANDS or one of CONTROL_SYMBOLS; its braces balance and it has at
    most MAX_LABEL characters. So a label cannot leave math mode, break a table ($ & %), or read, write or loop.
    """
    if len(label) > MAX_LABEL:
        return f"a label has at most {MAX_LABEL} characters (it names a node, e.g. v_{{-2}}), not {len(label)}"
    bad = next((c for c in label if c not in LABEL_CHARS and c != "\\"), None)
    if bad is not None:
        return f"{bad!r} is not allowed in a label (ASCII letters and digits, spaces, {' '.join(PUNCTUATION)} and \\ commands)"
    if "^^" in label:  # TeX reads ^^5c as a backslash, ^^24 as $
        return "'^^' is not allowed in a label (TeX reads ^^5c as a backslash)"
    depth = 0
    for m in _TOKEN.finditer(label):
        token = m.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                break
        elif token[1:] not in COMMANDS and token[1:] not in CONTROL_SYMBOLS:
            what = "'\\\\' (a line break)" if token == "\\\\" else \
                "a backslash at the end" if token == "\\" else f"'{token}'"
            return f"{what} is not a command a label may use (allowed: {_ALLOWED})"
    if depth:
        return f"its braces do not balance: '{label}' (each {{ needs its }}, after it)"
    return None


_TOKEN = re.compile(r"[{}]|\\(?:[A-Za-z]+|.?)", re.S)  # a brace, or a control word or symbol as TeX reads it


def fmt_shape(shape):
    """'3×2', '2' or 'scalar'."""
    return "scalar" if not shape else "×".join(map(str, shape))


def space(shape):
    """ℝ, ℝ^3 or ℝ^{3×2} in LaTeX."""
    if not shape:
        return "\\mathbb{R}"
    return "\\mathbb{R}^{" + "\\times ".join(map(str, shape)) + "}"


def shorten(text, width=60):
    """Text as a message quotes it: on one line, and cut with … past `width` characters."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def number_tex(x, factor=True):
    """A constant as LaTeX, to 12 digits: a power of ten as one ({10^{12}}, braced, a power's base; not 1e+12), a
    product with one (2.5 \\cdot 10^{-7}); as a `factor`, in parentheses when negative or a product (x_{1} \\cdot (-2),
    which x_{1} -2 would misread as a difference). -0 is 0."""
    mantissa, _, exponent = f"{float(x) + 0.0:.12g}".partition("e")  # + 0.0: -0.0 is 0.0
    power = f"10^{{{int(exponent)}}}" if exponent else ""
    if power and mantissa.lstrip("-") == "1":
        text = "-" + power if mantissa.startswith("-") else f"{{{power}}}"
    else:
        text = f"{mantissa} \\cdot {power}" if power else mantissa
    return f"({text})" if factor and (text.startswith("-") or " " in text) else text
