"""Scalar graphs compiled to straight-line Python: both sweeps unrolled, one line per step.

The interpreted sweeps (graphcomp.engine.sweeps) pay a loop iteration and a call per step.
Here the same steps become one Python function, with every value and adjoint a local
variable, which runs several times faster; `Graph.trace(jit=True)` uses it.

The op rules are not restated. Each rule is run once on `SymbolKit`, a math kit
whose values are Python expressions: `mul`'s partials (b, a) called on the names
v3, v4 give the text "v4", "v3". So the forward line of every step and the local
partials of its adjoint lines come from the registry itself, and compute exactly
what the float sweeps compute, in the same order. (One difference no one sees: the
interpreter starts an adjoint at 0.0 and adds, so where a first contribution is -0.0
it keeps 0.0; both compare equal and print alike.)

The source holds only what this module writes: the rules' expressions, local
names v<i> and d<i> (node positions) and float literals. No name, formula or
other text from a spec enters it, so compiling it cannot run user input.
"""
import keyword
import math
import re

from graphcomp.core.errors import GraphcompError
from graphcomp.core.nodes import no_gc
from graphcomp.engine.plan import local_partials
from graphcomp.ops.kits import MATH, FloatKit

_NAME = re.compile(r"v\d+")  # a partial that is a node's value: evaluating it alone cannot fail
MAX_STEPS = 200_000  # compiling 2·10⁵ steps takes ~10 s and ~3 GB; beyond, the interpreter is the better deal


def _infix(symbol):
    """A binary operator and its reflected form, writing `(left symbol right)`."""
    return (lambda s, o: Sym(f"({s.src} {symbol} {_src(o)})"),
            lambda s, o: Sym(f"({_src(o)} {symbol} {s.src})"))


class Sym:
    """A Python expression standing for a float while a rule is traced."""

    __slots__ = ("src",)

    def __init__(self, src):
        self.src = src

    __add__, __radd__ = _infix("+")
    __sub__, __rsub__ = _infix("-")
    __mul__, __rmul__ = _infix("*")
    __truediv__, __rtruediv__ = _infix("/")
    __pow__, __rpow__ = _infix("**")

    def __neg__(self):
        return Sym(f"(-{self.src})")


def _src(x):
    """The source text of a traced value or a constant (finite floats print exactly, as their repr)."""
    if isinstance(x, Sym):
        return x.src
    x = float(x)
    return f"({x!r})" if math.isfinite(x) else f"float('{x}')"


def _call(name):
    return lambda *args: Sym(f"{name}({', '.join(map(_src, args))})")


_INLINE = {  # written into the code instead of called: no call per step (FloatKit's relu and step, 0 at 0)
    "relu": lambda a: Sym(f"({a.src} if {a.src} > 0.0 else 0.0)"),
    "step": lambda a: Sym(f"(1.0 if {a.src} > 0.0 else 0.0)"),
}
# what the generated code calls: FloatKit's own functions, so both paths compute the same
NAMESPACE = {name: getattr(FloatKit, name) for name in MATH if name not in _INLINE}


class SymbolKit(FloatKit):
    """The float kit's math functions as expression builders (see FloatKit for what each computes); its
    structural functions (total, ones_like, …), which compute nothing on floats, are FloatKit's own."""


for _name in MATH:
    setattr(SymbolKit, _name, staticmethod(_INLINE.get(_name) or _call(_name)))


def source(graph, plan_):
    """The Python source of `sweep(v, reverse, seed)` for a scalar graph's float plan.

    v holds the inputs' values by node position; the function returns
    (every node's value, every node's adjoint or None when `reverse` is false), with
    0.0 as the adjoint of nodes that need none (the sweeps set those to None).
    """
    n, out = plan_.n, graph.output
    lines = ["def sweep(v, reverse, seed):"]
    lines += [f"    v{i} = v[{i}]" for i in sorted(graph.inputs)]
    lines += [f"    v{i} = {_src(x)}" for i, x in plan_.consts]
    for i, _, a, b, op, params in plan_.steps:
        args = [Sym(f"v{a}")] + ([Sym(f"v{b}")] if b >= 0 else [])
        lines.append(f"    v{i} = {_src(op.fwd(SymbolKit, *args, **params))}")
    values = f"[{', '.join(f'v{i}' for i in range(n))}]"
    lines += ["    if not reverse:", f"        return {values}, None", f"    d{out} = seed"]
    assigned = {out}
    for i, _, a, b, op, params in reversed(plan_.steps):
        if i not in assigned:
            continue  # not on a path to the output (or data): its adjoint is 0 and adds nothing
        args = [Sym(f"v{a}")] + ([Sym(f"v{b}")] if b >= 0 else [])
        partials = local_partials(op, SymbolKit, params)(Sym(f"v{i}"), *args)
        for j, partial in zip((a, b), partials):
            if not plan_.active[j]:
                if isinstance(partial, Sym) and not _NAME.fullmatch(partial.src):
                    lines.append(f"    {partial.src}")  # evaluated as the interpreter does: a domain error raises alike
                continue
            term = f"d{i}" if partial == 1.0 else f"-d{i}" if partial == -1.0 else f"d{i} * {_src(partial)}"
            lines.append(f"    d{j} = d{j} + {term}" if j in assigned else f"    d{j} = {term}")
            assigned.add(j)
    adjoints = ", ".join(f"d{i}" if i in assigned else "0.0" for i in range(n))
    lines.append(f"    return {values}, [{adjoints}]")
    return "\n".join(lines) + "\n"


def listing(graph, plan_):
    """`source` for reading (`graphcomp code`): each node's value under its own name, its adjoint as name_bar.

    Constants are c1, c2, … Never compiled. Where a name would clash (with another, with a function the code
    calls, or with a Python keyword), the listing keeps the numbered v<i>, d<i> throughout; a graph of several
    outputs gets a first line saying which one the adjoint program is of."""
    src = source(graph, plan_)
    consts = {i: f"c{k}" for k, (i, _) in enumerate(plan_.consts, 1)}  # a constant's own name is internal
    value = {i: consts.get(i, n.name) for i, n in enumerate(graph.nodes)}
    shown = [*value.values(), *(f"{x}_bar" for x in value.values())]
    if not (len(set(shown)) < len(shown) or set(shown) & {*NAMESPACE, "v", "reverse", "seed", "sweep"} or any(
            map(keyword.iskeyword, shown))):  # `lambda = v[0]` would not be Python
        src = re.sub(r"\b([vd])(\d+)\b", lambda m: value[int(m.group(2))] + ("_bar" if m.group(1) == "d" else ""),
                     src)
    if len(graph.outputs) > 1:  # one adjoint program is of one output; say which (after the renaming: d0 is a name)
        src = (f"# the adjoint program is of the first output, {graph.output_names[0]} (seed = ∂f/∂"
               f"{graph.output_names[0]}); `trace --mode reverse` gives each output's adjoints\n") + src
    return src


def compiled(graph, plan_):
    """The graph's compiled `sweep` function, built on first use and kept with the plan."""
    if len(plan_.steps) > MAX_STEPS:
        raise GraphcompError(f"jit compiles graphs of up to {MAX_STEPS:,} steps; this one has {len(plan_.steps):,} "
                             f"(Python's compiler needs ~50 µs and ~13 kB per step): trace it without jit",
                             file=graph.file)
    if plan_.compiled is None:
        with no_gc():
            code = compile(source(graph, plan_), "<graphcomp jit>", "exec")
            namespace = dict(NAMESPACE)
            exec(code, namespace)  # the source holds no user text (see the module docstring)
            plan_.compiled = namespace["sweep"]
    return plan_.compiled


def run(graph, plan_, inputs, reverse, seed=1.0):
    """(values, adjoints) by the compiled sweep, or None if a step raised (the interpreter then names the node)."""
    sweep = compiled(graph, plan_)
    v = [None] * plan_.n
    for i, x in inputs.items():
        v[i] = x
    try:
        return sweep(v, reverse, seed)
    except (ArithmeticError, ValueError):
        return None

