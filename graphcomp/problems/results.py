"""Problem 1 and Problem 3(c) results as text: names, verdict sentences, LaTeX / Markdown / CSV tables.

They read finished results (phase.Run, phase.Summary, verify.Report) and compute
nothing. No timings go into these tables, so the same seed gives the same bytes.
"""
import numpy as np
from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from graphcomp.core.labels import default_label
from graphcomp.problems import phase
from graphcomp.problems.verify import EXACT_TOL, FD_TOL
from graphcomp.render import tables
from graphcomp.render.text import (
    csv_lines,
    fmt_value,
    indented_json,
    tex_matrix,
    tex_to_text,
    text_to_tex,
)

NAMES = {
    "newton": "Newton",
    "gauss-newton": "Gauss–Newton",
    "lm": "Levenberg–Marquardt",
    "scipy-lm": "scipy least_squares 'lm'",
}
SHORT = {"newton": "Newton", "gauss-newton": "Gauss–Newton", "lm": "LM", "scipy-lm": "scipy lm"}
COLUMNS = {"spurious local minimum": "spur.\nmin", "saddle point": "saddle", "local maximum": "local\nmax",
           "no convergence": "no\nconv", "global minimum": "f=0,\nx≠±x*"}
TEX_COLUMNS = {"global minimum": "$f=0$, $x\\neq\\pm x^*$"}
STATUS = {"converged": "a step below --tol", "max iterations": "the iteration limit",
          "diverged": "overflowing iterates"}
SHOW_VALUES = 16  # verify prints the gradients themselves when no parameter has more entries than this
SHORT_METHODS = {"analytic": "(i)", "engine": "(ii)", "torch": "(iii)", "fd": "(iv)"}
TABLE_METHODS = {"analytic": "(i) analytic", "engine": "(ii) reverse", "torch": "(iii) PyTorch", "fd": "(iv) fin.\\ diff."}
METHOD_NAMES = {"analytic": "(i) analytic", "engine": "(ii) engine reverse", "torch": "(iii) PyTorch autograd",
                "fd": "(iv) finite differences"}


def verdict_text(method, run):
    """(solved?, one sentence): what the run of `method` ended at, with the evidence."""
    v = run.verdict
    where = f"after {run.iterations} iterations, stopped by {STATUS[run.status]}"
    evidence = (f"f = {v.f:.3e}, ‖∇f‖ = {v.grad_norm:.2e}, Hessian eigenvalues in [{v.eig_min:.3g}, {v.eig_max:.3g}]"
                f", dist to ±x {v.rel_error:.2e}")
    if v.success:
        return True, f"{NAMES[method]}: global minimum reached, x recovered up to its sign — {where} ({evidence})"
    what = {phase.GLOBAL: "ended where f = 0 but x is neither x nor −x",
            phase.NO_CONVERGENCE: "no convergence: the end point is not a stationary point"}.get(v.kind, f"ended at a {v.kind}")
    return False, f"{NAMES[method]}: not solved — {what} — {where} ({evidence})"


def sci(x, digits=3):
    """A float in LaTeX scientific notation, e.g. 3.213\\times 10^{4}."""
    if not np.isfinite(x):
        return "\\infty" if x > 0 else "-\\infty" if x < 0 else "\\mathrm{NaN}"
    mant, _, exp = f"{x:.{digits}e}".partition("e")
    return f"{mant}\\times 10^{{{int(exp)}}}"


def run_latex(method, init, run, *, n, m, seed):
    """One run's iterations as a booktabs tabular, split as tables.tabulars splits one taller than a page (its
    verdict in a comment; run_sentence says it in prose)."""
    def head(more):
        return ["\\begin{tabular}{@{}rllll@{}}", "\\toprule",  # which method, typeset: three tables look alike
                f"\\multicolumn{{5}}{{@{{}}l}}{{{text_to_tex(NAMES[method])} from the {init} start{more}}} \\\\",
                "\\midrule"] + [
            "$k$ & $f(x_k)$ & $\\|\\nabla f(x_k)\\|$ & $\\|x_k - x_{k-1}\\|$ & "
            "$\\min_\\pm \\|x_k \\mp x\\| / \\|x\\|$ \\\\", "\\midrule"]

    rows = [([f"{s.k} & ${sci(s.f)}$ & ${sci(s.grad_norm)}$ & {'' if s.k == 0 else f'${sci(s.step)}$'} & "
              f"${sci(s.rel_error)}$ \\\\"], 1) for s in run.history]
    return (f"% {NAMES[method]} from {init} init, n={n}, m={m}, seed={seed}; needs \\usepackage{{booktabs,amsmath}}\n"
            + tables.tabulars(head, rows) + f"\n% {verdict_text(method, run)[1]}\n")


RUN_COLUMNS = ("method", "init", "k", "f", "grad_norm", "step", "rel_error")


def runs_rows(runs):
    """[RUN_COLUMNS' values] of every iteration of the first run of each method in {method: (init, runs)}."""
    return [[m, init, s.k, *(repr(float(x)) for x in (s.f, s.grad_norm)), "" if s.k == 0 else repr(float(s.step)),
             repr(float(s.rel_error))] for m, (init, rs) in runs.items() for s in rs[0].history]


def runs_latex(runs, *, n, m, seed):
    """Each method's first run as run_latex's tabulars, one below the other with tables.BREAK between them (where
    a page may break); its first line says what it is and the packages it needs."""
    names = ", ".join(NAMES[mt] for mt in runs)
    head = f"% graphcomp solve: {names}, n={n}, m={m}, seed={seed}; needs \\usepackage{{booktabs,amsmath}}\n"
    body = f"{tables.BREAK}\n".join(run_latex(mt, init, rs[0], n=n, m=m, seed=seed) for mt, (init, rs) in runs.items())
    # with several, the first tabular starts a line of its own as the others do after a BREAK
    return head + (body.replace("\\begin{tabular}", "\\noindent\n\\begin{tabular}", 1) if tables.BREAK in body
                   else body)


def runs_markdown(runs):
    """The iterations of each method's first run in Markdown, a table each, its verdict below it."""
    out = []
    for m, (init, rs) in runs.items():
        out += [f"**{NAMES[m]}** from {init} init", "",
                "| k | f(x_k) | ‖∇f(x_k)‖ | step | dist to ±x / ‖x‖ |", "|---:|---:|---:|---:|---:|"]
        out += [f"| {s.k} | {s.f:.3e} | {s.grad_norm:.3e} | {'' if s.k == 0 else f'{s.step:.3e}'} | "
                f"{s.rel_error:.3e} |" for s in rs[0].history]
        out += ["", verdict_text(m, rs[0])[1], ""]
    return "\n".join(out)


def runs_json(runs):
    """Each method's first run, its iterations and verdict, as JSON."""
    def steps(run):
        return [{"k": s.k, "f": float(s.f), "grad_norm": float(s.grad_norm),
                 "step": None if s.k == 0 else float(s.step), "rel_error": float(s.rel_error)} for s in run.history]

    return indented_json({m: {"init": init, "verdict": verdict_text(m, rs[0])[1], "iterations": steps(rs[0])}
                          for m, (init, rs) in runs.items()})


SUBJECTS = {"newton": "Newton's method", "gauss-newton": "Gauss--Newton", "lm": "Levenberg--Marquardt",
            "scipy-lm": "scipy's \\texttt{least\\_squares} with method \\texttt{lm}"}


def run_sentence(method, init, run):
    """The verdict on one run as a student writes it, in LaTeX: what it reached, and the evidence."""
    v, k = run.verdict, run.iterations
    evidence = (f"$f = {sci(v.f, 2)}$, $\\|\\nabla f\\| = {sci(v.grad_norm, 1)}$, the Hessian's eigenvalues in "
                f"$[{sci(v.eig_min, 2)}, {sci(v.eig_max, 2)}]$")
    who = f"{SUBJECTS[method]} from the {init} start"
    if v.success:
        return (f"{who} solves the problem: after {k} iterations it reaches {evidence}, and recovers $x$ up to its "
                f"sign (relative error ${sci(v.rel_error, 1)}$).")
    if v.kind == phase.NO_CONVERGENCE:
        what = f"does not converge: after {k} iterations it is at no stationary point"
    elif v.kind == phase.GLOBAL:
        what = f"reaches $f = 0$ after {k} iterations, but at a point that is neither $x$ nor $-x$"
    else:
        what = f"converges to a {v.kind} in {k} iterations"
    return (f"{who} does not solve the problem: it {what} ({evidence}; relative distance to $\\pm x$ "
            f"${sci(v.rel_error, 2)}$).")


def trials_rows(summaries, kinds=phase.FAILURES):
    """[(method, init, success %, success % with restarts, median iterations, failure counts…)] and the kinds."""
    rows = [(SHORT[s.method], s.init, f"{100 * s.success_rate:.0f}", f"{100 * s.success_rate_restarts:.0f}",
             f"{s.median_iterations:.0f}", *(str(s.failures[k]) for k in kinds)) for s in summaries]
    return rows, kinds


def trials_latex(summaries, *, n, m, seed, count, restarts):
    """The trials table (success rates, median iterations, failure kinds) as a booktabs tabular."""
    rows, kinds = trials_rows(summaries)
    tops, bottoms = zip(*(_tex_head(k) for k in kinds))  # two lines of heads keep the table inside a page's text
    head = [f"% {count} instances, n={n}, m={m}, seeds {seed}..{seed + count - 1}; needs \\usepackage{{booktabs}}",
            "{\\setlength{\\tabcolsep}{4pt}%", "\\begin{tabular}{@{}ll" + "r" * (3 + len(kinds)) + "@{}}", "\\toprule",
            f"& & \\multicolumn{{2}}{{c}}{{success \\%}} & & \\multicolumn{{{len(kinds)}}}{{c@{{}}}}{{how the first "
            "run failed} \\\\", f"\\cmidrule(lr){{3-4}}\\cmidrule(l){{6-{5 + len(kinds)}}}",
            f"& & first & with {restarts} & median & {' & '.join(tops)} \\\\",
            f"method & init & run & restarts & iters & {' & '.join(bottoms)} \\\\", "\\midrule"]
    body = [" & ".join(r) + " \\\\" for r in rows]
    return "\n".join(head + body + ["\\bottomrule", "\\end{tabular}}"]) + "\n"


def _tex_head(kind):
    """A failure kind's column head in LaTeX as (first line, second line); a one-word head is on the second."""
    if kind in TEX_COLUMNS:
        top, _, bottom = TEX_COLUMNS[kind].partition(" ")
        return top, bottom
    top, _, bottom = COLUMNS[kind].rpartition("\n")
    return top, bottom


def trials_markdown(summaries, *, restarts):
    """The trials table in Markdown."""
    rows, kinds = trials_rows(summaries)
    out = [f"| method | init | success % | with {restarts} restarts % | median iters | " + " | ".join(kinds) + " |",
           "|---|---|" + "---:|" * (3 + len(kinds))]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def trials_csv(summaries):
    """The trials table as CSV."""
    rows, kinds = trials_rows(summaries)
    return csv_lines([["method", "init", "success_pct", "success_pct_restarts", "median_iterations", *kinds], *rows])


def phase_rows(ratios, rates, *, n):
    """[m/n, m, success % for each init] of the phase transition, with its header."""
    head = ["m_over_n", "m", *(f"success_pct_{it}" for it in rates)]
    return [head] + [[f"{r:.1f}", str(int(round(r * n))), *(f"{100 * x[j]:.0f}" for x in rates.values())]
                     for j, r in enumerate(ratios)]


def phase_markdown(ratios, rates, *, n):
    """Gauss–Newton's success rate against m/n in Markdown."""
    rows = phase_rows(ratios, rates, n=n)
    head = ["m/n", "m", *(f"{it} init %" for it in rates)]
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---:|" * len(head),
                      *("| " + " | ".join(r) + " |" for r in rows[1:])]) + "\n"


def phase_latex(ratios, rates, *, n, count):
    """Gauss–Newton success rate against m/n as a booktabs tabular."""
    inits = list(rates)
    head = [f"% Gauss-Newton success rate, n={n}, {count} instances per ratio",
            "\\begin{tabular}{@{}rr" + "r" * len(inits) + "@{}}", "\\toprule",
            "$m/n$ & $m$ & " + " & ".join(f"{it} init \\%" for it in inits) + " \\\\", "\\midrule"]
    body = [f"{r:.1f} & {int(round(r * n))} & " + " & ".join(f"{100 * rates[it][j]:.0f}" for it in inits) + " \\\\"
            for j, r in enumerate(ratios)]
    return "\n".join(head + body + ["\\bottomrule", "\\end{tabular}"]) + "\n"


ROW_CHARACTERS = 72  # a row of matrices as wide as this many characters of numbers fits an article's line (10 pt)


def gradients_latex(report, digits=4, differences=False):
    """Problem 3(c) as booktabs tabulars: every method's gradient of every parameter, a row per method (a tabular
    per parameter when the matrices side by side would not fit a line; past tables.TEX_SHOWN entries along an
    axis, cut), and with `differences` a row per pair of methods: the largest relative difference, marked where
    out of tolerance."""
    g = report.graph
    params = list(report.gradients["engine"])
    columns = sum(min(np.shape(x)[-1] if np.ndim(x) else 1, tables.TEX_SHOWN) for x in report.gradients["engine"].values())
    groups = [params] if columns * (digits + 5) <= ROW_CHARACTERS else [[k] for k in params]
    out = [f"% gradients of {g.name} computed {len(report.gradients)} ways; f = {report.value!r}; needs "
           "\\usepackage{booktabs,amsmath}"] + ["\\noindent"] * (len(groups) > 1)  # tabulars a line each
    for k, group in enumerate(groups):
        out += [tables.BREAK] * (k > 0) + [
            "\\begin{tabular}{@{}l" + "@{\\;}c" * len(group) + "@{}}", "\\toprule",  # narrow gaps: wide matrices
            " & " + " & ".join(f"$\\nabla_{{{g.node(k).label}}} f$" for k in group) + " \\\\", "\\midrule"]
        for m, grads in report.gradients.items():
            out.append(f"{TABLE_METHODS[m]} & "
                       + " & ".join(f"${tables.tex_value(grads[k], digits, True, vector='row^T')}$" for k in group)
                       + " \\\\ \\addlinespace")  # room between rows of matrices: \\[2pt] adds none under a tall row
        if k < len(groups) - 1:
            out += ["\\bottomrule", "\\end{tabular}"]
    if differences and report.comparisons:
        if len(groups) > 1:  # a tabular of its own, a column per parameter
            out += ["\\bottomrule", "\\end{tabular}", tables.BREAK,
                    "\\begin{tabular}{@{}l" + "@{\\;}c" * len(params) + "@{}}", "\\toprule",
                    " & " + " & ".join(f"$\\nabla_{{{g.node(k).label}}} f$" for k in params) + " \\\\"]
        out += ["\\midrule", f"\\multicolumn{{{1 + len(params)}}}{{@{{}}l}}{{largest relative difference "
                "(\\textbf{bold}: out of tolerance)} \\\\", "\\midrule"]
        pairs = {}
        for c in report.comparisons:
            pairs.setdefault((c.a, c.b), {})[c.param] = c
        for (a, b), by_param in pairs.items():
            cells = [(lambda t: t if c.ok else f"\\boldsymbol{{{t}}}")(sci(c.rel_diff, 1)) if (c := by_param.get(k))
                     else "" for k in params]
            out.append(f"{SHORT_METHODS[a]} vs {SHORT_METHODS[b]} & " + " & ".join(f"${x}$" if x else "" for x in cells)
                       + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def verify_markdown(report):
    """Problem 3(c)'s differences table in Markdown."""
    g = report.graph
    out = ["| methods | parameter | max abs diff | max rel diff | within tolerance |", "|---|---|---:|---:|---|"]
    for c in report.comparisons:
        out.append(f"| {METHOD_NAMES[c.a]} vs {METHOD_NAMES[c.b]} | ${g.node(c.param).label}$ | {c.abs_diff:.2e} | "
                   f"{c.rel_diff:.2e} | {'yes' if c.ok else 'NO'} |")
    return "\n".join(out) + "\n"


def verify_csv(report):
    """Problem 3(c)'s differences as CSV: one row per pair of methods and parameter."""
    return csv_lines([["method_a", "method_b", "parameter", "max_abs_diff", "max_rel_diff", "rtol", "atol", "ok"],
                      *([c.a, c.b, c.param, f"{c.abs_diff:.6e}", f"{c.rel_diff:.6e}", c.tol[0], c.tol[1], c.ok]
                        for c in report.comparisons)])


def verify_renderables(report, *, source, digits=4):
    """Rich tables: where the inputs came from, the gradients (when small), the differences of every pair of
    methods, and the verdict."""
    g = report.graph
    items = [Text(f"{g.name}: {g.description or ''}   f = {report.value:.6g}", style="bold magenta")]
    if source:
        items.append(Text(f"inputs {source}", style="magenta"))
    methods = list(report.gradients)
    params = list(report.gradients["engine"])
    if all(report.gradients["engine"][k].size <= SHOW_VALUES for k in params):
        t = Table(title=f"Gradients ∂f/∂(input), {digits} decimals", box=box.SIMPLE_HEAD, title_justify="left",
                  title_style="bold", header_style="bold cyan")
        t.add_column("parameter", style="bold")
        t.add_column("method")
        t.add_column("gradient", justify="right", style="green")
        for k in params:
            for m in methods:
                t.add_row(_param(g, k) if m == methods[0] else "", METHOD_NAMES[m],
                          fmt_value(report.gradients[m][k], digits, row=True, align=True), end_section=m == methods[-1])
        items.append(t)
    t = Table(title="Differences between methods (max over entries)", box=box.SIMPLE_HEAD, title_justify="left",
              title_style="bold", header_style="bold cyan")
    for col, justify in (("pair", "left"), ("parameter", "left"), ("max abs diff", "right"),
                         ("max rel diff", "right"), ("rtol", "right"), ("atol", "right"), ("", "center")):
        t.add_column(col, justify=justify)
    for c in report.comparisons:
        t.add_row(f"{c.a} – {c.b}", _param(g, c.param), f"{c.abs_diff:.2e}", f"{c.rel_diff:.2e}",
                  f"{c.tol[0]:.0e}", f"{c.tol[1]:.1e}", Text("ok", style="green") if c.ok else Text("FAIL", style="bold red"))
    items.append(t)
    items += [Text(text, style=style) for text, style in verify_notes(report)]
    ok, text = verify_verdict(report)
    items.append(Panel(Text(text, style="bold green" if ok else "bold red"), expand=False,
                       border_style="green" if ok else "red"))
    return items


def verify_notes(report):
    """[(sentence, rich style)]: what makes the comparison say little, what was skipped and why, ReLU kinks."""
    out = []
    if report.constant:
        out.append(("no differentiable input reaches the output (only constants and data do), so every gradient "
                    "is 0", "bold yellow"))
    elif report.all_zero:
        out.append(("every gradient is 0 at these inputs (for Fig. 1: every ReLU path is dead), so the methods' "
                    "agreement says little; try another --seed", "bold yellow"))
    out += [(f"{METHOD_NAMES[m]}: {why}", "yellow") for m, why in report.skipped.items()]
    out += [(f"{node}: {count} ReLU input{'s' * (count > 1)} at the kink 0, where ReLU′(0) = 0 and central "
             "differences straddle it", "yellow") for node, count in report.kinks.items()]
    return out


def verify_verdict(report):
    """(agree?, the verdict sentence followed by the tolerance rule)."""
    rule = (f"tolerance: |a − b|max ≤ atol + rtol·max(|a|max, |b|max); exact methods rtol {EXACT_TOL[0]:.0e}, "
            f"atol {EXACT_TOL[1]:.0e}; against finite differences rtol {FD_TOL[0]:.0e}, atol {FD_TOL[1]:.0e} "
            "+ their own error estimate (truncation and rounding)")
    bad = [c for c in report.comparisons if not c.ok]
    if bad:
        worst = max(bad, key=lambda c: c.rel_diff)
        return False, (f"DISAGREE: {len(bad)} of {len(report.comparisons)} comparisons out of tolerance "
                       f"(worst: {worst.a} – {worst.b} on {worst.param}, rel {worst.rel_diff:.2e})\n{rule}")
    methods = ", ".join(METHOD_NAMES[m] for m in report.gradients)
    if not report.comparisons:
        what = "one method ran" if len(report.gradients) < 2 else "the graph has no differentiable input"
        return True, f"NOTHING TO COMPARE: {what} ({methods or 'none'})\n{rule}"
    return True, f"AGREE: {methods} — all {len(report.comparisons)} comparisons within tolerance\n{rule}"


def verify_text_latex(report, digits=4):
    """The gradients and their largest differences as one booktabs tabular; the notes and the verdict as comments."""
    lines = [f"% {text}" for text, _ in verify_notes(report)] + [f"% {line}" for line in verify_verdict(report)[1].splitlines()]
    return gradients_latex(report, digits, differences=True) + "\n".join(lines) + "\n"


def verify_text_markdown(report, digits=4):
    """The gradients and the differences as Markdown tables, then the notes and the verdict."""
    g = report.graph
    methods = list(report.gradients)
    out = ["| parameter | " + " | ".join(METHOD_NAMES[m] for m in methods) + " |", "|---|" + "---:|" * len(methods)]
    for k in report.gradients["engine"]:
        cells = (f"${tex_matrix(report.gradients[m][k], digits, vector='row^T')}$" for m in methods)
        out.append(f"| ${g.node(k).label}$ | " + " | ".join(cells) + " |")
    head, rule = verify_verdict(report)[1].split("\n")
    tail = [f"{note}  " for note, _ in verify_notes(report)] + [f"**{head}**  ", rule]
    return "\n".join(out) + "\n\n" + verify_markdown(report) + "\n" + "\n".join(tail) + "\n"


def verify_text_json(report, digits=4):
    """Everything as JSON at full precision: gradients by method, differences, tolerances, notes and the verdict."""
    ok, text = verify_verdict(report)
    doc = {
        "graph": report.graph.name,
        "value": report.value,
        "inputs": {k: np.asarray(x, dtype=float).tolist() for k, x in report.inputs.items()},
        "gradients": {m: {k: np.asarray(x, dtype=float).tolist() for k, x in grads.items()}
                      for m, grads in report.gradients.items()},
        "fd_error": report.fd_error,
        "comparisons": [{"a": c.a, "b": c.b, "parameter": c.param, "max_abs_diff": c.abs_diff,
                         "max_rel_diff": c.rel_diff, "rtol": c.tol[0], "atol": c.tol[1], "ok": c.ok}
                        for c in report.comparisons],
        "skipped": report.skipped,
        "kinks": report.kinks,
        "notes": [note for note, _ in verify_notes(report)],
        "agree": ok,
        "verdict": text,
    }
    return indented_json(doc)


VERIFY_FORMATS = {"latex": verify_text_latex, "markdown": verify_text_markdown, "json": verify_text_json,
                  "csv": lambda report, digits: verify_csv(report)}  # CSV is at full precision: no digits


def _param(graph, name):
    """'W₁' for W1; 'x1 (v₋₂)' when the spec gives the input a label of its own."""
    label = graph.node(name).label
    return tex_to_text(label) if label == default_label(name) else f"{name} ({tex_to_text(label)})"


def runs_renderables(method, runs, *, init, n, m, seed, source):
    """Problem 1, one method's run as rich renderables: its iterations, its verdict, and its restarts."""
    first = runs[0]
    what = {"analytic": "hand-derived derivatives", "engine": "derivatives by the graph engine"}[source]
    table = Table(title=f"{NAMES[method]} from {init} init — n={n}, m={m}, seed={seed}, {what}")
    for col in ("k", "f(x_k)", "‖∇f(x_k)‖", "step", "dist to ±x / ‖x‖", "time ms"):
        table.add_column(col, justify="right")
    for s in first.history:
        table.add_row(str(s.k), f"{s.f:.3e}", f"{s.grad_norm:.3e}", "" if s.k == 0 else f"{s.step:.3e}",
                      f"{s.rel_error:.3e}", f"{1e3 * s.time:.2f}")
    ok, text = verdict_text(method, first)
    head, _, rest = text.partition(" — ")
    out = [table, f"[bold {'green' if ok else 'red'}]{head}[/] — {rest}"]
    for j, r in enumerate(runs[1:], 1):
        out.append(f"  restart {j} from a fresh random point: {r.iterations} iterations → {r.verdict.kind}"
                      f" (f = {r.verdict.f:.3e}, dist to ±x {r.verdict.rel_error:.2e})")
    if len(runs) > 1:
        outcome = "recovered x" if runs[-1].verdict.success else "did not recover x"
        out.append(f"  with {len(runs) - 1} restart(s): {outcome}")
    return out + [""]


def trials_renderables(summaries, *, n, m, seed, count, restarts):
    """Problem 1's trials as a rich table of success rates and failure kinds, and the sentence that reads it."""
    table = Table(title=f"{count} instances, n={n}, m={m}, seeds {seed}…{seed + count - 1}",
                  box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    kinds = phase.FAILURES + ((phase.GLOBAL,) if any(s.failures[phase.GLOBAL] for s in summaries) else ())
    heads = ["method", "init", "ok %", f"ok %\n+{restarts} rst", "iters", "ms", *(COLUMNS[k] for k in kinds)]
    shown = [k for k in range(len(heads)) if restarts or k != 3]  # the restarts column only with restarts
    for k in shown:
        table.add_column(heads[k], **({"no_wrap": True} if k < 2 else {"justify": "right"}))
    for s, row in zip(summaries, trials_rows(summaries, kinds)[0]):
        row = [*row[:5], f"{1e3 * s.median_time:.2f}", *row[5:]]  # the time goes after the median iterations
        table.add_row(*(row[k] for k in shown), end_section=s.init == phase.INITS[-1])
    return [table, "ok: f ≈ 0 and x recovered up to its sign (+R rst: within R restarts from random points). "
                  "Failures (spurious local minimum, saddle point, local maximum, no convergence) are judged at the "
                  "end of the first run from ‖∇f‖ and the Hessian's eigenvalues. iters and ms are medians "
                  "(ms excludes computing the starting point); LM is Levenberg–Marquardt."]


def phase_table(ratios, rates, *, n, count):
    """Gauss–Newton's success rate against m/n as a rich table."""
    table = Table(title=f"Gauss–Newton success rate against m/n — n={n}, {count} instances per ratio")
    for col in ("m/n", "m") + tuple(f"{it} init %" for it in rates):
        table.add_column(col, justify="right")
    for j, ratio in enumerate(ratios):
        table.add_row(f"{ratio:.1f}", str(int(round(ratio * n))), *(f"{100 * r[j]:.0f}" for r in rates.values()))
    return table


COST_COLUMNS = ("n", "m", "forward ops", "reverse ops", "forward s", "reverse s", "cheaper")


def cost_rows(points):
    """One row of text per (n, m): both modes' operations and seconds, and which mode is cheaper."""
    return [(str(p.n), str(p.m), str(p.forward_ops), str(p.reverse_ops), f"{p.forward_s:.2e}", f"{p.reverse_s:.2e}",
             "forward" if p.forward_ops < p.reverse_ops else "reverse" if p.reverse_ops < p.forward_ops else "same")
            for p in points]


def cost_sentence(by_n, by_m, crossover, tex=False):
    """What the two series show, in words (in LaTeX with `tex`)."""
    n, m = crossover(by_n, "n", "forward"), crossover(by_m, "m", "reverse")
    text = ("With one output (m = 1) forward mode's operations grow with n and reverse mode's barely do"
            + (f" (forward mode is the costlier from n = {n} on)" if n else "")
            + "; with one input (n = 1) it is the other way round"
            + (f" (reverse mode is the costlier from m = {m} on)" if m else "")
            + ". Forward mode runs a sweep per input, reverse mode a sweep per output: reverse mode wins for "
            "f: ℝⁿ → ℝ with large n (a loss), forward mode for few inputs and many outputs.")
    if not tex:
        return text
    for plain, latex in (("f: ℝⁿ → ℝ", "$f\\colon \\mathbb{R}^n \\to \\mathbb{R}$"), (" n on", " $n$ on"),
                         ("(m = 1)", "($m = 1$)"), ("(n = 1)", "($n = 1$)"), (f"n = {n} on", f"$n = {n}$ on"),
                         (f"m = {m} on", f"$m = {m}$ on"), ("large n", "large $n$"), ("with n", "with $n$")):
        text = text.replace(plain, latex)
    return text


def cost_renderables(by_n, by_m, crossover):
    """Rich tables of the two series and the sentence that reads them."""
    items = []
    for title, points in (("f: ℝⁿ → ℝ (m = 1)", by_n), ("f: ℝ → ℝᵐ (n = 1)", by_m)):
        t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold", header_style="bold cyan")
        for col in COST_COLUMNS:
            t.add_column(col, justify="right")
        for row in cost_rows(points):
            t.add_row(*row)
        items.append(t)
    items.append(Text(cost_sentence(by_n, by_m, crossover)))
    return items


def cost_csv(by_n, by_m):
    """Both series as CSV, one row per (n, m)."""
    return csv_lines([[c.replace(" ", "_") for c in COST_COLUMNS], *cost_rows(by_n + by_m)])


POINTS = {"start": "random start $x_0$", "newton": "Newton's end point", "gauss-newton": "Gauss--Newton's end point"}


def negatives(eigenvalues):
    """How many eigenvalues are below 0 by more than phase.EIG_ZERO times the largest |eigenvalue|."""
    return int(np.sum(eigenvalues < -phase.EIG_ZERO * np.abs(eigenvalues).max(initial=0.0)))


def _count(k, noun):
    return f"{k} {noun}{'' if k == 1 else 's'}"


def curvature_latex(spectra, values, *, n, m, seed):
    """∇²f's and Gauss–Newton's ½JᵀJ's eigenvalues side by side at each point, as a booktabs tabular.

    spectra: {point (a key of POINTS): (eigenvalues of ∇²f, eigenvalues of ½JᵀJ)}, values: {point: f there}."""
    head = [f"% Problem 1, n={n}, m={m}, seed={seed}: eigenvalues of the Hessian and of Gauss-Newton's matrix; "
            "needs \\usepackage{booktabs,amsmath}", "\\begin{tabular}{@{}lrrrrrrr@{}}", "\\toprule",
            "& & \\multicolumn{3}{c}{$\\nabla^2 f$ (Newton)} & \\multicolumn{3}{c@{}}{$\\tfrac12 J^\\top J$ "
            "(Gauss--Newton)} \\\\", "\\cmidrule(lr){3-5}\\cmidrule(l){6-8}",
            "point & $f$ & $\\lambda_{\\min}$ & $\\lambda_{\\max}$ & ${<}\\,0$ & $\\lambda_{\\min}$ & $\\lambda_{\\max}$ & "
            "${<}\\,0$ \\\\", "\\midrule"]
    body = [" & ".join([POINTS[p], f"${sci(values[p], 2)}$"] + [c for eig in pair for c in (
        f"${eig[0]:.1f}$", f"${eig[-1]:.1f}$", str(negatives(eig)))]) + " \\\\" for p, pair in spectra.items()]
    return "\n".join(head + body + ["\\bottomrule", "\\end{tabular}"]) + "\n"


def curvature_sentence(spectra, runs, *, seed, asked):
    """What the eigenvalues show, in LaTeX: why Newton's method can end at a saddle and Gauss–Newton's cannot.
    spectra as for curvature_latex; runs: {'newton': Run, 'gauss-newton': Run} from the random start."""
    (h0, g0), (hn, gn) = spectra["start"], spectra["newton"]
    newton, gn_kind = runs["newton"].verdict.kind, runs["gauss-newton"].verdict.kind
    which = (f"the instance of seed {seed}, the first from seed {asked} on where Newton's method from a random start "
             "ends at a saddle point" if newton == phase.SADDLE else f"the instance of seed {seed}")
    end = ("the global minimum, where $r = 0$ and $\\frac12 J^\\top J = \\nabla^2 f$" if gn_kind == phase.GLOBAL
           else f"a {gn_kind}")
    return (f"On {which}, at the random start $\\nabla^2 f$ has {_count(negatives(h0), 'negative eigenvalue')} and "
            f"$\\frac12 J^\\top J$ {negatives(g0) or 'none'}. Newton's step $-(\\nabla^2 f)^{{-1}} \\nabla f$ goes to the "
            "stationary point of the quadratic model built on $\\nabla^2 f$; where $\\nabla^2 f$ is indefinite that "
            "point is a saddle of the model, and Newton's method is drawn to saddles of $f$ as readily as to minima: "
            f"here it ends at a {newton}, where $\\nabla^2 f$ has {_count(negatives(hn), 'negative eigenvalue')}. "
            "$\\frac12 J^\\top J$ is positive semidefinite at every point ($\\delta^\\top J^\\top J \\delta = "
            f"\\|J\\delta\\|^2 \\ge 0$; at Newton's end point its smallest eigenvalue is ${gn[0]:.1f}$), so the "
            f"Gauss--Newton step is a descent direction at every point and moves downhill, away from a saddle rather "
            f"than towards it: it ends at {end}. "
            "The table gives both matrices' eigenvalues at the three points, the picture the matrices themselves, on "
            "one colour scale.")


def cost_latex(by_n, by_m):
    """Both series' operations side by side as a booktabs tabular: n with m = 1, and m with n = 1."""
    head = ["% operations of forward and reverse mode on graphcomp.problems.costs.family; needs \\usepackage{booktabs}",
            "\\begin{tabular}{@{}rrrrrr@{}}", "\\toprule",
            "\\multicolumn{3}{@{}c}{$f\\colon \\mathbb{R}^n \\to \\mathbb{R}$} & "
            "\\multicolumn{3}{c@{}}{$f\\colon \\mathbb{R} \\to \\mathbb{R}^m$} \\\\",
            "\\cmidrule(r){1-3}\\cmidrule(l){4-6}",
            "$n$ & forward & reverse & $m$ & forward & reverse \\\\", "\\midrule"]
    body = [f"{a.n} & {a.forward_ops} & {a.reverse_ops} & {b.m} & {b.forward_ops} & {b.reverse_ops} \\\\"
            for a, b in zip(by_n, by_m)]
    return "\n".join(head + body + ["\\bottomrule", "\\end{tabular}"]) + "\n"
