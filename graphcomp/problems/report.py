"""Every figure and table of the problem set, gathered from the commands that make them, and a LaTeX document.

Each part yields Artifacts (a file name, what it is, which problem part, its
contents) and Diagrams to draw; nothing here computes a number by other means
than the engine, the solvers and the verifier. graphcomp.cli.report draws and
writes them.
"""
import io
from dataclasses import dataclass

import numpy as np

from graphcomp.problems import costs, derivations, phase, plots, results
from graphcomp.problems.verify import verify
from graphcomp.render import tables
from graphcomp.render.text import tex_matrix


@dataclass(frozen=True)
class Artifact:
    """One output file: its name in the report folder, what it is, the problem part, its contents."""

    name: str
    what: str
    part: str
    data: object  # str or bytes


@dataclass(frozen=True)
class Diagram:
    """A drawing of `graph` to make in format `fmt` (png, pdf, tex, dot): the command line runs Graphviz."""

    name: str
    what: str
    part: str
    graph: object
    fmt: str


@dataclass(frozen=True)
class Skipped:
    """An output that could not be made here, and why (e.g. Graphviz missing)."""

    name: str
    part: str
    why: str


def problem2(graph):
    """2(a) the graph of Eq. 2, 2(b) its forward-mode trace, 2(c) its reverse-mode trace."""
    out = list(_diagrams(graph, "eq2", "2(a)", "computational graph of Eq. 2", formats=("png", "pdf", "tex", "dot")))
    for mode, part in (("forward", "2(b)"), ("reverse", "2(c)")):
        t = graph.trace(wrt="x2", mode=mode)
        what = f"{mode}-mode trace of ∂f/∂x2 at (1, 1.5, 2)"
        out.append(Artifact(f"eq2_{mode}.tex", what + " (booktabs)", part, tables.latex(t)))
        out.append(Artifact(f"eq2_{mode}.md", what + " (Markdown)", part, tables.markdown(t)))
    return out


def problem3(graph, seed):
    """3(a) the analytic gradients, 3(b) the step-by-step backward pass, 3(c) four gradients compared."""
    t = graph.trace(mode="reverse", seed=seed)
    out = [Artifact("fig1_gradients.tex", "analytic gradients of Fig. 1 (formulas)", "3(a)", GRADIENTS_TEX),
           Artifact("fig1_backward.tex", "backward pass of Fig. 1, .v and .d step by step", "3(b)", tables.latex(t)),
           Artifact("fig1_backward.md", "backward pass of Fig. 1 (Markdown)", "3(b)", tables.markdown(t))]
    out += _diagrams(graph, "fig1", "3(b)", "graph of Fig. 1", formats=("png",))
    report = verify(graph, seed=seed)
    out += [Artifact("fig1_gradients_4ways.tex", "the gradients by each of the four methods", "3(c)",
                     results.gradients_latex(report)),
            Artifact("fig1_verify.tex", "analytic vs reverse mode vs PyTorch vs finite differences", "3(c)",
                     results.gradients_latex(report, differences=True)),
            Artifact("fig1_verify.md", "the same comparison (Markdown)", "3(c)", results.verify_markdown(report)),
            Artifact("fig1_verify.csv", "the same comparison (CSV)", "3(c)", results.verify_csv(report)),
            Artifact("fig1_data.npz", f"the random data of 3(c) (seed {seed})", "3(c)", _npz(report.inputs)),
            Artifact("fig1_data.tex", f"the random data of 3(c), printed (seed {seed})", "3(c)",
                     _data_tex(graph, report.inputs, seed))]
    return out, report


def problem1_runs(seed, n=20, m=100):
    """1(a)/(b): Newton and Gauss–Newton on the seeded instance, from a random and a spectral start: the
    artifacts, and {table name: the verdict on that run, as a sentence}."""
    instance = phase.make_instance(n, m, seed)
    out, sentences = [], {}
    for init in phase.INITS:
        runs = {mt: phase.recover(instance, mt, init)[0] for mt in ("newton", "gauss-newton")}
        for mt, r in runs.items():
            part = "1(a)" if mt == "newton" else "1(b)"
            name = f"problem1_{mt.replace('-', '_')}_{init}.tex"
            out.append(Artifact(name, f"{results.NAMES[mt]} from {init} init: iterations", part,
                                results.run_latex(mt, init, r, n=n, m=m, seed=seed)))
            sentences[name] = results.run_sentence(mt, init, r)
        if init == "random":
            png = plots.convergence_png(runs, n=n, m=m, seed=seed, init=init)
            out.append(Artifact("convergence.png", "f(x_k) against k, Newton and Gauss–Newton", "1(a)/(b)", png))
    return out, sentences


def problem1_trials(seed, count, progress=None, n=20, m=100, restarts=3):
    """1(a)/(b): success rates over `count` seeded instances, scipy's 'lm' beside, and the phase transition."""
    summaries = phase.trials(n, m, count, seed=seed, methods=phase.METHODS + (phase.REFERENCE,), restarts=restarts,
                             progress=progress)
    kw = dict(n=n, m=m, seed=seed, count=count, restarts=restarts)
    out = [Artifact("problem1_trials.tex", f"success rates over {count} instances", "1(a)/(b)",
                    results.trials_latex(summaries, **kw)),
           Artifact("problem1_trials.md", "the same (Markdown)", "1(a)/(b)", results.trials_markdown(summaries, restarts=restarts)),
           Artifact("problem1_trials.csv", "the same (CSV)", "1(a)/(b)", results.trials_csv(summaries))]
    rates = phase.phase_transition(n, count, seed=seed, progress=progress)
    out += [Artifact("problem1_phase.tex", "Gauss–Newton success rate against m/n", "1(b)",
                     results.phase_latex(phase.PHASE_RATIOS, rates, n=n, count=count)),
            Artifact("phase.png", "phase transition: success rate against m/n", "1(b)",
                     plots.phase_png(phase.PHASE_RATIOS, rates, n=n, count=count))]
    return out, summaries


def problem1_curvature(seed, n=20, m=100):
    """1(a)/(b): the true Hessian ∇²f and Gauss–Newton's ½JᵀJ side by side — their eigenvalues and a picture — at
    the random start and at each method's end point from it, on the first instance from `seed` on where Newton's
    method ends at a saddle point (phase.first_instance): the artifacts, and the sentence on them."""
    instance = phase.first_instance(n, m, seed)
    deriv = phase.derivatives(instance)
    runs = {mt: phase.recover(instance, mt, "random")[0] for mt in ("newton", "gauss-newton")}
    points = {"start": phase.initial_point(instance, "random"), **{mt: r.x for mt, r in runs.items()}}
    matrices = {p: phase.curvature(deriv, x) for p, x in points.items()}
    spectra = {p: tuple(np.linalg.eigvalsh(M) for M in pair) for p, pair in matrices.items()}
    values = {p: deriv.f(x) for p, x in points.items()}
    titles = {"start": "$x_0$", "newton": "Newton's end", "gauss-newton": "Gauss–Newton's end"}
    out = [Artifact("problem1_curvature.tex", "eigenvalues of ∇²f and of Gauss–Newton's ½JᵀJ at three points",
                    "1(a)/(b)", results.curvature_latex(spectra, values, n=n, m=m, seed=instance.seed)),
           Artifact("curvature.png", "∇²f and ½JᵀJ as images, one colour scale", "1(a)/(b)",
                    plots.curvature_png(matrices, titles))]
    return out, results.curvature_sentence(spectra, runs, seed=instance.seed, asked=seed)


def why_reverse_mode():
    """Beside Problem 3: what forward and reverse mode cost as n and m grow (`jacobian --cost`): the plot, the
    operations as a table (no times, so that the same run gives the same bytes), and the sentence on them."""
    by_n, by_m = costs.sweep()
    out = [Artifact("cost.png", "operations of forward and reverse mode against n and m", "3",
                    plots.cost_png(by_n, by_m)),
           Artifact("cost.tex", "the same operations (table)", "3", results.cost_latex(by_n, by_m))]
    return out, results.cost_sentence(by_n, by_m, costs.crossover, tex=True)


def _diagrams(graph, stem, part, what, formats=("png", "pdf", "tex")):
    for fmt in formats:
        name = f"{stem}_graph.tex" if fmt == "tex" else f"{stem}.{fmt}"
        kind = {"tex": "TikZ", "dot": "Graphviz source"}.get(fmt, fmt.upper())
        yield Diagram(name, f"{what} ({kind})", part, graph, fmt)


def _npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def _data_tex(graph, inputs, seed):
    lines = [f"% the inputs of {graph.name}, drawn as: " + "; ".join(graph.draw_calls(seed)) + "; needs "
             "\\usepackage{amsmath}", "\\begin{gather*}"]
    cells = [f"{graph.node(name).label} = {tex_matrix(x, 4)}" for name, x in inputs.items()]
    # three matrices to a line keep the display inside the page
    lines.append(" \\\\\n".join(",\\quad ".join(cells[k:k + 3]) for k in range(0, len(cells), 3)))
    lines.append("\\end{gather*}")
    return "\n".join(lines) + "\n"


GRADIENTS_TEX = r"""% Problem 3(a): the gradients of f = 1/2 ||y - W3 s(W2 s(W1 x))||^2, s = ReLU (derived in docs/problem3.md)
With $V_1 = W_1 x$, $V_2 = \sigma(V_1)$, $V_3 = W_2 V_2$, $V_4 = \sigma(V_3)$, $V_5 = W_3 V_4$, $D = y - V_5$,
$S_1 = \operatorname{diag}(\mathbf{1}[V_1 > 0])$ and $S_2 = \operatorname{diag}(\mathbf{1}[V_3 > 0])$
(the derivative of ReLU at $0$ is taken to be $0$, as in PyTorch):
\begin{align*}
\nabla_{W_3} f &= -D\, V_4^\top, \\
\nabla_{W_2} f &= -S_2 W_3^\top D\, V_2^\top, \\
\nabla_{W_1} f &= -S_1 W_2^\top S_2 W_3^\top D\, x^\top .
\end{align*}
"""


def document(artifacts, *, command, seed, p3_seed, count, check, sentences, draws, curvature="", cost=""):
    """report.tex: a complete LaTeX document that inputs every fragment in the problem set's order; `curvature` and
    `cost` are the sentences of problem1_curvature and why_reverse_mode."""
    names = {a.name for a in artifacts if isinstance(a, Artifact)}

    def figure(name, width=0.9):
        if name not in names:
            return f"\\emph{{({name} was not made here: see the build output.)}}\n\n"
        return (f"\\begin{{center}}\\includegraphics[width={width}\\linewidth,height=0.5\\textheight,keepaspectratio]"
                f"{{{name}}}\\end{{center}}\n")

    def table(name):
        """A fragment as it pastes anywhere, centred; a run's table followed by the sentence on it."""
        if name not in names:
            return ""
        return f"\\begin{{center}}\\input{{{name}}}\\end{{center}}\n" + (f"{sentences[name]}\n" if name in sentences else "")

    if not check.ok:
        verdict = "Some pairs do NOT agree within their tolerance: see the table."
    elif check.all_zero:
        verdict = "Every gradient is 0 at these data (all ReLU paths are dead): the agreement says little."
    else:
        verdict = "All pairs agree within their stated tolerances."
    return rf"""% made by: {command}
% Problem 1: instance seed {seed}, trials seeds {seed}..{seed + count - 1}; Problem 3: data seed {p3_seed}
\documentclass[11pt]{{article}}
\usepackage[margin=2cm]{{geometry}}
\usepackage{{amsmath,amssymb,booktabs,graphicx}}
\setcounter{{MaxMatrixCols}}{{64}}
\title{{Homework Set 2 --- computed with graphcomp}}
\date{{}}
\begin{{document}}
\maketitle

\section*{{Problem 1: nonlinear least squares and second-order methods}}
We minimise $f(x) = \frac14 \sum_{{i=1}}^m (y_i - (a_i^\top x)^2)^2$ with $n = 20$, $m = 100$, $a_i$ iid standard normal,
drawn as
\begin{{verbatim}}
numpy.random.seed({seed})
A = numpy.random.standard_normal((100, 20))
x = numpy.random.standard_normal(20)
\end{{verbatim}}

\subsection*{{(a) Newton's method with the exact Hessian}}
{derivations.PROBLEM_1A}
From a random start:
{table("problem1_newton_random.tex")}
From the spectral start:
{table("problem1_newton_spectral.tex")}
\subsection*{{(b) Gauss--Newton}}
{derivations.PROBLEM_1B}
From the same random start:
{table("problem1_gauss_newton_random.tex")}
From the spectral start:
{table("problem1_gauss_newton_spectral.tex")}
{figure("convergence.png", 0.7)}
\subsection*{{Why Newton finds saddle points and Gauss--Newton does not}}
{curvature}
{table("problem1_curvature.tex")}
{figure("curvature.png")}
Over {count} seeded instances (seeds {seed}, \dots, {seed + count - 1}), with up to three restarts from random points when a run ends at $f > 0$:
{table("problem1_trials.tex")}
Gauss--Newton's success rate against the oversampling ratio $m/n$:
{table("problem1_phase.tex")}
{figure("phase.png", 0.7)}

\section*{{Problem 2: automatic differentiation, scalar version}}
\subsection*{{(a) The computational graph of Eq.~(2)}}
{figure("eq2.pdf")}
\subsection*{{(b) Forward mode: $v_i$ and $\dot v_i$ for $\partial f/\partial x_2$ at $(1, 1.5, 2)$}}
{table("eq2_forward.tex")}
\subsection*{{(c) Reverse mode: $v_i$ and $\bar v_i$}}
{table("eq2_reverse.tex")}

\section*{{Problem 3: automatic differentiation in DNNs}}
The sizes in the problem set ($W_1 \in \mathbb{{R}}^{{2\times 3}}$, $W_3 \in \mathbb{{R}}^{{3\times 2}}$ with $x, y \in \mathbb{{R}}^2$)
do not fit $W_1 x$; we use $W_1 \in \mathbb{{R}}^{{3\times 2}}$, $W_2 \in \mathbb{{R}}^{{3\times 3}}$, $W_3 \in \mathbb{{R}}^{{2\times 3}}$.
\subsection*{{(a) Analytic gradients}}
{derivations.PROBLEM_3A}
In short:
\input{{fig1_gradients.tex}}
\subsection*{{(b) The backward pass, .v and .d step by step}}
{{\footnotesize\input{{fig1_backward.tex}}}}
{figure("fig1.png")}
\subsection*{{(c) Analytic vs reverse mode vs PyTorch autograd}}
The data, drawn with numpy's legacy generator, as these lines re-create them:
\begin{{verbatim}}
{draws}
\end{{verbatim}}
\input{{fig1_data.tex}}
{table("fig1_gradients_4ways.tex")}
{table("fig1_verify.tex")}
{verdict}
\subsection*{{Why reverse mode}}
The gradient of a loss $f\colon \mathbb{{R}}^n \to \mathbb{{R}}$ such as Eq.~(6) costs one reverse sweep, whatever $n$;
forward mode needs a sweep per input. Both modes' operations (\texttt{{python cli.py jacobian --cost}}) on the family
of \texttt{{graphcomp/problems/costs.py}}: the inputs summed pairwise, a shared core of 50 sines, then $f_j = j\,p$ for
$j = 1, \dots, m$.
{table("cost.tex")}
{figure("cost.png", 0.7)}
{cost}
\end{{document}}
"""
