"""Forward over reverse: the reverse sweep run on dual numbers gives Hessian–vector products.

Every op rule is written against a math kit, so running the ordinary value and
adjoint sweeps with DualKit — values v + ε·v̇ seeded with a direction on the
inputs — differentiates the reverse sweep itself: the ε part of each input's
adjoint is (∇²f)·direction, and its value part ∇f. n such products give the full Hessian
(graphcomp.engine.hessian). DualKit
restates no derivative: each math function is lifted with the local partial of
the registry's op of the same name.
"""
import numpy as np

from graphcomp.core.errors import GraphcompError
from graphcomp.core.labels import fmt_shape
from graphcomp.core.nodes import INPUT
from graphcomp.engine import sweeps
from graphcomp.engine.plan import plan
from graphcomp.ops import REGISTRY
from graphcomp.ops.kits import MATH, numpy_kit


class Dual:
    """v + ε t with ε² = 0; v and t are floats or arrays of one shape."""

    __slots__ = ("v", "t")
    __array_ufunc__ = None  # make numpy hand `array op Dual` back to Dual's reflected method

    def __init__(self, v, t):
        self.v, self.t = v, t

    ndim = property(lambda self: np.ndim(self.v))
    shape = property(lambda self: np.shape(self.v))
    T = property(lambda self: Dual(np.transpose(self.v), np.transpose(self.t)))

    def __add__(self, o):
        return Dual(self.v + o.v, self.t + o.t) if isinstance(o, Dual) else Dual(self.v + o, self.t)

    __radd__ = __add__

    def __sub__(self, o):
        return Dual(self.v - o.v, self.t - o.t) if isinstance(o, Dual) else Dual(self.v - o, self.t)

    def __rsub__(self, o):
        return Dual(o - self.v, -self.t)

    def __neg__(self):
        return Dual(-self.v, -self.t)

    def __mul__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v * o.v, self.t * o.v + self.v * o.t)
        return Dual(self.v * o, self.t * o)

    __rmul__ = __mul__

    def __truediv__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v / o.v, (self.t * o.v - self.v * o.t) / (o.v * o.v))
        return Dual(self.v / o, self.t / o)

    def __rtruediv__(self, o):
        return Dual(o / self.v, -o * self.t / (self.v * self.v))

    def __matmul__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v @ o.v, self.t @ o.v + self.v @ o.t)
        return Dual(self.v @ o, self.t @ o)

    def __rmatmul__(self, o):
        return Dual(o @ self.v, o @ self.t)


def _parts(a):
    return (a.v, a.t) if isinstance(a, Dual) else (a, 0.0)


def _lifted(name):
    """The kit function `name` on duals: its value from numpy, its derivative the local partial of the
    registry's op of the same name (written once, there)."""
    partials = REGISTRY[name].partials

    def lifted(a):
        kit = numpy_kit()
        if not isinstance(a, Dual):
            return getattr(kit, name)(a)
        y = getattr(kit, name)(a.v)
        return Dual(y, partials(kit, y, a.v)[0] * a.t)

    return lifted


class _DualKit:
    """The math kit on dual numbers, numpy underneath; see Kit (graphcomp.ops.kits) for what each provides."""

    # both parts are numpy values computed inside np.errstate(raise), from finite inputs and directions (checked on
    # the way in), so an inf or nan raises where it arises
    floats, raises = False, True

    def __init__(self):
        for name in MATH:
            if name not in ("step", "power"):
                setattr(self, name, _lifted(name))

    def __repr__(self):
        return "<DualKit>"

    @staticmethod
    def step(a):
        return numpy_kit().step(_parts(a)[0])  # flat almost everywhere: its own derivative is 0

    @staticmethod
    def power(a, b):
        """a^b, its derivative from pow's partials, or powc's when the exponent is a constant."""
        (av, at), (bv, bt) = _parts(a), _parts(b)
        y = numpy_kit().power(av, bv)
        if isinstance(b, Dual):
            da, db = REGISTRY["pow"].partials(numpy_kit(), y, av, bv)
            return Dual(y, da * at + db * bt)
        return Dual(y, REGISTRY["powc"].partials(numpy_kit(), y, av, p=bv)[0] * at)

    @staticmethod
    def mask(g, a):
        (gv, gt), av, kit = _parts(g), _parts(a)[0], numpy_kit()  # linear in g; in a, flat almost everywhere
        return Dual(kit.mask(gv, av), kit.mask(gt, av)) if isinstance(g, Dual) else kit.mask(gv, av)

    @staticmethod
    def outer(a, b):
        (av, at), (bv, bt) = _parts(a), _parts(b)
        return Dual(np.outer(av, bv), np.outer(at, bv) + np.outer(av, bt))

    @staticmethod
    def total(a):
        return Dual(np.sum(a.v), np.sum(a.t)) if isinstance(a, Dual) else np.sum(a)

    @staticmethod
    def ones_like(a):
        return np.ones_like(_parts(a)[0])

    @staticmethod
    def zeros(shape):
        return np.zeros(shape)

    @staticmethod
    def coerce(x):
        return numpy_kit().coerce(x)

    @staticmethod
    def sum_to(g, shape):
        v, t = _parts(g)
        return Dual(numpy_kit().sum_to(np.asarray(v), shape), numpy_kit().sum_to(np.broadcast_to(t, np.shape(v)), shape))

    @staticmethod
    def finite(xs):
        return True  # see `raises`: looking again was half an HVP's time at n = 20

    @staticmethod
    def to_numpy(xs):
        return [np.asarray(_parts(x)[0]) + np.asarray(_parts(x)[1]) for x in xs]  # inf or nan in either part shows


DualKit = _DualKit()


def scalar_output(graph, what):
    """Raise unless f is one scalar output: second derivatives here are of f: ℝⁿ → ℝ."""
    if len(graph.outputs) > 1:
        raise GraphcompError(f"{what} needs one scalar output f, but the graph has {len(graph.outputs)} outputs "
                             f"({', '.join(graph.output_names)}); keep one in 'output:' (or sum them)",
                             file=graph.file)
    n = graph.nodes[graph.output]
    if n.shape:  # an `outputs:` list may hold a tensor where `output:` may not
        raise GraphcompError(f"{what} needs a scalar output f, but '{n.name}' is {fmt_shape(n.shape)}; end the "
                             "graph with sum or halfsq", file=graph.file, node=n.name)


def products(graph, inputs, directions):
    """f, ∇f and ∇²f · t for each direction t, one dual value sweep and one dual adjoint sweep each.

    inputs: {input position: value}; directions: [{input position: tangent}], an input left out being held
    fixed (tangent 0: it stays a plain value, so its arithmetic is not doubled). Returns [(f, {variable
    position: ∇f part}, {variable position: (∇²f · t) part})], every part of its input's shape."""
    p = plan(graph, DualKit)
    variables = [i for i in graph.inputs if graph.nodes[i].kind == INPUT]
    out = []
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        for t in directions:
            seeded = {i: Dual(x, t[i]) if i in t else x for i, x in inputs.items()}
            v = sweeps.values(graph, p, seeded)
            d = sweeps.adjoints(graph, p, v, seed=Dual(1.0, 0.0))
            parts = {i: _parts(d[i]) for i in variables}
            shaped = {i: (np.asarray(g, dtype=float) + np.zeros(graph.nodes[i].shape),
                          np.asarray(h, dtype=float) + np.zeros(graph.nodes[i].shape)) for i, (g, h) in parts.items()}
            out.append((float(_parts(v[graph.output])[0]), {i: g for i, (g, _) in shaped.items()},
                        {i: h for i, (_, h) in shaped.items()}))
    return out


def hvp(graph, at, direction):
    """Hessian–vector product: {input: (∇²f · direction)[input]} by forward over reverse."""
    scalar_output(graph, "a Hessian–vector product")
    for name in direction:
        sweeps.wrt_input(graph, name)  # a misspelt or data input would be silently ignored or seeded
    inputs = sweeps.input_values(graph, at, kit=DualKit)
    seeded = {}
    for name, tangent in direction.items():
        i = graph.index[name]
        tangent = np.asarray(tangent, dtype=float)
        if tangent.shape != tuple(graph.nodes[i].shape):
            raise GraphcompError(f"direction has shape {tangent.shape}, input has {tuple(graph.nodes[i].shape)}",
                                 file=graph.file, node=name)
        if not np.isfinite(tangent).all():
            raise GraphcompError("the direction holds an inf or a nan", file=graph.file, node=name)
        seeded[i] = tangent
    _, _, hv = products(graph, inputs, [seeded])[0]
    return {graph.nodes[i].name: float(x) if x.ndim == 0 else x for i, x in hv.items()}  # scalars as floats
