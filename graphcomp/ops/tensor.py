"""Tensor ops: matrix products, transpose and the reductions that end a network in a scalar."""
from graphcomp.core.labels import fmt_shape
from graphcomp.ops.registry import Op, register


def _matmul_shape(a, b, **_):
    if len(a) == 0 or len(b) == 0:
        raise ValueError("matmul needs a matrix or vector on each side; use mul for scalars")
    if len(a) > 2 or len(b) > 2:
        raise ValueError("matmul takes vectors and matrices only")
    inner_a, inner_b = a[-1], b[0]
    if inner_a != inner_b:
        raise ValueError(f"cannot multiply {fmt_shape(a)} by {fmt_shape(b)}: inner sizes {inner_a} and {inner_b} differ")
    return tuple(a[:-1]) + tuple(b[1:])


def _scalar_out(s, **_):
    return ()


def _transpose_shape(s, **_):
    return tuple(reversed(s))


def _matmul_vjp_a(m, g, y, a, b):
    """A's contribution for C = A B: ḡ Bᵀ (an outer product when B is a vector)."""
    if b.ndim == 1:
        return g * b if a.ndim == 1 else m.outer(g, b)
    return b @ g if a.ndim == 1 else g @ b.T


def _matmul_vjp_b(m, g, y, a, b):
    """B's contribution for C = A B: Aᵀ ḡ (an outer product when A is a vector)."""
    if a.ndim == 1:
        return g * a if b.ndim == 1 else m.outer(a, g)
    return a.T @ g


def _matmul_vjp_tex(shapes):
    if len(shapes[1]) == 1:  # C = A b with b a vector: C.d is a row vector (the problem set's convention)
        return ("({g})^\\top ({1})^\\top", "{g} {0}")
    return ("{g} ({1})^\\top", "({0})^\\top {g}")


register(Op(
    "matmul", 2,
    fwd=lambda m, a, b: a @ b,
    jvp=lambda m, y, a, b, ta, tb: ta @ b + a @ tb,
    vjp=lambda m, g, y, a, b: (_matmul_vjp_a(m, g, y, a, b), _matmul_vjp_b(m, g, y, a, b)),
    vjp_args=(_matmul_vjp_a, _matmul_vjp_b),
    jvp_args=(lambda m, y, a, b, ta: ta @ b, lambda m, y, a, b, tb: a @ tb),
    tex="{0} {1}",
    jvp_tex=lambda shapes: ("{t0} {1}", "{0} {t1}"),
    vjp_tex=_matmul_vjp_tex,
    shape=_matmul_shape,
    grad_tex=lambda shapes: (("{g}", "({1})^\\top"), ("({0})^\\top", "{g}")) if len(shapes[0]) == 2 else None,
    doc="Matrix product A B (matrix–vector or matrix–matrix).",
    propagates=True,  # an inf in a row of A reaches the whole row of A B (shapes are positive)
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
    partials_tex=("1",),
    grad_tex=lambda shapes: (("({g})^\\top",),),
    keeps_finite=True,
    propagates=True,
))
register(Op(
    "sum", 1,
    fwd=lambda m, a: m.total(a),
    jvp=lambda m, y, a, ta: m.total(ta),
    vjp=lambda m, g, y, a: (g * m.ones_like(a),),
    tex="\\textstyle\\sum {0}",
    jvp_tex=lambda shapes: ("\\textstyle\\sum {t0}",),
    partials_tex=("1",),
    grad_tex=lambda shapes: (("{g}", "\\mathbf{{1}}"),),
    vjp_tex=lambda shapes: ("{g}",) if not shapes[0] else (
        "{g} \\mathbf{{1}}^\\top" if len(shapes[0]) == 1 else "{g} \\mathbf{{1}}\\mathbf{{1}}^\\top",),
    shape=_scalar_out,
    propagates=True,
))
register(Op(
    "halfsq", 1,
    fwd=lambda m, a: 0.5 * m.total(a * a),
    jvp=lambda m, y, a, ta: m.total(a * ta),
    vjp=lambda m, g, y, a: (g * a,),
    tex="\\tfrac12 \\lVert{{{0}}}\\rVert^2",  # no | in it: Markdown tables split cells at a |
    jvp_tex=lambda shapes: ("\\langle {0}, {t0} \\rangle",),
    vjp_tex=lambda shapes: {0: ("{g} \\cdot {0}",), 1: ("{g} ({0})^\\top",)}.get(len(shapes[0]), ("{g} \\, {0}",)),
    shape=_scalar_out,
    partials_tex=("{0}",),
    grad_tex=lambda shapes: (("{g}", "{0}"),),
    doc="Half the squared (Frobenius) norm, ½‖A‖².",
    propagates=True,
))
