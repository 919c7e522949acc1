"""Forward over reverse: the reverse sweep run on dual numbers gives Hessian–vector products.

Every op rule is written against a math kit, so running the ordinary value and
adjoint sweeps with DualKit — values v + ε·v̇ seeded with a direction on the
inputs — differentiates the reverse sweep itself: the ε part of each input's
adjoint is (∇²f)·direction. n such products give the full Hessian. DualKit
restates no derivative: each math function is lifted with the local partial of
the registry's op of the same name.
"""
import numpy as np

from graphcomp.core.errors import GraphcompError
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

    floats = False

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
        return all(np.all(np.isfinite(_parts(x)[0])) and np.all(np.isfinite(_parts(x)[1])) for x in xs)

    @staticmethod
    def to_numpy(xs):
        return [np.asarray(_parts(x)[0]) + np.asarray(_parts(x)[1]) for x in xs]  # inf or nan in either part shows


DualKit = _DualKit()


def hvp(graph, at, direction):
    """Hessian–vector product: {input: (∇²f · direction)[input]} by forward over reverse."""
    for name in direction:
        sweeps.wrt_input(graph, name)  # a misspelt or data input would be silently ignored or seeded
    inputs = sweeps.input_values(graph, at, kit=DualKit)
    seeded = {}
    for i in graph.inputs:
        n = graph.nodes[i]
        tangent = direction.get(n.name)
        tangent = np.zeros(n.shape) if tangent is None else np.asarray(tangent, dtype=float)
        if tangent.shape != tuple(n.shape):
            raise GraphcompError(f"direction has shape {tangent.shape}, input has {tuple(n.shape)}",
                                 file=graph.file, node=n.name)
        seeded[i] = Dual(inputs[i], tangent)
    p = plan(graph, DualKit)
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        v = sweeps.values(graph, p, seeded)
        d = sweeps.adjoints(graph, p, v, seed=Dual(1.0, 0.0))
    out = {graph.nodes[i].name: _parts(d[i])[1] + np.zeros(graph.nodes[i].shape)
           for i in graph.inputs if graph.nodes[i].kind == INPUT}
    return {k: float(x) if x.ndim == 0 else x for k, x in out.items()}  # scalars as floats, like Trace.gradient


def hessian(graph, at, wrt):
    """The Hessian of f with respect to one input `wrt`, as a (size × size) matrix: one HVP per column."""
    if not isinstance(wrt, str):
        raise GraphcompError(f"hessian takes one input's name, not {wrt!r}", file=graph.file)
    n = graph.nodes[sweeps.wrt_input(graph, wrt)]
    size = int(np.prod(n.shape, dtype=int))
    cols = []
    for k in range(size):
        e = np.zeros(size)
        e[k] = 1.0
        cols.append(np.ravel(hvp(graph, at, {wrt: e.reshape(n.shape)})[wrt]))
    return np.stack(cols, axis=1)
