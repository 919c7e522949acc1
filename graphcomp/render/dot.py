"""Graphviz diagrams of a graph, left to right like the lecture's slides; optionally with a finished trace's numbers.

Each node becomes a box of lines written once in LaTeX (its symbol and space,
its definition, its .v and .d); `digraph` turns the lines into Graphviz
HTML-like labels with real subscripts, `tikz` into LaTeX for a TikZ picture laid
out by Graphviz. The renderer only reads: numbers come from the trace's rows.
"""
import json
import math
import re
from dataclasses import dataclass, field
from html import escape

import numpy as np

from graphcomp.core.labels import default_label, fmt_shape, space
from graphcomp.core.nodes import CONST, DATA, INPUT, NODE
from graphcomp.render import rows
from graphcomp.render.text import (
    fmt_number,
    fmt_value,
    line_value,
    tex_matrix,
    tex_to_text,
)

FONT = "Helvetica,Arial,sans-serif"
INK, MUTED = "#333333", "#6b6b6b"
MARGIN = "0.12,0.06"  # inches around a box's label
SHOWN = 6  # entries of a tensor written in its box, per axis
FLOW = {"tangent": "#1f5fbf", "adjoint": "#c0392b"}  # forward mode blue, reverse mode red
FLOW_CLASS = "gc-flow"  # those edges' SVG class (ids=True): explain's page draws them plain in the values pass
EDGE = "#555555"  # any other edge
STYLE = {  # node kind → Graphviz attributes: parameters, data, intermediate nodes and the output differ
    INPUT: {"shape": "ellipse", "margin": "0", "style": "filled", "fillcolor": "#dbe8f7", "color": "#3d6fa8"},
    DATA: {"shape": "box", "style": "filled,dashed", "fillcolor": "#eeeeee", "color": "#808080"},
    NODE: {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": INK},
    "output": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fde3c4", "color": "#b35900", "penwidth": "2"},
    CONST: {"shape": "plaintext", "fontsize": "10", "fontcolor": MUTED, "margin": "0"},  # PT["edge"]
}
PT = {"title": 14, "line": 11, "edge": 10, "caption": 12}  # text sizes in points; TikZ uses the same
PAGE_BP = (468, 648)  # a page's text with 1 in margins (6.5 × 9 in): drawings are judged at this size
MIN_PT = 7  # the smallest text a drawing may have once scaled to the page
ID = "gc-"  # the prefix of the ids digraph(ids=True) gives
TOOLTIP_ENTRIES = 144  # entries of a value written in full in its box line's tooltip (12 × 12)
CLEAR = "#ffffff00"  # ink that draws nothing


@dataclass
class Box:
    """What one node shows: LaTeX lines, and lines of numbers (LaTeX symbol, value, shown as a row, colour), each
    from a table of its own (keys: 'primal', 'tangent' or 'adjoint')."""

    kind: str
    title: str
    definition: str | None = None
    numbers: list = field(default_factory=list)
    keys: list = field(default_factory=list)


INSTALL = ("install Graphviz: sudo apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS) "
           "or conda install -c conda-forge graphviz")


def boxes(graph, trace=None, *, values=False):
    """{node position: Box} for every node, with .v lines if `values` and .d lines if the trace has them."""
    out = {}
    for i, n in enumerate(graph.nodes):
        kind = "output" if i in graph.outputs else n.kind  # every output is marked as one
        if n.kind == CONST:
            out[i] = Box(kind, n.label)
            continue
        title = n.label if not n.shape else f"{n.label} \\in {space(n.shape)}"
        out[i] = Box(kind, title, _definition(n, graph))
    if trace is None:
        return out
    shown = [("primal", rows.primal(trace))] if values else []
    if trace.tangents is not None:
        shown.append(("tangent", rows.tangent(trace)))
    if trace.adjoints is not None:
        shown.append(("adjoint", rows.adjoint(trace)))
    for key, lines in shown:
        row_vector = key != "primal" and graph.notation == "dot"  # the problem set's .d of a vector is a row
        for r in lines:
            if r.value is not None:  # a data input's "∂D/∂y = 0" row is the table's, not a box's
                box = out[graph.index[r.node]]
                numbers = [(symbol, x, row_vector, FLOW.get(key, INK)) for symbol, x in _numbers(graph, key, r)]
                box.numbers += numbers
                box.keys += [key] * len(numbers)
    return out


def _numbers(graph, key, r):
    """[(symbol, number)] of a row in a box: its own, or with a column per input (forward mode) or per output
    (reverse mode) each column's, written as the partial it is (∂v₁/∂x₂, ∂f₂/∂v₁)."""
    if not isinstance(r.value, dict):
        return [(r.symbol, r.value)]
    me = graph.node(r.node).label
    if key == "tangent":
        return [(f"\\partial {me}/\\partial {default_label(k)}", x) for k, x in r.value.items()]
    return [(f"\\partial {graph.node(k).label}/\\partial {me}", x) for k, x in r.value.items()]


def _definition(n, graph):
    """'= v_{-2} v_{-1}' for an op node; the input's own name, or what kind of input it is."""
    if n.op is not None:
        labels = {str(k): graph.nodes[a].label for k, a in enumerate(n.args)}
        return "= " + rows.fill(rows.forward_tex(graph, n), {**rows.fields(graph, graph.index[n.name]), **labels})
    if n.label != default_label(n.name):
        return "= " + default_label(n.name)
    if n.kind == DATA:
        return "\\text{data}"
    return "\\text{parameter}" if n.shape else "\\text{input}"


def edge_labels(graph, trace, digits=4):
    """{(node, k): LaTeX} the local partial along each edge from a non-constant argument k: '∂v_j/∂v_i = rule = number'
    on scalar graphs (rule and number from the trace), the symbol ∂V/∂W alone on tensor graphs."""
    out = {}
    for a, i, k in _edges(graph):
        if graph.nodes[a].kind == CONST:
            continue
        symbol = f"\\partial {graph.nodes[i].label}/\\partial {graph.nodes[a].label}"
        number = trace.partials.get((i, k)) if trace is not None else None
        rule = rows.partial_rule(graph, i, k) if number is not None else None
        if rule is None:
            out[(i, k)] = symbol
            continue
        rule = rule[1:-1] if rule.startswith("(") and rule.endswith(")") and "(" not in rule[1:] else rule
        number = fmt_number(number, digits)
        out[(i, k)] = f"{symbol} = {number}" if _is_number(rule) else f"{symbol} = {rule} = {number}"
    return out


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def caption(trace, digits=4):
    """LaTeX line saying which mode and derivative a diagram shows and what the coloured edges mean; None without one."""
    if trace is None or (trace.tangents is None and trace.adjoints is None):
        return None
    forward = trace.tangents is not None
    mode = "Forward and reverse mode" if forward and trace.adjoints is not None else (
        "Forward mode" if forward else "Reverse mode")
    der, symbol = trace.derivative, rows.result_tex(trace)
    if symbol is not None and not isinstance(der, dict) and np.ndim(der) == 0:  # a dict: a column per input
        what = f"{symbol} = {fmt_number(der, digits)}"
    else:
        what = "\\text{the directional derivative}" if forward else "\\text{the gradient}"
    where = "along the blue" if forward else "back along the red"
    return f"\\text{{{mode}: }}{what}\\text{{ flows {where} edges}}"


def _edges(graph):
    """(arg, node, k) for every edge into argument k of a node, in the order both back ends draw them."""
    return [(a, i, k) for i, n in enumerate(graph.nodes) for k, a in enumerate(n.args)]


# ---- Graphviz ----------------------------------------------------------------------------------------


_SCRIPT = re.compile(r"(?<!\\)([_^])(?:\{([^{}]*)\}|(\w))")
_MARK = {"_": ("\x01", "\x02"), "^": ("\x03", "\x04")}
_TAGS = {"\x01": "<SUB>", "\x02": "</SUB>", "\x03": "<SUP>", "\x04": "</SUP>"}


def _mark(m):
    kind, body = m.group(1), m.group(2) if m.group(3) is None else m.group(3)
    if kind == "^":  # Graphviz writes invalid SVG for <SUB> inside <SUP>: Unicode subscripts there
        body = re.sub("\x01([^\x02]*)\x02", lambda s: tex_to_text("_{" + s.group(1) + "}"), body)
    return _MARK[kind][0] + body + _MARK[kind][1]


def tex_to_html(tex):
    """LaTeX of graphcomp's labels as a Graphviz HTML-like fragment: v_{-2} → v<SUB>−2</SUB>."""
    prev = None
    while prev != tex:  # innermost scripts first: e^{v_{1}} → e<SUP>v₁</SUP>
        prev = tex
        tex = _SCRIPT.sub(_mark, tex)
    text = escape(tex_to_text(re.sub(r"\\in\b", "∈", tex)).replace("× ", "×"), quote=False)
    # a hyphen is too short for a minus in a subscript or exponent
    text = re.sub(r"[\x01\x03][^\x02\x04]*[\x02\x04]", lambda m: m.group(0).replace("-", "−"), text)
    for mark, tag in _TAGS.items():
        text = text.replace(mark, tag)
    return text


def _value_text(value, digits, row):
    """fmt_value, cut to the first SHOWN entries along each axis (with …) so that a box stays box-sized."""
    a = np.asarray(value)
    if all(n <= SHOWN for n in a.shape):
        return fmt_value(value, digits, row=row)
    lines = fmt_value(a[(slice(SHOWN),) * a.ndim], digits, row=row).split("\n")
    if a.shape[-1] > SHOWN:
        lines = [re.sub(r"\]+", lambda m: ", …" + m.group(0), line, count=1) for line in lines]
    if a.ndim == 2 and a.shape[0] > SHOWN:
        lines[-1] = " …]"  # the last row shown gives way to the ellipsis, which closes the matrix
    return "\n".join(lines)


def _html_box(box, digits, i=None, ids=False, shown=None):
    """The box of node `i` as an HTML-like label; `ids` and `shown` as in digraph."""
    if box.kind == CONST:
        return "<" + tex_to_html(box.title) + ">"
    # one table row per line, so that subscripts do not run into the next line
    rows = [f"<B>{tex_to_html(box.title)}</B>"]
    if box.definition:
        rows.append(f'<FONT POINT-SIZE="{PT["line"]}" COLOR="{MUTED}">{tex_to_html(box.definition)}</FONT>')
    cells = [""] * len(rows)
    for (symbol, value, row, colour), key in zip(box.numbers, box.keys):
        # Graphviz writes a cell's ID into the SVG only for a link; its tooltip is the full value, within the
        # 16 384 characters Graphviz takes in a label
        full = escape(line_value(value, digits, row) if np.size(value) <= TOOLTIP_ENTRIES
                      else f"a {fmt_shape(np.shape(value))} array: every entry is in the table")
        cells.append(f' ID="{ID}{key}-{i}" HREF="#" TOOLTIP="{full}"' if ids else "")
        if (i, key) in (shown or {}):
            # a blank keeps the final value, in clear ink, so that the box keeps its size
            value, colour = (value, CLEAR) if shown[(i, key)] is None else (shown[(i, key)], colour)
        lines = escape(_value_text(value, digits, row), quote=False).replace(" [", "&#160;[").split("\n")
        font = f'<FONT POINT-SIZE="{PT["line"]}" COLOR="{colour}">'
        if len(lines) == 1:
            rows.append(f"{font}{tex_to_html(symbol)} = {lines[0]}</FONT>")
        else:  # a matrix: its rows aligned in a cell of their own, beside the symbol
            rows.append(f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD VALIGN="TOP" ALIGN="RIGHT">{font}'
                        f'{tex_to_html(symbol)} =&#160;</FONT></TD><TD BALIGN="LEFT">{font}{"<BR/>".join(lines)}'
                        "</FONT></TD></TR></TABLE>")
    body = "".join(f'<TR><TD BALIGN="LEFT"{c}>{r}</TD></TR>' for r, c in zip(rows, cells))
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{body}</TABLE>>'


def digraph(graph, trace=None, *, values=False, edge_partials=False, digits=4, rankdir="LR", ids=False, shown=None,
            node_attrs=None, edge_attrs=None):
    """The graph as a `graphviz.Digraph` (left to right, or top to bottom with rankdir='TB'), shown inline by Jupyter.

    trace:          a finished Trace; its tangents (v̇) or adjoints (v̄) are written in the boxes and
                    the edges they flow along are drawn in colour.
    values:         also write each node's value (.v), from the trace.
    edge_partials:  label each edge with its local partial derivative (numbers need a trace).
    digits:         decimals shown.
    ids:            give nodes, edges and number lines ids in the SVG, for a page's script (`graphcomp explain`):
                    ID + 'n3' (node 3), ID + 'e3-0' (the edge into node 3's argument 0), and a link group
                    'a_' + ID + 'adjoint-3' around node 3's .d line ('primal-3' its .v, 'tangent-3'), whose
                    tooltip is the full value.
    shown:          {(node, 'primal'|'tangent'|'adjoint'): value} written in a number line instead of the
                    trace's; None leaves it blank (clear ink: the box keeps its size).
    node_attrs, edge_attrs: {node: attributes}, {(node, k): attributes}: more Graphviz attributes (a highlight,
                    a fixed position) for a node, and for the edge into its argument k.
    """
    import graphviz  # only when drawing: `trace` starts without it

    _need_trace(trace, values, edge_partials)
    # the description becomes a // comment: one line, or dot reads the rest as source
    g = graphviz.Digraph(graph.name, comment=" ".join(str(graph.description or "").split()) or None)
    g.attr(rankdir=rankdir, nodesep="0.3", ranksep="0.45", bgcolor="white", fontname=FONT, fontsize=str(PT["caption"]))
    g.attr("node", fontname=FONT, fontsize=str(PT["title"]), color=INK, margin=MARGIN, height="0.4")
    g.attr("edge", fontname=FONT, fontsize=str(PT["edge"]), color=EDGE, arrowsize="0.7")
    for i, box in boxes(graph, trace, values=values).items():
        style = STYLE[box.kind]
        if box.kind == INPUT and graph.nodes[i].shape:
            style = {**style, "shape": "box", "margin": MARGIN}  # an ellipse around a matrix wastes half the page
        style = {**style, **({"id": f"{ID}n{i}"} if ids else {}), **(node_attrs or {}).get(i, {})}
        g.node(graph.nodes[i].name, _html_box(box, digits, i, ids, shown), **style)
    flow = trace.flow_edges if trace is not None else frozenset()
    colour = FLOW["tangent" if trace is not None and trace.tangents is not None else "adjoint"]
    labels = edge_labels(graph, trace, digits) if edge_partials else {}
    flow_class = {"class": FLOW_CLASS} if ids else {}
    for a, i, k in _edges(graph):
        attrs = ({"color": "#aaaaaa", "arrowsize": "0.5"} if graph.nodes[a].kind == CONST else
                 {"color": colour, "penwidth": "2.2", **flow_class} if (a, i) in flow else {})
        if (i, k) in labels:
            # one part a line (∂v₆/∂v₀, = −v₆/v₀, = −1.4614): a narrow label keeps the drawing readable on a page
            text = "<BR/>".join(tex_to_html(p) for p in labels[(i, k)].replace(" = ", "\n= ").split("\n"))
            attrs.update(label=f"<{text}>", fontcolor=attrs.get("color", MUTED))
        attrs.update({"id": f"{ID}e{i}-{k}"} if ids else {}, **(edge_attrs or {}).get((i, k), {}))
        g.edge(graph.nodes[a].name, graph.nodes[i].name, **attrs)
    text = caption(trace, digits)
    if text:
        g.attr(label="<" + tex_to_html(text) + ">", labelloc="b", fontcolor=INK)
    return g


def _need_trace(trace, values, edge_partials):
    # a renderer only reads: the numbers come from a finished trace
    if (values or edge_partials) and trace is None:
        raise ValueError("values and edge partials are read from a trace: pass graph.trace(...)")


# ---- TikZ ----------------------------------------------------------------------------------------------


def tikz(graph, trace=None, *, layout, values=False, edge_partials=False, digits=4):
    """The diagram as a LaTeX `tikzpicture`: Graphviz's layout and colours, LaTeX's own labels.

    layout: Graphviz's `json` output for `digraph(graph, trace, ...)` with the same options
    (`digraph(...).pipe(format="json")`). The picture needs tikz (with its shapes.geometric library),
    amsmath and amssymb.
    """
    _need_trace(trace, values, edge_partials)
    doc = json.loads(layout)
    colours = {}

    def colour(code):
        return colours.setdefault(code.lower(), f"gc{len(colours)}")

    def number(symbol, value, row, code):
        # a bmatrix cut like the Graphviz boxes (_value_text); a column vector is a row with ^T
        cut = (SHOWN, SHOWN - (np.ndim(value) == 2 and len(value) > SHOWN), SHOWN, True)
        tex = tex_matrix(value, digits, vector="row" if row else "row^T", cut=cut)
        return f"\\textcolor{{{colour(code)}}}{{${symbol} = {tex}$}}"

    body, all_boxes = [], boxes(graph, trace, values=values)
    for obj in doc["objects"]:
        i = graph.index[obj["name"]]
        box, opts = all_boxes[i], _tikz_node_style(obj, colour)
        lines = [f"${box.title}$"]  # a constant's box has its title alone
        if box.definition:
            lines.append(f"\\textcolor{{{colour(MUTED)}}}{{{_font('line')} ${box.definition}$}}")
        lines += [f"{_font('line')} {number(*line)}" for line in box.numbers]
        text = " \\\\ ".join(lines)
        body.append(f"\\node[{opts}] (n{i}) at ({obj['pos']}) {{{text}}};")
    labels = edge_labels(graph, trace, digits) if edge_partials else {}
    laid = laid_edges(graph, doc)
    for a, i, k in _edges(graph):
        edge = laid[(i, k)]
        width = 0.6 * float(edge.get("penwidth", 1))
        body.append(f"\\draw[-stealth, draw={colour(edge['color'])}, line width={width:.2f}bp] {_tikz_path(edge['pos'])};")
        if (i, k) in labels:
            text = " \\\\ ".join(f"${p}$" for p in labels[(i, k)].replace(" = ", "\n= ").split("\n"))
            body.append(f"\\node[font={_font('edge')}, text={colour(edge['fontcolor'])}] at ({edge['lp']}) {{{text}}};")
    text = caption(trace, digits)
    if text:
        body.append(f"\\node[font={_font('caption')}] at ({doc['lp']}) {{${text}$}};")
    right, top = doc["bb"].split(",")[2:]  # Graphviz's bounding box: 0,0 to right,top
    width, height = float(right), float(top)
    head = [f"% graphcomp: {graph.name}, laid out by Graphviz. Needs \\usepackage{{tikz,amsmath,amssymb}}.",
            "\\usetikzlibrary{shapes.geometric}%",  # allowed in the body too: the fragment pastes as it is
            # wider than the line or taller than the page less two lines (a caption's), it shrinks to fit as it
            # pastes; its text keeps Graphviz's sizes, which draw's layout keeps at 7 pt or more on a 6.5 × 9 in
            # page wherever it can (a drawing as tall as that page shrinks 4% more here)
            f"\\pgfmathsetmacro{{\\graphcompscale}}{{min(1, 0.99\\linewidth/{width:.1f}bp, "
            f"(\\textheight - 2\\baselineskip)/{height:.1f}bp)}}%",  # '%': no space token after it
            "\\noindent%",  # loading a TikZ library may end the paragraph: a new one would start indented
            "\\begin{tikzpicture}[x=1bp, y=1bp, scale=\\graphcompscale, "
            f"every node/.style={{align=center, inner sep=1bp, transform shape, font={_font('title')}}}]"]
    head += [f"\\definecolor{{{name}}}{{HTML}}{{{code[1:].upper()}}}" for code, name in colours.items()]
    head.append(f"\\useasboundingbox (0,0) rectangle ({right},{top});")
    return "\n".join(head + body + ["\\end{tikzpicture}", ""])


def laid_edges(graph, doc):
    """{(node, k): the edge into its argument k} in Graphviz's `json` layout `doc` (parsed) of a digraph of `graph`."""
    names = [obj["name"] for obj in doc["objects"]]
    laid = {}  # Graphviz groups edges by tail: find each by its ends, parallel ones in order
    for edge in sorted(doc.get("edges", []), key=lambda e: e["_gvid"]):
        laid.setdefault((names[edge["tail"]], names[edge["head"]]), []).append(edge)
    return {(i, k): laid[(graph.nodes[a].name, graph.nodes[i].name)].pop(0) for a, i, k in _edges(graph)}


def _font(kind):
    """A LaTeX font size command for the text of `kind` (PT): the size Graphviz laid the drawing out for."""
    return f"\\fontsize{{{PT[kind]}bp}}{{{1.2 * PT[kind]:.1f}bp}}\\selectfont"


def svg_scripts(svg):
    """Graphviz's SVG with its subscripts and superscripts nearer the line and smaller, as its PNG draws them
    (but never below MIN_PT once the drawing is scaled to a page): Graphviz writes them at the full size with
    baseline-shift sub/super, which a browser shifts by a whole line's worth, onto the letters around it."""
    width, height = _svg_size(svg)
    least = MIN_PT / min(1.0, PAGE_BP[0] / width, PAGE_BP[1] / height)

    def script(m):
        size = math.ceil(100 * max(0.8 * float(m[3]), min(float(m[3]), least))) / 100
        return f'baseline-shift="{_SHIFT[m[1]] * size:.2f}"{m[2]} font-size="{size:.2f}"'

    return _SCRIPTS.sub(script, svg)


def _svg_size(svg):
    return (float(x) for x in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())


_SCRIPTS = re.compile(r'baseline-shift="(sub|super)"([^>]*?) font-size="([\d.]+)"')
_SHIFT = {"sub": -0.25, "super": 0.44}  # of the script's own size


def smallest_text(svg):
    """The smallest text of an SVG drawing, in points, once scaled to fit a page (PAGE_BP), and its size."""
    width, height = _svg_size(svg)
    sizes = [float(x) for x in re.findall(r'font-size="([\d.]+)"', svg)]
    return min(sizes) * min(1.0, PAGE_BP[0] / width, PAGE_BP[1] / height), (width, height)


def page_rankdir(svgs):
    """'LR', or 'TB' where that keeps larger text once the drawing is scaled to a page: `svgs` holds one drawing's
    SVG laid out each way, {'LR': …, 'TB': …}."""
    sizes = {d: smallest_text(svg)[0] for d, svg in svgs.items()}
    return "LR" if sizes["LR"] >= min(MIN_PT, sizes["TB"]) else "TB"


def _tikz_node_style(obj, colour):
    """TikZ options for a node from its Graphviz attributes: shape, size, colours, dashes, corners."""
    style = obj.get("style", "")
    if obj["shape"] == "plaintext":
        return f"text={colour(obj['fontcolor'])}, font={_font('edge')}"
    opts = ["ellipse" if obj["shape"] == "ellipse" else "rectangle",
            f"minimum width={float(obj['width']) * 72:.1f}bp", f"minimum height={float(obj['height']) * 72:.1f}bp",
            f"draw={colour(obj['color'])}", f"line width={0.6 * float(obj.get('penwidth', 1)):.2f}bp"]
    if "filled" in style:
        opts.append(f"fill={colour(obj['fillcolor'])}")
    if "dashed" in style:
        opts.append("dashed")
    if "rounded" in style:
        opts.append("rounded corners=5bp")
    return ", ".join(opts)


def _tikz_path(pos):
    """A Graphviz edge spline 'e,x,y p0 p1 p2 p3 ...' as a TikZ Bézier path ending at the arrow's tip."""
    tip, points = None, []
    for token in pos.split():
        if token.startswith("e,"):
            tip = token[2:]
        elif not token.startswith("s,"):
            points.append(token)
    path = f"({points[0]})"
    for c1, c2, end in zip(points[1::3], points[2::3], points[3::3]):
        path += f" .. controls ({c1}) and ({c2}) .. ({end})"
    return path + (f" -- ({tip})" if tip else "")
