"""The op registry: every derivative rule of graphcomp, as data.

Each op is one frozen record: its forward function, its tangent rule (JVP), its
adjoint rule (VJP), its shape rule and how it prints in LaTeX (the text renderer
turns the LaTeX into Unicode). Rules take the math kit `m` first, so the same
rule runs on Python floats (`math`), numpy arrays, or dual numbers (forward over
reverse). Elementwise ops are given by their local partial derivatives; the JVP
and VJP follow from those.

Template placeholders: {0}, {1} the arguments' values, {y} the result's value,
{g} the result's adjoint, {t0}, {t1} the arguments' tangents, {p} a constant
parameter ({pm1} is p − 1, {pc} is p as a factor, in parentheses when negative); `{0:^{p}}`
is argument 0 to the power p, written without the exponent when it is 1. Adjoint
templates give the contribution to one argument's adjoint.
"""
import re
from dataclasses import dataclass
from typing import Callable

from graphcomp.core.errors import SpecError, closest
from graphcomp.core.labels import fmt_shape


@dataclass(frozen=True)
class Op:
    """One primitive: forward, JVP, VJP, shape rule and LaTeX forms."""

    name: str
    arity: int
    fwd: Callable  # fwd(m, *args, **params) -> value
    jvp: Callable  # jvp(m, y, *args, *tangents, **params) -> tangent of y
    vjp: Callable  # vjp(m, g, y, *args, **params) -> tuple: one adjoint contribution per arg
    tex: str  # definition, e.g. "{0} {1}"
    jvp_tex: Callable  # jvp_tex(shapes) -> one tangent term per arg: ("{t0} {1}", "{0} {t1}")
    vjp_tex: Callable  # vjp_tex(shapes) -> ("{g} {1}", "{g} {0}")
    shape: Callable  # shape(*arg_shapes, **params) -> result shape; raises ValueError(msg)
    params: tuple = ()  # names of constant parameters given in the spec
    domain: str = ""  # what a value outside the op's domain means
    elementwise: bool = False  # arguments broadcast against each other
    doc: str = ""
    partials: Callable | None = None  # partials(m, y, *args, **params) -> one ∂y/∂arg each (elementwise ops)
    partials_tex: tuple | None = None  # each partial in LaTeX: ("{1}", "{0}") for mul
    # for each argument, its gradient (column form) as a product of LaTeX factors, {g} the result's gradient:
    # matmul's (("{g}", "({1})^\\top"), ("({0})^\\top", "{g}")); elementwise ops need none (partial ⊙ g)
    grad_tex: Callable | None = None  # grad_tex(shapes) -> one tuple of factors per argument, or None
    on_floats: Callable | None = None  # the forward function as a C builtin, for Python floats (no frame per call)
    # the VJP one argument at a time, vjp_args[k](m, g, y, *args, **params) -> argument k's contribution (vjp is
    # their tuple), so that a reverse sweep skips an argument that needs no adjoint: data A in A x (matmul)
    vjp_args: tuple | None = None
    # the JVP one argument at a time, jvp_args[k](m, y, *args, t_k, **params) -> argument k's term of the tangent (jvp
    # is their sum), so that a forward sweep skips an argument whose tangent is 0: data A in A x
    jvp_args: tuple | None = None
    # finite arguments give a finite value, and a finite adjoint finite contributions (every local partial is at
    # most 1 in size): the tensor sweeps need not search such a node for inf and nan (its arguments are searched)
    keeps_finite: bool = False
    # an inf or nan in any argument leaves one in the value (inf · 0 and inf − inf are nan): checking the value is
    # checking its arguments too (relu and exp are not so: relu(−inf) = exp(−inf) = 0)
    propagates: bool = False
    # on array kits the JVP and VJP, one kit call each, beat the local partial times the tangent or adjoint: relu's
    # m.mask(g, a) is one pass where g · step(a) takes three
    fused: bool = False
    tensor_tex: str | None = None  # the definition when every argument is a tensor, if not `tex`: mul's {0} \odot {1}
    # the definition when argument 1 is a number constant, if not `tex`: mul's {0} \cdot {1} (x_{1} 2 reads badly)
    number_tex: str | None = None


REGISTRY: dict[str, Op] = {}


def register(op):
    """Add an op to the registry; a name clash is a programming error and fails at import."""
    if op.name in REGISTRY:
        raise ValueError(f"op '{op.name}' registered twice")
    REGISTRY[op.name] = op
    return op


def get(name, *, file=None, node=None):
    """The registered op called `name`, or a SpecError naming the node and suggesting a close name."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        close = closest(name, REGISTRY)
        hint = f" (did you mean '{close}'?)" if close else f"; known ops: {', '.join(sorted(REGISTRY))}"
        raise SpecError(f"unknown op '{name}'{hint}", file=file, node=node, key="op") from None


# ---- shape rules -------------------------------------------------------------------------------


def _broadcast(*shapes):
    out = []
    for dims in zip(*(((1,) * (max(map(len, shapes)) - len(s)) + tuple(s)) for s in shapes)):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {' and '.join(fmt_shape(s) for s in shapes)} do not match elementwise")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _same(s, **_):
    return tuple(s)


# ---- building blocks for rules ---------------------------------------------------------------------


def elementwise(name, arity, fwd, partials, tex, partials_tex, *, domain="", params=(), doc="", on_floats=None,
                keeps_finite=False, propagates=False, times_partial=None, tensor_tex=None, number_tex=None,
                one_sided=False):
    """An elementwise op from its forward function and its local partial derivatives.

    `partials(m, y, *args, **params)` returns one ∂y/∂arg per argument; the JVP is
    their sum weighted by the tangents, the VJP multiplies each by the adjoint.
    `partials_tex` gives each partial in LaTeX; `keeps_finite`, `propagates`, `tensor_tex` and `number_tex` are Op's.
    A binary op whose `partials` is a tuple of one function per argument, `one_sided`, also gets Op.jvp_args and
    Op.vjp_args from them, so that a sweep computes only the partial it needs (pow's y ln x is undefined for x < 0,
    where ∂/∂x = y x^(y−1) is not: along x alone, or with y data, it is not computed).
    A unary op may give `times_partial(m, g, y, a)`, g · ∂y/∂a in one kit call, for its JVP and VJP (Op.fused).
    """
    sides = None
    if one_sided:
        sides = partials

        def partials(m, y, a, b, **p):
            return sides[0](m, y, a, b, **p), sides[1](m, y, a, b, **p)

    if times_partial is not None:

        def jvp(m, y, a, ta, **p):
            return times_partial(m, ta, y, a, **p)

        def vjp(m, g, y, a, **p):
            return (times_partial(m, g, y, a, **p),)

    elif arity == 1:

        def jvp(m, y, a, ta, **p):
            return partials(m, y, a, **p)[0] * ta

        def vjp(m, g, y, a, **p):
            return (g * partials(m, y, a, **p)[0],)

    else:

        def jvp(m, y, a, b, ta, tb, **p):
            da, db = partials(m, y, a, b, **p)
            return da * ta + db * tb

        def vjp(m, g, y, a, b, **p):
            da, db = partials(m, y, a, b, **p)
            return g * da, g * db

    def jvp_tex(shapes):
        return tuple(_times(f"{{t{k}}}", pt, shapes) for k, pt in enumerate(partials_tex))

    def vjp_tex(shapes):
        return tuple(_contribution(pt, shapes, k) for k, pt in enumerate(partials_tex))

    shape = _same if arity == 1 else (lambda a, b, **_: _broadcast(a, b))
    return register(
        Op(name, arity, fwd, jvp, vjp, tex, jvp_tex, vjp_tex, shape, params, domain, True, doc, partials,
           partials_tex=tuple(partials_tex), on_floats=on_floats, keeps_finite=keeps_finite, propagates=propagates,
           fused=times_partial is not None, tensor_tex=tensor_tex, number_tex=number_tex,
           jvp_args=sides and tuple(_term(side) for side in sides),
           vjp_args=sides and tuple(_contribution_of(side) for side in sides))
    )


def _term(side):
    """An argument's tangent term, its local partial times its tangent (Op.jvp_args)."""
    return lambda m, y, a, b, t, **p: side(m, y, a, b, **p) * t


def _contribution_of(side):
    """An argument's adjoint contribution, ȳ times its local partial (Op.vjp_args)."""
    return lambda m, g, y, a, b, **p: g * side(m, y, a, b, **p)


def _times(sym, partial, shapes):
    """`sym · partial` in LaTeX, dropping a factor 1 and using ⊙ for arrays."""
    if partial == "1":
        return sym
    if partial == "-1":
        return "-" + sym
    tensor = any(len(s) for s in shapes)
    return f"{sym} \\odot {partial}" if tensor else f"{sym} \\cdot {partial}"


def partial_shape(template, shapes):
    """The shape of a local partial written `template` for arguments of `shapes`: the broadcast of the fields it
    names ({0}, {1}, {y}: 1/{1} has argument 1's shape, 1 none)."""
    named = [s for k, s in enumerate(shapes) if f"{{{k}}}" in template]
    named += [_broadcast(*shapes)] if "{y}" in template else []
    return _broadcast(*named) if named else ()


def _grouped(pt):
    """A partial as one factor: in parentheses unless it is one already (a field, a bracket, 𝟙[…])."""
    return pt if re.fullmatch(r"\{\w+\}|\(.*\)|\\mathbf.*", pt) else f"({pt})"


def _contribution(pt, shapes, k):
    """An elementwise op's adjoint contribution to argument k, ȳ times the partial `pt`, in the problem set's .d: a
    vector's adjoint is a row, so a vector partial is transposed; a number partial is a factor (·), a tensor one
    entrywise (⊙); a number argument broadcast over a tensor sums its contributions (ȳ x of a row and a column)."""
    out, tensor = _broadcast(*shapes), bool(partial_shape(pt, shapes))
    if shapes[k] or not out:  # the argument has the result's shape
        if len(out) == 1 and tensor:
            pt = f"({pt})^\\top" if re.fullmatch(r"\{\w+\}", pt) else f"{_grouped(pt)}^\\top"  # (x.v)ᵀ, not x.vᵀ
        return _times("{g}", pt, shapes if tensor else [()])
    if len(out) == 1:  # a row times a column: the sum of the entrywise products
        ones = "{g} \\mathbf{{1}}"
        return ("-" + ones if pt == "-1" else ones) if pt.lstrip("-") == "1" else (
            f"{{g}} {_grouped(pt)}" if tensor else f"{ones} \\cdot {pt}")
    term = _times("{g}", pt, shapes if tensor else [()])
    return "-\\textstyle\\sum {g}" if term == "-{g}" else f"\\textstyle\\sum {term}" if term == "{g}" else (
        f"\\textstyle\\sum ({term})")
