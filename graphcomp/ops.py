"""The op registry: every derivative rule of graphcomp, as data.

Each op is one frozen record: its forward function, its tangent rule (JVP), its
adjoint rule (VJP), its shape rule and how it prints in LaTeX (the text renderer
turns the LaTeX into Unicode). Rules take the math kit `m` first, so the same
rule runs on Python floats (`math`), numpy arrays, or dual numbers (forward over
reverse). Elementwise ops are given by their local partial derivatives; the JVP
and VJP follow from those.

Template placeholders: {0}, {1} the arguments' values, {y} the result's value,
{g} the result's adjoint, {t0}, {t1} the arguments' tangents, {p} a constant
parameter ({pm1} is p − 1, {pc} is p as a factor, in parentheses when negative). Adjoint templates give the contribution to one argument's adjoint.
"""
import math
import operator
from dataclasses import dataclass
from typing import Callable

from graphcomp.errors import SpecError


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
    on_floats: Callable | None = None  # the forward function as a C builtin, for Python floats (no frame per call)


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
        import difflib

        close = difflib.get_close_matches(str(name), REGISTRY, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; known ops: {', '.join(sorted(REGISTRY))}"
        raise SpecError(f"unknown op '{name}'{hint}", file=file, node=node, key="op") from None


# ---- shape rules -------------------------------------------------------------------------------


def _broadcast(*shapes):
    out = []
    for dims in zip(*(((1,) * (max(map(len, shapes)) - len(s)) + tuple(s)) for s in shapes)):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {' and '.join(_fmt(s) for s in shapes)} do not match elementwise")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _fmt(shape):
    return "scalar" if shape == () else "×".join(map(str, shape))


def _same(s, **_):
    return tuple(s)


def _matmul_shape(a, b, **_):
    if len(a) == 0 or len(b) == 0:
        raise ValueError("matmul needs a matrix or vector on each side; use mul for scalars")
    if len(a) > 2 or len(b) > 2:
        raise ValueError("matmul takes vectors and matrices only")
    inner_a, inner_b = a[-1], b[0]
    if inner_a != inner_b:
        raise ValueError(f"cannot multiply {_fmt(a)} by {_fmt(b)}: inner sizes {inner_a} and {inner_b} differ")
    return tuple(a[:-1]) + tuple(b[1:])


def _scalar_out(s, **_):
    return ()


def _transpose_shape(s, **_):
    return tuple(reversed(s))


# ---- building blocks for rules ---------------------------------------------------------------------


def elementwise(name, arity, fwd, partials, tex, partials_tex, *, domain="", params=(), doc="", on_floats=None):
    """An elementwise op from its forward function and its local partial derivatives.

    `partials(m, y, *args, **params)` returns one ∂y/∂arg per argument; the JVP is
    their sum weighted by the tangents, the VJP multiplies each by the adjoint.
    `partials_tex` gives each partial in LaTeX.
    """
    if arity == 1:

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
        # a vector's adjoint is a row vector (the problem set's .d), so a vector-valued partial is transposed
        row = all(len(s) == 1 for s in shapes)
        return tuple(_times("{g}", f"{pt}^\\top" if row and pt.lstrip("-") != "1" else pt, shapes)
                     for pt in partials_tex)

    shape = _same if arity == 1 else (lambda a, b, **_: _broadcast(a, b))
    return register(
        Op(name, arity, fwd, jvp, vjp, tex, jvp_tex, vjp_tex, shape, params, domain, True, doc, partials, on_floats)
    )


def _times(sym, partial, shapes):
    """`sym · partial` in LaTeX, dropping a factor 1 and using ⊙ for arrays."""
    if partial == "1":
        return sym
    if partial == "-1":
        return "-" + sym
    tensor = any(len(s) for s in shapes)
    return f"{sym} \\odot {partial}" if tensor else f"{sym} \\cdot {partial}"


# ---- scalar and elementwise ops ---------------------------------------------------------------------

elementwise("add", 2, lambda m, a, b: a + b, lambda m, y, a, b: (1.0, 1.0), "{0} + {1}", ("1", "1"), on_floats=operator.add)
elementwise("sub", 2, lambda m, a, b: a - b, lambda m, y, a, b: (1.0, -1.0), "{0} - {1}", ("1", "-1"), on_floats=operator.sub)
elementwise("mul", 2, lambda m, a, b: a * b, lambda m, y, a, b: (b, a), "{0} {1}", ("{1}", "{0}"), on_floats=operator.mul)
elementwise(
    "div", 2, lambda m, a, b: a / b, lambda m, y, a, b: (1.0 / b, -y / b),
    "{0} / {1}", ("1/{1}", "(-{y}/{1})"), domain="the divisor is 0", on_floats=operator.truediv,
)
elementwise(
    "pow", 2, lambda m, a, b: m.power(a, b), lambda m, y, a, b: (b * m.power(a, b - 1.0), y * m.log(a)),
    "{0}^{{{1}}}", ("{1}\\,{0}^{{{1}-1}}", "{y} \\ln {0}"),
    domain="a variable exponent needs a positive base",
)
elementwise(
    "powc", 1, lambda m, a, p: m.power(a, p), lambda m, y, a, p: (p * m.power(a, p - 1.0),),
    "{0}^{{{p}}}", ("{pc}\\,{0}^{{{pm1}}}",), params=("p",),
    domain="this power is undefined here (negative base with a fractional exponent, or 0 to a negative power)",
)
elementwise("neg", 1, lambda m, a: -a, lambda m, y, a: (-1.0,), "-{0}", ("-1",), on_floats=operator.neg)
elementwise("exp", 1, lambda m, a: m.exp(a), lambda m, y, a: (y,), "e^{{{0}}}", ("{y}",), on_floats=math.exp)
elementwise(
    "log", 1, lambda m, a: m.log(a), lambda m, y, a: (1.0 / a,), "\\ln {0}", ("1/{0}",),
    domain="log needs a positive argument", on_floats=math.log,
)
elementwise("sin", 1, lambda m, a: m.sin(a), lambda m, y, a: (m.cos(a),), "\\sin {0}", ("\\cos {0}",),
            on_floats=math.sin)
elementwise("cos", 1, lambda m, a: m.cos(a), lambda m, y, a: (-m.sin(a),), "\\cos {0}", ("(-\\sin {0})",),
            on_floats=math.cos)
elementwise(
    "tan", 1, lambda m, a: m.tan(a), lambda m, y, a: (1.0 + y * y,), "\\tan {0}", ("(1 + {y}^2)",),
    domain="tan is undefined here",
)
elementwise(
    "sqrt", 1, lambda m, a: m.sqrt(a), lambda m, y, a: (0.5 / y,), "\\sqrt{{{0}}}", ("1/(2 {y})",),
    domain="sqrt needs a non-negative argument (and a positive one for its derivative)",
)
elementwise("square", 1, lambda m, a: a * a, lambda m, y, a: (2.0 * a,), "{0}^2", ("2 {0}",))
elementwise(
    "reciprocal", 1, lambda m, a: 1.0 / a, lambda m, y, a: (-y * y,), "1/{0}", ("(-{y}^2)",),
    domain="the reciprocal of 0",
)
elementwise("tanh", 1, lambda m, a: m.tanh(a), lambda m, y, a: (1.0 - y * y,), "\\tanh {0}", ("(1 - {y}^2)",),
            on_floats=math.tanh)
elementwise(
    "sigmoid", 1, lambda m, a: m.sigmoid(a), lambda m, y, a: (y * (1.0 - y),), "\\operatorname{{sigmoid}}({0})",
    ("{y}(1 - {y})",),
)
elementwise(
    "relu", 1, lambda m, a: m.relu(a), lambda m, y, a: (m.step(a),), "\\operatorname{{ReLU}}({0})",
    ("\\mathbf{{1}}[{0} > 0]",),
    doc="ReLU; its derivative at 0 is taken to be 0, as in PyTorch.",
)


# ---- tensor ops -------------------------------------------------------------------------------------


def _matmul_vjp(m, g, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * b, g * a
    if b.ndim == 1:
        return m.outer(g, b), a.T @ g
    if a.ndim == 1:
        return b @ g, m.outer(a, g)
    return g @ b.T, a.T @ g


def _matmul_vjp_tex(shapes):
    if len(shapes[1]) == 1:  # C = A b with b a vector: C.d is a row vector (the problem set's convention)
        return ("({g})^\\top ({1})^\\top", "{g} {0}")
    return ("{g} ({1})^\\top", "({0})^\\top {g}")


register(Op(
    "matmul", 2,
    fwd=lambda m, a, b: a @ b,
    jvp=lambda m, y, a, b, ta, tb: ta @ b + a @ tb,
    vjp=lambda m, g, y, a, b: _matmul_vjp(m, g, a, b),
    tex="{0} {1}",
    jvp_tex=lambda shapes: ("{t0} {1}", "{0} {t1}"),
    vjp_tex=_matmul_vjp_tex,
    shape=_matmul_shape,
    doc="Matrix product A B (matrix–vector or matrix–matrix).",
))
def _t(a):
    # a vector or scalar is its own transpose; torch deprecates `.T` on them, Python floats lack it
    return a.T if getattr(a, "ndim", 0) == 2 else a


register(Op(
    "transpose", 1,
    fwd=lambda m, a: _t(a),
    jvp=lambda m, y, a, ta: _t(ta),
    vjp=lambda m, g, y, a: (_t(g),),
    tex="({0})^\\top",
    jvp_tex=lambda shapes: ("({t0})^\\top",),
    vjp_tex=lambda shapes: ("({g})^\\top",),
    shape=_transpose_shape,
))
register(Op(
    "sum", 1,
    fwd=lambda m, a: m.total(a),
    jvp=lambda m, y, a, ta: m.total(ta),
    vjp=lambda m, g, y, a: (g * m.ones_like(a),),
    tex="\\textstyle\\sum {0}",
    jvp_tex=lambda shapes: ("\\textstyle\\sum {t0}",),
    vjp_tex=lambda shapes: ("{g}",) if not shapes[0] else (
        "{g} \\mathbf{{1}}^\\top" if len(shapes[0]) == 1 else "{g} \\mathbf{{1}}\\mathbf{{1}}^\\top",),
    shape=_scalar_out,
))
register(Op(
    "halfsq", 1,
    fwd=lambda m, a: 0.5 * m.total(a * a),
    jvp=lambda m, y, a, ta: m.total(a * ta),
    vjp=lambda m, g, y, a: (g * a,),
    tex="\\tfrac12 \\|{0}\\|^2",
    jvp_tex=lambda shapes: ("\\langle {0}, {t0} \\rangle",),
    vjp_tex=lambda shapes: {0: ("{g} \\cdot {0}",), 1: ("{g} ({0})^\\top",)}.get(len(shapes[0]), ("{g} \\, {0}",)),
    shape=_scalar_out,
    doc="Half the squared (Frobenius) norm, ½‖A‖².",
))
