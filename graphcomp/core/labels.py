"""Labels: how a node's name is written in LaTeX, and the spaces and shapes it lives in; text shortened to show."""
import re

_INDEXED = re.compile(r"([A-Za-z])_?(-?\d+)")


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
