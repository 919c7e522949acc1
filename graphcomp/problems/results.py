"""Problem 1 and Problem 3(c) results as text: names, verdict sentences, LaTeX / Markdown / CSV tables.

They read finished results (phase.Run, phase.Summary, verify.Report) and compute
nothing. No timings go into these tables, so the same seed gives the same bytes.
"""
import csv
import io

import numpy as np

from graphcomp.problems import phase
from graphcomp.render.text import tex_matrix

NAMES = {
    "newton": "Newton",
    "gauss-newton": "Gauss–Newton",
    "lm": "Levenberg–Marquardt",
    "scipy-lm": "scipy least_squares 'lm'",
}
SHORT = {"newton": "Newton", "gauss-newton": "Gauss–Newton", "lm": "LM", "scipy-lm": "scipy lm"}
COLUMNS = {"spurious local minimum": "spur.\nmin", "saddle point": "saddle", "local maximum": "local\nmax",
           "no convergence": "no\nconv", "global minimum": "f=0,\nx≠±x*"}
STATUS = {"converged": "a step below --tol", "max iterations": "the iteration limit",
          "diverged": "overflowing iterates"}
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


def tex_text(s):
    """Plain text for a LaTeX document: the Unicode of the verdict sentences spelled in math."""
    for a, b in (("‖∇f‖", "$\\|\\nabla f\\|$"), ("±", "$\\pm$"), ("−", "$-$"), ("'", "\\textquotesingle{}"),
                 ("_", "\\_"), ("--", "-{}-")):
        s = s.replace(a, b)
    return s


def run_latex(method, init, run, *, n, m, seed):
    """One run's iterations as a booktabs tabular, then its verdict."""
    head = (f"% {NAMES[method]} from {init} init, n={n}, m={m}, seed={seed}\n"
            "\\begin{tabular}{@{}rllll@{}}\n\\toprule\n"
            "$k$ & $f(x_k)$ & $\\|\\nabla f(x_k)\\|$ & $\\|x_k - x_{k-1}\\|$ & "
            "$\\min_\\pm \\|x_k \\mp x\\| / \\|x\\|$ \\\\\n\\midrule\n")
    rows = "".join(f"{s.k} & ${sci(s.f)}$ & ${sci(s.grad_norm)}$ & {'' if s.k == 0 else f'${sci(s.step)}$'} & "
                   f"${sci(s.rel_error)}$ \\\\\n" for s in run.history)
    ok, text = verdict_text(method, run)
    return ("\\begin{center}\n" + head + rows + "\\bottomrule\n\\end{tabular}\n\\end{center}\n\n"
            + f"\\noindent\\textbf{{{'Solved' if ok else 'Not solved'}.}} " + tex_text(text) + "\n\n")


def trials_rows(summaries):
    """[(method, init, success %, success % with restarts, median iterations, failure counts…)] and the kinds."""
    kinds = phase.FAILURES
    rows = [(SHORT[s.method], s.init, f"{100 * s.success_rate:.0f}", f"{100 * s.success_rate_restarts:.0f}",
             f"{s.median_iterations:.0f}", *(str(s.failures[k]) for k in kinds)) for s in summaries]
    return rows, kinds


def trials_latex(summaries, *, n, m, seed, count, restarts):
    """The trials table (success rates, median iterations, failure kinds) as a booktabs tabular."""
    rows, kinds = trials_rows(summaries)
    head = [f"% {count} instances, n={n}, m={m}, seeds {seed}..{seed + count - 1}",
            "\\begin{tabular}{@{}ll" + "r" * (3 + len(kinds)) + "@{}}", "\\toprule",
            "method & init & success \\% & with " + str(restarts) + " restarts \\% & median iters & "
            + " & ".join(k for k in kinds) + " \\\\", "\\midrule"]
    body = [" & ".join(r) + " \\\\" for r in rows]
    return "\n".join(head + body + ["\\bottomrule", "\\end{tabular}"]) + "\n"


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
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "init", "success_pct", "success_pct_restarts", "median_iterations", *kinds])
    w.writerows(rows)
    return buf.getvalue()


def phase_latex(ratios, rates, *, n, count):
    """Gauss–Newton success rate against m/n as a booktabs tabular."""
    inits = list(rates)
    head = [f"% Gauss-Newton success rate, n={n}, {count} instances per ratio",
            "\\begin{tabular}{@{}rr" + "r" * len(inits) + "@{}}", "\\toprule",
            "$m/n$ & $m$ & " + " & ".join(f"{it} init \\%" for it in inits) + " \\\\", "\\midrule"]
    body = [f"{r:.1f} & {int(round(r * n))} & " + " & ".join(f"{100 * rates[it][j]:.0f}" for it in inits) + " \\\\"
            for j, r in enumerate(ratios)]
    return "\n".join(head + body + ["\\bottomrule", "\\end{tabular}"]) + "\n"


def gradients_latex(report, digits=4):
    """Problem 3(c): every method's gradient of every parameter, side by side, as a booktabs tabular."""
    g = report.graph
    methods = list(report.gradients)
    out = [f"% gradients of {g.name} computed {len(methods)} ways; f = {report.value!r}",
           "\\begin{tabular}{@{}l" + "c" * len(methods) + "@{}}", "\\toprule",
           " & " + " & ".join(METHOD_NAMES[m] for m in methods) + " \\\\", "\\midrule"]
    for k in report.gradients["engine"]:
        out.append(f"$\\nabla_{{{g.node(k).label}}} f$ & "
                   + " & ".join(f"${tex_matrix(report.gradients[m][k], digits, vector='row^T')}$" for m in methods) + " \\\\[2pt]")
    out += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def verify_latex(report):
    """Problem 3(c): the largest difference of every pair of methods, per parameter, as a booktabs tabular."""
    g = report.graph
    out = [f"% pairwise differences of the gradients of {g.name}; f = {report.value!r}",
           "\\begin{tabular}{@{}llrrl@{}}", "\\toprule",
           "methods & parameter & max abs.\\ diff. & max rel.\\ diff. & within tolerance \\\\", "\\midrule"]
    for c in report.comparisons:
        out.append(f"{METHOD_NAMES[c.a]} vs {METHOD_NAMES[c.b]} & ${g.node(c.param).label}$ & ${sci(c.abs_diff, 2)}$ & "
                   f"${sci(c.rel_diff, 2)}$ & {'yes' if c.ok else 'NO'} \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def verify_markdown(report, digits=4):
    """Problem 3(c)'s differences table in Markdown."""
    g = report.graph
    out = ["| methods | parameter | max abs diff | max rel diff | within tolerance |", "|---|---|---:|---:|---|"]
    for c in report.comparisons:
        out.append(f"| {METHOD_NAMES[c.a]} vs {METHOD_NAMES[c.b]} | ${g.node(c.param).label}$ | {c.abs_diff:.2e} | "
                   f"{c.rel_diff:.2e} | {'yes' if c.ok else 'NO'} |")
    return "\n".join(out) + "\n"


def verify_csv(report):
    """Problem 3(c)'s differences as CSV: one row per pair of methods and parameter."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method_a", "method_b", "parameter", "max_abs_diff", "max_rel_diff", "rtol", "atol", "ok"])
    for c in report.comparisons:
        w.writerow([c.a, c.b, c.param, f"{c.abs_diff:.6e}", f"{c.rel_diff:.6e}", c.tol[0], c.tol[1], c.ok])
    return buf.getvalue()
