"""Formulas as a front-end: "(x1*x2*sin(x3) + exp(x1*x2))/x3" → the same DAG a spec declares.

Parsed with Python's `ast` and a whitelist of operators and functions (never
eval). Repeated subexpressions become one node. Inputs are numbered as in the
slides (v_{-(k-1)} … v_0), intermediates v_1 … v_n in evaluation order (a number an
input's name already takes, as in "v1*sin(x)", is skipped). A formula of several
lines, "u = x1*x2; f1 = sin(u); f2 = u + exp(x3)", keeps the names it assigns and
may have several outputs (see to_spec).
"""
import ast
import itertools
import math
import re
import sys
import threading
from collections import deque

import numpy as np

from graphcomp.core.errors import SpecError, closest
from graphcomp.core.values import as_value, parse_float
from graphcomp.frontends.limits import limit, over
from graphcomp.frontends.spec import from_dict
from graphcomp.ops import REGISTRY

BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul", ast.Pow: "pow"}
FUNCS = {name for name, op in REGISTRY.items() if op.arity == 1 and not op.params}  # every unary op, by name
ALIASES = {"ln": "log", "sigma": "sigmoid"}
ALLOWED = ", ".join(sorted([*FUNCS, *ALIASES]))  # the functions a formula may call, as every message lists them
E = math.e
CONSTANTS = {"e": E, "pi": math.pi}  # names that stand for numbers, not inputs
ORDERS = ("level", "formula")

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def to_spec(expr, at=None, name="formula", order="level", shapes=None, fixed=None):
    """A spec dict (ready for yaml.safe_dump or graphcomp.from_dict) for the formula `expr`.

    A formula is one expression, or several lines (or `;`-separated statements) `name = expression`
    whose names become nodes, kept as written; the last line may be a bare expression, or several
    (`f1, f2`). The outputs are the last line's values when it is a bare expression, else every assigned
    name no other node uses, in the order assigned.

    at: {input: value}, a number or an array (which gives the input its shape); shapes: {input: shape},
    e.g. {"W1": (3, 2)}, for inputs whose values come later (an .npz file); fixed: inputs held fixed as data
    (kind: data), not differentiated. order 'level' numbers intermediates as the textbooks do: an op takes the
    next number as soon as all its arguments have theirs, ops made ready by the same number in the formula's
    left-to-right order; 'formula' numbers them in the formula's post-order."""
    if order not in ORDERS:
        raise SpecError(f"unknown order '{order}'; choose {' or '.join(ORDERS)}", file="--order")
    where = "--expr"
    if not isinstance(expr, str) or not expr.strip():
        raise SpecError("the formula is empty", file=where)
    text = expr.strip()
    tree = _parse(text, where)
    statements = tree.body if isinstance(tree, ast.Module) else [ast.Expr(tree.body)]
    targets = _targets(statements, text, where)
    inputs, nodes, memo = [], [], {}
    names = _fresh_names(set(_IDENTIFIER.findall(text)))  # every word of the text: a superset of its names
    bound = {}  # an assigned name → the node it names (its name until the end)

    def leaf(ident):
        if ident in bound:
            return bound[ident]
        if ident in targets:
            raise SpecError(f"'{ident}' is used before the line that assigns it", file=where)
        if ident in CONSTANTS:
            return CONSTANTS[ident]
        if ident in FUNCS or ident in ALIASES:
            raise SpecError(f"'{ident}' is a function; call it as {ident}(...)", file=where)
        if ident not in inputs:
            inputs.append(ident)
        return ident

    def make(op, args, extra=None):
        key = (op, tuple(args), tuple(sorted((extra or {}).items())))
        if key not in memo:  # a repeated subexpression is one node
            memo[key] = next(names)
            nodes.append({"name": memo[key], "op": op, "inputs": list(args), **(extra or {})})
        return memo[key]

    listed = None
    for stmt in statements:
        if isinstance(stmt, ast.Expr):  # the last line (_targets checked): the outputs, listed
            parts = stmt.value.elts if isinstance(stmt.value, ast.Tuple) else [stmt.value]
            listed = [_computed(_walk(p, text, where, leaf, make), inputs, where) for p in parts]
            continue
        target = stmt.targets[0].id
        node = _computed(_walk(stmt.value, text, where, leaf, make), inputs, where, target)
        other = next((k for k, v in bound.items() if v == node), None)
        if other is not None:
            raise SpecError(f"'{target}' computes what '{other}' does (the same node); use {other}", file=where)
        bound[target] = node
    kept = {v: k for k, v in bound.items()}  # the names written in the formula, for their nodes
    if listed is None:
        used = {a for n in nodes for a in n["inputs"] if isinstance(a, str)}
        listed = [v for v in bound.values() if v not in used]
    _check_names(at, shapes, fixed, inputs, where)
    numbering = _by_level(nodes) if order == "level" else range(len(nodes))
    nodes, rename = _renumber(nodes, numbering, kept, set(inputs) | set(targets))
    outputs = [rename[o] for o in listed]
    return {"name": name, "description": text, "inputs": _spec_inputs(inputs, at, shapes, fixed, where),
            "nodes": nodes, **({"output": outputs[0]} if len(outputs) == 1 else {"outputs": outputs})}


def _targets(statements, text, where):
    """The names a formula's lines assign (each once), after checking each line is `name = expression` or,
    the last only, bare expressions."""
    if not statements:
        raise SpecError("the formula is empty", file=where)
    targets = set()
    for k, stmt in enumerate(statements):
        line = f" in '{_shown(ast.get_source_segment(text, stmt) or '')}'" if len(statements) > 1 else ""
        if isinstance(stmt, ast.Expr):
            if k < len(statements) - 1:
                raise SpecError(f"a bare expression{line} may only be the last line; name it (u = ...)", file=where)
            continue
        if not isinstance(stmt, ast.Assign):
            raise SpecError(f"'{type(stmt).__name__}'{line} is not allowed in a formula (lines are name = expression)",
                            file=where)
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            raise SpecError(f"an assignment{line} must give one name (u = ...)", file=where)
        target = stmt.targets[0].id
        if target in CONSTANTS or target in FUNCS or target in ALIASES:
            what = "a constant" if target in CONSTANTS else "a function"
            raise SpecError(f"'{target}' is {what}; it cannot be assigned{line}", file=where)
        if target in targets:
            raise SpecError(f"'{target}' is assigned twice{line}; each name is one node", file=where)
        targets.add(target)
    return targets


def _computed(out, inputs, where, target=None):
    """`out`, the node a line computes; a bare input or number is a SpecError."""
    if isinstance(out, str) and out not in inputs:
        return out
    if target is None:
        raise SpecError("the formula must compute something from its inputs (not a bare input or number)", file=where)
    raise SpecError(f"'{target} = ...' must compute something from the inputs (not a bare input or number)",
                    file=where)


def _walk(tree, text, where, leaf, make):
    """The node (or number) an expression computes, built bottom up: an iterative post-order walk, (node,
    visited) pairs on an explicit stack."""
    stack, results = [(tree, False)], []
    while stack:
        node, visited = stack.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            results.append(_float(node, text, where))
            continue
        if isinstance(node, ast.Name):
            results.append(leaf(node.id))  # an input, an assigned name's node, or the number e or pi stands for
            continue
        children = _children(node, where)
        if not visited:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children))
            continue
        args = results[len(results) - len(children):]
        del results[len(results) - len(children):]
        results.append(_build(node, args, make, where))
    return results.pop()


def _check_names(at, shapes, fixed, inputs, where):
    for what, names in (("--at names", at), ("shapes are given for", shapes), ("--fixed names", fixed)):
        unknown = set(names or ()) - set(inputs)
        if unknown:
            raise SpecError(f"{what} {', '.join(sorted(unknown))}, which the formula does not use; "
                            f"its inputs: {', '.join(inputs)}", file=where)


def _spec_inputs(inputs, at, shapes, fixed, where):
    """The spec's inputs: labelled v_{1-k} … v_0 on a scalar formula (a tensor one keeps the names), with the
    values of `at`, the shapes of `shapes` and kind data for the `fixed` ones."""
    values = {k: as_value(x, file=where, node=k, key="at") for k, x in (at or {}).items()}
    shapes = {k: [s] if isinstance(s, int) else s for k, s in (shapes or {}).items()}
    for k, s in shapes.items():
        if not isinstance(s, (list, tuple)):
            raise SpecError(f"a shape is a tuple of sizes, e.g. (3, 2), not {s!r}", file=where, node=k, key="shape")
    tensor = any(shapes.values()) or any(np.ndim(x) for x in values.values())
    fixed, out = set(fixed or ()), []
    for j, ident in enumerate(inputs):
        entry = {"name": ident} if tensor else {"name": ident, "label": f"v_{{{j - len(inputs) + 1}}}"}
        if ident in shapes:
            entry["shape"] = list(shapes[ident])
        if ident in values:
            entry["value"] = values[ident] if np.ndim(values[ident]) == 0 else values[ident].tolist()
        if ident in fixed:
            entry["kind"] = "data"
        out.append(entry)
    return out


def _by_level(nodes):
    """The positions of the nodes in the textbooks' order (see to_spec): a queue, first in first out."""
    position = {n["name"]: k for k, n in enumerate(nodes)}
    users = [[] for _ in nodes]
    waiting = []
    for k, n in enumerate(nodes):
        args = [position[a] for a in n["inputs"] if isinstance(a, str) and a in position]
        waiting.append(len(set(args)))
        for a in set(args):
            users[a].append(k)  # in post-order: left to right
    queue = deque(k for k in range(len(nodes)) if waiting[k] == 0)
    order = []
    while queue:
        k = queue.popleft()
        order.append(k)
        for u in users[k]:
            waiting[u] -= 1
            if waiting[u] == 0:
                queue.append(u)
    return order


def _renumber(nodes, order, kept, taken):
    """The nodes in `order`, named v1, v2, … (skipping the names in `taken`) but those the formula names (`kept`:
    node → its name); and the renaming {old name: new name}."""
    names = _fresh_names(taken)
    rename = {nodes[k]["name"]: kept.get(nodes[k]["name"]) or next(names) for k in order}
    renamed = [{**nodes[k], "name": rename[nodes[k]["name"]],
                "inputs": [rename.get(a, a) if isinstance(a, str) else a for a in nodes[k]["inputs"]]} for k in order]
    return renamed, rename


def _parse(text, where):
    """The ast of a formula, or a one-line SpecError that says where its syntax breaks.

    Python builds the tree of a+b+c+… recursively, one level a term (about 2 500 levels by default), so a
    formula it cannot parse at the usual depth is parsed again on a thread with a big stack and the
    recursion limit raised to its length (process-wide, for that moment only: most formulas never need it).
    """
    if len(text) > limit("GRAPHCOMP_MAX_FORMULA_CHARS"):
        raise over("GRAPHCOMP_MAX_FORMULA_CHARS", len(text), file=where)
    tree = _ast_or_error(text + "\n")  # the newline makes CPython give the real column of an error at the end
    if isinstance(tree, RecursionError):
        tree = _deep(text + "\n")
    if isinstance(tree, SyntaxError):
        bare = _BARE_CALL.search(text)  # sin x3: Python's message points at the bracket around it, not at sin
        if bare:
            raise SpecError(f"not a formula: '{bare[0]}' at column {bare.start() + 1}: a function's argument goes in "
                            f"brackets, {bare[1]}({bare[2]})", file=where)
        raise SpecError(f"not a formula: {tree.msg}{_position(tree, text)}", file=where)
    if isinstance(tree, (RecursionError, MemoryError)):
        raise SpecError("the formula is too deeply nested or too long for Python's parser; "
                        "split it up, or write it as a YAML spec", file=where)
    return tree


_STACK = 2**29  # bytes of stack for the parser's thread: enough for 10⁶ terms (virtual memory, touched as used)


def _deep(text):
    """_ast_or_error on a thread with a big stack and the recursion limit raised to the text's length."""
    done = []
    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size(_STACK)
    sys.setrecursionlimit(max(old_limit, 2 * len(text) + 1000))  # a term is at least two characters: "+x"
    try:
        parser = threading.Thread(target=lambda: done.append(_ast_or_error(text)), daemon=True)
        parser.start()
        parser.join()
    finally:
        sys.setrecursionlimit(old_limit)
        threading.stack_size(old_stack)
    return done[0]


def _ast_or_error(text):
    """An ast.Expression, or an ast.Module for a formula of several lines or statements, or the exception (of
    the two modes' syntax errors, the one further into the text)."""
    errors = []
    for mode in ("eval", "exec"):
        try:
            return ast.parse(text, mode=mode)
        except (RecursionError, MemoryError) as exc:
            return exc
        except SyntaxError as exc:
            errors.append(exc)
    return max(errors, key=lambda exc: (exc.lineno or 0, exc.offset or 0))  # on a tie, eval's


_BARE_CALL = re.compile(r"\b(" + "|".join(sorted([*FUNCS, *ALIASES], key=len, reverse=True)) + r")\s+([A-Za-z_]\w*|\d[\d.]*)")


def _position(exc, text):
    if not exc.offset:
        return ""
    lines = text.split("\n")
    line = lines[exc.lineno - 1] if exc.lineno and exc.lineno <= len(lines) else ""
    at = " at the end" if exc.offset > len(line) else ""
    row = f"line {exc.lineno}, " if len(lines) > 1 else ""
    return f"{at} ({row}column {exc.offset})"


def _float(node, text, where):
    """The number of an ast.Constant as a float; one out of float range (10**400, 1e400) is a SpecError."""
    try:
        value = float(node.value)
    except OverflowError:
        value = math.inf
    source = ast.get_source_segment(text, node) or str(node.value)
    if not math.isfinite(value):
        raise SpecError(f"the number {_shown(source)} is out of the range of a float (about ±1.8e308)", file=where)
    try:
        return parse_float(source.replace("_", "")) if value == 0.0 and isinstance(node.value, float) else value
    except ValueError as exc:  # 1e-400: float reads it as 0
        raise SpecError(f"the number {exc}", file=where) from None


def _shown(source):
    """A piece of the formula as an error message quotes it: whole up to 20 characters, else its start."""
    return source if len(source) <= 20 else f"{source[:12]}... ({len(source)} characters)"


def _fresh_names(taken):
    """v1, v2, ... skipping the names in `taken`: the formula's own (students call inputs v1 too)."""
    return (f"v{k}" for k in itertools.count(1) if f"v{k}" not in taken)


def _children(node, where):
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return [node.operand]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fname = ALIASES.get(node.func.id, node.func.id)
        if fname not in FUNCS:
            close = closest(node.func.id, [*FUNCS, *ALIASES])
            raise SpecError(f"unknown function '{node.func.id}'" + (f" (did you mean '{close}'?)" if close else "")
                            + f"; allowed: {ALLOWED}", file=where)
        if len(node.args) != 1:
            raise SpecError(f"{node.func.id}() takes one argument, got {len(node.args)}", file=where)
        return list(node.args)
    if isinstance(node, ast.Call):
        raise SpecError(f"this call is not allowed; only {ALLOWED} may be called, with one argument",
                        file=where)
    what = type(node.op).__name__ if isinstance(node, (ast.BinOp, ast.UnaryOp)) else type(node).__name__
    raise SpecError(f"{_SHOWN.get(what, repr(what))} is not allowed in a formula (use + - * / ** @, numbers, names "
                    f"and {ALLOWED})", file=where)


# what a student typed, for the Python syntax a formula does not take (ast's names otherwise)
_SHOWN = {"BitXor": "'^' (a power is **)", "Mod": "'%'", "FloorDiv": "'//'", "BitAnd": "'&'", "BitOr": "'|'",
          "LShift": "'<<'", "RShift": "'>>'", "Invert": "'~'", "Not": "'not'", "Compare": "a comparison",
          "BoolOp": "'and'/'or'", "Attribute": "attribute access (a.b)", "Subscript": "indexing (a[i])",
          "Lambda": "'lambda'", "IfExp": "'if … else'", "ListComp": "a comprehension", "GeneratorExp": "a comprehension",
          "SetComp": "a comprehension", "DictComp": "a comprehension", "List": "a list", "Tuple": "a tuple",
          "Dict": "a dict", "Set": "a set", "JoinedStr": "an f-string", "Starred": "'*'", "NamedExpr": "':='",
          "Constant": "a constant that is not a number (a string, None, True)"}


def _build(node, args, make, where):
    if isinstance(node, ast.UnaryOp):
        (a,) = args
        if isinstance(node.op, ast.UAdd):
            return a
        return -a if isinstance(a, float) else make("neg", [a])
    if isinstance(node, ast.Call):
        (a,) = args
        if isinstance(a, float):
            raise SpecError(f"{node.func.id}() of a constant: write the number instead", file=where)
        return make(ALIASES.get(node.func.id, node.func.id), [a])
    a, b = args
    op = BINOPS[type(node.op)]
    if isinstance(a, float) and isinstance(b, float):
        raise SpecError("an operation on two constants: write the number instead", file=where)
    if op == "pow" and a == E and not isinstance(b, float):
        return make("exp", [b])  # e**x is exp(x), as the lecture writes it
    if op == "pow" and isinstance(b, float):
        return make("square", [a]) if b == 2.0 else make("powc", [a], {"p": b})
    return make(op, [a, b])


def parse(expr, at=None, name="formula", order="level", shapes=None, fixed=None):
    """Build a Graph from a formula (see to_spec): `at` gives input values (numbers or arrays), `shapes` input
    shapes ({"W1": (3, 2)}), `fixed` the inputs held fixed as data, `order` the numbering."""
    spec = to_spec(expr, at, name, order, shapes, fixed)
    try:
        return from_dict(spec, file="--expr")
    except SpecError as exc:
        if exc.key != "inputs" or any("shape" in e or np.ndim(e.get("value", 0.0)) for e in spec["inputs"]):
            raise
        raise SpecError(f"{exc.message}; the formula's inputs are all scalars: give their shapes (--shape W1=3x2,x=2 "
                        "or arrays in --data; shapes= or arrays in at= in Python)", file=exc.file, node=exc.node,
                        key=exc.key) from None
