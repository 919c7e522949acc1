"""An exercise sheet: the function, the point, what to compute, and the trace tables with their numbers left blank.

The blank tables are the rows of graphcomp.render.tables (same symbols, rules and order, the slides' convention),
in Markdown, LaTeX and CSV; only the inputs' values are filled in. The answer key is tables' own output. A sheet
and its key take the traces of the exercise: one (forward or reverse mode), or a forward and a reverse one, set
as parts (a) and (b) of the same sheet.
"""
import csv
import io

from graphcomp.core.labels import default_label
from graphcomp.core.nodes import CONST, INPUT
from graphcomp.render import tables
from graphcomp.render.rows import deriv_sym, fill, forward_tex, param_fields, value_sym
from graphcomp.render.text import csv_lines, fmt_number, tex_to_text, text_to_tex

BLANK_TEX = "\\rule{4em}{0.4pt}"  # a line to write the number on
BLANK_MD = "\\_\\_\\_\\_\\_\\_"


LEVELS = {**dict.fromkeys(("exp", "sqrt", "pow", "powc", "square", "sigmoid", "relu", "div"), "tight"),
          **dict.fromkeys(("log", "sin", "cos", "tan", "tanh"), "function"), "mul": "product",
          "add": "sum", "sub": "sum", "neg": "negation"}  # how an op's result binds as another op's argument
LOOSE = ("sum", "negation")


def function_tex(graph):
    """f(x₁, …) = the output as one formula in the inputs (LaTeX), composed from the registry's templates (a
    quotient as \\frac), with parentheses only where an argument would not read as one."""
    expr = {}
    for i, n in enumerate(graph.nodes):
        if n.op is None:
            expr[i] = (n.label if n.kind == CONST else default_label(n.name), "atom")
            continue
        template = "\\frac{{{0}}}{{{1}}}" if n.op == "div" else forward_tex(graph, n)
        f = param_fields(n.params)
        for k, a in enumerate(n.args):
            tex, level = expr[a]
            f[str(k)] = f"\\left({tex}\\right)" if _parenthesised(n.op, k, level, template) else tex
        expr[i] = (fill(template, f), LEVELS.get(n.op, "other"))
    args = ", ".join(default_label(graph.nodes[i].name) for i in graph.inputs)
    return f"f({args}) = {expr[graph.output][0]}"


# characters of f's formula as text (tex_to_text) that fit a 10 pt article's line, measured: sums of products
# overflow from 259 on, nested sines from 372 (fractions stack); a longer formula is stated by its trace
STATEMENT = 220


def statement_tex(graph):
    """The sheet's statement of f: its formula (function_tex), or, where that would run past the line (a long chain
    of nested calls cannot break), f as the output of the evaluation trace whose rules define it."""
    formula = function_tex(graph)
    if len(tex_to_text(formula)) <= STATEMENT:
        return formula
    args = ", ".join(default_label(graph.nodes[i].name) for i in graph.inputs)
    return f"f({args}) = {graph.nodes[graph.output].label}\\text{{, as the rules of the evaluation trace below define it}}"


def _parenthesised(op, k, level, template):
    """Whether argument k of `op`, whose formula binds as `level`, needs parentheses."""
    if level == "atom" or "{{{" + str(k) + "}}}" in template or "({" + str(k) + "})" in template:
        return False  # a name or number, or an argument the template braces or parenthesises itself
    if op == "add" or (op == "sub" and k == 0):
        return False
    if op in ("sub", "neg") or (op == "mul" and k == 1):
        return level in LOOSE
    if op == "mul":
        return level in (*LOOSE, "function")
    if op in ("pow", "powc", "square", "reciprocal"):
        return True
    return level != "tight"


def _point_tex(trace):
    return ", ".join(f"{default_label(k)} = {x:g}" for k, x in trace.inputs.items())


def task(trace, wrt):
    """What to compute, in words (Markdown with $LaTeX$), naming f and ∂f/∂x by the rows of the tables that hold
    them, in the trace's own symbols (v₆, v̄₋₁, v̇₆): the answers file has no row of its own for either."""
    graph = trace.graph
    x, out, i = default_label(wrt), graph.output, graph.inputs[graph.input_names.index(wrt)]
    f = f"$f$ is the value of the output, ${value_sym(graph, out)}$"
    if trace.mode == "forward":
        how = (f"the evaluation trace and, beside it, the tangent trace for the seed ${deriv_sym(graph, i, 'tangent')}"
               f" = 1$ (the tangent of ${x}$; every other input's tangent 0), row by row")
        result = f"{f}, and $\\partial f/\\partial {x}$ is the output's tangent, ${deriv_sym(graph, out, 'tangent')}$"
    else:
        how = ("the evaluation trace (forward pass), then the adjoint trace in reverse evaluation order, one step "
               "per edge as in the lecture: the first contribution to a node assigns its adjoint "
               "($\\bar v_j = \\bar v_i\\, \\partial v_i/\\partial v_j$), each later one adds to it "
               "($\\bar v_j = \\bar v_j + \\bar v_i\\, \\partial v_i/\\partial v_j$)")
        result = (f"{f}, and $\\partial f/\\partial {x}$ is the adjoint of ${x}$, ${deriv_sym(graph, i, 'adjoint')}$ "
                  "after its last step (every input's adjoint is a partial derivative of $f$)")
    return (f"Fill in {how}. Write every number to 4 decimals. The tables hold $f$ and $\\partial f/\\partial {x}$ "
            f"(the answers have no rows of their own for them): {result}.")


def _label(traces, k, bold):
    """'(a) Forward mode. ' (in bold) before each part when there are several, else nothing."""
    return bold(f"({chr(97 + k)}) {traces[k].mode.capitalize()} mode.") + " " if len(traces) > 1 else ""


def _markdown(traces, wrt, title, table):
    """The statement, then for each trace what to compute and its table."""
    first = traces[0]
    head = f"# {title}\n\n$${statement_tex(first.graph)}$$\n\nat ${_point_tex(first)}$.\n\n"
    return head + "\n\n".join(f"{_label(traces, k, lambda x: f'**{x}**')}{task(t, wrt)}\n\n{table(t)}"
                                for k, t in enumerate(traces))


def _latex(traces, wrt, title, what, table, tasks):
    """The same as LaTeX to paste: `what` names it in its first line, `tasks` says whether to state the tasks."""
    first = traces[0]
    head = (f"% graphcomp {what} {title}; needs \\usepackage{{booktabs,amsmath,amssymb}}\n"
            f"\\subsection*{{{text_to_tex(title if what == 'exercise' else f'{title}: answer key')}}}\n"
            f"\\[{statement_tex(first.graph)}\\]\nat ${_point_tex(first)}$.\n\n")
    parts = []
    for k, t in enumerate(traces):
        # the task is Markdown with $LaTeX$ and no other markup: as LaTeX, only its % needs escaping
        said = _label(traces, k, lambda x: f"\\textbf{{{x}}}") + (task(t, wrt).replace("%", "\\%") if tasks else "")
        parts.append((f"{said.rstrip()}\n\n" if said else "") + f"\\medskip\\noindent\n{table(t)}")
    return head + "\n".join(parts)


def _blank(trace, digits, blank):
    """value(key, r, x) of a blank table: an input's value (it is the point), `blank` for every other number."""
    node = trace.graph.node  # a node by its name
    return lambda key, r, x: f"${fmt_number(x, digits)}$" if key == "primal" and node(r.node).kind == INPUT else blank


def blank_markdown(trace, digits=4):
    """The trace tables with blanks for the numbers, in Markdown; a forward trace beside its evaluation trace."""
    return tables.markdown(trace, digits, value=_blank(trace, digits, BLANK_MD), results=False).rstrip("\n")


def blank_latex(trace, digits=4):
    """The trace tables with blanks for the numbers: the evaluation trace on the left and the tangent or adjoint
    trace on the right, row by row, as tables.latex sets the key, with room between the rows to write in."""
    return tables.latex_beside(trace, digits, value=_blank(trace, digits, BLANK_TEX), gap="[2pt]") + "\n"


def blank_csv(trace, digits=4):
    """tables.csv_text with the value column left empty (but for the inputs' values): the file to fill in."""
    inputs = {trace.graph.nodes[i].name for i in trace.graph.inputs}
    rows = list(csv.reader(io.StringIO(tables.csv_text(trace, digits))))
    for row in rows[1:]:
        if not (row[0] == "primal" and row[1] in inputs):
            row[-1] = ""
    return csv_lines(rows)


def sheet_markdown(traces, wrt, title, digits=4):
    """The exercise sheet in Markdown: the function, the point, and for each trace what to compute and the blank
    tables."""
    return _markdown(traces, wrt, title, lambda t: blank_markdown(t, digits))


def sheet_latex(traces, wrt, title, digits=4):
    """The exercise sheet as LaTeX to paste (its first line names the packages it needs)."""
    return _latex(traces, wrt, title, "exercise", lambda t: blank_latex(t, digits), tasks=True)


def key_markdown(traces, wrt, title, digits=4):
    """The answer key in Markdown: the statement and the filled tables (tables.markdown)."""
    return _markdown(traces, wrt, f"{title}: answer key", lambda t: tables.markdown(t, digits))


def key_latex(traces, wrt, title, digits=4):
    """The answer key as LaTeX to paste: the statement and the filled tables (tables.latex)."""
    return _latex(traces, wrt, title, "answer key", lambda t: tables.latex(t, digits), tasks=False)
