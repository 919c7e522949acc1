"""Formulas as a front-end: "(x1*x2*sin(x3) + exp(x1*x2))/x3" → the same DAG a spec declares.

Parsed with Python's `ast` and a whitelist of operators and functions (never
eval). Repeated subexpressions become one node. Inputs are numbered as in the
slides (v_{-(k-1)} … v_0), intermediates v_1 … v_n in evaluation order (a number an
input's name already takes, as in "v1*sin(x)", is skipped).
"""
import ast
import math
import sys
import threading
from collections import deque

from graphcomp.core.errors import SpecError
from graphcomp.frontends.limits import limit, over
from graphcomp.frontends.spec import from_dict
from graphcomp.ops import REGISTRY

BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul", ast.Pow: "pow"}
FUNCS = {name for name, op in REGISTRY.items() if op.arity == 1 and not op.params}  # every unary op, by name
ALIASES = {"ln": "log", "sigma": "sigmoid"}
E = math.e
CONSTANTS = {"e": E, "pi": math.pi}  # names that stand for numbers, not inputs


ORDERS = ("level", "formula")


def to_spec(expr, at=None, name="formula", order="level"):
    """A spec dict (ready for yaml.safe_dump or graphcomp.from_dict) for the formula `expr`.

    order 'level' numbers intermediates as the textbooks do: an op takes the next number as soon as all
    its arguments have theirs, ops made ready by the same number in the formula's left-to-right order;
    'formula' numbers them in the formula's post-order."""
    if order not in ORDERS:
        raise SpecError(f"unknown order '{order}'; choose {' or '.join(ORDERS)}", file="--order")
    where = "--expr"
    if not isinstance(expr, str) or not expr.strip():
        raise SpecError("the formula is empty", file=where)
    text = expr.strip()
    tree = _parse(text, where)
    inputs, nodes, memo = [], [], {}
    names = _fresh_names({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})

    def leaf_input(ident):
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

    # iterative post-order walk: (node, visited) pairs on an explicit stack
    stack, results = [(tree.body, False)], []
    while stack:
        node, visited = stack.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            results.append(_float(node, text, where))
            continue
        if isinstance(node, ast.Name):
            results.append(leaf_input(node.id))  # a name, or the number e or pi stands for
            continue
        children = _children(node, where)
        if not visited:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children))
            continue
        args = results[len(results) - len(children):]
        del results[len(results) - len(children):]
        results.append(_build(node, args, make, where))
    out = results.pop()
    if not isinstance(out, str) or out in inputs:
        raise SpecError("the formula must compute something from its inputs (not a bare input or number)", file=where)
    at = at or {}
    unknown = set(at) - set(inputs)
    if unknown:
        raise SpecError(f"--at names {', '.join(sorted(unknown))}, which the formula does not use; "
                        f"its inputs: {', '.join(inputs)}", file=where)
    if order == "level":
        nodes, out = _by_level(nodes, out, inputs)
    k = len(inputs)
    spec_inputs = []
    for j, ident in enumerate(inputs):
        entry = {"name": ident, "label": f"v_{{{j - k + 1}}}"}
        if ident in at:
            entry["value"] = float(at[ident])
        spec_inputs.append(entry)
    return {"name": name, "description": text, "inputs": spec_inputs, "nodes": nodes, "output": out}


def _by_level(nodes, out, inputs):
    """The nodes renumbered v1, v2, … in the textbooks' order (see to_spec): a queue, first in first out."""
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
    names = _fresh_names(set(inputs))
    rename = {nodes[k]["name"]: next(names) for k in order}
    renamed = [{**nodes[k], "name": rename[nodes[k]["name"]],
                "inputs": [rename.get(a, a) if isinstance(a, str) else a for a in nodes[k]["inputs"]]} for k in order]
    return renamed, rename[out]


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
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        return exc


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
    if math.isfinite(value):
        return value
    literal = ast.get_source_segment(text, node) or str(node.value)
    shown = literal if len(literal) <= 20 else f"{literal[:12]}... ({len(literal)} characters)"
    raise SpecError(f"the number {shown} is out of the range of a float (about ±1.8e308)", file=where)


def _fresh_names(taken):
    """v1, v2, ... skipping the names the formula uses for its inputs (students call inputs v1 too)."""
    k = 0
    while True:
        k += 1
        if f"v{k}" not in taken:
            yield f"v{k}"


def _children(node, where):
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return [node.operand]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fname = ALIASES.get(node.func.id, node.func.id)
        if fname not in FUNCS:
            raise SpecError(f"unknown function '{node.func.id}'; allowed: {', '.join(sorted(FUNCS))}", file=where)
        if len(node.args) != 1:
            raise SpecError(f"{node.func.id}() takes one argument, got {len(node.args)}", file=where)
        return list(node.args)
    if isinstance(node, ast.Call):
        raise SpecError(f"this call is not allowed; only {', '.join(sorted(FUNCS))} may be called, with one argument",
                        file=where)
    what = type(node.op).__name__ if isinstance(node, (ast.BinOp, ast.UnaryOp)) else type(node).__name__
    raise SpecError(f"'{what}' is not allowed in a formula (use + - * / ** @, numbers, names and "
                    f"{', '.join(sorted(FUNCS))})", file=where)


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


def parse(expr, at=None, name="formula", order="level"):
    """Build a Graph from a formula; `at` gives input values, `order` the numbering (see to_spec)."""
    return from_dict(to_spec(expr, at, name, order), file="--expr")
