"""`graphcomp explain` as one offline HTML page, and as animation frames: the steps of render.steps, read only.

The page holds everything it shows: Graphviz's SVG of the graph (the caller runs `dot` on `graph_dot` and
passes the SVG in), the trace tables, the steps as JSON and a small script that walks them — Next,
Previous, Play/Pause, a slider and the arrow keys. A Content-Security-Policy forbids every request, and
every text from the spec is escaped. A step changes only the elements it touches (its node, its edges,
its box line, its table row), so a graph of hundreds of nodes steps as fast as a small one.
"""
import base64
import hashlib
import html
import json
import re

from graphcomp.render import dot, tables
from graphcomp.render.rows import row_text
from graphcomp.render.steps import compact
from graphcomp.render.text import fmt_number, fmt_value, tex_to_text

HIGHLIGHT = "#e8590c"  # the node being computed and the edges it reads


def graph_dot(trace, digits=4, rankdir="LR", **options):
    """The graph as a graphviz.Digraph with every value and derivative in its boxes and the ids the page's script
    finds them by (dot.digraph's ids); `options` go to dot.digraph."""
    return dot.digraph(trace.graph, trace, values=True, digits=digits, rankdir=rankdir, **options)


def laid_out(trace, digits, rankdir, to_svg):
    """The SVG of graph_dot(trace, ids=True) laid out as `rankdir` says ('LR', 'TB', or 'auto': as `draw` chooses for
    a page); to_svg(digraph) runs Graphviz and returns the SVG text (the caller's: a renderer runs no program)."""
    svgs = {d: to_svg(graph_dot(trace, digits, d, ids=True)) for d in (("LR", "TB") if rankdir == "auto" else (rankdir,))}
    return svgs[dot.page_rankdir(svgs) if rankdir == "auto" else rankdir]


def page(trace, steps, svg=None, digits=4):
    """The whole stepper as one HTML document (str); `svg` is Graphviz's SVG of graph_dot(trace, ids=True)."""
    graph = trace.graph
    data = {"steps": [_step_json(trace, s, digits) for s in steps]}
    blob = json.dumps(data, ensure_ascii=False)
    # inside <script> only "</" could end the element: JSON's \u escapes keep <, > and & out of the text
    blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    csp = (f"default-src 'none'; script-src 'sha256-{script_hash}'; style-src 'unsafe-inline'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    title = html.escape(f"{graph.name}: {graph.description}" if graph.description else graph.name)
    results = f"f = {fmt_value(trace.value, digits)}" + (f" · {tex_to_text(dot.caption(trace, digits))}"
                                                         if dot.caption(trace, digits) else "")
    drawing = _inline_svg(svg) if svg else "<p>(Graphviz was not found: the graph is not drawn.)</p>"
    sweeps = ", then the ".join(["forward pass"] + ["tangent pass"] * (trace.tangents is not None)
                                + ["adjoint pass"] * (trace.adjoints is not None))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_STYLE}</style></head>
<body>
<header><h1>{title}</h1><p>{html.escape(results)}</p></header>
<nav><button id="gc-prev" title="Previous (←)">◀ Previous</button><button id="gc-play" title="Play/Pause">▶ Play</button>
<button id="gc-next" title="Next (→)">Next ▶</button>
<input id="gc-slider" type="range" min="0" max="{len(steps)}" value="0" aria-label="step">
<span id="gc-count">0 / {len(steps)}</span></nav>
<p id="gc-cap" aria-live="polite">Press Next (or →) to step through the {sweeps}.</p>
<main><div id="gc-graph">{drawing}</div><div id="gc-tables">{_tables(trace, steps, digits)}</div></main>
<script type="application/json" id="gc-steps">{blob}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def _inline_svg(svg):
    """Graphviz's SVG as an element of the page: without its XML prolog and comments (which repeat spec text), and
    with its subscripts and superscripts smaller and nearer the line, as Graphviz's own PNG draws them."""
    return dot.svg_scripts(re.sub(r"<!--.*?-->", "", svg[svg.index("<svg"):], flags=re.S))


def _step_json(trace, s, digits):
    scalar = trace.graph.scalar
    value = None if s.value is None else compact(s.value, digits, dot.SHOWN, dot.SHOWN)
    return {
        "node": s.node,
        "values": s.section == "primal",  # the values pass: no derivative flows yet
        "line": None if s.line is None else f"{dot.ID}{s.line}-{s.node}",
        # a scalar box line is rewritten at each step (partial sums); a tensor's is only shown
        "text": fmt_number(s.value, digits) if scalar and s.line else None,
        "before": fmt_number(s.before, digits) if s.before is not None else None,
        "reads": [f"{dot.ID}e{i}-{k}" for _, i, k in s.reads],
        "from": sorted({a if a != s.node else i for a, i, _ in s.reads}),
        "caption": [tex_to_text(c) for c in s.caption],
        "value": value,
        "full": None if s.value is None else _full(trace, s, digits),
    }


def _full(trace, s, digits):
    """The whole value, as the tables print it (a .d of a vector is a row in the .v/.d notation)."""
    return fmt_value(s.value, digits, row=s.line == "adjoint" and trace.graph.notation == "dot")


def _tables(trace, steps, digits):
    """The trace tables, a row per step (id gc-r1 …) from the step's own row; each value cell blank until its step
    (class gc-later)."""
    by_section = {key: [] for key in tables.section_keys(trace, "steps")}  # a section without rows too
    for k, s in enumerate(steps, 1):
        symbol, generic, rule = row_text(s.row)
        rule += f" = {tex_to_text(s.row.closed)}" if s.row.closed else ""
        value = "—" if s.value is None else compact(s.value, digits, 2, 1)
        full = "" if s.value is None else _full(trace, s, digits)
        cell = html.escape(value) if full == value else (
            f'<span class="gc-short">{html.escape(value)}</span><pre class="gc-full" hidden>{html.escape(full)}</pre>')
        by_section[s.section].append(
            f'<tr id="gc-r{k}"><td>{html.escape(s.row.node)}</td><td>{html.escape(symbol)}</td>'
            f'<td>{html.escape("= " + generic if generic else "")}</td><td class="gc-rule">= {html.escape(rule)}</td>'
            f'<td class="gc-value gc-later" title="{html.escape(full)}">{cell}</td></tr>')
    return "".join(f"<table><caption>{html.escape(tables.TITLES[key])}</caption><tr><th>node</th><th>symbol</th>"
                   f"<th></th><th>rule</th><th>value</th></tr>{''.join(rows)}</table>"
                   for key, rows in by_section.items())


class Stepper:
    """What graph.explain(...) returns: the stepper page (`.html`), shown inline by Jupyter in an iframe whose
    srcdoc is the page, so that its scripts and Content-Security-Policy work in JupyterLab and in an HTML export."""

    def __init__(self, html_text, height=720):
        self.html, self.height = html_text, height

    def _repr_html_(self):
        return (f'<iframe srcdoc="{html.escape(self.html)}" sandbox="allow-scripts" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ddd"></iframe>')

    def __repr__(self):
        return f"<graphcomp stepper: {len(self.html):,} characters of HTML>"


# ---- frames for slides ----------------------------------------------------------------------------------------


def frame_dot(trace, steps, k, layout, digits=4, rankdir="LR"):
    """Step k (1 …) as a graphviz.Digraph at the places of `layout` (Graphviz's json of graph_dot(trace)), to render
    with `neato -n2` (pipe(..., neato_no_op=2)): the values computed so far, blanks for the rest, the step's node and
    edges highlighted. Every frame has the same size and layout."""
    graph, doc = trace.graph, json.loads(layout)
    shown = {(i, key): None for i, box in dot.boxes(graph, trace, values=True).items() for key in box.keys}
    for s in steps[:k]:
        if s.line is not None:
            shown[(s.node, s.line)] = s.value
    now = steps[k - 1]
    nodes = {graph.index[obj["name"]]: {"pos": obj["pos"] + "!", "width": obj["width"], "height": obj["height"],
                                        "fixedsize": "true"} for obj in doc["objects"]}
    for i in {now.node} | {a for a, _, _ in now.reads} | {i for _, i, _ in now.reads}:
        nodes[i].update(color=HIGHLIGHT, penwidth="4" if i == now.node else "2.5")
    plain = {"color": dot.EDGE, "penwidth": "1"} if now.section == "primal" else {}  # no derivative flows yet
    edges = {key: {"pos": edge["pos"], **plain} for key, edge in dot.laid_edges(graph, doc).items()}
    for _, i, kk in now.reads:
        edges[(i, kk)].update(color=HIGHLIGHT, penwidth="3.5")
    g = graph_dot(trace, digits, rankdir, shown=shown, node_attrs=nodes, edge_attrs=edges)
    g.attr(bb=doc["bb"], label="", splines="true")
    return g


def caption_dot(step, digits=4, dpi=96):
    """A step's caption (as on the page) as Graphviz source of one text node, to render below its frame."""
    text = " = ".join(dot.tex_to_html(c) for c in step.caption)
    if step.value is not None:
        text += " = " + html.escape(compact(step.value, digits, dot.SHOWN, dot.SHOWN), quote=False)
    return (f'digraph caption {{ bgcolor="white"; margin="0"; dpi="{dpi}"; c [shape=plaintext, fontname="{dot.FONT}", '
            f'fontsize="{CAPTION_PT}", fontcolor="{dot.INK}", label=<{text}>] }}')


CAPTION_PT = 16  # larger than the boxes' largest text (dot.PT['title']): read from the back of a lecture hall


_STYLE = """
body{font-family:system-ui,Helvetica,Arial,sans-serif;margin:1em;color:#222}
h1{font-size:1.3em;margin:0} header p{margin:.2em 0 .6em;color:#555}
nav{display:flex;gap:.5em;align-items:center;flex-wrap:wrap} nav button{font-size:1em;padding:.3em .8em}
#gc-slider{flex:1 1 12em}
#gc-cap{font-size:1.35em;min-height:1.6em;padding:.4em .6em;background:#fff4e6;border-left:5px solid #e8590c}
#gc-cap .gc-value{font-weight:bold}
main{display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-start}
#gc-graph{flex:1 1 45%;min-width:20em;max-height:80vh;overflow:auto} #gc-graph svg{max-width:100%;height:auto}
#gc-tables{flex:1 1 40%;overflow:auto;max-height:80vh}
table{border-collapse:collapse;margin-bottom:1em;font-size:.95em} caption{text-align:left;font-weight:bold;padding:.3em 0}
td,th{padding:.15em .5em;text-align:left;white-space:nowrap;vertical-align:top} td.gc-rule{white-space:normal;min-width:14em} td.gc-value{text-align:right;cursor:pointer}
tr.gc-now{background:#ffe8cc;outline:2px solid #e8590c}
td.gc-later{visibility:hidden}
pre.gc-full{margin:0;text-align:left}
.gc-blank{visibility:hidden}
g.gc-now>polygon,g.gc-now>ellipse,g.gc-now>path{stroke:#e8590c;stroke-width:4px}
g.gc-from>polygon,g.gc-from>ellipse,g.gc-from>path{stroke:#e8590c;stroke-width:2px}
g.gc-read>path{stroke:#e8590c;stroke-width:3.5px} g.gc-read>polygon{stroke:#e8590c;fill:#e8590c}
""" + (  # no derivative flows yet in the values pass: its edges are drawn plain
    f"#gc-graph.gc-values g.{dot.FLOW_CLASS}:not(.gc-read)>path{{stroke:{dot.EDGE};stroke-width:1px}}\n"
    f"#gc-graph.gc-values g.{dot.FLOW_CLASS}:not(.gc-read)>polygon{{stroke:{dot.EDGE};fill:{dot.EDGE}}}\n")

# the page's whole program: it reads the steps, and each step changes only what it touches
_SCRIPT = """
(function () {
  "use strict";
  var S = JSON.parse(document.getElementById("gc-steps").textContent).steps;
  var at = 0, timer = null, marked = [];
  var $ = function (id) { return document.getElementById(id); };
  function line(s) { return s.line && ($("a_" + s.line) || $(s.line)); }
  function put(s, text) {
    var g = line(s);
    if (!g) return;
    g.classList.toggle("gc-blank", text === null);
    if (text !== null && s.text !== null) {
      var t = g.querySelectorAll("text"), last = t[t.length - 1];
      last.textContent = last.textContent.replace(/=[^=]*$/, "= " + text);
    }
  }
  function mark(id, cls) { var e = $(id); if (e) { e.classList.add(cls); marked.push([e, cls]); } }
  function show() {
    marked.forEach(function (m) { m[0].classList.remove(m[1]); });
    marked = [];
    $("gc-slider").value = at;
    $("gc-count").textContent = at + " / " + S.length;
    var cap = $("gc-cap");
    cap.textContent = "";
    $("gc-graph").classList.toggle("gc-values", at === 0 || S[at - 1].values);
    if (at === 0) { cap.textContent = "Press Next (or \\u2192) to start."; return; }
    var s = S[at - 1];
    mark("gc-n" + s.node, "gc-now");
    s.from.forEach(function (i) { mark("gc-n" + i, "gc-from"); });
    s.reads.forEach(function (id) { mark(id, "gc-read"); });
    mark("gc-r" + at, "gc-now");
    var row = $("gc-r" + at);
    if (row && row.scrollIntoView) row.scrollIntoView({block: "nearest"});
    var parts = s.caption.slice();
    parts.forEach(function (p, k) {
      var span = document.createElement("span");
      span.className = k === 0 ? "gc-symbol" : "gc-form";
      span.textContent = p;
      cap.appendChild(span);
      cap.appendChild(document.createTextNode(" = "));
    });
    if (s.value === null) { cap.removeChild(cap.lastChild); return; }
    var v = document.createElement("span");
    v.className = "gc-value";
    v.textContent = s.value;
    v.title = s.full;
    cap.appendChild(v);
  }
  function forward() {
    var s = S[at];
    put(s, s.text === null ? "" : s.text);
    $("gc-r" + (at + 1)).querySelector(".gc-value").classList.remove("gc-later");
    at += 1;
  }
  function back() {
    var s = S[at - 1];
    put(s, s.before);
    $("gc-r" + at).querySelector(".gc-value").classList.add("gc-later");
    at -= 1;
  }
  function go(k) {
    k = Math.max(0, Math.min(S.length, k));
    while (at < k) forward();
    while (at > k) back();
    show();
  }
  function pause() { if (timer) { clearInterval(timer); timer = null; $("gc-play").textContent = "\\u25b6 Play"; } }
  function play() {
    if (timer) { pause(); return; }
    if (at === S.length) go(0);
    $("gc-play").textContent = "\\u275a\\u275a Pause";
    timer = setInterval(function () { if (at >= S.length) pause(); else go(at + 1); }, 1200);
  }
  S.forEach(function (s) { put(s, null); });
  $("gc-next").addEventListener("click", function () { pause(); go(at + 1); });
  $("gc-prev").addEventListener("click", function () { pause(); go(at - 1); });
  $("gc-play").addEventListener("click", play);
  $("gc-slider").addEventListener("input", function () { pause(); go(parseInt(this.value, 10)); });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "INPUT") return;
    if (e.key === "ArrowRight") { pause(); go(at + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { pause(); go(at - 1); e.preventDefault(); }
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a");
    if (a) e.preventDefault();  // a box line is a link only for its tooltip
    var cell = e.target.closest && e.target.closest("td.gc-value");
    if (cell && !cell.classList.contains("gc-later")) {
      cell.querySelectorAll(".gc-short, .gc-full").forEach(function (x) { x.hidden = !x.hidden; });
    }
  });
  show();
})();
"""
