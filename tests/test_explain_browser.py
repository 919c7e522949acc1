"""`graphcomp explain`'s page in a real browser: headless Chromium (Debian's) driven by Playwright, one browser for
the module. Each test opens the file, presses Next, and reads what the page shows: the highlighted node, the
caption's number, the table row, the numbers in the boxes; that Previous undoes Next; that no request leaves
the page; that a hostile label is text; that a screenshot is not blank."""
import io
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import graphcomp

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists() and os.geteuid() != 0:
    pytest.skip("Chromium is not installed (sudo apt-get install chromium; make test installs it as root)",
                allow_module_level=True)
if shutil.which("dot") is None:
    pytest.skip("Graphviz's dot is not installed: the page needs its drawing", allow_module_level=True)

import nbformat  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402  (after the skips: a machine without it skips above)

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory, cli):
    """The pages the tests open, written once by the command line: {name: path}."""
    folder = tmp_path_factory.mktemp("explain")
    chain = " + ".join(f"sin(x*{k + 1})" for k in range(60))  # ~200 nodes
    made = {"reverse": ("eq2.yaml", "--wrt", "x2", "--mode", "reverse"),
            "forward": ("eq2.yaml", "--wrt", "x2", "--mode", "forward"),
            "fig1": ("fig1.yaml", "--mode", "reverse"),
            "hostile": (Path(__file__).parent / "specs" / "hostile_labels.yaml",),
            "big": ("--expr", chain, "--at", "x=0.3")}
    out = {}
    for name, args in made.items():
        out[name] = folder / f"{name}.html"
        status, _, stderr = cli("explain", *args, "-o", out[name])
        assert status == 0, stderr
    return out


class Page:
    """An open page and what it did: the requests it made (and those that got an answer), its dialogs, its errors."""

    def __init__(self, browser, path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.requests, self.dialogs, self.errors = [], [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.finished = []
        self.page.on("requestfinished", lambda r: self.finished.append(r.url))
        self.url = path.as_uri()
        self.page.goto(self.url)

    def next(self, times=1):
        """Press Next `times` times: the first with the mouse, the rest as the button's own clicks in one call (the
        same handler; a mouse click each would take 0.1 s of Playwright's checks)."""
        if times:
            self.page.click("#gc-next")
            self.page.evaluate("n => { for (let k = 0; k < n; k++) document.getElementById('gc-next').click(); }",
                               times - 1)

    def state(self):
        """What the page shows: the current node, the caption, the current row, and every box line and table
        value in sight."""
        return self.page.evaluate("""() => {
            const now = document.querySelector("g.node.gc-now title");
            const row = document.querySelector("tr.gc-now");
            const lines = [...document.querySelectorAll("g[id^='a_gc-']")]
                .filter(g => !g.classList.contains("gc-blank")).map(g => g.id + ":" + g.textContent.trim());
            const values = [...document.querySelectorAll("td.gc-value")].filter(td => !td.classList.contains("gc-later"))
                .map(td => td.parentNode.id + ":" + td.textContent);
            const value = document.querySelector("#gc-cap .gc-value");
            return {node: now && now.textContent, caption: document.getElementById("gc-cap").textContent,
                    value: value && value.textContent, row: row && row.id, rowText: row && row.innerText,
                    lines: lines, values: values};
        }""")

    def line(self, key, node_index):
        """The text of a box line if shown, else None."""
        return self.page.evaluate("""([id]) => { const g = document.getElementById(id);
            return g && !g.classList.contains("gc-blank") ? g.textContent.replace(/\\s+/g, " ").trim() : null; }""",
                                  [f"a_gc-{key}-{node_index}"])

    def close(self):
        self.page.close()


@pytest.fixture
def open_page(browser):
    opened = []

    def opener(path):
        opened.append(Page(browser, path))
        return opened[-1]

    yield opener
    for p in opened:
        assert not p.errors, p.errors
        p.close()


def eq2_numbers():
    """(node, number) of each of Eq. 2's 20 reverse-mode steps, by hand with Python's math module."""
    x1, x2, x3 = 1.0, 1.5, 2.0
    v1, v2 = x1 * x2, math.sin(x3)
    v3, v4 = math.exp(v1), v1 * v2
    v5 = v4 + v3
    v6 = v5 / x3
    b5, b0 = 1 / x3, -v6 / x3
    b1 = b5 * v2 + b5 * v3
    return [("x1", x1), ("x2", x2), ("x3", x3), ("v1", v1), ("v2", v2), ("v3", v3), ("v4", v4), ("v5", v5),
            ("v6", v6), ("v6", 1.0), ("v5", b5), ("x3", b0), ("v4", b5), ("v3", b5), ("v1", b5 * v2),
            ("v2", b5 * v1), ("v1", b1), ("x3", b0 + b5 * v1 * math.cos(x3)), ("x1", b1 * x2), ("x2", b1 * x1)]


# eq2's node positions (inputs first, in evaluation order), the ids the page's boxes carry
INDEX = {name: i for i, name in enumerate(["x1", "x2", "x3", "v1", "v2", "v3", "v4", "v5", "v6"])}


@pytest.mark.parametrize("k", [1, 4, 9, 10, 12, 15, 17, 18, 20])
def test_next_k_times_highlights_the_step_in_graph_caption_and_table(open_page, pages, k):
    p = open_page(pages["reverse"])
    p.next(k)
    s = p.state()
    node, number = eq2_numbers()[k - 1]
    assert s["node"] == node
    assert s["value"] == f"{number:.4f}"
    assert s["row"] == f"gc-r{k}" and s["rowText"].split("\t")[0] == node
    assert s["rowText"].rstrip().endswith(f"{number:.4f}")
    assert f"{k} / 20" == p.page.inner_text("#gc-count")


def test_the_boxes_fill_in_as_the_sweeps_go(open_page, pages):
    p = open_page(pages["reverse"])
    p.next(3)
    assert p.line("primal", INDEX["x3"]).endswith("2.0000") and p.line("primal", INDEX["v1"]) is None
    p.next(12)  # step 15: v̄₁'s first contribution
    assert p.line("adjoint", INDEX["v1"]).endswith("= 0.4546") and p.line("adjoint", INDEX["x1"]) is None
    assert p.line("adjoint", INDEX["x3"]).endswith("= -1.4614")  # a partial sum, until step 18
    p.next(2)  # step 17: the second, through v₃
    assert p.line("adjoint", INDEX["v1"]).endswith("= 2.6955")
    assert "0.4546 + 0.5000 · 4.4817" in p.state()["caption"]
    edges = p.page.evaluate("() => [...document.querySelectorAll('g.edge.gc-read title')].map(t => t.textContent)")
    assert edges == ["v1->v3"]
    p.next(3)
    assert p.line("adjoint", INDEX["x3"]).endswith("= -1.7735") and p.line("adjoint", INDEX["x2"]).endswith("= 2.6955")


def test_previous_undoes_next_and_the_keys_and_slider_step_too(open_page, pages):
    p = open_page(pages["reverse"])
    seen = [p.state()]
    for _ in range(20):
        p.next()
        seen.append(p.state())
    assert seen[20]["node"] == "x2" and len(seen[20]["values"]) == 20
    for k in range(19, -1, -1):
        p.page.click("#gc-prev")
        assert p.state() == seen[k], f"Previous from step {k + 1}"
    assert seen[0]["lines"] == [] and seen[0]["values"] == []  # nothing computed before the first step
    p.page.keyboard.press("ArrowRight")
    p.page.keyboard.press("ArrowRight")
    assert p.state() == seen[2]
    p.page.keyboard.press("ArrowLeft")
    assert p.state() == seen[1]
    p.page.fill("#gc-slider", "17")
    assert p.state() == seen[17]
    p.page.fill("#gc-slider", "5")
    assert p.state() == seen[5]


def test_forward_mode_steps_through_the_tangents(open_page, pages):
    p = open_page(pages["forward"])
    p.next(9 + 4)  # v̇₁ = v̇₋₂ v₋₁ + v₋₂ v̇₋₁ = 1
    s = p.state()
    assert s["node"] == "v1" and s["value"] == "1.0000" and "0.0000 · 1.5000 + 1.0000 · 1.0000" in s["caption"]
    p.next(5)
    v5 = 1.5 * math.sin(2.0) / 1.5 + math.exp(1.5)  # v̇₅ = v̇₄ + v̇₃ = v₂ + e^{v₁}
    assert p.state()["node"] == "v6" and p.state()["value"] == f"{v5 / 2:.4f}"


def test_a_tensor_step_shows_its_value_compactly_and_in_full(open_page, pages):
    p = open_page(pages["fig1"])
    rows = p.page.evaluate("() => [...document.querySelectorAll('tr[id^=gc-r]')].map(r => r.cells[0].textContent)")
    k = rows.index("W3", 5) + 1  # W3's .d, in the backward pass
    p.next(k)
    s = p.state()
    assert s["node"] == "W3" and "-D.v (V₄.v)ᵀ" in s["caption"]
    np.random.seed(0)  # Fig. 1's inputs as the spec draws them, and W₃.d = −D.v (V₄.v)ᵀ by hand
    x, w1, w2, w3, y = (np.random.standard_normal(n) for n in ((2,), (3, 2), (3, 3), (2, 3), (2,)))
    v4 = np.maximum(w2 @ np.maximum(w1 @ x, 0), 0)
    w3_d = -np.outer(y - w3 @ v4, v4)
    assert s["value"].startswith(f"[[{w3_d[0, 0]:.4f}, {w3_d[0, 1]:.4f}")
    cell = p.page.locator(f"#gc-r{k} td.gc-value")
    assert cell.locator(".gc-short").inner_text() == f"[[{w3_d[0, 0]:.4f}, {w3_d[0, 1]:.4f}, …], …]"
    assert f"{w3_d[1, 2]:.4f}" in cell.get_attribute("title")  # the full value on hover
    assert not cell.locator("pre.gc-full").is_visible()
    cell.click()
    assert cell.locator("pre.gc-full").is_visible() and f"{w3_d[1, 2]:.4f}" in cell.locator("pre.gc-full").inner_text()


def test_no_request_leaves_the_page(open_page, pages):
    p = open_page(pages["reverse"])
    p.page.click("#gc-play")
    p.next(20)
    p.page.mouse.move(400, 400)  # over the graph: tooltips, hovers
    assert p.requests == [p.url]  # the file itself, and nothing it loads
    # the policy is what stops a request: one written into the page is refused, and says so
    violations = p.page.evaluate("""async () => {
        const seen = [];
        document.addEventListener("securitypolicyviolation", e => seen.push(e.violatedDirective));
        const img = document.createElement("img");
        img.src = "http://127.0.0.1:9/x.png";
        document.body.appendChild(img);
        let fetched = "no";
        try { await fetch("http://127.0.0.1:9/y"); fetched = "yes"; } catch (e) { fetched = "refused"; }
        await new Promise(r => setTimeout(r, 200));
        return [fetched, seen];
    }""")
    fetched, directives = violations
    assert fetched == "refused" and {d.split()[0] for d in directives} >= {"img-src", "connect-src"}
    assert p.finished == [p.url]


def test_a_script_in_a_label_is_text_and_runs_nothing(open_page, pages):
    p = open_page(pages["hostile"])
    p.next()
    assert p.page.inner_text("#gc-cap").startswith("<script>alert(1)</script> = x = 0.5000")
    p.next(3)  # every step, the adjoint of x last
    assert p.dialogs == []
    assert p.page.locator("#gc-tables").inner_text().count("<script>alert(1)</script>") >= 2
    assert p.page.locator("#gc-graph text", has_text="alert(1)").count() > 0  # the box's title, as SVG text
    assert "</script><script>alert(2)</script>" in p.page.inner_text("h1")
    assert p.page.evaluate("() => document.querySelectorAll('script').length") == 2
    assert p.page.evaluate("() => document.querySelectorAll('img').length") == 0


def test_a_screenshot_is_not_blank(open_page, pages):
    p = open_page(pages["reverse"])
    p.next(17)
    shot = Image.open(io.BytesIO(p.page.screenshot())).convert("RGB")
    a = np.asarray(shot).astype(int)
    assert a.std() > 20 and len(np.unique(a.reshape(-1, 3), axis=0)) > 50
    highlight = (np.abs(a - [0xe8, 0x59, 0x0c]).sum(axis=2) < 40).sum()
    assert highlight > 500  # the orange of the current node, its edge and its row is on screen


def test_a_200_node_graph_changes_only_what_a_step_touches(open_page, pages):
    p = open_page(pages["big"])
    nodes = p.page.evaluate("() => document.querySelectorAll('g.node').length")
    assert nodes >= 180
    p.next(nodes // 2)
    changed = p.page.evaluate("""() => new Promise(done => {
        let count = 0;
        const seen = new MutationObserver(records => { count += records.length; });
        seen.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
        document.getElementById("gc-next").click();
        setTimeout(() => { seen.disconnect(); done(count); }, 50);
    })""")
    assert 0 < changed <= 40  # a few class changes and texts, not a redraw of hundreds of elements


@pytest.mark.filterwarnings("ignore:IPython3 lexer unavailable")  # no IPython here: the cell's code is not the point
def test_nbconvert_s_own_html_export_steps_inside_its_iframe(open_page, tmp_path):
    """A notebook whose cell shows graph.explain(...), exported by nbconvert's HTMLExporter (what `jupyter nbconvert
    --to html` writes), still steps in Chromium."""
    shown = graphcomp.load("eq2.yaml").explain(wrt="x2")
    cell = nbformat.v4.new_code_cell("g.explain(wrt='x2')", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": shown._repr_html_(), "text/plain": repr(shown)})])
    body, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    export = tmp_path / "exported.html"
    export.write_text(body, encoding="utf-8")
    p = open_page(export)
    frame = p.page.frame_locator("iframe")
    frame.locator("#gc-next").click()
    frame.locator("#gc-next").click()
    assert frame.locator("g.node.gc-now title").text_content() == "x2"
    assert p.dialogs == [] and p.errors == []


def test_a_notebooks_html_export_steps_inside_its_iframe(open_page, tmp_path):
    # what nbconvert writes for an output cell with text/html: the markup as it is, inside the notebook's page
    shown = graphcomp.load("eq2.yaml").explain(wrt="x2")._repr_html_()
    export = tmp_path / "notebook.html"
    export.write_text(f"<!DOCTYPE html><html><body><h1>notebook</h1><div class='output'>{shown}</div></body></html>",
                      encoding="utf-8")
    p = open_page(export)
    frame = p.page.frame_locator("iframe")
    for _ in range(17):
        frame.locator("#gc-next").click()
    assert frame.locator("#gc-cap .gc-value").inner_text() == "2.6955"
    assert frame.locator("g.node.gc-now title").text_content() == "v1"
    assert frame.locator("tr.gc-now td").first.inner_text() == "v1"
    assert p.dialogs == []


def test_the_derivatives_edges_are_coloured_only_once_a_derivative_flows(open_page, pages):
    """The drawing colours the edges a derivative flows along (red back from f in reverse mode); in the values pass
    none flows yet, so they are drawn as the others until the first adjoint step (Eq. 2 wrt x2: 9 values, then v̄6)."""
    p = open_page(pages["reverse"])
    colour = """() => [...document.querySelectorAll("g.edge.gc-flow")]
                     .map(g => getComputedStyle(g.querySelector("path")).stroke)"""
    assert p.page.evaluate("() => document.querySelectorAll('g.edge.gc-flow').length") == 6  # x2 → v1 → … → v6
    for steps, red in ((0, False), (1, False), (8, False), (1, True)):
        p.next(steps)
        strokes = set(p.page.evaluate(colour)) - {"rgb(232, 89, 12)"}  # the step's own edges are highlighted
        assert strokes == ({"rgb(192, 57, 43)"} if red else {"rgb(85, 85, 85)"}), (steps, strokes)
