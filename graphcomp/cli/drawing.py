"""Running Graphviz for `draw` and `report`: a diagram in each format, laid out to read on a page."""
import graphviz

from graphcomp.render import dot

PNG_DPI = "192"  # sharp when pasted into a report at its natural size


RANKDIRS = ("auto", "LR", "TB")


def render(graph, trace_, fmt, rankdir="auto", **options):
    """A diagram as bytes (png, svg, pdf) or text (dot, tex), running Graphviz's `dot`; raises
    graphviz.ExecutableNotFound without it. rankdir 'auto' lays the graph out left to right, or top to
    bottom where that keeps larger text once the drawing is scaled to a page (dot.smallest_text)."""
    if rankdir == "auto":
        try:
            sizes = {d: dot.smallest_text(dot.digraph(graph, trace_, rankdir=d, **options).pipe(format="svg").decode())[0]
                     for d in ("LR", "TB")}
            rankdir = "LR" if sizes["LR"] >= min(dot.MIN_PT, sizes["TB"]) else "TB"
        except graphviz.ExecutableNotFound:
            rankdir = "LR"  # the .dot source is still written, as the slides lay it out
    g = dot.digraph(graph, trace_, rankdir=rankdir, **options)
    if fmt == "dot":
        return g.source
    if fmt == "tex":
        return dot.tikz(graph, trace_, layout=g.pipe(format="json"), **options)
    if fmt == "png":
        g.attr(dpi=PNG_DPI)
    return g.pipe(format=fmt)
