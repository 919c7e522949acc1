"""A finished engine.hessian.Hessian as tables: rich (terminal), LaTeX (one booktabs tabular), Markdown, CSV, JSON.

They only read the numbers: H, its eigenvalues, f and ‖∇f‖. The matrix is laid out by
graphcomp.render.jacobian's matrix_table, latex_matrix and markdown_matrix (a row and a
column per entry of the inputs, cut past TEX_SHOWN in LaTeX).
"""
import numpy as np
from rich.text import Text

from graphcomp.render.jacobian import (
    heading,
    latex_matrix,
    markdown_matrix,
    matrix_table,
    tex_columns,
)
from graphcomp.render.text import csv_lines, cut, fmt_number, indented_json, text_to_tex


def curvature(hess):
    """Two sentences: the eigenvalues' range and signs, and what they make of the point."""
    neg, zero, pos = hess.inertia
    if neg and pos:
        kind = "indefinite: a saddle point if ∇f = 0 there"
    elif zero:
        kind = "singular: the second-order test cannot tell"
    elif pos:
        kind = "positive definite: a strict local minimum if ∇f = 0 there"
    else:
        kind = "negative definite: a strict local maximum if ∇f = 0 there"
    return [f"eigenvalues from {hess.eigenvalues[0]:.4g} to {hess.eigenvalues[-1]:.4g}: {neg} negative, {zero} zero, "
            f"{pos} positive", f"∇²f is {kind}"]


def facts(hess):
    """Two sentences: f, ‖∇f‖ and the asymmetry of H there; the products run."""
    return [f"f = {hess.value:.6g}, ‖∇f‖ = {np.linalg.norm(hess.gradient):.4g}, max |H − Hᵀ| = {hess.asymmetry:.1e}",
            f"{hess.products} Hessian–vector product{'s' * (hess.products != 1)} (forward over reverse), a column each"]


SHOWN = 6  # rows and columns of H the terminal shows (the rest cut with ⋯ and ⋮)


def rich_renderables(hess, digits=4):
    """The title, H (row i, column j: ∂²f/∂xᵢ∂xⱼ), its eigenvalues, and the sentences on them."""
    n = len(hess.inputs)
    items = [*heading(hess.graph, f"∇²f ∈ ℝ^{{{n}×{n}}} over {', '.join(hess.wrt)}", hess.at),
             Text("row i, column j: ∂²f/∂xᵢ∂xⱼ", style="dim"),
             matrix_table(hess.graph, "∇²f", hess.inputs, hess.inputs, hess.matrix, digits, head="{}", shown=SHOWN),
             Text("eigenvalues (ascending): " + ", ".join(
                 "…" if k is None else fmt_number(hess.eigenvalues[k], digits)
                 for k in cut(range(len(hess.inputs)), 2 * SHOWN)))]
    if len(hess.inputs) > SHOWN:
        items.append(Text("(cut to fit the terminal: --format json or csv holds every entry)", style="dim"))
    items += [Text(s, style="bold") for s in curvature(hess)] + [Text(s, style="dim") for s in facts(hess)]
    return items


def latex(hess, digits=4):
    """One booktabs tabular: H (past TEX_SHOWN rows or columns cut with ⋯ and ⋮), its eigenvalues in a row below
    (cut the same way), and the sentences on them."""
    shown = tex_columns(digits, hess.matrix, hess.eigenvalues)
    body, width = latex_matrix(hess.graph, hess.inputs, hess.inputs, hess.matrix, digits, head="{}", shown=shown)
    eig = ["$\\cdots$" if k is None else f"${fmt_number(hess.eigenvalues[k], digits)}$"
           for k in cut(range(len(hess.inputs)), shown)]
    out = [f"% graphcomp hessian of {hess.graph.name}; needs \\usepackage{{booktabs,amsmath}}", *body,
           " & ".join(["$\\lambda$ (ascending)"] + eig) + " \\\\", "\\midrule"]
    for sentence in curvature(hess) + facts(hess):
        out.append(f"\\multicolumn{{{width}}}{{@{{}}l@{{}}}}{{\\footnotesize {text_to_tex(sentence)}}} \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def markdown(hess, digits=4):
    """H as a Markdown table with $LaTeX$ names, then its eigenvalues and the sentences on them."""
    out = markdown_matrix(hess.graph, hess.inputs, hess.inputs, hess.matrix, digits, head="{}")
    eig = ", ".join(fmt_number(x, digits) for x in hess.eigenvalues)
    return "\n".join(out) + f"\n\n- eigenvalues (ascending): {eig}\n" + "".join(
        f"- {s}\n" for s in curvature(hess) + facts(hess))


def csv_text(hess, digits=4):
    """Full precision: a row per entry of H (section 'hessian': row, column, value), then a row per eigenvalue
    (section 'eigenvalue', ascending)."""
    entries = (["hessian", a, b, repr(float(hess.matrix[j, k]))]
               for j, a in enumerate(hess.inputs) for k, b in enumerate(hess.inputs))
    return csv_lines([["section", "row", "column", "value"], *entries,
                      *(["eigenvalue", k + 1, "", repr(float(x))] for k, x in enumerate(hess.eigenvalues))])


def as_dict(hess):
    """Everything at full precision, for JSON."""
    neg, zero, pos = hess.inertia
    return {
        "graph": hess.graph.name,
        "wrt": list(hess.wrt),
        "inputs": list(hess.inputs),
        "order": "inputs in the order of wrt, each tensor's entries in C (row-major) order",
        "at": {k: np.asarray(x, dtype=float).tolist() for k, x in hess.at.items()},
        "value": hess.value,
        "gradient": hess.gradient.tolist(),
        "hessian": hess.matrix.tolist(),
        "eigenvalues": hess.eigenvalues.tolist(),
        "inertia": {"negative": neg, "zero": zero, "positive": pos},
        "max_asymmetry": hess.asymmetry,
        "hessian_vector_products": hess.products,
        "curvature": curvature(hess),
    }


FORMATS = {"latex": latex, "markdown": markdown, "csv": csv_text,
           "json": lambda hess, digits=4: indented_json(as_dict(hess))}
