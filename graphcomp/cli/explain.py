"""`graphcomp explain`: step through the sweeps in one offline HTML page, or as an animation (GIF, APNG) or PNG frames."""
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import graphviz
from PIL import Image

from graphcomp.cli import common, sizes
from graphcomp.cli.draw import default_output
from graphcomp.cli.drawing import PNG_DPI, RANKDIRS, failure
from graphcomp.cli.io import write_atomic
from graphcomp.core.errors import GraphcompError
from graphcomp.render import dot, explain
from graphcomp.render.steps import check_one_value, check_size, steps

FORMATS = (".html", ".gif", ".apng")
MARGIN = 24  # pixels of white around a frame's caption


def register(sub):
    p = sub.add_parser("explain", help="step through the forward and reverse sweeps (HTML page, GIF/APNG, PNG frames)",
                       description="Write the sweeps one step at a time: an offline HTML page with the graph, the "
                       "trace tables and Next/Previous/Play controls (.html), an animation with a frame per step "
                       "(.gif, .apng), or numbered PNG frames into a folder (-o DIR/ --frames png). "
                       "Example: explain eq2.yaml --wrt x2 --mode reverse -o outputs/eq2.html")
    common.add_graph_args(p)
    p.add_argument("--wrt", help="input to differentiate with respect to (x2), or a forward-mode direction x1=1,x2=0.5")
    p.add_argument("--mode", choices=("forward", "reverse", "both"), default="reverse",
                   help="after the forward pass: the tangent pass (forward), the adjoint pass (reverse, the "
                   "default), or both")
    p.add_argument("-o", "--output", help=f"file to write ({', '.join(FORMATS)}), or a folder with --frames png "
                   "(default: outputs/NAME.html)")
    p.add_argument("--frames", choices=("png",), help="write each step as a numbered PNG into the folder -o names")
    p.add_argument("--delay", type=int, default=1500, help="milliseconds per frame of an animation (default: 1500)")
    common.add_digits_arg(p)
    p.add_argument("--rankdir", choices=RANKDIRS, default="auto", help="LR (left to right, as the slides), TB (top to "
                   "bottom), or auto (default): on the page as draw chooses, in frames LR (slides are wide)")
    p.set_defaults(run=run)


MAX_DELAY = 600_000  # ten minutes a frame


def run(args):
    common.check_digits(args)
    if not 0 < args.delay <= MAX_DELAY:  # a GIF holds a frame's delay in 16 bits of 1/100 s
        raise GraphcompError(f"--delay must be from 1 to {MAX_DELAY} milliseconds, not {args.delay}")
    graph, at = common.load_graph(args)
    out = Path(args.output or default_output(graph.name).with_suffix(".html"))
    folder = str(args.output or "").endswith("/") or out.is_dir()
    if args.frames and out.exists() and not out.is_dir():
        raise GraphcompError("--frames png writes into a folder, and this is a file; name a folder (DIR/)", file=out)
    if not args.frames and (folder or out.suffix.lower() not in FORMATS):
        raise GraphcompError(f"cannot tell what to write: end the file name in {', '.join(FORMATS)}, "
                             "or give a folder with --frames png", file=out)
    check_size(graph)  # before the sweeps: a graph too large to step through is not worth evaluating
    sizes.check_drawing(graph, "explain's drawing")
    t = common.trace(args, graph, at, wrt=common.parse_wrt(args.wrt), mode=args.mode)
    check_one_value(t)
    sweep = steps(t, args.digits)
    if args.frames or out.suffix.lower() != ".html":
        sizes.check_frames(graph, len(sweep))
    try:
        if args.frames:
            pictures = frames(t, sweep, args)
            files = [(out / f"step-{k:03d}.png", _encode([im], "PNG")) for k, im in enumerate(pictures, 1)]
        elif out.suffix.lower() == ".html":
            files = [(out, explain.page(t, sweep, explain.laid_out(t, args.digits, args.rankdir, svg), args.digits))]
        else:
            files = [(out, _encode(frames(t, sweep, args), "GIF" if out.suffix.lower() == ".gif" else "PNG",
                                   save_all=True, duration=args.delay, loop=0))]
    except graphviz.ExecutableNotFound:
        raise GraphcompError(f"Graphviz's 'dot' program is not on PATH, and explain draws the graph with it; "
                             f"{dot.INSTALL}") from None
    except graphviz.CalledProcessError as exc:
        raise GraphcompError(f"Graphviz failed: {failure(exc)}", file=out) from None
    except OSError as exc:  # dot quit while it was read to (a pipe broken): what it said is lost
        raise GraphcompError(f"Graphviz failed: {exc.strerror or exc}", file=out) from None
    for path, data in files:  # made in full before the first is written
        write_atomic(path, data)
    print(f"wrote {out}{'/step-*.png' if args.frames else ''} ({len(sweep)} steps)")


def svg(digraph):
    """Graphviz's SVG of `digraph`, as text."""
    return digraph.pipe(format="svg").decode()


def frames(t, sweep, args):
    """One RGB image per step: Graphviz draws the graph at the step (the same layout in every frame) and its
    caption below it, at draw's PNG resolution; every frame has the same size."""
    rankdir = "LR" if args.rankdir == "auto" else args.rankdir
    layout = explain.graph_dot(t, args.digits, rankdir).pipe(format="json")

    def picture(k):
        g = explain.frame_dot(t, sweep, k, layout, args.digits, rankdir)
        g.attr(dpi=PNG_DPI)
        drawing = Image.open(io.BytesIO(g.pipe(format="png", engine="neato", neato_no_op=2)))
        caption = graphviz.Source(explain.caption_dot(sweep[k - 1], args.digits, dpi=PNG_DPI))
        return drawing.convert("RGB"), Image.open(io.BytesIO(caption.pipe(format="png"))).convert("RGB")

    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:  # Graphviz runs as processes: one per core
        pictures = list(pool.map(picture, range(1, len(sweep) + 1)))
    width = max(max(d.width, c.width + 2 * MARGIN) for d, c in pictures)
    top, bottom = max(d.height for d, _ in pictures), max(c.height for _, c in pictures)
    out = []
    for drawing, caption in pictures:
        frame = Image.new("RGB", (width, top + bottom), "white")
        frame.paste(drawing, ((width - drawing.width) // 2, 0))
        frame.paste(caption, (MARGIN, top))
        out.append(frame)
    return out


def _encode(images, fmt, **options):
    """The bytes of the images as `fmt`: the first alone, or with save_all=True an animation of them all."""
    buf = io.BytesIO()
    images[0].save(buf, format=fmt, append_images=images[1:], **options)
    return buf.getvalue()
