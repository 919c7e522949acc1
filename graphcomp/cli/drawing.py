"""Running Graphviz for `draw` and `report`: a diagram in each format, laid out to read on a page."""
import hashlib
import os
import re
import signal
import time

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
            rankdir = dot.page_rankdir({d: dot.digraph(graph, trace_, rankdir=d, **options).pipe(format="svg").decode()
                                        for d in ("LR", "TB")})
        except graphviz.ExecutableNotFound:
            rankdir = "LR"  # the .dot source is still written, as the slides lay it out
    g = dot.digraph(graph, trace_, rankdir=rankdir, **options)
    if fmt == "dot":
        return g.source
    if fmt == "tex":
        return dot.tikz(graph, trace_, layout=g.pipe(format="json"), **options)
    if fmt == "png":
        g.attr(dpi=PNG_DPI)
    data = g.pipe(format=fmt)
    if fmt == "svg":
        return dot.svg_scripts(data.decode()).encode()
    return reproducible_pdf(data) if fmt == "pdf" else data


def failure(exc):
    """What a failed Graphviz run (graphviz.CalledProcessError) said, in one line: the first line it wrote to
    stderr, else how it ended (a crash says nothing)."""
    said = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
    if said:
        return said[0]
    if exc.returncode < 0:
        return f"dot crashed ({signal.strsignal(-exc.returncode) or f'signal {-exc.returncode}'}) and said nothing"
    return f"dot exited with status {exc.returncode} and said nothing"


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:[0-9]{14}")
_PDF_ID = re.compile(rb"/ID \[<([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)>\]")


def reproducible_pdf(pdf):
    """A PDF with its wall-clock dates set to SOURCE_DATE_EPOCH (default 0) and its /ID made from its contents.

    cairo (Graphviz) here ignores SOURCE_DATE_EPOCH, and pdfTeX hashes the output's path, a temporary
    folder, into /ID. Both keep their length, so the cross-reference offsets stay right.
    """
    try:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        epoch = 0
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(epoch)).encode()
    pdf = _PDF_DATE.sub(lambda m: b"/" + m[1] + b" (D:" + stamp, pdf)
    digest = hashlib.md5(_PDF_ID.sub(b"/ID []", pdf), usedforsecurity=False).hexdigest().upper().encode()
    return _PDF_ID.sub(lambda m: b"/ID [<" + digest[:len(m[1])] + b"> <" + digest[:len(m[2])] + b">]", pdf)
